package exec

import (
	"bytes"
	"context"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Interval join rows in these tests: left (k BIGINT, t TIMESTAMP), append
// only; right (k BIGINT, e TIMESTAMP), a window's row, which changes only
// while the watermark is below e; joined on k and t BETWEEN e - 10s AND e.
// A left row can meet no window end past t + 10s, so it expires then.

const expiryWindow = int64(10e6)

func newExpiryJoin(t testing.TB, st StateTable, cacheBytes int, expire bool) *HashJoin {
	t.Helper()
	ts := func(i int) *expr.ColumnRef { return &expr.ColumnRef{Index: i, Typ: types.TypeTimestamp} }
	lo, err := expr.NewCall("date_sub", 0, ts(3), &expr.Const{Value: types.NewInterval(0, expiryWindow), Typ: types.TypeInterval})
	if err != nil {
		t.Fatal(err)
	}
	between, err := expr.NewCall("between", 0, ts(1), lo, ts(3))
	if err != nil {
		t.Fatal(err)
	}
	o := JoinOptions{LeftKeys: []expr.Func{col(0, "k", types.TypeBigInt)}, RightKeys: []expr.Func{col(0, "k", types.TypeBigInt)},
		LeftWidth: 2, RightWidth: 2, CloseKey: -1, CacheBytes: cacheBytes}
	if o.Cond, err = expr.CompilePredicate(between); err != nil {
		t.Fatal(err)
	}
	if expire {
		o.Expire[sideLeft] = JoinExpiry{Set: true, Col: 1, After: expiryWindow}
	}
	j, err := NewHashJoin(o)
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, j, st)
	return j
}

// pairRecorder keeps the net count of each emitted row.
type pairRecorder map[string]int

func (p pairRecorder) Emit(op Op, row types.Row) {
	var sb strings.Builder
	for _, v := range row {
		sb.WriteString(fmtTestValue(v) + " ")
	}
	if op.Positive() {
		p[sb.String()]++
	} else {
		p[sb.String()]--
	}
}

func TestHashJoin_ExpiresIntervalRows(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		cacheBytes int
		restart    bool
	}{{"cached", 0, false}, {"small cache", 2000, false}, {"restart", 0, true}, {"small cache restart", 2000, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(7))
			st := newAggMemState()
			j := newExpiryJoin(t, st, tc.cacheBytes, true)
			got := pairRecorder{}
			var lefts, rights []types.Row // what each side holds in the end
			open := map[[2]int64]bool{}   // right rows (k, e) present
			maxLeft := 0
			for step := int64(0); step < 60; step++ {
				wm := step * 1e6
				for range 4 {
					l := types.Row{types.NewInt(rng.Int63n(3)), types.NewTimestamp(wm - 3e6 + rng.Int63n(8e6))}
					lefts = append(lefts, l)
					b := NewBatch(1)
					b.Append(Insert, l)
					if err := j.Process(ctx, sideLeft, b, got); err != nil {
						t.Fatal(err)
					}
				}
				// A right row of a window not closed yet comes or goes.
				e := (wm/expiryWindow + 1 + rng.Int63n(2)) * expiryWindow
				key := [2]int64{rng.Int63n(3), e}
				op := Insert
				if open[key] {
					op = Delete
				}
				open[key] = !open[key]
				b := NewBatch(1)
				b.Append(op, types.Row{types.NewInt(key[0]), types.NewTimestamp(e)})
				if err := j.Process(ctx, sideRight, b, got); err != nil {
					t.Fatal(err)
				}
				if err := j.OnWatermark(ctx, Watermark{Micros: wm}, got); err != nil {
					t.Fatal(err)
				}
				if err := j.OnBarrier(ctx, Barrier{Epoch: uint64(step + 1)}, got); err != nil {
					t.Fatal(err)
				}
				left := 0
				for k := range st.m {
					if k[0] != 0xFF && k[2+8+1] == sideLeft { // kg | k (1 + 8 bytes) | side
						left++
					}
				}
				maxLeft = max(maxLeft, left)
				if tc.restart && step%20 == 19 {
					j = newExpiryJoin(t, st, tc.cacheBytes, true)
				}
			}
			for key, present := range open {
				if present {
					rights = append(rights, types.Row{types.NewInt(key[0]), types.NewTimestamp(key[1])})
				}
			}
			// The answer worked out directly: every pair of the final rows
			// that meets the condition.
			want := pairRecorder{}
			for _, l := range lefts {
				for _, r := range rights {
					lt, re := l[1].Micros(), r[1].Micros()
					if l[0].Int() == r[0].Int() && re-expiryWindow <= lt && lt <= re {
						want.Emit(Insert, append(append(types.Row{}, l...), r...))
					}
				}
			}
			for k, n := range got {
				if n != want[k] {
					t.Errorf("pair %s: %d, want %d", k, n, want[k])
				}
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("pair %s: %d, want %d", k, got[k], n)
				}
			}
			// Left rows live at most from 3 s before the watermark to 10 s
			// after it (a restart keeps some a while): 4 per step, far
			// fewer than the 240 of the run.
			if !tc.restart && maxLeft > 4*(3+10+2) {
				t.Errorf("up to %d left rows in state, want at most %d", maxLeft, 4*(3+10+2))
			}
			if tc.restart && maxLeft >= len(lefts)/2 {
				t.Errorf("up to %d left rows in state of %d", maxLeft, len(lefts))
			}
		})
	}
}

