package examples_test

// Conformance tests of the example plugins: every implementation of an
// example, in every language, is built to WebAssembly, run in the real host
// (package plugins) and held to one table of cases written in DynamoDB
// JSON. The implementations must also agree with each other byte for byte.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/plugins"
)

// builders build an implementation of an example, by language: the
// directories plugins/examples/<name>/<lang>/ whose <lang> has a builder
// here are the implementations under test. A builder builds the
// implementation of the example whose directory is exampleDir (absolute:
// .../plugins/examples/<name>; the sources are in exampleDir/<lang>) to the
// WebAssembly module out. It returns false to skip the language when its
// toolchain is absent, and fails t when the build fails. Other files add
// languages from an init function (rust_test.go registers "rust").
var builders = map[string]func(t testing.TB, exampleDir, out string) bool{
	"go": buildGo,
}

// buildGo builds exampleDir/go as a WASI reactor, like plugins/build-go.sh.
func buildGo(t testing.TB, exampleDir, out string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = filepath.Join(exampleDir, "go")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", cmd.Dir, err, b)
	}
	return true
}

// workDir holds the built modules and wazero's compilation cache, shared
// by all tests and benchmarks of the test binary.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "floe-examples-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// impl is one implementation of an example.
type impl struct {
	example, lang string
}

func (im impl) String() string { return im.example + "/" + im.lang }

// implementations lists plugins/examples/<name>/<lang>/ for every language
// with a builder, sorted.
func implementations(t testing.TB) []impl {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var ims []impl
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		langs, err := os.ReadDir(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range langs {
			if l.IsDir() && builders[l.Name()] != nil {
				ims = append(ims, impl{e.Name(), l.Name()})
			}
		}
	}
	if len(ims) == 0 {
		t.Fatal("no example implementations found")
	}
	return ims
}

type built struct {
	done chan struct{}
	wasm []byte // nil: skipped
}

var (
	buildMu sync.Mutex
	builds  = map[impl]*built{}
)

// wasmOf builds im once per test binary and returns its module, or skips
// t when its language's toolchain is absent.
func wasmOf(t testing.TB, im impl) []byte {
	t.Helper()
	wasm := buildOnce(t, im)
	if wasm == nil {
		t.Skipf("%s: the %s toolchain is not available", im, im.lang)
	}
	return wasm
}

// buildOnce builds im once per test binary and returns its module, or nil
// when its language's toolchain is absent.
func buildOnce(t testing.TB, im impl) []byte {
	t.Helper()
	buildMu.Lock()
	b, ok := builds[im]
	if !ok {
		b = &built{done: make(chan struct{})}
		builds[im] = b
	}
	buildMu.Unlock()
	if ok {
		<-b.done
	} else {
		func() {
			defer close(b.done)
			dir, err := filepath.Abs(im.example)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(workDir, im.example+"-"+im.lang+".wasm")
			// make test builds every example first (make plugins).
			if pre := os.Getenv("FLOE_PLUGINS_DIR"); pre != "" {
				if wasm, err := os.ReadFile(filepath.Join(pre, filepath.Base(im.example)+"-"+im.lang+".wasm")); err == nil {
					b.wasm = wasm
					return
				}
			}
			if !builders[im.lang](t, dir, out) {
				return
			}
			if b.wasm, err = os.ReadFile(out); err != nil {
				t.Fatal(err)
			}
		}()
	}
	return b.wasm
}

func newRuntime(t testing.TB, im impl) *plugins.Runtime {
	t.Helper()
	return runtimeOf(t, im, wasmOf(t, im))
}

func runtimeOf(t testing.TB, im impl, wasm []byte) *plugins.Runtime {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := plugins.NewRuntime(ctx, wasm, plugins.Options{CacheDir: filepath.Join(workDir, "wazero-cache")})
	if err != nil {
		t.Fatalf("%s: %v", im, err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// newInstance makes a configured instance, failing t on a refusal.
func newInstance(t testing.TB, r *plugins.Runtime, config string) *plugins.Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in, err := r.NewInstance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(context.Background()) })
	if err := in.Configure(ctx, []byte(config)); err != nil {
		t.Fatalf("configure %s: %v", config, err)
	}
	return in
}

