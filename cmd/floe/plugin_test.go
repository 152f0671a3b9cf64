package main_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	icecat "github.com/apache/iceberg-go/catalog"

	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/testutil"
)

// buildMaskGuest builds the plugins package's test guest, whose verdict
// on an item follows its status attribute (see its doc comment).
func buildMaskGuest(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "mask.wasm")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = "../../plugins/testdata/guests/mask"
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test guest: %v\n%s", err, b)
	}
	return out
}

var statusAttr = regexp.MustCompile(`"status":\{"S":"[A-Z_]*"\}`)

// TestPluginsInRun runs floe run with the test guest on an export whose
// items include every kind of misbehaviour, and checks that the pipeline
// goes on, that in = kept + dropped + failed in the summary and the
// marker, that the table holds exactly the kept items as transformed, and
// that every failed item is in the dead-letter stream byte for byte.
func TestPluginsInRun(t *testing.T) {
	wasm := buildMaskGuest(t)
	root, dir := sample(t)
	// Line number (1-based) → the status that makes the guest misbehave.
	modes := map[int]string{3: "DROP", 10: "ERROR", 17: "TRAP", 25: "LOOP", 33: "OOM", 40: "GARBAGE", 48: "BADBYTES", 55: "SPLIT", 61: "DROP"}
	failing := map[string]string{ // the error each failure must name
		"ERROR": "status is ERROR", "TRAP": "trapped", "LOOP": "deadline", "OOM": "trapped",
		"GARBAGE": "bad result", "BADBYTES": "bad result", "SPLIT": "would give 2 rows the key of one",
	}
	edited := map[int]string{}
	file := rewriteData(t, root, dir, func(lines []string) []string {
		for n, mode := range modes {
			l := lines[n-1]
			if !statusAttr.MatchString(l) {
				t.Fatalf("line %d has no status attribute: %s", n, l)
			}
			lines[n-1] = statusAttr.ReplaceAllString(l, `"status":{"S":"`+mode+`"}`)
			edited[n] = lines[n-1]
		}
		return lines
	})
	wh := filepath.Join(t.TempDir(), "wh")
	code, stdout, stderr := floe(t, "run", "--export", dir, "--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk",
		"--progress", "never", "--plugin", wasm, "--plugin-config", `{"attribute":"email"}`,
		"--plugin-timeout", "1s", "--plugin-memory", "32MiB", "--plugin-cache", filepath.Join(t.TempDir(), "cache"))
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	const in, dropped, failed = 300, 2, 7
	kept := in - dropped - failed
	want := strconv.Itoa(in) + " items in: " + strconv.Itoa(kept) + " kept, 2 dropped, 7 failed"
	if !strings.Contains(stdout, want) || !strings.Contains(stdout, "7 failed items are in the dead-letter stream") {
		t.Fatalf("summary lacks %q:\n%s", want, stdout)
	}

	// The marker carries the counts and the chain.
	code, info, stderr := floe(t, "table", "info", "--warehouse", wh, "--table", "ddb.orders", "--json")
	if code != 0 {
		t.Fatal(stderr)
	}
	var ti struct {
		Snapshots []struct {
			Floe map[string]string `json:"floe"`
		}
	}
	if err := json.Unmarshal([]byte(info), &ti); err != nil {
		t.Fatal(err)
	}
	m := ti.Snapshots[len(ti.Snapshots)-1].Floe
	if m["floe.kept"] != strconv.Itoa(kept) || m["floe.dropped"] != "2" || m["floe.failed"] != "7" ||
		m["floe.items"] != strconv.Itoa(kept) || !strings.HasPrefix(m["floe.plugins"], "mask@1.0.0") {
		t.Fatalf("marker = %v", m)
	}

	// The table: the kept items, masked.
	items := readTable(t, wh)
	if len(items) != kept {
		t.Fatalf("table has %d rows, want %d", len(items), kept)
	}
	statuses := map[string]bool{}
	for _, it := range items {
		if v := it.Get("email"); v != nil && v.Kind == ddb.S && string(v.Bytes) != "***" {
			t.Fatalf("unmasked email in %s", it)
		}
		if v := it.Get("status"); v != nil {
			statuses[string(v.Bytes)] = true
		}
	}
	for _, mode := range modes {
		if statuses[mode] {
			t.Errorf("an item with status %s is in the table", mode)
		}
	}

	// The dead letters: one per failed item, with its line as it was.
	code, list, stderr := floe(t, "dlq", "list", "--warehouse", wh, "--table", "ddb.orders", "--json")
	if code != 0 {
		t.Fatalf("dlq list: %s", stderr)
	}
	type letter struct {
		Seq    uint64 `json:"seq"`
		Line   int    `json:"line"`
		Source string `json:"source"`
		Plugin string `json:"plugin"`
		Error  string `json:"error"`
		Record []byte `json:"record"`
	}
	var letters []letter
	for _, l := range strings.Split(strings.TrimSpace(list), "\n") {
		var d letter
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("dlq list line %q: %v", l, err)
		}
		letters = append(letters, d)
	}
	if len(letters) != failed {
		t.Fatalf("%d dead letters, want %d:\n%s", len(letters), failed, list)
	}
	sort.Slice(letters, func(i, j int) bool { return letters[i].Line < letters[j].Line })
	for _, d := range letters {
		mode := modes[d.Line]
		if failing[mode] == "" {
			t.Errorf("line %d (%q) was dead-lettered", d.Line, mode)
			continue
		}
		if string(d.Record) != edited[d.Line] || !strings.HasSuffix(d.Source, file) || d.Plugin != "mask 1.0.0" {
			t.Errorf("dead letter of line %d = %+v", d.Line, d)
		}
		if !strings.Contains(d.Error, failing[mode]) {
			t.Errorf("line %d (%s): error %q does not say %q", d.Line, mode, d.Error, failing[mode])
		}
	}
	code, raw, stderr := floe(t, "dlq", "show", "--warehouse", wh, strconv.FormatUint(letters[0].Seq, 10), "--raw")
	if code != 0 || raw != edited[letters[0].Line]+"\n" {
		t.Fatalf("dlq show --raw: exit %d %q\n%s", code, raw, stderr)
	}
	code, shown, _ := floe(t, "dlq", "show", "--warehouse", wh, strconv.FormatUint(letters[0].Seq, 10))
	if code != 0 || !strings.Contains(shown, "line "+strconv.Itoa(letters[0].Line)) || !strings.Contains(shown, "mask 1.0.0") {
		t.Fatalf("dlq show:\n%s", shown)
	}
	if code, out, stderr := floe(t, "dlq", "purge", "--warehouse", wh, "--table", "ddb.orders", "--export", "no-such-export"); code != 0 || !strings.Contains(out, "removed 0 dead letters") {
		t.Fatalf("dlq purge of another export: exit %d %s %s", code, out, stderr)
	}

	// Replaying through the same plugin fails them all again: the letters
	// are replaced by new ones, and the table does not change.
	replay := func(config string) string {
		t.Helper()
		code, out, stderr := floe(t, "dlq", "replay", "--warehouse", wh, "--table", "ddb.orders", "--plugin", wasm, "--plugin-config", config,
			"--plugin-timeout", "1s", "--plugin-memory", "32MiB")
		if code != 0 {
			t.Fatalf("dlq replay: exit %d\n%s\n%s", code, out, stderr)
		}
		return out
	}
	if out := replay(`{"attribute":"email"}`); !strings.Contains(out, "replayed 7 dead letters into ddb.orders") || !strings.Contains(out, "0 kept, 0 dropped, 7 failed again") {
		t.Fatalf("replay through the same plugin:\n%s", out)
	}
	if n := len(readTable(t, wh)); n != kept {
		t.Fatalf("after a replay that failed again: %d rows, want %d", n, kept)
	}
	// The fixed plugin (here: the statuses no longer select a failure)
	// brings them into the table; the letters go.
	if out := replay(`{"attribute":"email","status":"no-such-attribute"}`); !strings.Contains(out, "7 kept, 0 dropped, 0 failed again") {
		t.Fatalf("replay through the fixed plugin:\n%s", out)
	}
	items = readTable(t, wh)
	if len(items) != in-dropped {
		t.Fatalf("after the replay: %d rows, want %d", len(items), in-dropped)
	}
	statuses = map[string]bool{}
	for _, it := range items {
		statuses[string(it.Get("status").Bytes)] = true
		if v := it.Get("email"); v != nil && v.Kind == ddb.S && string(v.Bytes) != "***" {
			t.Fatalf("unmasked email in %s", it)
		}
	}
	for _, mode := range modes {
		if statuses[mode] != (failing[mode] != "") {
			t.Errorf("status %s in the table: %v", mode, statuses[mode])
		}
	}
	if code, out, _ := floe(t, "dlq", "list", "--warehouse", wh, "--table", "ddb.orders"); code != 0 || !strings.Contains(out, "no dead letters for ddb.orders") {
		t.Fatalf("dlq list after the replay: %s", out)
	}
	code, info, _ = floe(t, "table", "info", "--warehouse", wh, "--table", "ddb.orders", "--json")
	ti.Snapshots = nil
	if err := json.Unmarshal([]byte(info), &ti); code != 0 || err != nil {
		t.Fatal(info)
	}
	if m := ti.Snapshots[len(ti.Snapshots)-1].Floe; m["floe.export-type"] != "DEAD_LETTER_REPLAY" || m["floe.kept"] != "7" {
		t.Fatalf("replay marker = %v", m)
	}
}

