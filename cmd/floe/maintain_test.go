package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/exportgen"
)

// TestMaintain compacts and expires the snapshots of a loaded history,
// checks that the deletes are folded away, the newest marker stays and the
// table is unchanged, that a later run skips the exports whose markers are
// gone and merges the new one into the compacted files, and that orphan
// removal takes old unreferenced files only, and nothing in a dry run.
// It runs with the default merge mode and with equality deletes, whose
// files compaction must fold and drop too.
func TestMaintain(t *testing.T) {
	for _, mode := range []string{"merge-on-read", "equality-deletes"} {
		t.Run(mode, func(t *testing.T) { testMaintain(t, mode) })
	}
}

func testMaintain(t *testing.T, mode string) {
	root, gen := history(t, time.Hour)
	wh := filepath.Join(t.TempDir(), "wh")
	run := func(export string) string {
		t.Helper()
		code, out, stderr := floe(t, "run", "--export", export, "--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk", "--progress", "never", "--merge-mode", mode)
		if code != 0 {
			t.Fatalf("run %s: exit %d\n%s", export, code, stderr)
		}
		return out
	}
	maintain := func(args ...string) string {
		t.Helper()
		code, out, stderr := floe(t, append([]string{"maintain", "--warehouse", wh, "--table", "ddb.orders"}, args...)...)
		if code != 0 {
			t.Fatalf("maintain %v: exit %d\n%s", args, code, stderr)
		}
		return out
	}
	run(gen.Full.Dir)
	run(gen.Incrementals[0].Dir)
	run(gen.Incrementals[1].Dir)
	if got := snapshots(t, wh); len(got) != 3 {
		t.Fatalf("snapshots before expiry: %v, want 3", got)
	}

	liveFiles := func() (data, deletes int) {
		t.Helper()
		_, out, _ := floe(t, "table", "info", "--warehouse", wh, "--table", "ddb.orders", "--json")
		var info struct {
			Snapshots []struct {
				Summary map[string]string `json:"summary"`
			} `json:"snapshots"`
		}
		if err := json.Unmarshal([]byte(out), &info); err != nil || len(info.Snapshots) == 0 {
			t.Fatalf("table info: %v\n%s", err, out)
		}
		s := info.Snapshots[len(info.Snapshots)-1].Summary
		data, _ = strconv.Atoi(s["total-data-files"])
		deletes, _ = strconv.Atoi(s["total-delete-files"])
		return data, deletes
	}
	if _, deletes := liveFiles(); deletes == 0 {
		t.Fatal("the merges left no delete files: nothing for compaction to fold")
	}

	out := maintain("--older-than", "0s", "--skip", "orphans", "--dry-run")
	if !strings.Contains(out, "would compact") || !strings.Contains(out, "would expire 2 snapshots") || len(snapshots(t, wh)) != 3 {
		t.Fatalf("dry run changed something or reported wrongly:\n%s", out)
	}
	if _, deletes := liveFiles(); deletes == 0 {
		t.Fatal("the dry run compacted")
	}
	out = maintain("--older-than", "0s", "--skip", "orphans")
	if data, deletes := liveFiles(); deletes != 0 || data != 1 {
		t.Errorf("after compaction: %d data files and %d delete files, want 1 and 0\n%s", data, deletes, out)
	}
	for _, want := range []string{"compacted ", "expired 2 snapshots", "export " + gen.Full.ID, "export " + gen.Incrementals[0].ID} {
		if !strings.Contains(out, want) {
			t.Errorf("maintain output lacks %q:\n%s", want, out)
		}
	}
	// What stays: the compaction snapshot and the newest marker under it.
	if got := snapshots(t, wh); len(got) != 2 || got[0] != gen.Incrementals[1].ID || got[1] != "" {
		t.Fatalf("snapshots after expiry: %q, want the newest marker %s and the compaction's", got, gen.Incrementals[1].ID)
	}
	if d := compareWarehouse(t, wh, gen.Incrementals[1].ExpectedPath); d != "" {
		t.Fatalf("maintenance changed the table: %s", d)
	}

	// The whole folder again: the exports whose markers are gone are
	// covered, the newest is applied, and the last one is loaded.
	out = run(filepath.Join(root, "AWSDynamoDB"))
	for _, want := range []string{
		gen.Full.ID + ": skipped, covered by the table",
		gen.Incrementals[0].ID + ": skipped, covered by the table",
		gen.Incrementals[1].ID + ": skipped, already applied",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second run's output lacks %q:\n%s", want, out)
		}
	}
	if d := compareWarehouse(t, wh, gen.Incrementals[2].ExpectedPath); d != "" {
		t.Fatalf("after the second run: %s", d)
	}

	// Orphans: an old stray file goes, a young one stays; a dry run
	// removes nothing.
	data := filepath.Join(wh, "ddb.db", "orders", "data")
	old, young := filepath.Join(data, "stray-old.parquet"), filepath.Join(data, "stray-young.parquet")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("not referenced"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	out = maintain("--older-than", "1h", "--dry-run")
	if !strings.Contains(out, "would remove 1 orphan files") || !strings.Contains(out, old) {
		t.Errorf("dry run output:\n%s", out)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("the dry run removed %s: %v", old, err)
	}
	out = maintain("--older-than", "1h")
	if !strings.Contains(out, "removed 1 orphan files") {
		t.Errorf("maintain output:\n%s", out)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("old orphan %s still there (%v)", old, err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young orphan %s removed: %v", young, err)
	}
	if d := compareWarehouse(t, wh, gen.Incrementals[2].ExpectedPath); d != "" {
		t.Fatalf("orphan removal changed the table: %s", d)
	}

	// Refusals say what to do.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--older-than", "10m"}, "too short for orphan removal"},
		{[]string{"--retain-last", "0"}, "at least the current snapshot"},
	} {
		code, _, stderr := floe(t, append([]string{"maintain", "--warehouse", wh, "--table", "ddb.orders"}, tt.args...)...)
		if code == 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("maintain %v: exit %d, stderr %q, want an error with %q", tt.args, code, stderr, tt.want)
		}
	}
}

