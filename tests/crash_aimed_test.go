package tests

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// Issue 6's aimed kills: where TestCrash_KillsDuringProduction kills at
// random moments, these kill the server at the moments most likely to
// tear state: inside an epoch commit (state's failpoints), around a
// reshard, and while a sink backs off from throttled writes.

// fastCheckpoints makes epochs short, so that a test reaches its N-th
// commit in about a second.
var fastCheckpoints = []string{"--checkpoint-interval", "250ms"}

// The environment of the failpoint tests' binaries that puts every commit
// through the redo log, or applies deferred tables' state at every commit.
const (
	redoAlways       = "STREAMSQL_REDO_ABOVE_BYTES=1"
	deferApplyAlways = "STREAMSQL_DEFER_APPLY_BYTES=1"
)

// waitKilled waits until the server has died of SIGKILL by itself (a
// failpoint) and returns its output.
func (s *binaryServer) waitKilled(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(d):
		t.Fatalf("streamsql serve still running %v after its failpoint was armed:\n%s", d, s.stderr.String())
	}
	ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("streamsql serve ended with %v, want death by SIGKILL:\n%s", s.cmd.ProcessState, s.stderr.String())
	}
	return s.stderr.String()
}

// TestCrash_Failpoints kills the server with state's failpoints at each
// step of an epoch commit, small (one Badger transaction) and large (the
// redo log, forced with STREAMSQL_REDO_ABOVE_BYTES=1), while records
// arrive; after a restart without the failpoint and a FLUSH every view
// equals the batch answer, and recovery logs what it did with the torn
// epoch.
func TestCrash_Failpoints(t *testing.T) {
	ct := prepareCrashTest(t, 6*time.Minute, true)
	ctx, e := ct.ctx, ct.e
	for i, tc := range []struct {
		failpoint string
		// env: STREAMSQL_REDO_ABOVE_BYTES=1 forces the redo log,
		// STREAMSQL_DEFER_APPLY_BYTES=1 applies deferred tables' state at
		// every commit.
		env     string
		wantLog string // what the restarted server logs; "" for nothing to recover
	}{
		{failpoint: "commit-before-txn"},
		{failpoint: "commit-after-txn"},
		{failpoint: "redo-after-stage", env: redoAlways, wantLog: "discarding leftover staged writes"},
		{failpoint: "redo-after-marker", env: redoAlways, wantLog: "finished applying a committed epoch after restart"},
		{failpoint: "redo-after-apply", env: redoAlways, wantLog: "finished applying a committed epoch after restart"},
		// The epoch committed and was applied; only its chunks are left.
		// Recovery deletes them under a log line that says the epoch
		// never committed, which is not so here: only its start is pinned.
		{failpoint: "redo-after-clear-flag", env: redoAlways, wantLog: "discarding leftover staged writes"},
		// Operators' state is a log applied to its keys rarely (state's
		// deferred tables); STREAMSQL_DEFER_APPLY_BYTES=1 applies it at
		// every commit. Killed in the middle of an apply or after it, the
		// log is applied again at restart.
		{failpoint: "defer-mid-apply", env: deferApplyAlways, wantLog: "applied the state log after restart"},
		{failpoint: "defer-after-apply", env: deferApplyAlways, wantLog: "applied the state log after restart"},
	} {
		t.Run(tc.failpoint, func(t *testing.T) {
			start := time.Now()
			src, stream := fmt.Sprintf("fp%d", i), fmt.Sprintf("fp-%d", i)
			clicks, times, recs := timedRecords(0, 4000, rand.New(rand.NewPCG(uint64(i), 6)))
			srv, conn := ct.atFailpoint(t, tc.failpoint, tc.env,
				func(conn *pgx.Conn) { setupCrashSource(ctx, t, e, conn, src, stream) }, stream, recs)
			checkCrashViews(ctx, t, conn, src, clicks, times)
			logs := srv.stderr.String()
			if tc.wantLog != "" && !strings.Contains(logs, tc.wantLog) {
				t.Errorf("the restarted server did not log %q:\n%s", tc.wantLog, logs)
			}
			for _, never := range []string{"discarding leftover staged writes", "finished applying a committed epoch"} {
				if tc.wantLog == "" && strings.Contains(logs, never) {
					t.Errorf("the restarted server logged %q after a crash in a one-transaction commit", never)
				}
			}
			t.Logf("%s: %v", tc.failpoint, time.Since(start).Round(time.Millisecond))
		})
	}
}

