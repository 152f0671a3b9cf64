package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/internal/planner"
	"github.com/floe-io/floe/internal/runner"
	"github.com/floe-io/floe/internal/schema"
	"github.com/floe-io/floe/internal/tableinfo"
	"github.com/floe-io/floe/transformer"
)

type runCmd struct {
	Export    []string `help:"Export folder (…/AWSDynamoDB/<exportId>/) or its AWSDynamoDB/ parent; local path or s3:// URI. Repeatable." required:"" sep:"none" placeholder:"PATH"`
	Warehouse string   `help:"Local warehouse directory: table data, metadata and the SQLite catalog (catalog.db)." required:"" placeholder:"PATH"`
	Table     string   `help:"Table identifier NAMESPACE.NAME, e.g. dynamodb.orders." required:"" placeholder:"NS.NAME"`
	tableFlags
	mergeFlags
	Workers   int    `help:"Files transformed at once (default: number of CPUs)."`
	NatsStore string `help:"Embedded NATS JetStream directory (default <warehouse>/.floe/nats); unfinished work resumes from it." placeholder:"DIR"`
	Progress  string `help:"Progress display: auto (a bar on a terminal), always, never." enum:"auto,always,never" default:"auto"`
	pluginFlags
	s3Flags
}

func (r *runCmd) Run(ctx context.Context, g *globals) error {
	po, err := r.plan(r.Table, r.s3Flags)
	if err != nil {
		return err
	}
	stages, closePlugins, err := r.load(ctx, g.log)
	if err != nil {
		return err
	}
	defer closePlugins()
	var bar io.Writer
	if r.Progress == "always" || (r.Progress == "auto" && isTerminal()) {
		bar = os.Stderr
	}
	res, err := runner.Run(ctx, runner.Options{
		Plan: po, Exports: r.Export, Warehouse: absPath(r.Warehouse), NatsStore: r.NatsStore,
		Workers: r.Workers, Log: g.log, Progress: bar, Fault: g.fault, Plugins: stages,
		MergeMode: committer.MergeMode(r.MergeMode),
	})
	if res != nil {
		printSummary(os.Stdout, r.Table, res)
	}
	return err
}

func printSummary(w io.Writer, table string, res *runner.Result) {
	secs := res.Duration.Seconds()
	for _, e := range res.Events {
		switch e.Status {
		case natsbus.StatusCommitted:
			if e.Upserts > 0 || e.Deletes > 0 {
				fmt.Fprintf(w, "export %s: merged into %s as snapshot %d (%d changes: %d upserts, %d deletes; %d values rescued)\n", e.ExportID, table, e.SnapshotID, e.Items, e.Upserts, e.Deletes, e.Rescued)
			} else {
				fmt.Fprintf(w, "export %s: committed to %s as snapshot %d (%d rows, %d data files, %d values rescued)\n", e.ExportID, table, e.SnapshotID, e.Items, e.DataFiles, e.Rescued)
			}
		case natsbus.StatusSkipped:
			fmt.Fprintf(w, "export %s: skipped, %s\n", e.ExportID, e.Message)
		case natsbus.StatusCommitted + runner.Resumed:
			fmt.Fprintf(w, "export %s: committed to %s as snapshot %d, resuming an interrupted run (%d rows, %d data files, %d values rescued)\n", e.ExportID, table, e.SnapshotID, e.Items, e.DataFiles, e.Rescued)
		default:
			fmt.Fprintf(w, "export %s: FAILED: %s\n", e.ExportID, e.Error)
		}
		if e.Plugins != "" && e.Status != natsbus.StatusSkipped {
			fmt.Fprintf(w, "  plugins %s: %d items in: %d kept, %d dropped, %d failed\n", e.Plugins, e.Kept+e.Dropped+e.Failed, e.Kept, e.Dropped, e.Failed)
		}
		if e.Failed > 0 {
			fmt.Fprintf(w, "  %d failed items are in the dead-letter stream: floe dlq list --warehouse … --table %s\n", e.Failed, table)
		}
	}
	if res.Items > 0 && secs > 0 {
		fmt.Fprintf(w, "loaded %d items (%.1f MB of DynamoDB JSON) in %.1fs: %.0f items/s, %.1f MB/s\n",
			res.Items, float64(res.Bytes)/1e6, secs, float64(res.Items)/secs, float64(res.Bytes)/1e6/secs)
		var parts []string
		for _, st := range res.Stages {
			parts = append(parts, fmt.Sprintf("%s %.2fs", st.Name, st.Duration.Seconds()))
		}
		fmt.Fprintf(w, "stages: %s\n", strings.Join(parts, ", "))
	}
}

