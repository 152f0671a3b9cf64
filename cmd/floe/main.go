// Command floe turns DynamoDB exports into Apache Iceberg tables.
//
// This file only parses flags and wires packages together; see the README
// for usage and RATIONALE.md for the design.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/internal/planner"
	"github.com/floe-io/floe/internal/schema"
)

// globals are flags every command takes.
type globals struct {
	Config      configFlag `help:"Read flag values from this JSON file ({\"warehouse\": \"...\", ...}); flags and FLOE_* variables override it. (floe plugin test takes the plugin's JSON configuration here instead.)" placeholder:"FILE"`
	LogFormat   string     `help:"Log format: text or json." enum:"text,json" default:"text"`
	LogLevel    string     `help:"Log level: debug, info, warn or error." enum:"debug,info,warn,error" default:"info"`
	MemoryLimit byteSize   `help:"Soft memory limit of the process; the Go runtime collects garbage harder as it nears it (GOMEMLIMIT also works). 0 = none." default:"768MiB" placeholder:"SIZE"`
	CPUProfile  string     `help:"Write a Go CPU profile of the command to this file (for performance reports)." type:"path" placeholder:"FILE"`

	log *slog.Logger
	// fault is the crash tests' kill point (FLOE_TEST_KILL_AT), or nil.
	fault func(point string)
}

// configFlag is --config: a JSON file of flag values, as kong.ConfigFlag,
// except that inline JSON (a value starting with "{") is left alone: the
// CLI contract gives floe plugin test a --config JSON flag of its own, and
// one flag name cannot mean both.
type configFlag string

// BeforeResolve loads the file's flag values (see kong.ConfigFlag).
func (c configFlag) BeforeResolve(k *kong.Kong, ctx *kong.Context, trace *kong.Path) error {
	v, _ := ctx.FlagValue(trace.Flag).(configFlag)
	if v == "" || strings.HasPrefix(strings.TrimSpace(string(v)), "{") {
		return nil
	}
	resolver, err := k.LoadConfig(kong.ExpandPath(string(v)))
	if err != nil {
		return err
	}
	ctx.AddResolver(resolver)
	return nil
}

// pluginConfig returns --config as a plugin configuration: inline JSON,
// or {} when it names a file of flag values.
func (g *globals) pluginConfig() []byte {
	if v := strings.TrimSpace(string(g.Config)); strings.HasPrefix(v, "{") {
		return []byte(v)
	}
	return []byte("{}")
}

