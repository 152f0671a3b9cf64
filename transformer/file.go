package transformer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/floe-io/floe/internal/arrowconv"
	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/internal/export"
	"github.com/floe-io/floe/internal/natsbus"
	"github.com/floe-io/floe/internal/objstore"
	"github.com/floe-io/floe/internal/schema"
	"github.com/floe-io/floe/plugins"
)

// maxLine bounds one export line. DynamoDB items are at most 400 KB, which
// DynamoDB JSON can inflate a few times over (base64, escapes, type tags).
const maxLine = 8 << 20

func decodeTask(data []byte) (*natsbus.Task, error) {
	var t natsbus.Task
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, err
	}
	if t.Table == "" || t.ExportID == "" || t.File.Key == "" {
		return nil, errors.New("task lacks table, export or file")
	}
	return &t, nil
}

// sourceReader marks errors of the object store read as sourceErrors, so
// that a broken connection (worth a retry) is told apart from a broken
// file. The gzip reader passes them through unchanged. A checksum mismatch
// is the file's fault and stays unmarked.
type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, export.ErrChecksum) {
		err = &sourceError{err}
	}
	return n, err
}

// callbackError carries an error of ReadFile's callback through readLines,
// so that it is not mistaken for a fault of the file.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// sourceError marks an error of the object store read itself (not of the
// file's content), which may pass on retry.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// ReadFile decodes the records of one data file with dec and streams them
// to fn, with the 1-based line number and the bytes of each record's line
// (without its newline; valid only during the call, like the record unless
// fn keeps it with dec.Keep). It verifies the
// file's MD5 and its item count against the manifest. Errors name the file
// and line and say what to do; errors that retrying cannot fix (the file's
// content is wrong) satisfy IsPermanent.
func ReadFile(ctx context.Context, st objstore.Store, dec ddb.Decoder, f natsbus.File, fn func(rec ddb.Record, line int, raw []byte) error) error {
	// Messages name the file as the user knows it (s3://bucket/key or a
	// path), not by its key in the store.
	name := objstore.Location(st, f.Key)
	raw, err := export.OpenData(ctx, st, export.DataFile{Key: f.Key, ItemCount: f.ItemCount, MD5: f.MD5})
	if err != nil {
		// OpenData's errors name the file and say what to do.
		if errors.Is(err, objstore.ErrNotFound) {
			return permanent(err)
		}
		return err
	}
	defer raw.Close()
	gz, err := ddb.NewGzipReader(sourceReader{raw})
	if err != nil {
		return classify(name, 0, err)
	}
	defer gz.Close()
	lines := ddb.NewLineReader(gz, maxLine)
	err = readLines(lines, dec, name, f.ItemCount, fn)
	var cb *callbackError
	if errors.As(err, &cb) && !IsPermanent(cb.err) {
		return cb.err // the caller's own failure (publishing), not the file's
	}
	if IsPermanent(err) {
		// A damaged file often decodes into garbage before its end, where
		// the MD5 is checked: say that the file is damaged, not only that a
		// line is malformed.
		// The checksum error names the file and says what to do; the
		// decode error is only its symptom, so it is not repeated.
		if ferr := raw.Finish(); errors.Is(ferr, export.ErrChecksum) {
			return permanent(fmt.Errorf("%w (decoding stopped after line %d)", ferr, lines.Line()))
		}
		return err
	}
	if err != nil {
		return classify(name, lines.Line(), err)
	}
	// The gzip reader may stop before the last bytes of the file (the
	// trailer); the MD5 covers every byte, so read to the end.
	if err := raw.Finish(); err != nil {
		return classify(name, lines.Line(), err)
	}
	return nil
}

// NewDecoder returns the decoder for an export's outputFormat, DynamoDB
// JSON when it is empty. Its errors satisfy IsPermanent.
func NewDecoder(format string) (ddb.Decoder, error) {
	if format == "" {
		format = "DYNAMODB_JSON"
	}
	dec, err := ddb.NewDecoder(format)
	if err != nil {
		return nil, permanent(err)
	}
	return dec, nil
}

// readLines decodes every line, then checks the item count. Errors that
// are not the file's fault come back unwrapped for classify.
func readLines(lines *ddb.LineReader, dec ddb.Decoder, name string, itemCount int64, fn func(rec ddb.Record, line int, raw []byte) error) error {
	var items int64
	for {
		line, err := lines.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var src *sourceError
			if errors.As(err, &src) {
				return err
			}
			return permanent(fmt.Errorf("data file %s: %w (after line %d); the file is corrupt or truncated: re-export it or restore it from a good copy", name, err, lines.Line()))
		}
		rec, err := dec.Decode(line)
		if errors.Is(err, ddb.ErrNoRecord) {
			continue
		}
		if err != nil {
			return permanent(fmt.Errorf("data file %s line %d: %w; the export is corrupt: re-export it, or fix the line and update the manifest's md5Checksum", name, lines.Line(), err))
		}
		items++
		if err := fn(rec, lines.Line(), line); err != nil {
			return &callbackError{err}
		}
	}
	if items != itemCount {
		return permanent(fmt.Errorf("data file %s holds %d items but manifest-files.json says %d: the file or the manifest is wrong; re-export", name, items, itemCount))
	}
	return nil
}

