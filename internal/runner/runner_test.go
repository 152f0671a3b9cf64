package runner_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/planner"
	"github.com/floe-io/floe/internal/runner"
	"github.com/floe-io/floe/internal/schema"
	"github.com/floe-io/floe/internal/testutil"
)

var key = []string{"pk", "sk"}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestFullExportEndToEnd loads generated full exports through the whole
// pipeline (embedded NATS, transformers, committer, SQLite catalog) and
// compares every row and attribute of the table with the generator's
// expected state.
func TestFullExportEndToEnd(t *testing.T) {
	cases := []struct {
		name        string
		format      string
		files       int
		partitionBy []string
		columns     schema.ColumnNames
		version     int
	}{
		{name: "json", format: "DYNAMODB_JSON", files: 3},
		{name: "ion", format: "ION", files: 2},
		{name: "partitioned", format: "DYNAMODB_JSON", files: 2, partitionBy: []string{"bucket(4,pk)", "status"}},
		{name: "sanitize-v3", format: "DYNAMODB_JSON", files: 1, columns: schema.ColumnsSanitize, version: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := t.TempDir()
			gen, err := exportgen.Generate(ctx, exportgen.Options{Dir: dir, Items: 3000, Files: tc.files, Format: tc.format, Edge: true, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			wh := t.TempDir()
			res, err := runner.Run(ctx, runner.Options{
				Plan:    planner.Options{Table: "ddb.orders", Key: key, PartitionBy: tc.partitionBy, ColumnNames: tc.columns, FormatVersion: tc.version},
				Exports: []string{gen.Full.Dir}, Warehouse: wh, Log: quietLog(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Events) != 1 || res.Events[0].Status != natsbus.StatusCommitted {
				t.Fatalf("events = %+v, want one committed", res.Events)
			}
			if res.Rows != gen.Full.ItemCount {
				t.Fatalf("rows written = %d, want %d", res.Rows, gen.Full.ItemCount)
			}
			tbl := loadTable(t, wh)
			if n := len(tbl.Metadata().Snapshots()); n != 1 {
				t.Fatalf("%d snapshots, want exactly 1 for one full export", n)
			}
			marker := tbl.CurrentSnapshot().Summary.Properties
			if marker[committer.MarkerExportID] != gen.Full.ID || marker[committer.MarkerItems] != "3000" {
				t.Fatalf("snapshot marker = %v", marker)
			}
			if v := tbl.Metadata().Version(); v != max(tc.version, 2) {
				t.Fatalf("format version %d", v)
			}
			spec := tbl.Spec()
			if got := spec.NumFields(); got != len(tc.partitionBy) {
				t.Fatalf("partition spec has %d fields, want %d", got, len(tc.partitionBy))
			}
			ids := tbl.Schema().IdentifierFieldIDs
			if len(ids) != 2 {
				t.Fatalf("identifier fields = %v", ids)
			}
			if tc.columns == schema.ColumnsSanitize {
				for _, f := range tbl.Schema().Fields() {
					if f.Name != schema.Sanitize(f.Name) && !strings.HasPrefix(f.Name, "_") {
						t.Errorf("column %q is not sanitized", f.Name)
					}
				}
			}
			compareWithExpected(t, ctx, tbl, gen.Full.ExpectedPath)
		})
	}
}

// TestRerunIsNoOp runs the same export twice: the second run must commit
// nothing and report the export as skipped.
func TestRerunIsNoOp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	gen, err := exportgen.Generate(ctx, exportgen.Options{Dir: dir, Items: 500, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	wh := t.TempDir()
	opts := runner.Options{Plan: planner.Options{Table: "ddb.orders", Key: key}, Exports: []string{dir + "/AWSDynamoDB"}, Warehouse: wh, Log: quietLog()}
	if _, err := runner.Run(ctx, opts); err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 || res.Events[0].Status != natsbus.StatusSkipped {
		t.Fatalf("second run events = %+v, want skipped", res.Events)
	}
	tbl := loadTable(t, wh)
	if n := len(tbl.Metadata().Snapshots()); n != 1 {
		t.Fatalf("%d snapshots after a rerun, want 1", n)
	}
	compareWithExpected(t, ctx, tbl, gen.Full.ExpectedPath)
}

func loadTable(t *testing.T, wh string) *tableT {
	t.Helper()
	cat, closeCat, err := catalog.Open(context.Background(), catalog.Config{Warehouse: wh})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeCat() })
	tbl, err := cat.LoadTable(context.Background(), icecat.ToIdentifier("ddb.orders"))
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func compareWithExpected(t *testing.T, ctx context.Context, tbl *tableT, expectedPath string) {
	t.Helper()
	if d, err := testutil.CompareTable(ctx, tbl, expectedPath, key); err != nil {
		t.Fatal(err)
	} else if d != "" {
		t.Fatal(d)
	}
}

type tableT = table.Table
