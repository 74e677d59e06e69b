package expr

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// converter converts one non-NULL value; env receives the warnings of
// MySQL's lossy conversions (it may be nil).
type converter func(types.Value, *Env) (types.Value, error)

func identity(v types.Value, _ *Env) (types.Value, error) { return v, nil }

// castFunc returns the conversion of non-NULL values of type from to type
// to, chosen once at compile time. A conversion that cannot exist is
// 42804 at bind time. Where MySQL answers a lossy conversion with a
// warning (a string that is not a number, a number beyond BIGINT or a
// DECIMAL(p,s)), the value is MySQL's and the warning goes to env; one
// that MySQL refuses (a malformed date, JSON) is an error of that row.
func castFunc(from, to types.Type) (converter, error) {
	fk, tk := from.Kind, to.Kind
	if fk == types.Unknown {
		// An untyped input (a parameter nobody constrained): convert by the
		// value's own kind, found per row.
		return func(v types.Value, env *Env) (types.Value, error) {
			if v.IsNull() {
				return types.Null, nil
			}
			conv, err := castFunc(naturalType(v), to)
			if err != nil {
				return types.Null, err
			}
			return conv(v, env)
		}, nil
	}
	if tk == types.Unknown {
		return identity, nil
	}
	if tk == types.String {
		return toStringConv(from, to), nil
	}
	if tk == types.Bytes {
		return func(v types.Value, _ *Env) (types.Value, error) {
			if v.Kind() == types.Bytes || v.Kind() == types.String || v.Kind() == types.JSON {
				return types.NewBytes([]byte(v.Str())), nil
			}
			return types.NewBytes([]byte(valueText(v))), nil
		}, nil
	}
	if tk == types.JSON && (fk == types.String || fk == types.Bytes) {
		// MySQL keeps JSON in a normal form and prints it so: ", " and
		// ": " between members, keys sorted.
		return func(v types.Value, _ *Env) (types.Value, error) {
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
		if conv := textToNumber(to); conv != nil {
			return conv, nil
		}
		return func(v types.Value, _ *Env) (types.Value, error) {
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
			return func(v types.Value, _ *Env) (types.Value, error) { return types.NewBool(v.Int() != 0), nil }, nil
		case types.Float:
			return func(v types.Value, _ *Env) (types.Value, error) { return types.NewBool(v.Float() != 0), nil }, nil
		case types.Decimal:
			return func(v types.Value, _ *Env) (types.Value, error) {
				return types.NewBool(!isZeroDecimalText(v.Str())), nil
			}, nil
		case types.JSON:
			return func(v types.Value, _ *Env) (types.Value, error) { return parseText(to, jsonScalarText(v.Str())) }, nil
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
			return func(v types.Value, _ *Env) (types.Value, error) { return check(v.Int()) }, nil
		case types.Float:
			// A DOUBLE rounds half to even (rint), as MySQL's does; BIGINT
			// clamps with a warning, the narrower (Postgres) types fail.
			return func(v types.Value, env *Env) (types.Value, error) {
				f := math.RoundToEven(v.Float())
				if f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 || math.IsNaN(f) {
					if to.Width != 64 || math.IsNaN(f) {
						return types.Null, sqlerr.Newf(sqlerr.NumericValueOutOfRange, "%s out of range", to)
					}
					env.Warnf(sqlerr.NumericValueOutOfRange, "Got overflow when converting '%s' to SIGNED BIGINT. Value truncated", floatText(v.Float(), 64))
					if f > 0 {
						return types.NewInt(math.MaxInt64), nil
					}
					return types.NewInt(math.MinInt64), nil
				}
				return check(int64(f))
			}, nil
		case types.Decimal:
			return func(v types.Value, env *Env) (types.Value, error) {
				i, err := decimalToInt(v)
				if err != nil {
					if to.Width != 64 || sqlerr.CodeOf(err) != sqlerr.NumericValueOutOfRange {
						return types.Null, err
					}
					env.Warnf(sqlerr.NumericValueOutOfRange, "Got overflow when converting '%s' to SIGNED BIGINT. Value truncated", v.Str())
					if strings.HasPrefix(v.Str(), "-") {
						return types.NewInt(math.MinInt64), nil
					}
					return types.NewInt(math.MaxInt64), nil
				}
				return check(i)
			}, nil
		case types.JSON:
			return func(v types.Value, _ *Env) (types.Value, error) { return parseText(to, jsonScalarText(v.Str())) }, nil
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
			return func(v types.Value, _ *Env) (types.Value, error) { return round(float64(v.Int())), nil }, nil
		case types.Float:
			return func(v types.Value, _ *Env) (types.Value, error) { return round(v.Float()), nil }, nil
		case types.Decimal:
			return func(v types.Value, _ *Env) (types.Value, error) { return round(decimalToFloat(v)), nil }, nil
		case types.JSON:
			return func(v types.Value, _ *Env) (types.Value, error) { return parseText(to, jsonScalarText(v.Str())) }, nil
		}
	case types.Decimal:
		if to.Precision == 0 {
			// An unconstrained DECIMAL keeps whatever scale the value has.
			switch fk {
			case types.Decimal:
				return identity, nil
			case types.Bool, types.Int:
				return func(v types.Value, _ *Env) (types.Value, error) { return decimalFromInt(v.Int(), 0) }, nil
			case types.Float:
				return func(v types.Value, _ *Env) (types.Value, error) { return parseText(to, types.FormatFloat(v.Float())) }, nil
			}
		}
		// DECIMAL(p,s) rounds to s digits and clamps what does not fit to
		// its largest value, with a warning (CAST(7 AS DECIMAL(3,3)) is
		// 0.999), as MySQL does.
		switch fk {
		case types.Bool, types.Int:
			return func(v types.Value, env *Env) (types.Value, error) {
				d, err := decimalFromInt(v.Int(), to.Scale)
				return fitDecimal(d, err, to, v, env)
			}, nil
		case types.Float:
			return func(v types.Value, env *Env) (types.Value, error) {
				d, err := decimalFromFloat(v.Float(), to.Scale)
				return fitDecimal(d, err, to, v, env)
			}, nil
		case types.Decimal:
			return func(v types.Value, env *Env) (types.Value, error) {
				d, err := decimalRound(v, to.Scale, decCtx.Rounding)
				return fitDecimal(d, err, to, v, env)
			}, nil
		case types.JSON:
			return func(v types.Value, _ *Env) (types.Value, error) { return parseText(to, jsonScalarText(v.Str())) }, nil
		}
	case types.Date:
		switch fk {
		case types.Date:
			return identity, nil
		case types.Timestamp:
			return func(v types.Value, _ *Env) (types.Value, error) {
				return types.NewDate(floorDiv(v.Micros(), microsPerDay)), nil
			}, nil
		}
	case types.Timestamp:
		switch fk {
		case types.Date:
			return func(v types.Value, _ *Env) (types.Value, error) {
				return types.NewTimestamp(v.Days() * microsPerDay), nil
			}, nil
		case types.Timestamp:
			return func(v types.Value, _ *Env) (types.Value, error) { return roundTimestamp(v, to.Precision), nil }, nil
		}
	case types.JSON:
		switch fk {
		case types.JSON:
			return identity, nil
		case types.Bool:
			return func(v types.Value, _ *Env) (types.Value, error) {
				if v.Bool() {
					return types.NewJSON("true"), nil
				}
				return types.NewJSON("false"), nil
			}, nil
		case types.Int, types.Float, types.Decimal, types.Date, types.Timestamp:
			return func(v types.Value, _ *Env) (types.Value, error) {
				j, err := sqlToJSON(v)
				return jsonResult(j), err
			}, nil
		}
	case types.Interval:
		if fk == types.Interval {
			return identity, nil
		}
		if fk == types.String {
			// Postgres's interval text: '1 day 2 hours', '01:30:00', 'P1D'.
			return func(v types.Value, _ *Env) (types.Value, error) { return types.ParseText(types.TypeInterval, v.Str()) }, nil
		}
	}
	return bad()
}

// valueText is the text a value casts to, MySQL's: a boolean is 1 or 0
// (CONCAT(1=1, 'x') is '1x'), a DOUBLE is written by floatText, anything
// else as it prints.
func valueText(v types.Value) string {
	switch v.Kind() {
	case types.Bool:
		if v.Bool() {
			return "1"
		}
		return "0"
	case types.Float:
		return floatText(v.Float(), 64)
	}
	return v.String()
}

func toStringConv(from, to types.Type) converter {
	n := to.Length
	// CAST(x AS CHAR(n)) and VARCHAR(n) casts truncate, with MySQL's
	// warning.
	trunc := func(s string, env *Env) types.Value {
		if n > 0 && utf8.RuneCountInString(s) > n {
			i := 0
			for k := range s {
				if i == n {
					env.Warnf(sqlerr.Warning, "Truncated incorrect CHAR(%d) value: '%s'", n, s)
					s = s[:k]
					break
				}
				i++
			}
		}
		return types.NewString(s)
	}
	switch {
	case from.Kind == types.String || from.Kind == types.Bytes || from.Kind == types.JSON:
		return func(v types.Value, env *Env) (types.Value, error) { return trunc(v.Str(), env), nil }
	case from.Kind == types.Float:
		return func(v types.Value, env *Env) (types.Value, error) {
			return trunc(floatText(v.Float(), from.Width), env), nil
		}
	}
	return func(v types.Value, env *Env) (types.Value, error) { return trunc(valueText(v), env), nil }
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

// ---- MySQL's lossy conversions ----
//
// MySQL reads a string as a number by its longest numeric prefix and warns
// when anything but spaces follows it ('12abc' + 0 is 12, '' and 'abc' are
// 0); it clamps a number that does not fit a DECIMAL(p,s) or a BIGINT to
// the nearest value that does, with a warning. The functions below are the
// one place these rules live: casts and every implicit conversion (a
// string operand of + or =, a string condition) go through castFunc, and
// other families may call textToFloat and floatText directly.

// textToNumber returns the conversion of text to a numeric or boolean
// type by MySQL's prefix rule, or nil for other targets.
func textToNumber(to types.Type) converter {
	switch to.Kind {
	case types.Float:
		return func(v types.Value, env *Env) (types.Value, error) {
			f := textToFloat(v.Str(), env)
			if to.Width == 32 {
				f = float64(float32(f))
			}
			return types.NewFloat(f), nil
		}
	case types.Int:
		lo, hi := intRange(to.Width)
		return func(v types.Value, env *Env) (types.Value, error) {
			i := textToInt(v.Str(), env)
			if i < lo || i > hi {
				return types.Null, sqlerr.Newf(sqlerr.NumericValueOutOfRange, "%s out of range", to)
			}
			return types.NewInt(i), nil
		}
	case types.Decimal:
		return func(v types.Value, env *Env) (types.Value, error) {
			num, clean := numberPrefix(v.Str(), false)
			if !clean {
				env.Warnf(sqlerr.InvalidTextRepresentation, "Truncated incorrect DECIMAL value: '%s'", v.Str())
			}
			if num == "" {
				num = "0"
			}
			d, err := parseText(types.Type{Kind: types.Decimal}, num)
			if to.Precision == 0 {
				return d, err
			}
			if err == nil {
				d, err = decimalRound(d, to.Scale, decCtx.Rounding)
			}
			return fitDecimal(d, err, to, v, env)
		}
	case types.Bool:
		// Postgres's 'true'::boolean words, else MySQL's rule: the
		// string read as a DOUBLE, true when not 0.
		return func(v types.Value, env *Env) (types.Value, error) {
			if b, err := types.ParseText(types.TypeBool, v.Str()); err == nil {
				return b, nil
			}
			return types.NewBool(textToFloat(v.Str(), env) != 0), nil
		}
	}
	return nil
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// numberPrefix returns the longest prefix of s, after leading white space,
// that MySQL reads as a number: a sign, digits, a point and digits, and an
// exponent when digits follow the e (integer stops at the point). num has
// no '+' and is "" when s starts with no digit; clean reports whether
// nothing but white space follows it (a warning is due otherwise).
func numberPrefix(s string, integer bool) (num string, clean bool) {
	i := 0
	for i < len(s) && isSpaceByte(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	n := 0
	for i < len(s) && isDigitByte(s[i]) {
		i, n = i+1, n+1
	}
	if !integer && i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigitByte(s[j]) {
			j, n = j+1, n+1
		}
		if n > 0 {
			i = j
		}
	}
	if n == 0 {
		return "", false
	}
	if !integer && i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigitByte(s[j]) {
			for j < len(s) && isDigitByte(s[j]) {
				j++
			}
			i = j
		}
	}
	num = strings.TrimPrefix(s[start:i], "+")
	for j := i; j < len(s); j++ {
		if !isSpaceByte(s[j]) {
			return num, false
		}
	}
	return num, true
}

// textToFloat reads s as MySQL reads a string as a DOUBLE, warning
// "Truncated incorrect DOUBLE value" when it drops anything; a value
// beyond DOUBLE's range is the largest DOUBLE of its sign.
func textToFloat(s string, env *Env) float64 {
	num, clean := numberPrefix(s, false)
	if !clean {
		env.Warnf(sqlerr.InvalidTextRepresentation, "Truncated incorrect DOUBLE value: '%s'", s)
	}
	if num == "" {
		return 0
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil && math.IsInf(f, 0) {
		if clean {
			env.Warnf(sqlerr.InvalidTextRepresentation, "Truncated incorrect DOUBLE value: '%s'", s)
		}
		return math.Copysign(math.MaxFloat64, f)
	}
	return f
}

// textToInt reads s as CAST(s AS SIGNED) does: its integer prefix (no
// point, no exponent), clamped to BIGINT, with "Truncated incorrect
// INTEGER value" when it drops or clamps anything.
func textToInt(s string, env *Env) int64 {
	num, clean := numberPrefix(s, true)
	i, err := strconv.ParseInt(num, 10, 64)
	if !clean || (err != nil && num != "") {
		env.Warnf(sqlerr.InvalidTextRepresentation, "Truncated incorrect INTEGER value: '%s'", s)
	}
	return i // ParseInt clamps out-of-range values and reads "" as 0
}

// fitDecimal clamps d, v converted to DECIMAL(p,s) (err is the
// conversion's), to the largest value of that type with d's sign when its
// integer digits do not fit, with a warning.
func fitDecimal(d types.Value, err error, to types.Type, v types.Value, env *Env) (types.Value, error) {
	if err != nil && sqlerr.CodeOf(err) != sqlerr.NumericValueOutOfRange {
		return types.Null, err
	}
	if err == nil {
		if _, err = checkDecimalFits(d, to); err == nil {
			return d, nil
		}
	}
	neg := false
	switch v.Kind() {
	case types.Int:
		neg = v.Int() < 0
	case types.Float:
		neg = v.Float() < 0
	default:
		neg = strings.HasPrefix(strings.TrimLeft(v.Str(), " \t\n\r\v\f"), "-")
	}
	env.Warnf(sqlerr.NumericValueOutOfRange, "Out of range value for %s: '%s'", to, valueText(v))
	return decimalMax(to, neg), nil
}

// decimalMax is the largest DECIMAL(p,s) value (its negative with neg).
func decimalMax(t types.Type, neg bool) types.Value {
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if t.Precision == t.Scale {
		b.WriteByte('0')
	}
	b.WriteString(strings.Repeat("9", t.Precision-t.Scale))
	if t.Scale > 0 {
		b.WriteByte('.')
		b.WriteString(strings.Repeat("9", t.Scale))
	}
	return types.NewDecimal(b.String())
}

// floatText writes a DOUBLE (width 64) or FLOAT (32) as MySQL turns one
// into text: the shortest digits that read back as the same value, in
// plain notation from 1e-15 up to below 1e15 and as 1.5e15 / 1e-16
// outside (no '+', no leading zeros in the exponent). Probed on MariaDB
// 10.11, which shares MySQL's routine: CONCAT(1e-15,”) is
// '0.000000000000001', CONCAT(1e15,”) is '1e15'.
func floatText(f float64, width int) string {
	switch {
	case math.IsInf(f, 0) || math.IsNaN(f):
		return types.FormatFloat(f)
	case f == 0:
		return "0"
	}
	bits := 64
	if width == 32 {
		bits = 32
	}
	e := strconv.FormatFloat(f, 'e', -1, bits) // -d.ddde±xx
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	if x >= -15 && x < 15 {
		return strconv.FormatFloat(f, 'f', -1, bits)
	}
	return mant + "e" + strconv.Itoa(x)
}

// maxUnsigned is 2^64-1, BIGINT UNSIGNED's largest value, as a decimal.
var maxUnsigned = types.NewDecimal("18446744073709551615")

// unsignedFunc is CAST(x AS UNSIGNED) of a value of type from (see
// NewUnsignedCast): a DECIMAL(20,0).
func unsignedFunc(from types.Type) (converter, error) {
	wrap := func(i int64) types.Value {
		return types.NewDecimal(strconv.FormatUint(uint64(i), 10))
	}
	overflow := func(env *Env, text string, neg bool) (types.Value, error) {
		env.Warnf(sqlerr.NumericValueOutOfRange, "Got overflow when converting '%s' to UNSIGNED BIGINT. Value truncated", text)
		if neg {
			return types.NewDecimal("0"), nil
		}
		return maxUnsigned, nil
	}
	switch from.Kind {
	case types.Bool, types.Int:
		return func(v types.Value, _ *Env) (types.Value, error) { return wrap(v.Int()), nil }, nil
	case types.Float:
		return func(v types.Value, env *Env) (types.Value, error) {
			f := math.RoundToEven(v.Float())
			switch {
			case f < 0 || math.IsNaN(f):
				return overflow(env, floatText(v.Float(), 64), true)
			case f >= 1.8446744073709551615e19:
				return overflow(env, floatText(v.Float(), 64), false)
			}
			return types.NewDecimal(strconv.FormatUint(uint64(f), 10)), nil
		}, nil
	case types.Decimal:
		return func(v types.Value, env *Env) (types.Value, error) {
			d, err := decimalRound(v, 0, decCtx.Rounding)
			if err != nil {
				return types.Null, err
			}
			if strings.HasPrefix(d.Str(), "-") {
				return overflow(env, v.Str(), true)
			}
			if _, err := strconv.ParseUint(d.Str(), 10, 64); err != nil {
				return overflow(env, v.Str(), false)
			}
			return d, nil
		}, nil
	case types.String, types.Bytes:
		// The integer prefix; '-1' wraps like -1.
		return func(v types.Value, env *Env) (types.Value, error) {
			num, clean := numberPrefix(v.Str(), true)
			if !clean {
				env.Warnf(sqlerr.InvalidTextRepresentation, "Truncated incorrect INTEGER value: '%s'", v.Str())
			}
			if num == "" {
				return types.NewDecimal("0"), nil
			}
			if u, err := strconv.ParseUint(num, 10, 64); err == nil {
				return types.NewDecimal(strconv.FormatUint(u, 10)), nil
			}
			if i, err := strconv.ParseInt(num, 10, 64); err == nil {
				return wrap(i), nil
			}
			if clean {
				env.Warnf(sqlerr.InvalidTextRepresentation, "Truncated incorrect INTEGER value: '%s'", v.Str())
			}
			if strings.HasPrefix(num, "-") {
				return types.NewDecimal("0"), nil
			}
			return maxUnsigned, nil
		}, nil
	}
	// Anything else (a JSON scalar, a date) goes through BIGINT.
	toInt, err := castFunc(from, types.TypeBigInt)
	if err != nil {
		return nil, err
	}
	return func(v types.Value, env *Env) (types.Value, error) {
		i, err := toInt(v, env)
		if err != nil {
			return types.Null, err
		}
		return wrap(i.Int()), nil
	}, nil
}
