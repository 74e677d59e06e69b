package expr

import (
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// maxDecimalDigits is MySQL's DECIMAL precision limit; maxDecimalScale its
// scale limit.
const (
	maxDecimalDigits = 65
	maxDecimalScale  = 30
	// divScaleIncrement is MySQL's div_precision_increment default: a / b
	// has the scale of a plus four.
	divScaleIncrement = 4
)

func isNumericKind(k types.Kind) bool {
	return k == types.Int || k == types.Float || k == types.Decimal || k == types.Bool
}

func isTimeKind(k types.Kind) bool { return k == types.Date || k == types.Timestamp }

func isStringKind(k types.Kind) bool { return k == types.String || k == types.JSON }

// isDateNumberKind: the numbers MySQL reads as a date (20240101).
func isDateNumberKind(k types.Kind) bool {
	return k == types.Int || k == types.Decimal || k == types.Float
}

// asDecimal returns the DECIMAL type that holds every value of an exact
// numeric type, as MySQL sizes it.
func asDecimal(t types.Type) types.Type {
	switch t.Kind {
	case types.Decimal:
		return t
	case types.Bool:
		return types.DecimalType(1, 0)
	case types.Int:
		switch t.Width {
		case 8:
			return types.DecimalType(3, 0)
		case 16:
			return types.DecimalType(5, 0)
		case 32:
			return types.DecimalType(10, 0)
		}
		return types.DecimalType(19, 0)
	}
	return types.DecimalType(maxDecimalDigits, maxDecimalScale)
}

func clampDecimal(p, s int) types.Type {
	if s > maxDecimalScale {
		s = maxDecimalScale
	}
	if p > maxDecimalDigits {
		p = maxDecimalDigits
	}
	if p < s {
		p = s
	}
	if p == 0 {
		p = 1
	}
	return types.DecimalType(p, s)
}

// numericType is the type MySQL computes a number in when it mixes a and b:
// DOUBLE if either is approximate or not a number, DECIMAL if either is
// DECIMAL, BIGINT otherwise.
func numericType(a, b types.Type) types.Kind {
	if a.Kind == types.Unknown {
		a = b
	}
	if b.Kind == types.Unknown {
		b = a
	}
	ka, kb := a.Kind, b.Kind
	switch {
	case ka == types.Unknown:
		return types.Int
	case !isNumericKind(ka) || !isNumericKind(kb) || ka == types.Float || kb == types.Float:
		return types.Float
	case ka == types.Decimal || kb == types.Decimal:
		return types.Decimal
	}
	return types.Int
}

// CommonType is the type of a value that may come from any of ts: the
// result of CASE, COALESCE, IF, IFNULL and of UNION ALL's columns. Unknown
// (NULL) inputs are ignored. Mixed families fall back to text, as MySQL does.
func CommonType(ts ...types.Type) types.Type {
	var out types.Type
	for _, t := range ts {
		if t.Kind == types.Unknown {
			continue
		}
		if out.Kind == types.Unknown {
			out = t
			continue
		}
		out = common2(out, t)
	}
	return out
}

func common2(a, b types.Type) types.Type {
	if a.Kind == b.Kind {
		switch a.Kind {
		case types.Int:
			return types.Type{Kind: types.Int, Width: max(a.Width, b.Width)}
		case types.Float:
			return types.Type{Kind: types.Float, Width: max(a.Width, b.Width)}
		case types.Decimal:
			s := max(a.Scale, b.Scale)
			return clampDecimal(max(a.Precision-a.Scale, b.Precision-b.Scale)+s, s)
		case types.String:
			if a.Length == 0 || b.Length == 0 {
				return types.TypeText
			}
			return types.VarcharType(max(a.Length, b.Length))
		case types.Timestamp:
			return types.Type{Kind: types.Timestamp, Precision: max(a.Precision, b.Precision)}
		}
		return a
	}
	if isNumericKind(a.Kind) && isNumericKind(b.Kind) {
		switch numericType(a, b) {
		case types.Float:
			return types.TypeDouble
		case types.Decimal:
			return common2(asDecimal(a), asDecimal(b))
		}
		return types.TypeBigInt
	}
	if isTimeKind(a.Kind) && isTimeKind(b.Kind) {
		return types.TypeTimestamp
	}
	return types.TypeText
}

// compareType is the type two operands are compared in, MySQL's rules:
// strings as strings, exact numbers exactly, times as times (a string
// against a time is read as a time), anything else numeric as DOUBLE.
func compareType(a, b types.Type) (types.Type, error) {
	if a.Kind == types.Unknown {
		a = b
	}
	if b.Kind == types.Unknown {
		b = a
	}
	ka, kb := a.Kind, b.Kind
	switch {
	case ka == types.Unknown:
		return types.TypeBigInt, nil
	case ka == types.Bytes && (kb == types.Bytes || isStringKind(kb)),
		kb == types.Bytes && isStringKind(ka):
		return types.TypeBytes, nil
	case isStringKind(ka) && isStringKind(kb):
		return types.TypeText, nil
	case ka == types.Date && kb == types.Date:
		return types.TypeDate, nil
	case isTimeKind(ka) && (isTimeKind(kb) || isStringKind(kb) || isDateNumberKind(kb)),
		isTimeKind(kb) && (isStringKind(ka) || isDateNumberKind(ka)):
		// A number against a time is read as a time, as MySQL does
		// (DATE '2024-01-01' = 20240101).
		p := max(a.Precision, b.Precision)
		if p == 0 {
			p = 6
		}
		return types.Type{Kind: types.Timestamp, Precision: p}, nil
	case isTimeKind(ka) && isNumericKind(kb):
		// MySQL compares a date with a number as numbers: 20240229.
		return compareType(timeNumberType(a), b)
	case isTimeKind(kb) && isNumericKind(ka):
		return compareType(a, timeNumberType(b))
	case ka == types.Interval && (kb == types.Interval || isStringKind(kb)),
		kb == types.Interval && isStringKind(ka):
		// A TIME against text: the text is read as an interval.
		return types.TypeInterval, nil
	case ka == types.Bool && kb == types.Bool:
		return types.TypeBool, nil
	case (isNumericKind(ka) || isStringKind(ka)) && (isNumericKind(kb) || isStringKind(kb)):
		switch numericType(a, b) {
		case types.Int:
			return types.TypeBigInt, nil
		case types.Decimal:
			return common2(asDecimal(a), asDecimal(b)), nil
		}
		return types.TypeDouble, nil
	}
	return types.Type{}, sqlerr.Newf(sqlerr.DatatypeMismatch, "cannot compare %s with %s", a, b)
}

// coerce returns e converted to t, leaving it alone when it already has t's
// kind (and, for DECIMAL, when scale does not matter to the caller).
func coerce(e Expr, t types.Type) Expr {
	et := e.Type()
	if et.Kind == t.Kind && (t.Kind != types.Decimal || et.Scale == t.Scale) && (t.Kind != types.Int || et.Width <= t.Width || t.Width == 0) {
		return e
	}
	if c, ok := e.(*Const); ok && c.Value.IsNull() {
		return &Const{Value: types.Null, Typ: t}
	}
	if t.Kind == types.Unknown {
		return e
	}
	if InferParam(e, t) {
		return e
	}
	if c, ok := e.(*Const); ok {
		// Fold implicit casts of constants; a constant that does not
		// convert, or converts with a warning, keeps its cast and fails
		// (or warns) when a row needs it.
		if conv, err := castFunc(c.Typ, t); err == nil {
			warned := false
			env := &Env{Warn: func(*sqlerr.Error) { warned = true }}
			if v, err := conv(c.Value, env); err == nil && !warned {
				return &Const{Value: v, Typ: t}
			}
		}
	}
	return &Cast{Arg: e, To: t}
}

// coerceKind is coerce for callers that only care about the kind.
func coerceKind(e Expr, t types.Type) Expr {
	if e.Type().Kind == t.Kind {
		return e
	}
	return coerce(e, t)
}

// InferParam gives e the type t if e is a parameter whose type is still
// Unknown, and reports whether it did. A DECIMAL parameter is left
// unconstrained (precision 0), so it keeps the scale the client sends.
func InferParam(e Expr, t types.Type) bool {
	p, ok := e.(*Param)
	if !ok || p.Typ.Kind != types.Unknown || t.Kind == types.Unknown {
		return false
	}
	p.Typ = t
	if t.Kind == types.Decimal {
		p.Typ = types.Type{Kind: types.Decimal}
	}
	return true
}
