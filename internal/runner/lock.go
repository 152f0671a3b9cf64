package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockWarehouse takes an exclusive lock on a warehouse for one `floe run`:
// two runs on one warehouse would share the embedded NATS store and race
// for the table, and the loser would fail late with an obscure error. The
// lock is a flock on <warehouse>/.floe/lock, so it goes away with the
// process however it ends (a SIGKILLed run leaves no stale lock). The file
// names the holder, for the message the next run prints.
func lockWarehouse(wh string) (release func(), err error) {
	dir := filepath.Join(wh, ".floe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("warehouse %s: %w", wh, err)
	}
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("warehouse %s: %w", wh, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another process"
			}
			return nil, fmt.Errorf("another floe process (%s) is using warehouse %s: wait for it to finish, or stop it, and run again", who, wh)
		}
		return nil, fmt.Errorf("locking warehouse %s: %w", wh, err)
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "pid %d on %s, since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
