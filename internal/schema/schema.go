// Package schema decides how DynamoDB attributes become Iceberg columns.
//
// A Schema is floe's own description of a table: for every attribute, the
// DynamoDB type it holds and how that type is represented (a number as long,
// decimal or exact text; a map as struct, map or JSON; ...). It is what
// `floe schema detect` writes, what `floe run --schema` reads, and what the
// committer stores in the table's properties so later exports are converted
// the same way. Iceberg types are derived from it (see Iceberg).
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/floe-io/floe/internal/ddb"
)

// Reserved column names. They start with an underscore and "ddb" or
// "rescued" so they cannot collide with attribute names in practice; a
// table whose items do use them gets an error at schema time, not silent
// shadowing.
const (
	// RescuedColumn holds, as a JSON object of attribute → DynamoDB JSON
	// value, every attribute of a row that did not fit its column.
	RescuedColumn = "_rescued"
	// WriteTSColumn holds the change's WriteTimestampMicros (incremental
	// exports); it is null for rows loaded from a full export.
	WriteTSColumn = "_ddb_write_ts"
)

// NumRepr says how N values (and NS elements) are stored.
type NumRepr string

// The three representations of a DynamoDB number, from narrowest to widest.
const (
	NumLong    NumRepr = "long"
	NumDecimal NumRepr = "decimal"
	NumText    NumRepr = "string"
)

// MapRepr says how M values are stored.
type MapRepr string

// The representations of a DynamoDB map.
const (
	MapStruct MapRepr = "struct"
	MapMap    MapRepr = "map"
	MapJSON   MapRepr = "json"
)

// Type is the DynamoDB type of an attribute and its column representation.
type Type struct {
	// Kind is the DynamoDB type the column holds. Values of any other
	// kind do not fit and are rescued.
	Kind ddb.Kind
	// Num and Scale apply to N and NS.
	Num   NumRepr
	Scale int
	// Elem is the element type of an L stored as a list. A nil Elem on an L
	// means the list is stored as JSON text.
	Elem *Type
	// Map, Fields and Values apply to M: a struct has Fields, a map has
	// Values (keys are strings), JSON has neither.
	Map    MapRepr
	Fields []Field
	Values *Type
}

// Field is a named attribute and the column it lands in.
type Field struct {
	// Name is the DynamoDB attribute name, any UTF-8.
	Name string
	// Column is the Iceberg column name: Name itself, or a sanitized form
	// (see Sanitize). The original name is kept in the field's doc.
	Column string
	Type   Type
}

// Schema describes a table.
type Schema struct {
	// Key lists the partition key and, if the table has one, the sort key:
	// the Iceberg identifier fields.
	Key []string
	// Fields are the attributes in column order. Key attributes come first.
	Fields []Field
	// Pinned forbids schema evolution: attributes not listed here go to
	// the rescue column instead of adding columns.
	Pinned bool
}

