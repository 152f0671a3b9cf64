package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/ddb"
)

// maskWasm is the test guest testdata/guests/mask, built by TestMain.
var maskWasm []byte

// cacheDir is the wazero compilation cache shared by the tests, so the
// guest is compiled once per test process.
var cacheDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "floe-plugins-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cacheDir = filepath.Join(dir, "wazero-cache")
	if maskWasm, err = buildGuest(filepath.Join("testdata", "guests", "mask"), filepath.Join(dir, "mask.wasm")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// buildGuest builds the Go reactor in pkgDir to out and returns its bytes.
// Go's build cache makes repeated builds quick.
func buildGuest(pkgDir, out string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building test guest %s: %v\n%s", pkgDir, err, b)
	}
	return os.ReadFile(out)
}

func newRuntime(t testing.TB, opts Options) *Runtime {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = cacheDir
	}
	r, err := NewRuntime(context.Background(), maskWasm, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func newInstance(t testing.TB, r *Runtime) *Instance {
	t.Helper()
	ctx := context.Background()
	in, err := r.NewInstance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(ctx) })
	if err := in.Configure(ctx, []byte(`{"attribute": "email"}`)); err != nil {
		t.Fatal(err)
	}
	return in
}

func sameResult(got, want Result) bool {
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

func TestInfo(t *testing.T) {
	info := newRuntime(t, Options{}).Info()
	if info.Name != "mask" || info.Version != "1.0.0" || !strings.Contains(string(info.Parameters), `"attribute"`) {
		t.Errorf("Info() = %+v", info)
	}
	if entries, _ := os.ReadDir(cacheDir); len(entries) == 0 {
		t.Error("the compilation cache directory is empty")
	}
}

func TestMaskBehaviours(t *testing.T) {
	cases := []struct {
		name string
		in   ddb.Item
		want Result
	}{
		{"masks the attribute", item("pk", s("1"), "email", s("a@b.c"), "n", n("7")),
			Result{Status: StatusModified, Items: []ddb.Item{item("pk", s("1"), "email", s("***"), "n", n("7"))}}},
		{"masks inside a rich item", everyTypeWith("email", s("x@y.z")),
			Result{Status: StatusModified, Items: []ddb.Item{everyTypeWith("email", s("***"))}}},
		{"passes items without it", item("pk", s("2")), Result{Status: StatusPass}},
		{"passes a non-S attribute", item("pk", s("3"), "email", n("5")), Result{Status: StatusPass}},
		{"drops", item("pk", s("4"), "email", s("a"), "status", s("DROP")), Result{Status: StatusDrop}},
		{"errors", item("pk", s("5"), "status", s("ERROR")), Result{Status: StatusError, Message: "status is ERROR"}},
		{"fans out", item("pk", s("6"), "status", s("SPLIT")), Result{Status: StatusFanOut, Items: []ddb.Item{
			item("pk", s("6"), "status", s("SPLIT"), "part", n("1")),
			item("pk", s("6"), "status", s("SPLIT"), "part", n("2")),
		}}},
	}
	in := newInstance(t, newRuntime(t, Options{}))
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := in.TransformBatch(ctx, []ddb.Item{tc.in})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || !sameResult(rs[0], tc.want) {
				t.Errorf("got %+v, want %+v", rs, tc.want)
			}
		})
	}
	t.Run("all in one batch, in order", func(t *testing.T) {
		var batch []ddb.Item
		for i := 0; i < 3; i++ {
			for _, tc := range cases {
				batch = append(batch, tc.in)
			}
		}
		rs, err := in.TransformBatch(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(batch) {
			t.Fatalf("got %d results for %d items", len(rs), len(batch))
		}
		for i := range rs {
			if want := cases[i%len(cases)].want; !sameResult(rs[i], want) {
				t.Errorf("result %d: got %+v, want %+v", i, rs[i], want)
			}
		}
	})
}

func everyTypeWith(name string, v ddb.Value) ddb.Item {
	return append(everyType(), ddb.Attr{Name: []byte(name), Value: v})
}

