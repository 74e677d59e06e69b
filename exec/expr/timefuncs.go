package expr

import (
	"math"
	"strconv"
	"strings"
	"time"
	// CONVERT_TZ's named zones come from the binary, not the host.
	_ "time/tzdata"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// MySQL's TIME type ('-838:59:59' to '838:59:59', a time of day or a
// duration) is an INTERVAL of microseconds without months here: it prints
// as MySQL prints a TIME ('26:00:00', '-01:30:00') and compares and adds
// as one, without a new type that the wire, the state encoding and the
// catalogs would each have to learn.

// maxTimeMicros is MySQL's largest TIME, 838:59:59.
const maxTimeMicros = (838*3600 + 59*60 + 59) * 1_000_000

// clampTime keeps a TIME in MySQL's range, with its warning.
func clampTime(us int64, orig string) (types.Value, error) {
	if us > maxTimeMicros || us < -maxTimeMicros {
		c := int64(maxTimeMicros)
		if us < 0 {
			c = -c
		}
		return types.Null, warnf(types.NewInterval(0, c), sqlerr.NumericValueOutOfRange, "Truncated incorrect time value: '%s'", orig)
	}
	return types.NewInterval(0, us), nil
}

func registerTimeFuncs() {
	register("utc_timestamp", &builtin{minArgs: 0, maxArgs: 1, check: checkNow, compile: compileNow})
	register("utc_date", &builtin{minArgs: 0, maxArgs: 0, check: setType(types.TypeDate), compile: compileCurdate})
	register("curtime current_time utc_time", &builtin{minArgs: 0, maxArgs: 1, check: checkCurtime, compile: compileCurtime})
	register("datediff", &builtin{minArgs: 2, maxArgs: 2, check: checkDatediff, compile: compileDatediff})
	register("timediff", &builtin{minArgs: 2, maxArgs: 2, check: checkTimediff, compile: compileTimediff})
	register("last_day", &builtin{minArgs: 1, maxArgs: 1, check: checkDatePart(types.TypeDate), compile: compileLastDay})
	for _, name := range []string{"dayofweek", "weekday", "dayofmonth day", "dayofyear", "month", "year", "quarter"} {
		register(name, &builtin{minArgs: 1, maxArgs: 1, check: checkDatePart(types.TypeBigInt), compile: compileDatePart})
	}
	register("dayname monthname", &builtin{minArgs: 1, maxArgs: 1, check: checkDatePart(types.TypeText), compile: compileDatePart})
	register("week", &builtin{minArgs: 1, maxArgs: 2, check: checkWeek, compile: compileWeek})
	register("yearweek", &builtin{minArgs: 1, maxArgs: 2, check: checkWeek, compile: compileWeek})
	register("weekofyear", &builtin{minArgs: 1, maxArgs: 1, check: checkWeek, compile: compileWeek})
	register("hour minute second microsecond", &builtin{minArgs: 1, maxArgs: 1, check: checkTimePart, compile: compileTimePart})
	register("time_to_sec", &builtin{minArgs: 1, maxArgs: 1, check: checkTimePart, compile: compileTimePart})
	register("sec_to_time", &builtin{minArgs: 1, maxArgs: 1, check: checkSecToTime, compile: compileSecToTime})
	register("maketime", &builtin{minArgs: 3, maxArgs: 3, check: checkMaketime, compile: compileMaketime})
	register("makedate", &builtin{minArgs: 2, maxArgs: 2, check: checkIntArgs(types.TypeDate), compile: compileMakedate})
	register("to_days", &builtin{minArgs: 1, maxArgs: 1, check: checkDatePart(types.TypeBigInt), compile: compileDatePart})
	register("to_seconds", &builtin{minArgs: 1, maxArgs: 1, check: checkToSeconds, compile: compileToSeconds})
	register("from_days", &builtin{minArgs: 1, maxArgs: 1, check: checkIntArgs(types.TypeDate), compile: compileFromDays})
	register("period_add period_diff", &builtin{minArgs: 2, maxArgs: 2, check: checkIntArgs(types.TypeBigInt), compile: compilePeriod})
	register("str_to_date", &builtin{minArgs: 2, maxArgs: 2, check: checkStrToDate, compile: compileStrToDate})
	register("convert_tz", &builtin{minArgs: 3, maxArgs: 3, check: checkConvertTz, compile: compileConvertTz})
}

// ---- weeks ----

// MySQL's week behaviour bits (sql_time.cc): weeks start on Monday; week
// numbers run 1-53 across year ends (a week may belong to the year
// before); week 1 is the first week with the first day of the week in it
// (otherwise the first with four days or more in the year).
const (
	weekMondayFirst  = 1
	weekYear         = 2
	weekFirstWeekday = 4
)

// weekMode turns WEEK()'s mode argument into week behaviour bits.
func weekMode(mode int64) int {
	b := int(mode & 7)
	if b&weekMondayFirst == 0 {
		b ^= weekFirstWeekday
	}
	return b
}

func daysInYear(y int) int {
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 366
	}
	return 365
}

