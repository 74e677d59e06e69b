package bench

import (
	"context"
	"testing"
)

// The engine's answer must equal the hand-written loop's on the same events.
func TestRunEngine_MatchesCeiling(t *testing.T) {
	for _, keys := range []int{10, 1000} {
		clicks := GenerateClicks(ClickOptions{Events: 50_000, Keys: keys, Seed: 3, Rate: 1000})
		want, err := RunCeiling(clicks.Events, TumbleQuery)
		if err != nil {
			t.Fatal(err)
		}
		got, err := RunEngine(context.Background(), clicks.Events, TumbleQuery)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("keys=%d: engine %v, ceiling %v: %s", keys, got, want, got.Diff(want))
		}
		if want.Windows < 2 || want.Count != 50_000 {
			t.Fatalf("the scenario is too small to mean anything: %v", want)
		}
	}
}

// BenchmarkRunEngine: events per second through streamsql's operators,
// beside BenchmarkCeiling in bench_test.go for the ratio.
func BenchmarkRunEngine(b *testing.B) {
	clicks := GenerateClicks(ClickOptions{Events: 200_000, Keys: 1000, Seed: 1})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := RunEngine(context.Background(), clicks.Events, TumbleQuery); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(clicks.Events))/b.Elapsed().Seconds(), "events/s")
}