// midHashKey is the hash key halfway through [lo, hi], as SplitShard's
// NewStartingHashKey.
func midHashKey(t *testing.T, lo, hi string) string {
	t.Helper()
	a, ok1 := new(big.Int).SetString(lo, 10)
	b, ok2 := new(big.Int).SetString(hi, 10)
	if !ok1 || !ok2 {
		t.Fatalf("hash key range %s..%s", lo, hi)
	}
	return new(big.Int).Rsh(new(big.Int).Add(new(big.Int).Add(a, b), big.NewInt(1)), 1).String()
}

// reshard runs SplitShard or MergeShards on an open shard of stream, chosen
// by position in hash-key order, and waits until the stream is ACTIVE.
// It returns what it did, for the log.
func reshard(ctx context.Context, t *testing.T, c *kinesis.Client, stream string, split bool, at int) string {
	t.Helper()
	out, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var open []struct{ id, lo, hi string }
	for _, s := range out.Shards {
		if s.SequenceNumberRange.EndingSequenceNumber == nil {
			open = append(open, struct{ id, lo, hi string }{aws.ToString(s.ShardId),
				aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey)})
		}
	}
	slices.SortFunc(open, func(a, b struct{ id, lo, hi string }) int {
		x, _ := new(big.Int).SetString(a.lo, 10)
		y, _ := new(big.Int).SetString(b.lo, 10)
		return x.Cmp(y)
	})
	var did string
	if split {
		s := open[at]
		if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream),
			ShardToSplit: aws.String(s.id), NewStartingHashKey: aws.String(midHashKey(t, s.lo, s.hi))}); err != nil {
			t.Fatalf("split %s: %v", s.id, err)
		}
		did = "split " + s.id
	} else {
		a, b := open[at], open[at+1]
		if _, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(stream),
			ShardToMerge: aws.String(a.id), AdjacentShardToMerge: aws.String(b.id)}); err != nil {
			t.Fatalf("merge %s and %s: %v", a.id, b.id, err)
		}
		did = "merged " + a.id + " and " + b.id
	}
	if err := emulator.WaitActive(ctx, c, stream); err != nil {
		t.Fatal(err)
	}
	return did
}

// TestCrash_Resharding reshards the source's stream while a producer writes
// and kills the server around each reshard: right after a split, with a
// merge done while it is down, and a short random time after another
// merge. After a FLUSH every view equals the batch answer, and a sink of
// the source holds every record at least once and exactly the records
// after de-duplication by _id.
func TestCrash_Resharding(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 5*time.Minute)
	start := time.Now()
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	client, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	setupCrashSource(ctx, t, e, conn, "rs", "rs-in")
	createSinkOf(ctx, t, e, conn, "rs", e.Endpoint(), "rs-out")

	const n = 10000
	rnd := rand.New(rand.NewPCG(6, 4))
	clicks, times, recs := timedRecords(0, n, rnd)
	prod := startProducer(ctx, e, "rs-in", recs, 100, 50*time.Millisecond)
	steps := []struct {
		at         int64 // records put before the step
		split      bool
		shard      int  // open shard in hash-key order
		whileDown  bool // reshard between the kill and the restart
		killWithin time.Duration
	}{
		{at: 1500, split: true, shard: 0},
		{at: 3000, split: false, shard: 0, whileDown: true},
		{at: 4500, split: false, shard: 1, killWithin: time.Second},
		{at: 6000, split: true, shard: 2, killWithin: 2 * time.Second},
	}
	for _, st := range steps {
		prod.waitPut(t, st.at)
		var did string
		if st.whileDown {
			srv.kill(t)
			did = reshard(ctx, t, client, "rs-in", st.split, st.shard)
		} else {
			did = reshard(ctx, t, client, "rs-in", st.split, st.shard)
			if st.killWithin > 0 {
				time.Sleep(time.Duration(rnd.Int64N(int64(st.killWithin))))
			}
			srv.kill(t)
		}
		t.Logf("%s at %d records put; killed", did, prod.put.Load())
		srv = startBinary(t, bin, dataDir)
	}
	prod.wait(t)
	conn = connectForBacklog(t, srv.addr)
	flushStart := time.Now()
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("final FLUSH: %v", err)
	}
	t.Logf("final FLUSH took %v", time.Since(flushStart).Round(time.Millisecond))
	checkCrashViews(ctx, t, conn, "rs", clicks, times)
	checkSinked(ctx, t, conn, "rs_out", clicks)
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

