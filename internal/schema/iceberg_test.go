package schema

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/apache/iceberg-go"
)

// TestIcebergExact pins the whole Iceberg schema of a small table: IDs
// 1..n for top-level columns, then the reserved columns, then nested IDs
// depth-first; key columns required, identifier fields in key order.
func TestIcebergExact(t *testing.T) {
	s := &Schema{
		Key: []string{"pk", "sk"},
		Fields: []Field{
			fld("pk", tS),
			fld("sk", tLong),
			{Name: "Order Total", Column: "order_total", Type: tDec(2)},
			fld("tags", tSS),
			fld("lines", tList(tStruct(fld("sku", tS), Field{Name: "Unit Price", Column: "unit_price", Type: tDec(2)}))),
			fld("attrs", tMap(tNS(NumLong, 0))),
		},
	}
	ice, err := s.Iceberg()
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(ice)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"struct","fields":[` +
		`{"type":"string","id":1,"name":"pk","required":true},` +
		`{"type":"long","id":2,"name":"sk","required":true},` +
		`{"type":"decimal(38, 2)","id":3,"name":"order_total","required":false,"doc":"DynamoDB attribute \"Order Total\""},` +
		`{"type":{"type":"list","element-id":9,"element":"string","element-required":true},"id":4,"name":"tags","required":false},` +
		`{"type":{"type":"list","element-id":10,"element":{"type":"struct","fields":[` +
		`{"type":"string","id":11,"name":"sku","required":false},` +
		`{"type":"decimal(38, 2)","id":12,"name":"unit_price","required":false,"doc":"DynamoDB attribute \"Unit Price\""}]},` +
		`"element-required":false},"id":5,"name":"lines","required":false},` +
		`{"type":{"type":"map","key-id":13,"key":"string","value-id":14,"value":{"type":"list","element-id":15,"element":"long","element-required":true},"value-required":false},"id":6,"name":"attrs","required":false},` +
		`{"type":"timestamptz","id":7,"name":"_ddb_write_ts","required":false,"doc":"DynamoDB WriteTimestampMicros of the change that wrote this row (null for rows from a full export)"},` +
		`{"type":"string","id":8,"name":"_rescued","required":false,"doc":"attributes that did not fit their column, as a JSON object of DynamoDB JSON values"}],` +
		`"schema-id":0,"identifier-field-ids":[1,2]}`
	// Compared as decoded JSON: iceberg-go's key order is its business.
	var gotV, wantV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("Iceberg():\n got %s\nwant %s", got, want)
	}
}

// walkIDs calls fn for every field ID in t, nested ones included.
func walkIDs(t iceberg.Type, fn func(id int)) {
	switch t := t.(type) {
	case *iceberg.StructType:
		for _, f := range t.FieldList {
			fn(f.ID)
			walkIDs(f.Type, fn)
		}
	case *iceberg.ListType:
		fn(t.ElementID)
		walkIDs(t.Element, fn)
	case *iceberg.MapType:
		fn(t.KeyID)
		fn(t.ValueID)
		walkIDs(t.ValueType, fn)
	}
}

func TestIceberg(t *testing.T) {
	s := fullSchemaWant()
	// The key in an order the fields are not in: identifier fields
	// follow the key, not the column order.
	s.Key = []string{"sk", "pk"}
	ice, err := s.Iceberg()
	if err != nil {
		t.Fatal(err)
	}
	top := ice.Fields()
	if len(top) != len(s.Fields)+2 {
		t.Fatalf("%d columns, want %d", len(top), len(s.Fields)+2)
	}
	if got, want := ice.IdentifierFieldIDs, []int{2, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("identifier fields = %v, want %v (key order sk, pk)", got, want)
	}
	for i, f := range s.Fields {
		c := top[i]
		if c.ID != i+1 || c.Name != f.Column {
			t.Errorf("column %d = #%d %q, want #%d %q", i, c.ID, c.Name, i+1, f.Column)
		}
		if isKey := f.Name == "pk" || f.Name == "sk"; c.Required != isKey {
			t.Errorf("column %q required = %v", c.Name, c.Required)
		}
	}
	for _, tc := range []struct {
		name string
		id   int
		typ  iceberg.Type
	}{
		{WriteTSColumn, len(s.Fields) + 1, iceberg.PrimitiveTypes.TimestampTz},
		{RescuedColumn, len(s.Fields) + 2, iceberg.PrimitiveTypes.String},
	} {
		f, ok := ice.FindFieldByName(tc.name)
		if !ok || f.ID != tc.id || !f.Type.Equals(tc.typ) || f.Required {
			t.Errorf("%s = %+v (found %v), want optional #%d %s", tc.name, f, ok, tc.id, tc.typ)
		}
	}
	seen := map[int]bool{}
	walkIDs(&iceberg.StructType{FieldList: top}, func(id int) {
		if seen[id] {
			t.Errorf("field ID %d used twice", id)
		}
		seen[id] = true
	})
	if len(seen) != ice.HighestFieldID() {
		t.Errorf("%d IDs, highest %d: IDs are not dense", len(seen), ice.HighestFieldID())
	}

	types := map[string]string{
		"pk": "string", "sk": "long", "status": "string", "order_total": "decimal(38, 2)", "qty": "long",
		"big": "string", "spaced": "decimal(38, 0)", "blob": "binary", "gift": "boolean", "nothing": "string",
		"tags": "list<string>", "ratings": "list<decimal(38, 1)>", "counts": "list<long>", "blobs": "list<binary>",
		"raw": "string", "rawToo": "string", "matrix": "list<list<long>>", "attrs": "map<string, string>",
		"scores": "map<string, list<string>>", "doc": "string", "docToo": "string",
	}
	for name, want := range types {
		f, ok := ice.FindFieldByName(name)
		if !ok {
			t.Errorf("no column %q", name)
			continue
		}
		if got := f.Type.String(); got != want {
			t.Errorf("column %q: type %s, want %s", name, got, want)
		}
	}

	// Docs keep renamed attributes' names, at every depth.
	docs := map[string]string{
		"order_total": `DynamoDB attribute "order total"`,
		"address.zip": `DynamoDB attribute "zip code"`,
		"address.geo": "",
		"status":      "",
		"lines":       "",
	}
	for name, want := range docs {
		f, ok := ice.FindFieldByName(name)
		if !ok {
			t.Errorf("no field %q", name)
			continue
		}
		if f.Doc != want {
			t.Errorf("field %q doc = %q, want %q", name, f.Doc, want)
		}
		if f.Required {
			t.Errorf("field %q is required", name)
		}
	}
}

func TestIcebergErrors(t *testing.T) {
	for name, typ := range map[string]Type{
		"invalid kind":   {},
		"bad map repr":   {Kind: tMJSN.Kind, Map: "table"},
		"nested invalid": tList(tStruct(fld("a", Type{}))),
	} {
		s := &Schema{Key: []string{"pk"}, Fields: []Field{fld("pk", tS), fld("x", typ)}}
		if _, err := s.Iceberg(); err == nil {
			t.Errorf("%s: Iceberg() succeeded", name)
		}
	}
}
