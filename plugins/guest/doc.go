// Package guest is the Go SDK for floe plugins: WebAssembly modules that
// transform DynamoDB items inside floe's transformers (see plugins/ABI.md
// for the contract, which this package implements completely).
//
// A plugin author writes a type implementing Plugin — Describe, Configure
// and a per-item Transform — and registers it from an init function of a
// main package:
//
//	//go:build wasip1
//
//	package main
//
//	import "github.com/floe-io/floe/plugins/guest"
//
//	func init() { guest.Register(&myPlugin{}) }
//
//	func main() {}
//
// and builds it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o my-plugin.wasm .
//
// The package holds the module's exports (abi_version, alloc, describe,
// configure, transform_batch, via //go:wasmexport, which works from any
// package linked into a module), its buffers, and the batch and result
// encodings. plugins/examples/*/go are complete plugins.
//
// # Reading items
//
// Transform receives each item as an Item: a read-only view of the batch
// the host passed in. Item and Value alias that buffer, so reading copies
// nothing; they are valid only until Transform returns. Item.Get finds an
// attribute by name, Item.Attrs iterates over all of them in order, and
// Value has an accessor per DynamoDB type: Bytes (S, N, B), Bool, Elems
// (SS, NS, BS), List (L) and Map (M). Accessors of the wrong type return
// zero values, so code checks Value.Type once and then reads.
//
// The SDK checks each batch's structure once, before any Transform, and
// records where each item's attributes are, so that views never read out
// of bounds and top-level lookups parse nothing again. A malformed batch
// (a host bug: the host guarantees canonical input) fails the whole call
// instead of reaching the plugin; see DecodeBatch.
//
// # Writing results
//
// Transform gives its verdict through *Output: Pass (the default), Drop,
// Fail with a message, Modify to replace the item, or FanOut to replace it
// by zero or more items. Modify and FanOut.Add return a Builder that
// starts from a view's attributes (or from none) and sets, replaces and
// removes attributes of every type, nesting lists and maps with
// ListBuilder and Builder. Builders reference the views and arguments they
// are given and the SDK writes the canonical encoding into one reused
// output buffer when Transform returns, so an unchanged attribute is
// copied once, straight from the input. A verdict the ABI does not allow
// (an empty item, a non-UTF-8 string, an invalid number, an empty set,
// nesting beyond MaxDepth) becomes a per-item error with a message rather
// than a result the host would reject.
//
// # Performance
//
// Transform runs for every item of every export. Avoid reflection
// (encoding/json, which is fine in Configure) and allocations on that
// path, and prefer one pass of Item.Attrs to several Item.Get calls. Every
// branch and call of a Go guest costs more in WebAssembly than natively
// (much more when the host arms wazero's deadline checks), so simple,
// straight code pays.
//
// # Testing
//
// Plugins are unit-tested natively with plain go test, without WebAssembly
// or a host: Run and Runner run a Plugin through the same code as the
// exports, taking items as DynamoDB JSON and returning an Outcome per
// item, and check every result as strictly as the host does. RunBatch
// works on the binary encodings; EncodeBatch and DecodeResults convert.
package guest
