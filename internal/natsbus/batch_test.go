package natsbus

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/zstd"
)

// variedSchema has a column of every kind of type the committer receives:
// scalars, decimals, timestamps, binary, lists, structs and maps.
var variedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "pk", Type: arrow.BinaryTypes.String},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 38, Scale: 2}, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "addr", Type: arrow.StructOf(
		arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "zip", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	), Nullable: true},
	{Name: "labels", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
}, nil)

// buildVaried builds a record of n rows over variedSchema, with a null in
// every nullable column on every third row.
func buildVaried(mem memory.Allocator, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, variedSchema)
	defer b.Release()
	for i := range n {
		null := i%3 == 2
		b.Field(0).(*array.StringBuilder).Append("CUSTOMER#" + strings.Repeat("x", i%7))
		if null {
			for j := 1; j < len(b.Fields()); j++ {
				b.Field(j).AppendNull()
			}
			continue
		}
		b.Field(1).(*array.Int64Builder).Append(int64(i) * -7919)
		b.Field(2).(*array.Float64Builder).Append(float64(i) / 3)
		b.Field(3).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(4).(*array.BinaryBuilder).Append([]byte{byte(i), 0, 0xff})
		b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i)*100 + 99))
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(1_704_067_200_000_000 + int64(i)))
		lb := b.Field(7).(*array.ListBuilder)
		lb.Append(true)
		for k := range i % 4 {
			lb.ValueBuilder().(*array.StringBuilder).Append(strings.Repeat("t", k+1))
		}
		sb := b.Field(8).(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.StringBuilder).Append("Paris")
		sb.FieldBuilder(1).(*array.Int32Builder).Append(int32(75000 + i))
		mb := b.Field(9).(*array.MapBuilder)
		mb.Append(true)
		mb.KeyBuilder().(*array.StringBuilder).Append("k")
		mb.ItemBuilder().(*array.StringBuilder).Append("v")
	}
	return b.NewRecordBatch()
}

func TestCodecRoundTrip(t *testing.T) {
	for _, rows := range []int{1, 3, 100, 5000} {
		t.Run(fmt.Sprint(rows), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			c, err := NewCodec(mem)
			if err != nil {
				t.Fatal(err)
			}
			rec := buildVaried(mem, rows)
			defer rec.Release()
			var scratch bytes.Buffer
			prefix := []byte("keep")
			data, err := c.Encode(append([]byte(nil), prefix...), &scratch, rec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, prefix) {
				t.Fatalf("Encode did not append to dst: starts with %q", data[:min(len(data), 8)])
			}
			got, err := c.Decode(BatchEncoding, data[len(prefix):], nil)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("Decode returned nil for a batch with rows")
			}
			defer got.Release()
			if !got.Schema().Equal(rec.Schema()) {
				t.Fatalf("schema:\n got %s\nwant %s", got.Schema(), rec.Schema())
			}
			if !array.RecordEqual(got, rec) {
				t.Fatalf("decoded batch differs from the encoded one")
			}
		})
	}
}

