package plugins

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/floe-io/floe/internal/ddb"
)

// Type tags of the binary value encoding. They equal the ddb.Kind values,
// which the encoder relies on.
const (
	tagS    = byte(ddb.S)
	tagN    = byte(ddb.N)
	tagB    = byte(ddb.B)
	tagBOOL = byte(ddb.BOOL)
	tagNULL = byte(ddb.NULL)
	tagSS   = byte(ddb.SS)
	tagNS   = byte(ddb.NS)
	tagBS   = byte(ddb.BS)
	tagL    = byte(ddb.L)
	tagM    = byte(ddb.M)
)

// Status is what a plugin did with one input item.
type Status uint8

// The result statuses of ABI version 1.
const (
	// StatusPass keeps the input item unchanged.
	StatusPass Status = 0
	// StatusModified replaces the input item with Result.Items[0].
	StatusModified Status = 1
	// StatusDrop removes the item.
	StatusDrop Status = 2
	// StatusError fails the item with Result.Message.
	StatusError Status = 3
	// StatusFanOut replaces the item with Result.Items (zero or more).
	StatusFanOut Status = 4
)

var statusNames = [...]string{"pass", "modified", "drop", "error", "fan-out"}

// String returns the status's name ("pass", "modified", ...).
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", s)
}

// Result is a plugin's verdict on one input item. Items holds the one
// replacement item of StatusModified and the items of StatusFanOut; Message
// holds the message of StatusError.
type Result struct {
	Status  Status
	Items   []ddb.Item
	Message string
}

// maxVarintLen is the longest varint the ABI allows: 5 bytes carry 32 bits.
const maxVarintLen = 5

// appendUvarint appends v as unsigned LEB128.
func appendUvarint(dst []byte, v uint32) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func appendBytes(dst, b []byte) []byte {
	dst = appendUvarint(dst, uint32(len(b)))
	return append(dst, b...)
}

// AppendBatch appends the batch encoding of items (ABI.md, "Batch") to dst
// and returns the extended buffer.
func AppendBatch(dst []byte, items []ddb.Item) []byte {
	dst = appendUvarint(dst, uint32(len(items)))
	for _, it := range items {
		dst = AppendItem(dst, it)
	}
	return dst
}

// AppendItem appends the encoding of one item: its attribute count, then
// each attribute's name and value.
func AppendItem(dst []byte, it ddb.Item) []byte {
	return appendAttrs(dst, it)
}

func appendAttrs(dst []byte, attrs []ddb.Attr) []byte {
	dst = appendUvarint(dst, uint32(len(attrs)))
	for i := range attrs {
		dst = appendBytes(dst, attrs[i].Name)
		dst = appendValue(dst, &attrs[i].Value)
	}
	return dst
}

// AppendValue appends the encoding of one value: its type tag and payload.
// A Value of an invalid Kind has no encoding and is written as NULL, as
// package ddb's JSON encoder does; decoded values never have one.
func AppendValue(dst []byte, v ddb.Value) []byte {
	return appendValue(dst, &v)
}

// appendValue is AppendValue without copying the Value on every call: a
// hot path, once per value of every item a plugin sees.
func appendValue(dst []byte, v *ddb.Value) []byte {
	switch v.Kind {
	case ddb.S, ddb.N, ddb.B:
		dst = append(dst, byte(v.Kind))
		return appendBytes(dst, v.Bytes)
	case ddb.BOOL:
		if v.Bool {
			return append(dst, tagBOOL, 1)
		}
		return append(dst, tagBOOL, 0)
	case ddb.SS, ddb.NS, ddb.BS:
		dst = append(dst, byte(v.Kind))
		dst = appendUvarint(dst, uint32(len(v.List)))
		for i := range v.List {
			dst = appendBytes(dst, v.List[i].Bytes)
		}
		return dst
	case ddb.L:
		dst = append(dst, tagL)
		dst = appendUvarint(dst, uint32(len(v.List)))
		for i := range v.List {
			dst = appendValue(dst, &v.List[i])
		}
		return dst
	case ddb.M:
		dst = append(dst, tagM)
		return appendAttrs(dst, v.Map)
	default:
		return append(dst, tagNULL)
	}
}

