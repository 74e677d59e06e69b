package expr

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// TestSmallDecimalArith: hand-worked results of the int64 path, rounding
// half away from zero at the result's scale.
func TestSmallDecimalArith(t *testing.T) {
	tests := []struct {
		op    string
		scale int
		x, y  string
		want  string // "NULL", or "apd" when the int64 path must decline
	}{
		{"/", dynamicScale, "1234560", "1000", "1234.5600"},
		{"/", dynamicScale, "2", "3", "0.6667"},
		{"/", dynamicScale, "-2", "3", "-0.6667"},
		{"/", dynamicScale, "1", "-8", "-0.1250"},
		{"/", dynamicScale, "1", "20000", "0.0001"}, // 0.00005: a tie, away from zero
		{"/", dynamicScale, "-1", "20000", "-0.0001"},
		{"/", dynamicScale, "1", "30000", "0.0000"},
		{"/", dynamicScale, "-1", "30000", "0.0000"}, // no sign on zero
		{"/", dynamicScale, "1.5", "2", "0.75000"},   // dividend's scale plus four
		{"/", 2, "10", "4", "2.50"},
		{"/", dynamicScale, "7", "0", "NULL"},
		{"/", dynamicScale, "7", "0.00", "NULL"},
		{"+", dynamicScale, "1.25", "-3.5", "-2.25"},
		{"-", dynamicScale, "0.1", "0.1", "0.0"},
		{"-", dynamicScale, "-5", "7.125", "-12.125"},
		{"*", dynamicScale, "1.5", "-0.25", "-0.375"},
		{"*", 2, "1.005", "1", "1.01"},
		{"*", 2, "-1.005", "1", "-1.01"},
		{"+", 3, "1", "2", "3.000"},
		{"*", dynamicScale, "999999999999999999", "10", "apd"}, // past int64
		{"+", dynamicScale, "1234567890123456789", "1", "apd"}, // 19 digits
		{"+", dynamicScale, "1e3", "1", "apd"},
		{"%", dynamicScale, "7", "2", "apd"},
	}
	for _, tc := range tests {
		got, ok := smallDecimalArith(tc.op, tc.scale, tc.x, tc.y)
		text := "apd"
		if ok {
			text = "NULL"
			if !got.IsNull() {
				text = got.Str()
			}
		}
		if text != tc.want {
			t.Errorf("%s %s %s (scale %d) = %s, want %s", tc.x, tc.op, tc.y, tc.scale, text, tc.want)
		}
	}
}

// TestSmallDecimalArith_MatchesApd: wherever the int64 path answers, apd
// gives the same text.
func TestSmallDecimalArith_MatchesApd(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	num := func() string {
		digits := 1 + rng.Intn(18)
		var b strings.Builder
		if rng.Intn(3) == 0 {
			b.WriteByte('-')
		}
		scale := rng.Intn(digits + 1)
		for i := range digits {
			if i == digits-scale && scale > 0 {
				if i == 0 {
					b.WriteByte('0')
				}
				b.WriteByte('.')
			}
			if rng.Intn(4) == 0 {
				b.WriteByte('0')
			} else {
				b.WriteByte(byte('0' + rng.Intn(10)))
			}
		}
		return b.String()
	}
	small := func() string { return fmt.Sprint(rng.Intn(2000) - 1000) }
	answered := 0
	for i := 0; i < 200000; i++ {
		op := []string{"+", "-", "*", "/"}[rng.Intn(4)]
		scale := dynamicScale
		if rng.Intn(3) == 0 {
			scale = rng.Intn(8)
		}
		x, y := num(), num()
		switch rng.Intn(3) {
		case 0:
			y = small()
		case 1:
			x = small()
		}
		got, ok := smallDecimalArith(op, scale, x, y)
		if !ok {
			continue
		}
		answered++
		want, err := apdDecimalArith(op, scale, x, y)
		if err != nil {
			t.Fatalf("%s %s %s (scale %d): apd: %v", x, op, y, scale, err)
		}
		if got.IsNull() != want.IsNull() || got.Str() != want.Str() {
			t.Fatalf("%s %s %s (scale %d) = %q, apd %q", x, op, y, scale, got.Str(), want.Str())
		}
	}
	if answered < 100000 {
		t.Fatalf("the int64 path answered %d of 200,000", answered)
	}
}
