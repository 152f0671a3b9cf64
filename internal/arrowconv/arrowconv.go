// Package arrowconv turns DynamoDB items into Arrow record batches shaped
// like an Iceberg table, following a schema.Schema.
//
// A value that does not fit its column (type drift, a number out of range,
// a map with an unexpected field) is never dropped: the whole attribute
// goes, as DynamoDB JSON, into the row's rescue column and the column is
// null for that row.
package arrowconv

import (
	"errors"
	"fmt"
	"time"

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
	b := &Builder{arrowSchema: as, rb: array.NewRecordBuilder(mem, as), byName: make(map[string]int, len(s.Fields))}
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
	return b, nil
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
	for i := range it {
		a := &it[i]
		idx, ok := b.byName[string(a.Name)]
		if !ok {
			b.UnknownAttrs++
			b.stray = append(b.stray, *a)
			continue
		}
		c := &b.cols[idx]
		if c.lastRow == row {
			// Appending twice would shift every later row of the column.
			b.discardRow(row)
			return fmt.Errorf("attribute %q appears twice in the item", a.Name)
		}
		c.lastRow = row
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

// discardRow is only reached on malformed input (a duplicated attribute),
// after some columns took a value for the row. Rebuilding the whole batch
// without the row would be costly, so the row is completed with nulls and
// the error stops the file: the batch is never published.
func (b *Builder) discardRow(row int) {
	for i := range b.cols {
		if c := &b.cols[i]; c.lastRow != row {
			c.lastRow = row
			c.conv.appendNull()
		}
	}
	b.ts.AppendNull()
	b.rescued.AppendNull()
	b.row++
}

// NewRecordBatch returns the rows appended so far as a record batch and
// starts a new one. The caller must Release it.
func (b *Builder) NewRecordBatch() arrow.RecordBatch {
	for i := range b.cols {
		b.cols[i].lastRow = -1
	}
	b.row = 0
	return b.rb.NewRecordBatch()
}

// Release frees the builder's memory.
func (b *Builder) Release() { b.rb.Release() }

// Micros converts a time to the microsecond timestamps of the write
// timestamp column.
func Micros(t time.Time) int64 { return t.UnixMicro() }
