package exportgen

import (
	"strconv"
	"time"

	"github.com/floe-io/floe/internal/ddb"
)

// Item model.
//
// Item i (0 <= i < Items) is an order of customer i/ordersPerCustomer; its
// sort key date grows with i%ordersPerCustomer, so ascending i is ascending
// (pk, sk) byte order. That lets the expected state be written sorted by
// simply counting i up, without sorting a million keys. Items inserted by
// incremental exports get indices from Items up; their keys are random
// (existing or new customers) and are merged in from a small sorted list.
//
// An item's content is a pure function of (seed, index, creating export,
// version): version 0 is the item as first written and every update applies
// one more deterministic mutation. Nothing but (index -> version, live) for
// the items touched by incremental exports is ever kept in memory.

const ordersPerCustomer = 4

// daysPerOrder spaces a customer's orders so their dates never collide.
const daysPerOrder = 90

// edgeEvery and bigBinaryEvery pick the items that carry edge-case
// attributes (2%) and the 32 KiB binary (0.05%) when Options.Edge is set.
// Item 0 always qualifies, so even tiny exports exercise every edge case.
const (
	edgeEvery      = 50
	bigBinaryEvery = 2000
	bigBinarySize  = 32 << 10
)

var (
	statuses  = [...]string{"PENDING", "SHIPPED", "DELIVERED", "CANCELLED"}
	tagWords  = [...]string{"priority", "gift-wrap", "express", "international", "subscription", "bulk", "fragile", "promo"}
	ratingSet = [...]string{"1", "2", "3", "4", "5", "4.5", "3.5", "2.5"}
	priceCts  = [...]int64{99, 49, 95, 0, 50, 25, 89}
	domains   = [...]string{"example.com", "example.org", "example.net", "mail.example"}
	streets   = [...]string{"Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St", "Lakeview Blvd", "Hillcrest Way"}
	cities    = [...]struct{ city, zip, country string }{
		{"Seattle", "98101", "US"}, {"Austin", "73301", "US"}, {"Boston", "02108", "US"},
		{"Denver", "80202", "US"}, {"Toronto", "M5H 2N2", "CA"}, {"London", "EC1A 1BB", "GB"},
		{"Berlin", "10115", "DE"}, {"Paris", "75001", "FR"}, {"Tokyo", "100-0001", "JP"},
		{"Sydney", "2000", "AU"}, {"São Paulo", "01000-000", "BR"}, {"Zürich", "8001", "CH"},
	}
	noteTexts = [...]string{
		"Leave the parcel with the neighbour if nobody is home.",
		"Call before delivery, the doorbell does not work.",
		"Customer asked for plastic-free packaging.",
		"Deliver after 6pm on weekdays.",
		"Fragile: glassware inside, handle with care.",
		"Gift for a birthday, please remove the price tags.",
	}
)

// model derives items, keys and times from the options.
type model struct {
	seed    uint64
	items   int64
	edge    bool
	nCust   int64     // customers owning the full export's items
	width   int       // digits in CUSTOMER#nnnnnn, fixed so byte order is numeric order
	firstDY time.Time // date of a customer's first order
	start   time.Time // full export time; incremental windows follow it
	window  time.Duration
}

func newModel(o *Options) *model {
	m := &model{
		seed:   uint64(o.Seed),
		items:  int64(o.Items),
		edge:   o.Edge,
		nCust:  (int64(o.Items) + ordersPerCustomer - 1) / ordersPerCustomer,
		start:  o.StartTime,
		window: o.Window,
	}
	// Inserted items may belong to new customers numbered past nCust; one
	// per insert at most, so this bounds the widest customer number.
	maxCust := m.nCust + int64(o.Incrementals)*int64(o.ChangesPerIncremental)
	m.width = len(strconv.FormatInt(maxCust, 10))
	if m.width < 6 {
		m.width = 6
	}
	day := o.StartTime.UTC().Truncate(24 * time.Hour)
	m.firstDY = day.AddDate(0, 0, -(ordersPerCustomer*daysPerOrder + 1))
	return m
}

// builder owns the memory of the item being built: its text and its
// attribute and value slices come from slabs reused item after item, which
// spares the allocator and the GC tens of small objects per item. Slices
// handed out stay valid until reset; a slab that has to grow is replaced,
// leaving earlier slices on the old array.
type builder struct {
	buf   []byte
	attrs []ddb.Attr
	vals  []ddb.Value
}

func (b *builder) reset() {
	b.buf = b.buf[:0]
	b.attrs = b.attrs[:0]
	b.vals = b.vals[:0]
}

