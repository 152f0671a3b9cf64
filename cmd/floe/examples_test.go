package main_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	icecat "github.com/apache/iceberg-go/catalog"

	"github.com/floe-io/floe/committer"
	"github.com/floe-io/floe/internal/catalog"
	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/schema"
	"github.com/floe-io/floe/internal/testutil"
)

// examplePlugin is one of the example plugins (plugins/examples/<name>)
// with the configuration the test runs it with, and the same transform
// written in Go from the example's README: apply returns the item as the
// plugin leaves it, or false when the plugin drops it. It never fails an
// item on the generated data (the test checks that none fails).
type examplePlugin struct {
	name   string
	config string
	apply  func(ddb.Item) (ddb.Item, bool)
	// absent and present are attribute names the table's schema must
	// not and must have: what the plugin removes and adds.
	absent, present []string
}

var examplePlugins = []examplePlugin{
	{
		name:   "mask",
		config: `{"attributes":["email"]}`,
		apply: func(it ddb.Item) (ddb.Item, bool) {
			// Top-level S values only; every other type is left alone.
			if v := it.Get("email"); v != nil && v.Kind == ddb.S {
				sum := sha256.Sum256(v.Bytes)
				v.Bytes = []byte(hex.EncodeToString(sum[:]))
			}
			return it, true
		},
		present: []string{"email"},
	},
	{
		name:   "drop",
		config: `{"attributes":["tags","gift"]}`,
		apply: func(it ddb.Item) (ddb.Item, bool) {
			return slices.DeleteFunc(it, func(a ddb.Attr) bool {
				return string(a.Name) == "tags" || string(a.Name) == "gift"
			}), true
		},
		absent: []string{"tags", "gift"},
	},
	{
		name:   "filter",
		config: `{"attribute":"status","equals":"CANCELLED"}`,
		apply: func(it ddb.Item) (ddb.Item, bool) {
			v := it.Get("status")
			return it, v == nil || v.Kind != ddb.S || string(v.Bytes) != "CANCELLED"
		},
		present: []string{"status"},
	},
	{
		name:   "flatten",
		config: `{"attribute":"address","separator":"_"}`,
		apply: func(it ddb.Item) (ddb.Item, bool) {
			var out ddb.Item
			for _, a := range it {
				if string(a.Name) != "address" || a.Value.Kind != ddb.M {
					out = append(out, a)
					continue
				}
				// One level only: each entry's value as it is.
				for _, e := range a.Value.Map {
					out = append(out, ddb.Attr{Name: append([]byte("address_"), e.Name...), Value: e.Value})
				}
			}
			return out, true
		},
		absent:  []string{"address"},
		present: []string{"address_street", "address_city", "address_zip", "address_country"},
	},
}