// TestMaintainBesideRun compacts and expires snapshots in a loop while
// floe run applies a history of exports, then compares the table with the
// expected state: maintenance commits in between the committer's must
// neither lose nor double-apply an export, and a compaction's files must
// not be taken for a committer's leftovers.
func TestMaintainBesideRun(t *testing.T) {
	for _, v := range []string{"2", "3"} {
		t.Run("v"+v, func(t *testing.T) { maintainBesideRun(t, v) })
	}
}

func maintainBesideRun(t *testing.T, formatVersion string) {
	root := t.TempDir()
	gen, err := exportgen.Generate(context.Background(), exportgen.Options{
		Dir: root, Items: 5000, Seed: 5, Incrementals: 12, ChangesPerIncremental: 500, IncrementalFiles: 2, Window: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(t.TempDir(), "wh")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// One floe run per export, so that each commit is a process start
	// apart and the maintain rounds fall in between and during them.
	exports := []string{gen.Full.Dir}
	for _, inc := range gen.Incrementals {
		exports = append(exports, inc.Dir)
	}
	done := make(chan error, 1)
	go func() {
		for _, e := range exports {
			cmd := exec.CommandContext(ctx, floeBin, "run", "--export", e, "--warehouse", wh,
				"--table", "ddb.orders", "--key", "pk,sk", "--progress", "never", "--format-version", formatVersion)
			if out, err := cmd.CombinedOutput(); err != nil {
				done <- fmt.Errorf("floe run --export %s: %w\n%s", e, err, out)
				return
			}
		}
		done <- nil
	}()

	expiredRe := regexp.MustCompile(`expired (\d+) snapshots`)
	var rounds, expired, compactions, conflicts int
	var runResult error
loop:
	for {
		select {
		case runResult = <-done:
			break loop
		default:
		}
		if _, err := os.Stat(filepath.Join(wh, "catalog.db")); err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		code, out, stderr := floe(t, "maintain", "--warehouse", wh, "--table", "ddb.orders", "--older-than", "0s", "--skip", "orphans")
		switch {
		case code == 0:
			rounds++
			if m := expiredRe.FindStringSubmatch(out); m != nil {
				n, _ := strconv.Atoi(m[1])
				expired += n
			}
			if strings.Contains(out, "compacted ") && !strings.Contains(out, "compacted 0 ") {
				compactions++
			}
			if strings.Contains(out, "started over") {
				conflicts++
			}
		case strings.Contains(stderr, "does not exist"):
			// The first run has not created the table yet.
		default:
			t.Fatalf("maintain beside the run: exit %d\n%s", code, stderr)
		}
	}
	if runResult != nil {
		t.Fatal(runResult)
	}
	t.Logf("%d maintain rounds compacted %d times, expired %d snapshots and lost %d races during the runs", rounds, compactions, expired, conflicts)
	if expired == 0 || compactions < 2 {
		t.Fatalf("maintain compacted %d times and expired %d snapshots during the runs (%d rounds): the test proved little", compactions, expired, rounds)
	}
	if d := compareWarehouse(t, wh, gen.Incrementals[len(gen.Incrementals)-1].ExpectedPath); d != "" {
		t.Fatal(d)
	}
}
