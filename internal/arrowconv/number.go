package arrowconv

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/schema"
)

func newNumber(t *schema.Type, bld array.Builder, scratch *[]byte) (converter, error) {
	switch t.Num {
	case schema.NumLong:
		if b, ok := bld.(*array.Int64Builder); ok {
			return longConv{b: b, scratch: scratch}, nil
		}
	case schema.NumDecimal:
		if b, ok := bld.(*array.Decimal128Builder); ok {
			return decimalConv{b: b, scale: t.Scale, scratch: scratch}, nil
		}
	case schema.NumText:
		if b, ok := bld.(*array.StringBuilder); ok {
			return numTextConv{b: b.BinaryBuilder, scratch: scratch}, nil
		}
	}
	return nil, fmt.Errorf("column type %s cannot hold numbers as %s", bld.Type(), t.Num)
}

type longConv struct {
	b       *array.Int64Builder
	scratch *[]byte
}

func (c longConv) parse(v *ddb.Value) (int64, bool) {
	if v.Kind != ddb.N {
		return 0, false
	}
	return schema.ParseInt64(v.Bytes, *c.scratch)
}

func (c longConv) fits(v *ddb.Value) bool { _, ok := c.parse(v); return ok }
func (c longConv) append(v *ddb.Value) {
	if i, ok := c.parse(v); ok {
		c.b.Append(i)
		return
	}
	c.b.AppendNull()
}
func (c longConv) appendNull() { c.b.AppendNull() }

type decimalConv struct {
	b       *array.Decimal128Builder
	scale   int
	scratch *[]byte
}

// parse is called twice per value, by fits and by append; ParseDecimal's
// fast path makes that cheaper than carrying the result between them
// (fits of a list checks every element before append sees any).
func (c decimalConv) parse(v *ddb.Value) (decimal128.Num, bool) {
	if v.Kind != ddb.N {
		return decimal128.Num{}, false
	}
	return schema.ParseDecimal(v.Bytes, c.scale, *c.scratch)
}

func (c decimalConv) fits(v *ddb.Value) bool { _, ok := c.parse(v); return ok }
func (c decimalConv) append(v *ddb.Value) {
	if d, ok := c.parse(v); ok {
		c.b.Append(d)
		return
	}
	c.b.AppendNull()
}
func (c decimalConv) appendNull() { c.b.AppendNull() }

// numTextConv keeps numbers that fit no numeric column (more than 38
// digits across the needed scale) as their exact DynamoDB text.
type numTextConv struct {
	b       *array.BinaryBuilder
	scratch *[]byte
}

func (c numTextConv) fits(v *ddb.Value) bool {
	if v.Kind != ddb.N {
		return false
	}
	n, ok := schema.ParseNumber(v.Bytes, *c.scratch)
	if cap(n.Digits) > cap(*c.scratch) {
		// Keep a buffer that had to grow; a failed parse returns none,
		// and the shared scratch must not be lost to it.
		*c.scratch = n.Digits[:0]
	}
	return ok
}

func (c numTextConv) append(v *ddb.Value) {
	if v.Kind != ddb.N {
		c.b.AppendNull()
		return
	}
	c.b.Append(v.Bytes)
}
func (c numTextConv) appendNull() { c.b.AppendNull() }
