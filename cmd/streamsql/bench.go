package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/bench"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "Runs the benchmark scenarios, each contender beside a hand-written ceiling in the same run, and\n"+
		"checks every contender's answer against the ceiling's.\n\n"+
		"--scenario tumble (the default): a 10-second TUMBLE, COUNT(*) and SUM(amount) per user_id, 2-second\n"+
		"watermark delay, over JSON click events, through the hand-written Go loop (the ceiling), a streamsql\n"+
		"materialized view over a file source (the path users run, default settings) and the rulego/streamsql\n"+
		"peer. --mode e2e runs it end to end instead: the events go through kinesalite (started on loopback,\n"+
		"4 shards) into a Kinesis source and a materialized view, throughput with the stream loaded first, then\n"+
		"event-to-view latency (p50/p99, through SUBSCRIBE) at a steady --e2e-rate, beside a bare\n"+
		"aws-sdk-go-v2 loop reading the same stream (GetRecords, goccy, a map per window).\n\n"+
		"--scenario nexmark runs Nexmark queries (--nexmark q0,q1,...) as materialized views over the built-in\n"+
		"generator (unpaced, --events of them), each on a fresh engine, measured from CREATE MATERIALIZED VIEW\n"+
		"to FLUSH, beside the query's plain-Go computation over the same rows (its ceiling, timed in the same\n"+
		"run), which also checks the view's answer; with --mode e2e also through kinesalite, one 4-shard stream\n"+
		"per table, then per query event-to-view latency on bids produced at a steady --e2e-rate.\n\n"+
		"--scenario all (make bench) runs the tumbling scenario in process and end to end, then Nexmark in\n"+
		"process, into one report (--mode is then ignored).", stderr)
	scenario := fs.string("scenario", "tumble", "tumble (COUNT/SUM per key), nexmark, or all")
	nexmarkQueries := fs.string("nexmark", "", "nexmark: comma-separated queries (q0 to q22, q7-simple); empty: all, the unsupported ones as rows saying why")
	nexmarkTimeout := fs.duration("nexmark-timeout", 10*time.Minute, "nexmark: the bound on each query's run (q5 at 2,000,000 events takes longer than 10 minutes)")
	stateSize := fs.Bool("state-size", false, "nexmark: after each run, report the view's operator state (committed keys and bytes, the view's own rows left out)")
	mode := fs.string("mode", "inprocess", "inprocess, or e2e (end to end through kinesalite)")
	events := fs.int("events", 0, "click events per scenario; 0: 2,000,000 in process, 200,000 for e2e (kinesalite takes 10,000-20,000 records/s); "+
		"nexmark: generated events (46 in 50 are bids), 0: 1,000,000, or 200,000 for e2e")
	keys := fs.string("keys", "", "comma-separated key counts, one tumbling scenario each; empty: 1000,1000000 in process, 1000,100000 for e2e")
	peers := fs.string("peers", "rulego", "peer engines to run beside streamsql: rulego, or none")
	rate := fs.int("e2e-rate", 2000, "e2e: records/s produced in the latency phase, and events per second of event time (tumble)")
	latencyEvents := fs.int("e2e-latency-events", 0, "e2e: events produced in the latency phase (per query for nexmark), the first second's a warm-up; "+
		"0: 15 seconds' worth at --e2e-rate (nexmark: 11 seconds'); negative: no latency phase")
	checkpoint := fs.duration("checkpoint-interval", streamsql.DefaultCheckpointInterval, "e2e: the engine's checkpoint interval")
	memoryLimit := fs.string("memory-limit", "", "the engines' memory limit (e.g. 1GiB), and 90% of it the Go runtime's, as serve sets them; "+
		"a run whose peak RSS passes it is flagged; empty: the engine's default (half the machine's memory, at most 8 GiB)")
	cpuprofile := fs.string("cpuprofile", "", "directory for a CPU profile (pprof) of each contender's measured part, per scenario and key count or query")
	minCheckpoint := fs.duration("checkpoint-min-interval", streamsql.DefaultCheckpointMinInterval,
		"e2e: the engine's checkpoint min interval (epochs cut early for rows read from caught-up shards); at or above --checkpoint-interval: epochs on the interval only")
	out := fs.string("out", "bench/results", "directory for the JSON report")
	scrape := fs.duration("scrape-metrics", 0, "in process: gather and encode the engine's Prometheus metrics this often while the view runs, as a scraper of /metrics would (0: never)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *rate <= 0 {
		return fmt.Errorf("--e2e-rate %d: want a positive rate", *rate)
	}
	switch *mode {
	case "inprocess", "e2e":
	case "":
		*mode = "inprocess"
	default:
		return fmt.Errorf("--mode %q: want inprocess or e2e", *mode)
	}
	switch *scenario {
	case "tumble", "nexmark", "all":
	case "":
		*scenario = "tumble"
	default:
		return fmt.Errorf("--scenario %q: want tumble, nexmark or all", *scenario)
	}
	limit := streamsql.DefaultMemoryLimit()
	if *memoryLimit != "" {
		var err error
		if limit, err = streamsql.ParseMemoryLimit(*memoryLimit); err != nil {
			return fmt.Errorf("--memory-limit: %w", err)
		}
	}
	// Restored on return: the command may run inside a test's process.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit / 10 * 9))
	e2e := bench.E2EOptions{CheckpointInterval: *checkpoint, CheckpointMinInterval: minInterval(*minCheckpoint), LatencyRate: *rate, LatencyEvents: *latencyEvents, MemoryLimit: limit}
	var withPeers bool
	switch *peers {
	case "rulego":
		withPeers = true
	case "none", "":
	default:
		return fmt.Errorf("--peers %q: want rulego or none", *peers)
	}
	r := &benchRun{rep: bench.Report{StartedAt: time.Now().UTC(), Machine: bench.ThisMachine(), MemoryLimitBytes: limit},
		out: *out, stdout: stdout, profiles: *cpuprofile}
	fmt.Fprintf(stdout, "memory limit %s (Go runtime's soft limit 90%% of it)\n", humanize.IBytes(uint64(limit)))
	tumble := func(mode string) error {
		var contenders []bench.Contender
		clicks := bench.ClickOptions{Events: *events, Seed: 1}
		defKeys := "1000,1000000"
		switch mode {
		case "inprocess":
			if clicks.Events <= 0 {
				clicks.Events = 2_000_000
			}
			contenders = append(contenders, bench.ViewContender(bench.ViewOptions{MemoryLimit: limit, ScrapeEvery: *scrape}))
		case "e2e":
			if clicks.Events <= 0 {
				clicks.Events = 200_000
			}
			defKeys = "1000,100000"
			// Event time advances as fast as the latency phase produces,
			// so that windows close in real time there.
			clicks.Rate = int64(*rate)
			// The view over a file beside it: what Kinesis costs.
			contenders = append(e2eContenders(e2e), bench.ViewContender(bench.ViewOptions{MemoryLimit: limit, ScrapeEvery: *scrape}))
		}
		if withPeers && (mode == "inprocess" || *scenario != "all") {
			contenders = append(contenders, bench.RulegoContender)
		}
		ks := *keys
		if ks == "" {
			ks = defKeys
		}
		return r.tumble(ctx, mode, ks, clicks, limit, contenders)
	}
	nexmark := func(mode string) error {
		o := bench.NexmarkOptions{Events: int64(*events), Seed: 1, Timeout: *nexmarkTimeout, MemoryLimit: limit, ProfileDir: *cpuprofile, StateSize: *stateSize}
		if *nexmarkQueries != "" {
			o.Queries = strings.Split(*nexmarkQueries, ",")
		}
		if mode == "e2e" {
			if o.Events <= 0 {
				o.Events = 200_000
			}
			o.E2E = &e2e
		}
		return r.nexmark(ctx, o)
	}
	var err error
	switch *scenario {
	case "tumble":
		err = tumble(*mode)
	case "nexmark":
		err = nexmark(*mode)
	case "all":
		// Each part is reported as it ends; a failed part does not stop
		// the others.
		err = errors.Join(tumble("inprocess"), nexmark("inprocess"), tumble("e2e"))
	}
	if r.path != "" {
		fmt.Fprintln(stdout, "report:", r.path)
	}
	return err
}

