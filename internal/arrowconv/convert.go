package arrowconv

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/schema"
)

// A converter writes values of one schema.Type into one Arrow builder.
// fits is checked before append so that a value that does not fit never
// leaves a half-written nested value behind.
type converter interface {
	fits(v *ddb.Value) bool
	append(v *ddb.Value) // v fits, or is NULL
	appendNull()
}

func newConverter(t *schema.Type, bld array.Builder, scratch *[]byte) (converter, error) {
	bad := func() (converter, error) {
		return nil, fmt.Errorf("column type %s does not match DynamoDB type %s", bld.Type(), t.Kind)
	}
	switch t.Kind {
	case ddb.S:
		if sb, ok := bld.(*array.StringBuilder); ok {
			return bytesConv{kind: ddb.S, b: sb.BinaryBuilder}, nil
		}
	case ddb.B:
		if bb, ok := bld.(*array.BinaryBuilder); ok {
			return bytesConv{kind: ddb.B, b: bb}, nil
		}
	case ddb.BOOL:
		if bb, ok := bld.(*array.BooleanBuilder); ok {
			return boolConv{bb}, nil
		}
	case ddb.NULL:
		return nullOnly{bld}, nil
	case ddb.N:
		return newNumber(t, bld, scratch)
	case ddb.SS, ddb.NS, ddb.BS:
		lb, ok := bld.(*array.ListBuilder)
		if !ok {
			return bad()
		}
		et := schema.Type{Kind: map[ddb.Kind]ddb.Kind{ddb.SS: ddb.S, ddb.NS: ddb.N, ddb.BS: ddb.B}[t.Kind], Num: t.Num, Scale: t.Scale}
		ec, err := newConverter(&et, lb.ValueBuilder(), scratch)
		if err != nil {
			return nil, err
		}
		return listConv{kind: t.Kind, lb: lb, elem: ec}, nil
	case ddb.L:
		if t.Elem == nil {
			return newJSON(ddb.L, bld)
		}
		lb, ok := bld.(*array.ListBuilder)
		if !ok {
			return bad()
		}
		ec, err := newConverter(t.Elem, lb.ValueBuilder(), scratch)
		if err != nil {
			return nil, err
		}
		return listConv{kind: ddb.L, lb: lb, elem: ec}, nil
	case ddb.M:
		switch t.Map {
		case schema.MapJSON:
			return newJSON(ddb.M, bld)
		case schema.MapMap:
			mb, ok := bld.(*array.MapBuilder)
			if !ok {
				return bad()
			}
			kb, ok := mb.KeyBuilder().(*array.StringBuilder)
			if !ok {
				return bad()
			}
			vc, err := newConverter(t.Values, mb.ItemBuilder(), scratch)
			if err != nil {
				return nil, err
			}
			return mapConv{mb: mb, kb: kb.BinaryBuilder, val: vc}, nil
		case schema.MapStruct:
			sb, ok := bld.(*array.StructBuilder)
			if !ok || sb.NumField() != len(t.Fields) {
				return bad()
			}
			sc := &structConv{sb: sb, byName: make(map[string]int, len(t.Fields)), names: make([]string, len(t.Fields)), seen: make([]uint32, len(t.Fields))}
			for i := range t.Fields {
				c, err := newConverter(&t.Fields[i].Type, sb.FieldBuilder(i), scratch)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", t.Fields[i].Name, err)
				}
				sc.byName[t.Fields[i].Name] = i
				sc.names[i] = t.Fields[i].Name
				sc.fields = append(sc.fields, c)
			}
			return sc, nil
		}
	}
	return bad()
}

// bytesConv stores S text and B bytes.
type bytesConv struct {
	kind ddb.Kind
	b    *array.BinaryBuilder
}

func (c bytesConv) fits(v *ddb.Value) bool { return v.Kind == c.kind }
func (c bytesConv) append(v *ddb.Value) {
	if v.Kind == ddb.NULL {
		c.b.AppendNull()
		return
	}
	c.b.Append(v.Bytes)
}
func (c bytesConv) appendNull() { c.b.AppendNull() }

type boolConv struct{ b *array.BooleanBuilder }

func (c boolConv) fits(v *ddb.Value) bool { return v.Kind == ddb.BOOL }
func (c boolConv) append(v *ddb.Value) {
	if v.Kind == ddb.NULL {
		c.b.AppendNull()
		return
	}
	c.b.Append(v.Bool)
}
func (c boolConv) appendNull() { c.b.AppendNull() }

// nullOnly is a column that only ever holds nulls: NULL-only attributes,
// and table columns this schema does not produce.
type nullOnly struct{ b array.Builder }

func (c nullOnly) fits(v *ddb.Value) bool { return v.Kind == ddb.NULL }
func (c nullOnly) append(*ddb.Value)      { c.b.AppendNull() }
func (c nullOnly) appendNull()            { c.b.AppendNull() }

// jsonConv stores an L or M value as its DynamoDB JSON text, exactly.
type jsonConv struct {
	kind ddb.Kind
	b    *array.BinaryBuilder
	buf  *[]byte
}

