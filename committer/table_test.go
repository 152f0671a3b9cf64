package committer

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/export"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/schema"
)

func TestParsePartitionField(t *testing.T) {
	tests := []struct {
		expr          string
		wantTransform string
		wantColumn    string
		wantErr       string // substring; empty: success
	}{
		// Identity shorthand.
		{"pk", "identity", "pk", ""},
		{"  status ", "identity", "status", ""},
		{"shipping note", "identity", "shipping note", ""},
		{"identity(pk)", "identity", "pk", ""},
		// Transforms with a width.
		{"bucket(16,pk)", "bucket[16]", "pk", ""},
		{"bucket(16, pk)", "bucket[16]", "pk", ""},
		{"truncate(4, sk)", "truncate[4]", "sk", ""},
		{"  truncate ( 4 ,  sk )  ", "truncate[4]", "sk", ""},
		{"bucket(1024,customer id)", "bucket[1024]", "customer id", ""},
		// Time transforms.
		{"year(createdAt)", "year", "createdAt", ""},
		{"month(createdAt)", "month", "createdAt", ""},
		{"day( createdAt )", "day", "createdAt", ""},
		{"hour(_ddb_write_ts)", "hour", "_ddb_write_ts", ""},
		{"void(pk)", "void", "pk", ""},
		// Errors.
		{"days(createdAt)", "", "", "unknown transform"},
		{"bucket16(pk)", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"Bucket(16,pk)", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"bucket(pk)", "", "", "needs a width"},
		{"truncate(sk)", "", "", "needs a width"},
		{"identity(3,pk)", "", "", "takes only a column"},
		{"day(7, createdAt)", "", "", "takes only a column"},
		{"", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"   ", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"bucket(16,pk", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"bucket16,pk)", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"pk,sk", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"()", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"bucket()", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"bucket(16,(pk))", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
		{"(pk)", "", "", "want COLUMN or TRANSFORM(COLUMN)"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			tr, col, err := ParsePartitionField(tt.expr)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParsePartitionField(%q) = %q, %q; want an error", tt.expr, tr, col)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.expr) {
					t.Fatalf("error %q does not quote the entry %q", err, tt.expr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePartitionField(%q): %v", tt.expr, err)
			}
			if tr != tt.wantTransform || col != tt.wantColumn {
				t.Fatalf("ParsePartitionField(%q) = %q, %q; want %q, %q", tt.expr, tr, col, tt.wantTransform, tt.wantColumn)
			}
			// What it returns must be a transform Iceberg knows.
			if _, err := iceberg.ParseTransform(tr); err != nil {
				t.Fatalf("transform %q does not parse: %v", tr, err)
			}
		})
	}
}

// ordersSchema is a floe schema decided from items the way detection
// does, with attribute names that sanitize to other column names.
func ordersSchema(t *testing.T, mode schema.ColumnNames) (*schema.Schema, *iceberg.Schema) {
	t.Helper()
	s := func(v string) ddb.Value { return ddb.Value{Kind: ddb.S, Bytes: []byte(v)} }
	n := func(v string) ddb.Value { return ddb.Value{Kind: ddb.N, Bytes: []byte(v)} }
	at := func(name string, v ddb.Value) ddb.Attr { return ddb.Attr{Name: []byte(name), Value: v} }
	det := schema.NewDetector([]string{"pk", "sk"})
	det.Observe(ddb.Item{
		at("pk", s("CUSTOMER#1")), at("sk", s("ORDER#1")), at("Created At", s("2024-01-01T00:00:00Z")),
		at("amount", n("12.34")), at("quantity", n("3")), at("gift", ddb.Value{Kind: ddb.BOOL, Bool: true}),
		at("id", n("77")),
	})
	fs, _, err := schema.Decide(det.Stats(), []string{"pk", "sk"}, mode)
	if err != nil {
		t.Fatal(err)
	}
	ice, err := fs.Iceberg()
	if err != nil {
		t.Fatal(err)
	}
	return fs, ice
}

