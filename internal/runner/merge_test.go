package runner_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/planner"
	"github.com/floe-io/floe/internal/runner"
)

// TestIncrementalHistory applies a generated history (a full export and
// several incremental exports with inserts, updates, deletes, re-inserts,
// removed and new attributes, type drift) one export per run, and compares
// the table with the generator's expected state, row by row and attribute
// by attribute, after every export. Then it runs the whole AWSDynamoDB/
// folder again: nothing may change.
func TestIncrementalHistory(t *testing.T) {
	cases := []struct {
		name        string
		format      string
		view        string
		version     int
		partitionBy []string
	}{
		{name: "json-v2-new-and-old", format: exportgen.FormatJSON, view: exportgen.ViewNewAndOld, version: 2},
		{name: "ion-v3-new-image", format: exportgen.FormatIon, view: exportgen.ViewNew, version: 3},
		{name: "ion-partitioned-v2-new-image", format: exportgen.FormatIon, view: exportgen.ViewNew, version: 2, partitionBy: []string{"bucket(4,pk)"}},
		{name: "json-partitioned-v3-new-and-old", format: exportgen.FormatJSON, view: exportgen.ViewNewAndOld, version: 3, partitionBy: []string{"bucket(4,pk)", "status"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			dir := t.TempDir()
			gen, err := exportgen.Generate(ctx, exportgen.Options{
				Dir: dir, Items: 2000, Files: 2, Format: tc.format, View: tc.view, Edge: true, Seed: 11,
				Incrementals: 4, ChangesPerIncremental: 400, IncrementalFiles: 2,
			})
			if err != nil {
				t.Fatal(err)
			}
			wh := t.TempDir()
			opts := runner.Options{
				Plan:      planner.Options{Table: "ddb.orders", Key: key, PartitionBy: tc.partitionBy, FormatVersion: tc.version},
				Warehouse: wh, Log: quietLog(),
			}
			exports := append([]exportgen.ExportInfo{gen.Full}, gen.Incrementals...)
			for i, e := range exports {
				opts.Exports = []string{e.Dir}
				res, err := runner.Run(ctx, opts)
				if err != nil {
					t.Fatalf("export %d (%s): %v", i, e.ID, err)
				}
				if len(res.Events) != 1 || res.Events[0].Status != natsbus.StatusCommitted {
					t.Fatalf("export %d: events = %+v, want one committed", i, res.Events)
				}
				tbl := loadTable(t, wh)
				if n := len(tbl.Metadata().Snapshots()); n != i+1 {
					t.Fatalf("after export %d: %d snapshots, want %d (one per export)", i, n, i+1)
				}
				marker := tbl.CurrentSnapshot().Summary.Properties
				if marker[committer.MarkerExportID] != e.ID || marker[committer.MarkerItems] != strconv.FormatInt(e.ItemCount, 10) {
					t.Fatalf("after export %d: marker %v", i, marker)
				}
				if i > 0 {
					if got, want := marker[committer.MarkerDeletes], strconv.Itoa(e.Deletes); got != want {
						t.Errorf("export %d: marker says %s deletes, the generator made %s", i, got, want)
					}
					if got, want := marker[committer.MarkerUpserts], strconv.Itoa(e.Inserts+e.Updates); got != want {
						t.Errorf("export %d: marker says %s upserts, the generator made %s", i, got, want)
					}
				}
				compareWithExpected(t, ctx, tbl, e.ExpectedPath)
			}
			// Attributes that only incremental exports have became columns.
			final := loadTable(t, wh)
			for _, col := range []string{"trackingNumber", "deliveredAt", "returnReason"} {
				if _, ok := final.Schema().FindFieldByName(col); !ok {
					t.Errorf("attribute %s, new in the incremental exports, has no column", col)
				}
			}
			// The whole folder again: every export is already there.
			opts.Exports = []string{dir + "/AWSDynamoDB"}
			res, err := runner.Run(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.Events {
				if e.Status != natsbus.StatusSkipped {
					t.Fatalf("rerun: export %s %s, want skipped", e.ExportID, e.Status)
				}
			}
			tbl := loadTable(t, wh)
			if n := len(tbl.Metadata().Snapshots()); n != len(exports) {
				t.Fatalf("rerun added snapshots: %d, want %d", n, len(exports))
			}
			compareWithExpected(t, ctx, tbl, exports[len(exports)-1].ExpectedPath)
		})
	}
}

// TestIncrementalHistoryOneRun applies a full export and its incremental
// exports from the AWSDynamoDB/ folder in a single run.
func TestIncrementalHistoryOneRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	gen, err := exportgen.Generate(ctx, exportgen.Options{Dir: dir, Items: 1500, Edge: true, Seed: 5, Incrementals: 3, ChangesPerIncremental: 300})
	if err != nil {
		t.Fatal(err)
	}
	wh := t.TempDir()
	res, err := runner.Run(ctx, runner.Options{
		Plan: planner.Options{Table: "ddb.orders", Key: key}, Exports: []string{dir + "/AWSDynamoDB"}, Warehouse: wh, Log: quietLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 4 {
		t.Fatalf("events = %+v, want 4", res.Events)
	}
	for i, e := range res.Events {
		want := gen.Full.ID
		if i > 0 {
			want = gen.Incrementals[i-1].ID
		}
		if e.ExportID != want || e.Status != natsbus.StatusCommitted {
			t.Fatalf("event %d = %+v, want %s committed", i, e, want)
		}
	}
	tbl := loadTable(t, wh)
	if n := len(tbl.Metadata().Snapshots()); n != 4 {
		t.Fatalf("%d snapshots, want 4", n)
	}
	compareWithExpected(t, ctx, tbl, gen.Incrementals[2].ExpectedPath)
}
