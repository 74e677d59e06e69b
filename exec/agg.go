package exec

import "context"

// HashAgg is GROUP BY over a changelog: it takes inserts and deletes
// (update pairs count as a delete and an insert) and emits, at each
// barrier, the change of every group touched in the epoch: Insert for a
// new group, an adjacent UpdateDelete/UpdateInsert pair for a changed one,
// Delete for one whose rows are all gone. HAVING filters that output with
// the same rule: a group that starts passing is an Insert, one that stops
// is a Delete. With no GROUP BY keys there is one group that always
// exists, so COUNT(*) of nothing is 0 and is emitted at the first barrier.
//
// Emitting at barriers rather than per row (as RisingWave's hash agg does)
// folds an epoch's changes to a group into one update. A group's state is
// written to the StateTable at the barrier that emits it, so an operator
// opened on the same table continues where the last committed epoch left
// off.
type HashAgg struct {
	c *aggCore
}

var _ Operator = (*HashAgg)(nil)

// NewHashAgg returns a HashAgg; its output rows are the keys, then the
// aggregates.
func NewHashAgg(o AggOptions) (*HashAgg, error) {
	c, err := newAggCore(o)
	if err != nil {
		return nil, err
	}
	return &HashAgg{c: c}, nil
}

// Open restores nothing eagerly: groups are read from oc.State when their
// key comes again.
func (a *HashAgg) Open(_ context.Context, oc *OpContext) error {
	if err := a.c.open(oc.State); err != nil {
		return err
	}
	if a.c.global {
		// The single group: emitted at the first barrier if it is new.
		g, _, err := a.c.groupOf(nil)
		if err != nil {
			return err
		}
		if !g.stored && !g.dirty {
			g.dirty = true
			a.c.dirty = append(a.c.dirty, g)
		}
	}
	return nil
}

// Process folds the batch into the groups; it emits nothing.
func (a *HashAgg) Process(_ context.Context, _ int, b *Batch, _ Output) error {
	for i := 0; i < b.Len(); i++ {
		row := b.Row(i)
		g, _, err := a.c.groupOf(row)
		if err != nil {
			return err
		}
		if err := a.c.apply(g, row, signOf(b.Op(i))); err != nil {
			return err
		}
	}
	return nil
}

// OnWatermark does nothing: a HashAgg's groups never close.
func (a *HashAgg) OnWatermark(context.Context, Watermark, Output) error { return nil }

// OnBarrier emits the epoch's changes and writes their state.
func (a *HashAgg) OnBarrier(_ context.Context, _ Barrier, out Output) error {
	return a.c.flushDirty(out)
}

// Close drops the cache.
func (a *HashAgg) Close() error {
	a.c.dropCache()
	return nil
}

// Groups returns the number of groups held in memory (for tests and metrics).
func (a *HashAgg) Groups() int { return len(a.c.cache) }
