package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/floe-io/floe/internal/ddb"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// maxMessageBytes caps what the host reads of describe's JSON and of
// configure's error message.
const maxMessageBytes = 1 << 20

// outputKeep is how much of a guest's stdout and stderr an Error keeps.
const outputKeep = 4 << 10

// Instance is one sandboxed instantiation of a plugin. It is not safe for
// concurrent use: give each worker goroutine its own. Call Configure once,
// then TransformBatch for each batch.
//
// After any *Error the instance is dead (see Error); Close it and make a
// new one.
type Instance struct {
	r   *Runtime
	mod api.Module
	mem api.Memory

	// The exported functions, looked up once.
	alloc, describe, configure, transform api.Function

	stack  [2]uint64 // parameters and result of CallWithStack
	in     []byte    // the encoded batch, reused
	output tail      // the guest's stdout and stderr during a call
	// pool holds the results of the pooled calls (the chain's) until
	// the chain's next Run resets it.
	pool       slabPool
	configured bool
	dead       bool
}

// NewInstance instantiates the plugin in its sandbox: WASI with no files,
// sockets, arguments or environment, deterministic clocks and randomness,
// and stdout and stderr captured for error messages. It runs the module's
// _initialize export, if any, and checks abi_version.
func (r *Runtime) NewInstance(ctx context.Context) (*Instance, error) {
	in := &Instance{r: r}
	cfg := wazero.NewModuleConfig().
		WithName(fmt.Sprintf("plugin-%d", r.seq.Add(1))).
		WithStartFunctions("_initialize").
		WithStdout(&in.output).
		WithStderr(&in.output)
	cctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	mod, err := r.rt.InstantiateModule(cctx, r.compiled, cfg)
	if err != nil {
		return nil, in.failed("instantiate", classify(cctx, err), err)
	}
	in.mod = mod
	if mod.IsClosed() {
		// _initialize called proc_exit(0): wazero closes the module
		// without an error.
		return nil, in.failed("instantiate", ErrTrap, errors.New("_initialize exited the module (proc_exit)"))
	}
	in.mem = mod.ExportedMemory("memory")
	in.alloc = mod.ExportedFunction("alloc")
	in.describe = mod.ExportedFunction("describe")
	in.configure = mod.ExportedFunction("configure")
	in.transform = mod.ExportedFunction("transform_batch")
	v, err := in.call(ctx, "abi_version", mod.ExportedFunction("abi_version"), 0)
	if err != nil {
		return nil, err
	}
	if uint32(v) != ABIVersion {
		in.Close(ctx)
		return nil, fmt.Errorf("plugins: plugin has ABI version %d; this floe supports version %d", uint32(v), ABIVersion)
	}
	return in, nil
}

// Close frees the instance. It is safe to call more than once.
func (in *Instance) Close(ctx context.Context) error {
	in.dead = true
	if in.mod == nil {
		return nil
	}
	return in.mod.Close(ctx)
}

// Dead reports whether the instance failed and must be replaced.
func (in *Instance) Dead() bool { return in.dead }

// Describe calls the guest's describe export and returns its JSON (a copy).
func (in *Instance) Describe(ctx context.Context) ([]byte, error) {
	if in.dead {
		return nil, in.deadError("describe")
	}
	packed, err := in.call(ctx, "describe", in.describe, 0)
	if err != nil {
		return nil, err
	}
	js, err := in.read("describe", packed, maxMessageBytes, nil)
	if err != nil {
		return nil, err
	}
	if !json.Valid(js) {
		return nil, in.failed("describe", ErrBadResult, fmt.Errorf("not valid JSON: %.200q", js))
	}
	return js, nil
}

// Configure passes the plugin its JSON configuration ("{}" when config is
// empty). It must be called exactly once, before TransformBatch. A refusal
// by the plugin is an *Error of kind ErrConfig carrying the plugin's
// message, and leaves the instance dead too.
func (in *Instance) Configure(ctx context.Context, config []byte) error {
	if in.dead {
		return in.deadError("configure")
	}
	if in.configured {
		return errors.New("plugins: Configure called twice on one instance")
	}
	if len(config) == 0 {
		config = []byte("{}")
	}
	if !json.Valid(config) {
		return fmt.Errorf("plugins: plugin configuration is not valid JSON: %.200q", config)
	}
	ptr, err := in.write(ctx, config, nil)
	if err != nil {
		return err
	}
	packed, err := in.call(ctx, "configure", in.configure, uint64(ptr), uint64(len(config)))
	if err != nil {
		return err
	}
	if packed != 0 {
		msg, err := in.read("configure", packed, maxMessageBytes, nil)
		if err != nil {
			return err
		}
		return in.failed("configure", ErrConfig, errors.New(strings.ToValidUTF8(string(msg), "\uFFFD")))
	}
	in.configured = true
	return nil
}

// TransformBatch runs the plugin on a batch of items with one call of
// transform_batch, under the deadline Options.Timeout, and returns one
// Result per item, in order. The results share no memory with the guest
// or with items, and stay valid after later calls.
//
// A trap, a missed deadline, a cancellation or a malformed result returns
// an *Error and kills the instance; the batch may then be retried on a new
// instance, e.g. in halves to find the item at fault.
func (in *Instance) TransformBatch(ctx context.Context, items []ddb.Item) ([]Result, error) {
	return in.transformItems(ctx, items, nil, nil)
}

