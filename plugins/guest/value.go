package guest

import (
	"encoding/base64"
	"iter"
	"strconv"
	"unicode/utf8"
)

// Type is a DynamoDB attribute type. Its values are the type tags of the
// ABI's value encoding, so a Type is also the first byte of an encoded
// value.
type Type uint8

// The ten DynamoDB attribute types. The zero Type is Invalid: it is the
// type of the zero Value, so that an unset Value is never mistaken for a
// real one.
const (
	Invalid Type = iota
	S            // string
	N            // number, kept as its exact decimal text
	B            // binary
	BOOL         // boolean
	NULL         // null
	SS           // string set
	NS           // number set
	BS           // binary set
	L            // list
	M            // map
)

var typeNames = [...]string{"invalid", "S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"}

// String returns DynamoDB's name of the type ("S", "N", ..., "M"), as used
// in DynamoDB JSON and in error messages.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Value is a read-only view of one encoded DynamoDB value: it aliases the
// batch the host passed in, so reading it copies nothing. Views are valid
// only during the Transform call that received them (the SDK reuses the
// batch buffer afterwards); copy what must outlive it, e.g. with Text or
// append([]byte(nil), v.Bytes()...).
//
// The zero Value has type Invalid and no content. Accessors of the wrong
// type return zero results instead of panicking, so a plugin checks Type
// once and then reads without error handling.
type Value struct {
	// b is exactly the value's encoding: its tag byte and payload. Values
	// are only made from validated input (DecodeBatch), so the methods
	// below read b without bounds checks of their own.
	b []byte
}

// Type returns the value's DynamoDB type, Invalid for the zero Value.
func (v Value) Type() Type {
	if len(v.b) == 0 {
		return Invalid
	}
	return Type(v.b[0])
}

// Bytes returns the payload of an S (UTF-8 text), N (the number's exact
// decimal text, e.g. "-12.50e+3") or B (raw bytes, not base64) value, and
// nil for every other type. The slice aliases the batch: do not modify it.
func (v Value) Bytes() []byte {
	switch v.Type() {
	case S, N, B:
		n, p := uvarint(v.b, 1)
		return v.b[p : p+n : p+n]
	}
	return nil
}

// Text returns the payload of an S or N value as a string (a copy, safe to
// keep), and "" for every other type. Prefer Bytes, or comparisons such as
// string(v.Bytes()) == "x" that the compiler performs without copying, on
// hot paths.
func (v Value) Text() string {
	switch v.Type() {
	case S, N:
		return string(v.Bytes())
	}
	return ""
}

// Bool returns the value of a BOOL, and false for every other type.
func (v Value) Bool() bool {
	return v.Type() == BOOL && v.b[1] == 1
}

// Len returns the number of elements of an SS, NS, BS or L value and the
// number of attributes of an M value; 0 for the scalar types. (The length
// of an S, N or B payload is len(v.Bytes()).)
func (v Value) Len() int {
	switch v.Type() {
	case SS, NS, BS, L, M:
		n, _ := uvarint(v.b, 1)
		return n
	}
	return 0
}

// Elems returns an iterator over the elements of an SS, NS or BS value:
// the UTF-8 text, number text or raw bytes of each, in their stored order.
// For other types it yields nothing.
func (v Value) Elems() Elems {
	switch v.Type() {
	case SS, NS, BS:
		n, p := uvarint(v.b, 1)
		return Elems{b: v.b, p: p, n: n}
	}
	return Elems{}
}

// List returns an iterator over the elements of an L value, in order. For
// other types it yields nothing.
func (v Value) List() Values {
	if v.Type() != L {
		return Values{}
	}
	n, p := uvarint(v.b, 1)
	return Values{b: v.b, p: p, n: n}
}

// Map returns the attributes of an M value as an attribute-list view (the
// same type as an item; it may be empty). For other types it returns the
// empty Item.
func (v Value) Map() Item {
	if v.Type() != M {
		return Item{}
	}
	return Item{b: v.b[1:]}
}

// Raw returns the value's encoding (type tag and payload, see ABI.md
// section 4). It aliases the batch: do not modify it.
func (v Value) Raw() []byte { return v.b }

// String renders the value as DynamoDB JSON, e.g. {"S":"a"}: for test
// failures and logs, not for the per-item path.
func (v Value) String() string { return string(v.AppendJSON(nil)) }