// AppendResults appends the result encoding of rs (ABI.md, "Result"): what
// a guest returns from transform_batch. Items of other statuses than
// StatusModified and StatusFanOut are ignored, and StatusModified writes
// only Items[0].
func AppendResults(dst []byte, rs []Result) []byte {
	dst = appendUvarint(dst, uint32(len(rs)))
	for _, r := range rs {
		dst = append(dst, byte(r.Status))
		switch r.Status {
		case StatusModified:
			var it ddb.Item
			if len(r.Items) > 0 {
				it = r.Items[0]
			}
			dst = AppendItem(dst, it)
		case StatusError:
			dst = appendBytes(dst, []byte(r.Message))
		case StatusFanOut:
			dst = appendUvarint(dst, uint32(len(r.Items)))
			for _, it := range r.Items {
				dst = AppendItem(dst, it)
			}
		}
	}
	return dst
}

// DecodeError is a malformed batch or result. Offset is the byte offset in
// the input where decoding stopped; Entry is the index of the batch item or
// result entry being decoded, or -1 outside of any.
type DecodeError struct {
	Offset int
	Entry  int
	Msg    string
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Entry < 0 {
		return fmt.Sprintf("byte %d: %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("entry %d, byte %d: %s", e.Entry, e.Offset, e.Msg)
}

// decoder reads the binary formats. Decoded byte slices alias b.
type decoder struct {
	b     []byte
	p     int
	entry int
	idx   map[string]struct{} // scratch for duplicate names in large maps
	// trusted skips the checks of text, numbers and names, for bytes
	// floe encoded itself from checked items.
	trusted bool
	// Slabs the decoded attributes, values and result items are cut
	// from: one allocation per few hundred, not one per list.
	attrSlab []ddb.Attr
	valSlab  []ddb.Value
	itemSlab []ddb.Item
	// pool, when set, supplies recycled slabs instead of new ones.
	pool *slabPool
}

// slabPool recycles the memory of decoded results from one chain Run to
// the next: a mask-like plugin returns every item rewritten, and decoding
// them into fresh memory made garbage of several KiB per item, which the
// collector then paid for. Memory handed out stays valid until reset.
type slabPool struct {
	attrs slabs[ddb.Attr]
	vals  slabs[ddb.Value]
	items slabs[ddb.Item]
	bufs  [][]byte
	next  int // the next of bufs to hand out
}

// reset makes everything handed out reusable.
func (p *slabPool) reset() {
	p.attrs.next, p.vals.next, p.items.next, p.next = 0, 0, 0, 0
}

// copyBytes returns a copy of b in a recycled buffer.
func (p *slabPool) copyBytes(b []byte) []byte {
	if p.next == len(p.bufs) {
		p.bufs = append(p.bufs, nil)
	}
	buf := append(p.bufs[p.next][:0], b...)
	p.bufs[p.next] = buf
	p.next++
	return buf
}

// slabs recycles slabs of slabSize elements. A recycled slab holds stale
// elements: the decoder assigns every element it hands out in full.
type slabs[T any] struct {
	list [][]T
	next int
}

func (s *slabs[T]) get() []T {
	if s.next == len(s.list) {
		s.list = append(s.list, make([]T, slabSize))
	}
	s.next++
	return s.list[s.next-1]
}

// slabSize is the number of elements of a decoder's slab.
const slabSize = 256

// cut returns n elements cut from *slab, refilling it from pool (or with
// a new slab when pool is nil) when it runs short. Lists longer than a
// quarter slab get memory of their own.
func cut[T any](slab *[]T, n int, pool *slabs[T]) []T {
	if n > slabSize/4 {
		return make([]T, n)
	}
	if len(*slab) < n {
		if pool != nil {
			*slab = pool.get()
		} else {
			*slab = make([]T, slabSize)
		}
	}
	out := (*slab)[:n:n]
	*slab = (*slab)[n:]
	return out
}

// newAttrs returns n attributes.
func (d *decoder) newAttrs(n int) []ddb.Attr {
	if d.pool != nil {
		return cut(&d.attrSlab, n, &d.pool.attrs)
	}
	return cut(&d.attrSlab, n, nil)
}

// newValues returns n values.
func (d *decoder) newValues(n int) []ddb.Value {
	if d.pool != nil {
		return cut(&d.valSlab, n, &d.pool.vals)
	}
	return cut(&d.valSlab, n, nil)
}

// newItems returns n items (of a result entry).
func (d *decoder) newItems(n int) []ddb.Item {
	if d.pool != nil {
		return cut(&d.itemSlab, n, &d.pool.items)
	}
	return cut(&d.itemSlab, n, nil)
}

func (d *decoder) errorf(format string, args ...any) *DecodeError {
	return &DecodeError{Offset: d.p, Entry: d.entry, Msg: fmt.Sprintf(format, args...)}
}

// uvarint reads a minimal unsigned LEB128 of at most 32 bits. what names
// it in errors.
func (d *decoder) uvarint(what string) (uint32, error) {
	return d.uvarintOf(what, "")
}

// uvarintOf is uvarint named what+suffix in errors, concatenated only
// then.
func (d *decoder) uvarintOf(what, suffix string) (uint32, error) {
	var v uint32
	for i := 0; i < maxVarintLen; i++ {
		if d.p >= len(d.b) {
			return 0, d.errorf("truncated %s%s", what, suffix)
		}
		c := d.b[d.p]
		if i == maxVarintLen-1 && c > 0x0f {
			return 0, d.errorf("%s%s varint overflows 32 bits", what, suffix)
		}
		d.p++
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, d.errorf("%s%s varint is not minimal (trailing zero byte)", what, suffix)
			}
			return v, nil
		}
	}
	// Unreachable: the fifth byte is at most 0x0f and ends the varint.
	return 0, d.errorf("%s%s varint is too long", what, suffix)
}

