package exec

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
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
	const spec = "count(*),count(v),sum(v),min(v),max(v),count(distinct v)"
	runAggDiff(t, seed, appendOnly, spec, func(view map[string]types.Row, live []types.Row) {
		want := recomputeAggs(live)
		if len(want) != len(view) {
			t.Fatalf("%d groups, want %d", len(view), len(want))
		}
		for k, w := range want {
			if got := view[k]; got.String() != w {
				t.Errorf("group %s: got %v, want %s", k, got, w)
			}
		}
	})
}

// runAggDiff drives a HashAgg of the aggregates spec over k, v through
// random inserts, deletes, barriers and reopens; check compares the view
// its changelog builds with the rows left.
func runAggDiff(t *testing.T, seed uint64, appendOnly bool, spec string, check func(view map[string]types.Row, live []types.Row)) {
	rng := rand.New(rand.NewPCG(seed, 7))
	cols := []testCol{{"k", types.TypeText}, {"v", types.TypeBigInt}}
	keys, aggs := mustKeysAggs(t, cols, "k", spec)
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
	check(view, live)
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

// The multiset and statistics aggregates against a plain-Go evaluation of
// the rows left, after random retractions, barriers and reopens.
func TestHashAgg_DifferentialMultiset(t *testing.T) {
	const spec = "group_concat(v),bit_and(v),bit_or(v),bit_xor(v),var_pop(v),stddev_samp(v),json_arrayagg(v),bit_or(distinct v)"
	check := func(t *testing.T) func(map[string]types.Row, []types.Row) {
		return func(view map[string]types.Row, live []types.Row) {
			want := recomputeMultiset(live)
			if len(want) != len(view) {
				t.Fatalf("%d groups, want %d", len(view), len(want))
			}
			for k, w := range want {
				got := view[k]
				if len(got) != len(w) {
					t.Fatalf("group %s: got %v, want %v", k, got, w)
				}
				for i := range w {
					if !closeEnough(got[i], w[i]) {
						t.Errorf("group %s column %d: got %v, want %v", k, i, got[i], w[i])
					}
				}
			}
		}
	}
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runAggDiff(t, seed, false, spec, check(t)) })
	}
	defer func(n int) { maxCachedValues = n }(maxCachedValues)
	maxCachedValues = 3
	for seed := uint64(21); seed <= 40; seed++ {
		t.Run(fmt.Sprint(seed, " few cached values"), func(t *testing.T) { runAggDiff(t, seed, false, spec, check(t)) })
	}
}

// closeEnough compares values as text, and doubles to 1e-9 relative.
func closeEnough(a, b types.Value) bool {
	if a.Kind() == types.Float && b.Kind() == types.Float {
		x, y := a.Float(), b.Float()
		return math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
	}
	return a.Kind() == b.Kind() && a.String() == b.String()
}

// recomputeMultiset evaluates the spec of TestHashAgg_DifferentialMultiset
// per k: values sorted, two-pass variance, bit operations on uint64.
func recomputeMultiset(rows []types.Row) map[string]types.Row {
	vals := map[string][]int64{}
	nulls := map[string]int{} // JSON_ARRAYAGG keeps them, first
	for _, r := range rows {
		k := r[0].Str()
		if _, ok := vals[k]; !ok {
			vals[k] = nil
		}
		if r[1].IsNull() {
			nulls[k]++
		} else {
			vals[k] = append(vals[k], r[1].Int())
		}
	}
	unsigned := func(x uint64) types.Value { return types.NewDecimal(strconv.FormatUint(x, 10)) }
	out := map[string]types.Row{}
	for k, vs := range vals {
		slices.Sort(vs)
		row := types.Row{types.NewString(k)}
		elems := slices.Repeat([]string{"null"}, nulls[k])
		for _, v := range vs {
			elems = append(elems, strconv.FormatInt(v, 10))
		}
		arr := types.NewJSON("[" + strings.Join(elems, ", ") + "]")
		if len(elems) == 0 {
			arr = types.Null
		}
		if len(vs) == 0 {
			max := unsigned(math.MaxUint64)
			out[k] = append(row, types.Null, max, unsigned(0), unsigned(0), types.Null, types.Null, arr, unsigned(0))
			continue
		}
		texts := make([]string, len(vs))
		and, or, xor := uint64(math.MaxUint64), uint64(0), uint64(0)
		var sum float64
		for i, v := range vs {
			texts[i] = strconv.FormatInt(v, 10)
			and, or, xor = and&uint64(v), or|uint64(v), xor^uint64(v)
			sum += float64(v)
		}
		mean := sum / float64(len(vs))
		var m2 float64
		for _, v := range vs {
			m2 += (float64(v) - mean) * (float64(v) - mean)
		}
		sd := types.Null
		if len(vs) > 1 {
			sd = types.NewFloat(math.Sqrt(m2 / float64(len(vs)-1)))
		}
		row = append(row, types.NewString(strings.Join(texts, ",")), unsigned(and), unsigned(or), unsigned(xor),
			types.NewFloat(m2/float64(len(vs))), sd, arr, unsigned(or))
		out[k] = row
	}
	return out
}
