package planner

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/export"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/schema"
)

const fixtures = "../export/testdata"

// fixture returns the absolute path of a fixture folder.
func fixture(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(fixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(p)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type wantFile struct {
	rel   string // relative to the AWSDynamoDB folder
	count int64
	md5   string
}

type wantPlan struct {
	id, exportType string
	items          int64
	files          []wantFile
}

var (
	fullExportTime = time.Date(2024, 1, 1, 0, 5, 0, 0, time.UTC)

	fullFixture = wantPlan{"01704067500000-a1b2c3d4", "FULL_EXPORT", 3, []wantFile{
		{"01704067500000-a1b2c3d4/data/qmz3kd7hv4alrbx2y5ojtnwefu.json.gz", 3, "6EMC42vsz5nB/GR3JzfqVg=="},
		{"01704067500000-a1b2c3d4/data/x7c2fa9kpl3mzeqd6ruvhbs1yo.json.gz", 0, "OXDoJgXH0Qm7NI/JTp7swA=="},
	}}
	incr1Fixture = wantPlan{"01704071100000-e5f6a7b8", "INCREMENTAL_EXPORT", 3, []wantFile{
		{"data/b4n7tqs2lkw9xzr3mv5ceduh8a.json.gz", 3, "X6SBjXZo6mcdBGt7vjX2Hg=="},
	}}
	incr2Fixture = wantPlan{"01704074700000-c9d0e1f2", "INCREMENTAL_EXPORT", 2, []wantFile{
		{"data/h2w6pyd8nq4fkzt1ls7mva3rcj.json.gz", 2, "a4VKvF2iu96SWHQpnpIy/g=="},
		{"data/r9e5gk2ubm7xtq4zwc8nfy1dsh.json.gz", 0, "OXDoJgXH0Qm7NI/JTp7swA=="},
	}}
)

func TestPlans(t *testing.T) {
	aws := fixture(t, "exports/AWSDynamoDB")
	tests := []struct {
		name         string
		export       string
		want         []wantPlan
		wantWarnings []string // substrings, one per warning
	}{
		{"full export folder", aws + "/01704067500000-a1b2c3d4", []wantPlan{fullFixture}, nil},
		{"full export folder with a trailing slash", aws + "/01704067500000-a1b2c3d4/", []wantPlan{fullFixture}, nil},
		{"one incremental export folder", aws + "/01704071100000-e5f6a7b8", []wantPlan{incr1Fixture}, nil},
		{"AWSDynamoDB parent", aws, []wantPlan{fullFixture, incr1Fixture, incr2Fixture}, []string{"01704078300000-0a0b0c0d"}},
		{"folder holding AWSDynamoDB", fixture(t, "exports"), []wantPlan{fullFixture, incr1Fixture, incr2Fixture}, []string{"01704078300000-0a0b0c0d"}},
		{"file:// URI", "file://" + aws + "/01704067500000-a1b2c3d4", []wantPlan{fullFixture}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{
				Table: "ddb.orders", Export: tt.export, Key: []string{"pk", "sk"},
				ColumnNames: schema.ColumnsSanitize, PartitionBy: []string{"bucket(16,pk)"}, FormatVersion: 3, TargetFileSize: 1 << 20,
			}
			plans, warnings, err := Plans(testCtx(t), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != len(tt.wantWarnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.wantWarnings))
			}
			for i, w := range tt.wantWarnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q does not mention %q", warnings[i], w)
				}
			}
			var ids []string
			for _, p := range plans {
				ids = append(ids, p.ExportID)
			}
			var wantIDs []string
			for _, w := range tt.want {
				wantIDs = append(wantIDs, w.id)
			}
			if !slices.Equal(ids, wantIDs) {
				t.Fatalf("plans for exports %v, want %v in this order", ids, wantIDs)
			}
			for i, w := range tt.want {
				checkPlan(t, &plans[i], w, aws, o)
				if plans[i].Attempt != plans[0].Attempt {
					t.Errorf("plan %d attempt %q differs from plan 0's %q: one submission has one attempt", i, plans[i].Attempt, plans[0].Attempt)
				}
			}
		})
	}
}

