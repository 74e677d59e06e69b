// Package exec is the runtime. This part of it, the row iterators, runs
// queries that need no stream: a pull tree of Values, Series, Filter,
// Project, Aggregate, Sort, Limit and UnionAll over rows, with expressions
// compiled by exec/expr. The streaming operators (change batches,
// watermarks, barriers) live beside them.
package exec

import (
	"context"
	"errors"
	"io"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// RowIter yields rows until it returns io.EOF. The row returned by Next is
// owned by the caller until the next call to Next: iterators may reuse its
// backing array, so a caller that keeps a row copies it. Close releases the
// iterator and its inputs; it is safe to call more than once.
type RowIter interface {
	Next(ctx context.Context) (types.Row, error)
	Close()
}

// ValuesIter yields fixed rows, each computed from expressions (a FROM-less
// SELECT is one empty row).
type ValuesIter struct {
	rows [][]expr.Func
	env  *expr.Env
	i    int
}

// NewValuesIter returns an iterator over rows of compiled expressions.
func NewValuesIter(rows [][]expr.Func, env *expr.Env) *ValuesIter {
	return &ValuesIter{rows: rows, env: env}
}

func (v *ValuesIter) Next(ctx context.Context) (types.Row, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if v.i >= len(v.rows) {
		return nil, io.EOF
	}
	fs := v.rows[v.i]
	v.i++
	row := make(types.Row, len(fs))
	for j, f := range fs {
		val, err := f(nil, v.env)
		if err != nil {
			return nil, err
		}
		row[j] = val
	}
	return row, nil
}

func (v *ValuesIter) Close() {}

// SeriesIter yields BIGINT rows start, start+step, ... up to stop inclusive
// (down to it for a negative step), lazily: a million rows cost one row.
type SeriesIter struct {
	next, stop, step int64
	done             bool
	row              types.Row
	cancel           canceler
}

// NewSeriesIter returns generate_series(start, stop, step). step 0 is 22023.
func NewSeriesIter(start, stop, step int64) (*SeriesIter, error) {
	if step == 0 {
		return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "step size cannot equal zero")
	}
	return &SeriesIter{next: start, stop: stop, step: step, row: make(types.Row, 1)}, nil
}

func (s *SeriesIter) Next(ctx context.Context) (types.Row, error) {
	if s.done || (s.step > 0 && s.next > s.stop) || (s.step < 0 && s.next < s.stop) {
		s.done = true
		return nil, io.EOF
	}
	if err := s.cancel.step(ctx); err != nil {
		return nil, err
	}
	s.row[0] = types.NewInt(s.next)
	n := s.next + s.step
	if (s.step > 0 && n < s.next) || (s.step < 0 && n > s.next) {
		s.done = true // the next value would overflow: this was the last
	}
	s.next = n
	return s.row, nil
}

func (s *SeriesIter) Close() {}

// FilterIter passes the rows for which a predicate is TRUE.
type FilterIter struct {
	in     RowIter
	pred   func(types.Row, *expr.Env) (bool, error)
	env    *expr.Env
	cancel canceler
}

// NewFilterIter returns in filtered by pred.
func NewFilterIter(in RowIter, pred func(types.Row, *expr.Env) (bool, error), env *expr.Env) *FilterIter {
	return &FilterIter{in: in, pred: pred, env: env}
}

func (f *FilterIter) Next(ctx context.Context) (types.Row, error) {
	for {
		if err := f.cancel.step(ctx); err != nil {
			return nil, err
		}
		row, err := f.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		ok, err := f.pred(row, f.env)
		if err != nil {
			return nil, err
		}
		if ok {
			return row, nil
		}
	}
}

func (f *FilterIter) Close() { f.in.Close() }

// ProjectIter computes one output row from each input row. It reuses its
// output row between calls.
type ProjectIter struct {
	in    RowIter
	exprs []expr.Func
	env   *expr.Env
	out   types.Row
}

