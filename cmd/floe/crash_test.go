package main_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/testutil"
)

// crashCase is one export history TestKillAndResume loads under kills.
type crashCase struct {
	name string
	opts exportgen.Options // Dir is filled in
	// history loads the whole AWSDynamoDB/ folder (full export and
	// incrementals, applied in order in one run) instead of the full
	// export's folder.
	history bool
	extra   []string // more `floe run` flags
	// kills is how many kills must land mid-run for this case.
	kills int
}

// TestKillAndResume SIGKILLs `floe run` at random moments, restarting it
// each time, and checks that the table ends up exactly equal to the
// generator's expected state (no row lost, doubled or stale, every value
// right), with one snapshot per export, the markers in export order, and no
// orphan files. Small data files make the committer record durable state
// and ack messages often, so kills land between every kind of step.
//
// Cases: a full load; and histories of a full export plus three
// incremental exports (inserts, updates, deletes, re-inserts, removed and
// new attributes, type drift) in both views, NEW_AND_OLD_IMAGES on a
// format v2 table (position deletes) and NEW_IMAGE on v3 (deletion
// vectors), all exports applied by one `floe run`.
//
// The kill schedule is drawn from a seed that is logged; set
// FLOE_CRASH_SEED to replay it (kills land by wall-clock time, so a replay
// is close, not identical). Every kill's delay is logged. Set
// FLOE_CRASH_KEEP=DIR to keep the warehouses for inspection.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes for a while")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FLOE_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("FLOE_CRASH_SEED: %v", err)
		}
	}
	t.Logf("kill schedule seed %d (replay: FLOE_CRASH_SEED=%d)", seed, seed)
	cases := []crashCase{
		{
			name:  "full",
			opts:  exportgen.Options{Items: 60000, Files: 6, Seed: 5, Edge: true},
			kills: 4,
		},
		{
			name: "incremental NEW_AND_OLD_IMAGES v2",
			opts: exportgen.Options{Items: 20000, Files: 4, Seed: 6, Edge: true, Incrementals: 3, ChangesPerIncremental: 3000,
				IncrementalFiles: 3, View: exportgen.ViewNewAndOld},
			history: true,
			kills:   5,
		},
		{
			name: "incremental NEW_IMAGE v3",
			opts: exportgen.Options{Items: 20000, Files: 4, Seed: 7, Edge: true, Incrementals: 3, ChangesPerIncremental: 3000,
				IncrementalFiles: 3, View: exportgen.ViewNew},
			history: true,
			extra:   []string{"--format-version", "3"},
			kills:   5,
		},
	}
	total := 0
	start := time.Now()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// One stream per case, so one case replays alone (-run).
			total += killAndResume(t, tc, rand.New(rand.NewPCG(seed, uint64(i+1))))
		})
	}
	t.Logf("%d kills in %v", total, time.Since(start).Round(time.Millisecond))
}

// crashRun is one `floe run` of a round.
type crashRun struct {
	delay  time.Duration // kill delay drawn; 0 = let it finish
	killed bool
	took   time.Duration
	stderr string
}

func (r crashRun) String() string {
	switch {
	case r.killed:
		return fmt.Sprintf("killed after %v (last log: %s)", r.delay, lastLog(r.stderr))
	case r.delay > 0:
		return fmt.Sprintf("finished in %v, before its kill at %v", r.took.Round(time.Millisecond), r.delay)
	}
	return fmt.Sprintf("finished in %v (no kill)", r.took.Round(time.Millisecond))
}

