package committer

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/dv"

	"github.com/floe-io/floe/internal/schema"
)

// An incremental export is applied as a merge-on-read row delta:
//
//  1. While loading, upserts (NewImage rows, with their write timestamp)
//     are written into data files as a full export's rows are, and
//     deletes (keys and write timestamp) into staged Parquet files of
//     their own; both are listed in the pending state before their
//     messages are acked.
//  2. At commit, every key the export touches is gathered from the staged
//     deletes and the new data files, then the table's live data files
//     are scanned, key columns only, to find the rows those keys have
//     now (see RATIONALE.md, "Finding the old rows").
//  3. Per key, the newest version wins (by _ddb_write_ts; rows loaded from
//     a full export are older than every change; on a tie the row already
//     in the table stays). Every other version, old or new, is deleted by
//     position: position delete files in format v2, deletion vectors
//     (merged with the file's existing one) in v3.
//  4. The data files and delete files are committed in one snapshot.
//
// Everything in 2-4 is derived from the table and the durable pending
// state, so a crash there just redoes it.

// mergeStats counts what a merge applied.
type mergeStats struct {
	upserts     int64 // keys whose new version won
	deletes     int64 // keys deleted
	stale       int64 // changes older than the row the table already held
	deletedRows int64 // row versions deleted by position (old or superseded)
}

// candidate is one version of a key: a row of a data file, or a delete.
type candidate struct {
	file int32 // index into merge.files; -1 for a delete
	pos  int64
	ts   int64
}

type mergeFile struct {
	df       iceberg.DataFile
	existing bool
	// task is an existing file's scan task: its delete files, first row
	// id and data sequence number, for copy-on-write's rewrite.
	task table.FileScanTask
	// eq are the equality delete files that apply to an existing file.
	eq []*eqDeletes
	// dv is the file's current deletion vector (v3), to be replaced.
	dv iceberg.DataFile
	// deleted holds the positions already deleted (dv or position
	// deletes), and then those this merge deletes.
	deleted *dv.RoaringPositionBitmap
	added   []int64 // positions this merge deletes
}

type merge struct {
	c     *Committer
	fsys  iceio.IO
	kc    keyColumns
	index map[string]int32
	cands [][]candidate
	files []*mergeFile
	stats mergeStats
}

// eqDeletes is an equality delete file of the table, as the merge's keys
// it deletes (the others do not matter to the merge).
type eqDeletes struct {
	df  iceberg.DataFile
	ids map[int32]struct{}
}

// deletedByEquality tells whether an equality delete that applies to mf
// holds key id.
func (mf *mergeFile) deletedByEquality(id int32) bool {
	for _, e := range mf.eq {
		if _, ok := e.ids[id]; ok {
			return true
		}
	}
	return false
}

