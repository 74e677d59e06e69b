package planner

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Top-N in continuous queries: a filter on a ranking function's column,
//
//	SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (PARTITION BY p ORDER BY o) AS rn
//	                 FROM ...) AS t WHERE rn <= N
//
// (or rn < N, rn = N, rn BETWEEN a AND b, RANK, DENSE_RANK), is planned as
// an exec.TopN over the Over's input, then the subquery's projections and
// the rest of the WHERE. The logical plan keeps Over and Filter, which the
// batch evaluator runs as they are.

// topNMatch is a Filter recognised as a top-N.
type topNMatch struct {
	over *Over
	fn   *OverFunc
	// projects are the Projects between the Filter and the Over, top
	// first; col is the rank's column in the Filter's input.
	projects []*Project
	col      int
	lo, hi   int64
	// residual is the rest of the WHERE (nil for none), over the
	// Filter's input.
	residual expr.Expr
}

// matchTopN recognises f as a top-N: its condition bounds the rank column
// of an Over with one ranking function from above, through projections
// that pass the column on.
func matchTopN(f *Filter) (*topNMatch, bool) {
	m := &topNMatch{}
	n := f.Input
	width := len(n.Columns())
	for {
		p, ok := n.(*Project)
		if !ok {
			break
		}
		m.projects = append(m.projects, p)
		n = p.Input
	}
	over, ok := n.(*Over)
	if !ok || len(over.Funcs) != 1 || !over.Funcs[0].Kind.Ranking() {
		return nil, false
	}
	m.over, m.fn = over, over.Funcs[0]
	rankCol := len(over.Input.Columns())
	// isRank reports whether e is the rank column, seen from the Filter.
	isRank := func(e expr.Expr) bool {
		c, ok := e.(*expr.ColumnRef)
		if !ok || c.Index < 0 || c.Index >= width {
			return false
		}
		idx := c.Index
		for _, p := range m.projects {
			ref, ok := p.Exprs[idx].(*expr.ColumnRef)
			if !ok {
				return false
			}
			idx = ref.Index
		}
		if idx == rankCol {
			m.col = c.Index
			return true
		}
		return false
	}
	m.lo, m.hi = 1, math.MaxInt64
	var rest []expr.Expr
	for _, term := range expr.Conjuncts(f.Cond) {
		if !boundRank(term, isRank, &m.lo, &m.hi) {
			rest = append(rest, term)
		}
	}
	if m.hi == math.MaxInt64 {
		return nil, false
	}
	for _, term := range rest {
		// The rest of the WHERE must not read the rank: it runs on the
		// kept rows only.
		used := make([]bool, width)
		markRefs(used, term)
		if used[m.col] {
			return nil, false
		}
	}
	var err error
	if m.residual, err = expr.And(rest); err != nil {
		return nil, false
	}
	return m, true
}

// boundRank narrows lo..hi by term when it compares the rank with a
// constant: rn <= k, rn < k, rn = k, rn >= k, rn > k, k >= rn ..., rn
// BETWEEN a AND b.
func boundRank(term expr.Expr, isRank func(expr.Expr) bool, lo, hi *int64) bool {
	c, ok := term.(*expr.Call)
	if !ok {
		return false
	}
	if c.Name == "between" && len(c.Args) == 3 && isRank(c.Args[0]) {
		a, okA := constInt64(c.Args[1])
		b, okB := constInt64(c.Args[2])
		if !okA || !okB {
			return false
		}
		*lo, *hi = max(*lo, a), min(*hi, b)
		return true
	}
	if len(c.Args) != 2 {
		return false
	}
	op := c.Name
	x, y := c.Args[0], c.Args[1]
	if !isRank(x) {
		if !isRank(y) {
			return false
		}
		x, y = y, x
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}[op]
	}
	k, ok := constInt64(y)
	if !ok {
		return false
	}
	switch op {
	case "<=":
		*hi = min(*hi, k)
	case "<":
		if k == math.MinInt64 {
			k++ // no rank is below it either way
		}
		*hi = min(*hi, k-1)
	case "=":
		*lo, *hi = max(*lo, k), min(*hi, k)
	case ">=":
		*lo = max(*lo, k)
	case ">":
		if k == math.MaxInt64 {
			k-- // rn > MaxInt64 keeps nothing; so does rn >= MaxInt64 in practice
		}
		*lo = max(*lo, k+1)
	default:
		return false
	}
	return true
}

// constInt64 evaluates a constant integer expression.
func constInt64(e expr.Expr) (int64, bool) {
	if hasColumnRef(e) {
		return 0, false
	}
	if k := e.Type().Kind; k != types.Int {
		return 0, false
	}
	v, err := evalConst(e, &expr.Env{})
	if err != nil || v.IsNull() {
		return 0, false
	}
	return v.Int(), true
}

