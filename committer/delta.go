package committer

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"
)

// delta is what one commit attempt of a merge changes in the table, in
// any merge mode.
type delta struct {
	addRows       []iceberg.DataFile // data files to add (row ids not yet given)
	removeRows    []iceberg.DataFile // data files to remove (copy-on-write)
	addDeletes    []iceberg.DataFile
	removeDeletes []iceberg.DataFile
	// written are the files this attempt wrote: garbage if it fails.
	written []iceberg.DataFile
	// scratch are files written only to be read by this attempt (the
	// deletes a copy-on-write rewrite applies), and replaced are pending
	// data files that rewrites replaced: garbage once it commits.
	scratch, replaced []iceberg.DataFile
	stats             mergeStats
}

// mergeDelta works out and writes the current export's merge in mode.
// Files it writes are named after name (the pending write id and the
// attempt), or listed in the delta's written files.
func (c *Committer) mergeDelta(ctx context.Context, tx *table.Transaction, dfs []iceberg.DataFile, mode MergeMode, name string) (*delta, error) {
	m, err := c.planMerge(ctx, dfs, mode != EqualityDeletes)
	if err != nil {
		return nil, err
	}
	d := &delta{stats: m.stats}
	switch mode {
	case MergeOnRead:
		add, remove, err := m.writeDeletes(ctx, name)
		d.written, d.addDeletes, d.removeDeletes, d.addRows = add, add, remove, dfs
		return d, err
	case EqualityDeletes:
		// Position deletes (or vectors) remove the export's superseded
		// versions of a key, which its equality deletes cannot reach.
		add, _, err := m.writeDeletes(ctx, name)
		d.written, d.addRows = add, dfs
		if err != nil {
			return d, err
		}
		eq, err := m.writeEqualityDeletes(ctx, tx)
		d.written = append(d.written, eq...)
		d.addDeletes = append(add, eq...)
		return d, err
	case CopyOnWrite:
		return d, m.copyOnWrite(ctx, d, dfs, name)
	}
	return nil, fmt.Errorf("unknown merge mode %q", mode)
}

// eqBatchRows is the number of keys per record of equality deletes.
const eqBatchRows = 64 << 10

// writeEqualityDeletes writes every key the export touches into equality
// delete files on the key columns: they delete the rows of those keys in
// earlier snapshots, never those of this one (the spec applies an
// equality delete only to data of a lower sequence number), so the
// export's winning versions stay. Keys go in sorted order, which keeps
// the files' bounds tight for readers that prune by them.
func (m *merge) writeEqualityDeletes(ctx context.Context, tx *table.Transaction) ([]iceberg.DataFile, error) {
	if len(m.index) == 0 {
		return nil, nil
	}
	sel, err := m.c.tbl.Schema().Select(true, m.c.keyColumnNames()...)
	if err != nil {
		return nil, err
	}
	sc, err := table.SchemaToArrowSchema(sel, nil, true, false)
	if err != nil {
		return nil, err
	}
	keys := slices.Sorted(maps.Keys(m.index))
	var failed error
	records := func(yield func(arrow.RecordBatch, error) bool) {
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		defer b.Release()
		kb := keyBuilder{b: b}
		for start := 0; start < len(keys); start += eqBatchRows {
			for _, k := range keys[start:min(start+eqBatchRows, len(keys))] {
				if err := kb.append([]byte(k)); err != nil {
					failed = err
					yield(nil, err)
					return
				}
			}
			rec := b.NewRecordBatch()
			if !yield(rec, nil) {
				return
			}
		}
	}
	files, err := tx.WriteEqualityDeletes(ctx, m.kc.keys, iter.Seq2[arrow.RecordBatch, error](records))
	if err == nil {
		err = failed
	}
	if err != nil {
		return files, fmt.Errorf("writing equality deletes: %w", err)
	}
	return files, nil
}

