package planner

import (
	"context"
	"fmt"

	"github.com/streamsql/streamsql/exec"
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
	case *Join:
		return joinClosesAfter(n, col, views)
	}
	return 0, false
}

// joinClosesAfter is closesAfter of an inner join's column col: a column
// equated with the other side's in the condition, both window bounds,
// closes when both do (a pair is made when its later row comes, and
// neither comes after its window closed).
func joinClosesAfter(n *Join, col int, views func(string) (*Query, bool)) (int64, bool) {
	if n.Kind != InnerJoin {
		return 0, false // an outer join pads with NULLs as matches come and go
	}
	s, err := splitJoin(n)
	if err != nil {
		return 0, false
	}
	width := len(n.Left.Columns())
	for i, l := range s.leftKeys {
		lc, lok := l.(*expr.ColumnRef)
		rc, rok := s.rightKeys[i].(*expr.ColumnRef)
		if !lok || !rok || (lc.Index != col && rc.Index+width != col) {
			continue
		}
		la, lok := closesAfter(n.Left, lc.Index, views)
		ra, rok := closesAfter(n.Right, rc.Index, views)
		if lok && rok {
			return max(la, ra), true
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

// intervalJoin is what planJoin finds of an interval join: per side,
// when its rows expire and which of its rows are late (see
// exec.JoinExpiry, exec.JoinLate), and the bounds as written, for EXPLAIN.
type intervalJoin struct {
	expire [2]exec.JoinExpiry
	late   [2]exec.JoinLate
	bounds []string
}

// capTerm is a term of a join condition that caps a time of the partner
// side by a time of its own: partner ≤ own + c (or <, strict).
type capTerm struct {
	own, partner int
	c            int64
	strict       bool
}

// planInterval works out, for each side of an inner join, after what its
// rows can never change the join's output again: a side whose rows never
// change (append-only) or whose time column closes, bounded by a term of
// the condition that caps its partners' time, when no partner row under
// that cap can still come or change. A partner side that is append-only
// drops its rows behind the watermark (late, as in Flink's interval
// join); one whose time column closes (a window bound) has nothing left
// to send once the watermark passes it (q7's bids BETWEEN a window's
// bound minus 10 seconds and the bound).
func planInterval(j *Join, s joinSpec, eowc bool, views func(string) (*Query, bool)) intervalJoin {
	var out intervalJoin
	if j.Kind != InnerJoin || s.residual == nil {
		return out
	}
	width := len(j.Left.Columns())
	sides := [2]Node{j.Left, j.Right}
	names := func(side, col int) string {
		return [2]string{"left", "right"}[side] + "." + sides[side].Columns()[col].Name
	}
	// caps[s]: the terms that cap the other side's time by s's.
	var caps [2][]capTerm
	// le notes a ≤ b (a < b when strict); offsets are inside the operands.
	le := func(a, b expr.Expr, strict bool) {
		as, ac, ao, aok := timeOperand(a, width)
		bs, bc, bo, bok := timeOperand(b, width)
		if !aok || !bok || as == bs {
			return
		}
		// a.col + ao ≤ b.col + bo: a's time ≤ b's time + (bo - ao).
		caps[bs] = append(caps[bs], capTerm{own: bc, partner: ac, c: bo - ao, strict: strict})
	}
	for _, t := range expr.Conjuncts(s.residual) {
		c, ok := t.(*expr.Call)
		if !ok {
			continue
		}
		switch {
		case (c.Name == "<=" || c.Name == "<") && len(c.Args) == 2:
			le(c.Args[0], c.Args[1], c.Name == "<")
		case (c.Name == ">=" || c.Name == ">") && len(c.Args) == 2:
			le(c.Args[1], c.Args[0], c.Name == ">")
		case c.Name == "between" && len(c.Args) == 3:
			le(c.Args[1], c.Args[0], false)
			le(c.Args[0], c.Args[2], false)
		}
	}
	appendOnlySide := [2]bool{appendOnly(j.Left, eowc, views), appendOnly(j.Right, eowc, views)}
	for side := range sides {
		other := 1 - side
		for _, ct := range caps[side] {
			var pa int64
			switch a, closes := closesAfter(sides[other], ct.partner, views); {
			case appendOnlySide[other]:
				// Partner rows behind the watermark are late: one at the cap
				// comes no more once the watermark is past it.
				pa = 1
			case closes:
				pa = a
			default:
				continue
			}
			after := ct.c + pa
			if !appendOnlySide[side] {
				// Its own rows may still change (be deleted) until their
				// time closes: the pairs they made must be retracted.
				sa, ok := closesAfter(sides[side], ct.own, views)
				if !ok {
					continue
				}
				after = max(after, sa)
			}
			op := "<="
			if ct.strict {
				op = "<"
			}
			out.bounds = append(out.bounds, fmt.Sprintf("%s%s%s%s", names(other, ct.partner), op, names(side, ct.own), fmtOffset(ct.c)))
			if !out.expire[side].Set || after < out.expire[side].After {
				out.expire[side] = exec.JoinExpiry{Set: true, Col: ct.own, After: after}
				out.late[other] = exec.JoinLate{}
				if appendOnlySide[other] {
					out.late[other] = exec.JoinLate{Set: true, Col: ct.partner}
				}
			}
		}
	}
	return out
}

// fmtOffset prints a signed offset in microseconds, nothing for 0.
func fmtOffset(us int64) string {
	switch {
	case us > 0:
		return "+" + fmtMicros(us)
	case us < 0:
		return "-" + fmtMicros(-us)
	}
	return ""
}

// timeOperand reads e as a TIMESTAMP column of one side of a joined row
// (side 0 below width) plus a constant offset in microseconds: col,
// col ± INTERVAL (DATE_ADD, DATE_SUB). col is within its side.
func timeOperand(e expr.Expr, width int) (side, col int, offset int64, ok bool) {
	switch x := e.(type) {
	case *expr.ColumnRef:
		if x.Typ.Kind != types.Timestamp {
			return 0, 0, 0, false
		}
		if x.Index >= width {
			return 1, x.Index - width, 0, true
		}
		return 0, x.Index, 0, true
	case *expr.Call:
		minus := x.Name == "-" || x.Name == "date_sub" || x.Name == "subdate"
		plus := x.Name == "+" || x.Name == "date_add" || x.Name == "adddate"
		if (!minus && !plus) || len(x.Args) != 2 || x.Type().Kind != types.Timestamp {
			return 0, 0, 0, false
		}
		side, col, off, ok := timeOperand(x.Args[0], width)
		if !ok {
			return 0, 0, 0, false
		}
		d, ok := constMicros(x.Args[1])
		if !ok {
			return 0, 0, 0, false
		}
		if minus {
			d = -d
		}
		return side, col, off + d, true
	}
	return 0, 0, 0, false
}

// constMicros evaluates a constant INTERVAL of no months (a fixed length).
func constMicros(e expr.Expr) (int64, bool) {
	if lo, _ := expr.ColumnsRead(e); lo >= 0 || e.Type().Kind != types.Interval {
		return 0, false
	}
	if _, isParam := e.(*expr.Param); isParam {
		return 0, false
	}
	hasParam := false
	expr.Walk(e, func(x expr.Expr) bool {
		if _, ok := x.(*expr.Param); ok {
			hasParam = true
		}
		return !hasParam
	})
	if hasParam {
		return 0, false
	}
	f, err := expr.Compile(e)
	if err != nil {
		return 0, false
	}
	v, err := f(nil, &expr.Env{})
	if err != nil || v.IsNull() {
		return 0, false
	}
	months, micros := v.IntervalParts()
	return micros, months == 0
}