// topNWindow finds the window a top-N's partition closes with: a
// PARTITION BY key that is window_start or window_end of a TUMBLE or HOP
// below the Over, passed on by filters, projections, the group keys of
// an aggregate (window top-N after a window aggregate) and views. It
// returns that key's column in the Over's input and how long after it the
// window ends. Once the watermark passes a window's end no change to it
// comes: a window aggregate has emitted its last, and drops later rows.
func topNWindow(over *Over, views func(string) (*Query, bool)) (col int, after int64, ok bool) {
	for _, e := range over.PartitionBy {
		c, isRef := e.(*expr.ColumnRef)
		if !isRef {
			continue
		}
		if after, ok := windowBound(over.Input, c.Index, views); ok {
			return c.Index, after, true
		}
	}
	return 0, 0, false
}

// windowBound reports whether column col of n is window_start (after =
// the window's size) or window_end (after = 0) of a TUMBLE or HOP.
func windowBound(n Node, col int, views func(string) (*Query, bool)) (int64, bool) {
	for {
		switch x := n.(type) {
		case *Window:
			if x.Kind == "SESSION" {
				return 0, false
			}
			switch col {
			case len(x.cols) - 2:
				return x.Size, true
			case len(x.cols) - 1:
				return 0, true
			}
			return 0, false
		case *Filter:
			n = x.Input
		case *Project:
			c, ok := x.Exprs[col].(*expr.ColumnRef)
			if !ok {
				return 0, false
			}
			n, col = x.Input, c.Index
		case *Aggregate:
			if col >= len(x.Keys) {
				return 0, false
			}
			c, ok := x.Keys[col].(*expr.ColumnRef)
			if !ok {
				return 0, false
			}
			n, col = x.Input, c.Index
		case *Over:
			if col >= len(x.Input.Columns()) {
				return 0, false
			}
			n = x.Input
		case *Scan:
			if x.Relation.Kind == "source" || views == nil {
				return 0, false
			}
			vq, ok := views(x.Relation.Name)
			if !ok {
				return 0, false
			}
			n = vq.root
		default:
			return 0, false
		}
	}
}

// keepFirst reports whether m is deduplication keeping the first row:
// ROW_NUMBER, rank 1, one ascending time ORDER BY key, over an input that
// only inserts. Such a top-N only ever inserts.
func (m *topNMatch) keepFirst(inputAppendOnly bool) bool {
	o := m.over.OrderBy
	return inputAppendOnly && m.fn.Kind == RowNumber && m.lo == 1 && m.hi == 1 && len(o) == 1 && !o[0].Desc &&
		o[0].Expr.Type().Kind == types.Timestamp
}

// topNAppendOnly: a keep-first deduplication only inserts, and so does a
// window top-N that emits on window close.
func topNAppendOnly(m *topNMatch, eowc bool, views func(string) (*Query, bool)) bool {
	in := appendOnly(m.over.Input, eowc, views)
	if m.keepFirst(in) {
		return true
	}
	_, _, windowed := topNWindow(m.over, views)
	return windowed && eowc && in
}

