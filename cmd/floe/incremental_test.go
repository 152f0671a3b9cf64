package main_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	icecat "github.com/apache/iceberg-go/catalog"

	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/testutil"
)

// history generates a full export and three incremental exports.
func history(t *testing.T, window time.Duration) (string, *exportgen.Result) {
	t.Helper()
	root := t.TempDir()
	res, err := exportgen.Generate(context.Background(), exportgen.Options{
		Dir: root, Items: 400, Seed: 21, Incrementals: 3, ChangesPerIncremental: 60, IncrementalFiles: 2, Window: window,
	})
	if err != nil {
		t.Fatal(err)
	}
	return root, res
}

// snapshots returns the export ids of the snapshot markers of ddb.orders,
// oldest first.
func snapshots(t *testing.T, wh string) []string {
	t.Helper()
	return snapshotIDs(t, wh, "ddb.orders")
}

// snapshotIDs returns the export ids of a table's snapshot markers, oldest
// first.
func snapshotIDs(t *testing.T, wh, table string) []string {
	t.Helper()
	code, out, stderr := floe(t, "table", "info", "--warehouse", wh, "--table", table, "--json")
	if code != 0 {
		t.Fatalf("table info: %s", stderr)
	}
	var info struct {
		Snapshots []struct {
			Floe map[string]string `json:"floe"`
		} `json:"snapshots"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range info.Snapshots {
		ids = append(ids, s.Floe["floe.export-id"])
	}
	return ids
}

// editSummary rewrites an export's manifest-summary.json (and its .md5),
// so that only the edit is wrong.
func editSummary(t *testing.T, dir string, edit func(m map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest-summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, _ = json.Marshal(m)
	write(t, filepath.Join(dir, "manifest-summary.json"), data)
	sum := md5.Sum(data)
	write(t, filepath.Join(dir, "manifest-summary.md5"), []byte(base64.StdEncoding.EncodeToString(sum[:])))
}

// TestIncrementalRefused feeds incremental exports the table must not
// take to the real binary: each fails with exit code 1 and a message that
// names the export and says what to do, and nothing is committed.
func TestIncrementalRefused(t *testing.T) {
	cases := []struct {
		name string
		// setup returns the --export to run and extra flags; the full
		// export is loaded first unless noFull.
		setup  func(t *testing.T, root string, gen *exportgen.Result) (string, []string)
		noFull bool
		// key is the --key of the refused run ("-" for none but extra's).
		key  string
		want []string
	}{
		{
			name:   "before any full load",
			noFull: true,
			setup: func(t *testing.T, root string, gen *exportgen.Result) (string, []string) {
				return gen.Incrementals[0].Dir, nil
			},
			want: []string{"holds no full export yet", "load the DynamoDB table's full export first"},
		},
		{
			name: "gap",
			setup: func(t *testing.T, root string, gen *exportgen.Result) (string, []string) {
				return gen.Incrementals[1].Dir, nil
			},
			want: []string{"changes in between are missing", "--allow-gaps", "2024-01-01T00:00:00Z"},
		},
		{
			name: "overlap",
			setup: func(t *testing.T, root string, gen *exportgen.Result) (string, []string) {
				// Another history of the same table, exported in 30-minute
				// windows: its first window starts inside the table's.
				if code, _, stderr := floe(t, "run", "--export", gen.Incrementals[0].Dir, "--warehouse", filepath.Join(root, "wh"), "--table", "ddb.orders", "--key", "pk,sk", "--progress", "never"); code != 0 {
					t.Fatalf("first incremental: %s", stderr)
				}
				_, other := history(t, 30*time.Minute)
				return other.Incrementals[1].Dir, nil
			},
			want: []string{"overlaps", "apply exports in order"},
		},
		{
			name: "another table",
			setup: func(t *testing.T, root string, gen *exportgen.Result) (string, []string) {
				editSummary(t, gen.Incrementals[0].Dir, func(m map[string]any) {
					m["tableArn"] = "arn:aws:dynamodb:us-east-1:123456789012:table/Customers"
				})
				return gen.Incrementals[0].Dir, nil
			},
			want: []string{"table/Customers", "use another --table"},
		},
		{
			name: "key attribute not the table's",
			setup: func(t *testing.T, root string, gen *exportgen.Result) (string, []string) {
				rewriteData(t, root, gen.Incrementals[0].Dir, func(l []string) []string {
					l[1] = strings.Replace(l[1], `"Keys":{"pk":`, `"Keys":{"customer":`, 1)
					l[1] = strings.Replace(l[1], `"Keys":{"sk":`, `"Keys":{"customer":`, 1)
					return l
				})
				return gen.Incrementals[0].Dir, nil
			},
			want: []string{".json.gz line 2", `"customer"`, "not part of the table's key"},
		},
		{
			name: "key type differs",
			setup: func(t *testing.T, root string, gen *exportgen.Result) (string, []string) {
				rewriteData(t, root, gen.Incrementals[0].Dir, func(l []string) []string {
					for i := range l {
						l[i] = replaceKeyValue(l[i], "pk", `{"N":"42"}`)
					}
					return l
				})
				return gen.Incrementals[0].Dir, nil
			},
			want: []string{".json.gz line 1", "key attribute \"pk\"", "another DynamoDB table"},
		},
		{
			name: "other key flag",
			setup: func(t *testing.T, root string, gen *exportgen.Result) (string, []string) {
				return gen.Incrementals[0].Dir, []string{"--key", "pk"}
			},
			key:  "-",
			want: []string{"--key pk differs from the key of table ddb.orders (pk,sk)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, gen := history(t, 0)
			wh := filepath.Join(root, "wh")
			base := []string{"run", "--warehouse", wh, "--table", "ddb.orders", "--progress", "never"}
			if !tc.noFull {
				if code, _, stderr := floe(t, append(base, "--key", "pk,sk", "--export", gen.Full.Dir)...); code != 0 {
					t.Fatalf("full load: %s", stderr)
				}
			}
			exp, extra := tc.setup(t, root, gen)
			before := 0
			if !tc.noFull {
				before = len(snapshots(t, wh))
			}
			args := append(append(base, "--export", exp), extra...)
			if tc.key == "" {
				args = append(args, "--key", "pk,sk")
			}
			refused(t, tc.want, args...)
			if tc.noFull {
				assertNoSnapshot(t, wh)
			} else if after := len(snapshots(t, wh)); after != before {
				t.Fatalf("a refused export committed: %d snapshots, had %d", after, before)
			}
		})
	}
}

// replaceKeyValue replaces the value of attribute name in a record's Keys
// (and NewImage and OldImage) with v.
func replaceKeyValue(line, name, v string) string {
	needle := `"` + name + `":{"S":"`
	var b strings.Builder
	for {
		i := strings.Index(line, needle)
		if i < 0 {
			b.WriteString(line)
			return b.String()
		}
		end := strings.Index(line[i+len(needle):], `"}`)
		b.WriteString(line[:i])
		b.WriteString(`"` + name + `":` + v)
		line = line[i+len(needle)+end+2:]
	}
}

// TestIncrementalGapAllowed applies an export after a gap with
// --allow-gaps: it lands, with a warning. --key is left out, as it may be
// once the table exists.
func TestIncrementalGapAllowed(t *testing.T) {
	root, gen := history(t, 0)
	wh := filepath.Join(root, "wh")
	base := []string{"run", "--warehouse", wh, "--table", "ddb.orders", "--progress", "never"}
	if code, _, stderr := floe(t, append(base, "--key", "pk,sk", "--export", gen.Full.Dir)...); code != 0 {
		t.Fatalf("full load: %s", stderr)
	}
	code, _, stderr := floe(t, append(base, "--export", gen.Incrementals[1].Dir, "--allow-gaps")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "after a gap") {
		t.Errorf("no gap warning:\n%s", stderr)
	}
	if ids := snapshots(t, wh); len(ids) != 2 || ids[1] != gen.Incrementals[1].ID {
		t.Fatalf("snapshots %v", ids)
	}
}

// TestIncrementalCorruptFileResumes breaks a data file in the middle of an
// incremental export: the run fails naming the file and commits nothing;
// once the file is restored, the next run applies the export exactly once.
func TestIncrementalCorruptFileResumes(t *testing.T) {
	root, gen := history(t, 0)
	wh := filepath.Join(root, "wh")
	base := []string{"run", "--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk", "--progress", "never"}
	if code, _, stderr := floe(t, append(base, "--export", gen.Full.Dir, "--export", gen.Incrementals[0].Dir)...); code != 0 {
		t.Fatalf("first loads: %s", stderr)
	}
	inc := gen.Incrementals[1]
	ms := readManifest(t, inc.Dir)
	i := largestFile(ms)
	path := dataPath(root, ms[i])
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good...)
	for j := len(bad) / 3; j < len(bad)/3+32; j++ {
		bad[j] ^= 0x5a
	}
	write(t, path, bad)
	code, _, stderr := floe(t, append(base, "--export", inc.Dir)...)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	if !strings.Contains(stderr, filepath.Base(path)) || !strings.Contains(stderr, "MD5") {
		t.Errorf("error does not name the damaged file and its checksum:\n%s", stderr)
	}
	if ids := snapshots(t, wh); len(ids) != 2 {
		t.Fatalf("a failed export committed: snapshots %v", ids)
	}
	write(t, path, good)
	if code, _, stderr := floe(t, append(base, "--export", filepath.Join(root, "AWSDynamoDB"))...); code != 0 {
		t.Fatalf("rerun after the fix: %s", stderr)
	}
	ids := snapshots(t, wh)
	want := []string{gen.Full.ID, gen.Incrementals[0].ID, gen.Incrementals[1].ID, gen.Incrementals[2].ID}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("snapshots %v, want %v", ids, want)
	}
	if d := compareWarehouse(t, wh, gen.Incrementals[2].ExpectedPath); d != "" {
		t.Fatal(d)
	}
}

// compareWarehouse compares table ddb.orders of a warehouse with an
// expected state, returning the differences ("" for none).
func compareWarehouse(t *testing.T, wh, expectedPath string) string {
	t.Helper()
	cat, closeCat, err := catalog.Open(context.Background(), catalog.Config{Warehouse: wh})
	if err != nil {
		t.Fatal(err)
	}
	defer closeCat()
	tbl, err := cat.LoadTable(context.Background(), icecat.ToIdentifier("ddb.orders"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := testutil.CompareTable(context.Background(), tbl, expectedPath, []string{"pk", "sk"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestNewTableNeedsKey: --key may be left out only once the table exists.
func TestNewTableNeedsKey(t *testing.T) {
	_, dir := sample(t)
	wh := filepath.Join(t.TempDir(), "wh")
	refused(t, []string{"does not exist yet and its key is unknown", "--key PK[,SK]"},
		"run", "--export", dir, "--warehouse", wh, "--table", "ddb.orders", "--progress", "never")
	assertNoSnapshot(t, wh)
}

// TestWrongKeyRefused: a --key other than the table's is refused even when
// the export is already applied (skipping it would hide the mistake).
func TestWrongKeyRefused(t *testing.T) {
	_, dir := sample(t)
	wh := filepath.Join(t.TempDir(), "wh")
	args := []string{"run", "--export", dir, "--warehouse", wh, "--table", "ddb.orders", "--progress", "never"}
	if code, _, stderr := floe(t, append(args, "--key", "pk,sk")...); code != 0 {
		t.Fatalf("load: %s", stderr)
	}
	refused(t, []string{"--key nope differs from the key of table ddb.orders (pk,sk)"}, append(args, "--key", "nope")...)
	if ids := snapshots(t, wh); len(ids) != 1 {
		t.Fatalf("snapshots %v, want the one load", ids)
	}
}

// TestConcurrentRunsRefused: a second `floe run` on a warehouse another
// run is using refuses at start, naming the other process; the first run
// is not disturbed.
func TestConcurrentRunsRefused(t *testing.T) {
	root := t.TempDir()
	gen, err := exportgen.Generate(context.Background(), exportgen.Options{Dir: root, Items: 60000, Files: 4, Seed: 3, SkipExpected: true})
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(t.TempDir(), "wh")
	args := []string{"run", "--export", gen.Full.Dir, "--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk", "--progress", "never"}
	first := startFloe(t, "first run", args...)
	lock := filepath.Join(wh, ".floe", "lock")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, _ := os.ReadFile(lock); len(b) > 0 {
			break
		}
		if first.exited() || time.Now().After(deadline) {
			t.Fatalf("the first run never took the warehouse lock%s", outputs([]*proc{first}))
		}
		time.Sleep(20 * time.Millisecond)
	}
	refused(t, []string{"another floe process (pid ", "is using warehouse " + wh, "wait for it to finish"}, args...)
	select {
	case <-first.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the first run did not finish")
	}
	if code := first.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the first run failed (exit %d)%s", code, outputs([]*proc{first}))
	}
	if ids := snapshots(t, wh); len(ids) != 1 || ids[0] != gen.Full.ID {
		t.Fatalf("snapshots %v, want the one export", ids)
	}
}

// TestExportsGivenOutOfOrder: exports named in the wrong order on one
// command line are applied in their order; one applied out of order on its
// own is refused as a gap (TestIncrementalRefused).
func TestExportsGivenOutOfOrder(t *testing.T) {
	root, gen := history(t, 0)
	wh := filepath.Join(root, "wh")
	args := []string{"run", "--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk", "--progress", "never"}
	for i := len(gen.Incrementals) - 1; i >= 0; i-- {
		args = append(args, "--export", gen.Incrementals[i].Dir)
	}
	args = append(args, "--export", gen.Full.Dir)
	if code, _, stderr := floe(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{gen.Full.ID}
	for _, e := range gen.Incrementals {
		want = append(want, e.ID)
	}
	if ids := snapshots(t, wh); strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("snapshots %v, want %v", ids, want)
	}
	if d := compareWarehouse(t, wh, gen.Incrementals[len(gen.Incrementals)-1].ExpectedPath); d != "" {
		t.Fatal(d)
	}
}
