package natsbus

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/zstd"
)

// BatchEncoding is the value of the HdrEncoding header on batches: an
// Arrow IPC stream (schema + one record batch), compressed as a whole
// with zstd.
//
// Why not Arrow's own IPC body compression: its reader decompresses each
// buffer through a streaming zstd decoder with background goroutines, one
// decoder per message, and under load that path stalled (see RATIONALE.md).
// One zstd frame per message, through the synchronous EncodeAll/DecodeAll
// API, is also cheaper and compresses the IPC metadata too.
const BatchEncoding = "arrow-ipc+zstd"

// HdrEncoding names a batch's encoding, so the format can change without
// breaking committers that read the old one.
const HdrEncoding = "Floe-Encoding"

// Codec encodes and decodes batches. It is safe for concurrent use.
type Codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
	mem memory.Allocator
}

// NewCodec returns a Codec. The fastest zstd level is used: CPU is scarcer
// than bandwidth between transformers and committers. (Compression also
// pays in floe run: the batch stream's byte limit bounds a committer's
// chunk, so compressed batches make 4-5 times larger data files.)
func NewCodec(mem memory.Allocator) (*Codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, err
	}
	return &Codec{enc: enc, dec: dec, mem: mem}, nil
}

// Encode appends the encoding of rec to dst. scratch holds the
// uncompressed IPC stream between calls, to avoid reallocating it.
func (c *Codec) Encode(dst []byte, scratch *bytes.Buffer, rec arrow.RecordBatch) ([]byte, error) {
	scratch.Reset()
	w := ipc.NewWriter(scratch, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(c.mem))
	if err := w.Write(rec); err != nil {
		return nil, fmt.Errorf("arrow ipc: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("arrow ipc: %w", err)
	}
	return c.enc.EncodeAll(scratch.Bytes(), dst), nil
}

// Decode returns the record batch in data, encoded as encoding says (nil
// for empty data). The caller must Release it. scratch, if not nil, holds
// the decompressed IPC stream between calls (the batch does not refer to
// it), saving a large allocation per batch.
func (c *Codec) Decode(encoding string, data []byte, scratch *[]byte) (arrow.RecordBatch, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if encoding != BatchEncoding {
		return nil, fmt.Errorf("unknown batch encoding %q (want %s): run the same floe version for transformers and committers", encoding, BatchEncoding)
	}
	var dst []byte
	if scratch != nil {
		dst = (*scratch)[:0]
	}
	raw, err := c.dec.DecodeAll(data, dst)
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if scratch != nil {
		*scratch = raw
	}
	r, err := ipc.NewReader(bytes.NewReader(raw), ipc.WithAllocator(c.mem))
	if err != nil {
		return nil, fmt.Errorf("arrow ipc: %w", err)
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("arrow ipc: %w", err)
		}
		return nil, nil
	}
	rec := r.RecordBatch()
	rec.Retain()
	return rec, nil
}