// NewProjectIter returns in mapped through exprs.
func NewProjectIter(in RowIter, exprs []expr.Func, env *expr.Env) *ProjectIter {
	return &ProjectIter{in: in, exprs: exprs, env: env, out: make(types.Row, len(exprs))}
}

func (p *ProjectIter) Next(ctx context.Context) (types.Row, error) {
	row, err := p.in.Next(ctx)
	if err != nil {
		return nil, err
	}
	for i, f := range p.exprs {
		v, err := f(row, p.env)
		if err != nil {
			return nil, err
		}
		p.out[i] = v
	}
	return p.out, nil
}

func (p *ProjectIter) Close() { p.in.Close() }

// LimitIter skips offset rows and then passes at most count (count < 0: all).
type LimitIter struct {
	in            RowIter
	count, offset int64
	seen          int64
	cancel        canceler
}

// NewLimitIter returns in limited to count rows after skipping offset.
func NewLimitIter(in RowIter, count, offset int64) *LimitIter {
	return &LimitIter{in: in, count: count, offset: offset}
}

func (l *LimitIter) Next(ctx context.Context) (types.Row, error) {
	for l.offset > 0 {
		if err := l.cancel.step(ctx); err != nil {
			return nil, err
		}
		if _, err := l.in.Next(ctx); err != nil {
			return nil, err
		}
		l.offset--
	}
	if l.count >= 0 && l.seen >= l.count {
		return nil, io.EOF
	}
	row, err := l.in.Next(ctx)
	if err != nil {
		return nil, err
	}
	l.seen++
	return row, nil
}

func (l *LimitIter) Close() { l.in.Close() }

// SortKey is one ORDER BY key: a column of the input row.
type SortKey struct {
	Column int
	Desc   bool
	// NullsFirst puts NULLs before values; Postgres's default is NULLS
	// LAST for ascending and NULLS FIRST for descending keys.
	NullsFirst bool
}

// SortIter reads its whole input, then yields it ordered by keys. The sort is
// stable, so equal keys keep input order.
type SortIter struct {
	in     RowIter
	keys   []SortKey
	rows   []types.Row
	loaded bool
	i      int
	cancel canceler
}

// NewSortIter returns in ordered by keys.
func NewSortIter(in RowIter, keys []SortKey) *SortIter { return &SortIter{in: in, keys: keys} }

func (s *SortIter) Next(ctx context.Context) (types.Row, error) {
	if !s.loaded {
		for {
			if err := s.cancel.step(ctx); err != nil {
				return nil, err
			}
			row, err := s.in.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			s.rows = append(s.rows, append(types.Row(nil), row...))
		}
		if err := sortRows(ctx, s.rows, s.compare); err != nil {
			return nil, err
		}
		s.loaded = true
	}
	if s.i >= len(s.rows) {
		return nil, io.EOF
	}
	s.i++
	return s.rows[s.i-1], nil
}

