package planner

import (
	"context"

	"github.com/streamsql/streamsql/exec/expr"
)

// foldConstants evaluates subexpressions that read no row, parameter or
// NOW() once, at plan time. Safe because such an expression has one value
// for every row of every execution; one whose evaluation fails is left in
// place (expr.Fold), so an error still happens only if a row reaches it.
func foldConstants(_ context.Context, n Node) (Node, bool, error) {
	switch n := n.(type) {
	case *Filter:
		if f, ok := expr.Fold(n.Cond); ok {
			c := *n
			c.Cond = f
			return &c, true, nil
		}
	case *Project:
		if es, ok := foldAll(n.Exprs); ok {
			c := *n
			c.Exprs = es
			return &c, true, nil
		}
	case *Aggregate:
		keys, changed := foldAll(n.Keys)
		aggs, copied := n.Aggs, false
		for i, a := range n.Aggs {
			if a.Arg == nil {
				continue
			}
			if f, ok := expr.Fold(a.Arg); ok {
				if !copied {
					aggs, copied = append([]*expr.Agg(nil), n.Aggs...), true
				}
				na := *a
				na.Arg = f
				aggs[i] = &na
				changed = true
			}
		}
		if changed {
			c := *n
			c.Keys, c.Aggs = keys, aggs
			return &c, true, nil
		}
	}
	return n, false, nil
}
