package guest

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Status is a plugin's verdict on one input item: the first byte of its
// result entry (ABI.md section 4, "Result").
type Status uint8

// The result statuses of ABI version 1.
const (
	StatusPass     Status = 0 // keep the input item unchanged
	StatusModified Status = 1 // replace it by one item
	StatusDrop     Status = 2 // remove it
	StatusError    Status = 3 // fail it with a message
	StatusFanOut   Status = 4 // replace it by zero or more items
)

var statusNames = [...]string{"pass", "modified", "drop", "error", "fan-out"}

// String returns the status's name ("pass", "modified", ...).
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Output receives a plugin's verdict on the current item: Transform calls
// one of Pass, Drop, Fail, Modify or FanOut. The SDK writes the verdict in
// the ABI's result encoding straight into one output buffer it reuses for
// every batch, so recording a verdict allocates nothing in steady state.
//
// Each call replaces any verdict given earlier for the same item (a plugin
// may start a Modify and then decide to Fail), so the result always has
// exactly one entry per item. An item given no verdict passes.
//
// If a Builder is given something the ABI does not allow (an empty name,
// an S value that is not UTF-8, text that is not a number, an empty set,
// nesting deeper than MaxDepth, an item left with no attributes), the item
// fails with a message saying so instead: one plugin bug must not make the
// host reject the whole batch.
type Output struct {
	buf   []byte // the result being written
	start int    // offset in buf of the current item's entry
	gen   uint32 // changes with every verdict: stale Builders panic

	verdict Status
	msg     string     // StatusError
	items   []*Builder // StatusModified (one) and StatusFanOut
	err     string     // the first Builder misuse of the current verdict

	// Builders and list builders recycled from item to item.
	maps   []*Builder
	nmaps  int
	lists  []*ListBuilder
	nlists int
	arena  arena

	// batch is the input of the call, to recognise views of it, which
	// need no copying.
	batch []byte
}

// Pass keeps the input item unchanged (entry 00). It is the default.
func (o *Output) Pass() { o.set(StatusPass) }

// Drop removes the item from the output (entry 02).
func (o *Output) Drop() { o.set(StatusDrop) }

// Fail fails the item (entry 03): the host sends it to the dead-letter
// stream with msg, and keeps the other items of the batch and the
// instance. Invalid UTF-8 in msg is replaced by U+FFFD, as the ABI
// requires UTF-8.
func (o *Output) Fail(msg string) {
	o.set(StatusError)
	o.msg = msg
}

// Modify replaces the input item by the item the returned Builder builds
// (entry 01). The Builder starts with the attributes of base, in order,
// without copying them: pass the input item to edit it, or Item{} to build
// an item from nothing. The item is encoded when Transform returns, so the
// Builder may be used until then.
func (o *Output) Modify(base Item) *Builder {
	o.set(StatusModified)
	b := o.newBuilder(base)
	o.items = append(o.items, b)
	return b
}

// FanOut replaces the input item by the items added with the returned
// FanOut's Add, zero or more (entry 04). With none, the item vanishes like
// with Drop.
func (o *Output) FanOut() FanOut {
	o.set(StatusFanOut)
	return FanOut{o: o, gen: o.gen}
}

// FanOut adds the items of a fan-out verdict (Output.FanOut).
type FanOut struct {
	o   *Output
	gen uint32
}

// Add appends an output item, built by the returned Builder from the
// attributes of base (Item{} for none), like Output.Modify. Items are
// written in the order they were added.
func (f FanOut) Add(base Item) *Builder {
	if f.o == nil || f.gen != f.o.gen {
		panic("guest: FanOut used after its item's verdict was replaced or its Transform returned")
	}
	b := f.o.newBuilder(base)
	f.o.items = append(f.o.items, b)
	return b
}

// set starts a new verdict, forgetting the previous one.
func (o *Output) set(s Status) {
	o.gen++
	o.verdict = s
	o.msg = ""
	o.err = ""
	if len(o.items) > 0 {
		clear(o.items)
		o.items = o.items[:0]
	}
}

