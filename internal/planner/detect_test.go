package planner

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/schema"
)

// generate writes a small export: a full one of items items in files data
// files (one of them empty), and one incremental export.
func generate(t *testing.T, items, files int) (string, *exportgen.Result) {
	t.Helper()
	dir := t.TempDir()
	res, err := exportgen.Generate(testCtx(t), exportgen.Options{
		Dir: dir, Items: items, Files: files, Seed: 7, Incrementals: 1, ChangesPerIncremental: 20,
		SkipExpected: true, Workers: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

func TestDetect(t *testing.T) {
	dir, gen := generate(t, 500, 3)
	aws := filepath.Join(dir, "AWSDynamoDB")
	tests := []struct {
		name    string
		export  string
		key     []string
		workers int
	}{
		{"AWSDynamoDB parent (incremental skipped)", aws, []string{"pk", "sk"}, 2},
		{"full export folder", gen.Full.Dir, []string{"pk", "sk"}, 1},
		{"more workers than files", gen.Full.Dir, []string{"pk", "sk"}, 8},
		{"no workers means one", aws, []string{"pk", "sk"}, 0},
		{"sort key given first", aws, []string{"sk", "pk"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Detect(testCtx(t), Options{Table: "ddb.orders", Export: tt.export, Key: tt.key}, tt.workers)
			if err != nil {
				t.Fatal(err)
			}
			if res.Items != 500 || res.Items != gen.Full.ItemCount {
				t.Errorf("Items = %d, want 500", res.Items)
			}
			if res.Files != gen.Full.Files || res.Files != 3 {
				t.Errorf("Files = %d, want %d", res.Files, gen.Full.Files)
			}
			s := res.Schema
			if !slices.Equal(s.Key, tt.key) {
				t.Errorf("schema key %v, want %v", s.Key, tt.key)
			}
			if len(s.Fields) < 4 || s.Fields[0].Name != tt.key[0] || s.Fields[1].Name != tt.key[1] {
				t.Fatalf("schema does not start with the key %v: %v", tt.key, fieldNames(s))
			}
			wantTypes := map[string]schema.Type{
				"pk":       {Kind: ddb.S},
				"sk":       {Kind: ddb.S},
				"amount":   {Kind: ddb.N, Num: schema.NumDecimal, Scale: 2},
				"quantity": {Kind: ddb.N, Num: schema.NumLong},
				"status":   {Kind: ddb.S},
			}
			for name, want := range wantTypes {
				f := s.Field(name)
				if f == nil {
					t.Errorf("no attribute %q in %v", name, fieldNames(s))
					continue
				}
				if f.Type.Kind != want.Kind || f.Type.Num != want.Num || f.Type.Scale != want.Scale {
					t.Errorf("%s: type %v %s(%d), want %v %s(%d)", name, f.Type.Kind, f.Type.Num, f.Type.Scale, want.Kind, want.Num, want.Scale)
				}
				if f.Column != name {
					t.Errorf("%s: column %q, want the name as is", name, f.Column)
				}
			}
			if err := s.Validate(); err != nil {
				t.Errorf("detected schema is not valid: %v", err)
			}
			if _, err := s.Iceberg(); err != nil {
				t.Errorf("detected schema has no Iceberg schema: %v", err)
			}
		})
	}
}

// TestDetectIsDeterministic: the column order must not depend on which
// worker finished first.
func TestDetectIsDeterministic(t *testing.T) {
	dir, _ := generate(t, 300, 4)
	o := Options{Table: "ddb.orders", Export: filepath.Join(dir, "AWSDynamoDB"), Key: []string{"pk", "sk"}}
	var first []string
	for i := range 3 {
		res, err := Detect(testCtx(t), o, 1+i*2)
		if err != nil {
			t.Fatal(err)
		}
		names := fieldNames(res.Schema)
		if i == 0 {
			first = names
			continue
		}
		if !slices.Equal(names, first) {
			t.Fatalf("run %d columns %v differ from run 0's %v", i, names, first)
		}
	}
}

func TestDetectErrors(t *testing.T) {
	tests := []struct {
		name string
		// damage changes the generated export and returns what the error
		// must mention.
		damage  func(t *testing.T, gen *exportgen.Result) (Options, []string)
		wantErr bool
	}{
		{"corrupt data file", func(t *testing.T, gen *exportgen.Result) (Options, []string) {
			f := firstDataFile(t, gen.Full.Dir)
			if err := os.WriteFile(f, []byte("this is not gzip at all, but long enough to look like a file"), 0o644); err != nil {
				t.Fatal(err)
			}
			return Options{Table: "ddb.orders", Export: gen.Full.Dir, Key: []string{"pk", "sk"}}, []string{filepath.Base(f)}
		}, true},
		{"truncated data file", func(t *testing.T, gen *exportgen.Result) (Options, []string) {
			f := firstDataFile(t, gen.Full.Dir)
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, data[:len(data)/2], 0o644); err != nil {
				t.Fatal(err)
			}
			return Options{Table: "ddb.orders", Export: gen.Full.Dir, Key: []string{"pk", "sk"}}, []string{filepath.Base(f), "MD5"}
		}, true},
		{"missing data file", func(t *testing.T, gen *exportgen.Result) (Options, []string) {
			f := firstDataFile(t, gen.Full.Dir)
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
			return Options{Table: "ddb.orders", Export: gen.Full.Dir, Key: []string{"pk", "sk"}}, []string{filepath.Base(f)}
		}, true},
		{"key not in the export", func(t *testing.T, gen *exportgen.Result) (Options, []string) {
			return Options{Table: "ddb.orders", Export: gen.Full.Dir, Key: []string{"orderId"}}, []string{`"orderId"`, "--key"}
		}, true},
		{"no key", func(t *testing.T, gen *exportgen.Result) (Options, []string) {
			return Options{Table: "ddb.orders", Export: gen.Full.Dir}, []string{"--key"}
		}, true},
		{"only incremental exports", func(t *testing.T, gen *exportgen.Result) (Options, []string) {
			return Options{Table: "ddb.orders", Export: gen.Incrementals[0].Dir, Key: []string{"pk", "sk"}}, []string{"no full export"}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, gen := generate(t, 200, 2)
			o, want := tt.damage(t, gen)
			res, err := Detect(testCtx(t), o, 2)
			if err == nil {
				t.Fatalf("Detect succeeded (%d items), want an error", res.Items)
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// firstDataFile returns the largest data file of an export folder, so
// damage to it is never to an empty partition.
func firstDataFile(t *testing.T, exportDir string) string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(exportDir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	var best string
	var size int64 = -1
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > size {
			best, size = filepath.Join(exportDir, "data", e.Name()), fi.Size()
		}
	}
	if best == "" {
		t.Fatalf("no data files in %s", exportDir)
	}
	return best
}

func fieldNames(s *schema.Schema) []string {
	var out []string
	for _, f := range s.Fields {
		out = append(out, f.Name)
	}
	return out
}
