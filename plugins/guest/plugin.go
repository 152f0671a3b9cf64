package guest

import (
	"encoding/json"
	"errors"
)

// Plugin is what a plugin author implements: the SDK does the rest of the
// ABI (buffers, the batch and result encodings, the exports).
type Plugin interface {
	// Describe identifies the plugin. It is called once, by Register.
	Describe() Info
	// Configure receives the user's configuration, a JSON value ("{}"
	// when the user gave none; the host has checked it is valid JSON),
	// once, before any Transform. Returning an error refuses it: the host
	// shows the error's message to the user and discards the instance.
	// encoding/json is fine here: it runs once per instance.
	Configure(config []byte) error
	// Transform gives its verdict on one item by calling one method of
	// out (an item without one passes). in and every view obtained from
	// it alias the batch and are valid only until Transform returns.
	//
	// It is called for each item of a batch, in order, on one goroutine.
	// Keep it free of reflection (encoding/json, fmt with %v on the hot
	// path) and of per-item allocations where it matters: it runs for
	// every item of every export. A panic traps the instance: the host
	// fails the whole batch and retries it in halves to isolate the item,
	// so report per-item problems with out.Fail instead.
	Transform(in Item, out *Output)
}

// Info is what the describe export reports (ABI.md, "describe").
type Info struct {
	// Name and Version identify the plugin in floe's errors, logs and
	// dead letters. Both are required.
	Name    string
	Version string
	// Parameters is an optional JSON Schema (a JSON object, as text) of
	// the configuration Configure accepts, for documentation and tools.
	Parameters string
}

// describeJSON returns the describe export's JSON for info, or why info
// is not valid.
func (info Info) describeJSON() ([]byte, error) {
	if info.Name == "" || info.Version == "" {
		return nil, errors.New("guest: Info needs a Name and a Version")
	}
	var doc struct {
		Name       string          `json:"name"`
		Version    string          `json:"version"`
		Parameters json.RawMessage `json:"parameters,omitempty"`
	}
	doc.Name, doc.Version = info.Name, info.Version
	if info.Parameters != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(info.Parameters), &obj); err != nil || obj == nil {
			return nil, errors.New("guest: Info.Parameters of " + info.Name + " is not a JSON object")
		}
		doc.Parameters = json.RawMessage(info.Parameters)
	}
	return json.Marshal(doc)
}

// registered is the plugin of Register, which the exports run.
var registered *runner

// Register makes p the plugin that the module's exports run. Call it once,
// from an init function of the plugin's main package:
//
//	func init() { guest.Register(&myPlugin{}) }
//	func main() {}
//
// It must be init, not main: a reactor module (go build -buildmode=c-shared,
// which a floe plugin is) runs package initialisation in its _initialize
// export, but never runs main (which must still exist, empty).
//
// Register panics if p is nil, if p.Describe is not valid, or if a plugin
// is registered already: in a module, that panic traps _initialize, and
// the host reports it with the panic message.
func Register(p Plugin) {
	if p == nil {
		panic("guest: Register(nil)")
	}
	if registered != nil {
		panic("guest: Register called twice")
	}
	r, err := newRunner(p)
	if err != nil {
		panic(err.Error())
	}
	registered = r
}

// runner runs a plugin on batches: the code behind both the exports and
// the test harness. It owns the buffers reused from batch to batch.
type runner struct {
	p          Plugin
	describe   []byte
	configured bool
	dec        Decoder
	out        Output
}

func newRunner(p Plugin) (*runner, error) {
	js, err := p.Describe().describeJSON()
	if err != nil {
		return nil, err
	}
	return &runner{p: p, describe: js}, nil
}

// configure passes the configuration on, defaulting it to {} as the host
// does. A nil error message from the plugin still refuses.
func (r *runner) configure(config []byte) error {
	if r.configured {
		return errors.New("configure called twice")
	}
	if len(config) == 0 {
		config = []byte("{}")
	}
	if err := r.p.Configure(config); err != nil {
		return err
	}
	r.configured = true
	return nil
}

// transform runs the plugin on an encoded batch and returns the encoded
// result, which stays valid until the next call. A malformed batch is an
// error for the whole batch.
func (r *runner) transform(batch []byte) ([]byte, error) {
	if !r.configured {
		return nil, errors.New("transform_batch called before configure")
	}
	items, err := r.dec.Decode(batch)
	if err != nil {
		return nil, errors.New("malformed batch: " + err.Error())
	}
	o := &r.out
	o.batch = batch
	o.buf = appendUvarint(o.buf[:0], len(items))
	for _, it := range items {
		o.begin()
		r.p.Transform(it, o)
		o.finish()
	}
	o.batch = nil
	return o.buf, nil
}