// badInput records the first misuse of a Builder: the item fails with msg.
func (o *Output) badInput(msg string) {
	if o.err == "" {
		o.err = msg
	}
}

// begin starts the entry of the next item.
func (o *Output) begin() {
	o.set(StatusPass)
	o.start = len(o.buf)
	o.nmaps, o.nlists = 0, 0
	o.arena.reset()
}

// finish writes the current item's entry.
func (o *Output) finish() {
	o.gen++ // Builders of this item are now stale.
	if o.verdict == StatusPass || o.verdict == StatusDrop {
		// The fast path of filters and pass-throughs.
		o.buf = append(o.buf, byte(o.verdict))
		return
	}
	o.buf = o.buf[:o.start]
	if o.err != "" {
		o.writeError(o.err)
		return
	}
	switch o.verdict {
	case StatusModified:
		o.buf = append(o.buf, byte(StatusModified))
		if msg := o.writeItem(o.items[0]); msg != "" {
			o.buf = o.buf[:o.start]
			o.writeError(msg)
		}
	case StatusFanOut:
		o.buf = append(o.buf, byte(StatusFanOut))
		o.buf = appendUvarint(o.buf, len(o.items))
		for i, b := range o.items {
			if msg := o.writeItem(b); msg != "" {
				o.buf = o.buf[:o.start]
				o.writeError("fan-out item " + strconv.Itoa(i) + ": " + msg)
				return
			}
		}
	case StatusError:
		o.writeError(o.msg)
	default: // StatusPass, StatusDrop
		o.buf = append(o.buf, byte(o.verdict))
	}
}

func (o *Output) writeError(msg string) {
	if !utf8.ValidString(msg) {
		msg = strings.ToValidUTF8(msg, "\uFFFD")
	}
	o.buf = append(o.buf, byte(StatusError))
	o.buf = appendUvarint(o.buf, len(msg))
	o.buf = append(o.buf, msg...)
}

// writeItem encodes the item b builds, or returns why it cannot.
func (o *Output) writeItem(b *Builder) string {
	if b.Len() == 0 {
		return "the plugin made an item with no attributes"
	}
	return o.writeAttrs(b, 1)
}

// writeAttrs encodes an attribute list whose values are at level depth:
// the base's attributes, unchanged runs of them copied with one append
// each, then the added attributes.
func (o *Output) writeAttrs(b *Builder, depth int) string {
	o.buf = appendUvarint(o.buf, b.Len())
	if b.base.idx != nil {
		idx, raw := b.base.idx, b.base.b
		next := 0 // the first base attribute not written yet
		for i := range b.edits {
			e := &b.edits[i]
			if next < e.i {
				o.buf = append(o.buf, raw[attrStart(idx[next]):idx[e.i-1].end]...)
			}
			next = e.i + 1
			if e.removed {
				continue
			}
			s := idx[e.i]
			o.buf = append(o.buf, raw[attrStart(s):s.val]...)
			if msg := o.writeValue(&e.val, depth); msg != "" {
				return "attribute " + strconv.Quote(string(raw[s.name:s.val])) + ": " + msg
			}
		}
		if next < len(idx) {
			o.buf = append(o.buf, raw[attrStart(idx[next]):idx[len(idx)-1].end]...)
		}
	}
	for i := range b.attrs {
		a := &b.attrs[i]
		o.buf = appendUvarint(o.buf, len(a.name))
		o.buf = append(o.buf, a.name...)
		if msg := o.writeValue(&a.val, depth); msg != "" {
			return "attribute " + strconv.Quote(string(a.name)) + ": " + msg
		}
	}
	return ""
}

// attrStart returns the offset of the attribute s in its item: that of its
// name's length.
func attrStart(s span) int {
	return int(s.name) - uvarintLen(int(s.val-s.name))
}

