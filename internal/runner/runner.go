// Package runner is `floe run`: the whole pipeline in one process. It
// starts an embedded NATS server, the transformers and the table's
// committer, publishes the plans, and waits until every export is
// committed, skipped or failed. It runs exactly the code paths the
// distributed mode runs; only the wiring differs.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/schollz/progressbar/v3"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/internal/planner"
	"github.com/floe-io/floe/plugins"
	"github.com/floe-io/floe/transformer"
)

// Options configure a run.
type Options struct {
	Plan      planner.Options
	Exports   []string // each like planner.Options.Export
	Warehouse string
	// NatsStore is the embedded server's JetStream directory (default
	// <warehouse>/.floe/nats). Unfinished work survives a crash there and
	// resumes on the next run.
	NatsStore string
	Workers   int
	Log       *slog.Logger
	// Progress, when set, receives a progress bar (use only for a terminal).
	Progress io.Writer
	// Fault is passed to the committer and the catalog (see
	// committer.Options.Fault and catalog.Config.Fault).
	Fault func(point string)
	// Plugins run on every item (see transformer.Options.Plugins).
	Plugins []plugins.Stage
	// Plans, when set, are applied instead of planning Exports: a replay
	// of dead letters, say.
	Plans []natsbus.Plan
	// MergeMode is passed to the committer (see committer.Options).
	MergeMode committer.MergeMode
}

// Resumed is appended to the status of an export's final event when this
// run finished work that an interrupted run had started (under another
// attempt id): the commit is this run's doing even though its own plan
// then found the export applied.
const Resumed = " (resumed)"

// Result summarises a run.
type Result struct {
	Events   []natsbus.Event // the final event of each export, in order
	Items    int64           // items read by the transformers
	Bytes    int64           // uncompressed line bytes read
	Rows     int64           // rows written by the committer
	Rescued  int64
	Duration time.Duration
	// Stages splits Duration by what the committer was doing: planning,
	// schema detection, loading (transform + write), commit and shutdown.
	Stages []Stage

	start, last time.Time
	current     string
}

// Stage is a named span of a run.
type Stage struct {
	Name     string
	Duration time.Duration
}

// stage ends the current stage and starts the one an event status names.
func (r *Result) stage(status string) {
	// Final statuses (committed, skipped, failed) and the end of the run
	// start "finish": the commit is inside "load", shutdown is here.
	next := map[string]string{natsbus.StatusDetecting: "detect", natsbus.StatusLoading: "load"}[status]
	if next == "" {
		next = "finish"
	}
	now := time.Now()
	if r.current != "" && r.current != next {
		r.Stages = append(r.Stages, Stage{Name: r.current, Duration: now.Sub(r.last)})
		r.last = now
	}
	if r.current == "" {
		r.last = now
	}
	r.current = next
}

// OpenEmbedded takes the warehouse's lock, starts the embedded NATS server
// on its store (natsStore, default <warehouse>/.floe/nats) and connects to
// it, with floe's streams set up: what floe run works with, and where its
// dead letters stay. The returned function undoes it all.
func OpenEmbedded(ctx context.Context, warehouse, natsStore string, log *slog.Logger) (_ *nats.Conn, closeAll func(), err error) {
	unlock, err := lockWarehouse(warehouse)
	if err != nil {
		return nil, nil, err
	}
	var ns *server.Server
	var nc *nats.Conn
	closeAll = func() {
		if nc != nil {
			nc.Close()
		}
		if ns != nil {
			ns.Shutdown()
		}
		unlock()
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	if natsStore == "" {
		natsStore = filepath.Join(warehouse, ".floe", "nats")
	}
	if ns, err = natsbus.StartEmbedded(natsStore, log); err != nil {
		return nil, nil, err
	}
	if nc, err = natsbus.ConnectEmbedded(ns, "floe-run"); err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, nil, err
	}
	if err := natsbus.Setup(ctx, js, natsbus.DefaultConfig); err != nil {
		return nil, nil, err
	}
	return nc, closeAll, nil
}