// killAndResume runs one case: an undisturbed run measures the kill window,
// then rounds on fresh warehouses kill runs at random times within that
// window until one finishes, and check the table each leaves. It returns
// the number of kills that landed.
func killAndResume(t *testing.T, tc crashCase, rng *rand.Rand) int {
	base := t.TempDir()
	if keep := os.Getenv("FLOE_CRASH_KEEP"); keep != "" {
		base = filepath.Join(keep, strings.ReplaceAll(tc.name, " ", "_"))
		os.RemoveAll(base)
	}
	o := tc.opts
	o.Dir = filepath.Join(base, "gen")
	gen, err := exportgen.Generate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	exp := gen.Full.Dir
	want := crashHistory{ids: []string{gen.Full.ID}, expected: gen.Full.ExpectedPath}
	if tc.history {
		exp = filepath.Join(o.Dir, "AWSDynamoDB")
		for _, inc := range gen.Incrementals {
			want.ids = append(want.ids, inc.ID)
			want.expected = inc.ExpectedPath
		}
	}
	argsFor := func(wh string) []string {
		return append([]string{"run", "--export", exp, "--warehouse", wh, "--table", "crash.orders",
			"--key", "pk,sk", "--target-file-size", "256KiB", "--progress", "never", "--log-level", "debug"}, tc.extra...)
	}

	// The undisturbed run: its duration is the kill window, so kills fall
	// at every stage (planning, detection, table creation, chunk writes,
	// state saves, the merge and commit of each export, between exports).
	// Its table is checked only if a round fails, to tell a crash bug
	// from one that needs no kill.
	whUndisturbed := filepath.Join(base, "wh-undisturbed")
	undisturbed, err := runFloe(t, argsFor(whUndisturbed), 0)
	if err != nil {
		t.Fatalf("undisturbed run: %v\n%s", err, undisturbed.stderr)
	}
	window := undisturbed.took
	t.Logf("undisturbed run: %v", window.Round(time.Millisecond))

	const maxKillsPerRound = 6
	kills := 0
	for round := 0; kills < tc.kills; round++ {
		if round >= 10 {
			t.Fatalf("only %d kills landed in %d rounds", kills, round)
		}
		wh := filepath.Join(base, fmt.Sprintf("wh-%d", round))
		args := argsFor(wh)
		var runs []crashRun
		for {
			var delay time.Duration
			if len(runs) < maxKillsPerRound {
				delay = time.Duration(20+rng.Int64N(window.Milliseconds())) * time.Millisecond
			}
			r, err := runFloe(t, args, delay)
			runs = append(runs, r)
			if err != nil {
				fatalRound(t, round, runs, err, "")
			}
			t.Logf("round %d run %d: %s", round, len(runs)-1, r)
			if !r.killed {
				if len(runs) == 1 {
					window = r.took // undisturbed again: a fresher window
				}
				break
			}
			kills++
		}
		if err := checkHistory(t, wh, args, want); err != nil {
			baseline := "the undisturbed run's table passes the same checks: the kills caused this"
			if err := checkHistory(t, whUndisturbed, argsFor(whUndisturbed), want); err != nil {
				baseline = "the undisturbed run's table fails too: " + err.Error()
			}
			fatalRound(t, round, runs, err, baseline)
		}
	}
	return kills
}

// fatalRound reports a failed round: every run's kill delay and stderr,
// then the error.
func fatalRound(t *testing.T, round int, runs []crashRun, err error, note string) {
	t.Helper()
	for i, r := range runs {
		t.Logf("round %d run %d: %s; stderr:\n%s", round, i, r, tail(r.stderr, 8000))
	}
	if note != "" {
		note = "\n(" + note + ")"
	}
	t.Fatalf("round %d failed after %d runs (replay with the logged FLOE_CRASH_SEED): %v%s", round, len(runs), err, note)
}

