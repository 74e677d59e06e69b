package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/bench"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "Runs the tumbling-window scenario of the benchmark (10-second TUMBLE, COUNT(*) and\n"+
		"SUM(amount) per user_id, 2-second watermark delay, JSON click events) through the\n"+
		"hand-written Go loop (the ceiling), streamsql and the rulego/streamsql peer, in one run,\n"+
		"and checks every contender's answer against the ceiling's.\n\n"+
		"--mode inprocess (the default) runs streamsql's operators in process. --mode e2e adds\n"+
		"streamsql end to end: the events go through kinesalite (started on loopback, 4 shards)\n"+
		"into a Kinesis source and a materialized view, throughput with the stream loaded first,\n"+
		"then event-to-view latency (p50/p99, through SUBSCRIBE) at a steady --e2e-rate.\n\n"+
		"--scenario nexmark runs Nexmark queries (--nexmark q0,q1,...) as materialized views over\n"+
		"the built-in generator (unpaced, --events of them), each on a fresh engine, measured from\n"+
		"CREATE MATERIALIZED VIEW to FLUSH and checked against a plain-Go computation over the same\n"+
		"rows (of person, auction and bid: each query reads only the sources it names); with --mode e2e\n"+
		"also through 4-shard kinesalite streams, one per table, loaded with the rows as JSON,\n"+
		"then, per query, event-to-view latency (p50/p99, through SUBSCRIBE) on bids produced at a\n"+
		"steady --e2e-rate into a fresh stream.", stderr)
	scenario := fs.string("scenario", "tumble", "tumble (COUNT/SUM per key), or nexmark")
	nexmarkQueries := fs.string("nexmark", "", "nexmark: comma-separated queries (q0 to q22, q7-simple); empty: all, the unsupported ones as rows saying why")
	nexmarkTimeout := fs.duration("nexmark-timeout", 10*time.Minute, "nexmark: the bound on each query's run (q5 at 2,000,000 events takes longer than 10 minutes)")
	mode := fs.string("mode", "inprocess", "inprocess, or e2e (end to end through kinesalite)")
	events := fs.int("events", 0, "click events per scenario; 0: 2,000,000 in process, 200,000 for e2e (kinesalite takes 10,000-20,000 records/s); "+
		"nexmark: generated events (46 in 50 are bids), 0: 1,000,000, or 200,000 for e2e")
	keys := fs.string("keys", "1000,1000000", "comma-separated key counts, one scenario each")
	peers := fs.string("peers", "rulego", "peer engines to run beside streamsql: rulego, or none")
	rate := fs.int("e2e-rate", 2000, "e2e: records/s produced in the latency phase, and events per second of event time (tumble)")
	latencyEvents := fs.int("e2e-latency-events", 0, "e2e: events produced in the latency phase (per query for nexmark), the first second's a warm-up; "+
		"0: 15 seconds' worth at --e2e-rate (nexmark: 11 seconds'); negative: no latency phase")
	checkpoint := fs.duration("checkpoint-interval", streamsql.DefaultCheckpointInterval, "e2e: the engine's checkpoint interval")
	minCheckpoint := fs.duration("checkpoint-min-interval", streamsql.DefaultCheckpointMinInterval,
		"e2e: the engine's checkpoint min interval (epochs cut early for rows read from caught-up shards); at or above --checkpoint-interval: epochs on the interval only")
	out := fs.string("out", "bench/results", "directory for the JSON report")
	if err := fs.parse(args); err != nil {
		return err
	}
	switch *scenario {
	case "nexmark":
		if *rate <= 0 {
			return fmt.Errorf("--e2e-rate %d: want a positive rate", *rate)
		}
		return benchNexmark(ctx, *mode, *events, *nexmarkQueries, *nexmarkTimeout, bench.E2EOptions{
			CheckpointInterval: *checkpoint, CheckpointMinInterval: minInterval(*minCheckpoint), LatencyRate: *rate, LatencyEvents: *latencyEvents,
		}, *out, stdout)
	case "tumble", "":
	default:
		return fmt.Errorf("--scenario %q: want tumble or nexmark", *scenario)
	}
	var contenders []bench.Contender
	clicks := bench.ClickOptions{Events: *events, Seed: 1}
	switch *mode {
	case "inprocess", "":
		if clicks.Events <= 0 {
			clicks.Events = 2_000_000
		}
		contenders = append(contenders, bench.EngineContender)
	case "e2e":
		if clicks.Events <= 0 {
			clicks.Events = 200_000
		}
		if *rate <= 0 {
			return fmt.Errorf("--e2e-rate %d: want a positive rate", *rate)
		}
		// Event time advances as fast as the latency phase produces, so
		// that windows close in real time there.
		clicks.Rate = int64(*rate)
		contenders = append(contenders, bench.E2EContender(bench.E2EOptions{
			CheckpointInterval: *checkpoint, CheckpointMinInterval: minInterval(*minCheckpoint), LatencyRate: *rate, LatencyEvents: *latencyEvents,
		}), bench.EngineContender)
	default:
		return fmt.Errorf("--mode %q: want inprocess or e2e", *mode)
	}
	switch *peers {
	case "rulego":
		contenders = append(contenders, bench.RulegoContender)
	case "none", "":
	default:
		return fmt.Errorf("--peers %q: want rulego or none", *peers)
	}
	rep := bench.Report{StartedAt: time.Now().UTC(), Machine: bench.ThisMachine()}
	for _, k := range strings.Split(*keys, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(k))
		if err != nil || n <= 0 {
			return fmt.Errorf("--keys: %q is not a positive number", k)
		}
		o := clicks
		o.Keys = n
		results, err := bench.RunTumble(ctx, bench.TumbleOptions{Clicks: o}, contenders...)
		rep.Results = append(rep.Results, results...)
		if err != nil {
			return err
		}
	}
	if err := bench.PrintTable(stdout, rep.Results); err != nil {
		return err
	}
	path, err := bench.WriteJSON(*out, rep)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "report:", path)
	for _, r := range rep.Results {
		if !r.Correct {
			return fmt.Errorf("%s (%d keys) gave a wrong answer or failed: %s%s", r.Contender, r.Keys, r.Mismatch, r.Error)
		}
	}
	return nil
}

func benchNexmark(ctx context.Context, mode string, events int, queries string, timeout time.Duration, e2e bench.E2EOptions, out string, stdout io.Writer) error {
	o := bench.NexmarkOptions{Events: int64(events), Seed: 1, Timeout: timeout}
	if queries != "" {
		o.Queries = strings.Split(queries, ",")
	}
	switch mode {
	case "inprocess", "":
	case "e2e":
		if o.Events <= 0 {
			o.Events = 200_000
		}
		o.E2E = &e2e
	default:
		return fmt.Errorf("--mode %q: want inprocess or e2e", mode)
	}
	rep := bench.Report{StartedAt: time.Now().UTC(), Machine: bench.ThisMachine()}
	var err error
	rep.Nexmark, err = bench.RunNexmark(ctx, o)
	if err != nil {
		return err
	}
	if err := bench.PrintNexmarkTable(stdout, rep.Nexmark); err != nil {
		return err
	}
	path, err := bench.WriteJSON(out, rep)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "report:", path)
	for _, r := range rep.Nexmark {
		if r.Unsupported == "" && !r.Correct {
			return fmt.Errorf("nexmark %s (%s) gave a wrong answer or failed: %s%s", r.Query, r.Mode, r.Mismatch, r.Error)
		}
	}
	return nil
}

// minInterval is --checkpoint-min-interval as Config wants it: there zero
// is the default, and a negative value none.
func minInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
