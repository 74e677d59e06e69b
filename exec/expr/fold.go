package expr

import (
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// envFuncs read the Env (NOW() and friends), so their value is known only
// when a statement runs; folding must leave them alone.
var envFuncs = map[string]bool{
	"now": true, "current_timestamp": true, "localtimestamp": true, "localtime": true, "sysdate": true,
	"curdate": true, "current_date": true, "utc_timestamp": true, "utc_date": true, "utc_time": true,
	"curtime": true, "current_time": true,
	// RAND(N) gives each row the next number of its sequence; RAND() a new one.
	"rand": true,
}

// Fold replaces constant subexpressions (reading no row, no parameter and
// no Env) by their values. A subexpression whose evaluation fails is kept,
// and so is everything over it, so that the error is raised when (and only
// if) a row needs it, as it would have been without folding. changed
// reports whether anything was folded. It visits each node once, and
// evaluates a node only over children already folded to values, so a deep
// or wide expression (a long AND/OR chain, an IN list) folds in linear time.
func Fold(e Expr) (out Expr, changed bool) {
	out, changed, _ = fold(e)
	return out, changed
}

// fold is Fold that also reports whether out is a constant value.
func fold(e Expr) (out Expr, changed, constant bool) {
	switch x := e.(type) {
	case *Const:
		return e, false, true
	case *ColumnRef, *Param:
		return e, false, false
	case *Cast:
		a, ch, c := fold(x.Arg)
		if ch {
			cp := *x
			cp.Arg = a
			e = &cp
		}
		return foldNode(e, ch, c)
	case *Call:
		// A COLLATE node stays, so that the operator above it still
		// sees the collation when its other side is not constant.
		constant := !envFuncs[x.Name] && !(x.Name == "unix_timestamp" && len(x.Args) == 0) && x.Name != "collate"
		var args []Expr
		for i, a := range x.Args {
			f, ch, c := fold(a)
			constant = constant && c
			if ch {
				if args == nil {
					args = append([]Expr(nil), x.Args...)
				}
				args[i] = f
			}
		}
		if args != nil {
			cp := *x
			cp.Args = args
			e = &cp
		}
		return foldNode(e, args != nil, constant)
	case *Case:
		cp := *x
		cp.Whens = append([]When(nil), x.Whens...)
		any, constant := false, true
		for i, w := range cp.Whens {
			f, ch, c := fold(w.Cond)
			cp.Whens[i].Cond, any, constant = f, any || ch, constant && c
			f, ch, c = fold(w.Result)
			cp.Whens[i].Result, any, constant = f, any || ch, constant && c
		}
		if cp.Else != nil {
			f, ch, c := fold(cp.Else)
			cp.Else, any, constant = f, any || ch, constant && c
		}
		if any {
			e = &cp
		}
		return foldNode(e, any, constant)
	}
	return e, false, false
}

// foldNode evaluates e, whose arguments are all values when constant is
// set. A node that fails to evaluate is kept and marked not constant, so
// that no node above it evaluates it again.
func foldNode(e Expr, changed, constant bool) (Expr, bool, bool) {
	if !constant {
		return e, changed, false
	}
	if f, err := Compile(e); err == nil {
		// A value that comes with a warning is left to be computed when the
		// statement runs, where its warning reaches the user.
		warned := false
		env := &Env{Warn: func(*sqlerr.Error) { warned = true }}
		if v, err := f(nil, env); err == nil && !warned {
			return &Const{Value: v, Typ: e.Type()}, true, true
		}
	}
	return e, changed, false
}

// IsTrue reports whether e is the constant TRUE.
func IsTrue(e Expr) bool {
	c, ok := e.(*Const)
	return ok && c.Value.Kind() == types.Bool && c.Value.Bool()
}