// classify words a read error. The MD5 check and gzip or line errors are
// the file's fault; other errors of the object store may pass on retry.
func classify(name string, line int, err error) error {
	switch {
	case errors.Is(err, export.ErrChecksum):
		return permanent(err) // names the file already
	case errors.As(err, new(*sourceError)):
		return fmt.Errorf("data file %s: reading: %w", name, err)
	case errors.Is(err, ddb.ErrLineTooLong):
		return permanent(fmt.Errorf("data file %s: %w; the file is not a DynamoDB export data file, or is corrupt", name, err))
	}
	return permanent(fmt.Errorf("data file %s: %w (after line %d); the file is corrupt or truncated: re-export it or restore it from a good copy", name, err, line))
}

// IsPermanent reports whether err is a failure retrying cannot fix.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

func (t *Transformer) process(ctx context.Context, task *natsbus.Task, chain *plugins.Chain) error {
	switch task.Kind {
	case natsbus.TaskDetect:
		return t.detect(ctx, task, chain)
	case natsbus.TaskLoad:
		return t.load(ctx, task, chain)
	}
	return permanent(fmt.Errorf("unknown task kind %q", task.Kind))
}

func (t *Transformer) detect(ctx context.Context, task *natsbus.Task, chain *plugins.Chain) error {
	det := schema.NewDetector(task.Key)
	dec, err := NewDecoder(task.Format)
	if err != nil {
		return err
	}
	// With plugins, detection sees what the plugins make of the items;
	// the items they fail are dead-lettered by the load, not here.
	var fd *feed
	if chain != nil {
		fd = &feed{chain: chain, dec: dec, key: task.Key, fn: func(_ ddb.Item, _ fedItem, _ []byte, o *plugins.Outcome) error {
			for _, it := range o.Items {
				det.Observe(it)
			}
			return nil
		}}
	}
	var seen int64
	err = t.read(ctx, task, nil, dec, func(rec ddb.Record, line int, raw []byte) error {
		if task.Sample > 0 && seen >= task.Sample {
			return errSampled
		}
		seen++
		t.Stats.DetectedItems.Add(1)
		// An incremental export's NewImages are whole items; deletes
		// carry no attributes to learn from.
		it := rec.Item
		if it == nil {
			it = rec.NewImage
		}
		switch {
		case it == nil:
		case fd != nil:
			_, err := fd.add(ctx, it, line, raw, 0)
			return err
		default:
			det.Observe(it)
		}
		return nil
	})
	if errors.Is(err, errSampled) {
		err = nil
	}
	if err == nil && fd != nil {
		err = fd.flush(ctx)
	}
	if err != nil {
		return err
	}
	return t.publishStats(ctx, task, det, natsbus.DetectBatch)
}

// errSampled stops a sampling detect task's read.
var errSampled = errors.New("sampled enough items")

// publishStats publishes a file's schema statistics.
func (t *Transformer) publishStats(ctx context.Context, task *natsbus.Task, det *schema.Detector, batch int) error {
	body, err := json.Marshal(det.Stats())
	if err != nil {
		return err
	}
	m := nats.NewMsg(natsbus.BatchSubject(task.Table))
	t.headers(m, task, natsbus.KindDetect)
	m.Header.Set(natsbus.HdrFinal, strconv.FormatInt(det.Items(), 10))
	m.Header.Set(natsbus.HdrBatch, strconv.Itoa(batch))
	m.Header.Set(jetstream.MsgIDHeader, natsbus.BatchMsgID(task.ExportID, task.Attempt, task.File.Index, batch))
	m.Data = body
	return t.publish(ctx, m)
}

