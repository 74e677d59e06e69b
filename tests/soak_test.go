package tests

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/streamsql/streamsql/internal/emulator"
)

// Issue 12's soak: the built binary runs three views and a sink over a
// 4-shard kinesalite stream that carries 1% undecodable records, reached
// through a proxy that throttles, answers 500 and drops connections, while
// hostile clients disconnect mid-statement, cancel statements, run into
// statement_timeout and send malformed protocol messages. Then the faults
// stop, FLUSH runs, and every view must equal a plain-Go computation over
// exactly the decodable records the producer put, the sink's stream must
// hold each of them, SHOW SOURCE STATUS must count every undecodable one,
// and the process must have stayed up, under its memory limit, with every
// view running.
//
// STREAMSQL_SOAK_SECONDS sets how long the faults last (60 by default);
// STREAMSQL_SOAK_FAULTS picks the faults (below), so that each can be
// tried on its own.

// soakFaults are the faults the soak can inject, by the name
// STREAMSQL_SOAK_FAULTS uses.
var soakFaults = []struct{ name, what string }{
	{"throttle", "the proxy answers ProvisionedThroughputExceededException to GetRecords, PutRecords and other calls, and fails PutRecords entries"},
	{"500", "the proxy answers 500 InternalFailure"},
	{"drop", "the proxy resets the server's connection, before forwarding a call or after kinesalite answered it"},
	{"decode", "1% of the records put do not decode (not JSON, cut short, a string where a BIGINT goes)"},
	{"disconnect", "clients close their socket in the middle of a statement"},
	{"cancel", "clients cancel their statement with a CancelRequest"},
	{"timeout", "a client with statement_timeout = 300 runs a statement that never ends by itself"},
	{"malformed", "clients send malformed protocol messages after a normal startup"},
}

// soakDuration is how long the faults last: 60 s, or STREAMSQL_SOAK_SECONDS.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("STREAMSQL_SOAK_SECONDS")
	if v == "" {
		return 60 * time.Second
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 15 {
		t.Fatalf("STREAMSQL_SOAK_SECONDS=%q: want a number of seconds >= 15", v)
	}
	return time.Duration(n) * time.Second
}

// soakFaultSet reads STREAMSQL_SOAK_FAULTS: a comma-separated list of
// fault names, "all" (the default) or "none", where "-name" takes one out
// ("all,-malformed").
func soakFaultSet(t *testing.T) map[string]bool {
	spec := os.Getenv("STREAMSQL_SOAK_FAULTS")
	if spec == "" {
		spec = "all"
	}
	known := map[string]bool{}
	for _, f := range soakFaults {
		known[f.name] = true
	}
	on := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		name, off := strings.CutPrefix(item, "-")
		switch {
		case name == "all":
			for n := range known {
				on[n] = !off
			}
		case name == "none":
			clear(on)
		case known[name]:
			on[name] = !off
		default:
			t.Fatalf("STREAMSQL_SOAK_FAULTS=%q: unknown fault %q (known: all, none, %s)", spec, name, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		}
	}
	return on
}

const (
	soakUsers       = 50
	soakShards      = 4
	soakBatch       = 20                     // records per PutRecords call
	soakPace        = 100 * time.Millisecond // between calls: 200 records a second
	soakMemoryLimit = 1 << 30
	soakEventStep   = 50 * time.Millisecond // event time between consecutive records
)

// soakBase is the event time of record 0.
var soakBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs for a minute")
	}
	dur, faults := soakDuration(t), soakFaultSet(t)
	t.Logf("soak: %v of faults (STREAMSQL_SOAK_SECONDS); faults on (STREAMSQL_SOAK_FAULTS):", dur)
	for _, f := range soakFaults {
		if faults[f.name] {
			t.Logf("  %s: %s", f.name, f.what)
		}
	}
	ctx := testContext(t, dur+10*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	bin := buildBinary(t)
	proxy := newThrottleProxy(t, e.Endpoint())
	for stream, shards := range map[string]int{"soak-in": soakShards, "soak-out": 2} {
		if err := e.CreateStream(ctx, stream, shards); err != nil {
			t.Fatal(err)
		}
	}
	srv := startBinaryWith(t, bin, t.TempDir(), binaryConfig{args: memoryLimitArgs(ctx, t, bin)})
	conn := connect(t, srv.addr)
	setupSoak(ctx, t, conn, proxy.URL(), e.Endpoint())

	problems := newSoakProblems(t)
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	mon := watchServer(srv, problems, stopRun)
	defer mon.stop()

	if faults["throttle"] || faults["500"] || faults["drop"] {
		rate := func(name string, r float64) float64 {
			if faults[name] {
				return r
			}
			return 0
		}
		proxy.setFaults(callGetRecords, faultRates{throttle: rate("throttle", 0.05), fail500: rate("500", 0.03), drop: rate("drop", 0.04)})
		proxy.setFaults(callPutRecords, faultRates{throttle: rate("throttle", 0.05), fail500: rate("500", 0.05), drop: rate("drop", 0.06)})
		proxy.setFaults(callOther, faultRates{throttle: rate("throttle", 0.1), fail500: rate("500", 0.1), drop: rate("drop", 0.1)})
		proxy.failEntries(rate("throttle", 0.02))
	}
	start := time.Now()
	prod := startSoakProducer(runCtx, e, "soak-in", faults["decode"])
	hostile := startHostileClients(runCtx, srv.addr, faults, problems)
	defer hostile.halt()
	obs := startObserver(runCtx, t, srv.addr, problems)
	defer obs.halt()

	select {
	case <-time.After(dur):
	case <-runCtx.Done():
	}
	hostile.stop(t)
	obs.stop(t)
	if mon.died() {
		t.Fatalf("streamsql serve died during the soak (see above); nothing more to check")
	}
	prod.stop(t)
	proxy.stopFaults()
	t.Logf("soak ran %v: %d decodable and %d undecodable records put", time.Since(start).Round(time.Millisecond),
		len(prod.good), prod.bad)
	checkFaultsFired(t, faults, proxy, hostile, prod)

	// Every wait from here has its own deadline: a FLUSH that cannot finish
	// is cancelled with a CancelRequest and named. FLUSH names a view that
	// is not running in a WARNING notice (h-views).
	fconn, err := soakConnect(ctx, srv.addr, true, func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if n.Severity == "WARNING" {
			problems.add("flush warning", "the final FLUSH warned: %s", n.Message)
		}
	})
	if err != nil {
		t.Fatalf("connect for the final FLUSH: %v", err)
	}
	defer fconn.Close(context.Background())
	flushCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	flushStart := time.Now()
	_, err = fconn.Exec(flushCtx, "FLUSH")
	cancel()
	if err != nil {
		t.Fatalf("final FLUSH (deadline 3m, faults stopped): %v after %v", err, time.Since(flushStart).Round(time.Millisecond))
	}
	t.Logf("final FLUSH took %v", time.Since(flushStart).Round(time.Millisecond))

	checkSoakViews(ctx, t, conn, prod)
	checkSoakSink(ctx, t, conn, prod)
	checkSoakSourceStatus(ctx, t, conn, prod, faults)
	for _, show := range soakShows {
		if states, ok := objectStates(ctx, t, conn, show.sql); ok {
			for _, name := range show.names {
				if st := states[name]; st.state != "running" {
					t.Errorf("after the soak, %s shows %s %q (error %q), want running", show.sql, name, st.state, st.err)
				}
			}
		}
	}
	if mon.died() {
		t.Fatalf("streamsql serve died at the end of the soak")
	}
	peak := mon.peakRSS(t)
	t.Logf("RSS: peak %d MiB (VmHWM), sampled every 250ms: %s", peak>>20, mon.timeline())
	if peak >= soakMemoryLimit {
		t.Errorf("peak RSS %d MiB, over the %d MiB memory limit", peak>>20, soakMemoryLimit>>20)
	}
	problems.report()
}