// calcWeek is MySQL's week number of t under behaviour b, and the year
// the week belongs to.
func calcWeek(t time.Time, b int) (int, int) {
	year := t.Year()
	daynr := int(civilDays(year, int(t.Month()), t.Day()))
	first := int(civilDays(year, 1, 1))
	mondayFirst := b&weekMondayFirst != 0
	wYear := b&weekYear != 0
	firstWeekday := b&weekFirstWeekday != 0
	wd := int(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Weekday()) // 0 = Sunday
	weekday := wd
	if mondayFirst {
		weekday = (wd + 6) % 7
	}
	if t.Month() == 1 && t.Day() <= 7-weekday {
		if !wYear && ((firstWeekday && weekday != 0) || (!firstWeekday && weekday >= 4)) {
			return 0, year
		}
		wYear = true
		year--
		days := daysInYear(year)
		first -= days
		weekday = (weekday + 53*7 - days) % 7
	}
	var days int
	if (firstWeekday && weekday != 0) || (!firstWeekday && weekday >= 4) {
		days = daynr - (first + 7 - weekday)
	} else {
		days = daynr - (first - weekday)
	}
	if wYear && days >= 52*7 {
		weekday = (weekday + daysInYear(year)) % 7
		if (!firstWeekday && weekday < 4) || (firstWeekday && weekday == 0) {
			return 1, year + 1
		}
	}
	return days/7 + 1, year
}

// formatWeekMode is the behaviour of DATE_FORMAT's week specifiers.
func formatWeekMode(spec byte) int {
	switch spec {
	case 'U':
		return weekFirstWeekday
	case 'u':
		return weekMondayFirst
	case 'V', 'X':
		return weekYear | weekFirstWeekday
	}
	return weekMondayFirst | weekYear // 'v', 'x'
}

func checkWeek(c *Call) error {
	if err := toTime(c, 0, false); err != nil {
		return err
	}
	if len(c.Args) == 2 {
		if err := checkIntArg(c, 1); err != nil {
			return err
		}
	}
	c.Typ = types.TypeBigInt
	return nil
}

func compileWeek(c *Call, args []Func) (Func, error) {
	name := c.Name
	week := func(v types.Value, mode int64) (types.Value, error) {
		t := v.Time()
		switch name {
		case "weekofyear":
			w, _ := calcWeek(t, weekMode(3))
			return types.NewInt(int64(w)), nil
		case "yearweek":
			w, y := calcWeek(t, weekMode(mode)|weekYear)
			return types.NewInt(int64(y)*100 + int64(w)), nil
		}
		w, _ := calcWeek(t, weekMode(mode))
		return types.NewInt(int64(w)), nil
	}
	if len(args) == 1 {
		// default_week_format is 0.
		return null1(args[0], func(v types.Value) (types.Value, error) { return week(v, 0) }), nil
	}
	// MySQL reads a NULL mode as 0 (val_int of NULL): WEEK(d, NULL) is WEEK(d, 0).
	date, modeArg := args[0], args[1]
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := date(row, env)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		m, err := modeArg(row, env)
		if err != nil {
			return types.Null, err
		}
		var mode int64
		if !m.IsNull() {
			mode = m.Int()
		}
		return week(v, mode)
	}, nil
}

// ---- parts of a date ----

func checkIntArg(c *Call, i int) error {
	k := c.Args[i].Type().Kind
	if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
		return mismatch("function %s(%s) does not exist", c.Name, argTypes(c.Args))
	}
	c.Args[i] = coerceKind(c.Args[i], types.TypeBigInt)
	return nil
}

func checkIntArgs(t types.Type) func(*Call) error {
	return func(c *Call) error {
		for i := range c.Args {
			if err := checkIntArg(c, i); err != nil {
				return err
			}
		}
		c.Typ = t
		return nil
	}
}

// checkDatePart types a function of a date: the argument is read as a
// DATE (a datetime's date, text or a number in MySQL's forms).
func checkDatePart(t types.Type) func(*Call) error {
	return func(c *Call) error {
		if err := toTime(c, 0, true); err != nil {
			return err
		}
		c.Args[0] = coerceKind(c.Args[0], types.TypeDate)
		c.Typ = t
		return nil
	}
}

// daysToYear0 is TO_DAYS('1970-01-01'): MySQL counts days from year 0.
const daysToYear0 = 719528

func compileDatePart(c *Call, args []Func) (Func, error) {
	var f func(d int64, t time.Time) types.Value
	switch c.Name {
	case "dayofweek":
		f = func(_ int64, t time.Time) types.Value { return types.NewInt(int64(t.Weekday()) + 1) }
	case "weekday":
		f = func(_ int64, t time.Time) types.Value { return types.NewInt((int64(t.Weekday()) + 6) % 7) }
	case "dayofmonth", "day":
		f = func(_ int64, t time.Time) types.Value { return types.NewInt(int64(t.Day())) }
	case "dayofyear":
		f = func(_ int64, t time.Time) types.Value { return types.NewInt(int64(t.YearDay())) }
	case "month":
		f = func(_ int64, t time.Time) types.Value { return types.NewInt(int64(t.Month())) }
	case "year":
		f = func(_ int64, t time.Time) types.Value { return types.NewInt(int64(t.Year())) }
	case "quarter":
		f = func(_ int64, t time.Time) types.Value { return types.NewInt(int64(t.Month()+2) / 3) }
	case "dayname":
		f = func(_ int64, t time.Time) types.Value { return types.NewString(t.Weekday().String()) }
	case "monthname":
		f = func(_ int64, t time.Time) types.Value { return types.NewString(t.Month().String()) }
	case "to_days":
		f = func(d int64, _ time.Time) types.Value { return types.NewInt(d + daysToYear0) }
	default:
		return nil, sqlerr.Newf(sqlerr.Internal, "no date part %s", c.Name)
	}
	return null1(args[0], func(v types.Value) (types.Value, error) {
		d := v.Days()
		return f(d, time.Unix(d*86400, 0).UTC()), nil
	}), nil
}

