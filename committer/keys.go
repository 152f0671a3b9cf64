package committer

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	iceio "github.com/apache/iceberg-go/io"
)

// noTS stands for a row without _ddb_write_ts (loaded from a full export):
// older than every change.
const noTS = math.MinInt64

// keyColumns names the Iceberg field IDs a merge reads from a data file:
// the key columns, then _ddb_write_ts (none if ts is 0: equality delete
// files hold only the key).
type keyColumns struct {
	keys []int
	ts   int
}

// keysOnly drops the write timestamp.
func (kc keyColumns) keysOnly() keyColumns { return keyColumns{keys: kc.keys} }

// keyRow is one row as a merge sees it: its position in the file, its
// encoded key and its write timestamp (noTS for none).
type keyRow struct {
	pos int64
	key []byte
	ts  int64
}

// readKeys streams the key columns and write timestamp of every row of a
// Parquet file (a data file, or a staged file of deletes) to fn. The key
// slice passed to fn is reused between calls.
func readKeys(ctx context.Context, fsys iceio.IO, path string, kc keyColumns, fn func(r keyRow) error) error {
	kf, err := openKeys(fsys, path, kc)
	if err != nil {
		return err
	}
	defer kf.close()
	return kf.read(ctx, -1, fn)
}

// keyFile is a Parquet file opened to read its key columns and write
// timestamp, whole or one row group at a time.
type keyFile struct {
	path   string
	f      iceio.File
	pr     *file.Reader
	want   []int // field ids: the key columns, then the write timestamp
	leaves []int // their leaf column indexes, in the order of want
	hasTS  bool
}

// openKeys opens a Parquet file and finds the columns kc names in it.
func openKeys(fsys iceio.IO, path string, kc keyColumns) (*keyFile, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	pr, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	kf := &keyFile{path: path, f: f, pr: pr, want: append([]int(nil), kc.keys...), hasTS: kc.ts != 0}
	if kf.hasTS {
		kf.want = append(kf.want, kc.ts)
	}
	kf.leaves = make([]int, len(kf.want))
	ps := pr.MetaData().Schema
	for i, id := range kf.want {
		kf.leaves[i] = -1
		for c := 0; c < ps.NumColumns(); c++ {
			n := ps.Column(c).SchemaNode()
			if int(n.FieldID()) == id && n.Parent() == ps.Root() {
				kf.leaves[i] = c
				break
			}
		}
		if kf.leaves[i] < 0 {
			kf.close()
			return nil, fmt.Errorf("reading %s: no column with field id %d", path, id)
		}
	}
	return kf, nil
}

func (kf *keyFile) close() {
	kf.pr.Close()
	kf.f.Close()
}

// numRowGroups is the number of row groups of the file.
func (kf *keyFile) numRowGroups() int { return kf.pr.NumRowGroups() }

