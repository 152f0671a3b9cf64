package export

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floe-io/floe/internal/objstore"
)

// fixtureStore opens testdata/ as a store the way the CLI would (Parse on a
// local path), returning the store and the key of testdata/.
func fixtureStore(t *testing.T) (objstore.Store, string) {
	t.Helper()
	st, root, err := objstore.Parse(t.Context(), "testdata", objstore.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st, root
}

func TestLocal(t *testing.T) {
	st, root := fixtureStore(t)
	runSuite(t, st, root)
}

// runSuite runs every fixture-based test against st, where root is the key
// holding a copy of testdata/.
func runSuite(t *testing.T, st objstore.Store, root string) {
	t.Run("Load", func(t *testing.T) { testLoad(t, st, root) })
	t.Run("LoadErrors", func(t *testing.T) { testLoadErrors(t, st, root) })
	t.Run("Discover", func(t *testing.T) { testDiscover(t, st, root) })
	t.Run("DiscoverNeverListsData", func(t *testing.T) { testDiscoverNeverListsData(t, st, root) })
	t.Run("OpenData", func(t *testing.T) { testOpenData(t, st, root) })
	t.Run("OpenDataErrors", func(t *testing.T) { testOpenDataErrors(t, st, root) })
}

func exportDir(root, set, id string) string { return root + "/" + set + "/" + AWSDir + "/" + id }

func testLoad(t *testing.T, st objstore.Store, root string) {
	type wantFile struct {
		key, manifestKey string
		items, size      int64
	}
	tests := []struct {
		set, id     string
		incremental bool
		exportType  string
		format      string
		view        string
		exportTime  string
		from, to    string
		itemCount   int64
		files       []wantFile
	}{
		{
			set: "exports", id: idFull, exportType: TypeFull, format: FormatDynamoDBJSON,
			exportTime: "2024-01-01T00:05:00Z", itemCount: 3,
			files: []wantFile{
				{"exports/AWSDynamoDB/" + idFull + "/data/qmz3kd7hv4alrbx2y5ojtnwefu.json.gz", "exports/AWSDynamoDB/" + idFull + "/data/qmz3kd7hv4alrbx2y5ojtnwefu.json.gz", 3, -1},
				{"exports/AWSDynamoDB/" + idFull + "/data/x7c2fa9kpl3mzeqd6ruvhbs1yo.json.gz", "exports/AWSDynamoDB/" + idFull + "/data/x7c2fa9kpl3mzeqd6ruvhbs1yo.json.gz", 0, 20},
			},
		},
		{
			set: "exports", id: idInc1, incremental: true, exportType: TypeIncremental, format: FormatDynamoDBJSON,
			view: ViewNewAndOldImages, from: "2024-01-01T00:05:00Z", to: "2024-01-01T01:05:00Z", itemCount: 3,
			files: []wantFile{
				{"exports/AWSDynamoDB/data/b4n7tqs2lkw9xzr3mv5ceduh8a.json.gz", "exports/AWSDynamoDB/data/b4n7tqs2lkw9xzr3mv5ceduh8a.json.gz", 3, 0},
			},
		},
		{
			set: "exports", id: idInc2, incremental: true, exportType: TypeIncremental, format: FormatDynamoDBJSON,
			view: ViewNewImage, from: "2024-01-01T01:05:00Z", to: "2024-01-01T02:05:00Z", itemCount: 2,
			files: []wantFile{
				{"exports/AWSDynamoDB/data/h2w6pyd8nq4fkzt1ls7mva3rcj.json.gz", "exports/AWSDynamoDB/data/h2w6pyd8nq4fkzt1ls7mva3rcj.json.gz", 2, 0},
				{"exports/AWSDynamoDB/data/r9e5gk2ubm7xtq4zwc8nfy1dsh.json.gz", "exports/AWSDynamoDB/data/r9e5gk2ubm7xtq4zwc8nfy1dsh.json.gz", 0, 0},
			},
		},
		{
			set: "ion", id: idION, exportType: TypeFull, format: FormatION,
			exportTime: "2024-01-01T00:06:00Z", itemCount: 2,
			files: []wantFile{
				{"ion/AWSDynamoDB/" + idION + "/data/t3k8zq1mwp6dvr2nyc9lsfx4be.ion.gz", "exports/AWSDynamoDB/" + idION + "/data/t3k8zq1mwp6dvr2nyc9lsfx4be.ion.gz", 2, -1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.set+"/"+tt.id, func(t *testing.T) {
			dir := exportDir(root, tt.set, tt.id)
			for _, d := range []string{dir, dir + "/"} {
				e, err := Load(t.Context(), st, d)
				if err != nil {
					t.Fatalf("Load(%q): %v", d, err)
				}
				if e.ID != tt.id || e.Dir != dir || e.Location != objstore.Location(st, dir) {
					t.Errorf("ID, Dir, Location = %q, %q, %q; want %q, %q, %q", e.ID, e.Dir, e.Location, tt.id, dir, objstore.Location(st, dir))
				}
				s := e.Summary
				if e.Incremental() != tt.incremental || s.ExportType != tt.exportType || s.OutputFormat != tt.format || s.OutputView != tt.view {
					t.Errorf("incremental, type, format, view = %v, %q, %q, %q; want %v, %q, %q, %q",
						e.Incremental(), s.ExportType, s.OutputFormat, s.OutputView, tt.incremental, tt.exportType, tt.format, tt.view)
				}
				if got := timeOrEmpty(s.ExportTime); got != tt.exportTime {
					t.Errorf("ExportTime = %q, want %q", got, tt.exportTime)
				}
				if got := timeOrEmpty(s.ExportFromTime) + ".." + timeOrEmpty(s.ExportToTime); got != tt.from+".."+tt.to {
					t.Errorf("from..to = %q, want %q", got, tt.from+".."+tt.to)
				}
				if s.ItemCount != tt.itemCount || s.TableName() != "Orders" || s.TableArn != fixtureTableArn ||
					!strings.HasSuffix(s.ExportArn, "/export/"+tt.id) || s.StartTime.IsZero() || s.EndTime.IsZero() || s.BilledSizeBytes <= 0 {
					t.Errorf("summary = %+v", s)
				}
				if len(e.Files) != len(tt.files) {
					t.Fatalf("got %d files, want %d", len(e.Files), len(tt.files))
				}
				for i, w := range tt.files {
					f := e.Files[i]
					if f.Key != root+"/"+w.key || f.ManifestKey != w.manifestKey || f.ItemCount != w.items || f.MD5 == "" || f.ETag == "" {
						t.Errorf("file %d = %+v; want key %q, manifest key %q, %d items", i, f, root+"/"+w.key, w.manifestKey, w.items)
					}
					wantSize := w.size
					if wantSize < 0 { // full export: the real size, whatever gzip made of it
						info, err := st.Stat(t.Context(), f.Key)
						if err != nil {
							t.Fatal(err)
						}
						wantSize = info.Size
					}
					if f.Size != wantSize {
						t.Errorf("file %d size = %d, want %d", i, f.Size, wantSize)
					}
				}
			}
		})
	}
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func testLoadErrors(t *testing.T, st objstore.Store, root string) {
	tests := []struct {
		set, id string
		is      []error  // sentinels the error must wrap
		want    []string // fragments the message must contain
	}{
		{"exports", idRunning, []error{ErrIncomplete}, []string{"manifest-summary.json not found but _started exists", "still running"}},
		{"exports", "01700000000000-deadbeef", []error{ErrIncomplete, objstore.ErrNotFound},
			[]string{"manifest-summary.json not found: the export is missing or incomplete (DynamoDB writes the manifests last; wait for the export to finish or point --export at the export folder)"}},
		{"missing-files-manifest", idFull, []error{objstore.ErrNotFound}, []string{"manifest-files.json not found although manifest-summary.json exists", "copy the whole folder again"}},
		{"missing-checksum", idFull, []error{objstore.ErrNotFound}, []string{"manifest-files.json: neither manifest-files.md5 nor manifest-files.checksum found"}},
		{"summary-md5-mismatch", idFull, []error{ErrChecksum}, []string{"manifest-summary.json: MD5 mismatch (manifest-summary.md5 says ", ", content hashes to ", "): the manifest is corrupt or was modified"}},
		{"files-md5-mismatch", idFull, []error{ErrChecksum}, []string{"manifest-files.json: MD5 mismatch (manifest-files.md5 says "}},
		{"count-mismatch", idFull, nil, []string{"manifest-files.json lists 3 items in 2 files but manifest-summary.json says itemCount 4"}},
		{"missing-data", idFull, []error{objstore.ErrNotFound}, []string{"x7c2fa9kpl3mzeqd6ruvhbs1yo.json.gz listed in manifest-files.json is missing"}},
		{"foreign-data-key", idFull, nil, []string{"01600000000000-ffffffff/data/", "is not under AWSDynamoDB/" + idFull + "/data/"}},
		{"escaping-data-key", idFull, nil, []string{"secret.json.gz", "is not under AWSDynamoDB/" + idFull + "/data/"}},
	}
	for _, tt := range tests {
		t.Run(tt.set+"/"+tt.id, func(t *testing.T) {
			dir := exportDir(root, tt.set, tt.id)
			e, err := Load(t.Context(), st, dir)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", e)
			}
			msg := err.Error()
			if prefix := "export " + objstore.Location(st, dir) + ": "; !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			for _, s := range tt.is {
				if !errors.Is(err, s) {
					t.Errorf("error %q does not wrap %v", msg, s)
				}
			}
			if !slices.Contains(tt.is, error(ErrIncomplete)) && errors.Is(err, ErrIncomplete) {
				t.Errorf("error %q wraps ErrIncomplete, so Discover would skip a broken export", msg)
			}
		})
	}
}

func ids(exports []*Export) []string {
	var out []string
	for _, e := range exports {
		out = append(out, e.ID)
	}
	return out
}

func testDiscover(t *testing.T, st objstore.Store, root string) {
	all := []string{idFull, idInc1, idInc2}
	tests := []struct {
		key          string
		want         []string
		wantWarnings []string
		wantErr      string
		is           error
	}{
		{key: root + "/exports", want: all, wantWarnings: []string{idRunning + ": manifest-summary.json not found but _started exists"}},
		{key: root + "/exports/", want: all, wantWarnings: []string{idRunning}},
		{key: root + "/exports/AWSDynamoDB", want: all, wantWarnings: []string{idRunning}},
		{key: root + "/exports/AWSDynamoDB/", want: all, wantWarnings: []string{idRunning}},
		{key: exportDir(root, "exports", idInc1), want: []string{idInc1}},
		{key: exportDir(root, "exports", idFull) + "/", want: []string{idFull}},
		{key: exportDir(root, "exports", idRunning), wantErr: "still running", is: ErrIncomplete},
		{key: root + "/count-mismatch", wantErr: "itemCount 4"},
		{key: root + "/files-md5-mismatch/AWSDynamoDB", wantErr: "MD5 mismatch", is: ErrChecksum},
		{key: root + "/nowhere", wantErr: "point --export at an export folder", is: ErrNoExports},
		{key: exportDir(root, "exports", "data"), wantErr: "no exports found", is: ErrNoExports},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.key, root), func(t *testing.T) {
			got, warnings, err := Discover(t.Context(), st, tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Discover error = %v, want it to contain %q", err, tt.wantErr)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %v does not wrap %v", err, tt.is)
				}
				return
			}
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("Discover = %v, want %v", ids(got), tt.want)
			}
			if len(warnings) != len(tt.wantWarnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.wantWarnings))
			}
			for i, w := range tt.wantWarnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q does not contain %q", warnings[i], w)
				}
			}
		})
	}
}

