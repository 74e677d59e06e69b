package bench

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkTumble runs the ceiling and rulego on the click stream with
// 1,000 and 1,000,000 keys and reports events per CPU-second (the whole
// process's CPU, so a contender's helper goroutines and GC count).
func BenchmarkTumble(b *testing.B) {
	for _, keys := range []int{1000, 1_000_000} {
		for _, c := range []struct {
			contender Contender
			events    int
		}{
			{CeilingContender, 4_000_000},
			{RulegoContender, 1_000_000},
		} {
			name := "ceiling"
			if c.contender.Name == RulegoContender.Name {
				name = "rulego"
			}
			b.Run(fmt.Sprintf("%s/keys=%d", name, keys), func(b *testing.B) {
				clicks := GenerateClicks(ClickOptions{Events: c.events, Keys: keys, Seed: 1})
				want, _ := RunCeiling(clicks.Events, TumbleQuery)
				var total Usage
				runs := 0
				for b.Loop() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					var got Answer
					u, err := Measure(func() error {
						var err error
						got, err = c.contender.Run(ctx, clicks.Events, TumbleQuery)
						return err
					})
					cancel()
					if err != nil {
						b.Fatal(err)
					}
					if d := got.Diff(want); d != "" {
						b.Fatalf("%s: %s", c.contender.Name, d)
					}
					total.CPU += u.CPU
					total.Mallocs += u.Mallocs
					total.PeakRSS = max(total.PeakRSS, u.PeakRSS-u.StartRSS)
					runs++
				}
				events := float64(runs * len(clicks.Events))
				b.ReportMetric(events/total.CPU.Seconds(), "events/CPU-s")
				b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(total.Mallocs)/events, "allocs/event")
				b.ReportMetric(float64(total.PeakRSS)/(1<<20), "addedRSS-MiB")
			})
		}
	}
}
