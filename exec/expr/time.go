package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

const (
	microsPerSecond = int64(1e6)
	microsPerMinute = 60 * microsPerSecond
	microsPerHour   = 60 * microsPerMinute
	microsPerDay    = 24 * microsPerHour
)

func registerTime() {
	register("now current_timestamp localtimestamp localtime sysdate", &builtin{minArgs: 0, maxArgs: 1, check: checkNow, compile: compileNow})
	register("curdate current_date", &builtin{minArgs: 0, maxArgs: 0, check: setType(types.TypeDate), compile: compileCurdate})
	register("interval", &builtin{minArgs: 1, maxArgs: 1, check: checkInterval, compile: compileInterval})
	register("date_add adddate", &builtin{minArgs: 2, maxArgs: 2, check: checkDateAdd, compile: compileDateAdd(1)})
	register("date_sub subdate", &builtin{minArgs: 2, maxArgs: 2, check: checkDateAdd, compile: compileDateAdd(-1)})
	register("timestampdiff", &builtin{minArgs: 2, maxArgs: 2, check: checkTimestampDiff, compile: compileTimestampDiff})
	register("extract", &builtin{minArgs: 1, maxArgs: 1, check: checkExtract, compile: compileExtract})
	register("date", &builtin{minArgs: 1, maxArgs: 1, check: checkDate, compile: compileDate})
	register("time", &builtin{minArgs: 1, maxArgs: 2, check: checkTimeOfDay, compile: compileTimeOfDay})
	register("__pgtime", &builtin{minArgs: 1, maxArgs: 1, check: checkPgTime, compile: compilePgTime})
	register("date_trunc", &builtin{minArgs: 2, maxArgs: 2, check: checkDateTrunc, compile: compileDateTrunc})
	register("date_format", &builtin{minArgs: 2, maxArgs: 2, check: checkDateFormat, compile: compileDateFormat})
	register("unix_timestamp", &builtin{minArgs: 0, maxArgs: 1, check: checkUnixTimestamp, compile: compileUnixTimestamp})
	register("from_unixtime", &builtin{minArgs: 1, maxArgs: 2, check: checkFromUnixtime, compile: compileFromUnixtime})
	registerTimeFuncs()
}

func setType(t types.Type) func(*Call) error {
	return func(c *Call) error { c.Typ = t; return nil }
}

// toTime coerces a date, timestamp or text argument to TIMESTAMP (keeping
// DATE when keepDate).
func toTime(c *Call, i int, keepDate bool) error {
	t := c.Args[i].Type()
	switch {
	case t.Kind == types.Timestamp:
	case t.Kind == types.Date && keepDate:
	case t.Kind == types.Date || isStringKind(t.Kind) || t.Kind == types.Unknown || isNumericKind(t.Kind):
		// MySQL reads a number as a date too: 20240101.
		c.Args[i] = coerceKind(c.Args[i], types.TypeTimestamp)
	default:
		return mismatch("function %s(%s) does not exist", c.Name, argTypes(c.Args))
	}
	return nil
}

func checkNow(c *Call) error {
	p := 0
	if len(c.Args) == 1 {
		k, ok := c.Args[0].(*Const)
		if !ok || k.Value.Kind() != types.Int || k.Value.Int() < 0 || k.Value.Int() > 6 {
			return mismatch("%s: precision must be an integer constant from 0 to 6", c.Name)
		}
		p = int(k.Value.Int())
	}
	c.Typ = types.Type{Kind: types.Timestamp, Precision: p}
	return nil
}

func compileNow(c *Call, _ []Func) (Func, error) {
	p := c.Typ.Precision
	unit := int64(math.Pow10(6 - p))
	return func(_ types.Row, env *Env) (types.Value, error) {
		return types.NewTimestamp(floorDiv(env.Now, unit) * unit), nil
	}, nil
}

func compileCurdate(*Call, []Func) (Func, error) {
	return func(_ types.Row, env *Env) (types.Value, error) {
		return types.NewDate(floorDiv(env.Now, microsPerDay)), nil
	}, nil
}

// ---- intervals ----

// unitParts lists the fields of each INTERVAL unit, most significant first.
var unitParts = map[string][]string{
	"MICROSECOND": {"MICROSECOND"}, "SECOND": {"SECOND"}, "MINUTE": {"MINUTE"}, "HOUR": {"HOUR"},
	"DAY": {"DAY"}, "WEEK": {"WEEK"}, "MONTH": {"MONTH"}, "QUARTER": {"QUARTER"}, "YEAR": {"YEAR"},
	"SECOND_MICROSECOND": {"SECOND", "MICROSECOND"},
	"MINUTE_MICROSECOND": {"MINUTE", "SECOND", "MICROSECOND"},
	"MINUTE_SECOND":      {"MINUTE", "SECOND"},
	"HOUR_MICROSECOND":   {"HOUR", "MINUTE", "SECOND", "MICROSECOND"},
	"HOUR_SECOND":        {"HOUR", "MINUTE", "SECOND"},
	"HOUR_MINUTE":        {"HOUR", "MINUTE"},
	"DAY_MICROSECOND":    {"DAY", "HOUR", "MINUTE", "SECOND", "MICROSECOND"},
	"DAY_SECOND":         {"DAY", "HOUR", "MINUTE", "SECOND"},
	"DAY_MINUTE":         {"DAY", "HOUR", "MINUTE"},
	"DAY_HOUR":           {"DAY", "HOUR"},
	"YEAR_MONTH":         {"YEAR", "MONTH"},
}

