package bench

import (
	"context"
	"fmt"
	"time"
)

// Contender is one way of running the scenario's query over its events.
// Run must compute its Answer from its own output.
type Contender struct {
	Name string
	Run  func(ctx context.Context, events [][]byte, q Query) (Answer, error)
	// Self, when set, is used instead of Run by a contender that must
	// measure only part of its run (the end-to-end one loads kinesalite
	// first) or measures more (latency). It calls Measure itself.
	Self func(ctx context.Context, events [][]byte, q Query) (Outcome, error)
}

// Outcome is what a self-measuring contender reports.
type Outcome struct {
	Answer  Answer
	Usage   Usage
	Latency *LatencyRun
	Load    *LoadRun
	// Note says what the figures count, where that differs from the
	// in-process contenders.
	Note string
}

// Ceiling and Rulego are the contenders this package brings.
var (
	CeilingContender = Contender{Name: "ceiling (Go loop, goccy/go-json)", Run: func(_ context.Context, ev [][]byte, q Query) (Answer, error) {
		return RunCeiling(ev, q)
	}}
	RulegoContender = Contender{Name: "rulego/streamsql v1.1.2", Run: RunRulego}
)

// Result is one contender's run of one scenario.
type Result struct {
	Scenario string `json:"scenario"`
	// Mode is "inprocess" or "e2e": which run of the scenario (the
	// events differ: e2e has fewer, advancing at its produce rate).
	Mode      string `json:"mode"`
	Keys      int    `json:"keys"`
	Contender string `json:"contender"`
	Events    int    `json:"events"`

	WallSeconds        float64 `json:"wall_seconds"`
	CPUSeconds         float64 `json:"cpu_seconds"`
	EventsPerSecond    float64 `json:"events_per_second"`
	EventsPerCPUSecond float64 `json:"events_per_cpu_second"`
	PeakRSSBytes       int64   `json:"peak_rss_bytes"`
	PeakRSSLifetime    bool    `json:"peak_rss_lifetime,omitempty"`
	// StartRSSBytes is the resident set when the run began, the scenario's
	// pre-generated events included.
	StartRSSBytes int64 `json:"start_rss_bytes"`
	// MemoryLimitBytes is the memory limit the run was given (the
	// engine's; 0: none checked), and OverMemoryLimit says the peak
	// resident set passed it.
	MemoryLimitBytes int64   `json:"memory_limit_bytes,omitempty"`
	OverMemoryLimit  bool    `json:"over_memory_limit,omitempty"`
	AllocsPerEvent   float64 `json:"allocs_per_event"`
	BytesPerEvent    float64 `json:"alloc_bytes_per_event"`
	// LatencyP50Ms and LatencyP99Ms are event-to-view latencies, for the
	// contenders that measure them (the engine).
	LatencyP50Ms *float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms *float64 `json:"latency_p99_ms,omitempty"`
	// Latency and Load detail the end-to-end contender's two phases.
	Latency *LatencyRun `json:"latency,omitempty"`
	Load    *LoadRun    `json:"load,omitempty"`
	Note    string      `json:"note,omitempty"`

	Answer Answer `json:"answer"`
	// Correct: the run succeeded and its answer equals the ceiling's;
	// otherwise Mismatch or Error says why not.
	Correct  bool   `json:"correct"`
	Mismatch string `json:"mismatch,omitempty"`
	Error    string `json:"error,omitempty"`
	// BelowCeiling is the ceiling's events per CPU-second divided by this
	// contender's: 18 means "18x below the ceiling".
	BelowCeiling float64 `json:"below_ceiling"`
}

// TumbleOptions configure RunTumble.
type TumbleOptions struct {
	Clicks ClickOptions
	Query  Query
	// Timeout bounds each contender's run.
	Timeout time.Duration
	// MemoryLimit is the process's memory limit (the engine's): a
	// contender whose peak RSS passes it is flagged. 0: none.
	MemoryLimit int64
	// ProfileDir, when set, gets a CPU profile of each contender's
	// measured part: tumble-<mode>-<keys>keys-<contender>.pprof.
	ProfileDir string
	// Mode names the run in its rows and profiles: "inprocess" (the
	// default) or "e2e".
	Mode string
}

