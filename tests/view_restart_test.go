package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestView_RestartExactlyOnce: the server is SIGKILLed while views are
// reading a stream, started again, and after FLUSH every view equals a
// batch computation over all records put, done here in plain Go: nothing
// lost, nothing counted twice.
func TestView_RestartExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 5*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	if err := e.CreateStream(ctx, "vr-in", 3); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()

	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	with := fmt.Sprintf("connector = 'kinesis', endpoint = '%s', region = 'us-east-1'", e.Endpoint())
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE vr_in (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) "+
			"WITH (%s, stream = 'vr-in', start_position = 'trim_horizon')", with),
		"CREATE MATERIALIZED VIEW vr_per_user AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM vr_in GROUP BY user_id",
		"CREATE MATERIALIZED VIEW vr_thirds AS SELECT user_id, amount FROM vr_in WHERE amount % 3 = 0",
		// Updates as windows change: every window stays in the view.
		"CREATE MATERIALIZED VIEW vr_minutes AS SELECT user_id, window_start, COUNT(*) AS n, SUM(amount) AS total " +
			"FROM TUMBLE(vr_in, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start",
		// Emitted when the watermark passes the window's end.
		"CREATE MATERIALIZED VIEW vr_closed AS SELECT user_id, window_start, COUNT(*) AS n, SUM(amount) AS total " +
			"FROM TUMBLE(vr_in, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start EMIT ON WINDOW CLOSE",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var all []click
	var times []time.Time // event time of all[i]
	rnd := rand.New(rand.NewPCG(5, 5))
	all = append(all, putTimedClicks(ctx, t, e, "vr-in", 0, 400, rnd, &times)...)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	// Records in flight when the process dies: some read, some committed,
	// some neither.
	all = append(all, putTimedClicks(ctx, t, e, "vr-in", 400, 400, rnd, &times)...)
	// Kill once the view has read part of them (a kill anywhere must be
	// fine; this one lands mid-stream).
	waitFor(t, time.Minute, func() bool { return viewRecordsRead(ctx, t, conn, "vr_in", "view vr_per_user") > 400 })
	_ = conn.Close(ctx)
	srv.kill(t)

	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	all = append(all, putTimedClicks(ctx, t, e, "vr-in", 800, 300, rnd, &times)...)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH after restart: %v", err)
	}

	type agg struct {
		n     int64
		total float64
	}
	want := map[int64]agg{}
	wantThirds := map[string]int{}
	for _, c := range all {
		a := want[c.UserID]
		a.n++
		a.total += c.Amount
		want[c.UserID] = a
		if int64(c.Amount)%3 == 0 {
			wantThirds[fmt.Sprintf("%d/%g", c.UserID, c.Amount)]++
		}
	}
	got := map[int64]agg{}
	rows, err := conn.Query(ctx, "SELECT user_id, n, total FROM vr_per_user")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var a agg
		if err := rows.Scan(&id, &a.n, &a.total); err != nil {
			t.Fatal(err)
		}
		got[id] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("vr_per_user has %d users, want %d", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("user %d: view has n=%d total=%g, want n=%d total=%g", id, got[id].n, got[id].total, w.n, w.total)
		}
	}
	// Windows, from the same records.
	type win struct {
		user  int64
		start int64 // minute
	}
	wantWin := map[win]agg{}
	var last int64 // the largest event second
	for i, c := range all {
		w := win{c.UserID, minuteOf(times[i])}
		a := wantWin[w]
		a.n++
		a.total += c.Amount
		wantWin[w] = a
		last = max(last, times[i].Unix()-timedBase.Unix())
	}
	readWindows := func(view string) map[win]agg {
		out := map[win]agg{}
		rows, err := conn.Query(ctx, "SELECT user_id, window_start, n, total FROM "+view)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var w win
			var start time.Time
			var a agg
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
	gotWin := readWindows("vr_minutes")
	if len(gotWin) != len(wantWin) {
		t.Errorf("vr_minutes has %d windows, want %d", len(gotWin), len(wantWin))
	}
	for w, a := range wantWin {
		if gotWin[w] != a {
			t.Errorf("vr_minutes %+v = %+v, want %+v", w, gotWin[w], a)
		}
	}
	// Which windows have closed depends on how far the slowest shard got:
	// each of 37 users comes every 37 s, so every shard has seen a record
	// within the last 2 minutes; windows ending before that are closed,
	// and none ending after the last record minus the delay is.
	for w, a := range readWindows("vr_closed") {
		if (w.start+1)*60 > last-5 {
			t.Errorf("vr_closed holds window %+v, which cannot have closed", w)
		} else if wantWin[w] != a {
			t.Errorf("vr_closed %+v = %+v, want %+v", w, a, wantWin[w])
		}
	}
	closed := readWindows("vr_closed")
	for w, a := range wantWin {
		if (w.start+1)*60 <= last-120 && closed[w] != a {
			t.Errorf("vr_closed %+v = %+v, want %+v (closed long ago)", w, closed[w], a)
		}
	}

	gotThirds := thirds(ctx, t, conn)
	if len(gotThirds) != len(wantThirds) {
		t.Errorf("vr_thirds has %d distinct rows, want %d", len(gotThirds), len(wantThirds))
	}
	for k, n := range wantThirds {
		if gotThirds[k] != n {
			t.Errorf("vr_thirds holds %s %d times, want %d", k, gotThirds[k], n)
		}
	}
}

