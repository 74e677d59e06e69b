package exec

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// fixedRowsIter yields fixed rows; Close records that it was called.
type fixedRowsIter struct {
	rows   []types.Row
	i      int
	closed bool
}

func (r *fixedRowsIter) Next(ctx context.Context) (types.Row, error) {
	if r.i >= len(r.rows) {
		return nil, io.EOF
	}
	r.i++
	return r.rows[r.i-1], nil
}

func (r *fixedRowsIter) Close() { r.closed = true }

func testInts(vs ...any) types.Row {
	row := make(types.Row, len(vs))
	for i, v := range vs {
		if v != nil {
			row[i] = types.NewInt(int64(v.(int)))
		}
	}
	return row
}

func renderRows(rows []types.Row) string {
	var out []string
	for _, r := range rows {
		out = append(out, r.String())
	}
	return strings.Join(out, "; ")
}

func testColFunc(i int) expr.Func {
	f, _ := expr.Compile(&expr.ColumnRef{Index: i, Typ: types.TypeBigInt})
	return f
}

func TestRowIters(t *testing.T) {
	ctx := context.Background()
	data := func() *fixedRowsIter {
		return &fixedRowsIter{rows: []types.Row{testInts(3, 1), testInts(nil, 2), testInts(1, 3), testInts(3, 4), testInts(2, nil)}}
	}
	tests := []struct {
		name string
		it   func(t *testing.T) RowIter
		want string
	}{
		{"sort asc nulls last", func(*testing.T) RowIter { return NewSortIter(data(), []SortKey{{Column: 0}}) },
			"1 3; 2 NULL; 3 1; 3 4; NULL 2"},
		{"sort desc nulls first, stable", func(*testing.T) RowIter {
			return NewSortIter(data(), []SortKey{{Column: 0, Desc: true, NullsFirst: true}})
		}, "NULL 2; 3 1; 3 4; 2 NULL; 1 3"},
		{"limit offset", func(*testing.T) RowIter { return NewLimitIter(data(), 2, 1) }, "NULL 2; 1 3"},
		{"limit zero", func(*testing.T) RowIter { return NewLimitIter(data(), 0, 0) }, ""},
		{"offset past end", func(*testing.T) RowIter { return NewLimitIter(data(), -1, 10) }, ""},
		{"union all", func(*testing.T) RowIter {
			return NewUnionAllIter(NewLimitIter(data(), 1, 0), &fixedRowsIter{}, NewLimitIter(data(), 1, 4))
		},
			"3 1; 2 NULL"},
		{"aggregate by key", func(t *testing.T) RowIter {
			count, err := expr.NewAgg("count", false, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := expr.NewAgg("sum", false, &expr.ColumnRef{Index: 1, Typ: types.TypeBigInt}, 0)
			if err != nil {
				t.Fatal(err)
			}
			arg, err := expr.Compile(sum.Arg)
			if err != nil {
				t.Fatal(err)
			}
			return NewAggregateIter(data(), []expr.Func{testColFunc(0)}, []*expr.Agg{count, sum}, []expr.Func{nil, arg}, &expr.Env{})
		}, "3 2 5; NULL 1 2; 1 1 3; 2 1 NULL"},
		{"aggregate without keys over nothing", func(t *testing.T) RowIter {
			count, _ := expr.NewAgg("count", false, nil, 0)
			return NewAggregateIter(&fixedRowsIter{}, nil, []*expr.Agg{count}, []expr.Func{nil}, &expr.Env{})
		}, "0"},
		{"series down", func(t *testing.T) RowIter {
			s, err := NewSeriesIter(5, 1, -2)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "5; 3; 1"},
		{"series at the top of bigint", func(t *testing.T) RowIter {
			s, err := NewSeriesIter(9223372036854775805, 9223372036854775807, 2)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, "9223372036854775805; 9223372036854775807"},
		{"series empty", func(t *testing.T) RowIter {
			s, _ := NewSeriesIter(2, 1, 1)
			return s
		}, ""},
		{"filter and project", func(t *testing.T) RowIter {
			gt, err := expr.NewCall(">", 0, &expr.ColumnRef{Index: 0, Typ: types.TypeBigInt}, expr.NewConst(types.NewInt(1)))
			if err != nil {
				t.Fatal(err)
			}
			pred, err := expr.CompilePredicate(gt)
			if err != nil {
				t.Fatal(err)
			}
			return NewProjectIter(NewFilterIter(data(), pred, &expr.Env{}), []expr.Func{testColFunc(1)}, &expr.Env{})
		}, "1; 4; NULL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := Drain(ctx, tt.it(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := renderRows(rows); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSeries_StepZero(t *testing.T) {
	if _, err := NewSeriesIter(1, 2, 0); sqlerr.CodeOf(err) != sqlerr.InvalidParameterValue {
		t.Fatalf("step 0: %v", err)
	}
}

func TestClosePropagates(t *testing.T) {
	in := &fixedRowsIter{}
	NewLimitIter(NewSortIter(in, nil), 1, 0).Close()
	if !in.closed {
		t.Fatal("Close did not reach the input")
	}
}
