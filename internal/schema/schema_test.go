package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
)

// fullSchemaFile uses every type and representation of the documented
// format, with the key listed after other attributes.
const fullSchemaFile = `{
  "version": 1,
  "key": ["pk", "sk"],
  "pinned": true,
  "attributes": [
    {"name": "status", "type": "S"},
    {"name": "sk", "type": "N"},
    {"name": "pk", "type": "S"},
    {"name": "order total", "column": "order_total", "type": "N", "as": "decimal(38,2)"},
    {"name": "qty", "type": "N", "as": "long"},
    {"name": "big", "type": "N", "as": "string"},
    {"name": "spaced", "type": "N", "as": "decimal( 38 , 0 )"},
    {"name": "blob", "type": "B"},
    {"name": "gift", "type": "BOOL"},
    {"name": "nothing", "type": "NULL"},
    {"name": "tags", "type": "SS"},
    {"name": "ratings", "type": "NS", "as": "decimal(38,1)"},
    {"name": "counts", "type": "NS"},
    {"name": "blobs", "type": "BS"},
    {"name": "raw", "type": "L"},
    {"name": "rawToo", "type": "L", "as": "json"},
    {"name": "lines", "type": "L", "element": {"type": "M", "fields": [
      {"name": "sku", "type": "S"},
      {"name": "price", "type": "N", "as": "decimal(38,2)"}
    ]}},
    {"name": "matrix", "type": "L", "as": "list", "element": {"type": "L", "element": {"type": "N"}}},
    {"name": "attrs", "type": "M", "as": "map", "values": {"type": "S"}},
    {"name": "scores", "type": "M", "values": {"type": "NS", "as": "string"}},
    {"name": "doc", "type": "M"},
    {"name": "docToo", "type": "M", "as": "json"},
    {"name": "address", "type": "M", "as": "struct", "fields": [
      {"name": "zip code", "column": "zip", "type": "S"},
      {"name": "geo", "type": "M", "fields": [{"name": "lat", "type": "N", "as": "decimal(38,6)"}]}
    ]}
  ]
}`

func fullSchemaWant() *Schema {
	return &Schema{
		Key:    []string{"pk", "sk"},
		Pinned: true,
		Fields: []Field{
			fld("pk", tS),
			fld("sk", tLong),
			fld("status", tS),
			{Name: "order total", Column: "order_total", Type: tDec(2)},
			fld("qty", tLong),
			fld("big", tText),
			fld("spaced", tDec(0)),
			fld("blob", tB),
			fld("gift", tBool),
			fld("nothing", tNull),
			fld("tags", tSS),
			fld("ratings", tNS(NumDecimal, 1)),
			fld("counts", tNS(NumLong, 0)),
			fld("blobs", tBS),
			fld("raw", tLJSN),
			fld("rawToo", tLJSN),
			fld("lines", tList(tStruct(fld("sku", tS), fld("price", tDec(2))))),
			fld("matrix", tList(tList(tLong))),
			fld("attrs", tMap(tS)),
			fld("scores", tMap(tNS(NumText, 0))),
			fld("doc", tMJSN),
			fld("docToo", tMJSN),
			fld("address", tStruct(
				Field{Name: "zip code", Column: "zip", Type: tS},
				fld("geo", tStruct(fld("lat", tDec(6)))),
			)),
		},
	}
}

