package tests

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql"
)

// testClock is a wall clock the test moves (Config.Clock): the real one
// until the first Set (unless made with a time), then where Set puts it.
type testClock struct {
	mu  sync.Mutex
	t   time.Time
	set bool
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.set && c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t, c.set = t, true
}

// ptLines runs q over the simple protocol and returns its rows in order,
// each its values joined by spaces, times as hh:mm:ss.mmm.
func ptLines(ctx context.Context, t *testing.T, conn *pgx.Conn, q string) []string {
	t.Helper()
	return scanRows(ctx, t, conn, q, func(v any) string {
		if tm, ok := v.(time.Time); ok {
			return tm.UTC().Format("15:04:05.000")
		}
		return fmt.Sprint(v)
	}, pgx.QueryExecModeSimpleProtocol)
}

// TestProcTime: a source's `proc AS PROCTIME()` column holds the engine's
// clock (a test clock here) when each row is read; TUMBLE over it makes
// processing-time windows, whose watermark is the clock: a window closes
// (EMIT ON WINDOW CLOSE) when the clock passes its end, with no record
// arriving. DESCRIBE and SHOW CREATE SOURCE show the column.
func TestProcTime(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	stream := fmt.Sprintf("proctime-%d", time.Now().UnixNano())
	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &testClock{t: base}
	srv := startServerConfig(t, streamsql.Config{Clock: clock.Now})
	conn := connect(t, srv.Addr)
	exec := func(q string) {
		t.Helper()
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(fmt.Sprintf("CREATE SOURCE pt (k BIGINT, proc AS PROCTIME(), v BIGINT) WITH (connector = 'kinesis', endpoint = '%s', "+
		"region = 'us-east-1', stream = '%s', start_position = 'trim_horizon')", e.Endpoint(), stream))
	if got, want := ptLines(ctx, t, conn, "DESCRIBE pt"), []string{"k BIGINT", "proc TIMESTAMP(3) *PROCTIME*", "v BIGINT"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("DESCRIBE pt = %q, want %q", got, want)
	}
	if got := ptLines(ctx, t, conn, "SHOW CREATE SOURCE pt"); len(got) != 1 || !strings.Contains(got[0], "proc AS PROCTIME()") {
		t.Errorf("SHOW CREATE SOURCE pt = %q, want proc AS PROCTIME() in it", got)
	}
	exec("CREATE MATERIALIZED VIEW pt_closed AS SELECT k, window_start, window_end, COUNT(*) AS n, SUM(v) AS total " +
		"FROM TUMBLE(pt, proc, INTERVAL '10' SECOND) GROUP BY k, window_start, window_end EMIT ON WINDOW CLOSE")
	exec("CREATE MATERIALIZED VIEW pt_open AS SELECT k, window_start, COUNT(*) AS n FROM TUMBLE(pt, proc, INTERVAL '10' SECOND) GROUP BY k, window_start")
	exec("CREATE MATERIALIZED VIEW pt_rows AS SELECT k, v, proc FROM pt")
	put := func(recs ...string) {
		t.Helper()
		putLate(ctx, t, e, stream, recs)
		exec("FLUSH")
	}
	// At 00:00:00.250 k=1 and k=2 come: window [0,10), open.
	clock.Set(base.Add(250 * time.Millisecond))
	put(`{"k": 1, "v": 1}`, `{"k": 2, "v": 10}`)
	// At 00:00:07 k=1 again: still [0,10).
	clock.Set(base.Add(7 * time.Second))
	put(`{"k": 1, "v": 2}`)
	if got := ptLines(ctx, t, conn, "SELECT k, n FROM pt_closed"); len(got) != 0 {
		t.Errorf("pt_closed before 00:00:10 = %q, want nothing", got)
	}
	if got, want := ptLines(ctx, t, conn, "SELECT k, window_start, n FROM pt_open ORDER BY k"),
		[]string{"1 00:00:00.000 2", "2 00:00:00.000 1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pt_open = %q, want %q", got, want)
	}
	if got, want := ptLines(ctx, t, conn, "SELECT k, v, proc FROM pt_rows ORDER BY v"),
		[]string{"1 1 00:00:00.250", "1 2 00:00:07.000", "2 10 00:00:00.250"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pt_rows = %q, want %q", got, want)
	}
	// The clock passes 00:00:10 and no record comes: the window closes.
	clock.Set(base.Add(10*time.Second + 500*time.Millisecond))
	want := []string{"1 00:00:00.000 00:00:10.000 2 3", "2 00:00:00.000 00:00:10.000 1 10"}
	var got []string
	waitFor(t, time.Minute, func() bool {
		got = ptLines(ctx, t, conn, "SELECT k, window_start, window_end, n, CAST(total AS SIGNED) FROM pt_closed ORDER BY k")
		return fmt.Sprint(got) == fmt.Sprint(want)
	})
	// A record now is in [10,20), which stays open.
	put(`{"k": 1, "v": 4}`)
	clock.Set(base.Add(19 * time.Second))
	exec("FLUSH")
	if got := ptLines(ctx, t, conn, "SELECT k, window_start, n FROM pt_closed ORDER BY k"); fmt.Sprint(got) != fmt.Sprint([]string{"1 00:00:00.000 2", "2 00:00:00.000 1"}) {
		t.Errorf("pt_closed at 00:00:19 = %q", got)
	}
	if got, want := ptLines(ctx, t, conn, "SELECT k, window_start, n FROM pt_open WHERE window_start > '2026-01-01 00:00:05'"),
		[]string{"1 00:00:10.000 1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pt_open's [10,20) = %q, want %q", got, want)
	}
	// A one-off read stamps the rows with the clock when it reads them.
	if got, want := ptLines(ctx, t, conn, "SELECT COUNT(*), MIN(proc), MAX(proc) FROM pt"),
		[]string{"4 00:00:19.000 00:00:19.000"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("one-off over pt = %q, want %q", got, want)
	}
	if got, want := ptLines(ctx, t, conn, "SELECT window_start, COUNT(*) FROM TUMBLE(pt, proc, INTERVAL '10' SECOND) GROUP BY window_start"),
		[]string{"00:00:10.000 4"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("one-off TUMBLE over proc = %q, want %q", got, want)
	}
	lines := explainAnalyze(ctx, t, conn, "pt_closed")
	if l := lineStarting(t, lines, "Source pt"); !strings.Contains(l, "watermark=proc (processing time)") {
		t.Errorf("EXPLAIN ANALYZE's source line %q does not say its watermark is processing time", l)
	}
}
