package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/bench"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "Runs the tumbling-window scenario of the benchmark (10-second TUMBLE, COUNT(*) and\n"+
		"SUM(amount) per user_id, 2-second watermark delay, JSON click events) through the\n"+
		"hand-written Go loop (the ceiling), streamsql's operators and the rulego/streamsql peer,\n"+
		"in one run, and checks every contender's answer against the ceiling's.", stderr)
	events := fs.int("events", 2_000_000, "click events per scenario")
	keys := fs.string("keys", "1000,1000000", "comma-separated key counts, one scenario each")
	peers := fs.string("peers", "rulego", "peer engines to run beside streamsql: rulego, or none")
	out := fs.string("out", "bench/results", "directory for the JSON report")
	if err := fs.parse(args); err != nil {
		return err
	}
	contenders := []bench.Contender{bench.EngineContender}
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
		results, err := bench.RunTumble(ctx, bench.TumbleOptions{
			Clicks: bench.ClickOptions{Events: *events, Keys: n, Seed: 1},
		}, contenders...)
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
