package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunTumble_SDKLoop runs the bare SDK loop once on a small stream,
// through kinesalite: its answer must be the ceiling's. No timing is
// asserted.
func TestRunTumble_SDKLoop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const events = 20_000
	results, err := RunTumble(ctx, TumbleOptions{
		Clicks:  ClickOptions{Events: events, Keys: 500, Seed: 4, Rate: 1000},
		Timeout: 2 * time.Minute,
	}, SDKLoopContender(E2EOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	r := results[1]
	if !r.Correct {
		t.Fatalf("bare SDK loop: %s%s", r.Error, r.Mismatch)
	}
	if results[0].Answer.Windows < 2 || results[0].Answer.Count != events {
		t.Fatalf("the scenario is too small to mean anything: %v", results[0].Answer)
	}
	if r.CPUSeconds <= 0 || r.AllocsPerEvent <= 0 || r.Note == "" || r.Load == nil || r.Load.Records != events {
		t.Errorf("measurements missing: %+v", r)
	}
}

func TestPrintSDKLoopRatios(t *testing.T) {
	results := []Result{
		{Keys: 1000, Contender: "ceiling (Go loop, goccy/go-json)", Correct: true, EventsPerCPUSecond: 5e6},
		{Keys: 1000, Contender: "bare aws-sdk-go-v2 loop (kinesalite, 4 shards)", Correct: true, EventsPerCPUSecond: 400_000},
		{Keys: 1000, Contender: "streamsql end-to-end (kinesalite, 4 shards)", Correct: true, EventsPerCPUSecond: 500_000},
		{Keys: 5, Contender: "streamsql end-to-end (kinesalite, 4 shards)", Correct: true, EventsPerCPUSecond: 1},
	}
	var b strings.Builder
	if err := PrintSDKLoopRatios(&b, results); err != nil {
		t.Fatal(err)
	}
	want := "1000 keys: streamsql end to end reads 1.25x the events per CPU-second of the bare aws-sdk-go-v2 loop (500.0k against 400.0k).\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
