package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/natsbus"
)

// TestDistributedProcesses runs the pipeline as separate OS processes
// around a real NATS server listening on TCP: one committer, two
// transformers and `floe submit`, as in a distributed deployment. The
// table must end up exactly equal to the export, in one snapshot, and every
// process must stop cleanly on SIGTERM.
func TestDistributedProcesses(t *testing.T) {
	ns := startNATS(t)
	url := ns.ClientURL()
	wh := filepath.Join(t.TempDir(), "wh")

	t.Run("load", func(t *testing.T) {
		root := t.TempDir()
		gen, err := exportgen.Generate(t.Context(), exportgen.Options{Dir: root, Items: 20000, Files: 5, Seed: 31, Edge: true})
		if err != nil {
			t.Fatal(err)
		}
		const table = "dist.orders"
		events := watchEvents(t, url, table)

		procs := startFleet(t, url, table, wh)

		start := time.Now()
		code, stdout, stderr := floe(t, "submit", "--nats", url, "--export", filepath.Join(root, "AWSDynamoDB"), "--table", table, "--key", "pk,sk")
		if code != 0 || !strings.Contains(stdout, "submitted export "+gen.Full.ID) {
			t.Fatalf("submit: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		ev := waitCommitted(t, wh, table, events, procs, 60*time.Second)
		t.Logf("committed %d rows in %d data files %.1fs after submit", ev.Items, ev.DataFiles, time.Since(start).Seconds())
		if ev.Items != gen.Full.ItemCount {
			t.Errorf("committed event says %d items, want %d", ev.Items, gen.Full.ItemCount)
		}

		t.Logf("bytes sent by the transformers: %v", publishedBytes(t, ns, "floe-transformer"))

		// Submitting the same export again changes nothing.
		code, _, stderr = floe(t, "submit", "--nats", url, "--export", filepath.Join(root, "AWSDynamoDB"), "--table", table, "--key", "pk,sk")
		if code != 0 {
			t.Fatalf("second submit: exit %d: %s", code, stderr)
		}
		if ev := waitFinal(t, events, procs, 30*time.Second); ev.Status != natsbus.StatusSkipped {
			t.Fatalf("second submit: event %+v, want status %q", ev, natsbus.StatusSkipped)
		}

		for _, p := range procs {
			p.stop(t)
		}
		tbl := loadTable(t, wh, table)
		if n := len(tbl.Metadata().Snapshots()); n != 1 {
			t.Fatalf("%d snapshots, want 1", n)
		}
		assertTableEquals(t, tbl, gen.Full.ExpectedPath)
	})

	// A full export and incremental exports through submit, two
	// transformers and a committer: each export one snapshot, merged.
	t.Run("history", func(t *testing.T) {
		root := t.TempDir()
		gen, err := exportgen.Generate(t.Context(), exportgen.Options{
			Dir: root, Items: 5000, Files: 3, Seed: 41, Edge: true, View: exportgen.ViewNew,
			Incrementals: 3, ChangesPerIncremental: 800, IncrementalFiles: 3,
		})
		if err != nil {
			t.Fatal(err)
		}
		const table = "dist.history"
		events := watchEvents(t, url, table)
		procs := startFleet(t, url, table, wh)
		code, _, stderr := floe(t, "submit", "--nats", url, "--export", filepath.Join(root, "AWSDynamoDB"), "--table", table, "--key", "pk,sk")
		if code != 0 {
			t.Fatalf("submit: exit %d: %s", code, stderr)
		}
		want := []string{gen.Full.ID}
		for _, e := range gen.Incrementals {
			want = append(want, e.ID)
		}
		for _, id := range want {
			ev := waitFinal(t, events, procs, 60*time.Second)
			if ev.Status != natsbus.StatusCommitted || ev.ExportID != id {
				t.Fatalf("event %+v, want export %s committed%s", ev, id, outputs(procs))
			}
		}
		// The same folder again, without --key (the table exists).
		if code, _, stderr := floe(t, "submit", "--nats", url, "--export", filepath.Join(root, "AWSDynamoDB"), "--table", table); code != 0 {
			t.Fatalf("second submit: exit %d: %s", code, stderr)
		}
		for range want {
			if ev := waitFinal(t, events, procs, 30*time.Second); ev.Status != natsbus.StatusSkipped {
				t.Fatalf("second submit: event %+v, want skipped", ev)
			}
		}
		for _, p := range procs {
			p.stop(t)
		}
		tbl := loadTable(t, wh, table)
		if n := len(tbl.Metadata().Snapshots()); n != len(want) {
			t.Fatalf("%d snapshots, want %d", n, len(want))
		}
		assertTableEquals(t, tbl, gen.Incrementals[len(gen.Incrementals)-1].ExpectedPath)
	})

	// A transformer SIGKILLed while it holds tasks: the server hands them
	// to the other transformer after the tasks consumer's ack wait
	// (--task-ack-wait, 5 s here), and the committer must still end with
	// every row exactly once.
	t.Run("transformer killed", func(t *testing.T) {
		root := t.TempDir()
		// Three files of ~13,000 items (~9 MB of JSON lines): each is cut
		// into a few batches (at half of max_payload), so the kill lands
		// after some batches of a file are published and before others.
		gen, err := exportgen.Generate(t.Context(), exportgen.Options{Dir: root, Items: 40000, Files: 4, Seed: 37, Edge: true})
		if err != nil {
			t.Fatal(err)
		}
		const table = "dist.big"
		events := watchEvents(t, url, table)
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		lastSeq := func() uint64 {
			t.Helper()
			st, err := js.Stream(t.Context(), natsbus.BatchesStream)
			if err != nil {
				t.Fatalf("batch stream: %v", err)
			}
			info, err := st.Info(t.Context())
			if err != nil {
				t.Fatalf("batch stream: %v", err)
			}
			return info.State.LastSeq
		}
		ackPending := func() int {
			t.Helper()
			cons, err := js.Consumer(t.Context(), natsbus.TasksStream, natsbus.TransformerConsumer)
			if err != nil {
				t.Fatalf("tasks consumer: %v", err)
			}
			info, err := cons.Info(t.Context())
			if err != nil {
				t.Fatalf("tasks consumer: %v", err)
			}
			return info.NumAckPending
		}

		com := startFloe(t, "committer", "committer", "--nats", url, "--table", table, "--warehouse", wh)
		// The victim runs alone until it is killed, so the tasks left
		// pending afterwards are certainly the ones it held.
		victim := startFloe(t, "victim", "transformer", "--nats", url, "--workers", "2", "--task-ack-wait", "5s")
		code, _, stderr := floe(t, "submit", "--nats", url, "--export", filepath.Join(root, "AWSDynamoDB"), "--table", table, "--key", "pk,sk")
		if code != 0 {
			t.Fatalf("submit: exit %d: %s", code, stderr)
		}
		ev := waitEvent(t, events, []*proc{com, victim}, 60*time.Second, func(e natsbus.Event) bool {
			return e.Status == natsbus.StatusLoading || e.Final()
		})
		if ev.Status != natsbus.StatusLoading {
			t.Fatalf("event %+v before loading started", ev)
		}
		// Kill the victim as soon as it has published a batch.
		seq, giveUp := lastSeq(), time.Now().Add(30*time.Second)
		for lastSeq() == seq {
			checkAlive(t, []*proc{com, victim})
			if time.Now().After(giveUp) {
				t.Fatalf("the transformer published no batch%s", outputs([]*proc{com, victim}))
			}
			time.Sleep(2 * time.Millisecond)
		}
		// Both of its workers hold a task (acked only once all batches of
		// the file are published) and at least one batch is out: the kill
		// lands in the middle of a file.
		victim.kill(t)
		held := ackPending()
		if held == 0 {
			t.Fatal("no task pending after killing the transformer in the middle of a file")
		}
		killed := time.Now()
		t.Logf("killed a transformer holding %d tasks", held)
		survivor := startFloe(t, "survivor", "transformer", "--nats", url, "--workers", "2", "--task-ack-wait", "5s")
		procs := []*proc{com, survivor}

		ev = waitCommitted(t, wh, table, events, procs, 90*time.Second)
		after := time.Since(killed)
		t.Logf("committed %d rows in %d data files %.1fs after the kill", ev.Items, ev.DataFiles, after.Seconds())
		if after > 50*time.Second {
			t.Errorf("the dead transformer's tasks took %s to move on; --task-ack-wait 5s should make that seconds", after)
		}
		for _, p := range procs {
			p.stop(t)
		}
		tbl := loadTable(t, wh, table)
		if n := len(tbl.Metadata().Snapshots()); n != 1 {
			t.Fatalf("%d snapshots, want 1", n)
		}
		assertTableEquals(t, tbl, gen.Full.ExpectedPath)
	})
}

// startFleet starts a committer for table and two transformers around the
// NATS server at url.
func startFleet(t *testing.T, url, table, wh string) []*proc {
	t.Helper()
	return []*proc{
		startFloe(t, "committer", "committer", "--nats", url, "--table", table, "--warehouse", wh),
		startFloe(t, "transformer-1", "transformer", "--nats", url, "--workers", "2"),
		startFloe(t, "transformer-2", "transformer", "--nats", url, "--workers", "2"),
	}
}

// newNATSServer starts an in-process NATS server with JetStream storing in
// store, on a loopback port (-1 for a random one), and waits until it takes
// connections. The caller shuts it down.
func newNATSServer(t *testing.T, port int, store string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		// A fixed name: a server restarted on the same store is the same
		// JetStream server.
		ServerName: "floe-test",
		Host:       "127.0.0.1", Port: port,
		JetStream: true, StoreDir: store,
		MaxPayload: 8 << 20,
		NoSigs:     true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		t.Fatal("nats server not ready after 10s")
	}
	return ns
}

// startNATS starts an in-process NATS server with JetStream on a random
// loopback port.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns := newNATSServer(t, -1, t.TempDir())
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}