// attrSlice returns an empty slice with room for n attributes. Appending
// more than n reallocates rather than overwrite a neighbour.
func (b *builder) attrSlice(n int) []ddb.Attr {
	if cap(b.attrs)-len(b.attrs) < n {
		b.attrs = make([]ddb.Attr, 0, max(2*cap(b.attrs), n, 64))
	}
	m := len(b.attrs)
	b.attrs = b.attrs[:m+n]
	return b.attrs[m : m : m+n]
}

// valSlice returns a slice of n values, to be filled by index.
func (b *builder) valSlice(n int) []ddb.Value {
	if cap(b.vals)-len(b.vals) < n {
		b.vals = make([]ddb.Value, 0, max(2*cap(b.vals), n, 64))
	}
	m := len(b.vals)
	b.vals = b.vals[:m+n]
	return b.vals[m : m+n : m+n]
}

func (b *builder) mark() int { return len(b.buf) }

// since returns what was appended after mark, capped so that appending to
// the result can never overwrite later data.
func (b *builder) since(mark int) []byte {
	return b.buf[mark:len(b.buf):len(b.buf)]
}

func (b *builder) str(s string) []byte {
	m := b.mark()
	b.buf = append(b.buf, s...)
	return b.since(m)
}

func (b *builder) attrS(name, val string) ddb.Attr {
	return ddb.Attr{Name: b.str(name), Value: ddb.Value{Kind: ddb.S, Bytes: b.str(val)}}
}

// attrBytes names a value whose bytes are already in the builder. The value
// must be taken (b.since) before the name is appended, hence the parameter.
func (b *builder) attrBytes(name string, kind ddb.Kind, val []byte) ddb.Attr {
	return ddb.Attr{Name: b.str(name), Value: ddb.Value{Kind: kind, Bytes: val}}
}

func (b *builder) valS(val string) ddb.Value { return ddb.Value{Kind: ddb.S, Bytes: b.str(val)} }

func (b *builder) valN(val string) ddb.Value { return ddb.Value{Kind: ddb.N, Bytes: b.str(val)} }

func (b *builder) valInt(v int64) ddb.Value {
	m := b.mark()
	b.buf = strconv.AppendInt(b.buf, v, 10)
	return ddb.Value{Kind: ddb.N, Bytes: b.since(m)}
}

// valCents formats an amount of cents as DynamoDB stores it: normalized, so
// 1250 cents is "12.5" and 1200 is "12". Most amounts have two decimals,
// which is what makes the column decimal(38,2).
func (b *builder) valCents(cents int64) ddb.Value {
	m := b.mark()
	if cents < 0 {
		b.buf = append(b.buf, '-')
		cents = -cents
	}
	b.buf = strconv.AppendInt(b.buf, cents/100, 10)
	if f := cents % 100; f != 0 {
		b.buf = append(b.buf, '.', byte('0'+f/10))
		if f%10 != 0 {
			b.buf = append(b.buf, byte('0'+f%10))
		}
	}
	return ddb.Value{Kind: ddb.N, Bytes: b.since(m)}
}

func (b *builder) randBytes(r *rng, n int) []byte {
	m := b.mark()
	for i := 0; i < n; i += 8 {
		v := r.next()
		for j := 0; j < 8 && i+j < n; j++ {
			b.buf = append(b.buf, byte(v>>(8*j)))
		}
	}
	return b.since(m)
}

// orderID is a bijection of the item index onto 40 bits, printed as 10 hex
// digits: random-looking like a real order id, yet never repeated, so sort
// keys are unique without remembering the ones already used.
func (m *model) orderID(dst []byte, i int64) []byte {
	const mask = 1<<40 - 1
	v := uint64(i)
	v = (v*0x9e3779b97f4b + (m.seed & mask)) & mask
	v ^= v >> 17
	v = (v * 0xd6e8feb86659fd93) & mask // odd multiplier: still a bijection mod 2^40
	v ^= v >> 23
	for s := 36; s >= 0; s -= 4 {
		dst = append(dst, hexDigits[(v>>uint(s))&0xf])
	}
	return dst
}

// customer returns the customer number of item i, and the time it was
// ordered (whole seconds, UTC).
func (m *model) customer(i int64, created int) (int64, time.Time) {
	r := newRng(m.seed, streamKey, uint64(i))
	if i < m.items {
		c, j := i/ordersPerCustomer, i%ordersPerCustomer
		day := int(j)*daysPerOrder + r.intn(daysPerOrder)
		t := m.firstDY.AddDate(0, 0, day).Add(time.Duration(r.intn(86400)) * time.Second)
		return c, t
	}
	// Inserted orders: mostly repeat customers, some brand-new ones
	// (numbered past every existing customer, one per insert).
	c := m.nCust + (i - m.items)
	if m.nCust > 0 && r.chance(70) {
		c = r.int63n(m.nCust)
	}
	from := m.windowStart(created)
	secs := int64(m.window / time.Second)
	t := from.Add(time.Duration(r.int63n(secs)) * time.Second)
	return c, t
}

