package ddb

import (
	"errors"
	"strings"
	"testing"
)

func TestJSONDecodeTypes(t *testing.T) {
	tests := []struct {
		name string
		attr string // the attribute value as DynamoDB JSON
		want Value
	}{
		{"S", `{"S":"hello"}`, vS("hello")},
		{"S empty", `{"S":""}`, vS("")},
		{"S escapes", `{"S":"a\"b\\c\n\t\u00e9\ud83d\ude00\/"}`, vS("a\"b\\c\n\té😀/")},
		{"S raw UTF-8", `{"S":"日本語 🎉"}`, vS("日本語 🎉")},
		{"N integer", `{"N":"42"}`, vN("42")},
		{"N negative", `{"N":"-7"}`, vN("-7")},
		{"N decimal keeps text", `{"N":"1.50"}`, vN("1.50")},
		{"N exponent", `{"N":"1.5E+10"}`, vN("1.5E+10")},
		{"N small exponent", `{"N":"-2e-130"}`, vN("-2e-130")},
		{"N 38 digits", `{"N":"12345678901234567890123456789012345678"}`, vN("12345678901234567890123456789012345678")},
		{"B", `{"B":"aGVsbG8="}`, vB("hello")},
		{"B empty", `{"B":""}`, vB("")},
		{"BOOL true", `{"BOOL":true}`, vBool(true)},
		{"BOOL false", `{"BOOL":false}`, vBool(false)},
		{"NULL", `{"NULL":true}`, vNull()},
		{"SS", `{"SS":["a","b"]}`, vSS("a", "b")},
		{"NS", `{"NS":["1","2.5","-3e2"]}`, vNS("1", "2.5", "-3e2")},
		{"BS", `{"BS":["AQ==","AgM="]}`, vBS("\x01", "\x02\x03")},
		{"L", `{"L":[{"S":"a"},{"N":"1"},{"NULL":true}]}`, vL(vS("a"), vN("1"), vNull())},
		{"L empty", `{"L":[]}`, vL()},
		{"M", `{"M":{"b":{"S":"x"},"a":{"BOOL":true}}}`, vM(at("b", vS("x")), at("a", vBool(true)))},
		{"M empty", `{"M":{}}`, vM()},
		{"nested", `{"L":[{"M":{"l":{"L":[{"SS":["x"]}]}}}]}`, vL(vM(at("l", vL(vSS("x")))))},
		{"whitespace", ` { "S" : "x" } `, vS("x")},
	}
	d := NewJSONDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := d.Decode([]byte(`{"Item":{"pk":{"S":"k"},"v":` + tt.attr + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			want := item(at("pk", vS("k")), at("v", tt.want))
			if !rec.Item.Equal(want) {
				t.Errorf("got %v, want %v", rec.Item, want)
			}
			if rec.Keys != nil || rec.OldImage != nil || rec.NewImage != nil || rec.WriteTimestampMicros != 0 {
				t.Errorf("full export line set incremental fields: %+v", rec)
			}
		})
	}
}

