package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Machine describes where a run happened, so figures are read with it.
type Machine struct {
	CPU       string `json:"cpu"`
	NumCPU    int    `json:"num_cpu"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	GoVersion string `json:"go_version"`
}

// ThisMachine returns the machine the process runs on.
func ThisMachine() Machine {
	return Machine{CPU: cpuModel(), NumCPU: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version()}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// Report is one benchmark run: the JSON written to bench/results.
type Report struct {
	StartedAt time.Time `json:"started_at"`
	Machine   Machine   `json:"machine"`
	// MemoryLimitBytes is the engine's memory limit in the run
	// (Config.MemoryLimit, or its default) and the Go runtime's soft limit
	// is 90% of it, as the binary sets them; a contender whose peak RSS
	// passed it has over_memory_limit set.
	MemoryLimitBytes int64    `json:"memory_limit_bytes,omitempty"`
	Results          []Result `json:"results,omitempty"`
	// Nexmark holds the Nexmark scenario's rows (bench/nexmark.go).
	Nexmark []NexmarkResult `json:"nexmark,omitempty"`
}

// PrintTable writes results as an aligned table.
func PrintTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmode\tkeys\tcontender\tevents\tevents/s\tevents/CPU-s\tx below ceiling\tpeak RSS MiB\t(start)\tmem limit\tallocs/event\tp50 ms\tp99 ms\t  answer")
	for _, r := range results {
		answer := "ok"
		switch {
		case r.Error != "":
			answer = "ERROR: " + r.Error
		case !r.Correct:
			answer = "WRONG: " + r.Mismatch
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\t%.1f\t%.0f\t%.0f\t%s\t%.2f\t%s\t%s\t  %s\n",
			r.Scenario, r.Mode, r.Keys, r.Contender, r.Events, si(r.EventsPerSecond), si(r.EventsPerCPUSecond),
			r.BelowCeiling, float64(r.PeakRSSBytes)/(1<<20), float64(r.StartRSSBytes)/(1<<20), withinLimit(r.MemoryLimitBytes, r.OverMemoryLimit), r.AllocsPerEvent, ms(r.LatencyP50Ms), ms(r.LatencyP99Ms), answer)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The end-to-end row's figures need their conditions beside them.
	noted := map[string]bool{}
	for _, r := range results {
		if r.Note != "" && !noted[r.Note] {
			noted[r.Note] = true
			fmt.Fprintf(w, "\n%s: %s.\n", r.Contender, r.Note)
		}
		if l := r.Load; l != nil {
			fmt.Fprintf(w, "%d keys: kinesalite was loaded with %d records in %.1f s (%s records/s, PutRecords of %d, %d shards) before the view started.\n",
				r.Keys, l.Records, l.Seconds, si(l.PerSecond), l.RecordsPerPut, l.Shards)
		}
		if l := r.Latency; l != nil {
			fmt.Fprintf(w, "%d keys: event-to-view latency p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms: %d events timed, produced at %d/s (a PutRecords every %.0f ms) after %d warm-up events, "+
				"checkpoint interval %.0f ms (min %.0f ms), from PutRecords acknowledged to the change in SUBSCRIBE of %q.\n",
				r.Keys, l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs, l.Events, l.RatePerSecond, l.PutEveryMs, l.WarmUp, l.CheckpointIntervalMs, l.CheckpointMinIntervalMs, l.View)
		}
	}
	return nil
}

// withinLimit says whether a run stayed within its memory limit.
func withinLimit(limit int64, over bool) string {
	switch {
	case limit <= 0:
		return "-"
	case over:
		return "OVER"
	}
	return "within"
}

func si(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func ms(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *p)
}

// WriteJSON writes rep to dir/<started_at>.json (UTC, e.g.
// 20261125T223000Z.json), creating dir, and returns the file's path.
func WriteJSON(dir string, rep Report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bench: results directory: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", fmt.Errorf("bench: encoding results: %w", err)
	}
	path := filepath.Join(dir, rep.StartedAt.UTC().Format("20060102T150405Z")+".json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("bench: writing results: %w", err)
	}
	return path, nil
}
