package guest

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// MaxDepth is DynamoDB's nesting limit for L and M values, which the ABI
// enforces: a top-level attribute's value is at level 1, and an L or M at
// level MaxDepth may hold only scalars and sets.
const MaxDepth = 32

// DecodeError is a malformed batch (or, in the test harness, a malformed
// result). Offset is the byte offset in the input where decoding stopped;
// Item is the index of the item (or result entry) being decoded, -1
// outside of any. It exists so that a host bug or a corrupt buffer is
// reported with its position instead of a panic.
type DecodeError struct {
	Offset int
	Item   int
	Msg    string
}

// Error implements error.
func (e *DecodeError) Error() string {
	s := "byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
	if e.Item >= 0 {
		s = "item " + strconv.Itoa(e.Item) + ", " + s
	}
	return s
}

// DecodeBatch checks a batch in the ABI's batch encoding (ABI.md section
// 4) and appends a view of each of its items to dst, in order, returning
// the extended slice. The views alias b. (The SDK's own loop uses a
// reusable Decoder instead, which allocates nothing in steady state.)
//
// It never panics, whatever b holds. It checks the structure completely
// (varints valid and minimal, every length and count within b, known type
// tags, BOOL bytes 0 or 1, non-empty names, sets and items, nesting within
// MaxDepth, nothing after the last item), which is all the views rely on
// to never read out of bounds. It does not re-check what the host
// guarantees but the views do not need: UTF-8 validity, number syntax and
// unique names. A batch failing the check is not the plugin's to judge
// item by item: past the first error the item boundaries are unknown, so
// the SDK's transform_batch fails the whole call (see Register).
func DecodeBatch(dst []Item, b []byte) ([]Item, error) {
	var d Decoder
	items, err := d.Decode(b)
	return append(dst, items...), err
}

// Decoder decodes batches into item views, reusing its memory from one
// batch to the next: the views of a batch are valid until the next Decode.
// While checking an item it records where each of its attributes lies, so
// that reading them later parses nothing again. The zero Decoder is ready
// to use.
type Decoder struct {
	items []Item
	idx   []span
}

// Decode checks the batch b as DecodeBatch does and returns views of its
// items, which alias b and the Decoder.
func (d *Decoder) Decode(b []byte) ([]Item, error) {
	clear(d.items)
	d.items, d.idx = d.items[:0], d.idx[:0]
	if uint64(len(b)) > 1<<32-1 {
		return nil, &DecodeError{Item: -1, Msg: "batch larger than 4 GiB"}
	}
	c := checker{b: b, item: -1}
	// An item takes at least 4 bytes: count, name length, name, tag.
	n, err := c.count("item count", 4)
	if err != nil {
		return nil, err
	}
	p := c.p
	for i := 0; i < n; i++ {
		end, idx := scanItem(b, p, d.idx)
		d.idx = idx
		if end < 0 {
			// Say what is wrong, with the thorough (slow) checker.
			c := checker{b: b, p: p, item: i}
			if err := c.item1(); err != nil {
				return nil, err
			}
			return nil, c.fail("malformed item") // unreachable: both checks agree
		}
		d.items = append(d.items, Item{b: b[p:end:end]})
		p = end
	}
	if p != len(b) {
		c.p = p
		return nil, c.fail(strconv.Itoa(len(b)-p) + " trailing bytes after the last item")
	}
	// Point the items at their index only now that d.idx has stopped
	// growing (and moving).
	k := 0
	for i := range d.items {
		n, _ := uvarint(d.items[i].b, 0)
		d.items[i].idx = d.idx[k : k+n : k+n]
		k += n
	}
	return d.items, nil
}

// scanItem checks the item at b[p:] and appends the locations of its
// attributes, relative to p, to idx. It returns the offset after the item,
// or -1 if the item is malformed. It is the per-item hot path: one loop
// over the attributes, scalars checked inline, only sets, lists and maps
// handed to the recursive checker.
func scanItem(b []byte, p int, idx []span) (int, []span) {
	start := p
	n, p := varint(b, p)
	// An attribute takes at least 3 bytes.
	if p < 0 || n == 0 || n > (len(b)-p)/3 {
		return -1, idx
	}
	for ; n > 0; n-- {
		var l, q int
		if p < len(b) && b[p] < 0x80 {
			l, q = int(b[p]), p+1
		} else {
			l, q = varint(b, p)
		}
		if q < 0 || l == 0 || l >= len(b)-q {
			return -1, idx
		}
		v := q + l // the value's tag
		var end int
		switch Type(b[v]) {
		case S, N, B:
			var m, r int
			if v+1 < len(b) && b[v+1] < 0x80 {
				m, r = int(b[v+1]), v+2
			} else {
				m, r = varint(b, v+1)
			}
			if r < 0 || m > len(b)-r {
				return -1, idx
			}
			end = r + m
		case BOOL:
			if v+1 >= len(b) || b[v+1] > 1 {
				return -1, idx
			}
			end = v + 2
		case NULL:
			end = v + 1
		default:
			if end = scanValue(b, v, 1); end < 0 {
				return -1, idx
			}
		}
		idx = append(idx, span{uint32(q - start), uint32(v - start), uint32(end - start)})
		p = end
	}
	return p, idx
}

