package ddb

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestAppendValueJSON(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{vS("x"), `{"S":"x"}`},
		{vS(""), `{"S":""}`},
		{vS("q\"b\\s/\n\r\t\x00\x1f\x7fé😀"), `{"S":"q\"b\\s/\n\r\t\u0000\u001f` + "\x7fé😀" + `"}`},
		{vS("bad\xffutf8"), `{"S":"bad\ufffdutf8"}`},
		{vN("1.5"), `{"N":"1.5"}`},
		{vN("-1E+10"), `{"N":"-1E+10"}`},
		{vB("hello"), `{"B":"aGVsbG8="}`},
		{vB(""), `{"B":""}`},
		{vBool(true), `{"BOOL":true}`},
		{vBool(false), `{"BOOL":false}`},
		{vNull(), `{"NULL":true}`},
		{vSS("a", "b\""), `{"SS":["a","b\""]}`},
		{vNS("1", "2.5"), `{"NS":["1","2.5"]}`},
		{vBS("\x01", "\x02\x03"), `{"BS":["AQ==","AgM="]}`},
		{vL(), `{"L":[]}`},
		{vL(vS("a"), vN("1")), `{"L":[{"S":"a"},{"N":"1"}]}`},
		{vM(), `{"M":{}}`},
		{vM(at("a b", vS("x")), at("é\"", vNull())), `{"M":{"a b":{"S":"x"},"é\"":{"NULL":true}}}`},
		{Value{}, `{"NULL":true}`},
	}
	for _, tt := range tests {
		if got := string(AppendValueJSON(nil, tt.v)); got != tt.want {
			t.Errorf("AppendValueJSON(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestAppendRecordJSON(t *testing.T) {
	if got := string(AppendRecordJSON(nil, Record{Item: orderItem})); got != orderJSON {
		t.Errorf("got  %s\nwant %s", got, orderJSON)
	}
	rec := Record{
		Keys:                 item(at("pk", vS("a"))),
		NewImage:             item(at("pk", vS("a")), at("v", vN("1"))),
		WriteTimestampMicros: 1700000000000001,
	}
	want := `{"Metadata":{"WriteTimestampMicros":{"N":"1700000000000001"}},"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"v":{"N":"1"}}}`
	if got := string(AppendRecordJSON(nil, rec)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := vM(at("a", vS("x"))).String(); got != `{"M":{"a":{"S":"x"}}}` {
		t.Errorf("Value.String() = %s", got)
	}
	if got := item(at("a", vS("x"))).String(); got != `{"a":{"S":"x"}}` {
		t.Errorf("Item.String() = %s", got)
	}
}

func TestAppendValueIon(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{vS("x"), `"x"`},
		{vS("q\"'b\\\n\x00\x7fé😀"), `"q\"'b\\\n\x00\x7fé😀"`},
		{vS("bad\xff"), `"bad\ufffd"`},
		{vN("42"), `42`},
		{vN("007"), `7`},
		{vN("-0"), `-0.`},
		{vN("0"), `0`},
		{vN("1.50"), `1.50`},
		{vN("00.5"), `0.5`},
		{vN("1e5"), `1d5`},
		{vN("1.5E+10"), `1.5d10`},
		{vN("-1E-05"), `-1d-5`},
		{vN("12E999999999"), `12d999999999`},
		{vB("hello"), `{{aGVsbG8=}}`},
		{vB(""), `{{}}`},
		{vBool(true), `true`},
		{vNull(), `null`},
		{vSS("a", "b"), `$dynamodb_SS::["a","b"]`},
		{vNS("1", "2.5"), `$dynamodb_NS::[1,2.5]`},
		{vBS("\x01"), `$dynamodb_BS::[{{AQ==}}]`},
		{vL(vS("a"), vL()), `["a",[]]`},
		{vM(at("plain_1", vN("1")), at("a b", vN("2")), at("null", vN("3")), at("$ion_1_0", vN("4")), at("1a", vN("5")), at("it's", vN("6"))),
			`{plain_1:1,'a b':2,'null':3,'$ion_1_0':4,'1a':5,'it\'s':6}`},
	}
	for _, tt := range tests {
		if got := string(AppendValueIon(nil, tt.v)); got != tt.want {
			t.Errorf("AppendValueIon(%v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestAppendRecordIon(t *testing.T) {
	want := strings.TrimPrefix(orderIon, "$ion_1_0 ")
	if got := string(AppendRecordIon(nil, Record{Item: orderItem})); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	rec := Record{
		Keys:                 item(at("pk", vS("a"))),
		OldImage:             item(at("pk", vS("a"))),
		WriteTimestampMicros: 5,
	}
	if got := string(AppendRecordIon(nil, rec)); got != `{Metadata:{WriteTimestampMicros:5},Keys:{pk:"a"},OldImage:{pk:"a"}}` {
		t.Errorf("got %s", got)
	}
}

// TestJSONToIon converts between the formats the way a sample-export
// generator does.
func TestJSONToIon(t *testing.T) {
	rec, err := NewJSONDecoder().Decode([]byte(orderJSON))
	if err != nil {
		t.Fatal(err)
	}
	ionLine := AppendRecordIon([]byte("$ion_1_0 "), rec)
	back, err := NewIonDecoder().Decode(ionLine)
	if err != nil {
		t.Fatalf("%s: %v", ionLine, err)
	}
	if !back.Equal(rec) {
		t.Errorf("got %v, want %v", back.Item, rec.Item)
	}
}

// gen makes random values for round-trip tests. Numbers come out in the
// form the Ion decoder produces, so both formats must give them back as is.
type gen struct{ r *rand.Rand }

var genNames = []string{"pk", "sk", "a", "A", "a.b", "with space", "🎉", "é", `q"uote`, `back\slash`, "tab\tname", "null", "$ion_1_0", "1a", "x_1", "it's"}

func (g gen) str() string {
	const pool = "abcXYZ019 \"\\'/\n\t\x00\x01\x7fé日😀"
	runes := []rune(pool)
	n := g.r.IntN(12)
	var b strings.Builder
	for range n {
		b.WriteRune(runes[g.r.IntN(len(runes))])
	}
	return b.String()
}

func (g gen) bytes() string {
	b := make([]byte, g.r.IntN(10))
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return string(b)
}

func (g gen) num() string {
	switch g.r.IntN(8) {
	case 0:
		return strconv.FormatInt(g.r.Int64()>>g.r.IntN(63), 10)
	case 1:
		return "-" + strconv.Itoa(1+g.r.IntN(1000))
	case 2:
		return "0"
	case 3:
		return "-0.0"
	case 4:
		return strconv.Itoa(g.r.IntN(1000)) + "." + strconv.Itoa(g.r.IntN(100)) + "0"
	case 5:
		return "0.00" + strconv.Itoa(1+g.r.IntN(999))
	case 6:
		return "12345678901234567890123456789012345678" + strings.Repeat("0", g.r.IntN(88))
	default:
		return strconv.Itoa(1+g.r.IntN(99)) + "E" + strconv.Itoa(200+g.r.IntN(1000))
	}
}

func (g gen) value(depth int) Value {
	k := Kind(1 + g.r.IntN(10))
	if depth > 3 && (k == L || k == M) {
		k = S
	}
	switch k {
	case S:
		return vS(g.str())
	case N:
		return vN(g.num())
	case B:
		return vB(g.bytes())
	case BOOL:
		return vBool(g.r.IntN(2) == 0)
	case NULL:
		return vNull()
	case SS, NS, BS:
		v := Value{Kind: k}
		for range 1 + g.r.IntN(3) {
			switch k {
			case SS:
				v.List = append(v.List, vS(g.str()))
			case NS:
				v.List = append(v.List, vN(g.num()))
			default:
				v.List = append(v.List, vB(g.bytes()))
			}
		}
		return v
	case L:
		v := Value{Kind: L}
		for range g.r.IntN(4) {
			v.List = append(v.List, g.value(depth+1))
		}
		return v
	}
	return Value{Kind: M, Map: g.attrs(depth+1, g.r.IntN(4))}
}

func (g gen) attrs(depth, n int) []Attr {
	var out []Attr
	for _, i := range g.r.Perm(len(genNames))[:n] {
		out = append(out, at(genNames[i], g.value(depth)))
	}
	return out
}

func (g gen) record() Record {
	if g.r.IntN(2) == 0 {
		return Record{Item: g.attrs(1, 1+g.r.IntN(6))}
	}
	rec := Record{Keys: g.attrs(1, 1+g.r.IntN(2)), WriteTimestampMicros: g.r.Int64()}
	if g.r.IntN(2) == 0 {
		rec.OldImage = g.attrs(1, 1+g.r.IntN(6))
	}
	if g.r.IntN(2) == 0 {
		rec.NewImage = g.attrs(1, 1+g.r.IntN(6))
	}
	return rec
}

func TestRoundTrip(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	jd, id := NewJSONDecoder(), NewIonDecoder()
	var buf []byte
	for i := range 3000 {
		rec := g.record()

		buf = AppendRecordJSON(buf[:0], rec)
		got, err := jd.Decode(buf)
		if err != nil {
			t.Fatalf("record %d: JSON %s: %v", i, buf, err)
		}
		if !got.Equal(rec) {
			t.Fatalf("record %d: JSON round trip of %s\ngave %+v\nwant %+v", i, buf, got, rec)
		}

		buf = AppendRecordIon(buf[:0], rec)
		got, err = id.Decode(buf)
		if err != nil {
			t.Fatalf("record %d: Ion %s: %v", i, buf, err)
		}
		if !got.Equal(rec) {
			t.Fatalf("record %d: Ion round trip of %s\ngave %+v\nwant %+v", i, buf, got, rec)
		}
	}
}

func TestEqual(t *testing.T) {
	a := vM(at("x", vL(vN("1"), vSS("a"))))
	if !a.Equal(a.Clone()) {
		t.Error("value differs from its clone")
	}
	for _, b := range []Value{
		vM(at("y", vL(vN("1"), vSS("a")))),
		vM(at("x", vL(vN("1.0"), vSS("a")))),
		vM(at("x", vL(vN("1"), vSS("a", "b")))),
		vM(at("x", vL(vN("1"), vNS("1")))),
		vL(vN("1"), vSS("a")),
	} {
		if a.Equal(b) {
			t.Errorf("%v equals %v", a, b)
		}
	}
	// Fields a kind does not use do not count.
	if !(Value{Kind: NULL, Bool: true}).Equal(vNull()) || vBool(true).Equal(vBool(false)) {
		t.Error("BOOL/NULL comparison")
	}
	if (Record{Item: item(at("a", vNull()))}).Equal(Record{Keys: item(at("a", vNull()))}) {
		t.Error("Item equals Keys")
	}
}

func TestNewDecoder(t *testing.T) {
	if d, err := NewDecoder("DYNAMODB_JSON"); err != nil {
		t.Error(err)
	} else if _, ok := d.(*JSONDecoder); !ok {
		t.Errorf("DYNAMODB_JSON gave %T", d)
	}
	if d, err := NewDecoder("ION"); err != nil {
		t.Error(err)
	} else if _, ok := d.(*IonDecoder); !ok {
		t.Errorf("ION gave %T", d)
	}
	if _, err := NewDecoder("CSV"); err == nil || !strings.Contains(err.Error(), `"CSV"`) {
		t.Errorf("CSV gave %v", err)
	}
}

func BenchmarkAppendItemJSON(b *testing.B) {
	buf := AppendItemJSON(nil, orderItem)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendItemJSON(buf[:0], orderItem)
	}
}
