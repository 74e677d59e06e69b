package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// lateRecords are late_rows.slt's records: one shard, watermark = largest
// ts - 2 s. Records 3 and 6 fall in [0,10), closed by record 2; record 5 is
// behind the watermark but its window [10,20) is open.
var lateRecords = []string{
	`{"k": 1, "v": 1, "ts": "2026-01-01T00:00:01Z"}`,
	`{"k": 1, "v": 2, "ts": "2026-01-01T00:00:12Z"}`,
	`{"k": 2, "v": 100, "ts": "2026-01-01T00:00:05Z"}`,
	`{"k": 1, "v": 4, "ts": "2026-01-01T00:00:14Z"}`,
	`{"k": 2, "v": 200, "ts": "2026-01-01T00:00:10.500Z"}`,
	`{"k": 2, "v": 300, "ts": "2026-01-01T00:00:08Z"}`,
	`{"k": 1, "v": 8, "ts": "2026-01-01T00:00:25Z"}`,
}

func lateViews(src string) []string {
	return []string{
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s_count AS SELECT COUNT(*) AS n, SUM(v) AS total FROM %s", src, src),
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s_win AS SELECT window_start, COUNT(*) AS n, SUM(v) AS total "+
			"FROM TUMBLE(%s, ts, INTERVAL '10' SECOND) GROUP BY window_start", src, src),
	}
}

// checkLateViews checks the views against late_rows.slt's hand-worked
// answers: the count keeps every record, the windows drop 3 and 6.
func checkLateViews(ctx context.Context, t *testing.T, conn *pgx.Conn, src string) {
	t.Helper()
	var n, total int64
	if err := conn.QueryRow(ctx, "SELECT n, total FROM "+src+"_count").Scan(&n, &total); err != nil {
		t.Fatal(err)
	}
	if n != 7 || total != 615 {
		t.Errorf("%s_count = %d, %d; want 7, 615", src, n, total)
	}
	rows, err := conn.Query(ctx, "SELECT window_start::text || ' ' || n || ' ' || total FROM "+src+"_win ORDER BY window_start")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-01-01 00:00:00 1 1", "2026-01-01 00:00:10 3 206", "2026-01-01 00:00:20 1 8"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s_win = %q, want %q", src, got, want)
	}
}

func putLate(ctx context.Context, t *testing.T, e *emulator.Emulator, stream string, recs []string) {
	t.Helper()
	out := make([]emulator.Record, len(recs))
	for i, r := range recs {
		out[i] = emulator.Record{PartitionKey: "k", Data: []byte(r)}
	}
	if _, err := e.PutRecords(ctx, stream, out); err != nil {
		t.Fatal(err)
	}
}

// TestLateRows_Counted: the rows a window drops as late are counted on its
// operator's line of EXPLAIN ANALYZE (late=), and the records behind the
// watermark on arrival per consumer in SHOW SOURCE STATUS, though only the
// window dropped them.
func TestLateRows_Counted(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	stream := fmt.Sprintf("late-%d", time.Now().UnixNano())
	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	for _, q := range append([]string{fmt.Sprintf("CREATE SOURCE lt (k BIGINT, v BIGINT, ts TIMESTAMP(3), "+
		"WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', "+
		"stream = '%s', start_position = 'trim_horizon')", e.Endpoint(), stream),
		"CREATE MATERIALIZED VIEW lt_pairs AS SELECT a.k, a.v AS av, b.v AS bv FROM lt AS a JOIN lt AS b ON a.k = b.k"}, lateViews("lt")...) {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	putLate(ctx, t, e, stream, lateRecords)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	checkLateViews(ctx, t, conn, "lt")
	lines := explainAnalyze(ctx, t, conn, "lt_win")
	if got := counters(lineStarting(t, lines, "WindowAgg"))["late"]; got != 2 {
		t.Errorf("WindowAgg late=%d, want 2 (records 3 and 6):\n%v", got, lines)
	}
	for _, v := range []string{"lt_count", "lt_pairs"} {
		for _, l := range explainAnalyze(ctx, t, conn, v) {
			if _, ok := counters(l)["late"]; ok {
				t.Errorf("an operator of %s counts late rows: %s", v, l)
			}
		}
	}
	// The join keeps the late records: k=1 has 4 records, k=2 3, so 4*4 +
	// 3*3 pairs.
	var pairs int64
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM lt_pairs").Scan(&pairs); err != nil {
		t.Fatal(err)
	}
	if pairs != 25 {
		t.Errorf("lt_pairs has %d rows, want 25", pairs)
	}
	rows, err := conn.Query(ctx, "SHOW SOURCE STATUS lt")
	if err != nil {
		t.Fatal(err)
	}
	late := map[string]int64{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		late[vals[0].(string)] += vals[9].(int64)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if late["view lt_count"] != 3 || late["view lt_win"] != 3 || late["view lt_pairs"] != 3 {
		t.Errorf("late_records by consumer = %v, want 3 each (records 3, 5 and 6)", late)
	}
}

// TestLateRows_Restart: the server is SIGKILLed while the late records are
// read (the first two committed, the rest anywhere), started again, and
// after FLUSH the views hold the same answers as without a crash: the
// committed watermark keeps records 3 and 6 late for the window after the
// restart, and the count still has them.
func TestLateRows_Restart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 5*time.Minute)
	e := sharedKinesis.get(t)
	stream := fmt.Sprintf("late-restart-%d", time.Now().UnixNano())
	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	for _, q := range append([]string{fmt.Sprintf("CREATE SOURCE lr (k BIGINT, v BIGINT, ts TIMESTAMP(3), "+
		"WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', "+
		"stream = '%s', start_position = 'trim_horizon')", e.Endpoint(), stream)}, lateViews("lr")...) {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	putLate(ctx, t, e, stream, lateRecords[:2])
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	putLate(ctx, t, e, stream, lateRecords[2:])
	_ = conn.Close(ctx)
	srv.kill(t)

	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH after restart: %v", err)
	}
	checkLateViews(ctx, t, conn, "lr")
}