// TestExamplePluginsInRun runs every example plugin, in every language it
// is written in, through `floe run` over a full export and two incremental
// ones, and checks that the table is exactly the generator's expected state
// after the second incremental export with the plugin's transform applied
// (a dropped new image deletes the row, so filtered items are absent), that
// the table's columns are what the plugin left (no column for a dropped or
// flattened attribute, one for each flattened entry), and that each
// export's summary counts in = kept + dropped + failed exactly, with no
// failure.
func TestExamplePluginsInRun(t *testing.T) {
	root, gen := history(t, 0)
	key := []string{"pk", "sk"}

	// What the plugins see: per export, every line's image (the full
	// export's items, the incremental exports' new images; nil for a
	// delete).
	type exportImages struct {
		id     string
		images []ddb.Item
	}
	var seen []exportImages
	for _, e := range append([]string{gen.Full.Dir}, gen.Incrementals[0].Dir, gen.Incrementals[1].Dir) {
		seen = append(seen, exportImages{filepath.Base(e), readImages(t, root, e)})
	}
	if int64(len(seen[0].images)) != gen.Full.ItemCount || int64(len(seen[1].images)) != gen.Incrementals[0].ItemCount {
		t.Fatalf("read %d and %d lines, the generator wrote %d and %d", len(seen[0].images), len(seen[1].images), gen.Full.ItemCount, gen.Incrementals[0].ItemCount)
	}
	final, err := testutil.ReadExpected(gen.Incrementals[1].ExpectedPath, key)
	if err != nil {
		t.Fatal(err)
	}

	modules := buildExamplePlugins(t)
	cache := filepath.Join(t.TempDir(), "plugin-cache")
	for _, p := range examplePlugins {
		for _, lang := range []string{"go", "rust"} {
			wasm, ok := modules[p.name+"/"+lang]
			if !ok {
				continue
			}
			t.Run(p.name+"/"+lang, func(t *testing.T) {
				wh := filepath.Join(t.TempDir(), "wh")
				code, stdout, stderr := floe(t, "run",
					"--export", gen.Full.Dir, "--export", gen.Incrementals[0].Dir, "--export", gen.Incrementals[1].Dir,
					"--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk", "--progress", "never",
					"--plugin", wasm, "--plugin-config", p.config, "--plugin-cache", cache)
				if code != 0 {
					t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
				}

				// The summary: one line of counts per export, exactly
				// as the transform predicts.
				counts := pluginCounts(t, stdout)
				attrs := map[string]bool{}
				totalDropped := 0
				for _, e := range seen {
					in, dropped := len(e.images), 0
					for _, img := range e.images {
						if img == nil {
							continue // a delete: kept, never seen by the plugin
						}
						out, keep := p.apply(img.Clone())
						if !keep {
							dropped++
							continue
						}
						for _, a := range out {
							attrs[string(a.Name)] = true
						}
					}
					totalDropped += dropped
					got, ok := counts[e.id]
					if !ok {
						t.Fatalf("no plugin counts for export %s in the summary:\n%s", e.id, stdout)
					}
					want := pluginCount{in: in, kept: in - dropped, dropped: dropped}
					if got.pluginCount != want {
						t.Errorf("export %s: summary says %d in, %d kept, %d dropped, %d failed; want %d in, %d kept, %d dropped, 0 failed",
							e.id, got.in, got.kept, got.dropped, got.failed, want.in, want.kept, want.dropped)
					}
					if !strings.HasPrefix(got.plugins, p.name+"@1.0.0") {
						t.Errorf("export %s: summary names the plugins %q, want %s@1.0.0", e.id, got.plugins, p.name)
					}
				}
				if p.name == "filter" && totalDropped == 0 {
					t.Fatal("the generated history has no CANCELLED item for filter to drop")
				}
				if strings.Contains(stdout, "dead-letter stream") {
					t.Errorf("summary reports dead letters:\n%s", stdout)
				}

				// The table: the final state, transformed, row by row.
				var want []ddb.Item
				for _, it := range final {
					if out, keep := p.apply(it.Clone()); keep {
						want = append(want, out)
					}
				}
				if p.name == "filter" && len(want) == len(final) {
					t.Fatal("no item of the final state is CANCELLED: the filter case tests nothing")
				}
				if d := testutil.Diff(readTable(t, wh), want, key, 10); d != "" {
					t.Error(d)
				}

				// The columns: exactly the attributes of the images as
				// the plugin left them, over the three exports.
				fields := tableAttributes(t, wh)
				for _, name := range p.absent {
					if fields[name] {
						t.Errorf("the table has a column for %q", name)
					}
				}
				for _, name := range p.present {
					if !fields[name] {
						t.Errorf("the table has no column for %q", name)
					}
				}
				for name := range fields {
					if !attrs[name] {
						t.Errorf("the table has a column for %q, which no item as the plugin left it has", name)
					}
				}
				for name := range attrs {
					if !fields[name] {
						t.Errorf("the table has no column for %q", name)
					}
				}
			})
		}
	}
}

// pluginCount is one export's line of plugin counts in a run summary.
type pluginCount struct{ in, kept, dropped, failed int }

// pluginCounts parses the run summary's "export ID: ..." lines, each
// followed by "  plugins P: N items in: K kept, D dropped, F failed", by
// export id.
func pluginCounts(t *testing.T, stdout string) map[string]struct {
	pluginCount
	plugins string
} {
	t.Helper()
	re := regexp.MustCompile(`(?m)^export (\S+): .*\n  plugins (.*): (\d+) items in: (\d+) kept, (\d+) dropped, (\d+) failed$`)
	out := map[string]struct {
		pluginCount
		plugins string
	}{}
	for _, m := range re.FindAllStringSubmatch(stdout, -1) {
		n := make([]int, 4)
		for i := range n {
			n[i], _ = strconv.Atoi(m[3+i])
		}
		out[m[1]] = struct {
			pluginCount
			plugins string
		}{pluginCount{n[0], n[1], n[2], n[3]}, m[2]}
	}
	return out
}

