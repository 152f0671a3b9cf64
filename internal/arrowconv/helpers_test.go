package arrowconv

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/schema"
)

// Constructors that keep items in test tables short.

func vS(s string) ddb.Value  { return ddb.Value{Kind: ddb.S, Bytes: []byte(s)} }
func vN(s string) ddb.Value  { return ddb.Value{Kind: ddb.N, Bytes: []byte(s)} }
func vB(s string) ddb.Value  { return ddb.Value{Kind: ddb.B, Bytes: []byte(s)} }
func vBool(b bool) ddb.Value { return ddb.Value{Kind: ddb.BOOL, Bool: b} }
func vNull() ddb.Value       { return ddb.Value{Kind: ddb.NULL} }
func vSS(s ...string) ddb.Value {
	v := ddb.Value{Kind: ddb.SS}
	for _, e := range s {
		v.List = append(v.List, vS(e))
	}
	return v
}
func vNS(s ...string) ddb.Value {
	v := ddb.Value{Kind: ddb.NS}
	for _, e := range s {
		v.List = append(v.List, vN(e))
	}
	return v
}
func vBS(s ...string) ddb.Value {
	v := ddb.Value{Kind: ddb.BS}
	for _, e := range s {
		v.List = append(v.List, vB(e))
	}
	return v
}
func vL(e ...ddb.Value) ddb.Value { return ddb.Value{Kind: ddb.L, List: e} }
func vM(a ...ddb.Attr) ddb.Value  { return ddb.Value{Kind: ddb.M, Map: a} }
func at(name string, v ddb.Value) ddb.Attr {
	return ddb.Attr{Name: []byte(name), Value: v}
}
func item(a ...ddb.Attr) ddb.Item { return ddb.Item(a) }

// decideFor detects a schema over items the way `floe schema detect`
// does, so the tests exercise the same schemas production builds.
func decideFor(t testing.TB, key []string, mode schema.ColumnNames, items ...ddb.Item) *schema.Schema {
	t.Helper()
	d := schema.NewDetector(key)
	for _, it := range items {
		d.Observe(it)
	}
	s, _, err := schema.Decide(d.Stats(), key, mode)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return s
}

