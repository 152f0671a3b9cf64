package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// tmpPrefix marks Put's in-flight temporary files; List hides them so a
// concurrent reader never sees half-written objects under a made-up name.
const tmpPrefix = ".floe-tmp-"

// Local is a Store over a directory tree. Keys are slash-separated paths
// relative to the root directory; a leading "/" is allowed and ignored when
// mapping to a file, but kept in listed keys so they match the caller's
// prefix.
type Local struct {
	dir string
}

// NewLocal returns a store rooted at dir, which need not exist yet (Put
// creates directories as needed).
func NewLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %q: %w", dir, err)
	}
	return &Local{dir: abs}, nil
}

// file maps a key to a path that cannot escape the root: cleaning it as an
// absolute path drops any "..".
func (l *Local) file(key string) string {
	return filepath.Join(l.dir, filepath.FromSlash(path.Clean("/"+key)))
}

// URI implements Locator: the filesystem path of key.
func (l *Local) URI(key string) string { return l.file(key) }

// Open implements Store.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := l.file(key)
	f, err := os.Open(name)
	if err != nil {
		return nil, l.wrap(name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	if fi.IsDir() {
		f.Close()
		// A directory is not an object; S3 would answer 404 here too.
		return nil, &notFoundError{loc: name, err: errors.New("is a directory")}
	}
	return f, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	name := l.file(key)
	fi, err := os.Stat(name)
	if err != nil {
		return ObjectInfo{}, l.wrap(name, err)
	}
	if !fi.Mode().IsRegular() {
		return ObjectInfo{}, &notFoundError{loc: name, err: errors.New("not a regular file")}
	}
	return ObjectInfo{Key: key, Size: fi.Size()}, nil
}

// isNotExist also counts ENOTDIR: "a/b" when "a" is a file is as absent as
// any other missing key.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func (l *Local) wrap(name string, err error) error {
	if isNotExist(err) {
		return &notFoundError{loc: name, err: err}
	}
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		// os already names the path; avoid saying it twice.
		return fmt.Errorf("%s %s: %w", pe.Op, name, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// List implements Store.
func (l *Local) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	base, _ := splitPrefix(prefix)
	start := l.file(base)
	if fi, err := os.Stat(start); err != nil || !fi.IsDir() {
		if err == nil || isNotExist(err) {
			return nil, nil // nothing under this prefix, as in S3
		}
		return nil, fmt.Errorf("list %s: %w", start, err)
	}
	var out []ObjectInfo
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p == start {
				return nil
			}
			rel, _ := filepath.Rel(start, p)
			rel = filepath.ToSlash(rel) + "/"
			// Prune subtrees that cannot match, so a narrow prefix under a
			// wide directory stays cheap.
			if k := base + rel; !strings.HasPrefix(k, prefix) && !strings.HasPrefix(prefix, k) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, _ := filepath.Rel(start, p)
		key := base + filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, ok, err := regularInfo(p, d)
		if err != nil || !ok {
			return err
		}
		out = append(out, ObjectInfo{Key: key, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", l.file(prefix), err)
	}
	// WalkDir orders by name per directory, which is not key order
	// ("a/b" sorts after "a-c" as a key); S3 callers expect key order.
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// regularInfo resolves symlinks, because exports are often linked into a
// test or scratch folder rather than copied; links to directories are not
// followed, which keeps cycles impossible.
func regularInfo(p string, d fs.DirEntry) (fs.FileInfo, bool, error) {
	if d.Type()&fs.ModeSymlink != 0 {
		fi, err := os.Stat(p)
		if err != nil {
			if isNotExist(err) {
				return nil, false, nil // dangling link
			}
			return nil, false, err
		}
		return fi, fi.Mode().IsRegular(), nil
	}
	if !d.Type().IsRegular() {
		return nil, false, nil
	}
	fi, err := d.Info()
	if err != nil {
		return nil, false, err
	}
	return fi, true, nil
}

// splitPrefix splits a prefix at its last slash: the directory part (with
// its trailing slash, possibly "") and the name prefix after it.
func splitPrefix(prefix string) (dir, name string) {
	i := strings.LastIndexByte(prefix, '/')
	return prefix[:i+1], prefix[i+1:]
}

// ListDir implements DirLister.
func (l *Local) ListDir(ctx context.Context, prefix string) ([]ObjectInfo, []string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	base, namePrefix := splitPrefix(prefix)
	dir := l.file(base)
	ents, err := os.ReadDir(dir)
	if err != nil {
		if isNotExist(err) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var files []ObjectInfo
	var dirs []string
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, namePrefix) || strings.HasPrefix(name, tmpPrefix) {
			continue
		}
		p := filepath.Join(dir, name)
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				isDir = true
			}
		}
		if isDir {
			dirs = append(dirs, base+name+"/")
			continue
		}
		fi, ok, err := regularInfo(p, e)
		if err != nil {
			return nil, nil, fmt.Errorf("list %s: %w", dir, err)
		}
		if ok {
			files = append(files, ObjectInfo{Key: base + name, Size: fi.Size()})
		}
	}
	// ReadDir sorts by name, but "x/" as a key sorts after "x-y", so re-sort
	// the directory keys with their slash.
	slices.Sort(dirs)
	return files, dirs, nil
}

// Put implements Store. It writes to a temporary file in the target
// directory and renames it into place, so readers see the old object or the
// new one, never a prefix of it, even if the process dies mid-write.
func (l *Local) Put(ctx context.Context, key string, r io.Reader) (err error) {
	name := l.file(key)
	if strings.HasSuffix(key, "/") || name == l.dir {
		return fmt.Errorf("put %s: key %q names a directory, not an object", name, key)
	}
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, ctxReader{ctx: ctx, r: r}); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	// CreateTemp makes 0600 files; objects are meant to be shared like any
	// other file written by the user.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	// Without the sync a crash after rename can leave an empty file under
	// the final name on some filesystems.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes the rename durable. Failure is ignored: some platforms and
// filesystems cannot sync directories, and the data itself is already safe.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}

// ctxReader stops a long copy promptly when the context is cancelled, since
// file and pipe reads do not watch contexts themselves.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
