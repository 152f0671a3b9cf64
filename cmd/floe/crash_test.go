package main_test

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	icecat "github.com/apache/iceberg-go/catalog"

	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/testutil"
)

// TestKillAndResume SIGKILLs `floe run` at random moments of a full load,
// restarting it each time, and checks that the table ends up exactly equal
// to the export (no row lost or doubled), in one snapshot, with no orphan
// data files. Small data files make the committer record durable state
// and ack messages often, so kills land between every kind of step.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes for a while")
	}
	dir := t.TempDir()
	gen, err := exportgen.Generate(context.Background(), exportgen.Options{Dir: dir, Items: 60000, Files: 6, Seed: 5, Edge: true})
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill schedule seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	// Rounds on fresh warehouses until enough kills landed mid-run; kill
	// times are drawn within the duration of the last complete run, so
	// they fall at every stage (planning, detection, table creation,
	// chunk writes, state saves, the commit).
	kills, runTime := 0, 1500*time.Millisecond
	for round := 0; kills < 8; round++ {
		if round > 10 {
			t.Fatalf("only %d kills landed in %d rounds", kills, round)
		}
		wh := filepath.Join(t.TempDir(), "wh")
		args := []string{"run", "--export", gen.Full.Dir, "--warehouse", wh, "--table", "crash.orders",
			"--key", "pk,sk", "--target-file-size", "256KiB", "--progress", "never", "--log-level", "warn"}
		for attempt := 0; ; attempt++ {
			if attempt > 30 {
				t.Fatalf("round %d: no run finished after %d attempts", round, attempt)
			}
			cmd := exec.Command(floeBin, args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			after := time.Duration(50+rng.Int64N(runTime.Milliseconds())) * time.Millisecond
			if attempt >= 4 {
				after = 2 * time.Minute // enough kills this round: let it finish
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("round %d run %d failed: %v\n%s", round, attempt, err, stderr.String())
				}
				if attempt == 0 {
					runTime = time.Since(start) // undisturbed: sets the kill window
				}
			case <-time.After(after):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				kills++
				continue
			}
			break
		}
		verifyTable(t, wh, args, gen.Full.ExpectedPath)
	}
	t.Logf("%d kills", kills)
}

// verifyTable checks a table after kills: a rerun skips the export, and
// the table holds exactly the expected rows, in one snapshot, with no
// orphan data files.
func verifyTable(t *testing.T, wh string, args []string, expectedPath string) {
	t.Helper()
	code, stdout, stderr := floe(t, args...)
	if code != 0 || !strings.Contains(stdout, "skipped") {
		t.Fatalf("a rerun after completion must skip the export: exit %d\n%s\n%s", code, stdout, stderr)
	}
	cat, closeCat, err := catalog.Open(context.Background(), catalog.Config{Warehouse: wh})
	if err != nil {
		t.Fatal(err)
	}
	defer closeCat()
	tbl, err := cat.LoadTable(context.Background(), icecat.ToIdentifier("crash.orders"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Metadata().Snapshots()); n != 1 {
		t.Fatalf("%d snapshots, want 1", n)
	}
	if d, err := testutil.CompareTable(context.Background(), tbl, expectedPath, []string{"pk", "sk"}); err != nil {
		t.Fatal(err)
	} else if d != "" {
		t.Fatal(d)
	}
	// Every Parquet file under the table is referenced by it.
	tasks, err := tbl.Scan().PlanFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	for _, task := range tasks {
		live[strings.TrimPrefix(task.File.FilePath(), "file://")] = true
	}
	root := strings.TrimPrefix(tbl.Location(), "file://")
	var orphans []string
	filepath.WalkDir(filepath.Join(root, "data"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") && !live[p] {
			orphans = append(orphans, p)
		}
		return nil
	})
	if len(orphans) > 0 {
		t.Fatalf("%d orphan data files, e.g. %s", len(orphans), orphans[0])
	}
}
