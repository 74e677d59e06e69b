package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// nexmarkTestOptions: 20,000 events at 500 a second span 40 seconds of
// event time, so that the 10-second windows of q7 and the sessions of q11
// close (the watermark trails by 4 seconds).
func nexmarkTestOptions() NexmarkOptions {
	return NexmarkOptions{Events: 20_000, EventRate: 500, Seed: 5, Timeout: 2 * time.Minute}
}

// TestRunNexmark runs every query of the suite once, in process, and
// requires each supported view to equal the plain-Go computation over the
// same bids, and each unsupported query to have its row. No timing is
// asserted.
func TestRunNexmark(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	results, err := RunNexmark(ctx, nexmarkTestOptions())
	if err != nil {
		t.Fatal(err)
	}
	checkNexmarkResults(t, results, len(NexmarkQueries), "engine")
}

// TestRunNexmark_E2E runs each supported query once end to end, through
// kinesalite, beside the in-process run, with a latency phase of 600 bids
// (400 of them warm-up) per query. No timing is asserted: the latency
// phase must have timed every bid that shows in the view (the phase
// fails on a bid that never shows, and checks the view's final rows).
func TestRunNexmark_E2E(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	o := nexmarkTestOptions()
	o.Events = 5_000
	o.EventRate = 100
	const rate, latencyBids = 400, 600
	o.E2E = &E2EOptions{CheckpointInterval: 200 * time.Millisecond, LatencyRate: rate, LatencyEvents: latencyBids,
		Emulator: emulator.StartForTest(ctx, t, emulator.Options{})}
	results, err := RunNexmark(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	checkNexmarkResults(t, results, len(NexmarkQueries), "engine", "e2e")
	measured := map[string]bool{}
	for _, r := range results {
		if r.Mode != "e2e" {
			if r.Latency != nil || r.LatencyP50Ms != nil {
				t.Errorf("%s %s: latency %+v", r.Query, r.Mode, r.Latency)
			}
			continue
		}
		if r.Load == nil || r.Load.Records != int(r.Bids)-4 || r.Load.Shards != 4 {
			t.Errorf("%s: load %+v, %d bids", r.Query, r.Load, r.Bids)
		}
		l := r.Latency
		if l == nil {
			if r.LatencySkipped == "" {
				t.Errorf("%s: neither latency nor why not", r.Query)
			}
			continue
		}
		measured[r.Query] = true
		if l.WarmUp != rate || l.Events <= 0 || l.Events+l.Unseen+l.WarmUp != latencyBids || l.Shards != 4 || l.Visible == "" ||
			r.LatencyP50Ms == nil || *r.LatencyP50Ms != l.P50Ms || r.LatencyP99Ms == nil || *r.LatencyP99Ms != l.P99Ms ||
			!(0 < l.P50Ms && l.P50Ms <= l.P90Ms && l.P90Ms <= l.P99Ms && l.P99Ms <= l.MaxMs) {
			t.Errorf("%s: latency %+v", r.Query, l)
		}
	}
	// Every way of seeing a bid: rows (with and without a filter), counts
	// of per-auction groups, and of groups over one shard.
	for _, q := range []string{"q0", "q14", "q17", "q7", "q15"} {
		if !measured[q] {
			t.Errorf("%s: no latency measured", q)
		}
	}
	if measured["q11"] {
		t.Error("q11: latency measured, but a session's row cannot follow a bid")
	}
}

func checkNexmarkResults(t *testing.T, results []NexmarkResult, queries int, modes ...string) {
	t.Helper()
	seen := map[string]map[string]bool{}
	for _, r := range results {
		if seen[r.Query] == nil {
			seen[r.Query] = map[string]bool{}
		}
		seen[r.Query][r.Mode] = true
		if r.Unsupported != "" {
			continue
		}
		if !r.Correct {
			t.Errorf("%s %s: %s%s", r.Query, r.Mode, r.Error, r.Mismatch)
			continue
		}
		if r.Answer.Rows == 0 {
			t.Errorf("%s %s: the view is empty: the test proves nothing", r.Query, r.Mode)
		}
		if r.CPUSeconds <= 0 || r.PeakRSSBytes <= 0 || r.AllocsPerEvent <= 0 || r.Bids <= 0 {
			t.Errorf("%s %s: measurements missing: %+v", r.Query, r.Mode, r)
		}
	}
	if len(seen) != queries {
		t.Errorf("%d queries have rows, want %d", len(seen), queries)
	}
	for _, q := range NexmarkQueries {
		if q.Unsupported != "" {
			continue
		}
		for _, m := range modes {
			if !seen[q.Name][m] {
				t.Errorf("%s has no %s row", q.Name, m)
			}
		}
	}
	var table bytes.Buffer
	if err := PrintNexmarkTable(&table, results); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"not supported: needs joins", "winning bid", "q3 ", "q8 ", "p99 ms"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}
	t.Logf("\n%s", table.String())
}

// The plain-Go computations the views are checked against, on bids worked
// out by hand (times in seconds from the epoch; the final watermark is the
// last bid's time less the 4-second delay, 21 s here).
func TestNexmarkRefs(t *testing.T) {
	type bid struct{ bidder, price, sec int64 }
	bids := []bid{{1, 5, 0}, {2, 7, 5}, {1, 3, 10}, {1, 1, 25}}
	s := func(sec int64) string { return tsText(sec * 1_000_000) }
	for _, c := range []struct {
		query string
		want  []string
	}{
		// Windows [0,10) and [10,20) are closed, [20,30) is not.
		{"q7", []string{s(0) + "|" + s(10) + "|7|2", s(10) + "|" + s(20) + "|3|1"}},
		// Bidder 1's bid at 10 s is exactly a gap after the one at 0 s:
		// the sessions touch and merge (Flink's rule). Its session from
		// 25 s is still open.
		{"q11", []string{"1|2|" + s(0) + "|" + s(20), "2|1|" + s(5) + "|" + s(15)}},
		{"q1", []string{"1000|1|4.5400|" + s(0) + "|x", "1000|2|6.3560|" + s(5) + "|x", "1000|1|2.7240|" + s(10) + "|x", "1000|1|0.9080|" + s(25) + "|x"}},
	} {
		t.Run(c.query, func(t *testing.T) {
			q, _ := nexmarkQuery(c.query)
			got, n, err := nexmarkWant([]NexmarkQuery{q}, func(fn func(*bidRow)) error {
				for _, b := range bids {
					fn(&bidRow{auction: 1000, bidder: b.bidder, price: b.price, ts: b.sec * 1_000_000, extra: "x"})
				}
				return nil
			}, true)
			if err != nil || n != int64(len(bids)) {
				t.Fatal(n, err)
			}
			want := &nexAcc{keep: map[string]int{}}
			for _, r := range c.want {
				want.add(strings.Split(r, "|"))
			}
			if d := got[c.query].diff(want); d != "" {
				t.Error(d)
			}
		})
	}
}
