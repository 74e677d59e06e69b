package expr

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// MySQL reads dates leniently: any punctuation between fields, two-digit
// years, digits without delimiters, numbers. What it cannot read is NULL
// with the warning "Incorrect datetime value" rather than an error, so that
// one bad row does not stop a query.

// nullWarning is an answer with a warning (NULL unless val is set): the
// caller that holds the Env reports the warning and carries on.
type nullWarning struct {
	err *sqlerr.Error
	val types.Value
}

func (w nullWarning) Error() string { return w.err.Error() }

func badDatetime(s string) error {
	return nullWarning{err: sqlerr.Newf(sqlerr.InvalidDatetimeFormat, "Incorrect datetime value: '%s'", s)}
}

// warnNull turns a nullWarning into its value and a warning on env;
// other errors pass through.
func warnNull(err error, env *Env) (types.Value, error) {
	if w, ok := err.(nullWarning); ok {
		if env != nil && env.Warn != nil {
			env.Warn(w.err)
		}
		return w.val, nil
	}
	return types.Null, err
}

// warnable makes f's nullWarnings answers with warnings.
func warnable(f Func) Func {
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := f(row, env)
		if err != nil {
			return warnNull(err, env)
		}
		return v, nil
	}
}

func warnf(val types.Value, code sqlerr.Code, format string, args ...any) error {
	return nullWarning{err: sqlerr.Newf(code, format, args...), val: val}
}

// Years and days MySQL accepts: '0000-01-01' to '9999-12-31'.
var (
	minDateDays = civilDays(0, 1, 1)
	maxDateDays = civilDays(9999, 12, 31)
	// Moving by days or less stops at year 1, as MySQL's day numbers do.
	year1Days = civilDays(1, 1, 1)
)

func civilDays(y, m, d int) int64 {
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// validDate makes microseconds of a civil date and time, or reports that
// the fields do not name one (month 13, February 30th).
func validDate(y, mo, d, h, mi, s int, frac int64) (int64, bool) {
	if y < 0 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 || h < 0 || mi < 0 || s < 0 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
	if t.Day() != d {
		return 0, false
	}
	return t.UnixMicro() + frac, true
}

// twoDigitYear is MySQL's rule for a year written with two digits: 70-99
// are 1970-1999, 00-69 are 2000-2069.
func twoDigitYear(y int) int {
	if y < 70 {
		return 2000 + y
	}
	return 1900 + y
}

// parseDatetime reads MySQL's date and datetime text: 'YYYY-MM-DD
// [HH:MM:SS[.f]]' with any punctuation between fields, a 'T' or spaces
// before the time, two- or four-digit years, or digits alone
// ('20240105', '240105', '20240105103000'). hasTime says whether the text
// held a time of day. A zone suffix ('+05:30', 'Z') is read as Postgres
// does.
func parseDatetime(s string) (us int64, hasTime, ok bool) {
	us, hasTime, trunc, ok := parseDatetimeLoose(s)
	return us, hasTime, ok && !trunc
}

// parseDatetimeLoose is parseDatetime that also takes a date followed by
// something else ('2024-01-05x'), as MySQL does with a warning: trunc
// says so.
func parseDatetimeLoose(s string) (us int64, hasTime, trunc, ok bool) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, false, false, false
	}
	if us, hasTime, ok := parseDigitsDatetime(t); ok {
		return us, hasTime, false, true
	}
	var f [7]int // year, month, day, hour, minute, second; f[6] unused
	var frac int64
	i, n := 0, 0
	yearDigits := 0
	for n < 6 {
		start := i
		for i < len(t) && isDigitByte(t[i]) {
			i++
		}
		if i == start || i-start > 9 {
			break
		}
		v, _ := strconv.Atoi(t[start:i])
		if n == 0 {
			yearDigits = i - start
		}
		f[n] = v
		n++
		if i == len(t) {
			break
		}
		if n == 3 {
			// Between the date and the time: 'T' or spaces.
			if t[i] == 'T' || t[i] == 't' {
				i++
			} else if t[i] == ' ' {
				for i < len(t) && t[i] == ' ' {
					i++
				}
			} else {
				break
			}
			continue
		}
		if n == 6 {
			break
		}
		if isDigitByte(t[i]) || t[i] == ' ' && n < 3 || !isPunct(t[i]) {
			break
		}
		i++
	}
	if n < 3 {
		return 0, false, false, false
	}
	if n == 6 && i < len(t) && t[i] == '.' {
		start := i + 1
		i++
		for i < len(t) && isDigitByte(t[i]) {
			i++
		}
		frac = types.FractionMicros(t[start:i])
	}
	rest := strings.TrimSpace(t[i:])
	if yearDigits <= 2 {
		f[0] = twoDigitYear(f[0])
	}
	us, ok = validDate(f[0], f[1], f[2], f[3], f[4], f[5], frac)
	if !ok {
		return 0, false, false, false
	}
	if rest != "" {
		if n >= 5 {
			// A zone offset ('+05:30', 'Z', 'UTC') moves the time to UTC.
			if v, err := types.ParseText(types.TypeTimestamp, t); err == nil {
				return v.Micros(), true, false, true
			}
		}
		return us, n > 3, true, true
	}
	return us, n > 3, false, true
}

