package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/floe-io/floe/internal/ddb"
)

// MaxStructFields is the number of distinct names above which an M
// attribute is treated as open-ended and stored as a map rather than a
// struct: a struct with thousands of sparse columns helps no reader.
const MaxStructFields = 64

// Stats summarises the values seen at one attribute path. Stats gathered
// over different files merge, so detection runs in parallel per file and
// the results travel between processes as JSON.
type Stats struct {
	// Kinds counts values by ddb.Kind.
	Kinds [ddb.M + 1]int64 `json:"kinds"`
	// Number facts over N values and NS elements.
	NonInt       bool `json:"nonInt,omitempty"`
	MaxScale     int  `json:"maxScale,omitempty"`
	MaxIntDigits int  `json:"maxIntDigits,omitempty"`
	BadNumber    bool `json:"badNumber,omitempty"`
	// Elem summarises list and set elements.
	Elem *Stats `json:"elem,omitempty"`
	// Order and Fields summarise M entries, in first-seen order.
	Order  []string          `json:"order,omitempty"`
	Fields map[string]*Stats `json:"fields,omitempty"`
	// Examples holds one item key per kind seen, for conflict reports.
	Examples map[string]string `json:"examples,omitempty"`
}

// Detector accumulates Stats over the items of an export.
type Detector struct {
	key     []string
	root    Stats
	items   int64
	scratch []byte
}

// NewDetector returns a detector for a table with the given key
// attributes (used to name example items in conflict reports).
func NewDetector(key []string) *Detector {
	return &Detector{key: key}
}

// Items returns the number of items observed.
func (d *Detector) Items() int64 { return d.items }

// Stats returns the accumulated statistics of the item's attributes.
func (d *Detector) Stats() *Stats { return &d.root }

// Observe adds one item.
func (d *Detector) Observe(it ddb.Item) {
	d.items++
	d.observeFields(&d.root, it, it, 0)
}

func (d *Detector) observeFields(s *Stats, attrs []ddb.Attr, item ddb.Item, depth int) {
	if s.Fields == nil {
		s.Fields = make(map[string]*Stats, len(attrs))
	}
	for i := range attrs {
		fs := s.Fields[string(attrs[i].Name)]
		if fs == nil {
			name := string(attrs[i].Name)
			fs = &Stats{}
			s.Fields[name] = fs
			s.Order = append(s.Order, name)
		}
		d.observe(fs, &attrs[i].Value, item, depth+1)
	}
}

func (d *Detector) observe(s *Stats, v *ddb.Value, item ddb.Item, depth int) {
	s.Kinds[v.Kind]++
	if s.Kinds[v.Kind] == 1 {
		if s.Examples == nil {
			s.Examples = make(map[string]string, 1)
		}
		s.Examples[v.Kind.String()] = KeyString(item, d.key)
	}
	switch v.Kind {
	case ddb.N:
		d.number(s, v.Bytes)
	case ddb.SS, ddb.NS, ddb.BS, ddb.L:
		if s.Elem == nil {
			s.Elem = &Stats{}
		}
		for i := range v.List {
			d.observe(s.Elem, &v.List[i], item, depth+1)
		}
	case ddb.M:
		d.observeFields(s, v.Map, item, depth)
	}
}

func (d *Detector) number(s *Stats, text []byte) {
	n, ok := ParseNumber(text, d.scratch)
	if cap(n.Digits) > cap(d.scratch) {
		d.scratch = n.Digits[:0] // keep a grown buffer; a failed parse returns none
	}
	if !ok {
		s.BadNumber = true
		return
	}
	if _, isInt := n.Int64(); !isInt {
		s.NonInt = true
	}
	s.MaxScale = max(s.MaxScale, n.Scale())
	s.MaxIntDigits = max(s.MaxIntDigits, n.IntDigits())
}

// KeyString renders an item's key for messages: pk=CUSTOMER#1, sk=ORDER#9.
func KeyString(it ddb.Item, key []string) string {
	var b strings.Builder
	for i, k := range key {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		if v := it.Get(k); v != nil {
			if v.Kind == ddb.B {
				fmt.Fprintf(&b, "%x", v.Bytes)
			} else {
				b.Write(v.Bytes)
			}
		} else {
			b.WriteString("<missing>")
		}
	}
	return b.String()
}

// Merge adds o into s.
func (s *Stats) Merge(o *Stats) {
	for k, c := range o.Kinds {
		s.Kinds[k] += c
	}
	s.NonInt = s.NonInt || o.NonInt
	s.BadNumber = s.BadNumber || o.BadNumber
	s.MaxScale = max(s.MaxScale, o.MaxScale)
	s.MaxIntDigits = max(s.MaxIntDigits, o.MaxIntDigits)
	if o.Elem != nil {
		if s.Elem == nil {
			s.Elem = &Stats{}
		}
		s.Elem.Merge(o.Elem)
	}
	for _, name := range o.Order {
		fs := s.Fields[name]
		if fs == nil {
			if s.Fields == nil {
				s.Fields = make(map[string]*Stats, len(o.Order))
			}
			fs = &Stats{}
			s.Fields[name] = fs
			s.Order = append(s.Order, name)
		}
		fs.Merge(o.Fields[name])
	}
	for k, v := range o.Examples {
		if s.Examples == nil {
			s.Examples = make(map[string]string, len(o.Examples))
		}
		if _, ok := s.Examples[k]; !ok {
			s.Examples[k] = v
		}
	}
}

