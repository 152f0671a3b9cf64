package ddb

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// The encoders write text that the decoders of this package read back to an
// equal Value: Decode(Append...(x)) == x. They follow encoding/json's lead
// on invalid UTF-8 in S values and names, writing U+FFFD, because neither
// format can carry it; decoded values never contain any.

const hexDigits = "0123456789abcdef"

// AppendValueJSON appends v in DynamoDB JSON, e.g. {"S":"x"} or
// {"M":{"a":{"N":"1"}}}, and returns the extended buffer.
func AppendValueJSON(dst []byte, v Value) []byte {
	switch v.Kind {
	case S:
		dst = append(dst, `{"S":`...)
		dst = appendJSONString(dst, v.Bytes)
	case N:
		// Escaped like S although valid number text never needs it, so a
		// hand-built bad Value cannot break the surrounding JSON.
		dst = append(dst, `{"N":`...)
		dst = appendJSONString(dst, v.Bytes)
	case B:
		dst = append(dst, `{"B":`...)
		dst = appendJSONBase64(dst, v.Bytes)
	case BOOL:
		if v.Bool {
			return append(dst, `{"BOOL":true}`...)
		}
		return append(dst, `{"BOOL":false}`...)
	case NULL:
		return append(dst, `{"NULL":true}`...)
	case SS, NS, BS:
		dst = append(dst, `{"`...)
		dst = append(dst, v.Kind.String()...)
		dst = append(dst, `":[`...)
		for i, e := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			switch v.Kind {
			case SS:
				dst = appendJSONString(dst, e.Bytes)
			case NS:
				dst = appendJSONString(dst, e.Bytes)
			case BS:
				dst = appendJSONBase64(dst, e.Bytes)
			}
		}
		dst = append(dst, ']')
	case L:
		dst = append(dst, `{"L":[`...)
		for i, e := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendValueJSON(dst, e)
		}
		dst = append(dst, ']')
	case M:
		dst = append(dst, `{"M":`...)
		dst = appendAttrsJSON(dst, v.Map)
	default:
		// An invalid Value has no DynamoDB form; writing NULL keeps the
		// output parseable and the mistake visible downstream.
		return append(dst, `{"NULL":true}`...)
	}
	return append(dst, '}')
}

// AppendItemJSON appends it as a DynamoDB JSON object {"name":{...},...},
// the form an export's "Item", "Keys" and images take.
func AppendItemJSON(dst []byte, it Item) []byte {
	return appendAttrsJSON(dst, it)
}

// AppendRecordJSON appends rec as one export line without the newline:
// {"Item":{...}} when rec.Item is set, else the incremental form
// {"Metadata":{...},"Keys":{...},"OldImage":{...},"NewImage":{...}} with
// absent images left out.
func AppendRecordJSON(dst []byte, rec Record) []byte {
	if rec.Item != nil {
		dst = append(dst, `{"Item":`...)
		dst = AppendItemJSON(dst, rec.Item)
		return append(dst, '}')
	}
	dst = append(dst, `{"Metadata":{"WriteTimestampMicros":{"N":"`...)
	dst = strconv.AppendInt(dst, rec.WriteTimestampMicros, 10)
	dst = append(dst, `"}},"Keys":`...)
	dst = AppendItemJSON(dst, rec.Keys)
	if rec.OldImage != nil {
		dst = append(dst, `,"OldImage":`...)
		dst = AppendItemJSON(dst, rec.OldImage)
	}
	if rec.NewImage != nil {
		dst = append(dst, `,"NewImage":`...)
		dst = AppendItemJSON(dst, rec.NewImage)
	}
	return append(dst, '}')
}

func appendAttrsJSON(dst []byte, attrs []Attr) []byte {
	dst = append(dst, '{')
	for i := range attrs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, attrs[i].Name)
		dst = append(dst, ':')
		dst = AppendValueJSON(dst, attrs[i].Value)
	}
	return append(dst, '}')
}

func appendJSONBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendValueIon appends v in the Ion text form of DynamoDB's ION exports:
// S as an Ion string, N as an Ion int or decimal, B as a blob, BOOL as a
// bool, NULL as null, sets as lists annotated $dynamodb_SS, $dynamodb_NS or
// $dynamodb_BS, L as a list and M as a struct.
//
// N text must be a valid number (as the decoders guarantee); it is
// rewritten in Ion's syntax (1.5e3 as 1.5d3, no leading zeros). Ion
// readers refuse exponents beyond 32 bits, far outside what DynamoDB
// stores, so such text from a JSON line does not survive the trip.
func AppendValueIon(dst []byte, v Value) []byte {
	switch v.Kind {
	case S:
		return appendIonString(dst, v.Bytes, '"')
	case N:
		return appendIonNumber(dst, v.Bytes)
	case B:
		return appendIonBlob(dst, v.Bytes)
	case BOOL:
		if v.Bool {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case NULL:
		return append(dst, "null"...)
	case SS, NS, BS:
		dst = append(dst, "$dynamodb_"...)
		dst = append(dst, v.Kind.String()...)
		dst = append(dst, "::["...)
		for i, e := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			switch v.Kind {
			case SS:
				dst = appendIonString(dst, e.Bytes, '"')
			case NS:
				dst = appendIonNumber(dst, e.Bytes)
			case BS:
				dst = appendIonBlob(dst, e.Bytes)
			}
		}
		return append(dst, ']')
	case L:
		dst = append(dst, '[')
		for i, e := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendValueIon(dst, e)
		}
		return append(dst, ']')
	case M:
		return appendAttrsIon(dst, v.Map)
	}
	return append(dst, "null"...)
}