// killAt returns a committer fault hook that SIGKILLs this process at the
// named point (see committer.Options.Fault), or nil for "". It exists for
// the crash tests, which must stop the process at an exact moment of a
// commit; no user has a reason to set it.
//
// The value is a point, or POINT:N to kill at the point's N-th occurrence.
func killAt(spec string, log *slog.Logger) func(string) {
	if spec == "" {
		return nil
	}
	point, nth := spec, 1
	if p, n, ok := strings.Cut(spec, ":"); ok {
		if v, err := strconv.Atoi(n); err == nil && v > 0 {
			point, nth = p, v
		}
	}
	seen := 0
	return func(p string) {
		if p != point {
			return
		}
		if seen++; seen == nth {
			log.Warn("FLOE_TEST_KILL_AT: killing this process", "point", p)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

// s3Flags configure access to s3:// locations.
type s3Flags struct {
	S3Endpoint  string `name:"s3-endpoint" env:"FLOE_S3_ENDPOINT" help:"S3 endpoint URL, for S3-compatible stores (MinIO, versitygw)." placeholder:"URL"`
	S3Region    string `name:"s3-region" env:"FLOE_S3_REGION" help:"S3 region (default: from the AWS configuration)."`
	S3PathStyle bool   `name:"s3-path-style" env:"FLOE_S3_PATH_STYLE" help:"Use path-style S3 addressing (most S3-compatible stores need it)."`
}

func (f s3Flags) options() objstore.S3Options {
	return objstore.S3Options{Endpoint: f.S3Endpoint, Region: f.S3Region, PathStyle: f.S3PathStyle}
}

// tableFlags say how a table is created when it does not exist yet.
type tableFlags struct {
	Key            []string `help:"The table key: partition key and optional sort key attribute (e.g. --key pk,sk). Full exports do not record it, so a new table needs it; once the table exists it may be left out (a different one is an error)." placeholder:"PK[,SK]"`
	Schema         string   `help:"Schema file (from 'floe schema detect', or {\"attr\": \"S\", ...}): fixes the types of the attributes it lists; the others are detected, unless the file says \"pinned\": true (then no detection pass). See docs/schema-file.md." type:"existingfile" placeholder:"FILE"`
	ColumnNames    string   `help:"Column names: as-is, or sanitize (lower-case, [a-z0-9_]; Glue/Athena-safe; the original name is kept in the column doc)." enum:"as-is,sanitize" default:"as-is"`
	PartitionBy    []string `help:"Partition field: COLUMN or TRANSFORM(COLUMN), e.g. bucket(16,pk), truncate(4,sk), day(col). Repeatable." sep:"none" placeholder:"EXPR"`
	FormatVersion  int      `help:"Iceberg format version of a new table: 2 or 3." enum:"2,3" default:"2"`
	TargetFileSize byteSize `help:"Target Parquet data file size (e.g. 128MiB)." default:"128MiB" placeholder:"SIZE"`
	AllowGaps      bool     `help:"Apply an incremental export even if it does not start where the table's changes end (changes made in the gap are missing for good). Without it such an export is refused."`
	SchemaSample   string   `help:"How a new table's types are detected: from the first N items of each data file, checked against every item as the export loads (it loads again, once, in the rare case the whole export needs other types); 'auto' samples about 20,000 items in all; 'all' reads every item in a detection pass before loading (two reads of the export, no second load)." default:"auto" placeholder:"N|auto|all"`
}

// mergeFlags choose how a committer writes incremental exports.
type mergeFlags struct {
	MergeMode string `help:"How incremental exports are merged: merge-on-read (position deletes or deletion vectors; every engine reads them), equality-deletes (cheapest to write; Snowflake, DuckDB and PyIceberg cannot read them; the table must be unpartitioned or partitioned by key columns only), or copy-on-write (rewrites the data files holding changed keys; no delete files). Recorded in the table: a later run without the flag keeps it, and changing it applies from the next export. Default: the table's mode, merge-on-read for a new table." enum:",merge-on-read,equality-deletes,copy-on-write" default:"" placeholder:"MODE"`
}

func (f tableFlags) plan(table string, s3 s3Flags) (planner.Options, error) {
	o := planner.Options{
		Table: table, S3: s3.options(), Key: f.Key, ColumnNames: schema.ColumnNames(f.ColumnNames),
		PartitionBy: f.PartitionBy, FormatVersion: f.FormatVersion, TargetFileSize: int64(f.TargetFileSize),
		AllowGaps: f.AllowGaps,
	}
	switch f.SchemaSample {
	case "auto", "":
	case "all":
		o.SchemaSample = natsbus.SchemaSampleAll
	default:
		n, err := strconv.ParseInt(f.SchemaSample, 10, 64)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("--schema-sample %q: want a number of items per data file, auto or all", f.SchemaSample)
		}
		o.SchemaSample = n
	}
	if f.Schema != "" {
		data, err := os.ReadFile(f.Schema)
		if err != nil {
			return o, fmt.Errorf("--schema: %w", err)
		}
		o.Schema = data
	}
	return o, nil
}

type cli struct {
	globals

	Run         runCmd         `cmd:"" help:"Load exports into an Iceberg table, all in one process (embedded NATS, SQLite catalog, local warehouse)."`
	Schema      schemaCmd      `cmd:"" help:"Work with table schemas."`
	Table       tableCmd       `cmd:"" help:"Inspect tables."`
	Gen         genCmd         `cmd:"" help:"Generate a sample DynamoDB export (full and incremental) with its expected table state."`
	Submit      submitCmd      `cmd:"" help:"Plan exports and hand them to a table's committer over NATS."`
	Transformer transformerCmd `cmd:"" help:"Run a transformer: read export files, publish Arrow batches (stateless; scale out)."`
	Committer   committerCmd   `cmd:"" help:"Run a table's committer: write Parquet and commit Iceberg snapshots."`
	Plugin      pluginCmd      `cmd:"" help:"Work with WebAssembly plugins."`
	DLQ         dlqCmd         `cmd:"" name:"dlq" help:"Inspect the dead-letter stream: items plugins failed."`
	Maintain    maintainCmd    `cmd:"" help:"Expire old snapshots and remove unreferenced files of a table, safely beside a running load."`
}

type schemaCmd struct {
	Detect detectCmd `cmd:"" help:"Infer the schema of a full export; report type conflicts; write a schema file."`
}

type tableCmd struct {
	Info infoCmd `cmd:"" help:"Show a table's metadata location, schema, partitioning and snapshots with their floe markers."`
}

func main() {
	var c cli
	parser := kong.Must(&c,
		kong.Name("floe"),
		kong.Description("floe turns DynamoDB exports (full and incremental, local or s3://) into Apache Iceberg tables, exactly once.\n\nEvery flag can also be set with a FLOE_* environment variable (e.g. FLOE_WAREHOUSE) or in the --config file."),
		kong.DefaultEnvars("FLOE"),
		kong.Configuration(kong.JSON),
		kong.UsageOnError(),
	)
	kctx, err := parser.Parse(os.Args[1:])
	parser.FatalIfErrorf(err)
	c.log = newLogger(c.LogFormat, c.LogLevel)
	c.fault = killAt(os.Getenv("FLOE_TEST_KILL_AT"), c.log)
	if c.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(c.MemoryLimit))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "floe: --cpu-profile: %v\n", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "floe: --cpu-profile: %v\n", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(&c.globals); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "floe: interrupted; unfinished work resumes on the next run")
			os.Exit(130)
		}
		fmt.Fprintf(os.Stderr, "floe %s: %v\n", kctx.Command(), err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func newLogger(format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// isTerminal reports whether stderr is a terminal, where a progress bar
// belongs; elsewhere progress goes to the logs.
func isTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