func compileLastDay(_ *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		t := time.Unix(v.Days()*86400, 0).UTC()
		return types.NewDate(civilDays(t.Year(), int(t.Month())+1, 0)), nil
	}), nil
}

func checkToSeconds(c *Call) error {
	if err := toTime(c, 0, false); err != nil {
		return err
	}
	c.Typ = types.TypeBigInt
	return nil
}

func compileToSeconds(_ *Call, args []Func) (Func, error) {
	return null1(args[0], func(v types.Value) (types.Value, error) {
		return types.NewInt(floorDiv(v.Micros(), microsPerSecond) + daysToYear0*86400), nil
	}), nil
}

func compileFromDays(_ *Call, args []Func) (Func, error) {
	return warnable(null1(args[0], func(v types.Value) (types.Value, error) {
		// MySQL answers '0000-00-00' below day 366, which has no DATE here.
		d := v.Int() - daysToYear0
		if v.Int() < 366 || d > maxDateDays {
			return types.Null, badDatetime(strconv.FormatInt(v.Int(), 10))
		}
		return types.NewDate(d), nil
	})), nil
}

func compileMakedate(_ *Call, args []Func) (Func, error) {
	return null2(args[0], args[1], func(y, n types.Value) (types.Value, error) {
		year, day := y.Int(), n.Int()
		if day <= 0 || year < 0 || year > 9999 {
			return types.Null, nil
		}
		if year < 100 {
			year = int64(twoDigitYear(int(year)))
		}
		if day > 366*10000 {
			return types.Null, nil
		}
		d := civilDays(int(year), 1, 1) + day - 1
		if d > maxDateDays {
			return types.Null, nil
		}
		return types.NewDate(d), nil
	}), nil
}

// PERIOD_ADD(P, N) adds N months to a period YYMM or YYYYMM;
// PERIOD_DIFF(P1, P2) is the months between two periods.
func compilePeriod(c *Call, args []Func) (Func, error) {
	months := func(p int64) int64 {
		y, m := p/100, p%100
		if y < 100 {
			y = int64(twoDigitYear(int(y)))
		}
		return y*12 + m - 1
	}
	if c.Name == "period_diff" {
		return null2(args[0], args[1], func(a, b types.Value) (types.Value, error) {
			return types.NewInt(months(a.Int()) - months(b.Int())), nil
		}), nil
	}
	return null2(args[0], args[1], func(p, n types.Value) (types.Value, error) {
		if p.Int() == 0 {
			return types.NewInt(0), nil
		}
		m := months(p.Int()) + n.Int()
		return types.NewInt(m/12*100 + m%12 + 1), nil
	}), nil
}

func checkDatediff(c *Call) error {
	for i := range c.Args {
		if err := toTime(c, i, true); err != nil {
			return err
		}
		c.Args[i] = coerceKind(c.Args[i], types.TypeDate)
	}
	c.Typ = types.TypeBigInt
	return nil
}

func compileDatediff(_ *Call, args []Func) (Func, error) {
	return null2(args[0], args[1], func(a, b types.Value) (types.Value, error) {
		return types.NewInt(a.Days() - b.Days()), nil
	}), nil
}

// ---- TIME values ----

// parseTimeText reads text as MySQL's str_to_time does: a datetime of 12
// characters or more gives itself (datetime is set; the caller takes its
// time of day where it wants a TIME); otherwise '[-][D ]HH[:MM[:SS]][.f]'
// or digits aligned from the right ('1112' is 00:11:12). What follows the
// time is dropped with trunc set ('2024-01-05' reads as 2024 = 00:20:24);
// text that starts with no time at all, or minutes or seconds of 60 and
// more, is not a TIME. The result is not yet clamped to MySQL's range.
func parseTimeText(s string) (us int64, datetime, trunc, ok bool) {
	i := 0
	for i < len(s) && isSpaceByte(s[i]) {
		i++
	}
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	if i == len(s) {
		return 0, false, false, false
	}
	if len(s)-i >= 12 {
		if dt, hasTime, tr, ok := parseDatetimeLoose(s[i:]); ok && hasTime {
			return dt, true, tr, true
		}
	}
	const maxField = math.MaxUint32
	digits := func(j int) (uint64, int) {
		var v uint64
		for ; j < len(s) && isDigitByte(s[j]); j++ {
			if v <= maxField {
				v = v*10 + uint64(s[j]-'0')
			}
		}
		return v, j
	}
	start := i
	var d [4]uint64 // days, hours, minutes, seconds
	v, j := digits(i)
	if v > maxField {
		return 0, false, false, false
	}
	endDays := j
	for j < len(s) && isSpaceByte(s[j]) {
		j++
	}
	state := 4
	switch {
	case len(s)-j > 1 && j != endDays && isDigitByte(s[j]):
		d[0], state = v, 1
	case len(s)-j > 1 && s[j] == ':' && isDigitByte(s[j+1]):
		d[1], state = v, 2
		j++
	default:
		d[1], d[2], d[3] = v/10000, v/100%100, v%100
	}
	for state < 4 {
		d[state], j = digits(j)
		state++
		if state == 4 || len(s)-j < 2 || s[j] != ':' || !isDigitByte(s[j+1]) {
			break
		}
		j++
	}
	var frac int64
	if len(s)-j >= 2 && s[j] == '.' && isDigitByte(s[j+1]) {
		k := j + 1
		for k < len(s) && isDigitByte(s[k]) {
			k++
		}
		frac, j = types.FractionMicros(s[j+1:k]), k
	} else if len(s)-j == 1 && s[j] == '.' {
		j++
	}
	if len(s)-j > 1 && s[j]|0x20 == 'e' && (isDigitByte(s[j+1]) ||
		(s[j+1] == '-' || s[j+1] == '+') && len(s)-j > 2 && isDigitByte(s[j+2])) {
		// '1e5' is a number in the wrong place, not a time.
		return 0, false, false, false
	}
	for _, f := range d {
		if f > maxField {
			return 0, false, false, false
		}
	}
	if d[2] >= 60 || d[3] >= 60 {
		return 0, false, false, false
	}
	for ; j < len(s); j++ {
		if !isSpaceByte(s[j]) {
			if j == start {
				return 0, false, false, false
			}
			trunc = true
			break
		}
	}
	// Past 838 hours the value is clamped anyway; keep the sum in range.
	hours := min(d[0]*24+d[1], 839)
	us = (int64(hours)*3600+int64(d[2])*60+int64(d[3]))*microsPerSecond + frac
	if neg {
		us = -us
	}
	return us, false, trunc, true
}

