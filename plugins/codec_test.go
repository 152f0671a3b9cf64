package plugins

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
)

// Helpers that build values tersely.
func s(v string) ddb.Value           { return ddb.Value{Kind: ddb.S, Bytes: []byte(v)} }
func n(v string) ddb.Value           { return ddb.Value{Kind: ddb.N, Bytes: []byte(v)} }
func b(v string) ddb.Value           { return ddb.Value{Kind: ddb.B, Bytes: []byte(v)} }
func boolean(v bool) ddb.Value       { return ddb.Value{Kind: ddb.BOOL, Bool: v} }
func null() ddb.Value                { return ddb.Value{Kind: ddb.NULL} }
func list(vs ...ddb.Value) ddb.Value { return ddb.Value{Kind: ddb.L, List: vs} }
func set(k ddb.Kind, elems ...string) ddb.Value {
	ek := map[ddb.Kind]ddb.Kind{ddb.SS: ddb.S, ddb.NS: ddb.N, ddb.BS: ddb.B}[k]
	v := ddb.Value{Kind: k}
	for _, e := range elems {
		v.List = append(v.List, ddb.Value{Kind: ek, Bytes: []byte(e)})
	}
	return v
}
func attrs(kv ...any) []ddb.Attr {
	var out []ddb.Attr
	for i := 0; i < len(kv); i += 2 {
		out = append(out, ddb.Attr{Name: []byte(kv[i].(string)), Value: kv[i+1].(ddb.Value)})
	}
	return out
}
func item(kv ...any) ddb.Item  { return ddb.Item(attrs(kv...)) }
func mapv(kv ...any) ddb.Value { return ddb.Value{Kind: ddb.M, Map: attrs(kv...)} }

// nested returns an L value nested depth levels deep around a NULL.
func nested(depth int) ddb.Value {
	v := null()
	for i := 0; i < depth; i++ {
		if i%2 == 0 {
			v = list(v)
		} else {
			v = mapv("m", v)
		}
	}
	return v
}

func everyType() ddb.Item {
	return item(
		"pk", s("user#1"),
		"empty", s(""),
		"utf8", s("héllo, 世界"),
		"n", n("-12.50e+3"),
		"big", n("123456789012345678901234567890.000000000000000000001"),
		"b", b("\x00\x01\xff"),
		"t", boolean(true),
		"f", boolean(false),
		"null", null(),
		"ss", set(ddb.SS, "a", "", "ç"),
		"ns", set(ddb.NS, "1", "2.5", "-3e7"),
		"bs", set(ddb.BS, "\x00", "zz"),
		"l", list(s("x"), n("1"), list(), mapv(), mapv("k", list(boolean(true), null()))),
		"m", mapv("a", mapv("b", mapv("c", set(ddb.SS, "deep")))),
		"deepest", nested(ddb.MaxDepth),
		strings.Repeat("long", 100), s(strings.Repeat("x", 300)),
	)
}

func TestRoundTripBatch(t *testing.T) {
	many := ddb.Item{}
	for i := 0; i < 100; i++ { // more than the linear duplicate check handles
		many = append(many, ddb.Attr{Name: []byte{'a', byte('0' + i/10), byte('0' + i%10)}, Value: n("1")})
	}
	items := []ddb.Item{everyType(), item("pk", s("2")), many}
	enc := AppendBatch(nil, items)
	got, err := DecodeBatch(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("got %d items, want %d", len(got), len(items))
	}
	for i := range items {
		if !got[i].Equal(items[i]) {
			t.Errorf("item %d differs after round trip:\n got %v\nwant %v", i, got[i], items[i])
		}
	}
	if again := AppendBatch(nil, got); !bytes.Equal(again, enc) {
		t.Error("re-encoding the decoded batch gives other bytes")
	}
}

func TestRoundTripResults(t *testing.T) {
	rs := []Result{
		{Status: StatusPass},
		{Status: StatusModified, Items: []ddb.Item{everyType()}},
		{Status: StatusDrop},
		{Status: StatusError, Message: "bad email: ünïcode"},
		{Status: StatusFanOut, Items: []ddb.Item{item("a", n("1")), item("a", n("2"))}},
		{Status: StatusFanOut},
	}
	enc := AppendResults(nil, rs)
	got, err := DecodeResults(enc, len(rs))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		if got[i].Status != rs[i].Status || got[i].Message != rs[i].Message || len(got[i].Items) != len(rs[i].Items) {
			t.Fatalf("result %d: got %+v, want %+v", i, got[i], rs[i])
		}
		for j := range rs[i].Items {
			if !got[i].Items[j].Equal(rs[i].Items[j]) {
				t.Errorf("result %d item %d differs", i, j)
			}
		}
	}
	if _, err := DecodeResults(enc, len(rs)+1); err == nil {
		t.Error("an entry count other than the batch's was accepted")
	}
}

