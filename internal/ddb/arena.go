package ddb

import "github.com/valyala/fastjson"

// arena hands out Value, Attr and byte slices that stay valid until reset.
//
// Decoders build each item's tree in it so that a steady stream of similar
// lines allocates nothing: the memory of one line is reused for the next.
// When a chunk runs out mid-line a bigger one is started (slices already
// handed out keep pointing into the old chunk, which stays alive through
// them), and reset then sizes a single chunk for the whole of what the line
// needed, so growth stops after the first few lines.
type arena struct {
	vals  []Value
	attrs []Attr
	bytes []byte

	valsNeed, attrsNeed, bytesNeed int
}

// reset makes all memory handed out so far reusable.
func (a *arena) reset() {
	if a.valsNeed > cap(a.vals) {
		a.vals = make([]Value, 0, a.valsNeed)
	}
	if a.attrsNeed > cap(a.attrs) {
		a.attrs = make([]Attr, 0, a.attrsNeed)
	}
	if a.bytesNeed > cap(a.bytes) {
		a.bytes = make([]byte, 0, a.bytesNeed)
	}
	a.vals, a.attrs, a.bytes = a.vals[:0], a.attrs[:0], a.bytes[:0]
	a.valsNeed, a.attrsNeed, a.bytesNeed = 0, 0, 0
}

// grow returns the capacity of a replacement chunk that holds n more
// elements: doubling keeps the number of chunks per line logarithmic.
func grow(capacity, n int) int {
	c := 2 * capacity
	if c < n {
		c = n
	}
	if c < 64 {
		c = 64
	}
	return c
}

// values returns n Values. Their content is stale: the caller must assign
// every element in full.
func (a *arena) values(n int) []Value {
	a.valsNeed += n
	if len(a.vals)+n > cap(a.vals) {
		a.vals = make([]Value, 0, grow(cap(a.vals), n))
	}
	off := len(a.vals)
	a.vals = a.vals[:off+n]
	// The capacity limit keeps an append by a caller from running into the
	// next slice handed out.
	return a.vals[off : off+n : off+n]
}

// attributes returns n Attrs, stale like values.
func (a *arena) attributes(n int) []Attr {
	a.attrsNeed += n
	if len(a.attrs)+n > cap(a.attrs) {
		a.attrs = make([]Attr, 0, grow(cap(a.attrs), n))
	}
	off := len(a.attrs)
	a.attrs = a.attrs[:off+n]
	return a.attrs[off : off+n : off+n]
}

// alloc returns n bytes of stale content.
func (a *arena) alloc(n int) []byte {
	a.bytesNeed += n
	if len(a.bytes)+n > cap(a.bytes) {
		a.bytes = make([]byte, 0, grow(cap(a.bytes), n))
	}
	off := len(a.bytes)
	a.bytes = a.bytes[:off+n]
	return a.bytes[off : off+n : off+n]
}

// copyBytes returns a copy of b held by the arena.
func (a *arena) copyBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	dst := a.alloc(len(b))
	copy(dst, b)
	return dst
}

// copyString is copyBytes for a string.
func (a *arena) copyString(s string) []byte {
	if len(s) == 0 {
		return nil
	}
	dst := a.alloc(len(s))
	copy(dst, s)
	return dst
}

// slot is the memory one decoded record lives in: its arena, and for JSON
// the parser whose buffer the record's strings and names alias.
type slot struct {
	p    fastjson.Parser
	a    arena
	line int // length of the last line decoded into it
}

// maxRecycledLine is the longest line whose slot Release recycles. A slot
// keeps the memory of the largest line it decoded; recycling only slots of
// ordinary lines bounds what a decoder holds on to after a few huge items
// (DynamoDB items reach 400 KB) have been kept.
const maxRecycledLine = 64 << 10

// slots is a decoder's record memory. Every Decode reuses the current slot
// unless Keep moved it aside, so a decoder that is never asked to keep
// anything allocates nothing per line; kept slots come back, warm, from
// Release.
type slots struct {
	cur  *slot
	kept []*slot
	free []*slot
}

// next returns the slot for the next record, sized for a line of n bytes.
func (s *slots) next(n int) *slot {
	if s.cur == nil {
		if k := len(s.free); k > 0 {
			s.cur, s.free = s.free[k-1], s.free[:k-1]
		} else {
			s.cur = new(slot)
		}
	}
	s.cur.line = n
	s.cur.a.reset()
	return s.cur
}

// keep sets the current slot aside until release.
func (s *slots) keep() {
	if s.cur != nil {
		s.kept = append(s.kept, s.cur)
		s.cur = nil
	}
}

// release recycles the kept slots.
func (s *slots) release() {
	for i, k := range s.kept {
		if k.line <= maxRecycledLine {
			s.free = append(s.free, k)
		}
		s.kept[i] = nil
	}
	s.kept = s.kept[:0]
}