// maxTimeNumber is 838:59:59 written as a number.
const maxTimeNumber = 8385959

// numberTime reads a number as MySQL's number_to_time does: [-]HHMMSS
// with frac microseconds (of the number's sign); a number of 10^10 or
// more is a datetime (datetime set, whole). A number beyond 838:59:59
// otherwise, or with minutes or seconds of 60 and more, is not a TIME.
func numberTime(n, frac int64) (us int64, datetime, ok bool) {
	switch {
	case n > maxTimeNumber:
		if n >= 10000000000 {
			if dt, ok := numberDatetime(n, frac); ok {
				return dt, true, true
			}
		}
		return 0, false, false
	case n < -maxTimeNumber:
		return 0, false, false
	}
	neg := n < 0 || frac < 0
	n, frac = abs64(n), abs64(frac)
	if n%100 >= 60 || n/100%100 >= 60 {
		return 0, false, false
	}
	us = (n/10000*3600+n/100%100*60+n%100)*microsPerSecond + frac
	if neg {
		us = -us
	}
	return us, false, true
}

// numberParts splits a number into its integer part and its fraction in
// microseconds (rounded, with the number's sign); ok is false for a
// DOUBLE beyond BIGINT.
func numberParts(v types.Value) (n, frac int64, ok bool) {
	switch v.Kind() {
	case types.Int:
		return v.Int(), 0, true
	case types.Bool:
		if v.Bool() {
			return 1, 0, true
		}
		return 0, 0, true
	case types.Float:
		f := v.Float()
		if math.IsNaN(f) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
			return 0, 0, false
		}
		n = int64(f)
		return n, int64(math.Round((f - float64(n)) * 1e6)), true
	}
	text := v.String()
	neg := strings.HasPrefix(text, "-")
	whole, fr, _ := strings.Cut(strings.TrimPrefix(text, "-"), ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	frac = types.FractionMicros(fr)
	if neg {
		n, frac = -n, -frac
	}
	return n, frac, true
}

// badTime is MySQL's warning for a value that is no TIME or was cut to
// read as one.
func badTime(val types.Value, s string) error {
	return warnf(val, sqlerr.InvalidDatetimeFormat, "Truncated incorrect time value: '%s'", s)
}

// timeArg reads text or a number where MySQL wants a TIME (its get_time):
// the microseconds of a TIME, clamped to 838:59:59, or of a whole
// datetime (datetime set) for a datetime's text or a number of 10^10 and
// more. Warnings go to env; ok is false when v is no TIME.
func timeArg(v types.Value, env *Env) (us int64, datetime, ok bool) {
	var trunc bool
	if v.Kind() == types.String {
		us, datetime, trunc, ok = parseTimeText(v.Str())
	} else {
		n, frac, ok1 := numberParts(v)
		us, datetime, ok = numberTime(n, frac)
		ok = ok && ok1
	}
	switch {
	case !ok:
		_, _ = warnNull(badTime(types.Null, valueText(v)), env)
		return 0, false, false
	case datetime:
		if trunc {
			_, _ = warnNull(badTime(types.Null, valueText(v)), env)
		}
		return us, true, true
	case trunc || us > maxTimeMicros || us < -maxTimeMicros:
		// The text of the value only on the warned path.
		t, err := clampTime(us, valueText(v))
		if err == nil {
			err = badTime(t, valueText(v))
		}
		t, _ = warnNull(err, env)
		_, us = t.IntervalParts()
	}
	return us, false, true
}