// recordingStore logs listing calls, to prove what Discover lists.
type recordingStore struct {
	objstore.Store
	mu    sync.Mutex
	lists []string
}

func (r *recordingStore) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	r.mu.Lock()
	r.lists = append(r.lists, "List "+prefix)
	r.mu.Unlock()
	return r.Store.List(ctx, prefix)
}

func (r *recordingStore) ListDir(ctx context.Context, prefix string) ([]objstore.ObjectInfo, []string, error) {
	r.mu.Lock()
	r.lists = append(r.lists, "ListDir "+prefix)
	r.mu.Unlock()
	return objstore.ListDir(ctx, r.Store, prefix)
}

func (r *recordingStore) URI(key string) string { return objstore.Location(r.Store, key) }

func testDiscoverNeverListsData(t *testing.T, st objstore.Store, root string) {
	rec := &recordingStore{Store: st}
	if _, _, err := Discover(t.Context(), rec, root+"/exports"); err != nil {
		t.Fatal(err)
	}
	aws := root + "/exports/" + AWSDir + "/"
	want := []string{"ListDir " + aws, "List " + aws + idFull + "/data/"}
	if !slices.Equal(rec.lists, want) {
		t.Errorf("Discover listed %q, want exactly %q (the shared data/ must never be listed)", rec.lists, want)
	}
}