// publishedBytes lists how many bytes each open connection named name has
// sent to the server.
func publishedBytes(t *testing.T, ns *server.Server, name string) []int64 {
	t.Helper()
	cz, err := ns.Connz(&server.ConnzOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, c := range cz.Conns {
		if c.Name == name {
			out = append(out, c.InBytes)
		}
	}
	return out
}

// watchEvents subscribes to the events a table's committer announces.
func watchEvents(t *testing.T, url, table string) <-chan natsbus.Event {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ch := make(chan natsbus.Event, 1024)
	_, err = nc.Subscribe(natsbus.EventSubject(table), func(m *nats.Msg) {
		var e natsbus.Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Errorf("event %q: %v", m.Data, err)
			return
		}
		select {
		case ch <- e:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return ch
}

// waitEvent waits for an event that match accepts, failing the test when a
// process exits or the timeout passes first.
func waitEvent(t *testing.T, events <-chan natsbus.Event, procs []*proc, timeout time.Duration, match func(natsbus.Event) bool) natsbus.Event {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case e := <-events:
			if match(e) {
				return e
			}
		case <-tick.C:
			checkAlive(t, procs)
		case <-deadline:
			t.Fatalf("no matching event after %s%s", timeout, outputs(procs))
		}
	}
}

func waitFinal(t *testing.T, events <-chan natsbus.Event, procs []*proc, timeout time.Duration) natsbus.Event {
	t.Helper()
	return waitEvent(t, events, procs, timeout, natsbus.Event.Final)
}

// waitCommitted polls `floe table info` until the table has a snapshot,
// failing fast when the committer reports the export failed or a process
// exits. It returns the committer's committed event.
func waitCommitted(t *testing.T, wh, table string, events <-chan natsbus.Event, procs []*proc, timeout time.Duration) natsbus.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var committed *natsbus.Event
	for {
		select {
		case e := <-events:
			switch e.Status {
			case natsbus.StatusFailed:
				t.Fatalf("export failed: %s%s", e.Error, outputs(procs))
			case natsbus.StatusCommitted:
				committed = &e
			}
			continue
		default:
		}
		checkAlive(t, procs)
		if info, ok := floeTableInfo(t, wh, table); ok && len(info.Snapshots) > 0 {
			if len(info.Snapshots) != 1 {
				t.Fatalf("%d snapshots, want 1", len(info.Snapshots))
			}
			// The event is published right after the commit.
			for committed == nil && time.Now().Before(deadline) {
				select {
				case e := <-events:
					if e.Status == natsbus.StatusCommitted {
						committed = &e
					}
				case <-time.After(time.Until(deadline)):
				}
			}
			if committed == nil {
				t.Fatalf("the table has a snapshot but the committer announced no commit%s", outputs(procs))
			}
			if committed.SnapshotID != info.Snapshots[0].ID {
				t.Errorf("committed event names snapshot %d, the table has %d", committed.SnapshotID, info.Snapshots[0].ID)
			}
			return *committed
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot after %s%s", timeout, outputs(procs))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// proc is a floe process running in the background.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// startFloe starts the floe binary in the background; it is killed, if
// still running, when the test ends.
func startFloe(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(floeBin, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", p.name, p.out.String())
		}
	})
	return p
}

// waitOutput waits until the process has written s.
func (p *proc) waitOutput(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.out.String(), s) {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("%s never wrote %q:\n%s", p.name, s, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and expects a clean exit (code 0) within 15 s.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s exited before it was stopped (%s)%s", p.name, p.cmd.ProcessState, outputs([]*proc{p}))
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: SIGTERM: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s did not exit within 15s of SIGTERM%s", p.name, outputs([]*proc{p}))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("%s exited with code %d after SIGTERM, want 0%s", p.name, code, outputs([]*proc{p}))
	}
}

// kill sends SIGKILL and waits for the process to die.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s exited before it was killed (%s)%s", p.name, p.cmd.ProcessState, outputs([]*proc{p}))
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("%s: SIGKILL: %v", p.name, err)
	}
	<-p.done
}

func checkAlive(t *testing.T, procs []*proc) {
	t.Helper()
	for _, p := range procs {
		if p.exited() {
			t.Fatalf("%s exited unexpectedly (%s)%s", p.name, p.cmd.ProcessState, outputs(procs))
		}
	}
}

func outputs(procs []*proc) string {
	var b strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&b, "\n--- %s output:\n%s", p.name, p.out.String())
	}
	return b.String()
}

const maxOutput = 64 << 10

// syncBuffer collects a process's output while the test reads it, keeping
// the tail.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.buf.Len() > maxOutput {
		tail := append([]byte(nil), b.buf.Bytes()[b.buf.Len()-maxOutput/2:]...)
		b.buf.Reset()
		b.buf.WriteString("[...]\n")
		b.buf.Write(tail)
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
