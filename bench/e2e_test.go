package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunTumble_E2E runs the end-to-end contender once on a small stream,
// through kinesalite, so that the harness cannot rot: its answer must be
// the ceiling's, and the latency phase must have measured every event
// (its own answer is checked inside against the ceiling's on its events).
// No timing is asserted.
func TestRunTumble_E2E(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const events, latencyEvents = 20_000, 2_000
	results, err := RunTumble(ctx, TumbleOptions{
		Clicks:  ClickOptions{Events: events, Keys: 500, Seed: 4, Rate: 1000},
		Timeout: 3 * time.Minute,
	}, E2EContender(E2EOptions{LatencyRate: 1000, LatencyEvents: latencyEvents, CheckpointInterval: 200 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	r := results[1]
	if !r.Correct {
		t.Fatalf("end to end: %s%s", r.Error, r.Mismatch)
	}
	if results[0].Answer.Windows < 2 || results[0].Answer.Count != events {
		t.Fatalf("the scenario is too small to mean anything: %v", results[0].Answer)
	}
	if r.CPUSeconds <= 0 || r.PeakRSSBytes <= 0 || r.AllocsPerEvent <= 0 || r.Note == "" {
		t.Errorf("measurements missing: %+v", r)
	}
	if r.Load == nil || r.Load.Records != events || r.Load.Shards != 4 {
		t.Errorf("load %+v", r.Load)
	}
	l := r.Latency
	if l == nil || l.Events+l.WarmUp != latencyEvents || l.WarmUp != 1000 || l.CheckpointIntervalMs != 200 || r.LatencyP50Ms == nil || *r.LatencyP50Ms != l.P50Ms ||
		!(0 < l.P50Ms && l.P50Ms <= l.P90Ms && l.P90Ms <= l.P99Ms && l.P99Ms <= l.MaxMs) {
		t.Errorf("latency %+v", l)
	}
	var table bytes.Buffer
	if err := PrintTable(&table, results); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"kinesalite", "event-to-view latency p50", "not counted"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}
}

func TestUserOf(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{`{"user_id":42,"amount":1.00,"ts":1}`, 42, false},
		{`{"user_id":9999999,"amount":1.00,"ts":1}`, 9999999, false},
		{`{"amount":1.00,"user_id":1}`, 0, true},
		{`{"user_id":}`, 0, true},
	} {
		got, err := userOf([]byte(c.in))
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("userOf(%s) = %d, %v", c.in, got, err)
		}
	}
	// The generator's events all parse.
	for _, ev := range GenerateClicks(ClickOptions{Events: 100, Keys: 9_999_999}).Events {
		if _, err := userOf(ev); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct{ p, want float64 }{{0.5, 5}, {0.9, 9}, {0.99, 10}, {0, 1}, {1, 10}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
}
