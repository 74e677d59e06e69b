package bench

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The view over a file source must give the ceiling's answer, with windows
// closing throughout the stream, and report its figures; a CPU profile of
// each contender's measured part is written.
func TestRunTumble_View(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	profiles := t.TempDir()
	const events = 30_000
	results, err := RunTumble(ctx, TumbleOptions{
		Clicks:     ClickOptions{Events: events, Keys: 1000, Seed: 3, Rate: 1000},
		ProfileDir: profiles,
		// Far below what any run takes: every row must be flagged.
		MemoryLimit: 1 << 20,
	}, ViewContender(ViewOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	ceiling, r := results[0], results[1]
	if ceiling.Answer.Windows < 3 || ceiling.Answer.Count != events {
		t.Fatalf("the scenario is too small to mean anything: %v", ceiling.Answer)
	}
	measured := func(res Result) {
		t.Helper()
		if !res.OverMemoryLimit {
			t.Errorf("%s: peak RSS %d over a 1 MiB limit is not flagged", res.Contender, res.PeakRSSBytes)
		}
		b, err := os.ReadFile(filepath.Join(profiles, ProfileName("tumble-inprocess-1000keys-"+res.Contender)))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // pprof's gzipped protobuf
			t.Errorf("%s: the profile is not pprof's format: % x", res.Contender, b[:min(len(b), 8)])
		}
	}
	measured(ceiling)
	measured(r)
	if !r.Correct || r.Contender != ViewName {
		t.Fatalf("%s: %s%s", r.Contender, r.Error, r.Mismatch)
	}
	if r.CPUSeconds <= 0 || r.PeakRSSBytes <= 0 || r.AllocsPerEvent <= 0 || r.Note != ViewNote || r.Mode != "inprocess" {
		t.Errorf("measurements missing: %+v", r)
	}
	var table bytes.Buffer
	if err := PrintTable(&table, results); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{ViewName, "OVER", "connector = 'file'"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}
}

// The file holds every event, one a line, then the closing event of user
// 0 an hour after the last event's time.
func TestWriteClicksFile(t *testing.T) {
	clicks := GenerateClicks(ClickOptions{Events: 1000, Keys: 10, Seed: 2})
	path := filepath.Join(t.TempDir(), "clicks.jsonl")
	if err := writeClicksFile(path, clicks.Events); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != len(clicks.Events)+1 {
		t.Fatalf("%d lines for %d events", len(lines), len(clicks.Events))
	}
	for i, ev := range clicks.Events {
		if lines[i] != string(ev) {
			t.Fatalf("line %d: %s, want %s", i, lines[i], ev)
		}
	}
	closing := lines[len(lines)-1]
	ts, err := tsOf([]byte(closing))
	if err != nil || !strings.HasPrefix(closing, `{"user_id":0,`) || ts != clicks.MaxTs+3_600_000 {
		t.Errorf("closing line %s (ts %d, %v), want user 0 at %d", closing, ts, err, clicks.MaxTs+3_600_000)
	}
}

func TestTsOf(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{`{"user_id":42,"amount":1.00,"ts":1767225605000}`, 1767225605000, false},
		{`{"user_id":42,"amount":1.00,"ts":}`, 0, true},
		{`{"ts":12,"user_id":1}`, 0, true},
		{`{"user_id":42}`, 0, true},
	} {
		got, err := tsOf([]byte(c.in))
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("tsOf(%s) = %d, %v", c.in, got, err)
		}
	}
}

// The default rate puts the default 2,000,000-event run over 10 to 20
// windows of the scenario, so that windows close throughout it.
func TestClickRate_WindowsCloseThroughout(t *testing.T) {
	o := ClickOptions{Events: 2_000_000}
	o.setDefaults()
	windows := time.Duration(int64(o.Events)/o.Rate) * time.Second / TumbleQuery.Size
	if windows < 10 || windows > 20 {
		t.Errorf("2,000,000 events at %d/s span %d windows", o.Rate, windows)
	}
	// And the generator advances event time at that rate.
	c := GenerateClicks(ClickOptions{Events: 40_000, Keys: 10})
	if span := c.MaxTs - (ClickBase + 5000); span < 1990 || span > 2000 {
		t.Errorf("40,000 events span %d ms of event time, want 2 s", span)
	}
}
