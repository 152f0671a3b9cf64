// Package arrowconv turns DynamoDB items into Arrow record batches shaped
// like an Iceberg table, following a schema.Schema.
//
// A value that does not fit its column (type drift, a number out of range,
// a map with an unexpected field) is never dropped: the whole attribute
// goes, as DynamoDB JSON, into the row's rescue column and the column is
// null for that row.
package arrowconv

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/schema"
)

// Builder accumulates items into one Arrow record batch at a time. It is
// not safe for concurrent use; use one per goroutine.
type Builder struct {
	arrowSchema *arrow.Schema
	rb          *array.RecordBuilder
	cols        []column
	byName      map[string]int
	keyIdx      []int
	ts          *array.TimestampBuilder
	rescued     *array.StringBuilder
	row         int
	stray       []ddb.Attr
	buf         []byte
	scratch     []byte
	// idx holds, per attribute of the item being appended, its column
	// index or -1 for none; hint remembers it per attribute position (see
	// columnHints).
	idx  []int32
	hint columnHints
	// sizes lists every builder of the batch with the size it reached in
	// the previous batch; reserve says the new batch has not reserved
	// that much yet.
	sizes   []builderSize
	reserve bool

	// RescuedValues counts attributes written to the rescue column.
	RescuedValues int64
	// UnknownAttrs counts attributes with no column (rescued too).
	UnknownAttrs int64
}

type column struct {
	name    string
	conv    converter
	lastRow int
}

// New returns a Builder for tables with the Iceberg schema ice, whose
// columns were derived from s (see schema.Schema.Iceberg). Column types and
// field IDs are taken from ice, so batches carry the table's field IDs.
func New(mem memory.Allocator, s *schema.Schema, ice *iceberg.Schema) (*Builder, error) {
	as, err := table.SchemaToArrowSchema(ice, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	b := &Builder{
		arrowSchema: as,
		rb:          array.NewRecordBuilder(mem, as),
		byName:      make(map[string]int, len(s.Fields)),
		// Room for the digits of any number DynamoDB stores (38
		// significant ones, plus zeros written out), so that parsing
		// numbers does not allocate.
		scratch: make([]byte, 0, 128),
	}
	for _, f := range s.Fields {
		idx := as.FieldIndices(f.Column)
		if len(idx) != 1 {
			return nil, fmt.Errorf("attribute %q: the table has no column %q", f.Name, f.Column)
		}
		c, err := newConverter(&f.Type, b.rb.Field(idx[0]), &b.scratch)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", f.Name, err)
		}
		b.byName[f.Name] = len(b.cols)
		b.cols = append(b.cols, column{name: f.Name, conv: c, lastRow: -1})
	}
	for _, k := range s.Key {
		i, ok := b.byName[k]
		if !ok {
			return nil, fmt.Errorf("key attribute %q has no column", k)
		}
		b.keyIdx = append(b.keyIdx, i)
	}
	// Columns of the table that this schema does not produce (dropped
	// attributes of an evolved table) are filled with nulls.
	for i, f := range as.Fields() {
		switch f.Name {
		case schema.WriteTSColumn:
			b.ts = b.rb.Field(i).(*array.TimestampBuilder)
			continue
		case schema.RescuedColumn:
			b.rescued = b.rb.Field(i).(*array.StringBuilder)
			continue
		}
		if !b.producesColumn(f.Name, s) {
			b.cols = append(b.cols, column{name: f.Name, conv: nullOnly{b.rb.Field(i)}, lastRow: -1})
		}
	}
	if b.ts == nil || b.rescued == nil {
		return nil, fmt.Errorf("table schema lacks the %s or %s column", schema.WriteTSColumn, schema.RescuedColumn)
	}
	for _, f := range b.rb.Fields() {
		b.sizes = collectBuilders(b.sizes, f)
	}
	return b, nil
}

// builderSize is one Arrow builder and the length (and, for binary and
// string builders, the data bytes) it had at the end of the last batch.
type builderSize struct {
	b    array.Builder
	data *array.BinaryBuilder
	n    int
	size int
}

func collectBuilders(dst []builderSize, b array.Builder) []builderSize {
	s := builderSize{b: b}
	switch b := b.(type) {
	case *array.BinaryBuilder:
		s.data = b
	case *array.StringBuilder:
		s.data = b.BinaryBuilder
	}
	dst = append(dst, s)
	switch b := b.(type) {
	case *array.StructBuilder:
		for i := 0; i < b.NumField(); i++ {
			dst = collectBuilders(dst, b.FieldBuilder(i))
		}
	case *array.MapBuilder:
		dst = collectBuilders(dst, b.KeyBuilder())
		dst = collectBuilders(dst, b.ItemBuilder())
	case *array.ListBuilder:
		dst = collectBuilders(dst, b.ValueBuilder())
	}
	return dst
}

// reserveLast gives every builder the capacity it needed in the previous
// batch. Batches of a file are cut at about the same size, so this
// replaces the dozen grow-and-copy steps each buffer goes through when it
// starts empty; it runs on the batch's first Append, so a builder that is
// done does not reserve memory it will never use.
func (b *Builder) reserveLast() {
	b.reserve = false
	for i := range b.sizes {
		s := &b.sizes[i]
		if s.n > 0 {
			s.b.Reserve(s.n)
		}
		if s.size > 0 {
			s.data.ReserveData(s.size)
		}
	}
}

