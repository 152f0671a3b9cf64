package committer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/codec"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/lease"
	"github.com/floe-io/floe/internal/natsbus"
)

// defaultChunkBytes is how much compressed batch data goes into one chunk
// (one round of data files) when the table sets no target file size.
const defaultChunkBytes = 128 << 20

// A chunk is a run of batches written into one set of data files (one per
// partition, rolled at the target size) by iceberg-go's writer running in
// its own goroutine. Its messages are acked once its files are listed in
// the pending state.
type chunk struct {
	in      chan arrow.RecordBatch
	done    chan struct{}
	cancel  context.CancelFunc
	files   []iceberg.DataFile
	err     error
	msgs    []jetstream.Msg
	batches [][2]int // file, batch
	bytes   int64
	rows    int64
	rescued int64
	dropped int64
	failed  int64
	dropDel int64
	maxSeq  uint64
	// tombs are an incremental export's delete batches, staged into a
	// Parquet file of their own when the chunk is flushed.
	tombs   []arrow.RecordBatch
	deletes int64
	// id is the write id the chunk's files are named with.
	id string
}

func (ch *chunk) releaseTombs() {
	for _, r := range ch.tombs {
		r.Release()
	}
	ch.tombs = nil
}

func (ch *chunk) has(file, batch int) bool {
	if ch == nil {
		return false
	}
	for _, b := range ch.batches {
		if b == [2]int{file, batch} {
			return true
		}
	}
	return false
}

func newWriteID() string { return uuid.NewString() }

func (c *Committer) handleBatch(ctx context.Context, file int, fs *fileState, msg jetstream.Msg) error {
	if c.cur.Phase != phaseLoad {
		return msg.Ack() // from an earlier, superseded load of this attempt
	}
	h := msg.Headers()
	b, ok := natsbus.IntHeader(h, natsbus.HdrBatch)
	batch := int(b)
	if !ok || fs.isDone(batch) || c.chunk.has(file, batch) || c.closing.has(file, batch) {
		return msg.Ack()
	}
	if final, ok := natsbus.IntHeader(h, natsbus.HdrFinal); ok {
		fs.Batches, fs.Items = batch+1, final
	}
	if err := c.checkPlugins(h.Get(natsbus.HdrPlugins), file); err != nil {
		return c.fail(ctx, err, msg)
	}
	rec, err := c.codec.Decode(h.Get(natsbus.HdrEncoding), msg.Data(), &c.scratch)
	if err != nil {
		return c.fail(ctx, fmt.Errorf("batch %d of file %d cannot be decoded: %w", batch, file, err), msg)
	}
	if c.chunk == nil {
		c.chunk = &chunk{id: c.cur.Inflight}
	}
	ch := c.chunk
	if _, deletes := natsbus.IntHeader(h, natsbus.HdrDeletes); deletes && rec != nil && rec.NumRows() > 0 {
		ch.tombs = append(ch.tombs, rec)
		ch.deletes += rec.NumRows()
		c.Stats.Rows.Add(rec.NumRows())
	} else if rec != nil && rec.NumRows() > 0 {
		// The writer starts with the first rows: a chunk may begin with
		// empty files' final batches, which only need recording.
		if ch.in == nil {
			if err := c.startWriter(ctx, ch, rec.Schema()); err != nil {
				rec.Release()
				return err
			}
		}
		ch.rows += rec.NumRows()
		select {
		case ch.in <- rec:
		case <-ch.done:
			rec.Release()
			return fmt.Errorf("writing data files: %w", ch.err)
		}
		c.Stats.Rows.Add(rec.NumRows())
	} else if rec != nil {
		rec.Release()
	}
	md, err := msg.Metadata()
	if err == nil {
		ch.maxSeq = max(ch.maxSeq, md.Sequence.Stream)
	}
	ch.msgs = append(ch.msgs, msg)
	ch.batches = append(ch.batches, [2]int{file, batch})
	ch.bytes += int64(len(msg.Data()))
	if n, ok := natsbus.IntHeader(h, natsbus.HdrRescued); ok {
		ch.rescued += n
	}
	if n, ok := natsbus.IntHeader(h, natsbus.HdrDropped); ok {
		ch.dropped += n
	}
	if n, ok := natsbus.IntHeader(h, natsbus.HdrFailed); ok {
		ch.failed += n
	}
	if n, ok := natsbus.IntHeader(h, natsbus.HdrDropDeletes); ok {
		ch.dropDel += n
	}
	return nil
}

