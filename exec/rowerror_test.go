package exec

import (
	"context"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// overflowsAt4 is a key that cannot be computed for k = 4, as k * 2^62.
func overflowsAt4(row types.Row, _ *expr.Env) (types.Value, error) {
	if !row[0].IsNull() && row[0].Int() == 4 {
		return types.Null, sqlerr.Newf(sqlerr.NumericValueOutOfRange, "BIGINT value is out of range in '*'")
	}
	return row[0], nil
}

// TestHashJoin_ExprErrors: in a view (errs set) a join key that cannot be
// computed is NULL, so the row matches nothing and an outer side keeps it
// padded; a condition that cannot be computed does not pass. Each is
// counted. Without errs (a one-off query) the join fails.
func TestHashJoin_ExprErrors(t *testing.T) {
	failingCond := func(row types.Row, _ *expr.Env) (bool, error) {
		if row[1].Int() == 10 {
			return false, sqlerr.Newf(sqlerr.DivisionByZero, "division by zero")
		}
		return true, nil
	}
	tests := []struct {
		name   string
		outer  []bool
		cond   bool
		steps  []joinStep
		want   []string // emitted after each step, joined by "|"
		errors int64
		last   string
	}{
		{
			name:   "a key that cannot be computed matches nothing",
			steps:  []joinStep{{0, Insert, 4, 10}, {1, Insert, 4, 20}, {1, Insert, 1, 30}, {0, Insert, 1, 40}},
			want:   []string{"", "", "", "+ 1 40 1 30"},
			errors: 2,
			last:   "join key k * 2^62: BIGINT value is out of range in '*'",
		},
		{
			name:   "an outer side keeps it with NULLs, and retracts it",
			outer:  []bool{true, false},
			steps:  []joinStep{{0, Insert, 4, 10}, {1, Insert, 4, 20}, {0, Delete, 4, 10}},
			want:   []string{"+ 4 10 . .", "", "- 4 10 . ."},
			errors: 3,
			last:   "join key k * 2^62: BIGINT value is out of range in '*'",
		},
		{
			name:   "a condition that cannot be computed does not pass",
			cond:   true,
			steps:  []joinStep{{0, Insert, 1, 10}, {0, Insert, 1, 11}, {1, Insert, 1, 20}},
			want:   []string{"", "", "+ 1 11 1 20"},
			errors: 1,
			last:   "join condition a / 0: division by zero",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, absorb := range []bool{true, false} {
				var errs *ExprErrors
				if absorb {
					errs = &ExprErrors{}
				}
				o := JoinOptions{LeftKeys: []expr.Func{overflowsAt4}, RightKeys: []expr.Func{overflowsAt4},
					KeyTexts: [2][]string{{"k * 2^62"}, {"k * 2^62"}}, LeftWidth: 2, RightWidth: 2, CloseKey: -1, Errs: errs}
				copy(o.Outer[:], tc.outer)
				if tc.cond {
					o.Cond, o.CondText = failingCond, "a / 0"
				}
				j, err := NewHashJoin(o)
				if err != nil {
					t.Fatal(err)
				}
				mustOpen(t, j, newAggMemState())
				var failed error
				for i, s := range tc.steps {
					b := NewBatch(1)
					b.Append(s.op, testJoinRow(s.k, s.v))
					var rec aggRecorder
					if failed = j.Process(context.Background(), s.side, b, &rec); failed != nil {
						break
					}
					got := strings.ReplaceAll(strings.TrimSuffix(rec.String(), "\n"), "\n", "|")
					if got != tc.want[i] {
						t.Fatalf("step %d: emitted %q, want %q", i, got, tc.want[i])
					}
				}
				if !absorb {
					if failed == nil {
						t.Fatal("without ExprErrors the join did not fail")
					}
					continue
				}
				if failed != nil {
					t.Fatal(failed)
				}
				last, _ := errs.Last()
				if errs.Count() != tc.errors || last.String() != tc.last {
					t.Errorf("errors %d, last %q; want %d, %q", errs.Count(), last.String(), tc.errors, tc.last)
				}
			}
		})
	}
}
