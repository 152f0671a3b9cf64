package schema

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

const (
	digits38 = "12345678901234567890123456789012345678"
	nines38  = "99999999999999999999999999999999999999"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		text   string
		neg    bool
		digits string
		exp    int
	}{
		{"0", false, "", 0},
		{"-0", false, "", 0}, // no negative zero: equal values, equal Numbers
		{"+0", false, "", 0},
		{"0.000", false, "", 0},
		{"-0.000e5", false, "", 0},
		{"000", false, "", 0},
		{"1", false, "1", 0},
		{"-1", true, "1", 0},
		{"+7", false, "7", 0},
		{"42", false, "42", 0},
		{"00100", false, "1", 2},
		{"100.0100", false, "10001", -2},
		{"12.50", false, "125", -1},
		{"-12.50", true, "125", -1},
		{"0.001", false, "1", -3},
		{"-0.5", true, "5", -1},
		{".5", false, "5", -1},
		{"5.", false, "5", 0},
		{"1E+3", false, "1", 3},
		{"1e3", false, "1", 3},
		{"1E-3", false, "1", -3},
		{"1.5e-7", false, "15", -8},
		{"15e-8", false, "15", -8},
		{"0.15E-6", false, "15", -8},
		{"1e0", false, "1", 0},
		{"1e-0", false, "1", 0},
		{"-2.50E+2", true, "25", 1},
		{"1E-130", false, "1", -130},
		{"9.99E+125", false, "999", 123},
		{digits38, false, digits38, 0},
		{"-" + digits38, true, digits38, 0},
		{"0." + digits38, false, digits38, -38},
		{"1234567890123456789.0123456789012345678", false, "12345678901234567890123456789012345678", -19},
		{nines38 + "0000", false, nines38, 4},
		{"9223372036854775807", false, "9223372036854775807", 0},
		{"-9223372036854775808", true, "9223372036854775808", 0},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			n, ok := ParseNumber([]byte(tc.text), nil)
			if !ok {
				t.Fatalf("ParseNumber(%q) failed", tc.text)
			}
			if n.Neg != tc.neg || string(n.Digits) != tc.digits || n.Exp != tc.exp {
				t.Errorf("ParseNumber(%q) = {Neg:%v Digits:%q Exp:%d}, want {Neg:%v Digits:%q Exp:%d}",
					tc.text, n.Neg, n.Digits, n.Exp, tc.neg, tc.digits, tc.exp)
			}
		})
	}
}

func TestParseNumberInvalid(t *testing.T) {
	for _, text := range []string{
		"", "-", "+", ".", "-.", "+.", "1.2.3", "abc", "1e", "1e+", "1e-", "e5", ".e1", "-e1",
		"1 ", " 1", "1x", "--1", "+-1", "1e5.5", "1e1e1", "0x10", "1_000", "NaN", "Inf", "-Inf",
		"1,5", "١", "1e+-1", "1..2", "12a", "E", "\x00",
	} {
		if n, ok := ParseNumber([]byte(text), nil); ok {
			t.Errorf("ParseNumber(%q) = %+v, want failure", text, n)
		}
	}
}

// TestParseNumberScratch checks that Digits lands in the caller's buffer,
// which is what keeps the per-value cost allocation-free.
func TestParseNumberScratch(t *testing.T) {
	scratch := make([]byte, 0, 64)
	n, ok := ParseNumber([]byte("-123.45"), scratch)
	if !ok || string(n.Digits) != "12345" {
		t.Fatalf("ParseNumber = %+v, %v", n, ok)
	}
	if &n.Digits[0] != &scratch[:1][0] {
		t.Error("Digits does not alias the scratch buffer")
	}
	if a := testing.AllocsPerRun(100, func() { ParseNumber([]byte("-123.45e3"), scratch) }); a != 0 {
		t.Errorf("ParseNumber allocates %v times with a big enough scratch buffer", a)
	}
}

func TestScaleIntDigits(t *testing.T) {
	tests := []struct {
		text             string
		scale, intDigits int
	}{
		{"0", 0, 0},
		{"7", 0, 1},
		{"-7", 0, 1},
		{"100", 0, 3},
		{"1E+3", 0, 4},
		{"12.50", 1, 2},
		{"0.001", 3, 0},
		{"123.456", 3, 3},
		{"1.5e-7", 8, 0},
		{"9.99E+125", 0, 126},
		{"1E-130", 130, 0},
		{digits38, 0, 38},
		{"0." + digits38, 38, 0},
		{"1234567890123456789.0123456789012345678", 19, 19},
	}
	for _, tc := range tests {
		n, ok := ParseNumber([]byte(tc.text), nil)
		if !ok {
			t.Fatalf("ParseNumber(%q) failed", tc.text)
		}
		if got := n.Scale(); got != tc.scale {
			t.Errorf("%s: Scale() = %d, want %d", tc.text, got, tc.scale)
		}
		if got := n.IntDigits(); got != tc.intDigits {
			t.Errorf("%s: IntDigits() = %d, want %d", tc.text, got, tc.intDigits)
		}
	}
}

