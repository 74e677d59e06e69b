package exec

import (
	"context"
	"slices"
)

// cancelCheckEvery is how many rows or items a loop handles between looks
// at its context: often enough that a cancelled statement stops within
// microseconds of work, rarely enough to cost nothing per row.
const cancelCheckEvery = 1024

// canceler is the count of a loop that looks at its context every
// cancelCheckEvery steps. Every loop of a row iterator that can run long
// without returning a row (reading an input to aggregate, sort or hash it,
// skipping an OFFSET, filtering, generating) steps one.
type canceler struct{ n uint }

// step returns the context's error on every cancelCheckEvery-th call; a
// cancelled or timed-out statement gets its context's error as is.
func (c *canceler) step(ctx context.Context) error {
	if c.n++; c.n%cancelCheckEvery != 0 {
		return nil
	}
	return ctx.Err()
}

// sortRunLen is the length of the runs sortRows sorts before merging them.
const sortRunLen = 4096

// sortRows sorts rows stably by cmp: runs of sortRunLen rows, then merged
// bottom-up, looking at ctx between runs and every cancelCheckEvery merged
// rows, so that a sort of millions of rows does not outlive its statement.
func sortRows[T any](ctx context.Context, rows []T, cmp func(a, b T) int) error {
	n := len(rows)
	for lo := 0; lo < n; lo += sortRunLen {
		if err := ctx.Err(); err != nil {
			return err
		}
		slices.SortStableFunc(rows[lo:min(lo+sortRunLen, n)], cmp)
	}
	if n <= sortRunLen {
		return nil
	}
	var c canceler
	src, dst := rows, make([]T, n)
	for width := sortRunLen; width < n; width *= 2 {
		for lo := 0; lo < n; lo += 2 * width {
			mid, hi := min(lo+width, n), min(lo+2*width, n)
			// Merge src[lo:mid] and src[mid:hi] into dst[lo:hi]; ties
			// take the left run's row first, which keeps the sort stable.
			i, j := lo, mid
			for k := lo; k < hi; k++ {
				if err := c.step(ctx); err != nil {
					return err
				}
				if j >= hi || (i < mid && cmp(src[i], src[j]) <= 0) {
					dst[k], i = src[i], i+1
				} else {
					dst[k], j = src[j], j+1
				}
			}
		}
		src, dst = dst, src
	}
	if &src[0] != &rows[0] {
		copy(rows, src)
	}
	return nil
}
