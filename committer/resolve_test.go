package committer

import (
	"fmt"
	"slices"
	"testing"
)

// TestResolve checks which version of a key survives a merge and which
// rows are deleted by position.
func TestResolve(t *testing.T) {
	const (
		old  = 0 // a data file the table holds
		new1 = 1 // a data file of the export
	)
	tomb := func(ts int64) candidate { return candidate{file: -1, ts: ts} }
	row := func(file int32, pos, ts int64) candidate { return candidate{file: file, pos: pos, ts: ts} }
	tests := []struct {
		name        string
		cands       []candidate
		wantDeleted map[int32][]int64
		want        mergeStats
	}{
		{"insert", []candidate{row(new1, 0, 10)}, nil, mergeStats{upserts: 1}},
		{"update of a full-export row", []candidate{row(old, 5, noTS), row(new1, 0, 10)},
			map[int32][]int64{old: {5}}, mergeStats{upserts: 1, deletedRows: 1}},
		{"update of an older change", []candidate{row(old, 5, 7), row(new1, 0, 10)},
			map[int32][]int64{old: {5}}, mergeStats{upserts: 1, deletedRows: 1}},
		{"delete", []candidate{row(old, 3, noTS), tomb(10)},
			map[int32][]int64{old: {3}}, mergeStats{deletes: 1, deletedRows: 1}},
		{"delete of a key the table lacks", []candidate{tomb(10)}, nil, mergeStats{deletes: 1}},
		{"change older than the table's row", []candidate{row(old, 2, 20), row(new1, 0, 10)},
			map[int32][]int64{new1: {0}}, mergeStats{stale: 1, deletedRows: 1}},
		{"delete older than the table's row", []candidate{row(old, 2, 20), tomb(10)}, nil, mergeStats{stale: 1}},
		{"replayed change (same timestamp) keeps the table's row", []candidate{row(old, 2, 10), row(new1, 0, 10)},
			map[int32][]int64{new1: {0}}, mergeStats{stale: 1, deletedRows: 1}},
		{"two versions in the export: newest wins", []candidate{row(new1, 0, 30), row(new1, 1, 10), row(old, 4, noTS)},
			map[int32][]int64{new1: {1}, old: {4}}, mergeStats{upserts: 1, deletedRows: 2}},
		{"delete newer than an upsert of the same export", []candidate{row(new1, 0, 10), tomb(20), row(old, 1, noTS)},
			map[int32][]int64{new1: {0}, old: {1}}, mergeStats{deletes: 1, deletedRows: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &merge{
				files: []*mergeFile{{existing: true}, {}},
				cands: [][]candidate{tt.cands},
			}
			m.resolve()
			for fi, mf := range m.files {
				got := slices.Sorted(slices.Values(mf.added))
				if want := tt.wantDeleted[int32(fi)]; !slices.Equal(got, want) {
					t.Errorf("file %d: deleted positions %v, want %v", fi, got, want)
				}
			}
			if m.stats != tt.want {
				t.Errorf("stats %+v, want %+v", m.stats, tt.want)
			}
		})
	}
}

// TestKeyFilter: every key of the merge passes the filter (a miss would
// lose a row to delete), and most other keys do not.
func TestKeyFilter(t *testing.T) {
	m := &merge{index: map[string]int32{}}
	for i := range 20000 {
		m.index[fmt.Sprintf("CUSTOMER#%06d|ORDER#%d", i, i*7)] = int32(i)
	}
	f := m.keyFilter()
	for k := range m.index {
		if !f.mayContain([]byte(k)) {
			t.Fatalf("key %q of the merge is rejected", k)
		}
	}
	fp := 0
	for i := range 20000 {
		if f.mayContain([]byte(fmt.Sprintf("CUSTOMER#%06d|ORDER#%d", i, i*7+1))) {
			fp++
		}
	}
	if fp > 20000/10 {
		t.Fatalf("%d of 20000 other keys pass the filter; want under 10%%", fp)
	}
}