// Run loads the exports into the table.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	if err := natsbus.ValidateTable(o.Plan.Table); err != nil {
		return nil, err
	}
	if err := checkWritable(o.Warehouse); err != nil {
		return nil, err
	}
	var groups [][]natsbus.Plan
	for _, e := range o.Exports {
		po := o.Plan
		po.Export = e
		ps, warnings, err := planner.Plans(ctx, po)
		for _, w := range warnings {
			log.Warn(w)
		}
		if err != nil {
			return nil, err
		}
		groups = append(groups, ps)
	}
	plans := planner.Merge(groups...)
	if len(o.Plans) > 0 {
		plans = o.Plans
	}
	nc, closeNATS, err := OpenEmbedded(ctx, o.Warehouse, o.NatsStore, log)
	if err != nil {
		return nil, err
	}
	defer closeNATS()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: o.Warehouse, Fault: o.Fault})
	if err != nil {
		return nil, err
	}
	defer closeCat()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan natsbus.Event, 64)
	com, err := committer.New(nc, cat, o.Plan.Table, committer.Options{Log: log, Fault: o.Fault, MergeMode: o.MergeMode, OnEvent: func(e natsbus.Event) {
		select {
		case events <- e:
		case <-runCtx.Done():
		}
	}})
	if err != nil {
		return nil, err
	}
	workers := o.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	tr, err := transformer.New(nc, func(ctx context.Context, uri string) (objstore.Store, error) {
		st, _, err := objstore.Parse(ctx, uri, o.Plan.S3)
		return st, err
	}, transformer.Options{Workers: workers, Log: log, Exclusive: true, Plugins: o.Plugins})
	if err != nil {
		return nil, err
	}

	var wg sync.WaitGroup
	fatal := make(chan error, 2)
	wg.Go(func() {
		if err := com.Run(runCtx); err != nil {
			fatal <- fmt.Errorf("committer: %w", err)
		}
	})
	wg.Go(func() {
		if err := tr.Run(runCtx); err != nil {
			fatal <- fmt.Errorf("transformer: %w", err)
		}
	})
	defer wg.Wait()
	defer cancel()

	if err := planner.Publish(ctx, js, plans); err != nil {
		return nil, err
	}
	var total int64
	for _, p := range plans {
		total += p.ItemCount
	}
	prog := newProgress(o.Progress, log, total, len(plans))
	defer prog.finish()

	res := &Result{start: start, last: time.Now()}
	res.Stages = append(res.Stages, Stage{Name: "plan", Duration: res.last.Sub(start)})
	waiting := map[string]int{}
	for i, p := range plans {
		waiting[p.ExportID+"/"+p.Attempt] = i
	}
	final := make([]natsbus.Event, len(plans))
	resumed := map[string]natsbus.Event{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for len(waiting) > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-fatal:
			return nil, err
		case e := <-events:
			res.stage(e.Status)
			prog.phase(e.Status)
			if !e.Final() {
				continue
			}
			i, ok := waiting[e.ExportID+"/"+e.Attempt]
			if !ok {
				if e.Status == natsbus.StatusCommitted {
					resumed[e.ExportID] = e // an interrupted run's attempt, finished now
				}
				continue
			}
			delete(waiting, e.ExportID+"/"+e.Attempt)
			if r, ok := resumed[e.ExportID]; ok && e.Status == natsbus.StatusSkipped {
				r.Status += Resumed
				e = r
			}
			final[i] = e
			prog.exportDone(e)
		case <-tick.C:
			prog.update(com.Stats.Rows.Load(), tr.Stats.DetectedItems.Load(), tr.Stats.Bytes.Load())
		}
	}
	res.Events = final
	res.Items, res.Bytes = tr.Stats.Items.Load(), tr.Stats.Bytes.Load()
	res.Rows, res.Rescued = com.Stats.Rows.Load(), tr.Stats.Rescued.Load()
	res.stage("")
	res.Duration = time.Since(start)
	res.Stages = append(res.Stages, Stage{Name: res.current, Duration: time.Since(res.last)})
	var errs []error
	for _, e := range final {
		if e.Status == natsbus.StatusFailed {
			errs = append(errs, fmt.Errorf("export %s: %s", e.ExportID, e.Error))
		}
	}
	return res, errors.Join(errs...)
}

func checkWritable(dir string) error {
	if dir == "" {
		return errors.New("--warehouse is required: a local directory for the table data and catalog")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("warehouse %s is not writable: %w; choose a directory you can write to with --warehouse", dir, err)
	}
	f, err := os.CreateTemp(dir, ".floe-write-check-*")
	if err != nil {
		return fmt.Errorf("warehouse %s is not writable: %w; choose a directory you can write to with --warehouse", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// progress shows a bar on a terminal, or logs a line every few seconds.
// The bar follows the current export's phase: items scanned while the
// schema is detected, then rows written while loading.
type progress struct {
	bar     *progressbar.ProgressBar
	log     *slog.Logger
	total   int64
	exports int
	done    int
	what    string // current phase, for the description
	last    time.Time
	start   time.Time
}

func newProgress(w io.Writer, log *slog.Logger, total int64, exports int) *progress {
	p := &progress{log: log, total: total, exports: exports, start: time.Now(), last: time.Now(), what: "planning"}
	if w != nil {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(p.describe(0)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("items"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func (p *progress) describe(bytes int64) string {
	return fmt.Sprintf("export %d/%d %-16s %5.0f MB", min(p.done+1, p.exports), p.exports, p.what, float64(bytes)/1e6)
}

// phase follows the committer's events.
func (p *progress) phase(status string) {
	switch status {
	case natsbus.StatusDetecting:
		p.what = "detecting schema"
	case natsbus.StatusLoading:
		p.what = "loading"
	default:
		return
	}
	if p.bar != nil {
		p.bar.Reset()
	}
}

func (p *progress) update(rows, detected, bytes int64) {
	n := rows
	if p.what == "detecting schema" {
		n = detected
	}
	if p.bar != nil {
		_ = p.bar.Set64(min(n, p.total))
		p.bar.Describe(p.describe(bytes))
		return
	}
	if time.Since(p.last) >= 5*time.Second {
		p.last = time.Now()
		p.log.Info("progress", "phase", p.what, "items", n, "of", p.total, "MB", int64(float64(bytes)/1e6))
	}
}

func (p *progress) exportDone(natsbus.Event) {
	p.done++
	p.what = "planning"
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
