// Package maintain keeps a floe table healthy while floe goes on writing
// to it: it compacts data files with their deletes folded in, expires old
// snapshots and removes files no snapshot references.
//
// All three are safe beside a running committer. Compaction and expiry
// commit with compare-and-set on the table's main branch and start over
// against the table as it is now when a committer commits in between (the
// committer does the same the other way round). Expiry never expires the
// snapshots from the current one back to the one that holds the newest
// floe marker, which the committer's order checks read. Orphan removal
// only takes files older than a bound that covers any export still being
// loaded: a committer lists its data files in its pending state before it
// commits them, and they look like orphans until then. While compaction
// writes files of its own, it holds a lease file that keeps a starting
// committer from removing them as leftovers (see Lease).
package maintain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-io/floe/committer"
)

// MinOrphanAge is the smallest Options.OlderThan orphan removal accepts: a
// file younger than that may be a data file a committer has written and
// not committed yet.
const MinOrphanAge = time.Hour

// Options say what Run does.
type Options struct {
	// OlderThan is the age past which snapshots expire and unreferenced
	// files are removed.
	OlderThan time.Duration
	// RetainLast is how many snapshots of the current snapshot's ancestry
	// are kept whatever their age (at least 1: the current one).
	RetainLast int
	// Compact, Expire and Orphans select the tasks, run in that order (so
	// that expiry can drop the snapshots compaction replaced).
	Compact, Expire, Orphans bool
	// DryRun reports what would be done and changes nothing.
	DryRun bool
	// Attempts bounds the commit attempts of one task when other writers
	// keep committing in between (default 8).
	Attempts int
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// Report is what Run did, or with Options.DryRun would do.
type Report struct {
	// Compaction is what compaction rewrote (or would: then only the
	// planned figures are set).
	Compaction Compaction
	// Expired lists the snapshots expired, oldest first.
	Expired []Snapshot
	// MarkerSnapshot is the snapshot that holds the newest floe marker
	// (0 when the table has none), kept with every snapshot after it.
	MarkerSnapshot int64
	// Orphans lists the files removed.
	Orphans []table.OrphanFile
	// OrphanBytes is their total size.
	OrphanBytes int64
	// Conflicts counts the commits that lost a race with another writer
	// and were made again.
	Conflicts int
}

// Snapshot names an expired snapshot.
type Snapshot struct {
	ID   int64
	Time time.Time
	// Export is the floe export whose marker it held, if any.
	Export string
}

// Run maintains the table ident of cat.
func Run(ctx context.Context, cat icecat.Catalog, ident table.Identifier, o Options) (*Report, error) {
	if o.RetainLast < 1 {
		return nil, fmt.Errorf("--retain-last is %d: at least the current snapshot must stay (1)", o.RetainLast)
	}
	if o.OlderThan < 0 {
		return nil, fmt.Errorf("--older-than is negative (%v)", o.OlderThan)
	}
	if o.Orphans && o.OlderThan < MinOrphanAge {
		return nil, fmt.Errorf("--older-than %v is too short for orphan removal: files younger than %v may be data files a committer has not committed yet; pass at least %v, or skip orphan removal", o.OlderThan, MinOrphanAge, MinOrphanAge)
	}
	if o.Attempts <= 0 {
		o.Attempts = 8
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	rep := &Report{}
	if o.Compact {
		if err := compact(ctx, cat, ident, o, rep); err != nil {
			return rep, err
		}
	}
	if o.Expire {
		if err := expire(ctx, cat, ident, o, rep); err != nil {
			return rep, err
		}
	}
	if o.Orphans {
		if err := orphans(ctx, cat, ident, o, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// expire expires the snapshots older than o.OlderThan, keeping the last
// o.RetainLast and everything from the current snapshot back to the one
// with the newest floe marker.
func expire(ctx context.Context, cat icecat.Catalog, ident table.Identifier, o Options, rep *Report) error {
	return untilSettled(ctx, o, rep, "snapshots were being expired", func() (bool, error) {
		tbl, err := cat.LoadTable(ctx, ident)
		if err != nil {
			return false, fmt.Errorf("loading the table: %w", err)
		}
		depth, marker := markerDepth(tbl)
		rep.MarkerSnapshot = marker
		tx := tbl.NewTransaction()
		err = tx.ExpireSnapshots(table.WithOlderThan(o.OlderThan), table.WithRetainLast(max(o.RetainLast, depth)))
		if err != nil {
			return false, fmt.Errorf("expiring snapshots: %w", err)
		}
		staged, err := tx.StagedTable()
		if err != nil {
			return false, fmt.Errorf("expiring snapshots: %w", err)
		}
		rep.Expired = gone(tbl, staged.Table)
		if len(rep.Expired) == 0 || o.DryRun {
			return false, nil
		}
		_, err = tx.Commit(ctx)
		expired := rep.Expired
		landed, retry, cerr := settle(ctx, cat, ident, tbl, err, func(now *table.Table) bool {
			return now.Metadata().SnapshotByID(expired[0].ID) == nil
		})
		switch {
		case landed:
			o.Log.Info("snapshots expired", "count", len(rep.Expired), "markerSnapshot", marker)
			return false, nil
		case retry:
			return true, cerr
		}
		return false, fmt.Errorf("committing the expiry: %w", cerr)
	})
}

// untilSettled makes attempts at a task (what it is doing, for messages)
// for as long as an attempt reports that another writer committed first
// (retry), at most o.Attempts times, with a growing pause in between.
func untilSettled(ctx context.Context, o Options, rep *Report, doing string, attempt func() (retry bool, err error)) error {
	for n := 1; ; n++ {
		retry, err := attempt()
		if !retry {
			return err
		}
		if n == o.Attempts {
			return fmt.Errorf("another writer committed to the table %d times while %s: %w; run floe maintain again when the table is quieter", n, doing, err)
		}
		rep.Conflicts++
		o.Log.Info("another writer committed first; starting over against the table as it is now", "while", doing, "attempt", n)
		if err := sleep(ctx, time.Duration(n)*200*time.Millisecond); err != nil {
			return err
		}
	}
}

// markerDepth returns how many snapshots of the current snapshot's
// ancestry, from the current one, reach the newest one with a floe export
// marker (a dead-letter replay's included), and that snapshot's id; 0, 0
// without one.
func markerDepth(tbl *table.Table) (int, int64) {
	meta := tbl.Metadata()
	n := 0
	for snap := meta.CurrentSnapshot(); snap != nil; {
		n++
		if snap.Summary != nil && snap.Summary.Properties[committer.MarkerExportID] != "" {
			return n, snap.SnapshotID
		}
		if snap.ParentSnapshotID == nil {
			break
		}
		snap = meta.SnapshotByID(*snap.ParentSnapshotID)
	}
	return 0, 0
}

// gone lists the snapshots of before that after lacks, oldest first.
func gone(before, after *table.Table) []Snapshot {
	var out []Snapshot
	for _, s := range before.Metadata().Snapshots() {
		if after.Metadata().SnapshotByID(s.SnapshotID) != nil {
			continue
		}
		e := Snapshot{ID: s.SnapshotID, Time: time.UnixMilli(s.TimestampMs).UTC()}
		if s.Summary != nil {
			e.Export = s.Summary.Properties[committer.MarkerExportID]
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Snapshot) int { return a.Time.Compare(b.Time) })
	return out
}

// orphans removes the files under the table's location that no metadata
// references and that are older than o.OlderThan.
func orphans(ctx context.Context, cat icecat.Catalog, ident table.Identifier, o Options, rep *Report) error {
	tbl, err := cat.LoadTable(ctx, ident)
	if err != nil {
		return fmt.Errorf("loading the table: %w", err)
	}
	res, err := tbl.DeleteOrphanFiles(ctx, table.WithFilesOlderThan(o.OlderThan), table.WithDryRun(o.DryRun))
	if err != nil {
		return fmt.Errorf("removing orphan files under %s: %w", tbl.Location(), err)
	}
	rep.Orphans, rep.OrphanBytes = res.OrphanFiles, res.TotalSizeBytes
	if !o.DryRun && len(rep.Orphans) > 0 {
		o.Log.Info("orphan files removed", "count", len(rep.Orphans), "bytes", rep.OrphanBytes)
	}
	return nil
}

// settle works out what a commit against base did: landed (the commit
// took effect, which landed tells from the table as it is now), retry
// (another writer moved the table's main branch first; nothing was
// committed), or neither, with the error to report. Catalogs word a lost
// race differently (the SQL catalog's failed requirement is not an
// ErrCommitFailed), so the table is read back rather than the error.
func settle(ctx context.Context, cat icecat.Catalog, ident table.Identifier, base *table.Table, err error, landed func(now *table.Table) bool) (bool, bool, error) {
	if err == nil {
		return true, false, nil
	}
	now, lerr := cat.LoadTable(ctx, ident)
	if lerr != nil {
		return false, false, fmt.Errorf("%w; reading the table back failed too (%v), so it is unknown whether the commit landed: run floe maintain again", err, lerr)
	}
	if landed(now) {
		return true, false, nil
	}
	moved := now.CurrentSnapshot() == nil || base.CurrentSnapshot() == nil || now.CurrentSnapshot().SnapshotID != base.CurrentSnapshot().SnapshotID
	if moved || errors.Is(err, table.ErrCommitFailed) {
		return false, true, err
	}
	return false, false, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