// AppendItemIon appends it as an Ion struct {name:value,...}.
func AppendItemIon(dst []byte, it Item) []byte {
	return appendAttrsIon(dst, it)
}

// AppendRecordIon appends rec as one ION export line without the newline
// or a version marker: {Item:{...}}, or {Metadata:{WriteTimestampMicros:n},
// Keys:{...},OldImage:{...},NewImage:{...}} with absent images left out.
func AppendRecordIon(dst []byte, rec Record) []byte {
	if rec.Item != nil {
		dst = append(dst, "{Item:"...)
		dst = AppendItemIon(dst, rec.Item)
		return append(dst, '}')
	}
	dst = append(dst, "{Metadata:{WriteTimestampMicros:"...)
	dst = strconv.AppendInt(dst, rec.WriteTimestampMicros, 10)
	dst = append(dst, "},Keys:"...)
	dst = AppendItemIon(dst, rec.Keys)
	if rec.OldImage != nil {
		dst = append(dst, ",OldImage:"...)
		dst = AppendItemIon(dst, rec.OldImage)
	}
	if rec.NewImage != nil {
		dst = append(dst, ",NewImage:"...)
		dst = AppendItemIon(dst, rec.NewImage)
	}
	return append(dst, '}')
}

func appendAttrsIon(dst []byte, attrs []Attr) []byte {
	dst = append(dst, '{')
	for i := range attrs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendIonSymbol(dst, attrs[i].Name)
		dst = append(dst, ':')
		dst = AppendValueIon(dst, attrs[i].Value)
	}
	return append(dst, '}')
}

func appendIonBlob(dst []byte, b []byte) []byte {
	dst = append(dst, "{{"...)
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, "}}"...)
}

// appendIonSymbol writes a field name bare when Ion allows it, as DynamoDB
// does, and quoted otherwise. Names starting with '$' are always quoted:
// bare, $ion_1_0 and $<digits> mean something else to an Ion reader.
func appendIonSymbol(dst []byte, name []byte) []byte {
	if isIonIdentifier(name) {
		return append(dst, name...)
	}
	return appendIonString(dst, name, '\'')
}

func isIonIdentifier(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	switch string(s) {
	case "null", "true", "false", "nan":
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// appendIonString appends s quoted with q (" for a string, ' for a symbol).
func appendIonString(dst []byte, s []byte, q byte) []byte {
	dst = append(dst, q)
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != q && c != '\\' && c < 0x7f {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\'', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, q)
}

// appendIonNumber rewrites DynamoDB number text in Ion syntax. An integer
// stays an Ion int, except negative zero, which only a decimal can carry;
// anything with a fraction or exponent becomes a decimal, so 1.50 keeps
// its trailing zero.
func appendIonNumber(dst []byte, num []byte) []byte {
	i := 0
	neg := len(num) > 0 && num[0] == '-'
	if neg {
		i++
	}
	intStart := i
	for i < len(num) && num[i] >= '0' && num[i] <= '9' {
		i++
	}
	intPart := num[intStart:i]
	for len(intPart) > 1 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	if len(intPart) == 0 {
		intPart = []byte("0")
	}
	var frac, exp []byte
	hasFrac := i < len(num) && num[i] == '.'
	if hasFrac {
		i++
		s := i
		for i < len(num) && num[i] >= '0' && num[i] <= '9' {
			i++
		}
		frac = num[s:i]
	}
	hasExp := i < len(num) && (num[i] == 'e' || num[i] == 'E')
	if hasExp {
		exp = num[i+1:]
	}
	isZero := len(intPart) == 1 && intPart[0] == '0'
	if neg {
		dst = append(dst, '-')
	}
	dst = append(dst, intPart...)
	if !hasFrac && !hasExp {
		if neg && isZero {
			dst = append(dst, '.')
		}
		return dst
	}
	if hasFrac {
		dst = append(dst, '.')
		dst = append(dst, frac...)
	}
	if hasExp {
		dst = append(dst, 'd')
		if len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
			if exp[0] == '-' {
				dst = append(dst, '-')
			}
			exp = exp[1:]
		}
		for len(exp) > 1 && exp[0] == '0' {
			exp = exp[1:]
		}
		dst = append(dst, exp...)
	}
	return dst
}

// String returns v in DynamoDB JSON, for messages and debugging.
func (v Value) String() string {
	return string(AppendValueJSON(nil, v))
}

// String returns the item as a DynamoDB JSON object, for messages and
// debugging.
func (it Item) String() string {
	return string(AppendItemJSON(nil, it))
}
