// Package committer is the only writer of a floe table. It consumes a
// table's plans and batches from NATS, writes Parquet data files through
// iceberg-go, and commits one Iceberg snapshot per export, carrying a
// marker (floe.export-id, ...) in the snapshot summary.
//
// Exactly once rests on three rules:
//   - a message is acked only once what it carried is durable: committed,
//     or in a data file listed in the durable pending state;
//   - on start, the committer reloads the table, walks the snapshot
//     ancestry, and skips every export already there;
//   - every message id is deterministic, and the pending state records
//     which batches are durable, so a redelivered or republished batch is
//     recognised and dropped.
//
// See RATIONALE.md for why the committer, not the submitter, turns plans
// into tasks.
package committer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/export"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/schema"
)

// Stats counts a committer's work. Fields are updated atomically.
type Stats struct {
	Rows      atomic.Int64 // rows written to data files, and deletes staged
	DataFiles atomic.Int64
	Commits   atomic.Int64
}

// Options configure a Committer.
type Options struct {
	Log *slog.Logger
	// OnEvent, if set, is called with every event the committer publishes.
	OnEvent func(natsbus.Event)
	// Fault, if set, is called at named points of a commit, for crash
	// tests that must stop the process exactly there: FaultCommit just
	// before the catalog commit, FaultCommitted just after it succeeded
	// (before the pending state is cleared).
	Fault func(point string)
	// MergeMode, if set, is the mode incremental exports are merged in
	// from the next commit on, and is recorded in the table; unset, the
	// table's recorded mode applies (merge-on-read for a new table).
	MergeMode MergeMode
}

// Fault points (see Options.Fault).
const (
	FaultCommit    = "commit"
	FaultCommitted = "committed"
)

// Committer applies the exports of one table.
type Committer struct {
	table string
	ident table.Identifier
	cat   catalog.Catalog
	nc    *nats.Conn
	js    jetstream.JetStream
	log   *slog.Logger
	onEv  func(natsbus.Event)
	fault func(string)
	mode  MergeMode
	state stateStore
	codec *natsbus.Codec
	// scratch is reused to decompress batches (one at a time).
	scratch []byte

	// Stats is updated as data is written and committed.
	Stats Stats

	tbl *table.Table
	cur *pending
	sch *schema.Schema
	// fileSchema is an unpinned schema file of the current export, applied
	// over the detected schema.
	fileSchema *schema.Schema
	detected   map[int]*detectResult
	chunk      *chunk
	// closing is the chunk before chunk while its files close.
	closing  *chunk
	held     []jetstream.Msg // acked once the current export ends
	queued   []jetstream.Msg // plans waiting for the current export
	streamID string
	// streamMaxBytes caps chunks: un-acked chunk messages occupy the
	// stream, and a chunk that could fill it would wait forever.
	streamMaxBytes int64
}

type detectResult struct {
	stats schema.Stats
	items int64
}

// New returns a committer for table (NS.NAME) in cat.
func New(nc *nats.Conn, cat catalog.Catalog, tableName string, o Options) (*Committer, error) {
	if err := natsbus.ValidateTable(tableName); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if _, err := ParseMergeMode(string(o.MergeMode)); err != nil {
		return nil, err
	}
	codec, err := natsbus.NewCodec(memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	return &Committer{
		table: tableName, ident: catalog.ToIdentifier(tableName), cat: cat, nc: nc, js: js,
		log: o.Log.With("table", tableName), onEv: o.OnEvent, fault: o.Fault, mode: o.MergeMode, codec: codec,
	}, nil
}

// Run applies exports until ctx is done or an error that needs a human
// (a lost state bucket, a catalog that keeps refusing commits) occurs.
func (c *Committer) Run(ctx context.Context) error {
	var cons jetstream.Consumer
	err := natsbus.WhileAway(ctx, c.nc, c.log, "starting the committer", func() (err error) {
		cons, err = c.start(ctx)
		return err
	})
	if err != nil {
		return err
	}
	// An export resumed with every chunk durable waits for no message:
	// all of its messages were acked before the crash. Commit it now.
	if err := c.progress(ctx); err != nil {
		c.abortChunk()
		return err
	}
	// A continuous pull (not Fetch with a deadline): a fetch given up
	// by the client can race with messages the server already sent, which
	// then wait out the ack wait before coming back.
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("consuming %s: %w", natsbus.BatchesStream, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		// While a chunk closes, wake up now and then to finish it even if
		// no message comes: its messages wait un-acked until then.
		var next []jetstream.NextOpt
		if c.closing != nil {
			next = append(next, jetstream.NextMaxWait(100*time.Millisecond))
		}
		msg, err := it.Next(next...)
		if errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			if err := c.progress(ctx); err != nil {
				c.abortChunk()
				return err
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				break
			}
			c.log.Warn("consuming batches", "err", err)
			continue
		}
		if err := c.handle(ctx, msg); err != nil {
			c.abortChunk()
			return err
		}
		if err := c.progress(ctx); err != nil {
			c.abortChunk()
			return err
		}
	}
	c.abortChunk()
	return nil
}