// checkTimeOfDay types TIME(x) and CAST(x AS TIME[(fsp)]): MySQL's TIME
// of x, a time of day for a datetime, a duration for TIME text or a
// number. The cast passes fsp (0 when not written) as a second argument
// and rounds to it, as MySQL's cast does; TIME(x) keeps x's fraction.
func checkTimeOfDay(c *Call) error {
	if len(c.Args) == 2 {
		k, ok := c.Args[1].(*Const)
		if !ok || k.Value.Kind() != types.Int || k.Value.Int() < 0 || k.Value.Int() > 6 {
			return mismatch("%s: precision must be an integer constant from 0 to 6", c.Name)
		}
	}
	k := c.Args[0].Type().Kind
	switch {
	case k == types.Timestamp || k == types.Date:
		c.Args[0] = coerceKind(c.Args[0], types.TypeTimestamp)
	case k == types.Interval:
	case k == types.Bool:
		c.Args[0] = coerceKind(c.Args[0], types.TypeBigInt)
	case isNumericKind(k):
		// A number is read as a number ([-]HHMMSS), not as its text.
	case isStringKind(k) || k == types.Unknown:
		c.Args[0] = coerceKind(c.Args[0], types.TypeText)
	default:
		return mismatch("cannot cast %s to time", c.Args[0].Type())
	}
	c.Typ = types.TypeInterval
	return nil
}

func compileTimeOfDay(c *Call, args []Func) (Func, error) {
	f, err := compileTime(c, args)
	if err != nil || len(c.Args) == 1 {
		return f, err
	}
	unit := int64(math.Pow10(6 - int(c.Args[1].(*Const).Value.Int())))
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := f(row, env)
		if err != nil || v.IsNull() || unit == 1 {
			return v, err
		}
		_, us := v.IntervalParts()
		r := abs64(us) + unit/2
		r -= r % unit
		if us < 0 {
			r = -r
		}
		return types.NewInterval(0, r), nil
	}, nil
}

func compileTime(c *Call, args []Func) (Func, error) {
	switch c.Args[0].Type().Kind {
	case types.Timestamp:
		return null1(args[0], func(v types.Value) (types.Value, error) {
			return types.NewInterval(0, floorMod(v.Micros(), microsPerDay)), nil
		}), nil
	case types.Interval:
		return null1(args[0], func(v types.Value) (types.Value, error) {
			_, us := v.IntervalParts()
			return clampTime(us, v.String())
		}), nil
	}
	return timeArgFunc(args[0], func(us int64, datetime bool) types.Value {
		if datetime {
			us = floorMod(us, microsPerDay)
		}
		return types.NewInterval(0, us)
	}), nil
}

// timeArgFunc evaluates arg and reads it as a TIME (timeArg): f gets its
// microseconds and whether it read as a datetime; what does not read is
// NULL (timeArg has warned).
func timeArgFunc(arg Func, f func(us int64, datetime bool) types.Value) Func {
	return func(row types.Row, env *Env) (types.Value, error) {
		v, err := arg(row, env)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		us, datetime, ok := timeArg(v, env)
		if !ok {
			return types.Null, nil
		}
		return f(us, datetime), nil
	}
}

// asTime makes argument i a TIME unless it is a date or datetime.
func asTime(c *Call, i int) error {
	if k := c.Args[i].Type().Kind; k == types.Timestamp || k == types.Date || k == types.Interval {
		if k == types.Date {
			c.Args[i] = coerceKind(c.Args[i], types.TypeTimestamp)
		}
		return nil
	}
	t, err := NewCall("time", c.Pos, c.Args[i])
	if err != nil {
		return err
	}
	c.Args[i] = t
	return nil
}

// micros of a TIME or of a datetime's time of day.
func timeMicros(v types.Value) int64 {
	if v.Kind() == types.Interval {
		_, us := v.IntervalParts()
		return us
	}
	return floorMod(v.Micros(), microsPerDay)
}

func checkTimePart(c *Call) error {
	if err := asTime(c, 0); err != nil {
		return err
	}
	c.Typ = types.TypeBigInt
	return nil
}

func compileTimePart(c *Call, args []Func) (Func, error) {
	name := c.Name
	return null1(args[0], func(v types.Value) (types.Value, error) {
		us := timeMicros(v)
		if us < 0 {
			us = -us
		}
		switch name {
		case "hour":
			return types.NewInt(us / microsPerHour), nil
		case "minute":
			return types.NewInt(us / microsPerMinute % 60), nil
		case "second":
			return types.NewInt(us / microsPerSecond % 60), nil
		case "microsecond":
			return types.NewInt(us % microsPerSecond), nil
		}
		// time_to_sec keeps the sign and drops the fraction.
		s := us / microsPerSecond
		if timeMicros(v) < 0 {
			s = -s
		}
		return types.NewInt(s), nil
	}), nil
}

func checkSecToTime(c *Call) error {
	k := c.Args[0].Type().Kind
	if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
		return mismatch("function sec_to_time(%s) does not exist", c.Args[0].Type())
	}
	c.Args[0] = coerceKind(c.Args[0], types.DecimalType(maxDecimalDigits, 6))
	c.Typ = types.TypeInterval
	return nil
}

func compileSecToTime(_ *Call, args []Func) (Func, error) {
	return warnable(null1(args[0], func(v types.Value) (types.Value, error) {
		f := decimalToFloat(v)
		us := math.Round(f * 1e6)
		if math.Abs(us) > maxTimeMicros {
			return clampTime(int64(math.Copysign(maxTimeMicros+1, us)), v.String())
		}
		return types.NewInterval(0, int64(us)), nil
	})), nil
}

