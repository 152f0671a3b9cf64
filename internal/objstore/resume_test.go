package objstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// flakyBody serves data[from:] but fails after limit bytes.
type flakyBody struct {
	r     io.Reader
	left  int
	err   error
	close func()
}

func (f *flakyBody) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, f.err
	}
	if len(p) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= n
	return n, err
}

func (f *flakyBody) Close() error {
	if f.close != nil {
		f.close()
	}
	return nil
}

func TestResumingReader(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 1000))
	reset := errors.New("connection reset by peer")
	tests := []struct {
		name    string
		size    int64
		cuts    []int   // bytes each successive connection delivers before failing
		errs    []error // error each connection fails with (default reset)
		wantErr string  // "" means the full data must arrive
	}{
		{name: "no failure", size: int64(len(data)), cuts: []int{len(data) + 1}},
		{name: "one reset", size: int64(len(data)), cuts: []int{1234, len(data)}},
		{name: "many resets with progress", size: int64(len(data)), cuts: []int{100, 100, 100, 100, 100, 100, 100, 100, len(data)}},
		{name: "premature EOF", size: int64(len(data)), cuts: []int{500, len(data)}, errs: []error{io.EOF}},
		{name: "unknown size trusts EOF", size: -1, cuts: []int{500}, errs: []error{io.EOF}, wantErr: "short"},
		{name: "error after last byte", size: int64(len(data)), cuts: []int{len(data)}, errs: []error{reset}},
		{name: "dead server", size: int64(len(data)), cuts: []int{10, 0, 0, 0, 0, 0, 0}, wantErr: "attempts to resume failed"},
		{name: "object replaced", size: int64(len(data)), cuts: []int{10}, errs: []error{reset, &codedErr{"PreconditionFailed"}}, wantErr: "PreconditionFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := 0
			var offs []int64
			open := func(off int64) (io.ReadCloser, error) {
				i := conn
				conn++
				offs = append(offs, off)
				err := error(reset)
				if i < len(tt.errs) && tt.errs[i] != nil {
					err = tt.errs[i]
				}
				if i > 0 && i < len(tt.errs) {
					if _, ok := err.(*codedErr); ok {
						return nil, err
					}
				}
				cut := 0
				if i < len(tt.cuts) {
					cut = tt.cuts[i]
				}
				return &flakyBody{r: bytes.NewReader(data[off:]), left: cut, err: err}, nil
			}
			first, _ := open(0)
			r := newResumingReader(t.Context(), "test://obj", first, tt.size, func(_ context.Context, off int64) (io.ReadCloser, error) { return open(off) })
			r.sleep = func(context.Context, time.Duration) error { return nil }
			got, err := io.ReadAll(r)
			r.Close()
			if tt.wantErr == "short" {
				if err != nil || len(got) != 500 {
					t.Fatalf("got %d bytes, %v; want 500 bytes and a clean EOF", len(got), err)
				}
				return
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadAll: %v (resumed at %v)", err, offs)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, want %d identical bytes", len(got), len(data))
			}
		})
	}
}

func TestResumingReaderStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	body := &flakyBody{r: strings.NewReader("abcdef"), left: 3, err: errors.New("reset")}
	r := newResumingReader(ctx, "test://obj", body, 6, func(context.Context, int64) (io.ReadCloser, error) {
		t.Fatal("reopened after cancel")
		return nil, nil
	})
	buf := make([]byte, 10)
	if n, err := r.Read(buf); n != 3 || err != nil {
		t.Fatalf("first Read = %d, %v", n, err)
	}
	cancel()
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel = %v, want context.Canceled", err)
	}
}

type codedErr struct{ code string }

func (e *codedErr) Error() string     { return "api error " + e.code }
func (e *codedErr) ErrorCode() string { return e.code }
