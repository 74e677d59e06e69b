package planner

import (
	"context"

	"github.com/streamsql/streamsql/exec/expr"
)

// eliminateIdentityProject removes a Project that passes its input's
// columns through unchanged, in order, with the same names and types
// (SELECT * over a subquery, a projection of every column). Safe: its
// output rows equal its input rows column for column.
func eliminateIdentityProject(_ context.Context, n Node) (Node, bool, error) {
	p, ok := n.(*Project)
	if !ok {
		return n, false, nil
	}
	in := p.Input.Columns()
	if len(in) != len(p.Exprs) {
		return n, false, nil
	}
	for i, e := range p.Exprs {
		ref, ok := e.(*expr.ColumnRef)
		if !ok || ref.Index != i || in[i].Name != p.Cols[i].Name || in[i].Type != p.Cols[i].Type {
			return n, false, nil
		}
	}
	return p.Input, true, nil
}
