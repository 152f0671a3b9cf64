package schema

import (
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// MaxDecimalPrecision is the widest decimal Iceberg (and Parquet's
// FIXED_LEN_BYTE_ARRAY(16)) can hold. DynamoDB numbers have at most 38
// significant digits, so every one fits some decimal(38,s), but not all
// of them fit the same scale.
const MaxDecimalPrecision = 38

// Number is a DynamoDB number split into its significant digits and a
// power of ten: value = (-1 if Neg) × Digits × 10^Exp. Digits has no
// leading or trailing zeros; zero is Digits == "" (Exp 0).
type Number struct {
	Neg    bool
	Digits []byte
	Exp    int
}

// ParseNumber parses DynamoDB number text ("-12.50", "1E+3", "0.001").
// It reports false for text that is not a number. Digits aliases the
// scratch buffer passed in, so the caller controls allocation.
func ParseNumber(text []byte, scratch []byte) (Number, bool) {
	var n Number
	i := 0
	if i < len(text) && (text[i] == '-' || text[i] == '+') {
		n.Neg = text[i] == '-'
		i++
	}
	digits := scratch[:0]
	sawDigit, sawPoint := false, false
	fracDigits := 0
	for ; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= '0' && c <= '9':
			sawDigit = true
			if sawPoint {
				fracDigits++
			}
			if c == '0' && len(digits) == 0 {
				continue // leading zero carries no information
			}
			digits = append(digits, c)
		case c == '.' && !sawPoint:
			sawPoint = true
		default:
			goto exponent
		}
	}
exponent:
	if !sawDigit {
		return Number{}, false
	}
	exp := 0
	if i < len(text) {
		if text[i] != 'e' && text[i] != 'E' {
			return Number{}, false
		}
		i++
		neg := false
		if i < len(text) && (text[i] == '-' || text[i] == '+') {
			neg = text[i] == '-'
			i++
		}
		if i == len(text) {
			return Number{}, false
		}
		for ; i < len(text); i++ {
			c := text[i]
			if c < '0' || c > '9' {
				return Number{}, false
			}
			if exp < 1_000_000 {
				exp = exp*10 + int(c-'0')
			}
		}
		if neg {
			exp = -exp
		}
	}
	// Leading zeros after the point were skipped above but still count as
	// fraction digits, so the exponent stays right.
	exp -= fracDigits
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if len(digits) == 0 {
		exp = 0
		n.Neg = false
	}
	n.Digits, n.Exp = digits, exp
	return n, true
}

// Scale is the number of digits after the decimal point the value needs.
func (n Number) Scale() int {
	if n.Exp >= 0 {
		return 0
	}
	return -n.Exp
}

// IntDigits is the number of digits before the decimal point the value needs.
func (n Number) IntDigits() int {
	if d := len(n.Digits) + n.Exp; d > 0 {
		return d
	}
	return 0
}

// Int64 returns the value as an int64 when it is an integer in range.
func (n Number) Int64() (int64, bool) {
	if n.Exp < 0 || n.IntDigits() > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range n.Digits {
		u = u*10 + uint64(c-'0')
	}
	for e := 0; e < n.Exp; e++ {
		if u > math.MaxUint64/10 {
			return 0, false
		}
		u *= 10
	}
	if n.Neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// FitsDecimal reports whether the value is exact in decimal(38, scale).
func (n Number) FitsDecimal(scale int) bool {
	return n.Scale() <= scale && n.IntDigits()+scale <= MaxDecimalPrecision
}

var pow10 = func() (p [MaxDecimalPrecision + 1]decimal128.Num) {
	p[0] = decimal128.FromU64(1)
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1].Mul(decimal128.FromU64(10))
	}
	return p
}()