func checkPlan(t *testing.T, p *natsbus.Plan, w wantPlan, aws string, o Options) {
	t.Helper()
	if p.ExportType != w.exportType {
		t.Errorf("%s: ExportType %q, want %q", w.id, p.ExportType, w.exportType)
	}
	if p.Table != o.Table || p.Source != "/" || p.Format != "DYNAMODB_JSON" || p.ItemCount != w.items {
		t.Errorf("%s: table %q source %q format %q items %d; want %q, \"/\", DYNAMODB_JSON, %d", w.id, p.Table, p.Source, p.Format, p.ItemCount, o.Table, w.items)
	}
	if wantDir := aws + "/" + w.id; p.ExportDir != wantDir {
		t.Errorf("%s: ExportDir %q, want %q", w.id, p.ExportDir, wantDir)
	}
	if !strings.HasPrefix(p.ExportArn, "arn:aws:dynamodb:") || !strings.HasSuffix(p.ExportArn, "/export/"+w.id) || p.TableArn != "arn:aws:dynamodb:us-east-1:123456789012:table/Orders" {
		t.Errorf("%s: ExportArn %q TableArn %q", w.id, p.ExportArn, p.TableArn)
	}
	// Incremental exports have no exportTime (their window is
	// exportFromTime..exportToTime, which plans do not carry yet).
	if w.exportType == "FULL_EXPORT" && !p.ExportTime.Equal(fullExportTime) {
		t.Errorf("%s: ExportTime %v, want %v", w.id, p.ExportTime, fullExportTime)
	}
	if len(p.Attempt) != 8 {
		t.Errorf("%s: attempt %q, want 8 characters", w.id, p.Attempt)
	}
	if !slices.Equal(p.Key, o.Key) || p.Schema != nil || p.ColumnNames != string(o.ColumnNames) ||
		!slices.Equal(p.PartitionBy, o.PartitionBy) || p.FormatVersion != o.FormatVersion || p.TargetFileSize != o.TargetFileSize {
		t.Errorf("%s: table options not carried: key %v schema %s columns %q partition %v version %d size %d",
			w.id, p.Key, p.Schema, p.ColumnNames, p.PartitionBy, p.FormatVersion, p.TargetFileSize)
	}
	if len(p.Files) != len(w.files) {
		t.Fatalf("%s: %d files, want %d: %+v", w.id, len(p.Files), len(w.files), p.Files)
	}
	var sum int64
	for i, wf := range w.files {
		f := p.Files[i]
		want := natsbus.File{Index: i, Key: aws + "/" + wf.rel, ItemCount: wf.count, MD5: wf.md5}
		if !reflect.DeepEqual(f, want) {
			t.Errorf("%s: file %d = %+v, want %+v", w.id, i, f, want)
		}
		// Source "/" with an absolute key: the key is the file's path.
		if _, err := os.Stat(filepath.FromSlash(f.Key)); err != nil {
			t.Errorf("%s: file key %q does not name a file: %v", w.id, f.Key, err)
		}
		sum += f.ItemCount
	}
	if sum != p.ItemCount {
		t.Errorf("%s: files hold %d items, plan says %d", w.id, sum, p.ItemCount)
	}
}

