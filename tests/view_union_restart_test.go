package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestView_UnionRestart: a view over two sources (UNION ALL) commits the
// positions of each with its state; after a SIGKILL and a restart it
// equals the batch answer over everything put into both streams.
func TestView_UnionRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 4*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	for stream, shards := range map[string]int{"un-a": 2, "un-b": 1} {
		if err := e.CreateStream(ctx, stream, shards); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	with := fmt.Sprintf("connector = 'kinesis', endpoint = '%s', region = 'us-east-1', start_position = 'trim_horizon'", e.Endpoint())
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE un_a (user_id BIGINT, amount DOUBLE) WITH (%s, stream = 'un-a')", with),
		fmt.Sprintf("CREATE SOURCE un_b (user_id BIGINT, amount DOUBLE) WITH (%s, stream = 'un-b')", with),
		// b's amounts count negative: a record of the wrong stream shows.
		"CREATE MATERIALIZED VIEW un_totals AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total " +
			"FROM (SELECT user_id, amount FROM un_a UNION ALL SELECT user_id, -amount AS amount FROM un_b) AS u GROUP BY user_id",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	a := putClicks(ctx, t, e, "un-a", 0, 400)
	b := putClicks(ctx, t, e, "un-b", 0, 300)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	a = append(a, putClicks(ctx, t, e, "un-a", 400, 400)...)
	b = append(b, putClicks(ctx, t, e, "un-b", 300, 300)...)
	// Kill once part of the new records has been read.
	waitFor(t, time.Minute, func() bool {
		return viewRecordsRead(ctx, t, conn, "un_a", "view un_totals") > 400
	})
	_ = conn.Close(ctx)
	srv.kill(t)

	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	a = append(a, putClicks(ctx, t, e, "un-a", 800, 200)...)
	b = append(b, putClicks(ctx, t, e, "un-b", 600, 100)...)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH after restart: %v", err)
	}

	want := map[int64]totals{}
	for sign, clicks := range map[float64][]click{1: a, -1: b} {
		for _, c := range clicks {
			w := want[c.UserID]
			w.add(sign * c.Amount)
			want[c.UserID] = w
		}
	}
	checkTotals(ctx, t, conn, "un_totals", "SELECT user_id, n, total FROM un_totals", want)
}
