package nexmark

import "math/bits"

// rng is a splitmix64 stream. Every event gets its own, seeded from the
// run's seed and the event's id, so any event can be generated on its own:
// that is what makes the generator splittable and deterministic without
// shared state (the reference generator seeds its Random with the event id
// for the same reason).
type rng struct{ s uint64 }

func newRNG(seed uint64, id int64) rng {
	r := rng{s: seed ^ (uint64(id)+1)*0x9e3779b97f4a7c15}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n) for n > 0 (multiply-shift; the bias is
// below 2^-32 for the small n used here).
func (r *rng) intn(n int64) int64 {
	if n <= 1 {
		return 0
	}
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int64(hi)
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }
