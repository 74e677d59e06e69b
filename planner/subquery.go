package planner

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Uncorrelated scalar subqueries, (SELECT MAX(x) FROM t), EXISTS
// (SELECT ...) and x IN (SELECT ...) in one-off queries: each is planned on
// its own, run once per execution before the statement's rows, and its
// value (an IN subquery's set of values) read from the Env by an
// expr.Subquery (expr.InSubquery). Views refuse them (PlanStream): a view
// would have to re-run them on every change of what they read.

type subquery struct {
	root   Node
	exists bool             // EXISTS: TRUE when it has a row
	in     *expr.InSubquery // x IN (subquery): every row's value; else its one value
}

// bindSubquery plans n with the current scope as an outer one, so that a
// reference to it is recognised as a correlation (refused), and returns
// the reference to its value.
func (b *binder) bindSubquery(cx ectx, n *ast.SubqueryExpr, exists bool) (expr.Expr, error) {
	root, err := b.planSubquery(cx, n)
	if err != nil {
		return nil, err
	}
	typ := types.TypeBool
	if !exists {
		typ = root.Columns()[0].Type
	}
	b.subs = append(b.subs, subquery{root: root, exists: exists})
	return &expr.Subquery{Index: len(b.subs) - 1, Typ: typ}, nil
}

// bindInSubquery binds x [NOT] IN (subquery) (without the NOT).
func (b *binder) bindInSubquery(cx ectx, n *ast.PatternInExpr) (expr.Expr, error) {
	sq, ok := n.Sel.(*ast.SubqueryExpr)
	if !ok {
		return nil, unsupported(cx.pos, "IN needs a list or a subquery")
	}
	x, err := b.bindExpr(cx, n.Expr)
	if err != nil {
		return nil, err
	}
	root, err := b.planSubquery(cx, sq)
	if err != nil {
		return nil, err
	}
	in, err := expr.NewInSubquery(x, root.Columns()[0].Type, len(b.subs), cx.pos)
	if err != nil {
		return nil, err
	}
	b.subs = append(b.subs, subquery{root: root, in: in})
	return in, nil
}

// planSubquery plans n's query with cx's scopes as outer ones; it must
// have one column.
func (b *binder) planSubquery(cx ectx, n *ast.SubqueryExpr) (Node, error) {
	pushed := 0
	for _, sc := range []*scope{cx.scope, aggInput(cx.agg)} {
		if sc != nil {
			b.outer = append(b.outer, sc)
			pushed++
		}
	}
	root, err := b.buildResultSet(n.Query, cx.pos)
	b.outer = b.outer[:len(b.outer)-pushed]
	if err != nil {
		return nil, err
	}
	// EXISTS (SELECT a, b ...) is fine in MySQL; elsewhere one column.
	if len(root.Columns()) != 1 && !n.Exists {
		return nil, sqlerr.Newf(sqlerr.CardinalityViolation, "Operand should contain 1 column(s)").At(cx.pos)
	}
	root, _, err = optimize(b.ctx, root)
	return root, err
}

func aggInput(a *aggCtx) *scope {
	if a == nil {
		return nil
	}
	return a.input
}

// correlated turns err, a column that does not resolve, into 0A000 when
// the column is one of an enclosing query's.
func (b *binder) correlated(n *ast.ColumnNameExpr, err error, pos int) error {
	var se *sqlerr.Error
	if !errors.As(err, &se) || (se.Code != sqlerr.UndefinedColumn && se.Code != sqlerr.UndefinedTable) {
		return err
	}
	for _, sc := range b.outer {
		if _, lerr := b.lookup(sc, n.Name.Table.O, n.Name.Name.O, pos); lerr == nil {
			return sqlerr.Newf(sqlerr.FeatureNotSupported,
				"correlated subqueries are not supported: %s refers to the enclosing query", n.Name.String()).At(pos)
		}
	}
	return err
}

// evalSubqueries runs q's subqueries, innermost first, into env.
func (q *Query) evalSubqueries(ctx context.Context, env *expr.Env, open ScanOpener) error {
	if len(q.subs) == 0 {
		return nil
	}
	env.Subqueries = make([]types.Value, len(q.subs))
	env.SubquerySets = make([]*expr.SubquerySet, len(q.subs))
	for i, s := range q.subs {
		if s.in != nil {
			vals, err := subqueryValues(ctx, s, env, open)
			if err != nil {
				return err
			}
			if env.SubquerySets[i], err = s.in.NewSet(vals, env); err != nil {
				return err
			}
			continue
		}
		v, err := runSubquery(ctx, s, env, open)
		if err != nil {
			return err
		}
		env.Subqueries[i] = v
	}
	return nil
}

func runSubquery(ctx context.Context, s subquery, env *expr.Env, open ScanOpener) (types.Value, error) {
	it, err := buildIter(s.root, env, open)
	if err != nil {
		return types.Null, err
	}
	defer it.Close()
	first, err := it.Next(ctx)
	if errors.Is(err, io.EOF) {
		if s.exists {
			return types.NewBool(false), nil
		}
		return types.Null, nil // no row: NULL, as in MySQL
	}
	if err != nil {
		return types.Null, fmt.Errorf("subquery: %w", err)
	}
	if s.exists {
		return types.NewBool(true), nil
	}
	if _, err := it.Next(ctx); !errors.Is(err, io.EOF) {
		if err != nil {
			return types.Null, fmt.Errorf("subquery: %w", err)
		}
		return types.Null, sqlerr.Newf(sqlerr.CardinalityViolation, "Subquery returns more than 1 row")
	}
	return first[0], nil
}

// subqueryValues runs an IN subquery and returns its column's values.
func subqueryValues(ctx context.Context, s subquery, env *expr.Env, open ScanOpener) ([]types.Value, error) {
	it, err := buildIter(s.root, env, open)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var vals []types.Value
	for {
		row, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return vals, nil
		}
		if err != nil {
			return nil, fmt.Errorf("subquery: %w", err)
		}
		vals = append(vals, row[0])
	}
}
