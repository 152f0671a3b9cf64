package main_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/exportgen"
)

// TestKillAtCommit stops `floe run` on purpose at each moment of the
// catalog commit of an export: before it starts (commit), between the
// metadata file write and the catalog's update (catalog-update), and just
// after it (committed, before the committer clears its pending state), for
// a full export and each incremental export, in format v2 and v3, and in
// the other merge modes. The next run must neither lose nor re-apply
// the export: after it the table holds exactly one snapshot per export and
// the expected state, and at the end no orphan file.
func TestKillAtCommit(t *testing.T) {
	for _, tc := range []struct{ version, point, mode string }{
		{"2", "commit", ""}, {"2", "catalog-update", ""}, {"2", "committed", ""}, {"3", "catalog-update", ""}, {"3", "committed", ""},
		{"2", "commit", "copy-on-write"}, {"3", "catalog-update", "copy-on-write"}, {"3", "commit", "equality-deletes"}, {"2", "committed", "equality-deletes"},
	} {
		version, point := tc.version, tc.point
		name := "v" + version + "-" + point
		if tc.mode != "" {
			name += "-" + tc.mode
		}
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			gen, err := exportgen.Generate(context.Background(), exportgen.Options{
				Dir: root, Items: 1000, Seed: 13, Edge: true, View: exportgen.ViewNew,
				Incrementals: 2, ChangesPerIncremental: 200,
			})
			if err != nil {
				t.Fatal(err)
			}
			wh := filepath.Join(t.TempDir(), "wh")
			base := []string{"run", "--warehouse", wh, "--table", "crash.orders", "--key", "pk,sk", "--progress", "never", "--format-version", version}
			if tc.mode != "" {
				base = append(base, "--merge-mode", tc.mode)
			}
			exports := append([]exportgen.ExportInfo{gen.Full}, gen.Incrementals...)
			var ids []string
			for _, e := range exports {
				args := append(append([]string(nil), base...), "--export", e.Dir)
				cmd := exec.Command(floeBin, args...)
				cmd.Env = append(os.Environ(), "FLOE_TEST_KILL_AT="+point)
				out, err := cmd.CombinedOutput()
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 || !strings.Contains(string(out), "killing this process") {
					t.Fatalf("export %s: the run was not killed at %q: %v\n%s", e.ID, point, err, out)
				}
				if point == "catalog-update" {
					assertMetadataAhead(t, wh)
				}
				code, stdout, stderr := floe(t, args...)
				if code != 0 {
					t.Fatalf("export %s: the run after the kill failed: %s", e.ID, stderr)
				}
				applied := strings.Contains(stdout, "committed to crash.orders") || strings.Contains(stdout, "merged into crash.orders")
				if point == "committed" && applied && !strings.Contains(stdout, "resuming") {
					t.Fatalf("export %s was committed before the kill, yet the next run applied it again:\n%s", e.ID, stdout)
				}
				if point != "committed" && !applied {
					t.Fatalf("export %s was not committed before the kill, and the next run did not apply it:\n%s", e.ID, stdout)
				}
				ids = append(ids, e.ID)
				if got := snapshotIDs(t, wh, "crash.orders"); strings.Join(got, ",") != strings.Join(ids, ",") {
					t.Fatalf("after export %s: snapshots %v, want %v", e.ID, got, ids)
				}
			}
			// The whole folder: skipped throughout; exact rows; no orphans.
			args := append(append([]string(nil), base...), "--export", filepath.Join(root, "AWSDynamoDB"))
			if err := checkHistory(t, wh, args, crashHistory{ids: ids, expected: gen.Incrementals[len(gen.Incrementals)-1].ExpectedPath}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// assertMetadataAhead checks that a run was stopped between the metadata
// file write and the catalog update: the newest metadata file of
// crash.orders is not the one the catalog points to.
func assertMetadataAhead(t *testing.T, wh string) {
	t.Helper()
	code, out, stderr := floe(t, "table", "info", "--warehouse", wh, "--table", "crash.orders", "--json")
	if code != 0 {
		t.Fatalf("table info: %s", stderr)
	}
	var info struct {
		MetadataLocation string `json:"metadataLocation"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	cur := strings.TrimPrefix(info.MetadataLocation, "file://")
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(cur), "*.metadata.json"))
	var newest string
	var newestTime time.Time
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(newestTime) {
			newest, newestTime = f, st.ModTime()
		}
	}
	if newest == cur {
		t.Fatalf("the kill at catalog-update left no metadata file newer than the catalog's %s", cur)
	}
}

// TestLostNATSStore deletes the embedded NATS store (<warehouse>/.floe/nats)
// after `floe run` was killed with an export's data files written but not
// committed (full export, then an incremental one), and after a complete
// run. The next run must neither stall nor double-apply: it rebuilds what
// it needs from the table's markers, removes the files of the lost work,
// and ends with the expected rows, one snapshot per export, no orphans.
func TestLostNATSStore(t *testing.T) {
	root := t.TempDir()
	gen, err := exportgen.Generate(context.Background(), exportgen.Options{
		Dir: root, Items: 2000, Seed: 17, Edge: true, Incrementals: 3, ChangesPerIncremental: 300,
	})
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(t.TempDir(), "wh")
	store := filepath.Join(wh, ".floe", "nats")
	args := []string{"run", "--warehouse", wh, "--table", "crash.orders", "--key", "pk,sk", "--progress", "never",
		"--target-file-size", "64KiB", "--export", filepath.Join(root, "AWSDynamoDB")}
	kill := func(at string) {
		t.Helper()
		cmd := exec.Command(floeBin, args...)
		cmd.Env = append(os.Environ(), "FLOE_TEST_KILL_AT="+at)
		if out, err := cmd.CombinedOutput(); !strings.Contains(string(out), "killing this process") {
			t.Fatalf("the run was not killed at %s: %v\n%s", at, err, out)
		}
	}
	lose := func() {
		t.Helper()
		if _, err := os.Stat(store); err != nil {
			t.Fatalf("no NATS store to lose: %v", err)
		}
		if err := os.RemoveAll(store); err != nil {
			t.Fatal(err)
		}
	}
	// Full export loaded, not committed; store lost.
	kill("commit:1")
	lose()
	// The full export committed; the first incremental loaded, not
	// committed; store lost.
	kill("commit:2")
	lose()
	code, stdout, stderr := floe(t, args...)
	if code != 0 {
		t.Fatalf("the run after the lost store failed:\n%s\n%s", stdout, stderr)
	}
	// A complete table, then the store lost again: nothing to redo.
	lose()
	ids := []string{gen.Full.ID}
	for _, e := range gen.Incrementals {
		ids = append(ids, e.ID)
	}
	if err := checkHistory(t, wh, args, crashHistory{ids: ids, expected: gen.Incrementals[len(gen.Incrementals)-1].ExpectedPath}); err != nil {
		t.Fatal(err)
	}
}