// memoryLimitArgs gives the binary --memory-limit when it has the flag
// (asked with serve --help).
func memoryLimitArgs(ctx context.Context, t *testing.T, bin string) []string {
	t.Helper()
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(hctx, bin, "serve", "--help").CombinedOutput() // exits non-zero after help
	limit := fmt.Sprintf("%dMiB", soakMemoryLimit>>20)
	if strings.Contains(string(out), "-memory-limit") {
		t.Logf("streamsql serve has --memory-limit: passing --memory-limit %s; RSS must stay under it", limit)
		return []string{"--memory-limit", limit}
	}
	t.Logf("streamsql serve has no --memory-limit flag (it comes with h-memory): RSS must stay under %s all the same", limit)
	return nil
}

var soakViewNames = []string{"soak_per_user", "soak_windows", "soak_fives"}

// soakShows are the SHOW statements that list the soak's views and its
// sink, each with a state column once h-views is in.
var soakShows = []struct {
	sql   string
	names []string
}{
	{"SHOW MATERIALIZED VIEWS", soakViewNames},
	{"SHOW SINKS", []string{"soak_sink"}},
}

// setupSoak creates the source (through the proxy), the three views, the
// sink (through the proxy) and a source reading the sink's stream back
// (straight from kinesalite).
func setupSoak(ctx context.Context, t *testing.T, conn *pgx.Conn, proxy, direct string) {
	t.Helper()
	for _, q := range []string{
		// on_decode_error is written out: the soak is about faults, and
		// must not depend on the default (h-records makes it 'skip').
		fmt.Sprintf("CREATE SOURCE soak (seq BIGINT, user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), "+
			"WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', "+
			"stream = 'soak-in', start_position = 'trim_horizon', on_decode_error = 'skip', max_records_per_call = 1000)", proxy),
		"CREATE MATERIALIZED VIEW soak_per_user AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM soak GROUP BY user_id",
		"CREATE MATERIALIZED VIEW soak_windows AS SELECT user_id, window_start, COUNT(*) AS n, SUM(amount) AS total " +
			"FROM TUMBLE(soak, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW soak_fives AS SELECT seq, user_id, amount * 2 AS doubled FROM soak WHERE seq % 5 = 0",
		fmt.Sprintf("CREATE SINK soak_sink FROM soak WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', "+
			"stream = 'soak-out')", proxy),
		fmt.Sprintf("CREATE SOURCE soak_out (_id TEXT, seq BIGINT, user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
			"endpoint = '%s', region = 'us-east-1', stream = 'soak-out', start_position = 'trim_horizon')", direct),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// soakProblems collects what goes wrong in the soak's goroutines: the
// first few of each kind fail the test at once, the rest are counted.
type soakProblems struct {
	t      *testing.T
	mu     sync.Mutex
	counts map[string]int
	closed bool // the test has ended: nothing may be logged to it
}

func newSoakProblems(t *testing.T) *soakProblems {
	p := &soakProblems{t: t}
	t.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
	})
	return p
}

func (p *soakProblems) add(kind, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if p.counts == nil {
		p.counts = map[string]int{}
	}
	p.counts[kind]++
	if p.counts[kind] <= 3 {
		p.t.Errorf("%s: %s", kind, fmt.Sprintf(format, args...))
	}
}

func (p *soakProblems) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for kind, n := range p.counts {
		if n > 3 {
			p.t.Errorf("%s: %d times in all (the first 3 are above)", kind, n)
		}
	}
}

