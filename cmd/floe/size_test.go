package main

import "testing"

func TestByteSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "1000", want: 1000},
		{in: "512MiB", want: 512 << 20},
		{in: "1.5GiB", want: 3 << 29},
		{in: "64 KiB", want: 64 << 10},
		{in: "2MB", want: 2_000_000},
		{in: "7B", want: 7},
		{in: "", bad: true},
		{in: "lots", bad: true},
		{in: "-1MiB", bad: true},
		{in: "12XB", bad: true},
	}
	for _, tc := range cases {
		var b byteSize
		err := b.UnmarshalText([]byte(tc.in))
		if tc.bad {
			if err == nil {
				t.Errorf("%q: want an error, got %d", tc.in, b)
			}
			continue
		}
		if err != nil || int64(b) != tc.want {
			t.Errorf("%q = %d, %v; want %d", tc.in, b, err, tc.want)
		}
	}
}
