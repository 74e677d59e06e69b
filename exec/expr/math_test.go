package expr

import (
	"math"
	"testing"

	"github.com/cockroachdb/apd/v3"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// evalWarn evaluates e and returns its value's text and the warnings.
func evalWarn(t *testing.T, e Expr, row types.Row) (string, []string) {
	t.Helper()
	f, err := Compile(e)
	if err != nil {
		t.Fatalf("compile %s: %v", e, err)
	}
	var warns []string
	v, err := f(row, &Env{Warn: func(w *sqlerr.Error) { warns = append(warns, string(w.Code)+" "+w.Message) }})
	if err != nil {
		t.Fatalf("%s: %v", e, err)
	}
	if v.IsNull() {
		return "NULL", warns
	}
	return v.String(), warns
}

func TestMath_Warnings(t *testing.T) {
	const logWarn = "01000 Invalid argument for logarithm"
	tests := []struct {
		name string
		args []Expr
		want string
		warn string
	}{
		{"ln", []Expr{ci(0)}, "NULL", logWarn},
		{"ln", []Expr{cf(-1)}, "NULL", logWarn},
		{"log", []Expr{ci(-1)}, "NULL", logWarn},
		{"log", []Expr{ci(1), ci(100)}, "NULL", logWarn},
		{"log", []Expr{ci(2), ci(0)}, "NULL", logWarn},
		{"log2", []Expr{ci(0)}, "NULL", logWarn},
		{"log10", []Expr{ci(0)}, "NULL", logWarn},
		{"log", []Expr{ci(2), ci(65536)}, "16", ""},
		{"sqrt", []Expr{ci(-1)}, "NULL", ""},
		{"acos", []Expr{ci(2)}, "NULL", ""},
		{"format", []Expr{cd("1234.5"), ci(1), cs("de_DE")}, "1,234.5", "01000 Unknown locale: 'de_DE'"},
		{"format", []Expr{cd("1234.5"), ci(1), cs("en_US")}, "1,234.5", ""},
	}
	for _, tt := range tests {
		got, warns := evalWarn(t, mustCall(t, tt.name, tt.args...), nil)
		if got != tt.want {
			t.Errorf("%s%v = %s, want %s", tt.name, tt.args, got, tt.want)
		}
		switch {
		case tt.warn == "" && len(warns) != 0:
			t.Errorf("%s%v warned %v", tt.name, tt.args, warns)
		case tt.warn != "" && (len(warns) != 1 || warns[0] != tt.warn):
			t.Errorf("%s%v warned %v, want %q", tt.name, tt.args, warns, tt.warn)
		}
	}
}

// MySQL's generator, computed by hand from its two-seed recurrence:
// RAND(3)'s first three numbers are the manual's.
func TestRand_Seeded(t *testing.T) {
	e := mustCall(t, "rand", ci(3))
	if f, changed := Fold(e); changed || f != e {
		t.Fatalf("RAND(3) folded to %s", f)
	}
	f, err := Compile(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []float64{0.9057697559760601, 0.37307905813034536, 0.14808605345719125} {
		v, err := f(nil, nil)
		if err != nil || v.Float() != want {
			t.Fatalf("RAND(3) = %v, %v; want %v", v, err, want)
		}
	}
	// A seed read from the row seeds again on every row.
	g, err := Compile(mustCall(t, "rand", col(0, types.TypeBigInt)))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		v, _ := g(types.Row{types.NewInt(3)}, nil)
		if v.Float() != 0.9057697559760601 {
			t.Fatalf("RAND(col=3) = %v", v)
		}
	}
	if f, changed := Fold(mustCall(t, "rand")); changed {
		t.Fatalf("RAND() folded to %s", f)
	}
}

func TestRoundInt(t *testing.T) {
	tests := []struct {
		i, d     int64
		truncate bool
		want     int64
		overflow bool
	}{
		{1250, -2, false, 1300, false},
		{-1250, -2, false, -1300, false},
		{1249, -2, false, 1200, false},
		{1299, -2, true, 1200, false},
		{-1299, -2, true, -1200, false},
		{math.MaxInt64, -2, false, 9223372036854775800, false},
		{math.MaxInt64, -1, false, 0, true},
		{math.MaxInt64, -3, false, 0, true},
		{math.MinInt64, -1, false, 0, true},
		{math.MinInt64, -1, true, -9223372036854775800, false},
		{math.MaxInt64, -19, false, 0, true},
		{math.MaxInt64, -19, true, 0, false},
		{math.MaxInt64, -20, false, 0, false},
		{4999999999999999999, -19, false, 0, false},
		{7, 2, false, 7, false},
	}
	for _, tt := range tests {
		v, err := roundInt(tt.i, tt.d, tt.truncate, "round")
		if tt.overflow {
			if err == nil {
				t.Errorf("roundInt(%d, %d) = %v, want 22003", tt.i, tt.d, v)
			}
			continue
		}
		if err != nil || v.Int() != tt.want {
			t.Errorf("roundInt(%d, %d, %v) = %v, %v; want %d", tt.i, tt.d, tt.truncate, v, err, tt.want)
		}
	}
}

func TestRoundDouble(t *testing.T) {
	tests := []struct {
		f        float64
		d        int64
		truncate bool
		want     float64
	}{
		{0.5, 0, false, 0},
		{1.5, 0, false, 2},
		{2.5, 0, false, 2},
		{-2.5, 0, false, -2},
		{2.675, 2, false, 2.68}, // 2.675 * 100 is 267.5 as a double
		{1.25, 1, false, 1.2},
		{1234.5, -1, false, 1230},
		{1235, -1, false, 1240},
		{1.999, 1, true, 1.9},
		{-1.999, 1, true, -1.9},
		{1e300, -400, false, 0},
		{1e300, 400, false, 1e300},
	}
	for _, tt := range tests {
		if got := roundDouble(tt.f, tt.d, tt.truncate); got != tt.want {
			t.Errorf("roundDouble(%v, %d, %v) = %v, want %v", tt.f, tt.d, tt.truncate, got, tt.want)
		}
	}
}

// CEIL and FLOOR of a fraction that starts with zeros, which apd's
// Quantize alone turns into 0.
func TestDecimalRound_Directed(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		mode  apd.Rounder
		want  string
	}{
		{"0.001", 0, apd.RoundCeiling, "1"},
		{"-0.0001", 0, apd.RoundFloor, "-1"},
		{"-0.001", 0, apd.RoundCeiling, "0"},
		{"0.0001", 0, apd.RoundFloor, "0"},
		{"1.0001", 2, apd.RoundCeiling, "1.01"},
		{"-1.0001", 2, apd.RoundFloor, "-1.01"},
		{"5", 0, apd.RoundCeiling, "5"},
		{"0.00000000000000000000000000000000001", 0, apd.RoundCeiling, "1"},
		{"0.001", 0, apd.RoundDown, "0"},
		{"0.0005", 3, apd.RoundHalfUp, "0.001"},
	}
	for _, tt := range tests {
		got, err := decimalRound(types.NewDecimal(tt.in), tt.scale, tt.mode)
		if err != nil || got.Str() != tt.want {
			t.Errorf("decimalRound(%s, %d, %v) = %v, %v; want %s", tt.in, tt.scale, tt.mode, got.Str(), err, tt.want)
		}
	}
}