const tooDeep = "value nested deeper than DynamoDB's 32 levels"

// writeValue encodes one value at level depth.
func (o *Output) writeValue(v *valRef, depth int) string {
	switch {
	case v.m != nil:
		if depth > MaxDepth {
			return tooDeep
		}
		o.buf = append(o.buf, byte(M))
		return o.writeAttrs(v.m, depth+1)
	case v.l != nil:
		if depth > MaxDepth {
			return tooDeep
		}
		o.buf = append(o.buf, byte(L))
		o.buf = appendUvarint(o.buf, len(v.l.vals))
		for i := range v.l.vals {
			if msg := o.writeValue(&v.l.vals[i], depth+1); msg != "" {
				return msg
			}
		}
		return ""
	}
	switch v.tag {
	case Invalid: // data is a complete encoded value
		if depth > 1 && (Type(v.data[0]) == L || Type(v.data[0]) == M) && depth-1+valueDepth(v.data, 0) > MaxDepth {
			return tooDeep
		}
		o.buf = append(o.buf, v.data...)
	case S, N, B:
		o.buf = append(o.buf, byte(v.tag))
		o.buf = appendUvarint(o.buf, len(v.data))
		o.buf = append(o.buf, v.data...)
	case BOOL:
		o.buf = append(o.buf, byte(BOOL), v.flag)
	case NULL:
		o.buf = append(o.buf, byte(NULL))
	}
	return ""
}

// valRef is a value of a Builder, encoded when the item is written: a
// reference to a view's encoding or to a payload, or a nested builder.
type valRef struct {
	tag  Type   // Invalid: data is a whole encoded value (a view, a set)
	flag byte   // BOOL
	data []byte // the payload of S, N and B
	m    *Builder
	l    *ListBuilder
}

type attrRef struct {
	name []byte
	val  valRef
}

// Builder builds an item, or the content of an M value, for a verdict of
// Output.Modify or FanOut.Add. It holds references to attributes of views
// and to the arguments it was given, and the SDK encodes the item when
// Transform returns: unchanged attributes are copied once, straight from
// the batch into the result (runs of them in one piece when the Builder
// started from an item of the batch).
//
// The Set methods replace the value of an attribute of that name, keeping
// its position, or else append the attribute at the end; names are thus
// always unique. Strings are referenced, []byte arguments copied (unless
// they are views of the batch), so callers may reuse their buffers.
// Methods return the Builder for chaining.
//
// A Builder is valid until its item's verdict is replaced or Transform
// returns; using it later panics.
type Builder struct {
	o   *Output
	gen uint32
	// base is the batch item the Builder started from, if it has an index
	// (Item.idx), and edits what changed in it, sorted by attribute.
	base    Item
	edits   []edit
	removed int
	// attrs are the attributes added after the base's (all of them when
	// there is no base).
	attrs []attrRef
}

// edit is a replaced or removed attribute of a Builder's base.
type edit struct {
	i       int // index in base.idx
	removed bool
	val     valRef
}

func (o *Output) newBuilder(base Item) *Builder {
	if o.nmaps == len(o.maps) {
		o.maps = append(o.maps, &Builder{o: o})
	}
	b := o.maps[o.nmaps]
	o.nmaps++
	b.gen = o.gen
	if len(b.edits) > 0 {
		clear(b.edits)
		b.edits = b.edits[:0]
	}
	if len(b.attrs) > 0 {
		clear(b.attrs)
		b.attrs = b.attrs[:0]
	}
	b.removed = 0
	b.base = Item{}
	if base.idx != nil {
		b.base = base
		return b
	}
	for a := base.Attrs(); a.Next(); {
		b.attrs = append(b.attrs, attrRef{name: a.name, val: valRef{data: a.val.b}})
	}
	return b
}

func (b *Builder) check() {
	if b.gen != b.o.gen {
		panic("guest: Builder used after its item's verdict was replaced or its Transform returned")
	}
}

