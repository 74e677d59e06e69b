package exec

import (
	"context"
	"fmt"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// TestCacheBudget_BoundsJoins: two joins sharing a budget far smaller than
// their own bounds keep their caches together near it, answer as they
// would without it, and give their bytes back when closed.
func TestCacheBudget_BoundsJoins(t *testing.T) {
	const limit = 20_000
	budget := NewCacheBudget(limit)
	var joins [2]*HashJoin
	for i := range joins {
		o := JoinOptions{LeftKeys: []expr.Func{col(0, "k", types.TypeBigInt)}, RightKeys: []expr.Func{col(0, "k", types.TypeBigInt)},
			LeftWidth: 2, RightWidth: 2, CloseKey: -1, Budget: budget}
		j, err := NewHashJoin(o)
		if err != nil {
			t.Fatal(err)
		}
		mustOpen(t, j, newAggMemState())
		joins[i] = j
	}
	pairs := 0
	for k := int64(0); k < 500; k++ {
		for i, j := range joins {
			for side := range 2 {
				b := NewBatch(1)
				b.Append(Insert, testJoinRow(k, int64(i)))
				var rec aggRecorder
				if err := j.Process(context.Background(), side, b, &rec); err != nil {
					t.Fatal(err)
				}
				pairs += len(rec.rows)
			}
			// One key's entry may come in over the limit before the next
			// one makes room.
			if used := budget.Used(); used > limit+1000 {
				t.Fatalf("after key %d: the caches hold %d bytes, over the budget of %d", k, used, limit)
			}
		}
	}
	if pairs != 1000 {
		t.Fatalf("%d pairs, want 1000 (one per key and join)", pairs)
	}
	for _, j := range joins {
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if used := budget.Used(); used != 0 {
		t.Fatalf("%d bytes still counted after Close", used)
	}
}

// TestHashJoin_StopsOnCancel: a cancelled context ends a long batch.
func TestHashJoin_StopsOnCancel(t *testing.T) {
	j := newTestJoin(t, false, newAggMemState(), 0)
	b := NewBatch(1000)
	for i := range 1000 {
		b.Append(Insert, testJoinRow(1, int64(i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var rec aggRecorder
	if err := j.Process(ctx, 0, b, &rec); err == nil {
		t.Fatal("Process of a cancelled context finished its batch")
	}
}

// newBudgetAgg returns an opened HashAgg of count(*), sum(v) per k whose
// groups count in budget, with no group-count bound of its own.
func newBudgetAgg(t *testing.T, budget *CacheBudget) *HashAgg {
	t.Helper()
	cols := benchCols()
	kf, aggs := mustKeysAggs(t, cols, "k", "count(*),sum(v)")
	a, err := NewHashAgg(AggOptions{Keys: kf, Aggs: aggs, Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, a, newAggMemState())
	return a
}

// TestCacheBudget_BoundsAggregates: two aggregates sharing a budget far
// smaller than their groups keep their caches within it at every
// barrier, read the groups they let go back from state with the right
// counts, and give their bytes back when closed.
func TestCacheBudget_BoundsAggregates(t *testing.T) {
	const limit, keys = 50_000, 2000
	budget := NewCacheBudget(limit)
	aggs := [2]*HashAgg{newBudgetAgg(t, budget), newBudgetAgg(t, budget)}
	ctx := context.Background()
	for round := int64(1); round <= 2; round++ {
		for k := int64(0); k < keys; k += 100 {
			for _, a := range aggs {
				b := NewBatch(100)
				for i := k; i < k+100; i++ {
					b.Append(Insert, types.Row{types.NewInt(i), types.NewTimestamp(0), types.NewInt(round)})
				}
				if err := a.Process(ctx, 0, b, &aggRecorder{}); err != nil {
					t.Fatal(err)
				}
				var rec aggRecorder
				if err := a.OnBarrier(ctx, Barrier{}, &rec); err != nil {
					t.Fatal(err)
				}
				if used := budget.Used(); used > limit {
					t.Fatalf("round %d, keys from %d: the caches hold %d bytes after a barrier, over the budget of %d", round, k, used, limit)
				}
				// Each key's change: in round 1 an insert of (k, 1, 1);
				// in round 2 (k, 1, 1) becomes (k, 2, 3).
				want := 100 * int(round)
				if len(rec.rows) != want {
					t.Fatalf("round %d: %d changes for 100 keys, want %d", round, len(rec.rows), want)
				}
				for i, row := range rec.rows {
					if round == 2 && rec.ops[i] == UpdateDelete {
						continue
					}
					if row[1].String() != fmt.Sprint(round) || row[2].String() != fmt.Sprint(round*(round+1)/2) {
						t.Fatalf("round %d: %s %v, want count %d and sum %d", round, rec.ops[i], row, round, round*(round+1)/2)
					}
				}
			}
		}
	}
	if n := aggs[0].Groups(); n >= keys {
		t.Fatalf("%d groups in memory: the budget let none go", n)
	}
	for _, a := range aggs {
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if used := budget.Used(); used != 0 {
		t.Fatalf("%d bytes still counted after Close", used)
	}
}

// TestCacheBudget_KeepsGroupsWithin: an aggregate with a budget and no
// group-count bound keeps every group in memory while they fit, more than
// the 65,536 of an aggregate with neither.
func TestCacheBudget_KeepsGroupsWithin(t *testing.T) {
	const keys = 100_000
	budget := NewCacheBudget(1 << 30)
	a := newBudgetAgg(t, budget)
	ctx := context.Background()
	b := NewBatch(keys)
	for i := range int64(keys) {
		b.Append(Insert, types.Row{types.NewInt(i), types.NewTimestamp(0), types.NewInt(1)})
	}
	if err := a.Process(ctx, 0, b, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	if err := a.OnBarrier(ctx, Barrier{}, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	if n := a.Groups(); n != keys {
		t.Fatalf("%d groups in memory, want all %d", n, keys)
	}
	if used := budget.Used(); used < keys*100 {
		t.Fatalf("the budget counts %d bytes for %d groups", used, keys)
	}
}