// The worked example of ABI.md.
const (
	abiExampleBatch  = "01 02 02 69 64 01 02 75 31 05 65 6d 61 69 6c 01 06 61 40 78 2e 69 6f"
	abiExampleResult = "01 01 02 02 69 64 01 02 75 31 05 65 6d 61 69 6c 01 03 2a 2a 2a"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestABIExample(t *testing.T) {
	batch := []ddb.Item{item("id", s("u1"), "email", s("a@x.io"))}
	if got, want := AppendBatch(nil, batch), unhex(t, abiExampleBatch); !bytes.Equal(got, want) {
		t.Errorf("batch encodes as % x, ABI.md says % x", got, want)
	}
	rs, err := DecodeResults(unhex(t, abiExampleResult), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := item("id", s("u1"), "email", s("***"))
	if rs[0].Status != StatusModified || !rs[0].Items[0].Equal(want) {
		t.Errorf("ABI.md's result decodes as %+v", rs[0])
	}
	abi, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{abiExampleBatch, abiExampleResult} {
		if !strings.Contains(string(abi), h) {
			t.Errorf("ABI.md does not contain the example %q", h)
		}
	}
}

func TestDecodeResultsRejects(t *testing.T) {
	tooDeep := AppendResults(nil, []Result{{Status: StatusModified, Items: []ddb.Item{item("x", nested(ddb.MaxDepth+1))}}})
	okDeep := AppendResults(nil, []Result{{Status: StatusModified, Items: []ddb.Item{item("x", nested(ddb.MaxDepth))}}})
	if _, err := DecodeResults(okDeep, 1); err != nil {
		t.Fatalf("nesting of exactly MaxDepth refused: %v", err)
	}
	for _, tc := range []struct {
		name, hex string
		raw       []byte
		want      string
	}{
		{name: "empty", hex: "", want: "truncated entry count"},
		{name: "missing status", hex: "01", want: "cannot fit"},
		{name: "count mismatch", hex: "02 00 00", want: "2 entries for a batch of 1"},
		{name: "unknown status", hex: "01 05", want: "unknown status 5"},
		{name: "trailing bytes", hex: "01 00 00", want: "1 trailing bytes"},
		{name: "non-minimal varint", hex: "81 00 00", want: "not minimal"},
		{name: "varint over 32 bits", hex: "ff ff ff ff 1f", want: "overflows 32 bits"},
		{name: "truncated varint", hex: "01 03 80", want: "truncated error message length"},
		{name: "message too long", hex: "01 03 05 61 62", want: "exceeds the 2 bytes left"},
		{name: "message not UTF-8", hex: "01 03 01 ff", want: "not valid UTF-8"},
		{name: "empty item", hex: "01 01 00", want: "no attributes"},
		{name: "huge attribute count", hex: "01 01 ff ff ff ff 0f", want: "exceeds the"},
		{name: "empty name", hex: "01 01 01 00 05 00", want: "name is empty"},
		{name: "unknown tag", hex: "01 01 01 01 61 0b", want: "unknown type tag 11"},
		{name: "tag zero", hex: "01 01 01 01 61 00", want: "unknown type tag 0"},
		{name: "missing tag", hex: "01 01 01 01 61", want: "exceeds the 2 bytes left"},
		{name: "BOOL 2", hex: "01 01 01 01 61 04 02", want: "not 0 or 1"},
		{name: "truncated BOOL", hex: "01 01 02 01 61 05 01 62 04", want: "truncated BOOL"},
		{name: "bad number", hex: "01 01 01 01 61 02 01 78", want: "not a number"},
		{name: "empty number", hex: "01 01 01 01 61 02 00", want: "not a number"},
		{name: "S not UTF-8", hex: "01 01 01 01 61 01 01 c3", want: "not valid UTF-8"},
		{name: "empty SS", hex: "01 01 01 01 61 06 00", want: "empty set"},
		{name: "NS element", hex: "01 01 01 01 61 07 01 01 2d", want: "not a number"},
		{name: "SS element not UTF-8", hex: "01 01 01 01 61 06 01 01 ff", want: "not valid UTF-8"},
		{name: "duplicate name", hex: "01 01 02 01 61 05 01 61 05", want: "occurs more than once"},
		{name: "duplicate in M", hex: "01 01 01 01 61 0a 02 01 62 05 01 62 05", want: "occurs more than once"},
		{name: "truncated L", hex: "01 01 01 01 61 09 03 05 05", want: "L element count 3 exceeds"},
		{name: "truncated B", hex: "01 01 01 01 61 03 04 00 00", want: "B value length 4 exceeds"},
		{name: "fan-out count", hex: "01 04 02 01 01 61 05", want: "fan-out item count 2 exceeds"},
		{name: "too deep", raw: tooDeep, want: "nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.raw
			if in == nil {
				in = unhex(t, tc.hex)
			}
			_, err := DecodeResults(in, 1)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, want a *DecodeError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestDecodeBatchRejects(t *testing.T) {
	for _, tc := range []struct{ name, hex, want string }{
		{"no items but bytes", "00 00", "trailing"},
		{"count too large", "05 01 01 61 05", "item count 5 exceeds"},
		{"empty item", "01 00 00 00 00", "no attributes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBatch(unhex(t, tc.hex))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