func testOpenData(t *testing.T, st objstore.Store, root string) {
	for _, tc := range []struct{ set, id string }{{"exports", idFull}, {"exports", idInc1}, {"exports", idInc2}, {"ion", idION}} {
		e, err := Load(t.Context(), st, exportDir(root, tc.set, tc.id))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range e.Files {
			t.Run(f.Key[len(root):], func(t *testing.T) {
				r, err := OpenData(t.Context(), st, f)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				zr, err := gzip.NewReader(r)
				if err != nil {
					t.Fatalf("gzip: %v", err)
				}
				var lines int64
				sc := bufio.NewScanner(zr)
				for sc.Scan() {
					lines++
				}
				if err := sc.Err(); err != nil {
					t.Fatalf("reading: %v", err)
				}
				if lines != f.ItemCount {
					t.Errorf("%d lines, manifest says %d", lines, f.ItemCount)
				}
				if err := r.Finish(); err != nil {
					t.Errorf("Finish: %v", err)
				}
				info, err := st.Stat(t.Context(), f.Key)
				if err != nil {
					t.Fatal(err)
				}
				if r.BytesRead() != info.Size {
					t.Errorf("BytesRead = %d, want %d", r.BytesRead(), info.Size)
				}
				if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Errorf("Read after the end = %d, %v; want 0, EOF", n, err)
				}
			})
		}
	}
}

