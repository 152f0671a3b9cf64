package plugins

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/floe-io/floe/internal/ddb"
)

// Counts is what a chain made of a run of items: In = Kept + Dropped +
// Failed.
type Counts struct {
	In, Kept, Dropped, Failed int64
	// Time is the time spent in the chain.
	Time time.Duration
}

// LineBatch is how many items RunLines passes to the chain at once, as a
// transformer does.
const LineBatch = 256

// RunLines runs the chain on DynamoDB JSON lines read from r, in batches
// of LineBatch, and calls fn with each line's number, input item and
// outcome, in order. A line is an export line ({"Item": {...}}, or an
// incremental record, whose NewImage is used) or a bare item
// ({"id": {"S": "a"}, ...}); blank lines are skipped. It is the engine of
// floe plugin test.
func RunLines(ctx context.Context, c *Chain, r io.Reader, key []string, fn func(line int, in ddb.Item, o *Outcome) error) (Counts, error) {
	var (
		n     Counts
		dec   = ddb.NewJSONDecoder()
		items []ddb.Item
		lines []int
	)
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		start := time.Now()
		outs, err := c.Run(ctx, items, key)
		n.Time += time.Since(start)
		if err != nil {
			return err
		}
		for i := range outs {
			o := &outs[i]
			n.In++
			switch {
			case o.Failure != nil:
				n.Failed++
			case o.Dropped():
				n.Dropped++
			default:
				n.Kept++
			}
			if err := fn(lines[i], items[i], o); err != nil {
				return err
			}
		}
		items, lines = items[:0], lines[:0]
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		it, err := decodeLine(dec, b)
		if err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		items = append(items, it)
		lines = append(lines, line)
		if len(items) == LineBatch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("after line %d: %w", line, err)
	}
	return n, flush()
}

// decodeLine decodes an export line or a bare item into a copy.
func decodeLine(dec ddb.Decoder, b []byte) (ddb.Item, error) {
	rec, err := dec.Decode(b)
	if err == nil {
		switch {
		case rec.Item != nil:
			return rec.Item.Clone(), nil
		case rec.NewImage != nil:
			return rec.NewImage.Clone(), nil
		}
		return nil, errors.New("an incremental record without a NewImage (a delete) has no item for a plugin")
	}
	wrapped := append(append([]byte(`{"Item":`), b...), '}')
	rec, werr := dec.Decode(wrapped)
	switch {
	case werr == nil && rec.Item != nil:
		return rec.Item.Clone(), nil
	case isRecord(b):
		return nil, err
	case werr != nil:
		return nil, werr
	}
	return nil, errors.New("neither an export line nor a DynamoDB JSON item")
}

// isRecord reports whether a line looks like an export record rather than
// a bare item, to say what is wrong with it in the right terms.
func isRecord(b []byte) bool {
	for _, f := range []string{`"Item"`, `"NewImage"`, `"Keys"`, `"Metadata"`} {
		if bytes.Contains(b, []byte(f)) {
			return true
		}
	}
	return false
}
