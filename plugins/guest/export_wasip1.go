//go:build wasip1

//lint:file-ignore U1000 the host calls these through //go:wasmexport, which staticcheck does not see.

package guest

import (
	"os"
	"unsafe"
)

// The ABI's exports (ABI.md section 2). //go:wasmexport works in any
// package linked into the module, so a plugin's main package only imports
// this one and calls Register. The Go runtime's _initialize export (from
// -buildmode=c-shared) runs the package inits, hence Register.

var (
	inBuf  []byte // the one buffer alloc hands out, reused
	errBuf []byte // the last configure error, valid until the next call
)

//go:wasmexport abi_version
func abiVersion() uint32 { return 1 }

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	if uint64(cap(inBuf)) < uint64(n) {
		inBuf = make([]byte, n)
	}
	inBuf = inBuf[:n]
	if n == 0 {
		// The host never asks for 0 bytes; 0 tells it something is wrong.
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(inBuf))))
}

// input returns the buffer the host filled, after checking that (ptr, n)
// is the one alloc handed out, as the ABI promises.
func input(ptr, n uint32) ([]byte, bool) {
	if n == 0 || uint64(n) > uint64(len(inBuf)) || ptr != uint32(uintptr(unsafe.Pointer(unsafe.SliceData(inBuf)))) {
		return nil, false
	}
	return inBuf[:n], true
}

// pack returns b's address and length as the ABI's ptr<<32|len.
func pack(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}

func plugin() *runner {
	if registered == nil {
		panic("guest: no plugin registered: call guest.Register from an init function of package main")
	}
	return registered
}

//go:wasmexport describe
func describe() uint64 { return pack(plugin().describe) }

//go:wasmexport configure
func configure(ptr, n uint32) uint64 {
	r := plugin()
	cfg, ok := input(ptr, n)
	var msg string
	if !ok {
		msg = "guest: configure was not passed the buffer of the last alloc"
	} else if err := r.configure(cfg); err != nil {
		msg = err.Error()
		if msg == "" {
			msg = "configuration refused"
		}
	} else {
		return 0
	}
	errBuf = append(errBuf[:0], msg...)
	return pack(errBuf)
}

//go:wasmexport transform_batch
func transformBatch(ptr, n uint32) uint64 {
	r := plugin()
	batch, ok := input(ptr, n)
	if !ok {
		return badCall("transform_batch was not passed the buffer of the last alloc")
	}
	out, err := r.transform(batch)
	if err != nil {
		return badCall(err.Error())
	}
	return pack(out)
}

// badCall fails the whole call without trapping: it writes msg to stderr,
// which the host attaches to its error, and returns an empty result, which
// the host rejects as a bad result (a result holds at least its entry
// count). The host then discards the instance and retries the batch.
func badCall(msg string) uint64 {
	os.Stderr.WriteString("floe guest SDK: " + msg + "\n")
	return 0
}
