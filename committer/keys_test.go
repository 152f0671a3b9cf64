package committer

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// keySchema has one key column of every type a key can have.
var keySchema = arrow.NewSchema([]arrow.Field{
	{Name: "s", Type: arrow.BinaryTypes.String},
	{Name: "b", Type: arrow.BinaryTypes.Binary},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	{Name: "d", Type: &arrow.Decimal128Type{Precision: 38, Scale: 4}},
}, nil)

// encodeKeys encodes every row of rec as a merge does.
func encodeKeys(t testing.TB, rec arrow.RecordBatch) [][]byte {
	var out [][]byte
	for r := range int(rec.NumRows()) {
		var k []byte
		for _, c := range rec.Columns() {
			var err error
			if k, err = appendKey(k, c, r); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, k)
	}
	return out
}

// TestKeyRoundTrip turns encoded keys back into values (as equality
// deletes are written) and encodes them again: the bytes must not change.
func TestKeyRoundTrip(t *testing.T) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, keySchema)
	defer b.Release()
	rows := []struct {
		s string
		b []byte
		n int64
		d decimal128.Num
	}{
		{"", []byte{}, 0, decimal128.FromI64(0)},
		{"CUSTOMER#000001", []byte{0, 1, 2}, -1, decimal128.FromI64(-12345)},
		{"日本語\x00tail", bytes.Repeat([]byte{0xff}, 300), 1 << 62, decimal128.New(1<<40, 7)},
	}
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.s)
		b.Field(1).(*array.BinaryBuilder).Append(r.b)
		b.Field(2).(*array.Int64Builder).Append(r.n)
		b.Field(3).(*array.Decimal128Builder).Append(r.d)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	keys := encodeKeys(t, rec)

	kb := keyBuilder{b: b}
	for _, k := range keys {
		if err := kb.append(k); err != nil {
			t.Fatal(err)
		}
	}
	back := b.NewRecordBatch()
	defer back.Release()
	again := encodeKeys(t, back)
	for i := range keys {
		if !bytes.Equal(keys[i], again[i]) {
			t.Errorf("row %d: %x became %x", i, keys[i], again[i])
		}
	}
	for _, bad := range [][]byte{keys[1][:5], append(append([]byte(nil), keys[1]...), 0)} {
		if err := kb.append(bad); err == nil {
			t.Errorf("decoding %x: no error", bad)
		}
	}
}

func FuzzKeyBuilder(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 'a', 'b', 'c', 1, 9, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, key []byte) {
		b := array.NewRecordBuilder(memory.DefaultAllocator, keySchema)
		defer b.Release()
		if err := (keyBuilder{b: b}).append(key); err != nil {
			return
		}
		// A key that decodes whole encodes back to itself.
		rec := b.NewRecordBatch()
		defer rec.Release()
		if got := encodeKeys(t, rec)[0]; !bytes.Equal(got, key) {
			t.Fatalf("%x decoded and encoded again is %x", key, got)
		}
	})
}
