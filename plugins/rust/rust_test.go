package rust_test

// Host-side checks of the Rust guest SDK (floe-plugin/) and the Rust
// example plugins (../examples/<name>/rust): each is built with Debian's
// /usr/bin/cargo for wasm32-unknown-unknown and run under the real host,
// package plugins, on DynamoDB items, with the exact expected results.
//
// Without /usr/bin/rustc and its wasm32 standard library the tests skip,
// unless FLOE_PLUGINS_REQUIRE=1 makes that a failure.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/plugins"
	"github.com/tetratelabs/wazero"
)

const (
	rustc = "/usr/bin/rustc"
	cargo = "/usr/bin/cargo"
)

// targetDir is cargo's target directory shared by the builds of one test
// process (the SDK is compiled once), and cacheDir wazero's compilation
// cache.
var targetDir, cacheDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "floe-rust-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	targetDir = filepath.Join(dir, "target")
	cacheDir = filepath.Join(dir, "wazero")
	return m.Run()
}

// toolchainMissing says what is missing of Debian's Rust with the wasm32
// standard library, or "".
func toolchainMissing() string {
	for _, p := range []string{rustc, cargo} {
		if _, err := os.Stat(p); err != nil {
			return p + " is missing (apt-get install rustc cargo libstd-rust-dev-wasm32, or make plugins-rust)"
		}
	}
	out, err := exec.Command(rustc, "--print", "sysroot").Output()
	if err != nil {
		return rustc + " --print sysroot: " + err.Error()
	}
	lib := filepath.Join(strings.TrimSpace(string(out)), "lib", "rustlib", "wasm32-unknown-unknown", "lib")
	if entries, err := os.ReadDir(lib); err != nil || len(entries) == 0 {
		return "the wasm32-unknown-unknown standard library is missing at " + lib + " (apt-get install libstd-rust-dev-wasm32)"
	}
	return ""
}

func requireToolchain(t testing.TB) {
	t.Helper()
	if why := toolchainMissing(); why != "" {
		if os.Getenv("FLOE_PLUGINS_REQUIRE") == "1" {
			t.Fatalf("FLOE_PLUGINS_REQUIRE=1 but %s", why)
		}
		t.Skip(why)
	}
}

var (
	buildMu sync.Mutex
	built   = map[string][]byte{}
)

// wasm builds the Rust version of example name once per process and
// returns the module.
func wasm(t testing.TB, name string) []byte {
	t.Helper()
	requireToolchain(t)
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[name]; ok {
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cargo, "build", "--offline", "--release", "--target", "wasm32-unknown-unknown")
	cmd.Dir = filepath.Join("..", "examples", name, "rust")
	cmd.Env = append(os.Environ(), "RUSTC="+rustc, "RUSTDOC=/usr/bin/rustdoc", "CARGO_TARGET_DIR="+targetDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", cmd.Dir, err, out)
	}
	b, err := os.ReadFile(filepath.Join(targetDir, "wasm32-unknown-unknown", "release", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	built[name] = b
	return b
}

// instance builds example name and returns a configured instance of it.
func instance(t testing.TB, name, config string) (*plugins.Runtime, *plugins.Instance) {
	t.Helper()
	ctx := context.Background()
	r, err := plugins.NewRuntime(ctx, wasm(t, name), plugins.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(ctx) })
	in, err := r.NewInstance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(ctx) })
	if err := in.Configure(ctx, []byte(config)); err != nil {
		t.Fatal(err)
	}
	return r, in
}

// items decodes DynamoDB JSON export lines ({"Item":{...}}).
func items(t testing.TB, lines ...string) []ddb.Item {
	t.Helper()
	dec, err := ddb.NewDecoder("DYNAMODB_JSON")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]ddb.Item, len(lines))
	for i, l := range lines {
		rec, err := dec.Decode([]byte(l))
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		out[i] = rec.Item.Clone()
	}
	return out
}

