package maintain

import (
	"context"
	"fmt"
	"strconv"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"

	"github.com/floe-io/floe/internal/lease"
)

// Compaction is what compaction rewrote, or would.
type Compaction struct {
	// Groups is the number of rewrite groups (files of one partition
	// bin-packed up to the target file size).
	Groups int
	// InputFiles and InputBytes are the data files rewritten and their
	// size; DeleteFiles the delete files (each deletion vector counted
	// apart) applied to them.
	InputFiles  int
	InputBytes  int64
	DeleteFiles int
	// OutputFiles is the number of data files written (0 in a dry run).
	OutputFiles int
	// RemovedDeleteFiles is the number of delete files the rewrite made
	// dead and removed from the table (0 in a dry run).
	RemovedDeleteFiles int
	// TargetFileSize is the table's target data file size.
	TargetFileSize int64
}

// PropMaintenance marks the snapshots floe maintain commits.
const PropMaintenance = "floe.maintenance"

// compact rewrites the table's data files that have deletes, and the
// small files of a partition together, into files of the table's target
// size with the deletes folded in, in one snapshot.
func compact(ctx context.Context, cat icecat.Catalog, ident table.Identifier, o Options, rep *Report) error {
	if !o.DryRun {
		tbl, err := cat.LoadTable(ctx, ident)
		if err != nil {
			return fmt.Errorf("loading the table: %w", err)
		}
		release, err := lease.Hold(ctx, tbl.Location())
		if err != nil {
			return err
		}
		defer release()
	}
	return untilSettled(ctx, o, rep, "compaction was rewriting files", func() (bool, error) {
		tbl, err := cat.LoadTable(ctx, ident)
		if err != nil {
			return false, fmt.Errorf("loading the table: %w", err)
		}
		if tbl.CurrentSnapshot() == nil {
			return false, nil
		}
		target := targetFileSize(tbl)
		groups, err := plan(ctx, tbl, target)
		if err != nil {
			return false, err
		}
		c := Compaction{Groups: len(groups), TargetFileSize: target}
		rewritten := map[string]struct{}{}
		deletes := map[string]struct{}{} // a delete file may apply to several data files
		tasks := make([]table.CompactionTaskGroup, len(groups))
		for i, g := range groups {
			tasks[i] = table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes}
			c.InputBytes += g.TotalSizeBytes
			c.InputFiles += len(g.Tasks)
			for _, t := range g.Tasks {
				rewritten[t.File.FilePath()] = struct{}{}
				for _, list := range [][]iceberg.DataFile{t.DeleteFiles, t.EqualityDeleteFiles} {
					for _, d := range list {
						deletes[d.FilePath()] = struct{}{}
					}
				}
				// Deletion vectors share Puffin files; each applies to
				// its data file alone.
				for _, d := range t.DeletionVectorFiles {
					deletes[d.FilePath()+"#"+t.File.FilePath()] = struct{}{}
				}
			}
		}
		c.DeleteFiles = len(deletes)
		rep.Compaction = c
		if len(groups) == 0 || o.DryRun {
			return false, nil
		}
		fs, err := tbl.FS(ctx)
		if err != nil {
			return false, err
		}
		// Delete files that name rewritten files in several groups are
		// dead only once all are rewritten: the per-group check misses
		// them.
		dead, err := compaction.CollectDeadPositionDeletes(ctx, fs, tbl.CurrentSnapshot(), rewritten)
		if err != nil {
			return false, fmt.Errorf("finding the delete files compaction makes dead: %w", err)
		}
		// Equality deletes (merge mode equality-deletes) apply to every
		// older data file of their partition: dead once all are rewritten.
		deadEq, err := compaction.CollectDeadEqualityDeletesWithSpecs(ctx, fs, tbl.Metadata(), tbl.CurrentSnapshot(), rewritten)
		if err != nil {
			return false, fmt.Errorf("finding the equality delete files compaction makes dead: %w", err)
		}
		dead = append(dead, deadEq...)
		tx := tbl.NewTransaction()
		res, err := tx.RewriteDataFiles(ctx, tasks, table.RewriteDataFilesOptions{
			SnapshotProps:            iceberg.Properties{PropMaintenance: "compaction"},
			ExtraDeleteFilesToRemove: dead,
			// Row groups of 128Ki rows, as the committer writes them: the
			// writer buffers a whole row group. One scan worker: the scan
			// holds a worker's whole task (a data file) decoded.
			GroupOptions: []table.CompactionGroupOption{
				table.WithCompactionTargetFileSize(target),
				table.WithCompactionScanConcurrency(1),
				table.WithCompactionParquetRowGroupLimit(128 * 1024),
				table.WithCompactionArrowBatchSize(16 * 1024),
			},
		})
		if err != nil {
			return false, fmt.Errorf("rewriting data files: %w", err)
		}
		_, err = tx.Commit(ctx)
		landed, retry, cerr := settle(ctx, cat, ident, tbl, err, func(now *table.Table) bool {
			s := now.CurrentSnapshot()
			return s != nil && s.ParentSnapshotID != nil && *s.ParentSnapshotID == tbl.CurrentSnapshot().SnapshotID &&
				s.Summary != nil && s.Summary.Properties[PropMaintenance] == "compaction"
		})
		switch {
		case landed:
			rep.Compaction.OutputFiles = res.AddedDataFiles
			rep.Compaction.RemovedDeleteFiles = res.RemovedPositionDeleteFiles + res.RemovedDeletionVectorFiles + res.RemovedEqualityDeleteFiles
			o.Log.Info("data files compacted", "in", res.RemovedDataFiles, "out", res.AddedDataFiles, "deleteFilesRemoved", rep.Compaction.RemovedDeleteFiles)
			return false, nil
		case retry:
			// The files just written are referenced by nothing; orphan
			// removal takes them once they are old enough.
			return true, cerr
		}
		return false, fmt.Errorf("committing the compaction: %w", cerr)
	})
}

// plan returns the groups to rewrite: every data file with deletes, and
// the files smaller than 75% of the target where a partition has several.
// A lone small file without deletes is left alone: rewriting it would
// change nothing.
func plan(ctx context.Context, tbl *table.Table, target int64) ([]compaction.Group, error) {
	cfg := compaction.DefaultConfig()
	cfg.TargetFileSizeBytes = target
	cfg.MinFileSizeBytes = target * 3 / 4
	cfg.MaxFileSizeBytes = target * 9 / 5
	cfg.MinInputFiles = 1
	cfg.DeleteFileThreshold = 1
	p, err := compaction.Analyze(ctx, tbl, cfg)
	if err != nil {
		return nil, fmt.Errorf("planning compaction: %w", err)
	}
	var out []compaction.Group
	for _, g := range p.Groups {
		if len(g.Tasks) > 1 || g.DeleteFileCount > 0 {
			out = append(out, g)
		}
	}
	return out, nil
}

// targetFileSize is the table's write.target-file-size-bytes.
func targetFileSize(tbl *table.Table) int64 {
	if v, err := strconv.ParseInt(tbl.Properties()[table.WriteTargetFileSizeBytesKey], 10, 64); err == nil && v > 0 {
		return v
	}
	return table.WriteTargetFileSizeBytesDefault
}
