package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// TestHashAgg_Differential feeds random inserts and deletes of earlier
// rows through HashAgg, with random barriers, restarts on the same state
// and a tiny cache, applies its changelog to a table, and compares that
// table with a from-scratch computation in plain Go over the final
// multiset of rows. It shares no code with the operator.
// With appendOnly, only inserts, and MIN/MAX keep only their best value.
func TestHashAgg_Differential(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runHashAggDiff(t, seed, false) })
		t.Run(fmt.Sprint(seed, " append-only"), func(t *testing.T) { runHashAggDiff(t, seed, true) })
	}
	// Slots that let their value counts go between epochs, and read them
	// from state again.
	defer func(n int) { maxCachedValues = n }(maxCachedValues)
	maxCachedValues = 3
	for seed := uint64(21); seed <= 60; seed++ {
		t.Run(fmt.Sprint(seed, " few cached values"), func(t *testing.T) { runHashAggDiff(t, seed, false) })
	}
}

func runHashAggDiff(t *testing.T, seed uint64, appendOnly bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	cols := []testCol{{"k", types.TypeText}, {"v", types.TypeBigInt}}
	keys, aggs := mustKeysAggs(t, cols, "k", "count(*),count(v),sum(v),min(v),max(v),count(distinct v)")
	cache := 1 + rng.IntN(4)
	mk := func() *HashAgg {
		a, err := NewHashAgg(AggOptions{Keys: keys, Aggs: aggs, CacheSize: cache, AppendOnly: appendOnly})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	st := NewMemTable()
	op := mk()
	mustOpen(t, op, st)
	ctx := context.Background()

	var live []types.Row           // the current multiset
	view := map[string]types.Row{} // the changelog applied
	out := &aggRecorder{}
	apply := func() {
		for i, op := range out.ops {
			r := out.rows[i]
			k := r[0].String()
			switch op {
			case Insert, UpdateInsert:
				if _, ok := view[k]; ok {
					t.Fatalf("insert of existing group %v", r)
				}
				view[k] = r
			default:
				if old, ok := view[k]; !ok || !rowsEqual(old, r) {
					t.Fatalf("retraction %v does not match %v", r, old)
				}
				delete(view, k)
			}
		}
		out.reset()
	}
	for step := 0; step < 400; step++ {
		b := NewBatch(8)
		for n := rng.IntN(6); n > 0; n-- {
			if !appendOnly && len(live) > 0 && rng.IntN(3) == 0 {
				i := rng.IntN(len(live))
				b.Append(Delete, live[i])
				live = slices.Delete(live, i, i+1)
				continue
			}
			v := types.NewInt(int64(rng.IntN(20) - 5))
			if rng.IntN(6) == 0 {
				v = types.Null
			}
			r := types.Row{types.NewString(string(rune('a' + rng.IntN(6)))), v}
			b.Append(Insert, r)
			live = append(live, r)
		}
		if err := op.Process(ctx, 0, b, out); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(4) == 0 {
			if err := op.OnBarrier(ctx, Barrier{Epoch: uint64(step)}, out); err != nil {
				t.Fatal(err)
			}
			apply()
			if rng.IntN(5) == 0 {
				op = mk()
				mustOpen(t, op, st)
			}
		}
	}
	if err := op.OnBarrier(ctx, Barrier{Epoch: 1 << 20}, out); err != nil {
		t.Fatal(err)
	}
	apply()

	want := recomputeAggs(live)
	if len(want) != len(view) {
		t.Fatalf("%d groups, want %d", len(view), len(want))
	}
	for k, w := range want {
		if got := view[k]; got.String() != w {
			t.Errorf("group %s: got %v, want %s", k, got, w)
		}
	}
}

// recomputeAggs is the batch evaluation: count(*), count(v), sum(v),
// min(v), max(v), count(distinct v) per k, rendered as Row.String.
func recomputeAggs(rows []types.Row) map[string]string {
	type acc struct {
		n, nv, sum int64
		min, max   int64
		distinct   map[int64]bool
	}
	groups := map[string]*acc{}
	for _, r := range rows {
		k := r[0].Str()
		a := groups[k]
		if a == nil {
			a = &acc{distinct: map[int64]bool{}}
			groups[k] = a
		}
		a.n++
		if r[1].IsNull() {
			continue
		}
		v := r[1].Int()
		if a.nv == 0 || v < a.min {
			a.min = v
		}
		if a.nv == 0 || v > a.max {
			a.max = v
		}
		a.nv++
		a.sum += v
		a.distinct[v] = true
	}
	out := map[string]string{}
	for k, a := range groups {
		if a.nv == 0 {
			out[k] = fmt.Sprintf("%s %d 0 NULL NULL NULL 0", k, a.n)
			continue
		}
		out[k] = fmt.Sprintf("%s %d %d %d %d %d %d", k, a.n, a.nv, a.sum, a.min, a.max, len(a.distinct))
	}
	return out
}

// A retraction that reaches MIN/MAX planned for an append-only input is an
// error, never a silently wrong answer.
func TestHashAgg_AppendOnlyRefusesRetraction(t *testing.T) {
	cols := []testCol{{"k", types.TypeText}, {"v", types.TypeBigInt}}
	keys, _, err := parseTestKeys(cols, "k")
	if err != nil {
		t.Fatal(err)
	}
	aggs, err := parseTestAggs(cols, "max(v)")
	if err != nil {
		t.Fatal(err)
	}
	op, err := NewHashAgg(AggOptions{Keys: keys, Aggs: aggs, AppendOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, op, NewMemTable())
	b := NewBatch(2)
	b.Append(Insert, types.Row{types.NewString("a"), types.NewInt(3)})
	b.Append(Delete, types.Row{types.NewString("a"), types.NewInt(3)})
	if err := op.Process(context.Background(), 0, b, &aggRecorder{}); err == nil {
		t.Error("a retraction into an append-only MAX was accepted")
	}
}