// count reads a count of elements each taking at least minSize bytes, and
// refuses counts the remaining input cannot hold, so that a hostile count
// never makes the decoder allocate.
func (d *decoder) count(what string, minSize int) (int, error) {
	n, err := d.uvarint(what)
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minSize) > uint64(len(d.b)-d.p) {
		return 0, d.errorf("%s %d exceeds the %d bytes left", what, n, len(d.b)-d.p)
	}
	return int(n), nil
}

// bytes reads a length-prefixed byte string.
func (d *decoder) bytes(what string) ([]byte, error) {
	n, err := d.uvarintOf(what, " length")
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(len(d.b)-d.p) {
		return nil, d.errorf("%s length %d exceeds the %d bytes left", what, n, len(d.b)-d.p)
	}
	b := d.b[d.p : d.p+int(n) : d.p+int(n)]
	d.p += int(n)
	return b, nil
}

// item reads one item: a non-empty attribute list.
func (d *decoder) item() (ddb.Item, error) {
	start := d.p
	attrs, err := d.attrs(1, "item attribute count")
	if err != nil {
		return nil, err
	}
	if len(attrs) == 0 {
		d.p = start
		return nil, d.errorf("item has no attributes")
	}
	return attrs, nil
}

// attrs reads an attribute count and that many attributes whose values sit
// at nesting level depth (1 for an item's own attributes).
func (d *decoder) attrs(depth int, what string) ([]ddb.Attr, error) {
	// An attribute takes at least 3 bytes: name length, name, tag.
	n, err := d.count(what, 3)
	if err != nil {
		return nil, err
	}
	attrs := d.newAttrs(n)
	for i := range attrs {
		name, err := d.bytes("attribute name")
		if err != nil {
			return nil, err
		}
		if len(name) == 0 {
			return nil, d.errorf("attribute name is empty")
		}
		if !d.trusted && !utf8.Valid(name) {
			return nil, d.errorf("attribute name %q is not valid UTF-8", name)
		}
		attrs[i].Name = name
		if err := d.value(&attrs[i].Value, depth); err != nil {
			return nil, err
		}
	}
	if d.trusted {
		return attrs, nil
	}
	if i := d.duplicate(attrs); i >= 0 {
		return nil, d.errorf("attribute name %q occurs more than once", attrs[i].Name)
	}
	return attrs, nil
}