// readImages returns what the plugins see of an export, line by line in
// manifest order: a full export's items, an incremental export's new
// images, nil for a delete.
func readImages(t *testing.T, root, dir string) []ddb.Item {
	t.Helper()
	var out []ddb.Item
	dec := ddb.NewJSONDecoder()
	for _, m := range readManifest(t, dir) {
		f, err := os.Open(dataPath(root, m))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := ddb.NewGzipReader(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := ddb.NewLineReader(zr, 0)
		for {
			line, err := lines.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rec, err := dec.Decode(line)
			if errors.Is(err, ddb.ErrNoRecord) {
				continue
			}
			if err != nil {
				t.Fatalf("%s line %d: %v", f.Name(), lines.Line(), err)
			}
			if rec.Item != nil {
				out = append(out, rec.Item.Clone())
			} else {
				out = append(out, rec.NewImage.Clone()) // nil for a delete
			}
		}
		zr.Close()
		f.Close()
	}
	return out
}

// tableAttributes returns the attribute names of table ddb.orders's floe
// schema: one per column.
func tableAttributes(t *testing.T, wh string) map[string]bool {
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
	s, err := schema.Parse([]byte(tbl.Properties()[committer.PropSchema]), nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range s.Fields {
		names[f.Name] = true
	}
	return names
}

// buildExamplePlugins builds every example plugin once, in Go and, when
// Debian's Rust toolchain with the wasm32 standard library is installed
// (FLOE_PLUGINS_REQUIRE=1 makes its absence a failure), in Rust, as
// plugins/build-go.sh and plugins/build-rust.sh do. It returns the
// modules by "<name>/<lang>".
// buildExamplePlugins returns the example plugins' modules by
// "name/lang": those make plugins built into $FLOE_PLUGINS_DIR (as make
// test does), or else built here with the same scripts.
func buildExamplePlugins(t *testing.T) map[string]string {
	t.Helper()
	langs := []string{"go", "rust"}
	if why := rustToolchainMissing(); why != "" {
		if os.Getenv("FLOE_PLUGINS_REQUIRE") == "1" {
			t.Fatalf("FLOE_PLUGINS_REQUIRE=1 but %s", why)
		}
		t.Logf("skipping the Rust plugins: %s", why)
		langs = langs[:1]
	}
	dir := os.Getenv("FLOE_PLUGINS_DIR")
	if dir == "" {
		dir = t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		for _, lang := range langs {
			if err := run(exec.CommandContext(ctx, "bash", "../../plugins/build-"+lang+".sh", dir)); err != nil {
				t.Fatal(err)
			}
		}
	}
	modules := map[string]string{}
	for _, p := range examplePlugins {
		for _, lang := range langs {
			out := filepath.Join(dir, p.name+"-"+lang+".wasm")
			if _, err := os.Stat(out); err != nil {
				t.Fatalf("example plugin %s in %s: %v (make plugins builds it)", p.name, lang, err)
			}
			modules[p.name+"/"+lang] = out
		}
	}
	return modules
}

// run runs cmd, returning its output with its error.
func run(cmd *exec.Cmd) error {
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, b)
	}
	return nil
}

// rustToolchainMissing says what is missing of Debian's Rust toolchain
// with the wasm32 standard library, or "".
func rustToolchainMissing() string {
	for _, p := range []string{"/usr/bin/rustc", "/usr/bin/cargo"} {
		if _, err := os.Stat(p); err != nil {
			return p + " is missing (make plugins-rust installs it, or apt-get install rustc cargo libstd-rust-dev-wasm32)"
		}
	}
	sysroot, err := exec.Command("/usr/bin/rustc", "--print", "sysroot").Output()
	if err != nil {
		return "/usr/bin/rustc --print sysroot: " + err.Error()
	}
	lib := filepath.Join(strings.TrimSpace(string(sysroot)), "lib", "rustlib", "wasm32-unknown-unknown", "lib")
	if libs, _ := filepath.Glob(filepath.Join(lib, "libstd-*.rlib")); len(libs) == 0 {
		return "the wasm32-unknown-unknown standard library is missing from " + lib + " (apt-get install libstd-rust-dev-wasm32)"
	}
	return ""
}