// unitSize is a field's length: months for calendar fields, microseconds
// for the others.
func unitSize(u string) (months, micros int64) {
	switch u {
	case "YEAR":
		return 12, 0
	case "QUARTER":
		return 3, 0
	case "MONTH":
		return 1, 0
	case "WEEK":
		return 0, 7 * microsPerDay
	case "DAY":
		return 0, microsPerDay
	case "HOUR":
		return 0, microsPerHour
	case "MINUTE":
		return 0, microsPerMinute
	case "SECOND":
		return 0, microsPerSecond
	}
	return 0, 1
}

// ValidUnit reports whether u names an INTERVAL unit.
func ValidUnit(u string) bool {
	_, ok := unitParts[strings.ToUpper(u)]
	return ok
}

func checkInterval(c *Call) error {
	if _, ok := unitParts[c.Unit]; !ok {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "unknown interval unit %q", c.Unit)
	}
	k := c.Args[0].Type().Kind
	if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
		return mismatch("INTERVAL value must be a number or a string, not %s", c.Args[0].Type())
	}
	if len(unitParts[c.Unit]) > 1 || isStringKind(k) {
		c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	}
	c.Typ = types.TypeInterval
	return nil
}

// intervalCalendarOnly reports whether an interval expression moves whole
// days or months only, so that DATE ± it stays a DATE (MySQL's rule).
func intervalCalendarOnly(e Expr) bool {
	if c, ok := e.(*Call); ok && c.Name == "interval" {
		for _, p := range unitParts[c.Unit] {
			if p != "DAY" && p != "WEEK" && p != "MONTH" && p != "QUARTER" && p != "YEAR" {
				return false
			}
		}
		return true
	}
	if k, ok := e.(*Const); ok && k.Value.Kind() == types.Interval {
		_, us := k.Value.IntervalParts()
		return us%microsPerDay == 0
	}
	return false
}

func compileInterval(c *Call, args []Func) (Func, error) {
	parts := unitParts[c.Unit]
	if len(parts) == 1 && c.Args[0].Type().Kind != types.String {
		months, micros := unitSize(parts[0])
		kind := c.Args[0].Type().Kind
		return null1(args[0], func(v types.Value) (types.Value, error) {
			var f float64
			switch kind {
			case types.Int, types.Bool:
				n := v.Int()
				if months != 0 {
					if n > math.MaxInt32 || n < math.MinInt32 {
						return types.Null, errOverflow("INTERVAL", c.Unit)
					}
					return types.NewInterval(n*months, 0), nil
				}
				if n > math.MaxInt64/micros || n < math.MinInt64/micros {
					return types.Null, errOverflow("INTERVAL", c.Unit)
				}
				return types.NewInterval(0, n*micros), nil
			case types.Decimal:
				f = decimalToFloat(v)
			default:
				f = v.Float()
			}
			if months != 0 {
				if math.Abs(f) > math.MaxInt32 || math.IsNaN(f) {
					return types.Null, errOverflow("INTERVAL", c.Unit)
				}
				return types.NewInterval(int64(math.Round(f))*months, 0), nil
			}
			if micros > 1 && parts[0] != "SECOND" {
				f = math.Round(f)
			}
			us := math.Round(f * float64(micros))
			if us >= 9.223372036854775807e18 || us < -9.223372036854775808e18 || math.IsNaN(us) {
				return types.Null, errOverflow("INTERVAL", c.Unit)
			}
			return types.NewInterval(0, int64(us)), nil
		}), nil
	}
	return warnable(null1(args[0], func(v types.Value) (types.Value, error) {
		return parseUnitString(v.Str(), c.Unit, parts)
	})), nil
}

// parseUnitString reads the string form of an INTERVAL with unit, e.g.
// '1:30' MINUTE_SECOND or '2-6' YEAR_MONTH: numbers are assigned to the
// unit's fields from the right.
func parseUnitString(s, unit string, parts []string) (types.Value, error) {
	bad := func() (types.Value, error) {
		// MySQL: the interval, and so the date it moves, is NULL.
		return types.Null, warnf(types.Null, sqlerr.InvalidDatetimeFormat, "Incorrect INTERVAL value: '%s'", s)
	}
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "-"), "+")
	if len(parts) == 1 {
		return singleUnitString(s, t, neg, parts[0])
	}
	// MySQL's get_interval_info: skip what is not a digit, read up to one
	// number per field; fewer numbers fill the fields from the right
	// ('12' SECOND_MICROSECOND is 0 seconds and 12); no number at all is
	// an interval of 0. Numbers left over make the interval NULL.
	j := 0
	skip := func() {
		for j < len(t) && !isDigitByte(t[j]) {
			j++
		}
	}
	skip()
	vals := make([]int64, len(parts))
	lastLen := 0
	for i := range parts {
		start := j
		var v int64
		for ; j < len(t) && isDigitByte(t[j]); j++ {
			if v > (math.MaxInt64-10)/10 {
				return bad()
			}
			v = v*10 + int64(t[j]-'0')
		}
		lastLen, vals[i] = j-start, v
		skip()
		if j == len(t) && i != len(parts)-1 {
			copy(vals[len(parts)-1-i:], vals[:i+1])
			clear(vals[:len(parts)-1-i])
			break
		}
	}
	if j != len(t) {
		return bad()
	}
	if parts[len(parts)-1] == "MICROSECOND" && lastLen > 0 {
		// The microseconds are the digits of a fraction: '1.5' is
		// 500000 of them, '1.1234567' 123456.
		for ; lastLen < 6; lastLen++ {
			vals[len(vals)-1] *= 10
		}
		for ; lastLen > 6; lastLen-- {
			vals[len(vals)-1] /= 10
		}
	}
	var months, micros int64
	for i, v := range vals {
		m, us := unitSize(parts[i])
		if v > math.MaxInt32 && m != 0 || us != 0 && v > (math.MaxInt64-micros)/us {
			return types.Null, errOverflow("INTERVAL", unit)
		}
		months += v * m
		micros += v * us
	}
	if neg {
		months, micros = -months, -micros
	}
	return types.NewInterval(months, micros), nil
}