func testOpenDataErrors(t *testing.T, st objstore.Store, root string) {
	good, err := Load(t.Context(), st, exportDir(root, "exports", idFull))
	if err != nil {
		t.Fatal(err)
	}
	gf := good.Files[0]
	loadFile := func(set string) DataFile {
		e, err := Load(t.Context(), st, exportDir(root, set, idFull))
		if err != nil {
			t.Fatalf("Load %s: %v", set, err)
		}
		return e.Files[0]
	}
	withSize := gf
	withSize.Size++
	wrongMD5 := gf
	wrongMD5.MD5 = good.Files[1].MD5
	missing := gf
	missing.Key = gf.Key + ".gone"

	tests := []struct {
		name    string
		file    DataFile
		openErr string // error expected from OpenData itself
		readErr string // error expected while reading
		is      error
	}{
		{name: "corrupt", file: loadFile("corrupt-data"), readErr: "MD5 mismatch: manifest-files.json says ", is: ErrChecksum},
		{name: "truncated", file: loadFile("truncated-data"), readErr: "the file is corrupt or truncated; re-export or restore it", is: ErrChecksum},
		{name: "size differs", file: withSize, readErr: fmt.Sprintf("read %d bytes but the file is %d bytes long", gf.Size, gf.Size+1), is: ErrChecksum},
		{name: "wrong md5", file: wrongMD5, readErr: "MD5 mismatch", is: ErrChecksum},
		{name: "missing", file: missing, openErr: "(listed in manifest-files.json) not found", is: objstore.ErrNotFound},
		{name: "no md5", file: DataFile{Key: gf.Key}, openErr: "not a base64-encoded MD5|missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := OpenData(t.Context(), st, tt.file)
			if tt.openErr != "" {
				if err == nil || !containsAny(err.Error(), tt.openErr) {
					t.Fatalf("OpenData error = %v, want %q", err, tt.openErr)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %v does not wrap %v", err, tt.is)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, err = io.ReadAll(r)
			if err == nil || !strings.Contains(err.Error(), tt.readErr) {
				t.Fatalf("read error = %v, want %q", err, tt.readErr)
			}
			if !strings.HasPrefix(err.Error(), "data file "+objstore.Location(st, tt.file.Key)+": ") {
				t.Errorf("error %q does not name the file first", err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			if _, err2 := r.Read(make([]byte, 10)); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("error is not sticky: next Read gave %v", err2)
			}
			if err := r.Finish(); err == nil {
				t.Error("Finish reported success on a bad file")
			}
		})
	}
	t.Run("finish verifies the unread rest", func(t *testing.T) {
		r, err := OpenData(t.Context(), st, loadFile("corrupt-data"))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Read(make([]byte, 3)); err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(); !errors.Is(err, ErrChecksum) {
			t.Errorf("Finish = %v, want ErrChecksum", err)
		}
	})
}

func hexMD5(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func containsAny(s, alternatives string) bool {
	for _, a := range strings.Split(alternatives, "|") {
		if strings.Contains(s, a) {
			return true
		}
	}
	return false
}

func TestSortForApply(t *testing.T) {
	at := func(s string) time.Time { return mustTime(s) }
	full := func(id, ts string) *Export {
		return &Export{ID: id, Summary: Summary{ExportType: TypeFull, ExportTime: at(ts)}}
	}
	inc := func(id, from, to string) *Export {
		return &Export{ID: id, Summary: Summary{ExportType: TypeIncremental, ExportFromTime: at(from), ExportToTime: at(to)}}
	}
	tests := []struct {
		name string
		in   []*Export
		want []string
	}{
		{
			name: "full then its incrementals",
			in:   []*Export{inc("i2", "2024-01-01T02:00:00Z", "2024-01-01T03:00:00Z"), inc("i1", "2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"), full("f", "2024-01-01T01:00:00Z")},
			want: []string{"f", "i1", "i2"},
		},
		{
			name: "incremental before a later full",
			in:   []*Export{full("f2", "2024-01-02T00:00:00Z"), inc("i1", "2024-01-01T00:00:00Z", "2024-01-01T12:00:00Z"), full("f1", "2023-12-31T00:00:00Z")},
			want: []string{"f1", "i1", "f2"},
		},
		{
			name: "full before an incremental starting just after",
			in:   []*Export{inc("i", "2024-01-01T00:00:01Z", "2024-01-01T01:00:00Z"), full("f", "2024-01-01T00:00:00Z")},
			want: []string{"f", "i"},
		},
		{
			name: "ties broken by id",
			in:   []*Export{full("b", "2024-01-01T00:00:00Z"), full("a", "2024-01-01T00:00:00Z")},
			want: []string{"a", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			SortForApply(tt.in)
			if got := ids(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDiscoverWarnsAboutSeveralTables(t *testing.T) {
	dir := t.TempDir()
	put := dirPut(t, dir)
	writeExport(t, put, "p/"+AWSDir, fixtureExport{id: "01704067500000-00000001", started: true, exportTime: mustTime("2024-01-01T00:00:00Z"),
		files: []fixtureData{{name: "a.json.gz", lines: fullItems[:1]}}})
	writeExport(t, put, "p/"+AWSDir, fixtureExport{id: "01704067500000-00000002", started: true, exportTime: mustTime("2024-01-01T00:00:00Z"),
		tableArn: "arn:aws:dynamodb:us-east-1:123456789012:table/Other", files: []fixtureData{{name: "b.json.gz"}}})
	// A stray folder that is no export at all.
	put("p/"+AWSDir+"/notes/readme.txt", []byte("hi"))

	st, root, err := objstore.Parse(t.Context(), dir, objstore.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := Discover(t.Context(), st, root+"/p")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d exports, want 2", len(got))
	}
	joined := strings.Join(warnings, "\n")
	for _, w := range []string{"notes: manifest-summary.json not found", "2 tables", "table/Other"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q do not mention %q", warnings, w)
		}
	}
}

func TestChecksumFileForms(t *testing.T) {
	data := []byte(`{"a":1}`)
	b64 := b64md5(data)
	tests := []struct {
		file string
		ok   bool
	}{
		{b64, true},
		{b64 + "\n", true},
		{"9f2e1a8a9b8d0bd2b3f0b9ac9a6c4fa6", false},
		{hexMD5(data), true},
		{strings.ToUpper(hexMD5(data)) + "  manifest-files.json\n", true},
		{"", false},
		{b64md5([]byte("other")), false},
	}
	for _, tt := range tests {
		if ok, _ := checksumMatches(tt.file, data); ok != tt.ok {
			t.Errorf("checksumMatches(%q) = %v, want %v", tt.file, ok, tt.ok)
		}
	}
}

func TestRelToAWSDir(t *testing.T) {
	tests := []struct {
		key, want string
		ok        bool
	}{
		{"exports/AWSDynamoDB/X/data/a.json.gz", "X/data/a.json.gz", true},
		{"AWSDynamoDB/data/a.json.gz", "data/a.json.gz", true},
		{"AWSDynamoDB/AWSDynamoDB/X/data/a", "X/data/a", true},
		{"myAWSDynamoDB/X/data/a", "", false},
		{"a/AWSDynamoDB/X/notAWSDynamoDB/data/b", "X/notAWSDynamoDB/data/b", true},
		{"no/such/folder", "", false},
	}
	for _, tt := range tests {
		got, ok := relToAWSDir(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("relToAWSDir(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

// TestFixturesAreCommitted guards against tests passing on a tree that
// only exists on one machine: every fixture set must be in testdata/.
func TestFixturesAreCommitted(t *testing.T) {
	for name := range fixtureSets() {
		if _, err := os.Stat(filepath.Join("testdata", name, AWSDir)); err != nil {
			t.Errorf("fixture set %s missing (regenerate with -update): %v", name, err)
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "exports", AWSDir, idFull, "data", "x7c2fa9kpl3mzeqd6ruvhbs1yo.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, emptyPartition) || len(b) != 20 {
		t.Errorf("empty partition is %d bytes %x, want DynamoDB's 20-byte file", len(b), b)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(zr); err != nil || len(rest) != 0 {
		t.Errorf("empty partition decodes to %q, %v", rest, err)
	}
}
