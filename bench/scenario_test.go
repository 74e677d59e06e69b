package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRunTumble_ReportsAndChecks(t *testing.T) {
	wrong := Contender{Name: "off by one", Run: func(ctx context.Context, ev [][]byte, q Query) (Answer, error) {
		a, err := RunCeiling(ev, q)
		a.Count++
		return a, err
	}}
	failing := Contender{Name: "broken", Run: func(context.Context, [][]byte, Query) (Answer, error) {
		return Answer{}, errors.New("no engine")
	}}
	results, err := RunTumble(context.Background(), TumbleOptions{Clicks: ClickOptions{Events: 20_000, Keys: 100, Rate: 1000}},
		RulegoContender, wrong, failing)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 {
		t.Fatalf("%d results", len(results))
	}
	for i, want := range []bool{true, true, false, false} {
		if results[i].Correct != want {
			t.Errorf("%s: correct = %v (%s)", results[i].Contender, results[i].Correct, results[i].Error)
		}
		if results[i].Events != 20_000 || results[i].Keys != 100 {
			t.Errorf("%s: %d events, %d keys", results[i].Contender, results[i].Events, results[i].Keys)
		}
	}
	if !strings.Contains(results[2].Mismatch, "count 20001") || results[3].Error != "no engine" {
		t.Errorf("mismatch %q, error %q", results[2].Mismatch, results[3].Error)
	}
	if results[0].CPUSeconds <= 0 || results[0].PeakRSSBytes <= 0 || results[1].BelowCeiling <= 0 {
		t.Errorf("measurements missing: %+v", results[:2])
	}

	var table bytes.Buffer
	if err := PrintTable(&table, results); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"events/CPU-s", "rulego/streamsql", "WRONG", "ERROR: no engine"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}

	rep := Report{StartedAt: time.Date(2026, 11, 25, 22, 30, 0, 0, time.UTC), Machine: ThisMachine(), Results: results}
	path, err := WriteJSON(t.TempDir(), rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, "20261125T223000Z.json") {
		t.Errorf("path %s", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != 4 || back.Results[1].Answer != results[1].Answer || back.Machine.NumCPU == 0 {
		t.Errorf("read back %+v", back)
	}
}
