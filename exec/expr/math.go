package expr

import (
	"math"

	"github.com/cockroachdb/apd/v3"
	"github.com/streamsql/streamsql/sql/types"
)

func registerMath() {
	register("abs", &builtin{minArgs: 1, maxArgs: 1, check: checkNumeric1, compile: compileAbs})
	register("round", &builtin{minArgs: 1, maxArgs: 2, check: checkRound, compile: compileRound})
	register("floor", &builtin{minArgs: 1, maxArgs: 1, check: checkFloorCeil, compile: compileFloorCeil(true)})
	register("ceil ceiling", &builtin{minArgs: 1, maxArgs: 1, check: checkFloorCeil, compile: compileFloorCeil(false)})
	register("power pow", &builtin{minArgs: 2, maxArgs: 2, check: checkDouble, compile: compileFloat2(math.Pow)})
	register("sqrt", &builtin{minArgs: 1, maxArgs: 1, check: checkDouble, compile: compileSqrt})
}

// checkNumeric1 keeps an exact argument exact and reads anything else as
// DOUBLE.
func checkNumeric1(c *Call) error {
	t := c.Args[0].Type()
	switch t.Kind {
	case types.Int, types.Bool, types.Unknown:
		c.Args[0] = coerceKind(c.Args[0], types.TypeBigInt)
		c.Typ = types.TypeBigInt
	case types.Decimal, types.Float:
		c.Typ = t
	case types.String, types.JSON, types.Bytes:
		c.Args[0] = coerce(c.Args[0], types.TypeDouble)
		c.Typ = types.TypeDouble
	default:
		return mismatch("function %s(%s) does not exist", c.Name, t)
	}
	return nil
}

func checkDouble(c *Call) error {
	for i, a := range c.Args {
		k := a.Type().Kind
		if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
			return mismatch("function %s(%s) does not exist", c.Name, argTypes(c.Args))
		}
		c.Args[i] = coerceKind(a, types.TypeDouble)
	}
	c.Typ = types.TypeDouble
	return nil
}

func compileAbs(c *Call, args []Func) (Func, error) {
	switch c.Typ.Kind {
	case types.Int:
		return null1(args[0], func(v types.Value) (types.Value, error) {
			i := v.Int()
			if i == math.MinInt64 {
				return types.Null, errOverflow("BIGINT", "abs")
			}
			if i < 0 {
				i = -i
			}
			return types.NewInt(i), nil
		}), nil
	case types.Float:
		return null1(args[0], func(v types.Value) (types.Value, error) { return types.NewFloat(math.Abs(v.Float())), nil }), nil
	}
	return null1(args[0], func(v types.Value) (types.Value, error) {
		if s := v.Str(); len(s) > 0 && s[0] == '-' {
			return types.NewDecimal(s[1:]), nil
		}
		return v, nil
	}), nil
}

func checkRound(c *Call) error {
	if err := checkNumeric1(c); err != nil {
		return err
	}
	if len(c.Args) == 2 {
		c.Args[1] = coerceKind(c.Args[1], types.TypeBigInt)
		if c.Typ.Kind == types.Decimal {
			// The result's scale is the requested one when it is a
			// constant, as MySQL types ROUND(x, 2).
			s := c.Typ.Scale
			if k, ok := c.Args[1].(*Const); ok && !k.Value.IsNull() {
				s = int(max(min(k.Value.Int(), maxDecimalScale), 0))
			}
			c.Typ = clampDecimal(c.Typ.Precision-c.Typ.Scale+s+1, s)
		}
	} else if c.Typ.Kind == types.Decimal {
		c.Typ = clampDecimal(c.Typ.Precision-c.Typ.Scale+1, 0)
	}
	return nil
}

// roundHalfAway rounds f to d decimal digits, half away from zero, as
// MySQL's ROUND does for exact-looking doubles.
func roundHalfAway(f float64, d int64) float64 {
	if d > 308 || math.IsInf(f, 0) || math.IsNaN(f) {
		return f
	}
	if d < -308 {
		return 0
	}
	p := math.Pow(10, float64(d))
	r := math.Round(f * p)
	if math.IsInf(r, 0) {
		return f
	}
	return r / p
}

func compileRound(c *Call, args []Func) (Func, error) {
	digits := func(types.Row, *Env) (types.Value, error) { return types.NewInt(0), nil }
	if len(args) == 2 {
		digits = args[1]
	}
	switch c.Typ.Kind {
	case types.Int:
		return null2(args[0], digits, func(v, d types.Value) (types.Value, error) {
			if d.Int() >= 0 {
				return v, nil
			}
			if d.Int() < -18 {
				return types.NewInt(0), nil
			}
			p := int64(math.Pow10(int(-d.Int())))
			i := v.Int()
			q := i / p * p
			if r := i - q; r >= p/2 {
				q += p
			} else if r <= -p/2 {
				q -= p
			}
			return types.NewInt(q), nil
		}), nil
	case types.Float:
		return null2(args[0], digits, func(v, d types.Value) (types.Value, error) {
			return types.NewFloat(roundHalfAway(v.Float(), d.Int())), nil
		}), nil
	}
	scale := c.Typ.Scale
	return null2(args[0], digits, func(v, d types.Value) (types.Value, error) {
		n := int(max(min(d.Int(), maxDecimalScale), -maxDecimalDigits))
		r, err := decimalRound(v, n, apd.RoundHalfUp)
		if err != nil {
			return r, err
		}
		return decimalRound(r, scale, apd.RoundHalfUp)
	}), nil
}

func checkFloorCeil(c *Call) error {
	if err := checkNumeric1(c); err != nil {
		return err
	}
	if c.Typ.Kind == types.Decimal {
		c.Typ = clampDecimal(c.Typ.Precision-c.Typ.Scale+1, 0)
	}
	return nil
}

func compileFloorCeil(floor bool) func(*Call, []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		switch c.Typ.Kind {
		case types.Int:
			return args[0], nil
		case types.Float:
			f := math.Ceil
			if floor {
				f = math.Floor
			}
			return null1(args[0], func(v types.Value) (types.Value, error) { return types.NewFloat(f(v.Float())), nil }), nil
		}
		mode := apd.RoundCeiling
		if floor {
			mode = apd.RoundFloor
		}
		return null1(args[0], func(v types.Value) (types.Value, error) { return decimalRound(v, 0, mode) }), nil
	}
}

func compileFloat2(f func(x, y float64) float64) func(*Call, []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		return null2(args[0], args[1], func(x, y types.Value) (types.Value, error) {
			r := f(x.Float(), y.Float())
			if math.IsInf(r, 0) {
				return types.Null, errOverflow("DOUBLE", c.Name)
			}
			if math.IsNaN(r) {
				return types.Null, nil
			}
			return types.NewFloat(r), nil
		}), nil
	}
}

// SQRT of a negative number is NULL in MySQL.
func compileSqrt(_ *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		if v.Float() < 0 {
			return types.Null, nil
		}
		return types.NewFloat(math.Sqrt(v.Float())), nil
	}), nil
}