// AppendJSON appends the value as compact DynamoDB JSON ({"S":"a"},
// {"N":"1"}, {"B":"<base64>"}, {"BOOL":true}, {"NULL":true}, {"SS":[...]},
// {"L":[...]}, {"M":{...}}) to dst. The zero Value renders as
// {"NULL":true}.
func (v Value) AppendJSON(dst []byte) []byte {
	t := v.Type()
	if t == Invalid {
		return append(dst, `{"NULL":true}`...)
	}
	dst = append(dst, `{"`...)
	dst = append(dst, t.String()...)
	dst = append(dst, `":`...)
	switch t {
	case S, N:
		dst = appendJSONString(dst, v.Bytes())
	case B:
		dst = appendJSONBase64(dst, v.Bytes())
	case BOOL:
		dst = strconv.AppendBool(dst, v.Bool())
	case NULL:
		dst = append(dst, "true"...)
	case SS, NS, BS:
		dst = append(dst, '[')
		for e, i := v.Elems(), 0; e.Next(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if t == BS {
				dst = appendJSONBase64(dst, e.Bytes())
			} else {
				dst = appendJSONString(dst, e.Bytes())
			}
		}
		dst = append(dst, ']')
	case L:
		dst = append(dst, '[')
		for e, i := v.List(), 0; e.Next(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.Value().AppendJSON(dst)
		}
		dst = append(dst, ']')
	case M:
		dst = v.Map().AppendJSON(dst)
	}
	return append(dst, '}')
}

// Item is a read-only view of an attribute list: an item of the batch, or
// the content of an M value (Value.Map). Attributes keep their encoded
// order. Like Value, it aliases the batch and is valid only during the
// Transform call that received it. The zero Item has no attributes.
type Item struct {
	// b is exactly the list's encoding: the attribute count and the
	// attributes.
	b []byte
	// idx locates the attributes of a batch's item in b, found while
	// DecodeBatch checked it, so that reading them parses nothing again.
	// It is nil for the content of an M value, which is parsed as read.
	idx []span
}

// span locates one attribute in an Item's encoding: its name is
// b[name:val] and its value b[val:end].
type span struct{ name, val, end uint32 }

// Len returns the number of attributes.
func (it Item) Len() int {
	if it.idx != nil {
		return len(it.idx)
	}
	if len(it.b) == 0 {
		return 0
	}
	n, _ := uvarint(it.b, 0)
	return n
}

// Attrs returns an iterator over the attributes, in order:
//
//	for a := item.Attrs(); a.Next(); {
//		name, v := a.Name(), a.Value()
//	}
//
// It allocates nothing; it is the fastest way to look at several
// attributes in one pass.
func (it Item) Attrs() Attrs {
	if it.idx != nil {
		return Attrs{b: it.b, idx: it.idx, n: len(it.idx)}
	}
	if len(it.b) == 0 {
		return Attrs{}
	}
	n, p := uvarint(it.b, 0)
	return Attrs{b: it.b, p: p, n: n}
}

// All returns the attributes as a range-over-func sequence of name and
// value, in order: for name, v := range item.All() { ... }. The names
// alias the batch.
func (it Item) All() iter.Seq2[[]byte, Value] {
	return func(yield func([]byte, Value) bool) {
		for a := it.Attrs(); a.Next(); {
			if !yield(a.name, a.val) {
				return
			}
		}
	}
}

// Get returns the value of the attribute called name and whether there is
// one. It scans the attributes in order (items are small, and the scan
// allocates nothing); to test several names, one pass of Attrs is cheaper
// than several Gets.
func (it Item) Get(name string) (Value, bool) {
	if it.idx != nil {
		for _, s := range it.idx {
			if int(s.val-s.name) == len(name) && string(it.b[s.name:s.val]) == name {
				return Value{b: it.b[s.val:s.end:s.end]}, true
			}
		}
		return Value{}, false
	}
	for a := it.Attrs(); a.Next(); {
		if string(a.name) == name {
			return a.val, true
		}
	}
	return Value{}, false
}

// Raw returns the attribute list's encoding (count, then each attribute's
// name and value; ABI.md section 4). It aliases the batch: do not modify
// it.
func (it Item) Raw() []byte { return it.b }

// String renders the item as compact DynamoDB JSON, e.g.
// {"id":{"S":"u1"},"n":{"N":"1"}}: for tests and logs.
func (it Item) String() string { return string(it.AppendJSON(nil)) }

// AppendJSON appends the attribute list as a compact DynamoDB JSON object
// to dst, attributes in order.
func (it Item) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for a, i := it.Attrs(), 0; a.Next(); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, a.name)
		dst = append(dst, ':')
		dst = a.val.AppendJSON(dst)
	}
	return append(dst, '}')
}

