package ddb

import (
	"errors"
	"strings"
	"testing"
)

const orderIon = `$ion_1_0 {Item:{pk:"CUSTOMER#48213",sk:"ORDER#2024-03-17T09:21:44Z#7f3a",status:"SHIPPED",` +
	`total:129.97,currency:"EUR",express:false,coupon:null,tags:$dynamodb_SS::["gift","priority"],` +
	`weights:$dynamodb_NS::[0.5,1.25],items:[{sku:"A-1001",qty:2,price:19.99},{sku:"B-2002",qty:1,price:89.99}],` +
	`shipping:{name:"Jane Doe",street:"12 Rue de la Paix",city:"Paris",zip:"75002",country:"FR"},` +
	`thumb:{{iVBORw0KGgo=}}}}`

func TestIonDecodeOrder(t *testing.T) {
	d := NewIonDecoder()
	for _, line := range []string{orderIon, strings.TrimPrefix(orderIon, "$ion_1_0 ")} {
		rec, err := d.Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Item.Equal(orderItem) {
			t.Errorf("got %v\nwant %v", rec.Item, orderItem)
		}
	}
}

func TestIonDecodeTypes(t *testing.T) {
	tests := []struct {
		name string
		attr string // the attribute value in Ion text
		want Value
	}{
		{"S", `"hello"`, vS("hello")},
		{"S empty", `""`, vS("")},
		{"S escapes", `"a\"b\\c\n\t\xe9\u00e9\U0001F600"`, vS("a\"b\\c\n\téé😀")},
		{"S surrogate pair escape", `"a\uD83D\uDE00b\ud83d\ude00"`, vS("a😀b😀")},
		{"S escaped backslash before u", `"\\uD83D\uDE00"`, vS("\\uD83D\uFFFD")},
		{"S lone surrogate", `"\uD83Dx"`, vS("\uFFFDx")},
		{"S surrogates reversed", `"\uDE00\uD83D"`, vS("\uFFFD\uFFFD")},
		{"S long string", `'''ab''' '''cd'''`, vS("abcd")},
		{"S raw UTF-8", `"日本語 🎉"`, vS("日本語 🎉")},
		{"N int", `42`, vN("42")},
		{"N negative int", `-7`, vN("-7")},
		{"N big int", `123456789012345678901234567890123456789`, vN("123456789012345678901234567890123456789")},
		{"N int underscores", `1_000`, vN("1000")},
		{"N hex int", `0x1F`, vN("31")},
		{"N decimal keeps scale", `1.50`, vN("1.50")},
		{"N decimal exponent", `12d3`, vN("12000")},
		{"N decimal point exponent", `12.d3`, vN("12000")},
		{"N decimal capital D", `1.5D2`, vN("150")},
		{"N decimal negative exponent", `1.5d-3`, vN("0.0015")},
		{"N decimal fraction exponent", `1.2345d2`, vN("123.45")},
		{"N integral decimal", `42.`, vN("42")},
		{"N negative decimal", `-0.25`, vN("-0.25")},
		{"N zero decimal", `0.0`, vN("0.0")},
		{"N negative zero", `-0.0`, vN("-0.0")},
		{"N zero exponent", `0d5`, vN("0")},
		{"N DynamoDB max", `9.9999999999999999999999999999999999999d125`, vN("99999999999999999999999999999999999999" + strings.Repeat("0", 88))},
		{"N DynamoDB min", `1d-130`, vN("0." + strings.Repeat("0", 129) + "1")},
		{"N beyond range", `12d999999999`, vN("12E999999999")},
		{"N beyond range small", `-12d-999`, vN("-12E-999")},
		{"N zero beyond range", `0d-999`, vN("0E-999")},
		{"B", `{{aGVsbG8=}}`, vB("hello")},
		{"B spaced", `{{ aGVs bG8= }}`, vB("hello")},
		{"B empty", `{{}}`, vB("")},
		{"BOOL true", `true`, vBool(true)},
		{"BOOL false", `false`, vBool(false)},
		{"NULL", `null`, vNull()},
		{"NULL explicit", `null.null`, vNull()},
		{"SS", `$dynamodb_SS::["a","b"]`, vSS("a", "b")},
		{"NS", `$dynamodb_NS::[1,2.5,-3d2]`, vNS("1", "2.5", "-300")},
		{"BS", `$dynamodb_BS::[{{AQ==}},{{AgM=}}]`, vBS("\x01", "\x02\x03")},
		{"L", `["a",1,null]`, vL(vS("a"), vN("1"), vNull())},
		{"L empty", `[]`, vL()},
		{"M", `{b:"x",a:true}`, vM(at("b", vS("x")), at("a", vBool(true)))},
		{"M empty", `{}`, vM()},
		{"M escaped name", `{'\uD83C\uDF89':1} /* \ */`, vM(at("🎉", vN("1")))},
		{"M quoted names", `{'a b':1,'a.b':2,"c":3,'🎉':4,'null':5}`, vM(at("a b", vN("1")), at("a.b", vN("2")), at("c", vN("3")), at("🎉", vN("4")), at("null", vN("5")))},
		{"nested", `[{l:[$dynamodb_SS::["x"]]}]`, vL(vM(at("l", vL(vSS("x")))))},
		{"comments", `/* c */ "x" /* end */`, vS("x")},
	}
	d := NewIonDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := d.Decode([]byte(`{Item:{pk:"k",v:` + tt.attr + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			want := item(at("pk", vS("k")), at("v", tt.want))
			if !rec.Item.Equal(want) {
				t.Errorf("got %v, want %v", rec.Item, want)
			}
		})
	}
}

