package exportgen

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/floe-io/floe/internal/ddb"
)

const (
	region    = "us-east-1"
	accountID = "123456789012"

	// flushSize batches lines before they reach the compressor, which is
	// much faster than one Write per 500-byte line.
	flushSize = 256 << 10
)

// partitioner spreads partition keys over data files the way DynamoDB does:
// by a hash of the partition key, so one customer's orders share a file.
// With several files one of them (at a seed-chosen position) gets nothing,
// like a partition without items.
type partitioner struct {
	n, empty int
	salt     uint64
}

func newPartitioner(n int, seed, salt uint64) partitioner {
	p := partitioner{n: n, empty: -1, salt: mix64(seed ^ salt)}
	if n > 1 {
		r := newRng(seed, streamPartition, salt)
		p.empty = r.intn(n)
	}
	return p
}

func (p partitioner) of(customer int64) int {
	if p.n <= 1 {
		return 0
	}
	f := int(mix64(uint64(customer)^p.salt) % uint64(p.n-1))
	if f >= p.empty {
		f++
	}
	return f
}

// generator carries what is shared by every export of one Generate call.
type generator struct {
	o        *Options
	m        *model
	st       *state
	root     string // Dir/AWSDynamoDB
	keyRoot  string // Prefix/AWSDynamoDB
	tableID  string
	ion      bool
	parts    partitioner
	incParts partitioner
	workers  []*worker
	prevEnd  time.Time // end of the previous export job, so job times never go back
}

func newGenerator(o *Options) *generator {
	g := &generator{
		o:       o,
		m:       newModel(o),
		st:      newState(int64(o.Items)),
		root:    filepath.Join(o.Dir, "AWSDynamoDB"),
		keyRoot: o.Prefix + "/AWSDynamoDB",
		ion:     o.Format == FormatIon,
	}
	g.parts = newPartitioner(o.Files, g.m.seed, 1)
	g.incParts = newPartitioner(o.IncrementalFiles, g.m.seed, 2)
	r := newRng(g.m.seed, streamName, 0)
	a, b := r.next(), r.next()
	// A version-4 UUID, as DynamoDB table ids are.
	g.tableID = fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
	g.workers = make([]*worker, o.Workers)
	for i := range g.workers {
		g.workers[i] = newWorker()
	}
	return g
}

// worker holds one goroutine's reusable buffers and compressor.
type worker struct {
	b1, b2 builder
	pend   []byte
	gz     *gzip.Writer // data files: DynamoDB-like compression
	fastGz *gzip.Writer // expected states: only tests read them, speed wins
	out    *gzip.Writer // the one w.flush feeds
	bw     *bufio.Writer
	md5    hash.Hash
	// Per output file:
	f            *os.File
	lines, bytes int64
}

func newWorker() *worker {
	w := &worker{md5: md5.New(), bw: bufio.NewWriterSize(nil, 256<<10)}
	w.gz, _ = gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	w.fastGz, _ = gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}

// create starts a data file: gzip into a buffered file, hashing the
// compressed bytes on the way for the manifest's md5Checksum and etag.
func (w *worker) create(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("exportgen: %w", err)
	}
	w.f, w.lines, w.bytes = f, 0, 0
	w.md5.Reset()
	w.bw.Reset(f)
	w.gz.Reset(io.MultiWriter(w.bw, w.md5))
	w.out = w.gz
	w.pend = w.pend[:0]
	return nil
}

// line counts the line just appended to w.pend and flushes when enough
// text is pending.
func (w *worker) line(start int) error {
	w.lines++
	w.bytes += int64(len(w.pend) - start)
	if len(w.pend) >= flushSize {
		return w.flush()
	}
	return nil
}

func (w *worker) flush() error {
	if len(w.pend) == 0 {
		return nil
	}
	_, err := w.out.Write(w.pend)
	w.pend = w.pend[:0]
	if err != nil {
		return fmt.Errorf("exportgen: compress: %w", err)
	}
	return nil
}

