// Package plugins is the host side of floe's WebAssembly plugins: per-item
// transforms that teams write in any language compiled to WebAssembly and
// that floe's transformers run under wazero.
//
// The contract between host and guest, ABI version 1, is specified in
// ABI.md next to this file. This package implements it:
//
//   - AppendBatch, AppendItem and AppendResults write the binary formats;
//     DecodeBatch and DecodeResults read them back with strict bounds checks
//     (a guest's output is untrusted).
//   - Runtime compiles a plugin once (optionally with an on-disk
//     compilation cache), checks its imports, exports and abi_version, and
//     creates Instances.
//   - Instance is one sandboxed instantiation of the plugin, used by one
//     goroutine: Configure once, then TransformBatch once per batch.
//
// A trap, a missed deadline or a malformed result returns an *Error and
// leaves the Instance dead: the caller closes it and makes a new one.
package plugins
