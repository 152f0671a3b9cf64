package export

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync/atomic"

	"github.com/floe-io/floe/internal/objstore"
)

// DataReader streams a data file's raw (gzip) bytes and verifies them
// against the manifest's MD5 when the end is reached, so a corrupt or
// truncated file fails the read instead of silently losing items.
//
// Verification needs the whole file: callers that stop early (a gzip
// reader does not always read the last bytes) should call Finish.
type DataReader struct {
	file  DataFile
	loc   string
	rc    io.ReadCloser
	want  []byte
	hash  hash.Hash
	bytes atomic.Int64 // read by progress reporters on other goroutines
	err   error        // sticky: io.EOF after a verified end, or the failure
}

// OpenData opens f for streaming. f must carry the MD5 from the manifest;
// reading without verification is not offered.
func OpenData(ctx context.Context, st objstore.Store, f DataFile) (*DataReader, error) {
	loc := objstore.Location(st, f.Key)
	want, err := decodeMD5(f.MD5)
	if err != nil {
		return nil, fmt.Errorf("data file %s: md5 %q from %s: %w", loc, f.MD5, FilesFile, err)
	}
	rc, err := st.Open(ctx, f.Key)
	if err != nil {
		if errors.Is(err, objstore.ErrNotFound) {
			return nil, &multiError{
				msg: fmt.Sprintf("data file %s (listed in %s) not found: the export is incomplete, or its data files were moved or expired (check S3 lifecycle rules); restore them or re-export",
					loc, FilesFile),
				errs: []error{err},
			}
		}
		return nil, fmt.Errorf("data file %s: %w", loc, err)
	}
	return &DataReader{file: f, loc: loc, rc: rc, want: want, hash: md5.New()}, nil
}

// Read implements io.Reader. At the end of the file it returns io.EOF only
// if the bytes match the manifest's MD5 (and size, when known); otherwise
// an error wrapping ErrChecksum.
func (r *DataReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.rc.Read(p)
	if n > 0 {
		r.hash.Write(p[:n])
		r.bytes.Add(int64(n))
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		r.err = r.verify()
	default:
		r.err = fmt.Errorf("data file %s: reading at byte %d: %w", r.loc, r.bytes.Load(), err)
	}
	if n > 0 && r.err == io.EOF {
		// Deliver the last bytes now; the next call reports EOF.
		return n, nil
	}
	return n, r.err
}

func (r *DataReader) verify() error {
	read := r.bytes.Load()
	if r.file.Size > 0 && read != r.file.Size {
		return &multiError{
			msg: fmt.Sprintf("data file %s: read %d bytes but the file is %d bytes long: the file is truncated or changed while being read; retry, or restore it if it persists",
				r.loc, read, r.file.Size),
			errs: []error{ErrChecksum, io.ErrUnexpectedEOF},
		}
	}
	got := r.hash.Sum(nil)
	if !bytes.Equal(got, r.want) {
		return &multiError{
			msg: fmt.Sprintf("data file %s: MD5 mismatch: %s says %s, the %d bytes read hash to %s: the file is corrupt or truncated; re-export or restore it",
				r.loc, FilesFile, r.file.MD5, read, base64.StdEncoding.EncodeToString(got)),
			errs: []error{ErrChecksum},
		}
	}
	return io.EOF
}

// Finish reads whatever the caller left unread and reports whether the file
// matched its checksum: nil if it did.
func (r *DataReader) Finish() error {
	_, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	if r.err == io.EOF {
		return nil
	}
	return r.err
}

// BytesRead returns how many bytes have been read so far. It is safe to
// call from another goroutine, for progress reporting.
func (r *DataReader) BytesRead() int64 { return r.bytes.Load() }

// File returns the data file being read.
func (r *DataReader) File() DataFile { return r.file }

// Close releases the underlying stream.
func (r *DataReader) Close() error {
	if r.err == nil {
		r.err = fmt.Errorf("data file %s: read after close", r.loc)
	}
	return r.rc.Close()
}
