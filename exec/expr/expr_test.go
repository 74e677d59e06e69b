package expr

import (
	"math"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

func ci(i int64) Expr              { return NewConst(types.NewInt(i)) }
func cf(f float64) Expr            { return NewConst(types.NewFloat(f)) }
func cs(s string) Expr             { return NewConst(types.NewString(s)) }
func cd(s string) Expr             { return NewConst(types.NewDecimal(s)) }
func cb(b bool) Expr               { return NewConst(types.NewBool(b)) }
func cnull() Expr                  { return &Const{Value: types.Null} }
func col(i int, t types.Type) Expr { return &ColumnRef{Index: i, Typ: t} }

func mustCall(t *testing.T, name string, args ...Expr) Expr {
	t.Helper()
	c, err := NewCall(name, 0, args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func eval(t *testing.T, e Expr, row types.Row) (types.Value, error) {
	t.Helper()
	f, err := Compile(e)
	if err != nil {
		t.Fatalf("compile %s: %v", e, err)
	}
	return f(row, &Env{Now: 1704164645678901})
}

func TestCompile_Table(t *testing.T) {
	bigint, double, text := types.TypeBigInt, types.TypeDouble, types.TypeText
	row := types.Row{types.NewInt(7), types.NewFloat(2.5), types.NewString("Hello"), types.Null, types.NewDecimal("10.25")}
	tests := []struct {
		name string
		e    func(t *testing.T) Expr
		want string
		code sqlerr.Code
	}{
		{"int add", func(t *testing.T) Expr { return mustCall(t, "+", col(0, bigint), ci(3)) }, "10", ""},
		{"int overflow", func(t *testing.T) Expr { return mustCall(t, "+", ci(math.MaxInt64), ci(1)) }, "", sqlerr.NumericValueOutOfRange},
		{"int mul overflow", func(t *testing.T) Expr { return mustCall(t, "*", ci(math.MinInt64), ci(-1)) }, "", sqlerr.NumericValueOutOfRange},
		{"neg min", func(t *testing.T) Expr { return mustCall(t, "neg", ci(math.MinInt64)) }, "", sqlerr.NumericValueOutOfRange},
		{"div min by -1", func(t *testing.T) Expr { return mustCall(t, "div", ci(math.MinInt64), ci(-1)) }, "", sqlerr.NumericValueOutOfRange},
		{"mod min by -1", func(t *testing.T) Expr { return mustCall(t, "%", ci(math.MinInt64), ci(-1)) }, "0", ""},
		{"int / int is decimal", func(t *testing.T) Expr { return mustCall(t, "/", col(0, bigint), ci(2)) }, "3.5000", ""},
		{"x / 0 is NULL", func(t *testing.T) Expr { return mustCall(t, "/", col(0, bigint), ci(0)) }, "NULL", ""},
		{"float / 0 is NULL", func(t *testing.T) Expr { return mustCall(t, "/", col(1, double), cf(0)) }, "NULL", ""},
		{"float mix", func(t *testing.T) Expr { return mustCall(t, "*", col(1, double), col(0, bigint)) }, "17.5", ""},
		{"decimal add", func(t *testing.T) Expr { return mustCall(t, "+", col(4, types.DecimalType(6, 2)), cd("0.755")) }, "11.005", ""},
		{"decimal mul exact", func(t *testing.T) Expr { return mustCall(t, "*", cd("0.1"), cd("0.2")) }, "0.02", ""},
		{"decimal div", func(t *testing.T) Expr { return mustCall(t, "/", cd("1"), cd("3")) }, "0.3333", ""},
		{"decimal div int", func(t *testing.T) Expr { return mustCall(t, "div", cd("7.9"), ci(2)) }, "3", ""},
		{"decimal mod", func(t *testing.T) Expr { return mustCall(t, "%", cd("-7.5"), ci(2)) }, "-1.5", ""},
		{"string to number", func(t *testing.T) Expr { return mustCall(t, "+", cs("1.5"), ci(1)) }, "2.5", ""},
		{"bad string to number", func(t *testing.T) Expr { return mustCall(t, "+", cs("x"), ci(1)) }, "1", ""}, // MySQL: 'x' reads as 0, with a warning
		{"null propagates", func(t *testing.T) Expr { return mustCall(t, "+", col(3, bigint), ci(1)) }, "NULL", ""},
		{"and null false", func(t *testing.T) Expr { return mustCall(t, "and", cnull(), cb(false)) }, "f", ""},
		{"or null true", func(t *testing.T) Expr { return mustCall(t, "or", cnull(), cb(true)) }, "t", ""},
		{"xor null", func(t *testing.T) Expr { return mustCall(t, "xor", cnull(), cb(true)) }, "NULL", ""},
		{"not int", func(t *testing.T) Expr { return mustCall(t, "not", ci(0)) }, "t", ""},
		{"int vs string compares as double", func(t *testing.T) Expr { return mustCall(t, "=", ci(7), cs("7.0")) }, "t", ""},
		{"string compare binary", func(t *testing.T) Expr { return mustCall(t, "<", cs("B"), cs("a")) }, "t", ""},
		{"timestamp vs string", func(t *testing.T) Expr {
			return mustCall(t, ">", &Const{Value: types.NewTimestamp(1704164645000000), Typ: types.TypeTimestamp}, cs("2024-01-01"))
		}, "t", ""},
		{"null safe eq", func(t *testing.T) Expr { return mustCall(t, "<=>", col(3, bigint), cnull()) }, "t", ""},
		{"in with null", func(t *testing.T) Expr { return mustCall(t, "in", ci(3), ci(1), cnull()) }, "NULL", ""},
		{"in found", func(t *testing.T) Expr { return mustCall(t, "in", col(0, bigint), ci(1), cnull(), cd("7.0")) }, "t", ""},
		{"between", func(t *testing.T) Expr { return mustCall(t, "between", col(1, double), ci(2), ci(3)) }, "t", ""},
		{"like escape", func(t *testing.T) Expr { return mustCall(t, "like", cs("10%"), cs("10!%"), cs("!")) }, "t", ""},
		{"like multibyte", func(t *testing.T) Expr { return mustCall(t, "like", cs("héllo"), cs("h_llo")) }, "t", ""},
		{"like backtrack", func(t *testing.T) Expr { return mustCall(t, "like", cs("aXbXc"), cs("%X%c")) }, "t", ""},
		{"like no match", func(t *testing.T) Expr { return mustCall(t, "like", cs("abc"), cs("%d%")) }, "f", ""},
		{"coalesce", func(t *testing.T) Expr { return mustCall(t, "coalesce", col(3, bigint), cd("1.5")) }, "1.5", ""},
		{"nullif", func(t *testing.T) Expr { return mustCall(t, "nullif", col(0, bigint), ci(7)) }, "NULL", ""},
		{"if", func(t *testing.T) Expr { return mustCall(t, "if", cnull(), ci(1), ci(2)) }, "2", ""},
		{"concat", func(t *testing.T) Expr { return mustCall(t, "concat", col(2, text), ci(1), cf(0.5), cb(true)) }, "Hello10.51", ""},
		{"upper", func(t *testing.T) Expr { return mustCall(t, "upper", col(2, text)) }, "HELLO", ""},
		{"substring negative", func(t *testing.T) Expr { return mustCall(t, "substring", col(2, text), ci(-3), ci(2)) }, "ll", ""},
		{"substring zero", func(t *testing.T) Expr { return mustCall(t, "substring", col(2, text), ci(0)) }, "", ""},
		{"replace", func(t *testing.T) Expr { return mustCall(t, "replace", col(2, text), cs("l"), cs("L")) }, "HeLLo", ""},
		{"round half away", func(t *testing.T) Expr { return mustCall(t, "round", cd("-2.5")) }, "-3", ""},
		{"round negative digits", func(t *testing.T) Expr { return mustCall(t, "round", ci(1250), ci(-2)) }, "1300", ""},
		{"round decimal digits", func(t *testing.T) Expr { return mustCall(t, "round", cd("1.005"), ci(2)) }, "1.01", ""},
		{"floor decimal", func(t *testing.T) Expr { return mustCall(t, "floor", cd("-1.5")) }, "-2", ""},
		{"power overflow", func(t *testing.T) Expr { return mustCall(t, "power", ci(10), ci(400)) }, "", sqlerr.NumericValueOutOfRange},
		{"json extract nested", func(t *testing.T) Expr {
			return mustCall(t, "json_extract", cs(`{"a":[{"b":"x"}]}`), cs("$.a[0].b"))
		}, `"x"`, ""},
		{"json extract bad json", func(t *testing.T) Expr { return mustCall(t, "json_extract", cs(`{`), cs("$.a")) }, "", sqlerr.InvalidJSONText},
		// MySQL 8 reads 2.50 in JSON text as the DOUBLE 2.5.
		{"json extract many", func(t *testing.T) Expr {
			return mustCall(t, "json_extract", cs(`{"a":1,"b":2.50}`), cs("$.a"), cs("$.b"))
		}, `[1, 2.5]`, ""},
		{"cast bool to text", func(t *testing.T) Expr { return &Cast{Arg: cb(true), To: types.TypeText} }, "1", ""},
		{"cast varchar truncates", func(t *testing.T) Expr { return &Cast{Arg: cs("héllo"), To: types.VarcharType(2)} }, "hé", ""},
		{"cast float to int rounds", func(t *testing.T) Expr { return &Cast{Arg: cf(-2.5), To: types.TypeBigInt} }, "-2", ""}, // half to even, as MySQL's rint
		{"cast float to int rounds up", func(t *testing.T) Expr { return &Cast{Arg: cf(-3.5), To: types.TypeBigInt} }, "-4", ""},
		{"cast to smallint range", func(t *testing.T) Expr { return &Cast{Arg: ci(40000), To: types.TypeSmallInt} }, "", sqlerr.NumericValueOutOfRange},
		{"cast timestamp to date", func(t *testing.T) Expr {
			return &Cast{Arg: &Const{Value: types.NewTimestamp(-1), Typ: types.TypeTimestamp}, To: types.TypeDate}
		}, "1969-12-31", ""},
		{"cast ts precision rounds", func(t *testing.T) Expr {
			return &Cast{Arg: &Const{Value: types.NewTimestamp(1500), Typ: types.TypeTimestamp}, To: types.Type{Kind: types.Timestamp, Precision: 3}}
		}, "1970-01-01 00:00:00.002", ""},
		{"cast json string to text", func(t *testing.T) Expr { return &Cast{Arg: NewConst(types.NewJSON(`"a"`)), To: types.TypeBigInt} }, "", sqlerr.InvalidTextRepresentation},
		{"cast interval text", func(t *testing.T) Expr { return &Cast{Arg: cs("1 day 02:00:00"), To: types.TypeInterval} }, "26:00:00", ""},
		{"case", func(t *testing.T) Expr {
			e, err := NewCase(col(0, bigint), []When{{Cond: ci(1), Result: cs("one")}, {Cond: ci(7), Result: ci(7)}}, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}, "7", ""},
		{"interval arithmetic", func(t *testing.T) Expr {
			a, _ := NewUnitCall("interval", "day_hour", 0, cs("1 2"))
			b, _ := NewUnitCall("interval", "minute", 0, ci(30))
			return mustCall(t, "+", a, b)
		}, "26:30:00", ""},
		{"timestamp minus timestamp", func(t *testing.T) Expr {
			return mustCall(t, "-", &Const{Value: types.NewTimestamp(90 * 1e6), Typ: types.TypeTimestamp}, &Const{Value: types.NewTimestamp(0), Typ: types.TypeTimestamp})
		}, "00:01:30", ""},
		{"now is fixed", func(t *testing.T) Expr { return mustCall(t, "now", ci(3)) }, "2024-01-02 03:04:05.678", ""},
		{"param by text", func(t *testing.T) Expr { return mustCall(t, "+", &Param{Index: 0}, ci(1)) }, "", sqlerr.UndefinedParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eval(t, tt.e(t), row)
			if tt.code != "" {
				if sqlerr.CodeOf(err) != tt.code {
					t.Fatalf("got %v, %v; want error %s", got, err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if got.String() != tt.want {
				t.Fatalf("got %q, want %q", got.String(), tt.want)
			}
		})
	}
}

func TestNewCall_Errors(t *testing.T) {
	tests := []struct {
		name string
		args []Expr
		code sqlerr.Code
	}{
		{"nosuch", nil, sqlerr.UndefinedFunction},
		{"abs", []Expr{ci(1), ci(2)}, sqlerr.UndefinedFunction},
		{"+", []Expr{ci(1), &Const{Value: types.NewInterval(0, 1), Typ: types.TypeInterval}}, sqlerr.DatatypeMismatch},
		{"=", []Expr{ci(1), &Const{Value: types.NewInterval(0, 1), Typ: types.TypeInterval}}, sqlerr.DatatypeMismatch},
		{"date_add", []Expr{cs("2024-01-01"), ci(1)}, sqlerr.DatatypeMismatch},
	}
	for _, tt := range tests {
		_, err := NewCall(tt.name, 7, tt.args...)
		if sqlerr.CodeOf(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
		if e := sqlerr.Flatten(err); e.Position != 7 {
			t.Errorf("%s: position %d, want 7", tt.name, e.Position)
		}
	}
}

func TestAgg(t *testing.T) {
	tests := []struct {
		name     string
		distinct bool
		arg      types.Type
		in       []types.Value
		want     string
	}{
		{"sum", false, types.TypeBigInt, []types.Value{types.NewInt(math.MaxInt64), types.NewInt(1), types.Null}, "9223372036854775808"},
		{"avg", false, types.TypeBigInt, []types.Value{types.NewInt(1), types.NewInt(2)}, "1.5000"},
		{"avg", false, types.TypeDouble, []types.Value{types.NewFloat(1), types.NewFloat(2)}, "1.5"},
		{"count", true, types.TypeBigInt, []types.Value{types.NewInt(1), types.NewInt(1), types.Null, types.NewInt(2)}, "2"},
		{"sum", true, types.DecimalType(5, 2), []types.Value{types.NewDecimal("1.50"), types.NewDecimal("1.5"), types.NewDecimal("2.00")}, "3.50"},
		{"min", false, types.TypeText, []types.Value{types.NewString("b"), types.Null, types.NewString("a")}, "a"},
		{"max", false, types.TypeBigInt, nil, "NULL"},
		{"sum", false, types.TypeBigInt, nil, "NULL"},
		{"count", false, types.TypeBigInt, nil, "0"},
	}
	for _, tt := range tests {
		a, err := NewAgg(tt.name, tt.distinct, &ColumnRef{Typ: tt.arg}, 0)
		if err != nil {
			t.Fatal(err)
		}
		st := a.NewState(nil)
		for _, v := range tt.in {
			if err := st.Add(v); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.Result()
		if err != nil || got.String() != tt.want {
			t.Errorf("%s: got %v, %v; want %s", a, got, err, tt.want)
		}
	}
}

func TestLikeMatch(t *testing.T) {
	tests := []struct {
		s, p string
		want bool
	}{
		{"", "", true}, {"", "%", true}, {"a", "", false}, {"abc", "%%c", true}, {"abc", "a%b%c%", true},
		{"abc", "_", false}, {"ab", "__", true}, {"a%", `a\%`, true}, {"ab", `a\%`, false}, {`a\`, `a\`, true},
		{"mississippi", "%iss%ppi", true}, {"mississippi", "m%ss%x", false},
	}
	for _, tt := range tests {
		if got := likeMatch(tt.s, tt.p, '\\'); got != tt.want {
			t.Errorf("%q LIKE %q = %v, want %v", tt.s, tt.p, got, tt.want)
		}
	}
}
