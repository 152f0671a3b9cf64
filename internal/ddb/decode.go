package ddb

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Decoder decodes one line of an export data file. JSONDecoder and
// IonDecoder implement it, so an export reader can pick one from the
// export's outputFormat and treat both alike.
type Decoder interface {
	// Decode decodes one line. The Record and everything inside it are
	// valid only until the next call to Decode, unless Keep is called.
	Decode(line []byte) (Record, error)
	// Keep makes the Record of the last Decode, and everything inside
	// it, stay valid until Release instead: a caller that batches records
	// keeps them without copying. The caller bounds how many it keeps;
	// each holds the memory of its line.
	Keep()
	// Release ends the validity of every kept Record and recycles their
	// memory.
	Release()
}

var (
	_ Decoder = (*JSONDecoder)(nil)
	_ Decoder = (*IonDecoder)(nil)
)

// NewDecoder returns the decoder for an export's outputFormat as
// manifest-summary.json names it: "DYNAMODB_JSON" or "ION".
func NewDecoder(outputFormat string) (Decoder, error) {
	switch outputFormat {
	case "DYNAMODB_JSON":
		return NewJSONDecoder(), nil
	case "ION":
		return NewIonDecoder(), nil
	}
	return nil, fmt.Errorf("unknown export output format %q (want DYNAMODB_JSON or ION)", outputFormat)
}

// ErrNoRecord is wrapped by the error Decode returns for a line that holds
// no record at all: a blank line, or an Ion line with only a version marker.
// Export readers skip such lines instead of failing the file.
var ErrNoRecord = errors.New("line holds no record")

