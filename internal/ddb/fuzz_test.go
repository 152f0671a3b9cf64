package ddb

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// checkDecoded asserts what every successful decode guarantees downstream.
func checkDecoded(t *testing.T, rec Record) {
	t.Helper()
	var walk func(v Value)
	walk = func(v Value) {
		if v.Kind == KindInvalid || v.Kind > M {
			t.Fatalf("invalid kind %d", v.Kind)
		}
		if (v.Kind == S) && !utf8.Valid(v.Bytes) {
			t.Fatalf("S value %q is not UTF-8", v.Bytes)
		}
		if v.Kind == N && !ValidNumber(v.Bytes) {
			t.Fatalf("N value %q is not a number", v.Bytes)
		}
		if (v.Kind == SS || v.Kind == NS || v.Kind == BS) && len(v.List) == 0 {
			t.Fatalf("empty %v", v.Kind)
		}
		for _, e := range v.List {
			walk(e)
		}
		for _, a := range v.Map {
			if len(a.Name) == 0 || !utf8.Valid(a.Name) {
				t.Fatalf("bad name %q", a.Name)
			}
			walk(a.Value)
		}
	}
	for _, it := range []Item{rec.Item, rec.Keys, rec.OldImage, rec.NewImage} {
		walk(Value{Kind: M, Map: it})
	}
}

func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is %T, not *DecodeError", err, err)
	}
	if de.Error() == "" {
		t.Fatal("empty error message")
	}
}

var jsonSeeds = []string{
	orderJSON,
	`{"Metadata":{"WriteTimestampMicros":{"N":"1700000000000000"}},"Keys":{"pk":{"S":"a"}},"OldImage":{"pk":{"S":"a"},"v":{"N":"1.50"}},"NewImage":{"pk":{"S":"a"},"v":{"BS":["AQ=="]}}}`,
	`{"Metadata":{"WriteTimestampMicros":{"N":"1"}},"Keys":{"pk":{"S":"a"}}}`,
	`{"Item":{"a b":{"S":"q\"\\\n\u00e9\ud83d\ude00"},"🎉":{"NS":["-1.5e-3","0"]},"n":{"NULL":true},"t":{"BOOL":false}}}`,
	`{"Item":{"l":{"L":[{"M":{"x":{"L":[]}}},{"M":{}}]}}}`,
	`{"Item":{"a":{"X":"1"}}}`,
	`{"Item":{"a":{"N":"1.2.3"}}}`,
	`{"Item":{"a":{"B":"!!"}}}`,
	`{"Item":{"a":{"SS":[]}}}`,
	`{"Item":{"a":{"S":"\x"}}}`,
	nestedJSON(MaxDepth + 1),
	``,
	`[]`,
}

func FuzzJSONDecoder(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := NewJSONDecoder().Decode(line)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		checkDecoded(t, rec)
		enc := AppendRecordJSON(nil, rec)
		again, err := NewJSONDecoder().Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded line %s does not decode: %v", enc, err)
		}
		if !again.Equal(rec) {
			t.Fatalf("round trip through %s\ngave %+v\nwant %+v", enc, again, rec)
		}
	})
}

var ionSeeds = []string{
	orderIon,
	`{Metadata:{WriteTimestampMicros:1700000000000000},Keys:{pk:"a"},OldImage:{pk:"a",v:1.50},NewImage:{pk:"a",v:$dynamodb_BS::[{{AQ==}}]}}`,
	`$ion_1_0 {Metadata:{WriteTimestampMicros:1},Keys:{pk:"a"}}`,
	`{Item:{'a b':"q\"\\\n\xe9\U0001F600",'🎉':$dynamodb_NS::[-1.5d-3,0,12d3,0x10],n:null,t:false}}`,
	`{Item:{l:[{x:[]},{}],big:9.99d125,tiny:1d-130,huge:1d99999,z:-0d-500}}`,
	`{Item:{a:1e0}}`,
	`{Item:{a:foo::"x"}}`,
	`{Item:{a:$dynamodb_SS::[]}}`,
	`$ion_symbol_table::{symbols:["pk"]} {Item:{$10:"x"}}`,
	`{Item:{a:"x"}} 1`,
	`$ion_1_0`,
	`{Item:{a:'''x''' '''y'''}}`,
}

func FuzzIonDecoder(f *testing.F) {
	for _, s := range ionSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := NewIonDecoder().Decode(line)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		checkDecoded(t, rec)
		enc := AppendRecordIon(nil, rec)
		again, err := NewIonDecoder().Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded line %s does not decode: %v", enc, err)
		}
		if !again.Equal(rec) {
			t.Fatalf("round trip through %s\ngave %+v\nwant %+v", enc, again, rec)
		}
		// Whatever ION holds must also survive conversion to JSON.
		enc = AppendRecordJSON(nil, rec)
		again, err = NewJSONDecoder().Decode(enc)
		if err != nil {
			t.Fatalf("JSON form %s does not decode: %v", enc, err)
		}
		if !again.Equal(rec) {
			t.Fatalf("JSON round trip through %s\ngave %+v\nwant %+v", enc, again, rec)
		}
	})
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), uint16(10))
	f.Add([]byte("\n\n\r\n"), uint16(0))
	f.Add([]byte("0123456789abcdefghij\nshort\n"), uint16(5))
	f.Add([]byte("x\r"), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		maxLine := int(limit%64) + 1
		// The reference: split at "\n", a final "\n" ends the last line
		// rather than starting an empty one, and one "\r" is dropped.
		var want [][]byte
		if len(data) > 0 {
			want = bytes.Split(data, []byte("\n"))
			if len(want[len(want)-1]) == 0 {
				want = want[:len(want)-1]
			}
			for i, w := range want {
				want[i] = bytes.TrimSuffix(w, []byte("\r"))
			}
		}
		for _, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data))} {
			lr := NewLineReader(r, maxLine)
			for i := 0; ; i++ {
				line, err := lr.Next()
				if i == len(want) {
					if err != io.EOF {
						t.Fatalf("after %d lines: got %q, %v; want io.EOF", i, line, err)
					}
					break
				}
				if len(want[i]) > maxLine {
					if !errors.Is(err, ErrLineTooLong) || lr.Line() != i+1 {
						t.Fatalf("line %d (%d bytes, limit %d): got %v at line %d", i+1, len(want[i]), maxLine, err, lr.Line())
					}
					break
				}
				if err != nil || !bytes.Equal(line, want[i]) {
					t.Fatalf("line %d: got %q, %v; want %q", i+1, line, err, want[i])
				}
				if lr.Line() != i+1 {
					t.Fatalf("Line() = %d, want %d", lr.Line(), i+1)
				}
			}
		}
	})
}
