package planner

import (
	"context"

	"github.com/streamsql/streamsql/exec/expr"
)

// rule rewrites one node (its children are already rewritten) and reports
// whether it changed anything. Rules are small, each in its own file, each
// safe on its own: no statistics, no cost model.
type rule struct {
	name  string
	apply func(ctx context.Context, n Node) (Node, bool, error)
}

// rules run in this order, bottom-up over the tree, until none fires.
var rules = []rule{
	{"FoldConstants", foldConstants},
	{"EliminateTrueFilter", eliminateTrueFilter},
	{"MergeFilters", mergeFilters},
	{"PushFiltersIntoJoin", pushFiltersIntoJoin},
	{"EliminateIdentityProject", eliminateIdentityProject},
	{"PruneScanColumns", pruneScanColumns},
}

// maxRulePasses bounds the fixpoint loop; every rule shrinks the tree or
// its expressions, so a few passes suffice.
const maxRulePasses = 8

// optimize applies the rules and returns the new tree and the names of the
// rules that fired, in order of first firing.
func optimize(ctx context.Context, root Node) (Node, []string, error) {
	var fired []string
	seen := map[string]bool{}
	for pass := 0; pass < maxRulePasses; pass++ {
		changed := false
		for _, r := range rules {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			var c bool
			var err error
			root, c, err = applyBottomUp(ctx, root, r)
			if err != nil {
				return nil, nil, err
			}
			if c {
				changed = true
				if !seen[r.name] {
					seen[r.name] = true
					fired = append(fired, r.name)
				}
			}
		}
		if !changed {
			break
		}
	}
	return root, fired, nil
}

func applyBottomUp(ctx context.Context, n Node, r rule) (Node, bool, error) {
	changed := false
	kids := n.Children()
	if len(kids) > 0 {
		newKids := make([]Node, len(kids))
		for i, k := range kids {
			nk, c, err := applyBottomUp(ctx, k, r)
			if err != nil {
				return nil, false, err
			}
			newKids[i] = nk
			changed = changed || c
		}
		if changed {
			n = withChildren(n, newKids)
		}
	}
	out, c, err := r.apply(ctx, n)
	return out, changed || c, err
}

// withChildren returns a copy of n over new children.
func withChildren(n Node, kids []Node) Node {
	switch n := n.(type) {
	case *Window:
		c := *n
		c.Input = kids[0]
		return &c
	case *Filter:
		c := *n
		c.Input = kids[0]
		return &c
	case *Project:
		c := *n
		c.Input = kids[0]
		return &c
	case *Aggregate:
		c := *n
		c.Input = kids[0]
		return &c
	case *Sort:
		c := *n
		c.Input = kids[0]
		return &c
	case *Limit:
		c := *n
		c.Input = kids[0]
		return &c
	case *Over:
		c := *n
		c.Input = kids[0]
		return &c
	case *UnionAll:
		c := *n
		c.Inputs = kids
		return &c
	case *Join:
		c := *n
		c.Left, c.Right = kids[0], kids[1]
		return &c
	}
	return n
}

// foldAll folds a list of expressions, copying it only when one changes.
func foldAll(es []expr.Expr) ([]expr.Expr, bool) {
	var out []expr.Expr
	for i, e := range es {
		if f, ok := expr.Fold(e); ok {
			if out == nil {
				out = append([]expr.Expr(nil), es...)
			}
			out[i] = f
		}
	}
	if out == nil {
		return es, false
	}
	return out, true
}
