package planner

import (
	"context"
	"time"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Query is a bound SELECT: its logical plan, result columns and parameter
// types. It is immutable and may run many times, concurrently.
type Query struct {
	root       Node
	cols       []types.Column
	paramTypes []types.Type
	deps       []string
	streaming  bool
	opts       Options
	fired      []string // rewrite rules that changed the plan, for tests
	subs       []subquery
}

// Columns returns the result columns.
func (q *Query) Columns() []types.Column { return q.cols }

// ParamTypes returns each parameter's inferred type; Unknown where the
// query does not constrain it (clients then send text).
func (q *Query) ParamTypes() []types.Type { return q.paramTypes }

// Dependencies returns the relations the query reads, in FROM order.
func (q *Query) Dependencies() []string { return q.deps }

// Root returns the logical plan.
func (q *Query) Root() Node { return q.root }

// Streaming reports whether the query reads a source or view, and so
// needs the continuous query engine.
func (q *Query) Streaming() bool { return q.streaming }

// Explain renders the plan, one operator per line, children indented by
// two spaces. Aggregates over streams say how they emit.
func (q *Query) Explain() []string {
	var out []string
	explain(q.root, 0, &out)
	if q.streaming {
		for i, line := range out {
			if trimmed := trimIndent(line); len(trimmed) >= 9 && trimmed[:9] == "Aggregate" {
				if q.opts.EmitOnWindowClose {
					out[i] = line + " emit=on-window-close"
				} else {
					out[i] = line + " emit=on-update"
				}
			}
		}
	}
	return out
}

func trimIndent(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

// Run evaluates a query that reads no stream and returns its rows. NOW()
// is the moment of the call, the same for every row. Queries over sources
// or views return 0A000: the continuous query engine plans those.
func (q *Query) Run(ctx context.Context, params []types.Value) (exec.RowIter, error) {
	return q.RunEnv(ctx, &expr.Env{Params: params, Now: time.Now().UnixMicro()})
}

// RunEnv is Run with an explicit environment (a fixed NOW() in tests).
func (q *Query) RunEnv(ctx context.Context, env *expr.Env) (exec.RowIter, error) {
	if len(env.Params) != len(q.paramTypes) {
		return nil, sqlerr.Newf(sqlerr.ProtocolViolation,
			"bind message supplies %d parameters, but the statement requires %d", len(env.Params), len(q.paramTypes))
	}
	if q.streaming {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "reading sources arrives with the continuous query engine")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := q.evalSubqueries(ctx, env, nil); err != nil {
		return nil, err
	}
	return buildIter(q.root, env, nil)
}

// ScanOpener opens a bounded read of the relation a Scan names, for a
// query that reads a source or a view once rather than continuously.
type ScanOpener func(s *Scan) (exec.RowIter, error)

// RunWith is Run for a query that reads sources or views: open gives the
// rows of each Scan. Operators the batch evaluator lacks (windows) are
// refused with 0A000. warn, when not nil, receives the expressions'
// warnings (MySQL's answers that come with a warning) as rows are read.
func (q *Query) RunWith(ctx context.Context, params []types.Value, open ScanOpener, warn func(*sqlerr.Error)) (exec.RowIter, error) {
	env := &expr.Env{Params: params, Now: time.Now().UnixMicro(), Warn: warn}
	if len(env.Params) != len(q.paramTypes) {
		return nil, sqlerr.Newf(sqlerr.ProtocolViolation,
			"bind message supplies %d parameters, but the statement requires %d", len(env.Params), len(q.paramTypes))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := q.evalSubqueries(ctx, env, open); err != nil {
		return nil, err
	}
	return buildIter(q.root, env, open)
}

func compileAll(es []expr.Expr) ([]expr.Func, error) {
	out := make([]expr.Func, len(es))
	for i, e := range es {
		f, err := expr.Compile(e)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// evalConst evaluates an expression that reads no row (series bounds,
// LIMIT counts).
func evalConst(e expr.Expr, env *expr.Env) (types.Value, error) {
	f, err := expr.Compile(e)
	if err != nil {
		return types.Null, err
	}
	return f(nil, env)
}

// buildIter turns the plan into row iterators.
func buildIter(n Node, env *expr.Env, open ScanOpener) (exec.RowIter, error) {
	switch n := n.(type) {
	case *Scan:
		if open == nil {
			break
		}
		return open(n)
	case *Values:
		rows := make([][]expr.Func, len(n.Rows))
		for i, r := range n.Rows {
			fs, err := compileAll(r)
			if err != nil {
				return nil, err
			}
			rows[i] = fs
		}
		return exec.NewValuesIter(rows, env), nil
	case *Series:
		var vals [3]int64
		for i, e := range []expr.Expr{n.Start, n.Stop, n.Step} {
			v, err := evalConst(expr.Expr(&expr.Cast{Arg: e, To: types.TypeBigInt}), env)
			if err != nil {
				return nil, err
			}
			if v.IsNull() {
				// Postgres: a NULL bound yields no rows.
				return exec.NewValuesIter(nil, env), nil
			}
			vals[i] = v.Int()
		}
		return exec.NewSeriesIter(vals[0], vals[1], vals[2])
	case *Filter:
		in, err := buildIter(n.Input, env, open)
		if err != nil {
			return nil, err
		}
		pred, err := expr.CompilePredicate(n.Cond)
		if err != nil {
			in.Close()
			return nil, err
		}
		return exec.NewFilterIter(in, pred, env), nil
	case *Project:
		in, err := buildIter(n.Input, env, open)
		if err != nil {
			return nil, err
		}
		fs, err := compileAll(n.Exprs)
		if err != nil {
			in.Close()
			return nil, err
		}
		return exec.NewProjectIter(in, fs, env), nil
	case *Aggregate:
		var in exec.RowIter
		var err error
		if win, filters := windowUnder(n.Input); win != nil && win.Kind == "SESSION" {
			in, err = buildSessionIter(n, win, filters, env, open)
		} else {
			in, err = buildIter(n.Input, env, open)
		}
		if err != nil {
			return nil, err
		}
		keys, err := compileAll(n.Keys)
		if err != nil {
			in.Close()
			return nil, err
		}
		args := make([]expr.Func, len(n.Aggs))
		for i, a := range n.Aggs {
			if a.Arg == nil {
				continue
			}
			if args[i], err = expr.Compile(a.Arg); err != nil {
				in.Close()
				return nil, err
			}
		}
		return exec.NewAggregateIter(in, keys, n.Aggs, args, env), nil
	case *Sort:
		in, err := buildIter(n.Input, env, open)
		if err != nil {
			return nil, err
		}
		keys := make([]exec.SortKey, len(n.Keys))
		for i, k := range n.Keys {
			keys[i] = exec.SortKey{Column: k.Column, Desc: k.Desc, NullsFirst: k.NullsFirst}
		}
		return exec.NewSortIter(in, keys), nil
	case *Limit:
		count, offset := int64(-1), int64(0)
		if n.Count != nil {
			v, err := evalConst(&expr.Cast{Arg: n.Count, To: types.TypeBigInt}, env)
			if err != nil {
				return nil, err
			}
			if !v.IsNull() {
				if v.Int() < 0 {
					return nil, sqlerr.Newf("2201W", "LIMIT must not be negative")
				}
				count = v.Int()
			}
		}
		if n.Offset != nil {
			v, err := evalConst(&expr.Cast{Arg: n.Offset, To: types.TypeBigInt}, env)
			if err != nil {
				return nil, err
			}
			if !v.IsNull() {
				if v.Int() < 0 {
					return nil, sqlerr.Newf("2201X", "OFFSET must not be negative")
				}
				offset = v.Int()
			}
		}
		in, err := buildIter(n.Input, env, open)
		if err != nil {
			return nil, err
		}
		return exec.NewLimitIter(in, count, offset), nil
	case *UnionAll:
		ins := make([]exec.RowIter, 0, len(n.Inputs))
		for _, c := range n.Inputs {
			it, err := buildIter(c, env, open)
			if err != nil {
				for _, done := range ins {
					done.Close()
				}
				return nil, err
			}
			ins = append(ins, it)
		}
		return exec.NewUnionAllIter(ins...), nil
	case *Join:
		return buildJoinIter(n, env, open)
	case *Window:
		return buildWindowIter(n, env, open)
	}
	return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "reading sources arrives with the continuous query engine")
}

// buildJoinIter evaluates a join by hashing its right input on the keys
// (a nested loop, with none).
func buildJoinIter(n *Join, env *expr.Env, open ScanOpener) (exec.RowIter, error) {
	spec, err := splitJoin(n)
	if err != nil {
		return nil, err
	}
	lk, err := compileAll(spec.leftKeys)
	if err != nil {
		return nil, err
	}
	rk, err := compileAll(spec.rightKeys)
	if err != nil {
		return nil, err
	}
	var cond func(types.Row, *expr.Env) (bool, error)
	if spec.residual != nil {
		if cond, err = expr.CompilePredicate(spec.residual); err != nil {
			return nil, err
		}
	}
	left, err := buildIter(n.Left, env, open)
	if err != nil {
		return nil, err
	}
	right, err := buildIter(n.Right, env, open)
	if err != nil {
		left.Close()
		return nil, err
	}
	it := exec.NewHashJoinIter(left, right, lk, rk, cond, env)
	it.Outer = n.Kind.outer()
	it.SetWidths(len(n.Left.Columns()), len(n.Right.Columns()))
	return it, nil
}
