package planner

import (
	"context"

	"github.com/streamsql/streamsql/exec/expr"
)

// eliminateTrueFilter drops WHERE TRUE (often what FoldConstants leaves of
// a constant condition). Safe: the filter passes every row.
func eliminateTrueFilter(_ context.Context, n Node) (Node, bool, error) {
	if f, ok := n.(*Filter); ok && expr.IsTrue(f.Cond) {
		return f.Input, true, nil
	}
	return n, false, nil
}

// mergeFilters turns Filter(Filter(x, a), b) into Filter(x, a AND b), one
// operator instead of two. Safe: a row passes both filters exactly when a
// AND b is TRUE (NULL AND x is never TRUE, like a NULL filter).
func mergeFilters(_ context.Context, n Node) (Node, bool, error) {
	outer, ok := n.(*Filter)
	if !ok {
		return n, false, nil
	}
	inner, ok := outer.Input.(*Filter)
	if !ok {
		return n, false, nil
	}
	cond, err := expr.NewCall("and", 0, inner.Cond, outer.Cond)
	if err != nil {
		return nil, false, err
	}
	return &Filter{Input: inner.Input, Cond: cond}, true, nil
}
