package guest_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/floe-io/floe/plugins"
	"github.com/floe-io/floe/plugins/guest"
)

// parse decodes a DynamoDB JSON item with floe's export decoder: the
// host's view of the item.
func parse(t testing.TB, s string) ddb.Item {
	t.Helper()
	dec, err := ddb.NewDecoder("DYNAMODB_JSON")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dec.Decode([]byte(`{"Item":` + s + `}`))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return rec.Item.Clone()
}

// items of every shape the encoding has.
var items = []string{
	`{"id":{"S":"u1"}}`,
	`{"s":{"S":""},"n":{"N":"-12.50e+3"},"b":{"B":""},"t":{"BOOL":true},"f":{"BOOL":false},"z":{"NULL":true}}`,
	`{"ss":{"SS":["a","","ü"]},"ns":{"NS":["1","2.5","-3E-2"]},"bs":{"BS":["AA==","","/w=="]}}`,
	`{"l":{"L":[]},"m":{"M":{}},"l2":{"L":[{"S":"x"},{"L":[{"N":"1"}]},{"M":{"k":{"NULL":true}}}]}}`,
	`{"m":{"M":{"a":{"M":{"b":{"M":{"c":{"SS":["deep"]}}}}},"l":{"L":[{"BOOL":true}]}}}}`,
	`{"ünï ✓":{"S":"例え 🙂 \"quoted\" \\ back\nline\u0001"},"b":{"B":"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0, 1, 255}, 100)) + `"}}`,
	`{"long":{"S":"` + strings.Repeat("x", 300) + `"},"many":{"L":[` + strings.TrimSuffix(strings.Repeat(`{"N":"7"},`, 200), ",") + `]}}`,
	deep(32),
}

// deep is an item whose value nests L and M to the limit of 32 levels.
func deep(levels int) string {
	v := `{"S":"bottom"}`
	for i := 0; i < levels; i++ {
		if i%2 == 0 {
			v = `{"L":[` + v + `]}`
		} else {
			v = `{"M":{"k":` + v + `}}`
		}
	}
	return `{"deep":` + v + `}`
}

// checkValue compares a view with the host's value, through every
// accessor.
func checkValue(t *testing.T, path string, v guest.Value, want ddb.Value) {
	t.Helper()
	if got := v.Type(); got != guest.Type(want.Kind) || got.String() != want.Kind.String() {
		t.Fatalf("%s: type %v, want %v", path, got, want.Kind)
	}
	if !bytes.Equal(v.Raw(), plugins.AppendValue(nil, want)) {
		t.Errorf("%s: raw % x, want % x", path, v.Raw(), plugins.AppendValue(nil, want))
	}
	switch want.Kind {
	case ddb.S, ddb.N, ddb.B:
		if !bytes.Equal(v.Bytes(), want.Bytes) {
			t.Errorf("%s: bytes %q, want %q", path, v.Bytes(), want.Bytes)
		}
		if want.Kind != ddb.B && v.Text() != string(want.Bytes) {
			t.Errorf("%s: text %q, want %q", path, v.Text(), want.Bytes)
		}
	case ddb.BOOL:
		if v.Bool() != want.Bool {
			t.Errorf("%s: bool %v, want %v", path, v.Bool(), want.Bool)
		}
	case ddb.SS, ddb.NS, ddb.BS:
		if v.Len() != len(want.List) {
			t.Errorf("%s: len %d, want %d", path, v.Len(), len(want.List))
		}
		i := 0
		for e := v.Elems(); e.Next(); i++ {
			if i >= len(want.List) || !bytes.Equal(e.Bytes(), want.List[i].Bytes) {
				t.Errorf("%s[%d]: %q", path, i, e.Bytes())
			}
		}
		if i != len(want.List) {
			t.Errorf("%s: %d elements, want %d", path, i, len(want.List))
		}
	case ddb.L:
		if v.Len() != len(want.List) {
			t.Errorf("%s: len %d, want %d", path, v.Len(), len(want.List))
		}
		i := 0
		for e := v.List(); e.Next(); i++ {
			checkValue(t, fmt.Sprintf("%s[%d]", path, i), e.Value(), want.List[i])
		}
		if i != len(want.List) {
			t.Errorf("%s: %d elements, want %d", path, i, len(want.List))
		}
	case ddb.M:
		if v.Len() != len(want.Map) {
			t.Errorf("%s: len %d, want %d", path, v.Len(), len(want.Map))
		}
		checkItem(t, path, v.Map(), want.Map)
	}
	// Accessors of other types return zero values.
	if want.Kind != ddb.S && want.Kind != ddb.N && want.Kind != ddb.B && v.Bytes() != nil {
		t.Errorf("%s: Bytes of a %v is not nil", path, want.Kind)
	}
	if want.Kind != ddb.M && v.Map().Len() != 0 {
		t.Errorf("%s: Map of a %v is not empty", path, want.Kind)
	}
	if e := v.List(); want.Kind != ddb.L && e.Next() {
		t.Errorf("%s: List of a %v is not empty", path, want.Kind)
	}
}

