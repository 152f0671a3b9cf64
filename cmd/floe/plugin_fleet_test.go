package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/natsbus"
)

// TestPluginsInFleet runs plugins in separate transformer processes around
// a NATS server: a fleet whose transformers disagree on the plugin
// configuration has its export refused by the committer; one that agrees
// dead-letters the bad items, and floe dlq replay --nats applies them once
// the transformers run the fixed plugin.
func TestPluginsInFleet(t *testing.T) {
	wasm := buildMaskGuest(t)
	root, dir := sample(t)
	rewriteData(t, root, dir, func(lines []string) []string {
		for _, n := range []int{5, 9} {
			lines[n] = statusAttr.ReplaceAllString(lines[n], `"status":{"S":"TRAP"}`)
		}
		return lines
	})
	ns := startNATS(t)
	url := ns.ClientURL()
	const table = "fleet.orders"
	events := watchEvents(t, url, table)
	wh := filepath.Join(t.TempDir(), "wh")
	cache := filepath.Join(t.TempDir(), "cache")
	// Each transformer has one worker, and is pulling before anything is
	// submitted: the first two tasks then go one to each, so a mismatch
	// cannot hide behind one transformer taking every task.
	transformer := func(name, config string) *proc {
		p := startFloe(t, name, "transformer", "--nats", url, "--workers", "1", "--plugin", wasm, "--plugin-config", config, "--plugin-cache", cache, "--log-level", "debug")
		p.waitOutput(t, "worker pulling tasks", time.Minute)
		return p
	}
	committer := startFloe(t, "committer", "committer", "--nats", url, "--table", table, "--warehouse", wh)
	submit := func() {
		t.Helper()
		if code, _, stderr := floe(t, "submit", "--nats", url, "--export", dir, "--table", table, "--key", "pk,sk"); code != 0 {
			t.Fatalf("submit: %s", stderr)
		}
	}

	// Two transformers configured differently: refused, nothing committed.
	procs := []*proc{committer, transformer("t-email", `{"attribute":"email"}`), transformer("t-status", `{"attribute":"status"}`)}
	submit()
	ev := waitFinal(t, events, procs, 90*time.Second)
	if ev.Status != natsbus.StatusFailed || !strings.Contains(ev.Error, "run every transformer with the same --plugin and --plugin-config flags") {
		t.Fatalf("mixed plugins: event %+v%s", ev, outputs(procs))
	}
	procs[2].stop(t)

	// One configuration: the two TRAP items are dead letters.
	procs[2] = transformer("t-email-2", `{"attribute":"email"}`)
	submit()
	ev = waitFinal(t, events, procs, 90*time.Second)
	if ev.Status != natsbus.StatusCommitted || ev.Kept != 298 || ev.Failed != 2 || ev.Dropped != 0 {
		t.Fatalf("load: event %+v%s", ev, outputs(procs))
	}
	code, list, stderr := floe(t, "dlq", "list", "--nats", url, "--table", table)
	if code != 0 || strings.Count(list, "plugin trapped") != 2 || strings.Count(list, "\n") != 3 {
		t.Fatalf("dlq list: exit %d\n%s\n%s", code, list, stderr)
	}

	// The fixed plugin on every transformer, then the replay.
	procs[1].stop(t)
	procs[2].stop(t)
	fixed := `{"attribute":"email","status":"no-such-attribute"}`
	procs = []*proc{committer, transformer("t-fixed-1", fixed), transformer("t-fixed-2", fixed)}
	if code, _, stderr := floe(t, "dlq", "replay", "--nats", url, "--table", table, "--plugin", wasm); code != 1 || !strings.Contains(stderr, "--plugin goes with --warehouse") {
		t.Fatalf("dlq replay --nats --plugin: exit %d %s", code, stderr)
	}
	code, out, stderr := floe(t, "dlq", "replay", "--nats", url, "--table", table, "--wait", "90s")
	if code != 0 || !strings.Contains(out, "replayed 2 dead letters into "+table) || !strings.Contains(out, "2 kept, 0 dropped, 0 failed again") {
		t.Fatalf("dlq replay: exit %d\n%s\n%s%s", code, out, stderr, outputs(procs))
	}
	for _, p := range procs {
		p.stop(t)
	}
	if n := len(loadTable(t, wh, table).Metadata().Snapshots()); n != 2 {
		t.Errorf("%d snapshots, want the load and the replay", n)
	}
	code, info, _ := floe(t, "table", "info", "--warehouse", wh, "--table", table)
	if code != 0 || !strings.Contains(info, "dlq replay") {
		t.Fatalf("table info:\n%s", info)
	}
	if code, out, _ := floe(t, "dlq", "list", "--nats", url, "--table", table); code != 0 || !strings.Contains(out, "no dead letters") {
		t.Fatalf("dlq list after the replay:\n%s", out)
	}
}
