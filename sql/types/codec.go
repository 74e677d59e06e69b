package types

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
)

// AppendValue appends v in a compact, unordered binary form: its kind
// byte, then a varint (integers, booleans, dates, timestamps), eight
// bytes (doubles), two varints (intervals) or a length and the bytes
// (text, decimals, JSON, bytes). It is the form operator state and packed
// aggregate arguments keep values in; ReadValue reads it back.
func AppendValue(b []byte, v Value) []byte {
	b = append(b, byte(v.Kind()))
	switch v.Kind() {
	case Unknown:
	case Int, Bool, Date, Timestamp:
		b = binary.AppendVarint(b, v.Int())
	case Float:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float()))
	case Interval:
		m, us := v.IntervalParts()
		b = binary.AppendVarint(binary.AppendVarint(b, m), us)
	default:
		s := v.Str()
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// ErrShortValue is ReadValue's error for bytes that end inside a value.
var ErrShortValue = errors.New("encoded value truncated")

// ReadValue reads one value written by AppendValue from the front of b and
// returns it with the rest of b. Text is copied out of b.
func ReadValue(b []byte) (Value, []byte, error) {
	if len(b) == 0 {
		return Null, b, ErrShortValue
	}
	k := Kind(b[0])
	b = b[1:]
	switch k {
	case Unknown:
		return Null, b, nil
	case Int, Bool, Date, Timestamp:
		i, n := binary.Varint(b)
		if n <= 0 {
			return Null, b, ErrShortValue
		}
		b = b[n:]
		switch k {
		case Bool:
			return NewBool(i != 0), b, nil
		case Date:
			return NewDate(i), b, nil
		case Timestamp:
			return NewTimestamp(i), b, nil
		}
		return NewInt(i), b, nil
	case Float:
		if len(b) < 8 {
			return Null, b, ErrShortValue
		}
		return NewFloat(math.Float64frombits(binary.LittleEndian.Uint64(b))), b[8:], nil
	case Interval:
		m, n := binary.Varint(b)
		if n <= 0 {
			return Null, b, ErrShortValue
		}
		us, n2 := binary.Varint(b[n:])
		if n2 <= 0 {
			return Null, b, ErrShortValue
		}
		return NewInterval(m, us), b[n+n2:], nil
	}
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return Null, b, ErrShortValue
	}
	s := strings.Clone(string(b[n : n+int(l)]))
	b = b[n+int(l):]
	switch k {
	case String:
		return NewString(s), b, nil
	case Decimal:
		return NewDecimal(s), b, nil
	case JSON:
		return NewJSON(s), b, nil
	case Bytes:
		return NewBytes([]byte(s)), b, nil
	}
	return Null, b, errors.New("encoded value of unknown kind")
}
