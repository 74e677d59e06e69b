package bench

import (
	"context"
	"testing"
	"time"
)

// TestNexmark_IntervalJoinStateBounded: the interval joins of q4, q7 and
// q20-bounded keep only the rows of their interval (and the watermark's
// delay) in state, q20 every row. 40,000 events at 400 a second span 100
// seconds of event time: q20-bounded's rows need at most 1 + 10 s, plus
// the 4 s delay (15% of the span); q7's bids 10 s plus 4; q4's bids the
// 4 s delay alone, its auctions until they expire (a fraction of a
// second at the generator's 10,000 events/s, about 4 s at 400). The
// bound, a third of the rows in, is generous; a join that kept every row
// (q20) holds over nine tenths of them.
func TestNexmark_IntervalJoinStateBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four Nexmark views")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	results, err := RunNexmark(ctx, NexmarkOptions{Queries: []string{"q4", "q7", "q20", "q20-bounded"}, Events: 40_000, EventRate: 400,
		Seed: 5, Timeout: 2 * time.Minute, StateSize: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Correct || r.State == nil {
			t.Fatalf("%s: correct %v, %s%s, state %v", r.Query, r.Correct, r.Error, r.Mismatch, r.State)
		}
		// The join's state, by its EXPLAIN state=N (q7's window
		// aggregate is 1; q4's aggregates above the join 2 and 3).
		join, ok := r.State.PerOperator[map[string]uint32{"q4": 1, "q7": 2, "q20": 1, "q20-bounded": 1}[r.Query]]
		if !ok {
			t.Fatalf("%s: no join state in %+v", r.Query, r.State.PerOperator)
		}
		share := float64(join.Keys) / float64(r.Rows)
		t.Logf("%s: %d of %d rows in the join's state (%.0f%%), %d bytes", r.Query, join.Keys, r.Rows, 100*share, join.Bytes)
		if r.Query == "q20" {
			if share < 0.9 {
				t.Errorf("q20 keeps %.0f%% of its rows: it keeps every bid (q20's category 10 auctions are a fifth of the auctions)", 100*share)
			}
		} else if share > 1.0/3 {
			t.Errorf("%s keeps %.0f%% of its rows in the join's state, want under a third", r.Query, 100*share)
		}
	}
}
