package schema

import (
	"fmt"
	"slices"

	"github.com/apache/iceberg-go"

	"github.com/floe-io/floe/internal/ddb"
)

// Iceberg returns the Iceberg schema for s: one column per attribute, key
// columns required and set as identifier fields, then the write timestamp
// and rescue columns. Field IDs are assigned afresh; a catalog creating
// the table may renumber them, so code that needs IDs must read them back
// from the table.
func (s *Schema) Iceberg() (*iceberg.Schema, error) {
	ids := idAllocator{next: 1}
	// Top-level IDs first (1..n), nested ones after, as Iceberg's own
	// fresh assignment does; it keeps column IDs stable and readable.
	top := make([]iceberg.NestedField, 0, len(s.Fields)+2)
	for _, f := range s.Fields {
		top = append(top, iceberg.NestedField{ID: ids.take(), Name: f.Column, Required: slices.Contains(s.Key, f.Name), Doc: doc(f)})
	}
	tsID, rescuedID := ids.take(), ids.take()
	var keyIDs []int
	for i, f := range s.Fields {
		t, err := ids.icebergType(&f.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", f.Name, err)
		}
		top[i].Type = t
		if top[i].Required {
			keyIDs = append(keyIDs, top[i].ID)
		}
	}
	top = append(top,
		iceberg.NestedField{ID: tsID, Name: WriteTSColumn, Type: iceberg.PrimitiveTypes.TimestampTz, Doc: "DynamoDB WriteTimestampMicros of the change that wrote this row (null for rows from a full export)"},
		iceberg.NestedField{ID: rescuedID, Name: RescuedColumn, Type: iceberg.PrimitiveTypes.String, Doc: "attributes that did not fit their column, as a JSON object of DynamoDB JSON values"},
	)
	// Identifier fields must be listed in key order (partition key first).
	slices.SortStableFunc(keyIDs, func(a, b int) int {
		return slices.Index(s.Key, nameOfID(s, top, a)) - slices.Index(s.Key, nameOfID(s, top, b))
	})
	return iceberg.NewSchemaWithIdentifiers(0, keyIDs, top...), nil
}

func nameOfID(s *Schema, top []iceberg.NestedField, id int) string {
	for i, f := range top {
		if f.ID == id && i < len(s.Fields) {
			return s.Fields[i].Name
		}
	}
	return ""
}

// doc keeps the original attribute name when the column was renamed, so
// nothing about the source is lost by sanitizing.
func doc(f Field) string {
	if f.Column != f.Name {
		return "DynamoDB attribute " + fmt.Sprintf("%q", f.Name)
	}
	return ""
}

type idAllocator struct{ next int }

func (a *idAllocator) take() int { a.next++; return a.next - 1 }

func (a *idAllocator) icebergType(t *Type) (iceberg.Type, error) {
	switch t.Kind {
	case ddb.S, ddb.NULL:
		return iceberg.PrimitiveTypes.String, nil
	case ddb.B:
		return iceberg.PrimitiveTypes.Binary, nil
	case ddb.BOOL:
		return iceberg.PrimitiveTypes.Bool, nil
	case ddb.N:
		return numberType(t), nil
	case ddb.SS:
		return &iceberg.ListType{ElementID: a.take(), Element: iceberg.PrimitiveTypes.String, ElementRequired: true}, nil
	case ddb.NS:
		return &iceberg.ListType{ElementID: a.take(), Element: numberType(t), ElementRequired: true}, nil
	case ddb.BS:
		return &iceberg.ListType{ElementID: a.take(), Element: iceberg.PrimitiveTypes.Binary, ElementRequired: true}, nil
	case ddb.L:
		if t.Elem == nil {
			return iceberg.PrimitiveTypes.String, nil
		}
		id := a.take()
		e, err := a.icebergType(t.Elem)
		if err != nil {
			return nil, err
		}
		return &iceberg.ListType{ElementID: id, Element: e}, nil
	case ddb.M:
		switch t.Map {
		case MapJSON:
			return iceberg.PrimitiveTypes.String, nil
		case MapMap:
			kid, vid := a.take(), a.take()
			v, err := a.icebergType(t.Values)
			if err != nil {
				return nil, err
			}
			return &iceberg.MapType{KeyID: kid, KeyType: iceberg.PrimitiveTypes.String, ValueID: vid, ValueType: v}, nil
		case MapStruct:
			fields := make([]iceberg.NestedField, len(t.Fields))
			for i, f := range t.Fields {
				fields[i] = iceberg.NestedField{ID: a.take(), Name: f.Column, Doc: doc(f)}
			}
			for i := range t.Fields {
				ft, err := a.icebergType(&t.Fields[i].Type)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", t.Fields[i].Name, err)
				}
				fields[i].Type = ft
			}
			return &iceberg.StructType{FieldList: fields}, nil
		}
	}
	return nil, fmt.Errorf("no Iceberg type for %s", t.Kind)
}

func numberType(t *Type) iceberg.Type {
	switch t.Num {
	case NumLong:
		return iceberg.PrimitiveTypes.Int64
	case NumDecimal:
		return iceberg.DecimalTypeOf(MaxDecimalPrecision, t.Scale)
	default:
		return iceberg.PrimitiveTypes.String
	}
}