// TestCodecEncodingIsDeterministic matters because a retried task must
// republish byte-identical batches under the same message ids.
func TestCodecEncodingIsDeterministic(t *testing.T) {
	c, err := NewCodec(memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rec := buildVaried(memory.DefaultAllocator, 50)
	defer rec.Release()
	var s1, s2 bytes.Buffer
	a, err := c.Encode(nil, &s1, rec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encode(nil, &s2, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("two encodings of the same batch differ")
	}
}

// TestCodecEncodeReusesScratch encodes different batches through one
// scratch buffer: nothing of an earlier batch may leak into a later one.
func TestCodecEncodeReusesScratch(t *testing.T) {
	c, err := NewCodec(memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	var scratch bytes.Buffer
	for _, rows := range []int{200, 1, 30} {
		rec := buildVaried(memory.DefaultAllocator, rows)
		data, err := c.Encode(nil, &scratch, rec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(BatchEncoding, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || !array.RecordEqual(got, rec) {
			t.Fatalf("rows=%d: decoded batch differs", rows)
		}
		got.Release()
		rec.Release()
	}
}

func TestCodecDecodeEmptyAndZeroRows(t *testing.T) {
	c, err := NewCodec(memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{BatchEncoding, "", "bogus"} {
		for _, data := range [][]byte{nil, {}} {
			rec, err := c.Decode(enc, data, nil)
			if err != nil || rec != nil {
				t.Errorf("Decode(%q, %v) = %v, %v; want nil, nil", enc, data, rec, err)
			}
		}
	}
	// A batch without rows (an empty file's final batch) carries no rows
	// after decoding, whether Decode returns nil or an empty batch.
	rec := buildVaried(memory.DefaultAllocator, 0)
	data, err := c.Encode(nil, new(bytes.Buffer), rec)
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(BatchEncoding, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != nil {
		if got.NumRows() != 0 {
			t.Errorf("zero-row batch decoded to %d rows", got.NumRows())
		}
		got.Release()
	}
}

func TestCodecDecodeCorrupt(t *testing.T) {
	c, err := NewCodec(memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rec := buildVaried(memory.DefaultAllocator, 20)
	defer rec.Release()
	data, err := c.Encode(nil, new(bytes.Buffer), rec)
	if err != nil {
		t.Fatal(err)
	}
	// An uncompressed IPC stream, and a valid zstd frame around bytes that
	// are not one.
	var ipcStream bytes.Buffer
	w := ipc.NewWriter(&ipcStream, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	notIPC := enc.EncodeAll([]byte("zstd-compressed, but not an Arrow IPC stream"), nil)
	truncatedIPC := enc.EncodeAll(ipcStream.Bytes()[:ipcStream.Len()/2], nil)
	flip := func(b []byte, at int) []byte {
		b = append([]byte(nil), b...)
		b[at] ^= 0xff
		return b
	}
	tests := []struct {
		name     string
		encoding string
		data     []byte
		wantErr  string
	}{
		{"garbage", BatchEncoding, []byte("definitely not zstd"), "zstd"},
		{"truncated frame", BatchEncoding, data[:len(data)/2], "zstd"},
		{"frame checksum damaged", BatchEncoding, flip(data, len(data)-2), "zstd"},
		{"uncompressed IPC stream", BatchEncoding, ipcStream.Bytes(), "zstd"},
		{"zstd around garbage", BatchEncoding, notIPC, "arrow ipc"},
		{"zstd around a truncated stream", BatchEncoding, truncatedIPC, "arrow ipc"},
		{"unknown encoding", "arrow-ipc+lz4", data, "unknown batch encoding"},
		{"no encoding header", "", data, "unknown batch encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				got arrow.RecordBatch
				err error
			)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Decode panicked: %v", r)
					}
				}()
				got, err = c.Decode(tt.encoding, tt.data, nil)
			}()
			if got != nil {
				got.Release()
			}
			if err == nil {
				t.Fatalf("Decode succeeded on corrupt data")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

// TestCodecDecodeScratch decodes several batches through one scratch
// buffer: each decoded batch must stay intact after the buffer is reused.
func TestCodecDecodeScratch(t *testing.T) {
	c, err := NewCodec(memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	var dec []byte
	var recs, got []arrow.RecordBatch
	for _, rows := range []int{300, 7, 120} {
		rec := buildVaried(memory.DefaultAllocator, rows)
		data, err := c.Encode(nil, &enc, rec)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Decode(BatchEncoding, data, &dec)
		if err != nil {
			t.Fatal(err)
		}
		recs, got = append(recs, rec), append(got, out)
	}
	for i := range recs {
		if !array.RecordEqual(got[i], recs[i]) {
			t.Fatalf("batch %d changed after the scratch buffer was reused", i)
		}
		got[i].Release()
		recs[i].Release()
	}
}

// BenchmarkCodec measures a batch's trip between transformer and
// committer: Arrow IPC and zstd encode, then decode, of a 4096-row batch
// of every column kind, per row.
func BenchmarkCodec(b *testing.B) {
	c, err := NewCodec(memory.DefaultAllocator)
	if err != nil {
		b.Fatal(err)
	}
	const rows = 4096
	rec := buildVaried(memory.DefaultAllocator, rows)
	defer rec.Release()
	var (
		scratch bytes.Buffer
		dec     []byte
		buf     []byte
		bytesIn int64
	)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if buf, err = c.Encode(buf[:0], &scratch, rec); err != nil {
			b.Fatal(err)
		}
		bytesIn += int64(scratch.Len())
		out, err := c.Decode(BatchEncoding, buf, &dec)
		if err != nil {
			b.Fatal(err)
		}
		if out.NumRows() != rows {
			b.Fatalf("decoded %d rows, want %d", out.NumRows(), rows)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
	b.ReportMetric(float64(bytesIn)/float64(b.N*len(buf)), "ratio")
}
