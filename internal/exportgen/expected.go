package exportgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// expectedChunk is how many full-export items one task of the expected-state
// writer covers. Each chunk becomes one gzip member, so chunks compress in
// parallel and are concatenated in order: a multi-member gzip file, which
// every gzip reader (Go's included, by default) reads as one stream.
const expectedChunk = 8192

// insKey is a live item inserted by an incremental export. Only these need
// sorting; full-export items are already in key order by index.
type insKey struct {
	pk, sk  string
	idx     int64
	created int16
	ver     int32
}

func insLess(a *insKey, pk, sk []byte) bool {
	if a.pk != string(pk) {
		return a.pk < string(pk)
	}
	return a.sk < string(sk)
}

// expected writes the table state after the export described by info and
// records its path and size there.
func (g *generator) expected(ctx context.Context, info *ExportInfo) error {
	if g.o.SkipExpected {
		return nil
	}
	path := filepath.Join(g.o.Dir, "expected", info.ID+".jsonl.gz")
	ins := g.liveInserted()

	chunks := int((g.m.items + expectedChunk - 1) / expectedChunk)
	if chunks == 0 {
		chunks = 1
	}
	// bounds[t] is the first inserted key at or after chunk t's first item.
	bounds := make([]int, chunks+1)
	var b builder
	for t := 1; t < chunks; t++ {
		b.reset()
		pk, sk, _, _ := g.m.key(&b, int64(t)*expectedChunk, -1)
		bounds[t] = sort.Search(len(ins), func(j int) bool { return !insLess(&ins[j], pk, sk) })
	}
	bounds[chunks] = len(ins)

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("exportgen: %w", err)
	}
	defer f.Close()
	out := bufio.NewWriterSize(f, 1<<20)
	seq := newSequencer(ctx)
	defer seq.stop()
	counts := make([]int64, chunks)
	err = g.parallel(ctx, chunks, func(ctx context.Context, w *worker, t int) error {
		err := g.expectedTask(ctx, w, t, ins[bounds[t]:bounds[t+1]], seq, out, &counts[t])
		if err != nil {
			// Release the workers waiting for this chunk's turn.
			seq.fail(err)
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("exportgen: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("exportgen: write %s: %w", path, err)
	}
	info.ExpectedPath = path
	info.ExpectedItems = 0
	for _, n := range counts {
		info.ExpectedItems += n
	}
	return nil
}

// expectedTask compresses chunk t into its own gzip member, then appends it
// to out when all earlier chunks are there.
func (g *generator) expectedTask(ctx context.Context, w *worker, t int, ins []insKey, seq *sequencer, out *bufio.Writer, count *int64) error {
	var buf bytes.Buffer
	w.fastGz.Reset(&buf)
	w.out = w.fastGz
	w.pend = w.pend[:0]
	n, err := g.expectedChunk(ctx, w, t, ins)
	if err == nil {
		err = w.flush()
	}
	if err == nil {
		err = w.out.Close()
	}
	if err != nil {
		return err
	}
	*count = n
	if err := seq.wait(t); err != nil {
		return err
	}
	_, err = out.Write(buf.Bytes())
	seq.done()
	if err != nil {
		return fmt.Errorf("exportgen: write expected state: %w", err)
	}
	return nil
}

// expectedChunk writes the live items of chunk t merged with the inserted
// keys that sort within it, as full-export JSON lines into w.pend and on to w.out.
func (g *generator) expectedChunk(ctx context.Context, w *worker, t int, ins []insKey) (int64, error) {
	m := g.m
	var n int64
	emit := func(b *builder, idx int64, created int, ver int32) error {
		b.reset()
		it := m.item(b, idx, created, ver)
		w.pend = append(w.pend, `{"Item":`...)
		w.pend = appendJSONItem(w.pend, it)
		w.pend = append(w.pend, '}', '\n')
		n++
		if len(w.pend) >= flushSize {
			return w.flush()
		}
		return nil
	}
	lo := int64(t) * expectedChunk
	hi := min(lo+expectedChunk, m.items)
	p := 0
	for i := lo; i < hi; i++ {
		if i%1024 == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		e := g.st.lookup(i)
		if !e.live {
			continue
		}
		if p < len(ins) {
			w.b1.reset()
			pk, sk, _, _ := m.key(&w.b1, i, -1)
			for p < len(ins) && insLess(&ins[p], pk, sk) {
				k := &ins[p]
				if err := emit(&w.b2, k.idx, int(k.created), k.ver); err != nil {
					return n, err
				}
				p++
			}
		}
		if err := emit(&w.b1, i, -1, e.ver); err != nil {
			return n, err
		}
	}
	for ; p < len(ins); p++ {
		k := &ins[p]
		if err := emit(&w.b2, k.idx, int(k.created), k.ver); err != nil {
			return n, err
		}
	}
	return n, nil
}

// liveInserted lists the live items that incremental exports inserted,
// sorted by (pk, sk).
func (g *generator) liveInserted() []insKey {
	var out []insKey
	var b builder
	for idx, e := range g.st.entries {
		if e.created < 0 || !e.live {
			continue
		}
		b.reset()
		pk, sk, _, _ := g.m.key(&b, idx, int(e.created))
		out = append(out, insKey{pk: string(pk), sk: string(sk), idx: idx, created: e.created, ver: e.ver})
	}
	slices.SortFunc(out, func(a, b insKey) int {
		if a.pk != b.pk {
			if a.pk < b.pk {
				return -1
			}
			return 1
		}
		if a.sk < b.sk {
			return -1
		}
		if a.sk > b.sk {
			return 1
		}
		return 0
	})
	return out
}

// sequencer lets workers that finish chunks out of order write them in
// order. A worker holds at most one finished chunk while it waits, so
// memory stays bounded by the number of workers.
type sequencer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	next   int
	failed error
	stopAf func() bool
}

func newSequencer(ctx context.Context) *sequencer {
	s := &sequencer{}
	s.cond = sync.NewCond(&s.mu)
	// Wake the waiters when the run is cancelled, or they would wait for a
	// chunk nobody is going to write.
	s.stopAf = context.AfterFunc(ctx, func() {
		s.fail(context.Cause(ctx))
	})
	return s
}

func (s *sequencer) wait(t int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.next != t && s.failed == nil {
		s.cond.Wait()
	}
	return s.failed
}

func (s *sequencer) done() {
	s.mu.Lock()
	s.next++
	s.cond.Broadcast()
	s.mu.Unlock()
}

// fail releases every waiter with err.
func (s *sequencer) fail(err error) {
	s.mu.Lock()
	if s.failed == nil {
		s.failed = err
	}
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *sequencer) stop() { s.stopAf() }

// ReadExpected calls fn with each line of an expected-state file (without
// its newline), in (pk, sk) order. The slice is only valid during the call.
// It stops at the first error fn returns.
func ReadExpected(ctx context.Context, path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("exportgen: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return fmt.Errorf("exportgen: %s: %w", path, err)
	}
	defer zr.Close()
	sc := bufio.NewScanner(zr)
	// DynamoDB items reach 400 KB; their JSON (base64 binaries) is larger.
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	for n := 0; sc.Scan(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("exportgen: %s: %w", path, err)
	}
	return nil
}