func checkMaketime(c *Call) error {
	for i := 0; i < 2; i++ {
		if err := checkIntArg(c, i); err != nil {
			return err
		}
	}
	c.Args[2] = coerceKind(c.Args[2], types.DecimalType(maxDecimalDigits, 6))
	c.Typ = types.TypeInterval
	return nil
}

func compileMaketime(_ *Call, args []Func) (Func, error) {
	return warnable(nullN(args, func(vs []types.Value) (types.Value, error) {
		h, m, s := vs[0].Int(), vs[1].Int(), decimalToFloat(vs[2])
		if m < 0 || m > 59 || s < 0 || s >= 60 {
			return types.Null, nil
		}
		if h > 838 || h < -838 {
			return clampTime(int64(math.Copysign(maxTimeMicros+1, float64(h))), strconv.FormatInt(h, 10))
		}
		us := (abs64(h)*3600+m*60)*microsPerSecond + int64(math.Round(s*1e6))
		if h < 0 {
			us = -us
		}
		return clampTime(us, strconv.FormatInt(h, 10))
	})), nil
}

func checkCurtime(c *Call) error {
	if err := checkNow(c); err != nil {
		return err
	}
	c.Typ = types.TypeInterval
	return nil
}

func compileCurtime(c *Call, _ []Func) (Func, error) {
	p := 0
	if len(c.Args) == 1 {
		p = int(c.Args[0].(*Const).Value.Int())
	}
	unit := int64(math.Pow10(6 - p))
	return func(_ types.Row, env *Env) (types.Value, error) {
		return types.NewInterval(0, floorMod(floorDiv(env.Now, unit)*unit, microsPerDay)), nil
	}, nil
}

// TIMEDIFF(a, b) is a - b as a TIME, as MySQL's Item_func_timediff: when
// an argument is typed DATE or DATETIME both are read as dates (text and
// numbers in MySQL's date forms), otherwise both as TIMEs (a datetime text
// stays a datetime). The two must then be of one kind (DATE, DATETIME or
// TIME), or the answer is NULL; a DATE or DATETIME against a TIME-typed
// argument is always NULL.
func checkTimediff(c *Call) error {
	for i := range c.Args {
		k := c.Args[i].Type().Kind
		switch {
		case isTimeKind(k), k == types.Interval:
		case k == types.Bool:
			c.Args[i] = coerceKind(c.Args[i], types.TypeBigInt)
		case isNumericKind(k):
		case isStringKind(k) || k == types.Unknown:
			c.Args[i] = coerceKind(c.Args[i], types.TypeText)
		default:
			return mismatch("function timediff(%s) does not exist", argTypes(c.Args))
		}
	}
	c.Typ = types.TypeInterval
	return nil
}

// Kinds of a TIMEDIFF argument.
const (
	diffDate = iota
	diffDatetime
	diffTime
)

// diffOperand reads a TIMEDIFF argument as a date (asDate) or as a TIME:
// microseconds and its kind. A value that reads with a warning reports
// it on env; one that does not read is ok false.
func diffOperand(v types.Value, asDate bool, env *Env) (us int64, kind int, ok bool) {
	switch v.Kind() {
	case types.Date:
		return v.Days() * microsPerDay, diffDate, true
	case types.Timestamp:
		return v.Micros(), diffDatetime, true
	case types.Interval:
		_, us := v.IntervalParts()
		return us, diffTime, true
	}
	if !asDate {
		us, datetime, ok := timeArg(v, env)
		if datetime {
			return us, diffDatetime, ok
		}
		return us, diffTime, ok
	}
	if v.Kind() == types.String {
		s := v.Str()
		dt, hasTime, trunc, ok := parseDatetimeLoose(s)
		if !ok {
			_, _ = warnNull(badDatetime(s), env)
			return 0, 0, false
		}
		if trunc {
			env.Warnf(sqlerr.InvalidDatetimeFormat, "Truncated incorrect datetime value: '%s'", s)
		}
		if hasTime {
			return dt, diffDatetime, true
		}
		return dt, diffDate, true
	}
	n, frac, ok := numberParts(v)
	dt, ok2 := numberDatetime(n, frac)
	if !ok || !ok2 {
		_, _ = warnNull(badDatetime(valueText(v)), env)
		return 0, 0, false
	}
	if n <= 99991231 {
		return dt, diffDate, true
	}
	return dt, diffDatetime, true
}

func compileTimediff(c *Call, args []Func) (Func, error) {
	withDate, withTime := false, false
	for _, a := range c.Args {
		k := a.Type().Kind
		withDate = withDate || isTimeKind(k)
		withTime = withTime || k == types.Interval
	}
	if withDate && withTime {
		return func(types.Row, *Env) (types.Value, error) { return types.Null, nil }, nil
	}
	a, b := args[0], args[1]
	return func(row types.Row, env *Env) (types.Value, error) {
		x, err := a(row, env)
		if err != nil || x.IsNull() {
			return types.Null, err
		}
		y, err := b(row, env)
		if err != nil || y.IsNull() {
			return types.Null, err
		}
		xu, xk, ok := diffOperand(x, withDate, env)
		if !ok {
			return types.Null, nil
		}
		yu, yk, ok := diffOperand(y, withDate, env)
		if !ok || xk != yk {
			return types.Null, nil
		}
		d := xu - yu
		v, err := clampTime(d, types.FormatInterval(0, d))
		if err != nil {
			return warnNull(err, env)
		}
		return v, nil
	}, nil
}