func isPunct(c byte) bool {
	return c > ' ' && c < 127 && !isDigitByte(c) && !(c|0x20 >= 'a' && c|0x20 <= 'z')
}

// parseDigitsDatetime reads a date written without delimiters:
// YYYYMMDD, YYMMDD, YYYYMMDDHHMMSS or YYMMDDHHMMSS, with an optional
// fraction after the seconds.
func parseDigitsDatetime(t string) (int64, bool, bool) {
	whole, fr, hasFrac := strings.Cut(t, ".")
	for i := 0; i < len(whole); i++ {
		if !isDigitByte(whole[i]) {
			return 0, false, false
		}
	}
	if hasFrac {
		for i := 0; i < len(fr); i++ {
			if !isDigitByte(fr[i]) {
				return 0, false, false
			}
		}
	}
	num := func(a, b int) int { v, _ := strconv.Atoi(whole[a:b]); return v }
	var y, rest int
	switch len(whole) {
	case 8, 14:
		y, rest = num(0, 4), 4
	case 6, 12:
		y, rest = twoDigitYear(num(0, 2)), 2
	default:
		return 0, false, false
	}
	mo, d := num(rest, rest+2), num(rest+2, rest+4)
	var h, mi, s int
	hasTime := len(whole) > 8
	if hasTime {
		h, mi, s = num(rest+4, rest+6), num(rest+6, rest+8), num(rest+8, rest+10)
	} else if hasFrac {
		return 0, false, false
	}
	var frac int64
	if hasFrac {
		frac = types.FractionMicros(fr)
	}
	us, ok := validDate(y, mo, d, h, mi, s, frac)
	return us, hasTime, ok
}

// numberDatetime reads a number as MySQL reads it where a date is
// expected: YYYYMMDD, YYMMDD, YYYYMMDDHHMMSS or YYMMDDHHMMSS (two-digit
// years 70-99 in the 1900s), with frac microseconds after the seconds.
func numberDatetime(n int64, frac int64) (int64, bool) {
	switch {
	case n <= 0:
		return 0, false
	case n <= 691231:
		n = (n + 20000000) * 1000000
	case n < 700101:
		return 0, false
	case n <= 991231:
		n = (n + 19000000) * 1000000
	case n < 10000101:
		return 0, false
	case n <= 99991231:
		n *= 1000000
	case n < 101000000:
		return 0, false
	case n <= 691231235959:
		n += 20000000000000
	case n < 700101000000:
		return 0, false
	case n <= 991231235959:
		n += 19000000000000
	case n < 10000101000000 || n > 99991231235959:
		return 0, false
	}
	d, t := n/1000000, n%1000000
	return validDate(int(d/10000), int(d/100%100), int(d%100), int(t/10000), int(t/100%100), int(t%100), frac)
}