// stageDeletes writes a chunk's delete rows (key columns and write
// timestamp) into a Parquet file named with the chunk's write id, so that
// a crash before it is listed leaves an orphan found by that id.
func (c *Committer) stageDeletes(ctx context.Context, id string, recs []arrow.RecordBatch) (string, error) {
	fsys, err := c.tbl.FS(ctx)
	if err != nil {
		return "", err
	}
	wfs, ok := fsys.(iceio.WriteFileIO)
	if !ok {
		return "", fmt.Errorf("the warehouse file system cannot write files")
	}
	cols := append(c.keyColumnNames(), schema.WriteTSColumn)
	sc := recs[0].Schema()
	idx := make([]int, len(cols))
	fields := make([]arrow.Field, len(cols))
	for i, name := range cols {
		ii := sc.FieldIndices(name)
		if len(ii) != 1 {
			return "", fmt.Errorf("delete batch lacks column %q", name)
		}
		idx[i], fields[i] = ii[0], sc.Field(ii[0])
	}
	proj := arrow.NewSchema(fields, nil)
	path := c.tbl.Location() + "/data/" + id + "-deletes.parquet"
	out, err := wfs.Create(path)
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", path, err)
	}
	w, err := pqarrow.NewFileWriter(proj, out, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)), pqarrow.DefaultWriterProps())
	if err != nil {
		out.Close()
		return "", err
	}
	for _, rec := range recs {
		arrs := make([]arrow.Array, len(idx))
		for i, j := range idx {
			arrs[i] = rec.Column(j)
		}
		p := array.NewRecordBatch(proj, arrs, rec.NumRows())
		err := w.WriteBuffered(p)
		p.Release()
		if err != nil {
			w.Close()
			return "", fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// keyColumnNames lists the table's key columns.
func (c *Committer) keyColumnNames() []string { return keyColumnNames(c.sch) }

func keyColumnNames(s *schema.Schema) []string {
	var out []string
	for _, k := range s.Key {
		out = append(out, s.Field(k).Column)
	}
	return out
}

func (c *Committer) keyColumns() (keyColumns, error) {
	var kc keyColumns
	ice := c.tbl.Schema()
	for _, name := range c.keyColumnNames() {
		f, ok := ice.FindFieldByName(name)
		if !ok {
			return kc, fmt.Errorf("table has no key column %q", name)
		}
		kc.keys = append(kc.keys, f.ID)
	}
	f, ok := ice.FindFieldByName(schema.WriteTSColumn)
	if !ok {
		return kc, fmt.Errorf("table has no %s column", schema.WriteTSColumn)
	}
	kc.ts = f.ID
	return kc, nil
}

// planMerge works out the row delta of the current incremental export
// against the table as loaded now: every version of every key it touches,
// resolved (see merge.resolve); writeDeletes then writes its deletes.
// Without scan, it resolves the export's own versions only, for equality
// deletes to remove the table's.
func (c *Committer) planMerge(ctx context.Context, newFiles []iceberg.DataFile, scan bool) (m *merge, err error) {
	fsys, err := c.tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	kc, err := c.keyColumns()
	if err != nil {
		return nil, err
	}
	m = &merge{c: c, fsys: fsys, kc: kc, index: map[string]int32{}}
	for _, path := range c.cur.Staged {
		err := readKeys(ctx, fsys, path, kc, func(r keyRow) error {
			m.add(r.key, candidate{file: -1, ts: r.ts})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("staged deletes: %w", err)
		}
	}
	for _, df := range newFiles {
		fi := int32(len(m.files))
		m.files = append(m.files, &mergeFile{df: df, deleted: dv.NewRoaringPositionBitmap()})
		err := readKeys(ctx, fsys, df.FilePath(), kc, func(r keyRow) error {
			m.add(r.key, candidate{file: fi, pos: r.pos, ts: r.ts})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("new data file: %w", err)
		}
	}
	if scan && len(m.index) > 0 && c.tbl.CurrentSnapshot() != nil {
		if err := m.scanTable(ctx); err != nil {
			return nil, err
		}
	}
	m.resolve()
	return m, nil
}

// add records a version of a key.
func (m *merge) add(key []byte, cd candidate) {
	id, ok := m.index[string(key)]
	if !ok {
		id = int32(len(m.cands))
		m.index[string(key)] = id
		m.cands = append(m.cands, nil)
	}
	m.cands[id] = append(m.cands[id], cd)
}

// scanTable finds the live rows of the table's data files that hold keys
// of the merge, reading only the key and write timestamp columns.
func (m *merge) scanTable(ctx context.Context) error {
	tasks, err := m.c.tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return fmt.Errorf("planning the table scan: %w", err)
	}
	posDeletes := map[string]iceberg.DataFile{}
	eqs := map[string]*eqDeletes{}
	first := int32(len(m.files))
	for _, t := range tasks {
		mf := &mergeFile{df: t.File, existing: true, task: t, deleted: dv.NewRoaringPositionBitmap()}
		for _, d := range t.DeleteFiles {
			posDeletes[d.FilePath()] = d
		}
		for _, d := range t.EqualityDeleteFiles {
			e := eqs[d.FilePath()]
			if e == nil {
				e = &eqDeletes{df: d}
				eqs[d.FilePath()] = e
			}
			mf.eq = append(mf.eq, e)
		}
		if len(t.DeletionVectorFiles) > 1 {
			return fmt.Errorf("data file %s has %d deletion vectors; the table is corrupt", t.File.FilePath(), len(t.DeletionVectorFiles))
		}
		if len(t.DeletionVectorFiles) == 1 {
			mf.dv = t.DeletionVectorFiles[0]
			bm, err := dv.ReadDV(m.fsys, mf.dv)
			if err != nil {
				return fmt.Errorf("reading the deletion vector of %s: %w", t.File.FilePath(), err)
			}
			mf.deleted.Or(bm)
		}
		m.files = append(m.files, mf)
	}
	byPath := map[string]*mergeFile{}
	for _, mf := range m.files[first:] {
		byPath[mf.df.FilePath()] = mf
	}
	for _, d := range slices.Sorted(maps.Keys(posDeletes)) {
		if err := readPositionDeletes(ctx, m.fsys, d, byPath); err != nil {
			return err
		}
	}
	for _, e := range eqs {
		if err := m.readEqualityDeletes(ctx, e); err != nil {
			return err
		}
	}

	// Two workers: the machine floe is sized for has two cores, and the
	// reads are CPU-bound (decompression, decoding). The work is handed
	// out by row group, not by file, so that a table of a few large files
	// keeps both busy: a worker that opens a file reads its first row
	// group and queues the others for whichever worker is free.
	filter := m.keyFilter()
	type unit struct{ fi, rg int } // rg < 0: the file is not opened yet
	var (
		mu     sync.Mutex
		next   = int(first)
		queued []unit
		errs   []error
		wg     sync.WaitGroup
	)
	take := func() (unit, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 {
			return unit{}, false
		}
		if n := len(queued); n > 0 {
			u := queued[n-1]
			queued = queued[:n-1]
			return u, true
		}
		if next >= len(m.files) {
			return unit{}, false
		}
		next++
		return unit{fi: next - 1, rg: -1}, true
	}
	for range 2 {
		wg.Go(func() {
			var hits []candidate
			var hitIDs []int32
			for {
				u, ok := take()
				if !ok {
					return
				}
				mf := m.files[u.fi]
				hits, hitIDs = hits[:0], hitIDs[:0]
				err := func() error {
					kf, err := openKeys(m.fsys, mf.df.FilePath(), m.kc)
					if err != nil {
						return err
					}
					defer kf.close()
					rg := u.rg
					if rg < 0 {
						n := kf.numRowGroups()
						if n == 0 {
							return nil
						}
						if n > 1 {
							mu.Lock()
							for r := n - 1; r >= 1; r-- {
								queued = append(queued, unit{fi: u.fi, rg: r})
							}
							mu.Unlock()
						}
						rg = 0
					}
					return kf.read(ctx, rg, func(r keyRow) error {
						if !filter.mayContain(r.key) {
							return nil
						}
						id, ok := m.index[string(r.key)]
						if ok && !mf.deleted.Contains(uint64(r.pos)) && !mf.deletedByEquality(id) {
							hits = append(hits, candidate{file: int32(u.fi), pos: r.pos, ts: r.ts})
							hitIDs = append(hitIDs, id)
						}
						return nil
					})
				}()
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for i, id := range hitIDs {
					m.cands[id] = append(m.cands[id], hits[i])
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("scanning the table for changed keys: %w", errs[0])
	}
	return nil
}

// readEqualityDeletes reads the merge's keys that an equality delete
// file of the table deletes. Only files with floe's key as their equality
// columns are understood: floe writes no others.
func (m *merge) readEqualityDeletes(ctx context.Context, e *eqDeletes) error {
	if !slices.Equal(slices.Sorted(slices.Values(e.df.EqualityFieldIDs())), slices.Sorted(slices.Values(m.kc.keys))) {
		return fmt.Errorf("equality delete file %s deletes by field ids %v, not by the table's key %v; floe cannot merge into it: compact the table first (floe maintain)", e.df.FilePath(), e.df.EqualityFieldIDs(), m.kc.keys)
	}
	e.ids = map[int32]struct{}{}
	err := readKeys(ctx, m.fsys, e.df.FilePath(), m.kc.keysOnly(), func(r keyRow) error {
		if id, ok := m.index[string(r.key)]; ok {
			e.ids[id] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("equality deletes: %w", err)
	}
	return nil
}

// keyFilter builds a Bloom filter of the merge's keys. Most rows of the
// table hold keys the export does not touch; the filter, small enough to
// stay in the CPU cache, turns almost all of them away before the probe
// of m.index, whose misses go to main memory.
func (m *merge) keyFilter() *keyFilter {
	// 16 bits per key, in 64-bit blocks; three bits of one block per key.
	n := 64
	for n < 16*len(m.index) {
		n *= 2
	}
	f := &keyFilter{seed: maphash.MakeSeed(), words: make([]uint64, n/64)}
	for k := range m.index {
		f.add(maphash.String(f.seed, k))
	}
	return f
}

// keyFilter is a blocked Bloom filter of encoded keys: no false
// negatives, a few percent of false positives.
type keyFilter struct {
	seed  maphash.Seed
	words []uint64
}

func (f *keyFilter) block(h uint64) (*uint64, uint64) {
	w := &f.words[h&uint64(len(f.words)-1)]
	return w, 1<<(h>>40&63) | 1<<(h>>46&63) | 1<<(h>>52&63)
}

func (f *keyFilter) add(h uint64) {
	w, bits := f.block(h)
	*w |= bits
}

func (f *keyFilter) mayContain(key []byte) bool {
	w, bits := f.block(maphash.Bytes(f.seed, key))
	return *w&bits == bits
}

// readPositionDeletes adds the positions a v2 position delete file
// deletes to the files of byPath it names.
func readPositionDeletes(ctx context.Context, fsys iceio.IO, path string, byPath map[string]*mergeFile) error {
	f, err := fsys.Open(path)
	if err != nil {
		return fmt.Errorf("opening position deletes %s: %w", path, err)
	}
	defer f.Close()
	pr, err := file.NewParquetReader(f)
	if err != nil {
		return fmt.Errorf("reading position deletes %s: %w", path, err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("reading position deletes %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("reading position deletes %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		pi, qi := rec.Schema().FieldIndices("file_path"), rec.Schema().FieldIndices("pos")
		if len(pi) != 1 || len(qi) != 1 {
			return fmt.Errorf("position deletes %s lack file_path or pos", path)
		}
		paths, ok1 := rec.Column(pi[0]).(*array.String)
		pos, ok2 := rec.Column(qi[0]).(*array.Int64)
		if !ok1 || !ok2 {
			return fmt.Errorf("position deletes %s: unexpected column types", path)
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			if mf := byPath[paths.Value(r)]; mf != nil {
				mf.deleted.Set(uint64(pos.Value(r)))
			}
		}
	}
	return rr.Err()
}

// rank orders versions with equal timestamps: the row the table holds
// stays (a replayed change is a no-op), then deletes, then new rows.
func (m *merge) rank(cd candidate) int {
	switch {
	case cd.file < 0:
		return 1
	case m.files[cd.file].existing:
		return 0
	}
	return 2
}

// resolve keeps the newest version of every key and deletes the others.
func (m *merge) resolve() {
	for _, cs := range m.cands {
		best := 0
		for j := 1; j < len(cs); j++ {
			a, b := cs[j], cs[best]
			if a.ts > b.ts || a.ts == b.ts && m.rank(a) < m.rank(b) {
				best = j
			}
		}
		for j, cd := range cs {
			if j == best || cd.file < 0 {
				continue
			}
			mf := m.files[cd.file]
			mf.added = append(mf.added, cd.pos)
			m.stats.deletedRows++
		}
		switch w := cs[best]; {
		case w.file < 0:
			m.stats.deletes++
		case m.files[w.file].existing:
			m.stats.stale++
		default:
			m.stats.upserts++
		}
	}
}

// writeDeletes writes the merge's deletes: deletion vectors for v3 tables
// (each replacing the data file's current one), position delete files for
// v2. Files are named with the pending state's write id, so a crash before
// the commit leaves orphans found by that id.
func (m *merge) writeDeletes(ctx context.Context, name string) (add, remove []iceberg.DataFile, err error) {
	meta := m.c.tbl.Metadata()
	wfs, ok := m.fsys.(iceio.WriteFileIO)
	if !ok {
		return nil, nil, fmt.Errorf("the warehouse file system cannot write files")
	}
	var touched []*mergeFile
	for _, mf := range m.files {
		if len(mf.added) > 0 {
			slices.Sort(mf.added)
			touched = append(touched, mf)
		}
	}
	if len(touched) == 0 {
		return nil, nil, nil
	}
	loc := m.c.tbl.Location() + "/data/" + name
	if meta.Version() >= 3 {
		w := dv.NewDVWriter(wfs, func(id int32) *iceberg.PartitionSpec { return meta.PartitionSpecByID(int(id)) })
		for _, mf := range touched {
			spec, part := mf.df.SpecID(), mf.df.Partition()
			if mf.dv != nil {
				w.Load(mf.df.FilePath(), mf.deleted, spec, part)
				remove = append(remove, mf.dv)
			}
			if err := w.Add(mf.df.FilePath(), mf.added, spec, part); err != nil {
				return nil, nil, err
			}
		}
		add, err = w.Flush(ctx, loc+"-dv.puffin")
		if err != nil {
			return nil, nil, fmt.Errorf("writing deletion vectors: %w", err)
		}
		return add, remove, nil
	}
	// v2: one position delete file per partition, rows sorted by file and
	// position as the spec requires.
	groups := map[string][]*mergeFile{}
	for _, mf := range touched {
		k := partitionKey(mf.df)
		groups[k] = append(groups[k], mf)
	}
	for i, k := range slices.Sorted(maps.Keys(groups)) {
		g := groups[k]
		slices.SortFunc(g, func(a, b *mergeFile) int { return cmp.Compare(a.df.FilePath(), b.df.FilePath()) })
		df, err := writePositionDeletes(wfs, meta, g, loc+"-pos-deletes-"+strconv.Itoa(i)+".parquet")
		if err != nil {
			return nil, nil, err
		}
		add = append(add, df)
	}
	return add, nil, nil
}

// partitionKey identifies a data file's partition (spec and values).
func partitionKey(df iceberg.DataFile) string {
	p := df.Partition()
	ids := slices.Sorted(maps.Keys(p))
	k := strconv.Itoa(int(df.SpecID()))
	for _, id := range ids {
		k += fmt.Sprintf("|%d=%v", id, p[id])
	}
	return k
}

func writePositionDeletes(wfs iceio.WriteFileIO, meta table.Metadata, files []*mergeFile, path string) (iceberg.DataFile, error) {
	posDeleteArrowSchema, err := table.SchemaToArrowSchema(iceberg.PositionalDeleteSchema, nil, true, false)
	if err != nil {
		return nil, err
	}
	bld := array.NewRecordBuilder(memory.DefaultAllocator, posDeleteArrowSchema)
	defer bld.Release()
	pb, qb := bld.Field(0).(*array.StringBuilder), bld.Field(1).(*array.Int64Builder)
	var n int64
	for _, mf := range files {
		for _, pos := range mf.added {
			pb.Append(mf.df.FilePath())
			qb.Append(pos)
			n++
		}
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	out, err := wfs.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	cw := &countingWriter{w: out}
	w, err := pqarrow.NewFileWriter(posDeleteArrowSchema, cw, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)), pqarrow.DefaultWriterProps())
	if err != nil {
		out.Close()
		return nil, err
	}
	if err := w.Write(rec); err != nil {
		w.Close()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	first := files[0].df
	spec := meta.PartitionSpecByID(int(first.SpecID()))
	if spec == nil {
		return nil, fmt.Errorf("data file %s has unknown partition spec %d", first.FilePath(), first.SpecID())
	}
	b, err := iceberg.NewDataFileBuilder(*spec, iceberg.EntryContentPosDeletes, path, iceberg.ParquetFile, first.Partition(), nil, nil, n, cw.n)
	if err != nil {
		return nil, err
	}
	// Bounds on file_path let readers skip the file for other data files.
	pathID := iceberg.PositionalDeleteSchema.Field(0).ID
	b = b.LowerBoundValues(map[int][]byte{pathID: []byte(first.FilePath())}).
		UpperBoundValues(map[int][]byte{pathID: []byte(files[len(files)-1].df.FilePath())})
	if len(files) == 1 {
		b = b.ReferencedDataFile(first.FilePath())
	}
	return b.Build(), nil
}

// countingWriter counts the bytes of a file, for its manifest entry.
type countingWriter struct {
	w iceio.FileWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Close() error { return c.w.Close() }
