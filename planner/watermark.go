package planner

import "github.com/streamsql/streamsql/exec/expr"

// WatermarkColumn returns the name of the output column of a continuous
// query that carries, unchanged, the WATERMARK column of everything it
// reads (through filters, projections and UNION ALL), or "" if none does.
// A view reading another view's changelog is sent the upstream's
// watermark (the engine's changelog.go), and that watermark bounds this
// column's values as it bounds the source's: a window over it closes
// (EMIT ON WINDOW CLOSE) as one over the source would. A column computed
// from the time, or a window or aggregate, carries no such bound.
func (q *Query) WatermarkColumn() string {
	if !q.streaming {
		return ""
	}
	i := watermarkThrough(q.root)
	if i < 0 {
		return ""
	}
	return q.root.Columns()[i].Name
}

// watermarkThrough returns the index of n's output column that passes a
// watermark column through, or -1.
func watermarkThrough(n Node) int {
	switch n := n.(type) {
	case *Scan:
		for i, c := range n.Relation.Columns {
			if n.Relation.WatermarkColumn != "" && c.Name == n.Relation.WatermarkColumn {
				return i
			}
		}
	case *Filter:
		return watermarkThrough(n.Input)
	case *Project:
		in := watermarkThrough(n.Input)
		if in < 0 {
			return -1
		}
		for j, e := range n.Exprs {
			if c, ok := e.(*expr.ColumnRef); ok && c.Index == in {
				return j
			}
		}
	case *UnionAll:
		at := -1
		for i, in := range n.Inputs {
			j := watermarkThrough(in)
			if j < 0 || (i > 0 && j != at) {
				return -1
			}
			at = j
		}
		return at
	}
	return -1
}
