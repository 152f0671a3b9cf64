package main_test

import (
	"context"
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

// TestMaintain expires the snapshots of a loaded history, checks that the
// newest marker stays and the table is unchanged, that a later run skips
// the exports whose markers are gone and applies the new ones, and that
// orphan removal takes old unreferenced files only, and nothing in a dry
// run.
func TestMaintain(t *testing.T) {
	root, gen := history(t, time.Hour)
	wh := filepath.Join(t.TempDir(), "wh")
	run := func(export string) string {
		t.Helper()
		code, out, stderr := floe(t, "run", "--export", export, "--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk", "--progress", "never")
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

	out := maintain("--older-than", "0s", "--skip", "orphans", "--dry-run")
	if !strings.Contains(out, "would expire 2 snapshots") || len(snapshots(t, wh)) != 3 {
		t.Fatalf("dry run expired something or reported wrongly:\n%s", out)
	}
	out = maintain("--older-than", "0s", "--skip", "orphans")
	for _, want := range []string{"expired 2 snapshots", "export " + gen.Full.ID, "export " + gen.Incrementals[0].ID} {
		if !strings.Contains(out, want) {
			t.Errorf("maintain output lacks %q:\n%s", want, out)
		}
	}
	if got := snapshots(t, wh); len(got) != 1 || got[0] != gen.Incrementals[1].ID {
		t.Fatalf("snapshots after expiry: %v, want only the newest marker %s", got, gen.Incrementals[1].ID)
	}
	if d := compareWarehouse(t, wh, gen.Incrementals[1].ExpectedPath); d != "" {
		t.Fatalf("expiry changed the table: %s", d)
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

// TestMaintainBesideRun expires snapshots in a loop while floe run applies
// a history of exports, then compares the table with the expected state:
// maintenance commits in between the committer's must neither lose nor
// double-apply an export.
func TestMaintainBesideRun(t *testing.T) {
	root := t.TempDir()
	gen, err := exportgen.Generate(context.Background(), exportgen.Options{
		Dir: root, Items: 3000, Seed: 5, Incrementals: 12, ChangesPerIncremental: 400, IncrementalFiles: 2, Window: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	wh := filepath.Join(t.TempDir(), "wh")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runCmd := exec.CommandContext(ctx, floeBin, "run", "--export", filepath.Join(root, "AWSDynamoDB"), "--warehouse", wh,
		"--table", "ddb.orders", "--key", "pk,sk", "--progress", "never")
	var runErr strings.Builder
	runCmd.Stderr = &runErr
	if err := runCmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runCmd.Wait() }()

	expiredRe := regexp.MustCompile(`expired (\d+) snapshots`)
	var rounds, expired int
	var runResult error
loop:
	for {
		select {
		case runResult = <-done:
			break loop
		default:
		}
		if _, err := os.Stat(filepath.Join(wh, "catalog.db")); err != nil {
			time.Sleep(50 * time.Millisecond)
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
		case strings.Contains(stderr, "does not exist"):
			// The run has not created the table yet.
		default:
			t.Fatalf("maintain beside the run: exit %d\n%s", code, stderr)
		}
	}
	if runResult != nil {
		t.Fatalf("floe run beside maintain: %v\n%s", runResult, runErr.String())
	}
	t.Logf("%d maintain rounds expired %d snapshots during the run", rounds, expired)
	if expired == 0 {
		t.Fatalf("no maintain round expired a snapshot during the run (%d rounds): the test proved nothing", rounds)
	}
	if d := compareWarehouse(t, wh, gen.Incrementals[len(gen.Incrementals)-1].ExpectedPath); d != "" {
		t.Fatal(d)
	}
}