func TestIonDecodeIncremental(t *testing.T) {
	keys := item(at("pk", vS("a")), at("sk", vN("1")))
	old := item(at("pk", vS("a")), at("sk", vN("1")), at("v", vS("old")))
	nw := item(at("pk", vS("a")), at("sk", vN("1")), at("v", vS("new")))
	tests := []struct {
		name string
		line string
		want Record
	}{
		{"insert", `{Metadata:{WriteTimestampMicros:1700000000000000},Keys:{pk:"a",sk:1},NewImage:{pk:"a",sk:1,v:"new"}}`,
			Record{Keys: keys, NewImage: nw, WriteTimestampMicros: 1700000000000000}},
		{"update", `$ion_1_0 {Metadata:{WriteTimestampMicros:1700000000000000},Keys:{pk:"a",sk:1},OldImage:{pk:"a",sk:1,v:"old"},NewImage:{pk:"a",sk:1,v:"new"}}`,
			Record{Keys: keys, OldImage: old, NewImage: nw, WriteTimestampMicros: 1700000000000000}},
		{"delete", `{Metadata:{WriteTimestampMicros:17},Keys:{pk:"a",sk:1},OldImage:{pk:"a",sk:1,v:"old"}}`,
			Record{Keys: keys, OldImage: old, WriteTimestampMicros: 17}},
		{"decimal timestamp", `{Metadata:{WriteTimestampMicros:17.,Other:"x"},Keys:{pk:"a",sk:1}}`,
			Record{Keys: keys, WriteTimestampMicros: 17}},
	}
	d := NewIonDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := d.Decode([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Equal(tt.want) {
				t.Errorf("got %+v, want %+v", rec, tt.want)
			}
		})
	}
}