func checkItem(t *testing.T, path string, it guest.Item, want []ddb.Attr) {
	t.Helper()
	if it.Len() != len(want) {
		t.Fatalf("%s: %d attributes, want %d", path, it.Len(), len(want))
	}
	i := 0
	for a := it.Attrs(); a.Next(); i++ {
		if string(a.Name()) != string(want[i].Name) {
			t.Errorf("%s: attribute %d is %q, want %q", path, i, a.Name(), want[i].Name)
		}
		checkValue(t, path+"."+string(want[i].Name), a.Value(), want[i].Value)
		if v, ok := it.Get(string(want[i].Name)); !ok || !bytes.Equal(v.Raw(), a.Value().Raw()) {
			t.Errorf("%s: Get(%q) = %v, %v", path, want[i].Name, v, ok)
		}
	}
	i = 0
	for name, v := range it.All() {
		if string(name) != string(want[i].Name) || !bytes.Equal(v.Raw(), plugins.AppendValue(nil, want[i].Value)) {
			t.Errorf("%s: All()[%d] = %q %v", path, i, name, v)
		}
		i++
	}
	if _, ok := it.Get("no such attribute"); ok {
		t.Errorf("%s: Get of a missing attribute succeeded", path)
	}
	if !bytes.Equal(it.Raw(), plugins.AppendItem(nil, want)) {
		t.Errorf("%s: raw % x, want % x", path, it.Raw(), plugins.AppendItem(nil, want))
	}
	// The JSON rendering means the same item (an empty map is no item).
	if len(want) == 0 {
		if it.String() != "{}" {
			t.Errorf("%s: String() = %s", path, it.String())
		}
	} else if got := parse(t, it.String()); !got.Equal(want) {
		t.Errorf("%s: String() = %s, which decodes to %v", path, it.String(), got)
	}
}

// TestDecodeBatch decodes the host's encoding of every shape and reads it
// back through the views.
func TestDecodeBatch(t *testing.T) {
	var want []ddb.Item
	for _, s := range items {
		want = append(want, parse(t, s))
	}
	batch := plugins.AppendBatch(nil, want)
	var d guest.Decoder
	for round := 0; round < 2; round++ { // the Decoder's memory is reused
		got, err := d.Decode(batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d items, want %d", len(got), len(want))
		}
		for i := range got {
			checkItem(t, fmt.Sprintf("item %d", i), got[i], want[i])
		}
	}
	viaFunc, err := guest.DecodeBatch(nil, batch)
	if err != nil || len(viaFunc) != len(want) {
		t.Fatalf("DecodeBatch: %d items, %v", len(viaFunc), err)
	}
	// The harness's encoder agrees with the host's.
	enc, err := guest.EncodeBatch(items...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, batch) {
		t.Errorf("EncodeBatch differs from plugins.AppendBatch:\n% x\n% x", enc, batch)
	}
}