func TestInnerDivScale(t *testing.T) {
	tests := []struct{ sx, sy, want int }{
		{0, 0, 9},  // 1/3
		{1, 0, 9},  // 1.5/3: the word's padding covers the increment
		{9, 0, 18}, // (1/3)/3
		{9, 9, 27}, // (1/3)/(1/3)
		{6, 0, 18}, // 0.000001/3: 3 digits of padding, 1 left of the increment
		{5, 0, 9},  // 4 digits of padding cover it
		{27, 27, maxInnerScale},
	}
	for _, tt := range tests {
		if got := innerDivScale(tt.sx, tt.sy); got != tt.want {
			t.Errorf("innerDivScale(%d, %d) = %d, want %d", tt.sx, tt.sy, got, tt.want)
		}
	}
	// 2/3 is truncated inside, not rounded.
	if v, err := decimalDivInner("2", "3"); err != nil || v.Str() != "0.666666666" {
		t.Errorf("2/3 inside = %v, %v", v.Str(), err)
	}
	if v, err := decimalDivInner("-2", "3"); err != nil || v.Str() != "-0.666666666" {
		t.Errorf("-2/3 inside = %v, %v", v.Str(), err)
	}
	if v, err := decimalDivInner("12345678901234567890", "7"); err != nil || v.Str() != "1763668414462081127.142857142" {
		t.Errorf("big/7 inside = %v, %v", v.Str(), err)
	}
}

