package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// Issue 6's crash test: a producer writes crashRecords() records over 4
// shards while the server is SIGKILLed at moments drawn from a seeded RNG,
// at least crashKills times, and started again each time; after the final
// FLUSH every view equals the plain-Go batch answer over all records.

// crashKills is the least number of SIGKILLs.
const crashKills = 5

// crashRecords is how many records the producer writes: 200,000 (what
// issue 6 asks for; about a minute under -race on 2 cores, now that the
// views and the sink share one reader per shard), or
// STREAMSQL_CRASH_RECORDS for a shorter or longer run.
func crashRecords(t *testing.T) int {
	if v := os.Getenv("STREAMSQL_CRASH_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			t.Fatalf("STREAMSQL_CRASH_RECORDS=%q: want a number >= 1000", v)
		}
		return n
	}
	return 200_000
}

// crashSeed picks the kill moments; STREAMSQL_CRASH_SEED replays a run.
func crashSeed(t *testing.T) uint64 {
	if v := os.Getenv("STREAMSQL_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("STREAMSQL_CRASH_SEED=%q: %v", v, err)
		}
		return n
	}
	return 6
}

// crashViews are the views under test, over a source named src.
func crashViews(src string) []string {
	return []string{
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s_per_user AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM %s GROUP BY user_id", src, src),
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s_thirds AS SELECT user_id, amount FROM %s WHERE amount %% 3 = 0", src, src),
		// Updated as windows change: every window stays in the view.
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s_minutes AS SELECT user_id, window_start, COUNT(*) AS n, SUM(amount) AS total "+
			"FROM TUMBLE(%s, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start", src, src),
		// Emitted when the watermark passes the window's end.
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s_closed AS SELECT user_id, window_start, COUNT(*) AS n, SUM(amount) AS total "+
			"FROM TUMBLE(%s, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start EMIT ON WINDOW CLOSE", src, src),
		// A user's records come 37 s apart, give or take the 3 s of
		// jitter: with a 36 s gap some sessions merge, some do not.
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s_sessions AS SELECT user_id, window_start, window_end, COUNT(*) AS n, SUM(amount) AS total "+
			"FROM SESSION(%s, ts, INTERVAL '36' SECOND) GROUP BY user_id, window_start, window_end EMIT ON WINDOW CLOSE", src, src),
		// _minutes again, as a join of two updating window aggregates on
		// the user and the window: join state with retractions, dropped
		// window by window as the watermark passes.
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s_joined AS SELECT a.user_id, a.window_start, a.n, b.total "+
			"FROM (SELECT user_id, window_start, window_end, COUNT(*) AS n FROM TUMBLE(%s, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start, window_end) a "+
			"JOIN (SELECT user_id, window_end, SUM(amount) AS total FROM TUMBLE(%s, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_end) b "+
			"ON a.user_id = b.user_id AND a.window_end = b.window_end", src, src, src),
		// A LEFT JOIN of two updating aggregates: a user has no row on the
		// right until a record with an amount ending in 007 comes, so its
		// NULL-padded row is retracted then, across restarts.
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s_sevens AS SELECT a.user_id, a.n, b.sevens "+
			"FROM (SELECT user_id, COUNT(*) AS n FROM %s GROUP BY user_id) a "+
			"LEFT JOIN (SELECT user_id, COUNT(*) AS sevens FROM %s WHERE amount %% 1000 = 7 GROUP BY user_id) b "+
			"ON a.user_id = b.user_id", src, src, src),
	}
}

// sessionGap is the gap of the _sessions view of crashViews.
const sessionGap = 36 * time.Second

// timedRecords makes records from..from+n-1: user i%37, amount i, event
// time timedBase + i seconds minus a random jitter of up to 3 s, so records
// come out of order, but by less than the source's 5 s watermark delay:
// none is late, whatever the shards' interleaving.
func timedRecords(from, n int, rnd *rand.Rand) ([]click, []time.Time, []emulator.Record) {
	clicks := make([]click, n)
	times := make([]time.Time, n)
	recs := make([]emulator.Record, n)
	for i := range clicks {
		c := click{UserID: int64(from+i) % 37, Amount: float64(from + i)}
		clicks[i] = c
		times[i] = timedBase.Add(time.Duration(from+i)*time.Second - time.Duration(rnd.IntN(3000))*time.Millisecond)
		data, _ := json.Marshal(map[string]any{"user_id": c.UserID, "amount": c.Amount,
			"ts": times[i].Format("2006-01-02T15:04:05.000Z07:00")})
		recs[i] = emulator.Record{PartitionKey: fmt.Sprint(c.UserID), Data: data}
	}
	return clicks, times, recs
}

