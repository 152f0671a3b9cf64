package transformer_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/export"
	"github.com/floe-io/floe/internal/exportgen"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/transformer"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// localStore is the store plans of local exports name: Source "/".
func localStore(t *testing.T) objstore.Store {
	t.Helper()
	st, _, err := objstore.Parse(testCtx(t), "/", objstore.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// exportFiles loads the export in dir and returns its format and files as
// a plan lists them.
func exportFiles(t *testing.T, st objstore.Store, dir string) (string, []natsbus.File) {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := export.Load(testCtx(t), st, filepath.ToSlash(abs))
	if err != nil {
		t.Fatal(err)
	}
	var files []natsbus.File
	for i, f := range e.Files {
		files = append(files, natsbus.File{Index: i, Key: f.Key, ItemCount: f.ItemCount, MD5: f.MD5})
	}
	return e.Summary.OutputFormat, files
}

func generate(t *testing.T, o exportgen.Options) *exportgen.Result {
	t.Helper()
	o.Dir, o.Seed, o.SkipExpected, o.Workers = t.TempDir(), 11, true, 1
	res, err := exportgen.Generate(testCtx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

const fixtures = "../internal/export/testdata"

// readFile is transformer.ReadFile with the decoder for format.
func readFile(ctx context.Context, st objstore.Store, format string, f natsbus.File, fn func(ddb.Record, int, []byte) error) error {
	dec, err := transformer.NewDecoder(format)
	if err != nil {
		return err
	}
	return transformer.ReadFile(ctx, st, dec, f, fn)
}

func TestReadFile(t *testing.T) {
	st := localStore(t)
	json := generate(t, exportgen.Options{Items: 300, Files: 3, Incrementals: 1, ChangesPerIncremental: 40})
	ion := generate(t, exportgen.Options{Items: 200, Files: 2, Format: exportgen.FormatIon, Incrementals: 1, ChangesPerIncremental: 30})
	tests := []struct {
		name        string
		dir         string
		format      string // passed to ReadFile; "" for the export's own
		wantItems   int64
		wantBytes   int64 // -1: not known
		incremental bool
	}{
		{"generated JSON", json.Full.Dir, "", json.Full.ItemCount, json.Full.Bytes, false},
		{"generated JSON, format defaulted", json.Full.Dir, "-", json.Full.ItemCount, json.Full.Bytes, false},
		{"generated JSON incremental", json.Incrementals[0].Dir, "", json.Incrementals[0].ItemCount, json.Incrementals[0].Bytes, true},
		{"generated ION", ion.Full.Dir, "", ion.Full.ItemCount, ion.Full.Bytes, false},
		{"generated ION incremental", ion.Incrementals[0].Dir, "", ion.Incrementals[0].ItemCount, ion.Incrementals[0].Bytes, true},
		{"JSON fixture", fixtures + "/exports/AWSDynamoDB/01704067500000-a1b2c3d4", "", 3, -1, false},
		{"ION fixture", fixtures + "/ion/AWSDynamoDB/01704067600000-1e2d3c4b", "", 2, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format, files := exportFiles(t, st, tt.dir)
			switch tt.format {
			case "":
			case "-":
				format = ""
			default:
				format = tt.format
			}
			var items, bytes int64
			for _, f := range files {
				var n int64
				lastLine := 0
				err := readFile(testCtx(t), st, format, f, func(rec ddb.Record, line int, raw []byte) error {
					size := len(raw) + 1
					n++
					bytes += int64(size)
					if line <= lastLine {
						t.Fatalf("%s: line %d after line %d", f.Key, line, lastLine)
					}
					lastLine = line
					if size < 2 {
						t.Fatalf("%s line %d: %d bytes", f.Key, line, size)
					}
					if tt.incremental {
						if rec.Item != nil || len(rec.Keys) == 0 || rec.WriteTimestampMicros == 0 {
							t.Fatalf("%s line %d: incremental record %+v", f.Key, line, rec)
						}
					} else if len(rec.Item) == 0 {
						t.Fatalf("%s line %d: full export record without an item", f.Key, line)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("ReadFile %s: %v", f.Key, err)
				}
				if n != f.ItemCount {
					t.Errorf("%s: %d items read, manifest says %d", f.Key, n, f.ItemCount)
				}
				items += n
			}
			if items != tt.wantItems {
				t.Errorf("%d items, want %d", items, tt.wantItems)
			}
			if tt.wantBytes >= 0 && bytes != tt.wantBytes {
				t.Errorf("%d line bytes, want %d", bytes, tt.wantBytes)
			}
		})
	}
}

// TestReadFileErrors: every failure names the file, and failures of the
// file's content are permanent (retrying cannot fix them).
func TestReadFileErrors(t *testing.T) {
	st := localStore(t)
	gen := generate(t, exportgen.Options{Items: 300, Files: 2})
	format, files := exportFiles(t, st, gen.Full.Dir)
	good := files[0]
	if good.ItemCount == 0 {
		good = files[1]
	}
	with := func(change func(f *natsbus.File)) natsbus.File {
		f := good
		change(&f)
		return f
	}
	zeroMD5 := base64.StdEncoding.EncodeToString(make([]byte, md5.Size))

	// A copy of the good file with one byte of its gzip trailer changed.
	damaged := filepath.Join(t.TempDir(), "damaged.json.gz")
	data, err := os.ReadFile(good.Key)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-5] ^= 0x01 // inside the CRC32 of the gzip trailer
	if err := os.WriteFile(damaged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// Garbage that is not gzip, with its right MD5.
	garbage := filepath.Join(t.TempDir(), "garbage.json.gz")
	gdata := []byte("{\"Item\":{\"pk\":{\"S\":\"not compressed\"}}}\n")
	if err := os.WriteFile(garbage, gdata, 0o644); err != nil {
		t.Fatal(err)
	}
	gsum := md5.Sum(gdata)

	_, corrupt := exportFiles(t, st, fixtures+"/corrupt-data/AWSDynamoDB/01704067500000-a1b2c3d4")
	_, truncated := exportFiles(t, st, fixtures+"/truncated-data/AWSDynamoDB/01704067500000-a1b2c3d4")
	_, ionFixture := exportFiles(t, st, fixtures+"/ion/AWSDynamoDB/01704067600000-1e2d3c4b")

	tests := []struct {
		name      string
		format    string
		file      natsbus.File
		permanent bool
		want      []string // substrings of the error
	}{
		{"one item more in the manifest", format, with(func(f *natsbus.File) { f.ItemCount++ }), true,
			[]string{good.Key, "holds", "manifest-files.json says"}},
		{"one item less in the manifest", format, with(func(f *natsbus.File) { f.ItemCount-- }), true,
			[]string{good.Key, "manifest-files.json says"}},
		{"wrong MD5", format, with(func(f *natsbus.File) { f.MD5 = zeroMD5 }), true,
			[]string{good.Key, "MD5"}},
		{"MD5 of another file", format, with(func(f *natsbus.File) { f.MD5 = files[1-good.Index].MD5 }), true,
			[]string{good.Key, "MD5"}},
		{"missing file", format, with(func(f *natsbus.File) { f.Key = filepath.ToSlash(filepath.Join(t.TempDir(), "gone.json.gz")) }), true,
			[]string{"gone.json.gz", "not found"}},
		{"damaged gzip trailer", format, with(func(f *natsbus.File) { f.Key = filepath.ToSlash(damaged) }), true,
			[]string{"damaged.json.gz", "MD5"}},
		{"not gzip", format, natsbus.File{Key: filepath.ToSlash(garbage), ItemCount: 1, MD5: base64.StdEncoding.EncodeToString(gsum[:])}, true,
			[]string{"garbage.json.gz"}},
		{"corrupt fixture", "DYNAMODB_JSON", corrupt[0], true, []string{corrupt[0].Key, "MD5"}},
		{"truncated fixture", "DYNAMODB_JSON", truncated[0], true, []string{truncated[0].Key}},
		{"ION read as JSON", "DYNAMODB_JSON", ionFixture[0], true, []string{ionFixture[0].Key, "line 1"}},
		{"unknown format", "CSV", good, true, []string{"CSV"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var items int
			err := readFile(testCtx(t), st, tt.format, tt.file, func(ddb.Record, int, []byte) error {
				items++
				return nil
			})
			if err == nil {
				t.Fatalf("ReadFile succeeded (%d items), want an error", items)
			}
			if got := transformer.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tt.permanent)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestReadFileTransient: failures that are not the file's fault may pass
// on retry, so they must not be reported permanent; callers see their
// cause.
func TestReadFileTransient(t *testing.T) {
	st := localStore(t)
	gen := generate(t, exportgen.Options{Items: 50, Files: 1})
	_, files := exportFiles(t, st, gen.Full.Dir)
	errPublish := errors.New("nats: timeout")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		fn   func(ddb.Record, int, []byte) error
		is   error
	}{
		{"context canceled", canceled, func(ddb.Record, int, []byte) error { return nil }, context.Canceled},
		{"callback fails on the first line", testCtx(t), func(ddb.Record, int, []byte) error { return errPublish }, errPublish},
		{"callback fails later", testCtx(t), func(_ ddb.Record, line int, _ []byte) error {
			if line == 20 {
				return errPublish
			}
			return nil
		}, errPublish},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readFile(tt.ctx, st, "", files[0], tt.fn)
			if !errors.Is(err, tt.is) {
				t.Fatalf("ReadFile error %v, want %v", err, tt.is)
			}
			if transformer.IsPermanent(err) {
				t.Errorf("IsPermanent(%q) = true for a failure that is not the file's", err)
			}
		})
	}
}
