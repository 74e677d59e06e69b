package exec

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"slices"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// endlessIter yields rows (i, i % 7) without end and never looks at its
// context, like an input that is busy elsewhere; it counts what it yields.
type endlessIter struct{ n int64 }

func (e *endlessIter) Next(context.Context) (types.Row, error) {
	e.n++
	return types.Row{types.NewInt(e.n), types.NewInt(e.n % 7)}, nil
}

func (e *endlessIter) Close() {}

// TestRowIters_Cancel: every iterator loop that reads its input without
// returning a row stops with the context's error within one check period
// of the context being done, whatever its input does.
func TestRowIters_Cancel(t *testing.T) {
	never := func(types.Row, *expr.Env) (bool, error) { return false, nil }
	sum, err := expr.NewAgg("sum", false, &expr.ColumnRef{Index: 0, Typ: types.TypeBigInt}, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		iter func(in RowIter) RowIter
	}{
		{"filter", func(in RowIter) RowIter { return NewFilterIter(in, never, &expr.Env{}) }},
		{"offset", func(in RowIter) RowIter { return NewLimitIter(in, 1, 1<<62) }},
		{"sort", func(in RowIter) RowIter { return NewSortIter(in, []SortKey{{Column: 1}}) }},
		{"aggregate", func(in RowIter) RowIter {
			return NewAggregateIter(in, []expr.Func{testColFunc(1)}, []*expr.Agg{sum}, []expr.Func{testColFunc(0)}, &expr.Env{})
		}},
		{"hash join build", func(in RowIter) RowIter {
			return NewHashJoinIter(&fixedRowsIter{rows: []types.Row{testInts(1)}}, in,
				[]expr.Func{testColFunc(0)}, []expr.Func{testColFunc(0)}, nil, &expr.Env{})
		}},
		{"hash join probe", func(in RowIter) RowIter {
			right := make([]types.Row, 10)
			for i := range right {
				right[i] = testInts(i)
			}
			// Every left row meets every right row, and the condition
			// passes none.
			return NewHashJoinIter(in, &fixedRowsIter{rows: right}, nil, nil, never, &expr.Env{})
		}},
	}
	for _, tt := range tests {
		for _, how := range []string{"canceled", "deadline"} {
			t.Run(tt.name+"/"+how, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				want := context.Canceled
				if how == "deadline" {
					ctx, cancel = context.WithTimeout(context.Background(), 0)
					want = context.DeadlineExceeded
				}
				cancel()
				in := &endlessIter{}
				_, err := tt.iter(in).Next(ctx)
				if !errors.Is(err, want) {
					t.Fatalf("Next = %v, want %v", err, want)
				}
				if in.n > 2*cancelCheckEvery {
					t.Fatalf("read %d input rows after the context was done", in.n)
				}
			})
		}
	}
}

// TestSeries_Cancel: the series looks at its context by rows yielded, so
// a step that never lands on a round value does not dodge it.
func TestSeries_Cancel(t *testing.T) {
	for _, step := range []int64{1, 2048, -3, 1 << 40} {
		s, err := NewSeriesIter(1, 1<<62, step)
		if step < 0 {
			s, err = NewSeriesIter(-1, -1<<62, step)
		}
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		n := 0
		for ; n <= cancelCheckEvery; n++ {
			if _, err = s.Next(ctx); err != nil {
				break
			}
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("step %d: %d rows, then %v; want context.Canceled within %d rows", step, n, err, cancelCheckEvery)
		}
	}
}

// cancelAtEOF yields fixed rows and cancels a context when they run out:
// the sort has read everything and must notice while it sorts.
type cancelAtEOF struct {
	fixedRowsIter
	cancel func()
}

func (c *cancelAtEOF) Next(ctx context.Context) (types.Row, error) {
	row, err := c.fixedRowsIter.Next(ctx)
	if err == io.EOF {
		c.cancel()
	}
	return row, err
}

func TestSortIter_CancelWhileSorting(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	rows := make([]types.Row, 100000)
	for i := range rows {
		rows[i] = testInts(r.Intn(1000))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := &cancelAtEOF{fixedRowsIter: fixedRowsIter{rows: rows}, cancel: cancel}
	if _, err := NewSortIter(in, []SortKey{{Column: 0}}).Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next = %v, want context.Canceled", err)
	}
}

// TestSortRows checks the run-and-merge sort against the standard
// library's stable sort, around the run length, with many equal keys.
func TestSortRows(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	cmp := func(a, b types.Row) int { return expr.Compare(a[0], b[0]) }
	for _, n := range []int{0, 1, 2, sortRunLen - 1, sortRunLen, sortRunLen + 1, 3*sortRunLen + 5, 8 * sortRunLen, 100003} {
		rows := make([]types.Row, n)
		for i := range rows {
			// Column 1 is the input position: equal keys must keep it in order.
			rows[i] = types.Row{types.NewInt(int64(r.Intn(n/10 + 1))), types.NewInt(int64(i))}
		}
		want := slices.Clone(rows)
		slices.SortStableFunc(want, cmp)
		if err := sortRows(context.Background(), rows, cmp); err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			if rows[i][0] != want[i][0] || rows[i][1] != want[i][1] {
				t.Fatalf("n=%d: row %d = %v, want %v", n, i, rows[i], want[i])
			}
		}
	}
}