// DecodeError describes why a line could not be decoded. The decoders know
// nothing of files, so callers add the file name and line number around it;
// the fields let them, or a rescue path, tell where in the item it went wrong.
type DecodeError struct {
	// Part is the part of the line the error is in: "Item", "Keys",
	// "OldImage", "NewImage" or "Metadata"; empty for the line as a whole.
	Part string
	// Attr is the path of the attribute within Part, map keys joined by
	// dots and list or set positions in brackets, e.g. items[2].sku. Empty
	// when the error is not about one attribute.
	Attr string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any (a JSON or Ion syntax error, a
	// base64 error).
	Err error

	// attrIsIndex records that Attr starts with a list position, so that
	// prepending a map key adds no dot.
	attrIsIndex bool
}

// Error formats the error as `[Part: ]attribute "path": msg[: err]`. The
// Part is left out for "Item", the only part of a full export line.
func (e *DecodeError) Error() string {
	var b strings.Builder
	if e.Attr != "" {
		if e.Part != "" && e.Part != "Item" {
			b.WriteString(e.Part)
			b.WriteString(": ")
		}
		b.WriteString("attribute ")
		b.WriteString(strconv.Quote(e.Attr))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// inField prepends the map key name to the error's attribute path; the path
// is built while unwinding so that the success path never pays for it.
func (e *DecodeError) inField(name []byte) *DecodeError {
	switch {
	case e.Attr == "":
		e.Attr = string(name)
	case e.attrIsIndex:
		e.Attr = string(name) + e.Attr
	default:
		e.Attr = string(name) + "." + e.Attr
	}
	e.attrIsIndex = false
	return e
}

// inIndex prepends a list or set position to the error's attribute path.
func (e *DecodeError) inIndex(i int) *DecodeError {
	idx := "[" + strconv.Itoa(i) + "]"
	switch {
	case e.Attr == "":
		e.Attr = idx
	case e.attrIsIndex:
		e.Attr = idx + e.Attr
	default:
		e.Attr = idx + "." + e.Attr
	}
	e.attrIsIndex = true
	return e
}

func errorf(format string, args ...any) *DecodeError {
	return &DecodeError{Msg: fmt.Sprintf(format, args...)}
}

// asError turns a possibly nil *DecodeError into an error without creating
// a non-nil interface around a nil pointer.
func asError(e *DecodeError) error {
	if e == nil {
		return nil
	}
	return e
}

const typeTags = "S, N, B, BOOL, NULL, SS, NS, BS, L, M"

// Parts of a line, as they appear in both formats.
const (
	partItem     = "Item"
	partKeys     = "Keys"
	partOld      = "OldImage"
	partNew      = "NewImage"
	partMetadata = "Metadata"
)

// lineParts collects what a decoder found on a line before checkRecord
// decides whether the combination makes sense.
type lineParts struct {
	rec     Record
	hasMeta bool
}

// checkRecord refuses lines whose parts do not form a full or incremental
// export record. A misspelt or missing part must not be mistaken for a
// different change: an update line without its NewImage would read as a
// delete.
func checkRecord(p *lineParts) *DecodeError {
	r := &p.rec
	if r.Item != nil {
		switch {
		case r.Keys != nil:
			return errorf(`line has both "Item" and "Keys"`)
		case r.OldImage != nil:
			return errorf(`line has both "Item" and "OldImage"`)
		case r.NewImage != nil:
			return errorf(`line has both "Item" and "NewImage"`)
		case p.hasMeta:
			return errorf(`line has both "Item" and "Metadata"`)
		}
		return nil
	}
	if r.Keys == nil {
		switch {
		case r.NewImage != nil:
			return errorf(`line has "NewImage" but no "Keys"`)
		case r.OldImage != nil:
			return errorf(`line has "OldImage" but no "Keys"`)
		case p.hasMeta:
			return errorf(`line has "Metadata" but no "Keys"`)
		}
		return errorf(`line has neither "Item" nor "Keys"`)
	}
	if !p.hasMeta {
		return &DecodeError{Part: partMetadata, Msg: `incremental line has no "Metadata" with "WriteTimestampMicros"`}
	}
	return nil
}

// unknownPart is the error for a top-level field a decoder does not know.
func unknownPart(name []byte) *DecodeError {
	return errorf(`line has unknown field %q (want "Item", or "Metadata", "Keys", "OldImage", "NewImage")`, name)
}

// duplicatePart is the error for a top-level field given twice.
func duplicatePart(name string) *DecodeError {
	return errorf("line has %q more than once", name)
}

// emptyPart is the error for an Item, Keys or image without attributes:
// every one of them holds at least the table's key.
func emptyPart(part string) *DecodeError {
	return &DecodeError{Part: part, Msg: fmt.Sprintf("%q has no attributes", part)}
}

// ValidNumber reports whether b is DynamoDB number text: an optional '-',
// digits, an optional fraction and an optional exponent. Every decoder of
// items (the export decoders, the plugin result decoder) uses it. Range and
// precision are left to the schema stage, which knows what to do with a
// value that does not fit.
func ValidNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	i, ok := digits(b, i)
	if !ok {
		return false
	}
	if i < len(b) && b[i] == '.' {
		if i, ok = digits(b, i+1); !ok {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, ok = digits(b, i); !ok {
			return false
		}
	}
	return i == len(b)
}

// digits skips a run of at least one decimal digit starting at i.
func digits(b []byte, i int) (int, bool) {
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i, i > start
}

// parseMicros parses WriteTimestampMicros, which must be a non-negative
// integer in int64.
func parseMicros(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// metadataValue turns the decoded WriteTimestampMicros value into micros.
func metadataValue(v *Value) (int64, *DecodeError) {
	if v.Kind != N {
		return 0, &DecodeError{Part: partMetadata, Attr: "WriteTimestampMicros", Msg: fmt.Sprintf("must be a number (N), not %s", v.Kind)}
	}
	ts, ok := parseMicros(v.Bytes)
	if !ok {
		return 0, &DecodeError{Part: partMetadata, Attr: "WriteTimestampMicros", Msg: fmt.Sprintf("%q is not a non-negative integer of microseconds", v.Bytes)}
	}
	return ts, nil
}

// dupLinear is the map size up to which duplicate names are looked for by
// comparing every pair, which beats sorting for the small maps that make up
// most items.
const dupLinear = 32

// duplicateName returns the index of an attribute whose name occurs earlier
// in attrs too, or -1. idx is scratch space kept by the decoder.
func duplicateName(attrs []Attr, idx *[]int32) int {
	if len(attrs) <= dupLinear {
		for i := 1; i < len(attrs); i++ {
			for j := 0; j < i; j++ {
				if bytes.Equal(attrs[i].Name, attrs[j].Name) {
					return i
				}
			}
		}
		return -1
	}
	s := (*idx)[:0]
	for i := range attrs {
		s = append(s, int32(i))
	}
	*idx = s
	slices.SortFunc(s, func(a, b int32) int { return bytes.Compare(attrs[a].Name, attrs[b].Name) })
	for i := 1; i < len(s); i++ {
		if bytes.Equal(attrs[s[i]].Name, attrs[s[i-1]].Name) {
			return int(max(s[i], s[i-1]))
		}
	}
	return -1
}

// checkNames refuses empty and repeated attribute names: DynamoDB has
// neither, and downstream a name is a column.
func checkNames(attrs []Attr, idx *[]int32) *DecodeError {
	if i := duplicateName(attrs, idx); i >= 0 {
		return (&DecodeError{Msg: "attribute name occurs more than once"}).inField(attrs[i].Name)
	}
	return nil
}

// isSpace reports whether c is JSON or Ion whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// blank reports whether the line holds only whitespace.
func blank(line []byte) bool {
	for _, c := range line {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// noRecord is the error for a line without any record.
func noRecord(msg string) *DecodeError {
	return &DecodeError{Msg: msg, Err: ErrNoRecord}
}
