package gen

import (
	"context"
	"time"
)

// Split walks one split's share of a source's rows: with Count splits,
// split Index yields rows Index, Index+Count, Index+2*Count, ... (rows
// counted over the whole source), so splits need not talk to each other
// and a split resumes from a single number, its Offset.
type Split struct {
	next  int64 // the next row this split yields, counted over the whole source
	index int64
	count int64
	limit int64 // rows in the whole source; -1 unbounded
}

// NewSplit returns split index of count (count 0 means 1), resumed after
// offset of its own rows, over a source of limit rows (-1: unbounded). The
// caller has validated index, count and offset.
func NewSplit(index, count int, offset, limit int64) Split {
	c := max(int64(count), 1)
	return Split{next: int64(index) + offset*c, index: int64(index), count: c, limit: limit}
}

// Row is the next row this split yields, counted over the whole source.
func (s *Split) Row() int64 { return s.next }

// Advance moves past Row.
func (s *Split) Advance() { s.next += s.count }

// Count is the number of splits (at least 1).
func (s *Split) Count() int64 { return s.count }

// Offset is the number of rows this split has yielded, counting the offset
// it was resumed at: the value to checkpoint and pass back to NewSplit.
func (s *Split) Offset() int64 { return (s.next - s.index) / s.count }

// Done reports whether the split has yielded all its rows.
func (s *Split) Done() bool { return s.limit >= 0 && s.next >= s.limit }

// BatchLen is how many rows the next batch holds: asked (at least 1), no
// more than the split has left, and no more than paced when paced > 0 (a
// generator's pacing cap, so a batch does not hold rows back long past
// their due time).
func (s *Split) BatchLen(asked int, paced int64) int64 {
	n := int64(max(asked, 1))
	if s.limit >= 0 {
		n = min(n, (s.limit-s.next+s.count-1)/s.count)
	}
	if paced > 0 {
		n = min(n, paced)
	}
	return n
}

// Pacer holds batches back by the wall clock. Its clock starts at the
// first Wait, so time spent before the first batch (setup, a slow reader)
// does not count as lag to catch up on.
type Pacer struct {
	start time.Time
}

// Wait returns once the wall clock reaches since after the first Wait, or
// with ctx's error once ctx is done (also when nothing was left to wait
// for, so a cancelled reader stops at the next batch).
func (p *Pacer) Wait(ctx context.Context, since time.Duration) error {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	wait := time.Until(p.start.Add(since))
	if wait <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
