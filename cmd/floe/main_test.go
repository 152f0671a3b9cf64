package main_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/floe-io/floe/internal/exportgen"
)

var floeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "floe-bin-")
	if err != nil {
		panic(err)
	}
	floeBin = filepath.Join(dir, "floe")
	out, err := exec.Command("go", "build", "-o", floeBin, ".").CombinedOutput()
	if err != nil {
		panic("building floe: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// floe runs the binary and returns its exit code, stdout and stderr.
func floe(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, floeBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// sample generates a small full export and returns its folder.
func sample(t *testing.T) (root, exportDir string) {
	t.Helper()
	root = t.TempDir()
	res, err := exportgen.Generate(context.Background(), exportgen.Options{Dir: root, Items: 300, Files: 3, Seed: 11, SkipExpected: true})
	if err != nil {
		t.Fatal(err)
	}
	return root, res.Full.Dir
}

type manifestLine struct {
	ItemCount     int64  `json:"itemCount"`
	MD5Checksum   string `json:"md5Checksum"`
	ETag          string `json:"etag"`
	DataFileS3Key string `json:"dataFileS3Key"`
}

func readManifest(t *testing.T, dir string) []manifestLine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest-files.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []manifestLine
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m manifestLine
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// writeManifest rewrites manifest-files.json and its .md5, so that only
// the corruption under test is wrong.
func writeManifest(t *testing.T, dir string, ms []manifestLine) {
	t.Helper()
	var b bytes.Buffer
	for _, m := range ms {
		line, _ := json.Marshal(m)
		b.Write(line)
		b.WriteByte('\n')
	}
	write(t, filepath.Join(dir, "manifest-files.json"), b.Bytes())
	sum := md5.Sum(b.Bytes())
	write(t, filepath.Join(dir, "manifest-files.md5"), []byte(base64.StdEncoding.EncodeToString(sum[:])))
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dataPath maps a manifest key to the local data file.
func dataPath(root string, m manifestLine) string {
	_, rest, _ := strings.Cut(m.DataFileS3Key, "AWSDynamoDB/")
	return filepath.Join(root, "AWSDynamoDB", rest)
}

// largestFile returns the index of the data file with the most items.
func largestFile(ms []manifestLine) int {
	best := 0
	for i, m := range ms {
		if m.ItemCount > ms[best].ItemCount {
			best = i
		}
	}
	return best
}

// rewriteData replaces a data file's content (gzip'd from plain lines) and
// fixes the manifest's checksum, so only the content is wrong.
func rewriteData(t *testing.T, root, dir string, edit func(lines []string) []string) string {
	t.Helper()
	ms := readManifest(t, dir)
	i := largestFile(ms)
	path := dataPath(root, ms[i])
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if _, err := plain.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	f.Close()
	lines := edit(strings.Split(strings.TrimSuffix(plain.String(), "\n"), "\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	zw.Close()
	setData(t, dir, ms, i, path, gz.Bytes())
	return filepath.Base(path)
}

func setData(t *testing.T, dir string, ms []manifestLine, i int, path string, data []byte) {
	t.Helper()
	write(t, path, data)
	sum := md5.Sum(data)
	ms[i].MD5Checksum = base64.StdEncoding.EncodeToString(sum[:])
	writeManifest(t, dir, ms)
}

// TestBadInput feeds broken exports and bad flags to `floe run` and checks
// that each fails with exit code 1, an error naming what is wrong and what
// to do, and that no snapshot is committed.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, root, dir string) []string // returns extra args
		want  []string                                      // substrings of stderr
		once  string                                        // said once in the final error
	}{
		{
			name: "missing manifest",
			setup: func(t *testing.T, root, dir string) []string {
				os.Remove(filepath.Join(dir, "manifest-summary.json"))
				return nil
			},
			want: []string{"manifest-summary.json", "not found"},
		},
		{
			name: "md5 mismatch",
			setup: func(t *testing.T, root, dir string) []string {
				ms := readManifest(t, dir)
				i := largestFile(ms)
				path := dataPath(root, ms[i])
				data, _ := os.ReadFile(path)
				data[len(data)/2] ^= 0xff
				write(t, path, data) // manifest keeps the old checksum
				return nil
			},
			want: []string{".json.gz", "MD5"},
		},
		{
			name: "truncated file",
			setup: func(t *testing.T, root, dir string) []string {
				ms := readManifest(t, dir)
				path := dataPath(root, ms[largestFile(ms)])
				data, _ := os.ReadFile(path)
				write(t, path, data[:len(data)/2]) // manifest keeps the old checksum
				return nil
			},
			want: []string{".json.gz", "MD5 mismatch", "truncated", "decoding stopped after line"},
			once: "MD5 mismatch",
		},
		{
			name: "corrupt gzip",
			setup: func(t *testing.T, root, dir string) []string {
				ms := readManifest(t, dir)
				i := largestFile(ms)
				path := dataPath(root, ms[i])
				data, _ := os.ReadFile(path)
				for j := len(data) / 3; j < len(data)/3+64; j++ {
					data[j] ^= 0x5a
				}
				setData(t, dir, ms, i, path, data)
				return nil
			},
			want: []string{".json.gz", "gzip", "re-export"},
		},
		{
			name: "truncated line",
			setup: func(t *testing.T, root, dir string) []string {
				rewriteData(t, root, dir, func(l []string) []string { l[4] = l[4][:len(l[4])/2]; return l })
				return nil
			},
			want: []string{".json.gz line 5", "re-export"},
		},
		{
			name: "unknown type tag",
			setup: func(t *testing.T, root, dir string) []string {
				rewriteData(t, root, dir, func(l []string) []string {
					l[2] = strings.Replace(l[2], `"status":{"S":`, `"status":{"X":`, 1)
					return l
				})
				return nil
			},
			want: []string{".json.gz line 3", `"X"`, "status"},
		},
		{
			name: "item count mismatch",
			setup: func(t *testing.T, root, dir string) []string {
				rewriteData(t, root, dir, func(l []string) []string { return l[1:] })
				return nil
			},
			want: []string{".json.gz", "items but manifest-files.json says"},
		},
		{
			name: "schema file does not parse",
			setup: func(t *testing.T, root, dir string) []string {
				p := filepath.Join(t.TempDir(), "schema.json")
				write(t, p, []byte(`{"pk": "S", "sk": `))
				return []string{"--schema", p}
			},
			want: []string{"--schema", "schema file"},
		},
		{
			name:  "invalid table name",
			setup: func(t *testing.T, root, dir string) []string { return []string{"--table", "no-dots-here"} },
			want:  []string{`table "no-dots-here" is not valid`, "NAMESPACE.NAME"},
		},
		{
			name: "warehouse not writable",
			setup: func(t *testing.T, root, dir string) []string {
				file := filepath.Join(t.TempDir(), "a-file")
				write(t, file, []byte("x"))
				return []string{"--warehouse", filepath.Join(file, "wh")}
			},
			want: []string{"not writable", "--warehouse"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, dir := sample(t)
			wh := filepath.Join(t.TempDir(), "wh")
			args := []string{"run", "--export", dir, "--warehouse", wh, "--table", "ddb.orders", "--key", "pk,sk", "--progress", "never"}
			args = append(args, tc.setup(t, root, dir)...)
			stderr := refused(t, tc.want, args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if last := lines[len(lines)-1]; tc.once != "" && strings.Count(last, tc.once) != 1 {
				t.Errorf("the error says %q %d times, want once:\n%s", tc.once, strings.Count(last, tc.once), last)
			}
			assertNoSnapshot(t, wh)
		})
	}
}

// refused runs floe and checks that it fails with exit code 1 and an
// error that says every want.
func refused(t *testing.T, want []string, args ...string) (stderr string) {
	t.Helper()
	code, _, stderr := floe(t, args...)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	return stderr
}

// assertNoSnapshot checks that the table, if it was created, has no
// snapshot and no data files.
func assertNoSnapshot(t *testing.T, wh string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(wh, "catalog.db")); err != nil {
		return
	}
	code, out, stderr := floe(t, "table", "info", "--warehouse", wh, "--table", "ddb.orders", "--json")
	if code != 0 {
		if strings.Contains(stderr, "does not exist") || strings.Contains(stderr, "no such table") {
			return
		}
		t.Fatalf("table info: exit %d: %s", code, stderr)
	}
	var info struct {
		Snapshots []any `json:"snapshots"`
		Location  string
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Snapshots) != 0 {
		t.Fatalf("a failed run committed %d snapshots", len(info.Snapshots))
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(info.Location, "file://"), "data", "*.parquet"))
	if len(files) != 0 {
		t.Fatalf("a failed run left data files: %v", files)
	}
}

// TestGenRunInfo is the README's first command and `table info` on it.
func TestGenRunInfo(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := floe(t, "gen", "--out", dir, "--items", "1000")
	if code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	wh := filepath.Join(dir, "wh")
	code, stdout, stderr := floe(t, "run", "--export", filepath.Join(dir, "AWSDynamoDB"), "--warehouse", wh, "--table", "sample.orders", "--key", "pk,sk")
	if code != 0 || !strings.Contains(stdout, "committed to sample.orders") || !strings.Contains(stdout, "1000 rows") {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = floe(t, "table", "info", "--warehouse", wh, "--table", "sample.orders", "--json")
	if code != 0 {
		t.Fatalf("table info: %s", stderr)
	}
	var info struct {
		MetadataLocation string
		Snapshots        []struct {
			Floe map[string]string `json:"floe"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Snapshots) != 1 || info.Snapshots[0].Floe["floe.items"] != "1000" || !strings.HasSuffix(info.MetadataLocation, ".metadata.json") {
		t.Fatalf("table info = %s", stdout)
	}
	// Environment variables set flags.
	cmd := exec.Command(floeBin, "table", "info")
	cmd.Env = append(os.Environ(), "FLOE_WAREHOUSE="+wh, "FLOE_TABLE=sample.orders")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "sample.orders") {
		t.Fatalf("table info from FLOE_* variables: %v\n%s", err, out)
	}
}