func (b *Builder) producesColumn(col string, s *schema.Schema) bool {
	for _, f := range s.Fields {
		if f.Column == col {
			return true
		}
	}
	return false
}

// Schema returns the Arrow schema of the batches, with Iceberg field IDs.
func (b *Builder) Schema() *arrow.Schema { return b.arrowSchema }

// Len returns the number of rows appended since the last NewRecordBatch.
func (b *Builder) Len() int { return b.row }

// ErrKey reports an item whose key attributes are missing or malformed.
var ErrKey = errors.New("key attribute")

// Append adds one item. writeTS is the change's WriteTimestampMicros, or 0
// for none. An item whose key is missing or does not fit is refused with an
// error wrapping ErrKey and leaves the batch unchanged.
func (b *Builder) Append(it ddb.Item, writeTS int64) error {
	row := b.row
	if b.reserve {
		b.reserveLast()
	}
	for _, ki := range b.keyIdx {
		c := &b.cols[ki]
		v := it.Get(c.name)
		switch {
		case v == nil:
			return fmt.Errorf("%w %q is missing", ErrKey, c.name)
		case v.Kind == ddb.NULL || !c.conv.fits(v):
			return fmt.Errorf("%w %q has a %s value that does not fit the key column", ErrKey, c.name, v.Kind)
		}
	}
	// Resolve every attribute to its column before any builder takes a
	// value, so that an item naming an attribute twice (decoders refuse
	// that; a plugin could produce it) is refused with the batch as it
	// was: appending twice would shift every later row of the column, and
	// the rescue column could not hold both as one JSON object.
	idx := b.idx[:0]
	for i := range it {
		ci := b.hint.lookup(i, it[i].Name, b.byName, b.cols)
		if ci >= 0 && b.cols[ci].lastRow == row || ci < 0 && unknownBefore(it, idx, i) {
			for _, cj := range idx {
				if cj >= 0 {
					b.cols[cj].lastRow = -1
				}
			}
			b.idx = idx
			return fmt.Errorf("attribute %q appears twice in the item", it[i].Name)
		}
		if ci >= 0 {
			b.cols[ci].lastRow = row
		}
		idx = append(idx, ci)
	}
	b.idx = idx
	for i, ci := range idx {
		a := &it[i]
		if ci < 0 {
			b.UnknownAttrs++
			b.stray = append(b.stray, *a)
			continue
		}
		c := &b.cols[ci]
		if a.Value.Kind == ddb.NULL {
			c.conv.appendNull()
			continue
		}
		if !c.conv.fits(&a.Value) {
			b.RescuedValues++
			b.stray = append(b.stray, *a)
			c.conv.appendNull()
			continue
		}
		c.conv.append(&a.Value)
	}
	for i := range b.cols {
		if c := &b.cols[i]; c.lastRow != row {
			c.lastRow = row
			c.conv.appendNull()
		}
	}
	if writeTS != 0 {
		b.ts.Append(arrow.Timestamp(writeTS))
	} else {
		b.ts.AppendNull()
	}
	if len(b.stray) > 0 {
		b.buf = ddb.AppendItemJSON(b.buf[:0], ddb.Item(b.stray))
		b.rescued.BinaryBuilder.Append(b.buf)
		clear(b.stray)
		b.stray = b.stray[:0]
	} else {
		b.rescued.AppendNull()
	}
	b.row++
	return nil
}

// unknownBefore reports whether attribute i, which has no column, has a
// namesake among the earlier attributes without a column (idx[j] < 0).
// Such attributes are rare, so the quadratic scan costs nothing in
// practice.
func unknownBefore(it ddb.Item, idx []int32, i int) bool {
	for j, cj := range idx {
		if cj < 0 && bytes.Equal(it[j].Name, it[i].Name) {
			return true
		}
	}
	return false
}

// columnHints speeds up name → column lookups. Items of a table mostly
// list their attributes in the same order, so the column the attribute at
// position i had in the previous item is checked first, with a plain
// comparison of the name; the map (which hashes the name) is the
// fallback.
type columnHints []int32

func (h *columnHints) lookup(i int, name []byte, byName map[string]int, cols []column) int32 {
	if i < len(*h) {
		if ci := (*h)[i]; ci >= 0 && cols[ci].name == string(name) {
			return ci
		}
	}
	ci, ok := byName[string(name)]
	if !ok {
		ci = -1
	}
	if i < len(*h) {
		(*h)[i] = int32(ci)
	} else if i == len(*h) && i < maxHints {
		*h = append(*h, int32(ci))
	}
	return int32(ci)
}

// maxHints bounds the hint slice: items with thousands of attributes still
// work, through the map, without the hints growing with them.
const maxHints = 1024

// NewRecordBatch returns the rows appended so far as a record batch and
// starts a new one. The caller must Release it.
func (b *Builder) NewRecordBatch() arrow.RecordBatch {
	for i := range b.cols {
		b.cols[i].lastRow = -1
	}
	b.row = 0
	for i := range b.sizes {
		s := &b.sizes[i]
		s.n = s.b.Len()
		if s.data != nil {
			s.size = s.data.DataLen()
		}
	}
	b.reserve = true
	return b.rb.NewRecordBatch()
}

// Release frees the builder's memory.
func (b *Builder) Release() { b.rb.Release() }