func TestParseFull(t *testing.T) {
	s, err := Parse([]byte(fullSchemaFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := fullSchemaWant(); !reflect.DeepEqual(s, want) {
		t.Errorf("Parse:\n got %s\nwant %s", jsonOf(t, s), jsonOf(t, want))
	}
	// A key given by the caller overrides the file's.
	s, err = Parse([]byte(fullSchemaFile), []string{"status"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Key, []string{"status"}) || s.Fields[0].Name != "status" {
		t.Errorf("key override: key %v, first field %q", s.Key, s.Fields[0].Name)
	}
	// Read is Parse on a reader.
	s, err = Read(strings.NewReader(fullSchemaFile), nil)
	if err != nil || !reflect.DeepEqual(s, fullSchemaWant()) {
		t.Errorf("Read = %v, %v", s, err)
	}
}

func TestParseShortForm(t *testing.T) {
	tests := []struct {
		name string
		file string
		key  []string
		want *Schema
	}{
		{
			name: "order kept, key first",
			file: `{"zeta":"S","alpha":"N","pk":"S","mid":"BOOL","sk":"N","tags":"SS","doc":"M","list":"L","nul":"NULL","bin":"B","bs":"BS","ns":"NS"}`,
			key:  []string{"pk", "sk"},
			want: &Schema{Key: []string{"pk", "sk"}, Fields: []Field{
				fld("pk", tS), fld("sk", tLong), fld("zeta", tS), fld("alpha", tLong), fld("mid", tBool),
				fld("tags", tSS), fld("doc", tMJSN), fld("list", tLJSN), fld("nul", tNull), fld("bin", tB),
				fld("bs", tBS), fld("ns", tNS(NumLong, 0)),
			}},
		},
		{
			name: "sort key before partition key",
			file: ` {"sk":"S", "x":"S", "pk":"B"} `,
			key:  []string{"pk", "sk"},
			want: &Schema{Key: []string{"pk", "sk"}, Fields: []Field{fld("pk", tB), fld("sk", tS), fld("x", tS)}},
		},
		{
			name: "names of the full format are plain attributes here",
			file: `{"pk":"S","version":"N","key":"S","pinned":"BOOL"}`,
			key:  []string{"pk"},
			want: &Schema{Key: []string{"pk"}, Fields: []Field{fld("pk", tS), fld("version", tLong), fld("key", tS), fld("pinned", tBool)}},
		},
		{
			// "attributes" is a common attribute name; only an array
			// value marks the documented format.
			name: "an attribute named attributes",
			file: `{"pk":"S","attributes":"M"}`,
			key:  []string{"pk"},
			want: &Schema{Key: []string{"pk"}, Fields: []Field{fld("pk", tS), fld("attributes", tMJSN)}},
		},
		{
			name: "any UTF-8 name",
			file: `{"pk":"S","Größe (cm)":"N","a.b":"S","_rescuedX":"S"}`,
			key:  []string{"pk"},
			want: &Schema{Key: []string{"pk"}, Fields: []Field{fld("pk", tS), fld("Größe (cm)", tLong), fld("a.b", tS), fld("_rescuedX", tS)}},
		},
		{
			// The reserved column names are avoided, the attribute kept.
			name: "attributes named like reserved columns",
			file: `{"pk":"S","_rescued":"S","_ddb_write_ts":"N"}`,
			key:  []string{"pk"},
			want: &Schema{Key: []string{"pk"}, Fields: []Field{
				fld("pk", tS),
				{Name: "_rescued", Column: "_rescued_2", Type: tS},
				{Name: "_ddb_write_ts", Column: "_ddb_write_ts_2", Type: tLong},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.file), tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s, tc.want) {
				t.Errorf("Parse:\n got %s\nwant %s", jsonOf(t, s), jsonOf(t, tc.want))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	attrs := func(a ...string) string {
		return `{"version":1,"key":["pk"],"attributes":[{"name":"pk","type":"S"}` + strings.Join(append([]string{""}, a...), ",") + `]}`
	}
	tests := []struct {
		name string
		file string
		key  []string
		want string
	}{
		{"empty", ``, nil, "want a JSON object"},
		{"array", `[{"pk":"S"}]`, nil, "want a JSON object"},
		{"not JSON", `{"pk":`, nil, "not valid JSON"},
		{"trailing data", `{"pk":"S"} {}`, []string{"pk"}, "not valid JSON"},
		{"short: unknown type", `{"pk":"S","x":"STRING"}`, []string{"pk"}, `attribute "x": unknown type "STRING"`},
		{"short: lower-case type", `{"pk":"s"}`, []string{"pk"}, `attribute "pk": unknown type "s"`},
		{"short: not a string", `{"pk":"S","x":{"type":"S"}}`, []string{"pk"}, `attribute "x": want a DynamoDB type tag`},
		{"short: null type", `{"pk":"S","x":null}`, []string{"pk"}, `attribute "x": unknown type ""`},
		{"short: duplicate name", `{"pk":"S","x":"S","x":"N"}`, []string{"pk"}, `attribute "x" appears twice`},
		{"short: key missing", `{"pk":"S"}`, nil, "the table key is unknown"},
		{"short: key not an attribute", `{"pk":"S"}`, []string{"id"}, `key attribute "id" is not in the schema`},
		{"short: empty name", `{"pk":"S","":"S"}`, []string{"pk"}, `an attribute under "" has an empty name`},
		{"short: key of type M", `{"pk":"M"}`, []string{"pk"}, `key attribute "pk" has type M`},
		{"short: key of type BOOL", `{"pk":"BOOL"}`, []string{"pk"}, `key attribute "pk" has type BOOL`},
		{"short: key of type SS", `{"pk":"SS"}`, []string{"pk"}, `key attribute "pk" has type SS`},
		{"three key attributes", `{"a":"S","b":"S","c":"S"}`, []string{"a", "b", "c"}, "got 3 attributes"},
		{"key named twice", `{"pk":"S","sk":"S"}`, []string{"pk", "pk"}, `key attribute "pk" is listed twice`},
		{"version 0", `{"key":["pk"],"attributes":[{"name":"pk","type":"S"}]}`, nil, "version 0 is not supported"},
		{"version 2", `{"version":2,"key":["pk"],"attributes":[{"name":"pk","type":"S"}]}`, nil, "version 2 is not supported"},
		{"unknown top-level field", `{"version":1,"key":["pk"],"pined":true,"attributes":[{"name":"pk","type":"S"}]}`, nil, `unknown field "pined"`},
		{"unknown attribute field", attrs(`{"name":"x","type":"S","colum":"y"}`), nil, `unknown field "colum"`},
		{"unknown nested field", attrs(`{"name":"x","type":"L","element":{"type":"S","name":"y"}}`), nil, `unknown field "name"`},
		{"attributes not an array", `{"version":1,"key":["pk"],"attributes":{"pk":"S"}}`, nil, `cannot unmarshal object into Go struct field fileSchema.attributes`},
		{"short: attributes not a tag", `{"pk":"S","attributes":1}`, []string{"pk"}, `unknown field "pk"`},
		{"full: key missing", `{"version":1,"attributes":[{"name":"pk","type":"S"}]}`, nil, "the table key is unknown"},
		{"full: key not an attribute", `{"version":1,"key":["id"],"attributes":[{"name":"pk","type":"S"}]}`, nil, `key attribute "id" is not in the schema`},
		{"full: no name", attrs(`{"type":"S"}`), nil, `attribute #2 under "" has no name`},
		{"full: nested no name", attrs(`{"name":"m","type":"M","fields":[{"type":"S"}]}`), nil, `attribute #1 under "m." has no name`},
		{"unknown type", attrs(`{"name":"x","type":"Number"}`), nil, `attribute "x": unknown type "Number"`},
		{"missing type", attrs(`{"name":"x"}`), nil, `attribute "x": unknown type ""`},
		{"unknown nested type", attrs(`{"name":"x","type":"L","element":{"type":"Q"}}`), nil, `attribute "x[]": unknown type "Q"`},
		{"bad as for N", attrs(`{"name":"x","type":"N","as":"int"}`), nil, `attribute "x": "int" is not a representation of N`},
		{"decimal precision not 38", attrs(`{"name":"x","type":"N","as":"decimal(10,2)"}`), nil, `"decimal(10,2)" is not a representation of N`},
		{"decimal scale negative", attrs(`{"name":"x","type":"N","as":"decimal(38,-1)"}`), nil, `"decimal(38,-1)" is not a representation of N`},
		{"decimal scale too big", attrs(`{"name":"x","type":"NS","as":"decimal(38,39)"}`), nil, `attribute "x": decimal scale 39 out of range 0..38`},
		{"decimal scale huge", attrs(`{"name":"x","type":"N","as":"decimal(38,99999999999999999999999)"}`), nil, `decimal scale 99999999999999999999999 out of range 0..38`},
		{"bad as for S", attrs(`{"name":"x","type":"S","as":"string"}`), nil, `"string" is not a representation of S`},
		{"bad as for BOOL", attrs(`{"name":"x","type":"BOOL","as":"json"}`), nil, `"json" is not a representation of BOOL`},
		{"bad as for L", attrs(`{"name":"x","type":"L","as":"map"}`), nil, `"map" is not a representation of L`},
		{"L list without element", attrs(`{"name":"x","type":"L","as":"list"}`), nil, `"list" is not a representation of L`},
		{"L json with element", attrs(`{"name":"x","type":"L","as":"json","element":{"type":"S"}}`), nil, `attribute "x": "element" does not apply to L stored as json`},
		{"bad as for M", attrs(`{"name":"x","type":"M","as":"list"}`), nil, `"list" is not a representation of M`},
		{"M map without values", attrs(`{"name":"x","type":"M","as":"map"}`), nil, `"map" is not a representation of M`},
		{"M struct without fields", attrs(`{"name":"x","type":"M","as":"struct"}`), nil, `"struct" is not a representation of M`},
		{"M struct with no fields", attrs(`{"name":"x","type":"M","fields":[]}`), nil, `attribute "x": a struct needs at least one field`},
		{"M json with fields", attrs(`{"name":"x","type":"M","as":"json","fields":[{"name":"a","type":"S"}]}`), nil, `attribute "x": "fields" does not apply to M stored as json`},
		{"M with fields and values", attrs(`{"name":"x","type":"M","values":{"type":"S"},"fields":[{"name":"a","type":"S"}]}`), nil, `attribute "x": "fields" and "values" exclude each other`},
		{"element on S", attrs(`{"name":"x","type":"S","element":{"type":"S"}}`), nil, `attribute "x": "element" does not apply to S`},
		{"fields on L", attrs(`{"name":"x","type":"L","element":{"type":"S"},"fields":[{"name":"a","type":"S"}]}`), nil, `attribute "x": "fields" does not apply to L`},
		{"values on SS", attrs(`{"name":"x","type":"SS","values":{"type":"S"}}`), nil, `attribute "x": "values" does not apply to SS`},
		{"duplicate names", attrs(`{"name":"x","type":"S"}`, `{"name":"x","type":"N"}`), nil, `attribute "x" appears twice`},
		{"duplicate nested names", attrs(`{"name":"m","type":"M","fields":[{"name":"a","type":"S"},{"name":"a","type":"S"}]}`), nil, `attribute "m.a" appears twice`},
		{"duplicate columns", attrs(`{"name":"x","column":"c","type":"S"}`, `{"name":"y","column":"c","type":"S"}`), nil, `column "c" appears twice (attribute "y")`},
		{"duplicate nested columns", attrs(`{"name":"m","type":"M","fields":[{"name":"a","column":"c","type":"S"},{"name":"b","column":"c","type":"S"}]}`), nil, `column "c" appears twice (attribute "m.b")`},
		{"reserved _rescued", attrs(`{"name":"x","column":"_rescued","type":"S"}`), nil, `attribute "x" maps to the reserved column "_rescued"`},
		{"reserved _ddb_write_ts", attrs(`{"name":"ts","column":"_ddb_write_ts","type":"N"}`), nil, `attribute "ts" maps to the reserved column "_ddb_write_ts"`},
		{"key of type M", `{"version":1,"key":["pk"],"attributes":[{"name":"pk","type":"M","fields":[{"name":"a","type":"S"}]}]}`, nil, `key attribute "pk" has type M`},
		{"decimal key with scale", `{"version":1,"key":["pk"],"attributes":[{"name":"pk","type":"N","as":"decimal(38,2)"}]}`, nil, `key attribute "pk": a key number must be stored as long or string, not decimal(38,2)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.file), tc.key)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", jsonOf(t, s))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestParseExplicitColumnWins checks that a column the file names
// explicitly is kept, and an attribute whose own name it takes is renamed
// rather than the file refused.
func TestParseExplicitColumnWins(t *testing.T) {
	s, err := Parse([]byte(`{"version":1,"key":["pk"],"attributes":[{"name":"pk","type":"S"},{"name":"x","column":"pk","type":"S"}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{Name: "pk", Column: "pk_2", Type: tS}, {Name: "x", Column: "pk", Type: tS}}
	if !reflect.DeepEqual(s.Fields, want) {
		t.Errorf("fields = %s, want %s", jsonOf(t, s.Fields), jsonOf(t, want))
	}
}

// TestParseDecimalKey checks the keys Validate accepts: integral decimals
// (integers beyond int64) and numbers as text.
func TestParseDecimalKey(t *testing.T) {
	for _, as := range []string{"decimal(38,0)", "string", "long"} {
		file := `{"version":1,"key":["pk"],"attributes":[{"name":"pk","type":"N","as":"` + as + `"}]}`
		if _, err := Parse([]byte(file), nil); err != nil {
			t.Errorf("key stored as %s: %v", as, err)
		}
	}
}

func TestMarshalJSON(t *testing.T) {
	s := &Schema{
		Key:    []string{"pk"},
		Pinned: true,
		Fields: []Field{
			fld("pk", tS),
			{Name: "Order Total", Column: "order_total", Type: tDec(2)},
			fld("n", tLong),
			fld("ns", tNS(NumText, 0)),
			fld("l", tList(tMap(tBool))),
			fld("j", tLJSN),
			fld("m", tStruct(fld("a", tMJSN))),
		},
	}
	got, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"key":["pk"],"pinned":true,"attributes":[` +
		`{"name":"pk","type":"S"},` +
		`{"name":"Order Total","column":"order_total","type":"N","as":"decimal(38,2)"},` +
		`{"name":"n","type":"N","as":"long"},` +
		`{"name":"ns","type":"NS","as":"string"},` +
		`{"name":"l","type":"L","element":{"type":"M","as":"map","values":{"type":"BOOL"}}},` +
		`{"name":"j","type":"L","as":"json"},` +
		`{"name":"m","type":"M","as":"struct","fields":[{"name":"a","type":"M","as":"json"}]}]}`
	if string(got) != want {
		t.Errorf("MarshalJSON:\n got %s\nwant %s", got, want)
	}
}

// roundTrip marshals s and parses the result back.
func roundTrip(t testing.TB, s *Schema) *Schema {
	t.Helper()
	data, err := s.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	back, err := Parse(data, nil)
	if err != nil {
		t.Fatalf("Parse(MarshalJSON()) = %v\nfile: %s", err, data)
	}
	return back
}

func TestMarshalRoundTrip(t *testing.T) {
	schemas := map[string]*Schema{"full": fullSchemaWant()}
	var err error
	if schemas["short"], err = Parse([]byte(`{"b":"S","a":"NS","pk":"N"}`), []string{"pk"}); err != nil {
		t.Fatal(err)
	}
	// A nested attribute may use a reserved name as its column: the
	// reservation is for top-level columns only.
	if schemas["nested reserved"], err = Parse([]byte(`{"version":1,"key":["pk"],"attributes":[{"name":"pk","type":"S"},`+
		`{"name":"m","type":"M","fields":[{"name":"_rescued","type":"S"},{"name":"x","column":"_ddb_write_ts","type":"S"}]}]}`), nil); err != nil {
		t.Fatal(err)
	}
	if schemas["sanitized"], _, err = Decide(detect([]string{"PK"}, item(
		at("PK", vS("a")), at("Status", vS("x")), at("status", vN("1.5")), at("_rescued", vS("r")),
		at("Addr", vM(at("Zip Code", vS("1")), at("zip_code", vS("2")), at("_rescued", vS("3")))),
	)).Stats(), []string{"PK"}, ColumnsSanitize); err != nil {
		t.Fatal(err)
	}
	for name, s := range schemas {
		t.Run(name, func(t *testing.T) {
			if back := roundTrip(t, s); !reflect.DeepEqual(back, s) {
				t.Errorf("round trip:\n got %s\nwant %s", jsonOf(t, back), jsonOf(t, s))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := func() *Schema {
		return &Schema{Key: []string{"pk"}, Fields: []Field{fld("pk", tS), fld("m", tStruct(fld("a", tS)))}}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	tests := []struct {
		name   string
		change func(s *Schema)
		want   string
	}{
		{"no key", func(s *Schema) { s.Key = nil }, "got 0 attributes"},
		{"key not a field", func(s *Schema) { s.Key = []string{"id"} }, `key attribute "id" is not in the schema`},
		{"key twice", func(s *Schema) { s.Key = []string{"pk", "pk"} }, `key attribute "pk" is listed twice`},
		{"key of type M", func(s *Schema) { s.Key = []string{"m"} }, `key attribute "m" has type M`},
		{"key of type NULL", func(s *Schema) { s.Fields[0].Type = tNull }, `key attribute "pk" has type NULL`},
		{"fractional decimal key", func(s *Schema) { s.Fields[0].Type = tDec(1) }, "not decimal(38,1)"},
		{"empty column", func(s *Schema) { s.Fields[1].Column = "" }, `attribute "m" has an empty column name`},
		{"empty nested column", func(s *Schema) { s.Fields[1].Type.Fields[0].Column = "" }, `attribute "m.a" has an empty column name`},
		{"invalid kind", func(s *Schema) { s.Fields[1].Type = Type{} }, `attribute "m": unknown type invalid`},
		{"bad number repr", func(s *Schema) { s.Fields[1].Type = Type{Kind: ddb.N, Num: "float"} }, `number representation "float"`},
		{"missing number repr", func(s *Schema) { s.Fields[1].Type = Type{Kind: ddb.NS} }, `number representation ""`},
		{"negative scale", func(s *Schema) { s.Fields[1].Type = tDec(-1) }, "decimal scale -1 out of range"},
		{"bad map repr", func(s *Schema) { s.Fields[1].Type.Map = "table" }, `map representation "table"`},
		{"map without values", func(s *Schema) { s.Fields[1].Type = Type{Kind: ddb.M, Map: MapMap} }, "map without a value type"},
		{"empty struct", func(s *Schema) { s.Fields[1].Type = tStruct() }, `attribute "m": a struct needs at least one field`},
		{"bad list element", func(s *Schema) { s.Fields[1].Type = tList(Type{Kind: ddb.N}) }, `attribute "m[]": number representation`},
		{"bad map value", func(s *Schema) { s.Fields[1].Type = tMap(tStruct()) }, `attribute "m{}": a struct needs at least one field`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.change(s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ name, want string }{
		{"status", "status"},
		{"Status", "status"},
		{"createdAt", "createdat"},
		{"order total", "order_total"},
		{"order  -  total", "order_total"},
		{"a.b.c", "a_b_c"},
		{"address.zip", "address_zip"},
		{"snake_case_9", "snake_case_9"},
		{"1st", "_1st"},
		{"2024", "_2024"},
		{"", "col"},
		{"_", "col"},
		{" ", "col"},
		{"!!!", "col"},
		{"__", "__"},
		{"_x", "_x"},
		{"-x", "_x"},
		{"x-", "x_"},
		{"Größe", "gr_e"},
		{"日本語", "col"},
		{"名前1", "_1"},
		{"ÉCOLE", "_cole"},
		{"_rescued", "_rescued"}, // AssignColumns steers clear of reserved names
		{"#", "col"},
		{"PK#SK", "pk_sk"},
	}
	for _, tc := range tests {
		if got := Sanitize(tc.name); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "_", "Status", "1st", "a.b", "日本語", "Größe", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := Sanitize(name)
		if got == "" || got[0] >= '0' && got[0] <= '9' {
			t.Fatalf("Sanitize(%q) = %q: empty or leading digit", name, got)
		}
		for _, c := range []byte(got) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				t.Fatalf("Sanitize(%q) = %q: unsafe byte %q", name, got, c)
			}
		}
		if Sanitize(got) != got {
			t.Fatalf("Sanitize is not idempotent: %q → %q → %q", name, got, Sanitize(got))
		}
	})
}

func TestAssignColumns(t *testing.T) {
	names := func(fs ...string) []Field {
		out := make([]Field, len(fs))
		for i, n := range fs {
			out[i] = Field{Name: n, Type: tS}
		}
		return out
	}
	cols := func(fields []Field) []string {
		var out []string
		for _, f := range fields {
			out = append(out, f.Column)
		}
		return out
	}
	tests := []struct {
		name   string
		fields []Field
		mode   ColumnNames
		want   []string
	}{
		{"as-is keeps names", names("Status", "status", "a.b", "1st", "日本"), ColumnsAsIs, []string{"Status", "status", "a.b", "1st", "日本"}},
		{"as-is avoids reserved", names("_rescued", "_ddb_write_ts", "_rescued_2"), ColumnsAsIs, []string{"_rescued_3", "_ddb_write_ts_2", "_rescued_2"}},
		// A name that is already a safe column keeps it; the others are
		// de-duplicated in order.
		{"case-distinct pair", names("Status", "status"), ColumnsSanitize, []string{"status_2", "status"}},
		{"case-distinct pair, lower first", names("status", "Status"), ColumnsSanitize, []string{"status", "status_2"}},
		{"case-distinct unsafe pair", names("Status", "STATUS"), ColumnsSanitize, []string{"status", "status_2"}},
		{"three-way clash", names("STATUS", "Status", "status"), ColumnsSanitize, []string{"status_2", "status_3", "status"}},
		{"suffix taken by a later name", names("Status", "status", "status_2"), ColumnsSanitize, []string{"status_3", "status", "status_2"}},
		{"spaces and dots", names("order total", "order.total", "order_total"), ColumnsSanitize, []string{"order_total_2", "order_total_3", "order_total"}},
		{"leading digits", names("1st", "_1st"), ColumnsSanitize, []string{"_1st_2", "_1st"}},
		{"empty and underscore", names("", "_", "col"), ColumnsSanitize, []string{"col_2", "col_3", "col"}},
		{"unicode", names("日本", "中文"), ColumnsSanitize, []string{"col", "col_2"}},
		{"reserved", names("_rescued", "_RESCUED", "_ddb_write_ts"), ColumnsSanitize, []string{"_rescued_2", "_rescued_3", "_ddb_write_ts_2"}},
		{
			"preset columns are kept and avoided",
			[]Field{{Name: "a", Type: tS}, {Name: "b", Column: "a", Type: tS}, {Name: "A", Type: tS}},
			ColumnsSanitize,
			[]string{"a_2", "a", "a_3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			AssignColumns(tc.fields, tc.mode)
			if got := cols(tc.fields); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("columns = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAssignColumnsNested checks nested struct fields, struct elements of
// lists and struct values of maps get columns too, each level
// de-duplicated on its own, and that the reserved names, which only
// matter for top-level columns, are left alone below it.
func TestAssignColumnsNested(t *testing.T) {
	fields := []Field{
		{Name: "Addr", Type: tStruct(Field{Name: "Zip Code", Type: tS}, Field{Name: "zip_code", Type: tS}, Field{Name: "_rescued", Type: tS})},
		{Name: "Lines", Type: tList(tStruct(Field{Name: "SKU", Type: tS}, Field{Name: "sku", Type: tS}))},
		{Name: "ByDay", Type: tMap(tStruct(Field{Name: "Day", Type: tS}))},
		{Name: "Deep", Type: tList(tList(tStruct(Field{Name: "X.Y", Type: tS})))},
	}
	AssignColumns(fields, ColumnsSanitize)
	want := []Field{
		{Name: "Addr", Column: "addr", Type: tStruct(Field{Name: "Zip Code", Column: "zip_code_2", Type: tS}, Field{Name: "zip_code", Column: "zip_code", Type: tS}, Field{Name: "_rescued", Column: "_rescued", Type: tS})},
		{Name: "Lines", Column: "lines", Type: tList(tStruct(Field{Name: "SKU", Column: "sku_2", Type: tS}, Field{Name: "sku", Column: "sku", Type: tS}))},
		{Name: "ByDay", Column: "byday", Type: tMap(tStruct(Field{Name: "Day", Column: "day", Type: tS}))},
		{Name: "Deep", Column: "deep", Type: tList(tList(tStruct(Field{Name: "X.Y", Column: "x_y", Type: tS})))},
	}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("AssignColumns:\n got %s\nwant %s", jsonOf(t, fields), jsonOf(t, want))
	}
}

func FuzzParseSchema(f *testing.F) {
	f.Add([]byte(fullSchemaFile), "")
	f.Add([]byte(`{"pk":"S","sk":"N","m":"M","l":"L"}`), "pk,sk")
	f.Add([]byte(`{"pk":"S","attributes":"S"}`), "pk")
	f.Add([]byte(`{"version":1,"key":["pk"],"attributes":[{"name":"pk","type":"S"},{"name":"_rescued","type":"S"},`+
		`{"name":"m","type":"M","fields":[{"name":"_rescued","column":"x","type":"S"},{"name":"x","type":"S"}]}]}`), "")
	f.Add([]byte(`{"version":1,"key":["pk"],"attributes":[{"name":"pk","type":"S"},{"name":"m","type":"M","fields":[]}]}`), "")
	f.Add([]byte(`{"version":1,"key":["pk"],"attributes":[{"name":"pk","type":"S"},{"name":"x","type":"L","element":{"type":"M","values":{"type":"NS","as":"decimal(38,3)"}}}]}`), "")
	f.Add([]byte(`{"version":1,"key":["a"],"attributes":[{"name":"a","column":"b","type":"S"},{"name":"b","type":"S"}]}`), "")
	f.Add([]byte(`{"pk":"S","":"S"}`), "pk")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		var k []string
		if key != "" {
			k = strings.Split(key, ",")
		}
		s, err := Parse(data, k)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse returned an invalid schema: %v", err)
		}
		if back := roundTrip(t, s); !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip:\n got %s\nwant %s", jsonOf(t, back), jsonOf(t, s))
		}
		if _, err := s.Iceberg(); err != nil {
			t.Fatalf("Iceberg() of a parsed schema: %v", err)
		}
	})
}

// byteSource turns fuzz input into choices deterministically; it yields
// zeros once the input is used up, so every input makes a finite value.
type byteSource struct{ b []byte }

func (s *byteSource) next(n int) int {
	if len(s.b) == 0 || n <= 1 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return int(c) % n
}

// fuzzNames are attribute and column names that collide in every way the
// column rules care about.
var fuzzNames = []string{"pk", "a", "A", "a_2", "_rescued", "_ddb_write_ts", "x y", "名前", "col", "b"}

func (s *byteSource) typ(depth int) Type {
	kinds := []ddb.Kind{ddb.S, ddb.N, ddb.B, ddb.BOOL, ddb.NULL, ddb.SS, ddb.NS, ddb.BS, ddb.L, ddb.M}
	t := Type{Kind: kinds[s.next(len(kinds))]}
	switch t.Kind {
	case ddb.N, ddb.NS:
		t.Num = []NumRepr{NumLong, NumDecimal, NumText}[s.next(3)]
		if t.Num == NumDecimal {
			t.Scale = s.next(MaxDecimalPrecision + 1)
		}
	case ddb.L:
		if depth < 4 && s.next(2) == 1 {
			e := s.typ(depth + 1)
			t.Elem = &e
		}
	case ddb.M:
		t.Map = []MapRepr{MapJSON, MapMap, MapStruct}[s.next(3)]
		switch {
		case depth >= 4:
			t.Map = MapJSON
		case t.Map == MapMap:
			v := s.typ(depth + 1)
			t.Values = &v
		case t.Map == MapStruct:
			t.Fields = s.fields(depth+1, 1+s.next(3))
		}
	}
	return t
}

func (s *byteSource) fields(depth, n int) []Field {
	out := make([]Field, n)
	for i := range out {
		out[i] = Field{Name: fuzzNames[s.next(len(fuzzNames))], Type: s.typ(depth)}
		if s.next(3) == 0 {
			out[i].Column = fuzzNames[s.next(len(fuzzNames))]
		}
	}
	return out
}

// FuzzSchemaRoundTrip builds schemas from fuzz bytes, which reaches far
// more shapes than mutating JSON text does: every schema that validates
// must survive MarshalJSON and Parse unchanged.
func FuzzSchemaRoundTrip(f *testing.F) {
	f.Add([]byte{0, 0, 3, 9, 2, 1, 4, 1, 1})
	f.Add([]byte{1, 9, 2, 2, 0, 4, 9, 1, 5, 9, 2, 1, 3, 8, 2})
	f.Add([]byte("\x00\x04\x09\x02\x02\x00\x04\x05\x01\x01\x00\x06"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &byteSource{b: data}
		s := &Schema{Key: []string{"pk"}, Pinned: src.next(2) == 1}
		s.Fields = append([]Field{{Name: "pk", Type: Type{Kind: ddb.S}}}, src.fields(0, src.next(6))...)
		AssignColumns(s.Fields, []ColumnNames{ColumnsAsIs, ColumnsSanitize}[src.next(2)])
		if s.Validate() != nil {
			return
		}
		if back := roundTrip(t, s); !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip:\n got %s\nwant %s", jsonOf(t, back), jsonOf(t, s))
		}
	})
}
