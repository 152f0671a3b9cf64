// Package ddb holds DynamoDB's attribute-value model and the decoders for the
// two line formats DynamoDB exports write: DynamoDB JSON and Amazon Ion text.
//
// Decoders reuse their memory from one item to the next: an Item and every
// byte slice inside it are valid only until the next call that decodes an
// item. Callers that keep values must copy them (see Item.Clone).
package ddb

import "fmt"

// Kind is a DynamoDB attribute type.
type Kind uint8

// The ten DynamoDB attribute types. The zero Kind is invalid, so an unset
// Value is never mistaken for a real one.
const (
	KindInvalid Kind = iota
	S                // string
	N                // number, kept as its exact decimal text
	B                // binary
	BOOL             // boolean
	NULL             // null
	SS               // string set
	NS               // number set
	BS               // binary set
	L                // list
	M                // map
)

var kindNames = [...]string{"invalid", "S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"}

// String returns DynamoDB's tag for the kind ("S", "N", ..., "M").
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// ParseKind maps a DynamoDB type tag to its Kind. It reports false for an
// unknown tag.
func ParseKind(tag string) (Kind, bool) {
	for i := 1; i < len(kindNames); i++ {
		if kindNames[i] == tag {
			return Kind(i), true
		}
	}
	return KindInvalid, false
}

// MaxDepth is DynamoDB's nesting limit for L and M values. Decoders refuse
// deeper input rather than recurse without bound.
const MaxDepth = 32

// Value is one DynamoDB attribute value.
//
// Bytes holds the text of S and N (N exactly as written, never parsed) and
// the decoded bytes of B. Bool holds BOOL. List holds the elements of SS, NS,
// BS and L (set elements are Values of kind S, N or B). Map holds the
// attributes of M in the order they were read.
type Value struct {
	Kind  Kind
	Bool  bool
	Bytes []byte
	List  []Value
	Map   []Attr
}

// Attr is a named attribute: a top-level attribute of an item or an entry of
// an M value. Names are arbitrary UTF-8.
type Attr struct {
	Name  []byte
	Value Value
}

// Item is a DynamoDB item: its attributes in the order they were read.
type Item []Attr

// Get returns the attribute with the given name, or nil.
func (it Item) Get(name string) *Value {
	for i := range it {
		if string(it[i].Name) == name {
			return &it[i].Value
		}
	}
	return nil
}

// Clone returns a deep copy of the item that shares no memory with the
// decoder that produced it.
func (it Item) Clone() Item {
	if it == nil {
		return nil
	}
	out := make(Item, len(it))
	for i := range it {
		out[i] = Attr{Name: cloneBytes(it[i].Name), Value: it[i].Value.Clone()}
	}
	return out
}

// Clone returns a deep copy of v.
func (v Value) Clone() Value {
	out := Value{Kind: v.Kind, Bool: v.Bool, Bytes: cloneBytes(v.Bytes)}
	if v.List != nil {
		out.List = make([]Value, len(v.List))
		for i := range v.List {
			out.List[i] = v.List[i].Clone()
		}
	}
	if v.Map != nil {
		out.Map = make([]Attr, len(v.Map))
		for i := range v.Map {
			out.Map[i] = Attr{Name: cloneBytes(v.Map[i].Name), Value: v.Map[i].Value.Clone()}
		}
	}
	return out
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// Record is one line of an export.
//
// A full export line carries only Item. An incremental export line carries
// Keys, WriteTimestampMicros and, depending on the change and the export's
// view, OldImage and NewImage (nil when absent).
type Record struct {
	Item                 Item
	Keys                 Item
	OldImage             Item
	NewImage             Item
	WriteTimestampMicros int64
}

// Equal reports whether v and o are the same DynamoDB value: same kind and
// same content, with N compared as text (1.50 and 1.5 differ) and maps
// compared in order. Fields a kind does not use are ignored.
func (v Value) Equal(o Value) bool {
	if v.Kind != o.Kind {
		return false
	}
	switch v.Kind {
	case S, N, B:
		return string(v.Bytes) == string(o.Bytes)
	case BOOL:
		return v.Bool == o.Bool
	case SS, NS, BS, L:
		if len(v.List) != len(o.List) {
			return false
		}
		for i := range v.List {
			if !v.List[i].Equal(o.List[i]) {
				return false
			}
		}
		return true
	case M:
		return Item(v.Map).Equal(Item(o.Map))
	}
	return true
}

// Equal reports whether two items have the same attributes in the same
// order.
func (it Item) Equal(o Item) bool {
	if len(it) != len(o) {
		return false
	}
	for i := range it {
		if string(it[i].Name) != string(o[i].Name) || !it[i].Value.Equal(o[i].Value) {
			return false
		}
	}
	return true
}

// Equal reports whether two records carry the same parts with equal
// content; an absent part (nil) differs from any present one.
func (r Record) Equal(o Record) bool {
	same := func(a, b Item) bool { return (a == nil) == (b == nil) && a.Equal(b) }
	return r.WriteTimestampMicros == o.WriteTimestampMicros &&
		same(r.Item, o.Item) && same(r.Keys, o.Keys) &&
		same(r.OldImage, o.OldImage) && same(r.NewImage, o.NewImage)
}
