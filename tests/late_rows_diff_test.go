package tests

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestLateRows_Differential: records far out of order (up to 8 s behind,
// the watermark 2 s behind the largest time) on one shard, so that many
// are late. Each windowed view, after FLUSH, equals the one-off SELECT of
// its query over the same records, which reads them in the same order and
// drops the same late rows by the same rule; the count without a window
// has every record. Random seeds, logged.
func TestLateRows_Differential(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	e := sharedKinesis.get(t)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	queries := map[string]string{
		"tumble":  "SELECT window_start, COUNT(*) AS n, SUM(v) AS total FROM TUMBLE(%s, ts, INTERVAL '5' SECOND) GROUP BY window_start",
		"hop":     "SELECT k, window_start, COUNT(*) AS n FROM HOP(%s, ts, INTERVAL '2' SECOND, INTERVAL '6' SECOND) GROUP BY k, window_start",
		"session": "SELECT k, window_start, window_end, COUNT(*) AS n, SUM(v) AS total FROM SESSION(%s, ts, INTERVAL '2' SECOND) GROUP BY k, window_start, window_end",
		"all":     "SELECT COUNT(*) AS n, SUM(v) AS total FROM %s",
	}
	for run := range 2 {
		seed := uint64(time.Now().UnixNano())
		t.Logf("run %d: seed %d", run, seed)
		rnd := rand.New(rand.NewPCG(seed, 16))
		stream := fmt.Sprintf("late-diff-%d", time.Now().UnixNano())
		if err := e.CreateStream(ctx, stream, 1); err != nil {
			t.Fatal(err)
		}
		src := fmt.Sprintf("ld%d", run)
		stmts := []string{fmt.Sprintf("CREATE SOURCE %s (k BIGINT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) "+
			"WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon')", src, e.Endpoint(), stream)}
		for name, q := range queries {
			stmts = append(stmts, fmt.Sprintf("CREATE MATERIALIZED VIEW %s_%s AS "+q, src, name, src))
		}
		for _, q := range stmts {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		const n = 400
		recs := make([]emulator.Record, n)
		var sum int64
		for i := range recs {
			ts := timedBase.Add(time.Duration(i)*250*time.Millisecond - time.Duration(rnd.IntN(8000))*time.Millisecond)
			v := int64(rnd.IntN(100))
			sum += v
			recs[i] = emulator.Record{PartitionKey: "k", Data: []byte(fmt.Sprintf(`{"k": %d, "v": %d, "ts": "%s"}`,
				rnd.IntN(4), v, ts.Format("2006-01-02T15:04:05.000Z")))}
		}
		if _, err := e.PutRecords(ctx, stream, recs); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
			t.Fatal(err)
		}
		for name, q := range queries {
			view := ptLines(ctx, t, conn, fmt.Sprintf("SELECT * FROM %s_%s", src, name))
			oneOff := ptLines(ctx, t, conn, fmt.Sprintf(q, src))
			slices.Sort(view)
			slices.Sort(oneOff)
			if !slices.Equal(view, oneOff) || len(view) == 0 {
				t.Errorf("run %d, %s: the view has %d rows, the one-off SELECT %d:\nview:    %q\none-off: %q", run, name, len(view), len(oneOff), view, oneOff)
			}
		}
		// Records 8 s behind a watermark 2 s behind: many windows drop some.
		var kept int64
		if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT CAST(SUM(n) AS SIGNED) FROM %s_tumble", src)).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if kept >= n || kept < n/4 {
			t.Errorf("run %d: the TUMBLE view kept %d of %d records: the test proves nothing", run, kept, n)
		}
		t.Logf("run %d: TUMBLE kept %d of %d records", run, kept, n)
		if got, want := ptLines(ctx, t, conn, fmt.Sprintf("SELECT n, CAST(total AS SIGNED) FROM %s_all", src)), []string{fmt.Sprintf("%d %d", n, sum)}; !slices.Equal(got, want) {
			t.Errorf("run %d: count without a window %q, want %q", run, got, want)
		}
	}
}