func transform(t testing.TB, in *plugins.Instance, items []ddb.Item) []plugins.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rs, err := in.TransformBatch(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// The table.

// tcase is one input item and the verdict every implementation must give.
type tcase struct {
	name   string
	in     string         // the item, DynamoDB JSON
	status plugins.Status // the verdict
	out    []string       // StatusModified, StatusFanOut: the output items
	msg    string         // StatusError: the exact message
}

// suite is a configuration and the cases run with it, as one batch.
type suite struct {
	config string
	cases  []tcase
}

// refusal is a configuration that configure must refuse, with a word its
// message must contain ("" for any message).
type refusal struct {
	config, mention string
}

func pass(name, in string) tcase { return tcase{name: name, in: in, status: plugins.StatusPass} }
func drop(name, in string) tcase { return tcase{name: name, in: in, status: plugins.StatusDrop} }
func modified(name, in, out string) tcase {
	return tcase{name: name, in: in, status: plugins.StatusModified, out: []string{out}}
}
func failed(name, in, msg string) tcase {
	return tcase{name: name, in: in, status: plugins.StatusError, msg: msg}
}

// sha returns the lowercase hex SHA-256 of s, as a DynamoDB JSON S value.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return `{"S":"` + hex.EncodeToString(sum[:]) + `"}`
}

// rich is an attribute of every type but S, to put around the attribute
// under test.
const rich = `"b":{"B":"AAEC/w=="},"t":{"BOOL":true},"f":{"BOOL":false},"z":{"NULL":true},` +
	`"ss":{"SS":["x","y"]},"ns":{"NS":["1","-2.5e3"]},"bs":{"BS":["AA==","/w=="]},` +
	`"l":{"L":[{"S":"e"},{"N":"1"},{"M":{"k":{"L":[]}}}]},"m":{"M":{"email":{"S":"nested"},"in":{"M":{}}}}`

