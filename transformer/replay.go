package transformer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/natsbus"
)

// read streams a task's records to fn: the lines of its data file, or,
// for a replay, the records of its dead letters, whose provenance it
// keeps by line in letters (when not nil) for dead-lettering them again.
// A data file's lines are decoded with dec; a dead letter's with a decoder
// of its own, so that its record stays valid like a kept one.
func (t *Transformer) read(ctx context.Context, task *natsbus.Task, letters map[int]*natsbus.DeadLetter, dec ddb.Decoder, fn func(rec ddb.Record, line int, raw []byte) error) error {
	if task.ExportType != natsbus.TypeReplay {
		st, err := t.store(ctx, task.Source)
		if err != nil {
			return err
		}
		return ReadFile(ctx, st, dec, task.File, fn)
	}
	stream, err := t.js.Stream(ctx, natsbus.DeadLetterStream)
	if err != nil {
		return fmt.Errorf("dead-letter stream: %w", err)
	}
	for i, seq := range task.File.Seqs {
		msg, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return permanent(fmt.Errorf("dead letter %d is gone (purged, or replayed by another floe dlq replay): replay again to take what is left", seq))
		}
		if err != nil {
			return fmt.Errorf("reading dead letter %d: %w", seq, err)
		}
		d := new(natsbus.DeadLetter)
		if err := json.Unmarshal(msg.Data, d); err != nil {
			return permanent(fmt.Errorf("dead letter %d is malformed: %w", seq, err))
		}
		if d.Table != task.Table {
			return permanent(fmt.Errorf("dead letter %d belongs to table %s, not %s", seq, d.Table, task.Table))
		}
		dec, err := NewDecoder(d.Format)
		if err != nil {
			return fmt.Errorf("dead letter %d: %w", seq, err)
		}
		rec, err := dec.Decode(d.Record)
		if err != nil {
			return permanent(fmt.Errorf("dead letter %d (%s line %d): %w", seq, d.Source, d.Line, err))
		}
		line := i + 1
		if letters != nil {
			letters[line] = d
		}
		if err := fn(rec, line, d.Record); err != nil {
			return err
		}
	}
	return nil
}