func TestDecodeBatchRefuses(t *testing.T) {
	good := plugins.AppendBatch(nil, []ddb.Item{parse(t, `{"a":{"S":"x"},"m":{"M":{"k":{"SS":["y"]}}}}`)})
	cases := map[string][]byte{
		"empty input":          {},
		"truncated":            good[:len(good)-1],
		"trailing byte":        append(append([]byte(nil), good...), 0),
		"count too large":      {0x05, 0x01, 0x01, 'a', 0x05},
		"empty item":           {0x01, 0x00},
		"empty name":           {0x01, 0x01, 0x00, 0x05},
		"unknown tag":          {0x01, 0x01, 0x01, 'a', 0x0b},
		"tag zero":             {0x01, 0x01, 0x01, 'a', 0x00},
		"bad bool":             {0x01, 0x01, 0x01, 'a', 0x04, 0x02},
		"empty set":            {0x01, 0x01, 0x01, 'a', 0x06, 0x00},
		"non-minimal varint":   {0x01, 0x01, 0x01, 'a', 0x01, 0x80, 0x00},
		"varint overflow":      {0x01, 0x01, 0x01, 'a', 0x01, 0xff, 0xff, 0xff, 0xff, 0x1f},
		"length past the end":  {0x01, 0x01, 0x01, 'a', 0x01, 0x05, 'x'},
		"missing value":        {0x01, 0x01, 0x01, 'a'},
		"map with empty name":  {0x01, 0x01, 0x01, 'a', 0x0a, 0x01, 0x00, 0x05},
		"list past the end":    {0x01, 0x01, 0x01, 'a', 0x09, 0x03, 0x05},
		"set element past end": {0x01, 0x01, 0x01, 'a', 0x07, 0x01, 0x05, '1'},
	}
	// 33 levels: built by hand, as no decoder makes one.
	v := []byte{0x05}
	for i := 0; i < 33; i++ {
		v = append([]byte{0x09, 0x01}, v...)
	}
	cases["too deep"] = append([]byte{0x01, 0x01, 0x01, 'a'}, v...)
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := guest.DecodeBatch(nil, b)
			var de *guest.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *DecodeError", err)
			}
			if strings.Contains(de.Msg, "malformed item") {
				t.Errorf("the fast and the thorough checks disagree: %v", err)
			}
		})
	}
}

// TestSDKAcceptsWhatHostAccepts: the SDK may accept more than the host
// (it skips the UTF-8, number and duplicate checks the host guarantees);
// FuzzDecodeBatch checks the converse.
func TestSDKAcceptsWhatHostAccepts(t *testing.T) {
	lax := [][]byte{
		{0x01, 0x01, 0x01, 'a', 0x01, 0x01, 0xff},      // S not UTF-8
		{0x01, 0x01, 0x01, 'a', 0x02, 0x01, 'x'},       // N not a number
		{0x01, 0x02, 0x01, 'a', 0x05, 0x01, 'a', 0x05}, // duplicate name
	}
	for _, b := range lax {
		if _, err := plugins.DecodeBatch(b); err == nil {
			t.Fatalf("host accepts % x", b)
		}
		if _, err := guest.DecodeBatch(nil, b); err != nil {
			t.Errorf("SDK refuses % x: %v", b, err)
		}
	}
}

// every is a plugin that exercises the whole writer, by the "op" S
// attribute of each item.
type every struct{ configured string }

func (*every) Describe() guest.Info {
	return guest.Info{Name: "every", Version: "0.1.0", Parameters: `{"type":"object"}`}
}

func (e *every) Configure(config []byte) error {
	if string(config) == `{"refuse":true}` {
		return errors.New("refused as asked")
	}
	e.configured = string(config)
	return nil
}

