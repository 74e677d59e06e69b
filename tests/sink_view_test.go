package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// windowBase is the event time of second 0 in TestSink_OverQueries.
var windowBase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// timedEvent is one input record: a user, an amount, a second of event time.
type timedEvent struct {
	user   int64
	amount float64
	sec    int
}

func putEvents(ctx context.Context, t *testing.T, e *emulator.Emulator, stream string, evs []timedEvent) {
	t.Helper()
	recs := make([]emulator.Record, len(evs))
	for i, ev := range evs {
		data, _ := json.Marshal(map[string]any{"user_id": ev.user, "amount": ev.amount,
			"ts": windowBase.Add(time.Duration(ev.sec) * time.Second).Format("2006-01-02T15:04:05.000Z07:00")})
		recs[i] = emulator.Record{PartitionKey: fmt.Sprint(ev.user), Data: data}
	}
	if _, err := e.PutRecords(ctx, stream, recs); err != nil {
		t.Fatal(err)
	}
}

// closedWindows works out the EMIT ON WINDOW CLOSE answer: per user and
// 10 s window, count and sum, for windows ending at or before watermark
// (in seconds), as "user start n total" lines, sorted.
func closedWindows(evs []timedEvent, watermark int) []string {
	type key struct {
		user  int64
		start int
	}
	type agg struct {
		n     int64
		total float64
	}
	m := map[key]agg{}
	for _, ev := range evs {
		k := key{ev.user, ev.sec / 10 * 10}
		if k.start+10 > watermark {
			continue
		}
		a := m[k]
		a.n++
		a.total += ev.amount
		m[k] = a
	}
	var out []string
	for k, a := range m {
		out = append(out, fmt.Sprintf("%d %s %d %g", k.user,
			windowBase.Add(time.Duration(k.start)*time.Second).Format("15:04:05"), a.n, a.total))
	}
	sort.Strings(out)
	return out
}

