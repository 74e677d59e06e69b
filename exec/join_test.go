package exec

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Join rows in these tests: left (k BIGINT, a BIGINT), right (k BIGINT,
// b BIGINT); joined on k, optionally with a residual a < b.

func testJoinRow(k, v int64) types.Row {
	kv := types.NewInt(k)
	if k < 0 {
		kv = types.Null // a negative key stands for NULL
	}
	return types.Row{kv, types.NewInt(v)}
}

func col(i int, name string, t types.Type) expr.Func {
	f, err := expr.Compile(&expr.ColumnRef{Index: i, Typ: t, Name: name})
	if err != nil {
		panic(err)
	}
	return f
}

func newTestJoin(t testing.TB, residual bool, st StateTable, cacheBytes int, outer ...bool) *HashJoin {
	t.Helper()
	o := JoinOptions{LeftKeys: []expr.Func{col(0, "k", types.TypeBigInt)}, RightKeys: []expr.Func{col(0, "k", types.TypeBigInt)},
		LeftWidth: 2, RightWidth: 2, CloseKey: -1, CacheBytes: cacheBytes}
	copy(o.Outer[:], outer)
	if residual {
		lt, err := expr.NewCall("<", 0, &expr.ColumnRef{Index: 1, Typ: types.TypeBigInt}, &expr.ColumnRef{Index: 3, Typ: types.TypeBigInt})
		if err != nil {
			t.Fatal(err)
		}
		if o.Cond, err = expr.CompilePredicate(lt); err != nil {
			t.Fatal(err)
		}
	}
	j, err := NewHashJoin(o)
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, j, st)
	return j
}

type joinStep struct {
	side int // 0 left, 1 right
	op   Op
	k, v int64
}

func TestHashJoin_Steps(t *testing.T) {
	tests := []struct {
		name     string
		residual bool
		outer    []bool
		steps    []joinStep
		want     []string // emitted changes after each step, joined by "|"
	}{
		{
			name:  "pair made when the later row arrives, either side first",
			steps: []joinStep{{0, Insert, 1, 10}, {1, Insert, 1, 20}, {1, Insert, 2, 30}, {0, Insert, 2, 40}},
			want:  []string{"", "+ 1 10 1 20", "", "+ 2 40 2 30"},
		},
		{
			name:  "duplicates multiply, a delete retracts one copy's pairs",
			steps: []joinStep{{0, Insert, 1, 10}, {0, Insert, 1, 10}, {1, Insert, 1, 20}, {0, Delete, 1, 10}, {1, Delete, 1, 20}},
			want:  []string{"", "", "+ 1 10 1 20|+ 1 10 1 20", "- 1 10 1 20", "- 1 10 1 20"},
		},
		{
			name:  "NULL keys match nothing, not even NULL",
			steps: []joinStep{{0, Insert, -1, 10}, {1, Insert, -1, 20}, {0, Delete, -1, 10}},
			want:  []string{"", "", ""},
		},
		{
			name:  "update halves leave as a delete and an insert",
			steps: []joinStep{{1, Insert, 1, 20}, {0, UpdateInsert, 1, 10}, {0, UpdateDelete, 1, 10}},
			want:  []string{"", "+ 1 10 1 20", "- 1 10 1 20"},
		},
		{
			name:  "left join: a row stands NULL-padded until its first match and after its last",
			outer: []bool{true, false},
			steps: []joinStep{{0, Insert, 1, 10}, {1, Insert, 1, 20}, {1, Insert, 1, 30}, {1, Delete, 1, 20}, {1, Delete, 1, 30}, {0, Insert, -1, 5}, {0, Delete, 1, 10}},
			want: []string{"+ 1 10 . .", "- 1 10 . .|+ 1 10 1 20", "+ 1 10 1 30", "- 1 10 1 20", "- 1 10 1 30|+ 1 10 . .",
				"+ . 5 . .", "- 1 10 . ."},
		},
		{
			name:     "right join with a residual: a pair that fails it is no match",
			residual: true,
			outer:    []bool{false, true},
			steps:    []joinStep{{1, Insert, 1, 20}, {0, Insert, 1, 50}, {0, Insert, 1, 10}, {0, Delete, 1, 10}},
			want:     []string{"+ . . 1 20", "", "- . . 1 20|+ 1 10 1 20", "- 1 10 1 20|+ . . 1 20"},
		},
		{
			name:     "residual condition over the joined row",
			residual: true,
			steps:    []joinStep{{0, Insert, 1, 10}, {0, Insert, 1, 50}, {1, Insert, 1, 20}, {1, Delete, 1, 20}},
			want:     []string{"", "", "+ 1 10 1 20", "- 1 10 1 20"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJoin(t, tc.residual, newAggMemState(), 0, tc.outer...)
			for i, s := range tc.steps {
				b := NewBatch(1)
				b.Append(s.op, testJoinRow(s.k, s.v))
				var rec aggRecorder
				if err := j.Process(context.Background(), s.side, b, &rec); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				got := strings.ReplaceAll(strings.TrimSuffix(rec.String(), "\n"), "\n", "|")
				if got != tc.want[i] {
					t.Fatalf("step %d: emitted %q, want %q", i, got, tc.want[i])
				}
			}
		})
	}
}

