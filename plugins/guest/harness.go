package guest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// This file is the test harness: it runs a Plugin natively, in plain
// go test, through the same code as the module's exports, so that plugin
// authors unit-test without building WebAssembly or running a host.

// Runner runs a plugin as one host instance would: configured once, then
// given batches. It checks every result as strictly as the host does, so
// a test catches a result the host would reject.
type Runner struct {
	r *runner
}

// NewRunner describes and configures p with config (JSON; empty means
// {}, as for the host). A refused configuration is returned as the error,
// with the plugin's message.
func NewRunner(p Plugin, config []byte) (*Runner, error) {
	r, err := newRunner(p)
	if err != nil {
		return nil, err
	}
	if len(config) > 0 && !json.Valid(config) {
		return nil, fmt.Errorf("guest: configuration is not valid JSON: %.200q", config)
	}
	if err := r.configure(config); err != nil {
		return nil, err
	}
	return &Runner{r: r}, nil
}

// Describe returns the JSON of the plugin's describe export.
func (r *Runner) Describe() []byte { return bytes.Clone(r.r.describe) }

// RunBatch transforms a batch in the ABI's batch encoding and returns the
// result in the result encoding, as transform_batch would; the result is
// valid until the next call. The error is a malformed batch, or a result
// the host would reject as a bad result.
func (r *Runner) RunBatch(batch []byte) ([]byte, error) {
	out, err := r.r.transform(batch)
	if err != nil {
		return nil, err
	}
	n := 0
	if len(batch) > 0 {
		c := checker{b: batch}
		n, _ = c.uvarint("item count")
	}
	if err := checkResult(out, n); err != nil {
		return nil, fmt.Errorf("guest: the host would reject this result: %w", err)
	}
	return out, nil
}

// Outcome is a decoded result entry, for tests: the verdict on one input
// item.
type Outcome struct {
	Status Status
	// Items are the output items of StatusModified (one) and StatusFanOut,
	// as compact DynamoDB JSON (Item.String), e.g. {"id":{"S":"u1"}}.
	Items []string
	// Message is the message of StatusError.
	Message string
}

// String renders the outcome for test failures, e.g. modified
// [{"id":{"S":"u1"}}] or error "bad".
func (o Outcome) String() string {
	switch o.Status {
	case StatusModified, StatusFanOut:
		return o.Status.String() + " [" + strings.Join(o.Items, ",") + "]"
	case StatusError:
		return fmt.Sprintf("error %q", o.Message)
	}
	return o.Status.String()
}

// Run transforms items given as DynamoDB JSON, one object per item as in
// {"id":{"S":"u1"},"n":{"N":"1"}} (without the export's {"Item": ...}
// wrapper), as one batch, and returns one Outcome per item.
func (r *Runner) Run(items ...string) ([]Outcome, error) {
	batch, err := EncodeBatch(items...)
	if err != nil {
		return nil, err
	}
	out, err := r.RunBatch(batch)
	if err != nil {
		return nil, err
	}
	return DecodeResults(out, len(items))
}

// RunBatch is NewRunner followed by Runner.RunBatch: it configures a
// fresh runner of p and transforms one encoded batch.
func RunBatch(p Plugin, config, batch []byte) ([]byte, error) {
	r, err := NewRunner(p, config)
	if err != nil {
		return nil, err
	}
	return r.RunBatch(batch)
}

// Run is NewRunner followed by Runner.Run: it configures a fresh runner of
// p with config (JSON) and transforms items (DynamoDB JSON) as one batch.
func Run(p Plugin, config string, items ...string) ([]Outcome, error) {
	r, err := NewRunner(p, []byte(config))
	if err != nil {
		return nil, err
	}
	return r.Run(items...)
}

// checkResult checks a result for a batch of n items as the host does.
func checkResult(b []byte, n int) error {
	_, err := decodeResults(b, n, nil)
	return err
}

// DecodeResults decodes a result of n entries (ABI.md, "Result"), checking
// it as strictly as the host does, into Outcomes.
func DecodeResults(b []byte, n int) ([]Outcome, error) {
	out := make([]Outcome, 0, n)
	return decodeResults(b, n, out)
}

// decodeResults checks b and, when out is not nil, appends its entries to
// it.
func decodeResults(b []byte, n int, out []Outcome) ([]Outcome, error) {
	c := checker{b: b, item: -1, strict: true}
	got, err := c.uvarint("entry count")
	if err != nil {
		return nil, err
	}
	if got != n {
		return nil, c.fail(fmt.Sprintf("result has %d entries for a batch of %d items", got, n))
	}
	for i := 0; i < n; i++ {
		c.item = i
		if c.p >= len(b) {
			return nil, c.fail("truncated result: missing status")
		}
		o := Outcome{Status: Status(b[c.p])}
		c.p++
		switch o.Status {
		case StatusPass, StatusDrop:
		case StatusModified:
			start := c.p
			if err := c.item1(); err != nil {
				return nil, err
			}
			if out != nil {
				o.Items = []string{Item{b: b[start:c.p]}.String()}
			}
		case StatusError:
			msg, err := c.bytes("error message")
			if err != nil {
				return nil, err
			}
			if !utf8.Valid(msg) {
				return nil, c.fail("error message is not valid UTF-8")
			}
			o.Message = string(msg)
		case StatusFanOut:
			k, err := c.count("fan-out item count", 4)
			if err != nil {
				return nil, err
			}
			o.Items = make([]string, 0, k)
			for j := 0; j < k; j++ {
				start := c.p
				if err := c.item1(); err != nil {
					return nil, err
				}
				if out != nil {
					o.Items = append(o.Items, Item{b: b[start:c.p]}.String())
				}
			}
		default:
			c.p--
			return nil, c.fail(fmt.Sprintf("unknown status %d (want 0 to 4)", o.Status))
		}
		if out != nil {
			out = append(out, o)
		}
	}
	c.item = -1
	return out, c.end()
}

