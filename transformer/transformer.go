// Package transformer turns export data files into Arrow record batches on
// NATS. Transformers are stateless: every task names one data file, and a
// retried task republishes byte-identical batches under the same message
// ids, so the server or the committer drops what it already has.
package transformer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/plugins"
)

// StoreOpener opens the object store behind a plan's Source URI.
type StoreOpener func(ctx context.Context, uri string) (objstore.Store, error)

// Stats counts a transformer's work. Fields are updated atomically and may
// be read at any time.
type Stats struct {
	Files atomic.Int64
	// Items and Bytes (uncompressed line bytes) count loaded items.
	Items atomic.Int64
	Bytes atomic.Int64
	// DetectedItems counts items read by schema detection tasks.
	DetectedItems atomic.Int64
	Batches       atomic.Int64
	Rescued       atomic.Int64
	FailedFiles   atomic.Int64
	// Dropped and Failed count loaded items that plugins dropped or
	// failed (dead-lettered).
	Dropped atomic.Int64
	Failed  atomic.Int64
}

// Transformer pulls tasks from FLOE_TASKS and processes them.
type Transformer struct {
	nc        *nats.Conn
	js        jetstream.JetStream
	open      StoreOpener
	log       *slog.Logger
	workers   int
	exclusive bool
	ackWait   time.Duration
	// Stats is updated as files are processed.
	Stats Stats

	codec *natsbus.Codec
	// plugins is the chain every item goes through, identity its name.
	plugins  []plugins.Stage
	identity string

	storesMu sync.Mutex
	stores   map[string]objstore.Store
}

// Options configure a Transformer.
type Options struct {
	// Workers is the number of files processed at once (default 1).
	Workers int
	// Exclusive says this is the only transformer process (floe run): on
	// start it resets the shared consumer, so tasks a crashed predecessor
	// held come back at once instead of after the ack wait. Never set it
	// where other transformers may be running: their tasks would be
	// delivered twice (harmless, but wasted work).
	Exclusive bool
	// AckWait is how long a task may go without a heartbeat before the
	// server hands it to another transformer (default DefaultAckWait).
	// It is a setting of the shared tasks consumer: the last transformer
	// to start sets it for all.
	AckWait time.Duration
	// Plugins run on every item, in order (see package plugins). Every
	// transformer serving a table must run the same chain: the committer
	// refuses an export whose batches disagree.
	Plugins []plugins.Stage
	Log     *slog.Logger
}