type detectCmd struct {
	Export      []string `help:"Full export folder or AWSDynamoDB/ parent; local path or s3:// URI." required:"" sep:"none" placeholder:"PATH"`
	Key         []string `help:"The table key: partition key and optional sort key (e.g. --key pk,sk)." required:"" placeholder:"PK[,SK]"`
	Out         string   `help:"Write the schema file here (default: standard output)." placeholder:"FILE"`
	ColumnNames string   `help:"Column names: as-is or sanitize." enum:"as-is,sanitize" default:"as-is"`
	Workers     int      `help:"Files read at once (default: number of CPUs)."`
	s3Flags
}

func (d *detectCmd) Run(ctx context.Context, g *globals) error {
	workers := d.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	var merged *planner.DetectResult
	for _, e := range d.Export {
		res, err := planner.Detect(ctx, planner.Options{Table: "detect.detect", Export: e, Key: d.Key, S3: d.options(), ColumnNames: schema.ColumnNames(d.ColumnNames)}, workers)
		if err != nil {
			return err
		}
		merged = res // several exports: the last full export's schema wins
	}
	for _, c := range merged.Conflicts {
		g.log.Warn("type conflict", "detail", c.String())
	}
	data, err := json.MarshalIndent(merged.Schema, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	fmt.Fprintf(os.Stderr, "detected %d attributes over %d items in %d files; %d type conflicts\n", len(merged.Schema.Fields), merged.Items, merged.Files, len(merged.Conflicts))
	if d.Out == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return os.WriteFile(d.Out, data, 0o644)
}

type infoCmd struct {
	Warehouse string `help:"Local warehouse directory (holds catalog.db)." required:"" placeholder:"PATH"`
	Table     string `help:"Table identifier NAMESPACE.NAME." required:"" placeholder:"NS.NAME"`
	JSON      bool   `help:"Print JSON."`
}

// openTable opens the catalog of an existing local warehouse and loads
// one of its tables; close closes the catalog.
func openTable(ctx context.Context, warehouse, name string) (icecat.Catalog, *table.Table, func() error, error) {
	if err := natsbus.ValidateTable(name); err != nil {
		return nil, nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(warehouse, "catalog.db")); err != nil {
		return nil, nil, nil, fmt.Errorf("no floe warehouse at %s (no catalog.db): check --warehouse", warehouse)
	}
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: absPath(warehouse)})
	if err != nil {
		return nil, nil, nil, err
	}
	tbl, err := cat.LoadTable(ctx, icecat.ToIdentifier(name))
	if errors.Is(err, icecat.ErrNoSuchTable) {
		err = fmt.Errorf("table %s does not exist in the warehouse %s", name, warehouse)
	} else if err != nil {
		err = fmt.Errorf("table %s: %w", name, err)
	}
	if err != nil {
		closeCat()
		return nil, nil, nil, err
	}
	return cat, tbl, closeCat, nil
}

func (i *infoCmd) Run(ctx context.Context, g *globals) error {
	_, tbl, closeCat, err := openTable(ctx, i.Warehouse, i.Table)
	if err != nil {
		return err
	}
	defer closeCat()
	info, err := tableinfo.Describe(i.Table, tbl)
	if err != nil {
		return err
	}
	if i.JSON {
		return info.WriteJSON(os.Stdout)
	}
	return info.WriteText(os.Stdout)
}

type genCmd struct {
	Out          string `help:"Output directory; exports go under OUT/AWSDynamoDB/, expected states under OUT/expected/." required:"" placeholder:"DIR"`
	Items        int    `help:"Items in the full export." default:"10000"`
	Files        int    `help:"Data files in the full export (default: one per 100,000 items, plus an empty one)."`
	Format       string `help:"Export output format." enum:"DYNAMODB_JSON,ION" default:"DYNAMODB_JSON"`
	Incrementals int    `help:"Incremental exports after the full one."`
	Changes      int    `help:"Changed items per incremental export." default:"1000"`
	View         string `help:"Incremental export view." enum:"NEW_AND_OLD_IMAGES,NEW_IMAGE" default:"NEW_AND_OLD_IMAGES"`
	Seed         int64  `help:"Random seed: the same flags always give the same bytes." default:"1"`
	Edge         bool   `help:"Add edge-case attributes (odd names, 38-digit numbers, deep nesting, type drift) to some items."`
	NoExpected   bool   `help:"Do not write the expected-state files."`
}

func (c *genCmd) Run(ctx context.Context, g *globals) error {
	start := time.Now()
	res, err := exportgen.Generate(ctx, exportgen.Options{
		Dir: c.Out, Items: c.Items, Files: c.Files, Format: c.Format, Incrementals: c.Incrementals,
		ChangesPerIncremental: c.Changes, View: c.View, Seed: c.Seed, Edge: c.Edge, SkipExpected: c.NoExpected,
	})
	if err != nil {
		return err
	}
	fmt.Printf("full export %s: %d items, %.1f MB of lines, %d files\n  %s\n", res.Full.ID, res.Full.ItemCount, float64(res.Full.Bytes)/1e6, res.Full.Files, res.Full.Dir)
	for _, e := range res.Incrementals {
		fmt.Printf("incremental export %s: %d inserts, %d updates, %d deletes\n  %s\n", e.ID, e.Inserts, e.Updates, e.Deletes, e.Dir)
	}
	fmt.Printf("generated in %.1fs; the table key is pk,sk\n", time.Since(start).Seconds())
	return nil
}