// Conflict reports an attribute whose values have more than one type. The
// column takes the most common type; the other values are rescued.
type Conflict struct {
	Path     string           // attribute path, e.g. address.zip
	Chosen   ddb.Kind         // the type the column takes
	Counts   map[string]int64 // values seen per type
	Examples map[string]string
}

// String describes the conflict for logs and `floe schema detect`: the
// types seen with their counts and an example item each, in a stable
// order.
func (c Conflict) String() string {
	kinds := make([]string, 0, len(c.Counts))
	for k := range c.Counts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "attribute %q has %d types:", c.Path, len(kinds))
	for _, k := range kinds {
		fmt.Fprintf(&b, " %s×%d (e.g. %s)", k, c.Counts[k], c.Examples[k])
	}
	fmt.Fprintf(&b, "; the column takes %s, other values go to %s", c.Chosen, RescuedColumn)
	return b.String()
}

// Decide turns statistics into a schema with the default type mapping
// (see DESIGN.md, Table semantics). Column names are assigned with the
// given mode.
func Decide(root *Stats, key []string, mode ColumnNames) (*Schema, []Conflict, error) {
	if len(key) == 0 {
		return nil, nil, fmt.Errorf("schema: the table key is unknown: pass --key PK[,SK] (a full export does not record its key schema)")
	}
	var conflicts []Conflict
	s := &Schema{Key: key}
	for _, name := range root.Order {
		t := decideType(name, root.Fields[name], &conflicts)
		if slices.Contains(key, name) && t.Kind == ddb.N && t.Num == NumDecimal {
			t.Num, t.Scale = NumText, 0 // fractional keys stay exact as text
		}
		s.Fields = append(s.Fields, Field{Name: name, Type: t})
	}
	for _, k := range key {
		if root.Fields[k] == nil {
			return nil, conflicts, fmt.Errorf("schema: key attribute %q does not occur in the export; check --key", k)
		}
	}
	if err := orderKeysFirst(s); err != nil {
		return nil, conflicts, err
	}
	AssignColumns(s.Fields, mode)
	return s, conflicts, s.Validate()
}

func decideType(path string, st *Stats, conflicts *[]Conflict) Type {
	kind := majorityKind(path, st, conflicts)
	t := Type{Kind: kind}
	switch kind {
	case ddb.N:
		t.Num, t.Scale = decideNumber(st)
	case ddb.NS:
		t.Num, t.Scale = decideNumber(st.Elem)
	case ddb.L:
		if st.Elem != nil {
			var inner []Conflict
			ek := majorityKind(path+"[]", st.Elem, &inner)
			// A list whose elements disagree has no Iceberg type; it is
			// stored as JSON text, exactly.
			if len(inner) == 0 && ek != ddb.NULL {
				e := decideType(path+"[]", st.Elem, conflicts)
				t.Elem = &e
			}
		}
	case ddb.M:
		if len(st.Order) > MaxStructFields {
			merged := &Stats{}
			for _, name := range st.Order {
				merged.Merge(st.Fields[name])
			}
			var inner []Conflict
			vk := majorityKind(path+"{}", merged, &inner)
			if len(inner) == 0 && vk != ddb.NULL {
				v := decideType(path+"{}", merged, conflicts)
				t.Map, t.Values = MapMap, &v
			} else {
				t.Map = MapJSON
			}
			break
		}
		if len(st.Order) == 0 {
			// Only empty maps seen: Parquet has no empty groups, and JSON
			// keeps "{}" exact.
			t.Map = MapJSON
			break
		}
		t.Map = MapStruct
		for _, name := range st.Order {
			t.Fields = append(t.Fields, Field{Name: name, Type: decideType(path+"."+name, st.Fields[name], conflicts)})
		}
	}
	return t
}

// majorityKind picks the most common non-NULL kind; NULL fits every
// column as a null value. Ties go to the lower Kind, for determinism.
func majorityKind(path string, st *Stats, conflicts *[]Conflict) ddb.Kind {
	best, seen := ddb.NULL, 0
	var bestN int64
	for k := ddb.S; k <= ddb.M; k++ {
		if k == ddb.NULL || st.Kinds[k] == 0 {
			continue
		}
		seen++
		if st.Kinds[k] > bestN {
			best, bestN = k, st.Kinds[k]
		}
	}
	if seen > 1 {
		c := Conflict{Path: path, Chosen: best, Counts: map[string]int64{}, Examples: map[string]string{}}
		for k := ddb.S; k <= ddb.M; k++ {
			if k != ddb.NULL && st.Kinds[k] > 0 {
				c.Counts[k.String()] = st.Kinds[k]
				c.Examples[k.String()] = st.Examples[k.String()]
			}
		}
		*conflicts = append(*conflicts, c)
	}
	return best
}

func decideNumber(st *Stats) (NumRepr, int) {
	switch {
	case st == nil || st.BadNumber:
		return NumText, 0
	case !st.NonInt:
		return NumLong, 0
	case st.MaxIntDigits+st.MaxScale <= MaxDecimalPrecision:
		return NumDecimal, st.MaxScale
	default:
		return NumText, 0
	}
}

// SortConflicts orders conflicts by path, for stable reports.
func SortConflicts(cs []Conflict) {
	slices.SortFunc(cs, func(a, b Conflict) int { return cmp.Compare(a.Path, b.Path) })
}
