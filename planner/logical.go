package planner

import (
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Node is a logical operator. Its output columns are fixed at bind time;
// expressions above it refer to them by index.
type Node interface {
	Columns() []types.Column
	Children() []Node
	// describe is the operator's EXPLAIN line, without indentation.
	describe() string
}

// Values yields constant rows; a FROM-less SELECT reads one empty row.
type Values struct {
	Rows [][]expr.Expr
	Cols []types.Column
}

// Series is generate_series(Start, Stop[, Step]): BIGINT rows.
type Series struct {
	Start, Stop, Step expr.Expr
	Col               types.Column
}

// Scan reads a source or a view.
type Scan struct {
	Relation *Relation
	Alias    string
	// Needed marks the columns the plan reads (PruneScanColumns); nil
	// means all. The Scan still yields every column, the others NULL, so
	// column indexes above it do not depend on it.
	Needed []bool
}

// neededNames lists the needed columns' names, "" when all are needed.
func (n *Scan) neededNames() string {
	if n.Needed == nil {
		return ""
	}
	var names []string
	for i, c := range n.Relation.Columns {
		if n.Needed[i] {
			names = append(names, c.Name)
		}
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// Window assigns rows to time windows, adding window_start and window_end.
type Window struct {
	Input   Node
	Kind    string // TUMBLE, HOP, SESSION
	TimeCol int
	// Size is the window length (TUMBLE, HOP), Slide the hop (HOP), Gap
	// the session gap (SESSION), all in microseconds.
	Size, Slide, Gap int64
	cols             []types.Column
}

// Filter keeps rows whose condition is TRUE.
type Filter struct {
	Input Node
	Cond  expr.Expr
}

// Project computes output columns.
type Project struct {
	Input Node
	Exprs []expr.Expr
	Cols  []types.Column
}

// Aggregate groups by Keys and computes Aggs: its output is the keys, then
// the aggregates.
type Aggregate struct {
	Input Node
	Keys  []expr.Expr
	Aggs  []*expr.Agg
	cols  []types.Column
	// Windowed is set when a key is window_start or window_end of a Window
	// below: such an aggregate can emit on window close.
	Windowed bool
}

// SortKey is an ORDER BY key over a column of Sort's input.
type SortKey struct {
	Column     int
	Desc       bool
	NullsFirst bool
}

// Sort orders rows.
type Sort struct {
	Input Node
	Keys  []SortKey
}

// Limit is LIMIT Count OFFSET Offset; each is a BIGINT constant or
// parameter, nil when absent.
type Limit struct {
	Input         Node
	Count, Offset expr.Expr
}

// Join pairs rows: each of its rows is a left row followed by a right
// row, for every pair on which Cond is TRUE (every pair, with no Cond);
// a LEFT (RIGHT) join also yields each left (right) row that pairs with
// none, NULLs in the other side's columns. splitJoin finds the equalities
// an executor hashes on.
type Join struct {
	Kind        JoinKind
	Left, Right Node
	Cond        expr.Expr
	// Temporal is FOR SYSTEM_TIME AS OF on the right side: a lookup join
	// (temporal.go); nil for a regular join.
	Temporal *Temporal
}

// JoinKind is INNER, LEFT, RIGHT or FULL.
type JoinKind uint8

const (
	InnerJoin JoinKind = iota
	LeftJoin
	RightJoin
	FullJoin
)

func (k JoinKind) String() string {
	switch k {
	case LeftJoin:
		return "left"
	case RightJoin:
		return "right"
	case FullJoin:
		return "full"
	}
	return "inner"
}

// outer reports which sides keep their rows without a match.
func (k JoinKind) outer() [2]bool {
	return [2]bool{k == LeftJoin || k == FullJoin, k == RightJoin || k == FullJoin}
}

// UnionAll concatenates inputs of equal column types.
type UnionAll struct {
	Inputs []Node
	Cols   []types.Column
}

func (n *Values) Columns() []types.Column    { return n.Cols }
func (n *Series) Columns() []types.Column    { return []types.Column{n.Col} }
func (n *Scan) Columns() []types.Column      { return n.Relation.Columns }
func (n *Window) Columns() []types.Column    { return n.cols }
func (n *Filter) Columns() []types.Column    { return n.Input.Columns() }
func (n *Project) Columns() []types.Column   { return n.Cols }
func (n *Aggregate) Columns() []types.Column { return n.cols }
func (n *Sort) Columns() []types.Column      { return n.Input.Columns() }
func (n *Limit) Columns() []types.Column     { return n.Input.Columns() }
func (n *UnionAll) Columns() []types.Column  { return n.Cols }
func (n *Join) Columns() []types.Column {
	return append(append([]types.Column(nil), n.Left.Columns()...), n.Right.Columns()...)
}

func (n *Values) Children() []Node    { return nil }
func (n *Series) Children() []Node    { return nil }
func (n *Scan) Children() []Node      { return nil }
func (n *Window) Children() []Node    { return []Node{n.Input} }
func (n *Filter) Children() []Node    { return []Node{n.Input} }
func (n *Project) Children() []Node   { return []Node{n.Input} }
func (n *Aggregate) Children() []Node { return []Node{n.Input} }
func (n *Sort) Children() []Node      { return []Node{n.Input} }
func (n *Limit) Children() []Node     { return []Node{n.Input} }
func (n *UnionAll) Children() []Node  { return n.Inputs }
func (n *Join) Children() []Node      { return []Node{n.Left, n.Right} }

func (n *Values) describe() string {
	if len(n.Rows) == 1 && len(n.Rows[0]) == 0 {
		return "Values (one empty row)"
	}
	rows := make([]string, len(n.Rows))
	for i, r := range n.Rows {
		rows[i] = "(" + joinExprs(r) + ")"
	}
	return "Values " + strings.Join(rows, ", ")
}

func (n *Series) describe() string {
	return fmt.Sprintf("Series %s from=%s to=%s step=%s", n.Col.Name, n.Start, n.Stop, n.Step)
}

func (n *Scan) describe() string {
	s := fmt.Sprintf("Scan %s (%s)", n.Relation.Name, n.Relation.Kind)
	if n.Alias != "" && n.Alias != n.Relation.Name {
		s += " AS " + n.Alias
	}
	if cols := n.neededNames(); cols != "" {
		s += " columns=" + cols
	}
	if n.Relation.WatermarkColumn != "" {
		s += " watermark=" + n.Relation.WatermarkColumn
	}
	return s
}

func (n *Window) describe() string {
	tc := n.Input.Columns()[n.TimeCol].Name
	switch n.Kind {
	case "HOP":
		return fmt.Sprintf("Window HOP time=%s slide=%s size=%s", tc, fmtMicros(n.Slide), fmtMicros(n.Size))
	case "SESSION":
		return fmt.Sprintf("Window SESSION time=%s gap=%s", tc, fmtMicros(n.Gap))
	}
	return fmt.Sprintf("Window TUMBLE time=%s size=%s", tc, fmtMicros(n.Size))
}

func fmtMicros(us int64) string { return types.FormatInterval(0, us) }

func (n *Filter) describe() string { return "Filter " + n.Cond.String() }

func (n *Project) describe() string {
	parts := make([]string, len(n.Exprs))
	for i, e := range n.Exprs {
		s := e.String()
		if s != n.Cols[i].Name {
			s += " AS " + n.Cols[i].Name
		}
		parts[i] = s
	}
	return "Project " + strings.Join(parts, ", ")
}

func (n *Aggregate) describe() string {
	aggs := make([]string, len(n.Aggs))
	for i, a := range n.Aggs {
		aggs[i] = a.String()
	}
	return fmt.Sprintf("Aggregate keys=[%s] aggs=[%s]", joinExprs(n.Keys), strings.Join(aggs, ", "))
}

func (n *Sort) describe() string {
	cols := n.Input.Columns()
	parts := make([]string, len(n.Keys))
	for i, k := range n.Keys {
		parts[i] = cols[k.Column].Name
		if k.Desc {
			parts[i] += " DESC"
		}
	}
	return "Sort " + strings.Join(parts, ", ")
}

func (n *Limit) describe() string {
	s := "Limit"
	if n.Count != nil {
		s += " count=" + n.Count.String()
	}
	if n.Offset != nil {
		s += " offset=" + n.Offset.String()
	}
	return s
}

func (n *UnionAll) describe() string { return "UnionAll" }

func (n *Join) describe() string {
	name := "Join "
	if n.Temporal != nil {
		name = "LookupJoin "
	}
	if n.Cond == nil {
		return name + n.Kind.String() + " (cross)"
	}
	return name + n.Kind.String() + " on=" + n.Cond.String()
}

func joinExprs(es []expr.Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

// explain renders the tree, one operator per line, children indented.
func explain(n Node, depth int, out *[]string) {
	*out = append(*out, strings.Repeat("  ", depth)+n.describe())
	for _, c := range n.Children() {
		explain(c, depth+1, out)
	}
}
