package expr

import (
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// datePaths are the date expressions a view evaluates per row: comparing a
// timestamp column with constants, moving it by an interval, its date and
// one of its fields.
func datePaths(tb testing.TB) []Func {
	tb.Helper()
	ts := &ColumnRef{Index: 0, Typ: types.Type{Kind: types.Timestamp, Precision: 3}, Name: "ts"}
	must := func(e Expr, err error) Expr {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return e
	}
	hour := must(NewUnitCall("interval", "HOUR", 0, ci(1)))
	lit := must(NewCast(cs("2024-01-01 00:00:00"), types.TypeTimestamp, 0))
	exprs := []Expr{
		must(NewCall(">=", 0, ts, lit)),
		must(NewCall("<", 0, ts, cs("2024-06-01"))),
		must(NewCall("date_add", 0, ts, hour)),
		must(NewCall("date_sub", 0, ts, hour)),
		must(NewCall("date", 0, ts)),
		must(NewUnitCall("extract", "HOUR", 0, ts)),
	}
	out := make([]Func, len(exprs))
	for i, e := range exprs {
		e, _ = Fold(e)
		f, err := Compile(e)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = f
	}
	return out
}

func dateRows(n int) []types.Row {
	rows := make([]types.Row, n)
	for i := range rows {
		rows[i] = types.Row{types.NewTimestamp(1_704_067_200_000_000 + int64(i)*7_919_000_000)}
	}
	return rows
}

func runDatePaths(fs []Func, rows []types.Row, env *Env) {
	for _, r := range rows {
		for _, f := range fs {
			if _, err := f(r, env); err != nil {
				panic(err)
			}
		}
	}
}

// TestDatePaths_NoAllocs: the date paths of views do not allocate per row.
func TestDatePaths_NoAllocs(t *testing.T) {
	fs, rows, env := datePaths(t), dateRows(256), &Env{}
	if allocs := testing.AllocsPerRun(10, func() { runDatePaths(fs, rows, env) }); allocs != 0 {
		t.Fatalf("%v allocations per run of 256 rows, want 0", allocs)
	}
}

// BenchmarkDatePaths times each date path alone:
//
//	go test -run '^$' -bench DatePaths -benchmem ./exec/expr/
func BenchmarkDatePaths(b *testing.B) {
	fs, rows, env := datePaths(b), dateRows(1024), &Env{}
	names := []string{"ts>=lit", "ts<text", "date_add", "date_sub", "date", "extract"}
	for i, f := range fs {
		b.Run(names[i], func(b *testing.B) {
			one := []Func{f}
			b.ReportAllocs()
			for n := 0; n < b.N; n++ {
				runDatePaths(one, rows, env)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
		})
	}
}