func (w *worker) finish() (sum [16]byte, err error) {
	err = w.flush()
	if err == nil {
		err = w.out.Close()
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	copy(sum[:], w.md5.Sum(nil))
	if err != nil {
		return sum, fmt.Errorf("exportgen: write data file: %w", err)
	}
	return sum, nil
}

// abort closes a file left half-written by an error.
func (w *worker) abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// parallel runs task(ctx, worker, t) for t in [0, n) on the generator's
// workers and returns the first error; the others stop at their next check.
func (g *generator) parallel(ctx context.Context, n int, task func(ctx context.Context, w *worker, t int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range g.workers[:min(len(g.workers), n)] {
		wg.Go(func() {
			for ctx.Err() == nil {
				t := int(next.Add(1) - 1)
				if t >= n {
					return
				}
				if err := task(ctx, w, t); err != nil {
					w.abort()
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// dataFile is one line of manifest-files.json.
type dataFile struct {
	key   string
	items int64
	bytes int64
	md5   [16]byte
}

// fileName draws a data file name like DynamoDB's: 26 lowercase base32
// characters.
func (g *generator) fileName(export, file int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	r := newRng(g.m.seed, streamName, uint64(export+1)<<32|uint64(file))
	var b [26]byte
	var v uint64
	for i := range b {
		if i%12 == 0 {
			v = r.next() // 12 characters use 60 of its 64 bits
		}
		b[i] = alphabet[v&31]
		v >>= 5
	}
	ext := ".json.gz"
	if g.ion {
		ext = ".ion.gz"
	}
	return string(b[:]) + ext
}

// exportID is DynamoDB's format: job start in epoch millis, zero-padded to
// 14 digits, a dash and 8 hex digits.
func (g *generator) exportID(export int, start time.Time) string {
	r := newRng(g.m.seed, streamName, uint64(export+1)<<48)
	return fmt.Sprintf("%014d-%08x", start.UnixMilli(), uint32(r.next()))
}

// jobTimes returns when the export job ran: it starts at notBefore (plus a
// little queueing) and takes minutes, growing with the amount of data.
func (g *generator) jobTimes(export int, notBefore time.Time, records int64) (start, end time.Time) {
	r := newRng(g.m.seed, streamTime, uint64(export))
	start = notBefore
	if export > 0 {
		start = start.Add(time.Duration(60000+r.intn(120000)) * time.Millisecond)
	}
	if start.Before(g.prevEnd) {
		start = g.prevEnd.Add(time.Duration(1+r.intn(1000)) * time.Millisecond)
	}
	d := 4*time.Minute + time.Duration(r.intn(60000))*time.Millisecond + time.Duration(records/2000)*time.Second
	end = start.Add(d)
	g.prevEnd = end
	return start, end
}

func (g *generator) full(ctx context.Context) (ExportInfo, error) {
	o := g.o
	start, end := g.jobTimes(0, o.StartTime, int64(o.Items))
	id := g.exportID(0, start)
	dir := filepath.Join(g.root, id)
	if err := g.begin(dir, filepath.Join(dir, "data")); err != nil {
		return ExportInfo{}, err
	}
	files := make([]dataFile, o.Files)
	nCust := g.m.nCust
	err := g.parallel(ctx, o.Files, func(ctx context.Context, w *worker, f int) error {
		name := g.fileName(0, f)
		if err := w.create(filepath.Join(dir, "data", name)); err != nil {
			return err
		}
		for c := int64(0); c < nCust; c++ {
			if g.parts.of(c) != f {
				continue
			}
			if c%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			for i := c * ordersPerCustomer; i < (c+1)*ordersPerCustomer && i < g.m.items; i++ {
				w.b1.reset()
				it := g.m.item(&w.b1, i, -1, 0)
				s := len(w.pend)
				w.pend = g.appendItemLine(w.pend, it)
				if err := w.line(s); err != nil {
					return err
				}
			}
		}
		sum, err := w.finish()
		files[f] = dataFile{key: g.keyRoot + "/" + id + "/data/" + name, items: w.lines, bytes: w.bytes, md5: sum}
		return err
	})
	if err != nil {
		return ExportInfo{}, err
	}
	info := ExportInfo{ID: id, Dir: dir, Files: len(files)}
	for _, f := range files {
		info.ItemCount += f.items
		info.Bytes += f.bytes
	}
	sum := g.summary(summaryFields{id: id, start: start, end: end, items: info.ItemCount, billed: info.Bytes})
	if err := g.manifests(dir, files, sum); err != nil {
		return info, err
	}
	return info, g.expected(ctx, &info)
}

func (g *generator) incremental(ctx context.Context, k int) (ExportInfo, error) {
	o := g.o
	from := g.m.windowStart(k)
	to := from.Add(o.Window)
	changes := g.plan(k)
	start, end := g.jobTimes(k+1, to, int64(len(changes)))
	id := g.exportID(k+1, start)
	dir := filepath.Join(g.root, id)
	shared := filepath.Join(g.root, "data")
	if err := g.begin(dir, shared); err != nil {
		return ExportInfo{}, err
	}
	files := make([]dataFile, o.IncrementalFiles)
	err := g.parallel(ctx, len(files), func(ctx context.Context, w *worker, f int) error {
		name := g.fileName(k+1, f)
		if err := w.create(filepath.Join(shared, name)); err != nil {
			return err
		}
		for j := range changes {
			ch := &changes[j]
			if int(ch.part) != f {
				continue
			}
			if j%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			s := len(w.pend)
			w.pend = g.appendRecordLine(w.pend, w, ch)
			if err := w.line(s); err != nil {
				return err
			}
		}
		sum, err := w.finish()
		files[f] = dataFile{key: g.keyRoot + "/data/" + name, items: w.lines, bytes: w.bytes, md5: sum}
		return err
	})
	if err != nil {
		return ExportInfo{}, err
	}
	info := ExportInfo{ID: id, Dir: dir, Files: len(files)}
	for _, f := range files {
		info.ItemCount += f.items
		info.Bytes += f.bytes
	}
	for _, ch := range changes {
		switch ch.op {
		case opInsert:
			info.Inserts++
		case opUpdate:
			info.Updates++
		case opDelete:
			info.Deletes++
		}
	}
	sum := g.summary(summaryFields{id: id, start: start, end: end, items: info.ItemCount, billed: info.Bytes,
		incremental: true, from: from, to: to})
	if err := g.manifests(dir, files, sum); err != nil {
		return info, err
	}
	return info, g.expected(ctx, &info)
}

// begin creates the export folder and its _started marker, which DynamoDB
// writes first to prove the bucket is writable.
func (g *generator) begin(dir, dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("exportgen: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("exportgen: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "_started"), nil, 0o644); err != nil {
		return fmt.Errorf("exportgen: %w", err)
	}
	return nil
}

// appendItemLine appends a full-export line. Ion lines each start with the
// Ion version marker, as the documentation describes DynamoDB's output.
func (g *generator) appendItemLine(dst []byte, it ddb.Item) []byte {
	if g.ion {
		dst = append(dst, "$ion_1_0 {Item:"...)
		dst = appendIonItem(dst, it)
	} else {
		dst = append(dst, `{"Item":`...)
		dst = appendJSONItem(dst, it)
	}
	return append(dst, '}', '\n')
}

// appendRecordLine appends an incremental-export line. Which images it
// carries depends on the change and the view: NEW_AND_OLD_IMAGES gives
// insert = Keys+NewImage, update = Keys+OldImage+NewImage, delete =
// Keys+OldImage; NEW_IMAGE gives Keys+NewImage, or Keys alone for a delete.
func (g *generator) appendRecordLine(dst []byte, w *worker, ch *change) []byte {
	m := g.m
	created := int(ch.created)
	w.b1.reset()
	w.b2.reset()
	var oldImg, newImg ddb.Item
	var keys ddb.Item
	oldToo := g.o.View == ViewNewAndOld
	switch ch.op {
	case opInsert:
		newImg = m.item(&w.b1, ch.idx, created, ch.ver)
		keys = newImg[:2]
	case opUpdate:
		newImg = m.item(&w.b1, ch.idx, created, ch.ver)
		keys = newImg[:2]
		if oldToo {
			oldImg = m.item(&w.b2, ch.idx, created, ch.ver-1)
		}
	case opDelete:
		if oldToo {
			oldImg = m.item(&w.b2, ch.idx, created, ch.ver)
			keys = oldImg[:2]
		} else {
			pk, sk, _, _ := m.key(&w.b2, ch.idx, created)
			keys = ddb.Item{
				{Name: w.b2.str("pk"), Value: ddb.Value{Kind: ddb.S, Bytes: pk}},
				{Name: w.b2.str("sk"), Value: ddb.Value{Kind: ddb.S, Bytes: sk}},
			}
		}
	}
	if g.ion {
		dst = append(dst, "$ion_1_0 {Metadata:{WriteTimestampMicros:"...)
		var num [20]byte
		dst = appendIonDecimal(dst, strconv.AppendInt(num[:0], ch.ts, 10))
		dst = append(dst, "},Keys:"...)
		dst = appendIonItem(dst, keys)
		if oldImg != nil {
			dst = append(dst, ",OldImage:"...)
			dst = appendIonItem(dst, oldImg)
		}
		if newImg != nil {
			dst = append(dst, ",NewImage:"...)
			dst = appendIonItem(dst, newImg)
		}
	} else {
		dst = append(dst, `{"Metadata":{"WriteTimestampMicros":{"N":"`...)
		dst = strconv.AppendInt(dst, ch.ts, 10)
		dst = append(dst, `"}},"Keys":`...)
		dst = appendJSONItem(dst, keys)
		if oldImg != nil {
			dst = append(dst, `,"OldImage":`...)
			dst = appendJSONItem(dst, oldImg)
		}
		if newImg != nil {
			dst = append(dst, `,"NewImage":`...)
			dst = appendJSONItem(dst, newImg)
		}
	}
	return append(dst, '}', '\n')
}

type summaryFields struct {
	id          string
	start, end  time.Time
	items       int64
	billed      int64
	incremental bool
	from, to    time.Time
}

// summary renders manifest-summary.json, compact and in DynamoDB's field
// order. billedSizeBytes is the uncompressed data size: the real figure is
// DynamoDB's internal table size, which a generator has no way to know.
func (g *generator) summary(s summaryFields) []byte {
	o := g.o
	tableArn := "arn:aws:dynamodb:" + region + ":" + accountID + ":table/" + TableName
	var b []byte
	field := func(name string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(b, []byte(name))
		b = append(b, ':')
	}
	str := func(name, v string) {
		field(name)
		b = appendJSONString(b, []byte(v))
	}
	num := func(name string, v int64) {
		field(name)
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, '{')
	str("version", "2020-06-30")
	str("exportArn", tableArn+"/export/"+s.id)
	str("startTime", rfc3339Millis(s.start))
	str("endTime", rfc3339Millis(s.end))
	str("tableArn", tableArn)
	str("tableId", g.tableID)
	if s.incremental {
		str("exportFromTime", rfc3339Millis(s.from))
		str("exportToTime", rfc3339Millis(s.to))
	} else {
		str("exportTime", rfc3339Millis(o.StartTime))
	}
	str("s3Bucket", o.Bucket)
	str("s3Prefix", o.Prefix)
	str("s3SseAlgorithm", "AES256")
	field("s3SseKmsKeyId")
	b = append(b, "null"...)
	str("manifestFilesS3Key", g.keyRoot+"/"+s.id+"/manifest-files.json")
	num("billedSizeBytes", s.billed)
	num("itemCount", s.items)
	str("outputFormat", o.Format)
	if s.incremental {
		str("outputView", o.View)
		str("exportType", "INCREMENTAL_EXPORT")
	} else {
		str("exportType", "FULL_EXPORT")
	}
	return append(b, '}')
}

func rfc3339Millis(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// manifests writes manifest-files.json (JSON lines, one per data file) and
// then manifest-summary.json, each with its .md5; the summary goes last so
// that a reader that finds it also finds everything it points to.
func (g *generator) manifests(dir string, files []dataFile, summary []byte) error {
	var b []byte
	for _, f := range files {
		b = append(b, `{"itemCount":`...)
		b = strconv.AppendInt(b, f.items, 10)
		b = append(b, `,"md5Checksum":"`...)
		b = base64.StdEncoding.AppendEncode(b, f.md5[:])
		b = append(b, `","etag":"`...)
		b = hex.AppendEncode(b, f.md5[:])
		b = append(b, `","dataFileS3Key":`...)
		b = appendJSONString(b, []byte(f.key))
		b = append(b, "}\n"...)
	}
	if err := writeWithMD5(filepath.Join(dir, "manifest-files"), b); err != nil {
		return err
	}
	return writeWithMD5(filepath.Join(dir, "manifest-summary"), summary)
}

// writeWithMD5 writes base.json and base.md5 holding base64(MD5(json)),
// without a trailing newline.
func writeWithMD5(base string, b []byte) error {
	sum := md5.Sum(b)
	if err := os.WriteFile(base+".json", b, 0o644); err != nil {
		return fmt.Errorf("exportgen: %w", err)
	}
	if err := os.WriteFile(base+".md5", []byte(base64.StdEncoding.EncodeToString(sum[:])), 0o644); err != nil {
		return fmt.Errorf("exportgen: %w", err)
	}
	return nil
}
