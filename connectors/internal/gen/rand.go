// Package gen owns what the built-in generators (nexmark, datagen) share:
// deterministic per-event random numbers, and paced batch generation over
// one split of a source (which rows a split yields, how many go in a
// batch, and holding a batch back until the wall clock says it is due).
//
// It knows nothing of rows or SQL types, so that each generator keeps its
// own model and only the mechanics live here.
package gen

import "math/bits"

// RNG is a splitmix64 stream. Every event gets its own, seeded from the
// run's seed and the event's id, so any event can be generated on its own:
// that is what makes a generator splittable and deterministic without
// shared state (the Nexmark reference generator seeds its Random with the
// event id for the same reason).
//
// The sequence a (seed, id) yields is part of the generators' contract
// (the same seed gives the same rows across releases); do not change it.
type RNG struct{ s uint64 }

// NewRNG returns the stream of event id under seed.
func NewRNG(seed uint64, id int64) RNG {
	r := RNG{s: seed ^ (uint64(id)+1)*0x9e3779b97f4a7c15}
	r.Next()
	return r
}

// Next returns the next 64 random bits.
func (r *RNG) Next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Intn returns a number in [0, n), or 0 for n <= 1 (multiply-shift; the
// bias is below 2^-32 for the small n the generators use).
func (r *RNG) Intn(n int64) int64 {
	if n <= 1 {
		return 0
	}
	hi, _ := bits.Mul64(r.Next(), uint64(n))
	return int64(hi)
}

// Float returns a number in [0, 1).
func (r *RNG) Float() float64 { return float64(r.Next()>>11) / (1 << 53) }
