package lease

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLease(t *testing.T) {
	dir := t.TempDir()
	loc := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
	if Held(loc) {
		t.Fatal("held before anyone took it")
	}
	release, err := Hold(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	if !Held(loc) || !Held(dir) {
		t.Fatal("not held while held (file URL or plain path)")
	}
	release()
	if !Held(loc) {
		t.Fatal("released lease expired at once; it must outlive the holder's commit by TTL")
	}
	old := time.Now().Add(-TTL - time.Second)
	if err := os.Chtimes(filepath.Join(dir, File), old, old); err != nil {
		t.Fatal(err)
	}
	if Held(loc) {
		t.Fatal("a lease not renewed for longer than TTL is still held")
	}
	for _, remote := range []string{"s3://bucket/ns.db/t", "relative/path"} {
		if _, err := Hold(context.Background(), remote); err == nil {
			t.Errorf("Hold(%q) succeeded, want an error: no lease outside local warehouses", remote)
		}
		if Held(remote) {
			t.Errorf("Held(%q) = true", remote)
		}
	}
}
