package maintain

import (
	"context"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/catalog"
)

// TestExpireKeepsMarkerAncestry commits two marked snapshots and two
// unmarked ones on top (as compaction would), then expires everything it
// may: the snapshots back to the newest marker stay, older ones go, and a
// dry run changes nothing.
func TestExpireKeepsMarkerAncestry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer closeCat()
	ident := table.Identifier{"ddb", "orders"}
	if err := cat.CreateNamespace(ctx, ident[:1], nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, ident, iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "pk", Type: iceberg.PrimitiveTypes.String, Required: true}))
	if err != nil {
		t.Fatal(err)
	}
	commit := func(props map[string]string) int64 {
		t.Helper()
		tx := tbl.NewTransaction()
		if err := tx.AddFiles(ctx, nil, props, false); err != nil {
			t.Fatal(err)
		}
		if tbl, err = tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return tbl.CurrentSnapshot().SnapshotID
	}
	old := commit(map[string]string{committer.MarkerExportID: "01704067200000-a1b2c3d4"})
	marked := commit(map[string]string{committer.MarkerExportID: "01704070800000-e5f6a7b8"})
	mid := commit(map[string]string{"note": "maintenance"})
	top := commit(map[string]string{"note": "maintenance"})

	for _, dry := range []bool{true, false} {
		rep, err := Run(ctx, cat, ident, Options{Expire: true, RetainLast: 1, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Expired) != 1 || rep.Expired[0].ID != old || rep.Expired[0].Export != "01704067200000-a1b2c3d4" {
			t.Fatalf("dry run %v: expired %+v, want only snapshot %d", dry, rep.Expired, old)
		}
		if rep.MarkerSnapshot != marked {
			t.Errorf("marker snapshot %d, want %d", rep.MarkerSnapshot, marked)
		}
		now, err := cat.LoadTable(ctx, ident)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]bool{old: dry, marked: true, mid: true, top: true}
		for id, kept := range want {
			if got := now.Metadata().SnapshotByID(id) != nil; got != kept {
				t.Errorf("dry run %v: snapshot %d kept = %v, want %v", dry, id, got, kept)
			}
		}
	}
	if _, err := Run(ctx, cat, ident, Options{Orphans: true, RetainLast: 1, OlderThan: time.Minute}); err == nil {
		t.Error("orphan removal accepted an age bound of a minute")
	}
}
