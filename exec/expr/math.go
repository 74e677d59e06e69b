package expr

import (
	"math"

	"github.com/cockroachdb/apd/v3"
	"github.com/streamsql/streamsql/sql/types"
)

func registerMath() {
	register("abs", &builtin{minArgs: 1, maxArgs: 1, check: checkNumeric1, compile: compileAbs})
	register("round", &builtin{minArgs: 1, maxArgs: 2, check: checkRound, compile: compileRound})
	register("truncate", &builtin{minArgs: 2, maxArgs: 2, check: checkRound, compile: compileTruncate})
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
		text := callText(c)
		return null1(args[0], func(v types.Value) (types.Value, error) {
			i := v.Int()
			if i == math.MinInt64 {
				return types.Null, errOverflow("BIGINT", text)
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

// roundDouble is MySQL's ROUND(x, d) and TRUNCATE(x, d) of a DOUBLE: it
// scales by 10^|d| and rounds half to even (rint) or toward zero, so
// ROUND(2.5e0) = 2 and ROUND(2.675e0, 2) = 2.68 (2.675 * 100 is 267.5 as
// a double).
func roundDouble(f float64, d int64, truncate bool) float64 {
	abs := d
	if d < 0 {
		abs = -d
	}
	p := math.Inf(1)
	if abs >= 0 && abs <= 308 {
		// The double nearest 10^abs, as MySQL's table of literals holds.
		p = math.Pow10(int(abs))
	}
	r := f * p
	if d < 0 {
		if math.IsInf(p, 0) {
			return 0
		}
		r = f / p
	} else if math.IsInf(r, 0) {
		return f
	}
	switch {
	case truncate && r >= 0:
		r = math.Floor(r)
	case truncate:
		r = math.Ceil(r)
	default:
		r = math.RoundToEven(r)
	}
	if d < 0 {
		return r * p
	}
	return r / p
}

// roundInt is ROUND(i, d) (half away from zero) or TRUNCATE(i, d) of a
// BIGINT for d < 0. A result past BIGINT's range is 22003, as MySQL's
// ROUND(9223372036854775807, -1) keeps the BIGINT type and cannot widen.
func roundInt(i, d int64, truncate bool, name string) (types.Value, error) {
	if d >= 0 {
		return types.NewInt(i), nil
	}
	if d < -19 {
		return types.NewInt(0), nil
	}
	p := uint64(1)
	for range -d {
		p *= 10
	}
	u := absU(i)
	if i == math.MinInt64 {
		u = 1 << 63
	}
	q := u / p * p
	if !truncate && u-q >= p/2 {
		if q+p < q {
			return types.Null, errOverflow("BIGINT", name)
		}
		q += p
	}
	switch {
	case i >= 0 && q <= math.MaxInt64:
		return types.NewInt(int64(q)), nil
	case i < 0 && q <= 1<<63:
		return types.NewInt(int64(-q)), nil
	}
	return types.Null, errOverflow("BIGINT", name)
}

func compileRound(c *Call, args []Func) (Func, error) {
	return compileRoundTrunc(c, args, false)
}

func compileTruncate(c *Call, args []Func) (Func, error) {
	return compileRoundTrunc(c, args, true)
}

func compileRoundTrunc(c *Call, args []Func, truncate bool) (Func, error) {
	digits := func(types.Row, *Env) (types.Value, error) { return types.NewInt(0), nil }
	if len(args) == 2 {
		digits = args[1]
	}
	name := callText(c)
	switch c.Typ.Kind {
	case types.Int:
		return null2(args[0], digits, func(v, d types.Value) (types.Value, error) {
			return roundInt(v.Int(), d.Int(), truncate, name)
		}), nil
	case types.Float:
		return null2(args[0], digits, func(v, d types.Value) (types.Value, error) {
			return types.NewFloat(roundDouble(v.Float(), d.Int(), truncate)), nil
		}), nil
	}
	scale := c.Typ.Scale
	mode := apd.RoundHalfUp
	if truncate {
		mode = apd.RoundDown
	}
	return null2(args[0], digits, func(v, d types.Value) (types.Value, error) {
		n := int(max(min(d.Int(), maxDecimalScale), -maxDecimalDigits))
		r, err := decimalRound(v, n, mode)
		if err != nil {
			return r, err
		}
		return decimalRound(r, scale, mode)
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
		// MySQL's POW errors where the result is not a finite number:
		// POW(-8, 0.5) as POW(10, 400).
		text := callText(c)
		return null2(args[0], args[1], func(x, y types.Value) (types.Value, error) {
			r := f(x.Float(), y.Float())
			if math.IsInf(r, 0) || math.IsNaN(r) {
				return types.Null, errOverflow("DOUBLE", text)
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
