package schema

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
)

// wideMap returns an M value with n distinct names, value(i) at name fi.
func wideMap(n int, value func(i int) ddb.Value) ddb.Value {
	m := ddb.Value{Kind: ddb.M}
	for i := range n {
		m.Map = append(m.Map, at("f"+strconv.Itoa(i), value(i)))
	}
	return m
}

// TestDecide checks the default type mapping of DESIGN.md ("Table
// semantics") attribute by attribute: each case observes the values of
// one attribute "x" (one item per value) and expects x's type.
func TestDecide(t *testing.T) {
	long := func(int) ddb.Value { return vN("1") }
	tests := []struct {
		name   string
		values []ddb.Value
		want   Type
	}{
		{"S", []ddb.Value{vS("a"), vS("")}, tS},
		{"B", []ddb.Value{vB("\x00\x01")}, tB},
		{"BOOL", []ddb.Value{vBool(true), vBool(false)}, tBool},
		{"N ints", []ddb.Value{vN("1"), vN("-42"), vN("1E+3"), vN("1.000")}, tLong},
		{"N int64 bounds", []ddb.Value{vN("9223372036854775807"), vN("-9223372036854775808")}, tLong},
		{"N fractional", []ddb.Value{vN("1"), vN("12.5"), vN("0.001"), vN("-3.25")}, tDec(3)},
		{"N trailing zeros need no scale", []ddb.Value{vN("12.50"), vN("1.0")}, tDec(1)},
		{"N int64 overflow", []ddb.Value{vN("1"), vN("9223372036854775808")}, tDec(0)},
		{"N negative int64 overflow", []ddb.Value{vN("-9223372036854775809")}, tDec(0)},
		{"N 38 digits", []ddb.Value{vN(digits38)}, tDec(0)},
		{"N 38 fraction digits", []ddb.Value{vN("0." + digits38)}, tDec(38)},
		{"N 38 digits across int and scale", []ddb.Value{vN("1234567890123456789"), vN("0.1234567890123456789")}, tDec(19)},
		{"N 39 digits across int and scale", []ddb.Value{vN("12345678901234567890"), vN("0.1234567890123456789")}, tText},
		{"N 39 integer digits", []ddb.Value{vN(nines38 + "9")}, tText},
		{"N 1E+38", []ddb.Value{vN("1E+38")}, tText},
		{"N tiny", []ddb.Value{vN("1E-130")}, tText},
		{"N huge", []ddb.Value{vN("9.99E+125")}, tText},
		{"N malformed", []ddb.Value{vN("1"), vN("one")}, tText},
		{"NS ints", []ddb.Value{vNS("1", "2"), vNS("-3")}, tNS(NumLong, 0)},
		{"NS fractional", []ddb.Value{vNS("1", "2.5"), vNS("0.25")}, tNS(NumDecimal, 2)},
		{"NS overflow", []ddb.Value{vNS("1", "18446744073709551616")}, tNS(NumDecimal, 0)},
		{"NS too wide", []ddb.Value{vNS("1E+40", "0.5")}, tNS(NumText, 0)},
		{"SS", []ddb.Value{vSS("a", "b")}, tSS},
		{"BS", []ddb.Value{vBS("a")}, tBS},
		{"NULL only", []ddb.Value{vNull(), vNull()}, tNull},
		{"NULL fits S", []ddb.Value{vNull(), vS("a"), vNull()}, tS},
		{"M struct, union of names in first-seen order", []ddb.Value{
			vM(at("b", vS("x")), at("a", vN("1"))),
			vM(at("c", vBool(true)), at("a", vN("2.5"))),
			vM(),
		}, tStruct(fld("b", tS), fld("a", tDec(1)), fld("c", tBool))},
		{"M nested struct", []ddb.Value{
			vM(at("geo", vM(at("lat", vN("48.8566")), at("lon", vN("2.3522"))))),
		}, tStruct(fld("geo", tStruct(fld("lat", tDec(4)), fld("lon", tDec(4)))))},
		{"M always empty", []ddb.Value{vM(), vM()}, tMJSN},
		{"M with NULL field", []ddb.Value{vM(at("a", vNull()))}, tStruct(fld("a", tNull))},
		{"M at MaxStructFields names stays a struct", []ddb.Value{wideMap(MaxStructFields, long)}, func() Type {
			var fs []Field
			for i := range MaxStructFields {
				fs = append(fs, fld("f"+strconv.Itoa(i), tLong))
			}
			return tStruct(fs...)
		}()},
		{"M open-ended, values agree", []ddb.Value{
			wideMap(MaxStructFields/2+1, long),
			wideMap(MaxStructFields+1, func(i int) ddb.Value { return vN(strconv.Itoa(i) + ".5") }),
		}, tMap(tDec(1))},
		{"M open-ended across items", []ddb.Value{
			vM(at("a", vS("x"))),
			wideMap(MaxStructFields, func(int) ddb.Value { return vS("y") }),
		}, tMap(tS)},
		{"M open-ended, values are structs", []ddb.Value{
			wideMap(MaxStructFields+1, func(i int) ddb.Value { return vM(at("n", vN("1"))) }),
		}, tMap(tStruct(fld("n", tLong)))},
		{"M open-ended, values disagree", []ddb.Value{
			wideMap(MaxStructFields+1, func(i int) ddb.Value {
				if i%2 == 0 {
					return vS("x")
				}
				return vN("1")
			}),
		}, tMJSN},
		{"M open-ended, values only NULL", []ddb.Value{wideMap(MaxStructFields+1, func(int) ddb.Value { return vNull() })}, tMJSN},
		{"L agree", []ddb.Value{vL(vS("a"), vS("b")), vL(vS("c"))}, tList(tS)},
		{"L with NULL elements", []ddb.Value{vL(vN("1"), vNull())}, tList(tLong)},
		{"L numbers", []ddb.Value{vL(vN("1"), vN("2.5"))}, tList(tDec(1))},
		{"L of maps", []ddb.Value{vL(vM(at("sku", vS("a")), at("qty", vN("1"))), vM(at("sku", vS("b"))))}, tList(tStruct(fld("sku", tS), fld("qty", tLong)))},
		{"L of lists", []ddb.Value{vL(vL(vBool(true)), vL())}, tList(tList(tBool))},
		{"L of sets", []ddb.Value{vL(vSS("a"), vSS("b"))}, tList(tSS)},
		{"L disagree", []ddb.Value{vL(vS("a"), vN("1"))}, tLJSN},
		{"L disagree across items", []ddb.Value{vL(vS("a")), vL(vN("1"))}, tLJSN},
		{"L only empty", []ddb.Value{vL(), vL()}, tLJSN},
		{"L only NULL elements", []ddb.Value{vL(vNull())}, tLJSN},
		{"L inner list disagrees", []ddb.Value{vL(vL(vS("a"), vN("1")))}, tList(tLJSN)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var items []ddb.Item
			for i, v := range tc.values {
				items = append(items, item(at("pk", vS(strconv.Itoa(i))), at("x", v)))
			}
			s, conflicts, err := Decide(detect([]string{"pk"}, items...).Stats(), []string{"pk"}, ColumnsAsIs)
			if err != nil {
				t.Fatal(err)
			}
			if len(conflicts) != 0 {
				t.Errorf("conflicts: %v", conflicts)
			}
			want := &Schema{Key: []string{"pk"}, Fields: []Field{fld("pk", tS), fld("x", tc.want)}}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("Decide:\n got %s\nwant %s", jsonOf(t, s), jsonOf(t, want))
			}
		})
	}
}