func TestFailuresKillTheInstance(t *testing.T) {
	good := item("pk", s("1"), "email", s("a@b.c"))
	for _, tc := range []struct {
		status string
		opts   Options
		kind   error
		within time.Duration // how soon the call must fail
		want   string        // in the error text
	}{
		{"TRAP", Options{}, ErrTrap, 0, "TRAP requested"},
		{"LOOP", Options{Timeout: time.Second}, ErrTimeout, 6 * time.Second, "deadline"}, // the deadline also bounds instantiating, slow under -race
		{"OOM", Options{MemoryLimitBytes: 64 << 20}, ErrTrap, 0, "out of memory"},
		{"GARBAGE", Options{}, ErrBadResult, 0, "outside the guest's"},
		{"BADBYTES", Options{}, ErrBadResult, 0, "result has 1 entries for a batch of 3"},
	} {
		t.Run(tc.status, func(t *testing.T) {
			r := newRuntime(t, tc.opts)
			in := newInstance(t, r)
			ctx := context.Background()
			if _, err := in.TransformBatch(ctx, []ddb.Item{good}); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := in.TransformBatch(ctx, []ddb.Item{good, item("pk", s("2"), "status", s(tc.status)), good})
			elapsed := time.Since(start)
			var perr *Error
			if !errors.As(err, &perr) || !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want an *Error of kind %v", err, tc.kind)
			}
			if perr.Plugin != "mask 1.0.0" || perr.Op != "transform_batch" {
				t.Errorf("error names plugin %q, op %q", perr.Plugin, perr.Op)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if tc.within > 0 && elapsed > tc.within {
				t.Errorf("took %v, want under %v", elapsed, tc.within)
			}
			if !in.Dead() {
				t.Error("instance still alive")
			}
			if _, err := in.TransformBatch(ctx, []ddb.Item{good}); !errors.Is(err, ErrDead) {
				t.Errorf("next call on the dead instance: got %v, want ErrDead", err)
			}
			// A new instance of the same runtime works.
			rs, err := newInstance(t, r).TransformBatch(ctx, []ddb.Item{good})
			if err != nil || rs[0].Status != StatusModified {
				t.Errorf("new instance: %+v, %v", rs, err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	in := newInstance(t, newRuntime(t, Options{}))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := in.TransformBatch(ctx, []ddb.Item{item("pk", s("1"), "status", s("LOOP"))})
	if !errors.Is(err, ErrCanceled) || !in.Dead() {
		t.Errorf("got %v (dead %v), want ErrCanceled and a dead instance", err, in.Dead())
	}
}

func TestResultSizeCap(t *testing.T) {
	in := newInstance(t, newRuntime(t, Options{MaxResultBytes: 256}))
	var batch []ddb.Item
	for i := 0; i < 20; i++ {
		batch = append(batch, item("pk", s(fmt.Sprint(i)), "status", s("SPLIT")))
	}
	_, err := in.TransformBatch(context.Background(), batch)
	if !errors.Is(err, ErrBadResult) || !strings.Contains(err.Error(), "exceeds the limit of 256") {
		t.Errorf("got %v, want ErrBadResult for the size cap", err)
	}
}

func TestConfigure(t *testing.T) {
	r := newRuntime(t, Options{})
	ctx := context.Background()
	fresh := func() *Instance {
		in, err := r.NewInstance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Close(ctx) })
		return in
	}

	in := fresh()
	if _, err := in.TransformBatch(ctx, []ddb.Item{item("pk", s("1"))}); err == nil {
		t.Error("TransformBatch before Configure succeeded")
	}
	if err := in.Configure(ctx, []byte(`{"attribute":`)); err == nil || errors.Is(err, ErrDead) {
		t.Errorf("invalid JSON: got %v", err)
	}
	err := in.Configure(ctx, nil)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `config needs {"attribute"`) || !in.Dead() {
		t.Errorf("refused config: got %v, dead %v", err, in.Dead())
	}

	in = fresh()
	if err := in.Configure(ctx, []byte(`{"attribute":"email"}`)); err != nil {
		t.Fatal(err)
	}
	if err := in.Configure(ctx, []byte(`{"attribute":"email"}`)); err == nil {
		t.Error("a second Configure succeeded")
	}
	if js, err := in.Describe(ctx); err != nil || !strings.Contains(string(js), `"name":"mask"`) {
		t.Errorf("Describe: %s, %v", js, err)
	}
}

func TestRejectsNonPlugins(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"not wasm", []byte("hello"), "compiling"},
		{"empty module", []byte("\x00asm\x01\x00\x00\x00"), `does not export its memory as "memory"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRuntime(ctx, tc.wasm, Options{})
			if err == nil {
				r.Close(ctx)
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := NewRuntime(ctx, maskWasm, Options{MemoryLimitBytes: 1 << 10}); err == nil {
		t.Error("a memory limit under one page was accepted")
	}
}

func TestInstancePerGoroutine(t *testing.T) {
	r := newRuntime(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		in := newInstance(t, r)
		wg.Go(func() {
			for i := 0; i < 20; i++ {
				rs, err := in.TransformBatch(context.Background(), []ddb.Item{item("pk", s(fmt.Sprint(g, i)), "email", s("e"))})
				if err != nil || rs[0].Status != StatusModified {
					errs <- fmt.Errorf("goroutine %d: %+v, %v", g, rs, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkMask runs the mask guest on batches of 1000 typical items, half
// of which carry the masked attribute, and reports ns/item.
func BenchmarkMask(b *testing.B) {
	in := newInstance(b, newRuntime(b, Options{}))
	batch := make([]ddb.Item, 1000)
	for i := range batch {
		it := item(
			"pk", s(fmt.Sprintf("user#%06d", i)),
			"sk", n(fmt.Sprint(1700000000+i)),
			"name", s("Ada Lovelace"),
			"tags", set(ddb.SS, "a", "b", "c"),
			"address", mapv("city", s("London"), "zip", s("N1 9GU"), "geo", list(n("51.5"), n("-0.12"))),
			"active", boolean(i%3 == 0),
		)
		if i%2 == 0 {
			it = append(it, ddb.Attr{Name: []byte("email"), Value: s("ada@example.com")})
		}
		batch[i] = it
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := in.TransformBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/item")
}
