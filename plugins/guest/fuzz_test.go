package guest_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/plugins"
	"github.com/floe-io/floe/plugins/guest"
)

// FuzzDecodeBatch checks that the batch decoder never panics, that the
// views of whatever it accepts can be read completely without panicking,
// that it accepts everything the host's decoder accepts, with the same
// items, and that its fast and thorough checks agree.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range items {
		f.Add(plugins.AppendBatch(nil, []ddb.Item{parse(f, s)}))
	}
	var all []ddb.Item
	for _, s := range items {
		all = append(all, parse(f, s))
	}
	f.Add(plugins.AppendBatch(nil, all))
	f.Add([]byte{})
	f.Add([]byte{0x00})
	f.Add([]byte{0x01, 0x01, 0x01, 'a', 0x09, 0x01, 0x0a, 0x01, 0x01, 'b', 0x06, 0x01, 0x00})
	var d guest.Decoder
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := d.Decode(b)
		if err != nil && strings.Contains(err.Error(), "malformed item") {
			t.Fatalf("the fast and the thorough checks disagree on % x: %v", b, err)
		}
		for _, it := range got {
			walkItem(it)
		}
		host, herr := plugins.DecodeBatch(b)
		if herr != nil {
			return
		}
		if err != nil {
			t.Fatalf("the host accepts % x, the SDK refuses it: %v", b, err)
		}
		if len(got) != len(host) {
			t.Fatalf("%d items, the host has %d", len(got), len(host))
		}
		for i := range got {
			if !bytes.Equal(got[i].Raw(), plugins.AppendItem(nil, host[i])) {
				t.Fatalf("item %d differs from the host's", i)
			}
		}
	})
}

// walkItem reads every part of a view through every accessor.
func walkItem(it guest.Item) {
	_ = it.Len()
	_ = it.String()
	for a := it.Attrs(); a.Next(); {
		walkValue(a.Value())
		it.Get(string(a.Name()))
	}
}

func walkValue(v guest.Value) {
	_, _, _, _ = v.Bytes(), v.Text(), v.Bool(), v.Len()
	for e := v.Elems(); e.Next(); {
		_ = e.Bytes()
	}
	for e := v.List(); e.Next(); {
		walkValue(e.Value())
	}
	walkItem(v.Map())
}