func item(t testing.TB, line string) ddb.Item { return items(t, line)[0] }

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func pass() plugins.Result { return plugins.Result{Status: plugins.StatusPass} }
func drop() plugins.Result { return plugins.Result{Status: plugins.StatusDrop} }
func fail(msg string) plugins.Result {
	return plugins.Result{Status: plugins.StatusError, Message: msg}
}
func modified(t testing.TB, line string) plugins.Result {
	return plugins.Result{Status: plugins.StatusModified, Items: []ddb.Item{item(t, line)}}
}

func sameResult(got, want plugins.Result) bool {
	if got.Status != want.Status || got.Message != want.Message || len(got.Items) != len(want.Items) {
		return false
	}
	for i := range want.Items {
		if !got.Items[i].Equal(want.Items[i]) {
			return false
		}
	}
	return true
}

func show(r plugins.Result) string {
	s := r.Status.String()
	for _, it := range r.Items {
		s += " " + it.String()
	}
	if r.Message != "" {
		s += fmt.Sprintf(" %q", r.Message)
	}
	return s
}

type tcase struct {
	in   string
	want plugins.Result
}

// check runs example name with config on the inputs of cases as one
// batch, and compares each result.
func check(t *testing.T, name, config string, cases []tcase) {
	t.Helper()
	_, in := instance(t, name, config)
	lines := make([]string, len(cases))
	for i, c := range cases {
		lines[i] = c.in
	}
	got, err := in.TransformBatch(context.Background(), items(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if !sameResult(got[i], c.want) {
			t.Errorf("%s %s on %s:\n got %s\nwant %s", name, config, c.in, show(got[i]), show(c.want))
		}
	}
}

func TestInfo(t *testing.T) {
	for _, name := range []string{"mask", "filter", "drop", "flatten"} {
		r, _ := instance(t, name, map[string]string{
			"mask":    `{"attributes":["email"]}`,
			"filter":  `{"attribute":"status","equals":"X"}`,
			"drop":    `{"attributes":["notes"]}`,
			"flatten": `{"attribute":"address"}`,
		}[name])
		info := r.Info()
		if info.Name != name || info.Version != "1.0.0" || !strings.HasPrefix(string(info.Parameters), `{"type":"object"`) {
			t.Errorf("%s: Info() = %+v", name, info)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ name, config, want string }{
		{"mask", `{}`, `mask: "attributes" is missing`},
		{"mask", `{"attributes":["email"],"x":1}`, `mask: unknown configuration key "x"`},
		{"mask", `{"attributes":[1]}`, `mask: "attributes"[0] must be a string`},
		{"filter", `{"attribute":"status"}`, `filter: "equals" is missing`},
		{"drop", `{"attributes":[]}`, `drop: "attributes" is empty`},
		{"flatten", `{"separator":"_"}`, `flatten: "attribute" is missing`},
	} {
		r, err := plugins.NewRuntime(ctx, wasm(t, c.name), plugins.Options{CacheDir: cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		in, err := r.NewInstance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = in.Configure(ctx, []byte(c.config))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: Configure = %v, want an error with %q", c.name, c.config, err, c.want)
		}
		r.Close(ctx)
	}
}

func TestMask(t *testing.T) {
	h := sha("a@x.io")
	check(t, "mask", `{"attributes":["email","phone"]}`, []tcase{
		{`{"Item":{"id":{"S":"u1"},"email":{"S":"a@x.io"}}}`,
			modified(t, `{"Item":{"id":{"S":"u1"},"email":{"S":"`+h+`"}}}`)},
		{`{"Item":{"id":{"S":"u2"},"email":{"N":"5"}}}`, pass()},
		{`{"Item":{"id":{"S":"u3"}}}`, pass()},
		{`{"Item":{"phone":{"S":""},"n":{"N":"-1.5e3"},"email":{"S":"Ünïcode ✓"},"m":{"M":{"email":{"S":"x"}}},"ss":{"SS":["a"]}}}`,
			modified(t, `{"Item":{"phone":{"S":"`+sha("")+`"},"n":{"N":"-1.5e3"},"email":{"S":"`+sha("Ünïcode ✓")+`"},"m":{"M":{"email":{"S":"x"}}},"ss":{"SS":["a"]}}}`)},
		{`{"Item":{"email":{"SS":["a@x.io"]},"phone":{"B":"AAE="}}}`, pass()},
		{`{"Item":{"email":{"S":"` + strings.Repeat("long ", 100) + `"}}}`,
			modified(t, `{"Item":{"email":{"S":"`+sha(strings.Repeat("long ", 100))+`"}}}`)},
	})
}

func TestFilter(t *testing.T) {
	check(t, "filter", `{"attribute":"status","equals":"CANCELLED"}`, []tcase{
		{`{"Item":{"id":{"S":"o1"},"status":{"S":"CANCELLED"}}}`, drop()},
		{`{"Item":{"id":{"S":"o2"},"status":{"S":"cancelled"}}}`, pass()},
		{`{"Item":{"id":{"S":"o3"}}}`, pass()},
		{`{"Item":{"id":{"S":"o4"},"status":{"SS":["CANCELLED"]}}}`, pass()},
		{`{"Item":{"status":{"S":"CANCELLED "}}}`, pass()},
	})
	check(t, "filter", `{"attribute":"n","equals":""}`, []tcase{
		{`{"Item":{"n":{"S":""}}}`, drop()},
		{`{"Item":{"n":{"N":"5"}}}`, pass()},
	})
}

func TestDrop(t *testing.T) {
	const empty = "drop: removing the configured attributes would leave the item with no attributes"
	check(t, "drop", `{"attributes":["notes","debug"]}`, []tcase{
		{`{"Item":{"id":{"S":"u1"},"notes":{"S":"long text"},"n":{"N":"1"}}}`,
			modified(t, `{"Item":{"id":{"S":"u1"},"n":{"N":"1"}}}`)},
		{`{"Item":{"id":{"S":"u2"}}}`, pass()},
		{`{"Item":{"notes":{"S":"x"}}}`, fail(empty)},
		{`{"Item":{"debug":{"M":{}},"notes":{"L":[]}}}`, fail(empty)},
		{`{"Item":{"debug":{"BOOL":true},"id":{"S":"u3"},"notes":{"NULL":true},"m":{"M":{"notes":{"S":"kept"}}}}}`,
			modified(t, `{"Item":{"id":{"S":"u3"},"m":{"M":{"notes":{"S":"kept"}}}}}`)},
	})
}

func TestFlatten(t *testing.T) {
	check(t, "flatten", `{"attribute":"address"}`, []tcase{
		{`{"Item":{"id":{"S":"u1"},"address":{"M":{"city":{"S":"Oslo"},"zip":{"N":"150"}}},"n":{"N":"1"}}}`,
			modified(t, `{"Item":{"id":{"S":"u1"},"address_city":{"S":"Oslo"},"address_zip":{"N":"150"},"n":{"N":"1"}}}`)},
		{`{"Item":{"id":{"S":"u2"},"address":{"S":"Main St"}}}`, pass()},
		{`{"Item":{"id":{"S":"u3"}}}`, pass()},
		{`{"Item":{"address":{"M":{"city":{"S":"X"}}},"address_city":{"S":"Y"}}}`,
			fail(`flatten: attribute "address_city" already exists`)},
		{`{"Item":{"address":{"M":{}},"id":{"S":"u4"}}}`, modified(t, `{"Item":{"id":{"S":"u4"}}}`)},
		{`{"Item":{"address":{"M":{}}}}`,
			fail(`flatten: removing the empty map "address" would leave the item with no attributes`)},
		{`{"Item":{"address":{"M":{"geo":{"M":{"lat":{"N":"1"}}},"l":{"L":[{"M":{}}]}}}}}`,
			modified(t, `{"Item":{"address_geo":{"M":{"lat":{"N":"1"}}},"address_l":{"L":[{"M":{}}]}}}`)},
	})
	check(t, "flatten", `{"attribute":"a","separator":""}`, []tcase{
		{`{"Item":{"a":{"M":{"b":{"S":"x"},"c":{"BOOL":false}}},"z":{"NULL":true}}}`,
			modified(t, `{"Item":{"ab":{"S":"x"},"ac":{"BOOL":false},"z":{"NULL":true}}}`)},
	})
}

// benchItems is a batch of 512 items of 10 attributes each, every one
// with an email to mask.
func benchItems(b *testing.B) []ddb.Item {
	lines := make([]string, 512)
	for i := range lines {
		lines[i] = fmt.Sprintf(`{"Item":{"id":{"S":"user-%06d"},"email":{"S":"user%d@example.com"},"name":{"S":"User Number %d"},`+
			`"age":{"N":"%d"},"active":{"BOOL":true},"tags":{"SS":["a","b","c"]},"score":{"N":"%d.25"},`+
			`"address":{"M":{"city":{"S":"Oslo"},"zip":{"N":"0150"}}},"created":{"S":"2024-01-02T03:04:05Z"},`+
			`"status":{"S":"ACTIVE"}}}`, i, i, i, 20+i%50, i)
	}
	return items(b, lines...)
}

// bench measures example name on a batch of benchItems: "host" through
// plugins.Instance.TransformBatch (encoding the batch, the call, decoding
// and checking the result), and "guest" the transform_batch call alone,
// under the host's runtime configuration.
func bench(b *testing.B, name, config string) {
	batch := benchItems(b)
	b.Run("host", func(b *testing.B) {
		_, in := instance(b, name, config)
		ctx := context.Background()
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			if _, err := in.TransformBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		report(b, len(batch), cpu0)
	})
	b.Run("guest", func(b *testing.B) {
		ctx := context.Background()
		// As plugins.NewRuntime configures wazero: the deadline checks of
		// WithCloseOnContextDone cost each loop iteration of the guest.
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
		defer rt.Close(ctx)
		mod, err := rt.Instantiate(ctx, wasm(b, name))
		if err != nil {
			b.Fatal(err)
		}
		mem := mod.Memory()
		alloc, configure, transform := mod.ExportedFunction("alloc"), mod.ExportedFunction("configure"), mod.ExportedFunction("transform_batch")
		write := func(data []byte) uint64 {
			r, err := alloc.Call(ctx, uint64(len(data)))
			if err != nil || !mem.Write(uint32(r[0]), data) {
				b.Fatal("alloc", err)
			}
			return r[0]
		}
		if r, err := configure.Call(ctx, write([]byte(config)), uint64(len(config))); err != nil || r[0] != 0 {
			b.Fatal("configure", err)
		}
		enc := plugins.AppendBatch(nil, batch)
		cctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		cpu0 := cpuTime()
		for b.Loop() {
			p := write(enc)
			if _, err := transform.Call(cctx, p, uint64(len(enc))); err != nil {
				b.Fatal(err)
			}
		}
		report(b, len(batch), cpu0)
	})
}

// cpuTime is the CPU time the process has used (user and system, all
// threads): on a busy machine, CPU time per item varies less than wall
// time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report reports wall-clock ns/item and CPU cpu-ns/item since cpu0.
func report(b *testing.B, perOp int, cpu0 time.Duration) {
	n := float64(b.N * perOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/item")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/n, "cpu-ns/item")
}

func BenchmarkMask(b *testing.B)    { bench(b, "mask", `{"attributes":["email"]}`) }
func BenchmarkFilter(b *testing.B)  { bench(b, "filter", `{"attribute":"status","equals":"CANCELLED"}`) }
func BenchmarkDrop(b *testing.B)    { bench(b, "drop", `{"attributes":["tags"]}`) }
func BenchmarkFlatten(b *testing.B) { bench(b, "flatten", `{"attribute":"address"}`) }