// copyOnWrite rewrites every data file that holds a version the merge
// deletes, without those rows (and without the rows its existing delete
// files delete), through iceberg-go's compaction executor, which keeps a
// v3 table's row lineage. The deletes are first written as the merge-on-
// read path writes them, but only for the rewrite to read: the snapshot
// gets none, and drops the rewritten files' own delete files.
func (m *merge) copyOnWrite(ctx context.Context, d *delta, dfs []iceberg.DataFile, name string) error {
	scratch, oldDVs, err := m.writeDeletes(ctx, name)
	d.written, d.scratch = scratch, scratch
	if err != nil {
		return err
	}
	v3 := m.c.tbl.Metadata().Version() >= 3
	dvFor := map[string]iceberg.DataFile{}
	if v3 {
		for _, f := range scratch {
			if ref := f.ReferencedDataFile(); ref != nil {
				dvFor[*ref] = f
			}
		}
	}
	// One group per partition, existing and new files apart: a group is
	// written as one partition, and only existing files carry lineage.
	type groupKey struct {
		existing  bool
		partition string
	}
	groups := map[groupKey]*table.CompactionTaskGroup{}
	rewritten := map[string]bool{}
	for _, mf := range m.files {
		if len(mf.added) == 0 {
			continue
		}
		t := mf.task
		if !mf.existing {
			t = table.FileScanTask{File: mf.df}
		}
		t.Start, t.Length = 0, mf.df.FileSizeBytes()
		if v3 {
			dvf := dvFor[mf.df.FilePath()]
			if dvf == nil {
				return fmt.Errorf("copy-on-write: no deletion vector was written for %s", mf.df.FilePath())
			}
			t.DeletionVectorFiles = []iceberg.DataFile{dvf}
		} else {
			t.DeleteFiles = append(slices.Clip(t.DeleteFiles), scratch...)
		}
		k := groupKey{mf.existing, partitionKey(mf.df)}
		g := groups[k]
		if g == nil {
			g = &table.CompactionTaskGroup{PartitionKey: k.partition}
			groups[k] = g
		}
		g.Tasks = append(g.Tasks, t)
		g.TotalSizeBytes += mf.df.FileSizeBytes()
		rewritten[mf.df.FilePath()] = true
	}
	for _, df := range dfs {
		if !rewritten[df.FilePath()] {
			d.addRows = append(d.addRows, df)
		}
	}
	target := int64(defaultChunkBytes)
	if v, err := strconv.ParseInt(m.c.tbl.Properties()[table.WriteTargetFileSizeBytesKey], 10, 64); err == nil && v > 0 {
		target = v
	}
	for _, k := range slices.SortedFunc(maps.Keys(groups), func(a, b groupKey) int {
		if a.existing != b.existing {
			if a.existing {
				return -1
			}
			return 1
		}
		return strings.Compare(a.partition, b.partition)
	}) {
		res, err := table.ExecuteCompactionGroup(ctx, m.c.tbl, *groups[k],
			table.WithCompactionTargetFileSize(target),
			table.WithCompactionScanConcurrency(1),
			table.WithCompactionParquetRowGroupLimit(128*1024),
			table.WithCompactionArrowBatchSize(16*1024))
		d.written = append(d.written, res.NewDataFiles...)
		if err != nil {
			return fmt.Errorf("copy-on-write: rewriting the data files that hold changed keys: %w", err)
		}
		d.addRows = append(d.addRows, res.NewDataFiles...)
		if k.existing {
			d.removeRows = append(d.removeRows, res.OldDataFiles...)
		} else {
			d.replaced = append(d.replaced, res.OldDataFiles...)
		}
	}
	// The rewritten files' deletion vectors go with them; position delete
	// files go once every file they name is rewritten.
	d.removeDeletes = oldDVs
	if !v3 && len(d.removeRows) > 0 {
		paths := map[string]struct{}{}
		for _, df := range d.removeRows {
			paths[df.FilePath()] = struct{}{}
		}
		dead, err := compaction.CollectDeadPositionDeletes(ctx, m.fsys, m.c.tbl.CurrentSnapshot(), paths)
		if err != nil {
			return fmt.Errorf("copy-on-write: finding the position delete files the rewrite leaves dead: %w", err)
		}
		d.removeDeletes = append(d.removeDeletes, dead...)
	}
	return nil
}