var suites = map[string][]suite{
	"mask": {
		{config: `{"attributes":["email","phone"]}`, cases: []tcase{
			modified("masks an S attribute",
				`{"id":{"S":"u1"},"email":{"S":"a@x.io"},"n":{"N":"1"}}`,
				`{"id":{"S":"u1"},"email":`+sha("a@x.io")+`,"n":{"N":"1"}}`),
			modified("masks two, keeping the item's order",
				`{"phone":{"S":"+47 22 00 00 00"},"id":{"S":"u2"},"email":{"S":"b@y.io"}}`,
				`{"phone":`+sha("+47 22 00 00 00")+`,"id":{"S":"u2"},"email":`+sha("b@y.io")+`}`),
			modified("hashes the empty string",
				`{"id":{"S":"u3"},"email":{"S":""}}`,
				`{"id":{"S":"u3"},"email":`+sha("")+`}`),
			modified("hashes the UTF-8 bytes of non-ASCII text",
				`{"email":{"S":"jürgen@例え.jp 🙂"},"id":{"S":"u4"}}`,
				`{"email":`+sha("jürgen@例え.jp 🙂")+`,"id":{"S":"u4"}}`),
			modified("masks only the S one of two listed attributes",
				`{"id":{"S":"u5"},"email":{"NULL":true},"phone":{"S":"555"}}`,
				`{"id":{"S":"u5"},"email":{"NULL":true},"phone":`+sha("555")+`}`),
			modified("leaves every other type alone",
				`{"id":{"S":"u6"},`+rich+`,"email":{"S":"c@z.io"}}`,
				`{"id":{"S":"u6"},`+rich+`,"email":`+sha("c@z.io")+`}`),
			pass("passes a listed attribute of another type",
				`{"id":{"S":"u7"},"email":{"N":"5"},"phone":{"SS":["1","2"]}}`),
			pass("passes a listed B attribute", `{"id":{"S":"u8"},"email":{"B":"YUB4Lmlv"}}`),
			pass("passes an item without the attributes", `{"id":{"S":"u9"}}`),
			pass("leaves nested attributes alone", `{"id":{"S":"u10"},"m":{"M":{"email":{"S":"a@x.io"}}}}`),
			pass("matches names case-sensitively", `{"id":{"S":"u11"},"Email":{"S":"a@x.io"}}`),
			pass("passes a rich item without them", `{"id":{"S":"u12"},`+rich+`}`),
		}},
		{config: `{"attributes":["e-mail ✉"]}`, cases: []tcase{
			modified("non-ASCII attribute name",
				`{"e-mail ✉":{"S":"ü"}}`,
				`{"e-mail ✉":`+sha("ü")+`}`),
			pass("another attribute", `{"email":{"S":"ü"}}`),
		}},
	},
	"drop": {
		{config: `{"attributes":["notes","debug"]}`, cases: []tcase{
			modified("removes an attribute",
				`{"id":{"S":"u1"},"notes":{"S":"long text"},"n":{"N":"1"}}`,
				`{"id":{"S":"u1"},"n":{"N":"1"}}`),
			modified("removes several, of any type, keeping the order",
				`{"debug":{"M":{"a":{"S":"b"}}},"id":{"S":"u2"},"notes":{"L":[{"S":"x"}]},"n":{"N":"2"}}`,
				`{"id":{"S":"u2"},"n":{"N":"2"}}`),
			modified("removes from a rich item",
				`{"id":{"S":"u3"},`+rich+`,"notes":{"NULL":true}}`,
				`{"id":{"S":"u3"},`+rich+`}`),
			modified("removes an empty string", `{"notes":{"S":""},"id":{"S":"u4"}}`, `{"id":{"S":"u4"}}`),
			pass("passes an item without them", `{"id":{"S":"u5"},"n":{"N":"1"}}`),
			pass("leaves nested attributes alone", `{"id":{"S":"u6"},"m":{"M":{"notes":{"S":"x"}}}}`),
			pass("matches names case-sensitively", `{"id":{"S":"u7"},"Notes":{"S":"x"}}`),
			failed("refuses to empty an item", `{"notes":{"S":"x"}}`,
				"drop: removing the configured attributes would leave the item with no attributes"),
			failed("refuses to empty an item of two", `{"debug":{"BOOL":true},"notes":{"S":"x"}}`,
				"drop: removing the configured attributes would leave the item with no attributes"),
		}},
		{config: `{"attributes":["ñotes"]}`, cases: []tcase{
			modified("non-ASCII attribute name", `{"ñotes":{"S":"x"},"id":{"S":"é"}}`, `{"id":{"S":"é"}}`),
		}},
	},
	"filter": {
		{config: `{"attribute":"status","equals":"CANCELLED"}`, cases: []tcase{
			drop("drops an equal S value", `{"id":{"S":"o1"},"status":{"S":"CANCELLED"}}`),
			drop("drops whatever else the item holds", `{"id":{"S":"o2"},`+rich+`,"status":{"S":"CANCELLED"}}`),
			pass("compares case-sensitively", `{"id":{"S":"o3"},"status":{"S":"cancelled"}}`),
			pass("compares exactly", `{"id":{"S":"o4"},"status":{"S":"CANCELLED "}}`),
			pass("passes a prefix", `{"id":{"S":"o5"},"status":{"S":"CANCEL"}}`),
			pass("passes an SS holding the value", `{"id":{"S":"o6"},"status":{"SS":["CANCELLED"]}}`),
			pass("passes a B holding the bytes", `{"id":{"S":"o7"},"status":{"B":"Q0FOQ0VMTEVE"}}`),
			pass("passes a missing attribute", `{"id":{"S":"o8"}}`),
			pass("leaves nested attributes alone", `{"id":{"S":"o9"},"m":{"M":{"status":{"S":"CANCELLED"}}}}`),
			pass("passes another value", `{"id":{"S":"o10"},"status":{"S":"SHIPPED"}}`),
		}},
		{config: `{"attribute":"état","equals":""}`, cases: []tcase{
			drop("drops the empty string", `{"état":{"S":""}}`),
			pass("passes a blank", `{"état":{"S":" "}}`),
			pass("passes NULL", `{"état":{"NULL":true}}`),
		}},
		{config: `{"attribute":"n","equals":"5"}`, cases: []tcase{
			pass("an N is not a string", `{"n":{"N":"5"}}`),
			drop("an S is", `{"n":{"S":"5"}}`),
		}},
		{config: `{"attribute":"s","equals":"ünï ✓ 例"}`, cases: []tcase{
			drop("non-ASCII value", `{"s":{"S":"ünï ✓ 例"}}`),
			pass("the decomposed form differs", `{"s":{"S":"u\u0308nï ✓ 例"}}`),
		}},
	},
	"flatten": {
		{config: `{"attribute":"address"}`, cases: []tcase{
			modified("flattens in place with the default separator",
				`{"id":{"S":"u1"},"address":{"M":{"city":{"S":"Oslo"},"zip":{"N":"150"}}},"n":{"N":"1"}}`,
				`{"id":{"S":"u1"},"address_city":{"S":"Oslo"},"address_zip":{"N":"150"},"n":{"N":"1"}}`),
			modified("flattens one level only",
				`{"address":{"M":{"geo":{"M":{"lat":{"N":"1.5"}}},"lines":{"L":[{"S":"a"}]},"tags":{"SS":["x"]}}},"id":{"S":"u2"}}`,
				`{"address_geo":{"M":{"lat":{"N":"1.5"}}},"address_lines":{"L":[{"S":"a"}]},"address_tags":{"SS":["x"]},"id":{"S":"u2"}}`),
			modified("keeps values of every type",
				`{"id":{"S":"u3"},"address":{"M":{`+rich+`}}}`,
				`{"id":{"S":"u3"},`+strings.NewReplacer(`"b":`, `"address_b":`, `"t":`, `"address_t":`, `"f":`, `"address_f":`,
					`"z":`, `"address_z":`, `"ss":`, `"address_ss":`, `"ns":`, `"address_ns":`, `"bs":`, `"address_bs":`,
					`"l":`, `"address_l":`, `"m":{"M":{"email"`, `"address_m":{"M":{"email"`).Replace(rich)+`}`),
			modified("a map as the only attribute",
				`{"address":{"M":{"city":{"S":"Oslo"}}}}`,
				`{"address_city":{"S":"Oslo"}}`),
			modified("non-ASCII keys",
				`{"address":{"M":{"straße":{"S":"x"},"市":{"S":"y"}}},"id":{"S":"u4"}}`,
				`{"address_straße":{"S":"x"},"address_市":{"S":"y"},"id":{"S":"u4"}}`),
			modified("removes an empty map",
				`{"id":{"S":"u5"},"address":{"M":{}},"n":{"N":"1"}}`,
				`{"id":{"S":"u5"},"n":{"N":"1"}}`),
			failed("refuses to empty an item",
				`{"address":{"M":{}}}`,
				`flatten: removing the empty map "address" would leave the item with no attributes`),
			failed("refuses a collision after the map",
				`{"address":{"M":{"city":{"S":"X"}}},"address_city":{"S":"Y"}}`,
				`flatten: attribute "address_city" already exists`),
			failed("names the first collision in the map's order",
				`{"address_zip":{"N":"1"},"address_city":{"S":"Y"},"address":{"M":{"street":{"S":"s"},"zip":{"N":"2"},"city":{"S":"X"}}}}`,
				`flatten: attribute "address_zip" already exists`),
			pass("passes a missing attribute", `{"id":{"S":"u6"}}`),
			pass("passes an S", `{"id":{"S":"u7"},"address":{"S":"Main St"}}`),
			pass("passes an L", `{"id":{"S":"u8"},"address":{"L":[{"M":{"city":{"S":"x"}}}]}}`),
			pass("passes NULL", `{"id":{"S":"u9"},"address":{"NULL":true}}`),
			pass("leaves nested maps alone", `{"id":{"S":"u10"},"m":{"M":{"address":{"M":{"city":{"S":"x"}}}}}}`),
		}},
		{config: `{"attribute":"a","separator":"."}`, cases: []tcase{
			modified("another separator", `{"a":{"M":{"b":{"N":"1"}}},"c":{"S":"d"}}`, `{"a.b":{"N":"1"},"c":{"S":"d"}}`),
			pass("the default separator's name is no collision", `{"a_b":{"S":"x"},"a":{"N":"1"}}`),
		}},
		{config: `{"attribute":"a","separator":""}`, cases: []tcase{
			modified("an empty separator", `{"a":{"M":{"b":{"N":"1"},"c":{"N":"2"}}}}`, `{"ab":{"N":"1"},"ac":{"N":"2"}}`),
			failed("a collision without separator", `{"a":{"M":{"b":{"N":"1"}}},"ab":{"N":"2"}}`,
				`flatten: attribute "ab" already exists`),
		}},
		{config: `{"attribute":"ädresse","separator":"·"}`, cases: []tcase{
			modified("non-ASCII name and separator", `{"ädresse":{"M":{"by":{"S":"x"}}}}`, `{"ädresse·by":{"S":"x"}}`),
		}},
	},
}