func (t *Transformer) load(ctx context.Context, task *natsbus.Task, chain *plugins.Chain) error {
	s, err := schema.Parse(task.Schema, nil)
	if err != nil {
		return permanent(fmt.Errorf("task schema: %w", err))
	}
	ice := new(iceberg.Schema)
	if err := json.Unmarshal(task.TableSchema, ice); err != nil {
		return permanent(fmt.Errorf("task table schema: %w", err))
	}
	b, err := arrowconv.New(memory.DefaultAllocator, s, ice)
	if err != nil {
		return permanent(err)
	}
	defer b.Release()
	incremental := task.ExportType == export.TypeIncremental
	// A replay's dead letters may hold items of full exports and changes
	// of incremental ones alike.
	replay := task.ExportType == natsbus.TypeReplay
	// Deletes of an incremental export go into batches of their own
	// (key columns and write timestamp only), marked with HdrDeletes.
	var del *arrowconv.Builder
	if incremental || replay {
		if del, err = arrowconv.New(memory.DefaultAllocator, s, ice); err != nil {
			return permanent(err)
		}
		defer del.Release()
	}
	name := "dead letters " + task.File.Key
	if !replay {
		st, err := t.store(ctx, task.Source)
		if err != nil {
			return err
		}
		name = objstore.Location(st, task.File.Key)
	}
	letters := map[int]*natsbus.DeadLetter{} // a replay's, by line
	// With Stats, the load also observes what a detect task would, for
	// the committer to check the sampled schema against.
	var det *schema.Detector
	if task.Stats {
		det = schema.NewDetector(task.Key)
	}
	dec, err := NewDecoder(task.Format)
	if err != nil {
		return err
	}

	// Batches are cut by line bytes, which are deterministic for a file,
	// so a retried task cuts the same batches.
	budget := int(t.nc.MaxPayload() / 2)
	var (
		batchNo   int
		lineBytes int
		rescued   int64
		items     int64
		dropped   int64 // by plugins, since the last upsert batch
		failed    int64
		dropDels  int64 // dropped new images, which became deletes
		buf       bytes.Buffer
		payload   []byte
	)
	publish := func(bld *arrowconv.Builder, deletes, final bool) error {
		rec := bld.NewRecordBatch()
		defer rec.Release()
		payload = payload[:0]
		if rec.NumRows() > 0 || final {
			if payload, err = t.codec.Encode(payload, &buf, rec); err != nil {
				return permanent(err)
			}
		}
		if int64(len(payload)) > t.nc.MaxPayload()-4096 {
			return permanent(fmt.Errorf("data file %s: batch %d encodes to %d bytes, over the NATS server's max_payload %d: raise max_payload", name, batchNo, len(payload), t.nc.MaxPayload()))
		}
		m := nats.NewMsg(natsbus.BatchSubject(task.Table))
		t.headers(m, task, natsbus.KindBatch)
		m.Header.Set(natsbus.HdrBatch, strconv.Itoa(batchNo))
		m.Header.Set(natsbus.HdrEncoding, natsbus.BatchEncoding)
		m.Header.Set(natsbus.HdrRows, strconv.FormatInt(rec.NumRows(), 10))
		if deletes {
			m.Header.Set(natsbus.HdrDeletes, strconv.FormatInt(rec.NumRows(), 10))
		} else {
			m.Header.Set(natsbus.HdrRescued, strconv.FormatInt(rescued, 10))
			rescued = 0
			if chain != nil {
				m.Header.Set(natsbus.HdrDropped, strconv.FormatInt(dropped, 10))
				m.Header.Set(natsbus.HdrFailed, strconv.FormatInt(failed, 10))
				m.Header.Set(natsbus.HdrDropDeletes, strconv.FormatInt(dropDels, 10))
				dropped, failed, dropDels = 0, 0, 0
			}
		}
		if final {
			m.Header.Set(natsbus.HdrFinal, strconv.FormatInt(items, 10))
		}
		m.Header.Set(jetstream.MsgIDHeader, natsbus.BatchMsgID(task.ExportID, task.Attempt, task.File.Index, batchNo))
		m.Data = payload
		if err := t.publish(ctx, m); err != nil {
			return err
		}
		t.Stats.Batches.Add(1)
		batchNo++
		return nil
	}
	// flush publishes the deletes gathered (if any), then the upserts:
	// a fixed order, so a retried task publishes the same batches.
	flush := func(final bool) error {
		lineBytes = 0
		if del != nil && del.Len() > 0 {
			if err := publish(del, true, false); err != nil {
				return err
			}
		}
		return publish(b, false, final)
	}
	appendErr := func(err error, line int) error {
		if errors.Is(err, arrowconv.ErrKey) && incremental {
			return permanent(fmt.Errorf("data file %s line %d: %w: the export's key types differ from the table's; is it an export of another DynamoDB table?", name, line, err))
		}
		return permanent(fmt.Errorf("data file %s line %d: %w", name, line, err))
	}
	// appendRow adds one row (an upsert, or a full export's item).
	appendRow := func(it ddb.Item, ts int64, line int) error {
		before := b.RescuedValues + b.UnknownAttrs
		if err := b.Append(it, ts); err != nil {
			return appendErr(err, line)
		}
		rescued += b.RescuedValues + b.UnknownAttrs - before
		t.Stats.Rescued.Add(b.RescuedValues + b.UnknownAttrs - before)
		return nil
	}
	appendDelete := func(keys ddb.Item, ts int64, line int) error {
		if err := del.Append(keys, ts); err != nil {
			return appendErr(err, line)
		}
		return nil
	}
	// With plugins, items wait in a feed and are appended when their
	// batch has been through the chain. A dropped new image deletes the
	// row: the item is absent from the table.
	var fd *feed
	if chain != nil {
		fd = &feed{chain: chain, dec: dec, key: s.Key, fn: func(in ddb.Item, it fedItem, raw []byte, o *plugins.Outcome) error {
			switch {
			case o.Failure != nil:
				failed++
				d := natsbus.DeadLetter{
					Table: task.Table, ExportID: task.ExportID, Attempt: task.Attempt, ExportType: task.ExportType,
					Format: task.Format, Source: name, FileIndex: task.File.Index, Line: it.line,
				}
				if replay {
					// Failed again: keep where the item came from.
					d = *letters[it.line]
					d.Replay = task.ExportID + "/" + task.Attempt
				}
				d.Record = raw
				return t.deadLetter(ctx, task, &d, o.Failure)
			case o.Dropped():
				dropped++
				t.Stats.Dropped.Add(1)
				if it.ts != 0 { // a change's new image: the row goes
					dropDels++
					return appendDelete(keyOf(in, s.Key), it.ts, it.line)
				}
				return nil
			}
			for _, out := range o.Items {
				if det != nil {
					det.Observe(out)
				}
				if err := appendRow(out, it.ts, it.line); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	err = t.read(ctx, task, letters, dec, func(rec ddb.Record, line int, raw []byte) error {
		n := len(raw) + 1
		t.Stats.Items.Add(1)
		t.Stats.Bytes.Add(int64(n))
		items++
		lineBytes += n
		var (
			err     error
			flushed = true // whether every item so far is in a builder
		)
		switch {
		case incremental && rec.Item != nil:
			return permanent(fmt.Errorf("data file %s line %d: a full export record in an incremental export", name, line))
		case !incremental && !replay && rec.Item == nil:
			return permanent(fmt.Errorf("data file %s line %d: an incremental export record in a full export", name, line))
		case rec.Item != nil && fd != nil:
			flushed, err = fd.add(ctx, rec.Item, line, raw, 0)
		case rec.Item != nil:
			if det != nil {
				det.Observe(rec.Item)
			}
			err = appendRow(rec.Item, 0, line)
		default:
			if err := checkKeys(&rec, s.Key); err != nil {
				return permanent(fmt.Errorf("data file %s line %d: %w", name, line, err))
			}
			switch {
			case rec.NewImage == nil:
				err = appendDelete(rec.Keys, rec.WriteTimestampMicros, line)
				flushed = fd == nil || len(fd.items) == 0
			case fd != nil:
				flushed, err = fd.add(ctx, rec.NewImage, line, raw, rec.WriteTimestampMicros)
			default:
				if det != nil {
					det.Observe(rec.NewImage)
				}
				err = appendRow(rec.NewImage, rec.WriteTimestampMicros, line)
			}
		}
		if err != nil {
			return err
		}
		// Batches are cut only where every item read is in a builder, so
		// a retried task cuts the same batches.
		if flushed && lineBytes >= budget {
			return flush(false)
		}
		return nil
	})
	if err == nil && fd != nil {
		err = fd.flush(ctx)
	}
	if err != nil {
		return err
	}
	if det != nil {
		// Before the final batch: the committer has every file's
		// statistics once it has every file's final batch.
		if err := t.publishStats(ctx, task, det, natsbus.StatsBatch); err != nil {
			return err
		}
	}
	return flush(true)
}

// checkKeys checks that an incremental record's Keys name exactly the
// table's key attributes, and that its NewImage, if any, has the same key.
func checkKeys(rec *ddb.Record, key []string) error {
	for _, a := range rec.Keys {
		if !slices.Contains(key, string(a.Name)) {
			return fmt.Errorf("the record's Keys hold attribute %q, which is not part of the table's key (%s): is this an export of another DynamoDB table?", a.Name, strings.Join(key, ", "))
		}
	}
	for _, k := range key {
		v := rec.Keys.Get(k)
		if v == nil {
			return fmt.Errorf("the record's Keys lack the key attribute %q (the table's key is %s): is this an export of another DynamoDB table?", k, strings.Join(key, ", "))
		}
		if rec.NewImage != nil {
			if nv := rec.NewImage.Get(k); nv == nil || !nv.Equal(*v) {
				return fmt.Errorf("the record's NewImage has another value of key attribute %q than its Keys; the record is corrupt: re-export", k)
			}
		}
	}
	return nil
}
