package objstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalContract(t *testing.T) {
	st, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	testStoreContract(t, st, "")
}

func TestLocalContractUnderRoot(t *testing.T) {
	// The shape Parse produces: a store at "/" and absolute keys.
	dir := t.TempDir()
	st, root, err := Parse(t.Context(), dir, S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	testStoreContract(t, st, root+"/")
}

func TestLocalBigObject(t *testing.T) {
	st, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	testBigObject(t, st, "big/object.bin")
}

func TestLocalKeysStayInsideRoot(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "root")
	st, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tests := []struct {
		key  string
		file string // where the object must land, relative to dir
	}{
		{"../escape.txt", "escape.txt"},
		{"a/../../b.txt", "b.txt"},
		{"/abs.txt", "abs.txt"},
		{"x//y.txt", "x/y.txt"},
	}
	for _, tt := range tests {
		if err := st.Put(ctx, tt.key, strings.NewReader(tt.key)); err != nil {
			t.Fatalf("Put(%q): %v", tt.key, err)
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tt.file)))
		if err != nil || string(b) != tt.key {
			t.Errorf("Put(%q) did not land in %s: %q, %v", tt.key, tt.file, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "escape.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key escaped the store root: %v", err)
	}
}

func TestLocalDirectoriesAreNotObjects(t *testing.T) {
	dir := t.TempDir()
	st, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := os.MkdirAll(filepath.Join(dir, "d", "e"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"d", "d/e", ""} {
		if _, err := st.Open(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", k, err)
		}
		if _, err := st.Stat(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", k, err)
		}
	}
	if err := st.Put(ctx, "d/", strings.NewReader("x")); err == nil {
		t.Error("Put on a directory key succeeded")
	}
	got, err := st.List(ctx, "")
	if err != nil || len(got) != 0 {
		t.Errorf("List of empty directories = %v, %v; want nothing", got, err)
	}
}

func TestLocalPutLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	st, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := st.Put(ctx, "a/ok", strings.NewReader("fine")); err != nil {
		t.Fatal(err)
	}
	_ = st.Put(ctx, "a/bad", errReader{errors.New("boom")})
	ents, err := os.ReadDir(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "ok" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q, want only [ok]", names)
	}
	fi, err := os.Stat(filepath.Join(dir, "a", "ok"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("object mode %v, want 0644", fi.Mode().Perm())
	}
}

func TestLocalListHidesTempFilesAndFollowsFileLinks(t *testing.T) {
	dir := t.TempDir()
	st, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	mustWrite(t, filepath.Join(dir, "x", tmpPrefix+"123"), "in flight")
	mustWrite(t, filepath.Join(dir, "elsewhere", "real.txt"), "real")
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "real.txt"), filepath.Join(dir, "x", "link.txt")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	if err := os.Symlink(filepath.Join(dir, "x"), filepath.Join(dir, "x", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "x", "dangling")); err != nil {
		t.Fatal(err)
	}
	got, err := st.List(ctx, "x/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (ObjectInfo{Key: "x/link.txt", Size: 4}) {
		t.Errorf("List = %+v, want only x/link.txt (4 bytes)", got)
	}
	files, dirs, err := st.ListDir(ctx, "x/")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Key != "x/link.txt" || len(dirs) != 1 || dirs[0] != "x/loop/" {
		t.Errorf("ListDir = %+v, %q; want x/link.txt and x/loop/", files, dirs)
	}
}

func TestLocalURI(t *testing.T) {
	dir := t.TempDir()
	st, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Location(st, "a/b.txt"), filepath.Join(dir, "a", "b.txt"); got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
}

func mustWrite(t *testing.T, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParse(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		uri        string
		wantBucket string // "" for a local store
		wantRoot   string
		wantErr    string
	}{
		{uri: "s3://bucket/some/prefix/", wantBucket: "bucket", wantRoot: "some/prefix/"},
		{uri: "s3://bucket/AWSDynamoDB/01700000000000-abcdef12", wantBucket: "bucket", wantRoot: "AWSDynamoDB/01700000000000-abcdef12"},
		{uri: "s3://bucket", wantBucket: "bucket", wantRoot: ""},
		{uri: "s3://bucket/", wantBucket: "bucket", wantRoot: ""},
		{uri: "S3://bucket//x", wantBucket: "bucket", wantRoot: "x"},
		{uri: "s3:///prefix", wantErr: "missing bucket"},
		{uri: "gs://bucket/x", wantErr: "unsupported scheme"},
		{uri: "", wantErr: "empty location"},
		{uri: "/data/exports/", wantRoot: "/data/exports"},
		{uri: "/data/../data/./exports", wantRoot: "/data/exports"},
		{uri: "/", wantRoot: "/"},
		{uri: "rel/dir", wantRoot: filepath.ToSlash(filepath.Join(wd, "rel", "dir"))},
		{uri: "file:///data/exports", wantRoot: "/data/exports"},
		{uri: "file://otherhost/data", wantErr: "other hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			st, root, err := Parse(t.Context(), tt.uri, S3Options{Region: "eu-west-1"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want it to mention %q", tt.uri, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.uri, err)
			}
			if root != tt.wantRoot {
				t.Errorf("root = %q, want %q", root, tt.wantRoot)
			}
			switch s := st.(type) {
			case *S3:
				if s.Bucket() != tt.wantBucket {
					t.Errorf("bucket = %q, want %q", s.Bucket(), tt.wantBucket)
				}
			case *Local:
				if tt.wantBucket != "" {
					t.Errorf("got a local store, want S3 bucket %q", tt.wantBucket)
				}
			default:
				t.Errorf("unexpected store type %T", st)
			}
		})
	}
}
