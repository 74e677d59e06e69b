package expr

// DECIMAL arithmetic uses github.com/cockroachdb/apd/v3 rather than
// shopspring/decimal: apd's Decimal is a value type whose small
// coefficients live inline (no heap allocation for ordinary amounts), and
// its Context makes precision, rounding mode and overflow explicit, so we
// can round half away from zero as MySQL does and turn a result wider than
// 65 digits into 22003 instead of a silently huge number. Values travel as
// canonical text (types.NewDecimal), so each operation parses its operands
// and formats its result; DECIMAL paths allocate, integer and float paths
// do not.

import (
	"math"

	"github.com/cockroachdb/apd/v3"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// decCtx computes with more digits than any DECIMAL holds, so that only the
// final rounding to the result's scale loses anything.
var decCtx = &apd.Context{
	Precision:   2 * maxDecimalDigits,
	MaxExponent: apd.MaxExponent,
	MinExponent: apd.MinExponent,
	Traps:       apd.DefaultTraps,
	Rounding:    apd.RoundHalfUp,
}

func parseDecimal(d *apd.Decimal, s string) error {
	if _, _, err := d.SetString(s); err != nil {
		return sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid input syntax for type numeric: %q", s)
	}
	if d.Form != apd.Finite {
		return sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid input syntax for type numeric: %q", s)
	}
	return nil
}

// dynamicScale asks decimalValue to keep the scale the operation produced
// (for unconstrained DECIMAL results).
const dynamicScale = -1

// decimalValue rounds d to scale digits after the point and returns it as a
// value; more than 65 digits is 22003.
func decimalValue(d *apd.Decimal, scale int) (types.Value, error) {
	if scale == dynamicScale {
		scale = min(max(int(-d.Exponent), 0), maxDecimalScale)
	}
	var r apd.Decimal
	if _, err := decCtx.Quantize(&r, d, int32(-scale)); err != nil {
		return types.Null, errOverflow("DECIMAL", "round")
	}
	if r.NumDigits() > maxDecimalDigits {
		return types.Null, errOverflow("DECIMAL", "precision")
	}
	if r.IsZero() {
		r.Negative = false
	}
	return types.NewDecimal(r.Text('f')), nil
}

func compileDecimalArith(op string, scale int, a, b Func) Func {
	return null2(a, b, func(x, y types.Value) (types.Value, error) {
		if v, ok := smallDecimalArith(op, scale, x.Str(), y.Str()); ok {
			return v, nil
		}
		return apdDecimalArith(op, scale, x.Str(), y.Str())
	})
}

// apdDecimalArith computes x op y with apd, rounded to scale.
func apdDecimalArith(op string, scale int, x, y string) (types.Value, error) {
	var dx, dy, r apd.Decimal
	if err := parseDecimal(&dx, x); err != nil {
		return types.Null, err
	}
	if err := parseDecimal(&dy, y); err != nil {
		return types.Null, err
	}
	var err error
	switch op {
	case "+":
		_, err = decCtx.Add(&r, &dx, &dy)
	case "-":
		_, err = decCtx.Sub(&r, &dx, &dy)
	case "*":
		_, err = decCtx.Mul(&r, &dx, &dy)
	case "/":
		if dy.IsZero() {
			return types.Null, nil
		}
		_, err = decCtx.Quo(&r, &dx, &dy)
		if scale == dynamicScale && err == nil {
			// MySQL's rule at run time: the dividend's scale plus four.
			return decimalValue(&r, max(int(-dx.Exponent), 0)+divScaleIncrement)
		}
	default:
		if dy.IsZero() {
			return types.Null, nil
		}
		_, err = decCtx.Rem(&r, &dx, &dy)
	}
	if err != nil {
		return types.Null, errOverflow("DECIMAL", op)
	}
	return decimalValue(&r, scale)
}

func decimalIntDiv(x, y types.Value) (types.Value, error) {
	var dx, dy, r apd.Decimal
	if err := parseDecimal(&dx, x.Str()); err != nil {
		return types.Null, err
	}
	if err := parseDecimal(&dy, y.Str()); err != nil {
		return types.Null, err
	}
	if dy.IsZero() {
		return types.Null, nil
	}
	if _, err := decCtx.QuoInteger(&r, &dx, &dy); err != nil {
		return types.Null, errOverflow("BIGINT", "DIV")
	}
	i, err := r.Int64()
	if err != nil {
		return types.Null, errOverflow("BIGINT", "DIV")
	}
	return types.NewInt(i), nil
}

func decimalNeg(v types.Value) (types.Value, error) {
	s := v.Str()
	switch {
	case len(s) > 0 && s[0] == '-':
		return types.NewDecimal(s[1:]), nil
	case isZeroDecimalText(s):
		return v, nil
	}
	return types.NewDecimal("-" + s), nil
}

func isZeroDecimalText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' && s[i] != '.' && s[i] != '-' {
			return false
		}
	}
	return true
}

func decimalCmp(a, b types.Value) int {
	var da, db apd.Decimal
	// Values reaching here were produced by us and are valid.
	_ = parseDecimal(&da, a.Str())
	_ = parseDecimal(&db, b.Str())
	return da.Cmp(&db)
}

func decimalFromInt(i int64, scale int) (types.Value, error) {
	if c, ok := scaleUp(i, scale); ok {
		return types.NewDecimal(formatSmallDecimal(c, scale)), nil
	}
	var d apd.Decimal
	d.SetInt64(i)
	return decimalValue(&d, scale)
}