// RunTumble generates the click stream, runs the ceiling and then every
// contender on it, one at a time, and returns a Result per run (the
// ceiling's first). A contender's error or wrong answer is recorded in its
// Result, not returned.
func RunTumble(ctx context.Context, o TumbleOptions, contenders ...Contender) ([]Result, error) {
	if o.Query == (Query{}) {
		o.Query = TumbleQuery
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Minute
	}
	clicks := GenerateClicks(o.Clicks)
	if o.Mode == "" {
		o.Mode = "inprocess"
	}
	scenario := fmt.Sprintf("tumble %s count/sum per key", o.Query.Size)
	run := func(c Contender) (r Result) {
		profiled(o.ProfileDir, fmt.Sprintf("tumble-%s-%dkeys-%s", o.Mode, clicks.Keys, c.Name), func() { r = runContender(ctx, c, clicks, o) })
		r.Scenario, r.Mode = scenario, o.Mode
		r.MemoryLimitBytes, r.OverMemoryLimit = o.MemoryLimit, o.MemoryLimit > 0 && r.PeakRSSBytes > o.MemoryLimit
		return r
	}
	ceiling := run(CeilingContender)
	if ceiling.Error != "" {
		return nil, fmt.Errorf("bench: the ceiling failed: %s", ceiling.Error)
	}
	ceiling.Correct, ceiling.BelowCeiling = true, 1
	results := []Result{ceiling}
	for _, c := range contenders {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		r := run(c)
		r.Correct = r.Error == "" && r.Answer == ceiling.Answer
		if r.Error == "" && !r.Correct {
			r.Mismatch = r.Answer.Diff(ceiling.Answer)
		}
		if r.EventsPerCPUSecond > 0 {
			r.BelowCeiling = ceiling.EventsPerCPUSecond / r.EventsPerCPUSecond
		}
		results = append(results, r)
	}
	return results, nil
}

func runContender(ctx context.Context, c Contender, clicks Clicks, o TumbleOptions) Result {
	r := Result{Keys: clicks.Keys, Contender: c.Name, Events: len(clicks.Events)}
	cctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var u Usage
	var err error
	if c.Self != nil {
		var out Outcome
		out, err = c.Self(cctx, clicks.Events, o.Query)
		r.Answer, u, r.Latency, r.Load, r.Note = out.Answer, out.Usage, out.Latency, out.Load, out.Note
		if l := out.Latency; l != nil {
			r.LatencyP50Ms, r.LatencyP99Ms = &l.P50Ms, &l.P99Ms
		}
	} else {
		u, err = Measure(func() error {
			var err error
			r.Answer, err = c.Run(cctx, clicks.Events, o.Query)
			return err
		})
	}
	if err != nil {
		r.Error = err.Error()
	}
	r.fill(u)
	return r
}

func (r *Result) fill(u Usage) {
	r.WallSeconds = u.Wall.Seconds()
	r.CPUSeconds = u.CPU.Seconds()
	if r.WallSeconds > 0 {
		r.EventsPerSecond = float64(r.Events) / r.WallSeconds
	}
	if r.CPUSeconds > 0 {
		r.EventsPerCPUSecond = float64(r.Events) / r.CPUSeconds
	}
	r.PeakRSSBytes, r.PeakRSSLifetime, r.StartRSSBytes = u.PeakRSS, u.PeakRSSLifetime, u.StartRSS
	if r.Events > 0 {
		r.AllocsPerEvent = float64(u.Mallocs) / float64(r.Events)
		r.BytesPerEvent = float64(u.AllocBytes) / float64(r.Events)
	}
}
