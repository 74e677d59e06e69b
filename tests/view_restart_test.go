package tests

import (
	"context"
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
	for _, q := range append([]string{fmt.Sprintf("CREATE SOURCE vr (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), "+
		"WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (%s, stream = 'vr-in', start_position = 'trim_horizon')", with)},
		crashViews("vr")...) {
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
	waitFor(t, time.Minute, func() bool { return viewRecordsRead(ctx, t, conn, "vr", "view vr_per_user") > 400 })
	_ = conn.Close(ctx)
	srv.kill(t)

	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	all = append(all, putTimedClicks(ctx, t, e, "vr-in", 800, 300, rnd, &times)...)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH after restart: %v", err)
	}

	checkCrashViews(ctx, t, conn, "vr", all, times)
}

// timedBase is the event time of record 0; record i is about i seconds
// later.
var timedBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// putTimedClicks puts the records timedRecords makes and appends their
// event times to times.
func putTimedClicks(ctx context.Context, t *testing.T, e *emulator.Emulator, stream string, from, n int,
	rnd *rand.Rand, times *[]time.Time) []click {
	t.Helper()
	clicks, ts, recs := timedRecords(from, n, rnd)
	*times = append(*times, ts...)
	if _, err := e.PutRecords(ctx, stream, recs); err != nil {
		t.Fatal(err)
	}
	return clicks
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