// singleUnitString reads the string value of a one-field INTERVAL as
// MySQL does: SECOND takes a fraction ('1.5' is a second and a half);
// every other unit reads the leading integer ('1.5' HOUR is one hour,
// 'abc' DAY none), with a warning when anything is left over.
func singleUnitString(orig, t string, neg bool, unit string) (types.Value, error) {
	months, micros := unitSize(unit)
	end := 0
	for end < len(t) && isDigitByte(t[end]) {
		end++
	}
	var n, frac int64
	if end > 0 {
		var err error
		if n, err = strconv.ParseInt(t[:end], 10, 64); err != nil {
			return types.Null, errOverflow("INTERVAL", unit)
		}
	}
	rest := t[end:]
	if unit == "SECOND" && strings.HasPrefix(rest, ".") {
		fe := 1
		for fe < len(rest) && isDigitByte(rest[fe]) {
			fe++
		}
		frac, rest = types.FractionMicros(rest[1:fe]), rest[fe:]
	}
	var out types.Value
	switch {
	case months != 0:
		if n > math.MaxInt32 {
			return types.Null, errOverflow("INTERVAL", unit)
		}
		if neg {
			n = -n
		}
		out = types.NewInterval(n*months, 0)
	default:
		if n > math.MaxInt64/micros {
			return types.Null, errOverflow("INTERVAL", unit)
		}
		us := n*micros + frac
		if neg {
			us = -us
		}
		out = types.NewInterval(0, us)
	}
	if end == 0 || rest != "" {
		return types.Null, warnf(out, sqlerr.InvalidTextRepresentation, "Truncated incorrect INTEGER value: '%s'", orig)
	}
	return out, nil
}

// ---- date arithmetic ----

// checkTimeArith types + and - over times and intervals: time ± interval is
// DATE_ADD/DATE_SUB, interval ± interval an interval, timestamp - timestamp
// an interval (as Postgres) and date - date a number of days.
func checkTimeArith(c *Call) error {
	a, b := c.Args[0].Type(), c.Args[1].Type()
	switch {
	case b.Kind == types.Interval && (isTimeKind(a.Kind) || isStringKind(a.Kind)) && (c.Name == "+" || c.Name == "-"):
		name := "date_add"
		if c.Name == "-" {
			name = "date_sub"
		}
		c.Name, c.def = name, builtins[name]
		return c.def.check(c)
	case a.Kind == types.Interval && isTimeKind(b.Kind) && c.Name == "+":
		c.Args[0], c.Args[1] = c.Args[1], c.Args[0]
		c.Name, c.def = "date_add", builtins["date_add"]
		return c.def.check(c)
	case a.Kind == types.Interval && b.Kind == types.Interval && (c.Name == "+" || c.Name == "-"):
		c.Typ = types.TypeInterval
		c.def = &builtin{infix: true, compile: compileIntervalArith}
		return nil
	case a.Kind == types.Date && b.Kind == types.Date && c.Name == "-":
		c.Typ = types.TypeBigInt
		c.def = &builtin{infix: true, compile: func(_ *Call, args []Func) (Func, error) {
			return null2(args[0], args[1], func(x, y types.Value) (types.Value, error) {
				return types.NewInt(x.Days() - y.Days()), nil
			}), nil
		}}
		return nil
	case isTimeKind(a.Kind) && isTimeKind(b.Kind) && c.Name == "-":
		c.Args[0], c.Args[1] = coerceKind(c.Args[0], types.TypeTimestamp), coerceKind(c.Args[1], types.TypeTimestamp)
		c.Typ = types.TypeInterval
		c.def = &builtin{infix: true, compile: compileTimeDiff}
		return nil
	case a.Kind != types.Interval && b.Kind != types.Interval:
		// Anywhere else a date is the number MySQL writes it as:
		// DATE '2024-02-29' + 0 is 20240229.
		for i, t := range []types.Type{a, b} {
			if isTimeKind(t.Kind) {
				c.Args[i] = coerce(c.Args[i], timeNumberType(t))
			}
		}
		return checkArith(c)
	}
	return mismatch("operator does not exist: %s %s %s", a, c.Name, b)
}

// timeNumberType is the type of the number a date or datetime of type t
// reads as: BIGINT, or DECIMAL when it has a fraction of a second.
func timeNumberType(t types.Type) types.Type {
	if t.Kind == types.Timestamp && t.Precision > 0 {
		return types.DecimalType(14+t.Precision, t.Precision)
	}
	return types.TypeBigInt
}