func TestDecideConflicts(t *testing.T) {
	items := []ddb.Item{
		item(at("pk", vS("p1")), at("sk", vN("1")), at("v", vS("a")), at("addr", vM(at("zip", vS("75002"))))),
		item(at("pk", vS("p2")), at("sk", vN("2")), at("v", vN("7")), at("addr", vM(at("zip", vN("75002"))))),
		item(at("pk", vS("p3")), at("sk", vN("3")), at("v", vN("8")), at("addr", vM(at("zip", vN("10001"))))),
		item(at("pk", vS("p4")), at("sk", vN("4")), at("v", vNull()), at("lines", vL(vM(at("qty", vN("1")))))),
		item(at("pk", vS("p5")), at("sk", vN("5")), at("v", vBool(true)), at("lines", vL(vM(at("qty", vS("one"))), vM(at("qty", vN("2")))))),
		item(at("pk", vS("p6")), at("sk", vN("6")), at("tie", vN("1"))),
		item(at("pk", vS("p7")), at("sk", vN("7")), at("tie", vS("1"))),
	}
	s, conflicts, err := Decide(detect([]string{"pk", "sk"}, items...).Stats(), []string{"pk", "sk"}, ColumnsAsIs)
	if err != nil {
		t.Fatal(err)
	}
	want := &Schema{Key: []string{"pk", "sk"}, Fields: []Field{
		fld("pk", tS), fld("sk", tLong),
		fld("v", tLong), // N×2 beats S×1 and BOOL×1; NULL is no type
		fld("addr", tStruct(fld("zip", tLong))),
		fld("lines", tList(tStruct(fld("qty", tLong)))),
		fld("tie", tS), // a tie goes to the lower kind, for determinism
	}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Decide:\n got %s\nwant %s", jsonOf(t, s), jsonOf(t, want))
	}
	SortConflicts(conflicts)
	wantConflicts := []Conflict{
		{Path: "addr.zip", Chosen: ddb.N, Counts: map[string]int64{"S": 1, "N": 2}, Examples: map[string]string{"S": "pk=p1, sk=1", "N": "pk=p2, sk=2"}},
		{Path: "lines[].qty", Chosen: ddb.N, Counts: map[string]int64{"S": 1, "N": 2}, Examples: map[string]string{"S": "pk=p5, sk=5", "N": "pk=p4, sk=4"}},
		{Path: "tie", Chosen: ddb.S, Counts: map[string]int64{"S": 1, "N": 1}, Examples: map[string]string{"S": "pk=p7, sk=7", "N": "pk=p6, sk=6"}},
		{Path: "v", Chosen: ddb.N, Counts: map[string]int64{"S": 1, "N": 2, "BOOL": 1}, Examples: map[string]string{"S": "pk=p1, sk=1", "N": "pk=p2, sk=2", "BOOL": "pk=p5, sk=5"}},
	}
	if !reflect.DeepEqual(conflicts, wantConflicts) {
		t.Errorf("conflicts:\n got %s\nwant %s", jsonOf(t, conflicts), jsonOf(t, wantConflicts))
	}
	wantText := `attribute "v" has 3 types: BOOL×1 (e.g. pk=p5, sk=5) N×2 (e.g. pk=p2, sk=2) S×1 (e.g. pk=p1, sk=1); the column takes N, other values go to _rescued`
	if got := conflicts[3].String(); got != wantText {
		t.Errorf("Conflict.String:\n got %s\nwant %s", got, wantText)
	}
}