func TestHashJoin_DeleteOfUnknownRowFails(t *testing.T) {
	j := newTestJoin(t, false, newAggMemState(), 0)
	b := NewBatch(1)
	b.Append(Delete, testJoinRow(1, 1))
	if err := j.Process(context.Background(), 0, b, &aggRecorder{}); err == nil {
		t.Fatal("a delete of a row never inserted was accepted")
	}
}

// TestHashJoin_MatchesBatchJoin feeds random inserts and deletes to both
// sides, reopening the operator on its state now and then, with a cache
// of all keys or of a few rows, and checks that the sum of what it
// emitted is the batch join of what is left.
func TestHashJoin_MatchesBatchJoin(t *testing.T) {
	for seed := int64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		residual := seed%2 == 0
		cacheBytes := 0
		if seed%4 >= 2 {
			cacheBytes = 1000 // a few rows
		}
		outer := []bool{seed%8 >= 4, seed > 20}
		st := newAggMemState()
		j := newTestJoin(t, residual, st, cacheBytes, outer...)
		live := [2][]types.Row{}
		emitted := map[string]int{}
		for step := 0; step < 400; step++ {
			side := rng.Intn(2)
			op, row := Insert, testJoinRow(int64(rng.Intn(6))-1, int64(rng.Intn(4)))
			if n := len(live[side]); n > 0 && rng.Intn(3) == 0 {
				i := rng.Intn(n)
				op, row = Delete, live[side][i]
				live[side] = slices.Delete(live[side], i, i+1)
			} else {
				live[side] = append(live[side], row)
			}
			b := NewBatch(1)
			b.Append(op, row)
			var rec aggRecorder
			if err := j.Process(context.Background(), side, b, &rec); err != nil {
				t.Fatal(err)
			}
			for i, r := range rec.rows {
				if rec.ops[i].Positive() {
					emitted[fmt.Sprint(r)]++
				} else {
					emitted[fmt.Sprint(r)]--
				}
			}
			if rng.Intn(50) == 0 {
				// A restart from state, which resumes at a barrier.
				if err := j.OnBarrier(context.Background(), Barrier{Epoch: uint64(step)}, &aggRecorder{}); err != nil {
					t.Fatal(err)
				}
				j = newTestJoin(t, residual, st, cacheBytes, outer...)
			}
		}
		want := map[string]int{}
		matched := [2][]bool{make([]bool, len(live[0])), make([]bool, len(live[1]))}
		for li, l := range live[0] {
			for ri, r := range live[1] {
				if l[0].IsNull() || r[0].IsNull() || l[0].Int() != r[0].Int() || (residual && l[1].Int() >= r[1].Int()) {
					continue
				}
				matched[0][li], matched[1][ri] = true, true
				want[fmt.Sprint(append(slices.Clone(l), r...))]++
			}
		}
		nulls := types.Row{types.Null, types.Null}
		for side := range 2 {
			for i, r := range live[side] {
				if !outer[side] || matched[side][i] {
					continue
				}
				if side == 0 {
					want[fmt.Sprint(append(slices.Clone(r), nulls...))]++
				} else {
					want[fmt.Sprint(append(slices.Clone(nulls), r...))]++
				}
			}
		}
		for k, n := range emitted {
			if n == 0 {
				delete(emitted, k)
			}
		}
		if fmt.Sprint(emitted) != fmt.Sprint(want) {
			t.Fatalf("seed %d (outer %v): join emitted\n%v\nbatch join\n%v", seed, outer, emitted, want)
		}
	}
}

