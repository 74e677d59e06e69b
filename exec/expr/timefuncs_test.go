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
