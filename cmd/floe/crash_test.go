package main_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// Cases: a full load; and histories of a full export plus five
// incremental exports (inserts, updates, deletes, re-inserts, removed and
// new attributes, type drift) in both views, each on a format v2 table
// (position deletes) and a v3 table (deletion vectors), all exports
// applied by one `floe run`. At least 30 kills land per `go test` run.
//
// The kill schedule is drawn from a seed that is logged; set
// FLOE_CRASH_SEED to replay it (kills land by wall-clock time, so a replay
// is close, not identical). Every kill's delay and the phase it landed in
// (from floe's debug log, see killPhase) are logged, and a tally of kills
// per phase ends each case and the test. Set FLOE_CRASH_KEEP=DIR to keep
// the warehouses for inspection.
// crashSeed returns the seed of a kill schedule: FLOE_CRASH_SEED to replay
// one, else a new one. It is logged either way.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FLOE_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("FLOE_CRASH_SEED: %v", err)
		}
	}
	t.Logf("kill schedule seed %d (replay: FLOE_CRASH_SEED=%d)", seed, seed)
	return seed
}

func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes for a while")
	}
	seed := crashSeed(t)
	// Small exports and small data files: a run takes a few seconds, the
	// committer saves durable state after every batch, and a history has
	// six exports to kill between.
	history := func(seed int64, view string) exportgen.Options {
		return exportgen.Options{Items: 6000, Files: 4, Seed: seed, Edge: true, Incrementals: 5, ChangesPerIncremental: 500,
			IncrementalFiles: 3, View: view}
	}
	cases := []crashCase{
		{
			name:  "full",
			opts:  exportgen.Options{Items: 20000, Files: 8, Seed: 5, Edge: true},
			kills: 4,
		},
		{
			name:    "incremental NEW_AND_OLD_IMAGES v2",
			opts:    history(6, exportgen.ViewNewAndOld),
			history: true,
			kills:   7,
		},
		{
			name:    "incremental NEW_IMAGE v3",
			opts:    history(7, exportgen.ViewNew),
			history: true,
			extra:   []string{"--format-version", "3"},
			kills:   7,
		},
		{
			name:    "incremental NEW_IMAGE v2",
			opts:    history(8, exportgen.ViewNew),
			history: true,
			kills:   7,
		},
		{
			name:    "incremental NEW_AND_OLD_IMAGES v3",
			opts:    history(9, exportgen.ViewNewAndOld),
			history: true,
			extra:   []string{"--format-version", "3"},
			kills:   7,
		},
	}
	total, ran, tally := 0, 0, map[string]int{}
	start := time.Now()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// One stream per case, so one case replays alone (-run).
			ran++
			caseStart := time.Now()
			phases := killAndResume(t, tc, rand.New(rand.NewPCG(seed, uint64(i+1))))
			t.Logf("%d kills in %v: %s", len(phases), time.Since(caseStart).Round(time.Millisecond), phaseTally(phases, nil))
			total += len(phases)
			for _, p := range phases {
				tally[p]++
			}
		})
	}
	t.Logf("%d kills in %v (seed %d); kills by phase: %s", total, time.Since(start).Round(time.Millisecond), seed, phaseTally(nil, tally))
	if ran == len(cases) && !t.Failed() && total < minCrashKills {
		t.Errorf("only %d kills landed, want at least %d", total, minCrashKills)
	}
}

// minCrashKills is how many kills TestKillAndResume lands per run (all
// cases).
const minCrashKills = 30

// The phases a kill can land in, in the order a run goes through them (see
// killPhase).
var crashPhases = []string{phasePlanning, phaseStarting, phaseDetecting, phaseLoading, phaseCommitting, phaseBetween, phaseAfter}

const (
	phasePlanning   = "planning"         // nothing logged yet: start, lock, reading the manifests
	phaseStarting   = "starting"         // NATS connected: stream setup, committer recovery, publishing plans
	phaseDetecting  = "detecting"        // schema detection tasks, table creation
	phaseLoading    = "loading"          // transforming, chunk writes, pending-state saves
	phaseCommitting = "committing"       // every chunk durable: merge, delete files, catalog commit, state clear
	phaseBetween    = "between exports"  // an export committed or skipped, the next not begun
	phaseAfter      = "after completion" // the last export committed or skipped: shutdown
)

