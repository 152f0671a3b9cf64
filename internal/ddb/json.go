package ddb

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// JSONDecoder decodes lines of DYNAMODB_JSON exports.
//
// It is built for the transformer's hot path: it holds a reusable parser
// and arena, so a stream of similar lines decodes with no allocation per
// item. In exchange the Record it returns, and every slice inside it, is
// valid only until the next call to Decode. A JSONDecoder is not safe for
// concurrent use; give each goroutine its own.
type JSONDecoder struct {
	s   slots
	p   *fastjson.Parser // of the current slot
	a   *arena           // of the current slot
	idx []int32
}

// NewJSONDecoder returns a decoder for DynamoDB JSON export lines.
func NewJSONDecoder() *JSONDecoder {
	return &JSONDecoder{}
}

// Decode decodes one line: a full export line {"Item":{...}} or an
// incremental one {"Metadata":{...},"Keys":{...},"OldImage":{...},
// "NewImage":{...}}. Errors are *DecodeError; a blank line gives one that
// wraps ErrNoRecord.
func (d *JSONDecoder) Decode(line []byte) (Record, error) {
	rec, err := d.decode(line)
	return rec, asError(err)
}

// Keep implements Decoder.
func (d *JSONDecoder) Keep() { d.s.keep() }

// Release implements Decoder.
func (d *JSONDecoder) Release() { d.s.release() }

func (d *JSONDecoder) decode(line []byte) (Record, *DecodeError) {
	sl := d.s.next(len(line))
	d.p, d.a = &sl.p, &sl.a
	if blank(line) {
		return Record{}, noRecord("line is blank")
	}
	// fastjson does not check encoding, and JSON text is UTF-8 by
	// definition; checking here means every string we hand out is valid.
	if !utf8.Valid(line) {
		return Record{}, errorf("line is not valid UTF-8")
	}
	// fastjson keeps malformed escapes and raw control characters inside
	// strings as they are instead of failing. Only lines with a backslash
	// or a control byte can hold either, and DynamoDB writes few of them,
	// so the full validation pass is paid only there.
	if bytes.IndexByte(line, '\\') >= 0 || hasControl(line) {
		if err := fastjson.ValidateBytes(line); err != nil {
			return Record{}, &DecodeError{Msg: "line is not valid JSON", Err: err}
		}
	}
	v, err := d.p.ParseBytes(line)
	if err != nil {
		return Record{}, &DecodeError{Msg: "line is not valid JSON", Err: err}
	}
	o, err := v.Object()
	if err != nil {
		return Record{}, errorf("line is a JSON %s, not an object", v.Type())
	}
	var p lineParts
	var derr *DecodeError
	o.Visit(func(k []byte, fv *fastjson.Value) {
		if derr != nil {
			return
		}
		switch string(k) {
		case partItem:
			derr = d.part(&p.rec.Item, partItem, fv)
		case partKeys:
			derr = d.part(&p.rec.Keys, partKeys, fv)
		case partOld:
			derr = d.part(&p.rec.OldImage, partOld, fv)
		case partNew:
			derr = d.part(&p.rec.NewImage, partNew, fv)
		case partMetadata:
			if p.hasMeta {
				derr = duplicatePart(partMetadata)
				return
			}
			p.hasMeta = true
			p.rec.WriteTimestampMicros, derr = d.metadata(fv)
		default:
			derr = unknownPart(k)
		}
	})
	if derr != nil {
		return Record{}, derr
	}
	if derr = checkRecord(&p); derr != nil {
		return Record{}, derr
	}
	return p.rec, nil
}

// part decodes the Item, Keys or an image into *dst.
func (d *JSONDecoder) part(dst *Item, name string, v *fastjson.Value) *DecodeError {
	if *dst != nil {
		return duplicatePart(name)
	}
	o, err := v.Object()
	if err != nil {
		return &DecodeError{Part: name, Msg: fmt.Sprintf("%q must be a JSON object, not %s", name, v.Type())}
	}
	if o.Len() == 0 {
		return emptyPart(name)
	}
	attrs, derr := d.attrs(o, 1)
	if derr != nil {
		derr.Part = name
		return derr
	}
	*dst = attrs
	return nil
}

// metadata decodes {"WriteTimestampMicros":{"N":"..."}}. Other metadata
// fields are ignored: they describe the change, not the item, so a future
// addition by DynamoDB must not fail every export.
func (d *JSONDecoder) metadata(v *fastjson.Value) (int64, *DecodeError) {
	o, err := v.Object()
	if err != nil {
		return 0, &DecodeError{Part: partMetadata, Msg: fmt.Sprintf(`"Metadata" must be a JSON object, not %s`, v.Type())}
	}
	tv := o.Get("WriteTimestampMicros")
	if tv == nil {
		return 0, &DecodeError{Part: partMetadata, Msg: `"Metadata" has no "WriteTimestampMicros"`}
	}
	var ts Value
	if derr := d.value(&ts, tv, 1); derr != nil {
		derr.Part = partMetadata
		return 0, derr.inField([]byte("WriteTimestampMicros"))
	}
	return metadataValue(&ts)
}

// attrs decodes the attributes of an item or M value whose values sit at
// nesting level depth.
func (d *JSONDecoder) attrs(o *fastjson.Object, depth int) ([]Attr, *DecodeError) {
	attrs := d.a.attributes(o.Len())
	i := 0
	var derr *DecodeError
	o.Visit(func(k []byte, v *fastjson.Value) {
		if derr != nil {
			return
		}
		at := &attrs[i]
		i++
		if len(k) == 0 {
			derr = errorf("attribute name is empty")
			return
		}
		at.Name = k
		if derr = d.value(&at.Value, v, depth); derr != nil {
			derr.inField(k)
		}
	})
	if derr == nil {
		derr = checkNames(attrs, &d.idx)
	}
	return attrs, derr
}