// duplicate returns the index of an attribute whose name occurs earlier in
// attrs too, or -1.
func (d *decoder) duplicate(attrs []ddb.Attr) int {
	if len(attrs) <= 32 {
		for i := 1; i < len(attrs); i++ {
			for j := 0; j < i; j++ {
				if bytes.Equal(attrs[i].Name, attrs[j].Name) {
					return i
				}
			}
		}
		return -1
	}
	if d.idx == nil {
		d.idx = make(map[string]struct{}, len(attrs))
	}
	defer clear(d.idx)
	for i := range attrs {
		if _, ok := d.idx[string(attrs[i].Name)]; ok {
			return i
		}
		d.idx[string(attrs[i].Name)] = struct{}{}
	}
	return -1
}

// value reads one tagged value at nesting level depth into *v.
func (d *decoder) value(v *ddb.Value, depth int) error {
	if d.p >= len(d.b) {
		return d.errorf("truncated value: missing type tag")
	}
	tag := d.b[d.p]
	d.p++
	switch tag {
	case tagS:
		b, err := d.bytes("S value")
		if err != nil {
			return err
		}
		if !d.trusted && !utf8.Valid(b) {
			return d.errorf("S value is not valid UTF-8")
		}
		*v = ddb.Value{Kind: ddb.S, Bytes: b}
	case tagN:
		b, err := d.bytes("N value")
		if err != nil {
			return err
		}
		if !d.trusted && !ddb.ValidNumber(b) {
			return d.errorf("N value %q is not a number", b)
		}
		*v = ddb.Value{Kind: ddb.N, Bytes: b}
	case tagB:
		b, err := d.bytes("B value")
		if err != nil {
			return err
		}
		*v = ddb.Value{Kind: ddb.B, Bytes: b}
	case tagBOOL:
		if d.p >= len(d.b) {
			return d.errorf("truncated BOOL value")
		}
		c := d.b[d.p]
		if c > 1 {
			return d.errorf("BOOL value byte is %d, not 0 or 1", c)
		}
		d.p++
		*v = ddb.Value{Kind: ddb.BOOL, Bool: c == 1}
	case tagNULL:
		*v = ddb.Value{Kind: ddb.NULL}
	case tagSS, tagNS, tagBS:
		return d.set(v, ddb.Kind(tag))
	case tagL:
		if depth > ddb.MaxDepth {
			return d.errorf("value is nested deeper than DynamoDB's limit of %d levels", ddb.MaxDepth)
		}
		n, err := d.count("L element count", 1)
		if err != nil {
			return err
		}
		list := d.newValues(n)
		for i := range list {
			if err := d.value(&list[i], depth+1); err != nil {
				return err
			}
		}
		*v = ddb.Value{Kind: ddb.L, List: list}
	case tagM:
		if depth > ddb.MaxDepth {
			return d.errorf("value is nested deeper than DynamoDB's limit of %d levels", ddb.MaxDepth)
		}
		attrs, err := d.attrs(depth+1, "M entry count")
		if err != nil {
			return err
		}
		*v = ddb.Value{Kind: ddb.M, Map: attrs}
	default:
		d.p--
		return d.errorf("unknown type tag %d (want 1 to 10)", tag)
	}
	return nil
}

// set reads the elements of an SS, NS or BS value.
func (d *decoder) set(v *ddb.Value, k ddb.Kind) error {
	// Constant descriptions: no string building on the success path.
	ek, countWhat, elemWhat := ddb.B, "BS element count", "BS element"
	switch k {
	case ddb.SS:
		ek, countWhat, elemWhat = ddb.S, "SS element count", "SS element"
	case ddb.NS:
		ek, countWhat, elemWhat = ddb.N, "NS element count", "NS element"
	}
	n, err := d.count(countWhat, 1)
	if err != nil {
		return err
	}
	if n == 0 {
		return d.errorf("%s value is an empty set (DynamoDB sets have at least one element)", k)
	}
	list := d.newValues(n)
	for i := range list {
		b, err := d.bytes(elemWhat)
		if err != nil {
			return err
		}
		switch {
		case d.trusted:
		case k == ddb.SS:
			if !utf8.Valid(b) {
				return d.errorf("SS element %d is not valid UTF-8", i)
			}
		case k == ddb.NS:
			if !ddb.ValidNumber(b) {
				return d.errorf("NS element %q is not a number", b)
			}
		}
		list[i] = ddb.Value{Kind: ek, Bytes: b}
	}
	*v = ddb.Value{Kind: k, List: list}
	return nil
}

