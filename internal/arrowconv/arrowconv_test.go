package arrowconv

import (
	"errors"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/schema"
)

// wide is an M with more distinct names than a struct takes, so Decide
// stores it as a map.
func wide(n int, val func(i int) ddb.Value) ddb.Value {
	m := vM()
	for i := range n {
		m.Map = append(m.Map, at("k"+strconv.Itoa(i), val(i)))
	}
	return m
}

// sampleItems cover every column representation Decide produces.
func sampleItems() []ddb.Item {
	return []ddb.Item{
		item(
			at("pk", vS("p1")), at("sk", vN("1")),
			at("s", vS("héllo")), at("n", vN("42")), at("d", vN("12.5")),
			at("big", vN("9223372036854775808")), at("text", vN("1E+40")),
			at("b", vB("\x00\xff")), at("ok", vBool(true)), at("nul", vNull()),
			at("ss", vSS("a", "b")), at("ns", vNS("1", "2.25")), at("bs", vBS("x", "")),
			at("l", vL(vS("a"), vNull(), vS("c"))), at("lj", vL(vS("a"), vN("1"))),
			at("lm", vL(vM(at("sku", vS("A")), at("qty", vN("2"))), vM(at("sku", vS("B"))))),
			at("m", vM(at("street", vS("Rue")), at("zip", vN("75002")), at("geo", vM(at("lat", vN("48.85")))))),
			at("mj", vM()),
			at("wm", wide(schema.MaxStructFields+1, func(i int) ddb.Value { return vN(strconv.Itoa(i)) })),
			// NULL elements of lists of every element type.
			at("lNull", vL(vN("1"), vNull())), at("lDec", vL(vNull(), vN("1.5"))), at("lText", vL(vN("1E+40"), vNull())),
			at("lBool", vL(vBool(false), vNull())), at("lBin", vL(vNull(), vB("x"))), at("lJSON", vL(vNull(), vL(vS("a"), vN("1")))),
			at("lMap", vL(vNull(), vM(at("a", vS("x"))))), at("lWide", vL(vNull(), wide(schema.MaxStructFields+1, func(i int) ddb.Value { return vNull() }))),
		),
		item(
			at("sk", vN("-2")), at("pk", vS("p2")),
			at("d", vN("-0.5")), at("big", vN("-99999999999999999999999999999999999999")),
			at("ns", vNS("-7")), at("l", vL()), at("lm", vL()),
			at("m", vM(at("zip", vN("10001")))),
			at("wm", vM(at("only", vN("-1")))),
		),
		item(at("pk", vS("p3")), at("sk", vN("9223372036854775807"))),
	}
}