// serverMonitor watches the binary: its exit, and its RSS.
type serverMonitor struct {
	srv    *binaryServer
	done   chan struct{}
	exited atomic.Bool
	wg     sync.WaitGroup

	mu      sync.Mutex
	samples []int64 // RSS in bytes, one per 250ms
}

// watchServer reports the server's death as a problem the moment it
// happens (and ends the run), and samples its RSS.
func watchServer(srv *binaryServer, problems *soakProblems, stopRun func()) *serverMonitor {
	m := &serverMonitor{srv: srv, done: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-srv.exited:
				m.exited.Store(true)
				out := srv.stderr.String()
				if len(out) > 4000 {
					out = out[len(out)-4000:]
				}
				problems.add("server died", "streamsql serve exited (%v) during the soak; the end of its output:\n%s",
					srv.cmd.ProcessState, out)
				stopRun()
				return
			case <-tick.C:
				if rss, err := procStatusBytes(srv.cmd.Process.Pid, "VmRSS"); err == nil {
					m.mu.Lock()
					m.samples = append(m.samples, rss)
					m.mu.Unlock()
					if rss >= soakMemoryLimit {
						problems.add("memory", "RSS %d MiB, over the %d MiB limit", rss>>20, soakMemoryLimit>>20)
					}
				}
			}
		}
	}()
	return m
}

func (m *serverMonitor) stop() {
	select {
	case <-m.done:
	default:
		close(m.done)
	}
	m.wg.Wait()
}

func (m *serverMonitor) died() bool {
	select {
	case <-m.srv.exited:
		return true
	default:
		return m.exited.Load()
	}
}

// peakRSS is the process's own high-water mark, which no sampling misses.
func (m *serverMonitor) peakRSS(t *testing.T) int64 {
	t.Helper()
	hwm, err := procStatusBytes(m.srv.cmd.Process.Pid, "VmHWM")
	if err != nil {
		t.Fatalf("read the server's peak RSS: %v", err)
	}
	return hwm
}

// timeline prints the RSS samples in MiB, one every 10 s.
func (m *serverMonitor) timeline() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for i := 0; i < len(m.samples); i += 40 {
		fmt.Fprintf(&b, "%ds:%dMiB ", i/4, m.samples[i]>>20)
	}
	return b.String()
}

// procStatusBytes reads a "kB" field of /proc/<pid>/status, in bytes.
func procStatusBytes(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status %s: %q: %w", pid, field, rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// soakRecord is a decodable record the producer put.
type soakRecord struct {
	seq, user int64
	amount    float64
	ts        time.Time
	closer    bool // put after the soak to close every window
}

// soakProducer puts soakBatch records every soakPace until stopped, then
// records far ahead in event time until every shard has one, so that every
// window of the records before closes. It keeps its own account of what it
// put: the answers are worked out from it.
type soakProducer struct {
	stopc chan struct{}
	done  chan struct{}
	err   error
	good  []soakRecord // valid once done
	bad   int
}

func startSoakProducer(ctx context.Context, e *emulator.Emulator, stream string, undecodable bool) *soakProducer {
	p := &soakProducer{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = p.run(ctx, e, stream, undecodable)
	}()
	return p
}

func (p *soakProducer) run(ctx context.Context, e *emulator.Emulator, stream string, undecodable bool) error {
	rng := rand.New(rand.NewPCG(12, 1))
	tick := time.NewTicker(soakPace)
	defer tick.Stop()
	var seq int64
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("producer: %w", ctx.Err())
		case <-p.stopc:
			return p.close(ctx, e, stream, seq, last)
		case <-tick.C:
		}
		recs := make([]emulator.Record, soakBatch)
		var good []soakRecord
		bad := 0
		for i := range recs {
			r := soakRecord{seq: seq, user: seq % soakUsers, amount: float64(seq%1000) / 2,
				ts: soakBase.Add(time.Duration(seq)*soakEventStep - time.Duration(rng.IntN(3000))*time.Millisecond)}
			// Drawn whether or not it is used, so that the decodable
			// records are the same with the fault on or off.
			broken := rng.Float64() < 0.01
			key := fmt.Sprintf("user-%d", r.user)
			if broken && undecodable {
				recs[i] = emulator.Record{PartitionKey: key, Data: undecodableRecord(p.bad+bad, r)}
				bad++
			} else {
				recs[i] = emulator.Record{PartitionKey: key, Data: r.json()}
				good = append(good, r)
				if r.ts.After(last) {
					last = r.ts
				}
			}
			seq++
		}
		if _, err := e.PutRecords(ctx, stream, recs); err != nil {
			return fmt.Errorf("producer: put records %d..%d: %w", seq-soakBatch, seq-1, err)
		}
		p.good = append(p.good, good...)
		p.bad += bad
	}
}

// close puts records an hour past the last event time until every shard
// has one: then every shard's watermark passes every earlier window.
func (p *soakProducer) close(ctx context.Context, e *emulator.Emulator, stream string, seq int64, last time.Time) error {
	shards := map[string]bool{}
	for k := 0; len(shards) < soakShards; k++ {
		if k == 200 {
			return fmt.Errorf("producer: 200 closing records reached only shards %v", shards)
		}
		r := soakRecord{seq: seq, user: int64(k % soakUsers), amount: 1, ts: last.Add(time.Hour), closer: true}
		res, err := e.PutRecords(ctx, stream, []emulator.Record{{PartitionKey: fmt.Sprintf("close-%d", k), Data: r.json()}})
		if err != nil {
			return fmt.Errorf("producer: put closing record %d: %w", seq, err)
		}
		shards[res[0].ShardID] = true
		p.good = append(p.good, r)
		seq++
	}
	return nil
}

// stop ends the production and waits for the closing records.
func (p *soakProducer) stop(t *testing.T) {
	t.Helper()
	close(p.stopc)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatalf("the producer did not put its closing records within a minute of being stopped")
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
}

