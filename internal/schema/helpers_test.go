package schema

import (
	"encoding/json"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
)

// Constructors that keep items and expected types in test tables short.

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

// Types as Decide and Parse build them.
var (
	tS    = Type{Kind: ddb.S}
	tB    = Type{Kind: ddb.B}
	tBool = Type{Kind: ddb.BOOL}
	tNull = Type{Kind: ddb.NULL}
	tLong = Type{Kind: ddb.N, Num: NumLong}
	tText = Type{Kind: ddb.N, Num: NumText}
	tSS   = Type{Kind: ddb.SS}
	tBS   = Type{Kind: ddb.BS}
	tLJSN = Type{Kind: ddb.L}
	tMJSN = Type{Kind: ddb.M, Map: MapJSON}
)

func tDec(scale int) Type { return Type{Kind: ddb.N, Num: NumDecimal, Scale: scale} }
func tNS(num NumRepr, scale int) Type {
	return Type{Kind: ddb.NS, Num: num, Scale: scale}
}
func tList(e Type) Type       { return Type{Kind: ddb.L, Elem: &e} }
func tMap(v Type) Type        { return Type{Kind: ddb.M, Map: MapMap, Values: &v} }
func tStruct(f ...Field) Type { return Type{Kind: ddb.M, Map: MapStruct, Fields: f} }

// fld is a field whose column is its name, as ColumnsAsIs assigns.
func fld(name string, t Type) Field { return Field{Name: name, Column: name, Type: t} }

// detect runs a Detector over items.
func detect(key []string, items ...ddb.Item) *Detector {
	d := NewDetector(key)
	for _, it := range items {
		d.Observe(it)
	}
	return d
}

// jsonOf renders v for comparisons and failure messages; maps come out
// sorted, so equal values give equal text.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}
