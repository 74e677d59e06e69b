package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// The harness the crash tests share: the built binary on a data directory
// of its own, killed with SIGKILL while producers write and started again,
// then one FLUSH; each test brings its views, its producers and its answer
// worked out in plain Go.

// crashTest is one crash test's kinesalite (nil for a test of tables
// alone), binary, data directory and the server running now.
type crashTest struct {
	ctx          context.Context
	e            *emulator.Emulator
	bin, dataDir string
	srv          *binaryServer
}

// newCrashTest is newCrashBinary with a kinesalite of the test's own.
func newCrashTest(t *testing.T, d time.Duration) *crashTest {
	t.Helper()
	c := prepareCrashTest(t, d, true)
	c.start(t)
	return c
}

// newCrashBinary skips under -short; otherwise it builds the binary and
// starts it on a fresh data directory, under a context that ends after d.
func newCrashBinary(t *testing.T, d time.Duration) *crashTest {
	t.Helper()
	c := prepareCrashTest(t, d, false)
	c.start(t)
	return c
}

// prepareCrashTest skips under -short; otherwise it builds the binary and
// starts kinesalite when withKinesis, under a context that ends after d.
// No server runs yet.
func prepareCrashTest(t *testing.T, d time.Duration, withKinesis bool) *crashTest {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and kills it")
	}
	c := &crashTest{ctx: testContext(t, d), bin: buildBinary(t)}
	if withKinesis {
		c.e = emulator.StartForTest(c.ctx, t, emulator.Options{})
	}
	return c
}

// start starts the server on a fresh data directory.
func (c *crashTest) start(t *testing.T) {
	t.Helper()
	c.dataDir = t.TempDir()
	c.srv = startBinary(t, c.bin, c.dataDir)
}

// restart SIGKILLs the server and starts it again on its data directory.
func (c *crashTest) restart(t *testing.T) {
	t.Helper()
	c.srv.kill(t)
	c.srv = startBinary(t, c.bin, c.dataDir)
}

// exec runs qs in order on a connection of its own, which it closes.
func (c *crashTest) exec(t *testing.T, qs ...string) {
	t.Helper()
	conn := connect(t, c.srv.addr)
	defer conn.Close(c.ctx)
	mustExec(c.ctx, t, conn, qs...)
}

// killWhileProducing SIGKILLs the server at moments drawn from kills, each
// 0.3 s to 3 s after the last start (during recovery, reads, checkpoints
// and commits alike), at least n times and until every producer is done,
// and starts it again after each kill, then calls restarted (when not nil)
// with the kill's number, from 0. A producer's error fails the test.
func (c *crashTest) killWhileProducing(t *testing.T, n int, kills *rand.Rand, restarted func(k int), prods ...*producer) {
	t.Helper()
	start := time.Now()
	done := allDone(prods)
	producing := true
	for k := 0; k < n || producing; k++ {
		wait := time.Duration(300+kills.IntN(2700)) * time.Millisecond
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("producer: %v", err)
			}
			producing, done = false, nil
			t.Logf("producers done after %v", time.Since(start).Round(time.Millisecond))
			if k >= n {
				continue // the loop ends
			}
			time.Sleep(wait) // the next kill's moment
		case <-time.After(wait):
		}
		c.restart(t)
		var put int64
		for _, p := range prods {
			put += p.put.Load()
		}
		t.Logf("kill %d after %v (%d records put)", k+1, wait, put)
		if restarted != nil {
			restarted(k)
		}
	}
}

// allDone reports once when every producer is done: the first error, or
// nil. Each producer's outcome stays on its channel for a later wait.
func allDone(prods []*producer) <-chan error {
	out := make(chan error, 1)
	go func() {
		var first error
		for _, p := range prods {
			err := <-p.done
			p.done <- err
			if first == nil {
				first = err
			}
		}
		out <- first
	}()
	return out
}

// flush connects to the server running now (with connectForBacklog's long
// statement timeout) and runs the final FLUSH.
func (c *crashTest) flush(t *testing.T) *pgx.Conn {
	t.Helper()
	conn := connectForBacklog(t, c.srv.addr)
	start := time.Now()
	if _, err := conn.Exec(c.ctx, "FLUSH"); err != nil {
		t.Fatalf("final FLUSH: %v", err)
	}
	t.Logf("final FLUSH took %v", time.Since(start).Round(time.Millisecond))
	return conn
}

// crashCols are the columns of the crash tests' click sources (what
// timedRecords writes).
const crashCols = "user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3)"

// vCols are the columns of the OVER and interval-join tests' sources.
const vCols = "user_id BIGINT, v BIGINT, ts TIMESTAMP(3)"

// crashSource creates a stream of shards shards on e and returns the
// statement that creates source src over it, with columns cols and a
// watermark 5 s behind ts. The source asks for at most 1,000 records per
// GetRecords: kinesalite takes longer than the reader's 10 s call timeout
// to answer the default 10,000 over a long stream when a dozen readers ask
// at once on 2 busy cores, so every call timed out, was retried and timed
// out again (SHOW SOURCE STATUS: 0 records, retries climbing) and the
// final FLUSH of TestCrash_KillsDuringProduction ran past its 6 minutes;
// with 1,000 it took 16 s on the same machine.
func crashSource(ctx context.Context, t *testing.T, e *emulator.Emulator, src, stream string, shards int, cols string) string {
	t.Helper()
	if err := e.CreateStream(ctx, stream, shards); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("CREATE SOURCE %s (%s, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (connector = 'kinesis', "+
		"endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon', max_records_per_call = 1000)",
		src, cols, e.Endpoint(), stream)
}

// atFailpoint runs setup on the binary started with short epochs
// (fastCheckpoints) and env (NAME=value, or "") on a fresh data directory,
// starts it again with state's failpoint armed at the 4th commit (earlier
// epochs have committed state for the torn one to sit on; the DDL is done
// before it is armed, so that it cannot fire in the middle of it), and
// puts the first 3,000 of recs to stream, 100 a call 20 ms apart, until
// the failpoint kills the server; then it starts the server again unarmed,
// puts the rest, and returns it and a connection on which FLUSH has run.
func (c *crashTest) atFailpoint(t *testing.T, failpoint, env string, setup func(conn *pgx.Conn), stream string,
	recs []emulator.Record) (*binaryServer, *pgx.Conn) {
	t.Helper()
	ctx, e := c.ctx, c.e
	cfg := binaryConfig{args: fastCheckpoints}
	if env != "" {
		cfg.env = []string{env}
	}
	armed := cfg
	armed.env = append(slices.Clone(cfg.env), "STREAMSQL_FAILPOINT="+failpoint+"@4")
	dataDir := t.TempDir()
	srv := startBinaryWith(t, c.bin, dataDir, cfg)
	setup(connect(t, srv.addr))
	srv.kill(t)
	srv = startBinaryWith(t, c.bin, dataDir, armed)

	prod := startProducer(ctx, e, stream, recs[:3000], 100, 20*time.Millisecond)
	out := srv.waitKilled(t, time.Minute)
	if want := "failpoint=" + failpoint; !strings.Contains(out, want) {
		t.Fatalf("the server died without logging %q:\n%s", want, out)
	}
	t.Logf("died at %s with %d records put", failpoint, prod.put.Load())
	srv = startBinaryWith(t, c.bin, dataDir, cfg)
	prod.wait(t)
	if _, err := e.PutRecords(ctx, stream, recs[3000:]); err != nil {
		t.Fatal(err)
	}
	conn := connectForBacklog(t, srv.addr)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH after restart: %v", err)
	}
	return srv, conn
}