func (r soakRecord) json() []byte {
	b, _ := json.Marshal(map[string]any{"seq": r.seq, "user_id": r.user, "amount": r.amount,
		"ts": r.ts.Format("2006-01-02T15:04:05.000Z07:00")})
	return b
}

// undecodableRecord is the n-th record that no consumer of the source can
// decode: every consumer reads user_id.
func undecodableRecord(n int, r soakRecord) []byte {
	switch n % 3 {
	case 0:
		return []byte(fmt.Sprintf(`{"seq": %d, "user_id": `, r.seq)) // cut short
	case 1:
		return []byte("\xff\xfe not JSON at all")
	default:
		return []byte(fmt.Sprintf(`{"seq": %d, "user_id": "user-%d", "amount": 1, "ts": "%s"}`, r.seq, r.user,
			r.ts.Format("2006-01-02T15:04:05.000Z07:00")))
	}
}

// soakConnect opens a pgx connection from a goroutine (connect fails the
// test, which only the test's goroutine may do). With cancelling, the
// end of a statement's context sends a CancelRequest, as
// connectCancelling's connections do.
func soakConnect(ctx context.Context, addr string, cancelling bool, onNotice pgconn.NoticeHandler) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(connString(addr))
	if err != nil {
		return nil, err
	}
	if cancelling {
		cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 15 * time.Second}
		}
	}
	cfg.OnNotice = onNotice
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return pgx.ConnectConfig(cctx, cfg)
}

// soakStatements are what the hostile clients run: one that only a cancel
// ends, a read of a view, a one-off read of the source through the
// faults, and an IN list.
var soakStatements = func() []string {
	var in strings.Builder
	in.WriteString("SELECT 1999 IN (0")
	for i := 1; i < 2000; i++ {
		fmt.Fprintf(&in, ",%d", i)
	}
	in.WriteString(")")
	return []string{longQuery, "SELECT user_id, n, total FROM soak_per_user", "SELECT COUNT(*) FROM soak", in.String()}
}()

// hostileClients run until stopped, each in a loop of its own.
type hostileClients struct {
	cancel context.CancelFunc // stops the clients and ends their statements
	wg     sync.WaitGroup

	disconnects, cancels, timeouts atomic.Int64 // statements ended each way
	completed                      atomic.Int64 // statements that finished before the blow
	maxCancelMillis                atomic.Int64 // from the cancel to the error
	mu                             sync.Mutex
	malformed                      map[string]int // sent, by name
}

func startHostileClients(ctx context.Context, addr string, faults map[string]bool, problems *soakProblems) *hostileClients {
	ctx, cancel := context.WithCancel(ctx)
	h := &hostileClients{cancel: cancel, malformed: map[string]int{}}
	loops := []struct {
		fault string
		run   func(context.Context, string, *rand.Rand, *soakProblems)
	}{
		{"disconnect", h.disconnecter},
		{"cancel", h.canceller},
		{"timeout", h.timeouter},
		{"malformed", h.malformer},
	}
	for i, l := range loops {
		if !faults[l.fault] {
			continue
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			l.run(ctx, addr, rand.New(rand.NewPCG(12, uint64(i))), problems)
		}()
	}
	return h
}

// pause waits between statements, or returns false once stopped.
func (h *hostileClients) pause(ctx context.Context, rng *rand.Rand) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Duration(100+rng.IntN(400)) * time.Millisecond):
		return true
	}
}

func (h *hostileClients) stop(t *testing.T) {
	t.Helper()
	if !h.halt() {
		t.Fatalf("the hostile clients did not stop within a minute")
	}
}

// halt stops the clients and reports whether they stopped within a
// minute; the test defers it, for when it ends early.
func (h *hostileClients) halt() bool {
	h.cancel()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(time.Minute):
		return false
	}
}

// disconnecter starts a statement and closes the socket under it.
func (h *hostileClients) disconnecter(ctx context.Context, addr string, rng *rand.Rand, problems *soakProblems) {
	for h.pause(ctx, rng) {
		conn, err := soakConnect(ctx, addr, false, nil)
		if err != nil {
			if ctx.Err() == nil {
				problems.add("disconnect client", "connect: %v", err)
			}
			continue
		}
		stmt := soakStatements[rng.IntN(len(soakStatements))]
		blow := time.AfterFunc(time.Duration(20+rng.IntN(480))*time.Millisecond, func() { _ = conn.PgConn().Conn().Close() })
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = conn.Exec(sctx, stmt)
		cancel()
		if blow.Stop() {
			h.completed.Add(1) // done before the socket went
			if err != nil && ctx.Err() == nil {
				problems.add("disconnect client", "%.40s...: %v", stmt, err)
			}
		} else {
			h.disconnects.Add(1)
		}
		_ = conn.Close(context.Background())
	}
}

