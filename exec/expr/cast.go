package expr

import (
	"encoding/json"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

type converter func(types.Value) (types.Value, error)

func identity(v types.Value) (types.Value, error) { return v, nil }

// castFunc returns the conversion of non-NULL values of type from to type
// to, chosen once at compile time. A conversion that cannot exist is
// 42804 at bind time; one that fails for a value (a string that is not a
// number, an out-of-range number) is an error of that row.
func castFunc(from, to types.Type) (converter, error) {
	fk, tk := from.Kind, to.Kind
	if fk == types.Unknown {
		// An untyped input (a parameter nobody constrained): convert by the
		// value's own kind, found per row.
		return func(v types.Value) (types.Value, error) {
			if v.IsNull() {
				return types.Null, nil
			}
			conv, err := castFunc(naturalType(v), to)
			if err != nil {
				return types.Null, err
			}
			return conv(v)
		}, nil
	}
	if tk == types.Unknown {
		return identity, nil
	}
	if tk == types.String {
		return toStringConv(from, to), nil
	}
	if tk == types.Bytes {
		return func(v types.Value) (types.Value, error) {
			if v.Kind() == types.Bytes || v.Kind() == types.String || v.Kind() == types.JSON {
				return types.NewBytes([]byte(v.Str())), nil
			}
			return types.NewBytes([]byte(valueText(v))), nil
		}, nil
	}
	if tk == types.JSON && (fk == types.String || fk == types.Bytes) {
		// MySQL keeps JSON in a normal form and prints it so: ", " and
		// ": " between members, keys sorted.
		return func(v types.Value) (types.Value, error) {
			doc, err := decodeJSON(strings.TrimSpace(v.Str()))
			if err != nil {
				return types.Null, err
			}
			return types.NewJSON(jsonText(doc)), nil
		}, nil
	}
	if (fk == types.String || fk == types.Bytes) && isTimeKind(tk) {
		return textToTime(to), nil
	}
	if fk == types.String || fk == types.Bytes {
		return func(v types.Value) (types.Value, error) {
			return parseText(to, strings.TrimSpace(v.Str()))
		}, nil
	}
	if isTimeKind(tk) && (isNumericKind(fk) || fk == types.Bool) {
		return numberToTime(fk, to), nil
	}
	if isTimeKind(fk) {
		if conv, ok := timeToNumber(from, to); ok {
			return conv, nil
		}
	}
	bad := func() (converter, error) {
		return nil, mismatch("cannot cast type %s to %s", from, to)
	}
	switch tk {
	case types.Bool:
		switch fk {
		case types.Bool:
			return identity, nil
		case types.Int:
			return func(v types.Value) (types.Value, error) { return types.NewBool(v.Int() != 0), nil }, nil
		case types.Float:
			return func(v types.Value) (types.Value, error) { return types.NewBool(v.Float() != 0), nil }, nil
		case types.Decimal:
			return func(v types.Value) (types.Value, error) { return types.NewBool(!isZeroDecimalText(v.Str())), nil }, nil
		case types.JSON:
			return func(v types.Value) (types.Value, error) { return parseText(to, jsonScalarText(v.Str())) }, nil
		}
	case types.Int:
		lo, hi := intRange(to.Width)
		check := func(i int64) (types.Value, error) {
			if i < lo || i > hi {
				return types.Null, sqlerr.Newf(sqlerr.NumericValueOutOfRange, "%s out of range", to)
			}
			return types.NewInt(i), nil
		}
		switch fk {
		case types.Bool, types.Int:
			return func(v types.Value) (types.Value, error) { return check(v.Int()) }, nil
		case types.Float:
			return func(v types.Value) (types.Value, error) {
				f := math.Round(v.Float())
				if f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 || math.IsNaN(f) {
					return types.Null, sqlerr.Newf(sqlerr.NumericValueOutOfRange, "%s out of range", to)
				}
				return check(int64(f))
			}, nil
		case types.Decimal:
			return func(v types.Value) (types.Value, error) {
				i, err := decimalToInt(v)
				if err != nil {
					return types.Null, err
				}
				return check(i)
			}, nil
		case types.JSON:
			return func(v types.Value) (types.Value, error) { return parseText(to, jsonScalarText(v.Str())) }, nil
		}
	case types.Float:
		round := func(f float64) types.Value {
			if to.Width == 32 {
				f = float64(float32(f))
			}
			return types.NewFloat(f)
		}
		switch fk {
		case types.Bool, types.Int:
			return func(v types.Value) (types.Value, error) { return round(float64(v.Int())), nil }, nil
		case types.Float:
			return func(v types.Value) (types.Value, error) { return round(v.Float()), nil }, nil
		case types.Decimal:
			return func(v types.Value) (types.Value, error) { return round(decimalToFloat(v)), nil }, nil
		case types.JSON:
			return func(v types.Value) (types.Value, error) { return parseText(to, jsonScalarText(v.Str())) }, nil
		}
	case types.Decimal:
		if to.Precision == 0 {
			// An unconstrained DECIMAL keeps whatever scale the value has.
			switch fk {
			case types.Decimal:
				return identity, nil
			case types.Bool, types.Int:
				return func(v types.Value) (types.Value, error) { return decimalFromInt(v.Int(), 0) }, nil
			case types.Float:
				return func(v types.Value) (types.Value, error) { return parseText(to, types.FormatFloat(v.Float())) }, nil
			}
		}
		fit := func(v types.Value, err error) (types.Value, error) {
			if err != nil {
				return v, err
			}
			return checkDecimalFits(v, to)
		}
		switch fk {
		case types.Bool, types.Int:
			return func(v types.Value) (types.Value, error) { return fit(decimalFromInt(v.Int(), to.Scale)) }, nil
		case types.Float:
			return func(v types.Value) (types.Value, error) { return fit(decimalFromFloat(v.Float(), to.Scale)) }, nil
		case types.Decimal:
			return func(v types.Value) (types.Value, error) { return fit(decimalRound(v, to.Scale, decCtx.Rounding)) }, nil
		case types.JSON:
			return func(v types.Value) (types.Value, error) { return parseText(to, jsonScalarText(v.Str())) }, nil
		}
	case types.Date:
		switch fk {
		case types.Date:
			return identity, nil
		case types.Timestamp:
			return func(v types.Value) (types.Value, error) {
				return types.NewDate(floorDiv(v.Micros(), microsPerDay)), nil
			}, nil
		}
	case types.Timestamp:
		switch fk {
		case types.Date:
			return func(v types.Value) (types.Value, error) { return types.NewTimestamp(v.Days() * microsPerDay), nil }, nil
		case types.Timestamp:
			return func(v types.Value) (types.Value, error) { return roundTimestamp(v, to.Precision), nil }, nil
		}
	case types.JSON:
		switch fk {
		case types.JSON:
			return identity, nil
		case types.Bool:
			return func(v types.Value) (types.Value, error) {
				if v.Bool() {
					return types.NewJSON("true"), nil
				}
				return types.NewJSON("false"), nil
			}, nil
		case types.Int, types.Float, types.Decimal:
			return func(v types.Value) (types.Value, error) { return types.NewJSON(v.String()), nil }, nil
		case types.Date, types.Timestamp:
			return func(v types.Value) (types.Value, error) {
				b, _ := json.Marshal(v.String())
				return types.NewJSON(string(b)), nil
			}, nil
		}
	case types.Interval:
		if fk == types.Interval {
			return identity, nil
		}
		if fk == types.String {
			// Postgres's interval text: '1 day 2 hours', '01:30:00', 'P1D'.
			return func(v types.Value) (types.Value, error) { return types.ParseText(types.TypeInterval, v.Str()) }, nil
		}
	}
	return bad()
}

// valueText is the text a value casts to: Postgres's output, except that
// booleans read "true"/"false" as CAST(b AS TEXT) does there.
func valueText(v types.Value) string {
	if v.Kind() == types.Bool {
		if v.Bool() {
			return "true"
		}
		return "false"
	}
	return v.String()
}

func toStringConv(from, to types.Type) converter {
	n := to.Length
	trunc := func(s string) types.Value {
		if n > 0 && utf8.RuneCountInString(s) > n {
			// CAST(x AS CHAR(n)) and VARCHAR(n) casts truncate, as both
			// MySQL and Postgres do for an explicit cast.
			i := 0
			for k := range s {
				if i == n {
					s = s[:k]
					break
				}
				i++
			}
		}
		return types.NewString(s)
	}
	if from.Kind == types.String || from.Kind == types.Bytes || from.Kind == types.JSON {
		return func(v types.Value) (types.Value, error) { return trunc(v.Str()), nil }
	}
	return func(v types.Value) (types.Value, error) { return trunc(valueText(v)), nil }
}

func intRange(width int) (int64, int64) {
	switch width {
	case 8:
		return math.MinInt8, math.MaxInt8
	case 16:
		return math.MinInt16, math.MaxInt16
	case 32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// jsonScalarText is the text of a JSON scalar: a string unquoted, anything
// else as written.
func jsonScalarText(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' {
		var out string
		if json.Unmarshal([]byte(s), &out) == nil {
			return out
		}
	}
	return s
}

func roundTimestamp(v types.Value, precision int) types.Value {
	if precision >= 6 || precision < 0 {
		return v
	}
	unit := int64(math.Pow10(6 - precision))
	us := v.Micros()
	q := floorDiv(us, unit) * unit
	if us-q >= unit/2 && unit > 1 {
		q += unit
	}
	return types.NewTimestamp(q)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
