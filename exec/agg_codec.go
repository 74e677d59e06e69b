package exec

import (
	"encoding/binary"

	"github.com/cockroachdb/apd/v3"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// State keys of the aggregation operators, built only from the state
// package's order-preserving codec:
//
//	group summary     kg(2) | group key | 0x10                 → rows, accumulators, MIN/MAX bests
//	value count       kg(2) | group key | 0x11 | agg | value   → count, value   (MIN, MAX, DISTINCT)
//	session list      kg(2) | group key | 0x12                 → the key's open sessions
//	window index      kg(2) | 0xFE | window_end | group key     → (empty)
//	operator metadata 0xFF 0xFF | name                           (outside every key group)
//
// kg is the key group: a hash of the encoded group key modulo KeyGroups.
// An encoded group key starts with 0x00 or 0x01 (NULL or value marker) per
// column, so 0xFE after kg never collides with one, and a group key is
// prefix-free, so a suffix never collides with a longer key. MAX orders
// its values with every byte complemented, so that for both MIN and MAX
// the best value is the first key of its range.
const (
	sfxSummary  byte = 0x10
	sfxValue    byte = 0x11
	sfxSessions byte = 0x12
	markWindow  byte = 0xFE
)

var metaWatermark = []byte{0xFF, 0xFF, 'w'}

// keyGroupOf hashes an encoded key (FNV-1a) into a key group.
func keyGroupOf(enc []byte) uint16 {
	h := uint32(2166136261)
	for _, c := range enc {
		h ^= uint32(c)
		h *= 16777619
	}
	return uint16(h % KeyGroups)
}

// appendGroupPrefix appends kg | encoded key for the key values.
func appendGroupPrefix(b []byte, key types.Row) []byte {
	start := len(b)
	b = append(b, 0, 0)
	for _, v := range key {
		b = appendKeyValue(b, v)
	}
	binary.BigEndian.PutUint16(b[start:], keyGroupOf(b[start+2:]))
	return b
}

// appendKeyValue appends v in an order-preserving form: NULL first, then
// values in SQL order. Equal values have equal encodings (1.0 and 1.00,
// -0 and 0 are one key).
func appendKeyValue(b []byte, v types.Value) []byte {
	switch v.Kind() {
	case types.Unknown:
		return state.AppendNull(b)
	case types.Int, types.Bool, types.Date, types.Timestamp:
		return state.AppendInt64(state.AppendNotNull(b), v.Int())
	case types.Float:
		return state.AppendFloat64(state.AppendNotNull(b), v.Float())
	case types.Decimal:
		return appendDecimalKey(state.AppendNotNull(b), v.Str())
	case types.Interval:
		m, us := v.IntervalParts()
		const month = 30 * 86400 * 1e6
		b = state.AppendFloat64(state.AppendNotNull(b), float64(m)*month+float64(us))
		return state.AppendInt64(state.AppendInt64(b, m), us)
	}
	return state.AppendBytes(state.AppendNotNull(b), v.Str())
}

// appendDecimalKey orders decimals by sign, then by adjusted exponent and
// digits (ascending for positive numbers; the complement of that for
// negative ones, so that larger magnitudes sort first).
func appendDecimalKey(b []byte, text string) []byte {
	var d apd.Decimal
	if _, _, err := d.SetString(text); err != nil || d.Form != apd.Finite {
		return state.AppendBytes(append(b, 0x04), text) // not produced by us; keep it distinct
	}
	d.Reduce(&d)
	if d.IsZero() {
		return append(b, 0x02)
	}
	digits := d.Coeff.String()
	adj := int64(d.Exponent) + int64(len(digits))
	if !d.Negative {
		b = append(b, 0x03)
		return state.AppendBytes(state.AppendInt64(b, adj), digits)
	}
	b = append(b, 0x01)
	start := len(b)
	b = state.AppendBytes(state.AppendInt64(b, adj), digits)
	complementFrom(b, start)
	return b
}

// complementFrom flips every byte of b from start on: descending order of
// a prefix-free encoding.
func complementFrom(b []byte, start int) {
	for i := start; i < len(b); i++ {
		b[i] = ^b[i]
	}
}

// prefixEnd returns the smallest key greater than every key starting with
// p, or nil when there is none.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Rows in state (not ordered): a count, then each value in
// types.AppendValue's form.

var errShortValue = types.ErrShortValue

func appendRow(b []byte, r types.Row) []byte {
	b = binary.AppendUvarint(b, uint64(len(r)))
	for _, v := range r {
		b = types.AppendValue(b, v)
	}
	return b
}

func readRow(b []byte) (types.Row, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, b, errShortValue
	}
	b = b[k:]
	r := make(types.Row, n)
	for i := range r {
		var err error
		if r[i], b, err = types.ReadValue(b); err != nil {
			return nil, b, err
		}
	}
	return r, b, nil
}

func readVarint(b []byte) (int64, []byte, error) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, b, errShortValue
	}
	return v, b[n:], nil
}