// natsFlags connect to an external NATS server.
type natsFlags struct {
	NATS string `help:"NATS server URL(s), comma-separated." required:"" placeholder:"URL"`
}

// connect connects to NATS and sets up the streams. A long-running process
// (wait) waits for a server that is down when it starts, as it does for
// one that goes down later; a one-shot command fails at once.
func (f natsFlags) connect(ctx context.Context, name string, log *slog.Logger, wait bool) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(f.NATS, nats.Name(name), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(wait))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to NATS at %s: %w", f.NATS, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	if wait {
		err = natsbus.WhileAway(ctx, nc, log, "setting up the streams", func() error {
			return natsbus.Setup(ctx, js, natsbus.DefaultConfig)
		})
	} else {
		err = natsbus.Setup(ctx, js, natsbus.DefaultConfig)
	}
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("%w (is JetStream enabled on the server? run nats-server -js)", err)
	}
	return nc, js, nil
}

type submitCmd struct {
	natsFlags
	Export []string `help:"Export folder or AWSDynamoDB/ parent; local path or s3:// URI. Repeatable." required:"" sep:"none" placeholder:"PATH"`
	Table  string   `help:"Table identifier NAMESPACE.NAME." required:"" placeholder:"NS.NAME"`
	tableFlags
	s3Flags
}

func (s *submitCmd) Run(ctx context.Context, g *globals) error {
	po, err := s.plan(s.Table, s.s3Flags)
	if err != nil {
		return err
	}
	var groups [][]natsbus.Plan
	for _, e := range s.Export {
		po.Export = e
		ps, warnings, err := planner.Plans(ctx, po)
		for _, w := range warnings {
			g.log.Warn(w)
		}
		if err != nil {
			return err
		}
		groups = append(groups, ps)
	}
	plans := planner.Merge(groups...)
	nc, js, err := s.connect(ctx, "floe-submit", g.log, false)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := planner.Publish(ctx, js, plans); err != nil {
		return err
	}
	for _, p := range plans {
		fmt.Printf("submitted export %s (%s, %d files, %d items) for %s, attempt %s\n", p.ExportID, p.ExportType, len(p.Files), p.ItemCount, p.Table, p.Attempt)
	}
	return nil
}

type transformerCmd struct {
	natsFlags
	Workers     int           `help:"Files transformed at once (default: number of CPUs)."`
	TaskAckWait time.Duration `help:"How long a task may go without a heartbeat before another transformer takes it over (a dead transformer's files move on after this). Shared by all transformers: the last one started sets it." default:"60s" placeholder:"DURATION"`
	pluginFlags
	s3Flags
}

func (t *transformerCmd) Run(ctx context.Context, g *globals) error {
	stages, closePlugins, err := t.load(ctx, g.log)
	if err != nil {
		return err
	}
	defer closePlugins()
	nc, _, err := t.connect(ctx, "floe-transformer", g.log, true)
	if err != nil {
		return err
	}
	defer nc.Close()
	workers := t.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	tr, err := transformer.New(nc, func(ctx context.Context, uri string) (objstore.Store, error) {
		st, _, err := objstore.Parse(ctx, uri, t.options())
		return st, err
	}, transformer.Options{Workers: workers, AckWait: t.TaskAckWait, Log: g.log, Plugins: stages})
	if err != nil {
		return err
	}
	g.log.Info("transformer running", "nats", t.NATS, "workers", workers)
	return tr.Run(ctx)
}

type committerCmd struct {
	natsFlags
	Table     string `help:"Table identifier NAMESPACE.NAME." required:"" placeholder:"NS.NAME"`
	Warehouse string `help:"Local warehouse directory (holds catalog.db)." required:"" placeholder:"PATH"`
	Catalog   string `help:"Catalog type; sql (SQLite) for now." enum:"sql" default:"sql"`
	mergeFlags
}

func (c *committerCmd) Run(ctx context.Context, g *globals) error {
	nc, _, err := c.connect(ctx, "floe-committer", g.log, true)
	if err != nil {
		return err
	}
	defer nc.Close()
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Type: c.Catalog, Warehouse: absPath(c.Warehouse), Fault: g.fault})
	if err != nil {
		return err
	}
	defer closeCat()
	com, err := committer.New(nc, cat, c.Table, committer.Options{Log: g.log, Fault: g.fault, MergeMode: committer.MergeMode(c.MergeMode)})
	if err != nil {
		return err
	}
	g.log.Info("committer running", "nats", c.NATS, "table", c.Table)
	return com.Run(ctx)
}
