package ddb

import (
	"fmt"
	"strings"
	"testing"
)

// TestKeep decodes lines of varied items, keeping every other one, and
// checks that each kept record still holds its line's values after
// further decodes and after the recycled memory has been reused, and that
// a released huge slot is not recycled.
func TestKeep(t *testing.T) {
	items := make([]Item, 40)
	for i := range items {
		items[i] = item(
			at("pk", vS(fmt.Sprintf("user#%d", i))),
			at("n", vN(fmt.Sprint(i*7))),
			at("m", vM(at("city", vS(strings.Repeat("x", i))), at("tags", vSS("a", fmt.Sprint(i))))),
			at("b", vB(fmt.Sprintf("bin-%d", i))),
		)
	}
	huge := item(at("pk", vS("huge")), at("blob", vS(strings.Repeat("h", maxRecycledLine+1))))
	for _, tt := range []struct {
		format string
		line   func(Item) []byte
	}{
		{"DYNAMODB_JSON", func(it Item) []byte { return AppendRecordJSON(nil, Record{Item: it}) }},
		{"ION", func(it Item) []byte { return AppendRecordIon(nil, Record{Item: it}) }},
	} {
		t.Run(tt.format, func(t *testing.T) {
			d, err := NewDecoder(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			for round := range 3 {
				var kept []Item
				var want []Item
				for i, it := range items {
					rec, err := d.Decode(tt.line(it))
					if err != nil {
						t.Fatalf("round %d item %d: %v", round, i, err)
					}
					if i%2 == 0 {
						d.Keep()
						kept, want = append(kept, rec.Item), append(want, it)
					}
				}
				rec, err := d.Decode(tt.line(huge))
				if err != nil || !rec.Item.Equal(huge) {
					t.Fatalf("round %d: huge item: %v", round, err)
				}
				d.Keep()
				for i := range kept {
					if !kept[i].Equal(want[i]) {
						t.Fatalf("round %d: kept item %d changed: %.120v, want %.120v", round, i, kept[i], want[i])
					}
				}
				d.Release()
			}
			var s *slots
			switch d := d.(type) {
			case *JSONDecoder:
				s = &d.s
			case *IonDecoder:
				s = &d.s
			}
			if len(s.kept) != 0 || len(s.free) != len(items)/2 {
				t.Errorf("after Release: %d kept, %d free slots, want 0 and %d (the huge line's slot dropped)", len(s.kept), len(s.free), len(items)/2)
			}
		})
	}
}

// TestKeepAllocs checks that a decoder that keeps and releases batches of
// records reuses their memory: no allocation per record in steady state.
func TestKeepAllocs(t *testing.T) {
	d := NewJSONDecoder()
	line := []byte(orderJSON)
	batch := func() {
		for range 16 {
			if _, err := d.Decode(line); err != nil {
				t.Fatal(err)
			}
			d.Keep()
		}
		d.Release()
	}
	batch()
	if allocs := testing.AllocsPerRun(100, batch); allocs > 0.5 {
		t.Errorf("a batch of 16 kept records allocates %.1f times in steady state, want 0", allocs)
	}
}