func compileTimeDiff(_ *Call, args []Func) (Func, error) {
	return null2(args[0], args[1], func(x, y types.Value) (types.Value, error) {
		return types.NewInterval(0, x.Micros()-y.Micros()), nil
	}), nil
}

func compileIntervalArith(c *Call, args []Func) (Func, error) {
	sign := int64(1)
	if c.Name == "-" {
		sign = -1
	}
	return null2(args[0], args[1], func(x, y types.Value) (types.Value, error) {
		xm, xu := x.IntervalParts()
		ym, yu := y.IntervalParts()
		return types.NewInterval(xm+sign*ym, xu+sign*yu), nil
	}), nil
}

func checkDateAdd(c *Call) error {
	if c.Args[1].Type().Kind != types.Interval {
		return mismatch("%s: second argument must be an INTERVAL, not %s", c.Name, c.Args[1].Type())
	}
	if k := c.Args[0].Type().Kind; isNumericKind(k) && k != types.Bool {
		// A number is read as its digits: 20240101 + INTERVAL 1 DAY is
		// '2024-01-02', as for the string '20240101'.
		c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	}
	if isStringKind(c.Args[0].Type().Kind) && intervalCalendarOnly(c.Args[1]) {
		// MySQL answers a string for a string: a date when the string
		// holds a date alone ('2018-05-01' + 1 DAY = '2018-05-02'), a
		// datetime when it holds a time too.
		c.Typ = types.TypeText
		return nil
	}
	if err := toTime(c, 0, true); err != nil {
		return err
	}
	if c.Args[0].Type().Kind == types.Date {
		if intervalCalendarOnly(c.Args[1]) {
			c.Typ = types.TypeDate
			return nil
		}
		c.Args[0] = coerceKind(c.Args[0], types.TypeTimestamp)
	}
	c.Typ = c.Args[0].Type()
	if c.Typ.Precision == 0 {
		// Adding a sub-second interval needs the fraction.
		c.Typ.Precision = 6
	}
	return nil
}