// e2eContenders are the rows of the tumbling scenario's end-to-end run,
// beside the ceiling.
func e2eContenders(o bench.E2EOptions) []bench.Contender {
	return []bench.Contender{bench.SDKLoopContender(bench.E2EOptions{}), bench.E2EContender(o)}
}

// benchRun is one invocation's report, written again after each part so
// that a long run that fails late keeps what it measured.
type benchRun struct {
	rep      bench.Report
	out      string
	path     string
	stdout   io.Writer
	profiles string
}

func (r *benchRun) write() error {
	path, err := bench.WriteJSON(r.out, r.rep)
	r.path = path
	return err
}

func (r *benchRun) tumble(ctx context.Context, mode, keys string, clicks bench.ClickOptions, limit int64, contenders []bench.Contender) error {
	var results []bench.Result
	var runErr error
	for _, k := range strings.Split(keys, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(k))
		if err != nil || n <= 0 {
			return fmt.Errorf("--keys: %q is not a positive number", k)
		}
		o := clicks
		o.Keys = n
		res, err := bench.RunTumble(ctx, bench.TumbleOptions{Clicks: o, Mode: mode, MemoryLimit: limit, ProfileDir: r.profiles}, contenders...)
		results = append(results, res...)
		if err != nil {
			runErr = err
			break
		}
	}
	r.rep.Results = append(r.rep.Results, results...)
	fmt.Fprintln(r.stdout)
	if err := bench.PrintTable(r.stdout, results); err != nil {
		return err
	}
	if err := bench.PrintSDKLoopRatios(r.stdout, results); err != nil {
		return err
	}
	if err := r.write(); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	var errs []error
	for _, res := range results {
		if !res.Correct {
			errs = append(errs, fmt.Errorf("%s (%s, %d keys) gave a wrong answer or failed: %s%s", res.Contender, res.Mode, res.Keys, res.Mismatch, res.Error))
		}
	}
	return errors.Join(errs...)
}

func (r *benchRun) nexmark(ctx context.Context, o bench.NexmarkOptions) error {
	results, err := bench.RunNexmark(ctx, o)
	r.rep.Nexmark = append(r.rep.Nexmark, results...)
	fmt.Fprintln(r.stdout)
	if perr := bench.PrintNexmarkTable(r.stdout, results); perr != nil {
		return perr
	}
	if werr := r.write(); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, res := range results {
		if res.Unsupported == "" && !res.Correct {
			errs = append(errs, fmt.Errorf("nexmark %s (%s) gave a wrong answer or failed: %s%s", res.Query, res.Mode, res.Mismatch, res.Error))
		}
	}
	return errors.Join(errs...)
}

// minInterval is --checkpoint-min-interval as Config wants it: there zero
// is the default, and a negative value none.
func minInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
