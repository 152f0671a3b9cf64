package runner_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"

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
// folder again: nothing may change. It runs for every merge mode in
// format versions 2 and 3, and with the mode switched between exports.
func TestIncrementalHistory(t *testing.T) {
	const (
		mor = committer.MergeOnRead
		eq  = committer.EqualityDeletes
		cow = committer.CopyOnWrite
	)
	cases := []struct {
		name        string
		format      string
		view        string
		version     int
		partitionBy []string
		// modes are the --merge-mode of each run, in turn; "" keeps the
		// table's.
		modes []committer.MergeMode
	}{
		{name: "json-v2-new-and-old", format: exportgen.FormatJSON, view: exportgen.ViewNewAndOld, version: 2},
		{name: "ion-v3-new-image", format: exportgen.FormatIon, view: exportgen.ViewNew, version: 3},
		{name: "ion-partitioned-v2-new-image", format: exportgen.FormatIon, view: exportgen.ViewNew, version: 2, partitionBy: []string{"bucket(4,pk)"}},
		{name: "json-partitioned-v3-new-and-old", format: exportgen.FormatJSON, view: exportgen.ViewNewAndOld, version: 3, partitionBy: []string{"bucket(4,pk)", "status"}},
		{name: "equality-deletes-json-v2", format: exportgen.FormatJSON, view: exportgen.ViewNewAndOld, version: 2, modes: []committer.MergeMode{eq, ""}},
		{name: "equality-deletes-ion-partitioned-v3", format: exportgen.FormatIon, view: exportgen.ViewNew, version: 3, partitionBy: []string{"bucket(4,pk)"}, modes: []committer.MergeMode{eq}},
		{name: "copy-on-write-ion-partitioned-v2", format: exportgen.FormatIon, view: exportgen.ViewNew, version: 2, partitionBy: []string{"bucket(4,pk)"}, modes: []committer.MergeMode{cow}},
		{name: "copy-on-write-json-partitioned-v3", format: exportgen.FormatJSON, view: exportgen.ViewNewAndOld, version: 3, partitionBy: []string{"bucket(4,pk)", "status"}, modes: []committer.MergeMode{cow, ""}},
		{name: "switching-json-v2", format: exportgen.FormatJSON, view: exportgen.ViewNewAndOld, version: 2, modes: []committer.MergeMode{"", eq, cow, mor, eq}},
		{name: "switching-ion-v3", format: exportgen.FormatIon, view: exportgen.ViewNew, version: 3, modes: []committer.MergeMode{eq, cow, "", mor, eq}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
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
			var ids map[string]int64 // v3: the row id of every key
			mode := mor              // the table's
			onlyCopyOnWrite := true
			for i, e := range exports {
				opts.Exports = []string{e.Dir}
				opts.MergeMode = ""
				if len(tc.modes) > 0 {
					opts.MergeMode = tc.modes[i%len(tc.modes)]
				}
				if opts.MergeMode != "" {
					mode = opts.MergeMode
				}
				onlyCopyOnWrite = onlyCopyOnWrite && mode == cow
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
				if got := tbl.Properties()[committer.PropMergeMode]; got != string(mode) {
					t.Fatalf("after export %d: table records merge mode %q, want %q", i, got, mode)
				}
				marker := tbl.CurrentSnapshot().Summary.Properties
				if marker[committer.MarkerExportID] != e.ID || marker[committer.MarkerItems] != strconv.FormatInt(e.ItemCount, 10) {
					t.Fatalf("after export %d: marker %v", i, marker)
				}
				if i > 0 {
					if got := marker[committer.MarkerMergeMode]; got != string(mode) {
						t.Errorf("export %d: merged as %q, want %q", i, got, mode)
					}
					if got, want := marker[committer.MarkerDeletes], strconv.Itoa(e.Deletes); got != want {
						t.Errorf("export %d: marker says %s deletes, the generator made %s", i, got, want)
					}
					if got, want := marker[committer.MarkerUpserts], strconv.Itoa(e.Inserts+e.Updates); got != want {
						t.Errorf("export %d: marker says %s upserts, the generator made %s", i, got, want)
					}
					checkDeleteFiles(t, ctx, tbl, i, mode, onlyCopyOnWrite)
				}
				if tc.version >= 3 {
					now := rowIDs(t, ctx, tbl)
					if moved := movedRows(ids, now); moved > e.Updates {
						t.Errorf("export %d (%s): %d rows kept their key but not their row id; the export updated %d", i, mode, moved, e.Updates)
					}
					ids = now
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

// checkDeleteFiles checks the delete files the snapshot of export i added
// in mode: equality deletes only with equality-deletes, and no delete
// files at all in a table that was only ever copy-on-write.
func checkDeleteFiles(t *testing.T, ctx context.Context, tbl *tableT, i int, mode committer.MergeMode, onlyCopyOnWrite bool) {
	t.Helper()
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pos, eqs int
	for _, task := range tasks {
		pos += len(task.DeleteFiles) + len(task.DeletionVectorFiles)
		eqs += len(task.EqualityDeleteFiles)
	}
	props := tbl.CurrentSnapshot().Summary.Properties
	addedEq := props["added-equality-delete-files"]
	switch {
	case mode == committer.EqualityDeletes && (addedEq == "" || addedEq == "0"):
		t.Errorf("export %d (equality-deletes): snapshot added no equality delete files: %v", i, props)
	case mode != committer.EqualityDeletes && addedEq != "" && addedEq != "0":
		t.Errorf("export %d (%s): snapshot added %s equality delete files", i, mode, addedEq)
	case onlyCopyOnWrite && pos+eqs > 0:
		t.Errorf("export %d: a copy-on-write table has %d position and %d equality delete files", i, pos, eqs)
	}
}

// rowIDs reads the v3 row id (_row_id) of every row, by key.
func rowIDs(t *testing.T, ctx context.Context, tbl *tableT) map[string]int64 {
	t.Helper()
	_, recs, err := tbl.Scan(table.WithSelectedFields("pk", "sk"), table.WithRowLineage()).ToArrowRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for rec, err := range recs {
		if err != nil {
			t.Fatal(err)
		}
		sc := rec.Schema()
		col := func(name string) arrow.Array {
			idx := sc.FieldIndices(name)
			if len(idx) != 1 {
				t.Fatalf("scan with row lineage has no column %s: %s", name, sc)
			}
			return rec.Column(idx[0])
		}
		pk, sk, id := col("pk").(*array.String), col("sk").(*array.String), col("_row_id").(*array.Int64)
		for r := range int(rec.NumRows()) {
			if id.IsNull(r) {
				t.Fatalf("row %s/%s has no row id", pk.Value(r), sk.Value(r))
			}
			ids[pk.Value(r)+"\x00"+sk.Value(r)] = id.Value(r)
		}
		rec.Release()
	}
	return ids
}

// movedRows counts the keys of before that are in now with another row id.
func movedRows(before, now map[string]int64) int {
	n := 0
	for k, id := range before {
		if got, ok := now[k]; ok && got != id {
			n++
		}
	}
	return n
}
