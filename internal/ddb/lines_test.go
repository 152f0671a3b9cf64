package ddb

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
)

// readLines reads all lines, returning them and the final error.
func readLines(r *LineReader) ([]string, error) {
	var out []string
	for {
		line, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, string(line))
	}
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"empty", "", nil},
		{"one line", "a\n", []string{"a"}},
		{"no final newline", "a\nb", []string{"a", "b"}},
		{"CRLF", "a\r\nb\r\n", []string{"a", "b"}},
		{"CR at end", "a\r", []string{"a"}},
		{"CR inside kept", "a\rb\n", []string{"a\rb"}},
		{"blank lines kept", "\n\na\n\n", []string{"", "", "a", ""}},
		{"only newline", "\n", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte per read exercises every partial-read path.
			for _, r := range []io.Reader{strings.NewReader(tt.input), iotest.OneByteReader(strings.NewReader(tt.input))} {
				lr := NewLineReader(r, 100)
				got, err := readLines(lr)
				if err != io.EOF {
					t.Fatalf("got error %v, want io.EOF", err)
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
				if lr.Line() != len(tt.want) {
					t.Errorf("Line() = %d, want %d", lr.Line(), len(tt.want))
				}
				if _, err := lr.Next(); err != io.EOF {
					t.Errorf("Next after end = %v, want io.EOF", err)
				}
			}
		})
	}
}

func TestLineReaderLineNumbers(t *testing.T) {
	lr := NewLineReader(strings.NewReader("a\nb\nc"), 0)
	for want := 1; want <= 3; want++ {
		if _, err := lr.Next(); err != nil {
			t.Fatal(err)
		}
		if lr.Line() != want {
			t.Errorf("Line() = %d, want %d", lr.Line(), want)
		}
	}
}

func TestLineReaderLimit(t *testing.T) {
	long := strings.Repeat("x", 50)
	for _, bufSmall := range []bool{false, true} {
		limit := 50
		input := "ok\n" + long + "\r\n" + long + "y\nnever\n"
		lr := NewLineReader(strings.NewReader(input), limit)
		if bufSmall {
			// A tiny buffer forces the long-line path even for short lines.
			lr.br = bufio.NewReaderSize(strings.NewReader(input), 16)
		}
		got, err := readLines(lr)
		if len(got) != 2 || got[1] != long {
			t.Errorf("got %q before the error", got)
		}
		if !errors.Is(err, ErrLineTooLong) {
			t.Fatalf("got %v, want ErrLineTooLong", err)
		}
		if want := "line 3 is longer than the limit of 50 bytes"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
		if lr.Line() != 3 {
			t.Errorf("Line() = %d, want 3", lr.Line())
		}
		if _, err2 := lr.Next(); err2 != err {
			t.Errorf("error is not sticky: %v", err2)
		}
	}
}

func TestLineReaderLongLines(t *testing.T) {
	// Lines beyond the bufio buffer are assembled in the spare buffer.
	a := strings.Repeat("a", maxLineBuffer+10)
	b := strings.Repeat("b", 3*maxLineBuffer)
	lr := NewLineReader(strings.NewReader(a+"\n"+b+"\r\nc"), 4*maxLineBuffer)
	got, err := readLines(lr)
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != a || got[1] != b || got[2] != "c" {
		t.Errorf("got %d lines", len(got))
	}
	// A huge line over the limit fails without being read whole.
	lr = NewLineReader(io.MultiReader(strings.NewReader("x"), zeros{}), 1000)
	if _, err := lr.Next(); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("endless line: %v", err)
	}
}

// zeros is an endless reader of 'x' bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestLineReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	lr := NewLineReader(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom)), 0)
	if line, err := lr.Next(); err != nil || string(line) != "a" {
		t.Fatalf("got %q %v", line, err)
	}
	_, err := lr.Next()
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "reading line 2") {
		t.Errorf("got %v", err)
	}
}

func TestLineReaderAllocs(t *testing.T) {
	data := bytes.Repeat([]byte(orderJSON+"\n"), 1000)
	r := bytes.NewReader(data)
	lr := NewLineReader(r, 0)
	allocs := testing.AllocsPerRun(500, func() {
		if _, err := lr.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("Next allocates %.1f times per line", allocs)
	}
}

func gzipped(t testing.TB, parts ...string) []byte {
	var buf bytes.Buffer
	for _, p := range parts {
		w := gzip.NewWriter(&buf)
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestGzipReader(t *testing.T) {
	// Multi-member: both members are read.
	r, err := NewGzipReader(bytes.NewReader(gzipped(t, "a\nb\n", "c\n")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "a\nb\nc\n" {
		t.Errorf("got %q, %v", got, err)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}

	// An empty partition: a valid gzip stream of nothing.
	empty := gzipped(t, "")
	r, err = NewGzipReader(bytes.NewReader(empty))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || len(got) != 0 {
		t.Errorf("empty partition: %q, %v", got, err)
	}
}

func TestGzipReaderErrors(t *testing.T) {
	data := bytes.Repeat([]byte(orderJSON+"\n"), 50)
	good := gzipped(t, string(data))

	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0xff
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-6] ^= 0xff

	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"corrupt", corrupt, "gzip"},
		{"bad checksum", badCRC, "corrupt or truncated gzip data: gzip: invalid checksum"},
		{"truncated", good[:len(good)/2], "corrupt or truncated gzip data: unexpected EOF"},
		{"not gzip", []byte(`{"Item":{}}`), "not a gzip stream: gzip: invalid header"},
		{"empty file", nil, "not a gzip stream: input is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewGzipReader(bytes.NewReader(tt.input))
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if errors.Is(err, io.EOF) {
				t.Errorf("error %v wraps io.EOF, which reads as a clean end", err)
			}
		})
	}

	// An error of the source itself is passed through as is.
	boom := errors.New("connection reset")
	r, err := NewGzipReader(io.MultiReader(bytes.NewReader(good[:100]), iotest.ErrReader(boom)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	if err != boom {
		t.Errorf("source error came back as %v", err)
	}
}

// TestGzipLines reads an export data file the way the transformer does.
func TestGzipLines(t *testing.T) {
	data := gzipped(t, orderJSON+"\n"+orderJSON+"\n")
	z, err := NewGzipReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	lr := NewLineReader(z, 0)
	d := NewJSONDecoder()
	n := 0
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rec, err := d.Decode(line)
		if err != nil {
			t.Fatalf("line %d: %v", lr.Line(), err)
		}
		if !rec.Item.Equal(orderItem) {
			t.Fatalf("line %d differs", lr.Line())
		}
		n++
	}
	if n != 2 {
		t.Errorf("read %d items", n)
	}
}

func BenchmarkLineReader(b *testing.B) {
	data := bytes.Repeat([]byte(orderJSON+"\n"), 1000)
	b.SetBytes(int64(len(data)))
	r := bytes.NewReader(data)
	for b.Loop() {
		r.Reset(data)
		lr := NewLineReader(r, 0)
		for {
			if _, err := lr.Next(); err != nil {
				break
			}
		}
	}
}
