package expr

import (
	"math"
	"math/bits"

	"github.com/streamsql/streamsql/sql/types"
)

// DECIMAL arithmetic on operands of at most 18 digits (prices, amounts,
// integers cast to DECIMAL) is done on int64 coefficients: apd's division
// works to 130 digits and costs microseconds a row (Nexmark q1's
// price * 908 / 1000 spent a quarter of its CPU there). A result is exact
// before its one rounding to the result's scale, as apd's is (an int64
// quotient's expansion is never within apd's 130 digits of a rounding
// tie without being one), so both give the same text. Anything that does
// not fit (more digits, an intermediate past int64, an exponent in the
// text) goes to apd.

// pow10 holds 10^0 to 10^18.
var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// parseSmallDecimal reads canonical DECIMAL text ([-]digits[.digits]) of
// at most 18 digits as c / 10^scale.
func parseSmallDecimal(s string) (c int64, scale int, ok bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	digits, point := 0, -1
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			digits++
			if digits > 18 {
				return 0, 0, false
			}
			c = c*10 + int64(ch-'0')
		case ch == '.' && point < 0:
			point = i
		default:
			return 0, 0, false
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	if point >= 0 {
		scale = len(s) - point - 1
	}
	if neg {
		c = -c
	}
	return c, scale, true
}

// mulSmall returns a*b, and false when it does not fit an int64.
func mulSmall(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(absU(a), absU(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if (a < 0) != (b < 0) {
		return -int64(lo), true
	}
	return int64(lo), true
}

func absU(a int64) uint64 {
	if a < 0 {
		return uint64(-a)
	}
	return uint64(a)
}

// digits is the number of decimal digits of u (1 for 0).
func digits(u uint64) int {
	n := 1
	for ; u >= 10; u /= 10 {
		n++
	}
	return n
}

// scaleUp returns c * 10^n, and false when it does not fit.
func scaleUp(c int64, n int) (int64, bool) {
	if n < 0 || n >= len(pow10) {
		return 0, false
	}
	return mulSmall(c, pow10[n])
}

// quoRound returns n / d rounded half away from zero (d != 0).
func quoRound(n, d int64) int64 {
	q, r := n/d, n%d
	if absU(r) >= absU(d)-absU(r) { // 2|r| >= |d|, without overflow
		if (n < 0) != (d < 0) {
			q--
		} else {
			q++
		}
	}
	return q
}

// smallDecimalArith computes x op y for +, -, * and /, rounded to scale
// (dynamicScale: the scale apd's path would keep), as decimal text; false
// means the operands or the result do not fit, and apd must do it. A
// division by zero is NULL, as in apd's path.
func smallDecimalArith(op string, scale int, x, y string) (types.Value, bool) {
	cx, sx, ok := parseSmallDecimal(x)
	if !ok {
		return types.Null, false
	}
	cy, sy, ok := parseSmallDecimal(y)
	if !ok {
		return types.Null, false
	}
	var c int64
	var s int
	switch op {
	case "+", "-":
		s = max(sx, sy)
		ax, ok1 := scaleUp(cx, s-sx)
		ay, ok2 := scaleUp(cy, s-sy)
		if !ok1 || !ok2 {
			return types.Null, false
		}
		if op == "-" {
			if ay == math.MinInt64 {
				return types.Null, false
			}
			ay = -ay
		}
		c = ax + ay
		if (ax >= 0) == (ay >= 0) && (c >= 0) != (ax >= 0) {
			return types.Null, false
		}
	case "*":
		if c, ok = mulSmall(cx, cy); !ok {
			return types.Null, false
		}
		s = sx + sy
	case "/":
		if cy == 0 {
			return types.Null, true
		}
		if scale == dynamicScale {
			scale = sx + divScaleIncrement // MySQL's rule at run time
		}
		n, ok := scaleUp(cx, sy+scale-sx)
		if !ok {
			return types.Null, false
		}
		return types.NewDecimal(formatSmallDecimal(quoRound(n, cy), scale)), true
	default:
		return types.Null, false
	}
	if scale == dynamicScale {
		scale = min(s, maxDecimalScale)
	}
	switch {
	case s > scale:
		if s-scale >= len(pow10) {
			return types.Null, false
		}
		c = quoRound(c, pow10[s-scale])
	case s < scale:
		if c, ok = scaleUp(c, scale-s); !ok {
			return types.Null, false
		}
	}
	return types.NewDecimal(formatSmallDecimal(c, scale)), true
}

// formatSmallDecimal writes c / 10^scale with scale digits after the
// point, as apd's Text('f') does (no sign on zero).
func formatSmallDecimal(c int64, scale int) string {
	var buf [56]byte
	i := len(buf)
	u := absU(c)
	for range scale {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	if scale > 0 {
		i--
		buf[i] = '.'
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if c < 0 {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