// phaseTally formats kills per phase, in run order: from a list of
// phases, or from counts.
func phaseTally(phases []string, counts map[string]int) string {
	if counts == nil {
		counts = map[string]int{}
		for _, p := range phases {
			counts[p]++
		}
	}
	var parts []string
	for _, p := range crashPhases {
		parts = append(parts, fmt.Sprintf("%s %d", p, counts[p]))
	}
	for p, n := range counts {
		if !slices.Contains(crashPhases, p) {
			parts = append(parts, fmt.Sprintf("%s %d", p, n))
		}
	}
	return strings.Join(parts, ", ")
}

// crashRun is one `floe run` of a round.
type crashRun struct {
	kill   crashKill // kill drawn; zero = let it finish
	killed bool
	took   time.Duration
	stderr string
	phase  string // where the kill landed (see killPhase)
}

func (r crashRun) String() string {
	switch {
	case r.killed:
		return fmt.Sprintf("killed %v (at %v) in phase %q (last log: %s)", r.kill, r.took.Round(time.Millisecond), r.phase, lastLog(r.stderr))
	case r.kill != crashKill{}:
		return fmt.Sprintf("finished in %v, before its kill at %v", r.took.Round(time.Millisecond), r.kill)
	}
	return fmt.Sprintf("finished in %v (no kill)", r.took.Round(time.Millisecond))
}