// end refuses trailing bytes.
func (d *decoder) end() error {
	if d.p != len(d.b) {
		return d.errorf("%d trailing bytes after the last entry", len(d.b)-d.p)
	}
	return nil
}

// DecodeBatch decodes a batch (ABI.md, "Batch"). The items' byte slices
// alias b. It is the guest side of AppendBatch, for Go tooling and tests.
func DecodeBatch(b []byte) ([]ddb.Item, error) {
	d := decoder{b: b, entry: -1}
	// An item takes at least 4 bytes: count, name length, name, tag.
	n, err := d.count("item count", 4)
	if err != nil {
		return nil, err
	}
	items := make([]ddb.Item, n)
	for i := range items {
		d.entry = i
		if items[i], err = d.item(); err != nil {
			return nil, err
		}
	}
	d.entry = -1
	return items, d.end()
}

// DecodeItems decodes n items encoded back to back by AppendItem, with
// no count before them. The items' byte slices alias b. It trusts b to
// come from AppendItem of valid items: it checks the structure, not the
// text, numbers and names inside.
func DecodeItems(b []byte, n int) ([]ddb.Item, error) {
	d := decoder{b: b, entry: -1, trusted: true}
	items := make([]ddb.Item, n)
	for i := range items {
		d.entry = i
		var err error
		if items[i], err = d.item(); err != nil {
			return nil, err
		}
	}
	d.entry = -1
	return items, d.end()
}

// DecodeResults decodes a guest's result for a batch of want items
// (ABI.md, "Result"), checking everything: the entry count must equal want,
// statuses and type tags must be known, lengths and counts must fit in b,
// strings must be UTF-8, numbers valid number text, sets non-empty,
// attribute names non-empty and unique, nesting within ddb.MaxDepth, items
// non-empty, and nothing may follow the last entry. The results' byte
// slices alias b.
func DecodeResults(b []byte, want int) ([]Result, error) {
	return decodeResults(b, want, nil)
}

// decodeResults is DecodeResults with slabs from pool, if not nil.
func decodeResults(b []byte, want int, pool *slabPool) ([]Result, error) {
	d := decoder{b: b, entry: -1, pool: pool}
	n, err := d.uvarint("entry count")
	if err != nil {
		return nil, err
	}
	if uint64(n) != uint64(want) {
		return nil, d.errorf("result has %d entries for a batch of %d items", n, want)
	}
	if want > len(b)-d.p {
		return nil, d.errorf("result of %d entries cannot fit in the %d bytes left", want, len(b)-d.p)
	}
	rs := make([]Result, want)
	for i := range rs {
		d.entry = i
		if err := d.result(&rs[i]); err != nil {
			return nil, err
		}
	}
	d.entry = -1
	return rs, d.end()
}

// result reads one result entry.
func (d *decoder) result(r *Result) error {
	if d.p >= len(d.b) {
		return d.errorf("truncated result: missing status")
	}
	st := Status(d.b[d.p])
	d.p++
	r.Status = st
	switch st {
	case StatusPass, StatusDrop:
	case StatusModified:
		it, err := d.item()
		if err != nil {
			return err
		}
		r.Items = d.newItems(1)
		r.Items[0] = it
	case StatusError:
		msg, err := d.bytes("error message")
		if err != nil {
			return err
		}
		if !utf8.Valid(msg) {
			return d.errorf("error message is not valid UTF-8")
		}
		r.Message = string(msg)
	case StatusFanOut:
		n, err := d.count("fan-out item count", 4)
		if err != nil {
			return err
		}
		r.Items = d.newItems(n)
		for i := range r.Items {
			if r.Items[i], err = d.item(); err != nil {
				return err
			}
		}
	default:
		d.p--
		return d.errorf("unknown status %d (want 0 to 4)", st)
	}
	return nil
}