// producer puts records to a stream from a goroutine of its own.
type producer struct {
	done chan error   // the outcome, once every record is in or a put failed
	put  atomic.Int64 // how many records are in so far
}

// startProducer puts recs to stream in order, batch records per call,
// pausing pause after each call so that the records arrive over time.
func startProducer(ctx context.Context, e *emulator.Emulator, stream string, recs []emulator.Record, batch int,
	pause time.Duration) *producer {
	p := &producer{done: make(chan error, 1)}
	go func() {
		for i := 0; i < len(recs); i += batch {
			end := min(i+batch, len(recs))
			if _, err := e.PutRecords(ctx, stream, recs[i:end]); err != nil {
				p.done <- fmt.Errorf("put records %d..%d to %s: %w", i, end-1, stream, err)
				return
			}
			p.put.Store(int64(end))
			if pause > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		}
		p.done <- nil
	}()
	return p
}

// waitPut waits until the producer has put at least n records, or fails
// the test if it fails first.
func (p *producer) waitPut(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for p.put.Load() < n {
		select {
		case err := <-p.done:
			p.done <- err // for a later wait
			if err != nil {
				t.Fatalf("producer: %v", err)
			}
			if p.put.Load() < n {
				t.Fatalf("producer finished after %d records, before %d", p.put.Load(), n)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("producer put only %d records in 2 minutes, waiting for %d", p.put.Load(), n)
		}
	}
}

// wait waits until the producer is done and fails the test on its error.
func (p *producer) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("producer: %v", err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("producer still running after 3 minutes (%d records in)", p.put.Load())
	}
}

// setupCrashSource creates a 4-shard stream, the source and the views.
func setupCrashSource(ctx context.Context, t *testing.T, e *emulator.Emulator, conn *pgx.Conn, src, stream string) {
	t.Helper()
	mustExec(ctx, t, conn, append([]string{crashSource(ctx, t, e, src, stream, 4, crashCols)}, crashViews(src)...)...)
}

func TestCrash_KillsDuringProduction(t *testing.T) {
	n, seed := crashRecords(t), crashSeed(t)
	ct := newCrashTest(t, 6*time.Minute)
	ctx, e := ct.ctx, ct.e
	conn := connect(t, ct.srv.addr)
	setupCrashSource(ctx, t, e, conn, "cr", "cr-in")
	// A sink from the same source: at least once, ids exactly the inputs.
	createSinkOf(ctx, t, e, conn, "cr", e.Endpoint(), "cr-out")
	_ = conn.Close(ctx)

	clicks, times, recs := timedRecords(0, n, rand.New(rand.NewPCG(seed, 1)))
	start := time.Now()
	prod := startProducer(ctx, e, "cr-in", recs, 500, 0)
	ct.killWhileProducing(t, crashKills, rand.New(rand.NewPCG(seed, 2)), nil, prod)
	conn = ct.flush(t)
	t.Logf("the whole test so far %v", time.Since(start).Round(time.Millisecond))
	checkCrashViews(ctx, t, conn, "cr", clicks, times)
	checkSinked(ctx, t, conn, "cr_out", clicks)
}