// TestPlansAttemptPerCall: every submission gets its own attempt id, so a
// resubmitted export is not swallowed by the duplicate window.
func TestPlansAttemptPerCall(t *testing.T) {
	o := Options{Table: "ddb.orders", Export: fixture(t, "exports/AWSDynamoDB/01704067500000-a1b2c3d4"), Key: []string{"pk"}}
	a, _, err := Plans(testCtx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Plans(testCtx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Attempt == b[0].Attempt {
		t.Fatalf("two submissions share attempt %q", a[0].Attempt)
	}
}

const schemaWithKey = `{"version": 1, "key": ["pk", "sk"], "attributes": [
	{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}, {"name": "amount", "type": "N", "as": "decimal(38,2)"}]}`

func TestPlansOptions(t *testing.T) {
	full := fixture(t, "exports/AWSDynamoDB/01704067500000-a1b2c3d4")
	tests := []struct {
		name       string
		o          Options
		wantKey    []string
		wantSchema bool
		wantErr    []string // substrings
	}{
		{"key from --key", Options{Table: "ddb.orders", Export: full, Key: []string{"pk"}}, []string{"pk"}, false, nil},
		{"key from the schema file", Options{Table: "ddb.orders", Export: full, Schema: []byte(schemaWithKey)}, []string{"pk", "sk"}, true, nil},
		{"--key overrides the schema file", Options{Table: "ddb.orders", Export: full, Key: []string{"sk", "pk"}, Schema: []byte(schemaWithKey)}, []string{"sk", "pk"}, true, nil},
		{"short-form schema with --key", Options{Table: "ddb.orders", Export: full, Key: []string{"pk"}, Schema: []byte(`{"pk":"S","n":"N"}`)}, []string{"pk"}, true, nil},
		// An existing table knows its key; the committer refuses a new
		// table without one.
		{"no key", Options{Table: "ddb.orders", Export: full}, nil, false, nil},
		{"short-form schema without a key", Options{Table: "ddb.orders", Export: full, Schema: []byte(`{"pk":"S"}`)}, nil, false, []string{"--schema", "key"}},
		{"schema that is not JSON", Options{Table: "ddb.orders", Export: full, Key: []string{"pk"}, Schema: []byte(`pk: S`)}, nil, false, []string{"--schema"}},
		{"schema without the key attribute", Options{Table: "ddb.orders", Export: full, Key: []string{"id"}, Schema: []byte(schemaWithKey)}, nil, false, []string{"--schema", `"id"`}},
		{"invalid table", Options{Table: "orders", Export: full, Key: []string{"pk"}}, nil, false, []string{`"orders"`, "NAMESPACE.NAME"}},
		{"table with a dash", Options{Table: "ddb.my-orders", Export: full, Key: []string{"pk"}}, nil, false, []string{"NAMESPACE.NAME"}},
		{"no exports in the folder", Options{Table: "ddb.orders", Export: t.TempDir(), Key: []string{"pk"}}, nil, false, []string{"no exports found"}},
		{"missing folder", Options{Table: "ddb.orders", Export: filepath.Join(t.TempDir(), "nope"), Key: []string{"pk"}}, nil, false, []string{"nope"}},
		{"only a running export", Options{Table: "ddb.orders", Export: fixture(t, "exports/AWSDynamoDB/01704078300000-0a0b0c0d"), Key: []string{"pk"}}, nil, false, []string{"01704078300000-0a0b0c0d"}},
		{"damaged export", Options{Table: "ddb.orders", Export: fixture(t, "summary-md5-mismatch/AWSDynamoDB"), Key: []string{"pk"}}, nil, false, []string{"manifest-summary"}},
		{"unsupported scheme", Options{Table: "ddb.orders", Export: "gs://bucket/exports", Key: []string{"pk"}}, nil, false, []string{"--export", "gs"}},
		{"empty export", Options{Table: "ddb.orders", Key: []string{"pk"}}, nil, false, []string{"--export"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plans, _, err := Plans(testCtx(t), tt.o)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Plans succeeded with %d plans, want an error", len(plans))
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(plans) != 1 {
				t.Fatalf("%d plans, want 1", len(plans))
			}
			if !slices.Equal(plans[0].Key, tt.wantKey) {
				t.Errorf("plan key %v, want %v", plans[0].Key, tt.wantKey)
			}
			if got := plans[0].Schema != nil; got != tt.wantSchema {
				t.Errorf("plan carries a schema: %v, want %v", got, tt.wantSchema)
			}
			if tt.wantSchema && string(plans[0].Schema) != string(tt.o.Schema) {
				t.Errorf("plan schema %s, want the file as given %s", plans[0].Schema, tt.o.Schema)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2024, 1, 1, h, 0, 0, 0, time.UTC) }
	full := natsbus.Plan{ExportID: "full", ExportType: export.TypeFull, ExportTime: at(0)}
	inc := func(id string, from int) natsbus.Plan {
		return natsbus.Plan{ExportID: id, ExportType: export.TypeIncremental, ExportFromTime: at(from), ExportToTime: at(from + 1)}
	}
	tests := []struct {
		name   string
		groups [][]natsbus.Plan
		want   []string
	}{
		{"one group in order", [][]natsbus.Plan{{full, inc("i1", 0), inc("i2", 1)}}, []string{"full", "i1", "i2"}},
		{"groups out of order", [][]natsbus.Plan{{inc("i2", 1)}, {inc("i1", 0)}, {full}}, []string{"full", "i1", "i2"}},
		{"an export named twice", [][]natsbus.Plan{{full, inc("i1", 0)}, {inc("i1", 0)}}, []string{"full", "i1"}},
		{"full before an incremental from its time", [][]natsbus.Plan{{inc("i1", 0)}, {full}}, []string{"full", "i1"}},
		{"ties by id", [][]natsbus.Plan{{inc("b", 3), inc("a", 3)}}, []string{"a", "b"}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range Merge(tt.groups...) {
				got = append(got, p.ExportID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("order %v, want %v", got, tt.want)
			}
		})
	}
}