// killAndResume runs one case: an undisturbed run measures the kill window
// (and counts the log lines kills may follow), then rounds on fresh
// warehouses kill runs at moments drawKill draws until one finishes, and
// check the table each leaves. It returns the phase of every kill that
// landed.
func killAndResume(t *testing.T, tc crashCase, rng *rand.Rand) []string {
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
			"--key", "pk,sk", "--target-file-size", "32KiB", "--progress", "never", "--log-level", "debug"}, tc.extra...)
	}

	// The undisturbed run: its duration is the kill window, so kills fall
	// at every stage (planning, detection, table creation, chunk writes,
	// state saves, the merge and commit of each export, between exports).
	// Its table is checked only if a round fails, to tell a crash bug
	// from one that needs no kill.
	whUndisturbed := filepath.Join(base, "wh-undisturbed")
	undisturbed, err := runFloe(t, argsFor(whUndisturbed), crashKill{})
	if err != nil {
		t.Fatalf("undisturbed run: %v\n%s", err, undisturbed.stderr)
	}
	window := undisturbed.took
	// killPhase reads floe's debug log; check it still can.
	totals := genTotals(gen, tc.history)
	if logged := exportTotals(undisturbed.stderr); !maps.Equal(logged, totals) {
		t.Fatalf("the undisturbed run's debug log shows exports of sizes %v, want %v:\n%s", logged, totals, tail(undisturbed.stderr, 8000))
	}
	lastID := want.ids[len(want.ids)-1]
	lines := map[string]int{} // how often each trigger line is logged
	for _, l := range logLines(undisturbed.stderr) {
		lines[logField(l, "msg")]++
	}
	t.Logf("undisturbed run: %v", window.Round(time.Millisecond))

	const maxKillsPerRound = 6
	var kills []string
	for round := 0; len(kills) < tc.kills; round++ {
		if round >= 10 {
			t.Fatalf("only %d kills landed in %d rounds", len(kills), round)
		}
		wh := filepath.Join(base, fmt.Sprintf("wh-%d", round))
		args := argsFor(wh)
		var runs []crashRun
		for {
			var kill crashKill
			if len(runs) < maxKillsPerRound {
				kill = drawKill(rng, window, lines)
			}
			r, err := runFloe(t, args, kill)
			if r.killed {
				r.phase = killPhase(r.stderr, totals, lastID)
			}
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
			kills = append(kills, r.phase)
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

// crashKill is when to kill a run: delay after its start, or, when on is
// set, after the nth line whose msg is on, plus after. The zero value
// lets the run finish.
type crashKill struct {
	delay time.Duration
	on    string
	nth   int
	after time.Duration
}

// killTriggers are the log lines a kill may follow. They end steps whose
// next step is too short for a kill drawn from the run time to hit:
// between "export committed" and the next "applying export" (saving the
// next export's pending state) take a millisecond or two; the embedded
// NATS start and the end of a chunk start short stretches of recovery and
// commit work.
var killTriggers = []string{"export committed", "chunk durable", "embedded nats started", "applying export"}

// drawKill draws a kill: two times in three at a moment drawn uniformly
// from the measured run time, else within 1 ms after a trigger line, the
// nth of those the undisturbed run logged.
func drawKill(rng *rand.Rand, window time.Duration, lines map[string]int) crashKill {
	if rng.IntN(3) > 0 {
		return crashKill{delay: time.Duration(20+rng.Int64N(window.Milliseconds())) * time.Millisecond}
	}
	on := killTriggers[rng.IntN(len(killTriggers))]
	return crashKill{on: on, nth: 1 + rng.IntN(max(lines[on], 1)), after: time.Duration(rng.Int64N(1000)) * time.Microsecond,
		// and a deadline, in case the line never comes
		delay: window + time.Duration(rng.Int64N(window.Milliseconds()))*time.Millisecond}
}

func (k crashKill) String() string {
	if k.on == "" {
		return k.delay.String()
	}
	return fmt.Sprintf("%v after log line %q #%d (else at %v)", k.after, k.on, k.nth, k.delay.Round(time.Millisecond))
}

// triggerWriter collects a run's stderr and closes fire at the kill's
// trigger line.
type triggerWriter struct {
	mu      sync.Mutex
	buf     strings.Builder
	scanned int
	on      string
	nth     int
	fire    chan struct{}
}

func (w *triggerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for w.nth > 0 {
		s := w.buf.String()[w.scanned:]
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.scanned += i + 1
		if logField(s[:i], "msg") == w.on {
			if w.nth--; w.nth == 0 {
				close(w.fire)
			}
		}
	}
	return len(p), nil
}

func (w *triggerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runFloe runs `floe run` and SIGKILLs it as kill says. A run that exits
// on its own must succeed, and no run may take 3 minutes.
func runFloe(t *testing.T, args []string, kill crashKill) (crashRun, error) {
	t.Helper()
	cmd := exec.Command(floeBin, args...)
	stderr := &triggerWriter{on: kill.on, nth: kill.nth, fire: make(chan struct{})}
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timer <-chan time.Time
	if kill.delay > 0 {
		timer = time.After(kill.delay)
	}
	var fire <-chan struct{}
	if kill.on != "" {
		fire = stderr.fire
	}
	stall := time.After(3 * time.Minute)
	r := crashRun{kill: kill}
	select {
	case err := <-done:
		r.took, r.stderr = time.Since(start), stderr.String()
		if err != nil {
			return r, fmt.Errorf("floe run failed after %v: %v", r.took, err)
		}
	case <-fire:
		if kill.after > 0 {
			time.Sleep(kill.after)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := <-done
		r.took, r.stderr = time.Since(start), stderr.String()
		// It may have exited on its own just before.
		if r.killed = isKilled(err); !r.killed && err != nil {
			return r, fmt.Errorf("floe run failed after %v: %v", r.took, err)
		}
	case <-timer:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := <-done
		r.took, r.stderr = time.Since(start), stderr.String()
		if r.killed = isKilled(err); !r.killed && err != nil {
			return r, fmt.Errorf("floe run failed after %v: %v", r.took, err)
		}
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
	out := logField(l, "msg")
	if out == "" { // a line cut short by the kill
		return strings.ToValidUTF8(tail(l, 80), "")
	}
	if e := logField(l, "export"); e != "" {
		out += " " + e
	}
	return out
}

// logField returns the value of a key=value field of a text log line.
func logField(l, name string) string {
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

func logInt(l, name string) int64 {
	n, _ := strconv.ParseInt(logField(l, name), 10, 64)
	return n
}

// logLines returns the complete lines of a log (a line cut short by a kill
// is left out).
func logLines(stderr string) []string {
	if i := strings.LastIndexByte(stderr, '\n'); i >= 0 {
		return strings.Split(stderr[:i], "\n")
	}
	return nil
}

// exportSize is what an export writes: rows (upserts) and deletes.
type exportSize struct{ rows, deletes int64 }

// genTotals is the size of each export the generator made: an export's
// items are its rows plus its deletes.
func genTotals(gen *exportgen.Result, history bool) map[string]exportSize {
	out := map[string]exportSize{gen.Full.ID: {rows: gen.Full.ItemCount}}
	if history {
		for _, e := range gen.Incrementals {
			out[e.ID] = exportSize{rows: e.ItemCount - int64(e.Deletes), deletes: int64(e.Deletes)}
		}
	}
	return out
}

// exportTotals reads the size of each export from the debug log of an
// undisturbed run: the rows and deletes of its "chunk durable" lines.
func exportTotals(stderr string) map[string]exportSize {
	out := map[string]exportSize{}
	var cur string
	var size exportSize
	for _, l := range logLines(stderr) {
		switch logField(l, "msg") {
		case "applying export":
			cur, size = logField(l, "export"), exportSize{}
		case "chunk durable":
			size.rows += logInt(l, "rows")
			size.deletes += logInt(l, "deletes")
		case "export committed":
			if id := logField(l, "export"); id == cur {
				out[id] = size
			}
		}
	}
	return out
}

// killPhase names the phase a killed run was in, from floe's debug log up
// to the kill (see crashPhases). A "chunk durable" line is loading while
// the export has rows or deletes left to write (sizes from the undisturbed
// run), committing once all are durable. Lines that tell nothing about the
// phase (a dropped stale message, a warning) keep the one before.
func killPhase(stderr string, totals map[string]exportSize, lastID string) string {
	phase := phasePlanning
	var cur string
	var done exportSize
	resumed := false // done.deletes is unknown: the resumed state's are not logged
	loadOrCommit := func() string {
		want, ok := totals[cur]
		if ok && done.rows >= want.rows && (resumed || done.deletes >= want.deletes) {
			return phaseCommitting
		}
		return phaseLoading
	}
	for _, l := range logLines(stderr) {
		switch msg := logField(l, "msg"); msg {
		case "embedded nats started", "committer running", "export was committed before a restart; clearing its pending state",
			"removed files of interrupted work whose pending state was lost", "removing orphan data file of an interrupted write":
			phase = phaseStarting
		case "applying export":
			cur, done, resumed = logField(l, "export"), exportSize{}, false
			phase = phaseLoading
			if logField(l, "phase") == "detect" {
				phase = phaseDetecting
			}
		case "resuming export":
			cur, done, resumed = logField(l, "export"), exportSize{rows: logInt(l, "rows")}, true
			phase = phaseDetecting
			if logField(l, "phase") != "detect" {
				phase = loadOrCommit()
			}
		case "created table":
			phase = phaseDetecting
		case "schema decided", "schema evolved: new attributes became columns":
			phase = phaseLoading
		case "chunk durable":
			done.rows += logInt(l, "rows")
			done.deletes += logInt(l, "deletes")
			phase = loadOrCommit()
		case "export committed", "export already applied; skipping":
			phase = phaseBetween
			if logField(l, "export") == lastID {
				phase = phaseAfter
			}
		}
	}
	return phase
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
// directory is referenced by it (see checkTable).
func checkHistory(t *testing.T, wh string, args []string, want crashHistory) error {
	t.Helper()
	code, stdout, stderr := floe(t, args...)
	if code != 0 {
		return fmt.Errorf("a rerun after completion failed: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, id := range want.ids {
		if !strings.Contains(stdout, "export "+id+": skipped") {
			return fmt.Errorf("a rerun after completion must skip export %s:\n%s\n%s", id, stdout, stderr)
		}
	}
	if strings.Contains(stdout, "committed") || strings.Contains(stdout, "merged") {
		return fmt.Errorf("a rerun after completion applied an export again:\n%s\n%s", stdout, stderr)
	}
	return checkTable(t, wh, "crash.orders", want)
}

// checkTable checks a table after kills: it holds exactly the expected
// rows, with one snapshot per export whose markers name the exports in
// order, no staged delete file is left, and every file under its data/
// directory is referenced by a snapshot.
func checkTable(t *testing.T, wh, name string, want crashHistory) (err error) {
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
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: wh})
	if err != nil {
		fail("opening the catalog: %v", err)
	}
	defer closeCat()
	tbl, err := cat.LoadTable(ctx, icecat.ToIdentifier(name))
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
	// files, position delete files, deletion vectors. Files an earlier
	// snapshot references and a later one replaced (a v3 deletion vector
	// merged into a new one, a data file copy-on-write rewrote) are kept
	// for time travel, not orphans.
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
		switch _, old := older[p]; {
		case strings.HasSuffix(p, "-deletes.parquet") && !strings.Contains(filepath.Base(p), "-pos-deletes-"):
			staged = append(staged, p)
		case hasKey(live, p):
		case old:
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
		t.Logf("%d files replaced by later snapshots (kept for time travel)", len(replaced))
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

// isKilled tells whether a process ended by SIGKILL.
func isKilled(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
