package bench

import (
	"context"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestRunNexmark_Q12 runs q12 (processing-time windows) alone, in process
// and end to end through kinesalite: per bidder, the bids over all of its
// windows equal its bids in the plain-Go computation, and each window is
// 10 seconds.
func TestRunNexmark_Q12(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := nexmarkTestOptions()
	o.Queries = []string{"q12"}
	o.Events = 5_000
	o.E2E = &E2EOptions{CheckpointInterval: 200 * time.Millisecond, LatencyEvents: -1,
		Emulator: emulator.StartForTest(ctx, t, emulator.Options{})}
	results, err := RunNexmark(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]bool{}
	for _, r := range results {
		modes[r.Mode] = true
		if !r.Correct || r.Answer.Rows == 0 {
			t.Errorf("q12 %s: correct=%v rows=%d %s%s", r.Mode, r.Correct, r.Answer.Rows, r.Error, r.Mismatch)
		}
	}
	if !modes["engine"] || !modes["e2e"] {
		t.Errorf("modes run: %v, want engine and e2e", modes)
	}
}

// q12Ref's answer is the bidders' bid counts, and a wrong count is seen.
func TestNexmarkRefs_Q12(t *testing.T) {
	ref := &q12Ref{bids: map[int64]int64{}}
	for _, b := range []bidRow{{bidder: 1}, {bidder: 2}, {bidder: 1}} {
		ref.add(&b)
	}
	want := &nexAcc{keep: map[string]int{}}
	ref.finish(0, want)
	if want.keep["1|2|10000000|10000000"] != 1 || want.keep["2|1|10000000|10000000"] != 1 || want.a.Rows != 2 {
		t.Fatalf("q12Ref = %v", want.keep)
	}
	got := &nexAcc{keep: map[string]int{}}
	got.add([]string{"1", "1", "10000000", "10000000"})
	got.add([]string{"2", "1", "10000000", "10000000"})
	if got.diff(want) == "" {
		t.Fatal("a bidder's wrong count went unseen")
	}
}
