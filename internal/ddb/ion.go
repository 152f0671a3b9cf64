package ddb

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/amazon-ion/ion-go/ion"
)

// IonDecoder decodes lines of ION exports, each an Ion text value such as
// {Item:{pk:"a",n:1.5,tags:$dynamodb_SS::["x"]}}, possibly preceded by the
// $ion_1_0 version marker.
//
// Like JSONDecoder it reuses its memory: the Record it returns is valid only
// until the next call to Decode, and it is not safe for concurrent use. The
// Ion reader itself allocates per value, so it is slower than JSONDecoder;
// DYNAMODB_JSON is the format to pick for throughput.
type IonDecoder struct {
	s   slots
	a   *arena // of the current slot
	src bytes.Reader
	buf *bufio.Reader

	// Stacks of the list elements and map entries being read: Ion gives no
	// count up front, so each container's children are gathered here and
	// copied into the arena as one slice when the container ends.
	vals  []Value
	attrs []Attr

	num  []byte
	idx  []int32
	line []byte
}

// NewIonDecoder returns a decoder for ION export lines.
func NewIonDecoder() *IonDecoder {
	// ion.NewReaderCat wraps its input in a bufio.Reader of the default
	// size unless it already is one that large; handing it ours, reset per
	// line, spares a 4 KiB allocation per line.
	return &IonDecoder{buf: bufio.NewReaderSize(nil, 4096)}
}

// Decode decodes one line: {Item:{...}} for a full export, or
// {Metadata:{WriteTimestampMicros:...},Keys:{...},OldImage:{...},
// NewImage:{...}} for an incremental one. Errors are *DecodeError; a blank
// line, or one with only the version marker, gives one that wraps
// ErrNoRecord.
func (d *IonDecoder) Decode(line []byte) (rec Record, err error) {
	defer func() {
		// The Ion reader is a third-party parser fed untrusted bytes; a
		// panic in it must fail the line, not the transformer.
		if p := recover(); p != nil {
			rec, err = Record{}, &DecodeError{Msg: "line is not valid Ion", Err: fmt.Errorf("the Ion reader failed: %v", p)}
		}
	}()
	rec, derr := d.decode(line)
	return rec, asError(derr)
}

// Keep implements Decoder.
func (d *IonDecoder) Keep() { d.s.keep() }

// Release implements Decoder.
func (d *IonDecoder) Release() { d.s.release() }

func (d *IonDecoder) decode(line []byte) (Record, *DecodeError) {
	d.a = &d.s.next(len(line)).a
	d.vals, d.attrs = d.vals[:0], d.attrs[:0]
	if blank(line) {
		return Record{}, noRecord("line is blank")
	}
	// Ion text is UTF-8; checking up front also keeps binary Ion, which the
	// reader would otherwise switch to, out.
	if !utf8.Valid(line) {
		return Record{}, errorf("line is not valid UTF-8")
	}
	if bytes.Contains(line, []byte(`\u`)) {
		d.line = joinSurrogates(d.line[:0], line)
		line = d.line
	}
	d.src.Reset(line)
	d.buf.Reset(&d.src)
	r := ion.NewReaderCat(d.buf, nil)

	var p lineParts
	seen := false
	for r.Next() {
		if !seen && isVersionMarker(r) {
			continue
		}
		if seen {
			return Record{}, errorf("line holds more than one Ion value")
		}
		seen = true
		if derr := d.record(r, &p); derr != nil {
			if err := r.Err(); err != nil {
				return Record{}, syntaxError(err)
			}
			return Record{}, derr
		}
	}
	if err := r.Err(); err != nil {
		return Record{}, syntaxError(err)
	}
	if !seen {
		return Record{}, noRecord("line holds no Ion value")
	}
	if derr := checkRecord(&p); derr != nil {
		return Record{}, derr
	}
	return p.rec, nil
}

func syntaxError(err error) *DecodeError {
	return &DecodeError{Msg: "line is not valid Ion", Err: err}
}

// errStop reports that the reader failed; decode replaces it with the
// reader's own error, so its text is rarely seen.
func errStop() *DecodeError { return &DecodeError{Msg: "Ion reader failed"} }

