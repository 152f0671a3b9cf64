// Package objstore puts a local directory and an S3 bucket behind one small
// interface, so that export reading, planning and tests do not care where the
// bytes live.
//
// Keys are always slash-separated, whatever the operating system. A store
// never interprets "directories": List is a plain prefix match, as in S3.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// ErrNotFound is wrapped by every error that reports a missing object, so
// callers can tell "absent" (often expected: an export still in progress)
// from "broken" with errors.Is, whatever the backend.
var ErrNotFound = errors.New("object not found")

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	// Key is the object's key, in the same form as the prefix it was listed
	// under.
	Key string
	// Size is the object's length in bytes.
	Size int64
}

// Store is the minimal object-storage surface floe needs. Implementations are
// safe for concurrent use.
type Store interface {
	// Open streams an object. A missing object yields an error wrapping
	// ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns every object whose key starts with prefix, at any depth,
	// sorted by key. A prefix that matches nothing is not an error.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Put stores r's bytes under key, replacing any existing object. Readers
	// never observe a partially written object.
	Put(ctx context.Context, key string, r io.Reader) error
	// Stat describes an object. A missing object yields an error wrapping
	// ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
}

// DirLister is implemented by stores that can list one level of a prefix
// without enumerating everything below it. It exists because some folders
// (the shared AWSDynamoDB/data/ of incremental exports) grow without bound
// and must never be walked just to find their siblings.
type DirLister interface {
	// ListDir returns the objects directly under prefix and the sub-prefixes
	// (each ending in "/") one level below it, both sorted.
	ListDir(ctx context.Context, prefix string) (files []ObjectInfo, dirs []string, err error)
}

// ListDir lists one level under prefix, using the store's DirLister when it
// has one and falling back to a full List otherwise.
func ListDir(ctx context.Context, st Store, prefix string) ([]ObjectInfo, []string, error) {
	if dl, ok := st.(DirLister); ok {
		return dl.ListDir(ctx, prefix)
	}
	all, err := st.List(ctx, prefix)
	if err != nil {
		return nil, nil, err
	}
	var files []ObjectInfo
	var dirs []string
	for _, o := range all {
		rest := o.Key[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			d := prefix + rest[:i+1]
			// List is sorted, so equal sub-prefixes are adjacent.
			if len(dirs) == 0 || dirs[len(dirs)-1] != d {
				dirs = append(dirs, d)
			}
			continue
		}
		files = append(files, o)
	}
	return files, dirs, nil
}

// Locator is implemented by stores that can render a key as something a
// user can paste (a path or an s3:// URI). Error messages use it.
type Locator interface {
	// URI returns the user-facing location of key.
	URI(key string) string
}

// Location renders key for messages, as a full URI when the store knows how.
func Location(st Store, key string) string {
	if l, ok := st.(Locator); ok {
		return l.URI(key)
	}
	return key
}

// Parse opens the store a user-supplied location points into and returns
// the key of that location inside it.
//
// "s3://bucket/some/prefix/" gives an S3 store on bucket and root
// "some/prefix/" (kept as written, so a trailing slash survives and a URI may
// also name a single object). Anything else is a local path: the store is
// rooted at the filesystem root and root is the cleaned absolute path in
// slash form (for example "/data/exports"), so that keys derived from it stay
// printable as real paths. "file://" URIs are accepted as local paths.
func Parse(ctx context.Context, uri string, opts S3Options) (Store, string, error) {
	if uri == "" {
		return nil, "", errors.New("empty location: give a local path or an s3://bucket/prefix/ URI")
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if ok {
		switch strings.ToLower(scheme) {
		case "s3":
			bucket, key, _ := strings.Cut(rest, "/")
			if bucket == "" {
				return nil, "", fmt.Errorf("location %q: missing bucket name (want s3://bucket/prefix/)", uri)
			}
			st, err := NewS3(ctx, bucket, opts)
			if err != nil {
				return nil, "", err
			}
			return st, strings.TrimLeft(key, "/"), nil
		case "file":
			u, err := url.Parse(uri)
			if err != nil {
				return nil, "", fmt.Errorf("location %q: %w", uri, err)
			}
			if u.Host != "" && u.Host != "localhost" {
				return nil, "", fmt.Errorf("location %q: file URIs on other hosts are not supported", uri)
			}
			return parseLocal(u.Path)
		default:
			return nil, "", fmt.Errorf("location %q: unsupported scheme %q (use a local path or s3://)", uri, scheme)
		}
	}
	return parseLocal(uri)
}

func parseLocal(p string) (Store, string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, "", fmt.Errorf("location %q: %w", p, err)
	}
	vol := filepath.VolumeName(abs)
	st, err := NewLocal(vol + string(filepath.Separator))
	if err != nil {
		return nil, "", err
	}
	return st, path.Clean(filepath.ToSlash(abs[len(vol):])), nil
}

// notFoundError keeps the backend's own error (request IDs, paths) for
// debugging while giving callers a short message and ErrNotFound.
type notFoundError struct {
	loc string
	err error
}

func (e *notFoundError) Error() string   { return e.loc + ": not found" }
func (e *notFoundError) Unwrap() []error { return []error{ErrNotFound, e.err} }
