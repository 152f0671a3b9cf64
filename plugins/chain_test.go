package plugins

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/ddb"
)

// stage returns a Stage of the mask guest with the given configuration.
func stage(r *Runtime, config string) Stage { return Stage{Runtime: r, Config: []byte(config)} }

func newChain(t testing.TB, opts ChainOptions, stages ...Stage) *Chain {
	t.Helper()
	c := NewChain(stages, opts)
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// sval returns the S value of it's attribute name, or "<none>".
func sval(it ddb.Item, name string) string {
	v := it.Get(name)
	if v == nil || v.Kind != ddb.S {
		return "<none>"
	}
	return string(v.Bytes)
}

// wantPluginError checks that f is the failure of the mask plugin's
// instance, of kind kind.
func wantPluginError(t *testing.T, i int, f *Failure, kind error) {
	t.Helper()
	var perr *Error
	switch {
	case f == nil:
		t.Errorf("item %d: no failure, want %v", i, kind)
	case !errors.As(f.Err, &perr) || !errors.Is(f.Err, kind):
		t.Errorf("item %d: failure %v, want an *Error of kind %v", i, f.Err, kind)
	case f.Plugin.Name != "mask" || perr.Op != "transform_batch":
		t.Errorf("item %d: failure names plugin %+v, op %q", i, f.Plugin, perr.Op)
	}
}

// wantItemError checks that f is an *ItemError whose message holds msg.
func wantItemError(t *testing.T, i int, f *Failure, msg string) {
	t.Helper()
	var ierr *ItemError
	switch {
	case f == nil:
		t.Errorf("item %d: no failure, want %q", i, msg)
	case !errors.As(f.Err, &ierr):
		t.Errorf("item %d: failure %v, want an *ItemError", i, f.Err)
	case !strings.Contains(ierr.Message, msg) || ierr.Plugin != "mask 1.0.0" || f.Plugin.Name != "mask":
		t.Errorf("item %d: %+v (plugin %+v), want a message with %q", i, ierr, f.Plugin, msg)
	}
}

// TestChainIsolatesBadItems runs batches with items that kill the
// instance at known positions and checks that exactly those items fail,
// with the right kind, that the others come out in order as the plugin
// made them, and that bisection needs few failed calls.
func TestChainIsolatesBadItems(t *testing.T) {
	r := newRuntime(t, Options{})
	// The deadline covers making each new instance as well as each call,
	// and a Go guest's instantiation can take a few hundred milliseconds
	// on a loaded machine: so the loop gets a deadline of a second, and a
	// small batch, which costs it log2(n)+1 = 3 timeouts.
	slow := newRuntime(t, Options{Timeout: time.Second})
	for _, tc := range []struct {
		name  string
		r     *Runtime
		n     int
		modes map[int]string // position → status
	}{
		{"all good", r, 64, map[int]string{5: "DROP", 9: "ERROR"}},
		{"a batch of one trap", r, 1, map[int]string{0: "TRAP"}},
		{"neighbours across the middle", r, 64, map[int]string{31: "TRAP", 32: "GARBAGE"}},
		{"traps, bad bytes, drops and errors", r, 64, map[int]string{
			0: "TRAP", 5: "DROP", 9: "ERROR", 17: "TRAP", 33: "DROP", 40: "BADBYTES", 50: "GARBAGE", 63: "TRAP"}},
		{"a loop", slow, 4, map[int]string{0: "DROP", 3: "LOOP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items := make([]ddb.Item, tc.n)
			bad := 0
			for i := range items {
				items[i] = item("pk", s(fmt.Sprint(i)), "email", s(fmt.Sprintf("u%d@x.io", i)))
				if m, ok := tc.modes[i]; ok {
					items[i] = append(items[i], ddb.Attr{Name: []byte("status"), Value: s(m)})
					if m != "DROP" && m != "ERROR" {
						bad++
					}
				}
			}
			c := newChain(t, ChainOptions{}, stage(tc.r, `{"attribute":"email"}`))
			outs, err := c.Run(context.Background(), items, []string{"pk"})
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != len(items) {
				t.Fatalf("%d outcomes for %d items", len(outs), len(items))
			}
			for i, o := range outs {
				switch tc.modes[i] {
				case "TRAP":
					wantPluginError(t, i, o.Failure, ErrTrap)
				case "LOOP":
					wantPluginError(t, i, o.Failure, ErrTimeout)
				case "GARBAGE", "BADBYTES":
					wantPluginError(t, i, o.Failure, ErrBadResult)
				case "ERROR":
					wantItemError(t, i, o.Failure, "status is ERROR")
				case "DROP":
					if !o.Dropped() {
						t.Errorf("item %d: got %+v, want it dropped", i, o)
					}
				default:
					if o.Failure != nil || len(o.Items) != 1 {
						t.Errorf("item %d: got %+v, want one item", i, o)
						continue
					}
					if got := o.Items[0]; sval(got, "pk") != fmt.Sprint(i) || sval(got, "email") != "***" {
						t.Errorf("item %d: got %s, want it masked", i, got)
					}
				}
				if o.Failure != nil && o.Items != nil {
					t.Errorf("item %d failed but has items %v", i, o.Items)
				}
			}
			// Each bad item fails alone once, and in at most one call per
			// level of halving above it.
			levels := bits.Len(uint(tc.n - 1))
			if c.fails < bad || c.fails > bad*(levels+1) {
				t.Errorf("%d failed calls for %d bad items in %d, want %d to %d", c.fails, bad, tc.n, bad, bad*(levels+1))
			}
			// The chain's instance lives on for the next batch.
			outs, err = c.Run(context.Background(), []ddb.Item{item("pk", s("next"))}, []string{"pk"})
			if err != nil || outs[0].Failure != nil || c.fails != 0 {
				t.Errorf("next batch: %+v, %v, %d failed calls", outs, err, c.fails)
			}
		})
	}
}

// TestChainBroken checks that a plugin failing on every item of a batch
// stops Run with ErrBroken once the failed calls exceed MaxFailures, and
// not before.
func TestChainBroken(t *testing.T) {
	r := newRuntime(t, Options{})
	for _, tc := range []struct {
		n, max int
		broken bool
	}{
		{4, 7, false}, // isolating 4 failing items of 4 costs 2*4-1 = 7 failed calls
		{4, 6, true},
		{16, 4, true},
	} {
		t.Run(fmt.Sprintf("%d items, at most %d failures", tc.n, tc.max), func(t *testing.T) {
			items := make([]ddb.Item, tc.n)
			for i := range items {
				items[i] = item("pk", s(fmt.Sprint(i)), "status", s("TRAP"))
			}
			c := newChain(t, ChainOptions{MaxFailures: tc.max}, stage(r, `{"attribute":"email"}`))
			outs, err := c.Run(context.Background(), items, nil)
			if !tc.broken {
				if err != nil {
					t.Fatal(err)
				}
				for i := range outs {
					wantPluginError(t, i, outs[i].Failure, ErrTrap)
				}
				return
			}
			if !errors.Is(err, ErrBroken) || !errors.Is(err, ErrTrap) || outs != nil {
				t.Fatalf("got %v (%d outcomes), want ErrBroken wrapping the last trap", err, len(outs))
			}
			if want := fmt.Sprintf("%d failed calls on one batch of %d items", tc.max+1, tc.n); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		})
	}
}

// TestChainKeyRule checks that no plugin may change, remove or multiply
// the key attributes of an item.
func TestChainKeyRule(t *testing.T) {
	r := newRuntime(t, Options{})
	split := item("pk", s("1"), "sk", s("a"), "status", s("SPLIT"))
	for _, tc := range []struct {
		name   string
		config string
		key    []string
		in     ddb.Item
		want   []ddb.Item // the outcome's items, if it does not fail
		fail   string     // the *ItemError's message
	}{
		{"fan-out without a key", `{"attribute":"email"}`, nil, split, []ddb.Item{
			append(split.Clone(), ddb.Attr{Name: []byte("part"), Value: n("1")}),
			append(split.Clone(), ddb.Attr{Name: []byte("part"), Value: n("2")}),
		}, ""},
		{"fan-out with a key", `{"attribute":"email"}`, []string{"pk", "sk"}, split, nil,
			"fanned an item out into 2 items, which would give 2 rows the key of one (key attributes: pk, sk)"},
		{"changes the partition key", `{"attribute":"pk"}`, []string{"pk"}, item("pk", s("1")), nil,
			`changed key attribute "pk"; key attributes are immutable`},
		{"changes the sort key", `{"attribute":"sk"}`, []string{"pk", "sk"}, item("pk", s("1"), "sk", s("a")), nil,
			`changed key attribute "sk"`},
		{"changes a key attribute without a key", `{"attribute":"pk"}`, nil, item("pk", s("1")),
			[]ddb.Item{item("pk", s("***"))}, ""},
		{"changes another attribute", `{"attribute":"email"}`, []string{"pk"}, item("pk", s("1"), "email", s("e")),
			[]ddb.Item{item("pk", s("1"), "email", s("***"))}, ""},
		{"passes a key of another type", `{"attribute":"pk"}`, []string{"pk"}, item("pk", n("1")),
			[]ddb.Item{item("pk", n("1"))}, ""},
		{"drops with a key", `{"attribute":"email"}`, []string{"pk"}, item("pk", s("1"), "status", s("DROP")), nil, ""},
		{"input lacks the key", `{"attribute":"email"}`, []string{"pk"}, item("id", s("1"), "email", s("e")),
			[]ddb.Item{item("id", s("1"), "email", s("***"))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, ChainOptions{}, stage(r, tc.config))
			// The item sits between two good ones, which must not suffer.
			good := item("x", s("y"))
			outs, err := c.Run(context.Background(), []ddb.Item{good, tc.in, good}, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range []int{0, 2} {
				if o := outs[i]; o.Failure != nil || len(o.Items) != 1 || !o.Items[0].Equal(good) {
					t.Errorf("neighbour %d: %+v", i, o)
				}
			}
			o := outs[1]
			if tc.fail != "" {
				wantItemError(t, 1, o.Failure, tc.fail)
				return
			}
			if o.Failure != nil {
				t.Fatalf("failed: %v", o.Failure.Err)
			}
			if len(o.Items) != len(tc.want) {
				t.Fatalf("got %v, want %v", o.Items, tc.want)
			}
			for i := range tc.want {
				if !o.Items[i].Equal(tc.want[i]) {
					t.Errorf("item %d: got %s, want %s", i, o.Items[i], tc.want[i])
				}
			}
			if c.fails != 0 {
				t.Errorf("%d failed calls", c.fails)
			}
		})
	}
}

// TestChainStages runs items through two stages of the mask guest, each
// reading its behaviour from its own status attribute (s1, s2): the
// second stage must see exactly what the first one kept.
func TestChainStages(t *testing.T) {
	r := newRuntime(t, Options{})
	c := newChain(t, ChainOptions{},
		stage(r, `{"attribute":"email","status":"s1"}`),
		stage(r, `{"attribute":"name","status":"s2"}`))
	items := []ddb.Item{
		0: item("pk", s("0"), "email", s("e"), "name", s("n")),
		1: item("pk", s("1"), "name", s("n"), "s1", s("DROP"), "s2", s("TRAP")),   // stage 2 would trap
		2: item("pk", s("2"), "name", s("n"), "s1", s("ERROR"), "s2", s("TRAP")),  // likewise
		3: item("pk", s("3"), "email", s("e"), "s2", s("DROP")),                   // dropped by stage 2
		4: item("pk", s("4"), "name", s("n"), "s1", s("SPLIT")),                   // stage 2 masks both parts
		5: item("pk", s("5"), "name", s("n"), "s1", s("SPLIT"), "s2", s("ERROR")), // both parts fail in stage 2
		6: item("pk", s("6"), "email", s("e"), "s2", s("TRAP")),                   // stage 2 traps, alone
		7: item("pk", s("7")),
	}
	outs, err := c.Run(context.Background(), items, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := outs[0]; o.Failure != nil || len(o.Items) != 1 || sval(o.Items[0], "email") != "***" || sval(o.Items[0], "name") != "***" {
		t.Errorf("item 0: got %+v, want email and name masked", outs[0])
	}
	if !outs[1].Dropped() {
		t.Errorf("item 1: got %+v, want it dropped by stage 1", outs[1])
	}
	wantItemError(t, 2, outs[2].Failure, "status is ERROR")
	if !outs[3].Dropped() {
		t.Errorf("item 3: got %+v, want it dropped by stage 2", outs[3])
	}
	if o := outs[4]; o.Failure != nil || len(o.Items) != 2 {
		t.Errorf("item 4: got %+v, want two parts", o)
	} else {
		for i, it := range o.Items {
			if sval(it, "name") != "***" || string(it.Get("part").Bytes) != fmt.Sprint(i+1) {
				t.Errorf("item 4, part %d: got %s", i+1, it)
			}
		}
	}
	wantItemError(t, 5, outs[5].Failure, "status is ERROR")
	if outs[5].Items != nil {
		t.Errorf("item 5 failed but has items %v", outs[5].Items)
	}
	wantPluginError(t, 6, outs[6].Failure, ErrTrap)
	if o := outs[7]; o.Failure != nil || len(o.Items) != 1 || !o.Items[0].Equal(items[7]) {
		t.Errorf("item 7: got %+v, want it unchanged", o)
	}
	// Only item 6 made a call fail (in stage 2): 1 failed call for it
	// alone, and at most one per level of halving of the 8 items that
	// reached stage 2 above it. Items 1 and 2 never reached stage 2.
	if c.fails < 1 || c.fails > 4 {
		t.Errorf("%d failed calls, want 1 to 4", c.fails)
	}
}

// TestChainContextEnds checks that a context ending during a call makes
// Run return an error instead of failing the items in the call, and that
// the chain works again afterwards.
func TestChainContextEnds(t *testing.T) {
	r := newRuntime(t, Options{}) // the call deadline, 10 s, is not what stops it
	items := []ddb.Item{item("pk", s("1")), item("pk", s("2"), "status", s("LOOP")), item("pk", s("3"))}
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		kind error
	}{
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, ErrCanceled},
		{"caller's deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, ChainOptions{}, stage(r, `{"attribute":"email"}`))
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			outs, err := c.Run(ctx, items, nil)
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v to stop", elapsed)
			}
			if err == nil || outs != nil {
				t.Fatalf("got %d outcomes and error %v, want an error", len(outs), err)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("got %v, want %v", err, tc.kind)
			}
			if errors.Is(err, ErrBroken) || c.fails != 0 {
				t.Errorf("got %v after %d failed calls: the chain bisected a batch the caller gave up on", err, c.fails)
			}
			outs, err = c.Run(context.Background(), items[:1], nil)
			if err != nil || outs[0].Failure != nil {
				t.Errorf("next run: %+v, %v", outs, err)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	ctx := context.Background()
	mask := newRuntime(t, Options{})
	tiny, err := NewRuntime(ctx, tinyPlugin().encode(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tiny.Close(ctx)
	email, name := stage(mask, `{"attribute":"email"}`), stage(mask, `{"attribute":"name"}`)

	id := Identity([]Stage{email})
	if !strings.HasPrefix(id, "mask@1.0.0(module "+mask.Digest()[:12]) {
		t.Errorf("Identity = %q", id)
	}
	same := []struct {
		name string
		a, b []Stage
	}{
		{"same stages", []Stage{email}, []Stage{stage(mask, `{"attribute":"email"}`)}},
		{"another runtime of the same module", []Stage{email}, []Stage{stage(newRuntime(t, Options{Timeout: time.Second}), `{"attribute":"email"}`)}},
		{"no config is {}", []Stage{{Runtime: mask}}, []Stage{stage(mask, `{}`)}},
	}
	for _, tc := range same {
		if a, b := Identity(tc.a), Identity(tc.b); a != b {
			t.Errorf("%s: %q != %q", tc.name, a, b)
		}
	}
	differ := []struct {
		name string
		a, b []Stage
	}{
		{"config", []Stage{email}, []Stage{name}},
		{"module", []Stage{{Runtime: mask}}, []Stage{{Runtime: tiny}}},
		{"order", []Stage{email, name}, []Stage{name, email}},
		{"length", []Stage{email}, []Stage{email, email}},
		{"none", nil, []Stage{email}},
	}
	for _, tc := range differ {
		if a, b := Identity(tc.a), Identity(tc.b); a == b {
			t.Errorf("%s: both %q", tc.name, a)
		}
	}
}

func TestRunLines(t *testing.T) {
	r := newRuntime(t, Options{})
	newC := func() *Chain { return newChain(t, ChainOptions{}, stage(r, `{"attribute":"email"}`)) }
	ctx := context.Background()

	t.Run("kinds of lines", func(t *testing.T) {
		input := strings.Join([]string{
			`{"Item":{"pk":{"S":"1"},"email":{"S":"a@b"}}}`,
			``,
			`{"pk":{"S":"2"},"status":{"S":"DROP"}}`,
			`   {"pk":{"S":"3"},"status":{"S":"ERROR"}}  `,
			`{"pk":{"S":"4"}}`,
			`{"Metadata":{"WriteTimestampMicros":{"N":"1"}},"Keys":{"pk":{"S":"5"}},"NewImage":{"pk":{"S":"5"},"email":{"S":"c@d"}}}`,
			`{"pk":{"S":"6"},"status":{"S":"TRAP"}}`,
			``,
		}, "\n")
		type seen struct {
			line    int
			pk      string
			outcome string
		}
		var got []seen
		counts, err := RunLines(ctx, newC(), strings.NewReader(input), []string{"pk"}, func(line int, in ddb.Item, o *Outcome) error {
			s := seen{line, sval(in, "pk"), ""}
			switch {
			case o.Failure != nil:
				s.outcome = "failed"
			case o.Dropped():
				s.outcome = "dropped"
			default:
				s.outcome = "kept email=" + sval(o.Items[0], "email")
			}
			got = append(got, s)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []seen{
			{1, "1", "kept email=***"},
			{3, "2", "dropped"},
			{4, "3", "failed"},
			{5, "4", "kept email=<none>"},
			{6, "5", "kept email=***"},
			{7, "6", "failed"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %v\nwant %v", got, want)
		}
		counts.Time = 0
		if want := (Counts{In: 6, Kept: 3, Dropped: 1, Failed: 2}); counts != want {
			t.Errorf("counts %+v, want %+v", counts, want)
		}
	})

	t.Run("several batches", func(t *testing.T) {
		const lines = 2*LineBatch + 10
		var b strings.Builder
		for i := 1; i <= lines; i++ {
			status := ""
			if i%100 == 0 {
				status = `,"status":{"S":"DROP"}`
			}
			fmt.Fprintf(&b, `{"Item":{"pk":{"N":"%d"},"email":{"S":"e"}%s}}`+"\n", i, status)
		}
		last := 0
		counts, err := RunLines(ctx, newC(), strings.NewReader(b.String()), []string{"pk"}, func(line int, in ddb.Item, o *Outcome) error {
			if line != last+1 || string(in.Get("pk").Bytes) != fmt.Sprint(line) {
				t.Errorf("line %d after %d, item %s", line, last, in)
			}
			last = line
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if counts.In != lines || counts.Dropped != lines/100 || counts.Kept != lines-lines/100 || last != lines {
			t.Errorf("counts %+v, last line %d", counts, last)
		}
	})

	t.Run("fn's error stops it", func(t *testing.T) {
		stop := errors.New("stop")
		_, err := RunLines(ctx, newC(), strings.NewReader(`{"pk":{"S":"1"}}`+"\n"+`{"pk":{"S":"2"}}`), nil, func(int, ddb.Item, *Outcome) error { return stop })
		if !errors.Is(err, stop) {
			t.Errorf("got %v, want fn's error", err)
		}
	})

	for _, tc := range []struct {
		name, input, want string
	}{
		{"truncated JSON", `{"pk":{"S":"1"}}` + "\n\n" + `{"pk":{"S":"2"`, "line 3: "},
		{"unknown type", `{"pk":{"S":"1"}}` + "\n" + `{"pk":{"X":"2"}}`, "line 2: "},
		{"not an object", `[1]`, "line 1: "},
		{"a delete record", `{"Metadata":{"WriteTimestampMicros":{"N":"1"}},"Keys":{"pk":{"S":"5"}}}`, "line 1: an incremental record without a NewImage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := 0
			_, err := RunLines(ctx, newC(), strings.NewReader(tc.input), nil, func(int, ddb.Item, *Outcome) error { called++; return nil })
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want an error starting %q", err, tc.want)
			}
			if called != 0 {
				t.Errorf("fn called %d times before the bad line stopped the run", called)
			}
			t.Logf("%v", err)
		})
	}
}

// TestRunEncoded: handing the chain the items' encodings gives the same
// outcomes as letting it encode them, bisection included.
func TestRunEncoded(t *testing.T) {
	ctx := context.Background()
	r := newRuntime(t, Options{})
	items := []ddb.Item{
		item("pk", s("1"), "email", s("a@b")),
		item("pk", s("2"), "status", s("TRAP")),
		item("pk", s("3"), "status", s("DROP")),
		item("pk", s("4"), "n", n("4")),
	}
	var enc []byte
	for _, it := range items {
		enc = AppendItem(enc, it)
	}
	stages := []Stage{{Runtime: r, Config: []byte(`{"attribute":"email"}`)}}
	want, err := NewChain(stages, ChainOptions{}).Run(ctx, items, []string{"pk"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewChain(stages, ChainOptions{}).RunEncoded(ctx, items, enc, []string{"pk"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		w, g := want[i], got[i]
		if (w.Failure == nil) != (g.Failure == nil) || w.Dropped() != g.Dropped() || len(w.Items) != len(g.Items) {
			t.Fatalf("item %d: Run gave %+v, RunEncoded %+v", i, w, g)
		}
		for j := range w.Items {
			if w.Items[j].String() != g.Items[j].String() {
				t.Errorf("item %d: %s vs %s", i, w.Items[j], g.Items[j])
			}
		}
	}
	if got[1].Failure == nil || !got[2].Dropped() || string(got[0].Items[0].Get("email").Bytes) != "***" {
		t.Fatalf("outcomes %+v", got)
	}
}
