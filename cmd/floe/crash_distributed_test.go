package main_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/natsbus"
)

// TestDistributedCrash runs a history (a full export and five incremental
// exports, NEW_AND_OLD_IMAGES, format v3) through `floe submit`, two
// `floe transformer` processes and `floe committer` around a NATS server
// on TCP, and meanwhile SIGKILLs transformers and the committer at random
// moments (each restarted at once), and restarts the NATS server once (same
// port, same JetStream store). After the last kill everything is left to
// finish; then every export must be committed exactly once (one snapshot
// per export, markers in export order), the table must equal the expected
// state with no orphan or staged file left, and submitting the history
// again must skip every export and change nothing.
//
// A killed transformer's tasks come back after the tasks consumer's ack
// wait, 5 s here (--task-ack-wait). The kill schedule is drawn from the
// logged seed; FLOE_CRASH_SEED replays it (as closely as wall-clock timing
// allows).
func TestDistributedCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes for a while")
	}
	start := time.Now()
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1000))

	root := t.TempDir()
	gen, err := exportgen.Generate(context.Background(), exportgen.Options{
		Dir: root, Items: 12000, Files: 6, Seed: 21, Edge: true, View: exportgen.ViewNewAndOld,
		Incrementals: 5, ChangesPerIncremental: 1000, IncrementalFiles: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := crashHistory{ids: []string{gen.Full.ID}}
	for _, e := range gen.Incrementals {
		want.ids = append(want.ids, e.ID)
		want.expected = e.ExpectedPath
	}
	totals, lastID := genTotals(gen, true), want.ids[len(want.ids)-1]

	ns := startRestartableNATS(t, t.TempDir())
	url := ns.url()
	wh := filepath.Join(t.TempDir(), "wh")
	const table = "crash.dist"
	exportDir := filepath.Join(root, "AWSDynamoDB")

	// The pipeline's processes; a killed one is replaced by a new one of
	// the same role.
	type role struct {
		name    string
		args    []string
		p       *proc
		started int
		since   time.Time // when p started
	}
	roles := []*role{
		{name: "committer", args: []string{"committer", "--nats", url, "--table", table, "--warehouse", wh, "--log-level", "debug"}},
		{name: "transformer-1", args: []string{"transformer", "--nats", url, "--workers", "2", "--task-ack-wait", "5s", "--log-level", "debug"}},
		{name: "transformer-2", args: []string{"transformer", "--nats", url, "--workers", "2", "--task-ack-wait", "5s", "--log-level", "debug"}},
	}
	var all []*proc // every process started, for the outputs of a failure
	launch := func(r *role) {
		r.started++
		r.p, r.since = startFloe(t, fmt.Sprintf("%s (start %d)", r.name, r.started), r.args...), time.Now()
		all = append(all, r.p)
	}
	running := func() []*proc {
		var out []*proc
		for _, r := range roles {
			out = append(out, r.p)
		}
		return out
	}
	fatal := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("seed %d: %s%s", seed, fmt.Sprintf(format, a...), outputs(all))
	}
	// supervise restarts, as a supervisor would, a process that exited on
	// its own while the NATS server was down or in the 10 s after it came
	// back (each such exit is logged); any other exit fails the test.
	var natsDown, natsUp time.Time
	outageExits := 0
	supervise := func() {
		t.Helper()
		for _, r := range roles {
			if !r.p.exited() {
				continue
			}
			if natsDown.IsZero() || time.Since(natsUp) > 10*time.Second {
				fatal("%s exited unexpectedly (%s)", r.p.name, r.p.cmd.ProcessState)
			}
			outageExits++
			t.Logf("%s exited on its own (%s) around the NATS restart; restarting it. Its output:\n%s", r.p.name, r.p.cmd.ProcessState, r.p.out.String())
			launch(r)
		}
	}
	for _, r := range roles {
		launch(r)
	}

	submit := func() {
		t.Helper()
		code, stdout, stderr := floe(t, "submit", "--nats", url, "--export", exportDir, "--table", table, "--key", "pk,sk",
			"--format-version", "3", "--target-file-size", "32KiB")
		if code != 0 {
			fatal("submit: exit %d\n%s\n%s", code, stdout, stderr)
		}
	}
	submit()
	submitted := time.Now()

	// The kills: 16 (at least 10 while the history is being applied), each
	// of the committer (one time in two) or a transformer, each victim
	// restarted at once; and, at a random place among them, one restart
	// of the NATS server. Each waits until the committers' logs show a
	// drawn amount of progress (lines uniform over the history's
	// estimated length; at most 8 s, so kills also land while a dead
	// transformer's tasks wait out their ack wait), then 0–150 ms: kills
	// follow the history, whatever its speed, over all of its exports.
	const kills = 16
	length := 0 // progress lines of the history: per export, about 3 plus a chunk per file
	for _, e := range append([]exportgen.ExportInfo{gen.Full}, gen.Incrementals...) {
		length += 3 + e.Files
	}
	targets := make([]int, kills+1)
	for i := range targets {
		targets[i] = rng.IntN(length * 9 / 10)
	}
	slices.Sort(targets)
	natsAt := 1 + rng.IntN(kills) // the event that restarts NATS, not the first
	var phases []string
	landed := 0 // kills before the history was complete
	for i, target := range targets {
		delay := time.Duration(rng.IntN(150)) * time.Millisecond
		for giveUp := time.Now().Add(8 * time.Second); progressLines(all) < target && time.Now().Before(giveUp); {
			supervise()
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(delay)
		supervise()
		committed, _ := tableExports(wh, table)
		if i == natsAt {
			// Once every process is connected (one that cannot reach NATS
			// at start exits, for its supervisor to restart it; see
			// supervise), the server goes down for a while.
			// A process logs "running" before it sets up its consumer:
			// give it a second from its start.
			for _, r := range roles {
				for !strings.Contains(r.p.out.String(), " running\"") || time.Since(r.since) < time.Second {
					supervise()
					time.Sleep(5 * time.Millisecond)
				}
			}
			down := time.Duration(200+rng.IntN(800)) * time.Millisecond
			natsDown = time.Now()
			ns.restart(t, down)
			natsUp = time.Now()
			t.Logf("NATS server restarted at progress line %d + %v (down %v, %.1fs after submit), %d exports committed (last committer log: %s)",
				target, delay, down, time.Since(submitted).Seconds(), len(committed), lastLog(roles[0].p.out.String()))
			continue
		}
		victim := roles[0]
		if rng.IntN(2) == 0 {
			victim = roles[1+rng.IntN(2)]
		}
		// The committer's log says where the pipeline is (see killPhase).
		phase := killPhase(roles[0].p.out.String(), totals, lastID)
		if len(committed) == len(want.ids) {
			phase = phaseAfter // an idle committer started after the end
		} else {
			landed++
		}
		victim.p.kill(t)
		phases = append(phases, phase)
		t.Logf("kill %d: %s at progress line %d + %v (%.1fs after submit), committer in phase %q, %d exports committed (last committer log: %s)",
			len(phases), victim.name, target, delay, time.Since(submitted).Seconds(), phase, len(committed), lastLog(roles[0].p.out.String()))
		launch(victim)
	}
	t.Logf("%d kills (%d before the history was complete) in %.1fs; committer phase at each kill: %s",
		len(phases), landed, time.Since(submitted).Seconds(), phaseTally(phases, nil))
	if landed < 10 {
		// The history outran the schedule (a slow NATS restart, a fast
		// machine): the kills after it still check restarts, but say so.
		t.Logf("WARNING: only %d kills landed before the history was complete", landed)
	}

	// Let everything finish: a killed transformer's tasks come back
	// within 5 s, so a minute without the history done is a stall.
	deadline := time.Now().Add(time.Minute)
	for {
		supervise()
		done, _ := tableExports(wh, table)
		if len(done) >= len(want.ids) {
			break
		}
		if time.Now().After(deadline) {
			hint := ""
			if last := lastLog(roles[0].p.out.String()); strings.HasPrefix(last, "resuming export") {
				hint = " (the committer resumed an export and then did nothing: if its pending state holds every chunk, it waits for a message that never comes, see TestDistributedCommitterKilledAtCommit)"
			}
			fatal("stalled: %d of %d exports committed a minute after the last kill (%v)%s", len(done), len(want.ids), done, hint)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("history committed %.1fs after submit; %d processes exited on their own around the NATS restart", time.Since(submitted).Seconds(), outageExits)
	if err := checkTable(t, wh, table, want); err != nil {
		fatal("after the kills: %v", err)
	}
	before := currentSnapshot(t, wh, table)

	// Submitting the history again changes nothing: every export is
	// skipped, and the table keeps its snapshot.
	events := watchEvents(t, url, table)
	submit()
	for _, id := range want.ids {
		ev := waitFinal(t, events, running(), 60*time.Second)
		if ev.Status != natsbus.StatusSkipped || ev.ExportID != id {
			fatal("second submit: event %+v, want export %s skipped", ev, id)
		}
	}
	if after := currentSnapshot(t, wh, table); after != before {
		fatal("second submit: the current snapshot moved from %d to %d", before, after)
	}
	if err := checkTable(t, wh, table, want); err != nil {
		fatal("after the second submit: %v", err)
	}
	for _, p := range running() {
		p.stop(t)
	}
	t.Logf("TestDistributedCrash took %v", time.Since(start).Round(time.Millisecond))
}

// TestDistributedCommitterKilledAtCommit kills `floe committer` just before
// the catalog commit of the last export submitted (FLOE_TEST_KILL_AT),
// when every chunk of it is durable and every message acked, and restarts
// it: the restarted committer must commit that export, although no
// message for the table arrives any more.
func TestDistributedCommitterKilledAtCommit(t *testing.T) {
	root := t.TempDir()
	gen, err := exportgen.Generate(context.Background(), exportgen.Options{
		Dir: root, Items: 1000, Seed: 23, Edge: true, View: exportgen.ViewNew, Incrementals: 1, ChangesPerIncremental: 200,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := crashHistory{ids: []string{gen.Full.ID, gen.Incrementals[0].ID}, expected: gen.Incrementals[0].ExpectedPath}
	ns := startNATS(t)
	url := ns.ClientURL()
	wh := filepath.Join(t.TempDir(), "wh")
	const table = "crash.commit"
	comArgs := []string{"committer", "--nats", url, "--table", table, "--warehouse", wh, "--log-level", "debug"}
	t.Setenv("FLOE_TEST_KILL_AT", "commit:2")
	victim := startFloe(t, "committer (killed at its 2nd commit)", comArgs...)
	os.Unsetenv("FLOE_TEST_KILL_AT")
	tr := startFloe(t, "transformer", "transformer", "--nats", url, "--workers", "2", "--log-level", "debug")
	code, stdout, stderr := floe(t, "submit", "--nats", url, "--export", filepath.Join(root, "AWSDynamoDB"), "--table", table, "--key", "pk,sk")
	if code != 0 {
		t.Fatalf("submit: exit %d\n%s\n%s", code, stdout, stderr)
	}
	select {
	case <-victim.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the committer was not killed at its second commit%s", outputs([]*proc{victim, tr}))
	}
	if !strings.Contains(victim.out.String(), "FLOE_TEST_KILL_AT: killing this process") {
		t.Fatalf("the committer exited, but not at its second commit%s", outputs([]*proc{victim, tr}))
	}
	com := startFloe(t, "committer (restarted)", comArgs...)
	procs := []*proc{victim, tr, com}
	deadline := time.Now().Add(15 * time.Second)
	for {
		checkAlive(t, []*proc{tr, com})
		if done, _ := tableExports(wh, table); len(done) >= len(want.ids) {
			break
		}
		if time.Now().After(deadline) {
			done, _ := tableExports(wh, table)
			t.Fatalf("stalled: the restarted committer has not committed the export it resumed 15s after its start (table holds %v, want %v)%s", done, want.ids, outputs(procs))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := checkTable(t, wh, table, want); err != nil {
		t.Fatalf("%v%s", err, outputs(procs))
	}
	tr.stop(t)
	com.stop(t)
}

// progressLines counts the lines in the committers' logs that mark
// progress through the history.
func progressLines(procs []*proc) int {
	n := 0
	for _, p := range procs {
		for _, l := range strings.Split(p.out.String(), "\n") {
			switch logField(l, "msg") {
			case "applying export", "created table", "schema decided", "chunk durable", "export committed":
				n++
			}
		}
	}
	return n
}

// tableExports lists the export ids of the table's snapshots, oldest
// first; an error while the committer writes the catalog, or before the
// table exists, is returned for the caller to retry.
func tableExports(wh, name string) ([]string, error) {
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(wh, "catalog.db")); err != nil {
		return nil, err
	}
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: wh})
	if err != nil {
		return nil, err
	}
	defer closeCat()
	tbl, err := cat.LoadTable(ctx, icecat.ToIdentifier(name))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range tbl.Metadata().Snapshots() {
		var id string
		if s.Summary != nil {
			id = s.Summary.Properties[committer.MarkerExportID]
		}
		out = append(out, id)
	}
	return out, nil
}

// currentSnapshot returns the id of the table's current snapshot.
func currentSnapshot(t *testing.T, wh, name string) int64 {
	t.Helper()
	cat, closeCat, err := catalog.Open(context.Background(), catalog.Config{Warehouse: wh})
	if err != nil {
		t.Fatal(err)
	}
	defer closeCat()
	tbl, err := cat.LoadTable(context.Background(), icecat.ToIdentifier(name))
	if err != nil {
		t.Fatal(err)
	}
	s := tbl.CurrentSnapshot()
	if s == nil {
		t.Fatal("no current snapshot")
	}
	if s.Summary == nil || s.Summary.Properties[committer.MarkerExportID] == "" {
		t.Fatalf("snapshot %d has no floe marker", s.SnapshotID)
	}
	return s.SnapshotID
}

// restartableNATS is an in-process NATS server with JetStream that can be
// stopped and started again on the same port with the same store, as a
// restarted nats-server process would be.
type restartableNATS struct {
	store string
	port  int
	ns    *server.Server
}

func startRestartableNATS(t *testing.T, store string) *restartableNATS {
	t.Helper()
	n := &restartableNATS{store: store, port: -1}
	n.start(t)
	n.port = n.ns.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() {
		n.ns.Shutdown()
		n.ns.WaitForShutdown()
	})
	return n
}

func (n *restartableNATS) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *restartableNATS) start(t *testing.T) {
	t.Helper()
	n.ns = newNATSServer(t, n.port, n.store)
}

// restart stops the server, waits down, and starts it again.
func (n *restartableNATS) restart(t *testing.T, down time.Duration) {
	t.Helper()
	n.ns.Shutdown()
	n.ns.WaitForShutdown()
	time.Sleep(down)
	n.start(t)
}