func thirds(ctx context.Context, t *testing.T, conn *pgx.Conn) map[string]int {
	t.Helper()
	rows, err := conn.Query(ctx, "SELECT user_id, amount FROM vr_thirds")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var id int64
		var amount float64
		if err := rows.Scan(&id, &amount); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%d/%g", id, amount)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// timedBase is the event time of record 0; record i is about i seconds
// later.
var timedBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// putTimedClicks puts records from..from+n-1: user i%37, amount i, event
// time timedBase + i seconds minus a random jitter of up to 3 s, so records
// come out of order, but by less than the source's 5 s watermark delay:
// none is late, whatever the shards' interleaving. It appends the event
// times to times.
func putTimedClicks(ctx context.Context, t *testing.T, e *emulator.Emulator, stream string, from, n int,
	rnd *rand.Rand, times *[]time.Time) []click {
	t.Helper()
	out := make([]click, n)
	recs := make([]emulator.Record, n)
	for i := range out {
		c := click{UserID: int64(from+i) % 37, Amount: float64(from + i)}
		out[i] = c
		ts := timedBase.Add(time.Duration(from+i)*time.Second - time.Duration(rnd.IntN(3000))*time.Millisecond)
		*times = append(*times, ts)
		data, _ := json.Marshal(map[string]any{"user_id": c.UserID, "amount": c.Amount,
			"ts": ts.Format("2006-01-02T15:04:05.000Z07:00")})
		recs[i] = emulator.Record{PartitionKey: fmt.Sprint(c.UserID), Data: data}
	}
	if _, err := e.PutRecords(ctx, stream, recs); err != nil {
		t.Fatal(err)
	}
	return out
}

// viewRecordsRead sums the records a consumer of source has read over its
// shards, from SHOW SOURCE STATUS.
func viewRecordsRead(ctx context.Context, t *testing.T, conn *pgx.Conn, source, consumer string) int64 {
	t.Helper()
	rows, err := conn.Query(ctx, "SHOW SOURCE STATUS "+source)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if vals[0] == consumer {
			n += vals[3].(int64)
		}
	}
	return n
}

// minuteOf returns the minute since timedBase that holds t, rounding down
// (the first records may fall before timedBase).
func minuteOf(t time.Time) int64 {
	s := t.Unix() - timedBase.Unix()
	if s < 0 {
		return (s - 59) / 60
	}
	return s / 60
}