func decimalFromFloat(f float64, scale int) (types.Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return types.Null, errOverflow("DECIMAL", "cast")
	}
	var d apd.Decimal
	if _, err := d.SetFloat64(f); err != nil {
		return types.Null, errOverflow("DECIMAL", "cast")
	}
	return decimalValue(&d, scale)
}

func decimalToFloat(v types.Value) float64 {
	var d apd.Decimal
	_ = parseDecimal(&d, v.Str())
	f, _ := d.Float64()
	return f
}

// decimalToInt rounds half away from zero, as CAST(1.5 AS SIGNED) = 2.
func decimalToInt(v types.Value) (int64, error) {
	var d, r apd.Decimal
	if err := parseDecimal(&d, v.Str()); err != nil {
		return 0, err
	}
	if _, err := decCtx.Quantize(&r, &d, 0); err != nil {
		return 0, errOverflow("BIGINT", "cast")
	}
	i, err := r.Int64()
	if err != nil {
		return 0, errOverflow("BIGINT", "cast")
	}
	return i, nil
}

// checkDecimalFits enforces DECIMAL(p, s): at most p-s digits before the
// point.
func checkDecimalFits(v types.Value, t types.Type) (types.Value, error) {
	if t.Precision == 0 {
		return v, nil
	}
	if c, scale, ok := parseSmallDecimal(v.Str()); ok {
		if c != 0 && digits(absU(c))-scale > t.Precision-t.Scale {
			return types.Null, sqlerr.Newf(sqlerr.NumericValueOutOfRange, "value %s is out of range for %s", v.Str(), t)
		}
		return v, nil
	}
	var d apd.Decimal
	if err := parseDecimal(&d, v.Str()); err != nil {
		return types.Null, err
	}
	intDigits := int(d.NumDigits()) + int(d.Exponent)
	if intDigits > t.Precision-t.Scale && !d.IsZero() {
		return types.Null, sqlerr.Newf(sqlerr.NumericValueOutOfRange, "value %s is out of range for %s", v.Str(), t)
	}
	return v, nil
}

// decimalRound rounds to scale digits (negative: left of the point) and
// keeps max(scale, 0) digits, ROUND(x, d) on a DECIMAL.
func decimalRound(v types.Value, scale int, mode apd.Rounder) (types.Value, error) {
	var d, r apd.Decimal
	if err := parseDecimal(&d, v.Str()); err != nil {
		return types.Null, err
	}
	ctx := *decCtx
	ctx.Rounding = mode
	directed := mode == apd.RoundCeiling || mode == apd.RoundFloor
	if directed {
		// apd's Quantize turns a value with fewer digits than it discards
		// into zero whatever the mode (CEIL(0.001) would be 0): truncate,
		// and step away from zero ourselves when anything was discarded.
		ctx.Rounding = apd.RoundDown
	}
	if _, err := ctx.Quantize(&r, &d, int32(-scale)); err != nil {
		return types.Null, errOverflow("DECIMAL", "round")
	}
	if directed && r.Cmp(&d) != 0 && (mode == apd.RoundCeiling) != d.Negative {
		step := apd.New(1, int32(-scale))
		step.Negative = d.Negative
		if _, err := ctx.Add(&r, &r, step); err != nil {
			return types.Null, errOverflow("DECIMAL", "round")
		}
	}
	return decimalValue(&r, max(scale, 0))
}

// maxInnerScale bounds the digits a quotient keeps inside an expression
// (MySQL's own bound is its 81-digit buffer); nested divisions would
// otherwise add 9 to 18 digits each.
const maxInnerScale = 36

// textScale is the number of digits after the point of decimal text.
func textScale(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return len(s) - i - 1
		}
	}
	return 0
}

// innerDivScale is the scale MySQL gives a quotient x/y inside an
// expression: the operands' scales rounded up to whole 9-digit words, plus
// what is left of div_precision_increment once that rounding is counted,
// rounded up to a whole word again (1/3: 9 digits; 1.5/3: 9; a quotient
// of two 9-digit quotients: 27).
func innerDivScale(sx, sy int) int {
	word := func(n int) int { return (n + 8) / 9 * 9 }
	fx, fy := word(sx), word(sy)
	incr := max(divScaleIncrement-(fx-sx)-(fy-sy), 0)
	return min(word(fx+fy+incr), maxInnerScale)
}

// decimalDivInner is x / y as MySQL keeps it when the quotient is computed
// on: truncated (not rounded) at innerDivScale digits.
func decimalDivInner(x, y string) (types.Value, error) {
	scale := innerDivScale(textScale(x), textScale(y))
	if cx, sx, ok := parseSmallDecimal(x); ok {
		if cy, sy, ok := parseSmallDecimal(y); ok {
			if cy == 0 {
				return types.Null, nil
			}
			if n, ok := scaleUp(cx, sy+scale-sx); ok {
				return types.NewDecimal(formatSmallDecimal(n/cy, scale)), nil
			}
		}
	}
	var dx, dy, q, r apd.Decimal
	if err := parseDecimal(&dx, x); err != nil {
		return types.Null, err
	}
	if err := parseDecimal(&dy, y); err != nil {
		return types.Null, err
	}
	if dy.IsZero() {
		return types.Null, nil
	}
	ctx := *decCtx
	if _, err := ctx.Quo(&q, &dx, &dy); err != nil {
		return types.Null, errOverflow("DECIMAL", "/")
	}
	ctx.Rounding = apd.RoundDown
	if _, err := ctx.Quantize(&r, &q, int32(-scale)); err != nil {
		return types.Null, errOverflow("DECIMAL", "/")
	}
	return decimalValue(&r, scale)
}