var refusals = map[string][]refusal{
	"mask": {
		{`{}`, "attributes"},
		{`{"attributes":[]}`, "attributes"},
		{`{"attributes":"email"}`, "attributes"},
		{`{"attributes":[1]}`, "attributes"},
		{`{"attributes":[null]}`, "attributes"},
		{`{"attributes":[""]}`, "attributes"},
		{`{"attributes":["email"],"salt":"x"}`, "salt"},
		{`["email"]`, ""},
		{`null`, ""},
	},
	"drop": {
		{`{}`, "attributes"},
		{`{"attributes":[]}`, "attributes"},
		{`{"attributes":{"notes":true}}`, "attributes"},
		{`{"attributes":["notes",2]}`, "attributes"},
		{`{"attributes":[""]}`, "attributes"},
		{`{"attributes":["notes"],"keep":["id"]}`, "keep"},
		{`"notes"`, ""},
	},
	"filter": {
		{`{}`, "attribute"},
		{`{"attribute":"status"}`, "equals"},
		{`{"equals":"x"}`, "attribute"},
		{`{"attribute":"","equals":"x"}`, "attribute"},
		{`{"attribute":1,"equals":"x"}`, "attribute"},
		{`{"attribute":"status","equals":null}`, "equals"},
		{`{"attribute":"status","equals":5}`, "equals"},
		{`{"attribute":"status","equals":"x","not":true}`, "not"},
		{`[]`, ""},
	},
	"flatten": {
		{`{}`, "attribute"},
		{`{"attribute":""}`, "attribute"},
		{`{"attribute":5}`, "attribute"},
		{`{"separator":"_"}`, "attribute"},
		{`{"attribute":"a","separator":1}`, "separator"},
		{`{"attribute":"a","separator":null}`, "separator"},
		{`{"attribute":"a","sep":"_"}`, "sep"},
		{`true`, ""},
	},
}