func (e *every) Transform(in guest.Item, out *guest.Output) {
	op, _ := in.Get("op")
	switch string(op.Bytes()) {
	case "pass":
		out.Pass()
	case "default":
	case "drop":
		out.Drop()
	case "fail":
		out.Fail("failed: " + e.configured)
	case "fail-invalid-utf8":
		out.Fail("bad \xff byte")
	case "set-all":
		b := out.Modify(in)
		b.Remove("op")
		b.SetString("s", "ü").SetNumber("n", "-1.5e3").SetBinary("b", []byte{0, 255}).
			SetBool("t", true).SetBool("f", false).SetNull("z").
			SetStringSet("ss", "a", "b").SetNumberSet("ns", "1", "2").SetBinarySet("bs", []byte{1}, []byte{})
		l := b.SetList("l")
		l.AppendString("x").AppendNumber("2").AppendBinary([]byte("y")).AppendBool(true).AppendNull().
			AppendStringSet("s").AppendNumberSet("3").AppendBinarySet([]byte{9})
		l.AppendList().AppendString("inner")
		l.AppendMap().SetString("k", "v")
		if v, ok := in.Get("keep"); ok {
			l.Append(v)
		}
		m := b.SetMap("m")
		m.SetString("a", "1")
		m.SetMap("empty")
		m.SetList("none")
	case "replace":
		// Set replaces in place; the op attribute goes.
		b := out.Modify(in)
		b.SetString("a", "replaced")
		b.SetString("new", "appended")
		if !b.Remove("op") || b.Remove("op") || !b.Has("a") || b.Has("op") || b.Len() != 3 {
			panic("Builder bookkeeping")
		}
	case "copy":
		// A new item from views: names as bytes, values copied; a name
		// from a reused buffer is copied by SetAttr.
		b := out.Modify(guest.Item{})
		var buf []byte
		for a := in.Attrs(); a.Next(); {
			if string(a.Name()) == "op" {
				continue
			}
			buf = append(append(buf[:0], "c_"...), a.Name()...)
			b.SetAttr(buf, a.Value())
			b.SetAttr(a.Name(), a.Value())
		}
	case "fan-out":
		f := out.FanOut()
		for i := 0; i < 3; i++ {
			b := f.Add(in)
			b.Remove("op")
			b.SetNumber("part", fmt.Sprint(i))
		}
	case "fan-out-none":
		out.FanOut()
	case "change-mind":
		b := out.Modify(in)
		b.SetString("x", "y")
		out.Fail("changed my mind")
	case "change-back":
		out.Fail("never mind")
		out.Modify(in).Remove("op")
	case "empty-name":
		out.Modify(in).SetString("", "x")
	case "bad-utf8":
		out.Modify(in).SetString("s", "\xff")
	case "bad-number":
		out.Modify(in).SetNumber("n", "1,5")
	case "empty-set":
		out.Modify(in).SetStringSet("s")
	case "zero-value":
		out.Modify(in).Set("v", guest.Value{})
	case "empty-item":
		out.Modify(guest.Item{})
	case "empty-fan-out-item":
		f := out.FanOut()
		f.Add(in)
		f.Add(guest.Item{})
	case "too-deep":
		b := out.Modify(in)
		for i := 0; i < guest.MaxDepth+1; i++ {
			b = b.SetMap("m")
		}
	case "deep-enough":
		b := out.Modify(in)
		b.Remove("op")
		for i := 0; i < guest.MaxDepth; i++ {
			b = b.SetMap("m")
		}
		b.SetString("s", "bottom")
	case "deep-copy":
		// A view of 2 levels copied at level 31: 32 levels, allowed;
		// and at level 32: too deep.
		v, _ := in.Get("nested")
		levels := 30
		if _, ok := in.Get("deeper"); ok {
			levels = 31
		}
		b := out.Modify(guest.Item{})
		for i := 0; i < levels; i++ {
			b = b.SetMap("m")
		}
		b.Set("v", v)
	}
}