// Len returns the number of attributes so far.
func (b *Builder) Len() int { return len(b.base.idx) - b.removed + len(b.attrs) }

// Has reports whether there is an attribute called name.
func (b *Builder) Has(name string) bool {
	n := unsafeBytes(name)
	return b.findBase(n) >= 0 || b.find(n) >= 0
}

// Remove removes the attribute called name, keeping the order of the
// others, and reports whether there was one.
func (b *Builder) Remove(name string) bool {
	b.check()
	n := unsafeBytes(name)
	if i := b.findBase(n); i >= 0 {
		b.edit(i, true, valRef{})
		b.removed++
		return true
	}
	i := b.find(n)
	if i < 0 {
		return false
	}
	last := len(b.attrs) - 1
	copy(b.attrs[i:], b.attrs[i+1:])
	b.attrs[last] = attrRef{} // drop the references
	b.attrs = b.attrs[:last]
	return true
}

// findBase returns the index in base.idx of the attribute called name, if
// it is not removed, or -1.
func (b *Builder) findBase(name []byte) int {
	raw := b.base.b
	for i, s := range b.base.idx {
		if int(s.val-s.name) == len(name) && string(raw[s.name:s.val]) == string(name) {
			for j := range b.edits {
				if b.edits[j].i == i && b.edits[j].removed {
					return -1
				}
			}
			return i
		}
	}
	return -1
}

// edit records a change of base attribute i, keeping edits sorted.
func (b *Builder) edit(i int, removed bool, v valRef) {
	j := len(b.edits)
	for k := range b.edits {
		if b.edits[k].i == i {
			b.edits[k].removed, b.edits[k].val = removed, v
			return
		}
		if b.edits[k].i > i {
			j = k
			break
		}
	}
	b.edits = append(b.edits, edit{})
	copy(b.edits[j+1:], b.edits[j:])
	b.edits[j] = edit{i: i, removed: removed, val: v}
}

// Set sets attribute name to the value v of a view (copied, with all it
// holds, when the item is written).
func (b *Builder) Set(name string, v Value) *Builder {
	return b.put(unsafeBytes(name), b.o.viewRef(v))
}

// SetAttr is Set with the name as bytes, as Attrs.Name returns it: it
// copies an attribute of a view without converting its name to a string
// (a name that is not a view of the batch is copied).
func (b *Builder) SetAttr(name []byte, v Value) *Builder {
	return b.put(b.o.own(name), b.o.viewRef(v))
}

// SetString sets attribute name to the S value s (UTF-8).
func (b *Builder) SetString(name, s string) *Builder {
	return b.put(unsafeBytes(name), b.o.stringRef(s))
}

// SetNumber sets attribute name to the N value whose decimal text is num
// (an optional '-', digits, an optional fraction and exponent, e.g.
// "-12.50e+3"; floe never reformats it).
func (b *Builder) SetNumber(name, num string) *Builder {
	return b.put(unsafeBytes(name), b.o.numberRef(num))
}

// SetBinary sets attribute name to the B value data (raw bytes).
func (b *Builder) SetBinary(name string, data []byte) *Builder {
	return b.put(unsafeBytes(name), valRef{tag: B, data: b.o.own(data)})
}

// SetBool sets attribute name to the BOOL value v.
func (b *Builder) SetBool(name string, v bool) *Builder {
	return b.put(unsafeBytes(name), boolRef(v))
}

// SetNull sets attribute name to NULL.
func (b *Builder) SetNull(name string) *Builder {
	return b.put(unsafeBytes(name), valRef{tag: NULL})
}

// SetStringSet sets attribute name to the SS value of elems (at least
// one, UTF-8).
func (b *Builder) SetStringSet(name string, elems ...string) *Builder {
	return b.put(unsafeBytes(name), setRef(b.o, SS, elems))
}