// EncodeBatch encodes items given as DynamoDB JSON objects (one per item,
// e.g. {"id":{"S":"u1"}}; B and BS elements in base64) in the ABI's batch
// encoding, checking them as DynamoDB would: known type tags, UTF-8,
// number text, non-empty sets, nesting within MaxDepth, non-empty items.
// It is for tests: it is neither fast nor allocation-free.
func EncodeBatch(items ...string) ([]byte, error) {
	b := appendUvarint(nil, len(items))
	for i, s := range items {
		var err error
		if b, err = appendItemJSON(b, s); err != nil {
			return nil, fmt.Errorf("guest: item %d: %w", i, err)
		}
	}
	return b, nil
}

// EncodeItem encodes one item given as DynamoDB JSON (see EncodeBatch) as
// an attribute list, and returns a view of it.
func EncodeItem(item string) (Item, error) {
	b, err := appendItemJSON(nil, item)
	if err != nil {
		return Item{}, fmt.Errorf("guest: %w", err)
	}
	return Item{b: b}, nil
}

func appendItemJSON(dst []byte, s string) ([]byte, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	start := len(dst)
	dst, err := appendAttrsJSON(dst, d, 1)
	if err != nil {
		return nil, err
	}
	if dst[start] == 0 {
		return nil, errors.New("item has no attributes")
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the item")
	}
	return dst, nil
}

func delim(d *json.Decoder, want json.Delim) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	if t != want {
		return fmt.Errorf("got %v, want %v", t, want)
	}
	return nil
}

// appendAttrsJSON encodes a JSON object of typed values as an attribute
// list whose values are at level depth.
func appendAttrsJSON(dst []byte, d *json.Decoder, depth int) ([]byte, error) {
	if err := delim(d, '{'); err != nil {
		return nil, err
	}
	var body []byte
	var names []string
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		name := t.(string)
		if name == "" {
			return nil, errors.New("attribute name is empty")
		}
		for _, n := range names {
			if n == name {
				return nil, fmt.Errorf("attribute %q occurs twice", name)
			}
		}
		names = append(names, name)
		body = appendUvarint(body, len(name))
		body = append(body, name...)
		if body, err = appendValueJSON(body, d, depth); err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
	}
	if err := delim(d, '}'); err != nil {
		return nil, err
	}
	dst = appendUvarint(dst, len(names))
	return append(dst, body...), nil
}

// appendValueJSON encodes one typed value such as {"S":"x"}.
func appendValueJSON(dst []byte, d *json.Decoder, depth int) ([]byte, error) {
	if err := delim(d, '{'); err != nil {
		return nil, err
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	tag, _ := t.(string)
	var typ Type
	for i := 1; i < len(typeNames); i++ {
		if typeNames[i] == tag {
			typ = Type(i)
		}
	}
	str := func(what string) (string, error) {
		t, err := d.Token()
		if err != nil {
			return "", err
		}
		s, ok := t.(string)
		if !ok {
			return "", fmt.Errorf("%s is %v, not a JSON string", what, t)
		}
		return s, nil
	}
	scalar := func(dst []byte, t Type, s string) ([]byte, error) {
		switch t {
		case S:
			if !utf8.ValidString(s) {
				return nil, errors.New("invalid UTF-8")
			}
		case N:
			if !validNumber(s) {
				return nil, fmt.Errorf("%q is not a number", s)
			}
		case B:
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("the B value is not base64: %v", err)
			}
			s = string(raw)
		}
		dst = appendUvarint(dst, len(s))
		return append(dst, s...), nil
	}
	dst = append(dst, byte(typ))
	switch typ {
	case S, N, B:
		s, err := str(tag + " value")
		if err != nil {
			return nil, err
		}
		if dst, err = scalar(dst, typ, s); err != nil {
			return nil, err
		}
	case BOOL, NULL:
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		v, ok := t.(bool)
		if !ok || (typ == NULL && !v) {
			return nil, fmt.Errorf("%s value is %v", tag, t)
		}
		if typ == BOOL && v {
			dst = append(dst, 1)
		} else if typ == BOOL {
			dst = append(dst, 0)
		}
	case SS, NS, BS:
		if err := delim(d, '['); err != nil {
			return nil, err
		}
		n := 0
		var elems []byte
		for d.More() {
			s, err := str(tag + " element")
			if err != nil {
				return nil, err
			}
			if elems, err = scalar(elems, typ-SS+S, s); err != nil {
				return nil, err
			}
			n++
		}
		if err := delim(d, ']'); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("%s value is an empty set", tag)
		}
		dst = appendUvarint(dst, n)
		dst = append(dst, elems...)
	case L:
		if depth > MaxDepth {
			return nil, errors.New("nested deeper than 32 levels")
		}
		if err := delim(d, '['); err != nil {
			return nil, err
		}
		var elems []byte
		n := 0
		for d.More() {
			if elems, err = appendValueJSON(elems, d, depth+1); err != nil {
				return nil, err
			}
			n++
		}
		if err := delim(d, ']'); err != nil {
			return nil, err
		}
		dst = appendUvarint(dst, n)
		dst = append(dst, elems...)
	case M:
		if depth > MaxDepth {
			return nil, errors.New("nested deeper than 32 levels")
		}
		if dst, err = appendAttrsJSON(dst, d, depth+1); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown type %v (want one of S, N, B, BOOL, NULL, SS, NS, BS, L, M)", t)
	}
	if d.More() {
		return nil, errors.New("a value has exactly one type key")
	}
	return dst, delim(d, '}')
}
