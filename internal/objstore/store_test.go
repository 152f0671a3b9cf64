package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// testStoreContract runs the behaviour every Store must share against st,
// with all keys under root (which ends in "/" or is empty).
func testStoreContract(t *testing.T, st Store, root string) {
	ctx := t.Context()
	put := func(t *testing.T, key, body string) {
		t.Helper()
		if err := st.Put(ctx, root+key, strings.NewReader(body)); err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
	}
	get := func(t *testing.T, key string) string {
		t.Helper()
		rc, err := st.Open(ctx, root+key)
		if err != nil {
			t.Fatalf("Open(%q): %v", key, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read %q: %v", key, err)
		}
		return string(b)
	}

	keys := map[string]string{
		"a/b/c.txt":              "abc",
		"a/b/d.txt":              "",
		"a/bc.txt":               "bc",
		"a-z.txt":                "dash",
		"a/b/deep/er/x.json.gz":  "deep",
		"sp ace/ünï+cødé%20.txt": "unicode",
	}
	for k, v := range keys {
		put(t, k, v)
	}

	t.Run("roundtrip", func(t *testing.T) {
		for k, v := range keys {
			if got := get(t, k); got != v {
				t.Errorf("Open(%q) = %q, want %q", k, got, v)
			}
			info, err := st.Stat(ctx, root+k)
			if err != nil {
				t.Fatalf("Stat(%q): %v", k, err)
			}
			if info.Size != int64(len(v)) || info.Key != root+k {
				t.Errorf("Stat(%q) = %+v, want size %d", k, info, len(v))
			}
		}
	})

	t.Run("overwrite", func(t *testing.T) {
		put(t, "over.txt", "first version, longer")
		put(t, "over.txt", "second")
		if got := get(t, "over.txt"); got != "second" {
			t.Errorf("after overwrite got %q", got)
		}
	})

	t.Run("unseekable body", func(t *testing.T) {
		// A pipe-like reader: no Len, no Seek, so nothing can be pre-hashed.
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("streamed "))
			pw.Write([]byte("body"))
			pw.Close()
		}()
		if err := st.Put(ctx, root+"stream.txt", pr); err != nil {
			t.Fatalf("Put from a pipe: %v", err)
		}
		if got := get(t, "stream.txt"); got != "streamed body" {
			t.Errorf("got %q", got)
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, k := range []string{"missing.txt", "a/b/missing", "a/b/c.txt/below"} {
			if _, err := st.Open(ctx, root+k); !errors.Is(err, ErrNotFound) {
				t.Errorf("Open(%q) error = %v, want ErrNotFound", k, err)
			}
			if _, err := st.Stat(ctx, root+k); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat(%q) error = %v, want ErrNotFound", k, err)
			}
		}
	})

	t.Run("list", func(t *testing.T) {
		tests := []struct {
			prefix string
			want   []string
		}{
			{"a/b/", []string{"a/b/c.txt", "a/b/d.txt", "a/b/deep/er/x.json.gz"}},
			// A prefix is not a directory: "a/b" also matches "a/bc.txt".
			{"a/b", []string{"a/b/c.txt", "a/b/d.txt", "a/b/deep/er/x.json.gz", "a/bc.txt"}},
			{"a/b/d", []string{"a/b/d.txt", "a/b/deep/er/x.json.gz"}},
			{"a", []string{"a-z.txt", "a/b/c.txt", "a/b/d.txt", "a/b/deep/er/x.json.gz", "a/bc.txt"}},
			{"nothing/", nil},
			{"a/b/c.txt/", nil},
			{"sp ace/", []string{"sp ace/ünï+cødé%20.txt"}},
		}
		for _, tt := range tests {
			got, err := st.List(ctx, root+tt.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tt.prefix, err)
			}
			var gotKeys []string
			for _, o := range got {
				gotKeys = append(gotKeys, strings.TrimPrefix(o.Key, root))
				if want := int64(len(keys[strings.TrimPrefix(o.Key, root)])); o.Size != want {
					t.Errorf("List(%q): %s size %d, want %d", tt.prefix, o.Key, o.Size, want)
				}
			}
			if !slices.Equal(gotKeys, tt.want) {
				t.Errorf("List(%q) = %q, want %q", tt.prefix, gotKeys, tt.want)
			}
		}
	})

	t.Run("listdir", func(t *testing.T) {
		tests := []struct {
			prefix    string
			wantFiles []string
			wantDirs  []string
		}{
			{"a/", []string{"a/bc.txt"}, []string{"a/b/"}},
			{"a/b/", []string{"a/b/c.txt", "a/b/d.txt"}, []string{"a/b/deep/"}},
			{"a/b/de", nil, []string{"a/b/deep/"}},
			{"nothing/", nil, nil},
		}
		for _, tt := range tests {
			files, dirs, err := ListDir(ctx, st, root+tt.prefix)
			if err != nil {
				t.Fatalf("ListDir(%q): %v", tt.prefix, err)
			}
			var gotFiles, gotDirs []string
			for _, f := range files {
				gotFiles = append(gotFiles, strings.TrimPrefix(f.Key, root))
			}
			for _, d := range dirs {
				gotDirs = append(gotDirs, strings.TrimPrefix(d, root))
			}
			if !slices.Equal(gotFiles, tt.wantFiles) || !slices.Equal(gotDirs, tt.wantDirs) {
				t.Errorf("ListDir(%q) = %q, %q; want %q, %q", tt.prefix, gotFiles, gotDirs, tt.wantFiles, tt.wantDirs)
			}
			// The generic fallback must agree with the store's own ListDir.
			files2, dirs2, err := ListDir(ctx, listOnly{st}, root+tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(files, files2) || !slices.Equal(dirs, dirs2) {
				t.Errorf("ListDir fallback(%q) = %v, %v; native %v, %v", tt.prefix, files2, dirs2, files, dirs)
			}
		}
	})

	t.Run("failed put leaves nothing", func(t *testing.T) {
		r := io.MultiReader(strings.NewReader("partial"), errReader{errors.New("source broke")})
		if err := st.Put(ctx, root+"failed/obj", r); err == nil {
			t.Fatal("Put with a failing reader succeeded")
		}
		if _, err := st.Stat(ctx, root+"failed/obj"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat after failed Put: %v, want ErrNotFound", err)
		}
		if got, err := st.List(ctx, root+"failed/"); err != nil || len(got) != 0 {
			t.Errorf("List after failed Put = %v, %v; want nothing", got, err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := st.Put(cctx, root+"cancelled", strings.NewReader("x")); err == nil {
			t.Error("Put with a cancelled context succeeded")
		}
		if _, err := st.List(cctx, root); err == nil {
			t.Error("List with a cancelled context succeeded")
		}
	})
}

// listOnly hides a store's DirLister to exercise ListDir's fallback.
type listOnly struct{ Store }

// bigBody is large enough to need a multipart upload on S3 (the transfer
// manager's threshold is 16 MiB).
func bigBody(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 17<<20+123)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func testBigObject(t *testing.T, st Store, key string) {
	ctx := t.Context()
	body := bigBody(t)
	if err := st.Put(ctx, key, bytes.NewReader(body)); err != nil {
		t.Fatalf("Put big: %v", err)
	}
	// An io.Reader without Len/Seek forces streaming, as with a pipe.
	if err := st.Put(ctx, key+".stream", io.MultiReader(bytes.NewReader(body))); err != nil {
		t.Fatalf("Put big stream: %v", err)
	}
	for _, k := range []string{key, key + ".stream"} {
		info, err := st.Stat(ctx, k)
		if err != nil || info.Size != int64(len(body)) {
			t.Fatalf("Stat(%q) = %+v, %v; want size %d", k, info, err, len(body))
		}
		rc, err := st.Open(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("Open(%q): content differs (got %d bytes, want %d)", k, len(got), len(body))
		}
	}
}