// ---- STR_TO_DATE ----

func checkStrToDate(c *Call) error {
	for i := range c.Args {
		// A date or datetime is read as its text, as MySQL does.
		if k := c.Args[i].Type().Kind; !isStringKind(k) && !isNumericKind(k) && !isTimeKind(k) && k != types.Unknown {
			return mismatch("function str_to_date(%s) does not exist", argTypes(c.Args))
		}
		c.Args[i] = coerceKind(c.Args[i], types.TypeText)
	}
	c.Typ = types.TypeTimestamp
	// With a constant format the result is a DATE when the format has no
	// time fields, a TIME when it has no date fields, as MySQL types it.
	if k, ok := c.Args[1].(*Const); ok && !k.Value.IsNull() {
		date, clock := formatFields(k.Value.Str())
		switch {
		case date && !clock:
			c.Typ = types.TypeDate
		case clock && !date:
			c.Typ = types.TypeInterval
		}
	}
	return nil
}

// formatFields reports whether a STR_TO_DATE format has date fields and
// time fields.
func formatFields(f string) (date, clock bool) {
	for i := 0; i+1 < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		switch f[i] {
		case 'Y', 'y', 'm', 'c', 'd', 'e', 'D', 'j', 'M', 'b', 'a', 'W', 'U', 'u', 'V', 'v', 'X', 'x', 'w':
			date = true
		case 'H', 'k', 'h', 'I', 'l', 'i', 's', 'S', 'f', 'p', 'r', 'T':
			clock = true
		}
	}
	return date, clock
}

func compileStrToDate(c *Call, args []Func) (Func, error) {
	typ := c.Typ
	return warnable(null2(args[0], args[1], func(sv, fv types.Value) (types.Value, error) {
		s, f := sv.Str(), fv.Str()
		us, clock, trunc, ok := strToDate(s, f)
		if !ok {
			return types.Null, nullWarning{err: sqlerr.Newf(sqlerr.InvalidDatetimeFormat,
				"Incorrect datetime value: '%s' for function str_to_date", s)}
		}
		out, name := types.NewTimestamp(us), "datetime"
		switch typ.Kind {
		case types.Date:
			out, name = types.NewDate(floorDiv(us, microsPerDay)), "date"
		case types.Interval:
			out, name = types.NewInterval(0, clock), "time"
		}
		if trunc {
			// MySQL's extract_date_time: the value, with a warning.
			return types.Null, warnf(out, sqlerr.InvalidDatetimeFormat, "Truncated incorrect %s value: '%s'", name, s)
		}
		return out, nil
	})), nil
}

