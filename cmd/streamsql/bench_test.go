package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/bench"
)

// The bench command wires its flags through: a short Nexmark run writes
// one report whose rows carry their query's ceiling and the memory limit
// given, and a CPU profile per measured part. No timing is asserted.
func TestBenchCmd_NexmarkReport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	out, profiles := filepath.Join(dir, "results"), filepath.Join(dir, "profiles")
	var stdout, stderr bytes.Buffer
	err := benchCmd(ctx, []string{"--scenario", "nexmark", "--nexmark", "q0,q7-simple", "--events", "5000",
		"--memory-limit", "2GiB", "--cpuprofile", profiles, "--out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, s := range []string{"memory limit 2.0 GiB", "x below ceiling", "q7-simple", "report: "} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, stdout.String())
		}
	}
	files, err := filepath.Glob(filepath.Join(out, "*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("reports %v, %v", files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.MemoryLimitBytes != 2<<30 || len(rep.Nexmark) != 2 {
		t.Fatalf("report: limit %d, %d nexmark rows", rep.MemoryLimitBytes, len(rep.Nexmark))
	}
	for _, r := range rep.Nexmark {
		if !r.Correct || r.Ceiling == nil || r.Ceiling.RowsPerCPUSecond <= 0 || r.BelowCeiling <= 0 || r.MemoryLimitBytes != 2<<30 || r.OverMemoryLimit {
			t.Errorf("%s: %+v", r.Query, r)
		}
		for _, part := range []string{"engine", "ceiling"} {
			if _, err := os.Stat(filepath.Join(profiles, bench.ProfileName("nexmark-"+r.Query+"-"+part))); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestBenchCmd_BadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--scenario", "nope"},
		{"--mode", "nope"},
		{"--memory-limit", "1MiB"},
		{"--peers", "flink"},
	} {
		var stdout, stderr bytes.Buffer
		err := benchCmd(context.Background(), append(args, "--out", t.TempDir()), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: error %v, want one naming %s", args, err, args[0])
		}
	}
}
