package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// windowingError is Postgres's 42P20 (a window function where none may
// be), which sqlerr does not name.
const windowingError sqlerr.Code = "42P20"

// Over computes window functions (f() OVER (PARTITION BY ... ORDER BY
// ...)) that share one window specification. Its output is the input's
// columns, unchanged and in order, followed by one column per function.
// A select list with several specifications is a stack of Over nodes, one
// per specification, in order of first appearance; every expression of
// an upper one still reads the columns of the lowest one's input by the
// same index.
type Over struct {
	Input Node
	// PartitionBy are expressions over Input's columns; rows equal on all
	// of them (NULL equal to NULL) form one partition. Empty: one
	// partition of every row.
	PartitionBy []expr.Expr
	// OrderBy orders the rows of a partition; rows equal on every key are
	// peers (same RANK, same default frame). Empty: every row is a peer
	// of every other.
	OrderBy []OverOrder
	// Funcs are the functions, each adding one output column.
	Funcs []*OverFunc
	cols  []types.Column
}

// OverOrder is one ORDER BY key of a window: an expression over Over's
// input. NULLs sort as in a query's ORDER BY: last ascending, first
// descending.
type OverOrder struct {
	Expr expr.Expr
	Desc bool
}

// OverKind is the function an OverFunc computes.
type OverKind uint8

const (
	// RowNumber numbers a partition's rows 1, 2, ... in ORDER BY order
	// (peers in no defined order).
	RowNumber OverKind = iota + 1
	// Rank is 1 + the number of rows before the row's peer group.
	Rank
	// DenseRank is 1 + the number of peer groups before the row's.
	DenseRank
	// OverAgg is Agg (SUM, COUNT, AVG, MIN or MAX) over the row's Frame.
	OverAgg
)

func (k OverKind) String() string {
	switch k {
	case RowNumber:
		return "row_number"
	case Rank:
		return "rank"
	case DenseRank:
		return "dense_rank"
	}
	return "aggregate"
}

// Ranking reports whether k is ROW_NUMBER, RANK or DENSE_RANK.
func (k OverKind) Ranking() bool { return k == RowNumber || k == Rank || k == DenseRank }

// FrameKind is how an aggregate's frame is bounded.
type FrameKind uint8

const (
	// FrameDefault is a window without a frame clause: with ORDER BY, from
	// the partition's first row to the current row's last peer (RANGE
	// BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW); without ORDER BY, the
	// whole partition.
	FrameDefault FrameKind = iota
	// FrameRows is ROWS BETWEEN Preceding PRECEDING AND CURRENT ROW: the
	// current row and the Preceding rows before it in ORDER BY order.
	FrameRows
	// FrameRange is RANGE BETWEEN INTERVAL Preceding PRECEDING AND CURRENT
	// ROW: the rows whose single ORDER BY key (a time) lies within
	// Preceding microseconds before the current row's, peers included.
	FrameRange
)

// Frame is an aggregate's frame. Every supported frame ends at CURRENT
// ROW.
type Frame struct {
	Kind FrameKind
	// Preceding is the frame's start: a count of rows (FrameRows) or
	// microseconds (FrameRange) before the current row; -1 for UNBOUNDED
	// PRECEDING. Unused for FrameDefault.
	Preceding int64
}

func (f Frame) String() string {
	start := "UNBOUNDED"
	switch {
	case f.Kind == FrameDefault:
		return ""
	case f.Preceding >= 0 && f.Kind == FrameRows:
		start = fmt.Sprint(f.Preceding)
	case f.Preceding >= 0:
		start = "INTERVAL " + fmtMicros(f.Preceding)
	}
	kind := "ROWS"
	if f.Kind == FrameRange {
		kind = "RANGE"
	}
	return fmt.Sprintf("%s BETWEEN %s PRECEDING AND CURRENT ROW", kind, start)
}

// OverFunc is one window function of an Over.
type OverFunc struct {
	Kind OverKind
	// Agg is the aggregate of an OverAgg function (its name, DISTINCT
	// and argument, an expression over Over's input); nil for ranking.
	Agg *expr.Agg
	// Frame is an OverAgg function's frame; ranking functions have none.
	Frame Frame
	Typ   types.Type
}

func (f *OverFunc) String() string {
	if f.Kind.Ranking() {
		return f.Kind.String() + "()"
	}
	s := f.Agg.String()
	if fr := f.Frame.String(); fr != "" {
		s += " " + fr
	}
	return s
}

func (n *Over) Columns() []types.Column { return n.cols }
func (n *Over) Children() []Node        { return []Node{n.Input} }

