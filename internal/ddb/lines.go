package ddb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/klauspost/compress/gzip"
)

// DefaultMaxLine is the line limit NewLineReader uses when given none. An
// item is at most 400 KB, but DynamoDB JSON spends up to ten bytes per tiny
// value ({"N":"1"},) and an incremental line carries two images, so lines
// of several MB are legitimate; 32 MiB leaves room while still stopping a
// file that is not line-oriented from exhausting memory.
const DefaultMaxLine = 32 << 20

// maxLineBuffer caps the bufio buffer: lines longer than it are assembled
// in a separate, reused buffer, so the common case of short lines costs no
// copy and a large limit costs no memory until a long line shows up.
const maxLineBuffer = 1 << 20

// ErrLineTooLong is wrapped by the error LineReader.Next returns for a line
// longer than its limit.
var ErrLineTooLong = errors.New("line too long")

// LineReader splits an export data file into lines.
//
// Unlike bufio.Scanner it reports which line went wrong and does not stop
// at 64 KiB, and it reuses one buffer so that reading costs no allocation
// per line. It is not safe for concurrent use.
type LineReader struct {
	br   *bufio.Reader
	max  int
	n    int
	long []byte
	err  error
}

// NewLineReader returns a LineReader reading r, refusing lines longer than
// maxLine bytes (not counting the line end); maxLine <= 0 means
// DefaultMaxLine.
func NewLineReader(r io.Reader, maxLine int) *LineReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	maxLine = min(maxLine, math.MaxInt-2) // room for "\r\n" in the arithmetic below
	size := min(maxLine+2, maxLineBuffer) // +2 for "\r\n"
	return &LineReader{br: bufio.NewReaderSize(r, size), max: maxLine}
}

// Next returns the next line without its "\n" or "\r\n" (a final line
// need not end with one). The line is valid only until the next call. At
// the end it returns io.EOF; any other error is final too and names the
// line it happened in.
func (l *LineReader) Next() ([]byte, error) {
	if l.err != nil {
		return nil, l.err
	}
	line, err := l.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.long = append(l.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(l.long) > l.max+2 {
				return nil, l.fail(l.tooLong(l.n + 1))
			}
			line, err = l.br.ReadSlice('\n')
			l.long = append(l.long, line...)
		}
		line = l.long
	}
	switch {
	case err == io.EOF && len(line) == 0:
		l.err = io.EOF
		return nil, io.EOF
	case err == io.EOF:
		// A final line without "\n": return it now, end on the next call.
		l.err = io.EOF
	case err != nil:
		return nil, l.fail(fmt.Errorf("reading line %d: %w", l.n+1, err))
	}
	l.n++
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if len(line) > l.max {
		return nil, l.fail(l.tooLong(l.n))
	}
	return line, nil
}

// Line returns the 1-based number of the line Next last returned or, after
// ErrLineTooLong, of the line it refused.
func (l *LineReader) Line() int { return l.n }

func (l *LineReader) tooLong(n int) error {
	l.n = n
	return fmt.Errorf("line %d is longer than the limit of %d bytes: %w", n, l.max, ErrLineTooLong)
}

func (l *LineReader) fail(err error) error {
	l.err = err
	return err
}

// NewGzipReader returns a reader of the data in gzip stream r, reading all
// members of a multi-member stream. Corrupt or truncated gzip data gives
// errors that say gzip, while errors of r itself come through unchanged, so
// a broken file is told apart from a broken connection. Closing it does not
// close r.
func NewGzipReader(r io.Reader) (io.ReadCloser, error) {
	src := &sourceReader{r: r}
	z, err := gzip.NewReader(src)
	if err != nil {
		switch {
		case src.err != nil && errors.Is(err, src.err):
			return nil, err
		case err == io.EOF:
			// Not wrapped: io.EOF would read as a clean end to callers.
			return nil, errors.New("not a gzip stream: input is empty")
		}
		return nil, fmt.Errorf("not a gzip stream: %w", err)
	}
	z.Multistream(true)
	return &gzipReader{z: z, src: src}, nil
}

type gzipReader struct {
	z   *gzip.Reader
	src *sourceReader
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.z.Read(p)
	if err != nil && err != io.EOF && (g.src.err == nil || !errors.Is(err, g.src.err)) {
		err = fmt.Errorf("corrupt or truncated gzip data: %w", err)
	}
	return n, err
}

func (g *gzipReader) Close() error { return g.z.Close() }

// sourceReader remembers the error of the underlying reader so gzipReader
// can tell it from a decompression error.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}
