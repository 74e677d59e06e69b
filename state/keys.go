package state

import (
	"encoding/binary"
	"errors"
	"math"
)

// The key codec: append-style encoders whose byte order equals the order of
// the values they encode, so Badger's range scans serve ordered reads of
// views and windows. Every family of keys is built from these and nothing
// else.

// Markers that start each encoded value; NULL sorts before every value.
const (
	markNull  byte = 0x00
	markValue byte = 0x01
)

var errShortKey = errors.New("key too short")

// AppendUint64 appends v big-endian: byte order equals numeric order.
func AppendUint64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// ReadUint64 reads what AppendUint64 wrote and returns the rest.
func ReadUint64(b []byte) (uint64, []byte, error) {
	if len(b) < 8 {
		return 0, b, errShortKey
	}
	return binary.BigEndian.Uint64(b), b[8:], nil
}

// AppendInt64 appends v so that negative numbers sort before positive ones.
func AppendInt64(b []byte, v int64) []byte { return AppendUint64(b, uint64(v)^(1<<63)) }

// ReadInt64 reads what AppendInt64 wrote.
func ReadInt64(b []byte) (int64, []byte, error) {
	u, rest, err := ReadUint64(b)
	return int64(u ^ (1 << 63)), rest, err
}

// AppendFloat64 appends f in an order-preserving form: negative numbers
// have all bits flipped, positive ones only the sign bit.
func AppendFloat64(b []byte, f float64) []byte {
	u := math.Float64bits(f)
	if f == 0 {
		u = 0 // -0 and +0 are one key
	}
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return AppendUint64(b, u)
}

// ReadFloat64 reads what AppendFloat64 wrote.
func ReadFloat64(b []byte) (float64, []byte, error) {
	u, rest, err := ReadUint64(b)
	if u&(1<<63) != 0 {
		u &^= 1 << 63
	} else {
		u = ^u
	}
	return math.Float64frombits(u), rest, err
}

// AppendBytes appends s escaped so that the encoding is prefix-free and
// ordered: 0x00 becomes 0x00 0xFF, and 0x00 0x01 ends the value. A shorter
// string therefore sorts before any longer string it is a prefix of.
func AppendBytes(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		b = append(b, c)
		if c == 0 {
			b = append(b, 0xFF)
		}
	}
	return append(b, 0x00, 0x01)
}

// ReadBytes reads what AppendBytes wrote.
func ReadBytes(b []byte) (string, []byte, error) {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			out = append(out, b[i])
			continue
		}
		if i+1 >= len(b) {
			return "", b, errShortKey
		}
		switch b[i+1] {
		case 0x01:
			return string(out), b[i+2:], nil
		case 0xFF:
			out = append(out, 0)
			i++
		default:
			return "", b, errors.New("bad escape in key")
		}
	}
	return "", b, errShortKey
}

// AppendNull appends a NULL, which sorts before every non-NULL value.
func AppendNull(b []byte) []byte { return append(b, markNull) }

// AppendNotNull appends the marker that precedes every non-NULL value.
func AppendNotNull(b []byte) []byte { return append(b, markValue) }