// canceller runs statements whose context ends after 20 to 500 ms: pgx
// sends a CancelRequest, and the statement must end with 57014 (or have
// finished first), leaving the connection usable.
func (h *hostileClients) canceller(ctx context.Context, addr string, rng *rand.Rand, problems *soakProblems) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	modes := []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec}
	for h.pause(ctx, rng) {
		if conn == nil {
			var err error
			if conn, err = soakConnect(ctx, addr, true, nil); err != nil && ctx.Err() == nil {
				problems.add("cancel client", "connect: %v", err)
			}
			if err != nil {
				conn = nil
				continue
			}
		}
		stmt := soakStatements[rng.IntN(len(soakStatements))]
		after := time.Duration(20+rng.IntN(480)) * time.Millisecond
		sctx, cancel := context.WithTimeout(ctx, after)
		start := time.Now()
		_, err := conn.Exec(sctx, stmt, modes[rng.IntN(len(modes))])
		cancel()
		var pe *pgconn.PgError
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			h.completed.Add(1)
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			h.completed.Add(1) // the context ended before the statement was sent
		case errors.As(err, &pe) && pe.Code == "57014":
			h.cancels.Add(1)
			late := max(time.Since(start)-after, 0).Milliseconds()
			for old := h.maxCancelMillis.Load(); late > old && !h.maxCancelMillis.CompareAndSwap(old, late); old = h.maxCancelMillis.Load() {
			}
			if late > 10_000 {
				problems.add("cancel client", "%.40s... ended %dms after its CancelRequest", stmt, late)
			}
		default:
			problems.add("cancel client", "%.40s... cancelled after %v: %v, want SQLSTATE 57014", stmt, after, err)
			_ = conn.Close(context.Background())
			conn = nil
			continue
		}
		if err := pingAfterCancel(ctx, conn); err != nil {
			if ctx.Err() != nil {
				return
			}
			problems.add("cancel client", "the connection after a cancel: %v", err)
			_ = conn.Close(context.Background())
			conn = nil
		}
	}
}

// pingAfterCancel checks that a connection still answers. A CancelRequest
// travels on a connection of its own and may land after its statement has
// ended (Postgres has the same race), so one 57014 is forgiven.
func pingAfterCancel(ctx context.Context, conn *pgx.Conn) error {
	for try := 0; ; try++ {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := conn.Ping(pctx)
		cancel()
		var pe *pgconn.PgError
		if err == nil || try == 1 || !errors.As(err, &pe) || pe.Code != "57014" {
			return err
		}
	}
}

// timeouter runs longQuery with statement_timeout = 300: each run must end
// with 57014 well before the client's own 20 s cancel.
func (h *hostileClients) timeouter(ctx context.Context, addr string, rng *rand.Rand, problems *soakProblems) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	for h.pause(ctx, rng) {
		if conn == nil {
			var err error
			if conn, err = soakConnect(ctx, addr, true, nil); err != nil && ctx.Err() == nil {
				problems.add("timeout client", "connect: %v", err)
			}
			if err != nil {
				conn = nil
				continue
			}
			if _, err := conn.Exec(ctx, "SET statement_timeout = 300"); err != nil {
				if ctx.Err() != nil {
					return
				}
				problems.add("timeout client", "SET statement_timeout = 300: %v", err)
				_ = conn.Close(context.Background())
				conn = nil
				continue
			}
		}
		const backstop = 20 * time.Second
		sctx, cancel := context.WithTimeout(ctx, backstop)
		start := time.Now()
		_, err := conn.Exec(sctx, longQuery)
		cancel()
		took := time.Since(start)
		var pe *pgconn.PgError
		switch {
		case ctx.Err() != nil:
			return
		case took >= backstop:
			problems.add("timeout client", "statement_timeout = 300 did not end %q: the client cancelled it after %v (%v)",
				longQuery, backstop, err)
		case errors.As(err, &pe) && pe.Code == "57014":
			h.timeouts.Add(1)
			if took > 10*time.Second {
				problems.add("timeout client", "statement_timeout = 300 ended the statement after %v", took)
			}
		default:
			problems.add("timeout client", "with statement_timeout = 300: %v after %v, want SQLSTATE 57014", err, took)
		}
		if err := pingAfterCancel(ctx, conn); err != nil {
			if ctx.Err() != nil {
				return
			}
			problems.add("timeout client", "the connection after a timeout: %v", err)
			_ = conn.Close(context.Background())
			conn = nil
		}
	}
}

// malformedMessages follow a normal startup. The server must answer each
// with an ErrorResponse or close the connection, and stay up.
var malformedMessages = []struct {
	name string
	data []byte
}{
	{"Query of length 4, no body", []byte{'Q', 0, 0, 0, 4}},
	{"Query of length 3", []byte{'Q', 0, 0, 0, 3}},
	{"Query without its NUL", []byte{'Q', 0, 0, 0, 8, 'S', 'E', 'L', 'E'}},
	{"Parse of length 4", []byte{'P', 0, 0, 0, 4}},
	{"Parse claiming 1000 parameter types", frontendMessage('P', "\x00SELECT 1\x00\x03\xe8")},
	{"Bind of length 4", []byte{'B', 0, 0, 0, 4}},
	{"Bind claiming 5 format codes", frontendMessage('B', "\x00\x00\x00\x05")},
	{"Describe of length 4", []byte{'D', 0, 0, 0, 4}},
	{"Execute of length 5", frontendMessage('E', "\x00")},
	{"Close of length 4", []byte{'C', 0, 0, 0, 4}},
}

// frontendMessage frames body as a message of type typ.
func frontendMessage(typ byte, body string) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{typ}, uint32(4+len(body))), body...)
}

// malformer opens a session, sends a malformed message and waits for the
// server's answer; every fifth time it sends random garbage instead (a
// random message type and body, correctly framed), to which any answer
// will do.
func (h *hostileClients) malformer(ctx context.Context, addr string, rng *rand.Rand, problems *soakProblems) {
	const types = "QPBDECHSFdcfXpy?"
	for n := 0; h.pause(ctx, rng); n++ {
		name, data, strict := "", []byte(nil), n%5 != 4
		if strict {
			m := malformedMessages[(n-n/5)%len(malformedMessages)]
			name, data = m.name, m.data
		} else {
			body := make([]byte, rng.IntN(64))
			for i := range body {
				body[i] = byte(rng.IntN(256))
			}
			name, data = "garbage", frontendMessage(types[rng.IntN(len(types))], string(body))
		}
		c, err := rawSession(ctx, addr)
		if err != nil {
			if ctx.Err() == nil {
				problems.add("malformed client", "start a session: %v", err)
			}
			continue
		}
		h.mu.Lock()
		h.malformed[name]++
		h.mu.Unlock()
		answered, closed, err := sendMalformed(c, data, strict)
		_ = c.Close()
		if strict && !answered && !closed {
			problems.add("malformed client", "after %s (% x) the server neither answered with an error nor closed "+
				"the connection within 10s: %v", name, data, err)
		}
	}
}