// isVersionMarker reports whether the reader is on $ion_1_0, which the
// text reader hands out as an ordinary symbol.
func isVersionMarker(r ion.Reader) bool {
	if r.Type() != ion.SymbolType || r.IsNull() {
		return false
	}
	if anns, _ := r.Annotations(); len(anns) > 0 {
		return false
	}
	sym, err := r.SymbolValue()
	return err == nil && sym != nil && sym.Text != nil && *sym.Text == "$ion_1_0"
}

// record reads the line's top-level struct into p.
func (d *IonDecoder) record(r ion.Reader, p *lineParts) *DecodeError {
	if r.Type() != ion.StructType || r.IsNull() {
		return errorf("line is an Ion %s, not a struct", ionTypeName(r))
	}
	if err := r.StepIn(); err != nil {
		return errStop()
	}
	for r.Next() {
		name, derr := fieldName(r)
		if derr != nil {
			return derr
		}
		switch name {
		case partItem:
			derr = d.part(r, &p.rec.Item, partItem)
		case partKeys:
			derr = d.part(r, &p.rec.Keys, partKeys)
		case partOld:
			derr = d.part(r, &p.rec.OldImage, partOld)
		case partNew:
			derr = d.part(r, &p.rec.NewImage, partNew)
		case partMetadata:
			if p.hasMeta {
				return duplicatePart(partMetadata)
			}
			p.hasMeta = true
			p.rec.WriteTimestampMicros, derr = d.metadata(r)
		default:
			derr = unknownPart([]byte(name))
		}
		if derr != nil {
			return derr
		}
	}
	if r.Err() != nil || r.StepOut() != nil {
		return errStop()
	}
	return nil
}

func fieldName(r ion.Reader) (string, *DecodeError) {
	fn, err := r.FieldName()
	if err != nil {
		return "", errStop()
	}
	if fn == nil {
		return "", errorf("struct field has no name")
	}
	if fn.Text == nil {
		return "", errorf("struct field name $%d has no text (is it from a shared symbol table the line imports?)", fn.LocalSID)
	}
	return *fn.Text, nil
}

// ionTypeName names the reader's current value for messages, telling
// typed nulls apart.
func ionTypeName(r ion.Reader) string {
	if r.IsNull() && r.Type() != ion.NullType {
		return "null." + r.Type().String()
	}
	return r.Type().String()
}

// part decodes the Item, Keys or an image into *dst.
func (d *IonDecoder) part(r ion.Reader, dst *Item, name string) *DecodeError {
	if *dst != nil {
		return duplicatePart(name)
	}
	if r.Type() != ion.StructType || r.IsNull() {
		return &DecodeError{Part: name, Msg: fmt.Sprintf("%q must be an Ion struct, not %s", name, ionTypeName(r))}
	}
	attrs, derr := d.structAttrs(r, 1)
	if derr != nil {
		derr.Part = name
		return derr
	}
	if len(attrs) == 0 {
		return emptyPart(name)
	}
	*dst = attrs
	return nil
}

// metadata reads {WriteTimestampMicros:n}, ignoring other fields like the
// JSON decoder does.
func (d *IonDecoder) metadata(r ion.Reader) (int64, *DecodeError) {
	if r.Type() != ion.StructType || r.IsNull() {
		return 0, &DecodeError{Part: partMetadata, Msg: fmt.Sprintf(`"Metadata" must be an Ion struct, not %s`, ionTypeName(r))}
	}
	if err := r.StepIn(); err != nil {
		return 0, errStop()
	}
	var ts Value
	found := false
	for r.Next() {
		name, derr := fieldName(r)
		if derr != nil {
			return 0, derr
		}
		if name != "WriteTimestampMicros" {
			continue
		}
		if found {
			return 0, &DecodeError{Part: partMetadata, Msg: `"Metadata" has "WriteTimestampMicros" more than once`}
		}
		found = true
		if derr := d.value(r, &ts, 1); derr != nil {
			derr.Part = partMetadata
			return 0, derr.inField([]byte(name))
		}
	}
	if r.Err() != nil || r.StepOut() != nil {
		return 0, errStop()
	}
	if !found {
		return 0, &DecodeError{Part: partMetadata, Msg: `"Metadata" has no "WriteTimestampMicros"`}
	}
	return metadataValue(&ts)
}

