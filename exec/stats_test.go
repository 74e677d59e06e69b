package exec

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// The counters count what went through each node, and may be read while
// the graph runs (go test -race checks that they are read safely).
func TestGraph_Stats(t *testing.T) {
	col := &expr.ColumnRef{Index: 0, Typ: types.TypeBigInt}
	pred, err := expr.CompilePredicate(mustCall(t, ">", mustCall(t, "%", col, intConst(10)), intConst(6)))
	if err != nil {
		t.Fatal(err)
	}
	const n, batch = 1000, 64
	wantPass := 0
	for i := range n {
		if i%10 > 6 {
			wantPass++
		}
	}
	g := NewGraph(GraphOptions{BatchSize: 16})
	in, feed := g.Input("src")
	f := g.Add("filter", NewFilter(pred, nil, nil), in)
	g.Observe(f, func(Message) error { return nil })
	ctx := context.Background()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = g.Stats()
			}
		}
	}()
	for start := 0; start < n; start += batch {
		b := NewBatch(batch)
		for i := start; i < min(start+batch, n); i++ {
			b.Append(Insert, types.Row{types.NewInt(int64(i))})
		}
		if err := feed.Send(ctx, Message{Kind: KindBatch, Batch: b}); err != nil {
			t.Fatal(err)
		}
	}
	feedAll(t, ctx, feed, []Message{{Kind: KindWatermark, Watermark: Watermark{Micros: 5_000_000}}, {Kind: KindBarrier, Barrier: Barrier{Epoch: 1}}})
	feed.Close()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	readers.Wait()

	st := g.Stats()
	if len(st) != 2 {
		t.Fatalf("Stats has %d nodes, want the input and the filter (no observer): %+v", len(st), st)
	}
	src, filt := st[0], st[1]
	if src.ID != in || src.Kind != KindInput || src.Name != "src" || len(src.Inputs) != 0 {
		t.Errorf("input node: %+v", src)
	}
	if filt.ID != f || filt.Kind != KindOperator || filt.Name != "filter" || len(filt.Inputs) != 1 || filt.Inputs[0] != in {
		t.Errorf("filter node: %+v", filt)
	}
	if src.RowsIn != 0 || src.RowsOut != n {
		t.Errorf("input rows in/out = %d/%d, want 0/%d", src.RowsIn, src.RowsOut, n)
	}
	if filt.RowsIn != n || filt.RowsOut != int64(wantPass) {
		t.Errorf("filter rows in/out = %d/%d, want %d/%d", filt.RowsIn, filt.RowsOut, n, wantPass)
	}
	for _, s := range st {
		if !s.HasWatermark || s.Watermark != 5_000_000 {
			t.Errorf("%s: watermark %d (%v), want 5000000", s.Name, s.Watermark, s.HasWatermark)
		}
		if s.HasCache {
			t.Errorf("%s: a cache size from an operator without a cache", s.Name)
		}
	}
	// Everything happened within the last minute: the rates are positive
	// and at most the count (a span of at least a second).
	if filt.RowsInPerSec <= 0 || filt.RowsInPerSec > n || src.RowsOutPerSec <= 0 || src.RowsOutPerSec > n {
		t.Errorf("rates: filter in %v/s, input out %v/s; want in (0, %d]", filt.RowsInPerSec, src.RowsOutPerSec, n)
	}
	if filt.Busy <= 0 {
		t.Errorf("filter busy %v, want > 0", filt.Busy)
	}
}

// The rates average from the oldest sample of the last minute to now.
func TestNodeCounters_Rates(t *testing.T) {
	base := time.Unix(1_000_000, 0)
	tests := []struct {
		name    string
		ticks   []int64 // seconds after base, 10 rows in and 5 out after each
		now     int64
		in, out float64
	}{
		{"no samples", nil, 0, 0, 0},
		// All within the first second: counted over a second.
		{"one second", []int64{0}, 0, 10, 5},
		// Samples at 0..9 hold counts 0..90; now, 20 s in, 100 in:
		// 100/20.
		{"steady", []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 20, 5, 2.5},
		// The samples before the window no longer count: from the one at
		// 40 s (40 in) to 100 s (80 in): 40/60.
		{"window", []int64{0, 10, 20, 30, 40, 50, 70, 80}, 100, 40.0 / 60, 20.0 / 60},
		// Sampled again at 61 s, in slot 0: from 40 s on, the oldest is
		// the one at 61 s (20 in), to 100 s (30 in): 10/39.
		{"slot reused", []int64{0, 1, 61}, 100, 10.0 / 39, 5.0 / 39},
		{"idle for over a minute", []int64{0, 1}, 200, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newNodeCounters()
			for _, s := range tt.ticks {
				c.tick(base.Add(time.Duration(s) * time.Second))
				c.rowsIn.Add(10)
				c.rowsOut.Add(5)
			}
			in, out := c.rates(base.Add(time.Duration(tt.now)*time.Second), c.rowsIn.Load(), c.rowsOut.Load())
			if math.Abs(in-tt.in) > 1e-9 || math.Abs(out-tt.out) > 1e-9 {
				t.Errorf("rates = %v in, %v out; want %v, %v", in, out, tt.in, tt.out)
			}
		})
	}
}

// A HashAgg counts its group lookups found in the cache and not, and the
// runtime publishes them at barriers. The cache is trimmed at barriers
// only: with a bound of one group, each epoch after the first finds one of
// the keys still cached (whichever survived) and misses the others once.
func TestGraph_StatsCacheHits(t *testing.T) {
	const keys, epochs, touches = 5, 4, 3 // each key touches times per epoch
	for _, tc := range []struct {
		name                 string
		cache                int
		wantHits, wantMisses int64
	}{
		// First epoch: every key misses once; later ones: all but the
		// survivor miss once. Every other touch hits.
		{"one group", 1, epochs*keys*touches - (keys + (epochs-1)*(keys-1)), keys + (epochs-1)*(keys-1)},
		// Everything stays cached: only the first touch of each key misses.
		{"large", 1 << 20, epochs*keys*touches - keys, keys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cols := benchCols()
			kf, _, err := parseTestKeys(cols, "k")
			if err != nil {
				t.Fatal(err)
			}
			aggs, err := parseTestAggs(cols, "count(*)")
			if err != nil {
				t.Fatal(err)
			}
			a, err := NewHashAgg(AggOptions{Keys: kf, Aggs: aggs, CacheSize: tc.cache})
			if err != nil {
				t.Fatal(err)
			}
			g := NewGraph(GraphOptions{BatchSize: 4})
			in, feed := g.Input("src")
			id := g.Add("agg", a, in)
			g.SetState(id, NewMemTable())
			g.Observe(id, func(Message) error { return nil })
			ctx := context.Background()
			if err := g.Start(ctx); err != nil {
				t.Fatal(err)
			}
			for e := range epochs {
				b := NewBatch(keys * touches)
				for range touches {
					for k := range keys {
						b.Append(Insert, types.Row{types.NewInt(int64(k)), types.Null, types.NewInt(1), types.Null, types.Null})
					}
				}
				feedAll(t, ctx, feed, []Message{{Kind: KindBatch, Batch: b}, {Kind: KindBarrier, Barrier: Barrier{Epoch: uint64(e + 1)}}})
			}
			feed.Close()
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			s := g.Stats()[1]
			if !s.HasCache || s.CacheHits != tc.wantHits || s.CacheMisses != tc.wantMisses {
				t.Errorf("cache hits/misses = %d/%d (has cache %v), want %d/%d", s.CacheHits, s.CacheMisses, s.HasCache, tc.wantHits, tc.wantMisses)
			}
		})
	}
}