// Decimal returns the value as an unscaled decimal128 at the given scale.
// The caller must have checked FitsDecimal.
func (n Number) Decimal(scale int) decimal128.Num {
	// Accumulate in uint64 chunks of up to 18 digits: far fewer 128-bit
	// multiplications than one per digit.
	acc := decimal128.Num{}
	d := n.Digits
	for len(d) > 0 {
		k := min(len(d), 18)
		var chunk uint64
		for _, c := range d[:k] {
			chunk = chunk*10 + uint64(c-'0')
		}
		acc = acc.Mul(pow10[k]).Add(decimal128.FromU64(chunk))
		d = d[k:]
	}
	if shift := n.Exp + scale; shift > 0 {
		acc = acc.Mul(pow10[shift])
	}
	if n.Neg {
		acc = acc.Negate()
	}
	return acc
}

// DecimalText renders an unscaled decimal at a scale as plain decimal text,
// the form DynamoDB itself uses ("12.50", "-0.5", "100").
func DecimalText(v decimal128.Num, scale int) string {
	i := v.BigInt()
	neg := i.Sign() < 0
	s := i.Abs(i).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// fastDigits is how many digits the fast paths below accumulate in a
// uint64 without any overflow check: 10^18 < 2^63.
const fastDigits = 18

// ParseInt64 returns number text as an int64 when it is an integer in
// range: ParseNumber followed by Int64, with a fast path for the plain
// "-123" text that nearly every long column holds. Converters call it
// twice per value (fits, then append), so its cost counts double.
// scratch is used as by ParseNumber.
func ParseInt64(text []byte, scratch []byte) (int64, bool) {
	i, neg := 0, false
	if len(text) > 0 && text[0] == '-' {
		i, neg = 1, true
	}
	if n := len(text) - i; n > 0 && n <= fastDigits {
		var u int64
		for _, c := range text[i:] {
			if c < '0' || c > '9' {
				goto slow
			}
			u = u*10 + int64(c-'0')
		}
		if neg {
			u = -u
		}
		return u, true
	}
slow:
	n, ok := ParseNumber(text, scratch)
	if !ok {
		return 0, false
	}
	return n.Int64()
}

// ParseDecimal returns number text as an unscaled decimal128 at scale when
// it fits decimal(38, scale): ParseNumber, FitsDecimal and Decimal in one,
// with a fast path for plain "-123.45" text of up to 18 digits. scratch
// is used as by ParseNumber.
func ParseDecimal(text []byte, scale int, scratch []byte) (decimal128.Num, bool) {
	if scale >= 0 && scale <= MaxDecimalPrecision-fastDigits {
		if u, frac, neg, ok := plainDecimal(text); ok && frac <= scale {
			// At most 18 digits, so at most 18 integer digits: any
			// scale up to 20 leaves room for them in 38.
			v := decimal128.FromU64(u).Mul(pow10[scale-frac])
			if neg {
				v = v.Negate()
			}
			return v, true
		}
	}
	n, ok := ParseNumber(text, scratch)
	if !ok || !n.FitsDecimal(scale) {
		return decimal128.Num{}, false
	}
	return n.Decimal(scale), true
}

// plainDecimal reads "-ddd.ddd" text of 1 to 18 digits (the syntax
// ParseNumber accepts, less '+' and exponents) as its digits u and the
// number of digits after the point.
func plainDecimal(text []byte) (u uint64, frac int, neg, ok bool) {
	i := 0
	if len(text) > 0 && text[0] == '-' {
		i, neg = 1, true
	}
	digits, point := 0, -1
	for ; i < len(text); i++ {
		switch c := text[i]; {
		case c >= '0' && c <= '9':
			digits++
			if digits > fastDigits {
				return 0, 0, false, false
			}
			u = u*10 + uint64(c-'0')
		case c == '.' && point < 0:
			point = digits
		default:
			return 0, 0, false, false
		}
	}
	if digits == 0 {
		return 0, 0, false, false
	}
	if point >= 0 {
		frac = digits - point
	}
	return u, frac, neg, true
}