func TestWriter(t *testing.T) {
	cases := []struct {
		in   string
		want plugins.Result
	}{
		{`{"op":{"S":"pass"}}`, plugins.Result{Status: plugins.StatusPass}},
		{`{"op":{"S":"default"}}`, plugins.Result{Status: plugins.StatusPass}},
		{`{"op":{"S":"drop"}}`, plugins.Result{Status: plugins.StatusDrop}},
		{`{"op":{"S":"fail"}}`, plugins.Result{Status: plugins.StatusError, Message: `failed: {"x":1}`}},
		{`{"op":{"S":"fail-invalid-utf8"}}`, plugins.Result{Status: plugins.StatusError, Message: "bad \uFFFD byte"}},
		{`{"op":{"S":"set-all"},"keep":{"M":{"k":{"L":[{"N":"1"}]}}}}`, modified(t,
			`{"keep":{"M":{"k":{"L":[{"N":"1"}]}}},"s":{"S":"ü"},"n":{"N":"-1.5e3"},"b":{"B":"AP8="},"t":{"BOOL":true},"f":{"BOOL":false},"z":{"NULL":true},`+
				`"ss":{"SS":["a","b"]},"ns":{"NS":["1","2"]},"bs":{"BS":["AQ==",""]},`+
				`"l":{"L":[{"S":"x"},{"N":"2"},{"B":"eQ=="},{"BOOL":true},{"NULL":true},{"SS":["s"]},{"NS":["3"]},{"BS":["CQ=="]},{"L":[{"S":"inner"}]},{"M":{"k":{"S":"v"}}},{"M":{"k":{"L":[{"N":"1"}]}}}]},`+
				`"m":{"M":{"a":{"S":"1"},"empty":{"M":{}},"none":{"L":[]}}}}`)},
		{`{"a":{"S":"1"},"op":{"S":"replace"},"b":{"N":"2"}}`, modified(t, `{"a":{"S":"replaced"},"b":{"N":"2"},"new":{"S":"appended"}}`)},
		{`{"x":{"S":"1"},"op":{"S":"copy"},"y":{"L":[{"N":"2"}]}}`, modified(t, `{"c_x":{"S":"1"},"x":{"S":"1"},"c_y":{"L":[{"N":"2"}]},"y":{"L":[{"N":"2"}]}}`)},
		{`{"id":{"S":"1"},"op":{"S":"fan-out"}}`, plugins.Result{Status: plugins.StatusFanOut, Items: []ddb.Item{
			parse(t, `{"id":{"S":"1"},"part":{"N":"0"}}`), parse(t, `{"id":{"S":"1"},"part":{"N":"1"}}`), parse(t, `{"id":{"S":"1"},"part":{"N":"2"}}`)}}},
		{`{"op":{"S":"fan-out-none"}}`, plugins.Result{Status: plugins.StatusFanOut}},
		{`{"op":{"S":"change-mind"}}`, plugins.Result{Status: plugins.StatusError, Message: "changed my mind"}},
		{`{"op":{"S":"change-back"},"k":{"S":"v"}}`, modified(t, `{"k":{"S":"v"}}`)},
		{`{"op":{"S":"empty-name"}}`, failure("the plugin set an attribute with an empty name")},
		{`{"op":{"S":"bad-utf8"}}`, failure("the plugin set an S value that is not valid UTF-8")},
		{`{"op":{"S":"bad-number"}}`, failure(`the plugin set an N value that is not a number: "1,5"`)},
		{`{"op":{"S":"empty-set"}}`, failure("the plugin set an empty SS (DynamoDB sets have at least one element)")},
		{`{"op":{"S":"zero-value"}}`, failure("the plugin set the zero Value, which has no type")},
		{`{"op":{"S":"empty-item"}}`, failure("the plugin made an item with no attributes")},
		{`{"op":{"S":"empty-fan-out-item"}}`, failure("fan-out item 1: the plugin made an item with no attributes")},
		{`{"op":{"S":"too-deep"}}`, failure(strings.Repeat(`attribute "m": `, 33) + "value nested deeper than DynamoDB's 32 levels")},
		{`{"op":{"S":"deep-enough"}}`, modified(t, `{"m":`+strings.Repeat(`{"M":{"m":`, 31)+`{"M":{"s":{"S":"bottom"}}}`+strings.Repeat(`}}`, 31)+`}`)},
		{`{"op":{"S":"deep-copy"},"nested":{"M":{"a":{"L":[{"N":"1"}]}}}}`, modified(t,
			`{"m":`+strings.Repeat(`{"M":{"m":`, 29)+`{"M":{"v":{"M":{"a":{"L":[{"N":"1"}]}}}}}`+strings.Repeat(`}}`, 29)+`}`)},
		{`{"op":{"S":"deep-copy"},"deeper":{"NULL":true},"nested":{"M":{"a":{"L":[{"N":"1"}]}}}}`,
			failure(strings.Repeat(`attribute "m": `, 31) + `attribute "v": value nested deeper than DynamoDB's 32 levels`)},
	}
	var in []ddb.Item
	for _, c := range cases {
		in = append(in, parse(t, c.in))
	}
	batch := plugins.AppendBatch(nil, in)
	r, err := guest.NewRunner(&every{}, []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ { // buffers are reused
		out, err := r.RunBatch(batch)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := plugins.DecodeResults(out, len(in))
		if err != nil {
			t.Fatalf("the host refuses the result: %v", err)
		}
		if re := plugins.AppendResults(nil, rs); !bytes.Equal(re, out) {
			t.Errorf("the result is not canonical:\n% x\n% x", out, re)
		}
		for i, c := range cases {
			if !sameResult(rs[i], c.want) {
				t.Errorf("%s:\ngot  %s\nwant %s", c.in, show(rs[i]), show(c.want))
			}
		}
	}
	// Every item alone gives the same entry as in the batch.
	for i, c := range cases {
		out, err := r.RunBatch(plugins.AppendBatch(nil, in[i:i+1]))
		if err != nil {
			t.Fatal(err)
		}
		rs, err := plugins.DecodeResults(out, 1)
		if err != nil || !sameResult(rs[0], c.want) {
			t.Errorf("%s alone: %v %v", c.in, show(rs[0]), err)
		}
	}
}

func modified(t testing.TB, s string) plugins.Result {
	return plugins.Result{Status: plugins.StatusModified, Items: []ddb.Item{parse(t, s)}}
}

func failure(msg string) plugins.Result {
	return plugins.Result{Status: plugins.StatusError, Message: msg}
}

func sameResult(got, want plugins.Result) bool {
	if got.Status != want.Status || got.Message != want.Message || len(got.Items) != len(want.Items) {
		return false
	}
	for i := range want.Items {
		if !got.Items[i].Equal(want.Items[i]) {
			return false
		}
	}
	return true
}

func show(r plugins.Result) string {
	s := r.Status.String()
	for _, it := range r.Items {
		s += " " + it.String()
	}
	if r.Message != "" {
		s += fmt.Sprintf(" %q", r.Message)
	}
	return s
}

type stale struct {
	keep *guest.Builder
	fan  guest.FanOut
	list *guest.ListBuilder
}

func (*stale) Describe() guest.Info   { return guest.Info{Name: "stale", Version: "1"} }
func (*stale) Configure([]byte) error { return nil }
func (s *stale) Transform(in guest.Item, out *guest.Output) {
	switch {
	case s.keep == nil:
		s.keep = out.Modify(in)
		s.fan = out.FanOut() // replaces the Modify: keep is stale already
		s.list = s.fan.Add(in).SetList("l")
	default:
		out.Drop()
	}
}

func TestStaleBuilders(t *testing.T) {
	s := &stale{}
	r, err := guest.NewRunner(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(`{"a":{"S":"b"}}`); err != nil {
		t.Fatal(err)
	}
	for name, use := range map[string]func(){
		"Builder":     func() { s.keep.SetString("x", "y") },
		"FanOut":      func() { s.fan.Add(guest.Item{}) },
		"ListBuilder": func() { s.list.AppendNull() },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("using a stale %s did not panic", name)
				}
			}()
			use()
		}()
	}
}