// checkCrashViews compares every view of crashViews with the batch answer
// over clicks (with event times times), worked out here in plain Go.
func checkCrashViews(ctx context.Context, t *testing.T, conn *pgx.Conn, src string, clicks []click, times []time.Time) {
	t.Helper()
	want := map[int64]totals{}
	wantThirds := map[string]int{}
	for _, c := range clicks {
		w := want[c.UserID]
		w.add(c.Amount)
		want[c.UserID] = w
		if int64(c.Amount)%3 == 0 {
			wantThirds[fmt.Sprintf("%d/%g", c.UserID, c.Amount)]++
		}
	}
	checkTotals(ctx, t, conn, src+"_per_user", "SELECT user_id, n, total FROM "+src+"_per_user", want)
	checkCrashSevens(ctx, t, conn, src, clicks)

	gotThirds := map[string]int{}
	rows, err := conn.Query(ctx, "SELECT user_id, amount FROM "+src+"_thirds")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var amount float64
		if err := rows.Scan(&id, &amount); err != nil {
			t.Fatal(err)
		}
		gotThirds[fmt.Sprintf("%d/%g", id, amount)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(gotThirds) != len(wantThirds) {
		t.Errorf("%s_thirds has %d distinct rows, want %d", src, len(gotThirds), len(wantThirds))
	}
	bad := 0
	for k, n := range wantThirds {
		if gotThirds[k] != n && bad < 10 {
			bad++
			t.Errorf("%s_thirds holds %s %d times, want %d", src, k, gotThirds[k], n)
		}
	}

	type win struct {
		user  int64
		start int64 // minute
	}
	wantWin := map[win]totals{}
	var last int64 // the largest event second
	for i, c := range clicks {
		w := win{c.UserID, minuteOf(times[i])}
		a := wantWin[w]
		a.add(c.Amount)
		wantWin[w] = a
		last = max(last, times[i].Unix()-timedBase.Unix())
	}
	readWindows := func(view string) map[win]totals {
		out := map[win]totals{}
		rows, err := conn.Query(ctx, "SELECT user_id, window_start, n, total FROM "+view)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var w win
			var start time.Time
			var a totals
			if err := rows.Scan(&w.user, &start, &a.n, &a.total); err != nil {
				t.Fatal(err)
			}
			w.start = minuteOf(start)
			out[w] = a
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, view := range []string{src + "_minutes", src + "_joined"} {
		got := readWindows(view)
		if len(got) != len(wantWin) {
			t.Errorf("%s has %d windows, want %d", view, len(got), len(wantWin))
		}
		bad = 0
		for w, a := range wantWin {
			if got[w] != a && bad < 10 {
				bad++
				t.Errorf("%s %+v = %+v, want %+v", view, w, got[w], a)
			}
		}
	}
	// Which windows have closed depends on how far the slowest shard got:
	// each of 37 users comes every 37 s, so every shard has seen a record
	// within the last 2 minutes; windows ending before that are closed,
	// and none ending after the last record minus the 5 s delay is.
	closed := readWindows(src + "_closed")
	bad = 0
	for w, a := range closed {
		if (w.start+1)*60 > last-5 {
			t.Errorf("%s_closed holds window %+v, which cannot have closed", src, w)
		} else if wantWin[w] != a && bad < 10 {
			bad++
			t.Errorf("%s_closed %+v = %+v, want %+v", src, w, a, wantWin[w])
		}
	}
	checked := 0
	for w, a := range wantWin {
		if (w.start+1)*60 <= last-120 {
			checked++
			if closed[w] != a && bad < 20 {
				bad++
				t.Errorf("%s_closed %+v = %+v, want %+v (closed long ago)", src, w, closed[w], a)
			}
		}
	}
	sessions := checkCrashSessions(ctx, t, conn, src, clicks, times)
	t.Logf("views checked: %d users, %d filtered rows, %d windows, %d closed windows, %d closed sessions",
		len(want), len(wantThirds), len(wantWin), checked, sessions)
}

// checkCrashSevens compares the _sevens view (a LEFT JOIN) with counts
// worked out here: per user its records, and those with an amount ending
// in 007, NULL when it has none.
func checkCrashSevens(ctx context.Context, t *testing.T, conn *pgx.Conn, src string, clicks []click) {
	t.Helper()
	type counts struct{ n, sevens int64 }
	want := map[int64]counts{}
	for _, c := range clicks {
		w := want[c.UserID]
		w.n++
		if int64(c.Amount)%1000 == 7 {
			w.sevens++
		}
		want[c.UserID] = w
	}
	got := map[int64]counts{}
	rows, err := conn.Query(ctx, "SELECT user_id, n, sevens FROM "+src+"_sevens")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var user, n int64
		var sevens *int64
		if err := rows.Scan(&user, &n, &sevens); err != nil {
			t.Fatal(err)
		}
		if _, dup := got[user]; dup {
			t.Errorf("%s_sevens has user %d twice", src, user)
		}
		c := counts{n: n}
		if sevens != nil {
			if *sevens == 0 {
				t.Errorf("%s_sevens: user %d has 0 sevens, not NULL", src, user)
			}
			c.sevens = *sevens
		}
		got[user] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%s_sevens has %d users, want %d", src, len(got), len(want))
	}
	for u, w := range want {
		if got[u] != w {
			t.Errorf("%s_sevens user %d = %+v, want %+v", src, u, got[u], w)
		}
	}
}

// checkCrashSessions compares the _sessions view with sessions worked out
// here: per user, events in time order, a new session whenever an event
// comes more than the gap after the last one (a session is [first event,
// last event + gap), and one that touches the next merges with it). It
// returns how many sessions it checked.
func checkCrashSessions(ctx context.Context, t *testing.T, conn *pgx.Conn, src string, clicks []click, times []time.Time) int {
	t.Helper()
	type session struct {
		user       int64
		start, end int64 // unix ms
	}
	byUser := map[int64][]int{}
	var last time.Time
	for i, c := range clicks {
		byUser[c.UserID] = append(byUser[c.UserID], i)
		if times[i].After(last) {
			last = times[i]
		}
	}
	want := map[session]totals{}
	gap := sessionGap.Milliseconds()
	for user, idx := range byUser {
		sort.Slice(idx, func(a, b int) bool { return times[idx[a]].Before(times[idx[b]]) })
		cur, a := session{user: user, start: -1}, totals{}
		var lastT int64
		for _, i := range idx {
			ts := times[i].UnixMilli()
			if cur.start >= 0 && ts > lastT+gap {
				cur.end = lastT + gap
				want[cur] = a
				cur, a = session{user: user, start: -1}, totals{}
			}
			if cur.start < 0 {
				cur.start = ts
			}
			lastT = ts
			a.add(clicks[i].Amount)
		}
		cur.end = lastT + gap
		want[cur] = a
	}
	got := map[session]totals{}
	rows, err := conn.Query(ctx, "SELECT user_id, window_start, window_end, n, total FROM "+src+"_sessions")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ss session
		var start, end time.Time
		var a totals
		if err := rows.Scan(&ss.user, &start, &end, &a.n, &a.total); err != nil {
			t.Fatal(err)
		}
		ss.start, ss.end = start.UnixMilli(), end.UnixMilli()
		got[ss] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The final watermark is the last event minus 5 s (the least over
	// shards may lag): sessions ending 2 minutes before the last event
	// must be there; none ending after the watermark can be.
	lastMs := last.UnixMilli()
	bad, checked := 0, 0
	for ss, a := range got {
		if ss.end > lastMs-5000 {
			t.Errorf("%s_sessions holds %+v, which cannot have closed", src, ss)
		} else if w, ok := want[ss]; (!ok || w != a) && bad < 10 {
			bad++
			t.Errorf("%s_sessions %+v = %+v, want %+v (known: %v)", src, ss, a, w, ok)
		}
	}
	for ss, a := range want {
		if ss.end <= lastMs-120_000 {
			checked++
			if got[ss] != a && bad < 20 {
				bad++
				t.Errorf("%s_sessions %+v = %+v, want %+v (closed long ago)", src, ss, got[ss], a)
			}
		}
	}
	return checked
}

// TestCrash_SigtermNoReplay: after SIGTERM and a restart nothing is lost
// (views equal the batch answer after FLUSH) and nothing committed before
// the shutdown is read again: each view's reader has read 0 records after
// the restart's FLUSH (SHOW SOURCE STATUS counts this run's reads), and
// exactly the new records after more are put.
func TestCrash_SigtermNoReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 4*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	setupCrashSource(ctx, t, e, conn, "st", "st-in")

	rnd := rand.New(rand.NewPCG(7, 7))
	clicks, times, recs := timedRecords(0, 3000, rnd)
	if _, err := e.PutRecords(ctx, "st-in", recs); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	_ = conn.Close(ctx)
	srv.terminate(t)

	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH after restart: %v", err)
	}
	views := []string{"view st_per_user", "view st_thirds", "view st_closed"}
	for _, v := range views {
		if got := viewRecordsRead(ctx, t, conn, "st", v); got != 0 {
			t.Errorf("%s read %d records again after SIGTERM and restart, want 0", v, got)
		}
	}
	checkCrashViews(ctx, t, conn, "st", clicks, times)

	more, moreTimes, recs := timedRecords(3000, 1000, rnd)
	if _, err := e.PutRecords(ctx, "st-in", recs); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	for _, v := range views {
		if got := viewRecordsRead(ctx, t, conn, "st", v); got != 1000 {
			t.Errorf("%s read %d records after 1000 more were put, want exactly 1000", v, got)
		}
	}
	checkCrashViews(ctx, t, conn, "st", append(clicks, more...), append(times, moreTimes...))
}

// connectForBacklog connects for a FLUSH after restarts with a large
// backlog: that FLUSH may rightly take longer than its default bound of a
// minute (every view replays from its last epoch, under -race on a shared
// machine), so the session gives its statements ten.
func connectForBacklog(t *testing.T, addr string) *pgx.Conn {
	t.Helper()
	conn := connect(t, addr)
	if _, err := conn.Exec(context.Background(), "SET statement_timeout = '10min'"); err != nil {
		t.Fatalf("SET statement_timeout: %v", err)
	}
	return conn
}
