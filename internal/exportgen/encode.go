package exportgen

import (
	"encoding/base64"

	"github.com/floe-io/floe/internal/ddb"
)

// The generator has its own line writers instead of the ddb package's
// encoders: its output is the reference other packages are tested against,
// so it must not share their code (a shared bug would go unnoticed).
//
// Both writers imitate what DynamoDB's exporter emits byte for byte as far
// as it is documented: compact text, attributes in item order, N text as
// stored (DynamoDB keeps numbers normalized, e.g. "600", "12.5"), non-ASCII
// text as raw UTF-8.

const hexDigits = "0123456789abcdef"

// appendJSONItem appends an item as a DynamoDB JSON object: {"a":{"S":"x"}}.
func appendJSONItem(dst []byte, it ddb.Item) []byte {
	return appendJSONAttrs(dst, it)
}

func appendJSONAttrs(dst []byte, attrs []ddb.Attr) []byte {
	dst = append(dst, '{')
	for i := range attrs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, attrs[i].Name)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, &attrs[i].Value)
	}
	return append(dst, '}')
}

// appendJSONValue appends one typed value, e.g. {"N":"12.5"}.
func appendJSONValue(dst []byte, v *ddb.Value) []byte {
	dst = append(dst, '{', '"')
	dst = append(dst, v.Kind.String()...)
	dst = append(dst, '"', ':')
	switch v.Kind {
	case ddb.S:
		dst = appendJSONString(dst, v.Bytes)
	case ddb.N:
		dst = append(dst, '"')
		dst = append(dst, v.Bytes...)
		dst = append(dst, '"')
	case ddb.B:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes)
		dst = append(dst, '"')
	case ddb.BOOL:
		if v.Bool {
			dst = append(dst, "true"...)
		} else {
			dst = append(dst, "false"...)
		}
	case ddb.NULL:
		dst = append(dst, "true"...)
	case ddb.SS, ddb.NS, ddb.BS:
		dst = append(dst, '[')
		for i := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			e := &v.List[i]
			switch v.Kind {
			case ddb.SS:
				dst = appendJSONString(dst, e.Bytes)
			case ddb.NS:
				dst = append(dst, '"')
				dst = append(dst, e.Bytes...)
				dst = append(dst, '"')
			default:
				dst = append(dst, '"')
				dst = base64.StdEncoding.AppendEncode(dst, e.Bytes)
				dst = append(dst, '"')
			}
		}
		dst = append(dst, ']')
	case ddb.L:
		dst = append(dst, '[')
		for i := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, &v.List[i])
		}
		dst = append(dst, ']')
	case ddb.M:
		dst = appendJSONAttrs(dst, v.Map)
	}
	return append(dst, '}')
}

// appendJSONString quotes s the way Jackson (DynamoDB's serializer) does:
// only '"', '\\' and control characters are escaped, with the short forms
// where JSON has them; '/', '<', U+2028 and non-ASCII stay literal.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
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
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendIonItem appends an item as an Ion struct: {a:"x",'b c':12.5}.
func appendIonItem(dst []byte, it ddb.Item) []byte {
	return appendIonAttrs(dst, it)
}

func appendIonAttrs(dst []byte, attrs []ddb.Attr) []byte {
	dst = append(dst, '{')
	for i := range attrs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendIonSymbol(dst, attrs[i].Name)
		dst = append(dst, ':')
		dst = appendIonValue(dst, &attrs[i].Value)
	}
	return append(dst, '}')
}

// appendIonValue maps a DynamoDB value to Ion as DynamoDB documents it: S
// string, N decimal, B blob, BOOL bool, NULL null, sets as lists annotated
// $dynamodb_SS/NS/BS, L list, M struct.
func appendIonValue(dst []byte, v *ddb.Value) []byte {
	switch v.Kind {
	case ddb.S:
		dst = appendIonString(dst, v.Bytes)
	case ddb.N:
		dst = appendIonDecimal(dst, v.Bytes)
	case ddb.B:
		dst = appendIonBlob(dst, v.Bytes)
	case ddb.BOOL:
		if v.Bool {
			dst = append(dst, "true"...)
		} else {
			dst = append(dst, "false"...)
		}
	case ddb.NULL:
		dst = append(dst, "null"...)
	case ddb.SS, ddb.NS, ddb.BS:
		dst = append(dst, "$dynamodb_"...)
		dst = append(dst, v.Kind.String()...)
		dst = append(dst, ':', ':', '[')
		for i := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			e := &v.List[i]
			switch v.Kind {
			case ddb.SS:
				dst = appendIonString(dst, e.Bytes)
			case ddb.NS:
				dst = appendIonDecimal(dst, e.Bytes)
			default:
				dst = appendIonBlob(dst, e.Bytes)
			}
		}
		dst = append(dst, ']')
	case ddb.L:
		dst = append(dst, '[')
		for i := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendIonValue(dst, &v.List[i])
		}
		dst = append(dst, ']')
	case ddb.M:
		dst = appendIonAttrs(dst, v.Map)
	}
	return dst
}