// value decodes one attribute value {"<tag>": ...} into *dst. depth is the
// nesting level of the value: 1 for a top-level attribute.
func (d *JSONDecoder) value(dst *Value, v *fastjson.Value, depth int) *DecodeError {
	o, err := v.Object()
	if err != nil {
		return errorf("value must be a JSON object with one type tag such as {\"S\": \"...\"}, not %s", v.Type())
	}
	if n := o.Len(); n != 1 {
		if n == 0 {
			return errorf("value has no type tag (want one of %s)", typeTags)
		}
		return errorf("value has %d type tags (want exactly one of %s)", n, typeTags)
	}
	var tag []byte
	var tv *fastjson.Value
	o.Visit(func(k []byte, v *fastjson.Value) { tag, tv = k, v })

	switch string(tag) {
	case "S":
		b, err := tv.StringBytes()
		if err != nil {
			return wrongJSON("S", "a JSON string", tv)
		}
		*dst = Value{Kind: S, Bytes: b}
	case "N":
		b, err := tv.StringBytes()
		if err != nil {
			return wrongJSON("N", "a JSON string", tv)
		}
		if !ValidNumber(b) {
			return errorf("N value %q is not a number", b)
		}
		*dst = Value{Kind: N, Bytes: b}
	case "B":
		b, derr := d.binary(tv, "B value")
		if derr != nil {
			return derr
		}
		*dst = Value{Kind: B, Bytes: b}
	case "BOOL":
		switch tv.Type() {
		case fastjson.TypeTrue:
			*dst = Value{Kind: BOOL, Bool: true}
		case fastjson.TypeFalse:
			*dst = Value{Kind: BOOL}
		default:
			return wrongJSON("BOOL", "true or false", tv)
		}
	case "NULL":
		switch tv.Type() {
		case fastjson.TypeTrue:
			*dst = Value{Kind: NULL}
		case fastjson.TypeFalse:
			return errorf("NULL value must be true, not false")
		default:
			return wrongJSON("NULL", "true", tv)
		}
	case "SS":
		return d.set(dst, SS, tv)
	case "NS":
		return d.set(dst, NS, tv)
	case "BS":
		return d.set(dst, BS, tv)
	case "L":
		if depth > MaxDepth {
			return tooDeep()
		}
		arr, err := tv.Array()
		if err != nil {
			return wrongJSON("L", "a JSON array", tv)
		}
		list := d.a.values(len(arr))
		for i, e := range arr {
			if derr := d.value(&list[i], e, depth+1); derr != nil {
				return derr.inIndex(i)
			}
		}
		*dst = Value{Kind: L, List: list}
	case "M":
		if depth > MaxDepth {
			return tooDeep()
		}
		mo, err := tv.Object()
		if err != nil {
			return wrongJSON("M", "a JSON object", tv)
		}
		attrs, derr := d.attrs(mo, depth+1)
		if derr != nil {
			return derr
		}
		*dst = Value{Kind: M, Map: attrs}
	default:
		return errorf("unknown type tag %q (want one of %s)", tag, typeTags)
	}
	return nil
}

// set decodes the elements of an SS, NS or BS value.
func (d *JSONDecoder) set(dst *Value, k Kind, v *fastjson.Value) *DecodeError {
	arr, err := v.Array()
	if err != nil {
		return wrongJSON(k.String(), "a JSON array", v)
	}
	if len(arr) == 0 {
		return emptySet(k)
	}
	list := d.a.values(len(arr))
	for i, e := range arr {
		b, err := e.StringBytes()
		if err != nil {
			return wrongJSON(k.String()+" element", "a JSON string", e).inIndex(i)
		}
		switch k {
		case SS:
			list[i] = Value{Kind: S, Bytes: b}
		case NS:
			if !ValidNumber(b) {
				return errorf("NS element %q is not a number", b).inIndex(i)
			}
			list[i] = Value{Kind: N, Bytes: b}
		case BS:
			bb, derr := d.binary(e, "BS element")
			if derr != nil {
				return derr.inIndex(i)
			}
			list[i] = Value{Kind: B, Bytes: bb}
		}
	}
	*dst = Value{Kind: k, List: list}
	return nil
}

// binary decodes a base64 JSON string into the arena.
func (d *JSONDecoder) binary(v *fastjson.Value, what string) ([]byte, *DecodeError) {
	src, err := v.StringBytes()
	if err != nil {
		return nil, wrongJSON(what, "a base64 JSON string", v)
	}
	if len(src) == 0 {
		return nil, nil
	}
	dst := d.a.alloc(base64.StdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(dst, src)
	if err != nil {
		return nil, &DecodeError{Msg: what + " is not valid base64", Err: err}
	}
	return dst[:n:n], nil
}

func wrongJSON(what, want string, v *fastjson.Value) *DecodeError {
	got := v.Type().String()
	switch v.Type() {
	case fastjson.TypeTrue, fastjson.TypeFalse, fastjson.TypeNull:
		got = "JSON " + got
	default:
		got = "a JSON " + got
	}
	return errorf("%s must be %s, not %s", what, want, got)
}

func emptySet(k Kind) *DecodeError {
	return errorf("%s value is an empty set (DynamoDB sets have at least one element)", k)
}

func tooDeep() *DecodeError {
	return errorf("value is nested deeper than DynamoDB's limit of %d levels", MaxDepth)
}

// hasControl reports whether b holds a byte below 0x20, eight bytes at a
// time: (x - 0x20…) borrows into a byte's top bit only where that byte is
// below 0x20, and & ^x drops bytes that had the top bit set already.
func hasControl(b []byte) bool {
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		if (x-lo)&^x&hi != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}
