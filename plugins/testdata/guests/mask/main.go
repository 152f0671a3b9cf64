//go:build wasip1

// Command mask is the test guest of package plugins: a floe plugin (ABI
// version 1, see plugins/ABI.md) written in Go without encoding/json.
//
// Build it as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mask.wasm .
//
// Configuration: {"attribute":"email"}, optionally with "status":"<name>"
// to read the behaviour from another attribute than "status" (so that the
// stages of a chain can be told apart). For every item of a batch, by the
// S value of its status attribute:
//
//	DROP     drop the item
//	ERROR    fail the item with a message
//	SPLIT    fan out into two copies, each with an extra N attribute "part" (1, 2)
//	TRAP     panic (the Go runtime exits the module: a trap for the host)
//	LOOP     loop forever (the host's deadline must stop it)
//	OOM      allocate memory until the memory cap is hit
//	GARBAGE  return a result pointer outside memory
//	BADBYTES return a malformed result
//	OPEN     try to read /etc/passwd and fail the item with what happened:
//	         "open failed: <error>" (the sandbox has no files), or
//	         "read succeeded: <the file's first bytes>" (a sandbox escape)
//	HUGE     keep the item with an extra S attribute "huge" of 128 KiB, for
//	         a result larger than a small Options.MaxResultBytes
//
// Otherwise an item whose configured attribute is an S value is kept with
// that value replaced by "***", and any other item passes unchanged.
package main

import (
	"syscall"
	"unsafe"
)

func main() {}

var (
	inBuf     []byte             // the buffer handed out by alloc
	outBuf    []byte             // the last result, valid until the next call
	attribute []byte             // configured attribute name
	statusAt  = []byte("status") // configured status attribute name
	errBuf    []byte             // the last configure error message
	hog       [][]byte           // memory held by OOM
)

var describeJSON = []byte(`{"name":"mask","version":"1.0.0","parameters":{"type":"object","properties":{"attribute":{"type":"string","description":"name of the S attribute to mask"},"status":{"type":"string","description":"name of the S attribute that selects a test behaviour (default status)"}},"required":["attribute"],"additionalProperties":false}}`)

// pack returns b's address and length as the ABI's ptr<<32|len.
func pack(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}

//go:wasmexport abi_version
func abiVersion() uint32 { return 1 }

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	if uint32(cap(inBuf)) < n {
		inBuf = make([]byte, n)
	}
	inBuf = inBuf[:n]
	if n == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(inBuf))))
}

//go:wasmexport describe
func describe() uint64 { return pack(describeJSON) }

//go:wasmexport configure
func configure(ptr, n uint32) uint64 {
	// The ABI passes back the buffer of the latest alloc.
	cfg := inBuf[:n]
	name, ok := stringField(cfg, "attribute")
	if !ok || len(name) == 0 {
		errBuf = append(errBuf[:0], `config needs {"attribute":"<name>"} (a non-empty string without escapes)`...)
		return pack(errBuf)
	}
	attribute = append([]byte(nil), name...)
	statusAt = []byte("status")
	if name, ok := stringField(cfg, "status"); ok && len(name) > 0 {
		statusAt = append([]byte(nil), name...)
	}
	return 0
}