// checkPlugins refuses a batch made by another plugin chain than the
// export's earlier batches: transformers run with different --plugin
// flags, and the table would mix two transforms.
func (c *Committer) checkPlugins(chain string, file int) error {
	p := c.cur
	if p.Plugins == nil {
		p.Plugins = &chain
		return nil
	}
	if *p.Plugins == chain {
		return nil
	}
	name := func(s string) string {
		if s == "" {
			return "no plugins"
		}
		return "plugins " + s
	}
	return fmt.Errorf("a batch of file %d was transformed with %s, earlier batches of the export with %s: run every transformer with the same --plugin and --plugin-config flags, then run the export again", file, name(chain), name(*p.Plugins))
}

// startWriter starts the chunk's data file writer (iceberg-go's, in its own
// goroutine), named with the write id recorded in the pending state.
func (c *Committer) startWriter(ctx context.Context, ch *chunk, sc *arrow.Schema) error {
	id, err := uuid.Parse(ch.id)
	if err != nil {
		return fmt.Errorf("pending state write id %q: %w", ch.id, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	ch.in, ch.done, ch.cancel = make(chan arrow.RecordBatch, 4), make(chan struct{}), cancel
	records := func(yield func(arrow.RecordBatch, error) bool) {
		for rec := range ch.in {
			if !yield(rec, nil) {
				return
			}
		}
	}
	go func() {
		defer close(ch.done)
		for df, err := range writeRecords(wctx, c.tbl, sc, records, id) {
			if err != nil {
				ch.err = err
				// Drain so the committer never blocks sending.
				for rec := range ch.in {
					rec.Release()
				}
				return
			}
			ch.files = append(ch.files, df)
		}
	}()
	return nil
}

// writeRecords writes record batches into data files of tbl named with
// id, as a chunk does: row groups of 128Ki rows (the writer buffers one),
// one writer goroutine. It releases the batches.
func writeRecords(ctx context.Context, tbl *table.Table, sc *arrow.Schema, records iter.Seq2[arrow.RecordBatch, error], id uuid.UUID) iter.Seq2[iceberg.DataFile, error] {
	return table.WriteRecords(ctx, tbl, sc, records,
		table.WithWriteUUID(id),
		table.WithRecordBatchBufferSize(4),
		table.WithParquetRowGroupLimit(128*1024),
		table.WithMaxWriteWorkers(1),
	)
}

// chunkBytes is the chunk size at which data files are closed and made
// durable: the table's target file size, but at most a quarter of the
// batch stream, whose space the chunk's un-acked messages hold.
func (c *Committer) chunkBytes() int64 {
	n := int64(defaultChunkBytes)
	if v, err := strconv.ParseInt(c.tbl.Properties()[table.WriteTargetFileSizeBytesKey], 10, 64); err == nil && v > 0 {
		n = v
	}
	if c.streamMaxBytes > 0 {
		n = min(n, c.streamMaxBytes/4)
	}
	return n
}

// progress flushes a full chunk and commits a complete export.
func (c *Committer) progress(ctx context.Context) error {
	if c.cur == nil || c.cur.Phase != phaseLoad {
		return nil
	}
	if ch := c.closing; ch != nil && ch.closed() {
		if err := c.finishClosing(ctx); err != nil {
			return err
		}
	}
	if c.chunk != nil && c.chunk.bytes >= c.chunkBytes() {
		if err := c.flushChunk(ctx); err != nil {
			return err
		}
	}
	if !c.exportComplete() {
		return nil
	}
	if err := c.flushChunk(ctx); err != nil {
		return err
	}
	if err := c.finishClosing(ctx); err != nil {
		return err
	}
	return c.commit(ctx)
}

func (c *Committer) exportComplete() bool {
	if c.cur.Sampled && len(c.detected) < len(c.cur.Plan.Files) {
		return false // statistics still to come (see checkSample)
	}
	inChunk := map[int]int{}
	for _, ch := range []*chunk{c.chunk, c.closing} {
		if ch != nil {
			for _, b := range ch.batches {
				inChunk[b[0]]++
			}
		}
	}
	for i, fs := range c.cur.Files {
		if fs.Batches < 0 || len(fs.Done)+inChunk[i] != fs.Batches {
			return false
		}
	}
	return true
}

// closed reports whether the chunk's writer has finished.
func (ch *chunk) closed() bool {
	select {
	case <-ch.done:
		return true
	default:
		return ch.in == nil
	}
}

// flushChunk closes the current chunk: its writer finishes its files in
// the background while the next chunk is written (under a new write id,
// saved in the pending state first), and finishClosing lists them in the
// pending state and acks the chunk's messages. One chunk closes at a
// time: a second waits for the first, which bounds both memory and the
// un-acked messages to two chunks.
func (c *Committer) flushChunk(ctx context.Context) error {
	ch := c.chunk
	if ch == nil {
		return nil
	}
	if err := c.finishClosing(ctx); err != nil {
		return err
	}
	c.chunk, c.closing = nil, ch
	if ch.in != nil {
		close(ch.in)
	}
	p := c.cur
	p.Closing, p.Inflight = p.Inflight, newWriteID()
	return c.state.save(ctx, p)
}

// finishClosing waits for the closing chunk's files, records them in the
// pending state, and only then acks the chunk's messages.
func (c *Committer) finishClosing(ctx context.Context) error {
	ch := c.closing
	if ch == nil {
		return nil
	}
	if ch.in != nil {
		<-ch.done
	}
	c.closing = nil
	defer ch.releaseTombs()
	if ch.err != nil {
		return fmt.Errorf("writing data files for export %s: %w", c.cur.Plan.ExportID, ch.err)
	}
	p := c.cur
	if len(ch.tombs) > 0 {
		path, err := c.stageDeletes(ctx, ch.id, ch.tombs)
		if err != nil {
			return fmt.Errorf("staging the deletes of export %s: %w", p.Plan.ExportID, err)
		}
		p.Staged = append(p.Staged, path)
		p.Deletes += ch.deletes
	}
	meta := c.tbl.Metadata()
	for _, df := range ch.files {
		enc, err := codec.EncodeDataFile(df, c.tbl.Spec(), c.tbl.Schema(), meta.Version())
		if err != nil {
			return fmt.Errorf("encoding data file %s: %w", df.FilePath(), err)
		}
		p.DataFiles = append(p.DataFiles, enc)
	}
	for _, b := range ch.batches {
		p.Files[b[0]].markDone(b[1])
	}
	p.Rows += ch.rows
	p.Rescued += ch.rescued
	p.Dropped += ch.dropped
	p.Failed += ch.failed
	p.DropDeletes += ch.dropDel
	p.MaxSeq = max(p.MaxSeq, ch.maxSeq)
	p.Closing = ""
	if err := c.state.save(ctx, p); err != nil {
		return err
	}
	for _, m := range ch.msgs {
		_ = m.Ack()
	}
	c.Stats.DataFiles.Add(int64(len(ch.files)))
	c.log.Debug("chunk durable", "dataFiles", len(ch.files), "rows", ch.rows, "deletes", ch.deletes, "batches", len(ch.batches))
	return nil
}

func (c *Committer) dataFiles(p *pending) ([]iceberg.DataFile, error) {
	out := make([]iceberg.DataFile, 0, len(p.DataFiles))
	meta := c.tbl.Metadata()
	for _, enc := range p.DataFiles {
		df, err := codec.DecodeDataFile(enc, c.tbl.Spec(), c.tbl.Schema(), meta.Version())
		if err != nil {
			return nil, fmt.Errorf("decoding a pending data file: %w", err)
		}
		out = append(out, df)
	}
	return out, nil
}

// commit adds every data file of the export in one snapshot carrying the
// marker; an incremental export's snapshot also carries its deletes (see
// merge.go). A failed or ambiguous commit is resolved by reloading the
// table and looking for the marker: it is never applied twice.
func (c *Committer) commit(ctx context.Context) error {
	p := c.cur
	if p.Sampled {
		if stop, err := c.checkSample(ctx); stop || err != nil {
			return err
		}
	}
	dfs, err := c.dataFiles(p)
	if err != nil {
		return err
	}
	var items int64
	for _, fs := range p.Files {
		items += fs.Items
	}
	// Every item is a row, a delete, a dead letter, or dropped by a
	// plugin; a dropped new image is a delete too.
	if accounted := p.Rows + p.Deletes + p.Failed + p.Dropped - p.DropDeletes; items != accounted {
		return c.fail(ctx, fmt.Errorf("export %s: transformers reported %d items but %d rows, %d deletes, %d dropped and %d failed items were accounted for; refusing to commit", p.Plan.ExportID, items, p.Rows, p.Deletes, p.Dropped, p.Failed), nil)
	}
	commitID := newWriteID()
	var (
		lastErr error
		ms      mergeStats
	)
	var spent []iceberg.DataFile
	for attempt := 1; attempt <= 5; attempt++ {
		var written []iceberg.DataFile
		var tbl *table.Table
		tbl, ms, written, spent, err = c.tryCommit(ctx, dfs, commitID, attempt)
		if err == nil {
			c.tbl = tbl
			lastErr = nil
			break
		}
		lastErr = err
		c.log.Warn("commit failed; checking whether it landed", "attempt", attempt, "err", err)
		if reloaded, lerr := c.loadTable(ctx); lerr == nil && reloaded != nil {
			c.tbl = reloaded
			if isApplied(reloaded, p.Plan.ExportID) {
				lastErr = nil
				break
			}
			// Not committed: the delete files of this attempt are
			// garbage; the next attempt works them out again against the
			// table as it is now.
			c.removePaths(ctx, written)
		}
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	if lastErr != nil {
		return fmt.Errorf("committing export %s to %s failed 5 times (the data files stay listed in the pending state; restart floe to retry): %w", p.Plan.ExportID, c.table, lastErr)
	}
	var snapID int64
	if s := c.tbl.CurrentSnapshot(); s != nil {
		snapID = s.SnapshotID
	}
	if err := c.state.clear(ctx); err != nil {
		return err
	}
	c.ackHeld()
	c.removeStaged(ctx, p)
	c.removePaths(ctx, spent)
	c.Stats.Commits.Add(1)
	c.log.Info("export committed", "export", p.Plan.ExportID, "snapshot", snapID, "rows", p.Rows, "dataFiles", len(dfs),
		"upserts", ms.upserts, "deletes", ms.deletes, "stale", ms.stale)
	c.event(natsbus.Event{Status: natsbus.StatusCommitted, SnapshotID: snapID, Items: p.Rows + p.Deletes, Rescued: p.Rescued, DataFiles: len(dfs),
		Upserts: ms.upserts, Deletes: ms.deletes, Kept: p.kept(), Dropped: p.Dropped, Failed: p.Failed, Plugins: p.plugins()})
	c.cur, c.sch = nil, nil
	return c.nextPlan(ctx)
}

// tryCommit makes one commit attempt against the table as last loaded. It
// returns the files it wrote, which are garbage if it fails, and those it
// made garbage by committing.
func (c *Committer) tryCommit(ctx context.Context, dfs []iceberg.DataFile, commitID string, attempt int) (tbl *table.Table, ms mergeStats, written, spent []iceberg.DataFile, err error) {
	p := c.cur
	props := iceberg.Properties(markerProps(p, c.streamID, commitID))
	tx := c.tbl.NewTransaction()
	if c.mode != "" && c.tbl.Properties()[PropMergeMode] != string(c.mode) {
		c.log.Info("recording the table's merge mode", "from", tableMergeMode(c.tbl), "to", c.mode)
		if err := tx.SetProperties(iceberg.Properties{PropMergeMode: string(c.mode)}); err != nil {
			return nil, ms, nil, nil, err
		}
	}
	if !merges(p.Plan.ExportType) {
		add, err := c.withRowIDs(dfs)
		if err != nil {
			return nil, ms, nil, nil, err
		}
		if len(add) == 0 {
			// An empty export still gets its snapshot: the marker records it.
			err = tx.AddFiles(ctx, nil, props, false)
		} else {
			err = tx.AddDataFiles(ctx, add, props)
		}
		if err != nil {
			return nil, ms, nil, nil, err
		}
	} else {
		mode := c.exportMergeMode(p)
		d, err := c.mergeDelta(ctx, tx, dfs, mode, p.Inflight+"-"+strconv.Itoa(attempt))
		if d != nil {
			written, ms = d.written, d.stats
		}
		if err != nil {
			return nil, ms, written, nil, err
		}
		props[MarkerMergeMode] = string(mode)
		props[MarkerUpserts] = strconv.FormatInt(ms.upserts, 10)
		props[MarkerDeletes] = strconv.FormatInt(ms.deletes, 10)
		if mode != EqualityDeletes {
			// Equality deletes do not read the table, so they cannot
			// tell how many rows they delete, or whether a change is
			// older than the row it meets (exports of the chain never
			// are: see exportMergeMode).
			props[MarkerStale] = strconv.FormatInt(ms.stale, 10)
			props[MarkerDeletedRows] = strconv.FormatInt(ms.deletedRows, 10)
		}
		add, err := c.withRowIDs(d.addRows)
		if err != nil {
			return nil, ms, written, nil, err
		}
		switch {
		case len(add) == 0 && len(d.addDeletes) == 0 && len(d.removeRows) == 0:
			err = tx.AddFiles(ctx, nil, props, false)
		case mode == CopyOnWrite:
			err = tx.ReplaceFiles(ctx, d.removeRows, add, d.removeDeletes, props)
		default:
			err = tx.NewRowDelta(props).AddRows(add...).AddDeletes(d.addDeletes...).RemoveDeletes(d.removeDeletes...).Commit(ctx)
		}
		if err != nil {
			return nil, ms, written, nil, err
		}
		spent = append(d.scratch, d.replaced...)
	}
	c.faultAt(FaultCommit)
	tbl, err = tx.Commit(ctx)
	if err == nil {
		c.faultAt(FaultCommitted)
	}
	return tbl, ms, written, spent, err
}

func (c *Committer) faultAt(point string) {
	if c.fault != nil {
		c.fault(point)
	}
}

// withRowIDs gives the data files of a v3 table their first_row_id, taken
// from the table's next-row-id, as the v3 row lineage rules require for
// files added to a table (iceberg-go does not assign them for AddDataFiles).
// It runs on every commit attempt, since a reload may have moved next-row-id.
func (c *Committer) withRowIDs(dfs []iceberg.DataFile) ([]iceberg.DataFile, error) {
	meta := c.tbl.Metadata()
	if meta.Version() < 3 {
		return dfs, nil
	}
	next := meta.NextRowID()
	out := make([]iceberg.DataFile, len(dfs))
	for i, df := range dfs {
		spec := c.tbl.Spec()
		b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentData, df.FilePath(), df.FileFormat(), df.Partition(), nil, nil, df.Count(), df.FileSizeBytes())
		if err != nil {
			return nil, fmt.Errorf("data file %s: %w", df.FilePath(), err)
		}
		b = b.ColumnSizes(df.ColumnSizes()).ValueCounts(df.ValueCounts()).NullValueCounts(df.NullValueCounts()).
			NaNValueCounts(df.NaNValueCounts()).LowerBoundValues(df.LowerBoundValues()).UpperBoundValues(df.UpperBoundValues()).
			SplitOffsets(df.SplitOffsets()).FirstRowID(next)
		if so := df.SortOrderID(); so != nil {
			b = b.SortOrderID(*so)
		}
		out[i] = b.Build()
		next += df.Count()
	}
	return out, nil
}

// removePaths deletes files this committer wrote and will not commit.
func (c *Committer) removePaths(ctx context.Context, dfs []iceberg.DataFile) {
	paths := make([]string, len(dfs))
	for i, df := range dfs {
		paths[i] = df.FilePath()
	}
	c.removeFiles(ctx, "uncommitted files", paths)
}

// removeStaged deletes an export's staged deletes once they are no longer
// needed (committed, or the export failed).
func (c *Committer) removeStaged(ctx context.Context, p *pending) {
	c.removeFiles(ctx, "staged deletes", p.Staged)
}

// removeFiles deletes files of the table's location that are garbage; a
// failure is only logged (the files are harmless, and `floe maintain`
// removes leftovers).
func (c *Committer) removeFiles(ctx context.Context, what string, paths []string) {
	if len(paths) == 0 || c.tbl == nil {
		return
	}
	fsys, err := c.tbl.FS(ctx)
	if err != nil {
		c.log.Warn("cannot remove "+what, "err", err)
		return
	}
	for _, path := range paths {
		if err := fsys.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("removing "+what, "path", path, "err", err)
		}
	}
}

// abortChunk stops the unfinished chunks; their files become orphans,
// removed through their write ids by deleteFiles or on the next start.
func (c *Committer) abortChunk() {
	for _, ch := range []*chunk{c.chunk, c.closing} {
		if ch == nil {
			continue
		}
		ch.releaseTombs()
		if ch.cancel != nil {
			ch.cancel()
		}
		if ch.in != nil {
			if ch == c.chunk {
				close(ch.in)
			}
			<-ch.done
		}
	}
	c.chunk, c.closing = nil, nil
}

// deleteFiles removes every data file written for an export that will not
// be committed.
func (c *Committer) deleteFiles(ctx context.Context, p *pending) {
	if c.tbl == nil || p.Phase != phaseLoad {
		return
	}
	if dfs, err := c.dataFiles(p); err == nil {
		c.removePaths(ctx, dfs)
	}
	c.removeStaged(ctx, p)
	if err := c.removeOrphans(ctx, p); err != nil {
		c.log.Warn("removing orphan data files", "err", err)
	}
}

// removeUnreferenced deletes the files under the table's data/ folder that
// no snapshot references, when the committer starts with no pending state:
// it is the table's only writer, so such files are garbage of work whose
// pending state was lost with the NATS store (a deleted <warehouse>/.floe/
// nats, a recreated stream). Files of earlier snapshots stay (time
// travel); `floe maintain` expires those. A failure is only logged: the
// files are harmless.
func (c *Committer) removeUnreferenced(ctx context.Context) {
	if c.tbl == nil {
		return
	}
	// A running compaction's files are unreferenced until it commits.
	// Its lease is checked again after the listing: a compaction that
	// wrote a listed file took its lease before, and its lease outlives
	// its commit by a minute, longer than from the reload below to the
	// second check; so a listed file is either a true leftover, or
	// referenced by the table as reloaded, or under a live lease.
	busy := func() bool {
		if lease.Held(c.tbl.Location()) {
			c.log.Info("floe maintain is compacting the table; leaving unreferenced files for the next start or floe maintain")
			return true
		}
		return false
	}
	if busy() {
		return
	}
	tbl, err := c.loadTable(ctx)
	if err != nil || tbl == nil {
		c.log.Warn("reloading the table before removing leftovers failed; leaving them for the next start or floe maintain", "err", err)
		return
	}
	c.tbl = tbl
	plan, err := c.tbl.PlanOrphanFiles(ctx,
		table.WithLocation(c.tbl.Location()+"/data"),
		table.WithFilesOlderThan(0),
		table.WithPrefixMismatchMode(table.PrefixMismatchIgnore))
	if err != nil {
		c.log.Warn("looking for files no snapshot references (harmless leftovers; `floe maintain` removes them)", "err", err)
		return
	}
	if busy() {
		return
	}
	res, err := c.tbl.ExecuteOrphanCleanup(ctx, plan)
	if err != nil {
		c.log.Warn("removing files no snapshot references (harmless leftovers; `floe maintain` removes them)", "err", err)
		return
	}
	if n := len(res.DeletedFiles); n > 0 {
		c.log.Info("removed files of interrupted work whose pending state was lost", "files", n)
	}
}

// removeOrphans deletes data files of the in-flight chunks that a crash
// left behind: they carry a chunk's write id but are not listed.
func (c *Committer) removeOrphans(ctx context.Context, p *pending) error {
	ids := slices.DeleteFunc([]string{p.Inflight, p.Closing}, func(id string) bool { return id == "" })
	if len(ids) == 0 {
		return nil
	}
	root, ok := localPath(c.tbl.Location())
	if !ok {
		c.log.Warn("orphan cleanup is only implemented for local warehouses; leftover files are harmless and `floe maintain` will remove them", "location", c.tbl.Location())
		return nil
	}
	listed := map[string]bool{}
	if dfs, err := c.dataFiles(p); err == nil {
		for _, df := range dfs {
			if lp, ok := localPath(df.FilePath()); ok {
				listed[lp] = true
			}
		}
	}
	return filepath.WalkDir(filepath.Join(root, "data"), func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		if slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(d.Name(), id) }) && !listed[path] {
			c.log.Info("removing orphan data file of an interrupted write", "path", path)
			return os.Remove(path)
		}
		return nil
	})
}

func localPath(loc string) (string, bool) {
	switch {
	case strings.HasPrefix(loc, "file://"):
		return filepath.Clean(strings.TrimPrefix(loc, "file://")), true
	case strings.HasPrefix(loc, "/"):
		return filepath.Clean(loc), true
	}
	return "", false
}