// SetNumberSet sets attribute name to the NS value of elems (at least
// one, number text).
func (b *Builder) SetNumberSet(name string, elems ...string) *Builder {
	return b.put(unsafeBytes(name), setRef(b.o, NS, elems))
}

// SetBinarySet sets attribute name to the BS value of elems (at least
// one).
func (b *Builder) SetBinarySet(name string, elems ...[]byte) *Builder {
	return b.put(unsafeBytes(name), setRef(b.o, BS, elems))
}

// SetList sets attribute name to an L value, initially empty, and returns
// the ListBuilder that fills it.
func (b *Builder) SetList(name string) *ListBuilder {
	l := b.o.newList()
	b.put(unsafeBytes(name), valRef{l: l})
	return l
}

// SetMap sets attribute name to an M value, initially empty, and returns
// the Builder that fills it (the same API as an item's).
func (b *Builder) SetMap(name string) *Builder {
	m := b.o.newBuilder(Item{})
	b.put(unsafeBytes(name), valRef{m: m})
	return m
}

// find returns the index in attrs of the attribute called name, or -1.
func (b *Builder) find(name []byte) int {
	for i := range b.attrs {
		if string(b.attrs[i].name) == string(name) {
			return i
		}
	}
	return -1
}

func (b *Builder) put(name []byte, v valRef) *Builder {
	b.check()
	if len(name) == 0 {
		b.o.badInput("the plugin set an attribute with an empty name")
		return b
	}
	if i := b.findBase(name); i >= 0 {
		b.edit(i, false, v)
		return b
	}
	if i := b.find(name); i >= 0 {
		b.attrs[i].val = v
		return b
	}
	if !b.o.inBatch(name) && !utf8.Valid(name) {
		b.o.badInput("the plugin set an attribute name that is not valid UTF-8: " + strconv.Quote(string(name)))
		return b
	}
	b.attrs = append(b.attrs, attrRef{name: name, val: v})
	return b
}

// ListBuilder builds the elements of an L value (Builder.SetList,
// ListBuilder.AppendList). Like Builder, it references its arguments
// until the item is written, and is valid until Transform returns.
type ListBuilder struct {
	o    *Output
	gen  uint32
	vals []valRef
}

func (o *Output) newList() *ListBuilder {
	if o.nlists == len(o.lists) {
		o.lists = append(o.lists, &ListBuilder{o: o})
	}
	l := o.lists[o.nlists]
	o.nlists++
	l.gen = o.gen
	clear(l.vals)
	l.vals = l.vals[:0]
	return l
}

func (l *ListBuilder) add(v valRef) *ListBuilder {
	if l.gen != l.o.gen {
		panic("guest: ListBuilder used after its item's verdict was replaced or its Transform returned")
	}
	l.vals = append(l.vals, v)
	return l
}

// Len returns the number of elements so far.
func (l *ListBuilder) Len() int { return len(l.vals) }

// Append appends the value v of a view.
func (l *ListBuilder) Append(v Value) *ListBuilder { return l.add(l.o.viewRef(v)) }

// AppendString appends the S value s.
func (l *ListBuilder) AppendString(s string) *ListBuilder { return l.add(l.o.stringRef(s)) }

// AppendNumber appends the N value whose decimal text is num.
func (l *ListBuilder) AppendNumber(num string) *ListBuilder { return l.add(l.o.numberRef(num)) }

// AppendBinary appends the B value data.
func (l *ListBuilder) AppendBinary(data []byte) *ListBuilder {
	return l.add(valRef{tag: B, data: l.o.own(data)})
}

// AppendBool appends the BOOL value v.
func (l *ListBuilder) AppendBool(v bool) *ListBuilder { return l.add(boolRef(v)) }

// AppendNull appends NULL.
func (l *ListBuilder) AppendNull() *ListBuilder { return l.add(valRef{tag: NULL}) }

// AppendStringSet appends the SS value of elems.
func (l *ListBuilder) AppendStringSet(elems ...string) *ListBuilder {
	return l.add(setRef(l.o, SS, elems))
}