func TestInt64(t *testing.T) {
	tests := []struct {
		text string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"-0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"1E+3", 1000, true},
		{"1.000", 1, true},
		{"120e-1", 12, true},
		{"1e18", 1e18, true},
		{"-1e18", -1e18, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775807", -9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9.223372036854775807E+18", 9223372036854775807, true},
		{"92233720368547758070e-1", 9223372036854775807, true},
		{"0009223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"9999999999999999999", 0, false},
		{"10000000000000000000", 0, false},
		{"18446744073709551615", 0, false},
		{"18446744073709551616", 0, false},
		{"1e19", 0, false},
		{"-1e19", 0, false},
		{"1e1000000", 0, false},
		{"1.5", 0, false},
		{"-0.5", 0, false},
		{"1e-1", 0, false},
		{digits38, 0, false},
	}
	for _, tc := range tests {
		n, ok := ParseNumber([]byte(tc.text), nil)
		if !ok {
			t.Fatalf("ParseNumber(%q) failed", tc.text)
		}
		got, ok := n.Int64()
		if ok != tc.ok || got != tc.want {
			t.Errorf("Int64(%s) = %d, %v; want %d, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFitsDecimal(t *testing.T) {
	tests := []struct {
		text  string
		scale int
		want  bool
	}{
		{"0", 0, true},
		{"0", 38, true},
		{"1", 37, true},
		{"1", 38, false}, // decimal(38,38) holds no integer digit
		{"0.5", 38, true},
		{"12.5", 1, true},
		{"12.5", 0, false},
		{"12.50", 1, true}, // trailing zeros need no scale
		{"0.001", 2, false},
		{"0.001", 3, true},
		{digits38, 0, true},
		{digits38, 1, false},
		{"-" + digits38, 0, true},
		{nines38 + "0", 0, false}, // 39 integer digits
		{"1E+37", 0, true},
		{"1E+38", 0, false},
		{"0." + digits38, 38, true},
		{"0." + digits38, 37, false},
		{"1234567890123456789.0123456789012345678", 19, true},
		{"1234567890123456789.0123456789012345678", 20, false},
		{"1E-130", 38, false},
		{"9.99E+125", 0, false},
	}
	for _, tc := range tests {
		n, ok := ParseNumber([]byte(tc.text), nil)
		if !ok {
			t.Fatalf("ParseNumber(%q) failed", tc.text)
		}
		if got := n.FitsDecimal(tc.scale); got != tc.want {
			t.Errorf("FitsDecimal(%s, %d) = %v, want %v", tc.text, tc.scale, got, tc.want)
		}
	}
}

// bigUnscaled is the reference for Decimal: text × 10^scale as an exact
// integer, computed with math/big.
func bigUnscaled(t testing.TB, text string, scale int) *big.Int {
	t.Helper()
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		t.Fatalf("big.Rat cannot read %q", text)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !r.IsInt() {
		t.Fatalf("%s × 10^%d is not an integer", text, scale)
	}
	return r.Num()
}

func TestDecimal(t *testing.T) {
	tests := []struct {
		text  string
		scale int
		want  string // unscaled value; "" means compute it with math/big
	}{
		{"0", 0, "0"},
		{"0", 10, "0"},
		{"1", 0, "1"},
		{"12.50", 2, "1250"},
		{"-12.50", 2, "-1250"},
		{"-0.5", 1, "-5"},
		{"1E+3", 0, "1000"},
		{"1E+3", 3, "1000000"},
		{"0.001", 3, "1"},
		{"-0.001", 5, "-100"},
		{"9223372036854775808", 0, "9223372036854775808"},
		{"-9223372036854775809", 0, "-9223372036854775809"},
		{digits38, 0, digits38},
		{"-" + digits38, 0, "-" + digits38},
		{nines38, 0, nines38},
		{"-" + nines38, 0, "-" + nines38},
		{"0." + nines38, 38, nines38},
		{"-0." + digits38, 38, "-" + digits38},
		{"1", 37, "1" + strings.Repeat("0", 37)},
		{"-1E+37", 0, "-1" + strings.Repeat("0", 37)},
		{"123456789012345678.9", 20, ""}, // 18-digit chunk, then the scale shift
		{"1234567890123456789012345678901234567.8", 1, ""},
		{"123456789012345678901234567890123456.78", 2, ""},
		{"1.5e-7", 10, "1500"},
	}
	for _, tc := range tests {
		n, ok := ParseNumber([]byte(tc.text), nil)
		if !ok || !n.FitsDecimal(tc.scale) {
			t.Fatalf("%s does not fit decimal(38,%d)", tc.text, tc.scale)
		}
		want := bigUnscaled(t, tc.text, tc.scale)
		if tc.want != "" && want.String() != tc.want {
			t.Fatalf("test table disagrees with math/big for %s: %s vs %s", tc.text, tc.want, want)
		}
		if got := n.Decimal(tc.scale).BigInt(); got.Cmp(want) != 0 {
			t.Errorf("Decimal(%s, %d) = %s, want %s", tc.text, tc.scale, got, want)
		}
	}
}

func TestDecimalText(t *testing.T) {
	tests := []struct {
		unscaled string
		scale    int
		want     string
	}{
		{"0", 0, "0"},
		{"0", 2, "0.00"},
		{"5", 0, "5"},
		{"5", 2, "0.05"},
		{"-5", 2, "-0.05"},
		{"-5", 1, "-0.5"},
		{"1250", 2, "12.50"},
		{"-1250", 2, "-12.50"},
		{"100", 0, "100"},
		{"100", 2, "1.00"},
		{"123", 3, "0.123"},
		{digits38, 0, digits38},
		{"-" + nines38, 0, "-" + nines38},
		{digits38, 38, "0." + digits38},
		{"-" + digits38, 19, "-1234567890123456789.0123456789012345678"},
	}
	for _, tc := range tests {
		i, _ := new(big.Int).SetString(tc.unscaled, 10)
		if got := DecimalText(decimal128.FromBigInt(i), tc.scale); got != tc.want {
			t.Errorf("DecimalText(%s, %d) = %q, want %q", tc.unscaled, tc.scale, got, tc.want)
		}
	}
}

// checkDecimalRoundTrip checks DecimalText(n.Decimal(s), s) parses back to
// n at every scale n fits, the path the committer's readers rely on.
func checkDecimalRoundTrip(t testing.TB, text string) {
	t.Helper()
	n, ok := ParseNumber([]byte(text), nil)
	if !ok {
		t.Fatalf("ParseNumber(%q) failed", text)
	}
	for s := n.Scale(); s <= MaxDecimalPrecision && n.FitsDecimal(s); s++ {
		out := DecimalText(n.Decimal(s), s)
		back, ok := ParseNumber([]byte(out), nil)
		if !ok || !sameNumber(n, back) {
			t.Fatalf("%s at scale %d: DecimalText gives %q, which parses to %+v, want %+v", text, s, out, back, n)
		}
		if !strings.Contains(out, ".") && s > 0 || strings.Contains(out, ".") && len(out)-strings.IndexByte(out, '.')-1 != s {
			t.Fatalf("%s at scale %d: DecimalText gives %q, want exactly %d fraction digits", text, s, out, s)
		}
	}
}

func sameNumber(a, b Number) bool {
	return a.Neg == b.Neg && string(a.Digits) == string(b.Digits) && a.Exp == b.Exp
}

func TestDecimalTextRoundTrip(t *testing.T) {
	for _, text := range []string{
		"0", "1", "-1", "12.5", "-12.50", "0.001", "-0.001", "1E+3", "1.5e-7", "100",
		digits38, "-" + digits38, "0." + digits38, "-0." + nines38, "9223372036854775808",
		"1234567890123456789.0123456789012345678",
	} {
		checkDecimalRoundTrip(t, text)
	}
}

// numberSyntax is the reference grammar ParseNumber accepts: DynamoDB's
// number text plus a leading '+' and a bare leading or trailing point.
var numberSyntax = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// plainInt is the text strconv.ParseInt reads the way ParseNumber does.
var plainInt = regexp.MustCompile(`^[+-]?[0-9]+$`)

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "1", "-1", "+1", "12.50", "-12.50", "0.000", ".5", "5.", "1E+3", "1.5e-7", "1E-130",
		"9.99E+125", digits38, "-" + digits38, "0." + nines38, nines38 + "9",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
		"18446744073709551616", "1e19", "1e999999999999", "0e999999999999", "1e-999999999999",
		"", "-", ".", "1.2.3", "abc", "1e", "1e+", "--1", "1x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		n, ok := ParseNumber([]byte(text), nil)
		if want := numberSyntax.MatchString(text); ok != want {
			t.Fatalf("ParseNumber(%q) ok = %v, grammar says %v", text, ok, want)
		}
		if !ok {
			checkFastPaths(t, text, nil)
			return
		}
		if len(n.Digits) > 0 && (n.Digits[0] == '0' || n.Digits[len(n.Digits)-1] == '0') {
			t.Fatalf("ParseNumber(%q): Digits %q has leading or trailing zeros", text, n.Digits)
		}
		if len(n.Digits) == 0 && (n.Neg || n.Exp != 0) {
			t.Fatalf("ParseNumber(%q): zero is not canonical: %+v", text, n)
		}
		// The value, where math/big can represent it (it refuses huge
		// exponents), must be the one the text spells.
		if n.Exp > -5000 && n.Exp < 5000 {
			if want, ok := new(big.Rat).SetString(text); ok {
				if got := numberRat(n); got.Cmp(want) != 0 {
					t.Fatalf("ParseNumber(%q) = %s, math/big reads %s", text, got.RatString(), want.RatString())
				}
			}
		}
		// Int64 agrees with strconv for plain integers.
		i, isInt := n.Int64()
		if plainInt.MatchString(text) {
			want, err := strconv.ParseInt(text, 10, 64)
			if (err == nil) != isInt || i != want && err == nil {
				t.Fatalf("Int64(%q) = %d, %v; strconv says %d, %v", text, i, isInt, want, err)
			}
		}
		if isInt && (n.Scale() != 0 || numberRat(n).Cmp(new(big.Rat).SetInt64(i)) != 0) {
			t.Fatalf("Int64(%q) = %d, which is not the value %+v", text, i, n)
		}
		checkFastPaths(t, text, &n)
		if s := n.Scale(); n.FitsDecimal(s) {
			want := new(big.Rat).Mul(numberRat(n), new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s)), nil)))
			if got := n.Decimal(s).BigInt(); !want.IsInt() || got.Cmp(want.Num()) != 0 {
				t.Fatalf("Decimal(%q, %d) = %s, want %s", text, s, got, want.RatString())
			}
			checkDecimalRoundTrip(t, text)
		} else if n.IntDigits()+n.Scale() <= MaxDecimalPrecision {
			t.Fatalf("%q needs %d+%d digits but does not fit decimal(38,%d)", text, n.IntDigits(), n.Scale(), s)
		}
	})
}