// scanValue checks the value at b[v:], at nesting level depth, and returns
// the offset after it, or -1 if it is malformed. It checks what
// checker.value checks, with fewer calls.
func scanValue(b []byte, v, depth int) int {
	if v >= len(b) {
		return -1
	}
	switch Type(b[v]) {
	case S, N, B:
		m, r := varint(b, v+1)
		if r < 0 || m > len(b)-r {
			return -1
		}
		return r + m
	case BOOL:
		if v+1 >= len(b) || b[v+1] > 1 {
			return -1
		}
		return v + 2
	case NULL:
		return v + 1
	case SS, NS, BS:
		n, p := varint(b, v+1)
		if p < 0 || n == 0 || n > len(b)-p {
			return -1
		}
		for ; n > 0; n-- {
			var m, r int
			if p < len(b) && b[p] < 0x80 {
				m, r = int(b[p]), p+1
			} else {
				m, r = varint(b, p)
			}
			if r < 0 || m > len(b)-r {
				return -1
			}
			p = r + m
		}
		return p
	case L:
		n, p := varint(b, v+1)
		if depth > MaxDepth || p < 0 || n > len(b)-p {
			return -1
		}
		for ; n > 0 && p >= 0; n-- {
			p = scanValue(b, p, depth+1)
		}
		return p
	case M:
		n, p := varint(b, v+1)
		if depth > MaxDepth || p < 0 || n > (len(b)-p)/3 {
			return -1
		}
		for ; n > 0; n-- {
			var l, q int
			if p < len(b) && b[p] < 0x80 {
				l, q = int(b[p]), p+1
			} else {
				l, q = varint(b, p)
			}
			if q < 0 || l == 0 || l >= len(b)-q {
				return -1
			}
			if p = scanValue(b, q+l, depth+1); p < 0 {
				return -1
			}
		}
		return p
	}
	return -1
}

// varint reads a minimal varint of at most 32 bits at b[p:] and returns it
// and the offset after it, or -1 for that offset if there is none. It is
// just too large for the inliner, so the hot loops repeat its one-byte
// case before calling it.
func varint(b []byte, p int) (int, int) {
	if p < len(b) && b[p] < 0x80 {
		return int(b[p]), p + 1
	}
	return varintSlow(b, p)
}

func varintSlow(b []byte, p int) (int, int) {
	c := checker{b: b, p: p}
	v, err := c.uvarint("")
	if err != nil {
		return 0, -1
	}
	return v, c.p
}

// checker validates the binary encoding. In strict mode (the harness's
// check of a plugin's result) it also checks what the host checks beyond
// structure: UTF-8, number text and unique names.
type checker struct {
	b      []byte
	p      int
	item   int
	strict bool
}

func (c *checker) fail(msg string) *DecodeError {
	return &DecodeError{Offset: c.p, Item: c.item, Msg: msg}
}

// uvarint reads a minimal unsigned LEB128 of at most 32 bits. what names
// it in errors.
func (c *checker) uvarint(what string) (int, error) { return c.uvarintOf(what, "") }

// uvarintOf is uvarint named what+suffix in errors, concatenated only on
// failure: the success path builds no strings.
func (c *checker) uvarintOf(what, suffix string) (int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if c.p >= len(c.b) {
			return 0, c.fail("truncated " + what + suffix)
		}
		x := c.b[c.p]
		if i == 4 && x > 0x0f {
			return 0, c.fail(what + suffix + " varint overflows 32 bits")
		}
		c.p++
		v |= uint32(x&0x7f) << (7 * i)
		if x < 0x80 {
			if x == 0 && i > 0 {
				return 0, c.fail(what + suffix + " varint is not minimal")
			}
			if uint64(v) > uint64(maxInt) {
				return 0, c.fail(what + suffix + " does not fit in an int")
			}
			return int(v), nil
		}
	}
	return 0, c.fail(what + suffix + " varint is too long") // unreachable
}

const maxInt = int(^uint(0) >> 1)

// count reads a count of elements each taking at least minSize bytes and
// refuses counts the remaining input cannot hold, so that a hostile count
// never makes a caller allocate or loop for nothing.
func (c *checker) count(what string, minSize int) (int, error) {
	n, err := c.uvarint(what)
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minSize) > uint64(len(c.b)-c.p) {
		return 0, c.fail(what + " " + strconv.Itoa(n) + " exceeds the " + strconv.Itoa(len(c.b)-c.p) + " bytes left")
	}
	return n, nil
}

