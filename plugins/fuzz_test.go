package plugins

import (
	"bytes"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
)

// FuzzDecodeResults feeds arbitrary bytes to the decoder of guest results:
// it must never panic, and whatever it accepts must be canonical, i.e.
// re-encode to the very same bytes.
func FuzzDecodeResults(f *testing.F) {
	f.Add(AppendResults(nil, []Result{{Status: StatusModified, Items: []ddb.Item{everyType()}}}), 1)
	f.Add(AppendResults(nil, []Result{
		{Status: StatusPass}, {Status: StatusDrop}, {Status: StatusError, Message: "no"},
		{Status: StatusFanOut, Items: []ddb.Item{item("a", n("1")), item("b", list(mapv("c", null())))}},
	}), 4)
	f.Add([]byte{0x01, 0x01, 0x01, 0x01, 0x61, 0x09, 0xff, 0xff, 0xff, 0xff, 0x0f}, 1)
	f.Fuzz(func(t *testing.T, in []byte, want int) {
		if want < 0 || want > 1<<16 {
			return
		}
		rs, err := DecodeResults(in, want)
		if err != nil {
			return
		}
		if out := AppendResults(nil, rs); !bytes.Equal(out, in) {
			t.Fatalf("accepted % x but it re-encodes as % x", in, out)
		}
	})
}

// FuzzDecodeBatch does the same for the batch decoder.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(AppendBatch(nil, []ddb.Item{everyType(), item("pk", s("x"))}))
	f.Fuzz(func(t *testing.T, in []byte) {
		items, err := DecodeBatch(in)
		if err != nil {
			return
		}
		if out := AppendBatch(nil, items); !bytes.Equal(out, in) {
			t.Fatalf("accepted % x but it re-encodes as % x", in, out)
		}
	})
}