// Attrs iterates over the attributes of an Item. Call Next before each
// attribute, including the first; Name and Value return the current one.
type Attrs struct {
	b    []byte
	idx  []span // the Item's index, if any; then p counts the attributes read
	p, n int
	name []byte
	val  Value
}

// Next advances to the next attribute and reports whether there is one.
func (a *Attrs) Next() bool {
	if a.n == 0 {
		a.name, a.val = nil, Value{}
		return false
	}
	a.n--
	if a.idx != nil {
		s := a.idx[a.p]
		a.p++
		a.name = a.b[s.name:s.val:s.val]
		a.val = Value{b: a.b[s.val:s.end:s.end]}
		return true
	}
	l, p := uvarint(a.b, a.p)
	a.name = a.b[p : p+l : p+l]
	start := p + l
	end := skipValue(a.b, start)
	a.val = Value{b: a.b[start:end:end]}
	a.p = end
	return true
}

// Name returns the current attribute's name (non-empty UTF-8). It aliases
// the batch: do not modify it.
func (a *Attrs) Name() []byte { return a.name }

// Value returns the current attribute's value.
func (a *Attrs) Value() Value { return a.val }

// Elems iterates over the elements of an SS, NS or BS value. Call Next
// before each element, including the first.
type Elems struct {
	b    []byte
	p, n int
	cur  []byte
}

// Next advances to the next element and reports whether there is one.
func (e *Elems) Next() bool {
	if e.n == 0 {
		e.cur = nil
		return false
	}
	e.n--
	l, p := uvarint(e.b, e.p)
	e.cur = e.b[p : p+l : p+l]
	e.p = p + l
	return true
}

// Bytes returns the current element: UTF-8 text for SS, number text for
// NS, raw bytes for BS. It aliases the batch: do not modify it.
func (e *Elems) Bytes() []byte { return e.cur }

// Values iterates over the elements of an L value. Call Next before each
// element, including the first.
type Values struct {
	b    []byte
	p, n int
	cur  Value
}

// Next advances to the next element and reports whether there is one.
func (e *Values) Next() bool {
	if e.n == 0 {
		e.cur = Value{}
		return false
	}
	e.n--
	end := skipValue(e.b, e.p)
	e.cur = Value{b: e.b[e.p:end:end]}
	e.p = end
	return true
}

// Value returns the current element.
func (e *Values) Value() Value { return e.cur }

// uvarint reads the varint at b[p:] of validated input and returns it and
// the offset after it.
func uvarint(b []byte, p int) (int, int) {
	c := b[p]
	if c < 0x80 {
		return int(c), p + 1
	}
	v := int(c & 0x7f)
	for s := 7; ; s += 7 {
		p++
		c = b[p]
		v |= int(c&0x7f) << s
		if c < 0x80 {
			return v, p + 1
		}
	}
}

// skipValue returns the offset just past the validated value at b[p:].
func skipValue(b []byte, p int) int {
	tag := Type(b[p])
	p++
	switch tag {
	case S, N, B:
		n, q := uvarint(b, p)
		return q + n
	case BOOL:
		return p + 1
	case NULL:
		return p
	case SS, NS, BS:
		n, q := uvarint(b, p)
		for ; n > 0; n-- {
			var l int
			l, q = uvarint(b, q)
			q += l
		}
		return q
	case L:
		n, q := uvarint(b, p)
		for ; n > 0; n-- {
			q = skipValue(b, q)
		}
		return q
	default: // M
		return skipAttrs(b, p)
	}
}

// skipAttrs returns the offset just past the validated attribute list at
// b[p:].
func skipAttrs(b []byte, p int) int {
	n, q := uvarint(b, p)
	for ; n > 0; n-- {
		var l int
		l, q = uvarint(b, q)
		q = skipValue(b, q+l)
	}
	return q
}

// valueDepth returns how many levels of L and M the validated value at
// b[p:] holds: 0 for scalars and sets, 1 for an L or M of scalars, and so
// on.
func valueDepth(b []byte, p int) int {
	tag := Type(b[p])
	switch tag {
	case L:
		n, q := uvarint(b, p+1)
		d := 0
		for ; n > 0; n-- {
			d = max(d, valueDepth(b, q))
			q = skipValue(b, q)
		}
		return d + 1
	case M:
		n, q := uvarint(b, p+1)
		d := 0
		for ; n > 0; n-- {
			var l int
			l, q = uvarint(b, q)
			q += l
			d = max(d, valueDepth(b, q))
			q = skipValue(b, q)
		}
		return d + 1
	}
	return 0
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

func appendJSONBase64(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}