// New returns a transformer using the connection nc.
func New(nc *nats.Conn, open StoreOpener, o Options) (*Transformer, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	codec, err := natsbus.NewCodec(memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	t := &Transformer{nc: nc, js: js, open: open, log: o.Log, workers: o.Workers, exclusive: o.Exclusive, ackWait: o.AckWait, codec: codec, stores: map[string]objstore.Store{}, plugins: o.Plugins}
	if len(o.Plugins) > 0 {
		t.identity = plugins.Identity(o.Plugins)
	}
	return t, nil
}

// DefaultAckWait is how long a task may go without a heartbeat before the
// server hands it to another transformer: long enough that a busy worker
// (which heartbeats every quarter of it) never loses its task, short
// enough that a dead transformer's tasks move on within a minute.
const DefaultAckWait = 60 * time.Second

// maxDeliver bounds retries of a task whose failures look transient
// (network, storage); after that the file is reported failed.
const maxDeliver = 5

// Run processes tasks until ctx is done.
func (t *Transformer) Run(ctx context.Context) error {
	var cons jetstream.Consumer
	err := natsbus.WhileAway(ctx, t.nc, t.log, "creating the tasks consumer", func() error {
		if t.exclusive {
			err := t.js.DeleteConsumer(ctx, natsbus.TasksStream, natsbus.TransformerConsumer)
			if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				return fmt.Errorf("resetting the tasks consumer: %w", err)
			}
		}
		var err error
		cons, err = t.js.CreateOrUpdateConsumer(ctx, natsbus.TasksStream, jetstream.ConsumerConfig{
			Durable:       natsbus.TransformerConsumer,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       t.ackWait,
			MaxDeliver:    -1, // counted by the worker, which reports the file failed
			MaxAckPending: 10_000,
		})
		if err != nil {
			return fmt.Errorf("tasks consumer: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for range t.workers {
		wg.Go(func() { t.work(ctx, cons) })
	}
	wg.Wait()
	return nil
}

func (t *Transformer) work(ctx context.Context, cons jetstream.Consumer) {
	// Each worker holds at most one task: a continuous pull of one message
	// at a time, so tasks spread over workers and processes. (Fetch with a
	// deadline can lose a race with a message already sent, stalling that
	// task for the ack wait.)
	it, err := cons.Messages(jetstream.PullMaxMessages(1))
	if err != nil {
		t.log.Error("consuming tasks", "err", err)
		return
	}
	t.log.Debug("worker pulling tasks")
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	// Each worker has its own plugin instances.
	chain := t.newChain()
	if chain != nil {
		defer chain.Close(ctx)
	}
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			t.log.Warn("consuming tasks", "err", err)
			continue
		}
		t.handle(ctx, msg, chain)
	}
}

func (t *Transformer) handle(ctx context.Context, msg jetstream.Msg, chain *plugins.Chain) {
	task, err := decodeTask(msg.Data())
	if err != nil {
		t.log.Error("dropping malformed task", "err", err)
		_ = msg.Term()
		return
	}
	log := t.log.With("table", task.Table, "export", task.ExportID, "file", task.File.Key)
	hbCtx, stop := context.WithCancel(ctx)
	go heartbeat(hbCtx, msg, t.ackWait/4)
	err = t.process(ctx, task, chain)
	stop()
	if err == nil {
		if err := msg.DoubleAck(ctx); err != nil {
			log.Warn("acking task", "err", err)
		}
		t.Stats.Files.Add(1)
		return
	}
	if ctx.Err() != nil {
		_ = msg.Nak() // shutting down: hand the task back at once
		return
	}
	md, _ := msg.Metadata()
	var perm *permanentError
	if !errors.As(err, &perm) && md != nil && md.NumDelivered < maxDeliver {
		delay := time.Duration(md.NumDelivered) * 5 * time.Second
		log.Warn("task failed; will retry", "err", err, "attempt", md.NumDelivered, "retryIn", delay)
		_ = msg.NakWithDelay(delay)
		return
	}
	log.Error("file failed", "err", err)
	t.Stats.FailedFiles.Add(1)
	if perr := t.publishError(ctx, task, err); perr != nil {
		log.Warn("reporting file failure; will retry", "err", perr)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	_ = msg.Term()
}

func heartbeat(ctx context.Context, msg jetstream.Msg, every time.Duration) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			_ = msg.InProgress()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// permanentError marks a failure that retrying cannot fix: the file's
// content is wrong. It is reported at once instead of retried.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

func (t *Transformer) store(ctx context.Context, uri string) (objstore.Store, error) {
	t.storesMu.Lock()
	defer t.storesMu.Unlock()
	if st, ok := t.stores[uri]; ok {
		return st, nil
	}
	st, err := t.open(ctx, uri)
	if err != nil {
		return nil, err
	}
	t.stores[uri] = st
	return st, nil
}

func (t *Transformer) publishError(ctx context.Context, task *natsbus.Task, cause error) error {
	m := nats.NewMsg(natsbus.BatchSubject(task.Table))
	t.headers(m, task, natsbus.KindError)
	m.Header.Set(jetstream.MsgIDHeader, natsbus.BatchMsgID(task.ExportID, task.Attempt, task.File.Index, natsbus.ErrorBatch))
	m.Data = []byte(cause.Error())
	return t.publish(ctx, m)
}

func (t *Transformer) headers(m *nats.Msg, task *natsbus.Task, kind string) {
	m.Header.Set(natsbus.HdrKind, kind)
	m.Header.Set(natsbus.HdrExport, task.ExportID)
	m.Header.Set(natsbus.HdrAttempt, task.Attempt)
	m.Header.Set(natsbus.HdrFile, fmt.Sprint(task.File.Index))
	if t.identity != "" {
		m.Header.Set(natsbus.HdrPlugins, t.identity)
	}
}

// publish sends m and waits for the server's acknowledgement, retrying
// while the batch stream is full (back-pressure) or the server is away.
func (t *Transformer) publish(ctx context.Context, m *nats.Msg) error {
	backoff := 10 * time.Millisecond
	for {
		_, err := t.js.PublishMsg(ctx, m)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, nats.ErrMaxPayload) {
			return permanent(fmt.Errorf("publish: %w", err))
		}
		// A full batch stream is the normal back-pressure of a committer
		// slower than the transformers: poll it briskly. Other errors
		// (server away) back off further.
		limit := 5 * time.Second
		if errors.Is(err, jetstream.ErrMaxBytesExceeded) || strings.Contains(err.Error(), "maximum bytes exceeded") {
			limit = 20 * time.Millisecond
		}
		t.log.Debug("publish failed; retrying", "err", err, "in", backoff)
		sleep(ctx, backoff)
		backoff = min(backoff*2, limit)
	}
}