func TestJSONDecodeOrder(t *testing.T) {
	rec, err := NewJSONDecoder().Decode([]byte(orderJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Item.Equal(orderItem) {
		t.Errorf("got %v\nwant %v", rec.Item, orderItem)
	}
}

func TestJSONDecodeAttributeNames(t *testing.T) {
	line := `{"Item":{"pk":{"S":"1"},"with space":{"N":"1"},"a.b":{"N":"2"},"🎉":{"N":"3"},` +
		`"Name":{"N":"4"},"name":{"N":"5"},"q\"uote\\":{"N":"6"},"\u00e9t\u00e9":{"N":"7"}}}`
	rec, err := NewJSONDecoder().Decode([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pk", "with space", "a.b", "🎉", "Name", "name", `q"uote\`, "été"}
	if len(rec.Item) != len(want) {
		t.Fatalf("got %d attributes, want %d", len(rec.Item), len(want))
	}
	for i, w := range want {
		if string(rec.Item[i].Name) != w {
			t.Errorf("attribute %d is named %q, want %q", i, rec.Item[i].Name, w)
		}
	}
	if v := rec.Item.Get("a.b"); v == nil || string(v.Bytes) != "2" {
		t.Errorf(`Get("a.b") = %v`, v)
	}
}

func TestJSONDecodeIncremental(t *testing.T) {
	keys := item(at("pk", vS("a")), at("sk", vN("1")))
	old := item(at("pk", vS("a")), at("sk", vN("1")), at("v", vS("old")))
	nw := item(at("pk", vS("a")), at("sk", vN("1")), at("v", vS("new")))
	const (
		meta = `"Metadata":{"WriteTimestampMicros":{"N":"1700000000000000"}}`
		k    = `"Keys":{"pk":{"S":"a"},"sk":{"N":"1"}}`
		o    = `"OldImage":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"S":"old"}}`
		n    = `"NewImage":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"S":"new"}}`
	)
	tests := []struct {
		name string
		line string
		want Record
	}{
		{"insert", `{` + meta + `,` + k + `,` + n + `}`, Record{Keys: keys, NewImage: nw, WriteTimestampMicros: 1700000000000000}},
		{"update", `{` + meta + `,` + k + `,` + o + `,` + n + `}`, Record{Keys: keys, OldImage: old, NewImage: nw, WriteTimestampMicros: 1700000000000000}},
		{"delete", `{` + meta + `,` + k + `,` + o + `}`, Record{Keys: keys, OldImage: old, WriteTimestampMicros: 1700000000000000}},
		{"delete NEW_IMAGE view", `{` + meta + `,` + k + `}`, Record{Keys: keys, WriteTimestampMicros: 1700000000000000}},
		{"any order", `{` + n + `,` + k + `,` + meta + `}`, Record{Keys: keys, NewImage: nw, WriteTimestampMicros: 1700000000000000}},
		{"extra metadata ignored", `{"Metadata":{"Other":{"S":"x"},"WriteTimestampMicros":{"N":"5"}},` + k + `}`, Record{Keys: keys, WriteTimestampMicros: 5}},
	}
	d := NewJSONDecoder()
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

func TestJSONDecodeErrors(t *testing.T) {
	const meta = `"Metadata":{"WriteTimestampMicros":{"N":"1"}}`
	tests := []struct {
		name string
		line string
		msg  string
		attr string
	}{
		{"not JSON", `{"Item":`, "line is not valid JSON: ", ""},
		{"trailing garbage", `{"Item":{"a":{"S":"x"}}} x`, "line is not valid JSON", ""},
		{"not UTF-8", "{\"Item\":{\"a\":{\"S\":\"\xff\"}}}", "line is not valid UTF-8", ""},
		{"not an object", `[1]`, "line is a JSON array, not an object", ""},
		{"neither", `{}`, `line has neither "Item" nor "Keys"`, ""},
		{"unknown part", `{"Item":{"a":{"S":"x"}},"Extra":1}`, `line has unknown field "Extra"`, ""},
		{"misspelt image", `{` + meta + `,"Keys":{"a":{"S":"x"}},"NewImgae":{}}`, `unknown field "NewImgae"`, ""},
		{"duplicate part", `{"Item":{"a":{"S":"x"}},"Item":{"a":{"S":"y"}}}`, `line has "Item" more than once`, ""},
		{"Item and Keys", `{"Item":{"a":{"S":"x"}},"Keys":{"a":{"S":"x"}}}`, `both "Item" and "Keys"`, ""},
		{"Item and NewImage", `{"Item":{"a":{"S":"x"}},"NewImage":{"a":{"S":"x"}}}`, `both "Item" and "NewImage"`, ""},
		{"Item and Metadata", `{"Item":{"a":{"S":"x"}},` + meta + `}`, `both "Item" and "Metadata"`, ""},
		{"image without Keys", `{` + meta + `,"NewImage":{"a":{"S":"x"}}}`, `"NewImage" but no "Keys"`, ""},
		{"Keys without Metadata", `{"Keys":{"a":{"S":"x"}}}`, `no "Metadata" with "WriteTimestampMicros"`, ""},
		{"Metadata without timestamp", `{"Metadata":{},"Keys":{"a":{"S":"x"}}}`, `"Metadata" has no "WriteTimestampMicros"`, ""},
		{"timestamp not N", `{"Metadata":{"WriteTimestampMicros":{"S":"1"}},"Keys":{"a":{"S":"x"}}}`, "must be a number (N), not S", "WriteTimestampMicros"},
		{"timestamp fraction", `{"Metadata":{"WriteTimestampMicros":{"N":"1.5"}},"Keys":{"a":{"S":"x"}}}`, `"1.5" is not a non-negative integer`, "WriteTimestampMicros"},
		{"timestamp overflow", `{"Metadata":{"WriteTimestampMicros":{"N":"9223372036854775808"}},"Keys":{"a":{"S":"x"}}}`, "is not a non-negative integer", "WriteTimestampMicros"},
		{"Item not object", `{"Item":[]}`, `"Item" must be a JSON object, not array`, ""},
		{"Item empty", `{"Item":{}}`, `"Item" has no attributes`, ""},
		{"Keys empty", `{` + meta + `,"Keys":{}}`, `"Keys" has no attributes`, ""},
		{"unknown tag", `{"Item":{"price":{"X":"1"}}}`, `attribute "price": unknown type tag "X" (want one of S, N, B, BOOL, NULL, SS, NS, BS, L, M)`, "price"},
		{"lower-case tag", `{"Item":{"price":{"n":"1"}}}`, `unknown type tag "n"`, "price"},
		{"no tag", `{"Item":{"a":{}}}`, "value has no type tag", "a"},
		{"two tags", `{"Item":{"a":{"S":"x","N":"1"}}}`, "value has 2 type tags (want exactly one", "a"},
		{"value not object", `{"Item":{"a":"x"}}`, "value must be a JSON object with one type tag", "a"},
		{"N not number", `{"Item":{"a.b":{"N":"abc"}}}`, `attribute "a.b": N value "abc" is not a number`, "a.b"},
		{"N empty", `{"Item":{"a":{"N":""}}}`, `N value "" is not a number`, "a"},
		{"N two points", `{"Item":{"a":{"N":"1.2.3"}}}`, `N value "1.2.3" is not a number`, "a"},
		{"N plus", `{"Item":{"a":{"N":"+1"}}}`, "is not a number", "a"},
		{"N bare point", `{"Item":{"a":{"N":"1."}}}`, "is not a number", "a"},
		{"N leading point", `{"Item":{"a":{"N":".5"}}}`, "is not a number", "a"},
		{"N empty exponent", `{"Item":{"a":{"N":"1e"}}}`, "is not a number", "a"},
		{"N space", `{"Item":{"a":{"N":" 1"}}}`, "is not a number", "a"},
		{"N NaN", `{"Item":{"a":{"N":"NaN"}}}`, "is not a number", "a"},
		{"N JSON number", `{"Item":{"a":{"N":1}}}`, "N must be a JSON string, not a JSON number", "a"},
		{"S number", `{"Item":{"a":{"S":1}}}`, "S must be a JSON string, not a JSON number", "a"},
		{"S null", `{"Item":{"a":{"S":null}}}`, "S must be a JSON string, not JSON null", "a"},
		{"B bad base64", `{"Item":{"img":{"B":"!!!"}}}`, "B value is not valid base64: illegal base64 data", "img"},
		{"B not string", `{"Item":{"img":{"B":true}}}`, "B value must be a base64 JSON string", "img"},
		{"BOOL string", `{"Item":{"a":{"BOOL":"true"}}}`, "BOOL must be true or false, not a JSON string", "a"},
		{"NULL false", `{"Item":{"a":{"NULL":false}}}`, "NULL value must be true, not false", "a"},
		{"NULL null", `{"Item":{"a":{"NULL":null}}}`, "NULL must be true, not JSON null", "a"},
		{"SS empty", `{"Item":{"tags":{"SS":[]}}}`, "SS value is an empty set", "tags"},
		{"NS empty", `{"Item":{"a":{"NS":[]}}}`, "NS value is an empty set", "a"},
		{"BS empty", `{"Item":{"a":{"BS":[]}}}`, "BS value is an empty set", "a"},
		{"SS not array", `{"Item":{"a":{"SS":"x"}}}`, "SS must be a JSON array, not a JSON string", "a"},
		{"SS element", `{"Item":{"tags":{"SS":["a",1]}}}`, "SS element must be a JSON string, not a JSON number", "tags[1]"},
		{"NS element", `{"Item":{"a":{"NS":["1","x"]}}}`, `NS element "x" is not a number`, "a[1]"},
		{"BS element", `{"Item":{"a":{"BS":["AQ==","*"]}}}`, "BS element is not valid base64", "a[1]"},
		{"L not array", `{"Item":{"a":{"L":{}}}}`, "L must be a JSON array, not a JSON object", "a"},
		{"M not object", `{"Item":{"a":{"M":[]}}}`, "M must be a JSON object, not a JSON array", "a"},
		{"nested path", `{"Item":{"items":{"L":[{"M":{}},{"M":{}},{"M":{"sku":{"N":"x"}}}]}}}`, `attribute "items[2].sku": N value "x" is not a number`, "items[2].sku"},
		{"path in list in list", `{"Item":{"a":{"L":[{"L":[{"S":"x"},{"Q":1}]}]}}}`, `unknown type tag "Q"`, "a[0][1]"},
		{"path in image", `{` + meta + `,"Keys":{"a":{"S":"x"}},"NewImage":{"m":{"M":{"k":{"BOOL":1}}}}}`, `NewImage: attribute "m.k": BOOL must be true or false`, "m.k"},
		{"empty name", `{"Item":{"":{"S":"x"}}}`, "attribute name is empty", ""},
		{"empty nested name", `{"Item":{"m":{"M":{"":{"S":"x"}}}}}`, "attribute name is empty", "m"},
		{"duplicate name", `{"Item":{"a":{"S":"x"},"b":{"S":"y"},"a":{"S":"z"}}}`, `attribute "a": attribute name occurs more than once`, "a"},
		{"duplicate nested name", `{"Item":{"m":{"M":{"k":{"S":"x"},"k":{"S":"z"}}}}}`, "occurs more than once", "m.k"},
		{"too deep", nestedJSON(MaxDepth + 1), "nested deeper than DynamoDB's limit of 32 levels", "a" + strings.Repeat(".x", MaxDepth)},
	}
	d := NewJSONDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Decode([]byte(tt.line))
			wantDecodeError(t, err, tt.msg, tt.attr)
		})
	}
}

func TestJSONDecodeDepth(t *testing.T) {
	d := NewJSONDecoder()
	rec, err := d.Decode([]byte(nestedJSON(MaxDepth)))
	if err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
	v := rec.Item.Get("a")
	for i := range MaxDepth {
		if v.Kind != M {
			t.Fatalf("level %d is %v", i, v.Kind)
		}
		v = &v.Map[0].Value
	}
	if v.Kind != S {
		t.Fatalf("leaf is %v", v.Kind)
	}
	// L counts like M.
	deepL := `{"Item":{"a":` + strings.Repeat(`{"L":[`, MaxDepth+1) + `{"S":"x"}` + strings.Repeat(`]}`, MaxDepth+1) + `}}`
	if _, err := d.Decode([]byte(deepL)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("%d levels of L: got %v", MaxDepth+1, err)
	}
}

func TestJSONDecodeManyAttributes(t *testing.T) {
	// Past dupLinear, duplicates are found by sorting.
	var b strings.Builder
	b.WriteString(`{"Item":{`)
	for i := range 200 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"a` + strings.Repeat("x", i) + `":{"N":"1"}`)
	}
	d := NewJSONDecoder()
	rec, err := d.Decode([]byte(b.String() + `}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Item) != 200 {
		t.Fatalf("got %d attributes", len(rec.Item))
	}
	_, err = d.Decode([]byte(b.String() + `,"axx":{"S":"dup"}}}`))
	wantDecodeError(t, err, "occurs more than once", "axx")
}

func TestJSONDecodeBlank(t *testing.T) {
	d := NewJSONDecoder()
	for _, line := range []string{"", "   ", "\t"} {
		_, err := d.Decode([]byte(line))
		if !errors.Is(err, ErrNoRecord) {
			t.Errorf("Decode(%q) = %v, want ErrNoRecord", line, err)
		}
	}
}

// TestJSONDecoderReuse checks that a decoder goes on working after errors
// and after lines of very different sizes, which exercise arena growth.
func TestJSONDecoderReuse(t *testing.T) {
	d := NewJSONDecoder()
	var big strings.Builder
	big.WriteString(`{"Item":{"pk":{"S":"big"},"l":{"L":[`)
	for i := range 5000 {
		if i > 0 {
			big.WriteByte(',')
		}
		big.WriteString(`{"M":{"b":{"B":"AAECAwQFBgcICQ=="},"n":{"N":"1"}}}`)
	}
	big.WriteString(`]}}}`)
	lines := []string{orderJSON, `{"Item":{"a":{"X":1}}}`, big.String(), orderJSON, `nope`, big.String(), orderJSON}
	for i, line := range lines {
		rec, err := d.Decode([]byte(line))
		switch {
		case line == orderJSON:
			if err != nil || !rec.Item.Equal(orderItem) {
				t.Fatalf("line %d: %v %v", i, err, rec.Item)
			}
		case strings.HasPrefix(line, `{"Item":{"pk":{"S":"big"}`):
			if err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			l := rec.Item.Get("l").List
			if len(l) != 5000 || string(l[4999].Map[0].Value.Bytes) != "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09" {
				t.Fatalf("line %d: bad big item", i)
			}
		default:
			if err == nil {
				t.Fatalf("line %d: no error", i)
			}
		}
	}
}

func TestJSONDecodeAllocs(t *testing.T) {
	d := NewJSONDecoder()
	line := []byte(orderJSON)
	if _, err := d.Decode(line); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := d.Decode(line); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.5 {
		t.Errorf("Decode allocates %.1f times per item in steady state, want 0", allocs)
	}
}

func BenchmarkJSONDecode(b *testing.B) {
	d := NewJSONDecoder()
	line := []byte(orderJSON)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONDecodeIncremental(b *testing.B) {
	img := orderJSON[len(`{"Item":`) : len(orderJSON)-1]
	line := []byte(`{"Metadata":{"WriteTimestampMicros":{"N":"1700000000000000"}},` +
		`"Keys":{"pk":{"S":"CUSTOMER#48213"},"sk":{"S":"ORDER#2024-03-17T09:21:44Z#7f3a"}},` +
		`"OldImage":` + img + `,"NewImage":` + img + `}`)
	d := NewJSONDecoder()
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(line); err != nil {
			b.Fatal(err)
		}
	}
}

func TestJSONDecodeStrict(t *testing.T) {
	// fastjson alone would keep these as literal text.
	d := NewJSONDecoder()
	for _, line := range []string{
		`{"Item":{"a":{"S":"\x"}}}`,
		`{"Item":{"a":{"S":"\u12"}}}`,
		"{\"Item\":{\"a\":{\"S\":\"tab\there\"}}}",
		"{\"Item\":{\"a\\q\":{\"S\":\"x\"}}}",
	} {
		_, err := d.Decode([]byte(line))
		wantDecodeError(t, err, "line is not valid JSON", "")
	}
	// Whitespace control characters outside strings are fine.
	if _, err := d.Decode([]byte("{\t\"Item\":\r{\"a\":{\"S\":\"x\"}}}")); err != nil {
		t.Error(err)
	}
}

func TestHasControl(t *testing.T) {
	for i := range 40 {
		for _, c := range []byte{0, 0x1f, '\t', '\n'} {
			b := []byte(strings.Repeat("a\x7f\x80\xff ", 10))[:i+1]
			if hasControl(b) {
				t.Fatalf("false positive on %q", b)
			}
			b[i] = c
			if !hasControl(b) {
				t.Fatalf("missed %#x at %d in %q", c, i, b)
			}
		}
	}
}
