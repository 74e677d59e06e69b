package expr

import (
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// WEEK's mode 3 is ISO 8601's week, which Go computes on its own; mode 0
// counts Sundays from the first one of the year (C's %U).
func TestCalcWeek_AgainstPlainGo(t *testing.T) {
	for d := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2031; d = d.AddDate(0, 0, 1) {
		iy, iw := d.ISOWeek()
		w, y := calcWeek(d, weekMode(3)|weekYear)
		if w != iw || y != iy {
			t.Fatalf("%s mode 3: week %d of %d, ISO says %d of %d", d.Format("2006-01-02"), w, y, iw, iy)
		}
		if w, _ := calcWeek(d, weekMode(3)); w != iw {
			t.Fatalf("%s WEEK mode 3 = %d, ISO %d", d.Format("2006-01-02"), w, iw)
		}
		u := (d.YearDay() - 1 + 7 - int(d.Weekday())) / 7
		if w, _ := calcWeek(d, weekMode(0)); w != u {
			t.Fatalf("%s WEEK mode 0 = %d, %%U says %d", d.Format("2006-01-02"), w, u)
		}
	}
}

func TestParseDatetime_Forms(t *testing.T) {
	at := func(y, mo, d, h, mi, s, us int) int64 {
		return time.Date(y, time.Month(mo), d, h, mi, s, us*1000, time.UTC).UnixMicro()
	}
	tests := []struct {
		in      string
		want    int64
		hasTime bool
		ok      bool
	}{
		{"2024-01-05", at(2024, 1, 5, 0, 0, 0, 0), false, true},
		{"20240105", at(2024, 1, 5, 0, 0, 0, 0), false, true},
		{"240105", at(2024, 1, 5, 0, 0, 0, 0), false, true},
		{"700105", at(1970, 1, 5, 0, 0, 0, 0), false, true},
		{"2024-1-5 3:4:5", at(2024, 1, 5, 3, 4, 5, 0), true, true},
		{"24-1-1", at(2024, 1, 1, 0, 0, 0, 0), false, true},
		{"99-1-1", at(1999, 1, 1, 0, 0, 0, 0), false, true},
		{"2024/01/05", at(2024, 1, 5, 0, 0, 0, 0), false, true},
		{"2024.01.05 10.20.30", at(2024, 1, 5, 10, 20, 30, 0), true, true},
		{"2024-01-05T10:20:30.25", at(2024, 1, 5, 10, 20, 30, 250000), true, true},
		{"20240105102030.5", at(2024, 1, 5, 10, 20, 30, 500000), true, true},
		{"  2024-01-05  ", at(2024, 1, 5, 0, 0, 0, 0), false, true},
		{"2024-01-05 10:20:30+02:00", at(2024, 1, 5, 8, 20, 30, 0), true, true},
		{"2024-02-30", 0, false, false},
		{"2024-13-01", 0, false, false},
		{"2024-01-05 24:00:00", 0, false, false},
		{"abc", 0, false, false},
		{"", 0, false, false},
		{"2024-01", 0, false, false},
		{"0000-00-00", 0, false, false},
	}
	for _, tt := range tests {
		us, hasTime, ok := parseDatetime(tt.in)
		if ok != tt.ok || (ok && (us != tt.want || hasTime != tt.hasTime)) {
			t.Errorf("parseDatetime(%q) = %d, %v, %v; want %d, %v, %v", tt.in, us, hasTime, ok, tt.want, tt.hasTime, tt.ok)
		}
	}
}

func TestNumberDatetime(t *testing.T) {
	at := func(y, mo, d, h, mi, s int) int64 {
		return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).UnixMicro()
	}
	tests := []struct {
		n    int64
		want int64
		ok   bool
	}{
		{20240101, at(2024, 1, 1, 0, 0, 0), true},
		{240101, at(2024, 1, 1, 0, 0, 0), true},
		{991231, at(1999, 12, 31, 0, 0, 0), true},
		{101, at(2000, 1, 1, 0, 0, 0), true},
		{20240101123000, at(2024, 1, 1, 12, 30, 0), true},
		{240101123000, at(2024, 1, 1, 12, 30, 0), true},
		{0, 0, false},
		{695000, 0, false},
		{20240230, 0, false},
		{100000000000000, 0, false},
	}
	for _, tt := range tests {
		us, ok := numberDatetime(tt.n, 0)
		if ok != tt.ok || (ok && us != tt.want) {
			t.Errorf("numberDatetime(%d) = %d, %v; want %d, %v", tt.n, us, ok, tt.want, tt.ok)
		}
	}
}