func TestHarness(t *testing.T) {
	p := &every{}
	if _, err := guest.Run(p, `{"refuse":true}`, `{"a":{"S":"b"}}`); err == nil || err.Error() != "refused as asked" {
		t.Errorf("refused configuration: %v", err)
	}
	if _, err := guest.Run(p, `{not json`, `{"a":{"S":"b"}}`); err == nil {
		t.Error("invalid JSON configuration accepted")
	}
	got, err := guest.Run(p, "", `{"op":{"S":"fail"}}`, `{"op":{"S":"fan-out"},"k":{"S":"v"}}`, `{"op":{"S":"drop"}}`, `{"op":{"S":"pass"}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`error "failed: {}"`,
		`fan-out [{"k":{"S":"v"},"part":{"N":"0"}},{"k":{"S":"v"},"part":{"N":"1"}},{"k":{"S":"v"},"part":{"N":"2"}}]`,
		`drop`,
		`pass`,
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("outcome %d = %s, want %s", i, got[i], want[i])
		}
	}
	r, err := guest.NewRunner(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := string(r.Describe()); d != `{"name":"every","version":"0.1.0","parameters":{"type":"object"}}` {
		t.Errorf("Describe() = %s", d)
	}
	for _, bad := range []string{
		`{}`, `{"a":{"X":"1"}}`, `{"a":{"N":"x"}}`, `{"a":{"SS":[]}}`, `{"a":{"B":"!"}}`, `{"a":{"S":"x","N":"1"}}`,
		`{"a":{"S":"x"},"a":{"S":"y"}}`, `{"":{"S":"x"}}`, `{"a":{"NULL":false}}`, `{"a":{"S":1}}`, `[]`, `{"a":{"S":"x"}} {}`,
		deep(33),
	} {
		if _, err := r.Run(bad); err == nil {
			t.Errorf("Run(%s) accepted bad input", bad)
		}
	}
	if _, err := r.RunBatch([]byte{0x01, 0x00}); err == nil {
		t.Error("RunBatch accepted a malformed batch")
	}
}

func TestRegister(t *testing.T) {
	for _, info := range []guest.Info{
		{Version: "1"},
		{Name: "x"},
		{Name: "x", Version: "1", Parameters: `[1]`},
		{Name: "x", Version: "1", Parameters: `{`},
	} {
		if _, err := guest.NewRunner(infoPlugin(info), nil); err == nil {
			t.Errorf("Info %+v accepted", info)
		}
	}
}

type infoPlugin guest.Info

func (p infoPlugin) Describe() guest.Info              { return guest.Info(p) }
func (infoPlugin) Configure([]byte) error              { return nil }
func (infoPlugin) Transform(guest.Item, *guest.Output) {}

// benchBatch is 512 items of 11 attributes, like the examples' benchmark.
func benchBatch(b *testing.B) []byte {
	var items []string
	for i := 0; i < 512; i++ {
		items = append(items, fmt.Sprintf(`{"pk":{"S":"ORDER#%08d"},"sk":{"S":"2024-05-01T10:00:00Z"},`+
			`"email":{"S":"customer%d@example.com"},"phone":{"S":"+47 %08d"},"status":{"S":"OPEN"},`+
			`"total":{"N":"%d.50"},"items":{"N":"3"},"gift":{"BOOL":true},"tags":{"SS":["web","promo"]},`+
			`"address":{"M":{"street":{"S":"1 Storgata"},"city":{"S":"Oslo"},"zip":{"S":"0150"}}},`+
			`"notes":{"S":"Leave the parcel at the door if nobody answers; ring twice."}}`, i, i, i, i))
	}
	batch, err := guest.EncodeBatch(items...)
	if err != nil {
		b.Fatal(err)
	}
	return batch
}

// BenchmarkRunBatch measures the SDK natively (the WebAssembly cost is in
// plugins/examples' BenchmarkExamples).
func BenchmarkRunBatch(b *testing.B) {
	batch := benchBatch(b)
	for _, bc := range []struct {
		name string
		p    guest.Plugin
	}{
		{"pass", infoPlugin{Name: "pass", Version: "1"}},
		{"copy", &every{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r, err := guest.NewRunner(bc.p, nil)
			if err != nil {
				b.Fatal(err)
			}
			in := batch
			if bc.name == "copy" {
				in = bytes.ReplaceAll(batch, []byte("\x06status\x01\x04OPEN"), []byte("\x06status\x01\x04copy"))
				in = bytes.ReplaceAll(in, []byte("\x06status"), []byte("\x02op"))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := r.RunBatch(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/item")
		})
	}
}
