package expr

import (
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// filterProject is WHERE id % 7 = 3 AND amount > 10.5 AND flag IS NOT NULL
// then SELECT qty * 2 + id, amount * 1.1, amount BETWEEN 1 AND 100 over
// rows (id BIGINT, amount DOUBLE, qty INT, flag BOOLEAN).
func filterProject(tb testing.TB) (func(types.Row, *Env) (bool, error), []Func) {
	tb.Helper()
	id, amount, qty, flag := col(0, types.TypeBigInt), col(1, types.TypeDouble), col(2, types.TypeInt), col(3, types.TypeBool)
	call := func(name string, args ...Expr) Expr {
		c, err := NewCall(name, 0, args...)
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	cond := call("and", call("and",
		call("=", call("%", id, ci(7)), ci(3)),
		call(">", amount, cd("10.5"))),
		call("isnotnull", flag))
	pred, err := CompilePredicate(cond)
	if err != nil {
		tb.Fatal(err)
	}
	var proj []Func
	for _, e := range []Expr{
		call("+", call("*", qty, ci(2)), id),
		call("*", amount, cd("1.1")),
		call("between", amount, ci(1), ci(100)),
	} {
		f, err := Compile(e)
		if err != nil {
			tb.Fatal(err)
		}
		proj = append(proj, f)
	}
	return pred, proj
}

func benchRows(n int) []types.Row {
	rows := make([]types.Row, n)
	for i := range rows {
		rows[i] = types.Row{types.NewInt(int64(i)), types.NewFloat(float64(i%50) + 0.25), types.NewInt(int64(i % 1000)), types.NewBool(i%3 == 0)}
	}
	return rows
}

func runFilterProject(pred func(types.Row, *Env) (bool, error), proj []Func, rows []types.Row, out types.Row, env *Env) int {
	n := 0
	for _, r := range rows {
		ok, err := pred(r, env)
		if err != nil {
			panic(err)
		}
		if !ok {
			continue
		}
		for i, f := range proj {
			v, err := f(r, env)
			if err != nil {
				panic(err)
			}
			out[i] = v
		}
		n++
	}
	return n
}

func BenchmarkFilterProject(b *testing.B) {
	pred, proj := filterProject(b)
	rows := benchRows(1024)
	out := make(types.Row, len(proj))
	env := &Env{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runFilterProject(pred, proj, rows, out, env)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
}

// TestFilterProject_NoAllocs holds the brief's promise: numeric paths do
// not allocate per row.
func TestFilterProject_NoAllocs(t *testing.T) {
	pred, proj := filterProject(t)
	rows := benchRows(256)
	out := make(types.Row, len(proj))
	env := &Env{}
	if n := runFilterProject(pred, proj, rows, out, env); n == 0 {
		t.Fatal("no row passed the filter")
	}
	if allocs := testing.AllocsPerRun(10, func() { runFilterProject(pred, proj, rows, out, env) }); allocs != 0 {
		t.Fatalf("%v allocations per run of 256 rows, want 0", allocs)
	}
}

// TestFilterProject_NoAllocsWithWarn: a view's Env listens for warnings
// (it counts them with the view's expression errors); a row that raises
// none costs nothing more.
func TestFilterProject_NoAllocsWithWarn(t *testing.T) {
	pred, proj := filterProject(t)
	rows := benchRows(256)
	out := make(types.Row, len(proj))
	warned := 0
	env := &Env{Warn: func(*sqlerr.Error) { warned++ }}
	if allocs := testing.AllocsPerRun(10, func() { runFilterProject(pred, proj, rows, out, env) }); allocs != 0 {
		t.Fatalf("%v allocations per run of 256 rows, want 0", allocs)
	}
	if warned != 0 {
		t.Fatalf("%d warnings from numeric rows", warned)
	}
}

// BenchmarkDecimalDiv is Nexmark q1's price * 908 / 1000 (BIGINT
// operands, a DECIMAL quotient), on the int64 path and on apd's.
//
//	go test -run XXX -bench DecimalDiv -benchmem ./exec/expr/
func BenchmarkDecimalDiv(b *testing.B) {
	price := col(0, types.TypeBigInt)
	call := func(name string, args ...Expr) Expr {
		c, err := NewCall(name, 0, args...)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	f, err := Compile(call("/", call("*", price, ci(908)), ci(1000)))
	if err != nil {
		b.Fatal(err)
	}
	row := types.Row{types.Null}
	b.Run("expr", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			row[0] = types.NewInt(int64(1000 + i%100000))
			if _, err := f(row, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apd", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := apdDecimalArith("/", dynamicScale, "12345678", "1000"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("int64", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := smallDecimalArith("/", dynamicScale, "12345678", "1000"); !ok {
				b.Fatal("declined")
			}
		}
	})
}

// BenchmarkDecimalInnerDiv is a quotient computed on (x / 3 * 3, the
// quotient kept to MySQL's 9-digit word) beside one shown (x / 3).
//
//	go test -run XXX -bench DecimalInnerDiv -benchmem ./exec/expr/
func BenchmarkDecimalInnerDiv(b *testing.B) {
	x := col(0, types.DecimalType(10, 2))
	call := func(name string, args ...Expr) Expr {
		c, err := NewCall(name, 0, args...)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	for _, tt := range []struct {
		name string
		e    Expr
	}{
		{"shown", call("/", x, ci(3))},
		{"inner", call("*", call("/", x, ci(3)), ci(3))},
	} {
		f, err := Compile(tt.e)
		if err != nil {
			b.Fatal(err)
		}
		row := types.Row{types.NewDecimal("1234.56")}
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f(row, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStrings holds the hot string paths (LIKE with a constant
// pattern, CONCAT, = and < on text columns) to their cost: a COLLATE
// clause elsewhere must not slow the binary default.
//
//	go test -run XXX -bench Strings -benchmem ./exec/expr/
func BenchmarkStrings(b *testing.B) {
	s, t := col(0, types.TypeText), col(1, types.TypeText)
	call := func(name string, args ...Expr) Expr {
		c, err := NewCall(name, 0, args...)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	row := types.Row{types.NewString("auction-12345/bidder-é"), types.NewString("auction-12345/bidder-f")}
	for _, bc := range []struct {
		name string
		e    Expr
	}{
		{"like", call("like", s, cs("%bidder-_"), cs(`\`))},
		{"concat", call("concat", s, cs("/"), t)},
		{"eq", call("=", s, t)},
		{"lt", call("<", s, t)},
		{"eq_ai_ci", call("=", call("collate", s, cs("utf8mb4_0900_ai_ci")), t)},
		{"like_ai_ci", call("like", call("collate", s, cs("utf8mb4_0900_ai_ci")), cs("%bidder-_"), cs(`\`))},
	} {
		f, err := Compile(bc.e)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f(row, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
