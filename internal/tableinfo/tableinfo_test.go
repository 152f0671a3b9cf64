package tableinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	floecat "github.com/floe-io/floe/internal/catalog"
)

var (
	markerA = map[string]string{
		"floe.export-id": "01704067500000-a1b2c3d4", "floe.attempt": "1a2b3c4d", "floe.export-type": "FULL_EXPORT",
		"floe.items": "1234", "floe.rescued": "5",
	}
	markerB = map[string]string{
		"floe.export-id": "01704071100000-e5f6a7b8", "floe.attempt": "5e6f7a8b", "floe.export-type": "FULL_EXPORT",
		"floe.items": "99", "floe.rescued": "0",
	}
)

// floeTable creates ddb.orders in a fresh SQLite catalog, partitioned by
// bucket(4,pk), with the snapshots whose summaries carry props (one empty
// snapshot each).
func floeTable(t *testing.T, ctx context.Context, snapshots ...map[string]string) *table.Table {
	t.Helper()
	cat, closeCat, err := floecat.Open(ctx, floecat.Config{Warehouse: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeCat() })
	if err := cat.CreateNamespace(ctx, table.Identifier{"ddb"}, nil); err != nil {
		t.Fatal(err)
	}
	sch := iceberg.NewSchemaWithIdentifiers(0, []int{1},
		iceberg.NestedField{ID: 1, Name: "pk", Type: iceberg.PrimitiveTypes.String, Required: true},
		iceberg.NestedField{ID: 2, Name: "amount", Type: iceberg.DecimalTypeOf(38, 2)},
	)
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{1}, FieldID: 1000, Name: "pk_bucket_4", Transform: iceberg.BucketTransform{NumBuckets: 4}})
	tbl, err := cat.CreateTable(ctx, table.Identifier{"ddb", "orders"}, sch,
		catalog.WithPartitionSpec(&spec),
		catalog.WithProperties(iceberg.Properties{"floe.schema": `{"version":1,"long":"schema"}`, "format-version": "2", "owner": "tests"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, props := range snapshots {
		tx := tbl.NewTransaction()
		if err := tx.AddFiles(ctx, nil, props, false); err != nil {
			t.Fatal(err)
		}
		if tbl, err = tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return tbl
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name      string
		snapshots []map[string]string
		// wantMarkers are the expected floe markers of each snapshot, oldest
		// first; nil for a snapshot without one.
		wantMarkers []map[string]string
	}{
		{"no snapshots", nil, nil},
		{"one export", []map[string]string{markerA}, []map[string]string{markerA}},
		{"snapshot without a marker between exports",
			[]map[string]string{markerA, {"engine": "spark"}, markerB},
			[]map[string]string{markerA, nil, markerB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := floeTable(t, testCtx(t), tt.snapshots...)
			info, err := Describe("ddb.orders", tbl)
			if err != nil {
				t.Fatal(err)
			}
			if info.Table != "ddb.orders" || info.MetadataLocation != tbl.MetadataLocation() || info.Location != tbl.Location() {
				t.Errorf("info names %q %q %q; want ddb.orders %q %q", info.Table, info.MetadataLocation, info.Location, tbl.MetadataLocation(), tbl.Location())
			}
			if info.FormatVersion != 2 {
				t.Errorf("format version %d, want 2", info.FormatVersion)
			}
			if !strings.Contains(info.PartitionSpec, "pk_bucket_4") || !strings.Contains(info.SchemaText, "amount") {
				t.Errorf("partition spec %q / schema %q incomplete", info.PartitionSpec, info.SchemaText)
			}
			if info.Properties["owner"] != "tests" || info.Properties["floe.schema"] == "" {
				t.Errorf("properties %v lack the table's own", info.Properties)
			}
			if len(info.Snapshots) != len(tt.wantMarkers) {
				t.Fatalf("%d snapshots, want %d", len(info.Snapshots), len(tt.wantMarkers))
			}
			if len(tt.wantMarkers) == 0 {
				if info.CurrentSnapshot != nil {
					t.Errorf("current snapshot %d on a table without snapshots", *info.CurrentSnapshot)
				}
				return
			}
			cur := tbl.CurrentSnapshot().SnapshotID
			if info.CurrentSnapshot == nil || *info.CurrentSnapshot != cur {
				t.Errorf("current snapshot %v, want %d", info.CurrentSnapshot, cur)
			}
			for i, s := range info.Snapshots {
				if !maps.Equal(s.Marker, tt.wantMarkers[i]) {
					t.Errorf("snapshot %d marker %v, want %v", i, s.Marker, tt.wantMarkers[i])
				}
				if tt.wantMarkers[i] == nil && s.Marker != nil {
					t.Errorf("snapshot %d has a non-nil empty marker (shown as \"floe\": {} in JSON)", i)
				}
				for k := range s.Summary {
					if strings.HasPrefix(k, "floe.") {
						t.Errorf("snapshot %d summary holds marker key %s", i, k)
					}
				}
				if s.Operation != "append" {
					t.Errorf("snapshot %d operation %q, want append", i, s.Operation)
				}
				if s.Summary["total-records"] != "0" {
					t.Errorf("snapshot %d summary %v lacks total-records 0", i, s.Summary)
				}
				if i == 0 && s.ParentID != nil {
					t.Errorf("first snapshot has parent %d", *s.ParentID)
				}
				if i > 0 && (s.ParentID == nil || *s.ParentID != info.Snapshots[i-1].ID) {
					t.Errorf("snapshot %d parent %v, want %d", i, s.ParentID, info.Snapshots[i-1].ID)
				}
				if age := time.Since(s.Timestamp); age < 0 || age > time.Hour || s.Timestamp.Location() != time.UTC {
					t.Errorf("snapshot %d timestamp %v", i, s.Timestamp)
				}
			}
			// A non-floe summary key stays in the summary.
			if len(tt.snapshots) == 3 && info.Snapshots[1].Summary["engine"] != "spark" {
				t.Errorf("snapshot 1 summary %v lost engine=spark", info.Snapshots[1].Summary)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	tbl := floeTable(t, testCtx(t), markerA, markerB)
	info, err := Describe("ddb.orders", tbl)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := info.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	// The JSON form is stable: check it through its field names.
	var got struct {
		Table            string            `json:"table"`
		MetadataLocation string            `json:"metadataLocation"`
		Location         string            `json:"location"`
		FormatVersion    int               `json:"formatVersion"`
		Schema           map[string]any    `json:"schema"`
		PartitionSpec    string            `json:"partitionSpec"`
		Properties       map[string]string `json:"properties"`
		CurrentSnapshot  *int64            `json:"currentSnapshotId"`
		Snapshots        []struct {
			ID        int64             `json:"id"`
			ParentID  *int64            `json:"parentId"`
			Timestamp time.Time         `json:"timestamp"`
			Operation string            `json:"operation"`
			Summary   map[string]string `json:"summary"`
			Marker    map[string]string `json:"floe"`
		} `json:"snapshots"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("WriteJSON output does not parse: %v\n%s", err, buf.String())
	}
	if strings.Contains(buf.String(), "SchemaText") {
		t.Error("SchemaText is in the JSON")
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"table", got.Table == "ddb.orders"},
		{"metadataLocation", got.MetadataLocation == tbl.MetadataLocation() && got.MetadataLocation != ""},
		{"location", got.Location == tbl.Location()},
		{"formatVersion", got.FormatVersion == 2},
		{"schema", got.Schema["type"] == "struct" && len(got.Schema["fields"].([]any)) == 2},
		{"partitionSpec", strings.Contains(got.PartitionSpec, "pk_bucket_4")},
		{"properties", got.Properties["owner"] == "tests"},
		{"currentSnapshotId", got.CurrentSnapshot != nil && *got.CurrentSnapshot == tbl.CurrentSnapshot().SnapshotID},
		{"two snapshots", len(got.Snapshots) == 2},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("JSON field %s is wrong:\n%s", c.what, buf.String())
		}
	}
	if len(got.Snapshots) != 2 {
		return
	}
	for i, want := range []map[string]string{markerA, markerB} {
		s := got.Snapshots[i]
		if !maps.Equal(s.Marker, want) {
			t.Errorf("snapshot %d floe = %v, want %v", i, s.Marker, want)
		}
		if s.ID != info.Snapshots[i].ID || s.Operation != "append" || !s.Timestamp.Equal(info.Snapshots[i].Timestamp) {
			t.Errorf("snapshot %d = %+v, want %+v", i, s, info.Snapshots[i])
		}
		if _, ok := s.Summary["floe.export-id"]; ok {
			t.Errorf("snapshot %d summary holds the marker", i)
		}
	}
	if got.Snapshots[1].ParentID == nil || *got.Snapshots[1].ParentID != got.Snapshots[0].ID {
		t.Errorf("snapshot 1 parentId %v, want %d", got.Snapshots[1].ParentID, got.Snapshots[0].ID)
	}
}

func TestWriteText(t *testing.T) {
	markerInc := map[string]string{
		"floe.export-id": "01704070870813-060b7ccd", "floe.export-type": "INCREMENTAL_EXPORT",
		"floe.export-to-time": "2024-01-01T01:00:00Z", "floe.items": "2000", "floe.upserts": "1504", "floe.deletes": "496", "floe.rescued": "0",
	}
	tbl := floeTable(t, testCtx(t), markerA, map[string]string{"engine": "spark"}, markerInc)
	info, err := Describe("ddb.orders", tbl)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := info.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	tests := []struct {
		what     string
		contains string
		want     bool
	}{
		{"table name", "ddb.orders", true},
		{"metadata location", tbl.MetadataLocation(), true},
		{"table location", tbl.Location(), true},
		{"export id", markerA["floe.export-id"], true},
		{"items", " 1234 ", true},
		{"partition field", "pk_bucket_4", true},
		{"column", "amount", true},
		{"snapshot count", "snapshots (3):", true},
		{"incremental export", "incremental  2024-01-01T01:00:00Z  2000   1504     496", true},
		{"first snapshot id", strconv.FormatInt(info.Snapshots[0].ID, 10), true},
		{"second snapshot id", strconv.FormatInt(info.Snapshots[1].ID, 10), true},
		{"table property", "owner = tests", true},
		{"floe.schema property (shown as the schema instead)", "floe.schema", false},
		{"floe.schema content", `"long":"schema"`, false},
	}
	for _, tt := range tests {
		if got := strings.Contains(out, tt.contains); got != tt.want {
			t.Errorf("text output contains %s (%q): %v, want %v\n%s", tt.what, tt.contains, got, tt.want, out)
		}
	}
	// Properties are sorted, for stable output.
	props := out[strings.Index(out, "properties:\n")+len("properties:\n"):]
	lines := strings.Split(strings.TrimRight(props, "\n"), "\n")
	for i := 1; i < len(lines); i++ {
		if lines[i-1] > lines[i] {
			t.Errorf("properties not sorted: %q before %q", lines[i-1], lines[i])
		}
	}
}
