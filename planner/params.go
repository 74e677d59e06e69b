package planner

import (
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// hintParams gives an untyped parameter that is a whole result column of
// root (through UNION ALL) the type of its column in cols.
func hintParams(root Node, cols []types.Type, preset []types.Type) {
	if len(cols) == 0 {
		return
	}
	switch n := root.(type) {
	case *UnionAll:
		for _, in := range n.Inputs {
			hintParams(in, cols, preset)
		}
	case *Project:
		for i, e := range n.Exprs {
			if p, ok := e.(*expr.Param); ok && i < len(cols) && p.Index < len(preset) && preset[p.Index].Kind == types.Unknown {
				preset[p.Index] = cols[i]
			}
		}
	}
}