func (n *Over) describe() string {
	return "Over " + n.specString() + " funcs=[" + n.funcsString() + "]"
}

func (n *Over) funcsString() string {
	fs := make([]string, len(n.Funcs))
	for i, f := range n.Funcs {
		fs[i] = f.String()
	}
	return strings.Join(fs, ", ")
}

// specString is the window specification, which tells Over nodes apart.
func (n *Over) specString() string {
	return "partition=[" + joinExprs(n.PartitionBy) + "] order=[" + orderString(n.OrderBy) + "]"
}

func orderString(keys []OverOrder) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.Expr.String()
		if k.Desc {
			parts[i] += " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

// newOver returns an Over with its output columns worked out.
func newOver(in Node, part []expr.Expr, order []OverOrder, funcs []*OverFunc) *Over {
	n := &Over{Input: in, PartitionBy: part, OrderBy: order, Funcs: funcs}
	n.cols = append([]types.Column(nil), in.Columns()...)
	for _, f := range funcs {
		n.cols = append(n.cols, types.Column{Name: f.Kind.String(), Type: f.Typ})
		if f.Kind == OverAgg {
			n.cols[len(n.cols)-1].Name = f.Agg.Name
		}
	}
	return n
}

// windowFuncs lists the window function calls in the select list and
// ORDER BY, outside subqueries, in order of appearance.
func windowFuncs(st *ast.SelectStmt) []*ast.WindowFuncExpr {
	v := &windowFinder{}
	for _, f := range st.Fields.Fields {
		if f.Expr != nil {
			f.Expr.Accept(v)
		}
	}
	if st.OrderBy != nil {
		for _, it := range st.OrderBy.Items {
			it.Expr.Accept(v)
		}
	}
	return v.found
}

type windowFinder struct{ found []*ast.WindowFuncExpr }

func (v *windowFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.WindowFuncExpr:
		v.found = append(v.found, n)
		return n, true
	case *ast.SubqueryExpr:
		return n, true
	}
	return n, false
}

