package arrowconv

import (
	"strconv"
	"strings"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/schema"
)

// itemSource turns fuzz input into items deterministically; it yields
// zeros once the input is used up, so every input makes finite items.
type itemSource struct{ b []byte }

func (s *itemSource) next(n int) int {
	if len(s.b) == 0 || n <= 1 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return int(c) % n
}

var (
	fuzzNames   = []string{"a", "b", "c", "A", "x y", "é", "_rescued", "n", "m", "l"}
	fuzzStrings = []string{"", "x", "héllo", `quote " and \ slash`, "tab\tnewline\n", "日本語", "\u2028", "PK#1"}
	fuzzNumbers = []string{
		"0", "-0", "1", "-1", "42", "12.5", "-0.001", "1E+3", "1.5e-7", "9223372036854775807",
		"-9223372036854775808", "9223372036854775808", digits38, "0." + digits38, "1E+40", "1E-130", "9.99E+125", "100.00",
	}
)

const digits38 = "12345678901234567890123456789012345678"

func (s *itemSource) number() string {
	if s.next(4) > 0 {
		return fuzzNumbers[s.next(len(fuzzNumbers))]
	}
	// Digits from the input, with a point and exponent sometimes.
	var b strings.Builder
	if s.next(2) == 1 {
		b.WriteByte('-')
	}
	for range 1 + s.next(40) {
		b.WriteByte(byte('0' + s.next(10)))
	}
	if s.next(2) == 1 {
		b.WriteByte('.')
		for range 1 + s.next(40) {
			b.WriteByte(byte('0' + s.next(10)))
		}
	}
	if s.next(3) == 1 {
		b.WriteString("E" + strconv.Itoa(s.next(80)-40))
	}
	return b.String()
}

func (s *itemSource) value(depth int) ddb.Value {
	switch k := s.next(11); {
	case k == 0:
		return vS(fuzzStrings[s.next(len(fuzzStrings))])
	case k == 1:
		return vN(s.number())
	case k == 2:
		return vB(fuzzStrings[s.next(len(fuzzStrings))])
	case k == 3:
		return vBool(s.next(2) == 1)
	case k == 4:
		return vNull()
	case k == 5, k == 6, k == 7:
		v := ddb.Value{Kind: []ddb.Kind{ddb.SS, ddb.NS, ddb.BS}[k-5]}
		for range 1 + s.next(4) {
			switch v.Kind {
			case ddb.SS:
				v.List = append(v.List, vS(fuzzStrings[s.next(len(fuzzStrings))]))
			case ddb.NS:
				v.List = append(v.List, vN(s.number()))
			default:
				v.List = append(v.List, vB(fuzzStrings[s.next(len(fuzzStrings))]))
			}
		}
		return v
	case depth >= 6:
		return vS("deep")
	case k == 8:
		v := vL()
		for range s.next(5) {
			v.List = append(v.List, s.value(depth+1))
		}
		return v
	default:
		v := vM()
		n := s.next(6)
		if s.next(16) == 0 {
			n = schema.MaxStructFields + s.next(4) // open-ended: a map column
		}
		// Names are distinct, as DynamoDB's are: a repeated nested name
		// would be rescued as JSON no decoder reads back (Append's own
		// handling of it has TestBuilderDuplicateStructField).
		start := s.next(len(fuzzNames))
		for i := range n {
			name := fuzzNames[(start+i)%len(fuzzNames)]
			if n > len(fuzzNames) {
				name = "k" + strconv.Itoa(i)
			}
			v.Map = append(v.Map, at(name, s.value(depth+1)))
		}
		return v
	}
}

// items makes up to 16 items, each with a unique pk. An item may repeat
// an attribute name, which Append must refuse.
func (s *itemSource) items() []ddb.Item {
	var out []ddb.Item
	for i := range 1 + s.next(16) {
		it := item(at("pk", vS("p"+strconv.Itoa(i))))
		for range s.next(8) {
			it = append(it, at(fuzzNames[s.next(len(fuzzNames))], s.value(1)))
		}
		out = append(out, it)
	}
	return out
}

func hasDuplicate(it ddb.Item) bool {
	seen := map[string]bool{}
	for _, a := range it {
		if seen[string(a.Name)] {
			return true
		}
		seen[string(a.Name)] = true
	}
	return false
}

// FuzzBuilder appends random items to a builder whose schema was decided
// over all of them, or over the first few only (so that later items
// drift and bring unknown attributes). Append never panics, refuses
// exactly the items that repeat a name, and the batch is valid Arrow from
// which every appended item reads back unchanged: nothing is lost.
func FuzzBuilder(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x05\x03\x00\x01\x02\x01\x05\x09\x04\x09\x08\x03\x02\x07\x05\x06"))
	f.Add([]byte("\x0f\x07\x08\x09\x09\x09\x09\x09\x03\x02\x01\x00\x0a\x0a\x0a\x07\x08\x02\x06"))
	f.Add([]byte(strings.Repeat("\x07\x09\x0a\x01\x03", 40)))
	f.Add([]byte(strings.Repeat("\x0c\x08\x02\x1a\x05\x0a\x10\x00\x11", 30)))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &itemSource{b: data}
		sample := src.next(4) // 0: decide over all items, else over the first n
		items := src.items()
		seen := items
		if sample > 0 && sample < len(items) {
			seen = items[:sample]
		}
		d := schema.NewDetector([]string{"pk"})
		for _, it := range seen {
			d.Observe(it)
		}
		s, _, err := schema.Decide(d.Stats(), []string{"pk"}, []schema.ColumnNames{schema.ColumnsAsIs, schema.ColumnsSanitize}[len(data)%2])
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		b, release := newBuilder(t, s)
		defer release()
		var appended []ddb.Item
		for i, it := range items {
			err := b.Append(it, int64(i))
			if dup := hasDuplicate(it); (err != nil) != dup {
				t.Fatalf("item %d (duplicate names: %v): Append = %v", i, dup, err)
			}
			if err == nil {
				appended = append(appended, it)
			}
			if b.Len() != len(appended) {
				t.Fatalf("Len %d after %d items appended", b.Len(), len(appended))
			}
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		if rec.NumRows() != int64(len(appended)) {
			t.Fatalf("%d rows for %d items", rec.NumRows(), len(appended))
		}
		if err := validateRecord(rec); err != nil {
			t.Fatalf("invalid batch: %v", err)
		}
		for i, got := range rowItems(t, rec, s) {
			if g, w := canonItem(got), canonItem(appended[i]); g != w {
				t.Fatalf("row %d reads back as\n%s\nwant\n%s", i, g, w)
			}
		}
	})
}
