package expr

import (
	"math"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// MySQL's bit operators work on 64-bit unsigned integers: a negative
// operand is its two's complement, and the result is BIGINT UNSIGNED, here
// a DECIMAL(20,0) (UnsignedType), as CAST(... AS UNSIGNED) is.
func registerBits() {
	for _, op := range []string{"&", "|", "^", "<<", ">>"} {
		register(op, &builtin{minArgs: 2, maxArgs: 2, infix: true, check: checkBits, compile: compileBits})
	}
	register("~", &builtin{minArgs: 1, maxArgs: 1, infix: true, check: checkBits, compile: compileBits})
}

func checkBits(c *Call) error {
	for i, a := range c.Args {
		t := a.Type()
		switch {
		case t.Kind == types.Unknown, t.Kind == types.Int, t.Kind == types.Bool, t.Kind == types.Float, t.Kind == types.Decimal:
		case isStringKind(t.Kind) || t.Kind == types.Bytes:
			// Text reads as a number up to its first non-digit, with
			// MySQL's warning.
			c.Args[i] = coerce(a, types.Type{Kind: types.Decimal})
		case isTimeKind(t.Kind):
			c.Args[i] = coerce(a, types.TypeBigInt)
		default:
			return mismatch("operator does not exist: %s %s", c.Name, t)
		}
	}
	c.Typ = UnsignedType
	return nil
}

func compileBits(c *Call, args []Func) (Func, error) {
	conv := make([]func(types.Value, *Env) uint64, len(args))
	for i, a := range c.Args {
		conv[i] = bitsOf(a.Type().Kind)
	}
	op := bitOps[c.Name]
	if len(args) == 1 {
		a, ca := args[0], conv[0]
		return func(row types.Row, env *Env) (types.Value, error) {
			x, err := a(row, env)
			if err != nil || x.IsNull() {
				return types.Null, err
			}
			return unsignedValue(^ca(x, env)), nil
		}, nil
	}
	a, b, ca, cb := args[0], args[1], conv[0], conv[1]
	return func(row types.Row, env *Env) (types.Value, error) {
		x, err := a(row, env)
		if err != nil || x.IsNull() {
			return types.Null, err
		}
		y, err := b(row, env)
		if err != nil || y.IsNull() {
			return types.Null, err
		}
		return unsignedValue(op(ca(x, env), cb(y, env))), nil
	}, nil
}

var bitOps = map[string]func(x, y uint64) uint64{
	"&": func(x, y uint64) uint64 { return x & y },
	"|": func(x, y uint64) uint64 { return x | y },
	"^": func(x, y uint64) uint64 { return x ^ y },
	// A shift by 64 or more (a negative count is a huge unsigned one)
	// leaves nothing.
	"<<": func(x, y uint64) uint64 { return x << y },
	">>": func(x, y uint64) uint64 { return x >> y },
}

func unsignedValue(u uint64) types.Value { return types.NewDecimal(strconv.FormatUint(u, 10)) }

// bitsOf returns the conversion of a value of kind k to the 64 bits the
// operators work on: integers rounded half away from zero, negatives as
// two's complement, values past either end clamped with MySQL's warning.
func bitsOf(k types.Kind) func(types.Value, *Env) uint64 {
	switch k {
	case types.Int:
		return func(v types.Value, _ *Env) uint64 { return uint64(v.Int()) }
	case types.Bool:
		return func(v types.Value, _ *Env) uint64 {
			if v.Bool() {
				return 1
			}
			return 0
		}
	case types.Float:
		return func(v types.Value, env *Env) uint64 {
			f := math.Round(v.Float())
			switch {
			case f >= 1.8446744073709551615e19 || math.IsNaN(f):
				env.Warnf(sqlerr.NumericValueOutOfRange, "Got overflow when converting '%s' to UNSIGNED INT. Value truncated", floatText(v.Float(), 64))
				return math.MaxUint64
			case f < -9.223372036854775808e18:
				env.Warnf(sqlerr.NumericValueOutOfRange, "Got overflow when converting '%s' to INT. Value truncated", floatText(v.Float(), 64))
				return 1 << 63
			case f < 0:
				return uint64(int64(f))
			}
			return uint64(f)
		}
	}
	return func(v types.Value, env *Env) uint64 {
		d, err := decimalRound(v, 0, decCtx.Rounding)
		if err != nil {
			return 0
		}
		s := d.Str()
		if strings.HasPrefix(s, "-") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return uint64(i)
			}
			env.Warnf(sqlerr.NumericValueOutOfRange, "Got overflow when converting '%s' to INT. Value truncated", v.Str())
			return 1 << 63
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
		env.Warnf(sqlerr.NumericValueOutOfRange, "Got overflow when converting '%s' to UNSIGNED INT. Value truncated", v.Str())
		return math.MaxUint64
	}
}
