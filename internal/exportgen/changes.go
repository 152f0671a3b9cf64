package exportgen

import "time"

// op is the kind of change an incremental export record carries.
type op uint8

const (
	opInsert op = iota + 1
	opUpdate
	opDelete
)

// change is one record of an incremental export.
type change struct {
	idx     int64
	ts      int64 // WriteTimestampMicros
	ver     int32 // version of NewImage (insert, update) or of the deleted item
	created int16 // export that inserted the key; -1 for full-export items
	op      op
	part    uint16 // data file the record goes to
}

// entry is what is remembered about an item once a change touched it;
// untouched full-export items have no entry (version 0, live).
type entry struct {
	ver     int32
	created int16
	live    bool
}

// state is the change log folded into the current version of every touched
// key. Its size is bounded by the number of changes, never by Items.
type state struct {
	entries map[int64]entry
	next    int64   // index of the next new key
	deleted []int64 // deleted keys that may be re-inserted later
}

func newState(items int64) *state {
	return &state{entries: make(map[int64]entry), next: items}
}

func (s *state) lookup(idx int64) entry {
	if e, ok := s.entries[idx]; ok {
		return e
	}
	return entry{created: -1, live: true}
}

// maxPickAttempts bounds the search for a live, not yet changed key; when
// it fails (a table almost entirely deleted) the change becomes an insert.
const maxPickAttempts = 32

// plan draws incremental export k's changes and applies them to the state.
// Keys are drawn by index, so no key list is needed; touched enforces
// DynamoDB's one record per item per export.
func (g *generator) plan(k int) []change {
	n := g.o.ChangesPerIncremental
	st := g.st
	touched := make(map[int64]struct{}, n)
	from := g.m.windowStart(k).UnixMicro()
	width := g.o.Window.Microseconds()
	out := make([]change, 0, n)
	for j := 0; j < n; j++ {
		r := newRng(g.m.seed, streamPlan, uint64(k)<<32|uint64(j))
		p := r.intn(100)
		ch := change{ts: from + r.int63n(width)}
		picked := false
		if p < 85 {
			for a := 0; a < maxPickAttempts && st.next > 0 && !picked; a++ {
				idx := r.int63n(st.next)
				if _, t := touched[idx]; t {
					continue
				}
				e := st.lookup(idx)
				if !e.live {
					continue
				}
				ch.idx, ch.created = idx, e.created
				if p < 60 {
					e.ver++
					ch.op, ch.ver = opUpdate, e.ver
				} else {
					e.live = false
					ch.op, ch.ver = opDelete, e.ver
					st.deleted = append(st.deleted, idx)
				}
				st.entries[idx] = e
				picked = true
			}
		}
		if !picked && len(st.deleted) > 0 && r.chance(30) {
			// Re-insert a key deleted by an earlier export (one deleted by
			// this export is in touched).
			d := r.intn(len(st.deleted))
			idx := st.deleted[d]
			if _, t := touched[idx]; !t {
				st.deleted[d] = st.deleted[len(st.deleted)-1]
				st.deleted = st.deleted[:len(st.deleted)-1]
				e := st.entries[idx]
				e.live = true
				e.ver++
				st.entries[idx] = e
				ch.idx, ch.created, ch.op, ch.ver = idx, e.created, opInsert, e.ver
				picked = true
			}
		}
		if !picked {
			idx := st.next
			st.next++
			st.entries[idx] = entry{created: int16(k), live: true}
			ch.idx, ch.created, ch.op, ch.ver = idx, int16(k), opInsert, 0
			// A new order is written when it is placed.
			_, t := g.m.customer(idx, k)
			ch.ts = t.UnixMicro() + r.int63n(int64(time.Second/time.Microsecond))
		}
		touched[ch.idx] = struct{}{}
		c, _ := g.m.customer(ch.idx, int(ch.created))
		ch.part = uint16(g.incParts.of(c))
		out = append(out, ch)
	}
	return out
}