func TestBuilderColumns(t *testing.T) {
	items := sampleItems()
	s := decideFor(t, []string{"pk", "sk"}, schema.ColumnsAsIs, items...)
	b, release := newBuilder(t, s)
	defer release()
	if err := b.Append(items[0], 1710667304123456); err != nil {
		t.Fatal(err)
	}
	rec := build(t, b, items[1:]...)
	defer rec.Release()
	if rec.NumRows() != 3 {
		t.Fatalf("%d rows", rec.NumRows())
	}

	strs := func(name string) []any {
		c := col(t, rec, name).(*array.String)
		out := make([]any, c.Len())
		for i := range out {
			if !c.IsNull(i) {
				out[i] = c.Value(i)
			}
		}
		return out
	}
	longs := func(a arrow.Array) []any {
		c := a.(*array.Int64)
		out := make([]any, c.Len())
		for i := range out {
			if !c.IsNull(i) {
				out[i] = c.Value(i)
			}
		}
		return out
	}
	decimals := func(a arrow.Array) []any {
		c := a.(*array.Decimal128)
		out := make([]any, c.Len())
		for i := range out {
			if !c.IsNull(i) {
				out[i] = c.Value(i).BigInt().String()
			}
		}
		return out
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}

	check("pk", strs("pk"), []any{"p1", "p2", "p3"})
	check("sk", longs(col(t, rec, "sk")), []any{int64(1), int64(-2), int64(9223372036854775807)})
	check("s", strs("s"), []any{"héllo", nil, nil})
	check("n", longs(col(t, rec, "n")), []any{int64(42), nil, nil})
	check("d type", col(t, rec, "d").DataType().String(), "decimal(38, 1)")
	check("d", decimals(col(t, rec, "d")), []any{"125", "-5", nil})
	check("big type", col(t, rec, "big").DataType().String(), "decimal(38, 0)")
	check("big", decimals(col(t, rec, "big")), []any{"9223372036854775808", "-99999999999999999999999999999999999999", nil})
	check("text", strs("text"), []any{"1E+40", nil, nil})
	bin := col(t, rec, "b").(*array.Binary)
	check("b", []any{string(bin.Value(0)), bin.IsNull(1), bin.IsNull(2)}, []any{"\x00\xff", true, true})
	ok := col(t, rec, "ok").(*array.Boolean)
	check("ok", []any{ok.Value(0), ok.IsNull(1)}, []any{true, true})
	check("nul", strs("nul"), []any{nil, nil, nil})

	ss := col(t, rec, "ss").(*array.List)
	check("ss offsets", ss.Offsets(), []int32{0, 2, 2, 2})
	check("ss nulls", []bool{ss.IsNull(0), ss.IsNull(1), ss.IsNull(2)}, []bool{false, true, true})
	check("ss values", []string{ss.ListValues().(*array.String).Value(0), ss.ListValues().(*array.String).Value(1)}, []string{"a", "b"})

	ns := col(t, rec, "ns").(*array.List)
	check("ns offsets", ns.Offsets(), []int32{0, 2, 3, 3})
	check("ns element type", ns.ListValues().DataType().String(), "decimal(38, 2)")
	check("ns values", decimals(ns.ListValues()), []any{"100", "225", "-700"})

	bs := col(t, rec, "bs").(*array.List)
	check("bs offsets", bs.Offsets(), []int32{0, 2, 2, 2})
	check("bs values", []string{string(bs.ListValues().(*array.Binary).Value(0)), string(bs.ListValues().(*array.Binary).Value(1))}, []string{"x", ""})

	l := col(t, rec, "l").(*array.List)
	check("l offsets", l.Offsets(), []int32{0, 3, 3, 3})
	check("l nulls", []bool{l.IsNull(0), l.IsNull(1), l.IsNull(2)}, []bool{false, false, true})
	le := l.ListValues().(*array.String)
	check("l values", []any{le.Value(0), le.IsNull(1), le.Value(2)}, []any{"a", true, "c"})

	check("lj", strs("lj"), []any{`{"L":[{"S":"a"},{"N":"1"}]}`, nil, nil})

	lm := col(t, rec, "lm").(*array.List)
	check("lm offsets", lm.Offsets(), []int32{0, 2, 2, 2})
	lms := lm.ListValues().(*array.Struct)
	check("lm fields", lms.DataType().(*arrow.StructType).Fields()[0].Name+","+lms.DataType().(*arrow.StructType).Fields()[1].Name, "sku,qty")
	check("lm.sku", []any{lms.Field(0).(*array.String).Value(0), lms.Field(0).(*array.String).Value(1)}, []any{"A", "B"})
	check("lm.qty", longs(lms.Field(1)), []any{int64(2), nil})

	m := col(t, rec, "m").(*array.Struct)
	check("m nulls", []bool{m.IsNull(0), m.IsNull(1), m.IsNull(2)}, []bool{false, false, true})
	street, zip, geo := m.Field(0).(*array.String), m.Field(1), m.Field(2).(*array.Struct)
	check("m.street", []any{street.Value(0), street.IsNull(1), street.IsNull(2)}, []any{"Rue", true, true})
	check("m.zip", longs(zip), []any{int64(75002), int64(10001), nil})
	check("m.geo nulls", []bool{geo.IsNull(0), geo.IsNull(1), geo.IsNull(2)}, []bool{false, true, true})
	check("m.geo.lat", decimals(geo.Field(0)), []any{"4885", nil, nil})

	check("mj", strs("mj"), []any{`{"M":{}}`, nil, nil})

	wm := col(t, rec, "wm").(*array.Map)
	check("wm offsets", wm.Offsets(), []int32{0, schema.MaxStructFields + 1, schema.MaxStructFields + 2, schema.MaxStructFields + 2})
	keys := wm.Keys().(*array.String)
	check("wm keys", []string{keys.Value(0), keys.Value(schema.MaxStructFields), keys.Value(schema.MaxStructFields + 1)}, []string{"k0", "k" + strconv.Itoa(schema.MaxStructFields), "only"})
	vals := longs(wm.Items())
	check("wm values", []any{vals[0], vals[schema.MaxStructFields], vals[schema.MaxStructFields+1]}, []any{int64(0), int64(schema.MaxStructFields), int64(-1)})

	ts := col(t, rec, schema.WriteTSColumn).(*array.Timestamp)
	check("write ts", []any{ts.Value(0), ts.IsNull(1), ts.IsNull(2)}, []any{arrow.Timestamp(1710667304123456), true, true})
	check(schema.RescuedColumn, strs(schema.RescuedColumn), []any{nil, nil, nil})
	check("counters", []int64{b.RescuedValues, b.UnknownAttrs}, []int64{0, 0})

	check("lNull", longs(col(t, rec, "lNull").(*array.List).ListValues()), []any{int64(1), nil})
	check("lDec", decimals(col(t, rec, "lDec").(*array.List).ListValues()), []any{nil, "15"})
	lMap := col(t, rec, "lMap").(*array.List).ListValues().(*array.Struct)
	check("lMap nulls", []bool{lMap.IsNull(0), lMap.Field(0).IsNull(0), lMap.IsNull(1)}, []bool{true, true, false})
	for i, it := range rowItems(t, rec, s) {
		if got, want := canonItem(it), canonItem(items[i]); got != want {
			t.Errorf("row %d reads back as\n%s\nwant\n%s", i, got, want)
		}
	}
}

