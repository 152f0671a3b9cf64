package plugins

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/floe-io/floe/internal/ddb"
)

// Stage is one plugin of a Chain and the configuration its instances get.
type Stage struct {
	Runtime *Runtime
	// Config is the plugin's JSON configuration; empty means {}.
	Config []byte
}

// DefaultMaxFailures is the default of ChainOptions.MaxFailures.
const DefaultMaxFailures = 64

// ChainOptions configure a Chain.
type ChainOptions struct {
	// MaxFailures bounds the failed plugin calls (traps, deadlines, bad
	// results) while one Run isolates bad items. Isolating one bad item of
	// a batch of n costs about log2(n)+1 failed calls; a plugin that fails
	// on most items would cost two per item, each up to the call deadline,
	// so past this bound Run gives up with ErrBroken instead. Default
	// DefaultMaxFailures.
	MaxFailures int
}

// ErrBroken is returned by Chain.Run when a plugin failed more often than
// ChainOptions.MaxFailures on one batch: the plugin is broken, not an item.
var ErrBroken = errors.New("plugin fails on most items")

// Chain runs batches of items through a sequence of plugins, one instance
// of each, and isolates the items at fault when a plugin fails: a failed
// call discards the instance and the batch is retried in halves on fresh
// instances until the failing items stand alone (ABI.md, "Failures").
//
// A Chain is not safe for concurrent use: give each worker its own (they
// share the Runtimes, which compile each plugin once).
type Chain struct {
	stages []Stage
	insts  []*Instance
	opts   ChainOptions
	fails  int // failed calls during the current Run
}

// NewChain returns a chain of the stages, in order. Its instances are made
// when first needed.
func NewChain(stages []Stage, opts ChainOptions) *Chain {
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = DefaultMaxFailures
	}
	return &Chain{stages: stages, insts: make([]*Instance, len(stages)), opts: opts}
}

// Outcome is what a Chain made of one input item.
type Outcome struct {
	// Items is the item's output: the input item itself when every plugin
	// passed it, nil when it was dropped or failed.
	Items []ddb.Item
	// Failure says why the item failed, or is nil.
	Failure *Failure
}

// Dropped reports whether a plugin removed the item.
func (o *Outcome) Dropped() bool { return o.Failure == nil && len(o.Items) == 0 }

// Failure is why one item failed: which plugin, and what happened.
type Failure struct {
	// Plugin is the plugin at fault.
	Plugin Info
	// Err is an *Error when the plugin's instance failed on the item
	// alone (trap, deadline, bad result), or an *ItemError when the
	// plugin failed the item itself or broke a rule of the host.
	Err error
}

// ItemError is a failure of one item that left the plugin's instance
// alive: the plugin returned an error entry for it, or its output broke a
// rule of the host (a changed key attribute).
type ItemError struct {
	Plugin  string // name and version
	Message string
}

// Error implements error.
func (e *ItemError) Error() string { return "plugin " + e.Plugin + ": " + e.Message }

// Run passes items through every stage and returns one Outcome per input
// item, in order. The items must stay valid until Run returns; the
// outcomes' items are either input items or copies the chain owns, valid
// until the chain's next Run, which reuses their memory.
//
// Run returns an error only when it cannot go on: the context ended, a
// new instance could not be made or configured, or a plugin failed more
// than ChainOptions.MaxFailures times (ErrBroken). Failures of items are
// in the outcomes.
//
// key names the attributes no plugin may change: the table key. An output
// item that lacks one of them, or holds another value than the input item,
// fails; so does a fan-out into more than one item, which would give
// several rows one key.
func (c *Chain) Run(ctx context.Context, items []ddb.Item, key []string) ([]Outcome, error) {
	return c.RunEncoded(ctx, items, nil, key)
}

// RunEncoded is Run for items whose encodings (AppendItem, back to back)
// the caller holds in enc: the first plugin gets them without encoding the
// items again. enc may be nil.
func (c *Chain) RunEncoded(ctx context.Context, items []ddb.Item, enc []byte, key []string) ([]Outcome, error) {
	for _, in := range c.insts {
		if in != nil {
			in.pool.reset()
		}
	}
	out := make([]Outcome, len(items))
	cur := items
	origin := make([]int, len(items)) // index in items of each cur item
	for i := range origin {
		origin[i] = i
	}
	c.fails = 0
	for s := range c.stages {
		if len(cur) == 0 {
			break
		}
		var stageEnc []byte
		if s == 0 {
			stageEnc = enc
		}
		rs, errs, err := c.runStage(ctx, s, cur, stageEnc)
		if err != nil {
			return nil, err
		}
		info := c.stages[s].Runtime.Info()
		next := make([]ddb.Item, 0, len(cur))
		nextOrigin := make([]int, 0, len(cur))
		for i := range rs {
			o := origin[i]
			if out[o].Failure != nil {
				continue // a sibling of a fan-out failed: the item failed
			}
			if errs[i] != nil {
				out[o].Failure = &Failure{Plugin: info, Err: errs[i]}
				continue
			}
			var produced []ddb.Item
			switch r := rs[i]; r.Status {
			case StatusPass:
				// The input item, or the output of an earlier stage,
				// whose key has been checked.
				next = append(next, cur[i])
				nextOrigin = append(nextOrigin, o)
				continue
			case StatusModified, StatusFanOut:
				produced = r.Items
			case StatusError:
				out[o].Failure = &Failure{Plugin: info, Err: &ItemError{Plugin: info.String(), Message: r.Message}}
				continue
			}
			if msg := checkKey(key, items[o], produced); msg != "" {
				out[o].Failure = &Failure{Plugin: info, Err: &ItemError{Plugin: info.String(), Message: msg}}
				continue
			}
			for _, it := range produced {
				next = append(next, it)
				nextOrigin = append(nextOrigin, o)
			}
		}
		cur, origin = next, nextOrigin
	}
	// The items of one origin sit together in cur: slice them out rather
	// than copy them.
	for i := 0; i < len(cur); {
		j := i + 1
		for j < len(cur) && origin[j] == origin[i] {
			j++
		}
		if o := &out[origin[i]]; o.Failure == nil {
			o.Items = cur[i:j:j]
		}
		i = j
	}
	return out, nil
}