// Field returns the top-level field for an attribute name, or nil.
func (s *Schema) Field(name string) *Field {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// Validate checks the schema is usable: keys present and scalar, names
// unique, reserved names unused, types consistent.
func (s *Schema) Validate() error {
	if len(s.Key) == 0 || len(s.Key) > 2 {
		return fmt.Errorf("schema: key must name the partition key and optionally the sort key, got %d attributes", len(s.Key))
	}
	if len(s.Key) == 2 && s.Key[0] == s.Key[1] {
		// Without this the duplicate surfaces later as "appears twice",
		// which points at the attributes rather than at --key.
		return fmt.Errorf("schema: key attribute %q is listed twice; the key is the partition key and optionally a different sort key", s.Key[0])
	}
	for _, k := range s.Key {
		f := s.Field(k)
		if f == nil {
			return fmt.Errorf("schema: key attribute %q is not in the schema", k)
		}
		switch f.Type.Kind {
		case ddb.S, ddb.B:
		case ddb.N:
			if f.Type.Num == NumDecimal && f.Type.Scale > 0 {
				return fmt.Errorf("schema: key attribute %q: a key number must be stored as long or string, not decimal(38,%d): Iceberg identifier fields cannot be fractional decimals in every engine", k, f.Type.Scale)
			}
		default:
			return fmt.Errorf("schema: key attribute %q has type %s; DynamoDB keys are S, N or B", k, f.Type.Kind)
		}
	}
	return validateFields("", s.Fields)
}

func validateFields(path string, fields []Field) error {
	names := make(map[string]bool, len(fields))
	cols := make(map[string]bool, len(fields))
	for _, f := range fields {
		if f.Name == "" {
			return fmt.Errorf("schema: an attribute under %q has an empty name", path)
		}
		if names[f.Name] {
			return fmt.Errorf("schema: attribute %q appears twice", path+f.Name)
		}
		names[f.Name] = true
		if f.Column == "" {
			return fmt.Errorf("schema: attribute %q has an empty column name", path+f.Name)
		}
		if cols[f.Column] {
			return fmt.Errorf("schema: column %q appears twice (attribute %q); use distinct column names", f.Column, path+f.Name)
		}
		cols[f.Column] = true
		if path == "" && (f.Column == RescuedColumn || f.Column == WriteTSColumn) {
			return fmt.Errorf("schema: attribute %q maps to the reserved column %q; rename it in the schema file", f.Name, f.Column)
		}
		if err := validateType(path+f.Name, &f.Type); err != nil {
			return err
		}
	}
	return nil
}

func validateType(path string, t *Type) error {
	switch t.Kind {
	case ddb.S, ddb.B, ddb.BOOL, ddb.NULL, ddb.SS, ddb.BS:
	case ddb.N, ddb.NS:
		switch t.Num {
		case NumLong, NumText:
		case NumDecimal:
			if t.Scale < 0 || t.Scale > MaxDecimalPrecision {
				return fmt.Errorf("schema: attribute %q: decimal scale %d out of range 0..%d", path, t.Scale, MaxDecimalPrecision)
			}
		default:
			return fmt.Errorf("schema: attribute %q: number representation %q (want long, decimal or string)", path, t.Num)
		}
	case ddb.L:
		if t.Elem != nil {
			return validateType(path+"[]", t.Elem)
		}
	case ddb.M:
		switch t.Map {
		case MapStruct:
			if len(t.Fields) == 0 {
				// Parquet has no empty groups, and the schema file could
				// not say it either ("fields" is left out when empty).
				return fmt.Errorf("schema: attribute %q: a struct needs at least one field; store the map as json", path)
			}
			return validateFields(path+".", t.Fields)
		case MapMap:
			if t.Values == nil {
				return fmt.Errorf("schema: attribute %q: map without a value type", path)
			}
			return validateType(path+"{}", t.Values)
		case MapJSON:
		default:
			return fmt.Errorf("schema: attribute %q: map representation %q (want struct, map or json)", path, t.Map)
		}
	default:
		return fmt.Errorf("schema: attribute %q: unknown type %s", path, t.Kind)
	}
	return nil
}

// ColumnNames says how attribute names become column names.
type ColumnNames string

// Column naming modes.
const (
	// ColumnsAsIs keeps attribute names unchanged.
	ColumnsAsIs ColumnNames = "as-is"
	// ColumnsSanitize makes Glue/Athena-safe names: lower case, [a-z0-9_],
	// not starting with a digit, de-duplicated with a numeric suffix.
	ColumnsSanitize ColumnNames = "sanitize"
)

var unsafeRun = regexp.MustCompile(`[^a-z0-9_]+`)

// Sanitize returns a Glue/Athena-safe form of an attribute name. It does
// not de-duplicate; AssignColumns does.
func Sanitize(name string) string {
	s := unsafeRun.ReplaceAllString(strings.ToLower(name), "_")
	if s == "" || s == "_" {
		s = "col"
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	return s
}

// AssignColumns sets the Column of every field (recursively) for a naming
// mode, keeping any Column already set.
//
// A field whose name already is a usable column name keeps it, even when
// an earlier field's name sanitizes to the same column or would take it as
// a de-duplicated "name_2": the other field is the one that is renamed.
// The reserved column names are avoided at the top level only; nested
// fields live in their own name space.
func AssignColumns(fields []Field, mode ColumnNames) {
	assignColumns(fields, mode, true)
}

func assignColumns(fields []Field, mode ColumnNames, top bool) {
	used := make(map[string]bool, len(fields))
	for _, f := range fields {
		if f.Column != "" {
			used[f.Column] = true
		}
	}
	free := func(col string) bool {
		return !used[col] && !(top && (col == RescuedColumn || col == WriteTSColumn))
	}
	base := func(f *Field) string {
		if mode == ColumnsSanitize {
			return Sanitize(f.Name)
		}
		return f.Name
	}
	// First the fields that can keep their own name, so that no generated
	// name takes it from them.
	for i := range fields {
		if f := &fields[i]; f.Column == "" && base(f) == f.Name && free(f.Name) {
			f.Column = f.Name
			used[f.Name] = true
		}
	}
	for i := range fields {
		f := &fields[i]
		if f.Column == "" {
			b := base(f)
			col := b
			for n := 2; !free(col); n++ {
				col = b + "_" + strconv.Itoa(n)
			}
			f.Column = col
			used[col] = true
		}
		assignTypeColumns(&f.Type, mode)
	}
}

func assignTypeColumns(t *Type, mode ColumnNames) {
	switch {
	case t.Elem != nil:
		assignTypeColumns(t.Elem, mode)
	case t.Values != nil:
		assignTypeColumns(t.Values, mode)
	case t.Map == MapStruct:
		assignColumns(t.Fields, mode, false)
	}
}

// The schema file format. It is documented in docs/schema-file.md; keep the
// two in step.
type fileSchema struct {
	Version    int         `json:"version"`
	Key        []string    `json:"key"`
	Pinned     bool        `json:"pinned,omitempty"`
	Attributes []fileField `json:"attributes"`
}

type fileField struct {
	Name   string `json:"name"`
	Column string `json:"column,omitempty"`
	fileType
}

type fileType struct {
	Type    string      `json:"type"`
	As      string      `json:"as,omitempty"`
	Element *fileType   `json:"element,omitempty"`
	Fields  []fileField `json:"fields,omitempty"`
	Values  *fileType   `json:"values,omitempty"`
}

// MarshalJSON writes the documented schema file format.
func (s *Schema) MarshalJSON() ([]byte, error) {
	fs := fileSchema{Version: 1, Key: s.Key, Pinned: s.Pinned, Attributes: toFileFields(s.Fields)}
	return json.Marshal(fs)
}

func toFileFields(fields []Field) []fileField {
	out := make([]fileField, len(fields))
	for i, f := range fields {
		out[i] = fileField{Name: f.Name, fileType: toFileType(&f.Type)}
		if f.Column != f.Name {
			out[i].Column = f.Column
		}
	}
	return out
}

func toFileType(t *Type) fileType {
	ft := fileType{Type: t.Kind.String()}
	switch t.Kind {
	case ddb.N, ddb.NS:
		ft.As = string(t.Num)
		if t.Num == NumDecimal {
			ft.As = fmt.Sprintf("decimal(38,%d)", t.Scale)
		}
	case ddb.L:
		if t.Elem == nil {
			ft.As = "json"
		} else {
			e := toFileType(t.Elem)
			ft.Element = &e
		}
	case ddb.M:
		ft.As = string(t.Map)
		switch t.Map {
		case MapStruct:
			ft.Fields = toFileFields(t.Fields)
		case MapMap:
			v := toFileType(t.Values)
			ft.Values = &v
		}
	}
	return ft
}

var decimalAs = regexp.MustCompile(`^decimal\(\s*38\s*,\s*(\d+)\s*\)$`)

// Parse reads a schema file: either the documented format or the short
// {"attr": "S", ...} form the Spark scripts used, in which the key must be
// given separately (key may be nil for the documented format). The
// returned schema is validated.
func Parse(data []byte, key []string) (*Schema, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("schema file: want a JSON object (see docs/schema-file.md)")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return nil, fmt.Errorf("schema file is not valid JSON: %w", err)
	}
	var s *Schema
	// The documented format has an "attributes" array; in the short form
	// every value is a type tag string, so an attribute that happens to be
	// named "attributes" does not switch formats, while a malformed
	// "attributes" still gets the documented format's error.
	if raw, ok := probe["attributes"]; ok && !bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
		var fs fileSchema
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fs); err != nil {
			return nil, fmt.Errorf("schema file: %w", err)
		}
		if fs.Version != 1 {
			return nil, fmt.Errorf("schema file: version %d is not supported (want 1)", fs.Version)
		}
		fields, err := fromFileFields("", fs.Attributes)
		if err != nil {
			return nil, err
		}
		s = &Schema{Key: fs.Key, Fields: fields, Pinned: fs.Pinned}
	} else {
		fields, err := parseShortForm(trimmed)
		if err != nil {
			return nil, err
		}
		s = &Schema{Fields: fields}
	}
	if len(key) > 0 {
		s.Key = key
	}
	if err := orderKeysFirst(s); err != nil {
		return nil, err
	}
	AssignColumns(s.Fields, ColumnsAsIs)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseShortForm reads {"attr":"S",...} keeping the file's attribute order.