// A bad date is NULL with MySQL's warning, not an error; a date moved out
// of range likewise.
func TestDates_NullWithWarning(t *testing.T) {
	tests := []struct {
		name string
		e    func() (Expr, error)
		code sqlerr.Code
		msg  string
	}{
		{"DATE('abc')", func() (Expr, error) { return NewCall("date", 0, cs("abc")) }, sqlerr.InvalidDatetimeFormat, "Incorrect datetime value: 'abc'"},
		{"DATE('2024-02-30')", func() (Expr, error) { return NewCall("date", 0, cs("2024-02-30")) }, sqlerr.InvalidDatetimeFormat, "Incorrect datetime value: '2024-02-30'"},
		{"CAST(20240230 AS DATE)", func() (Expr, error) { return NewCast(ci(20240230), types.TypeDate, 0) }, sqlerr.InvalidDatetimeFormat, "Incorrect datetime value: '20240230'"},
		{"DATE_ADD('9999-12-31', INTERVAL 1 DAY)", func() (Expr, error) {
			iv, err := NewUnitCall("interval", "DAY", 0, ci(1))
			if err != nil {
				return nil, err
			}
			return NewCall("date_add", 0, cs("9999-12-31"), iv)
		}, sqlerr.DatetimeFieldOverflow, "Datetime function: datetime field overflow"},
		{"STR_TO_DATE('x', '%Y')", func() (Expr, error) { return NewCall("str_to_date", 0, cs("x"), cs("%Y")) }, sqlerr.InvalidDatetimeFormat, "Incorrect datetime value: 'x' for function str_to_date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.e()
			if err != nil {
				t.Fatal(err)
			}
			e, _ = Fold(e)
			f, err := Compile(e)
			if err != nil {
				t.Fatal(err)
			}
			var warns []*sqlerr.Error
			v, err := f(nil, &Env{Warn: func(w *sqlerr.Error) { warns = append(warns, w) }})
			if err != nil || !v.IsNull() {
				t.Fatalf("got %v, %v; want NULL", v, err)
			}
			if len(warns) != 1 || warns[0].Code != tt.code || warns[0].Message != tt.msg {
				t.Fatalf("warnings %v, want one %s %q", warns, tt.code, tt.msg)
			}
		})
	}
}

// parseTimeText against MySQL's str_to_time (mysys/my_time.cc), worked out
// by hand: a datetime of 12 characters or more is itself; otherwise the
// first number starts a TIME ([D ]HH:MM:SS or digits aligned from the
// right) and what follows it is dropped with trunc set.
func TestParseTimeText_MySQLRules(t *testing.T) {
	hms := func(h, m, s, us int64) int64 { return ((h*60+m)*60+s)*microsPerSecond + us }
	tests := []struct {
		in              string
		want            int64
		datetime, trunc bool
		ok              bool
	}{
		{"10:05:03", hms(10, 5, 3, 0), false, false, true},
		{"272:59:59", hms(272, 59, 59, 0), false, false, true},
		{"1112", hms(0, 11, 12, 0), false, false, true},
		{"1 10:00:00", hms(34, 0, 0, 0), false, false, true},
		{"-01:30", -hms(1, 30, 0, 0), false, false, true},
		{"10:20.5", hms(10, 20, 0, 500000), false, false, true},
		{".5", hms(0, 0, 0, 500000), false, false, true},
		{"  12  ", hms(0, 0, 12, 0), false, false, true},
		// A date shorter than a datetime: its year is HHMM.
		{"2024-01-05", hms(0, 20, 24, 0), false, true, true},
		{"0000-00-00", 0, false, true, true},
		{"1900-03-01", hms(0, 19, 0, 0), false, true, true},
		{"12abc", hms(0, 0, 12, 0), false, true, true},
		{"2024-06-15 23:59:59.5", time.Date(2024, 6, 15, 23, 59, 59, 500000000, time.UTC).UnixMicro(), true, false, true},
		{"abc", 0, false, false, false},
		{"", 0, false, false, false},
		{"  ", 0, false, false, false},
		{"10:60:00", 0, false, false, false},
		{"1e5", 0, false, false, false},
	}
	for _, tt := range tests {
		us, dt, trunc, ok := parseTimeText(tt.in)
		if ok != tt.ok || ok && (us != tt.want || dt != tt.datetime || trunc != tt.trunc) {
			t.Errorf("parseTimeText(%q) = %d, %v, %v, %v; want %d, %v, %v, %v", tt.in, us, dt, trunc, ok, tt.want, tt.datetime, tt.trunc, tt.ok)
		}
	}
}