func (m *model) windowStart(k int) time.Time {
	return m.start.Add(time.Duration(k) * m.window)
}

// appendPK and appendSK write the key attributes' text.
func (m *model) appendPK(dst []byte, c int64) []byte {
	dst = append(dst, "CUSTOMER#"...)
	var num [20]byte
	s := strconv.AppendInt(num[:0], c, 10)
	for k := len(s); k < m.width; k++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

func (m *model) appendSK(dst []byte, i int64, t time.Time) []byte {
	dst = append(dst, "ORDER#"...)
	dst = t.AppendFormat(dst, "2006-01-02")
	dst = append(dst, '#')
	return m.orderID(dst, i)
}

// key appends item i's keys to the builder.
func (m *model) key(b *builder, i int64, created int) (pk, sk []byte, c int64, t time.Time) {
	c, t = m.customer(i, created)
	mk := b.mark()
	b.buf = m.appendPK(b.buf, c)
	pk = b.since(mk)
	mk = b.mark()
	b.buf = m.appendSK(b.buf, i, t)
	sk = b.since(mk)
	return pk, sk, c, t
}

// item builds version ver of item i: the item as written first, then one
// mutation per update.
func (m *model) item(b *builder, i int64, created int, ver int32) ddb.Item {
	it := m.base(b, i, created)
	for u := int32(1); u <= ver; u++ {
		it = m.mutate(b, it, i, u)
	}
	return it
}

func (m *model) base(b *builder, i int64, created int) ddb.Item {
	pk, sk, c, t := m.key(b, i, created)
	r := newRng(m.seed, streamItem, uint64(i))
	it := ddb.Item(b.attrSlice(24))
	it = append(it,
		ddb.Attr{Name: b.str("pk"), Value: ddb.Value{Kind: ddb.S, Bytes: pk}},
		ddb.Attr{Name: b.str("sk"), Value: ddb.Value{Kind: ddb.S, Bytes: sk}},
	)
	var status string
	switch p := r.intn(100); {
	case p < 15:
		status = statuses[0]
	case p < 40:
		status = statuses[1]
	case p < 90:
		status = statuses[2]
	default:
		status = statuses[3]
	}

	n := 1 + r.intn(3)
	lines := b.valSlice(n)
	var amount, qty int64
	for k := range lines {
		q := int64(1 + r.intn(5))
		price := int64(1+r.intn(149))*100 + priceCts[r.intn(len(priceCts))]
		amount += q * price
		qty += q
		mk := b.mark()
		b.buf = append(b.buf, "SKU-"...)
		b.buf = strconv.AppendInt(b.buf, int64(10000+r.intn(90000)), 10)
		sku := b.since(mk)
		lines[k] = ddb.Value{Kind: ddb.M, Map: append(b.attrSlice(3),
			b.attrBytes("sku", ddb.S, sku),
			ddb.Attr{Name: b.str("qty"), Value: b.valInt(q)},
			ddb.Attr{Name: b.str("price"), Value: b.valCents(price)},
		)}
	}

	it = append(it,
		b.attrS("status", status),
		ddb.Attr{Name: b.str("amount"), Value: b.valCents(amount)},
		ddb.Attr{Name: b.str("quantity"), Value: b.valInt(qty)},
	)
	mk := b.mark()
	b.buf = append(b.buf, "customer"...)
	b.buf = append(b.buf, pk[len("CUSTOMER#"):]...)
	b.buf = append(b.buf, '@')
	b.buf = append(b.buf, domains[c%int64(len(domains))]...)
	it = append(it, b.attrBytes("email", ddb.S, b.since(mk)))
	mk = b.mark()
	b.buf = t.AppendFormat(b.buf, "2006-01-02T15:04:05Z")
	it = append(it, b.attrBytes("createdAt", ddb.S, b.since(mk)))

	if r.chance(80) {
		it = append(it, ddb.Attr{Name: b.str("tags"), Value: b.pickSet(&r, ddb.SS, tagWords[:], 1+r.intn(3))})
	}
	it = append(it, ddb.Attr{Name: b.str("lineItems"), Value: ddb.Value{Kind: ddb.L, List: lines}})

	ct := cities[r.intn(len(cities))]
	mk = b.mark()
	b.buf = strconv.AppendInt(b.buf, int64(1+r.intn(9999)), 10)
	b.buf = append(b.buf, ' ')
	b.buf = append(b.buf, streets[r.intn(len(streets))]...)
	street := b.since(mk)
	it = append(it, ddb.Attr{Name: b.str("address"), Value: ddb.Value{Kind: ddb.M, Map: append(b.attrSlice(4),
		b.attrBytes("street", ddb.S, street),
		b.attrS("city", ct.city),
		b.attrS("zip", ct.zip),
		b.attrS("country", ct.country),
	)}})

	if r.chance(30) {
		it = append(it, b.attrS("notes", noteTexts[r.intn(len(noteTexts))]))
	}
	it = append(it, ddb.Attr{Name: b.str("gift"), Value: ddb.Value{Kind: ddb.BOOL, Bool: r.chance(15)}})
	if r.chance(40) {
		it = append(it, ddb.Attr{Name: b.str("ratings"), Value: b.pickSet(&r, ddb.NS, ratingSet[:], 1+r.intn(3))})
	}
	if r.chance(10) {
		it = append(it, ddb.Attr{Name: b.str("attachment"), Value: ddb.Value{Kind: ddb.B, Bytes: b.randBytes(&r, 16+r.intn(81))}})
	}
	if r.chance(5) {
		it = append(it, ddb.Attr{Name: b.str("deletedAt"), Value: ddb.Value{Kind: ddb.NULL, Bool: true}})
	}
	it = append(it, ddb.Attr{Name: b.str("version"), Value: b.valN("1")})

	if m.edge && i%edgeEvery == 0 {
		it = m.appendEdge(b, it, i)
	}
	return it
}

// pickSet draws k distinct elements: DynamoDB sets reject duplicates.
func (b *builder) pickSet(r *rng, kind ddb.Kind, from []string, k int) ddb.Value {
	elem := ddb.S
	if kind == ddb.NS {
		elem = ddb.N
	}
	first := r.intn(len(from))
	out := b.valSlice(k)
	for j := range out {
		// Consecutive picks from a random start (mod len) are distinct
		// because k <= len(from).
		out[j] = ddb.Value{Kind: elem, Bytes: b.str(from[(first+j*3)%len(from)])}
	}
	return ddb.Value{Kind: kind, List: out}
}

func setAttr(it ddb.Item, b *builder, name string, v ddb.Value) ddb.Item {
	for k := range it {
		if string(it[k].Name) == name {
			it[k].Value = v
			return it
		}
	}
	return append(it, ddb.Attr{Name: b.str(name), Value: v})
}

func removeAttr(it ddb.Item, name string) ddb.Item {
	for k := range it {
		if string(it[k].Name) == name {
			return append(it[:k], it[k+1:]...)
		}
	}
	return it
}

// mutate applies update u (1-based) of item i: the order moves through its
// life cycle, and along the way attributes change, disappear, or appear
// that no full export ever had (trackingNumber, deliveredAt, returnReason),
// which is what schema evolution has to cope with.
func (m *model) mutate(b *builder, it ddb.Item, i int64, u int32) ddb.Item {
	r := newRng(m.seed, streamMutation, uint64(i)<<12^uint64(u))
	cur := ""
	if v := it.Get("status"); v != nil && v.Kind == ddb.S {
		cur = string(v.Bytes)
	}
	next := cur
	switch cur {
	case "PENDING":
		next = "SHIPPED"
		if r.chance(25) {
			next = "CANCELLED"
		}
	case "SHIPPED":
		next = "DELIVERED"
	case "CANCELLED":
		next = "PENDING"
	}
	it = setAttr(it, b, "status", b.valS(next))
	if next == "SHIPPED" {
		mk := b.mark()
		b.buf = append(b.buf, "1Z"...)
		v := r.next()
		for k := 0; k < 16; k++ {
			b.buf = append(b.buf, "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"[v%34])
			v /= 34
			if v == 0 {
				v = r.next()
			}
		}
		it = setAttr(it, b, "trackingNumber", ddb.Value{Kind: ddb.S, Bytes: b.since(mk)})
	}
	if next == "DELIVERED" && cur != "DELIVERED" {
		at := m.start.Add(time.Duration(u-1)*m.window + time.Duration(r.int63n(int64(m.window/time.Second)))*time.Second)
		mk := b.mark()
		b.buf = at.UTC().AppendFormat(b.buf, "2006-01-02T15:04:05Z")
		it = setAttr(it, b, "deliveredAt", ddb.Value{Kind: ddb.S, Bytes: b.since(mk)})
	}
	if cur == "DELIVERED" && r.chance(30) {
		it = setAttr(it, b, "returnReason", b.valS("Item arrived damaged"))
	}
	switch p := r.intn(100); {
	case p < 20: // remove an attribute
		if it.Get("notes") != nil {
			it = removeAttr(it, "notes")
		} else {
			it = removeAttr(it, "tags")
		}
	case p < 35:
		it = setAttr(it, b, "notes", b.valS(noteTexts[r.intn(len(noteTexts))]))
	case p < 55: // a price adjustment
		it = setAttr(it, b, "amount", b.valCents(int64(100+r.intn(50000))))
	}
	if m.edge && r.chance(10) {
		// Type drift: the same attribute now holds a string, which the
		// table must rescue rather than reject.
		it = setAttr(it, b, "gift", b.valS("yes"))
	}
	return setAttr(it, b, "version", b.valInt(int64(u)+1))
}

// appendEdge adds the attributes that stress decoders and schema inference:
// awkward names, extreme numbers, maximal nesting, mixed lists, escapes.
func (m *model) appendEdge(b *builder, it ddb.Item, i int64) ddb.Item {
	r := newRng(m.seed, streamEdge, uint64(i))
	it = append(it,
		b.attrS("shipping note", "leave at the door"),
		b.attrS("meta.source", "web"),
		b.attrS("größe", "M"),
		b.attrS("注文", "速達"),
		b.attrS("Status", "Upper-case twin of status"),
		b.attrS("it's", "quote in a name"),
		b.attrS("null", "a name that is an Ion keyword"),
		ddb.Attr{Name: b.str("bigInt"), Value: b.valN("12345678901234567890123456789012345678")},
		ddb.Attr{Name: b.str("bigDecimal"), Value: b.valN("-1234567890123456789.0123456789012345678")},
		ddb.Attr{Name: b.str("tiny"), Value: b.valN("0.000001")},
		ddb.Attr{Name: b.str("edgeNumbers"), Value: ddb.Value{Kind: ddb.NS, List: []ddb.Value{
			b.valN("-1"), b.valN("0"), b.valN("3.14159"), b.valN("1000000"), b.valN("0.5"),
		}}},
		b.attrS("empty", ""),
		b.attrS("escapes", "quote\" backslash\\ slash/ newline\n tab\t cr\r ctrl\x01\x1f del\x7f é ß 日本 😀 \u2028 </script>"),
		ddb.Attr{Name: b.str("emptyList"), Value: ddb.Value{Kind: ddb.L, List: []ddb.Value{}}},
		ddb.Attr{Name: b.str("emptyMap"), Value: ddb.Value{Kind: ddb.M, Map: []ddb.Attr{}}},
		ddb.Attr{Name: b.str("binarySet"), Value: ddb.Value{Kind: ddb.BS, List: []ddb.Value{
			{Kind: ddb.B, Bytes: b.randBytes(&r, 5)}, {Kind: ddb.B, Bytes: b.randBytes(&r, 9)},
		}}},
		ddb.Attr{Name: b.str("mixed"), Value: ddb.Value{Kind: ddb.L, List: []ddb.Value{
			b.valS("text"), b.valN("42"), {Kind: ddb.BOOL, Bool: true}, {Kind: ddb.NULL, Bool: true},
			{Kind: ddb.M, Map: []ddb.Attr{b.attrS("k", "v")}},
			{Kind: ddb.L, List: []ddb.Value{b.valN("1.5"), b.valS("x")}},
			{Kind: ddb.B, Bytes: b.randBytes(&r, 4)},
			{Kind: ddb.SS, List: []ddb.Value{b.valS("a"), b.valS("b")}},
		}}},
	)
	// deep is an M whose innermost map is at nesting level ddb.MaxDepth
	// (the attribute's own map is level 1): as deep as DynamoDB allows.
	deep := ddb.Value{Kind: ddb.M, Map: []ddb.Attr{b.attrS("leaf", "bottom")}}
	for d := 1; d < ddb.MaxDepth; d++ {
		deep = ddb.Value{Kind: ddb.M, Map: []ddb.Attr{{Name: b.str("level"), Value: deep}}}
	}
	it = append(it, ddb.Attr{Name: b.str("deep"), Value: deep})
	if i%bigBinaryEvery == 0 {
		it = append(it, ddb.Attr{Name: b.str("bigBinary"), Value: ddb.Value{Kind: ddb.B, Bytes: b.randBytes(&r, bigBinarySize)}})
	}
	return it
}