// read streams the rows of row group rg (every row group if rg < 0) to
// fn, with their positions in the file.
func (kf *keyFile) read(ctx context.Context, rg int, fn func(r keyRow) error) error {
	path := kf.path
	var (
		rgs []int
		pos int64
	)
	if rg >= 0 {
		rgs = []int{rg}
		md := kf.pr.MetaData()
		for i := 0; i < rg; i++ {
			pos += md.RowGroup(i).NumRows()
		}
	}
	fr, err := pqarrow.NewFileReader(kf.pr, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, kf.leaves, rgs)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer rr.Release()
	// The reader orders columns as the file does; find ours by field id.
	want := kf.want
	order := make([]int, len(want))
	sc := rr.Schema()
	for i, id := range want {
		order[i] = -1
		for j, fld := range sc.Fields() {
			if v, ok := fld.Metadata.GetValue("PARQUET:field_id"); ok && v == strconv.Itoa(id) {
				order[i] = j
			}
		}
		if order[i] < 0 {
			return fmt.Errorf("reading %s: field id %d missing from the record batches", path, id)
		}
	}
	var buf []byte
	cols := make([]arrow.Array, len(want))
	for rr.Next() {
		rec := rr.RecordBatch()
		for i, j := range order {
			cols[i] = rec.Column(j)
		}
		keys := cols
		var ts *array.Timestamp
		if kf.hasTS {
			var ok bool
			if ts, ok = cols[len(cols)-1].(*array.Timestamp); !ok {
				return fmt.Errorf("reading %s: write timestamp column is %s, not a timestamp", path, cols[len(cols)-1].DataType())
			}
			keys = cols[:len(cols)-1]
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			buf = buf[:0]
			for _, c := range keys {
				if buf, err = appendKey(buf, c, r); err != nil {
					return fmt.Errorf("reading %s: %w", path, err)
				}
			}
			row := keyRow{pos: pos, key: buf, ts: noTS}
			if ts != nil && ts.IsValid(r) {
				row.ts = int64(ts.Value(r))
			}
			if err := fn(row); err != nil {
				return err
			}
			pos++
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// appendKey appends an unambiguous encoding of one key value: the same
// value gives the same bytes whichever file it was read from, and two
// key columns cannot run into each other.
func appendKey(dst []byte, col arrow.Array, i int) ([]byte, error) {
	if col.IsNull(i) {
		return nil, fmt.Errorf("key column %s is null in row %d", col.DataType(), i)
	}
	switch c := col.(type) {
	case *array.String:
		return appendString(dst, c.Value(i)), nil
	case *array.LargeString:
		return appendString(dst, c.Value(i)), nil
	case *array.Binary:
		return appendBytes(dst, c.Value(i)), nil
	case *array.LargeBinary:
		return appendBytes(dst, c.Value(i)), nil
	case *array.Int64:
		return binary.BigEndian.AppendUint64(dst, uint64(c.Value(i))), nil
	case *array.Decimal128:
		v := c.Value(i)
		dst = binary.BigEndian.AppendUint64(dst, uint64(v.HighBits()))
		return binary.BigEndian.AppendUint64(dst, v.LowBits()), nil
	}
	return nil, fmt.Errorf("key column type %s is not supported", col.DataType())
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// keyBuilder appends encoded keys (see appendKey) to the builders of a
// record of key columns, turning them back into values.
type keyBuilder struct {
	b *array.RecordBuilder
}

func (kb keyBuilder) append(key []byte) error {
	for i := range kb.b.Schema().NumFields() {
		var err error
		if key, err = kb.appendValue(kb.b.Field(i), key); err != nil {
			return err
		}
	}
	if len(key) != 0 {
		return fmt.Errorf("encoded key has %d bytes left over", len(key))
	}
	return nil
}

// appendValue decodes one value from the front of key into b.
func (kb keyBuilder) appendValue(b array.Builder, key []byte) ([]byte, error) {
	bytes := func() ([]byte, error) {
		n, w := binary.Uvarint(key)
		if w <= 0 || uint64(len(key)-w) < n {
			return nil, fmt.Errorf("encoded key is truncated")
		}
		v := key[w : w+int(n)]
		key = key[w+int(n):]
		return v, nil
	}
	fixed := func(n int) ([]byte, error) {
		if len(key) < n {
			return nil, fmt.Errorf("encoded key is truncated")
		}
		v := key[:n]
		key = key[n:]
		return v, nil
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		v, err := bytes()
		if err != nil {
			return nil, err
		}
		b.BinaryBuilder.Append(v)
	case *array.BinaryBuilder:
		v, err := bytes()
		if err != nil {
			return nil, err
		}
		b.Append(v)
	case *array.Int64Builder:
		v, err := fixed(8)
		if err != nil {
			return nil, err
		}
		b.Append(int64(binary.BigEndian.Uint64(v)))
	case *array.Decimal128Builder:
		v, err := fixed(16)
		if err != nil {
			return nil, err
		}
		b.Append(decimal128.New(int64(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint64(v[8:])))
	default:
		return nil, fmt.Errorf("key column type %s is not supported", b.Type())
	}
	return key, nil
}