// runFloe runs `floe run` and SIGKILLs it after delay (0: never). A run
// that exits on its own must succeed, and no run may take 3 minutes.
func runFloe(t *testing.T, args []string, delay time.Duration) (crashRun, error) {
	t.Helper()
	cmd := exec.Command(floeBin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var kill <-chan time.Time
	if delay > 0 {
		kill = time.After(delay)
	}
	stall := time.After(3 * time.Minute)
	r := crashRun{delay: delay}
	select {
	case err := <-done:
		r.took, r.stderr = time.Since(start), stderr.String()
		if err != nil {
			return r, fmt.Errorf("floe run failed after %v: %v", r.took, err)
		}
	case <-kill:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		r.killed, r.took, r.stderr = true, time.Since(start), stderr.String()
	case <-stall:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		r.took, r.stderr = time.Since(start), stderr.String()
		return r, fmt.Errorf("floe run stalled: no exit in %v", r.took)
	}
	return r, nil
}

// lastLog summarises the last line a run logged (its msg and export), to
// show what a kill interrupted.
func lastLog(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	l := lines[len(lines)-1]
	if l == "" {
		return "nothing logged"
	}
	field := func(name string) string {
		i := strings.Index(l, " "+name+"=")
		if i < 0 {
			return ""
		}
		v := l[i+len(name)+2:]
		if strings.HasPrefix(v, `"`) {
			if j := strings.Index(v[1:], `"`); j >= 0 {
				return v[1 : j+1]
			}
		}
		if j := strings.IndexByte(v, ' '); j >= 0 {
			v = v[:j]
		}
		return v
	}
	out := field("msg")
	if out == "" { // a line cut short by the kill
		return strings.ToValidUTF8(tail(l, 80), "")
	}
	if e := field("export"); e != "" {
		out += " " + e
	}
	return out
}

// crashHistory is what a table must hold after a run: the export ids of its
// snapshots, oldest first, and the expected state after the last one.
type crashHistory struct {
	ids      []string
	expected string
}

// checkHistory checks a table after kills: a rerun skips every export, the
// table holds exactly the expected rows, with one snapshot per export
// whose markers name the exports in order, and every file under its data/
// directory is referenced by it.
func checkHistory(t *testing.T, wh string, args []string, want crashHistory) (err error) {
	t.Helper()
	type failure struct{ error }
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(failure)
			if !ok {
				panic(r)
			}
			err = f.error
		}
	}()
	fail := func(format string, a ...any) {
		panic(failure{fmt.Errorf(format, a...)})
	}
	ctx := context.Background()
	code, stdout, stderr := floe(t, args...)
	if code != 0 {
		fail("a rerun after completion failed: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, id := range want.ids {
		if !strings.Contains(stdout, "export "+id+": skipped") {
			fail("a rerun after completion must skip export %s:\n%s\n%s", id, stdout, stderr)
		}
	}
	if strings.Contains(stdout, "committed") || strings.Contains(stdout, "merged") {
		fail("a rerun after completion applied an export again:\n%s\n%s", stdout, stderr)
	}

	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: wh})
	if err != nil {
		fail("opening the catalog: %v", err)
	}
	defer closeCat()
	tbl, err := cat.LoadTable(ctx, icecat.ToIdentifier("crash.orders"))
	if err != nil {
		fail("loading the table: %v", err)
	}

	// One snapshot per export, each the parent of the next, markers in
	// export order.
	meta := tbl.Metadata()
	var chain []table.Snapshot
	for s := tbl.CurrentSnapshot(); s != nil; {
		chain = append(chain, *s)
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	slices.Reverse(chain)
	var ids []string
	for _, s := range chain {
		var id string
		if s.Summary != nil {
			id = s.Summary.Properties[committer.MarkerExportID]
		}
		ids = append(ids, id)
	}
	if n := len(meta.Snapshots()); n != len(want.ids) || !slices.Equal(ids, want.ids) {
		fail("%d snapshots with export ids %v (current ancestry), want %d: %v", n, ids, len(want.ids), want.ids)
	}

	if d, err := testutil.CompareTable(ctx, tbl, want.expected, []string{"pk", "sk"}); err != nil {
		fail("comparing the table: %v", err)
	} else if d != "" {
		fail("table differs from the expected state %s:\n%s", filepath.Base(want.expected), d)
	}

	// Every file under data/ is referenced by the current snapshot: data
	// files, position delete files, deletion vectors. Delete files an
	// earlier snapshot references and a later one replaced (a v3 deletion
	// vector merged into a new one) are kept for time travel, not orphans.
	files := func(s table.Snapshot) map[string]iceberg.ManifestEntryContent {
		tasks, err := tbl.Scan(table.WithSnapshotID(s.SnapshotID)).PlanFiles(ctx)
		if err != nil {
			fail("planning snapshot %d: %v", s.SnapshotID, err)
		}
		out := map[string]iceberg.ManifestEntryContent{}
		add := func(dfs ...iceberg.DataFile) {
			for _, df := range dfs {
				out[filepath.Clean(strings.TrimPrefix(df.FilePath(), "file://"))] = df.ContentType()
			}
		}
		for _, task := range tasks {
			add(task.File)
			add(task.DeleteFiles...)
			add(task.EqualityDeleteFiles...)
			add(task.DeletionVectorFiles...)
		}
		return out
	}
	live := files(chain[len(chain)-1])
	older := map[string]iceberg.ManifestEntryContent{}
	for _, s := range chain[:len(chain)-1] {
		for p, c := range files(s) {
			older[p] = c
		}
	}
	root := strings.TrimPrefix(tbl.Location(), "file://")
	var orphans, staged, replaced []string
	filepath.WalkDir(filepath.Join(root, "data"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") && !strings.HasSuffix(p, ".puffin") {
			return nil
		}
		p = filepath.Clean(p)
		switch c, old := older[p]; {
		case strings.HasSuffix(p, "-deletes.parquet") && !strings.Contains(filepath.Base(p), "-pos-deletes-"):
			staged = append(staged, p)
		case hasKey(live, p):
		case old && c != iceberg.EntryContentData:
			replaced = append(replaced, p)
		default:
			orphans = append(orphans, p)
		}
		return nil
	})
	if len(staged) > 0 {
		fail("%d staged delete files left after the commits, e.g. %s", len(staged), staged[0])
	}
	if len(orphans) > 0 {
		fail("%d orphan files (referenced by no snapshot), e.g. %s", len(orphans), orphans[0])
	}
	if len(replaced) > 0 {
		t.Logf("%d delete files replaced by later snapshots (kept for time travel)", len(replaced))
	}
	var nData, nDel int
	for _, c := range live {
		if c == iceberg.EntryContentData {
			nData++
		} else {
			nDel++
		}
	}
	t.Logf("table ok: %d snapshots, %d data files, %d delete files", len(chain), nData, nDel)
	return nil
}

func hasKey[M ~map[string]V, V any](m M, k string) bool {
	_, ok := m[k]
	return ok
}

// tail returns the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
