package exec

import (
	"context"
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
