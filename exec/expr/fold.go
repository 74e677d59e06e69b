package expr

import "github.com/streamsql/streamsql/sql/types"

// envFuncs read the Env (NOW() and friends), so their value is known only
// when a statement runs; folding must leave them alone.
var envFuncs = map[string]bool{
	"now": true, "current_timestamp": true, "localtimestamp": true, "localtime": true, "sysdate": true,
	"curdate": true, "current_date": true,
}

// IsConstant reports whether e reads no row, no parameter and no Env: its
// value is the same for every execution.
func IsConstant(e Expr) bool {
	ok := true
	Walk(e, func(x Expr) bool {
		switch x := x.(type) {
		case *ColumnRef, *Param:
			ok = false
		case *Call:
			if envFuncs[x.Name] || (x.Name == "unix_timestamp" && len(x.Args) == 0) {
				ok = false
			}
		}
		return ok
	})
	return ok
}

// Fold replaces constant subexpressions by their values. A subexpression
// whose evaluation fails is kept, so that the error is raised when (and
// only if) a row needs it, as it would have been without folding. changed
// reports whether anything was folded.
func Fold(e Expr) (out Expr, changed bool) {
	switch e.(type) {
	case *Const, *ColumnRef, *Param:
		return e, false
	}
	if IsConstant(e) {
		if f, err := Compile(e); err == nil {
			if v, err := f(nil, &Env{}); err == nil {
				return &Const{Value: v, Typ: e.Type()}, true
			}
		}
	}
	switch x := e.(type) {
	case *Cast:
		if a, ok := Fold(x.Arg); ok {
			c := *x
			c.Arg = a
			return &c, true
		}
	case *Call:
		var args []Expr
		for i, a := range x.Args {
			if f, ok := Fold(a); ok {
				if args == nil {
					args = append([]Expr(nil), x.Args...)
				}
				args[i] = f
			}
		}
		if args != nil {
			c := *x
			c.Args = args
			return &c, true
		}
	case *Case:
		c := *x
		c.Whens = append([]When(nil), x.Whens...)
		any := false
		for i, w := range c.Whens {
			if f, ok := Fold(w.Cond); ok {
				c.Whens[i].Cond, any = f, true
			}
			if f, ok := Fold(w.Result); ok {
				c.Whens[i].Result, any = f, true
			}
		}
		if c.Else != nil {
			if f, ok := Fold(c.Else); ok {
				c.Else, any = f, true
			}
		}
		if any {
			return &c, true
		}
	}
	return e, false
}

// IsTrue reports whether e is the constant TRUE.
func IsTrue(e Expr) bool {
	c, ok := e.(*Const)
	return ok && c.Value.Kind() == types.Bool && c.Value.Bool()
}