func appendIonBlob(dst, b []byte) []byte {
	dst = append(dst, '{', '{')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '}', '}')
}

func appendIonString(dst, s []byte) []byte {
	dst = append(dst, '"')
	dst = appendIonEscaped(dst, s, '"')
	return append(dst, '"')
}

// appendIonSymbol writes a field name bare when Ion reads it back as the
// same identifier, and quoted otherwise: names with spaces, dots or
// non-ASCII, the keywords that would parse as values, and $<digits>, which
// Ion reads as a symbol-table reference.
func appendIonSymbol(dst, s []byte) []byte {
	if ionIdentifier(s) {
		return append(dst, s...)
	}
	dst = append(dst, '\'')
	dst = appendIonEscaped(dst, s, '\'')
	return append(dst, '\'')
}

func ionIdentifier(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	switch string(s) {
	case "null", "true", "false", "nan":
		return false
	}
	if s[0] == '$' && len(s) > 1 {
		for _, c := range s[1:] {
			if c < '0' || c > '9' {
				return true
			}
		}
		return false
	}
	return true
}

// appendIonEscaped escapes the quote in use, backslash and control
// characters (Ion short strings may not hold raw newlines); valid non-ASCII
// UTF-8 passes through.
func appendIonEscaped(dst, s []byte, quote byte) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != 0x7f && c != quote && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case quote, '\\':
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
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendIonDecimal writes a DynamoDB number as the Ion decimal DynamoDB
// emits. DynamoDB holds numbers as normalized decimals (trailing zeros
// stripped) and prints them the way ion-java prints a BigDecimal, so the
// documented example shows 103 as "103.", 600 as "6d2" and 2000 as "2d3";
// likewise 12.5 is "12.5", 0.5 is "5d-1" and 0.000001 is "1d-6". Doing the
// same here keeps every number exact and its text identical to a real export.
func appendIonDecimal(dst, n []byte) []byte {
	neg := len(n) > 0 && n[0] == '-'
	if neg || len(n) > 0 && n[0] == '+' {
		n = n[1:]
	}
	// Split the (plain, exponent-free) text into its digits and scale.
	var digits [64]byte
	d := digits[:0]
	scale := 0
	seenDot := false
	for _, c := range n {
		switch {
		case c == '.':
			seenDot = true
		case c >= '0' && c <= '9':
			d = append(d, c)
			if seenDot {
				scale++
			}
		}
	}
	// Normalize: no leading zeros, no trailing zeros (moved into the scale).
	for len(d) > 1 && d[0] == '0' {
		d = d[1:]
	}
	for len(d) > 1 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
		scale--
	}
	if len(d) == 1 && d[0] == '0' {
		return append(dst, '0', '.')
	}
	if neg {
		dst = append(dst, '-')
	}
	switch {
	case scale == 0:
		dst = append(dst, d...)
		dst = append(dst, '.')
	case scale > 0:
		whole, rest := len(d)-scale, 0
		if whole < 1 {
			whole, rest = 1, scale-len(d)+1
		}
		dst = append(dst, d[:whole]...)
		if whole < len(d) {
			dst = append(dst, '.')
			dst = append(dst, d[whole:]...)
		}
		if rest != 0 {
			dst = append(dst, 'd', '-')
			dst = appendUint(dst, uint64(rest))
		}
	default:
		dst = append(dst, d...)
		dst = append(dst, 'd')
		dst = appendUint(dst, uint64(-scale))
	}
	return dst
}

func appendUint(dst []byte, v uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}