// MySQL 8's answers, worked out from its source: str_to_time and
// number_to_time (mysys/my_time.cc), Item_func_timediff and
// Item_func_week (sql/item_timefunc.cc), get_interval_info and
// extract_date_time (sql/item_timefunc.cc).
func TestTime_MySQLReadings(t *testing.T) {
	const truncTime = "22007 Truncated incorrect time value: "
	date := func(y, m, d int) Expr { return NewConst(types.NewDate(civilDays(y, m, d))) }
	ts := NewConst(types.NewTimestamp(time.Date(2024, 1, 1, 10, 20, 30, 123456000, time.UTC).UnixMicro()))
	tm := NewConst(types.NewInterval(0, 3600*microsPerSecond))
	iv := func(s, unit string) Expr {
		e, err := NewUnitCall("interval", unit, 0, cs(s))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	extract := func(unit string, arg Expr) Expr {
		e, err := NewUnitCall("extract", unit, 0, arg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	tests := []struct {
		e     Expr
		want  string
		warns []string
	}{
		// EXTRACT of a unit below DAY reads a TIME (the manual's examples
		// for the datetimes).
		{extract("MINUTE", cs("2024-01-05")), "20", []string{truncTime + "'2024-01-05'"}},
		{extract("HOUR", ci(20240101)), "NULL", []string{truncTime + "'20240101'"}},
		{extract("DAY_MINUTE", cs("2019-07-02 01:02:03")), "20102", nil},
		{extract("MICROSECOND", cs("2003-01-02 10:30:00.000123")), "123", nil},
		{extract("DAY_HOUR", cs("1 10:00:00")), "34", nil},
		{extract("HOUR_MINUTE", cs("-01:30")), "-130", nil},
		{extract("YEAR", cs("2024-01-05")), "2024", nil},
		// A date string read as a TIME: 2024 is 00:20:24, with a warning.
		{mustCall(t, "hour", cs("2024-01-05")), "0", []string{truncTime + "'2024-01-05'"}},
		{mustCall(t, "minute", cs("2024-01-05")), "20", []string{truncTime + "'2024-01-05'"}},
		{mustCall(t, "second", cs("2024-02-30")), "24", []string{truncTime + "'2024-02-30'"}},
		{mustCall(t, "microsecond", cs("20240101")), "0", []string{"22003 Truncated incorrect time value: '20240101'"}},
		{mustCall(t, "hour", cs("abc")), "NULL", []string{truncTime + "'abc'"}},
		// A number is [-]HHMMSS; from 10^10 a datetime.
		{mustCall(t, "hour", ci(20240101)), "NULL", []string{truncTime + "'20240101'"}},
		{mustCall(t, "hour", ci(20240101103000)), "10", nil},
		{mustCall(t, "hour", ci(-8385959)), "838", nil},
		{mustCall(t, "minute", ci(1260)), "NULL", []string{truncTime + "'1260'"}},
		{mustCall(t, "time", cd("123.5")), "00:01:23.5", nil},
		{mustCall(t, "time", cf(-123.25)), "-00:01:23.25", nil},
		// TIMEDIFF: strings read as TIMEs unless an argument is typed
		// DATE or DATETIME; kinds must agree.
		{mustCall(t, "timediff", cs("2024-01-01"), cs("2024-02-29")), "00:00:00", []string{truncTime + "'2024-01-01'", truncTime + "'2024-02-29'"}},
		{mustCall(t, "timediff", cs("0001-01-01"), cs("2024-01-01")), "-00:20:23", []string{truncTime + "'0001-01-01'", truncTime + "'2024-01-01'"}},
		{mustCall(t, "timediff", cs("2000-02-29 12:00:00"), cs("2024-1-5")), "NULL", []string{truncTime + "'2024-1-5'"}},
		{mustCall(t, "timediff", ci(20240101), date(2024, 2, 29)), "-838:59:59", []string{"22003 Truncated incorrect time value: '-1416:00:00'"}},
		{mustCall(t, "timediff", date(2024, 3, 1), cs("2024-02-29")), "24:00:00", nil},
		{mustCall(t, "timediff", ts, cs("2008-12-31")), "NULL", nil},
		{mustCall(t, "timediff", cs("2010-01-03"), ts), "NULL", nil},
		{mustCall(t, "timediff", ts, tm), "NULL", nil},
		{mustCall(t, "timediff", cs("10:00:00"), tm), "09:00:00", nil},
		// WEEK's NULL mode is mode 0: 2024-01-05 is before the first Sunday.
		{mustCall(t, "week", date(2024, 1, 5), cnull()), "0", nil},
		{mustCall(t, "yearweek", date(2024, 1, 5), cnull()), "202353", nil}, // Sunday 2023-12-31 starts 2023's 53rd week
		// A datetime is read as its text.
		{mustCall(t, "str_to_date", ts, cs("%Y-%m-%d")), "2024-01-01", []string{"22007 Truncated incorrect date value: '2024-01-01 10:20:30.123456'"}},
		{mustCall(t, "str_to_date", date(2024, 2, 29), cs("%Y%m%d")), "NULL", []string{"22007 Incorrect datetime value: '2024-02-29' for function str_to_date"}},
		// %f wants a digit.
		{mustCall(t, "str_to_date", cs("  pad  "), cs("%f")), "NULL", []string{"22007 Incorrect datetime value: '  pad  ' for function str_to_date"}},
		// A microsecond field's digits are a fraction; no number is 0.
		{mustCall(t, "date_add", cs("0001-01-01"), iv("12", "SECOND_MICROSECOND")), "0001-01-01 00:00:00.12", nil},
		{mustCall(t, "date_add", cs("2000-01-01"), iv("1.1234567", "SECOND_MICROSECOND")), "2000-01-01 00:00:01.123456", nil},
		{mustCall(t, "date_add", cs("2000-01-01"), iv("1 2:3:4.5", "DAY_MICROSECOND")), "2000-01-02 02:03:04.5", nil},
		{mustCall(t, "date_add", cs("2024-06-15 23:59:59.999999"), iv("abc", "SECOND_MICROSECOND")), "2024-06-15 23:59:59.999999", nil},
		{mustCall(t, "date_add", cs("2000-01-01"), iv("1:2:3", "MINUTE_SECOND")), "NULL", []string{"22007 Incorrect INTERVAL value: '1:2:3'"}},
	}
	for _, tt := range tests {
		got, warns := evalWarn(t, tt.e, nil)
		if got != tt.want || len(warns) != len(tt.warns) {
			t.Errorf("%s = %s %q, want %s %q", tt.e, got, warns, tt.want, tt.warns)
			continue
		}
		for i := range warns {
			if warns[i] != tt.warns[i] {
				t.Errorf("%s warned %q, want %q", tt.e, warns, tt.warns)
			}
		}
	}
}