// AppendNumberSet appends the NS value of elems.
func (l *ListBuilder) AppendNumberSet(elems ...string) *ListBuilder {
	return l.add(setRef(l.o, NS, elems))
}

// AppendBinarySet appends the BS value of elems.
func (l *ListBuilder) AppendBinarySet(elems ...[]byte) *ListBuilder {
	return l.add(setRef(l.o, BS, elems))
}

// AppendList appends an L value, initially empty, and returns the
// ListBuilder that fills it.
func (l *ListBuilder) AppendList() *ListBuilder {
	c := l.o.newList()
	l.add(valRef{l: c})
	return c
}

// AppendMap appends an M value, initially empty, and returns the Builder
// that fills it.
func (l *ListBuilder) AppendMap() *Builder {
	m := l.o.newBuilder(Item{})
	l.add(valRef{m: m})
	return m
}

func boolRef(v bool) valRef {
	if v {
		return valRef{tag: BOOL, flag: 1}
	}
	return valRef{tag: BOOL}
}

func (o *Output) viewRef(v Value) valRef {
	if v.Type() == Invalid {
		o.badInput("the plugin set the zero Value, which has no type")
		return valRef{tag: NULL}
	}
	return valRef{data: v.b}
}

func (o *Output) stringRef(s string) valRef {
	if !utf8.ValidString(s) {
		o.badInput("the plugin set an S value that is not valid UTF-8")
	}
	return valRef{tag: S, data: unsafeBytes(s)}
}

func (o *Output) numberRef(num string) valRef {
	if !validNumber(num) {
		o.badInput("the plugin set an N value that is not a number: " + strconv.Quote(num))
	}
	return valRef{tag: N, data: unsafeBytes(num)}
}

// setRef encodes a set value into the arena.
func setRef[T string | []byte](o *Output, t Type, elems []T) valRef {
	if len(elems) == 0 {
		o.badInput("the plugin set an empty " + t.String() + " (DynamoDB sets have at least one element)")
		return valRef{tag: NULL}
	}
	n := 1 + uvarintLen(len(elems))
	for _, e := range elems {
		n += uvarintLen(len(e)) + len(e)
		switch {
		case t == SS && !utf8.ValidString(string(e)):
			o.badInput("the plugin set an SS element that is not valid UTF-8")
		case t == NS && !validNumber(e):
			o.badInput("the plugin set an NS element that is not a number: " + strconv.Quote(string(e)))
		}
	}
	buf := o.arena.alloc(n)[:0]
	buf = append(buf, byte(t))
	buf = appendUvarint(buf, len(elems))
	for _, e := range elems {
		buf = appendUvarint(buf, len(e))
		buf = append(buf, e...)
	}
	return valRef{data: buf}
}

// own returns b itself when it is a view of the batch, which stays put
// until Transform returns, and else a copy in the arena, so that callers
// may reuse their buffers.
func (o *Output) own(b []byte) []byte {
	if len(b) == 0 || o.inBatch(b) {
		return b
	}
	c := o.arena.alloc(len(b))
	copy(c, b)
	return c
}

// inBatch reports whether b lies inside the batch being transformed.
func (o *Output) inBatch(b []byte) bool {
	if len(b) == 0 || len(o.batch) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(o.batch)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= base && p-base+uintptr(len(b)) <= uintptr(len(o.batch))
}

// unsafeBytes returns the bytes of s without copying. Builders only read
// them, and the string keeps them alive.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// arena hands out byte slices that stay put: when its chunk is full it
// starts a new one and leaves the old one to the slices that use it.
type arena struct{ buf []byte }

func (a *arena) reset() { a.buf = a.buf[:0] }

func (a *arena) alloc(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(2*cap(a.buf), n, 1024))
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return a.buf[l : l+n : l+n]
}

func appendUvarint(dst []byte, v int) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func uvarintLen(v int) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