// structAttrs reads the fields of the struct the reader is on, whose values
// sit at nesting level depth.
func (d *IonDecoder) structAttrs(r ion.Reader, depth int) ([]Attr, *DecodeError) {
	if err := r.StepIn(); err != nil {
		return nil, errStop()
	}
	base := len(d.attrs)
	for r.Next() {
		name, derr := fieldName(r)
		if derr != nil {
			return nil, derr
		}
		if name == "" {
			return nil, errorf("attribute name is empty")
		}
		nb := d.a.copyString(name)
		var v Value
		if derr := d.value(r, &v, depth); derr != nil {
			return nil, derr.inField(nb)
		}
		d.attrs = append(d.attrs, Attr{Name: nb, Value: v})
	}
	if r.Err() != nil || r.StepOut() != nil {
		return nil, errStop()
	}
	attrs := d.a.attributes(len(d.attrs) - base)
	copy(attrs, d.attrs[base:])
	d.attrs = d.attrs[:base]
	return attrs, checkNames(attrs, &d.idx)
}

// value decodes the value the reader is on into *dst; depth is its nesting
// level, 1 for a top-level attribute.
func (d *IonDecoder) value(r ion.Reader, dst *Value, depth int) *DecodeError {
	anns, err := r.Annotations()
	if err != nil {
		return errStop()
	}
	if len(anns) > 0 {
		return d.annotated(r, dst, anns)
	}
	if r.IsNull() {
		if r.Type() == ion.NullType {
			*dst = Value{Kind: NULL}
			return nil
		}
		return errorf("Ion %s is not a DynamoDB value (NULL is written null)", ionTypeName(r))
	}
	switch r.Type() {
	case ion.StringType:
		s, err := r.StringValue()
		if err != nil || s == nil {
			return errStop()
		}
		*dst = Value{Kind: S, Bytes: d.a.copyString(*s)}
	case ion.IntType, ion.DecimalType:
		b, derr := d.number(r)
		if derr != nil {
			return derr
		}
		*dst = Value{Kind: N, Bytes: b}
	case ion.BoolType:
		b, err := r.BoolValue()
		if err != nil || b == nil {
			return errStop()
		}
		*dst = Value{Kind: BOOL, Bool: *b}
	case ion.BlobType:
		b, err := r.ByteValue()
		if err != nil {
			return errStop()
		}
		*dst = Value{Kind: B, Bytes: d.a.copyBytes(b)}
	case ion.ListType:
		if depth > MaxDepth {
			return tooDeep()
		}
		list, derr := d.list(r, depth)
		if derr != nil {
			return derr
		}
		*dst = Value{Kind: L, List: list}
	case ion.StructType:
		if depth > MaxDepth {
			return tooDeep()
		}
		attrs, derr := d.structAttrs(r, depth+1)
		if derr != nil {
			return derr
		}
		*dst = Value{Kind: M, Map: attrs}
	case ion.FloatType:
		return errorf("Ion float is not a DynamoDB number (ION exports write numbers as decimals such as 1.5 or 15d-1)")
	default:
		return errorf("Ion %s is not a DynamoDB type", r.Type())
	}
	return nil
}