// TestPluginRefusedAtStart: a configuration the plugin refuses, or a file
// that is not a plugin, stops floe before any work, naming the file.
func TestPluginRefusedAtStart(t *testing.T) {
	wasm := buildMaskGuest(t)
	_, dir := sample(t)
	notWasm := filepath.Join(t.TempDir(), "x.wasm")
	write(t, notWasm, []byte("not wasm"))
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"config refused", []string{"--plugin", wasm, "--plugin-config", `{"nope":1}`}, []string{wasm, "refused its configuration", `config needs {"attribute"`}},
		{"not a module", []string{"--plugin", notWasm}, []string{notWasm, "compiling"}},
		{"too many configs", []string{"--plugin", wasm, "--plugin-config", "{}", "--plugin-config", "{}"}, []string{"2 --plugin-config values for 1 --plugin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wh := filepath.Join(t.TempDir(), "wh")
			args := append([]string{"run", "--export", dir, "--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk", "--progress", "never"}, tc.args...)
			refused(t, tc.want, args...)
		})
	}
}

// TestPluginTestCommand runs floe plugin test on a few lines.
func TestPluginTestCommand(t *testing.T) {
	wasm := buildMaskGuest(t)
	input := filepath.Join(t.TempDir(), "items.jsonl")
	write(t, input, []byte(`{"pk":{"S":"a"},"email":{"S":"x@y"}}
{"Item":{"pk":{"S":"b"},"status":{"S":"DROP"}}}

{"pk":{"S":"c"},"status":{"S":"ERROR"}}
{"pk":{"S":"d"},"n":{"N":"1"}}
`))
	code, stdout, stderr := floe(t, "plugin", "test", wasm, "--input", input, "--config", `{"attribute":"email"}`, "--key", "pk")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		`line 1: {"pk":{"S":"a"},"email":{"S":"***"}}`, "line 2: dropped", "line 4: FAILED: plugin mask 1.0.0: status is ERROR",
		`line 5: {"pk":{"S":"d"},"n":{"N":"1"}}`, "mask 1.0.0: 4 items in: 2 kept, 1 dropped, 1 failed", "µs per item",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	write(t, input, []byte("{\"pk\":{\"S\":\"a\"}}\nnot json\n"))
	refused(t, []string{input, "line 2"}, "plugin", "test", wasm, "--input", input, "--config", `{"attribute":"email"}`)
}