// addMonths moves a civil date by n months, clamping the day to the end
// of the month (MySQL: 2020-01-31 + 1 MONTH = 2020-02-29).
func addMonths(t time.Time, n int64) time.Time {
	y, m, d := t.Date()
	total := int64(y)*12 + int64(m-1) + n
	ny, nm := int(floorDiv(total, 12)), time.Month(total-floorDiv(total, 12)*12+1)
	last := time.Date(ny, nm+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if d > last {
		d = last
	}
	return time.Date(ny, nm, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// addInterval adds months and microseconds to a timestamp. A result
// outside MySQL's range ('0001-01-01' to '9999-12-31 23:59:59.999999';
// a whole number of months may reach year 0) is NULL with MySQL's
// warning, as DATE_ADD('9999-12-31', INTERVAL 1 DAY) is.
func addInterval(micros, months, us int64) (int64, error) {
	lo := minDateDays * microsPerDay
	if months != 0 {
		if months > 12*10000 || months < -12*10000 {
			return 0, errDatetimeOverflow()
		}
		t := addMonths(time.UnixMicro(micros).UTC(), months)
		if t.Year() < 0 || t.Year() > 9999 {
			return 0, errDatetimeOverflow()
		}
		micros = t.UnixMicro()
	}
	if us != 0 {
		lo = year1Days * microsPerDay
	}
	r := micros + us
	if (us > 0 && r < micros) || (us < 0 && r > micros) || r < lo || r >= (maxDateDays+1)*microsPerDay {
		return 0, errDatetimeOverflow()
	}
	return r, nil
}

func errDatetimeOverflow() error {
	return warnf(types.Null, sqlerr.DatetimeFieldOverflow, "Datetime function: datetime field overflow")
}

// intervalParts reads an interval to add with sign (-1 for DATE_SUB); the
// most negative microsecond count has no negation and overflows.
func intervalParts(iv types.Value, sign int64) (int64, int64, error) {
	m, us := iv.IntervalParts()
	if sign < 0 {
		if us == math.MinInt64 {
			return 0, 0, errDatetimeOverflow()
		}
		m, us = -m, -us
	}
	return m, us, nil
}

func compileDateAdd(sign int64) func(*Call, []Func) (Func, error) {
	return func(c *Call, args []Func) (Func, error) {
		if c.Typ.Kind == types.String {
			return warnable(null2(args[0], args[1], func(x, iv types.Value) (types.Value, error) {
				m, us, err := intervalParts(iv, sign)
				if err != nil {
					return types.Null, err
				}
				ts, hasTime, ok := parseDatetime(x.Str())
				if !ok {
					return types.Null, badDatetime(x.Str())
				}
				r, err := addInterval(ts, m, us)
				if err != nil {
					return types.Null, err
				}
				if hasTime {
					return types.NewString(types.FormatTimestamp(r)), nil
				}
				return types.NewString(time.UnixMicro(r).UTC().Format("2006-01-02")), nil
			})), nil
		}
		isDate := c.Typ.Kind == types.Date
		a, b := args[0], args[1]
		// One closure, no wrappers: this is a view's per-row path.
		return func(row types.Row, env *Env) (types.Value, error) {
			x, err := a(row, env)
			if err != nil || x.IsNull() {
				return types.Null, err
			}
			iv, err := b(row, env)
			if err != nil || iv.IsNull() {
				return types.Null, err
			}
			m, us, err := intervalParts(iv, sign)
			if err != nil {
				return warnNull(err, env)
			}
			if isDate {
				r, err := addInterval(x.Days()*microsPerDay, m, us)
				if err != nil {
					return warnNull(err, env)
				}
				return types.NewDate(floorDiv(r, microsPerDay)), nil
			}
			r, err := addInterval(x.Micros(), m, us)
			if err != nil {
				return warnNull(err, env)
			}
			return types.NewTimestamp(r), nil
		}, nil
	}
}

// ---- TIMESTAMPDIFF, EXTRACT, DATE ----

func checkTimestampDiff(c *Call) error {
	if _, ok := unitParts[c.Unit]; !ok || strings.Contains(c.Unit, "_") {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "timestampdiff: invalid unit %q", c.Unit)
	}
	for i := range c.Args {
		if err := toTime(c, i, false); err != nil {
			return err
		}
	}
	c.Typ = types.TypeBigInt
	return nil
}

func compileTimestampDiff(c *Call, args []Func) (Func, error) {
	months, micros := unitSize(c.Unit)
	return null2(args[0], args[1], func(a, b types.Value) (types.Value, error) {
		if months == 0 {
			return types.NewInt((b.Micros() - a.Micros()) / micros), nil
		}
		ta, tb := a.Time(), b.Time()
		diff := int64(tb.Year()-ta.Year())*12 + int64(tb.Month()-ta.Month())
		// A month counts only once its day and time of day are reached.
		restA := a.Micros() - time.Date(ta.Year(), ta.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMicro()
		restB := b.Micros() - time.Date(tb.Year(), tb.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMicro()
		if diff > 0 && restB < restA {
			diff--
		} else if diff < 0 && restB > restA {
			diff++
		}
		return types.NewInt(diff / months), nil
	}), nil
}

var extractUnits = map[string]bool{
	"YEAR": true, "QUARTER": true, "MONTH": true, "WEEK": true, "DAY": true, "HOUR": true,
	"MINUTE": true, "SECOND": true, "MICROSECOND": true, "EPOCH": true, "DOW": true, "DOY": true,
}

func checkExtract(c *Call) error {
	if _, ok := unitParts[c.Unit]; !ok && !extractUnits[c.Unit] {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "extract: invalid unit %q", c.Unit)
	}
	c.Typ = types.TypeBigInt
	if c.Args[0].Type().Kind == types.Interval {
		// A TIME has hours (any number of them) and what is below.
		for _, p := range unitParts[c.Unit] {
			if p != "HOUR" && p != "MINUTE" && p != "SECOND" && p != "MICROSECOND" {
				return mismatch("extract: a TIME has no %s", p)
			}
		}
		return nil
	}
	if k := c.Args[0].Type().Kind; extractReadsTime(c.Unit) && !isTimeKind(k) {
		// MySQL reads text and numbers as a TIME for these units
		// (Item_extract's date_value is false): EXTRACT(MINUTE FROM
		// '2024-01-05') is 20, 2024 read as 00:20:24.
		switch {
		case k == types.Bool:
			c.Args[0] = coerceKind(c.Args[0], types.TypeBigInt)
		case isNumericKind(k):
		case isStringKind(k) || k == types.Unknown:
			c.Args[0] = coerceKind(c.Args[0], types.TypeText)
		default:
			return mismatch("function extract(%s) does not exist", c.Args[0].Type())
		}
		return nil
	}
	return toTime(c, 0, false)
}

// extractReadsTime reports whether EXTRACT's unit reads its argument as a
// TIME: every unit but YEAR, YEAR_MONTH, QUARTER, MONTH, WEEK and DAY (and
// Postgres's EPOCH, DOW, DOY), as MySQL's Item_extract.
func extractReadsTime(unit string) bool {
	switch unit {
	case "YEAR", "YEAR_MONTH", "QUARTER", "MONTH", "WEEK", "DAY", "EPOCH", "DOW", "DOY":
		return false
	}
	return true
}

// timeFields is EXTRACT's compound of a TIME's fields: hours are all of
// them and its day is 0 (MySQL's TIME has no day of its own); the sign
// applies to the whole.
func timeFields(us int64, parts []string) int64 {
	a := abs64(us)
	var out int64
	for i, p := range parts {
		var f int64
		switch p {
		case "DAY":
		case "HOUR":
			f = a / microsPerHour
		case "MINUTE":
			f = a / microsPerMinute % 60
		case "SECOND":
			f = a / microsPerSecond % 60
		default:
			f = a % microsPerSecond
		}
		if i > 0 {
			if p == "MICROSECOND" {
				out *= 1e6
			} else {
				out *= 100
			}
		}
		out += f
	}
	if us < 0 {
		out = -out
	}
	return out
}

func extractField(t time.Time, us int64, u string) int64 {
	switch u {
	case "YEAR":
		return int64(t.Year())
	case "QUARTER":
		return int64(t.Month()-1)/3 + 1
	case "MONTH":
		return int64(t.Month())
	case "WEEK":
		// MySQL's week mode 0: weeks start on Sunday; days before the
		// year's first Sunday are week 0.
		jan1 := time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		firstSunday := (7 - int(jan1.Weekday())) % 7
		yd := t.YearDay() - 1
		if yd < firstSunday {
			return 0
		}
		return int64((yd-firstSunday)/7 + 1)
	case "DAY":
		return int64(t.Day())
	case "HOUR":
		return int64(t.Hour())
	case "MINUTE":
		return int64(t.Minute())
	case "SECOND":
		return int64(t.Second())
	case "MICROSECOND":
		return int64(t.Nanosecond() / 1000)
	case "EPOCH":
		return floorDiv(us, microsPerSecond)
	case "DOW":
		return int64(t.Weekday())
	case "DOY":
		return int64(t.YearDay())
	}
	return 0
}

func compileExtract(c *Call, args []Func) (Func, error) {
	parts := unitParts[c.Unit]
	if parts == nil {
		parts = []string{c.Unit}
	}
	if c.Args[0].Type().Kind == types.Interval {
		return null1(args[0], func(v types.Value) (types.Value, error) {
			_, us := v.IntervalParts()
			return types.NewInt(timeFields(us, parts)), nil
		}), nil
	}
	if k := c.Args[0].Type().Kind; isStringKind(k) || isNumericKind(k) {
		// Read as a TIME (checkExtract): a datetime stays one.
		return timeArgFunc(args[0], func(us int64, datetime bool) types.Value {
			if datetime {
				return types.NewInt(datetimeFields(us, parts))
			}
			return types.NewInt(timeFields(us, parts))
		}), nil
	}
	return null1(args[0], func(v types.Value) (types.Value, error) {
		return types.NewInt(datetimeFields(v.Micros(), parts)), nil
	}), nil
}

// datetimeFields is EXTRACT's compound of a datetime's fields: DAY_HOUR
// of the 3rd at 14h is 314.
func datetimeFields(us int64, parts []string) int64 {
	t := time.UnixMicro(us).UTC()
	var out int64
	for i, p := range parts {
		f := extractField(t, us, p)
		if i > 0 {
			if p == "MICROSECOND" {
				out *= 1e6
			} else {
				out *= 100
			}
		}
		out += f
	}
	return out
}

func checkDate(c *Call) error {
	if err := toTime(c, 0, true); err != nil {
		return err
	}
	c.Args[0] = coerceKind(c.Args[0], types.TypeDate)
	c.Typ = types.TypeDate
	return nil
}

func compileDate(_ *Call, args []Func) (Func, error) { return args[0], nil }

// ---- DATE_FORMAT, UNIX_TIMESTAMP, FROM_UNIXTIME ----

func checkDateFormat(c *Call) error {
	if err := toTime(c, 0, false); err != nil {
		return err
	}
	c.Args[1] = coerceKind(c.Args[1], types.TypeText)
	c.Typ = types.TypeText
	return nil
}

func compileDateFormat(_ *Call, args []Func) (Func, error) {
	return null2(args[0], args[1], func(v, f types.Value) (types.Value, error) {
		return types.NewString(dateFormat(v.Time(), f.Str())), nil
	}), nil
}

// dateFormat implements MySQL's DATE_FORMAT specifiers (English names).
func dateFormat(t time.Time, f string) string {
	var b strings.Builder
	two := func(n int) {
		if n < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(n))
	}
	hour12 := func() int {
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		return h
	}
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'b':
			b.WriteString(t.Month().String()[:3])
		case 'c':
			b.WriteString(strconv.Itoa(int(t.Month())))
		case 'D':
			d := t.Day()
			b.WriteString(strconv.Itoa(d))
			switch {
			case d/10 == 1:
				b.WriteString("th")
			case d%10 == 1:
				b.WriteString("st")
			case d%10 == 2:
				b.WriteString("nd")
			case d%10 == 3:
				b.WriteString("rd")
			default:
				b.WriteString("th")
			}
		case 'd':
			two(t.Day())
		case 'e':
			b.WriteString(strconv.Itoa(t.Day()))
		case 'f':
			s := strconv.Itoa(t.Nanosecond() / 1000)
			b.WriteString(strings.Repeat("0", 6-len(s)) + s)
		case 'H':
			two(t.Hour())
		case 'h', 'I':
			two(hour12())
		case 'i':
			two(t.Minute())
		case 'j':
			s := strconv.Itoa(t.YearDay())
			b.WriteString(strings.Repeat("0", 3-len(s)) + s)
		case 'k':
			b.WriteString(strconv.Itoa(t.Hour()))
		case 'l':
			b.WriteString(strconv.Itoa(hour12()))
		case 'M':
			b.WriteString(t.Month().String())
		case 'm':
			two(int(t.Month()))
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'r':
			two(hour12())
			b.WriteByte(':')
			two(t.Minute())
			b.WriteByte(':')
			two(t.Second())
			if t.Hour() < 12 {
				b.WriteString(" AM")
			} else {
				b.WriteString(" PM")
			}
		case 'S', 's':
			two(t.Second())
		case 'T':
			two(t.Hour())
			b.WriteByte(':')
			two(t.Minute())
			b.WriteByte(':')
			two(t.Second())
		case 'U', 'u', 'V', 'v':
			w, _ := calcWeek(t, formatWeekMode(f[i]))
			two(w)
		case 'X', 'x':
			_, y := calcWeek(t, formatWeekMode(f[i]))
			s := strconv.Itoa(y)
			b.WriteString(strings.Repeat("0", max(0, 4-len(s))) + s)
		case 'W':
			b.WriteString(t.Weekday().String())
		case 'w':
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		case 'Y':
			s := strconv.Itoa(t.Year())
			b.WriteString(strings.Repeat("0", max(0, 4-len(s))) + s)
		case 'y':
			two(t.Year() % 100)
		default:
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

func checkUnixTimestamp(c *Call) error {
	c.Typ = types.TypeBigInt
	if len(c.Args) == 0 {
		return nil
	}
	if k := c.Args[0].Type().Kind; k == types.Int || k == types.Bool {
		// A number without a fraction (20240101) gives whole seconds.
		c.Args[0] = coerceKind(c.Args[0], types.Type{Kind: types.Timestamp})
	}
	if k, ok := c.Args[0].(*Const); ok && k.Value.Kind() == types.String && !strings.Contains(k.Value.Str(), ".") {
		// A constant without a fraction gives whole seconds, as MySQL.
		c.Args[0] = coerceKind(c.Args[0], types.Type{Kind: types.Timestamp})
	}
	if err := toTime(c, 0, true); err != nil {
		return err
	}
	t := c.Args[0].Type()
	if t.Kind == types.Timestamp && t.Precision > 0 {
		c.Typ = types.DecimalType(14+t.Precision, t.Precision)
	}
	return nil
}

// maxUnixSeconds is the last second UNIX_TIMESTAMP and FROM_UNIXTIME
// take: '3001-01-19 03:14:07.999999' UTC (MySQL 8 on 64-bit platforms).
const maxUnixSeconds = 32536771199

// unixRange reports whether a timestamp is one UNIX_TIMESTAMP answers
// for; outside it MySQL answers 0.
func unixRange(us int64) bool { return us >= 0 && us < (maxUnixSeconds+1)*microsPerSecond }

func compileUnixTimestamp(c *Call, args []Func) (Func, error) {
	if len(args) == 0 {
		return func(_ types.Row, env *Env) (types.Value, error) {
			return types.NewInt(floorDiv(env.Now, microsPerSecond)), nil
		}, nil
	}
	if c.Args[0].Type().Kind == types.Date {
		return null1(args[0], func(v types.Value) (types.Value, error) {
			if !unixRange(v.Days() * microsPerDay) {
				return types.NewInt(0), nil
			}
			return types.NewInt(v.Days() * 86400), nil
		}), nil
	}
	if c.Typ.Kind == types.Int {
		return null1(args[0], func(v types.Value) (types.Value, error) {
			if !unixRange(v.Micros()) {
				return types.NewInt(0), nil
			}
			return types.NewInt(floorDiv(v.Micros(), microsPerSecond)), nil
		}), nil
	}
	scale := c.Typ.Scale
	return null1(args[0], func(v types.Value) (types.Value, error) {
		us := v.Micros()
		if !unixRange(us) {
			us = 0
		}
		sec, frac := floorDiv(us, microsPerSecond), us-floorDiv(us, microsPerSecond)*microsPerSecond
		fs := strconv.FormatInt(frac+microsPerSecond, 10)[1:] // six digits
		return decimalRound(types.NewDecimal(strconv.FormatInt(sec, 10)+"."+fs), scale, decCtx.Rounding)
	}), nil
}

func checkFromUnixtime(c *Call) error {
	k := c.Args[0].Type().Kind
	if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
		return mismatch("function from_unixtime(%s) does not exist", c.Args[0].Type())
	}
	if k == types.Int || k == types.Bool {
		c.Args[0] = coerceKind(c.Args[0], types.TypeBigInt)
		c.Typ = types.Type{Kind: types.Timestamp}
	} else {
		c.Args[0] = coerceKind(c.Args[0], types.DecimalType(maxDecimalDigits, 6))
		c.Typ = types.TypeTimestamp
	}
	if len(c.Args) == 2 {
		c.Args[1] = coerceKind(c.Args[1], types.TypeText)
		c.Typ = types.TypeText
	}
	return nil
}

func compileFromUnixtime(c *Call, args []Func) (Func, error) {
	exact := c.Args[0].Type().Kind == types.Int
	toTS := func(v types.Value) (types.Value, error) {
		var us int64
		if exact {
			if v.Int() < 0 || v.Int() > maxUnixSeconds {
				return types.Null, nil
			}
			us = v.Int() * microsPerSecond
		} else {
			f := decimalToFloat(v)
			if f < 0 || f >= maxUnixSeconds+1 {
				return types.Null, nil
			}
			us = int64(math.Round(f * 1e6))
		}
		return types.NewTimestamp(us), nil
	}
	if len(args) == 1 {
		return null1(args[0], toTS), nil
	}
	return null2(args[0], args[1], func(v, f types.Value) (types.Value, error) {
		ts, err := toTS(v)
		if err != nil || ts.IsNull() {
			return ts, err
		}
		return types.NewString(dateFormat(ts.Time(), f.Str())), nil
	}), nil
}

// checkDateTrunc types Postgres's DATE_TRUNC(unit, t): a TIMESTAMP (a DATE
// or text is read as one).
func checkDateTrunc(c *Call) error {
	c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	if err := toTime(c, 1, false); err != nil {
		return err
	}
	c.Typ = types.TypeTimestamp
	return nil
}

// truncUnits are DATE_TRUNC's units, singular and plural as Postgres takes
// them.
var truncUnits = map[string]string{
	"microsecond": "microsecond", "microseconds": "microsecond", "millisecond": "millisecond",
	"milliseconds": "millisecond", "second": "second", "seconds": "second", "minute": "minute",
	"minutes": "minute", "hour": "hour", "hours": "hour", "day": "day", "days": "day",
	"week": "week", "weeks": "week", "month": "month", "months": "month", "quarter": "quarter",
	"quarters": "quarter", "year": "year", "years": "year", "decade": "decade", "decades": "decade",
	"century": "century", "centuries": "century", "millennium": "millennium", "millennia": "millennium",
}

func compileDateTrunc(c *Call, args []Func) (Func, error) {
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		unit, ok := truncUnits[strings.ToLower(strings.TrimSpace(vs[0].Str()))]
		if !ok {
			return types.Null, sqlerr.Newf(sqlerr.InvalidParameterValue, "unit %q not recognized for type timestamp", vs[0].Str()).At(c.Pos)
		}
		return types.NewTimestamp(truncMicros(vs[1].Micros(), unit)), nil
	}), nil
}

