package planner

import (
	"context"
	"slices"

	"github.com/streamsql/streamsql/exec/expr"
)

// pruneScanColumns records on each source Scan which of its columns the
// plan above uses, so the decoder can leave the others NULL without
// parsing them. The Scan still yields every column positionally: no
// expression above it changes.
//
// Rules run bottom-up and see one node at a time, so the rule assumes the
// node it is applied to uses all its own output columns and works out,
// top-down from there, what each Scan below needs. That is a superset of
// what the whole plan needs; applied at the root it is exact. The rule
// only ever narrows a Scan's set (the intersection of sound supersets is
// sound), so it settles and does not flip between passes. Safe: a column
// left out is one no expression of the plan reads.
func pruneScanColumns(_ context.Context, n Node) (Node, bool, error) {
	out, changed := pruneUsed(n, allUsed(len(n.Columns())))
	return out, changed, nil
}

func allUsed(n int) []bool {
	u := make([]bool, n)
	for i := range u {
		u[i] = true
	}
	return u
}

// markRefs sets used[i] for every column i that e reads.
func markRefs(used []bool, e expr.Expr) {
	if e == nil {
		return
	}
	expr.Walk(e, func(x expr.Expr) bool {
		if c, ok := x.(*expr.ColumnRef); ok && c.Index >= 0 && c.Index < len(used) {
			used[c.Index] = true
		}
		return true
	})
}

// pruneUsed narrows the Scans under n, given which of n's output columns
// are used; it returns n rebuilt over the narrowed Scans.
func pruneUsed(n Node, used []bool) (Node, bool) {
	var kidUsed [][]bool
	switch n := n.(type) {
	case *Scan:
		return pruneScan(n, used)
	case *Filter:
		u := slices.Clone(used)
		markRefs(u, n.Cond)
		kidUsed = [][]bool{u}
	case *Project:
		u := make([]bool, len(n.Input.Columns()))
		for _, e := range n.Exprs {
			markRefs(u, e)
		}
		kidUsed = [][]bool{u}
	case *Aggregate:
		u := make([]bool, len(n.Input.Columns()))
		for _, e := range n.Keys {
			markRefs(u, e)
		}
		for _, a := range n.Aggs {
			markRefs(u, a.Arg)
		}
		kidUsed = [][]bool{u}
	case *Window:
		// The window's output is its input's columns, then window_start
		// and window_end.
		u := make([]bool, len(n.Input.Columns()))
		copy(u, used)
		u[n.TimeCol] = true
		kidUsed = [][]bool{u}
	case *Over:
		// Output: the input's columns, then the functions'.
		u := make([]bool, len(n.Input.Columns()))
		copy(u, used)
		for _, e := range n.PartitionBy {
			markRefs(u, e)
		}
		for _, k := range n.OrderBy {
			markRefs(u, k.Expr)
		}
		for _, f := range n.Funcs {
			if f.Agg != nil {
				markRefs(u, f.Agg.Arg)
			}
		}
		kidUsed = [][]bool{u}
	case *Sort:
		u := slices.Clone(used)
		for _, k := range n.Keys {
			u[k.Column] = true
		}
		kidUsed = [][]bool{u}
	case *Limit:
		kidUsed = [][]bool{used}
	case *UnionAll:
		for range n.Inputs {
			kidUsed = append(kidUsed, used)
		}
	case *Join:
		u := slices.Clone(used)
		markRefs(u, n.Cond)
		width := len(n.Left.Columns())
		kidUsed = [][]bool{u[:width], u[width:]}
	default:
		return n, false
	}
	kids := n.Children()
	newKids := make([]Node, len(kids))
	changed := false
	for i, k := range kids {
		var c bool
		newKids[i], c = pruneUsed(k, kidUsed[i])
		changed = changed || c
	}
	if !changed {
		return n, false
	}
	return withChildren(n, newKids), true
}

// pruneScan narrows a source Scan's Needed to used (plus its watermark
// column, which the pipeline reads for event time). A Scan of a view is
// left alone: it reads the view's table, not a decoder.
func pruneScan(s *Scan, used []bool) (Node, bool) {
	if s.Relation.Kind != "source" {
		return s, false
	}
	cols := s.Relation.Columns
	need := make([]bool, len(cols))
	all := true
	for i, c := range cols {
		need[i] = (i < len(used) && used[i]) || c.Name == s.Relation.WatermarkColumn
		if s.Needed != nil && !s.Needed[i] {
			need[i] = false
		}
		all = all && need[i]
	}
	if all || slices.Equal(need, s.Needed) {
		return s, false
	}
	c := *s
	c.Needed = need
	return &c, true
}
