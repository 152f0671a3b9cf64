package plugins

import (
	"errors"
	"fmt"
)

// Kinds of plugin failure, for errors.Is on an *Error.
var (
	// ErrTrap: the guest trapped (unreachable, out-of-bounds access, stack
	// overflow, ...), exited (proc_exit, e.g. a Go panic or out of memory)
	// or could not grow its memory within the cap.
	ErrTrap = errors.New("plugin trapped")
	// ErrTimeout: a call ran past its deadline (Options.Timeout).
	ErrTimeout = errors.New("plugin call exceeded its deadline")
	// ErrCanceled: the caller's context was canceled during a call.
	ErrCanceled = errors.New("plugin call canceled")
	// ErrBadResult: the guest returned something the ABI does not allow: a
	// pointer or length outside its memory, a result larger than
	// Options.MaxResultBytes, or bytes that do not decode.
	ErrBadResult = errors.New("plugin returned a bad result")
	// ErrConfig: configure refused the configuration.
	ErrConfig = errors.New("plugin refused its configuration")
	// ErrDead: the instance failed before and must be replaced.
	ErrDead = errors.New("plugin instance is dead")
)

// Error is a failed call into a plugin instance. After any Error the
// instance is dead: every later call returns ErrDead, and the caller should
// Close it and make a new one with Runtime.NewInstance.
type Error struct {
	// Plugin is the plugin's name and version from describe, e.g.
	// "mask 1.0.0".
	Plugin string
	// Op is the exported function or step that failed: "alloc",
	// "configure", "transform_batch", ...
	Op string
	// Kind is one of ErrTrap, ErrTimeout, ErrCanceled, ErrBadResult,
	// ErrConfig.
	Kind error
	// Err is the underlying error (wazero's, or a *DecodeError), or nil.
	Err error
	// Stderr is the start and the end (4 KiB in all) of what the guest
	// wrote to stdout and stderr during the call: a Go guest's panic
	// message, for example. Error() shows its first 512 bytes.
	Stderr string
}

// Error implements error.
func (e *Error) Error() string {
	msg := fmt.Sprintf("plugin %s: %s: %v", e.Plugin, e.Op, e.Kind)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if out := e.Stderr; out != "" {
		if len(out) > 512 {
			out = out[:512] + "…"
		}
		msg += fmt.Sprintf(" (guest output: %q)", out)
	}
	return msg
}

// Unwrap returns Kind and Err, so that errors.Is(err, ErrTrap) and
// errors.As(err, &decodeErr) both work.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