// datetimeNumber is a date as MySQL writes it as a number: YYYYMMDDHHMMSS
// (YYYYMMDD for a DATE).
func datetimeNumber(us int64, date bool) int64 {
	t := time.UnixMicro(us).UTC()
	n := int64(t.Year())*10000 + int64(t.Month())*100 + int64(t.Day())
	if date {
		return n
	}
	return n*1000000 + int64(t.Hour())*10000 + int64(t.Minute())*100 + int64(t.Second())
}

// textToTime converts MySQL date text to a DATE or TIMESTAMP of type to.
func textToTime(to types.Type) converter {
	return func(v types.Value, _ *Env) (types.Value, error) {
		s := v.Str()
		us, _, trunc, ok := parseDatetimeLoose(s)
		if !ok {
			// Postgres's spellings a client may send ('epoch', a zone
			// after the minutes).
			pg, err := types.ParseText(types.TypeTimestamp, s)
			if err != nil {
				return types.Null, badDatetime(s)
			}
			us = pg.Micros()
		}
		out := types.NewDate(floorDiv(us, microsPerDay))
		if to.Kind != types.Date {
			out = roundTimestamp(types.NewTimestamp(us), to.Precision)
		}
		if trunc {
			return types.Null, warnf(out, sqlerr.InvalidDatetimeFormat, "Truncated incorrect datetime value: '%s'", s)
		}
		return out, nil
	}
}

// numberToTime converts a number of kind from to a DATE or TIMESTAMP.
func numberToTime(from types.Kind, to types.Type) converter {
	return func(v types.Value, _ *Env) (types.Value, error) {
		var n, frac int64
		switch from {
		case types.Int, types.Bool:
			n = v.Int()
		case types.Float:
			f := v.Float()
			if math.IsNaN(f) || f < 0 || f >= 1e15 {
				return types.Null, badDatetime(types.FormatFloat(f))
			}
			n = int64(f)
			frac = int64(math.Round((f - float64(n)) * 1e6))
		default:
			text := v.Str()
			whole, fr, _ := strings.Cut(text, ".")
			var err error
			if n, err = strconv.ParseInt(whole, 10, 64); err != nil {
				return types.Null, badDatetime(text)
			}
			frac = types.FractionMicros(fr)
		}
		us, ok := numberDatetime(n, frac)
		if !ok {
			return types.Null, badDatetime(valueText(v))
		}
		if to.Kind == types.Date {
			return types.NewDate(floorDiv(us, microsPerDay)), nil
		}
		return roundTimestamp(types.NewTimestamp(us), to.Precision), nil
	}
}

// timeToNumber converts a DATE or TIMESTAMP of kind from to the number
// MySQL makes of it: 20240229 for a date, 20240229123000 for a datetime,
// with its fraction for a DECIMAL or DOUBLE.
func timeToNumber(from types.Type, to types.Type) (converter, bool) {
	date := from.Kind == types.Date
	micros := func(v types.Value) int64 {
		if date {
			return v.Days() * microsPerDay
		}
		return v.Micros()
	}
	switch to.Kind {
	case types.Int:
		return func(v types.Value, _ *Env) (types.Value, error) {
			us := micros(v)
			if !date && floorMod(us, microsPerSecond) >= microsPerSecond/2 {
				us += microsPerSecond
			}
			return types.NewInt(datetimeNumber(us, date)), nil
		}, true
	case types.Bool:
		return func(types.Value, *Env) (types.Value, error) { return types.NewBool(true), nil }, true
	case types.Float, types.Decimal:
		return func(v types.Value, _ *Env) (types.Value, error) {
			us := micros(v)
			text := strconv.FormatInt(datetimeNumber(us, date), 10)
			if frac := floorMod(us, microsPerSecond); frac != 0 && !date {
				text += "." + strconv.FormatInt(frac+microsPerSecond, 10)[1:]
			}
			if to.Kind == types.Float {
				f, _ := strconv.ParseFloat(text, 64)
				return types.NewFloat(f), nil
			}
			if to.Precision == 0 {
				return types.NewDecimal(text), nil
			}
			d, err := decimalRound(types.NewDecimal(text), to.Scale, decCtx.Rounding)
			if err != nil {
				return types.Null, err
			}
			return checkDecimalFits(d, to)
		}, true
	}
	return nil, false
}
