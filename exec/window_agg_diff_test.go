package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// TestWindowAgg_MatchesBatch feeds random inserts and deletes over a few
// windows, with a watermark that moves on (rows of closed windows are
// late, and several windows may close at once), a cache of one to four
// groups (so groups leave it and come back from state), of twelve (some
// windows stay whole in memory, others not) or of every group (windows
// close from memory), and restarts from state at barriers; after the last window
// closes, what was emitted must equal COUNT(*) and SUM(v) per key and
// window of the rows that were not late, worked out here.
func TestWindowAgg_MatchesBatch(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		for _, eowc := range []bool{false, true} {
			t.Run(fmt.Sprint(seed, " eowc=", eowc), func(t *testing.T) { runWindowAggDiff(t, seed, eowc) })
		}
	}
}

func runWindowAggDiff(t *testing.T, seed uint64, eowc bool) {
	rng := rand.New(rand.NewPCG(seed, 11))
	cols := []testCol{{"k", types.TypeText}, {"we", types.TypeTimestamp}, {"v", types.TypeBigInt}}
	keys, aggs := mustKeysAggs(t, cols, "k,we", "count(*),sum(v)")
	cache := []int{1, 2, 3, 4, 12, 1000}[rng.IntN(6)]
	st := NewMemTable()
	mk := func() *WindowAgg {
		w, err := NewWindowAgg(WindowAggOptions{AggOptions: AggOptions{Keys: keys, Aggs: aggs, CacheSize: cache}, WindowEnd: 1, EmitOnClose: eowc})
		if err != nil {
			t.Fatal(err)
		}
		mustOpen(t, w, st)
		return w
	}
	op := mk()
	ctx := context.Background()
	out := &aggRecorder{}
	view := map[string]int{} // emitted rows, net
	apply := func() {
		for i, o := range out.ops {
			if o.Positive() {
				view[out.rows[i].String()]++
			} else {
				view[out.rows[i].String()]--
			}
		}
		out.reset()
	}
	wm := int64(0)
	var live []types.Row
	for step := 0; step < 300; step++ {
		b := NewBatch(8)
		for n := rng.IntN(6); n > 0; n-- {
			if len(live) > 0 && rng.IntN(4) == 0 {
				i := rng.IntN(len(live))
				if live[i][1].Micros() > wm {
					b.Append(Delete, live[i])
					live = slices.Delete(live, i, i+1)
				}
				continue
			}
			// Windows end at 1..8 s; the watermark reaches 8 s at the end.
			end := int64(1+rng.IntN(8)) * 1e6
			r := types.Row{types.NewString(string(rune('a' + rng.IntN(4)))), types.NewTimestamp(end), types.NewInt(int64(rng.IntN(10)))}
			b.Append(Insert, r)
			if end > wm {
				live = append(live, r)
			}
		}
		if err := op.Process(ctx, 0, b, out); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(10) == 0 && wm < 8e6 {
			wm = min(wm+int64(1+rng.IntN(3))*1e6, 8e6)
			if err := op.OnWatermark(ctx, Watermark{Micros: wm}, out); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(4) == 0 {
			if err := op.OnBarrier(ctx, Barrier{Epoch: uint64(step)}, out); err != nil {
				t.Fatal(err)
			}
			apply()
			if rng.IntN(4) == 0 {
				op = mk()
			}
		}
	}
	if err := op.OnWatermark(ctx, Watermark{Micros: 9e6}, out); err != nil {
		t.Fatal(err)
	}
	if err := op.OnBarrier(ctx, Barrier{Epoch: 1 << 20}, out); err != nil {
		t.Fatal(err)
	}
	apply()
	want := map[string]int{}
	type gk struct {
		k   string
		end int64
	}
	sums := map[gk][2]int64{}
	for _, r := range live {
		g := gk{r[0].Str(), r[1].Micros()}
		s := sums[g]
		sums[g] = [2]int64{s[0] + 1, s[1] + r[2].Int()}
	}
	for g, s := range sums {
		want[types.Row{types.NewString(g.k), types.NewTimestamp(g.end), types.NewInt(s[0]), types.NewDecimal(fmt.Sprint(s[1]))}.String()]++
	}
	for k, n := range view {
		if n == 0 {
			delete(view, k)
		}
	}
	if fmt.Sprint(view) != fmt.Sprint(want) {
		t.Fatalf("emitted\n%v\nwant\n%v", view, want)
	}
}

// TestWindowAgg_ReadsOldLayout opens state written before summaries moved
// into the window index (an empty index entry, the summary at
// prefix | sfxSummary), as after an upgrade: the windows close with the
// right rows and leave no state behind.
func TestWindowAgg_ReadsOldLayout(t *testing.T) {
	ctx := context.Background()
	cols := []testCol{{"k", types.TypeText}, {"we", types.TypeTimestamp}, {"v", types.TypeBigInt}}
	keys, aggs := mustKeysAggs(t, cols, "k,we", "count(*),sum(v)")
	mk := func(st StateTable) *WindowAgg {
		w, err := NewWindowAgg(WindowAggOptions{AggOptions: AggOptions{Keys: keys, Aggs: aggs}, WindowEnd: 1, EmitOnClose: true})
		if err != nil {
			t.Fatal(err)
		}
		mustOpen(t, w, st)
		return w
	}
	st := NewMemTable()
	old := mk(st)
	old.c.summaryAt = nil // write summaries where they used to be
	b, err := parseTestBatch(cols, "+ a @10 1\n+ a @10 2\n+ b @10 5\n+ a @20 7")
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Process(ctx, 0, b, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}
	for _, g := range old.c.cache {
		if err := st.Put(old.indexKey(nil, g.key[1].Micros(), g.prefix), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.OnBarrier(ctx, Barrier{Epoch: 1}, &aggRecorder{}); err != nil {
		t.Fatal(err)
	}

	w := mk(st)
	var out aggRecorder
	// A row for an old group of window 20: loaded from the old layout.
	b, err = parseTestBatch(cols, "+ a @20 1")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Process(ctx, 0, b, &out); err != nil {
		t.Fatal(err)
	}
	if err := w.OnBarrier(ctx, Barrier{Epoch: 2}, &out); err != nil {
		t.Fatal(err)
	}
	if err := w.OnWatermark(ctx, Watermark{Micros: 30e6}, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "+ a @10 2 3\n+ b @10 1 5\n+ a @20 2 8\n"; got != want {
		t.Fatalf("emitted\n%s\nwant\n%s", got, want)
	}
	left := 0
	if err := st.Scan(nil, []byte{0xFF}, func(k, _ []byte) error { left++; return nil }); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d state entries left after every window closed", left)
	}
}