func TestDecideKeys(t *testing.T) {
	items := []ddb.Item{
		item(at("a", vS("x")), at("sk", vN("1.5")), at("pk", vB("\x01"))),
		item(at("pk", vB("\x02")), at("sk", vN("2")), at("z", vN("1"))),
	}
	s, _, err := Decide(detect([]string{"pk", "sk"}, items...).Stats(), []string{"pk", "sk"}, ColumnsAsIs)
	if err != nil {
		t.Fatal(err)
	}
	// Keys come first, in key order; a fractional number key is kept
	// exact as text because identifier fields cannot be fractional.
	want := &Schema{Key: []string{"pk", "sk"}, Fields: []Field{fld("pk", tB), fld("sk", tText), fld("a", tS), fld("z", tLong)}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Decide:\n got %s\nwant %s", jsonOf(t, s), jsonOf(t, want))
	}
	if got := KeyString(items[0], []string{"pk", "sk", "nope"}); got != "pk=01, sk=1.5, nope=<missing>" {
		t.Errorf("KeyString = %q", got)
	}

	errTests := []struct {
		name string
		key  []string
		want string
	}{
		{"no key", nil, "the table key is unknown"},
		{"key never occurs", []string{"id"}, `key attribute "id" does not occur in the export`},
		{"sort key never occurs", []string{"pk", "ts"}, `key attribute "ts" does not occur in the export`},
		{"key of type S", []string{"a"}, ""},
		{"three keys", []string{"pk", "sk", "a"}, "got 3 attributes"},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Decide(detect(tc.key, items...).Stats(), tc.key, ColumnsAsIs)
			if tc.want == "" {
				if err != nil {
					t.Errorf("Decide = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decide error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// A key attribute that only ever holds maps cannot be a key.
	_, _, err = Decide(detect([]string{"m"}, item(at("m", vM(at("a", vS("x")))))).Stats(), []string{"m"}, ColumnsAsIs)
	if err == nil || !strings.Contains(err.Error(), `key attribute "m" has type M`) {
		t.Errorf("Decide with an M key = %v", err)
	}
}

func TestDecideSanitize(t *testing.T) {
	items := []ddb.Item{item(
		at("PK", vS("1")), at("Status", vS("a")), at("status", vS("b")), at("order total", vN("1")),
		at("_rescued", vS("r")), at("Addr", vM(at("Zip Code", vS("1")))),
	)}
	s, _, err := Decide(detect([]string{"PK"}, items...).Stats(), []string{"PK"}, ColumnsSanitize)
	if err != nil {
		t.Fatal(err)
	}
	want := &Schema{Key: []string{"PK"}, Fields: []Field{
		{Name: "PK", Column: "pk", Type: tS},
		{Name: "Status", Column: "status_2", Type: tS},
		{Name: "status", Column: "status", Type: tS},
		{Name: "order total", Column: "order_total", Type: tLong},
		{Name: "_rescued", Column: "_rescued_2", Type: tS},
		{Name: "Addr", Column: "addr", Type: tStruct(Field{Name: "Zip Code", Column: "zip_code", Type: tS})},
	}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Decide:\n got %s\nwant %s", jsonOf(t, s), jsonOf(t, want))
	}
}

func TestDetectorCounts(t *testing.T) {
	d := detect([]string{"pk"},
		item(at("pk", vS("1")), at("ns", vNS("1", "2.50", "-3"))),
		item(at("pk", vS("2")), at("ns", vNS("12345"))),
	)
	if d.Items() != 2 {
		t.Errorf("Items() = %d", d.Items())
	}
	ns := d.Stats().Fields["ns"]
	if ns.Kinds[ddb.NS] != 2 || ns.Elem.Kinds[ddb.N] != 4 {
		t.Errorf("counts: NS %d, elements %d", ns.Kinds[ddb.NS], ns.Elem.Kinds[ddb.N])
	}
	if !ns.Elem.NonInt || ns.Elem.MaxScale != 1 || ns.Elem.MaxIntDigits != 5 || ns.Elem.BadNumber {
		t.Errorf("number facts: %+v", ns.Elem)
	}
	if got := d.Stats().Order; !reflect.DeepEqual(got, []string{"pk", "ns"}) {
		t.Errorf("Order = %q", got)
	}
}

// randomItem builds an item from r whose attributes exercise every kind,
// conflicts, nesting and the map threshold.
func randomItem(r *rand.Rand, i int) ddb.Item {
	it := item(at("pk", vS("p"+strconv.Itoa(i))))
	for range r.IntN(6) {
		name := []string{"a", "b", "c", "d", "Status", "status", "m", "l"}[r.IntN(8)]
		if it.Get(name) == nil {
			it = append(it, at(name, randomValue(r, 0)))
		}
	}
	if r.IntN(20) == 0 {
		it = append(it, at("wide", wideMap(r.IntN(2*MaxStructFields), func(int) ddb.Value { return randomValue(r, 3) })))
	}
	return it
}

func randomValue(r *rand.Rand, depth int) ddb.Value {
	nums := []string{"1", "-7", "2.5", "0.001", "9223372036854775808", "1E+40", digits38, "x"}
	switch k := r.IntN(11); {
	case k == 0:
		return vS("s")
	case k == 1:
		return vN(nums[r.IntN(len(nums))])
	case k == 2:
		return vB("b")
	case k == 3:
		return vBool(r.IntN(2) == 0)
	case k == 4:
		return vNull()
	case k == 5:
		return vSS("a", "b")
	case k == 6:
		return vNS(nums[r.IntN(len(nums))], nums[r.IntN(len(nums))])
	case k == 7:
		return vBS("a")
	case depth > 3:
		return vS("deep")
	case k == 8:
		l := vL()
		for range r.IntN(3) {
			l.List = append(l.List, randomValue(r, depth+1))
		}
		return l
	default:
		m := vM()
		for j := range r.IntN(4) {
			m.Map = append(m.Map, at("k"+strconv.Itoa(j), randomValue(r, depth+1)))
		}
		return m
	}
}

// TestMergeEqualsWhole is the property parallel detection relies on:
// detecting two halves of an export separately and merging the stats
// (also after a JSON round trip, as they travel between processes) gives
// what detecting the whole export gives.
func TestMergeEqualsWhole(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		items := make([]ddb.Item, r.IntN(40))
		for i := range items {
			items[i] = randomItem(r, i)
		}
		cut := 0
		if len(items) > 0 {
			cut = r.IntN(len(items) + 1)
		}
		key := []string{"pk"}
		whole := detect(key, items...)
		a, b := detect(key, items[:cut]...), detect(key, items[cut:]...)

		merged := &Stats{}
		merged.Merge(a.Stats())
		merged.Merge(b.Stats())
		if got, want := jsonOf(t, merged), jsonOf(t, whole.Stats()); got != want {
			t.Fatalf("seed %d, cut %d/%d: merged stats\n%s\nwant\n%s", seed, cut, len(items), got, want)
		}

		var wire [2]Stats
		for i, d := range []*Detector{a, b} {
			if err := json.Unmarshal([]byte(jsonOf(t, d.Stats())), &wire[i]); err != nil {
				t.Fatal(err)
			}
		}
		viaJSON := &Stats{}
		viaJSON.Merge(&wire[0])
		viaJSON.Merge(&wire[1])
		if got, want := jsonOf(t, viaJSON), jsonOf(t, whole.Stats()); got != want {
			t.Fatalf("seed %d: stats merged after JSON\n%s\nwant\n%s", seed, got, want)
		}

		if len(items) == 0 {
			continue
		}
		ws, wc, werr := Decide(whole.Stats(), key, ColumnsSanitize)
		ms, mc, merr := Decide(viaJSON, key, ColumnsSanitize)
		if !reflect.DeepEqual(ws, ms) || !reflect.DeepEqual(wc, mc) || (werr == nil) != (merr == nil) {
			t.Fatalf("seed %d: Decide differs:\nwhole  %s %v %v\nmerged %s %v %v", seed, jsonOf(t, ws), wc, werr, jsonOf(t, ms), mc, merr)
		}
		if werr != nil {
			t.Fatalf("seed %d: Decide: %v", seed, werr)
		}
		// What Decide makes of any export is a valid, round-trippable
		// schema with an Iceberg form.
		if back := roundTrip(t, ws); !reflect.DeepEqual(back, ws) {
			t.Fatalf("seed %d: round trip:\n got %s\nwant %s", seed, jsonOf(t, back), jsonOf(t, ws))
		}
		if _, err := ws.Iceberg(); err != nil {
			t.Fatalf("seed %d: Iceberg: %v", seed, err)
		}
	}
}