// annotated decodes a set: DynamoDB's only use of annotations.
func (d *IonDecoder) annotated(r ion.Reader, dst *Value, anns []ion.SymbolToken) *DecodeError {
	var text string
	if anns[0].Text != nil {
		text = *anns[0].Text
	}
	k := KindInvalid
	switch text {
	case "$dynamodb_SS":
		k = SS
	case "$dynamodb_NS":
		k = NS
	case "$dynamodb_BS":
		k = BS
	}
	if k == KindInvalid || len(anns) > 1 {
		return errorf("unexpected Ion annotation %s (DynamoDB only writes $dynamodb_SS::, $dynamodb_NS:: or $dynamodb_BS:: before a list)", annotationText(anns))
	}
	if r.Type() != ion.ListType || r.IsNull() {
		return errorf("%s:: must annotate a list, not %s", text, ionTypeName(r))
	}
	if err := r.StepIn(); err != nil {
		return errStop()
	}
	base := len(d.vals)
	for i := 0; r.Next(); i++ {
		if a, err := r.Annotations(); err != nil || len(a) > 0 {
			if err != nil {
				return errStop()
			}
			return errorf("%s element has an annotation %s", k, annotationText(a)).inIndex(i)
		}
		var v Value
		switch {
		case r.IsNull():
			return errorf("%s element must not be null", k).inIndex(i)
		case k == SS && r.Type() == ion.StringType:
			s, err := r.StringValue()
			if err != nil || s == nil {
				return errStop()
			}
			v = Value{Kind: S, Bytes: d.a.copyString(*s)}
		case k == NS && (r.Type() == ion.IntType || r.Type() == ion.DecimalType):
			b, derr := d.number(r)
			if derr != nil {
				return derr.inIndex(i)
			}
			v = Value{Kind: N, Bytes: b}
		case k == BS && r.Type() == ion.BlobType:
			b, err := r.ByteValue()
			if err != nil {
				return errStop()
			}
			v = Value{Kind: B, Bytes: d.a.copyBytes(b)}
		default:
			return errorf("%s element must be an Ion %s, not %s", k, setElemType(k), ionTypeName(r)).inIndex(i)
		}
		d.vals = append(d.vals, v)
	}
	if r.Err() != nil || r.StepOut() != nil {
		return errStop()
	}
	n := len(d.vals) - base
	if n == 0 {
		return emptySet(k)
	}
	list := d.a.values(n)
	copy(list, d.vals[base:])
	d.vals = d.vals[:base]
	*dst = Value{Kind: k, List: list}
	return nil
}

// setElemType names the Ion type the elements of a set of kind k take.
func setElemType(k Kind) string {
	switch k {
	case SS:
		return "string"
	case NS:
		return "int or decimal"
	}
	return "blob"
}

func annotationText(anns []ion.SymbolToken) string {
	var b strings.Builder
	for _, a := range anns {
		if a.Text != nil {
			b.WriteString(*a.Text)
		} else {
			b.WriteString("$" + strconv.FormatInt(a.LocalSID, 10))
		}
		b.WriteString("::")
	}
	return b.String()
}

// list reads the elements of an L value at nesting level depth.
func (d *IonDecoder) list(r ion.Reader, depth int) ([]Value, *DecodeError) {
	if err := r.StepIn(); err != nil {
		return nil, errStop()
	}
	base := len(d.vals)
	for i := 0; r.Next(); i++ {
		var v Value
		if derr := d.value(r, &v, depth+1); derr != nil {
			return nil, derr.inIndex(i)
		}
		d.vals = append(d.vals, v)
	}
	if r.Err() != nil || r.StepOut() != nil {
		return nil, errStop()
	}
	list := d.a.values(len(d.vals) - base)
	copy(list, d.vals[base:])
	d.vals = d.vals[:base]
	return list, nil
}

// number returns the DynamoDB text of the Ion int or decimal the reader is
// on, held by the arena.
func (d *IonDecoder) number(r ion.Reader) ([]byte, *DecodeError) {
	d.num = d.num[:0]
	if r.Type() == ion.IntType {
		size, err := r.IntSize()
		if err != nil {
			return nil, errStop()
		}
		if size == ion.BigInt {
			bi, err := r.BigIntValue()
			if err != nil || bi == nil {
				return nil, errStop()
			}
			d.num = bi.Append(d.num, 10)
		} else {
			i, err := r.Int64Value()
			if err != nil || i == nil {
				return nil, errStop()
			}
			d.num = strconv.AppendInt(d.num, *i, 10)
		}
		return d.a.copyBytes(d.num), nil
	}
	dec, err := r.DecimalValue()
	if err != nil || dec == nil {
		return nil, errStop()
	}
	d.num = appendDecimal(d.num, dec)
	return d.a.copyBytes(d.num), nil
}