// stringField finds "key": "value" in a flat JSON object. It is a tiny
// hand decoder: enough for this plugin's config, no escapes.
func stringField(js []byte, key string) ([]byte, bool) {
	pat := `"` + key + `"`
	for i := 0; i+len(pat) <= len(js); i++ {
		if string(js[i:i+len(pat)]) != pat {
			continue
		}
		j := skipSpace(js, i+len(pat))
		if j >= len(js) || js[j] != ':' {
			continue
		}
		j = skipSpace(js, j+1)
		if j >= len(js) || js[j] != '"' {
			return nil, false
		}
		for k := j + 1; k < len(js); k++ {
			switch js[k] {
			case '\\':
				return nil, false
			case '"':
				return js[j+1 : k], true
			}
		}
		return nil, false
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func uvarint(b []byte, p int) (int, int) {
	var v, s uint
	for {
		c := b[p]
		p++
		v |= uint(c&0x7f) << s
		if c < 0x80 {
			return int(v), p
		}
		s += 7
	}
}

func appendUvarint(b []byte, v int) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// skipValue returns the offset just past the value (tag and payload) at p.
func skipValue(b []byte, p int) int {
	tag := b[p]
	p++
	var n int
	switch tag {
	case 1, 2, 3: // S N B
		n, p = uvarint(b, p)
		return p + n
	case 4: // BOOL
		return p + 1
	case 5: // NULL
		return p
	case 6, 7, 8: // SS NS BS
		n, p = uvarint(b, p)
		for ; n > 0; n-- {
			var l int
			l, p = uvarint(b, p)
			p += l
		}
		return p
	case 9: // L
		n, p = uvarint(b, p)
		for ; n > 0; n-- {
			p = skipValue(b, p)
		}
		return p
	case 10: // M
		n, p = uvarint(b, p)
		for ; n > 0; n-- {
			var l int
			l, p = uvarint(b, p)
			p = skipValue(b, p+l)
		}
		return p
	}
	panic("unknown type tag")
}

// readPasswd tries to read /etc/passwd the way os.Open does (package os
// itself would make the module, and every test's compilation, a third
// larger) and says what happened.
func readPasswd() string {
	fd, err := syscall.Open("/etc/passwd", syscall.O_RDONLY, 0)
	if err != nil {
		return "open failed: open /etc/passwd: " + err.Error()
	}
	defer syscall.Close(fd)
	var b [64]byte
	n, err := syscall.Read(fd, b[:])
	if err != nil {
		return "open succeeded, read failed: " + err.Error()
	}
	for i := range b[:n] {
		if b[i] >= 0x80 || b[i] < 0x20 {
			b[i] = '?' // keep the message UTF-8
		}
	}
	return "read succeeded: " + string(b[:n])
}

//go:wasmexport transform_batch
func transformBatch(ptr, n uint32) uint64 {
	in := inBuf[:n]
	out := outBuf[:0]
	count, p := uvarint(in, 0)
	out = appendUvarint(out, count)
	for ; count > 0; count-- {
		start := p
		var nattrs int
		nattrs, p = uvarint(in, p)
		attrsStart := p
		maskStart, maskEnd := -1, -1
		var status []byte
		for a := 0; a < nattrs; a++ {
			var l int
			l, p = uvarint(in, p)
			name := in[p : p+l]
			p += l
			valStart := p
			p = skipValue(in, p)
			if in[valStart] != 1 { // only S values matter here
				continue
			}
			switch {
			case string(name) == string(statusAt):
				sl, sp := uvarint(in, valStart+1)
				status = in[sp : sp+sl]
			case string(name) == string(attribute):
				maskStart, maskEnd = valStart+1, p
			}
		}
		switch string(status) {
		case "DROP":
			out = append(out, 2)
		case "ERROR":
			msg := "status is ERROR"
			out = append(out, 3)
			out = appendUvarint(out, len(msg))
			out = append(out, msg...)
		case "SPLIT":
			out = append(out, 4, 2)
			for part := byte('1'); part <= '2'; part++ {
				out = appendUvarint(out, nattrs+1)
				out = append(out, in[attrsStart:p]...)
				out = append(out, 4, 'p', 'a', 'r', 't', 2, 1, part)
			}
		case "TRAP":
			panic("mask: TRAP requested")
		case "LOOP":
			for {
			}
		case "OOM":
			for {
				hog = append(hog, make([]byte, 1<<20))
			}
		case "GARBAGE":
			return 0xFFFF_FF00<<32 | 0x100
		case "OPEN":
			msg := readPasswd()
			out = append(out, 3)
			out = appendUvarint(out, len(msg))
			out = append(out, msg...)
		case "HUGE":
			const size = 128 << 10
			out = append(out, 1)
			out = appendUvarint(out, nattrs+1)
			out = append(out, in[attrsStart:p]...)
			out = append(out, 4, 'h', 'u', 'g', 'e', 1)
			out = appendUvarint(out, size)
			for i := 0; i < size; i++ {
				out = append(out, 'x')
			}
		case "BADBYTES":
			outBuf = append(outBuf[:0], 1, 0xFF, 0xFF)
			return pack(outBuf)
		default:
			if maskStart < 0 {
				out = append(out, 0)
				continue
			}
			out = append(out, 1)
			out = append(out, in[start:maskStart]...)
			out = append(out, 3, '*', '*', '*')
			out = append(out, in[maskEnd:p]...)
		}
	}
	outBuf = out
	return pack(out)
}