// rawSession connects and completes a startup (trust authentication).
func rawSession(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(startupMessage("tester", "streamsql")); err != nil {
		c.Close()
		return nil, err
	}
	r := bufio.NewReader(c)
	for {
		typ, body, err := readBackendMessage(r)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("startup: %w", err)
		}
		switch typ {
		case 'E':
			c.Close()
			return nil, fmt.Errorf("startup refused: %q", body)
		case 'Z':
			_ = c.SetDeadline(time.Time{})
			return &bufferedConn{Conn: c, r: r}, nil
		}
	}
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func readBackendMessage(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 1<<20 {
		return 0, nil, fmt.Errorf("backend message %q of length %d", hdr[0], n)
	}
	body := make([]byte, n-4)
	_, err := io.ReadFull(r, body)
	return hdr[0], body, err
}

// sendMalformed sends data and reads until an ErrorResponse, the end of
// the connection or 10 s (2 s for garbage, which may be a valid message
// that needs no answer).
func sendMalformed(c net.Conn, data []byte, strict bool) (answered, closed bool, err error) {
	wait := 10 * time.Second
	if !strict {
		wait = 2 * time.Second
	}
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(data); err != nil {
		return false, true, err
	}
	for {
		typ, _, err := readBackendMessage(c)
		var ne net.Error
		switch {
		case err == nil && typ == 'E':
			return true, false, nil
		case err == nil:
			continue
		case errors.As(err, &ne) && ne.Timeout():
			return false, false, err
		default:
			return false, true, err // EOF, reset: closed
		}
	}
}

// observer reads a view and polls SHOW MATERIALIZED VIEWS and SHOW SINKS
// every second: every view and the sink must stay running. It keeps the
// WARNING notices of its reads (h-views sends one for a view in trouble).
type observer struct {
	once  sync.Once
	stopc chan struct{}
	done  chan struct{}
	polls atomic.Int64
}

func startObserver(ctx context.Context, t *testing.T, addr string, problems *soakProblems) *observer {
	o := &observer{stopc: make(chan struct{}), done: make(chan struct{})}
	// A read of a running view warns only when its source has failed for
	// 10 s in a row; the faults' failed calls are retried long before.
	onNotice := func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if n.Severity == "WARNING" {
			problems.add("read warning", "a read of soak_per_user warned: %s", n.Message)
		}
	}
	conn, err := soakConnect(ctx, addr, false, onNotice)
	if err != nil {
		t.Fatalf("observer: connect: %v", err)
	}
	noState := map[string]bool{}
	go func() {
		defer close(o.done)
		defer conn.Close(context.Background())
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-o.stopc:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			var n int64
			err := conn.QueryRow(qctx, "SELECT COUNT(*) FROM soak_per_user").Scan(&n)
			if err != nil && ctx.Err() == nil {
				problems.add("observer", "read soak_per_user: %v", err)
			}
			for _, show := range soakShows {
				states, hasState, err := readStates(qctx, conn, show.sql)
				switch {
				case ctx.Err() != nil:
				case err != nil:
					problems.add("observer", "%s: %v", show.sql, err)
				case !hasState:
					if !noState[show.sql] {
						noState[show.sql] = true
						t.Logf("%s has no state column (it comes with h-views): its states are not checked", show.sql)
					}
				default:
					for _, name := range show.names {
						switch st := states[name]; st.state {
						case "running", "backfilling":
						default:
							problems.add("state", "%s shows %s %q during the soak (error %q)", show.sql, name, st.state, st.err)
						}
					}
				}
			}
			cancel()
			if ctx.Err() != nil {
				return
			}
			o.polls.Add(1)
		}
	}()
	return o
}

func (o *observer) stop(t *testing.T) {
	t.Helper()
	if !o.halt() {
		t.Fatalf("the observer did not stop within a minute")
	}
	t.Logf("observer: %d polls of the views' and the sink's states", o.polls.Load())
}

// halt stops the observer and reports whether it stopped within a minute.
func (o *observer) halt() bool {
	o.once.Do(func() { close(o.stopc) })
	select {
	case <-o.done:
		return true
	case <-time.After(time.Minute):
		return false
	}
}

type soakState struct{ state, err string }

// readStates reads SHOW MATERIALIZED VIEWS or SHOW SINKS; hasState says
// whether it has a state column (found by name, as is an error column).
func readStates(ctx context.Context, conn *pgx.Conn, show string) (map[string]soakState, bool, error) {
	rows, err := conn.Query(ctx, show)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	nameAt, stateAt, errAt := 0, -1, -1
	for i, fd := range rows.FieldDescriptions() {
		switch fd.Name {
		case "name":
			nameAt = i
		case "state":
			stateAt = i
		case "error":
			errAt = i
		}
	}
	out := map[string]soakState{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, false, err
		}
		var st soakState
		if stateAt >= 0 {
			st.state = fmt.Sprint(vals[stateAt])
		}
		if errAt >= 0 && vals[errAt] != nil {
			st.err = fmt.Sprint(vals[errAt])
		}
		out[fmt.Sprint(vals[nameAt])] = st
	}
	return out, stateAt >= 0, rows.Err()
}

// objectStates is readStates for the test's goroutine; ok is false (and
// logged) when there is no state column.
func objectStates(ctx context.Context, t *testing.T, conn *pgx.Conn, show string) (map[string]soakState, bool) {
	t.Helper()
	states, ok, err := readStates(ctx, conn, show)
	if err != nil {
		t.Fatalf("%s: %v", show, err)
	}
	if !ok {
		t.Logf("%s has no state column (it comes with h-views): the final states are not checked", show)
	}
	return states, ok
}