// topN plans a top-N: the TopN operator, the projections above the Over,
// then the rest of the WHERE. rankUsed says whether anything above reads
// the rank.
func (b *streamBuilder) topN(f *Filter, m *topNMatch, eowc bool) (exec.NodeID, error) {
	over := m.over
	if m.hi < m.lo || m.hi < 1 {
		return 0, sqlerr.Newf(sqlerr.InvalidObjectDefinition, "the bound on %s() keeps no rows: ranks start at 1", m.fn.Kind).
			WithHint("Write rn <= N with N >= 1, or rn BETWEEN a AND b with 1 <= a <= b.")
	}
	in, err := b.op(over.Input, eowc)
	if err != nil {
		return 0, err
	}
	o := exec.TopNOptions{Lo: m.lo, Hi: m.hi, CloseCol: -1, Env: &b.env, Errs: b.errs, EmitRank: !b.noRank[f]}
	if o.Partition, err = compileAll(over.PartitionBy); err != nil {
		return 0, err
	}
	for _, k := range over.OrderBy {
		fn, err := expr.Compile(k.Expr)
		if err != nil {
			return 0, err
		}
		o.Order, o.Desc = append(o.Order, fn), append(o.Desc, k.Desc)
	}
	switch m.fn.Kind {
	case Rank:
		o.Rank = exec.RankRank
	case DenseRank:
		o.Rank = exec.RankDense
	}
	o.AppendOnly = appendOnly(over.Input, eowc, b.views)
	o.KeepFirst = m.keepFirst(o.AppendOnly)
	detail := fmt.Sprintf("%s n=%d", m.fn.Kind, m.hi)
	if m.lo > 1 {
		detail = fmt.Sprintf("%s ranks=%d..%d", m.fn.Kind, m.lo, m.hi)
	}
	detail += fmt.Sprintf(" partition=[%s] order=[%s]", joinExprs(over.PartitionBy), orderString(over.OrderBy))
	if col, after, ok := topNWindow(over, b.views); ok {
		o.CloseCol, o.CloseAfter, o.EmitOnClose = col, after, eowc
		detail += " closes=" + over.Input.Columns()[col].Name
		if after > 0 {
			detail += "+" + fmtMicros(after)
		}
	} else if eowc {
		return 0, sqlerr.Newf(sqlerr.InvalidObjectDefinition,
			"EMIT ON WINDOW CLOSE on a top-N needs PARTITION BY window_start or window_end of a TUMBLE or HOP")
	}
	switch {
	case o.KeepFirst:
		detail += " keep=first"
	case eowc:
		detail += " emit=on-window-close"
	}
	if !o.EmitRank {
		detail += " rank=unused"
	}
	t, err := exec.NewTopN(o)
	if err != nil {
		return 0, err
	}
	id := b.stateful("TopN", detail, t, in)
	for i := len(m.projects) - 1; i >= 0; i-- {
		if id, err = b.project(m.projects[i], id); err != nil {
			return 0, err
		}
	}
	if m.residual == nil {
		return id, nil
	}
	pred, err := expr.CompilePredicate(m.residual)
	if err != nil {
		return 0, err
	}
	flt := exec.NewFilter(pred, &b.env, b.errs)
	flt.Text = m.residual.String()
	return b.add("Filter", m.residual.String(), flt, id), nil
}

// markRankUnused notes, for a Project over a top-N Filter, whether the
// Project reads the rank: when it does not, TopN need not emit a row
// again when only its rank moves.
func (b *streamBuilder) markRankUnused(p *Project) {
	f, ok := p.Input.(*Filter)
	if !ok {
		return
	}
	m, ok := matchTopN(f)
	if !ok {
		return
	}
	used := make([]bool, len(f.Columns()))
	for _, e := range p.Exprs {
		markRefs(used, e)
	}
	if !used[m.col] {
		if b.noRank == nil {
			b.noRank = map[*Filter]bool{}
		}
		b.noRank[f] = true
	}
}

// errOverNotTopN refuses a window function in a continuous query that is
// not a top-N.
func errOverNotTopN(n *Over) error {
	what := "window function"
	if len(n.Funcs) > 0 {
		what = strings.ToUpper(n.Funcs[0].Kind.String()) + "()"
		if n.Funcs[0].Agg != nil {
			what = strings.ToUpper(n.Funcs[0].Agg.Name) + "() OVER"
		}
	}
	return sqlerr.Newf(sqlerr.FeatureNotSupported,
		"%s in a materialized view or sink is supported only as a top-N: a ROW_NUMBER(), RANK() or DENSE_RANK() column filtered by rn <= N (or <, =, BETWEEN) outside the subquery that computes it", what).
		WithHint("SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM src) AS t WHERE rn <= 3")
}

// topNKey returns the view key of a ROW_NUMBER top-N under the view's
// select list proj (nil for none): its partition columns and its rank,
// one row per partition and rank, so that a rank shift is one keyed
// write per rank that changed instead of a read and a write of a counted
// row per row that moved. The rank is left out when one rank is kept
// (rn = 1: one row per partition). nil (no key) unless every partition
// expression is a column and the select list keeps them and the rank.
func topNKey(m *topNMatch, proj *Project) []int {
	if m.fn.Kind != RowNumber {
		return nil // RANK and DENSE_RANK give peers one rank
	}
	var cols []int
	for _, e := range m.over.PartitionBy {
		c, ok := e.(*expr.ColumnRef)
		if !ok {
			return nil
		}
		cols = append(cols, c.Index)
	}
	if m.lo < m.hi {
		cols = append(cols, len(m.over.Input.Columns()))
	}
	if len(cols) == 0 {
		return nil
	}
	for i := len(m.projects) - 1; i >= 0; i-- {
		if cols = passedOn(m.projects[i], cols); cols == nil {
			return nil
		}
	}
	if proj != nil {
		cols = passedOn(proj, cols)
	}
	return cols
}

// passedOn maps columns of p's input to the columns of p that pass them
// on unchanged; nil if p drops one.
func passedOn(p *Project, cols []int) []int {
	out := make([]int, len(cols))
	for i, c := range cols {
		out[i] = slices.IndexFunc(p.Exprs, func(e expr.Expr) bool {
			ref, ok := e.(*expr.ColumnRef)
			return ok && ref.Index == c
		})
		if out[i] < 0 {
			return nil
		}
	}
	return out
}