// readSinked reads a sink's stream through a source: the distinct rows by
// _id, rendered by row, and how many records the stream holds in all. Two
// records with one _id must carry the same row.
func readSinked(ctx context.Context, t *testing.T, conn *pgx.Conn, query string, row func(pgx.Rows) (string, string)) (map[string]string, int) {
	t.Helper()
	rows, err := conn.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	total := 0
	for rows.Next() {
		id, r := row(rows)
		if old, dup := got[id]; dup && old != r {
			t.Fatalf("id %s carries two different rows: %q and %q", id, old, r)
		}
		got[id] = r
		total++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got, total
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// TestSink_OverQueries: a sink over an EMIT ON WINDOW CLOSE view and a
// sink AS SELECT with a filter send, after FLUSH, exactly the rows worked
// out here, each with a unique "_id" (sink/epoch/ordinal); after SIGKILL
// and a restart nothing is lost and the ids de-duplicate to the same set;
// more input afterwards is sent too.
func TestSink_OverQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 5*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	for _, s := range []string{"sq-in", "sq-win", "sq-big"} {
		if err := e.CreateStream(ctx, s, 1); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	with := fmt.Sprintf("connector = 'kinesis', endpoint = '%s', region = 'us-east-1'", e.Endpoint())
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE sq_in (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) "+
			"WITH (%s, stream = 'sq-in', start_position = 'trim_horizon')", with),
		"CREATE MATERIALIZED VIEW sq_windows AS SELECT user_id, window_start, COUNT(*) AS n, SUM(amount) AS total " +
			"FROM TUMBLE(sq_in, ts, INTERVAL '10' SECOND) GROUP BY user_id, window_start EMIT ON WINDOW CLOSE",
		fmt.Sprintf("CREATE SINK sq_win_sink FROM sq_windows WITH (%s, stream = 'sq-win', partition_key = 'user_id')", with),
		fmt.Sprintf("CREATE SINK sq_big_sink AS SELECT user_id, amount FROM sq_in WHERE amount >= 50 WITH (%s, stream = 'sq-big')", with),
		fmt.Sprintf("CREATE SOURCE sq_win_out (_id TEXT, user_id BIGINT, window_start TIMESTAMP(3), n BIGINT, total DOUBLE) "+
			"WITH (%s, stream = 'sq-win', start_position = 'trim_horizon')", with),
		fmt.Sprintf("CREATE SOURCE sq_big_out (_id TEXT, user_id BIGINT, amount DOUBLE) "+
			"WITH (%s, stream = 'sq-big', start_position = 'trim_horizon')", with),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// Seconds 0..59, three users; then one record at second 100 moves the
	// watermark to 99 and closes every window before it.
	var evs []timedEvent
	for i := range 60 {
		evs = append(evs, timedEvent{user: int64(i % 3), amount: float64(i), sec: i})
	}
	evs = append(evs, timedEvent{user: 9, amount: 1000, sec: 100})
	putEvents(ctx, t, e, "sq-in", evs)

	winRow := func(rows pgx.Rows) (string, string) {
		var id string
		var user, n int64
		var start time.Time
		var total float64
		if err := rows.Scan(&id, &user, &start, &n, &total); err != nil {
			t.Fatal(err)
		}
		return id, fmt.Sprintf("%d %s %d %g", user, start.UTC().Format("15:04:05"), n, total)
	}
	bigRow := func(rows pgx.Rows) (string, string) {
		var id string
		var user int64
		var amount float64
		if err := rows.Scan(&id, &user, &amount); err != nil {
			t.Fatal(err)
		}
		return id, fmt.Sprintf("%d %g", user, amount)
	}
	bigWant := func(evs []timedEvent) []string {
		var out []string
		for _, ev := range evs {
			if ev.amount >= 50 {
				out = append(out, fmt.Sprintf("%d %g", ev.user, ev.amount))
			}
		}
		sort.Strings(out)
		return out
	}
	check := func(stage string, watermark int) (map[string]string, map[string]string) {
		t.Helper()
		if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
			t.Fatalf("%s: FLUSH: %v", stage, err)
		}
		// FLUSH returns once Kinesis has acknowledged every record, so one
		// read of each stream must hold them all.
		win, winTotal := readSinked(ctx, t, conn, "SELECT _id, user_id, window_start, n, total FROM sq_win_out", winRow)
		big, bigTotal := readSinked(ctx, t, conn, "SELECT _id, user_id, amount FROM sq_big_out", bigRow)
		if got, want := sortedValues(win), closedWindows(evs, watermark); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: the window sink's stream holds\n%s\nwant\n%s", stage, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if got, want := sortedValues(big), bigWant(evs); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: the filter sink's stream holds %v, want %v", stage, got, want)
		}
		for id := range win {
			if !strings.HasPrefix(id, "sq_win_sink/") || strings.Count(id, "/") != 2 {
				t.Fatalf("%s: id %q is not sink/epoch/ordinal", stage, id)
			}
		}
		t.Logf("%s: %d distinct window records (%d in the stream), %d distinct filter records (%d in the stream)",
			stage, len(win), winTotal, len(big), bigTotal)
		return win, big
	}
	win1, big1 := check("first run", 99)
	// Worked out by hand: user 0 in [12:00:00, 12:00:10) has 0, 3, 6, 9.
	found := false
	for _, r := range win1 {
		found = found || r == "0 12:00:00 4 18"
	}
	if !found {
		t.Fatal(`the window sink lacks "0 12:00:00 4 18"`)
	}
	if len(win1) != 18 || len(big1) != 11 {
		t.Fatalf("%d window records and %d filter records, want 18 and 11", len(win1), len(big1))
	}

	// SIGKILL and restart: nothing lost, and the ids still de-duplicate
	// to exactly the same set (a resend carries the same id).
	_ = conn.Close(ctx)
	srv.kill(t)
	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	win2, big2 := check("after restart", 99)
	sameKeys := func(a, b map[string]string) bool {
		if len(a) != len(b) {
			return false
		}
		for k := range a {
			if _, ok := b[k]; !ok {
				return false
			}
		}
		return true
	}
	if !sameKeys(win1, win2) || !sameKeys(big1, big2) {
		t.Fatal("after the restart the sinks' ids differ from those sent before")
	}

	// The pipelines go on after the restart: seconds 110..119 and a record
	// at 200 close [100, 110) and [110, 120).
	more := []timedEvent{}
	for i := 110; i < 120; i++ {
		more = append(more, timedEvent{user: int64(i % 3), amount: float64(i), sec: i})
	}
	more = append(more, timedEvent{user: 9, amount: 2000, sec: 200})
	putEvents(ctx, t, e, "sq-in", more)
	evs = append(evs, more...)
	check("after more input", 199)
}