// checkKey returns why produced, the output of in, breaks the key rule,
// or "".
func checkKey(key []string, in ddb.Item, produced []ddb.Item) string {
	if len(key) == 0 {
		return ""
	}
	if len(produced) > 1 {
		return fmt.Sprintf("fanned an item out into %d items, which would give %d rows the key of one (key attributes: %s)", len(produced), len(produced), strings.Join(key, ", "))
	}
	for _, it := range produced {
		for _, k := range key {
			want, got := in.Get(k), it.Get(k)
			switch {
			case want == nil:
				// The input lacks it: the host refuses the item later.
			case got == nil:
				return fmt.Sprintf("removed key attribute %q; key attributes are immutable", k)
			case !got.Equal(*want):
				return fmt.Sprintf("changed key attribute %q; key attributes are immutable", k)
			}
		}
	}
	return ""
}

// runStage runs items through stage s, bisecting around failed calls. It
// returns one Result per item, or the item's error where it failed alone.
//
// enc, when not nil, holds the items' encodings (AppendItem, back to
// back), used for the first call on the whole batch.
func (c *Chain) runStage(ctx context.Context, s int, items []ddb.Item, enc []byte) ([]Result, []error, error) {
	rs := make([]Result, len(items))
	errs := make([]error, len(items))
	var run func(lo, hi int) error
	run = func(lo, hi int) error {
		in, err := c.instance(ctx, s)
		if err != nil {
			return err
		}
		var whole []byte
		if lo == 0 && hi == len(items) {
			whole = enc
		}
		got, err := in.transformItems(ctx, items[lo:hi], whole, &in.pool)
		if err == nil {
			copy(rs[lo:hi], got)
			return nil
		}
		var pe *Error
		if !errors.As(err, &pe) || errors.Is(err, ErrCanceled) || ctx.Err() != nil {
			return err
		}
		c.discard(ctx, s)
		if c.fails++; c.fails > c.opts.MaxFailures {
			return fmt.Errorf("%w: %d failed calls on one batch of %d items, the last: %w", ErrBroken, c.fails, len(items), err)
		}
		if hi-lo == 1 {
			errs[lo] = err
			return nil
		}
		mid := lo + (hi-lo)/2
		if err := run(lo, mid); err != nil {
			return err
		}
		return run(mid, hi)
	}
	return rs, errs, run(0, len(items))
}

// instance returns stage s's live instance, making and configuring a new
// one when there is none.
func (c *Chain) instance(ctx context.Context, s int) (*Instance, error) {
	if in := c.insts[s]; in != nil && !in.Dead() {
		return in, nil
	}
	st := c.stages[s]
	in, err := st.Runtime.NewInstance(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Configure(ctx, st.Config); err != nil {
		_ = in.Close(ctx)
		return nil, err
	}
	c.insts[s] = in
	return in, nil
}

func (c *Chain) discard(ctx context.Context, s int) {
	if in := c.insts[s]; in != nil {
		_ = in.Close(context.WithoutCancel(ctx))
		c.insts[s] = nil
	}
}

// Close closes the chain's instances.
func (c *Chain) Close(ctx context.Context) {
	for s := range c.insts {
		c.discard(ctx, s)
	}
}

// Identity names a chain of stages: each plugin's name, version, module
// digest and configuration digest. Two transformers agree on what they do
// to items exactly when their identities are equal; the committer refuses
// an export whose batches disagree.
func Identity(stages []Stage) string {
	parts := make([]string, len(stages))
	for i, st := range stages {
		// Compacted, so that spacing does not tell two chains apart.
		var cfg bytes.Buffer
		if len(st.Config) == 0 || json.Compact(&cfg, st.Config) != nil {
			cfg.Reset()
			cfg.WriteString("{}")
		}
		sum := sha256.Sum256(cfg.Bytes())
		parts[i] = fmt.Sprintf("%s@%s(module %s, config %s)", st.Runtime.info.Name, st.Runtime.info.Version, st.Runtime.digest[:12], hex.EncodeToString(sum[:6]))
	}
	return strings.Join(parts, " | ")
}

// Load compiles the plugin module at path and checks that it accepts
// config, so that a wrong module or configuration is reported when floe
// starts, not at the first item. Close the Stage's Runtime when done.
func Load(ctx context.Context, path string, config []byte, opts Options) (Stage, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return Stage{}, fmt.Errorf("plugin %s: %w", path, err)
	}
	rt, err := NewRuntime(ctx, wasm, opts)
	if err != nil {
		return Stage{}, fmt.Errorf("plugin %s: %w", path, err)
	}
	st := Stage{Runtime: rt, Config: config}
	in, err := rt.NewInstance(ctx)
	if err == nil {
		err = in.Configure(ctx, config)
		_ = in.Close(ctx)
	}
	if err != nil {
		_ = rt.Close(ctx)
		return Stage{}, fmt.Errorf("plugin %s: %w", path, err)
	}
	return st, nil
}
