package state

import (
	"bytes"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestKeys_OrderMatchesValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t.Run("int64", func(t *testing.T) {
		vals := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}
		for range 200 {
			vals = append(vals, int64(rng.Uint64()))
		}
		checkOrder(t, len(vals),
			func(i, j int) bool { return vals[i] < vals[j] },
			func(i int) []byte { return AppendInt64(nil, vals[i]) })
		for _, v := range vals {
			got, rest, err := ReadInt64(AppendInt64(nil, v))
			if err != nil || got != v || len(rest) != 0 {
				t.Fatalf("round trip %d: got %d, %v", v, got, err)
			}
		}
	})
	t.Run("float64", func(t *testing.T) {
		vals := []float64{math.Inf(-1), -1e300, -1, -1e-300, 0, 1e-300, 1, 1e300, math.Inf(1)}
		for range 200 {
			vals = append(vals, rng.NormFloat64()*1e6)
		}
		checkOrder(t, len(vals),
			func(i, j int) bool { return vals[i] < vals[j] },
			func(i int) []byte { return AppendFloat64(nil, vals[i]) })
		for _, v := range vals {
			got, _, err := ReadFloat64(AppendFloat64(nil, v))
			if err != nil || got != v {
				t.Fatalf("round trip %g: got %g, %v", v, got, err)
			}
		}
	})
	t.Run("bytes", func(t *testing.T) {
		vals := []string{"", "\x00", "\x00\x00", "\x00\x01", "a", "a\x00", "a\x00b", "ab", "b", "\xff"}
		for range 200 {
			n := rng.IntN(4)
			s := make([]byte, n)
			for i := range s {
				s[i] = []byte{0, 1, 'a', 0xff}[rng.IntN(4)]
			}
			vals = append(vals, string(s))
		}
		// Composite keys: the string then an int must order by string first.
		checkOrder(t, len(vals),
			func(i, j int) bool { return vals[i] < vals[j] },
			func(i int) []byte { return AppendInt64(AppendBytes(nil, vals[i]), 7) })
		for _, v := range vals {
			got, rest, err := ReadBytes(AppendBytes(nil, v))
			if err != nil || got != v || len(rest) != 0 {
				t.Fatalf("round trip %q: got %q, %v", v, got, err)
			}
		}
	})
	t.Run("null first", func(t *testing.T) {
		null := AppendNull(nil)
		val := AppendInt64(AppendNotNull(nil), math.MinInt64)
		if bytes.Compare(null, val) >= 0 {
			t.Fatal("NULL must sort before every value")
		}
	})
}

// checkOrder sorts indexes by value and checks the encodings come out in
// the same order.
func checkOrder(t *testing.T, n int, less func(i, j int) bool, enc func(i int) []byte) {
	t.Helper()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return less(idx[a], idx[b]) })
	for k := 1; k < n; k++ {
		a, b := enc(idx[k-1]), enc(idx[k])
		if less(idx[k-1], idx[k]) && bytes.Compare(a, b) >= 0 {
			t.Fatalf("encodings out of order at %d: %x >= %x", k, a, b)
		}
	}
}
