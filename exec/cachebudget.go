package exec

import "sync/atomic"

// CacheBudget is one byte budget shared by the caches of every view's
// operators (the joins' rows and the aggregates' groups), so that many views together stay
// within the engine's memory limit however their caches are sized.
//
// A cache owned by one goroutine cannot be emptied from another, so the
// budget is enforced by whoever grows: a cache that grows while the total
// is over the limit evicts its own entries first. The cache that grows most
// is the one that meets the pressure most often and so shrinks most; an
// idle cache keeps what it has, which is within the limit anyway.
type CacheBudget struct {
	limit int64
	used  atomic.Int64
}

// NewCacheBudget returns a budget of limit bytes.
func NewCacheBudget(limit int64) *CacheBudget { return &CacheBudget{limit: limit} }

// Add counts n more bytes (less when negative) and reports whether the
// total is now over the limit. A nil budget is unlimited.
func (b *CacheBudget) Add(n int64) bool {
	if b == nil {
		return false
	}
	return b.used.Add(n) > b.limit
}

// Over reports whether the total is over the limit.
func (b *CacheBudget) Over() bool { return b != nil && b.used.Load() > b.limit }

// Limit returns the budget's limit in bytes (0 for a nil budget).
func (b *CacheBudget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit
}

// Used returns the bytes counted.
func (b *CacheBudget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}
