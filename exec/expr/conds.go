package expr

import "github.com/streamsql/streamsql/sql/types"

func registerConds() {
	register("coalesce", &builtin{minArgs: 1, maxArgs: -1, check: checkCoalesce, compile: compileCoalesce})
	register("ifnull", &builtin{minArgs: 2, maxArgs: 2, check: checkCoalesce, compile: compileCoalesce})
	register("if", &builtin{minArgs: 3, maxArgs: 3, check: checkIf, compile: compileIf})
	register("nullif", &builtin{minArgs: 2, maxArgs: 2, check: checkNullIf, compile: compileNullIf})
}

func checkCoalesce(c *Call) error {
	ts := make([]types.Type, len(c.Args))
	for i, a := range c.Args {
		ts[i] = a.Type()
	}
	c.Typ = CommonType(ts...)
	for i, a := range c.Args {
		c.Args[i] = coerce(a, c.Typ)
	}
	return nil
}

func compileCoalesce(_ *Call, args []Func) (Func, error) {
	return func(row types.Row, env *Env) (types.Value, error) {
		for _, f := range args {
			v, err := f(row, env)
			if err != nil || !v.IsNull() {
				return v, err
			}
		}
		return types.Null, nil
	}, nil
}

func checkIf(c *Call) error {
	cond, err := toBool(c.Args[0])
	if err != nil {
		return err
	}
	c.Args[0] = cond
	c.Typ = CommonType(c.Args[1].Type(), c.Args[2].Type())
	c.Args[1], c.Args[2] = coerce(c.Args[1], c.Typ), coerce(c.Args[2], c.Typ)
	return nil
}

func compileIf(_ *Call, args []Func) (Func, error) {
	cond, then, els := args[0], args[1], args[2]
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := cond(row, env)
		if err != nil {
			return types.Null, err
		}
		if !v.IsNull() && v.Bool() {
			return then(row, env)
		}
		return els(row, env)
	}, nil
}

// NULLIF(a, b) is a unless a = b; its type is a's.
func checkNullIf(c *Call) error {
	t, err := compareType(c.Args[0].Type(), c.Args[1].Type())
	if err != nil {
		return err
	}
	c.Typ = c.Args[0].Type()
	c.Args = append(c.Args, coerceKind(c.Args[0], t), coerceKind(c.Args[1], t))
	return nil
}

func compileNullIf(c *Call, args []Func) (Func, error) {
	cmp := comparer(c.Args[2].Type().Kind)
	orig, a, b := args[0], args[2], args[3]
	return func(row types.Row, env *Env) (types.Value, error) {
		x, err := a(row, env)
		if err != nil {
			return types.Null, err
		}
		if x.IsNull() {
			// a read in b's type may be NULL where a is not:
			// NULLIF('x', DATE '2024-01-01') is 'x'.
			return orig(row, env)
		}
		y, err := b(row, env)
		if err != nil {
			return types.Null, err
		}
		if !y.IsNull() && cmp(x, y) == 0 {
			return types.Null, nil
		}
		return orig(row, env)
	}, nil
}