func TestIonDecodeErrors(t *testing.T) {
	const meta = `Metadata:{WriteTimestampMicros:1}`
	tests := []struct {
		name string
		line string
		msg  string
		attr string
	}{
		{"syntax", `{Item:{a:"x"}`, "line is not valid Ion: ", ""},
		{"bad token", `{Item:{a:"x" b}}`, "line is not valid Ion", ""},
		{"not UTF-8", "{Item:{a:\"\xff\"}}", "line is not valid UTF-8", ""},
		{"two values", `{Item:{a:"x"}} {Item:{a:"y"}}`, "line holds more than one Ion value", ""},
		{"not a struct", `[1]`, "line is an Ion list, not a struct", ""},
		{"null struct", `null.struct`, "line is an Ion null.struct, not a struct", ""},
		{"neither", `{}`, `line has neither "Item" nor "Keys"`, ""},
		{"unknown part", `{Item:{a:"x"},Extra:1}`, `line has unknown field "Extra"`, ""},
		{"duplicate part", `{Item:{a:"x"},Item:{a:"y"}}`, `line has "Item" more than once`, ""},
		{"Item and Keys", `{Item:{a:"x"},Keys:{a:"x"}}`, `both "Item" and "Keys"`, ""},
		{"Keys without Metadata", `{Keys:{a:"x"}}`, `no "Metadata" with "WriteTimestampMicros"`, ""},
		{"Metadata without timestamp", `{Metadata:{},Keys:{a:"x"}}`, `"Metadata" has no "WriteTimestampMicros"`, ""},
		{"timestamp string", `{Metadata:{WriteTimestampMicros:"1"},Keys:{a:"x"}}`, "must be a number (N), not S", "WriteTimestampMicros"},
		{"timestamp negative", `{Metadata:{WriteTimestampMicros:-1},Keys:{a:"x"}}`, "is not a non-negative integer", "WriteTimestampMicros"},
		{"Item not struct", `{Item:[]}`, `"Item" must be an Ion struct, not list`, ""},
		{"Item empty", `{Item:{}}`, `"Item" has no attributes`, ""},
		{"float", `{Item:{price:1.5e0}}`, `attribute "price": Ion float is not a DynamoDB number`, "price"},
		{"timestamp value", `{Item:{t:2024-01-01T}}`, "Ion timestamp is not a DynamoDB type", "t"},
		{"symbol value", `{Item:{s:abc}}`, "Ion symbol is not a DynamoDB type", "s"},
		{"clob", `{Item:{c:{{"x"}}}}`, "Ion clob is not a DynamoDB type", "c"},
		{"sexp", `{Item:{x:(a b)}}`, "Ion sexp is not a DynamoDB type", "x"},
		{"typed null", `{Item:{s:null.string}}`, "Ion null.string is not a DynamoDB value", "s"},
		{"unknown annotation", `{Item:{s:foo::"x"}}`, "unexpected Ion annotation foo::", "s"},
		{"two annotations", `{Item:{s:$dynamodb_SS::$dynamodb_SS::["x"]}}`, "unexpected Ion annotation", "s"},
		{"set not list", `{Item:{s:$dynamodb_SS::"x"}}`, "$dynamodb_SS:: must annotate a list, not string", "s"},
		{"SS empty", `{Item:{tags:$dynamodb_SS::[]}}`, "SS value is an empty set", "tags"},
		{"SS element", `{Item:{tags:$dynamodb_SS::["a",1]}}`, "SS element must be an Ion string, not int", "tags[1]"},
		{"NS element", `{Item:{a:$dynamodb_NS::[1,"x"]}}`, "NS element must be an Ion int or decimal, not string", "a[1]"},
		{"BS element", `{Item:{a:$dynamodb_BS::["x"]}}`, "BS element must be an Ion blob, not string", "a[0]"},
		{"set null element", `{Item:{a:$dynamodb_SS::[null]}}`, "SS element must not be null", "a[0]"},
		{"nested path", `{Item:{items:[{},{},{sku:1e0}]}}`, `attribute "items[2].sku": Ion float`, "items[2].sku"},
		{"path in image", `{` + meta + `,Keys:{a:"x"},NewImage:{m:{k:2024T}}}`, `NewImage: attribute "m.k": Ion timestamp`, "m.k"},
		{"duplicate name", `{Item:{a:"x",b:"y",a:"z"}}`, `attribute "a": attribute name occurs more than once`, "a"},
		{"empty name", `{Item:{'':"x"}}`, "attribute name is empty", ""},
		{"unknown symbol ID", `{Item:{a:"x",$99:1}}`, "line is not valid Ion", ""},
		{"too deep", `{Item:{a:` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `}}`, "nested deeper than DynamoDB's limit of 32 levels", "a" + strings.Repeat("[0]", MaxDepth)},
	}
	d := NewIonDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Decode([]byte(tt.line))
			wantDecodeError(t, err, tt.msg, tt.attr)
		})
	}
}

func TestIonDecodeDepth(t *testing.T) {
	line := `{Item:{a:` + strings.Repeat("{x:", MaxDepth) + `"leaf"` + strings.Repeat("}", MaxDepth) + `}}`
	rec, err := NewIonDecoder().Decode([]byte(line))
	if err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
	v := rec.Item.Get("a")
	for range MaxDepth {
		v = &v.Map[0].Value
	}
	if v.Kind != S {
		t.Fatalf("leaf is %v", v.Kind)
	}
}

func TestIonDecodeNoRecord(t *testing.T) {
	d := NewIonDecoder()
	for _, line := range []string{"", "  ", "$ion_1_0", "$ion_1_0 // nothing", "/* only a comment */"} {
		_, err := d.Decode([]byte(line))
		if !errors.Is(err, ErrNoRecord) {
			t.Errorf("Decode(%q) = %v, want ErrNoRecord", line, err)
		}
	}
}

func TestIonDecoderReuse(t *testing.T) {
	d := NewIonDecoder()
	for i, line := range []string{orderIon, `{Item:{a:x}}`, orderIon, `{Item:{a:[[`, orderIon} {
		rec, err := d.Decode([]byte(line))
		if line == orderIon {
			if err != nil || !rec.Item.Equal(orderItem) {
				t.Fatalf("line %d: %v", i, err)
			}
		} else if err == nil {
			t.Fatalf("line %d: no error", i)
		}
	}
}

func TestIonDecodeAllocs(t *testing.T) {
	// The Ion reader allocates per value; this guards against the decoder
	// adding per-line costs of its own on top (such as a fresh buffer).
	d := NewIonDecoder()
	line := []byte(orderIon)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := d.Decode(line); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations per item", allocs)
	if allocs > 400 {
		t.Errorf("Decode allocates %.0f times per item, want at most 400", allocs)
	}
}

func BenchmarkIonDecode(b *testing.B) {
	d := NewIonDecoder()
	line := []byte(orderIon)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(line); err != nil {
			b.Fatal(err)
		}
	}
}
