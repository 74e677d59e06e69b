package planner

import (
	"context"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// joinSpec is a Join's condition split for a hash join: the equalities
// between a left and a right expression (keys, each pair of one type, the
// right ones over the right row alone) and the rest.
type joinSpec struct {
	leftKeys, rightKeys []expr.Expr
	residual            expr.Expr // over the joined row; nil for none
}

// splitJoin finds j's hash keys: the terms of its condition that equate an
// expression of the left row with one of the right row.
func splitJoin(j *Join) (joinSpec, error) {
	var s joinSpec
	if j.Cond == nil {
		return s, nil
	}
	width := len(j.Left.Columns())
	var rest []expr.Expr
	for _, term := range expr.Conjuncts(j.Cond) {
		l, r, ok := equiTerm(term, width)
		if !ok {
			rest = append(rest, term)
			continue
		}
		if l.Type() != r.Type() {
			t := expr.CommonType(l.Type(), r.Type())
			if t.Kind == types.Unknown {
				rest = append(rest, term)
				continue
			}
			var err error
			if l, err = castTo(l, t); err != nil {
				return s, err
			}
			if r, err = castTo(r, t); err != nil {
				return s, err
			}
		}
		s.leftKeys = append(s.leftKeys, l)
		s.rightKeys = append(s.rightKeys, shiftColumns(r, -width))
	}
	var err error
	s.residual, err = expr.And(rest)
	return s, err
}

// equiTerm reports whether term is l = r with l over columns below width
// and r over columns from width on (or the other way round).
func equiTerm(term expr.Expr, width int) (l, r expr.Expr, ok bool) {
	c, isCall := term.(*expr.Call)
	if !isCall || c.Name != "=" || len(c.Args) != 2 {
		return nil, nil, false
	}
	side := func(e expr.Expr) int { // 0 left, 1 right, -1 neither or both
		lo, hi := expr.ColumnsRead(e)
		switch {
		case lo < 0:
			return -1
		case hi < width:
			return 0
		case lo >= width:
			return 1
		}
		return -1
	}
	a, b := side(c.Args[0]), side(c.Args[1])
	switch {
	case a == 0 && b == 1:
		return c.Args[0], c.Args[1], true
	case a == 1 && b == 0:
		return c.Args[1], c.Args[0], true
	}
	return nil, nil, false
}

func castTo(e expr.Expr, t types.Type) (expr.Expr, error) {
	if e.Type() == t {
		return e, nil
	}
	return expr.NewCast(e, t, 0)
}

// shiftColumns moves every column reference of e by delta.
func shiftColumns(e expr.Expr, delta int) expr.Expr {
	return expr.MapColumns(e, func(c *expr.ColumnRef) expr.Expr {
		d := *c
		d.Index += delta
		return &d
	})
}

// pushFiltersIntoJoin moves conditions to where they cost least: a WHERE
// over a join becomes part of its condition (so that a comma join's
// equality is a hash key), and a term of the condition that reads one side
// only filters that side before the join. Safe: for an inner join, a
// pair passes the condition exactly when both rows pass their one-sided
// terms and the pair passes the rest.
//
// An outer join keeps rows of its outer side that fail the condition, so
// there a term of the condition may only filter the inner side, and a
// WHERE term only goes below the join onto the outer side (a WHERE on the
// inner side's columns also tests the NULLs of unmatched rows: it stays
// above the join).
func pushFiltersIntoJoin(_ context.Context, n Node) (Node, bool, error) {
	var j *Join
	var where []expr.Expr
	switch x := n.(type) {
	case *Filter:
		in, ok := x.Input.(*Join)
		if !ok {
			return n, false, nil
		}
		j, where = in, expr.Conjuncts(x.Cond)
	case *Join:
		j = x
	default:
		return n, false, nil
	}
	var on []expr.Expr
	if j.Cond != nil {
		on = expr.Conjuncts(j.Cond)
	}
	outer := j.Kind.outer()
	width := len(j.Left.Columns())
	var left, right, cond, above []expr.Expr
	moved := false
	place := func(t expr.Expr, fromWhere bool) {
		lo, hi := expr.ColumnsRead(t)
		onLeft, onRight := lo >= 0 && hi < width, lo >= width
		switch {
		case onLeft && (fromWhere && !outer[1] || !fromWhere && !outer[0]):
			left, moved = append(left, t), true
		case onRight && (fromWhere && !outer[0] || !fromWhere && !outer[1]):
			right, moved = append(right, shiftColumns(t, -width)), true
		case fromWhere && j.Kind != InnerJoin:
			above = append(above, t)
		default:
			cond = append(cond, t)
			moved = moved || fromWhere
		}
	}
	for _, t := range where {
		place(t, true)
	}
	for _, t := range on {
		place(t, false)
	}
	if !moved {
		return n, false, nil
	}
	out := &Join{Kind: j.Kind, Left: j.Left, Right: j.Right, Temporal: j.Temporal}
	var err error
	if out.Left, err = filterOver(j.Left, left); err != nil {
		return nil, false, err
	}
	if out.Right, err = filterOver(j.Right, right); err != nil {
		return nil, false, err
	}
	if out.Cond, err = expr.And(cond); err != nil {
		return nil, false, err
	}
	res, err := filterOver(out, above)
	return res, true, err
}

func filterOver(n Node, terms []expr.Expr) (Node, error) {
	cond, err := expr.And(terms)
	if err != nil || cond == nil {
		return n, err
	}
	return &Filter{Input: n, Cond: cond}, nil
}

// closesAfter reports whether column col of n is a window bound: a value
// v after which, once the watermark reaches v + after microseconds, no row
// of n with v in col appears or changes (window_end, after 0; window_start
// of a TUMBLE or HOP, after its size), through projections, filters,
// aggregates grouped by it, and views.
func closesAfter(n Node, col int, views func(string) (*Query, bool)) (after int64, ok bool) {
	switch n := n.(type) {
	case *Window:
		if n.Kind == "SESSION" {
			return 0, false // a session's bounds move as rows join it
		}
		switch col - len(n.Input.Columns()) {
		case 0:
			return n.Size, true
		case 1:
			return 0, true
		}
		return 0, false
	case *Project:
		if c, isRef := n.Exprs[col].(*expr.ColumnRef); isRef {
			return closesAfter(n.Input, c.Index, views)
		}
	case *Filter:
		return closesAfter(n.Input, col, views)
	case *Aggregate:
		if col < len(n.Keys) {
			if c, isRef := n.Keys[col].(*expr.ColumnRef); isRef {
				return closesAfter(n.Input, c.Index, views)
			}
		}
	case *Scan:
		if n.Relation.Kind == "source" {
			return 0, false
		}
		if vq, found := views(n.Relation.Name); found {
			return closesAfter(vq.root, col, views)
		}
	}
	return 0, false
}

// planJoin works out a join's hash keys and, when a pair of them are
// window bounds, which one closes the join's state.
func planJoin(j *Join, views func(string) (*Query, bool)) (joinSpec, int, int64, error) {
	s, err := splitJoin(j)
	if err != nil {
		return s, -1, 0, err
	}
	closeKey, after := -1, int64(0)
	for i, l := range s.leftKeys {
		lc, lok := l.(*expr.ColumnRef)
		rc, rok := s.rightKeys[i].(*expr.ColumnRef)
		if !lok || !rok || lc.Typ.Kind != types.Timestamp {
			continue
		}
		la, lok := closesAfter(j.Left, lc.Index, views)
		ra, rok := closesAfter(j.Right, rc.Index, views)
		if !lok || !rok {
			continue
		}
		closeKey, after = i, max(la, ra)
		break
	}
	return s, closeKey, after, nil
}

// errJoinNoKey refuses a continuous join without an equality: every row
// would be kept and paired with every other.
func errJoinNoKey() error {
	return sqlerr.Newf(sqlerr.FeatureNotSupported, "a join in a materialized view needs an equality between its two sides").
		WithHint("Add ON a.x = b.y (an equi-join); a cross join of two streams grows without end.")
}