// truncMicros truncates a timestamp (microseconds since the epoch, UTC) to
// the start of its unit. Weeks start on Monday; centuries and millennia on
// their year 1 (2001-01-01 starts the 21st century), as in Postgres.
func truncMicros(us int64, unit string) int64 {
	fixed := map[string]int64{"microsecond": 1, "millisecond": 1000, "second": microsPerSecond,
		"minute": microsPerMinute, "hour": microsPerHour, "day": microsPerDay}
	if n, ok := fixed[unit]; ok {
		return floorDiv(us, n) * n
	}
	day := floorDiv(us, microsPerDay)
	if unit == "week" {
		// 1970-01-01 was a Thursday, three days after a Monday.
		return (day - ((day+3)%7+7)%7) * microsPerDay
	}
	t := time.UnixMicro(us).UTC()
	y, m := t.Year(), t.Month()
	switch unit {
	case "month":
	case "quarter":
		m = (m-1)/3*3 + 1
	case "year":
		m = 1
	case "decade":
		y, m = floorDivInt(y, 10)*10, 1
	case "century":
		y, m = floorDivInt(y-1, 100)*100+1, 1
	case "millennium":
		y, m = floorDivInt(y-1, 1000)*1000+1, 1
	}
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
}

func floorDivInt(a, b int) int { return int(floorDiv(int64(a), int64(b))) }

