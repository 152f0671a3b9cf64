// Package testutil reads floe tables back as DynamoDB items, so tests can
// compare a table with the state a generated export history must produce,
// row by row and attribute by attribute.
package testutil

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/schema"
)

// ReadItems scans the whole table with iceberg-go and returns its rows as
// DynamoDB items (rescued attributes merged back in), sorted by key.
func ReadItems(ctx context.Context, tbl *table.Table) ([]ddb.Item, error) {
	raw, ok := tbl.Properties()[committer.PropSchema]
	if !ok {
		return nil, fmt.Errorf("table has no %s property", committer.PropSchema)
	}
	s, err := schema.Parse([]byte(raw), nil)
	if err != nil {
		return nil, err
	}
	scan := tbl.Scan()
	_, recs, err := scan.ToArrowRecords(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	var items []ddb.Item
	for rec, err := range recs {
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		its, err := RecordItems(rec, s)
		rec.Release()
		if err != nil {
			return nil, err
		}
		items = append(items, its...)
	}
	SortItems(items, s.Key)
	return items, nil
}

// RecordItems converts the rows of one record batch back to items.
func RecordItems(rec arrow.RecordBatch, s *schema.Schema) ([]ddb.Item, error) {
	out := make([]ddb.Item, rec.NumRows())
	for fi, f := range s.Fields {
		idx := rec.Schema().FieldIndices(f.Column)
		if len(idx) != 1 {
			return nil, fmt.Errorf("no column %q for attribute %q", f.Column, f.Name)
		}
		col := rec.Column(idx[0])
		for r := range out {
			if col.IsNull(r) {
				continue
			}
			v, err := value(col, r, &s.Fields[fi].Type)
			if err != nil {
				return nil, fmt.Errorf("attribute %q row %d: %w", f.Name, r, err)
			}
			out[r] = append(out[r], ddb.Attr{Name: []byte(f.Name), Value: v})
		}
	}
	if idx := rec.Schema().FieldIndices(schema.RescuedColumn); len(idx) == 1 {
		col := rec.Column(idx[0]).(*array.String)
		dec := ddb.NewJSONDecoder()
		for r := range out {
			if col.IsNull(r) {
				continue
			}
			got, err := dec.Decode([]byte(`{"Item":` + col.Value(r) + `}`))
			if err != nil {
				return nil, fmt.Errorf("row %d: %s: %w", r, schema.RescuedColumn, err)
			}
			out[r] = append(out[r], got.Item.Clone()...)
		}
	}
	return out, nil
}

func value(col arrow.Array, r int, t *schema.Type) (ddb.Value, error) {
	switch t.Kind {
	case ddb.S:
		return ddb.Value{Kind: ddb.S, Bytes: []byte(col.(*array.String).Value(r))}, nil
	case ddb.B:
		return ddb.Value{Kind: ddb.B, Bytes: bytes.Clone(col.(*array.Binary).Value(r))}, nil
	case ddb.BOOL:
		return ddb.Value{Kind: ddb.BOOL, Bool: col.(*array.Boolean).Value(r)}, nil
	case ddb.NULL:
		return ddb.Value{Kind: ddb.NULL}, nil
	case ddb.N:
		return number(col, r, t)
	case ddb.SS, ddb.NS, ddb.BS:
		et := schema.Type{Kind: map[ddb.Kind]ddb.Kind{ddb.SS: ddb.S, ddb.NS: ddb.N, ddb.BS: ddb.B}[t.Kind], Num: t.Num, Scale: t.Scale}
		return list(col.(*array.List), r, t.Kind, &et)
	case ddb.L:
		if t.Elem == nil {
			return fromJSON(col.(*array.String).Value(r))
		}
		return list(col.(*array.List), r, ddb.L, t.Elem)
	case ddb.M:
		switch t.Map {
		case schema.MapJSON:
			return fromJSON(col.(*array.String).Value(r))
		case schema.MapMap:
			m := col.(*array.Map)
			keys, items := m.Keys().(*array.String), m.Items()
			start, end := m.ValueOffsets(r)
			v := ddb.Value{Kind: ddb.M, Map: []ddb.Attr{}}
			for i := int(start); i < int(end); i++ {
				e, err := elem(items, i, t.Values)
				if err != nil {
					return v, err
				}
				v.Map = append(v.Map, ddb.Attr{Name: []byte(keys.Value(i)), Value: e})
			}
			return v, nil
		case schema.MapStruct:
			st := col.(*array.Struct)
			v := ddb.Value{Kind: ddb.M, Map: []ddb.Attr{}}
			for i, f := range t.Fields {
				child := st.Field(i)
				if child.IsNull(r) {
					continue
				}
				e, err := value(child, r, &t.Fields[i].Type)
				if err != nil {
					return v, fmt.Errorf("%s: %w", f.Name, err)
				}
				v.Map = append(v.Map, ddb.Attr{Name: []byte(f.Name), Value: e})
			}
			return v, nil
		}
	}
	return ddb.Value{}, fmt.Errorf("unsupported type %s", t.Kind)
}

func elem(col arrow.Array, i int, t *schema.Type) (ddb.Value, error) {
	if col.IsNull(i) {
		return ddb.Value{Kind: ddb.NULL}, nil
	}
	return value(col, i, t)
}

func list(l *array.List, r int, kind ddb.Kind, et *schema.Type) (ddb.Value, error) {
	start, end := l.ValueOffsets(r)
	v := ddb.Value{Kind: kind, List: []ddb.Value{}}
	for i := int(start); i < int(end); i++ {
		e, err := elem(l.ListValues(), i, et)
		if err != nil {
			return v, err
		}
		v.List = append(v.List, e)
	}
	return v, nil
}

func number(col arrow.Array, r int, t *schema.Type) (ddb.Value, error) {
	var text string
	switch c := col.(type) {
	case *array.Int64:
		text = fmt.Sprint(c.Value(r))
	case *array.Decimal128:
		text = schema.DecimalText(decimal128.Num(c.Value(r)), t.Scale)
	case *array.String:
		text = c.Value(r)
	default:
		return ddb.Value{}, fmt.Errorf("number column of type %s", col.DataType())
	}
	return ddb.Value{Kind: ddb.N, Bytes: []byte(text)}, nil
}

func fromJSON(s string) (ddb.Value, error) {
	rec, err := ddb.NewJSONDecoder().Decode([]byte(`{"Item":{"v":` + s + `}}`))
	if err != nil {
		return ddb.Value{}, err
	}
	return rec.Item[0].Value.Clone(), nil
}

// SortItems orders items by their key attributes' text, then bytes.
func SortItems(items []ddb.Item, key []string) {
	slices.SortFunc(items, func(a, b ddb.Item) int {
		for _, k := range key {
			va, vb := a.Get(k), b.Get(k)
			if va == nil || vb == nil {
				continue
			}
			if c := cmp.Compare(NumberKey(va), NumberKey(vb)); c != 0 {
				return c
			}
		}
		return 0
	})
}

// NumberKey renders a key value for ordering: text as is, numbers
// normalized.
func NumberKey(v *ddb.Value) string {
	if v.Kind == ddb.N {
		return Canonical(*v)
	}
	return string(v.Bytes)
}

// Canonical renders a value in a normal form for comparison: numbers by
// value (1.50 = 1.5), map entries sorted by name, and NULL map entries and
// top-level attributes dropped (a column cannot tell NULL from absent; see
// docs/type-mapping.md). Lists and sets keep their order.
func Canonical(v ddb.Value) string {
	var b strings.Builder
	canon(&b, v)
	return b.String()
}

func canon(b *strings.Builder, v ddb.Value) {
	switch v.Kind {
	case ddb.N:
		n, ok := schema.ParseNumber(v.Bytes, nil)
		if !ok {
			fmt.Fprintf(b, "N!%q", v.Bytes)
			return
		}
		sign := ""
		if n.Neg {
			sign = "-"
		}
		fmt.Fprintf(b, "N(%s%se%d)", sign, n.Digits, n.Exp)
	case ddb.S:
		fmt.Fprintf(b, "S%q", v.Bytes)
	case ddb.B:
		fmt.Fprintf(b, "B%x", v.Bytes)
	case ddb.BOOL:
		fmt.Fprintf(b, "BOOL(%t)", v.Bool)
	case ddb.NULL:
		b.WriteString("NULL")
	case ddb.SS, ddb.NS, ddb.BS, ddb.L:
		b.WriteString(v.Kind.String() + "[")
		for i, e := range v.List {
			if i > 0 {
				b.WriteByte(',')
			}
			canon(b, e)
		}
		b.WriteByte(']')
	case ddb.M:
		canonAttrs(b, v.Map)
	}
}

func canonAttrs(b *strings.Builder, attrs []ddb.Attr) {
	sorted := slices.Clone(attrs)
	slices.SortFunc(sorted, func(x, y ddb.Attr) int { return bytes.Compare(x.Name, y.Name) })
	b.WriteString("M{")
	first := true
	for _, a := range sorted {
		if a.Value.Kind == ddb.NULL {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(b, "%q:", a.Name)
		canon(b, a.Value)
	}
	b.WriteByte('}')
}

// CanonicalItem renders an item in the form of Canonical.
func CanonicalItem(it ddb.Item) string {
	var b strings.Builder
	canonAttrs(&b, it)
	return b.String()
}

// jsonString is used by failure messages to show an item readably.
func jsonString(it ddb.Item) string {
	data, _ := json.Marshal(string(ddb.AppendItemJSON(nil, it)))
	return string(data)
}