// TestBuilderRescue appends values that do not fit their columns: each
// goes whole, as DynamoDB JSON, to _rescued and its column is null.
func TestBuilderRescue(t *testing.T) {
	sample := item(
		at("pk", vS("p0")), at("s", vS("x")), at("n", vN("1")), at("d", vN("1.5")),
		at("m", vM(at("a", vS("x")))), at("l", vL(vS("x"))), at("ss", vSS("x")), at("wm", wide(schema.MaxStructFields+1, func(int) ddb.Value { return vN("1") })),
		at("z", vNull()),
	)
	s := decideFor(t, []string{"pk"}, schema.ColumnsAsIs, sample)
	tests := []struct {
		name    string
		item    ddb.Item
		rescued string // DynamoDB JSON of the rescued attributes, or "" for none
		unknown int64
		nulls   []string // columns null in the row
	}{
		{"fits", sample, "", 0, nil},
		{"S gets N", item(at("pk", vS("p")), at("s", vN("1"))), `{"s":{"N":"1"}}`, 0, []string{"s"}},
		{"long gets a fraction", item(at("pk", vS("p")), at("n", vN("1.5"))), `{"n":{"N":"1.5"}}`, 0, []string{"n"}},
		{"long gets an overflow", item(at("pk", vS("p")), at("n", vN("9223372036854775808"))), `{"n":{"N":"9223372036854775808"}}`, 0, []string{"n"}},
		{"decimal gets more scale", item(at("pk", vS("p")), at("d", vN("0.25"))), `{"d":{"N":"0.25"}}`, 0, []string{"d"}},
		{"decimal gets 38 integer digits", item(at("pk", vS("p")), at("d", vN(strings.Repeat("9", 38)))), `{"d":{"N":"` + strings.Repeat("9", 38) + `"}}`, 0, []string{"d"}},
		{"decimal gets 1E-130", item(at("pk", vS("p")), at("d", vN("1E-130"))), `{"d":{"N":"1E-130"}}`, 0, []string{"d"}},
		{"decimal gets S", item(at("pk", vS("p")), at("d", vS("1.5"))), `{"d":{"S":"1.5"}}`, 0, []string{"d"}},
		{"struct gets a new field", item(at("pk", vS("p")), at("m", vM(at("a", vS("x")), at("b", vN("2"))))), `{"m":{"M":{"a":{"S":"x"},"b":{"N":"2"}}}}`, 0, []string{"m"}},
		{"struct field drifts", item(at("pk", vS("p")), at("m", vM(at("a", vBool(true))))), `{"m":{"M":{"a":{"BOOL":true}}}}`, 0, []string{"m"}},
		{"struct gets L", item(at("pk", vS("p")), at("m", vL())), `{"m":{"L":[]}}`, 0, []string{"m"}},
		{"list element drifts", item(at("pk", vS("p")), at("l", vL(vS("a"), vN("1")))), `{"l":{"L":[{"S":"a"},{"N":"1"}]}}`, 0, []string{"l"}},
		{"SS gets NS", item(at("pk", vS("p")), at("ss", vNS("1"))), `{"ss":{"NS":["1"]}}`, 0, []string{"ss"}},
		{"map value drifts", item(at("pk", vS("p")), at("wm", vM(at("a", vN("1")), at("b", vS("x"))))), `{"wm":{"M":{"a":{"N":"1"},"b":{"S":"x"}}}}`, 0, []string{"wm"}},
		{"unknown attribute", item(at("pk", vS("p")), at("new", vSS("a", "b"))), `{"new":{"SS":["a","b"]}}`, 1, nil},
		{"unknown NULL attribute", item(at("pk", vS("p")), at("gone", vNull())), `{"gone":{"NULL":true}}`, 1, nil},
		{
			"several, in item order",
			item(at("x", vB("\x01")), at("s", vBool(false)), at("pk", vS("p")), at("n", vN("0.5")), at("y", vM(at("z", vNull())))),
			`{"x":{"B":"AQ=="},"s":{"BOOL":false},"n":{"N":"0.5"},"y":{"M":{"z":{"NULL":true}}}}`, 2, []string{"s", "n"},
		},
		{"NULL column gets S", item(at("pk", vS("p")), at("z", vS("now set"))), `{"z":{"S":"now set"}}`, 0, []string{"z"}},
		{"NULL fits every column", item(at("pk", vS("p")), at("s", vNull()), at("n", vNull()), at("d", vNull()), at("m", vNull()), at("l", vNull()), at("ss", vNull()), at("wm", vNull()), at("z", vNull())), "", 0, []string{"s", "n", "d", "m", "l", "ss", "wm", "z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, release := newBuilder(t, s)
			defer release()
			rec := build(t, b, tc.item)
			defer rec.Release()
			resc := col(t, rec, schema.RescuedColumn).(*array.String)
			rescuedAttrs := 0
			if tc.rescued == "" {
				if resc.IsValid(0) {
					t.Errorf("rescued %s, want null", resc.Value(0))
				}
			} else {
				if !resc.IsValid(0) || resc.Value(0) != tc.rescued {
					t.Errorf("rescued %q, want %q", resc.ValueStr(0), tc.rescued)
				}
				// The rescued text is DynamoDB JSON that decodes back to
				// exactly the attributes that did not fit.
				got, err := ddb.NewJSONDecoder().Decode([]byte(`{"Item":` + resc.Value(0) + `}`))
				if err != nil {
					t.Fatalf("rescued JSON does not decode: %v", err)
				}
				var want ddb.Item
				for _, a := range tc.item {
					if strings.Contains(tc.rescued, `"`+string(a.Name)+`":`) {
						want = append(want, a)
					}
				}
				rescuedAttrs = len(got.Item)
				if !got.Item.Equal(want) {
					t.Errorf("rescued JSON decodes to %s, want %s", ddb.AppendItemJSON(nil, got.Item), ddb.AppendItemJSON(nil, want))
				}
			}
			if b.UnknownAttrs != tc.unknown || b.RescuedValues+b.UnknownAttrs != int64(rescuedAttrs) {
				t.Errorf("counters: rescued %d, unknown %d; want %d attributes rescued, %d unknown", b.RescuedValues, b.UnknownAttrs, rescuedAttrs, tc.unknown)
			}
			for _, name := range tc.nulls {
				if c := col(t, rec, name); c.IsValid(0) {
					t.Errorf("column %q is not null", name)
				}
			}
			if got, want := canonItem(rowItems(t, rec, s)[0]), canonItem(tc.item); got != want {
				t.Errorf("row reads back as\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestBuilderKeyErrors checks that an item the key columns cannot take is
// refused with ErrKey and leaves no trace: the builder goes on as if the
// item had never been seen.
func TestBuilderKeyErrors(t *testing.T) {
	s := decideFor(t, []string{"pk", "sk"}, schema.ColumnsAsIs,
		item(at("pk", vS("p")), at("sk", vN("1")), at("v", vS("x"))))
	tests := []struct {
		name string
		item ddb.Item
		want string
	}{
		{"pk missing", item(at("sk", vN("1")), at("v", vN("1")), at("new", vS("x"))), `key attribute "pk" is missing`},
		{"sk missing", item(at("pk", vS("p")), at("v", vN("1"))), `key attribute "sk" is missing`},
		{"pk NULL", item(at("pk", vNull()), at("sk", vN("1"))), `key attribute "pk" has a NULL value`},
		{"pk of another type", item(at("pk", vN("1")), at("sk", vN("1"))), `key attribute "pk" has a N value`},
		{"sk fractional", item(at("pk", vS("p")), at("sk", vN("1.5")), at("v", vBool(true))), `key attribute "sk" has a N value that does not fit`},
		{"sk overflow", item(at("pk", vS("p")), at("sk", vN("9223372036854775808"))), `key attribute "sk" has a N value`},
		{"empty item", item(), `key attribute "pk" is missing`},
	}
	b, release := newBuilder(t, s)
	defer release()
	good := func(i int) ddb.Item {
		return item(at("pk", vS("p"+strconv.Itoa(i))), at("sk", vN(strconv.Itoa(i))), at("v", vS("ok")))
	}
	if err := b.Append(good(0), 0); err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		err := b.Append(tc.item, 7)
		if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Append = %v, want ErrKey containing %q", tc.name, err, tc.want)
		}
		if b.Len() != i+1 || b.RescuedValues != 0 || b.UnknownAttrs != 0 {
			t.Fatalf("%s: after the error Len %d, rescued %d, unknown %d", tc.name, b.Len(), b.RescuedValues, b.UnknownAttrs)
		}
		if err := b.Append(good(i+1), 0); err != nil {
			t.Fatalf("%s: the next Append fails: %v", tc.name, err)
		}
	}
	rec := build(t, b)
	defer rec.Release()
	if rec.NumRows() != int64(len(tests)+1) {
		t.Fatalf("%d rows, want %d", rec.NumRows(), len(tests)+1)
	}
	for i, it := range rowItems(t, rec, s) {
		if got, want := canonItem(it), canonItem(good(i)); got != want {
			t.Errorf("row %d = %s, want %s", i, got, want)
		}
	}
}

// TestBuilderDuplicateAttribute appends hand-built items that repeat a
// name (decoders refuse such input; plugins could produce it). The item
// is refused and the batch is left as it was.
func TestBuilderDuplicateAttribute(t *testing.T) {
	s := decideFor(t, []string{"pk"}, schema.ColumnsAsIs,
		item(at("pk", vS("p")), at("a", vS("x")), at("b", vN("1"))))
	for _, tc := range []struct {
		name string
		item ddb.Item
	}{
		{"column attribute", item(at("pk", vS("p")), at("a", vS("x")), at("new", vS("lost?")), at("b", vS("drift")), at("a", vS("y")))},
		{"key attribute", item(at("pk", vS("p")), at("pk", vS("q")))},
		{"unknown attribute", item(at("pk", vS("p")), at("new", vS("x")), at("new", vS("y")))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, release := newBuilder(t, s)
			defer release()
			if err := b.Append(item(at("pk", vS("first")), at("a", vS("1"))), 0); err != nil {
				t.Fatal(err)
			}
			err := b.Append(tc.item, 0)
			if err == nil || !strings.Contains(err.Error(), "appears twice in the item") {
				t.Fatalf("Append = %v, want an error about the duplicate", err)
			}
			if b.Len() != 1 || b.RescuedValues != 0 || b.UnknownAttrs != 0 {
				t.Fatalf("after the error: Len %d, rescued %d, unknown %d", b.Len(), b.RescuedValues, b.UnknownAttrs)
			}
			next := item(at("pk", vS("next")), at("b", vN("2")))
			rec := build(t, b, next)
			defer rec.Release()
			if rec.NumRows() != 2 {
				t.Fatalf("%d rows, want 2", rec.NumRows())
			}
			got := rowItems(t, rec, s)
			if canonItem(got[1]) != canonItem(next) {
				t.Errorf("next row = %s, want %s: nothing of the refused item may leak into it", canonItem(got[1]), canonItem(next))
			}
		})
	}
}

// TestBuilderDuplicateStructField: a map with a repeated name does not fit
// a struct column (it would have to drop one value); it is rescued whole.
func TestBuilderDuplicateStructField(t *testing.T) {
	s := decideFor(t, []string{"pk"}, schema.ColumnsAsIs, item(at("pk", vS("p")), at("m", vM(at("a", vS("x"))))))
	b, release := newBuilder(t, s)
	defer release()
	rec := build(t, b, item(at("pk", vS("p")), at("m", vM(at("a", vS("x")), at("a", vS("y"))))))
	defer rec.Release()
	resc := col(t, rec, schema.RescuedColumn)
	if want := `{"m":{"M":{"a":{"S":"x"},"a":{"S":"y"}}}}`; resc.ValueStr(0) != want {
		t.Errorf("rescued %s, want %s", resc.ValueStr(0), want)
	}
	if col(t, rec, "m").IsValid(0) || b.RescuedValues != 1 {
		t.Errorf("m valid %v, rescued %d", col(t, rec, "m").IsValid(0), b.RescuedValues)
	}
}

func TestBuilderNewRecordBatch(t *testing.T) {
	s := decideFor(t, []string{"pk"}, schema.ColumnsAsIs, item(at("pk", vS("p")), at("n", vN("1")), at("l", vL(vN("1")))))
	b, release := newBuilder(t, s)
	defer release()
	mk := func(i int) ddb.Item {
		return item(at("pk", vS("p"+strconv.Itoa(i))), at("n", vN(strconv.Itoa(i))), at("l", vL(vN(strconv.Itoa(i)))))
	}
	first := build(t, b, mk(0), mk(1), mk(2))
	defer first.Release()
	if first.NumRows() != 3 || b.Len() != 0 {
		t.Fatalf("first batch %d rows, Len after %d", first.NumRows(), b.Len())
	}
	// The same attribute in the first row of the new batch is no
	// duplicate of the last row of the previous one.
	second := build(t, b, mk(3), mk(4))
	defer second.Release()
	if second.NumRows() != 2 {
		t.Fatalf("second batch %d rows", second.NumRows())
	}
	for i, it := range rowItems(t, second, s) {
		if got, want := canonItem(it), canonItem(mk(i+3)); got != want {
			t.Errorf("second batch row %d = %s, want %s", i, got, want)
		}
	}
	// The first batch is untouched by the second.
	if got := col(t, first, "n").(*array.Int64).Int64Values(); !reflect.DeepEqual(got, []int64{0, 1, 2}) {
		t.Errorf("first batch n = %v", got)
	}
	empty := b.NewRecordBatch()
	defer empty.Release()
	if empty.NumRows() != 0 || empty.NumCols() != int64(len(s.Fields)+2) {
		t.Errorf("empty batch: %d rows, %d columns", empty.NumRows(), empty.NumCols())
	}
}

// deepJSON is a DynamoDB JSON attribute value nested depth levels of M,
// with leaf at the bottom.
func deepJSON(depth int, leaf string) string {
	return strings.Repeat(`{"M":{"a":`, depth) + leaf + strings.Repeat(`}}`, depth)
}

// TestBuilderDeepNesting takes the deepest items DynamoDB allows (32
// levels) through the decoder, Decide, a struct column 32 deep, and the
// rescue column, and gets them back unchanged.
func TestBuilderDeepNesting(t *testing.T) {
	dec := ddb.NewJSONDecoder()
	decode := func(line string) ddb.Item {
		t.Helper()
		rec, err := dec.Decode([]byte(line))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		return rec.Item.Clone()
	}
	// The attribute's value is level 1, as DynamoDB counts.
	fits := decode(`{"Item":{"pk":{"S":"p1"},"deep":` + deepJSON(ddb.MaxDepth-1, `{"S":"leaf"}`) + `}}`)
	drift := decode(`{"Item":{"pk":{"S":"p2"},"deep":` + deepJSON(ddb.MaxDepth-1, `{"N":"1"}`) + `}}`)
	s := decideFor(t, []string{"pk"}, schema.ColumnsAsIs, fits)
	b, release := newBuilder(t, s)
	defer release()
	rec := build(t, b, fits, drift)
	defer rec.Release()

	var a arrow.Array = col(t, rec, "deep")
	for range ddb.MaxDepth - 1 {
		st, ok := a.(*array.Struct)
		if !ok || st.IsNull(0) || st.IsValid(1) {
			t.Fatalf("level is %s, row 0 null %v, row 1 null %v", a.DataType(), a.IsNull(0), a.IsNull(1))
		}
		a = st.Field(0)
	}
	if leaf := a.(*array.String); leaf.Value(0) != "leaf" || leaf.IsValid(1) {
		t.Errorf("leaf = %q, row 1 valid %v", leaf.Value(0), leaf.IsValid(1))
	}
	want := `{"deep":` + deepJSON(ddb.MaxDepth-1, `{"N":"1"}`) + `}`
	if got := col(t, rec, schema.RescuedColumn).ValueStr(1); got != want {
		t.Errorf("rescued\n%s\nwant\n%s", got, want)
	}
	got := rowItems(t, rec, s)
	for i, it := range []ddb.Item{fits, drift} {
		if !got[i].Equal(it) {
			t.Errorf("row %d reads back as %s, want %s", i, ddb.AppendItemJSON(nil, got[i]), ddb.AppendItemJSON(nil, it))
		}
	}
}

func TestBuilderSanitizedColumns(t *testing.T) {
	it := item(at("PK", vS("p")), at("Order Total", vN("1.25")), at("Status", vS("a")), at("status", vS("b")), at("Addr", vM(at("Zip Code", vS("75002")))))
	s := decideFor(t, []string{"PK"}, schema.ColumnsSanitize, it)
	b, release := newBuilder(t, s)
	defer release()
	rec := build(t, b, it)
	defer rec.Release()
	var names []string
	for _, f := range rec.Schema().Fields() {
		names = append(names, f.Name)
	}
	if want := []string{"pk", "order_total", "status_2", "status", "addr", schema.WriteTSColumn, schema.RescuedColumn}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %q, want %q", names, want)
	}
	if got := col(t, rec, "status_2").ValueStr(0); got != "a" {
		t.Errorf("status_2 = %q", got)
	}
	if got := col(t, rec, "addr").(*array.Struct).Field(0).ValueStr(0); got != "75002" {
		t.Errorf("addr.zip_code = %q", got)
	}
	if got, want := canonItem(rowItems(t, rec, s)[0]), canonItem(it); got != want {
		t.Errorf("row = %s, want %s", got, want)
	}
}

// TestBuilderFieldIDs checks that batches carry the table's field IDs, by
// which the committer's Parquet writer matches columns.
func TestBuilderFieldIDs(t *testing.T) {
	s := decideFor(t, []string{"pk"}, schema.ColumnsAsIs, item(at("pk", vS("p")), at("m", vM(at("a", vS("x"))))))
	b, release := newBuilder(t, s)
	defer release()
	ids := map[string]string{}
	for _, f := range b.Schema().Fields() {
		id, _ := f.Metadata.GetValue("PARQUET:field_id")
		ids[f.Name] = id
	}
	if want := map[string]string{"pk": "1", "m": "2", schema.WriteTSColumn: "3", schema.RescuedColumn: "4"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("field IDs %v, want %v", ids, want)
	}
}

// TestBuilderDroppedColumn builds for a table that has a column the
// schema no longer produces (an attribute that was dropped): the column
// is null in every row and its old attribute, if it shows up, is rescued.
func TestBuilderDroppedColumn(t *testing.T) {
	old := decideFor(t, []string{"pk"}, schema.ColumnsAsIs, item(at("pk", vS("p")), at("gone", vN("1")), at("kept", vS("x"))))
	ice, err := old.Iceberg()
	if err != nil {
		t.Fatal(err)
	}
	cur := &schema.Schema{Key: old.Key, Fields: []schema.Field{old.Fields[0], old.Fields[2]}}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b, err := New(mem, cur, ice)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	rec := build(t, b, item(at("pk", vS("p")), at("kept", vS("y"))), item(at("pk", vS("q")), at("gone", vN("2"))))
	defer rec.Release()
	if g := col(t, rec, "gone"); g.NullN() != 2 {
		t.Errorf("gone has %d nulls, want 2", g.NullN())
	}
	if got := col(t, rec, schema.RescuedColumn).ValueStr(1); got != `{"gone":{"N":"2"}}` {
		t.Errorf("rescued %s", got)
	}
	if b.UnknownAttrs != 1 {
		t.Errorf("unknown attributes %d, want 1", b.UnknownAttrs)
	}
}

func TestNewErrors(t *testing.T) {
	s := decideFor(t, []string{"pk"}, schema.ColumnsAsIs, item(at("pk", vS("p")), at("n", vN("1")), at("m", vM(at("a", vS("x"))))))
	ice, err := s.Iceberg()
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	change := func(f func(s *schema.Schema)) *schema.Schema {
		c := decideFor(t, []string{"pk"}, schema.ColumnsAsIs, item(at("pk", vS("p")), at("n", vN("1")), at("m", vM(at("a", vS("x"))))))
		f(c)
		return c
	}
	for name, tc := range map[string]struct {
		s    *schema.Schema
		want string
	}{
		"column missing":       {change(func(s *schema.Schema) { s.Fields[1].Column = "nope" }), `attribute "n": the table has no column "nope"`},
		"type mismatch":        {change(func(s *schema.Schema) { s.Fields[1].Type = schema.Type{Kind: ddb.BOOL} }), `attribute "n": column type int64 does not match DynamoDB type BOOL`},
		"number repr mismatch": {change(func(s *schema.Schema) { s.Fields[1].Type.Num = schema.NumDecimal }), `attribute "n": column type int64 cannot hold numbers as decimal`},
		"struct shape": {change(func(s *schema.Schema) {
			s.Fields[2].Type.Fields = append(s.Fields[2].Type.Fields, s.Fields[2].Type.Fields[0])
		}), `attribute "m": column type`},
		"key without column": {change(func(s *schema.Schema) { s.Key = []string{"zz"} }), `key attribute "zz" has no column`},
	} {
		if _, err := New(mem, tc.s, ice); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error containing %q", name, err, tc.want)
		}
	}
}

// TestDecimalExact appends decimals at the limits of decimal(38,s) and
// compares the stored unscaled values with math/big.
func TestDecimalExact(t *testing.T) {
	texts := []string{
		"0", "-0", "0.000001", "-0.000001", "1", "-1", "12.5", "1E+3", "123456789012.345678",
		"99999999999999999999999999999999.999999", "-99999999999999999999999999999999.999999",
		"9223372036854775807", "-9223372036854775808", "18446744073709551616.5",
	}
	var items []ddb.Item
	for i, text := range texts {
		items = append(items, item(at("pk", vS(strconv.Itoa(i))), at("d", vN(text)), at("ds", vNS(text))))
	}
	s := decideFor(t, []string{"pk"}, schema.ColumnsAsIs, items...)
	if typ := s.Field("d").Type; typ.Num != schema.NumDecimal || typ.Scale != 6 {
		t.Fatalf("d is %+v, want decimal(38,6)", typ)
	}
	b, release := newBuilder(t, s)
	defer release()
	rec := build(t, b, items...)
	defer rec.Release()
	d := col(t, rec, "d").(*array.Decimal128)
	ds := col(t, rec, "ds").(*array.List).ListValues().(*array.Decimal128)
	for i, text := range texts {
		r, _ := new(big.Rat).SetString(text)
		want := r.Mul(r, new(big.Rat).SetInt64(1e6)).Num()
		if got := d.Value(i).BigInt(); got.Cmp(want) != 0 {
			t.Errorf("%s: stored %s, want %s", text, got, want)
		}
		if got := ds.Value(i).BigInt(); got.Cmp(want) != 0 {
			t.Errorf("NS %s: stored %s, want %s", text, got, want)
		}
	}
	if b.RescuedValues != 0 {
		t.Errorf("%d values rescued", b.RescuedValues)
	}
}