// readTable reads table ddb.orders of a local warehouse.
func readTable(t *testing.T, wh string) []ddb.Item {
	t.Helper()
	ctx := context.Background()
	cat, closeCat, err := catalog.Open(ctx, catalog.Config{Warehouse: wh})
	if err != nil {
		t.Fatal(err)
	}
	defer closeCat()
	tbl, err := cat.LoadTable(ctx, icecat.ToIdentifier("ddb.orders"))
	if err != nil {
		t.Fatal(err)
	}
	items, err := testutil.ReadItems(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// TestPluginsIncremental: with an incremental export, a plugin sees each
// change's new image. A dropped new image deletes the row; a failed one
// leaves the row as it was and is dead-lettered.
func TestPluginsIncremental(t *testing.T) {
	wasm := buildMaskGuest(t)
	root, gen := history(t, 0)
	key := []string{"pk", "sk"}
	type change struct{ key, mode string }
	var changes []change
	rewriteData(t, root, gen.Incrementals[0].Dir, func(lines []string) []string {
		for i, l := range lines {
			if len(changes) == 4 {
				break
			}
			at := strings.Index(l, `"NewImage":`)
			if at < 0 || !strings.Contains(l, `"OldImage":`) || !statusAttr.MatchString(l[at:]) {
				continue // only updates: the row exists before the export
			}
			mode := "DROP"
			if len(changes) == 3 {
				mode = "TRAP"
			}
			lines[i] = l[:at] + statusAttr.ReplaceAllString(l[at:], `"status":{"S":"`+mode+`"}`)
			var rec struct {
				Keys map[string]map[string]string
			}
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatal(err)
			}
			changes = append(changes, change{rec.Keys["pk"]["S"] + "|" + rec.Keys["sk"]["S"], mode})
		}
		return lines
	})
	if len(changes) != 4 {
		t.Fatalf("found %d updates to edit", len(changes))
	}
	wh := filepath.Join(t.TempDir(), "wh")
	// The plugin flags come from a --config file here.
	cfg, _ := json.Marshal(map[string]any{"plugin": []string{wasm}, "plugin_config": []string{`{"attribute":"email"}`}})
	cfgPath := filepath.Join(t.TempDir(), "floe.json")
	write(t, cfgPath, cfg)
	code, stdout, stderr := floe(t, "--config", cfgPath, "run", "--export", gen.Full.Dir, "--export", gen.Incrementals[0].Dir, "--warehouse", wh,
		"--table", "ddb.orders", "--key", "pk,sk", "--progress", "never")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	n := gen.Incrementals[0].ItemCount
	if want := strconv.FormatInt(n, 10) + " items in: " + strconv.FormatInt(n-4, 10) + " kept, 3 dropped, 1 failed"; !strings.Contains(stdout, want) {
		t.Fatalf("summary lacks %q:\n%s", want, stdout)
	}

	// Expected: the state after the export, less the dropped rows, with
	// the failed change's row as the full export left it; emails masked.
	byKey := func(path string) map[string]ddb.Item {
		items, err := testutil.ReadExpected(path, key)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]ddb.Item{}
		for _, it := range items {
			m[string(it.Get("pk").Bytes)+"|"+string(it.Get("sk").Bytes)] = it
		}
		return m
	}
	want, before := byKey(gen.Incrementals[0].ExpectedPath), byKey(gen.Full.ExpectedPath)
	for _, c := range changes {
		if c.mode == "DROP" {
			delete(want, c.key)
		} else {
			want[c.key] = before[c.key]
		}
	}
	var wantItems []ddb.Item
	for _, it := range want {
		if v := it.Get("email"); v != nil && v.Kind == ddb.S {
			v.Bytes = []byte("***")
		}
		wantItems = append(wantItems, it)
	}
	if d := testutil.Diff(readTable(t, wh), wantItems, key, 10); d != "" {
		t.Fatal(d)
	}
	if code, out, stderr := floe(t, "dlq", "purge", "--warehouse", wh, "--table", "ddb.orders"); code != 0 || !strings.Contains(out, "removed 1 dead letters") {
		t.Fatalf("dlq purge: exit %d %s %s", code, out, stderr)
	}
	if code, out, _ := floe(t, "dlq", "list", "--warehouse", wh, "--table", "ddb.orders"); code != 0 || !strings.Contains(out, "no dead letters for ddb.orders") {
		t.Fatalf("dlq list after purge: %s", out)
	}
}
