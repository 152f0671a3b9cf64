package maintain

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/catalog"
)

// ident names the table of the tests.
var ident = table.Identifier{"ddb", "orders"}

// newTable creates table ident, with one string column pk, in a new
// SQLite catalog that is closed when the test ends.
func newTable(t *testing.T, ctx context.Context) (icecat.Catalog, *table.Table) {
	t.Helper()
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeCat() })
	if err := cat.CreateNamespace(ctx, ident[:1], nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := cat.CreateTable(ctx, ident, iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "pk", Type: iceberg.PrimitiveTypes.String, Required: true}))
	if err != nil {
		t.Fatal(err)
	}
	return cat, tbl
}

// TestExpireKeepsMarkerAncestry commits two marked snapshots and two
// unmarked ones on top (as compaction would), then expires everything it
// may: the snapshots back to the newest marker stay, older ones go, and a
// dry run changes nothing.
func TestExpireKeepsMarkerAncestry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cat, tbl := newTable(t, ctx)
	var err error
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

// racingCatalog lets another writer commit a snapshot just before each of
// the first `races` commits through it, as a committer would: the commit
// then finds the table's main branch moved.
type racingCatalog struct {
	icecat.Catalog
	t     *testing.T
	races int
}

func (c *racingCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	tbl, err := c.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	// Commits of the table go through c.
	return table.New(tbl.Identifier(), tbl.Metadata(), tbl.MetadataLocation(), tbl.FS, c), nil
}

func (c *racingCatalog) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	if c.races > 0 {
		c.races--
		other, err := c.Catalog.LoadTable(ctx, ident)
		if err != nil {
			c.t.Fatal(err)
		}
		tx := other.NewTransaction()
		if err := tx.AddFiles(ctx, nil, map[string]string{committer.MarkerExportID: "01704074400000-c0ffee00"}, false); err != nil {
			c.t.Fatal(err)
		}
		if _, err := tx.Commit(ctx); err != nil {
			c.t.Fatal(err)
		}
	}
	return c.Catalog.CommitTable(ctx, ident, reqs, updates)
}

// TestRetriesAfterLostRace: compaction and expiry that lose the race to
// another writer's commit start over against the table as it is now, and
// give up with a clear error after Options.Attempts.
func TestRetriesAfterLostRace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inner, tbl := newTable(t, ctx)
	sch := tbl.Schema()
	// Two small data files: a compaction group. The first marked.
	asc, err := table.SchemaToArrowSchema(sch, nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, props := range []iceberg.Properties{{committer.MarkerExportID: "01704067200000-a1b2c3d4"}, nil} {
		b := array.NewRecordBuilder(memory.DefaultAllocator, asc)
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprint("k", i))
		rec := b.NewRecordBatch()
		rdr, err := array.NewRecordReader(asc, []arrow.RecordBatch{rec})
		if err != nil {
			t.Fatal(err)
		}
		if tbl, err = tbl.Append(ctx, rdr, props); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		b.Release()
	}

	cat := &racingCatalog{Catalog: inner, t: t, races: 2}
	rep, err := Run(ctx, cat, ident, Options{Compact: true, Expire: true, RetainLast: 1, Attempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	// The first compaction commit lost to the racing commit, the second
	// one won; expiry's first commit lost to the second race.
	if rep.Conflicts != 2 || rep.Compaction.OutputFiles != 1 || len(rep.Expired) == 0 {
		t.Fatalf("report %+v: want 2 conflicts, 1 output file and expired snapshots", rep)
	}
	now, err := inner.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if p := now.CurrentSnapshot().Summary.Properties; p[PropMaintenance] != "compaction" {
		t.Errorf("current snapshot %v, want the compaction's", p)
	}

	// Something to expire, and a writer that always commits first.
	tx := now.NewTransaction()
	if err := tx.AddFiles(ctx, nil, iceberg.Properties{committer.MarkerExportID: "01704078000000-0badcafe"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cat.races = 10
	_, err = Run(ctx, cat, ident, Options{Expire: true, RetainLast: 1, Attempts: 3})
	if err == nil || !strings.Contains(err.Error(), "another writer committed to the table 3 times") {
		t.Fatalf("after 3 lost races: %v, want the give-up error", err)
	}
}