// Bounds of plain notation for decoded Ion decimals: DynamoDB numbers have
// magnitudes from 1E-130 to 9.99E+125, so every number DynamoDB can hold is
// written out in full. Beyond them (Ion can say 1d999999999) the text keeps
// an exponent instead of growing without limit.
const (
	maxPlainExp   = 125
	minPlainExp   = -130
	maxZeroPlaces = 130
)

// appendDecimal appends an Ion decimal as DynamoDB number text: plain
// notation keeping the scale (1.50 stays "1.50", 12d3 becomes "12000"),
// or coefficient and exponent ("12E-200") outside DynamoDB's range.
func appendDecimal(dst []byte, dec *ion.Decimal) []byte {
	c, exp := dec.CoEx()
	start := len(dst)
	dst = c.Append(dst, 10)
	neg := dst[start] == '-'
	if c.Sign() == 0 {
		// Negative zero shows only in the text form.
		neg = strings.HasPrefix(dec.String(), "-")
	}
	digits := dst[start:]
	if neg && digits[0] == '-' {
		digits = digits[1:]
	}
	// Build the result after the digits, then move it into place, so
	// digits can be read while the output is written.
	out := len(dst)
	if neg {
		dst = append(dst, '-')
	}
	e := int64(exp)
	switch {
	case c.Sign() == 0 && e >= 0:
		dst = append(dst, '0')
	case c.Sign() == 0:
		if -e > maxZeroPlaces {
			dst = append(dst, '0', 'E')
			dst = strconv.AppendInt(dst, e, 10)
			break
		}
		dst = append(dst, '0', '.')
		dst = appendZeros(dst, int(-e))
	default:
		adj := int64(len(digits)) - 1 + e
		switch {
		case adj > maxPlainExp || adj < minPlainExp:
			dst = append(dst, digits...)
			dst = append(dst, 'E')
			dst = strconv.AppendInt(dst, e, 10)
		case e >= 0:
			dst = append(dst, digits...)
			dst = appendZeros(dst, int(e))
		case int64(len(digits)) > -e:
			point := len(digits) + int(e)
			dst = append(dst, digits[:point]...)
			dst = append(dst, '.')
			dst = append(dst, digits[point:]...)
		default:
			dst = append(dst, '0', '.')
			dst = appendZeros(dst, int(-e)-len(digits))
			dst = append(dst, digits...)
		}
	}
	n := copy(dst[start:], dst[out:])
	return dst[:start+n]
}

func appendZeros(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, '0')
	}
	return dst
}

// joinSurrogates appends line to dst with each escaped UTF-16 surrogate
// pair, such as \uD83D\uDE00, replaced by the character's UTF-8 bytes.
// The Ion reader decodes the two halves separately into two U+FFFD, losing
// the character; Ion allows the pair, and a writer that escapes all
// non-ASCII text produces it. Everything else is copied unchanged. Outside
// quoted text a backslash can only occur in a comment, where the rewrite
// is harmless, so pairing backslashes from the start of the line finds
// exactly the escapes.
func joinSurrogates(dst, line []byte) []byte {
	for i := 0; i < len(line); {
		c := line[i]
		if c != '\\' || i+1 >= len(line) {
			dst = append(dst, c)
			i++
			continue
		}
		if line[i+1] == 'u' && i+12 <= len(line) && line[i+6] == '\\' && line[i+7] == 'u' {
			hi, ok1 := hex4(line[i+2 : i+6])
			lo, ok2 := hex4(line[i+8 : i+12])
			if ok1 && ok2 && utf16.IsSurrogate(rune(hi)) && hi < 0xDC00 && lo >= 0xDC00 && lo <= 0xDFFF {
				dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(hi), rune(lo)))
				i += 12
				continue
			}
		}
		// Any other escape, including \\, is copied as a unit so that its
		// second byte is never taken for the start of another escape.
		dst = append(dst, c, line[i+1])
		i += 2
	}
	return dst
}

func hex4(b []byte) (uint16, bool) {
	var v uint16
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}