var monthNames = [...]string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}
var dayNames = [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// strToDate reads s by a DATE_FORMAT format, as MySQL's STR_TO_DATE:
// numbers may have fewer digits than the specifier prints, literal
// characters must match, spaces are skipped. It returns the datetime and
// its time of day; a date that does not exist (or has a zero part) fails.
func strToDate(s, f string) (us, clock int64, trunc, ok bool) {
	year, month, day, hour, minute, sec := 0, 0, 0, 0, 0, 0
	var frac int64
	yday, pm, twelve := 0, -1, false
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	num := func(maxDigits int) (int, bool) {
		skipSpace()
		start := i
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		for i < len(s) && i-start < maxDigits && isDigitByte(s[i]) {
			i++
		}
		n, err := strconv.Atoi(s[start:i])
		return n, err == nil
	}
	word := func(names []string, short bool) (int, bool) {
		skipSpace()
		for k, n := range names {
			if short {
				n = n[:3]
			}
			if len(s)-i >= len(n) && strings.EqualFold(s[i:i+len(n)], n) {
				i += len(n)
				return k, true
			}
		}
		return 0, false
	}
	for j := 0; j < len(f); j++ {
		ch := f[j]
		if ch == ' ' {
			skipSpace()
			continue
		}
		if ch != '%' || j+1 == len(f) {
			skipSpace()
			if i >= len(s) || s[i] != ch {
				return 0, 0, false, false
			}
			i++
			continue
		}
		j++
		var ok bool
		switch f[j] {
		case 'Y':
			start := i
			year, ok = num(4)
			if ok && i-start <= 2 {
				year = twoDigitYear(year)
			}
		case 'y':
			year, ok = num(2)
			year = twoDigitYear(year)
		case 'm', 'c':
			month, ok = num(2)
		case 'd', 'e':
			day, ok = num(2)
		case 'D':
			day, ok = num(2)
			if ok && len(s)-i >= 2 {
				i += 2
			}
		case 'j':
			yday, ok = num(3)
		case 'H', 'k':
			hour, ok = num(2)
		case 'h', 'I', 'l':
			hour, ok = num(2)
			twelve = true
		case 'i':
			minute, ok = num(2)
		case 's', 'S':
			sec, ok = num(2)
		case 'f':
			skipSpace()
			start := i
			for i < len(s) && i-start < 6 && isDigitByte(s[i]) {
				i++
			}
			// At least one digit, as MySQL's my_strtoll10 wants.
			frac, ok = types.FractionMicros(s[start:i]), i > start
		case 'p':
			skipSpace()
			ok = len(s)-i >= 2
			if ok {
				switch strings.ToUpper(s[i : i+2]) {
				case "AM":
					pm = 0
				case "PM":
					pm = 1
				default:
					ok = false
				}
				i += 2
			}
		case 'M':
			var m int
			m, ok = word(monthNames[:], false)
			month = m + 1
		case 'b':
			var m int
			m, ok = word(monthNames[:], true)
			month = m + 1
		case 'W':
			_, ok = word(dayNames[:], false)
		case 'a':
			_, ok = word(dayNames[:], true)
		case 'w':
			_, ok = num(1)
		case 'T':
			if hour, ok = num(2); ok && i < len(s) && s[i] == ':' {
				i++
				if minute, ok = num(2); ok && i < len(s) && s[i] == ':' {
					i++
					sec, ok = num(2)
				} else {
					ok = false
				}
			} else {
				ok = false
			}
		case 'r':
			twelve = true
			if hour, ok = num(2); ok && i < len(s) && s[i] == ':' {
				i++
				if minute, ok = num(2); ok && i < len(s) && s[i] == ':' {
					i++
					if sec, ok = num(2); ok {
						skipSpace()
						if len(s)-i >= 2 {
							switch strings.ToUpper(s[i : i+2]) {
							case "AM":
								pm, i = 0, i+2
							case "PM":
								pm, i = 1, i+2
							}
						}
					}
				} else {
					ok = false
				}
			} else {
				ok = false
			}
		case '%':
			skipSpace()
			ok = i < len(s) && s[i] == '%'
			i++
		default:
			// A week specifier or an unknown one: MySQL cannot build a
			// date from it here.
			ok = false
		}
		if !ok {
			return 0, 0, false, false
		}
	}
	if twelve || pm >= 0 {
		if hour < 1 || hour > 12 {
			return 0, 0, false, false
		}
		hour %= 12
		if pm == 1 {
			hour += 12
		}
	}
	if yday > 0 {
		if year == 0 || yday > daysInYear(year) {
			return 0, 0, false, false
		}
		t := time.Date(year, 1, yday, 0, 0, 0, 0, time.UTC)
		month, day = int(t.Month()), t.Day()
	}
	clock = (int64(hour)*3600+int64(minute)*60+int64(sec))*microsPerSecond + frac
	// What is left after the format is dropped with a warning.
	for ; i < len(s) && !trunc; i++ {
		trunc = !isSpaceByte(s[i])
	}
	date, clockOnly := formatFields(f)
	if !date && clockOnly {
		if minute > 59 || sec > 59 {
			return 0, 0, false, false
		}
		return 0, clock, trunc, true
	}
	us, ok = validDate(year, month, day, hour, minute, sec, frac)
	return us, clock, trunc, ok
}

// ---- CONVERT_TZ ----

func checkConvertTz(c *Call) error {
	if err := toTime(c, 0, false); err != nil {
		return err
	}
	for i := 1; i < 3; i++ {
		c.Args[i] = coerceKind(c.Args[i], types.TypeText)
	}
	c.Typ = c.Args[0].Type()
	return nil
}

// zoneOffset is the offset east of UTC, in seconds, of zone z at the UTC
// instant utc (utcKnown) or at the wall-clock time local.
func zoneOffset(z string, us int64, isLocal bool) (int64, bool) {
	z = strings.TrimSpace(z)
	if z == "" {
		return 0, false
	}
	if z[0] == '+' || z[0] == '-' {
		h, m, ok := strings.Cut(z[1:], ":")
		if !ok || len(m) != 2 {
			return 0, false
		}
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if err1 != nil || err2 != nil || mm > 59 || hh*60+mm > 14*60 {
			return 0, false
		}
		off := int64(hh*3600 + mm*60)
		if z[0] == '-' {
			if off > 13*3600+59*60 {
				return 0, false
			}
			off = -off
		}
		return off, true
	}
	switch strings.ToUpper(z) {
	case "SYSTEM", "UTC", "GMT":
		// The session time zone is UTC.
		return 0, true
	}
	if strings.EqualFold(z, "local") {
		return 0, false
	}
	loc, err := time.LoadLocation(z)
	if err != nil {
		return 0, false
	}
	if isLocal {
		t := time.UnixMicro(us).UTC()
		_, off := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc).Zone()
		return int64(off), true
	}
	_, off := time.UnixMicro(us).In(loc).Zone()
	return int64(off), true
}

func compileConvertTz(_ *Call, args []Func) (Func, error) {
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		us := vs[0].Micros()
		from, ok1 := zoneOffset(vs[1].Str(), us, true)
		if !ok1 {
			return types.Null, nil
		}
		utc := us - from*microsPerSecond
		// MySQL leaves a value outside TIMESTAMP's range unconverted.
		if utc < microsPerSecond || utc >= (math.MaxInt32+1)*microsPerSecond {
			if _, ok := zoneOffset(vs[2].Str(), 0, false); !ok {
				return types.Null, nil
			}
			return vs[0], nil
		}
		to, ok2 := zoneOffset(vs[2].Str(), utc, false)
		if !ok2 {
			return types.Null, nil
		}
		return types.NewTimestamp(utc + to*microsPerSecond), nil
	}), nil
}