// parseItem decodes one DynamoDB JSON item with floe's export decoder.
func parseItem(t testing.TB, s string) ddb.Item {
	t.Helper()
	dec, err := ddb.NewDecoder("DYNAMODB_JSON")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dec.Decode([]byte(`{"Item":` + s + `}`))
	if err != nil {
		t.Fatalf("test item %s: %v", s, err)
	}
	return rec.Item.Clone()
}

func (c tcase) want(t testing.TB) plugins.Result {
	r := plugins.Result{Status: c.status, Message: c.msg}
	for _, s := range c.out {
		r.Items = append(r.Items, parseItem(t, s))
	}
	return r
}

func describe(r plugins.Result) string {
	switch r.Status {
	case plugins.StatusModified, plugins.StatusFanOut:
		s := make([]string, len(r.Items))
		for i, it := range r.Items {
			s[i] = it.String()
		}
		return r.Status.String() + " " + strings.Join(s, ", ")
	case plugins.StatusError:
		return "error " + strconv.Quote(r.Message)
	}
	return r.Status.String()
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

func TestEveryExampleHasCases(t *testing.T) {
	for _, im := range implementations(t) {
		if suites[im.example] == nil || refusals[im.example] == nil {
			t.Errorf("example %s has no cases in examples_test.go", im.example)
		}
		if _, err := os.Stat(filepath.Join(im.example, "README.md")); err != nil {
			t.Errorf("example %s: %v", im.example, err)
		}
	}
	for name := range suites {
		if _, err := os.Stat(filepath.Join(name, "go")); err != nil {
			t.Errorf("example %s has no Go implementation: %v", name, err)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, im := range implementations(t) {
		t.Run(im.String(), func(t *testing.T) {
			info := newRuntime(t, im).Info()
			if info.Name != im.example || info.Version != "1.0.0" {
				t.Errorf("describe = %s %s, want %s 1.0.0", info.Name, info.Version, im.example)
			}
			var schema map[string]any
			if err := json.Unmarshal(info.Parameters, &schema); err != nil || schema["type"] != "object" {
				t.Errorf("parameters = %s, want a JSON schema of an object", info.Parameters)
			}
		})
	}
}

func TestConformance(t *testing.T) {
	for _, im := range implementations(t) {
		t.Run(im.String(), func(t *testing.T) {
			r := newRuntime(t, im)
			for _, s := range suites[im.example] {
				in := newInstance(t, r, s.config)
				var items []ddb.Item
				for _, c := range s.cases {
					items = append(items, parseItem(t, c.in))
				}
				// All cases as one batch, mixing verdicts; then each alone
				// on the same instance, whose state must not leak between
				// batches.
				batch := transform(t, in, items)
				for i, c := range s.cases {
					want := c.want(t)
					if !sameResult(batch[i], want) {
						t.Errorf("%s %s: in a batch\ngot  %s\nwant %s", s.config, c.name, describe(batch[i]), describe(want))
					}
					alone := transform(t, in, items[i:i+1])
					if !sameResult(alone[0], want) {
						t.Errorf("%s %s: alone\ngot  %s\nwant %s", s.config, c.name, describe(alone[0]), describe(want))
					}
				}
			}
		})
	}
}

func TestConfigRefused(t *testing.T) {
	for _, im := range implementations(t) {
		t.Run(im.String(), func(t *testing.T) {
			r := newRuntime(t, im)
			for _, ref := range refusals[im.example] {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				in, err := r.NewInstance(ctx)
				if err != nil {
					cancel()
					t.Fatal(err)
				}
				err = in.Configure(ctx, []byte(ref.config))
				in.Close(ctx)
				cancel()
				var perr *plugins.Error
				switch {
				case err == nil:
					t.Errorf("configure %s: accepted, want a refusal", ref.config)
				case !errors.As(err, &perr) || !errors.Is(err, plugins.ErrConfig):
					t.Errorf("configure %s: %v, want a refusal", ref.config, err)
				case !strings.Contains(perr.Err.Error(), ref.mention):
					t.Errorf("configure %s: refused with %q, which does not mention %q", ref.config, perr.Err, ref.mention)
				}
			}
		})
	}
}

// TestSameResultBytes checks that every language's implementation of an
// example returns the very same result bytes for the same batches: those
// of the table and a large generated one. Results are compared in their
// encoding, which is canonical (ABI.md section 4): equal results are equal
// bytes.
func TestSameResultBytes(t *testing.T) {
	byExample := map[string][]impl{}
	for _, im := range implementations(t) {
		byExample[im.example] = append(byExample[im.example], im)
	}
	for example, ims := range byExample {
		t.Run(example, func(t *testing.T) {
			type run struct {
				config string
				items  []ddb.Item
			}
			var runs []run
			for _, s := range suites[example] {
				var items []ddb.Item
				for _, c := range s.cases {
					items = append(items, parseItem(t, c.in))
				}
				runs = append(runs, run{s.config, items})
			}
			runs = append(runs, run{benchConfigs[example], benchBatch(t)})
			var langs []string
			results := make([][][]byte, len(runs)) // run → language → bytes
			for _, im := range ims {
				wasm := buildOnce(t, im)
				if wasm == nil {
					t.Logf("%s: the %s toolchain is not available", im, im.lang)
					continue
				}
				r := runtimeOf(t, im, wasm)
				langs = append(langs, im.lang)
				for i, run := range runs {
					rs := transform(t, newInstance(t, r, run.config), run.items)
					results[i] = append(results[i], plugins.AppendResults(nil, rs))
				}
			}
			if len(langs) < 2 {
				t.Skipf("only %v implements %s here: nothing to compare", langs, example)
			}
			for i, run := range runs {
				for j := 1; j < len(langs); j++ {
					if !bytes.Equal(results[i][0], results[i][j]) {
						t.Errorf("config %s, batch of %d items: %s and %s return different bytes\n%s: %x\n%s: %x",
							run.config, len(run.items), langs[0], langs[j], langs[0], results[i][0], langs[j], results[i][j])
					}
				}
			}
		})
	}
}

// Benchmarks.

// benchConfigs configure each example for the benchmark batch.
var benchConfigs = map[string]string{
	"mask":    `{"attributes":["email","phone"]}`,
	"drop":    `{"attributes":["notes"]}`,
	"filter":  `{"attribute":"status","equals":"CANCELLED"}`,
	"flatten": `{"attribute":"address"}`,
}

// passThroughConfig makes filter match nothing: every item passes, which
// measures a plugin's fixed cost per item.
const passThroughConfig = `{"attribute":"status","equals":"NEVER-MATCHES"}`

const benchItems = 512

// benchBatch is a realistic batch: 512 orders of 11 attributes of mixed
// types, one in ten CANCELLED.
func benchBatch(t testing.TB) []ddb.Item {
	statuses := []string{"OPEN", "SHIPPED", "DELIVERED", "RETURNED", "PAID", "PACKED", "HELD", "NEW", "BILLED", "CANCELLED"}
	items := make([]ddb.Item, benchItems)
	for i := range items {
		items[i] = parseItem(t, fmt.Sprintf(`{"pk":{"S":"ORDER#%08d"},"sk":{"S":"2024-05-%02dT10:%02d:00Z"},`+
			`"email":{"S":"customer%d@example.com"},"phone":{"S":"+47 %08d"},"status":{"S":"%s"},`+
			`"total":{"N":"%d.%02d"},"items":{"N":"%d"},"gift":{"BOOL":%t},"tags":{"SS":["web","promo-%d"]},`+
			`"address":{"M":{"street":{"S":"%d Storgata"},"city":{"S":"Oslo"},"zip":{"S":"0%03d"}}},`+
			`"notes":{"S":"Leave the parcel at the door if nobody answers; ring twice. Order %d."}}`,
			i, i%28+1, i%60, i, 40000000+i, statuses[i%len(statuses)], i*7%1000, i%100, i%9+1, i%3 == 0, i%5,
			i%200+1, i%1000, i))
	}
	return items
}

// BenchmarkExamples reports the cost of each implementation per item
// (ns/item), host included (encoding the batch, decoding the result):
// one transform_batch of the realistic batch per iteration.
func BenchmarkExamples(b *testing.B) {
	items := benchBatch(b)
	type bench struct {
		name   string
		im     impl
		config string
	}
	var benches []bench
	for _, im := range implementations(b) {
		benches = append(benches, bench{im.String(), im, benchConfigs[im.example]})
		if im.example == "filter" {
			benches = append(benches, bench{"passthrough/" + im.lang, im, passThroughConfig})
		}
	}
	slices.SortFunc(benches, func(x, y bench) int { return strings.Compare(x.name, y.name) })
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			in := newInstance(b, newRuntime(b, bc.im), bc.config)
			transform(b, in, items) // warm up: buffers grown
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				transform(b, in, items)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(items)), "ns/item")
		})
	}
}