// compare orders two rows by the sort keys: negative when a comes first.
func (s *SortIter) compare(a, b types.Row) int {
	for _, k := range s.keys {
		x, y := a[k.Column], b[k.Column]
		xn, yn := x.IsNull(), y.IsNull()
		switch {
		case xn && yn:
			continue
		case xn || yn:
			// The NULL one comes first exactly when NULLs go first.
			if xn == k.NullsFirst {
				return -1
			}
			return 1
		}
		c := expr.Compare(x, y)
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func (s *SortIter) Close() { s.in.Close() }

// AggregateIter groups its input by key expressions and computes aggregates
// per group: output rows are the keys followed by the aggregates' results.
// With no keys it yields exactly one row, even for empty input.
type AggregateIter struct {
	in     RowIter
	keys   []expr.Func
	aggs   []*expr.Agg
	args   []expr.Func // nil entry for COUNT(*)
	env    *expr.Env
	out    []types.Row
	loaded bool
	i      int
	cancel canceler
}

// NewAggregateIter returns the grouped aggregation of in. args[i] evaluates
// aggs[i]'s argument (nil for COUNT(*)).
func NewAggregateIter(in RowIter, keys []expr.Func, aggs []*expr.Agg, args []expr.Func, env *expr.Env) *AggregateIter {
	return &AggregateIter{in: in, keys: keys, aggs: aggs, args: args, env: env}
}

type iterGroup struct {
	key    types.Row
	states []expr.AggState
}

func (a *AggregateIter) newGroup(key types.Row) *iterGroup {
	g := &iterGroup{key: key, states: make([]expr.AggState, len(a.aggs))}
	for i, ag := range a.aggs {
		g.states[i] = ag.NewState(a.env)
	}
	return g
}

func (a *AggregateIter) load(ctx context.Context) error {
	groups := map[string]*iterGroup{}
	var order []*iterGroup
	var kb []byte
	for {
		if err := a.cancel.step(ctx); err != nil {
			return err
		}
		row, err := a.in.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		key := make(types.Row, len(a.keys))
		kb = kb[:0]
		for i, f := range a.keys {
			v, err := f(row, a.env)
			if err != nil {
				return err
			}
			key[i] = v
			kb = append(kb, expr.Key(v)...)
			kb = append(kb, 0xff)
		}
		g, ok := groups[string(kb)]
		if !ok {
			g = a.newGroup(key)
			groups[string(kb)] = g
			order = append(order, g)
		}
		for i, st := range g.states {
			var v types.Value
			if a.args[i] != nil {
				if v, err = a.args[i](row, a.env); err != nil {
					return err
				}
			}
			if err := st.Add(v); err != nil {
				return err
			}
		}
	}
	if len(a.keys) == 0 && len(order) == 0 {
		order = append(order, a.newGroup(nil))
	}
	for _, g := range order {
		row := make(types.Row, 0, len(a.keys)+len(a.aggs))
		row = append(row, g.key...)
		for _, st := range g.states {
			v, err := st.Result()
			if err != nil {
				return err
			}
			row = append(row, v)
		}
		a.out = append(a.out, row)
	}
	return nil
}

func (a *AggregateIter) Next(ctx context.Context) (types.Row, error) {
	if !a.loaded {
		if err := a.load(ctx); err != nil {
			return nil, err
		}
		a.loaded = true
	}
	if a.i >= len(a.out) {
		return nil, io.EOF
	}
	a.i++
	return a.out[a.i-1], nil
}

func (a *AggregateIter) Close() { a.in.Close() }

// UnionAllIter yields every row of each input in turn.
type UnionAllIter struct {
	ins []RowIter
	i   int
}

// NewUnionAllIter concatenates inputs.
func NewUnionAllIter(ins ...RowIter) *UnionAllIter { return &UnionAllIter{ins: ins} }

func (u *UnionAllIter) Next(ctx context.Context) (types.Row, error) {
	for u.i < len(u.ins) {
		row, err := u.ins[u.i].Next(ctx)
		if errors.Is(err, io.EOF) {
			u.i++
			continue
		}
		return row, err
	}
	return nil, io.EOF
}

func (u *UnionAllIter) Close() {
	for _, in := range u.ins {
		in.Close()
	}
}

// Drain reads every row of it (copying each) and closes it; for tests and
// callers that want a slice.
func Drain(ctx context.Context, it RowIter) ([]types.Row, error) {
	defer it.Close()
	var out []types.Row
	for {
		row, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, append(types.Row(nil), row...))
	}
}

var (
	_ RowIter = (*ValuesIter)(nil)
	_ RowIter = (*SeriesIter)(nil)
	_ RowIter = (*FilterIter)(nil)
	_ RowIter = (*ProjectIter)(nil)
	_ RowIter = (*LimitIter)(nil)
	_ RowIter = (*SortIter)(nil)
	_ RowIter = (*AggregateIter)(nil)
	_ RowIter = (*UnionAllIter)(nil)
)
