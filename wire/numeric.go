package wire

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/sql/types"
)

// Binary numeric is Postgres's NumericVar on the wire: ndigits, weight, sign
// and dscale as 16-bit integers, then ndigits base-10000 digits. The value
// is the sum of digit[k] * 10000^(weight-k); dscale is the number of
// decimal digits after the point to display.
const (
	numericPos = 0x0000
	numericNeg = 0x4000
	numericNaN = 0xC000
)

// appendNumericBinary appends the binary form of decimal text.
func appendNumericBinary(dst []byte, text string) ([]byte, error) {
	if text == "NaN" {
		return append(dst, 0, 0, 0, 0, numericNaN>>8, 0, 0, 0), nil
	}
	plain, err := types.CanonicalDecimal(text)
	if err != nil {
		return dst, fmt.Errorf("encode numeric %q: %w", text, err)
	}
	sign := uint16(numericPos)
	if strings.HasPrefix(plain, "-") {
		sign = numericNeg
		plain = plain[1:]
	}
	intPart, frac, _ := strings.Cut(plain, ".")
	intPart = strings.TrimLeft(intPart, "0")
	dscale := len(frac)

	// Align on the point: pad the integer part on the left and the fraction
	// on the right to whole groups of four decimal digits.
	intGroups := (len(intPart) + 3) / 4
	fracGroups := (len(frac) + 3) / 4
	weight := intGroups - 1
	digits := make([]uint16, 0, intGroups+fracGroups)
	lead := intGroups*4 - len(intPart)
	for g := 0; g < intGroups; g++ {
		digits = append(digits, group(intPart, g*4-lead))
	}
	for g := 0; g < fracGroups; g++ {
		digits = append(digits, group(frac, g*4))
	}
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
		weight--
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		weight, sign = 0, numericPos
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(digits)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(weight)))
	dst = binary.BigEndian.AppendUint16(dst, sign)
	dst = binary.BigEndian.AppendUint16(dst, uint16(dscale))
	for _, d := range digits {
		dst = binary.BigEndian.AppendUint16(dst, d)
	}
	return dst, nil
}

// group reads four decimal digits of s starting at i; positions outside s
// count as zeros.
func group(s string, i int) uint16 {
	var g uint16
	for j := i; j < i+4; j++ {
		g *= 10
		if j >= 0 && j < len(s) {
			g += uint16(s[j] - '0')
		}
	}
	return g
}

// decodeNumericBinary returns the canonical decimal text of a binary numeric.
func decodeNumericBinary(b []byte) (string, error) {
	if len(b) < 8 {
		return "", fmt.Errorf("numeric of %d bytes", len(b))
	}
	ndigits := int(binary.BigEndian.Uint16(b))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := int(int16(binary.BigEndian.Uint16(b[6:])))
	if len(b) != 8+2*ndigits || dscale < 0 {
		return "", fmt.Errorf("numeric with %d digits in %d bytes", ndigits, len(b))
	}
	switch sign {
	case numericNaN:
		return "NaN", nil
	case numericPos, numericNeg:
	default:
		return "", fmt.Errorf("numeric with sign %#x", sign)
	}
	digit := func(k int) int {
		if k < 0 || k >= ndigits {
			return 0
		}
		d := int(binary.BigEndian.Uint16(b[8+2*k:]))
		return d
	}
	var out []byte
	if weight < 0 {
		out = append(out, '0')
	} else {
		for p := weight; p >= 0; p-- {
			d := digit(weight - p)
			if d > 9999 {
				return "", fmt.Errorf("numeric digit %d", d)
			}
			if p == weight {
				out = fmt.Appendf(out, "%d", d)
			} else {
				out = append(out, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
			}
		}
	}
	if dscale > 0 {
		out = append(out, '.')
		n := 0
		for p := -1; n < dscale; p-- {
			d := digit(weight - p)
			for _, c := range [4]byte{byte('0' + d/1000), byte('0' + d/100%10), byte('0' + d/10%10), byte('0' + d%10)} {
				if n < dscale {
					out = append(out, c)
					n++
				}
			}
		}
	}
	s := string(out)
	if sign == numericNeg && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return s, nil
}