// createSinkOf creates a 2-shard stream out on e, a sink of source src
// writing to it through endpoint (e's or a proxy's), and a source
// <src>_out reading it back from e.
func createSinkOf(ctx context.Context, t *testing.T, e *emulator.Emulator, conn *pgx.Conn, src, endpoint, out string) {
	t.Helper()
	if err := e.CreateStream(ctx, out, 2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE SINK %s_sink FROM %s WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', stream = '%s')",
			src, src, endpoint, out),
		fmt.Sprintf("CREATE SOURCE %s_out (_id TEXT, user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
			"endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon')", src, e.Endpoint(), out),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// checkSinked waits until the sink's stream, read back through source,
// holds want's records, then checks that its ids de-duplicate to exactly
// want (sinkedRows fails on an id with two different rows).
func checkSinked(ctx context.Context, t *testing.T, conn *pgx.Conn, source string, want []click) {
	t.Helper()
	got := waitRows(ctx, t, conn, source, len(want))
	sameClicks(t, got, want)
	var total int64
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM "+source).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total < int64(len(want)) {
		t.Errorf("the sink's stream holds %d records, fewer than the %d inputs", total, len(want))
	}
	t.Logf("sink: %d inputs, %d records written (%d resent)", len(want), total, total-int64(len(want)))
}

// TestCrash_SinkThrottled kills the server while its sink backs off from
// throttled PutRecords: a proxy in front of kinesalite throttles 30% of
// the calls and 3% of the entries of the rest, and the kill lands the
// moment it has throttled, once the sink has written part of what there
// is. Twice, then once more with throttling off; after the last restart
// the sink's stream holds every record at least once and its ids
// de-duplicate to exactly the inputs.
func TestCrash_SinkThrottled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 5*time.Minute)
	start := time.Now()
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	bin := buildBinary(t)
	dataDir := t.TempDir()
	proxy := newThrottleProxy(t, e.Endpoint())
	if err := e.CreateStream(ctx, "th-in", 2); err != nil {
		t.Fatal(err)
	}
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	q := fmt.Sprintf("CREATE SOURCE th %s WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', "+
		"stream = 'th-in', start_position = 'trim_horizon')", sinkSourceCols, e.Endpoint())
	if _, err := conn.Exec(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	createSinkOf(ctx, t, e, conn, "th", proxy.URL(), "th-out")

	// The sink sends at most one record per partition key in a call (37
	// keys here) and grows its back-off on every call with a failed entry,
	// even one that wrote the rest (connectors/kinesis/sink.go), so a
	// higher entry rate slows it to a call every 5 s.
	proxy.throttle(0.3, 0.03)
	var want []click
	const perRound = 1000
	for round := range 2 {
		events := proxy.events()
		before := proxy.distinct()
		// The records arrive over about a second, so that the sink always has
		// more to write when it is throttled.
		clicks, _, recs := timedRecords(len(want), perRound, rand.New(rand.NewPCG(6, uint64(round))))
		want = append(want, clicks...)
		prod := startProducer(ctx, e, "th-in", recs, 100, 100*time.Millisecond)
		// Kill at a throttle once the sink has written a quarter of the
		// round and not all of it.
		deadline := time.After(time.Minute)
	wait:
		for {
			select {
			case ev := <-events:
				if ev.distinct-before >= perRound/4 && ev.distinct < len(want) {
					srv.kill(t)
					t.Logf("round %d: killed right after a throttle: %d calls throttled, %d entries failed, "+
						"%d of %d records written", round, ev.throttled, ev.failed, ev.distinct, len(want))
					break wait
				}
			case <-deadline:
				t.Fatalf("round %d: no throttle with the sink part way through in a minute: %+v of %d",
					round, proxy.tally(), len(want))
			}
		}
		prod.wait(t)
		if round == 1 {
			proxy.throttle(0, 0)
		}
		srv = startBinary(t, bin, dataDir)
	}
	conn = connect(t, srv.addr)
	checkSinked(ctx, t, conn, "th_out", want)
	t.Logf("whole test %v; proxy: %+v", time.Since(start).Round(time.Millisecond), proxy.tally())
}
