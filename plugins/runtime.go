package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// ABIVersion is the plugin ABI version this package implements (ABI.md).
const ABIVersion = 1

// Defaults of Options.
const (
	DefaultMemoryLimitBytes = 256 << 20
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResultBytes   = 16 << 20
)

// wasmPage is the size of a WebAssembly memory page.
const wasmPage = 64 << 10

// Options configure a Runtime. The zero value gives the defaults.
type Options struct {
	// CacheDir, when set, keeps wazero's compiled code on disk there, so
	// that a later process skips compiling the same module.
	CacheDir string
	// MemoryLimitBytes caps a guest's linear memory (rounded down to 64 KiB
	// pages). Default DefaultMemoryLimitBytes.
	MemoryLimitBytes uint64
	// Timeout is the deadline of every call into a guest: one
	// transform_batch, configure, describe, or the instantiation with its
	// _initialize. Default DefaultTimeout.
	Timeout time.Duration
	// MaxResultBytes caps the size of a transform_batch result. Default
	// DefaultMaxResultBytes.
	MaxResultBytes uint32
}

func (o Options) withDefaults() Options {
	if o.MemoryLimitBytes == 0 {
		o.MemoryLimitBytes = DefaultMemoryLimitBytes
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResultBytes == 0 {
		o.MaxResultBytes = DefaultMaxResultBytes
	}
	return o
}

// Info is what a plugin's describe export reports about itself.
type Info struct {
	// Name and Version identify the plugin (dead letters carry them).
	Name    string `json:"name"`
	Version string `json:"version"`
	// Parameters is the JSON Schema of the configuration that configure
	// accepts, or null.
	Parameters json.RawMessage `json:"parameters"`
}

// String returns "name version".
func (i Info) String() string { return i.Name + " " + i.Version }

// Runtime is one compiled plugin. It is safe for concurrent use: any number
// of goroutines may call NewInstance, each using its own Instance.
type Runtime struct {
	opts     Options
	rt       wazero.Runtime
	cache    wazero.CompilationCache
	compiled wazero.CompiledModule
	info     Info
	digest   string        // hex SHA-256 of the module
	seq      atomic.Uint64 // names instances uniquely
}

// The exports ABI version 1 requires, with their WebAssembly signatures.
var requiredExports = []struct {
	name            string
	params, results []api.ValueType
}{
	{"abi_version", nil, []api.ValueType{api.ValueTypeI32}},
	{"alloc", []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	{"describe", nil, []api.ValueType{api.ValueTypeI64}},
	{"configure", []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
	{"transform_batch", []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
}

// NewRuntime compiles the WebAssembly module wasm and checks that it is a
// plugin of ABI version 1: it imports nothing but WASI preview 1 functions,
// exports the required functions with the right signatures and its memory,
// and abi_version returns 1 in a probe instance, whose describe output
// becomes Info. Close the Runtime when done.
func NewRuntime(ctx context.Context, wasm []byte, opts Options) (_ *Runtime, err error) {
	opts = opts.withDefaults()
	pages := opts.MemoryLimitBytes / wasmPage
	if pages == 0 || pages > 65536 {
		return nil, fmt.Errorf("plugins: memory limit %d bytes must be between 64 KiB and 4 GiB", opts.MemoryLimitBytes)
	}
	sum := sha256.Sum256(wasm)
	r := &Runtime{opts: opts, digest: hex.EncodeToString(sum[:])}
	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(uint32(pages)).
		WithCloseOnContextDone(true)
	if opts.CacheDir != "" {
		if r.cache, err = wazero.NewCompilationCacheWithDir(opts.CacheDir); err != nil {
			return nil, fmt.Errorf("plugins: compilation cache: %w", err)
		}
		cfg = cfg.WithCompilationCache(r.cache)
	}
	r.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	defer func() {
		if err != nil {
			_ = r.Close(context.WithoutCancel(ctx))
		}
	}()
	// WASI preview 1 with no preopened directories, arguments, environment
	// or sockets: what a Go or C guest's runtime imports, and nothing more.
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		return nil, fmt.Errorf("plugins: WASI: %w", err)
	}
	wasi := r.rt.Module(wasi_snapshot_preview1.ModuleName)
	if r.compiled, err = r.rt.CompileModule(ctx, wasm); err != nil {
		return nil, fmt.Errorf("plugins: compiling: %w", err)
	}
	if err := checkModule(r.compiled, wasi.ExportedFunctionDefinitions()); err != nil {
		return nil, err
	}
	probe, err := r.NewInstance(ctx)
	if err != nil {
		return nil, err
	}
	defer probe.Close(context.WithoutCancel(ctx))
	js, err := probe.Describe(ctx)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(js, &r.info); err != nil || r.info.Name == "" || r.info.Version == "" {
		return nil, fmt.Errorf("plugins: describe must return a JSON object with string fields \"name\" and \"version\", got %.200q", js)
	}
	return r, nil
}

// checkModule checks a compiled module's imports and exports against ABI
// version 1.
func checkModule(m wazero.CompiledModule, wasi map[string]api.FunctionDefinition) error {
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod != wasi_snapshot_preview1.ModuleName {
			return fmt.Errorf("plugins: module imports %s.%s; plugins may import only from %s", mod, name, wasi_snapshot_preview1.ModuleName)
		}
		if _, ok := wasi[name]; !ok {
			return fmt.Errorf("plugins: module imports %s.%s, which WASI preview 1 does not define", mod, name)
		}
	}
	if f, ok := m.ExportedFunctions()["_initialize"]; ok && (len(f.ParamTypes()) > 0 || len(f.ResultTypes()) > 0) {
		return fmt.Errorf("plugins: export %s, want _initialize() (a reactor's initializer takes and returns nothing)", signature("_initialize", f.ParamTypes(), f.ResultTypes()))
	}
	if len(m.ImportedMemories()) > 0 {
		return errors.New("plugins: module imports a memory; a plugin must define and export its own \"memory\"")
	}
	if _, ok := m.ExportedMemories()["memory"]; !ok {
		return errors.New("plugins: module does not export its memory as \"memory\"")
	}
	exports := m.ExportedFunctions()
	for _, want := range requiredExports {
		f, ok := exports[want.name]
		if !ok {
			return fmt.Errorf("plugins: module does not export function %q (ABI version %d needs %s)", want.name, ABIVersion, signature(want.name, want.params, want.results))
		}
		if !sameTypes(f.ParamTypes(), want.params) || !sameTypes(f.ResultTypes(), want.results) {
			return fmt.Errorf("plugins: export %s, want %s", signature(want.name, f.ParamTypes(), f.ResultTypes()), signature(want.name, want.params, want.results))
		}
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func signature(name string, params, results []api.ValueType) string {
	s := name + "("
	for i, p := range params {
		if i > 0 {
			s += ", "
		}
		s += api.ValueTypeName(p)
	}
	s += ")"
	for _, r := range results {
		s += " -> " + api.ValueTypeName(r)
	}
	return s
}

// Digest returns the hex SHA-256 of the plugin's module: which build it is,
// beyond what its name and version claim.
func (r *Runtime) Digest() string { return r.digest }

// Info returns what the plugin's describe export reported.
func (r *Runtime) Info() Info { return r.info }

// Close closes every instance of the runtime, the runtime and its
// compilation cache.
func (r *Runtime) Close(ctx context.Context) error {
	var err error
	if r.rt != nil {
		err = r.rt.Close(ctx)
	}
	if r.cache != nil {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	return err
}
