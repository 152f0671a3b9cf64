package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag value in bytes that also accepts units: 512MiB,
// 1GiB, 64KiB, 1000000. Decimal units (MB, GB) are powers of 1000.
type byteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// UnmarshalText implements encoding.TextUnmarshaler, which kong uses for
// flags, environment variables and the config file alike.
func (b *byteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a size: want bytes, optionally with a unit (KiB, MiB, GiB, KB, MB, GB)", text)
	}
	*b = byteSize(n * float64(mult))
	return nil
}
