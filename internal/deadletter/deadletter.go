// Package deadletter reads the items plugins failed from the dead-letter
// stream (natsbus.DeadLetterStream), where transformers put them with
// their original export lines.
package deadletter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/natsbus"
)

// Letter is a dead letter and its sequence number in the stream, which
// names it to floe dlq show.
type Letter struct {
	Seq uint64 `json:"seq"`
	natsbus.DeadLetter
}

// Filter selects dead letters.
type Filter struct {
	Table string // required
	// ExportID, when set, keeps the letters of one export.
	ExportID string
}

// List calls fn with every dead letter of f.Table, oldest first, until fn
// returns an error. It reads what the stream holds when List starts.
func List(ctx context.Context, js jetstream.JetStream, f Filter, fn func(*Letter) error) error {
	stream, err := js.Stream(ctx, natsbus.DeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil // nothing was ever dead-lettered here
	}
	if err != nil {
		return fmt.Errorf("dead-letter stream: %w", err)
	}
	subject := natsbus.DeadLetterFilter(f.Table)
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return fmt.Errorf("dead-letter stream: %w", err)
	}
	if len(info.State.Subjects) == 0 {
		return nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("reading dead letters: %w", err)
	}
	last := info.State.LastSeq
	for {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("reading dead letters: %w", err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("reading dead letters: %w", err)
		}
		l, err := decode(md.Sequence.Stream, msg.Data())
		if err != nil {
			return err
		}
		if f.ExportID == "" || l.ExportID == f.ExportID {
			if err := fn(l); err != nil {
				return err
			}
		}
		if md.NumPending == 0 || md.Sequence.Stream >= last {
			return nil
		}
	}
}

// Get returns the dead letter with stream sequence seq.
func Get(ctx context.Context, js jetstream.JetStream, seq uint64) (*Letter, error) {
	stream, err := js.Stream(ctx, natsbus.DeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("no dead letter %d: nothing was ever dead-lettered on this NATS server", seq)
	}
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream: %w", err)
	}
	msg, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("no dead letter %d (floe dlq list shows what there is)", seq)
	}
	if err != nil {
		return nil, fmt.Errorf("dead letter %d: %w", seq, err)
	}
	return decode(seq, msg.Data)
}

func decode(seq uint64, data []byte) (*Letter, error) {
	l := &Letter{Seq: seq}
	if err := json.Unmarshal(data, &l.DeadLetter); err != nil {
		return nil, fmt.Errorf("dead letter %d is malformed: %w", seq, err)
	}
	return l, nil
}

// Purge removes the dead letters f selects and returns how many it
// removed. Without f.ExportID it purges the table's subject at once.
func Purge(ctx context.Context, js jetstream.JetStream, f Filter) (int, error) {
	stream, err := js.Stream(ctx, natsbus.DeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dead-letter stream: %w", err)
	}
	var seqs []uint64
	if err := List(ctx, js, f, func(l *Letter) error {
		seqs = append(seqs, l.Seq)
		return nil
	}); err != nil {
		return 0, err
	}
	if f.ExportID == "" && len(seqs) > 0 {
		if err := stream.Purge(ctx, jetstream.WithPurgeSubject(natsbus.DeadLetterFilter(f.Table)), jetstream.WithPurgeSequence(seqs[len(seqs)-1]+1)); err != nil {
			return 0, fmt.Errorf("purging dead letters: %w", err)
		}
		return len(seqs), nil
	}
	if err := Delete(ctx, js, seqs); err != nil {
		return 0, err
	}
	return len(seqs), nil
}

// ReplayBatch is the number of dead letters per task of a replay.
const ReplayBatch = 2000

// ReplayPlan returns the plan that applies the items of seqs (dead
// letters of table, oldest first) to the table again. Its export id
// derives from the sequences, so a replay interrupted after its commit
// and run again finds itself applied instead of applying twice.
func ReplayPlan(table string, seqs []uint64) natsbus.Plan {
	h := sha256.New()
	for _, s := range seqs {
		_ = binary.Write(h, binary.BigEndian, s)
	}
	p := natsbus.Plan{
		Attempt: uuid.NewString()[:8], Table: table, Source: "dlq",
		ExportID:   fmt.Sprintf("replay-%d-%d-%x", seqs[0], seqs[len(seqs)-1], h.Sum(nil)[:4]),
		ExportType: natsbus.TypeReplay, ExportTime: time.Now().UTC(), ItemCount: int64(len(seqs)),
	}
	for i := 0; i*ReplayBatch < len(seqs); i++ {
		part := seqs[i*ReplayBatch : min((i+1)*ReplayBatch, len(seqs))]
		p.Files = append(p.Files, natsbus.File{
			Index: i, Key: fmt.Sprintf("%d-%d", part[0], part[len(part)-1]), ItemCount: int64(len(part)), Seqs: part,
		})
	}
	return p
}

// Delete removes the dead letters seqs (those already gone are no error).
func Delete(ctx context.Context, js jetstream.JetStream, seqs []uint64) error {
	stream, err := js.Stream(ctx, natsbus.DeadLetterStream)
	if err != nil {
		return fmt.Errorf("dead-letter stream: %w", err)
	}
	for _, seq := range seqs {
		if err := stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("removing dead letter %d: %w", seq, err)
		}
	}
	return nil
}