// checkFaultsFired fails the test for every fault that was on and never
// happened: a soak whose faults never fired proves nothing.
func checkFaultsFired(t *testing.T, faults map[string]bool, proxy *throttleProxy, h *hostileClients, prod *soakProducer) {
	t.Helper()
	for _, kind := range []string{callGetRecords, callPutRecords, callOther} {
		t.Logf("proxy, %s calls: %+v", kind, proxy.faults(kind))
	}
	h.mu.Lock()
	malformed := maps2string(h.malformed)
	h.mu.Unlock()
	t.Logf("clients: %d disconnected mid-statement, %d cancelled (the slowest %dms after its cancel), "+
		"%d ended by statement_timeout, %d finished first; malformed messages sent: %s",
		h.disconnects.Load(), h.cancels.Load(), h.maxCancelMillis.Load(), h.timeouts.Load(), h.completed.Load(), malformed)
	get, put := proxy.faults(callGetRecords), proxy.faults(callPutRecords)
	type check struct {
		fault, what string
		n           int64
	}
	checks := []check{
		{"throttle", "GetRecords calls throttled", int64(get.Throttled)},
		{"throttle", "PutRecords calls throttled", int64(put.Throttled)},
		{"throttle", "PutRecords entries failed", int64(proxy.tally().failed)},
		{"500", "GetRecords calls answered 500", int64(get.Failed500)},
		{"500", "PutRecords calls answered 500", int64(put.Failed500)},
		{"drop", "GetRecords connections dropped before forwarding", int64(get.DroppedBefore)},
		{"drop", "GetRecords connections dropped after kinesalite answered", int64(get.DroppedAfter)},
		{"drop", "PutRecords connections dropped before forwarding", int64(put.DroppedBefore)},
		{"drop", "PutRecords connections dropped after kinesalite answered", int64(put.DroppedAfter)},
		{"decode", "undecodable records put", int64(prod.bad)},
		{"disconnect", "statements whose client disconnected", h.disconnects.Load()},
		{"cancel", "statements cancelled", h.cancels.Load()},
		{"timeout", "statements ended by statement_timeout", h.timeouts.Load()},
	}
	// The other calls (ListShards, GetShardIterator, ...) are few unless
	// the clients' one-off reads of the source make more: their faults
	// are checked once there are enough calls for a tenth to fail surely.
	if other := proxy.faults(callOther); other.Calls >= 100 {
		checks = append(checks, []check{
			{"throttle", "other calls throttled", int64(other.Throttled)},
			{"500", "other calls answered 500", int64(other.Failed500)},
			{"drop", "other calls' connections dropped", int64(other.DroppedBefore + other.DroppedAfter)},
		}...)
	} else {
		t.Logf("only %d other calls: their faults are not checked", other.Calls)
	}
	for _, c := range checks {
		if faults[c.fault] && c.n == 0 {
			t.Errorf("fault %q is on but never happened: 0 %s", c.fault, c.what)
		}
	}
	if faults["malformed"] {
		h.mu.Lock()
		for _, m := range malformedMessages {
			if h.malformed[m.name] == 0 {
				t.Errorf("fault \"malformed\" is on but %q was never sent", m.name)
			}
		}
		h.mu.Unlock()
	}
}

