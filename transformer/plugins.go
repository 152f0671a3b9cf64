package transformer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/plugins"
)

// Plugin batches are cut at this many items or bytes of export lines,
// whichever comes first: large enough to amortize a call into the guest,
// small enough that the kept lines stay in the CPU cache (see RATIONALE.md,
// "Items waiting for a plugin are kept"), that isolating a bad item takes
// few calls and that the copies held for dead letters stay small.
const (
	pluginBatchItems = 64
	pluginBatchBytes = 1 << 20
)

// fedItem is an item waiting in a feed.
type fedItem struct {
	line           int
	ts             int64 // write timestamp of an incremental change, else 0
	encEnd, rawEnd int   // ends of its encoding and export line in the feed
}

// feed gathers items for a worker's plugin chain and hands each batch's
// outcomes to its callback, in input order. It keeps the records of the
// items it holds with dec.Keep, which costs nothing per item (decoding
// the items again from their encodings cost more than the plugin call),
// and copies their lines for dead letters.
type feed struct {
	chain *plugins.Chain
	dec   ddb.Decoder // the decoder of the items added
	key   []string
	enc   []byte // the items' plugin encodings, back to back
	raw   []byte // their export lines, for dead letters
	in    []ddb.Item
	items []fedItem
	// fn receives each input item (valid during the call), where it came
	// from, its export line, and what the chain made of it.
	fn func(in ddb.Item, it fedItem, raw []byte, o *plugins.Outcome) error
}

// add queues an item, the last one f.dec decoded, and runs the batch when
// it is full; flushed says whether it did.
func (f *feed) add(ctx context.Context, in ddb.Item, line int, raw []byte, ts int64) (flushed bool, err error) {
	f.dec.Keep()
	f.in = append(f.in, in)
	f.enc = plugins.AppendItem(f.enc, in)
	f.raw = append(f.raw, raw...)
	f.items = append(f.items, fedItem{line: line, ts: ts, encEnd: len(f.enc), rawEnd: len(f.raw)})
	if len(f.items) < pluginBatchItems && len(f.raw) < pluginBatchBytes {
		return false, nil
	}
	return true, f.flush(ctx)
}

// flush runs the queued items through the chain.
func (f *feed) flush(ctx context.Context) error {
	if len(f.items) == 0 {
		return nil
	}
	in := f.in
	outs, err := f.chain.RunEncoded(ctx, in, f.enc, f.key)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return permanent(fmt.Errorf("%w; fix the plugin or its configuration (floe plugin test helps) and rerun", err))
	}
	rawStart := 0
	for i, it := range f.items {
		if err := f.fn(in[i], it, f.raw[rawStart:it.rawEnd], &outs[i]); err != nil {
			return err
		}
		rawStart = it.rawEnd
	}
	clear(f.in) // the items' memory is the decoder's again
	f.enc, f.raw, f.in, f.items = f.enc[:0], f.raw[:0], f.in[:0], f.items[:0]
	f.dec.Release()
	return nil
}

// deadLetter publishes an item a plugin failed to the dead-letter
// stream: d says where it came from, f why it failed. Its message id makes
// a retried task's dead letter a duplicate the server drops.
//
// It goes on the subject of the task's export attempt (for a replay, the
// replay's), which the committer purges if the attempt fails.
func (t *Transformer) deadLetter(ctx context.Context, task *natsbus.Task, d *natsbus.DeadLetter, f *plugins.Failure) error {
	d.Plugin, d.Error, d.Time = f.Plugin.String(), f.Err.Error(), time.Now().UTC()
	body, err := json.Marshal(d)
	if err != nil {
		return err
	}
	m := nats.NewMsg(natsbus.DeadLetterSubject(task.Table, task.ExportID, task.Attempt))
	m.Header.Set(jetstream.MsgIDHeader, d.MsgID())
	m.Data = body
	if err := t.publish(ctx, m); err != nil {
		return fmt.Errorf("dead-lettering line %d of %s: %w", d.Line, d.Source, err)
	}
	t.Stats.Failed.Add(1)
	t.log.Warn("plugin failed an item; it is in the dead-letter stream", "file", d.Source, "line", d.Line, "plugin", d.Plugin, "err", d.Error)
	return nil
}

// keyOf returns the key attributes of an item, for the delete an
// incremental change becomes when a plugin drops its new image.
func keyOf(it ddb.Item, key []string) ddb.Item {
	out := make(ddb.Item, 0, len(key))
	for _, a := range it {
		for _, k := range key {
			if string(a.Name) == k {
				out = append(out, a)
			}
		}
	}
	return out
}

// newChain returns a worker's plugin chain, or nil without plugins.
func (t *Transformer) newChain() *plugins.Chain {
	if len(t.plugins) == 0 {
		return nil
	}
	return plugins.NewChain(t.plugins, plugins.ChainOptions{})
}