// start recovers and (re)creates the durable consumer. Recreating it makes
// the server deliver every unacked message again at once, instead of after
// the ack wait: whatever a crashed committer held un-acked is replayed now.
func (c *Committer) start(ctx context.Context) (jetstream.Consumer, error) {
	kv, err := c.js.KeyValue(ctx, natsbus.StateBucket)
	if err != nil {
		return nil, fmt.Errorf("state bucket %s: %w (was the NATS store lost? floe creates it on start)", natsbus.StateBucket, err)
	}
	c.state = stateStore{kv: kv, key: natsbus.StateKey(c.table)}
	stream, err := c.js.Stream(ctx, natsbus.BatchesStream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", natsbus.BatchesStream, err)
	}
	info := stream.CachedInfo()
	c.streamID = info.Created.UTC().Format(time.RFC3339Nano)
	c.streamMaxBytes = info.Config.MaxBytes
	if err := c.recover(ctx); err != nil {
		return nil, err
	}
	name := natsbus.CommitterConsumer(c.table)
	if err := c.js.DeleteConsumer(ctx, natsbus.BatchesStream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("resetting consumer %s: %w", name, err)
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, natsbus.BatchesStream, jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: natsbus.BatchSubject(c.table),
		AckPolicy:     jetstream.AckExplicitPolicy,
		// Messages wait un-acked for a whole chunk; redelivery to a live
		// committer is never needed because it never drops one.
		AckWait:       time.Hour,
		MaxAckPending: 100_000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	return cons, nil
}

// recover reconciles the durable pending state with the table.
func (c *Committer) recover(ctx context.Context) error {
	tbl, err := c.loadTable(ctx)
	if err != nil {
		return err
	}
	c.tbl = tbl
	p, err := c.state.load(ctx)
	if err != nil {
		return err
	}
	if p == nil {
		c.removeUnreferenced(ctx)
		return nil
	}
	log := c.log.With("export", p.Plan.ExportID)
	if isApplied(tbl, p.Plan.ExportID) {
		// The commit landed; the crash came before the state was cleared.
		log.Info("export was committed before a restart; clearing its pending state")
		if err := c.state.clear(ctx); err != nil {
			return err
		}
		c.removeStaged(ctx, p)
		c.removeUnreferenced(ctx)
		return nil
	}
	c.cur = p
	c.detected = map[int]*detectResult{}
	if p.Sampled && len(p.Plan.Schema) > 0 {
		// checkSample decides again, over the same schema file.
		if c.fileSchema, err = schema.Parse(p.Plan.Schema, p.Plan.Key); err != nil {
			return fmt.Errorf("pending state schema file: %w", err)
		}
		schema.AssignColumns(c.fileSchema.Fields, schema.ColumnNames(p.Plan.ColumnNames))
	}
	if p.Recreate {
		if c.sch, err = schema.Parse(p.Schema, nil); err != nil {
			return fmt.Errorf("pending state schema: %w", err)
		}
		log.Info("resuming export: creating the table anew with the full schema")
		return c.recreate(ctx)
	}
	if p.Phase == phaseLoad {
		if c.sch, err = schema.Parse(p.Schema, nil); err != nil {
			return fmt.Errorf("pending state schema: %w", err)
		}
		if tbl == nil {
			return fmt.Errorf("pending state for export %s is in its load phase but table %s is gone: drop the state key %s in bucket %s and rerun", p.Plan.ExportID, c.table, c.state.key, natsbus.StateBucket)
		}
		if err := c.removeOrphans(ctx, p); err != nil {
			return err
		}
		p.Closing = "" // its files are listed, or were just removed
	}
	if p.Phase == phaseDetect && tbl != nil {
		if c.sch, err = tableSchema(tbl); err != nil {
			return err
		}
	}
	if p.Phase == phaseDetect && tbl == nil && len(p.Plan.Schema) > 0 {
		if c.fileSchema, err = schema.Parse(p.Plan.Schema, p.Plan.Key); err != nil {
			return fmt.Errorf("pending state schema file: %w", err)
		}
		schema.AssignColumns(c.fileSchema.Fields, schema.ColumnNames(p.Plan.ColumnNames))
	}
	c.detected = map[int]*detectResult{}
	log.Info("resuming export", "phase", p.Phase, "dataFiles", len(p.DataFiles), "rows", p.Rows)
	return c.publishTasks(ctx)
}

func (c *Committer) event(e natsbus.Event) {
	e.Table = c.table
	if c.cur != nil && e.ExportID == "" {
		e.ExportID, e.Attempt = c.cur.Plan.ExportID, c.cur.Plan.Attempt
	}
	if data, err := json.Marshal(e); err == nil {
		_ = c.nc.Publish(natsbus.EventSubject(c.table), data)
	}
	if c.onEv != nil {
		c.onEv(e)
	}
}

func (c *Committer) handle(ctx context.Context, msg jetstream.Msg) error {
	h := msg.Headers()
	kind := h.Get(natsbus.HdrKind)
	if kind == natsbus.KindPlan {
		return c.handlePlan(ctx, msg)
	}
	exportID, attempt := h.Get(natsbus.HdrExport), h.Get(natsbus.HdrAttempt)
	if c.cur == nil || exportID != c.cur.Plan.ExportID || attempt != c.cur.wire() {
		// Left over from a committed, failed or superseded attempt.
		c.log.Debug("dropping stale message", "kind", kind, "export", exportID, "attempt", attempt)
		return msg.Ack()
	}
	file, ok := natsbus.IntHeader(h, natsbus.HdrFile)
	fs := c.cur.Files[int(file)]
	if !ok || fs == nil {
		c.log.Warn("dropping message for an unknown file", "kind", kind, "file", h.Get(natsbus.HdrFile))
		return msg.Ack()
	}
	switch kind {
	case natsbus.KindError:
		return c.fail(ctx, fmt.Errorf("%s", msg.Data()), msg)
	case natsbus.KindDetect:
		return c.handleDetect(ctx, int(file), msg)
	case natsbus.KindBatch:
		return c.handleBatch(ctx, int(file), fs, msg)
	}
	c.log.Warn("dropping message of unknown kind", "kind", kind)
	return msg.Ack()
}

func (c *Committer) handlePlan(ctx context.Context, msg jetstream.Msg) error {
	var plan natsbus.Plan
	if err := json.Unmarshal(msg.Data(), &plan); err != nil {
		c.log.Error("dropping malformed plan", "err", err)
		return msg.Term()
	}
	if c.cur != nil {
		if plan.ExportID == c.cur.Plan.ExportID && plan.Attempt == c.cur.Plan.Attempt {
			return msg.Ack() // a replay of the plan being applied
		}
		c.queued = append(c.queued, msg)
		return nil
	}
	return c.begin(ctx, &plan, msg)
}

// begin starts applying an export, or says why it will not.
func (c *Committer) begin(ctx context.Context, plan *natsbus.Plan, msg jetstream.Msg) error {
	log := c.log.With("export", plan.ExportID)
	refuse := func(err error) error {
		log.Error("refusing export", "err", err)
		c.event(natsbus.Event{ExportID: plan.ExportID, Attempt: plan.Attempt, Status: natsbus.StatusFailed, Error: err.Error()})
		return msg.Ack()
	}
	// A table or key mismatch is refused even for an export the table
	// holds: skipping it would hide that the command names the wrong
	// table or key.
	if err := c.checkTable(plan); err != nil {
		return refuse(err)
	}
	if isApplied(c.tbl, plan.ExportID) {
		log.Info("export already applied; skipping")
		c.event(natsbus.Event{ExportID: plan.ExportID, Attempt: plan.Attempt, Status: natsbus.StatusSkipped, Message: "already applied"})
		return msg.Ack()
	}
	if covered(c.tbl, plan) {
		log.Info("export is older than what the table holds, whose older snapshots have been expired; skipping")
		c.event(natsbus.Event{ExportID: plan.ExportID, Attempt: plan.Attempt, Status: natsbus.StatusSkipped, Message: "covered by the table (older snapshots expired)"})
		return msg.Ack()
	}
	if err := c.check(plan); err != nil {
		return refuse(err)
	}
	// Dead letters of earlier attempts of this export belong to no
	// snapshot: this attempt makes its own.
	c.purgeDeadLetters(ctx, plan.ExportID, "*")
	p := &pending{Plan: *plan, Files: make(map[int]*fileState, len(plan.Files))}
	for _, f := range plan.Files {
		p.Files[f.Index] = &fileState{Batches: -1}
	}
	c.detected = map[int]*detectResult{}
	var err error
	c.sch, c.fileSchema = nil, nil
	switch {
	case c.tbl != nil:
		c.sch, err = tableSchema(c.tbl)
	case len(plan.Schema) > 0:
		// A pinned schema file is the whole schema; otherwise it fixes
		// the types it lists and detection finds the rest.
		var fs *schema.Schema
		if fs, err = schema.Parse(plan.Schema, plan.Key); err == nil {
			schema.AssignColumns(fs.Fields, schema.ColumnNames(plan.ColumnNames))
			if fs.Pinned {
				c.sch = fs
			} else {
				c.fileSchema = fs
			}
		}
	}
	if err != nil {
		c.event(natsbus.Event{ExportID: plan.ExportID, Attempt: plan.Attempt, Status: natsbus.StatusFailed, Error: err.Error()})
		return msg.Ack()
	}
	c.cur = p
	// A new table's schema is detected; an existing one's is extended by
	// what an incremental export brings (see evolve).
	if c.sch == nil || merges(plan.ExportType) && !c.sch.Pinned {
		p.Phase = phaseDetect
		if c.tbl == nil {
			p.Sample = sampleItems(plan)
		}
		c.event(natsbus.Event{Status: natsbus.StatusDetecting})
	} else if err := c.enterLoad(ctx); err != nil {
		c.cur = nil
		c.event(natsbus.Event{ExportID: plan.ExportID, Attempt: plan.Attempt, Status: natsbus.StatusFailed, Error: err.Error()})
		return msg.Ack()
	}
	if err := c.state.save(ctx, p); err != nil {
		return err
	}
	if err := msg.Ack(); err != nil {
		return err
	}
	log.Info("applying export", "phase", p.Phase, "files", len(plan.Files), "items", plan.ItemCount)
	return c.publishTasks(ctx)
}

// checkTable refuses an export of another DynamoDB table, or a --key
// other than the table's.
func (c *Committer) checkTable(plan *natsbus.Plan) error {
	if c.tbl == nil {
		return nil
	}
	if arn := c.tbl.Properties()[PropTableArn]; arn != "" && plan.TableArn != "" && arn != plan.TableArn {
		return fmt.Errorf("it is an export of DynamoDB table %s, but %s holds %s: use another --table", plan.TableArn, c.table, arn)
	}
	s, err := tableSchema(c.tbl)
	if err != nil {
		return err
	}
	if len(plan.Key) > 0 && !slices.Equal(plan.Key, s.Key) {
		return fmt.Errorf("--key %s differs from the key of table %s (%s): leave --key out, or load into another --table", strings.Join(plan.Key, ","), c.table, strings.Join(s.Key, ","))
	}
	return nil
}

// check refuses exports this table cannot take. Errors say what the table
// holds and what to do.
func (c *Committer) check(plan *natsbus.Plan) error {
	var applied []map[string]string
	if c.tbl != nil {
		applied = Applied(c.tbl)
	}
	if c.tbl != nil && c.mergeMode() == EqualityDeletes {
		s, err := tableSchema(c.tbl)
		if err != nil {
			return err
		}
		spec := c.tbl.Spec()
		if err := checkEqualityDeletes(c.table, c.tbl.Schema(), &spec, keyColumnNames(s)); err != nil {
			return err
		}
	}
	if plan.ExportType == natsbus.TypeReplay {
		if len(applied) == 0 {
			return fmt.Errorf("table %s holds no export, so it has no dead letters to replay into: load its exports first", c.table)
		}
		return nil // outside the chain: newest change wins, row by row
	}
	// Replays are outside the chain of exports.
	applied = slices.DeleteFunc(applied, func(m map[string]string) bool { return m[MarkerExportType] == natsbus.TypeReplay })
	if plan.ExportType != export.TypeIncremental {
		if c.tbl == nil && len(plan.Key) == 0 && len(plan.Schema) == 0 {
			return fmt.Errorf("table %s does not exist yet and its key is unknown: pass --key PK[,SK] (a full export does not record which attributes are the key)", c.table)
		}
		if len(applied) > 0 {
			return fmt.Errorf("table %s already holds export %s; a full export loads an empty table: choose a new --table, or drop %s first", c.table, applied[0][MarkerExportID], c.table)
		}
		return nil
	}
	if len(applied) == 0 {
		return fmt.Errorf("it is an incremental export, but table %s holds no full export yet: load the DynamoDB table's full export first (point --export at the AWSDynamoDB/ folder that holds both, and they are applied in order)", c.table)
	}
	end, err := chainEnd(applied[0])
	if err != nil {
		return err
	}
	holds := fmt.Sprintf("table %s holds the changes up to %s (export %s)", c.table, end.Format(time.RFC3339Nano), applied[0][MarkerExportID])
	// The export's id goes with the error wherever it is shown (event,
	// log attribute, the run's summary), so the message does not repeat it.
	window := fmt.Sprintf("it covers %s to %s", plan.ExportFromTime.Format(time.RFC3339Nano), plan.ExportToTime.Format(time.RFC3339Nano))
	switch plan.ExportFromTime.Compare(end) {
	case -1:
		return fmt.Errorf("%s, which overlaps what %s: apply exports in order, each once; an overlapping export would bring back changes older than rows the table holds", window, holds)
	case 1:
		if !plan.AllowGaps {
			return fmt.Errorf("%s, but %s: the changes in between are missing. Apply the incremental export that covers them first, or pass --allow-gaps to accept the gap (changes made in it are lost for good)", window, holds)
		}
		c.log.Warn("applying an export after a gap: changes made in the gap are missing from the table", "export", plan.ExportID, "from", plan.ExportFromTime, "tableHoldsUpTo", end)
	}
	return nil
}

// enterLoad makes sure the table exists with the schema decided, and moves
// the current export to its load phase.
func (c *Committer) enterLoad(ctx context.Context) error {
	if c.tbl == nil {
		tbl, err := c.createTable(ctx, c.sch, &planOpts{
			partitionBy: c.cur.Plan.PartitionBy, formatVersion: max(c.cur.Plan.FormatVersion, 2),
			targetFileSize: c.cur.Plan.TargetFileSize, tableArn: c.cur.Plan.TableArn, columnNames: c.cur.Plan.ColumnNames,
		})
		if err != nil {
			return err
		}
		c.tbl = tbl
	}
	sj, err := json.Marshal(c.sch)
	if err != nil {
		return err
	}
	c.cur.Phase, c.cur.Schema = phaseLoad, sj
	c.cur.Inflight = newWriteID()
	c.event(natsbus.Event{Status: natsbus.StatusLoading})
	return nil
}

// publishTasks publishes a task for every file not yet complete. Task ids
// are deterministic, so tasks already queued are not queued twice.
func (c *Committer) publishTasks(ctx context.Context) error {
	p := c.cur
	kind := natsbus.TaskDetect
	var sj, tj []byte
	if p.Phase == phaseLoad {
		kind = natsbus.TaskLoad
		sj = p.Schema
		var err error
		if tj, err = json.Marshal(c.tbl.Schema()); err != nil {
			return err
		}
	}
	for _, f := range p.Plan.Files {
		if fs := p.Files[f.Index]; fs.complete() || kind == natsbus.TaskDetect && c.detected[f.Index] != nil {
			continue
		}
		t := natsbus.Task{
			Kind: kind, Table: c.table, ExportID: p.Plan.ExportID, Attempt: p.wire(),
			Source: p.Plan.Source, Format: p.Plan.Format, File: f, Key: p.Plan.Key, ExportType: p.Plan.ExportType,
			Schema: sj, TableSchema: tj,
		}
		switch kind {
		case natsbus.TaskDetect:
			t.Sample = p.Sample
		case natsbus.TaskLoad:
			t.Stats = p.Sampled
		}
		if t.Key == nil && c.sch != nil {
			t.Key = c.sch.Key
		}
		data, err := json.Marshal(&t)
		if err != nil {
			return err
		}
		m := nats.NewMsg(natsbus.TaskSubject(c.table))
		m.Header.Set(jetstream.MsgIDHeader, natsbus.TaskMsgID(&t))
		m.Data = data
		if _, err := c.js.PublishMsg(ctx, m); err != nil {
			return fmt.Errorf("publishing task for %s: %w", f.Key, err)
		}
	}
	return nil
}

// handleDetect takes a file's schema statistics: from a detect task, or,
// while a sampled schema loads, from its load task (held until the export
// ends, for checkSample).
func (c *Committer) handleDetect(ctx context.Context, file int, msg jetstream.Msg) error {
	stats := c.cur.Phase == phaseLoad && c.cur.Sampled
	// A detect task's statistics that come late (a retried task) are a
	// sample's, and must not pass for a load's.
	batch, _ := natsbus.IntHeader(msg.Headers(), natsbus.HdrBatch)
	ofLoad := batch == natsbus.StatsBatch
	if c.cur.Phase != phaseDetect && !stats || stats != ofLoad || c.detected[file] != nil {
		return msg.Ack()
	}
	var r detectResult
	if err := json.Unmarshal(msg.Data(), &r.stats); err != nil {
		return c.fail(ctx, fmt.Errorf("schema statistics of file %d are malformed: %w", file, err), msg)
	}
	r.items, _ = natsbus.IntHeader(msg.Headers(), natsbus.HdrFinal)
	c.detected[file] = &r
	c.held = append(c.held, msg)
	if stats || len(c.detected) < len(c.cur.Plan.Files) {
		return nil
	}
	root := c.mergedStats()
	if c.tbl != nil {
		if err := c.evolve(ctx, root); err != nil {
			return c.fail(ctx, err, nil)
		}
		c.detected = map[int]*detectResult{}
		return c.loadDetected(ctx, 0)
	}
	s, conflicts, err := c.decide(root)
	if err != nil {
		return c.fail(ctx, err, nil)
	}
	// A file shorter than the sample was read whole; if all were, the
	// statistics are the export's and need no check.
	for _, d := range c.detected {
		c.cur.Sampled = c.cur.Sampled || c.cur.Sample > 0 && d.items >= c.cur.Sample
	}
	if !c.cur.Sampled {
		for _, cf := range conflicts {
			c.log.Warn("type conflict", "detail", cf.String())
		}
	}
	c.sch = s
	c.detected = map[int]*detectResult{}
	return c.loadDetected(ctx, len(conflicts))
}

// loadDetected moves an export from detection to its load phase.
func (c *Committer) loadDetected(ctx context.Context, conflicts int) error {
	if err := c.enterLoad(ctx); err != nil {
		return c.fail(ctx, err, nil)
	}
	if err := c.state.save(ctx, c.cur); err != nil {
		return err
	}
	c.ackHeld()
	c.log.Info("schema decided", "columns", len(c.sch.Fields), "conflicts", conflicts, "sampled", c.cur.Sampled)
	return c.publishTasks(ctx)
}

func (c *Committer) ackHeld() {
	for _, m := range c.held {
		_ = m.Ack()
	}
	c.held = c.held[:0]
}

// fail abandons the current export: nothing of it is committed, the data
// files written for it are deleted, and every message of it is acked.
func (c *Committer) fail(ctx context.Context, cause error, msg jetstream.Msg) error {
	p := c.cur
	c.log.Error("export failed; nothing of it was committed", "export", p.Plan.ExportID, "err", cause)
	c.purgeDeadLetters(ctx, p.Plan.ExportID, p.wire())
	c.abortChunk()
	c.deleteFiles(ctx, p)
	if err := c.state.clear(ctx); err != nil {
		return err
	}
	c.ackHeld()
	if msg != nil {
		_ = msg.Ack()
	}
	c.event(natsbus.Event{Status: natsbus.StatusFailed, Error: cause.Error()})
	c.cur, c.sch = nil, nil
	return c.nextPlan(ctx)
}

// purgeDeadLetters removes the dead letters of an export's attempt ("*"
// for all) that failed or is superseded: its items are in no snapshot, and
// the next attempt dead-letters them again if they fail again. A failure
// to purge leaves stale letters, which a replay applies harmlessly (newest
// wins), so it is only logged.
func (c *Committer) purgeDeadLetters(ctx context.Context, exportID, attempt string) {
	stream, err := c.js.Stream(ctx, natsbus.DeadLetterStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return
	}
	if err == nil {
		err = stream.Purge(ctx, jetstream.WithPurgeSubject(natsbus.DeadLetterSubject(c.table, exportID, attempt)))
	}
	if err != nil {
		c.log.Warn("removing the dead letters of a failed or superseded attempt", "export", exportID, "attempt", attempt, "err", err)
	}
}

// nextPlan starts the oldest plan that waited for the current export.
func (c *Committer) nextPlan(ctx context.Context) error {
	for c.cur == nil && len(c.queued) > 0 {
		msg := c.queued[0]
		c.queued = slices.Delete(c.queued, 0, 1)
		if err := c.handlePlan(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}

func markerProps(p *pending, streamID, commitID string) map[string]string {
	m := map[string]string{
		MarkerExportID:   p.Plan.ExportID,
		MarkerAttempt:    p.Plan.Attempt,
		MarkerExportType: p.Plan.ExportType,
		MarkerExportTime: p.Plan.ExportTime.UTC().Format(time.RFC3339Nano),
		MarkerStreamSeq:  strconv.FormatUint(p.MaxSeq, 10),
		MarkerStreamID:   streamID,
		MarkerCommitID:   commitID,
		MarkerItems:      strconv.FormatInt(p.Rows, 10),
		MarkerRescued:    strconv.FormatInt(p.Rescued, 10),
	}
	if chain := p.plugins(); chain != "" {
		m[MarkerPlugins] = chain
		m[MarkerKept] = strconv.FormatInt(p.kept(), 10)
		m[MarkerDropped] = strconv.FormatInt(p.Dropped, 10)
		m[MarkerFailed] = strconv.FormatInt(p.Failed, 10)
	}
	if merges(p.Plan.ExportType) {
		m[MarkerItems] = strconv.FormatInt(p.Rows+p.Deletes, 10)
	}
	if p.Plan.ExportType == export.TypeIncremental {
		m[MarkerExportFrom] = p.Plan.ExportFromTime.UTC().Format(time.RFC3339Nano)
		m[MarkerExportTo] = p.Plan.ExportToTime.UTC().Format(time.RFC3339Nano)
		m[MarkerExportView] = p.Plan.OutputView
	}
	return m
}