func (v *windowFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// bindOver plans the window function calls calls of a SELECT over node
// (FROM and WHERE), whose columns sc names: a stack of Over nodes. It
// records in b.overCols where each call's value is, for bindExpr, and
// returns the scope the select list binds in: sc and the functions'
// columns, which no name reaches.
func (b *binder) bindOver(node Node, sc *scope, calls []*ast.WindowFuncExpr, pos int) (Node, *scope, error) {
	type spec struct {
		part  []expr.Expr
		order []OverOrder
		funcs []*OverFunc
		calls []*ast.WindowFuncExpr
	}
	var specs []*spec
	byText := map[string]*spec{}
	cx := ectx{scope: sc, noAggIn: "window functions", pos: pos}
	for _, call := range calls {
		cpos := b.posOf(call, pos)
		cx.pos = cpos
		if call.Spec.Name.O != "" || call.Spec.Ref.O != "" {
			return nil, nil, unsupported(cpos, "named windows (OVER w) are not supported: write the window in OVER (...)")
		}
		var part []expr.Expr
		if call.Spec.PartitionBy != nil {
			for _, it := range call.Spec.PartitionBy.Items {
				e, err := b.bindOverExpr(cx, it.Expr)
				if err != nil {
					return nil, nil, err
				}
				part = append(part, e)
			}
		}
		var order []OverOrder
		if call.Spec.OrderBy != nil {
			for _, it := range call.Spec.OrderBy.Items {
				e, err := b.bindOverExpr(cx, it.Expr)
				if err != nil {
					return nil, nil, err
				}
				order = append(order, OverOrder{Expr: e, Desc: it.Desc})
			}
		}
		f, err := b.bindOverFunc(cx, call, order)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range part {
			// A window top-N (PARTITION BY window_start) can emit on
			// window close; PlanStream checks the rest.
			if c, ok := e.(*expr.ColumnRef); ok && (c.Name == "window_start" || c.Name == "window_end") && b.windowBelow(node) {
				b.windowed = true
			}
		}
		key := joinExprs(part) + "|" + orderString(order)
		s, ok := byText[key]
		if !ok {
			s = &spec{part: part, order: order}
			byText[key] = s
			specs = append(specs, s)
		}
		s.funcs = append(s.funcs, f)
		s.calls = append(s.calls, call)
	}
	out := &scope{cols: append([]scopeCol(nil), sc.cols...)}
	if b.overCols == nil {
		b.overCols = map[*ast.WindowFuncExpr]*expr.ColumnRef{}
	}
	for _, s := range specs {
		o := newOver(node, s.part, s.order, s.funcs)
		for i, f := range s.funcs {
			idx := len(node.Columns()) + i
			b.overCols[s.calls[i]] = &expr.ColumnRef{Index: idx, Typ: f.Typ, Name: f.String()}
			// An empty name: no column reference can reach it.
			out.cols = append(out.cols, scopeCol{typ: f.Typ})
		}
		node = o
	}
	return node, out, nil
}

// bindOverExpr binds a PARTITION BY or ORDER BY expression of a window.
func (b *binder) bindOverExpr(cx ectx, n ast.ExprNode) (expr.Expr, error) {
	if b.containsAgg(n) {
		return nil, sqlerr.Newf(sqlerr.GroupingError, "aggregate functions are not allowed in window definitions").At(cx.pos)
	}
	return b.bindExpr(cx, n)
}

// bindOverFunc binds the function of a window call.
func (b *binder) bindOverFunc(cx ectx, call *ast.WindowFuncExpr, order []OverOrder) (*OverFunc, error) {
	name := strings.ToLower(call.Name)
	if call.IgnoreNull || call.FromLast {
		return nil, unsupported(cx.pos, "IGNORE NULLS and FROM LAST are not supported")
	}
	switch name {
	case "row_number", "rank", "dense_rank":
		if len(call.Args) != 0 {
			return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s takes no arguments", name).At(cx.pos)
		}
		kind := map[string]OverKind{"row_number": RowNumber, "rank": Rank, "dense_rank": DenseRank}[name]
		// A frame clause means nothing to a ranking function; SQL
		// ignores it, and so do we.
		return &OverFunc{Kind: kind, Typ: types.TypeBigInt}, nil
	case "sum", "count", "avg", "min", "max":
	default:
		return nil, unsupported(cx.pos, "window function %s is not supported: ROW_NUMBER, RANK, DENSE_RANK, SUM, COUNT, AVG, MIN and MAX are", name)
	}
	if call.Distinct {
		return nil, unsupported(cx.pos, "DISTINCT in a window aggregate is not supported")
	}
	if len(call.Args) != 1 {
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s takes one argument", name).At(cx.pos)
	}
	var arg expr.Expr
	if !(name == "count" && isCountStar(call.Args[0])) {
		var err error
		if arg, err = b.bindOverExpr(cx, call.Args[0]); err != nil {
			return nil, err
		}
	}
	ag, err := expr.NewAgg(name, false, arg, cx.pos)
	if err != nil {
		return nil, err
	}
	fr, err := b.bindFrame(cx, call.Spec.Frame, order)
	if err != nil {
		return nil, err
	}
	return &OverFunc{Kind: OverAgg, Agg: ag, Frame: fr, Typ: ag.Typ}, nil
}

// isCountStar reports whether COUNT's argument is the parser's stand-in
// for *: a literal 1 with no position of its own.
func isCountStar(n ast.ExprNode) bool {
	v, ok := n.(*test_driver.ValueExpr)
	return ok && v.OriginTextPosition() == 0
}

// bindFrame binds an aggregate's frame clause: nil is the default frame;
// else ROWS BETWEEN n|UNBOUNDED PRECEDING AND CURRENT ROW, or RANGE
// BETWEEN INTERVAL ...|UNBOUNDED PRECEDING AND CURRENT ROW over a single
// time ORDER BY key.
func (b *binder) bindFrame(cx ectx, fc *ast.FrameClause, order []OverOrder) (Frame, error) {
	if fc == nil {
		return Frame{Kind: FrameDefault}, nil
	}
	const supported = "supported frames are ROWS BETWEEN n PRECEDING AND CURRENT ROW and RANGE BETWEEN INTERVAL ... PRECEDING AND CURRENT ROW"
	if fc.Extent.End.Type != ast.CurrentRow || fc.Extent.Start.Type != ast.Preceding && fc.Extent.Start.Type != ast.CurrentRow {
		return Frame{}, unsupported(cx.pos, "this window frame is not supported: %s", supported)
	}
	start := fc.Extent.Start
	fr := Frame{Kind: FrameRows, Preceding: -1}
	if fc.Type == ast.Ranges {
		fr.Kind = FrameRange
	} else if fc.Type != ast.Rows {
		return Frame{}, unsupported(cx.pos, "GROUPS frames are not supported: %s", supported)
	}
	switch {
	case start.Type == ast.CurrentRow:
		fr.Preceding = 0
	case start.UnBounded:
	case fr.Kind == FrameRows:
		if start.Unit != ast.TimeUnitInvalid {
			return Frame{}, unsupported(cx.pos, "ROWS frames count rows: write ROWS BETWEEN n PRECEDING AND CURRENT ROW")
		}
		v, err := b.constInt(cx, start.Expr)
		if err != nil {
			return Frame{}, err
		}
		fr.Preceding = v
	default:
		if start.Unit == ast.TimeUnitInvalid {
			return Frame{}, unsupported(cx.pos, "RANGE frames over a time need an INTERVAL: RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW")
		}
		iv, err := b.bindInterval(cx, start.Expr, start.Unit.String())
		if err != nil {
			return Frame{}, err
		}
		v, err := evalConst(iv, &expr.Env{})
		if err != nil {
			return Frame{}, sqlerr.Wrap(err, sqlerr.InvalidParameterValue, "RANGE frame").At(cx.pos)
		}
		if v.IsNull() || v.Kind() != types.Interval {
			return Frame{}, sqlerr.Newf(sqlerr.InvalidParameterValue, "RANGE frame offset must be a constant interval").At(cx.pos)
		}
		months, micros := v.IntervalParts()
		if months != 0 || micros < 0 {
			return Frame{}, sqlerr.Newf(sqlerr.InvalidParameterValue, "RANGE frame offset must be a non-negative interval of days or less").At(cx.pos)
		}
		fr.Preceding = micros
	}
	if fr.Kind == FrameRange && fr.Preceding != -1 {
		if len(order) != 1 || order[0].Expr.Type().Kind != types.Timestamp {
			return Frame{}, sqlerr.Newf(windowingError, "RANGE with an INTERVAL offset needs exactly one ORDER BY key of type timestamp").At(cx.pos)
		}
	}
	return fr, nil
}

// constInt evaluates a constant non-negative integer (a ROWS offset).
func (b *binder) constInt(cx ectx, n ast.ExprNode) (int64, error) {
	e, err := b.bindExpr(ectx{pos: cx.pos}, n)
	if err != nil {
		return 0, err
	}
	v, err := evalConst(&expr.Cast{Arg: e, To: types.TypeBigInt}, &expr.Env{})
	if err != nil || v.IsNull() || v.Int() < 0 {
		return 0, sqlerr.Newf(windowingError, "frame offset must be a constant non-negative integer").At(cx.pos)
	}
	return v.Int(), nil
}

// bindWindowCall is a window call met while binding an expression: the
// column bindOver put its value in, or an error where none may be.
func (b *binder) bindWindowCall(cx ectx, n *ast.WindowFuncExpr) (expr.Expr, error) {
	if c, ok := b.overCols[n]; ok {
		return c, nil
	}
	where := "here"
	if cx.noAggIn != "" {
		where = "in " + cx.noAggIn
	}
	return nil, sqlerr.Newf(windowingError, "window functions are not allowed %s", where).
		WithHint("Compute the window function in a subquery and filter on its column outside it: SELECT * FROM (SELECT ..., ROW_NUMBER() OVER (...) AS rn FROM ...) AS t WHERE rn <= 3").At(cx.pos)
}

// overAggFunc evaluates an OverAgg function in the batch evaluator (see
// over_agg.go).
func overAggFunc(f *OverFunc, order []OverOrder) (exec.PartitionFunc, error) {
	return overAggPartition(f, order)
}

// buildOverIter evaluates an Over in one pass over its whole input.
func buildOverIter(n *Over, env *expr.Env, open ScanOpener) (exec.RowIter, error) {
	spec := exec.OverSpec{}
	var err error
	if spec.Partition, err = compileAll(n.PartitionBy); err != nil {
		return nil, err
	}
	for _, k := range n.OrderBy {
		f, err := expr.Compile(k.Expr)
		if err != nil {
			return nil, err
		}
		spec.Order, spec.Desc = append(spec.Order, f), append(spec.Desc, k.Desc)
	}
	for _, f := range n.Funcs {
		switch f.Kind {
		case RowNumber:
			spec.Funcs = append(spec.Funcs, exec.RowNumber)
		case Rank:
			spec.Funcs = append(spec.Funcs, exec.Rank)
		case DenseRank:
			spec.Funcs = append(spec.Funcs, exec.DenseRank)
		default:
			pf, err := overAggFunc(f, n.OrderBy)
			if err != nil {
				return nil, err
			}
			spec.Funcs = append(spec.Funcs, pf)
		}
	}
	in, err := buildIter(n.Input, env, open)
	if err != nil {
		return nil, err
	}
	return exec.NewOverIter(in, spec, env), nil
}
