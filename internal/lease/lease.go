// Package lease lets floe maintain tell committers that it is writing
// files into a table that no snapshot references yet.
//
// A committer that starts without pending state removes every file under
// the table's data folder that no snapshot references: the leftovers of
// its own interrupted work. Files a running compaction has written but
// not committed look exactly like those, so compaction holds a lease, a
// file under the table's location renewed every few seconds, and a
// committer leaves unreferenced files alone while a live lease exists.
// Only local table locations are supported, as floe maintain supports
// only local warehouses so far.
package lease

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// File is the lease's name under a table's location.
const File = "floe-maintain.lease"

// TTL is how long a lease lives without renewal: a holder that died
// stops blocking cleanups after it.
const TTL = time.Minute

// renewEvery is how often a holder renews its lease.
const renewEvery = TTL / 6

// path returns the lease file of the table at location, or "" when the
// location is not local.
func path(location string) string {
	u, err := url.Parse(location)
	switch {
	case err != nil:
		return ""
	case u.Scheme == "file":
		return filepath.Join(filepath.FromSlash(u.Path), File)
	case u.Scheme == "" && filepath.IsAbs(location):
		return filepath.Join(location, File)
	}
	return ""
}

// Hold takes the lease of the table at location and renews it until
// release is called or ctx ends. Leases do not exclude one another: two
// holders at once are both respected.
//
// Release renews the lease a last time and leaves it to expire, TTL
// later, rather than removing it: a committer that read the table just
// before the holder's commit, and listed the files just after, would
// otherwise take the committed files for leftovers. The lease outlives
// that window.
func Hold(ctx context.Context, location string) (release func(), err error) {
	p := path(location)
	if p == "" {
		return nil, fmt.Errorf("table location %s is not local: compaction supports local warehouses only so far", location)
	}
	if err := os.WriteFile(p, []byte("floe maintain\n"), 0o644); err != nil {
		return nil, fmt.Errorf("taking the maintenance lease: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(renewEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				_ = os.Chtimes(p, now, now)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		now := time.Now()
		_ = os.Chtimes(p, now, now)
	}, nil
}

// Held reports whether a live lease exists for the table at location.
// For a location that is not local it reports false: no compaction can
// run there.
func Held(location string) bool {
	p := path(location)
	if p == "" {
		return false
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) || err != nil {
		return false
	}
	return time.Since(fi.ModTime()) < TTL
}