// numberRat is the exact value of n.
func numberRat(n Number) *big.Rat {
	r := new(big.Rat)
	if len(n.Digits) == 0 {
		return r
	}
	d, _ := new(big.Int).SetString(string(n.Digits), 10)
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(n.Exp))), nil)
	if n.Exp >= 0 {
		r.SetInt(d.Mul(d, p))
	} else {
		r.SetFrac(d, p)
	}
	if n.Neg {
		r.Neg(r)
	}
	return r
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// checkFastPaths checks ParseInt64 and ParseDecimal agree with the
// general path they shortcut, for number text n was parsed from (or any
// other text when n is nil).
func checkFastPaths(t testing.TB, text string, n *Number) {
	t.Helper()
	wantI, wantIOK := int64(0), false
	if n != nil {
		wantI, wantIOK = n.Int64()
	}
	if i, ok := ParseInt64([]byte(text), nil); i != wantI || ok != wantIOK {
		t.Fatalf("ParseInt64(%q) = %d, %v; want %d, %v", text, i, ok, wantI, wantIOK)
	}
	scales := []int{0, 1, 2, 6, 18, 19, 20, 21, 37, 38}
	if n != nil {
		scales = append(scales, n.Scale())
	}
	for _, scale := range scales {
		wantOK := n != nil && n.FitsDecimal(scale)
		got, ok := ParseDecimal([]byte(text), scale, nil)
		if ok != wantOK || ok && got != n.Decimal(scale) {
			t.Fatalf("ParseDecimal(%q, %d) = %s, %v; want ok %v", text, scale, got.BigInt(), ok, wantOK)
		}
	}
}

func TestFastPaths(t *testing.T) {
	for _, text := range []string{
		"0", "-0", "7", "-7", "007", "123456789012345678", "-123456789012345678", "999999999999999999",
		"1234567890123456789", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
		"12.5", "-12.50", "0.000000000000000001", "-.5", "5.", "99999999999999999.9", "1E+3", "+1", "1.5e-7",
		digits38, "0." + digits38, "", "-", ".", "-.", "1.2.3", "1x", "--1", "1e",
	} {
		var np *Number
		if n, ok := ParseNumber([]byte(text), nil); ok {
			np = &n
		}
		checkFastPaths(t, text, np)
	}
	if a := testing.AllocsPerRun(100, func() {
		ParseInt64([]byte("-12345"), nil)
		ParseDecimal([]byte("-123.45"), 2, nil)
	}); a != 0 {
		t.Errorf("fast paths allocate %v times", a)
	}
}