func parseShortForm(data []byte) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("schema file: %w", err)
	}
	var fields []Field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("schema file: %w", err)
		}
		name := tok.(string)
		var tag string
		if err := dec.Decode(&tag); err != nil {
			return nil, fmt.Errorf("schema file: attribute %q: want a DynamoDB type tag string such as \"S\" or \"N\": %w", name, err)
		}
		t, err := fromFileType(name, &fileType{Type: tag})
		if err != nil {
			return nil, err
		}
		fields = append(fields, Field{Name: name, Type: t})
	}
	return fields, nil
}

func fromFileFields(path string, ffs []fileField) ([]Field, error) {
	out := make([]Field, len(ffs))
	for i, ff := range ffs {
		if ff.Name == "" {
			return nil, fmt.Errorf("schema file: attribute #%d under %q has no name", i+1, path)
		}
		t, err := fromFileType(path+ff.Name, &ff.fileType)
		if err != nil {
			return nil, err
		}
		out[i] = Field{Name: ff.Name, Column: ff.Column, Type: t}
	}
	return out, nil
}

func fromFileType(path string, ft *fileType) (Type, error) {
	kind, ok := ddb.ParseKind(ft.Type)
	if !ok {
		return Type{}, fmt.Errorf("schema file: attribute %q: unknown type %q (want one of S, N, B, BOOL, NULL, SS, NS, BS, L, M)", path, ft.Type)
	}
	t := Type{Kind: kind}
	bad := func() (Type, error) {
		return Type{}, fmt.Errorf("schema file: attribute %q: %q is not a representation of %s", path, ft.As, ft.Type)
	}
	// A nested description the type does not use would be dropped without
	// a word; it is a mistake in the file (a typo in "type" or "as").
	misplaced := func(what string) (Type, error) {
		if ft.As == "json" {
			return Type{}, fmt.Errorf("schema file: attribute %q: %q does not apply to %s stored as json", path, what, ft.Type)
		}
		return Type{}, fmt.Errorf("schema file: attribute %q: %q does not apply to %s", path, what, ft.Type)
	}
	if ft.Element != nil && (kind != ddb.L || ft.As == "json") {
		return misplaced("element")
	}
	if ft.Fields != nil && (kind != ddb.M || ft.As == "json") {
		return misplaced("fields")
	}
	if ft.Values != nil && (kind != ddb.M || ft.As == "json") {
		return misplaced("values")
	}
	if ft.Fields != nil && ft.Values != nil {
		return Type{}, fmt.Errorf("schema file: attribute %q: \"fields\" and \"values\" exclude each other (a struct or a map)", path)
	}
	switch kind {
	case ddb.N, ddb.NS:
		switch m := decimalAs.FindStringSubmatch(ft.As); {
		case ft.As == "" || ft.As == "long":
			t.Num = NumLong
		case ft.As == "string":
			t.Num = NumText
		case m != nil:
			scale, err := strconv.Atoi(m[1])
			if err != nil || scale > MaxDecimalPrecision {
				// Reported here: Atoi saturates, so Validate would quote
				// a scale the file does not hold.
				return Type{}, fmt.Errorf("schema file: attribute %q: decimal scale %s out of range 0..%d", path, m[1], MaxDecimalPrecision)
			}
			t.Num, t.Scale = NumDecimal, scale
		default:
			return bad()
		}
	case ddb.L:
		switch {
		case ft.As == "json" || (ft.As == "" && ft.Element == nil):
		case ft.Element != nil && (ft.As == "" || ft.As == "list"):
			e, err := fromFileType(path+"[]", ft.Element)
			if err != nil {
				return Type{}, err
			}
			t.Elem = &e
		default:
			return bad()
		}
	case ddb.M:
		switch {
		case ft.As == "json" || (ft.As == "" && ft.Fields == nil && ft.Values == nil):
			t.Map = MapJSON
		case ft.Values != nil && (ft.As == "" || ft.As == "map"):
			v, err := fromFileType(path+"{}", ft.Values)
			if err != nil {
				return Type{}, err
			}
			t.Map, t.Values = MapMap, &v
		case ft.Fields != nil && (ft.As == "" || ft.As == "struct"):
			fs, err := fromFileFields(path+".", ft.Fields)
			if err != nil {
				return Type{}, err
			}
			t.Map, t.Fields = MapStruct, fs
		default:
			return bad()
		}
	default:
		if ft.As != "" {
			return bad()
		}
	}
	return t, nil
}

func orderKeysFirst(s *Schema) error {
	if len(s.Key) == 0 {
		return errors.New("schema: the table key is unknown: list it in the schema file (\"key\": [\"pk\", \"sk\"]) or pass --key PK[,SK]")
	}
	head := make([]Field, 0, len(s.Fields))
	for _, k := range s.Key {
		f := s.Field(k)
		if f == nil {
			return fmt.Errorf("schema: key attribute %q is not in the schema", k)
		}
		head = append(head, *f)
	}
	for _, f := range s.Fields {
		if !slices.Contains(s.Key, f.Name) {
			head = append(head, f)
		}
	}
	s.Fields = head
	return nil
}

// Read parses a schema file from r. See Parse.
func Read(r io.Reader, key []string) (*Schema, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("schema file: %w", err)
	}
	return Parse(data, key)
}
