package transformer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/plugins"
)

// BenchmarkPluginOverhead measures what a plugin adds per item to the
// transformer's hot loop, on the generator's order items: each iteration
// decodes the same lines once straight into a sink and once through a
// feed and a plugin chain, and reports both and their difference
// (overhead-ns/item). Interleaving the two keeps a busy machine's drift
// out of the difference.
//
// "pass-through" is the Rust filter example on a value no item has: it
// keeps every item unchanged, the cheapest useful plugin. "mask" is the
// Rust mask example on the email attribute.
func BenchmarkPluginOverhead(b *testing.B) {
	lines := orderLines(b, 4096)
	for _, bc := range []struct{ name, wasm, config string }{
		{"pass-through", "filter-rust.wasm", `{"attribute":"status","equals":"NO-SUCH-STATUS"}`},
		{"mask", "mask-rust.wasm", `{"attributes":["email"]}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			st := loadExample(b, bc.wasm, bc.config)
			chain := plugins.NewChain([]plugins.Stage{st}, plugins.ChainOptions{})
			defer chain.Close(ctx)
			dec := ddb.NewJSONDecoder()
			var sink int
			touch := func(it ddb.Item) {
				for _, a := range it {
					sink += len(a.Name) + len(a.Value.Bytes)
				}
			}
			fd := &feed{chain: chain, dec: dec, key: []string{"pk", "sk"}, fn: func(_ ddb.Item, _ fedItem, _ []byte, o *plugins.Outcome) error {
				for _, it := range o.Items {
					touch(it)
				}
				return nil
			}}
			var base, with time.Duration
			for b.Loop() {
				t0 := time.Now()
				for _, line := range lines {
					rec, err := dec.Decode(line)
					if err != nil {
						b.Fatal(err)
					}
					touch(rec.Item)
				}
				t1 := time.Now()
				for i, line := range lines {
					rec, err := dec.Decode(line)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := fd.add(ctx, rec.Item, i+1, line, 0); err != nil {
						b.Fatal(err)
					}
				}
				if err := fd.flush(ctx); err != nil {
					b.Fatal(err)
				}
				base, with = base+t1.Sub(t0), with+time.Since(t1)
			}
			n := float64(b.N * len(lines))
			b.ReportMetric(float64(base.Nanoseconds())/n, "base-ns/item")
			b.ReportMetric(float64(with.Nanoseconds())/n, "plugin-ns/item")
			b.ReportMetric(float64((with-base).Nanoseconds())/n, "overhead-ns/item")
			if sink == 0 {
				b.Fatal("the sink saw no bytes")
			}
		})
	}
}

// orderLines returns the first n lines of a generated full export.
func orderLines(b *testing.B, n int) [][]byte {
	b.Helper()
	res, err := exportgen.Generate(context.Background(), exportgen.Options{Dir: b.TempDir(), Items: n, Seed: 7, SkipExpected: true, Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(res.Full.Dir, "data", "*.json.gz"))
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		gz, err := ddb.NewGzipReader(f)
		if err != nil {
			b.Fatal(err)
		}
		lr := ddb.NewLineReader(gz, 1<<20)
		for {
			line, err := lr.Next()
			if err != nil {
				break
			}
			if len(line) > 0 {
				lines = append(lines, append([]byte(nil), line...))
			}
		}
		_ = gz.Close()
		_ = f.Close()
	}
	if len(lines) != n {
		b.Fatalf("read %d lines of the generated export, want %d", len(lines), n)
	}
	return lines
}

// loadExample loads an example plugin built by make plugins (bin/plugins,
// or FLOE_PLUGINS_DIR), skipping the benchmark when it is not there.
func loadExample(b *testing.B, wasm, config string) plugins.Stage {
	b.Helper()
	dir := os.Getenv("FLOE_PLUGINS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "bin", "plugins")
	}
	path := filepath.Join(dir, wasm)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("FLOE_PLUGINS_REQUIRE") == "1" {
			b.Fatalf("%v: run make plugins", err)
		}
		b.Skipf("%v: run make plugins", err)
	}
	st, err := plugins.Load(context.Background(), path, []byte(config), plugins.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Runtime.Close(context.Background()) })
	return st
}