// checkPgTime types a Postgres cast to TIME ('10:00'::time): the time of
// day as TEXT 'HH:MM:SS[.ffffff]', Postgres's rules (24:00:00 is the end
// of the day, 25:00 is an error). MySQL's TIME(x) and CAST(x AS TIME) are
// "time", in timefuncs.go.
func checkPgTime(c *Call) error {
	k := c.Args[0].Type().Kind
	switch {
	case k == types.Timestamp || k == types.Date:
		c.Args[0] = coerceKind(c.Args[0], types.TypeTimestamp)
	case isStringKind(k) || k == types.Unknown:
		c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	default:
		return mismatch("cannot cast %s to time", c.Args[0].Type())
	}
	c.Typ = types.TypeText
	return nil
}

func compilePgTime(c *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		if v.Kind() == types.Timestamp {
			return types.NewString(clockText(floorMod(v.Micros(), microsPerDay))), nil
		}
		us, ok := parseTimeOfDay(strings.TrimSpace(v.Str()))
		if !ok {
			return types.Null, sqlerr.Newf(sqlerr.InvalidDatetimeFormat, "invalid input syntax for type time: %q", v.Str()).At(c.Pos)
		}
		return types.NewString(clockText(us)), nil
	}), nil
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// parseTimeOfDay reads HH:MM[:SS[.ffffff]], optionally after a date (the
// text of a timestamp) and before a zone offset, which a time of day
// ignores as Postgres's TIME does. 24:00:00 is the end of the day.
func parseTimeOfDay(s string) (int64, bool) {
	if i := strings.IndexAny(s, " T"); i >= 0 && strings.Contains(s[:i], "-") {
		s = strings.TrimSpace(s[i+1:])
	}
	if i := strings.IndexAny(s, "+-Z"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	num := func(p string, limit int64) (int64, bool) {
		if len(p) == 0 || len(p) > 2 {
			return 0, false
		}
		n, err := strconv.ParseInt(p, 10, 64)
		return n, err == nil && n >= 0 && n <= limit
	}
	h, ok1 := num(parts[0], 24)
	m, ok2 := num(parts[1], 59)
	if !ok1 || !ok2 {
		return 0, false
	}
	var sec, frac int64
	if len(parts) == 3 {
		whole, f, hasFrac := strings.Cut(parts[2], ".")
		var ok bool
		if sec, ok = num(whole, 59); !ok {
			return 0, false
		}
		if hasFrac {
			if f == "" || len(f) > 6 || strings.Trim(f, "0123456789") != "" {
				return 0, false
			}
			frac, _ = strconv.ParseInt((f + "000000")[:6], 10, 64)
		}
	}
	us := h*microsPerHour + m*microsPerMinute + sec*microsPerSecond + frac
	if us > microsPerDay {
		return 0, false
	}
	return us, true
}

// clockText renders a time of day as Postgres prints a TIME.
func clockText(us int64) string {
	s := us / microsPerSecond
	out := fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	if f := us % microsPerSecond; f != 0 {
		out += strings.TrimRight(fmt.Sprintf(".%06d", f), "0")
	}
	return out
}