// bytes reads a length-prefixed byte string.
func (c *checker) bytes(what string) ([]byte, error) {
	n, err := c.uvarintOf(what, " length")
	if err != nil {
		return nil, err
	}
	if n > len(c.b)-c.p {
		return nil, c.fail(what + " length " + strconv.Itoa(n) + " exceeds the " + strconv.Itoa(len(c.b)-c.p) + " bytes left")
	}
	s := c.b[c.p : c.p+n]
	c.p += n
	return s, nil
}

// item1 checks one item: a non-empty attribute list.
func (c *checker) item1() error {
	if c.p < len(c.b) && c.b[c.p] == 0 {
		return c.fail("item has no attributes")
	}
	return c.attrs(1)
}

// attrs checks an attribute list whose values sit at nesting level depth.
func (c *checker) attrs(depth int) error {
	// An attribute takes at least 3 bytes: name length, name, tag.
	n, err := c.count("attribute count", 3)
	if err != nil {
		return err
	}
	start := c.p
	for i := 0; i < n; i++ {
		name, err := c.bytes("attribute name")
		if err != nil {
			return err
		}
		if len(name) == 0 {
			return c.fail("attribute name is empty")
		}
		if c.strict && !utf8.Valid(name) {
			return c.fail("attribute name " + strconv.Quote(string(name)) + " is not valid UTF-8")
		}
		if err := c.value(depth); err != nil {
			return err
		}
	}
	if c.strict {
		if name, dup := duplicateName(c.b[start:c.p], n); dup {
			return c.fail("attribute name " + strconv.Quote(string(name)) + " occurs more than once")
		}
	}
	return nil
}

// duplicateName finds a repeated name in the n validated attributes at b.
func duplicateName(b []byte, n int) ([]byte, bool) {
	names := make([][]byte, 0, n)
	p := 0
	for ; n > 0; n-- {
		l, q := uvarint(b, p)
		name := b[q : q+l]
		for _, seen := range names {
			if bytes.Equal(seen, name) {
				return name, true
			}
		}
		names = append(names, name)
		p = skipValue(b, q+l)
	}
	return nil, false
}

// Constant descriptions for errors, so that checking builds no strings.
var (
	valueWhat     = [...]string{S: "S value", N: "N value", B: "B value"}
	elemCountWhat = [...]string{SS: "SS element count", NS: "NS element count", BS: "BS element count"}
	elemWhat      = [...]string{SS: "SS element", NS: "NS element", BS: "BS element"}
)

// value checks one tagged value at nesting level depth.
func (c *checker) value(depth int) error {
	if c.p >= len(c.b) {
		return c.fail("truncated value: missing type tag")
	}
	tag := Type(c.b[c.p])
	c.p++
	switch tag {
	case S, N, B:
		s, err := c.bytes(valueWhat[tag])
		if err != nil {
			return err
		}
		if c.strict && tag == S && !utf8.Valid(s) {
			return c.fail("S value is not valid UTF-8")
		}
		if c.strict && tag == N && !validNumber(s) {
			return c.fail("N value " + strconv.Quote(string(s)) + " is not a number")
		}
	case BOOL:
		if c.p >= len(c.b) {
			return c.fail("truncated BOOL value")
		}
		if c.b[c.p] > 1 {
			return c.fail("BOOL value byte is " + strconv.Itoa(int(c.b[c.p])) + ", not 0 or 1")
		}
		c.p++
	case NULL:
	case SS, NS, BS:
		n, err := c.count(elemCountWhat[tag], 1)
		if err != nil {
			return err
		}
		if n == 0 {
			return c.fail(tag.String() + " value is an empty set")
		}
		for i := 0; i < n; i++ {
			s, err := c.bytes(elemWhat[tag])
			if err != nil {
				return err
			}
			if c.strict && tag == SS && !utf8.Valid(s) {
				return c.fail("SS element is not valid UTF-8")
			}
			if c.strict && tag == NS && !validNumber(s) {
				return c.fail("NS element " + strconv.Quote(string(s)) + " is not a number")
			}
		}
	case L:
		if depth > MaxDepth {
			return c.fail("value is nested deeper than " + strconv.Itoa(MaxDepth) + " levels")
		}
		n, err := c.count("L element count", 1)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := c.value(depth + 1); err != nil {
				return err
			}
		}
	case M:
		if depth > MaxDepth {
			return c.fail("value is nested deeper than " + strconv.Itoa(MaxDepth) + " levels")
		}
		return c.attrs(depth + 1)
	default:
		c.p--
		return c.fail("unknown type tag " + strconv.Itoa(int(tag)) + " (want 1 to 10)")
	}
	return nil
}

// end refuses trailing bytes.
func (c *checker) end() error {
	if c.p != len(c.b) {
		return c.fail(strconv.Itoa(len(c.b)-c.p) + " trailing bytes after the last item")
	}
	return nil
}

// validNumber reports whether s is DynamoDB number text: an optional '-',
// digits, an optional '.' and digits, an optional exponent.
func validNumber[T string | []byte](s T) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}
