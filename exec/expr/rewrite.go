package expr

// MapColumns returns e with every ColumnRef replaced by fn's result,
// copying only the nodes on the way to a replaced reference: the planner
// moves conditions between operators whose rows lay columns out
// differently (a join's output and each of its inputs).
func MapColumns(e Expr, fn func(*ColumnRef) Expr) Expr {
	switch x := e.(type) {
	case *ColumnRef:
		return fn(x)
	case *InSubquery:
		a := MapColumns(x.X, fn)
		if a == x.X {
			return e
		}
		c := *x
		c.X = a
		return &c
	case *Cast:
		a := MapColumns(x.Arg, fn)
		if a == x.Arg {
			return e
		}
		c := *x
		c.Arg = a
		return &c
	case *Call:
		var args []Expr
		for i, a := range x.Args {
			if m := MapColumns(a, fn); m != a {
				if args == nil {
					args = append([]Expr(nil), x.Args...)
				}
				args[i] = m
			}
		}
		if args == nil {
			return e
		}
		c := *x
		c.Args = args
		return &c
	case *Case:
		c := *x
		c.Whens = append([]When(nil), x.Whens...)
		changed := false
		for i, w := range c.Whens {
			cond, res := MapColumns(w.Cond, fn), MapColumns(w.Result, fn)
			if cond != w.Cond || res != w.Result {
				c.Whens[i] = When{Cond: cond, Result: res}
				changed = true
			}
		}
		if c.Else != nil {
			if m := MapColumns(c.Else, fn); m != c.Else {
				c.Else, changed = m, true
			}
		}
		if !changed {
			return e
		}
		return &c
	}
	return e
}

// Conjuncts splits e into the terms of its top-level ANDs: a row passes e
// exactly when every term is TRUE.
func Conjuncts(e Expr) []Expr {
	if c, ok := e.(*Call); ok && c.Name == "and" && len(c.Args) == 2 {
		return append(Conjuncts(c.Args[0]), Conjuncts(c.Args[1])...)
	}
	return []Expr{e}
}

// And joins terms with AND; nil for none.
func And(terms []Expr) (Expr, error) {
	var out Expr
	for _, t := range terms {
		if out == nil {
			out = t
			continue
		}
		c, err := NewCall("and", 0, out, t)
		if err != nil {
			return nil, err
		}
		out = c
	}
	return out, nil
}

// ColumnsRead returns the lowest and highest column index e reads, or
// (-1, -1) when it reads none.
func ColumnsRead(e Expr) (lo, hi int) {
	lo, hi = -1, -1
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*ColumnRef); ok {
			if lo < 0 || c.Index < lo {
				lo = c.Index
			}
			if c.Index > hi {
				hi = c.Index
			}
		}
		return true
	})
	return lo, hi
}