func TestExpiryHeap_PopsInDeadlineOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var h expiryHeap
	var want []int64
	for i := range 500 {
		d := rng.Int63n(100)
		h.push(expiringRow{deadline: d})
		want = append(want, d)
		if i%7 == 6 { // pops between pushes too
			slices.Sort(want)
			if got := h.pop().deadline; got != want[0] {
				t.Fatalf("pop %d, want %d", got, want[0])
			}
			want = want[1:]
		}
	}
	slices.Sort(want)
	for _, w := range want {
		if got := h.pop().deadline; got != w {
			t.Fatalf("pop %d, want %d", got, w)
		}
	}
	if len(h) != 0 {
		t.Fatalf("%d left", len(h))
	}
}

// writeCounter counts the writes of rows to a state table (not of the
// watermark, written at each barrier it moved).
type writeCounter struct {
	StateTable
	puts, deletes int
}

func (w *writeCounter) Put(k, v []byte) error {
	if !bytes.Equal(k, metaWatermark) {
		w.puts++
	}
	return w.StateTable.Put(k, v)
}
func (w *writeCounter) Delete(k []byte) error { w.deletes++; return w.StateTable.Delete(k) }

// TestHashJoin_WritesStateOncePerEpoch: a row's changes reach state at the
// barrier, once however often it changed, and a row that came and went
// (or expired) within the epoch costs no write.
func TestHashJoin_WritesStateOncePerEpoch(t *testing.T) {
	ctx := context.Background()
	st := &writeCounter{StateTable: newAggMemState()}
	j := newExpiryJoin(t, st, 0, true)
	send := func(side int, op Op, k, ts int64) {
		b := NewBatch(1)
		b.Append(op, types.Row{types.NewInt(k), types.NewTimestamp(ts)})
		if err := j.Process(ctx, side, b, pairRecorder{}); err != nil {
			t.Fatal(err)
		}
	}
	barrier := func(wm int64, epoch uint64) {
		if err := j.OnWatermark(ctx, Watermark{Micros: wm}, pairRecorder{}); err != nil {
			t.Fatal(err)
		}
		if err := j.OnBarrier(ctx, Barrier{Epoch: epoch}, pairRecorder{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // one row three times: one key, one write
		send(sideLeft, Insert, 1, 5e6)
	}
	send(sideRight, Insert, 2, 20e6) // comes and goes
	send(sideRight, Delete, 2, 20e6)
	send(sideLeft, Insert, 3, 1e6) // expires by the barrier (at 11 s)
	barrier(12e6, 1)
	if st.puts != 1 || st.deletes != 0 {
		t.Fatalf("epoch 1: %d puts and %d deletes, want 1 and 0", st.puts, st.deletes)
	}
	barrier(16e6, 2) // the row of 5 s expires: state held it
	if st.puts != 1 || st.deletes != 1 {
		t.Fatalf("epoch 2: %d puts and %d deletes, want 1 and 1", st.puts, st.deletes)
	}
	if n := len(st.StateTable.(*aggMemState).m); n != 1 {
		t.Fatalf("%d keys in state, want the watermark alone", n)
	}
	// The keys whose rows expired leave the cache (key 2's rows were
	// deleted, not expired: its key stays until evicted).
	if n := len(j.cache); n != 1 {
		t.Fatalf("%d keys cached, want 1", n)
	}
}
