package expr

import (
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Compile turns a bound expression into a closure. Work that depends only
// on types (choosing comparison and arithmetic routines, casts, parsing
// constant LIKE patterns and JSON paths) happens here, once.
func Compile(e Expr) (Func, error) {
	switch e := e.(type) {
	case *ColumnRef:
		i := e.Index
		return func(row types.Row, _ *Env) (types.Value, error) {
			if i >= len(row) {
				return types.Null, sqlerr.Newf(sqlerr.Internal, "column #%d out of range of a row of %d", i, len(row))
			}
			return row[i], nil
		}, nil
	case *Const:
		v := e.Value
		return func(types.Row, *Env) (types.Value, error) { return v, nil }, nil
	case *Param:
		i, t := e.Index, e.Typ
		var conv converter
		if t.Kind != types.Unknown {
			conv, _ = castFunc(types.TypeUnknown, t)
		}
		return func(_ types.Row, env *Env) (types.Value, error) {
			if env == nil || i >= len(env.Params) {
				return types.Null, sqlerr.Newf(sqlerr.UndefinedParameter, "there is no parameter $%d", i+1)
			}
			v := env.Params[i]
			// Clients may send any parameter as text, or as a value of
			// another kind: read it as the inferred type. Text must read
			// whole (a client's typo is an error, not MySQL's prefix).
			if conv != nil && !v.IsNull() && v.Kind() != t.Kind {
				if v.Kind() == types.String {
					return parseText(t, strings.TrimSpace(v.Str()))
				}
				return conv(v, env)
			}
			return v, nil
		}, nil
	case *InSubquery:
		return compileInSubquery(e)
	case *Subquery:
		i := e.Index
		return func(_ types.Row, env *Env) (types.Value, error) {
			if env == nil || i >= len(env.Subqueries) {
				return types.Null, sqlerr.Newf(sqlerr.Internal, "subquery %d was not evaluated", i+1)
			}
			return env.Subqueries[i], nil
		}, nil
	case *Cast:
		arg, err := Compile(e.Arg)
		if err != nil {
			return nil, err
		}
		conv, err := castFunc(e.Arg.Type(), e.To)
		if e.Unsigned {
			conv, err = unsignedFunc(e.Arg.Type())
		}
		if err != nil {
			return nil, err
		}
		pos := e.Pos
		return func(row types.Row, env *Env) (types.Value, error) {
			v, err := arg(row, env)
			if err != nil || v.IsNull() {
				return v, err
			}
			out, err := conv(v, env)
			if err != nil {
				if _, ok := err.(nullWarning); ok {
					return warnNull(err, env)
				}
				return types.Null, atPos(err, pos)
			}
			return out, nil
		}, nil
	case *Call:
		args := make([]Func, len(e.Args))
		for i, a := range e.Args {
			f, err := Compile(a)
			if err != nil {
				return nil, err
			}
			args[i] = f
		}
		if e.def == nil {
			return nil, fmt.Errorf("call %s was not bound with NewCall", e.Name)
		}
		f, err := e.def.compile(e, args)
		if err != nil {
			return nil, atPos(err, e.Pos)
		}
		if e.Pos == 0 {
			return f, nil
		}
		pos := e.Pos
		return func(row types.Row, env *Env) (types.Value, error) {
			v, err := f(row, env)
			if err != nil {
				return v, atPos(err, pos)
			}
			return v, nil
		}, nil
	case *Case:
		conds := make([]Func, len(e.Whens))
		results := make([]Func, len(e.Whens))
		for i, w := range e.Whens {
			var err error
			if conds[i], err = Compile(w.Cond); err != nil {
				return nil, err
			}
			if results[i], err = Compile(w.Result); err != nil {
				return nil, err
			}
		}
		els := func(types.Row, *Env) (types.Value, error) { return types.Null, nil }
		if e.Else != nil {
			var err error
			if els, err = Compile(e.Else); err != nil {
				return nil, err
			}
		}
		return func(row types.Row, env *Env) (types.Value, error) {
			for i, c := range conds {
				v, err := c(row, env)
				if err != nil {
					return types.Null, err
				}
				if !v.IsNull() && v.Bool() {
					return results[i](row, env)
				}
			}
			return els(row, env)
		}, nil
	}
	return nil, fmt.Errorf("expr: cannot compile %T", e)
}

// CompilePredicate compiles a BOOLEAN condition to a function that is true
// only when the condition is TRUE (not FALSE, not NULL), as WHERE wants.
func CompilePredicate(e Expr) (func(types.Row, *Env) (bool, error), error) {
	f, err := Compile(e)
	if err != nil {
		return nil, err
	}
	return func(row types.Row, env *Env) (bool, error) {
		v, err := f(row, env)
		return err == nil && !v.IsNull() && v.Bool(), err
	}, nil
}

// atPos gives a runtime error the position of the expression that raised
// it, unless an inner expression already did.
func atPos(err error, pos int) error {
	if e, ok := err.(*sqlerr.Error); ok && e.Position == 0 && pos > 0 {
		return e.At(pos)
	}
	return err
}

// null1 wraps a one-argument function that is NULL on NULL input.
func null1(a Func, f func(types.Value) (types.Value, error)) Func {
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := a(row, env)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		return f(v)
	}
}

// null2 wraps a two-argument function that is NULL when either input is.
func null2(a, b Func, f func(x, y types.Value) (types.Value, error)) Func {
	return func(row types.Row, env *Env) (types.Value, error) {
		x, err := a(row, env)
		if err != nil || x.IsNull() {
			return types.Null, err
		}
		y, err := b(row, env)
		if err != nil || y.IsNull() {
			return types.Null, err
		}
		return f(x, y)
	}
}

// nullN wraps a function of any arity that is NULL when any input is. It
// allocates the argument slice per row; it serves string functions, which
// allocate their results anyway.
func nullN(args []Func, f func(vs []types.Value) (types.Value, error)) Func {
	return nullEnv(args, func(vs []types.Value, _ *Env) (types.Value, error) { return f(vs) })
}