func TestPartitionSpec(t *testing.T) {
	type wantField struct {
		source    string // column name
		name      string
		transform string
	}
	tests := []struct {
		name    string
		mode    schema.ColumnNames
		exprs   []string
		want    []wantField
		wantErr string
	}{
		{"none", schema.ColumnsAsIs, nil, nil, ""},
		{"bucket on string key", schema.ColumnsAsIs, []string{"bucket(16,pk)"},
			[]wantField{{"pk", "pk_bucket_16", "bucket[16]"}}, ""},
		{"truncate on string", schema.ColumnsAsIs, []string{"truncate(4, sk)"},
			[]wantField{{"sk", "sk_truncate_4", "truncate[4]"}}, ""},
		{"identity", schema.ColumnsAsIs, []string{"quantity"},
			[]wantField{{"quantity", "quantity", "identity"}}, ""},
		{"several, in order", schema.ColumnsAsIs, []string{"bucket(8,pk)", "truncate(10,amount)", "day(_ddb_write_ts)"},
			[]wantField{{"pk", "pk_bucket_8", "bucket[8]"}, {"amount", "amount_truncate_10", "truncate[10]"}, {"_ddb_write_ts", "_ddb_write_ts_day", "day"}}, ""},
		{"bucket on long", schema.ColumnsAsIs, []string{"bucket(4,id)"},
			[]wantField{{"id", "id_bucket_4", "bucket[4]"}}, ""},
		{"attribute name of a sanitized column", schema.ColumnsSanitize, []string{"Created At"},
			[]wantField{{"created_at", "created_at", "identity"}}, ""},
		{"column name of a sanitized column", schema.ColumnsSanitize, []string{"truncate(7,created_at)"},
			[]wantField{{"created_at", "created_at_truncate_7", "truncate[7]"}}, ""},
		{"day on a string column", schema.ColumnsAsIs, []string{"day(Created At)"}, nil, "cannot apply"},
		{"hour on a string key", schema.ColumnsAsIs, []string{"hour(pk)"}, nil, "cannot apply"},
		{"year on a decimal", schema.ColumnsAsIs, []string{"year(amount)"}, nil, "cannot apply"},
		{"bucket on a boolean", schema.ColumnsAsIs, []string{"bucket(2,gift)"}, nil, "cannot apply"},
		{"zero buckets", schema.ColumnsAsIs, []string{"bucket(0,pk)"}, nil, "bucket(0,pk)"},
		{"unknown column", schema.ColumnsAsIs, []string{"bucket(16,customer)"}, nil, `no column "customer"`},
		{"unknown identity column", schema.ColumnsAsIs, []string{"pk", "region"}, nil, `no column "region"`},
		{"column names are case-sensitive", schema.ColumnsAsIs, []string{"PK"}, nil, `no column "PK"`},
		{"bad expression", schema.ColumnsAsIs, []string{"bucket(pk)"}, nil, "needs a width"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, ice := ordersSchema(t, tt.mode)
			spec, err := partitionSpec(ice, fs, tt.exprs)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("partitionSpec(%q) = %v; want an error", tt.exprs, spec)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("partitionSpec(%q): %v", tt.exprs, err)
			}
			if spec.NumFields() != len(tt.want) {
				t.Fatalf("spec %v has %d fields, want %d", spec, spec.NumFields(), len(tt.want))
			}
			for i, w := range tt.want {
				f := spec.Field(i)
				src, ok := ice.FindFieldByName(w.source)
				if !ok {
					t.Fatalf("test: no column %q", w.source)
				}
				if !slices.Equal(f.SourceIDs, []int{src.ID}) || f.Name != w.name || f.Transform.String() != w.transform || f.FieldID != 1000+i {
					t.Errorf("field %d = {source %v, id %d, name %q, %s}; want {source [%d], id %d, name %q, %s}",
						i, f.SourceIDs, f.FieldID, f.Name, f.Transform, src.ID, 1000+i, w.name, w.transform)
				}
			}
		})
	}
}

// newTable creates an empty table in a fresh SQLite catalog.
func newTable(t *testing.T, ctx context.Context) (icecat.Catalog, *table.Table) {
	t.Helper()
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeCat() })
	if err := cat.CreateNamespace(ctx, table.Identifier{"ddb"}, nil); err != nil {
		t.Fatal(err)
	}
	sch := iceberg.NewSchemaWithIdentifiers(0, []int{1},
		iceberg.NestedField{ID: 1, Name: "pk", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: 2, Name: "n", Type: iceberg.PrimitiveTypes.Int64},
	)
	tbl, err := cat.CreateTable(ctx, table.Identifier{"ddb", "orders"}, sch)
	if err != nil {
		t.Fatal(err)
	}
	return cat, tbl
}