// newBuilder makes a Builder for s on a checked allocator; the returned
// function releases it and fails the test on leaked memory.
func newBuilder(t testing.TB, s *schema.Schema) (*Builder, func()) {
	t.Helper()
	ice, err := s.Iceberg()
	if err != nil {
		t.Fatalf("Iceberg: %v", err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	b, err := New(mem, s, ice)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b, func() {
		b.Release()
		mem.AssertSize(t, 0)
	}
}

// build appends items (without write timestamps) and returns the batch.
func build(t testing.TB, b *Builder, items ...ddb.Item) arrow.RecordBatch {
	t.Helper()
	for i, it := range items {
		if err := b.Append(it, 0); err != nil {
			t.Fatalf("Append item %d: %v", i, err)
		}
	}
	rec := b.NewRecordBatch()
	if err := validateRecord(rec); err != nil {
		rec.Release()
		t.Fatalf("invalid record batch: %v", err)
	}
	return rec
}

// col returns the top-level column with the given name.
func col(t testing.TB, rec arrow.RecordBatch, name string) arrow.Array {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %q in %s", name, rec.Schema())
	}
	return rec.Column(idx[0])
}

// validateRecord checks what a Parquet writer relies on and arrow-go has
// no single call for: every column has NumRows rows, non-nullable fields
// (at any depth) hold no nulls, and every array passes ValidateFull where
// the array type has one (offsets, UTF-8, child lengths).
func validateRecord(rec arrow.RecordBatch) error {
	for i, f := range rec.Schema().Fields() {
		c := rec.Column(i)
		if int64(c.Len()) != rec.NumRows() {
			return fmt.Errorf("column %q has %d rows, batch %d", f.Name, c.Len(), rec.NumRows())
		}
		if err := validateArray(f.Name, f, c); err != nil {
			return err
		}
	}
	return nil
}

func validateArray(path string, f arrow.Field, a arrow.Array) error {
	if !f.Nullable && a.NullN() > 0 {
		return fmt.Errorf("%s: non-nullable field holds %d nulls", path, a.NullN())
	}
	if v, ok := a.(interface{ ValidateFull() error }); ok {
		if err := v.ValidateFull(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	switch a := a.(type) {
	case *array.Map:
		mt := a.DataType().(*arrow.MapType)
		if err := validateList(path, a.Offsets(), a.Len(), a.ListValues().Len()); err != nil {
			return err
		}
		if err := validateArray(path+".key", mt.KeyField(), a.Keys()); err != nil {
			return err
		}
		return validateArray(path+".value", mt.ItemField(), a.Items())
	case *array.List:
		lt := a.DataType().(*arrow.ListType)
		if err := validateList(path, a.Offsets(), a.Len(), a.ListValues().Len()); err != nil {
			return err
		}
		return validateArray(path+"[]", lt.ElemField(), a.ListValues())
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		for i := 0; i < a.NumField(); i++ {
			child := a.Field(i)
			if child.Len() != a.Len() {
				return fmt.Errorf("%s.%s: %d rows, struct %d", path, st.Field(i).Name, child.Len(), a.Len())
			}
			if err := validateArray(path+"."+st.Field(i).Name, st.Field(i), child); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateList(path string, offsets []int32, n, children int) error {
	if n == 0 {
		return nil
	}
	if len(offsets) < n+1 {
		return fmt.Errorf("%s: %d offsets for %d lists", path, len(offsets), n)
	}
	for i := 0; i < n; i++ {
		if offsets[i] > offsets[i+1] {
			return fmt.Errorf("%s: offsets decrease at %d", path, i)
		}
	}
	if int(offsets[n]) > children {
		return fmt.Errorf("%s: last offset %d beyond %d children", path, offsets[n], children)
	}
	return nil
}

// rowItems reads a batch back as items, the inverse of Builder.Append:
// column values become attributes again and the _rescued JSON is merged
// in. Tests compare the result with what was appended via canonItem.
func rowItems(t testing.TB, rec arrow.RecordBatch, s *schema.Schema) []ddb.Item {
	t.Helper()
	out := make([]ddb.Item, rec.NumRows())
	for _, f := range s.Fields {
		c := col(t, rec, f.Column)
		for r := range out {
			if !c.IsNull(r) {
				out[r] = append(out[r], ddb.Attr{Name: []byte(f.Name), Value: arrowValue(t, c, r, &f.Type)})
			}
		}
	}
	resc := col(t, rec, schema.RescuedColumn).(*array.String)
	dec := ddb.NewJSONDecoder()
	for r := range out {
		if resc.IsNull(r) {
			continue
		}
		got, err := dec.Decode([]byte(`{"Item":` + resc.Value(r) + `}`))
		if err != nil {
			t.Fatalf("row %d: %s = %s: %v", r, schema.RescuedColumn, resc.Value(r), err)
		}
		out[r] = append(out[r], got.Item.Clone()...)
	}
	return out
}

func arrowValue(t testing.TB, c arrow.Array, r int, typ *schema.Type) ddb.Value {
	t.Helper()
	if c.IsNull(r) {
		return vNull()
	}
	switch typ.Kind {
	case ddb.S:
		return vS(c.(*array.String).Value(r))
	case ddb.B:
		return vB(string(c.(*array.Binary).Value(r)))
	case ddb.BOOL:
		return vBool(c.(*array.Boolean).Value(r))
	case ddb.NULL:
		t.Fatalf("a NULL column holds a value")
	case ddb.N:
		switch typ.Num {
		case schema.NumLong:
			return vN(strconv.FormatInt(c.(*array.Int64).Value(r), 10))
		case schema.NumDecimal:
			return vN(schema.DecimalText(c.(*array.Decimal128).Value(r), typ.Scale))
		default:
			return vN(c.(*array.String).Value(r))
		}
	case ddb.SS, ddb.NS, ddb.BS:
		et := schema.Type{Kind: map[ddb.Kind]ddb.Kind{ddb.SS: ddb.S, ddb.NS: ddb.N, ddb.BS: ddb.B}[typ.Kind], Num: typ.Num, Scale: typ.Scale}
		return arrowList(t, c.(*array.List), r, typ.Kind, &et)
	case ddb.L:
		if typ.Elem == nil {
			return jsonValue(t, c.(*array.String).Value(r))
		}
		return arrowList(t, c.(*array.List), r, ddb.L, typ.Elem)
	case ddb.M:
		switch typ.Map {
		case schema.MapJSON:
			return jsonValue(t, c.(*array.String).Value(r))
		case schema.MapMap:
			m := c.(*array.Map)
			keys := m.Keys().(*array.String)
			v := vM()
			start, end := m.ValueOffsets(r)
			for i := start; i < end; i++ {
				v.Map = append(v.Map, at(keys.Value(int(i)), arrowValue(t, m.Items(), int(i), typ.Values)))
			}
			return v
		default:
			st := c.(*array.Struct)
			v := vM()
			for i, f := range typ.Fields {
				if child := st.Field(i); !child.IsNull(r) {
					v.Map = append(v.Map, at(f.Name, arrowValue(t, child, r, &typ.Fields[i].Type)))
				}
			}
			return v
		}
	}
	t.Fatalf("no reader for %s", typ.Kind)
	return ddb.Value{}
}

func arrowList(t testing.TB, l *array.List, r int, kind ddb.Kind, elem *schema.Type) ddb.Value {
	t.Helper()
	v := ddb.Value{Kind: kind, List: []ddb.Value{}}
	start, end := l.ValueOffsets(r)
	for i := start; i < end; i++ {
		v.List = append(v.List, arrowValue(t, l.ListValues(), int(i), elem))
	}
	return v
}

func jsonValue(t testing.TB, text string) ddb.Value {
	t.Helper()
	rec, err := ddb.NewJSONDecoder().Decode([]byte(`{"Item":{"v":` + text + `}}`))
	if err != nil {
		t.Fatalf("JSON column value %s: %v", text, err)
	}
	return rec.Item.Clone()[0].Value
}

// canonItem is the form in which an appended item and the item read back
// must agree: attributes sorted by name, NULL map entries and attributes
// dropped (a null column or struct field cannot tell NULL from absent,
// by design), numbers reduced to their value.
func canonItem(it ddb.Item) string {
	return string(ddb.AppendItemJSON(nil, canonAttrs(it)))
}

func canonAttrs(attrs []ddb.Attr) []ddb.Attr {
	out := make([]ddb.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a.Value.Kind != ddb.NULL {
			out = append(out, ddb.Attr{Name: a.Name, Value: canonValue(a.Value)})
		}
	}
	slices.SortStableFunc(out, func(a, b ddb.Attr) int { return bytes.Compare(a.Name, b.Name) })
	return out
}

func canonValue(v ddb.Value) ddb.Value {
	switch v.Kind {
	case ddb.N:
		if n, ok := schema.ParseNumber(v.Bytes, nil); ok {
			neg := ""
			if n.Neg {
				neg = "-"
			}
			return vN(fmt.Sprintf("%s%se%d", neg, n.Digits, n.Exp))
		}
	case ddb.SS, ddb.NS, ddb.BS, ddb.L:
		out := ddb.Value{Kind: v.Kind, List: make([]ddb.Value, len(v.List))}
		for i, e := range v.List {
			out.List[i] = canonValue(e)
		}
		return out
	case ddb.M:
		return ddb.Value{Kind: ddb.M, Map: canonAttrs(v.Map)}
	}
	return v
}