// transformItems is TransformBatch for items whose encodings (AppendItem, back
// to back) are in enc when it is not nil, with the results decoded into
// pool when it is not nil: valid until the pool's reset.
func (in *Instance) transformItems(ctx context.Context, items []ddb.Item, enc []byte, pool *slabPool) ([]Result, error) {
	if in.dead {
		return nil, in.deadError("transform_batch")
	}
	if !in.configured {
		return nil, errors.New("plugins: TransformBatch called before Configure")
	}
	if len(items) == 0 {
		return nil, nil
	}
	if enc != nil {
		// The count goes before the encodings straight into guest
		// memory: copying the batch into in.in first would copy it twice.
		in.in = appendUvarint(in.in[:0], uint32(len(items)))
	} else {
		in.in = AppendBatch(in.in[:0], items)
	}
	return in.transformBatch(ctx, len(items), enc, pool)
}

// transformBatch calls transform_batch on the n items encoded in in.in
// followed by rest, and decodes the results into pool (when not nil).
func (in *Instance) transformBatch(ctx context.Context, n int, rest []byte, pool *slabPool) ([]Result, error) {
	size := uint64(len(in.in)) + uint64(len(rest))
	if size > uint64(^uint32(0)) {
		return nil, fmt.Errorf("plugins: batch of %d bytes does not fit a 32-bit memory", size)
	}
	ptr, err := in.write(ctx, in.in, rest)
	if err != nil {
		return nil, err
	}
	packed, err := in.call(ctx, "transform_batch", in.transform, uint64(ptr), size)
	if err != nil {
		return nil, err
	}
	out, err := in.read("transform_batch", packed, in.r.opts.MaxResultBytes, pool)
	if err != nil {
		return nil, err
	}
	rs, err := decodeResults(out, n, pool)
	if err != nil {
		return nil, in.failed("transform_batch", ErrBadResult, err)
	}
	return rs, nil
}

// write copies b and then rest, back to back, into a guest buffer
// obtained from alloc and returns its address.
func (in *Instance) write(ctx context.Context, b, rest []byte) (uint32, error) {
	n := uint64(len(b)) + uint64(len(rest))
	v, err := in.call(ctx, "alloc", in.alloc, n)
	if err != nil {
		return 0, err
	}
	ptr := uint32(v)
	if ptr == 0 || uint64(ptr)+n > uint64(in.mem.Size()) || !in.mem.Write(ptr, b) || !in.mem.Write(ptr+uint32(len(b)), rest) {
		return 0, in.failed("alloc", ErrBadResult, fmt.Errorf("alloc(%d) returned %#x, not a buffer inside the guest's %d bytes of memory", n, ptr, in.mem.Size()))
	}
	return ptr, nil
}

// read copies the guest buffer described by packed (ptr<<32|len) after
// checking its bounds against memory and against limit, into pool when
// not nil.
func (in *Instance) read(op string, packed uint64, limit uint32, pool *slabPool) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if n > limit {
		return nil, in.failed(op, ErrBadResult, fmt.Errorf("result of %d bytes exceeds the limit of %d", n, limit))
	}
	view, ok := in.mem.Read(ptr, n)
	if !ok {
		return nil, in.failed(op, ErrBadResult, fmt.Errorf("result [%#x, +%d) lies outside the guest's %d bytes of memory", ptr, n, in.mem.Size()))
	}
	if pool != nil {
		return pool.copyBytes(view), nil
	}
	return append([]byte(nil), view...), nil
}

// call calls fn with up to two parameters under the per-call deadline and
// returns its single result.
func (in *Instance) call(ctx context.Context, op string, fn api.Function, params ...uint64) (uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, in.r.opts.Timeout)
	defer cancel()
	in.output.reset()
	stack := in.stack[:]
	copy(stack, params)
	if err := fn.CallWithStack(cctx, stack); err != nil {
		return 0, in.failed(op, classify(cctx, err), err)
	}
	return stack[0], nil
}

// classify maps an error of a guest call to the kind of an Error.
func classify(ctx context.Context, err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return ErrTimeout
		case sys.ExitCodeContextCanceled:
			return ErrCanceled
		}
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ErrTimeout
	case ctx.Err() != nil:
		return ErrCanceled
	}
	return ErrTrap
}

// failed kills the instance and returns the Error for op.
func (in *Instance) failed(op string, kind, err error) *Error {
	in.dead = true
	if in.mod != nil {
		_ = in.mod.Close(context.Background())
	}
	return &Error{Plugin: in.pluginName(), Op: op, Kind: kind, Err: err, Stderr: in.output.String()}
}

func (in *Instance) deadError(op string) *Error {
	return &Error{Plugin: in.pluginName(), Op: op, Kind: ErrDead}
}

func (in *Instance) pluginName() string {
	if in.r.info.Name == "" {
		return "(unnamed)"
	}
	return in.r.info.String()
}

// tail is an io.Writer that keeps the first and the last outputKeep/2
// bytes written since the last reset: where a Go panic's message and a
// long log's final lines are.
type tail struct {
	head, tail []byte
	dropped    bool
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	const half = outputKeep / 2
	if room := half - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	if len(p) >= half {
		t.dropped = t.dropped || len(t.tail) > 0 || len(p) > half
		t.tail = append(t.tail[:0], p[len(p)-half:]...)
		return n, nil
	}
	if over := len(t.tail) + len(p) - half; over > 0 {
		t.dropped = true
		t.tail = append(t.tail[:0], t.tail[over:]...)
	}
	t.tail = append(t.tail, p...)
	return n, nil
}

func (t *tail) reset() { t.head, t.tail, t.dropped = t.head[:0], t.tail[:0], false }

// String returns the kept bytes, with " … " where some were dropped.
func (t *tail) String() string {
	if t.dropped {
		return string(t.head) + " … " + string(t.tail)
	}
	return string(t.head) + string(t.tail)
}