// commitEmpty commits a snapshot without data files whose summary carries
// props.
func commitEmpty(t *testing.T, ctx context.Context, tbl *table.Table, props map[string]string) *table.Table {
	t.Helper()
	tx := tbl.NewTransaction()
	if err := tx.AddFiles(ctx, nil, props, false); err != nil {
		t.Fatal(err)
	}
	tbl, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func marker(exportID string) map[string]string {
	return map[string]string{
		MarkerExportID: exportID, MarkerAttempt: "1a2b3c4d", MarkerExportType: "FULL_EXPORT",
		MarkerItems: "3", MarkerRescued: "0",
	}
}

func TestApplied(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cat, tbl := newTable(t, ctx)

	if got := Applied(tbl); len(got) != 0 {
		t.Fatalf("Applied on a table without snapshots = %v", got)
	}
	tbl = commitEmpty(t, ctx, tbl, marker("01704067500000-a1b2c3d4"))
	tbl = commitEmpty(t, ctx, tbl, map[string]string{"note": "not floe's"}) // no marker: skipped
	commitEmpty(t, ctx, tbl, marker("01704071100000-e5f6a7b8"))
	// Read the table back through the catalog, as a committer does.
	tbl, err := cat.LoadTable(ctx, table.Identifier{"ddb", "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Metadata().Snapshots()); n != 3 {
		t.Fatalf("table has %d snapshots, want 3", n)
	}

	applied := Applied(tbl)
	var ids []string
	for _, m := range applied {
		ids = append(ids, m[MarkerExportID])
	}
	if want := []string{"01704071100000-e5f6a7b8", "01704067500000-a1b2c3d4"}; !slices.Equal(ids, want) {
		t.Fatalf("Applied export ids = %v, want %v (newest first)", ids, want)
	}
	for k, v := range marker("01704071100000-e5f6a7b8") {
		if applied[0][k] != v {
			t.Errorf("newest marker %s = %q, want %q", k, applied[0][k], v)
		}
	}

	tests := []struct {
		tbl      *table.Table
		exportID string
		want     bool
	}{
		{tbl, "01704067500000-a1b2c3d4", true},
		{tbl, "01704071100000-e5f6a7b8", true},
		{tbl, "01704074700000-c9d0e1f2", false},
		{tbl, "", false},
		{nil, "01704067500000-a1b2c3d4", false},
	}
	for _, tt := range tests {
		if got := isApplied(tt.tbl, tt.exportID); got != tt.want {
			t.Errorf("isApplied(tbl=%v, %q) = %v, want %v", tt.tbl != nil, tt.exportID, got, tt.want)
		}
	}
}

// TestCovered: once snapshot expiry has cut a table's ancestry, an export
// that ends no later than the newest marker's chain end is covered; before
// that, and for later exports and replays, it is not.
func TestCovered(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, tbl := newTable(t, ctx)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	full := marker("01704067200000-a1b2c3d4")
	full[MarkerExportTime] = t0.Format(time.RFC3339Nano)
	inc := marker("01704070800000-e5f6a7b8")
	inc[MarkerExportType], inc[MarkerExportFrom], inc[MarkerExportTo] = export.TypeIncremental, t0.Format(time.RFC3339Nano), t1.Format(time.RFC3339Nano)
	tbl = commitEmpty(t, ctx, tbl, full)
	whole := commitEmpty(t, ctx, tbl, inc)
	tx := whole.NewTransaction()
	if err := tx.ExpireSnapshots(table.WithOlderThan(0), table.WithRetainLast(1)); err != nil {
		t.Fatal(err)
	}
	cut, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cut.Metadata().Snapshots()); n != 1 {
		t.Fatalf("%d snapshots after expiry, want 1", n)
	}
	fullPlan := &natsbus.Plan{ExportType: export.TypeFull, ExportTime: t0}
	incPlan := func(from, to time.Time) *natsbus.Plan {
		return &natsbus.Plan{ExportType: export.TypeIncremental, ExportFromTime: from, ExportToTime: to}
	}
	for _, tt := range []struct {
		name string
		tbl  *table.Table
		plan *natsbus.Plan
		want bool
	}{
		{"full export, whole history", whole, fullPlan, false},
		{"full export, cut history", cut, fullPlan, true},
		{"incremental up to the chain end", cut, incPlan(t0, t1), true},
		{"incremental after the chain end", cut, incPlan(t1, t2), false},
		{"later full export", cut, &natsbus.Plan{ExportType: export.TypeFull, ExportTime: t2}, false},
		{"replay", cut, &natsbus.Plan{ExportType: natsbus.TypeReplay, ExportTime: t0}, false},
		{"no table", nil, fullPlan, false},
	} {
		if got := covered(tt.tbl, tt.plan); got != tt.want {
			t.Errorf("%s: covered = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRemoveUnreferencedReloads: a committer whose view of the table
// predates another writer's commit (a compaction's) must not take the
// files of that commit for leftovers of its own.
func TestRemoveUnreferencedReloads(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cat, stale := newTable(t, ctx)
	other, err := cat.LoadTable(ctx, table.Identifier{"ddb", "orders"})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := table.SchemaToArrowSchema(other.Schema(), nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("k1")
	b.Field(1).(*array.Int64Builder).Append(1)
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	if other, err = other.Append(ctx, rdr, nil); err != nil {
		t.Fatal(err)
	}
	tasks, err := other.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, task := range tasks {
		files = append(files, task.File.FilePath())
	}
	if len(files) != 1 {
		t.Fatalf("%d data files, want 1", len(files))
	}
	c := &Committer{cat: cat, ident: table.Identifier{"ddb", "orders"}, tbl: stale, log: slog.New(slog.DiscardHandler)}
	c.removeUnreferenced(ctx)
	path, _ := localPath(files[0])
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the other writer's committed data file is gone: %v", err)
	}
}