// A quotient shared by an output column and a computation keeps its shown
// scale in the output: marking copies.
func TestInnerOf_Copies(t *testing.T) {
	q := mustCall(t, "/", col(0, types.DecimalType(10, 0)), ci(3))
	prod := mustCall(t, "*", q, ci(3))
	row := types.Row{types.NewDecimal("1")}
	if got, _ := evalWarn(t, q, row); got != "0.3333" {
		t.Errorf("x/3 = %s, want 0.3333", got)
	}
	if got, _ := evalWarn(t, prod, row); got != "1.0000" {
		t.Errorf("x/3*3 = %s, want 1.0000", got)
	}
	c, err := NewCast(q, types.TypeText, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := evalWarn(t, c, row); got != "0.3333" {
		t.Errorf("CAST(x/3 AS CHAR) = %s, want 0.3333", got)
	}
}

// MySQL names the call in its out-of-range errors.
func TestMath_OverflowMessages(t *testing.T) {
	tests := []struct {
		e    func(t *testing.T) Expr
		want string
	}{
		{func(t *testing.T) Expr { return mustCall(t, "pow", ci(-8), cd("0.5")) }, "DOUBLE value is out of range in 'pow(-8,0.5)'"},
		{func(t *testing.T) Expr { return mustCall(t, "exp", ci(1000)) }, "DOUBLE value is out of range in 'exp(1000)'"},
		{func(t *testing.T) Expr { return mustCall(t, "cot", ci(0)) }, "DOUBLE value is out of range in 'cot(0)'"},
		{func(t *testing.T) Expr { return mustCall(t, "abs", ci(math.MinInt64)) }, "BIGINT value is out of range in 'abs(-9223372036854775808)'"},
		{func(t *testing.T) Expr { return mustCall(t, "round", ci(math.MaxInt64), ci(-1)) }, "BIGINT value is out of range in 'round(9223372036854775807,-1)'"},
	}
	for _, tt := range tests {
		_, err := eval(t, tt.e(t), nil)
		e, ok := err.(*sqlerr.Error)
		if !ok || e.Code != sqlerr.NumericValueOutOfRange || e.Message != tt.want {
			t.Errorf("got %v, want 22003 %q", err, tt.want)
		}
	}
}

// RAND(N)'s sequence is shared by the goroutines that run one Func.
func TestRand_Concurrent(t *testing.T) {
	f, err := Compile(mustCall(t, "rand", ci(3)))
	if err != nil {
		t.Fatal(err)
	}
	want := newMySQLRand(3)
	seen := map[float64]bool{}
	for range 400 {
		seen[want.next()] = true
	}
	got := make(chan float64, 400)
	for range 4 {
		go func() {
			for range 100 {
				v, _ := f(nil, nil)
				got <- v.Float()
			}
		}()
	}
	for range 400 {
		if v := <-got; !seen[v] {
			t.Fatalf("RAND(3) gave %v, not among its first 400 numbers", v)
		} else {
			delete(seen, v)
		}
	}
}

func TestLogE_Subnormal(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{
		{1e-308, -709.1962086421661},
		{5e-324, -744.4400719213812},
		{1, 0},
		{math.E, 1},
	} {
		if got := logE(c.x); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("logE(%g) = %v, want %v", c.x, got, c.want)
		}
	}
	// Against MariaDB's (glibc's) LOG2 and LOG10 of 1e-308.
	if got := log2(1e-308); math.Abs(got+1023.1538532253077) > 1e-12 {
		t.Errorf("log2(1e-308) = %v", got)
	}
	if got := log10(1e-308); math.Abs(got+308) > 1e-12 {
		t.Errorf("log10(1e-308) = %v", got)
	}
}