func newJSON(kind ddb.Kind, bld array.Builder) (converter, error) {
	sb, ok := bld.(*array.StringBuilder)
	if !ok {
		return nil, fmt.Errorf("column type %s cannot hold %s as JSON", bld.Type(), kind)
	}
	return jsonConv{kind: kind, b: sb.BinaryBuilder, buf: new([]byte)}, nil
}

func (c jsonConv) fits(v *ddb.Value) bool { return v.Kind == c.kind }
func (c jsonConv) append(v *ddb.Value) {
	if v.Kind == ddb.NULL {
		c.b.AppendNull()
		return
	}
	*c.buf = ddb.AppendValueJSON((*c.buf)[:0], *v)
	c.b.Append(*c.buf)
}
func (c jsonConv) appendNull() { c.b.AppendNull() }

type listConv struct {
	kind ddb.Kind
	lb   *array.ListBuilder
	elem converter
}

func (c listConv) fits(v *ddb.Value) bool {
	if v.Kind != c.kind {
		return false
	}
	for i := range v.List {
		if e := &v.List[i]; e.Kind != ddb.NULL && !c.elem.fits(e) {
			return false
		}
	}
	return true
}

func (c listConv) append(v *ddb.Value) {
	if v.Kind == ddb.NULL {
		c.lb.AppendNull()
		return
	}
	c.lb.Append(true)
	for i := range v.List {
		c.elem.append(&v.List[i])
	}
}
func (c listConv) appendNull() { c.lb.AppendNull() }

type mapConv struct {
	mb  *array.MapBuilder
	kb  *array.BinaryBuilder
	val converter
}

func (c mapConv) fits(v *ddb.Value) bool {
	if v.Kind != ddb.M {
		return false
	}
	for i := range v.Map {
		if e := &v.Map[i].Value; e.Kind != ddb.NULL && !c.val.fits(e) {
			return false
		}
	}
	return true
}

func (c mapConv) append(v *ddb.Value) {
	if v.Kind == ddb.NULL {
		c.mb.AppendNull()
		return
	}
	c.mb.Append(true)
	for i := range v.Map {
		c.kb.Append(v.Map[i].Name)
		c.val.append(&v.Map[i].Value)
	}
}
func (c mapConv) appendNull() { c.mb.AppendNull() }

type structConv struct {
	sb     *array.StructBuilder
	byName map[string]int
	names  []string // field names by index, for the hints
	fields []converter
	hint   []int32 // field index by position in the map last seen
	// seen[i] == stamp marks field i as present in the map being checked
	// or appended; bumping stamp clears every mark at once.
	seen  []uint32
	stamp uint32
}

// field returns the index of the struct field for the map entry at
// position i, or -1. Maps of one attribute mostly list their names in the
// same order, so the field found at this position last time is tried
// first (see columnHints).
func (c *structConv) field(i int, name []byte) int {
	if i < len(c.hint) {
		if fi := c.hint[i]; fi >= 0 && c.names[fi] == string(name) {
			return int(fi)
		}
	}
	fi, ok := c.byName[string(name)]
	if !ok {
		fi = -1
	}
	if i < len(c.hint) {
		c.hint[i] = int32(fi)
	} else if i == len(c.hint) && i < maxHints {
		c.hint = append(c.hint, int32(fi))
	}
	return fi
}

// mark starts a new set of seen fields.
func (c *structConv) mark() {
	c.stamp++
	if c.stamp == 0 {
		clear(c.seen)
		c.stamp = 1
	}
}

// fits refuses a map with a name the struct lacks, a value that does not
// fit, or a name that occurs twice: a struct has one slot per name, and
// dropping either value would lose data, so such a map is rescued whole.
func (c *structConv) fits(v *ddb.Value) bool {
	if v.Kind != ddb.M {
		return false
	}
	c.mark()
	for i := range v.Map {
		a := &v.Map[i]
		fi := c.field(i, a.Name)
		if fi < 0 || c.seen[fi] == c.stamp {
			return false
		}
		c.seen[fi] = c.stamp
		if a.Value.Kind != ddb.NULL && !c.fields[fi].fits(&a.Value) {
			return false
		}
	}
	return true
}

func (c *structConv) append(v *ddb.Value) {
	if v.Kind == ddb.NULL {
		c.appendNull()
		return
	}
	c.sb.Append(true)
	// fits has run on v, but the marks may be stale: fits of a list of
	// structs checks every element before any is appended.
	c.mark()
	for i := range v.Map {
		a := &v.Map[i]
		fi := c.field(i, a.Name)
		c.seen[fi] = c.stamp
		c.fields[fi].append(&a.Value)
	}
	for i, s := range c.seen {
		if s != c.stamp {
			c.fields[i].appendNull()
		}
	}
}

// appendNull relies on StructBuilder.AppendNull filling every child with a
// null itself; appending through the child converters too would misalign
// the children.
func (c *structConv) appendNull() { c.sb.AppendNull() }
