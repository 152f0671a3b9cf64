package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

const (
	// maxResumes bounds consecutive failed resumes; progress resets the
	// count, so a long download survives sporadic resets but not a dead
	// server.
	maxResumes    = 5
	resumeBackoff = 200 * time.Millisecond
)

// resumingReader reads an object and, when the stream breaks, reopens it at
// the current offset. The SDK retries requests, not body reads, so without
// this a reset late in a multi-GB object fails the whole file.
type resumingReader struct {
	ctx    context.Context // the Open call's context, which bounds the whole read
	loc    string
	body   io.ReadCloser
	size   int64 // -1 if unknown
	off    int64
	reopen func(ctx context.Context, off int64) (io.ReadCloser, error)

	broken   error // read error not yet handled by a resume
	failures int   // consecutive resumes without progress
	err      error // sticky terminal error (io.EOF included)
	sleep    func(ctx context.Context, d time.Duration) error
}

func newResumingReader(ctx context.Context, loc string, body io.ReadCloser, size int64,
	reopen func(ctx context.Context, off int64) (io.ReadCloser, error)) *resumingReader {
	return &resumingReader{ctx: ctx, loc: loc, body: body, size: size, reopen: reopen, sleep: sleepCtx}
}

func (r *resumingReader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.broken != nil {
			r.resume()
			continue
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if n > 0 {
			r.failures = 0
		}
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, io.EOF) && (r.size < 0 || r.off >= r.size):
			r.err = io.EOF
			return n, io.EOF
		case errors.Is(err, io.EOF):
			err = fmt.Errorf("connection closed at byte %d of %d: %w", r.off, r.size, io.ErrUnexpectedEOF)
		}
		if r.size >= 0 && r.off >= r.size {
			// Everything arrived; an error after the last byte (a reset
			// instead of a clean close) loses nothing.
			r.err = io.EOF
			return n, io.EOF
		}
		r.broken = err
		if n > 0 {
			// Hand over what arrived; the next call resumes.
			return n, nil
		}
	}
}

// resume replaces the body or sets the terminal error.
func (r *resumingReader) resume() {
	cause := r.broken
	if err := r.ctx.Err(); err != nil {
		r.err = fmt.Errorf("read %s: %w", r.loc, err)
		return
	}
	if r.failures >= maxResumes {
		r.err = fmt.Errorf("read %s: connection lost at byte %d and %d attempts to resume failed: %w", r.loc, r.off, r.failures, cause)
		return
	}
	r.failures++
	if err := r.sleep(r.ctx, resumeBackoff<<(r.failures-1)); err != nil {
		r.err = fmt.Errorf("read %s: %w", r.loc, err)
		return
	}
	r.body.Close()
	body, err := r.reopen(r.ctx, r.off)
	if err != nil {
		if errors.Is(err, ErrNotFound) || isPermanent(err) {
			r.err = fmt.Errorf("read %s: resuming at byte %d after %v: %w", r.loc, r.off, cause, err)
			return
		}
		r.body = io.NopCloser(errReader{err})
		r.broken = err
		return
	}
	r.body = body
	r.broken = nil
}

// isPermanent reports errors a resume cannot fix: the object changed since
// the download began (If-Match failed) or the range is no longer valid.
func isPermanent(err error) bool {
	type coded interface {
		error
		ErrorCode() string
	}
	if ce, ok := errors.AsType[coded](err); ok {
		switch ce.ErrorCode() {
		case "PreconditionFailed", "InvalidRange":
			return true
		}
	}
	return false
}

func (r *resumingReader) Close() error {
	if r.err == nil {
		r.err = errors.New("read after close")
	}
	return r.body.Close()
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
