package expr

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/streamsql/streamsql/sql/types"
)

// StatAcc accumulates STDDEV/VARIANCE or BIT_AND/OR/XOR of one group under
// inserts and retractions, in constant space per group for the statistics
// and BIT_XOR, and a count per bit for BIT_AND and BIT_OR (the only way
// to take a value back out of an AND or an OR). DISTINCT forms keep the
// multiset instead (MultiResult), and feed it through a StatAcc.
//
// The variance uses Welford's running mean and sum of squared deviations
// (M2), updated by k copies of x at once with Chan's formula, which holds
// for negative k too (a retraction): it does not cancel the way a sum of
// squares minus a squared sum does. Once every value is retracted the
// accumulator starts again from exact zeros.
type StatAcc struct {
	N    int64
	mean float64
	m2   float64
	xor  uint64
	bits []int64 // BIT_AND, BIT_OR: values with each bit set
}

// Stat reports whether a is computed by a StatAcc: the statistics and
// BIT_* without DISTINCT.
func (a *Agg) Stat() bool {
	if a.Distinct {
		return false
	}
	switch a.Name {
	case "stddev_pop", "stddev_samp", "var_pop", "var_samp", "bit_and", "bit_or", "bit_xor":
		return true
	}
	return false
}

// Add adds k copies of v (k < 0 retracts). NULL is ignored. v is DOUBLE
// for the statistics and BIGINT for BIT_* (see NewAgg).
func (s *StatAcc) Add(a *Agg, v types.Value, k int64) {
	if v.IsNull() || k == 0 {
		return
	}
	s.N += k
	if s.N == 0 {
		*s = StatAcc{}
		return
	}
	switch a.Name {
	case "bit_xor":
		if k%2 != 0 {
			s.xor ^= uint64(v.Int())
		}
	case "bit_and", "bit_or":
		if s.bits == nil {
			s.bits = make([]int64, 64)
		}
		for x := uint64(v.Int()); x != 0; x &= x - 1 {
			s.bits[bits.TrailingZeros64(x)] += k
		}
	default:
		x := v.Float()
		d := x - s.mean
		s.mean += d * float64(k) / float64(s.N)
		s.m2 += float64(k) * d * (x - s.mean)
		if s.m2 < 0 {
			s.m2 = 0 // rounding after a retraction
		}
	}
}

// Result returns a's value for what s holds.
func (s *StatAcc) Result(a *Agg) types.Value {
	if s.N <= 0 {
		return a.EmptyResult()
	}
	switch a.Name {
	case "bit_xor":
		return unsignedValue(s.xor)
	case "bit_and", "bit_or":
		var r uint64
		for i, c := range s.bits {
			if (a.Name == "bit_or" && c > 0) || (a.Name == "bit_and" && c == s.N) {
				r |= 1 << i
			}
		}
		return unsignedValue(r)
	}
	div := float64(s.N)
	if a.Name == "var_samp" || a.Name == "stddev_samp" {
		if s.N < 2 {
			return types.Null
		}
		div--
	}
	r := s.m2 / div
	if a.Name == "stddev_pop" || a.Name == "stddev_samp" {
		r = math.Sqrt(r)
	}
	return types.NewFloat(r)
}

// AppendBinary appends s in the form ReadBinary reads.
func (s *StatAcc) AppendBinary(b []byte) []byte {
	b = binary.AppendVarint(b, s.N)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.mean))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.m2))
	b = binary.AppendUvarint(b, s.xor)
	if s.bits == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	for _, c := range s.bits {
		b = binary.AppendVarint(b, c)
	}
	return b
}

// ReadBinary reads what AppendBinary wrote into s and returns the rest.
func (s *StatAcc) ReadBinary(b []byte) ([]byte, error) {
	*s = StatAcc{}
	n, k := binary.Varint(b)
	if k <= 0 || len(b) < k+16 {
		return b, errShortAcc
	}
	s.N = n
	b = b[k:]
	s.mean = math.Float64frombits(binary.LittleEndian.Uint64(b))
	s.m2 = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	b = b[16:]
	x, k := binary.Uvarint(b)
	if k <= 0 || len(b) <= k {
		return b, errShortAcc
	}
	s.xor = x
	hasBits := b[k]
	b = b[k+1:]
	if hasBits == 1 {
		s.bits = make([]int64, 64)
		for i := range s.bits {
			c, k := binary.Varint(b)
			if k <= 0 {
				return b, errShortAcc
			}
			s.bits[i], b = c, b[k:]
		}
	}
	return b, nil
}

// statState is a StatAcc's accumulator in one-off queries.
type statState struct {
	agg *Agg
	acc StatAcc
}

func (s *statState) Add(v types.Value) error {
	s.acc.Add(s.agg, v, 1)
	return nil
}

func (s *statState) Result() (types.Value, error) { return s.acc.Result(s.agg), nil }