func maps2string(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// checkSoakViews compares the three views with the answers worked out
// here from the records the producer put.
func checkSoakViews(ctx context.Context, t *testing.T, conn *pgx.Conn, prod *soakProducer) {
	t.Helper()
	perUser := map[int64]totals{}
	type win struct {
		user  int64
		start int64 // unix seconds
	}
	windows := map[win]totals{}
	fives := map[string]int{}
	for _, r := range prod.good {
		a := perUser[r.user]
		a.add(r.amount)
		perUser[r.user] = a
		if !r.closer { // the closers' own windows stay open
			w := win{r.user, r.ts.Truncate(time.Minute).Unix()}
			a := windows[w]
			a.add(r.amount)
			windows[w] = a
		}
		if r.seq%5 == 0 {
			fives[fmt.Sprintf("%d/%d/%g", r.seq, r.user, 2*r.amount)]++
		}
	}
	checkTotals(ctx, t, conn, "soak_per_user", "SELECT user_id, n, total FROM soak_per_user", perUser)

	// FLUSH covers the closing records; windows are polled for a while all
	// the same, should their emission trail the watermark by an epoch.
	readWindows := func() map[win]totals {
		rows, err := conn.Query(ctx, "SELECT user_id, window_start, n, total FROM soak_windows")
		if err != nil {
			t.Fatal(err)
		}
		got := map[win]totals{}
		for rows.Next() {
			var w win
			var start time.Time
			var a totals
			if err := rows.Scan(&w.user, &start, &a.n, &a.total); err != nil {
				t.Fatal(err)
			}
			w.start = start.Unix()
			got[w] = a
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := readWindows()
	for deadline := time.Now().Add(30 * time.Second); len(got) < len(windows) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		got = readWindows()
	}
	if len(got) != len(windows) {
		t.Errorf("soak_windows has %d closed windows, want %d (every window before the closing records)", len(got), len(windows))
	}
	bad := 0
	for w, a := range windows {
		if got[w] != a && bad < 10 {
			bad++
			t.Errorf("soak_windows user %d window %s = %+v, want %+v", w.user, time.Unix(w.start, 0).UTC(), got[w], a)
		}
	}
	for w := range got {
		if _, ok := windows[w]; !ok && bad < 20 {
			bad++
			t.Errorf("soak_windows holds user %d window %s, which no record made or which cannot have closed", w.user, time.Unix(w.start, 0).UTC())
		}
	}

	rows, err := conn.Query(ctx, "SELECT seq, user_id, doubled FROM soak_fives")
	if err != nil {
		t.Fatal(err)
	}
	gotFives := map[string]int{}
	for rows.Next() {
		var seq, user int64
		var doubled float64
		if err := rows.Scan(&seq, &user, &doubled); err != nil {
			t.Fatal(err)
		}
		gotFives[fmt.Sprintf("%d/%d/%g", seq, user, doubled)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	bad = 0
	for k, n := range fives {
		if gotFives[k] != n && bad < 10 {
			bad++
			t.Errorf("soak_fives holds seq/user/doubled %s %d times, want %d", k, gotFives[k], n)
		}
	}
	for k, n := range gotFives {
		if fives[k] == 0 && bad < 20 {
			bad++
			t.Errorf("soak_fives holds %s %d times, which no record made", k, n)
		}
	}
	t.Logf("views checked: %d users, %d closed windows, %d filtered rows", len(perUser), len(windows), len(fives))
}

// checkSoakSink waits until the sink's stream, read back, holds every
// decodable record, then checks that de-duplicated by _id it holds
// exactly those: each once, with the values put.
func checkSoakSink(ctx context.Context, t *testing.T, conn *pgx.Conn, prod *soakProducer) {
	t.Helper()
	want := map[int64]soakRecord{}
	for _, r := range prod.good {
		want[r.seq] = r
	}
	type row struct {
		seq, user int64
		amount    float64
	}
	var byID map[string]row
	var total int
	read := func() {
		rows, err := conn.Query(ctx, "SELECT _id, seq, user_id, amount FROM soak_out")
		if err != nil {
			t.Fatal(err)
		}
		byID, total = map[string]row{}, 0
		for rows.Next() {
			var id string
			var r row
			if err := rows.Scan(&id, &r.seq, &r.user, &r.amount); err != nil {
				t.Fatal(err)
			}
			total++
			if old, dup := byID[id]; dup && old != r {
				t.Fatalf("the sink's stream has _id %s with two different rows: %+v and %+v", id, old, r)
			}
			byID[id] = r
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for read(); len(byID) < len(want); read() {
		if time.Now().After(deadline) {
			t.Errorf("the sink's stream holds %d distinct _ids after 2 minutes, want %d", len(byID), len(want))
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	seen := map[int64]string{}
	bad := 0
	for id, r := range byID {
		w, ok := want[r.seq]
		switch {
		case !ok:
			if bad++; bad <= 10 {
				t.Errorf("the sink wrote %s: seq %d, which the producer never put decodably", id, r.seq)
			}
		case r.user != w.user || r.amount != w.amount:
			if bad++; bad <= 10 {
				t.Errorf("the sink wrote %s: seq %d with user %d amount %g, want user %d amount %g", id, r.seq, r.user, r.amount, w.user, w.amount)
			}
		case seen[r.seq] != "":
			if bad++; bad <= 10 {
				t.Errorf("the sink wrote seq %d under two _ids, %s and %s: one source record sent as two", r.seq, seen[r.seq], id)
			}
		}
		seen[r.seq] = id
	}
	missing := 0
	for seq := range want {
		if seen[seq] == "" {
			if missing++; missing <= 10 {
				t.Errorf("the sink's stream lacks seq %d", seq)
			}
		}
	}
	t.Logf("sink: %d records, %d written (%d resent), %d missing", len(want), total, total-len(byID), missing)
}

// checkSoakSourceStatus: every consumer of the source (the three views and
// the sink) counted every undecodable record once, summed over its shards
// (a consumer's counts start with its run, so a view restarted from an
// older epoch would show fewer, and fail the state checks too), and the
// source's readers saw the proxy's throttling and failures.
func checkSoakSourceStatus(ctx context.Context, t *testing.T, conn *pgx.Conn, prod *soakProducer, faults map[string]bool) {
	t.Helper()
	rows, err := conn.Query(ctx, "SHOW SOURCE STATUS soak")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	col := map[string]int{}
	for i, fd := range rows.FieldDescriptions() {
		col[fd.Name] = i
	}
	for _, c := range []string{"consumer", "shard_id", "decode_errors", "throttles", "retries"} {
		if _, ok := col[c]; !ok {
			t.Fatalf("SHOW SOURCE STATUS has no %s column", c)
		}
	}
	decode, shards := map[string]int64{}, map[string]int{}
	var throttles, retries int64
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		consumer := fmt.Sprint(vals[col["consumer"]])
		decode[consumer] += vals[col["decode_errors"]].(int64)
		shards[consumer]++
		throttles += vals[col["throttles"]].(int64)
		retries += vals[col["retries"]].(int64)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("SHOW SOURCE STATUS soak: decode_errors per consumer %v (over %v shards), throttles %d, retries %d",
		decode, shards, throttles, retries)
	consumers := []string{"sink soak_sink"}
	for _, v := range soakViewNames {
		consumers = append(consumers, "view "+v)
	}
	sort.Strings(consumers)
	for _, c := range consumers {
		if shards[c] == 0 {
			t.Errorf("SHOW SOURCE STATUS soak has no rows for consumer %q", c)
		} else if decode[c] != int64(prod.bad) {
			t.Errorf("SHOW SOURCE STATUS soak: consumer %q counted %d decode errors, want %d (the undecodable records put)", c, decode[c], prod.bad)
		}
	}
	if faults["throttle"] && throttles == 0 {
		t.Errorf("SHOW SOURCE STATUS soak counts no throttles, with GetRecords throttled")
	}
	if (faults["500"] || faults["drop"]) && retries == 0 {
		t.Errorf("SHOW SOURCE STATUS soak counts no retries, with GetRecords failing")
	}
}