// TestHashJoin_ClosesWindows joins on (k, window_end): the rows of a
// window leave state at the first barrier once the watermark passes it,
// and not before; the index of open windows survives a restart.
func TestHashJoin_ClosesWindows(t *testing.T) {
	ctx := context.Background()
	st := newAggMemState()
	open := func() *HashJoin {
		o := JoinOptions{
			LeftKeys:  []expr.Func{col(0, "k", types.TypeBigInt), col(1, "window_end", types.TypeTimestamp)},
			RightKeys: []expr.Func{col(0, "k", types.TypeBigInt), col(1, "window_end", types.TypeTimestamp)},
			LeftWidth: 2, RightWidth: 2, CloseKey: 1,
		}
		j, err := NewHashJoin(o)
		if err != nil {
			t.Fatal(err)
		}
		mustOpen(t, j, st)
		return j
	}
	put := func(j *HashJoin, side int, k, end int64) string {
		b := NewBatch(1)
		b.Append(Insert, types.Row{types.NewInt(k), types.NewTimestamp(end)})
		var rec aggRecorder
		if err := j.Process(ctx, side, b, &rec); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(rec.String())
	}
	rowsOf := func() int {
		n := 0
		for k := range st.m {
			if !strings.HasPrefix(k, string(metaCloses)) && k != string(metaClosedWM) {
				n++
			}
		}
		return n
	}
	j := open()
	put(j, 0, 1, 10e6)
	put(j, 0, 2, 10e6)
	put(j, 1, 1, 20e6)
	if got := put(j, 1, 1, 10e6); got != "+ 1 @10 1 @10" {
		t.Fatalf("pair in window 10: %q", got)
	}
	// The watermark passes 10 s; rows of window 10 may still come until
	// the barrier.
	if err := j.OnWatermark(ctx, Watermark{Micros: 10e6}, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	if got := put(j, 1, 2, 10e6); got != "+ 2 @10 2 @10" {
		t.Fatalf("pair after the watermark, before the barrier: %q", got)
	}
	if err := j.OnBarrier(ctx, Barrier{Epoch: 1}, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(); n != 1 {
		t.Fatalf("%d rows in state after window 10 closed, want 1 (window 20's)", n)
	}
	// A row of window 10 now is late: dropped and counted, across a
	// restart too; window 20 still takes rows.
	if got := put(j, 0, 2, 10e6); got != "" || j.Late() != 1 {
		t.Fatalf("late row of window 10: %q, late=%d; want nothing, late=1", got, j.Late())
	}
	j = open() // restart: window 20 is still indexed
	if got := put(j, 0, 2, 10e6); got != "" || j.Late() != 1 {
		t.Fatalf("late row of window 10 after a restart: %q, late=%d; want nothing, late=1", got, j.Late())
	}
	if n := rowsOf(); n != 1 {
		t.Fatalf("%d rows in state after a late row, want 1 (window 20's)", n)
	}
	if err := j.OnWatermark(ctx, Watermark{Micros: 25e6}, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	if err := j.OnBarrier(ctx, Barrier{Epoch: 2}, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(); n != 0 || len(st.m) != 1 {
		t.Fatalf("state after every window closed: %d rows, %d keys; want the closed watermark only", n, len(st.m))
	}
}

func TestHashJoinIter(t *testing.T) {
	rows := func(kvs ...int64) [][]expr.Func {
		var out [][]expr.Func
		for i := 0; i < len(kvs); i += 2 {
			r := testJoinRow(kvs[i], kvs[i+1])
			out = append(out, []expr.Func{constFunc(r[0]), constFunc(r[1])})
		}
		return out
	}
	// left: 1/10, 2/20, NULL/30, 1/11; right: 1/100, NULL/300, 3/400, 1/101.
	pairs := []string{"1 10 1 100", "1 10 1 101", "1 11 1 100", "1 11 1 101"}
	tests := []struct {
		name  string
		outer [2]bool
		extra []string
	}{
		{"inner", [2]bool{}, nil},
		{"left", [2]bool{true, false}, []string{"2 20 NULL NULL", "NULL 30 NULL NULL"}},
		{"right", [2]bool{false, true}, []string{"NULL NULL 3 400", "NULL NULL NULL 300"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := &expr.Env{}
			left := NewValuesIter(rows(1, 10, 2, 20, -1, 30, 1, 11), env)
			right := NewValuesIter(rows(1, 100, -1, 300, 3, 400, 1, 101), env)
			it := NewHashJoinIter(left, right, []expr.Func{col(0, "k", types.TypeBigInt)}, []expr.Func{col(0, "k", types.TypeBigInt)}, nil, env)
			it.Outer = tc.outer
			it.SetWidths(2, 2)
			got, err := Drain(context.Background(), it)
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, r := range got {
				s = append(s, r.String())
			}
			slices.Sort(s)
			want := append(slices.Clone(pairs), tc.extra...)
			slices.Sort(want)
			if !slices.Equal(s, want) {
				t.Fatalf("got %q, want %q", s, want)
			}
		})
	}
}

func constFunc(v types.Value) expr.Func {
	return func(types.Row, *expr.Env) (types.Value, error) { return v, nil }
}

// scanCounter counts the scans of its state.
type scanCounter struct {
	StateTable
	scans int
}

func (s *scanCounter) Scan(start, end []byte, fn func(k, v []byte) error) error {
	s.scans++
	return s.StateTable.Scan(start, end, fn)
}

// TestHashJoin_ReadsStateOnlyWhenItMayHold: a key whose rows all came
// through the operator since it opened is matched from the cache alone;
// rows in state from before a restart, and rows of keys the cache dropped,
// are still read and matched.
func TestHashJoin_ReadsStateOnlyWhenItMayHold(t *testing.T) {
	ctx := context.Background()
	put := func(j *HashJoin, side int, k, v int64) string {
		b := NewBatch(1)
		b.Append(Insert, testJoinRow(k, v))
		var rec aggRecorder
		if err := j.Process(ctx, side, b, &rec); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(rec.String())
	}
	st := &scanCounter{StateTable: newAggMemState()}
	j := newTestJoin(t, false, st, 0)
	opened := st.scans
	for k := range int64(100) {
		put(j, 0, k, 1)
	}
	if got := put(j, 1, 7, 2); got != "+ 7 1 7 2" {
		t.Fatalf("pair from the cache: %q", got)
	}
	if st.scans != opened {
		t.Fatalf("%d scans of state for keys never seen before", st.scans-opened)
	}
	// A restart (from a barrier): state holds rows the new operator never
	// saw.
	if err := j.OnBarrier(ctx, Barrier{Epoch: 1}, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	j = newTestJoin(t, false, st, 0)
	if got := put(j, 1, 8, 3); got != "+ 8 1 8 3" {
		t.Fatalf("pair with a row in state after a restart: %q", got)
	}
	// A cache of a few rows drops keys; their rows are read back.
	st = &scanCounter{StateTable: newAggMemState()}
	j = newTestJoin(t, false, st, 2000)
	for k := range int64(100) {
		put(j, 0, k, 1)
	}
	if len(j.cache) >= 100 {
		t.Fatalf("the cache kept %d keys, want it to drop some", len(j.cache))
	}
	for k := range int64(100) {
		if got, want := put(j, 1, k, 2), fmt.Sprintf("+ %d 1 %d 2", k, k); got != want {
			t.Fatalf("key %d: %q, want %q", k, got, want)
		}
	}
	// With a closing key, a bound indexed before a restart is read.
	mem := newAggMemState()
	closing := func() *HashJoin {
		j, err := NewHashJoin(JoinOptions{
			LeftKeys:  []expr.Func{col(0, "k", types.TypeBigInt), col(1, "window_end", types.TypeTimestamp)},
			RightKeys: []expr.Func{col(0, "k", types.TypeBigInt), col(1, "window_end", types.TypeTimestamp)},
			LeftWidth: 2, RightWidth: 2, CloseKey: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		mustOpen(t, j, mem)
		return j
	}
	putW := func(j *HashJoin, side int, k, end int64) string {
		b := NewBatch(1)
		b.Append(Insert, types.Row{types.NewInt(k), types.NewTimestamp(end)})
		var rec aggRecorder
		if err := j.Process(ctx, side, b, &rec); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(rec.String())
	}
	before := closing()
	putW(before, 0, 1, 10e6)
	if err := before.OnBarrier(ctx, Barrier{Epoch: 1}, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	if got := putW(closing(), 1, 1, 10e6); got != "+ 1 @10 1 @10" {
		t.Fatalf("pair in a window indexed before the restart: %q", got)
	}
}

// TestHashJoin_ClosingDropsEveryRow: closing a window leaves none of its
// rows in state, whether the cache held them all, dropped some (a cache of
// a few rows), or the operator restarted in between; and every pair was
// made once.
func TestHashJoin_ClosingDropsEveryRow(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		cacheBytes int
		restart    bool
	}{{"cached", 0, false}, {"small cache", 1500, false}, {"restart", 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			st := newAggMemState()
			open := func() *HashJoin {
				j, err := NewHashJoin(JoinOptions{
					LeftKeys:  []expr.Func{col(0, "k", types.TypeBigInt), col(1, "window_end", types.TypeTimestamp)},
					RightKeys: []expr.Func{col(0, "k", types.TypeBigInt), col(1, "window_end", types.TypeTimestamp)},
					LeftWidth: 2, RightWidth: 2, CloseKey: 1, CacheBytes: tc.cacheBytes,
				})
				if err != nil {
					t.Fatal(err)
				}
				mustOpen(t, j, st)
				return j
			}
			j := open()
			pairs := 0
			for i := range int64(60) {
				b := NewBatch(1)
				b.Append(Insert, types.Row{types.NewInt(i % 7), types.NewTimestamp((1 + i%3) * 10e6)})
				var rec aggRecorder
				if err := j.Process(ctx, int(i%2), b, &rec); err != nil {
					t.Fatal(err)
				}
				pairs += len(rec.rows)
				if tc.restart && i == 30 {
					if err := j.OnBarrier(ctx, Barrier{Epoch: 1}, &aggRecorder{}); err != nil {
						t.Fatal(err)
					}
					j = open()
				}
			}
			// Per window and k, l left and r right rows make l*r pairs:
			// worked out from i%7, i%3 and i%2 over i < 60.
			want := 0
			for w := range int64(3) {
				for k := range int64(7) {
					var n [2]int
					for i := range int64(60) {
						if i%3 == w && i%7 == k {
							n[i%2]++
						}
					}
					want += n[0] * n[1]
				}
			}
			if pairs != want {
				t.Fatalf("%d pairs, want %d", pairs, want)
			}
			if err := j.OnWatermark(ctx, Watermark{Micros: 30e6}, &aggRecorder{}); err != nil {
				t.Fatal(err)
			}
			if err := j.OnBarrier(ctx, Barrier{Epoch: 1}, &aggRecorder{}); err != nil {
				t.Fatal(err)
			}
			// Only the watermark of the closed windows stays (a row of them
			// coming later is late).
			if _, ok := st.m[string(metaClosedWM)]; len(st.m) != 1 || !ok {
				t.Fatalf("%d keys in state after every window closed, want the closed watermark only", len(st.m))
			}
		})
	}
}

// A HashJoin counts its key lookups (one per row) found in the cache and
// not. A cache of one byte keeps only the key looked up last, so a row
// hits only when the row before it had the same key; the default cache
// misses each key once.
func TestHashJoin_CacheHits(t *testing.T) {
	ctx := context.Background()
	keys := []int64{1, 1, 2, 2, 1, 3, 3, 3}
	for _, tc := range []struct {
		name                 string
		cacheBytes           int
		wantHits, wantMisses int64
	}{
		{"one key", 1, 4, 4}, // misses: 1, 2, 1 again, 3
		{"default", 0, 5, 3}, // misses: 1, 2, 3
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newTestJoin(t, false, newAggMemState(), tc.cacheBytes)
			for i, k := range keys {
				b := NewBatch(1)
				b.Append(Insert, testJoinRow(k, int64(i)))
				if err := j.Process(ctx, i%2, b, &aggRecorder{}); err != nil {
					t.Fatal(err)
				}
			}
			if s := j.cacheStats(); s.hits != tc.wantHits || s.misses != tc.wantMisses {
				t.Errorf("hits/misses = %d/%d, want %d/%d", s.hits, s.misses, tc.wantHits, tc.wantMisses)
			}
		})
	}
}

// A join of windows drops a row of a side marked DropLate when its side's
// own watermark has passed its window on arrival (Flink's window join),
// whatever the other side's watermark; the other side's rows only once
// their window was dropped at a barrier.
func TestHashJoin_DropLate(t *testing.T) {
	ctx := context.Background()
	j, err := NewHashJoin(JoinOptions{
		LeftKeys:  []expr.Func{col(0, "k", types.TypeBigInt), col(1, "window_end", types.TypeTimestamp)},
		RightKeys: []expr.Func{col(0, "k", types.TypeBigInt), col(1, "window_end", types.TypeTimestamp)},
		LeftWidth: 2, RightWidth: 2, CloseKey: 1, DropLate: [2]bool{true, false},
	})
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, j, NewMemTable())
	put := func(side int, k, end int64) int {
		b := NewBatch(1)
		b.Append(Insert, types.Row{types.NewInt(k), types.NewTimestamp(end)})
		var rec aggRecorder
		if err := j.Process(ctx, side, b, &rec); err != nil {
			t.Fatal(err)
		}
		return len(rec.rows)
	}
	put(1, 1, 10e6)
	// The left input's watermark reaches 10 s; the right's does not.
	j.OnInputWatermark(0, 10e6)
	if n := put(0, 1, 10e6); n != 0 || j.Late() != 1 {
		t.Fatalf("left row of window 10 after the left watermark 10: %d pairs, late=%d; want 0, 1", n, j.Late())
	}
	// The right side's row is not from an assigner: still joined, as the
	// window is not dropped until a barrier.
	if n := put(0, 1, 20e6) + put(1, 1, 20e6); n != 1 || j.Late() != 1 {
		t.Fatalf("window 20: %d pairs, late=%d; want 1, 1", n, j.Late())
	}
	if n := put(1, 2, 10e6); n != 0 || j.Late() != 1 {
		t.Fatalf("right row of window 10: %d pairs, late=%d; want 0 (no left row), 1", n, j.Late())
	}
}
