package tests

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamsql/streamsql/internal/emulator"
)

// explainAnalyze returns EXPLAIN ANALYZE's lines for view.
func explainAnalyze(ctx context.Context, t *testing.T, conn *pgx.Conn, view string) []string {
	t.Helper()
	rows, err := conn.Query(ctx, "EXPLAIN ANALYZE "+view)
	if err != nil {
		t.Fatalf("EXPLAIN ANALYZE %s: %v", view, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("EXPLAIN ANALYZE %s: %v", view, err)
	}
	return lines
}

var counterRE = regexp.MustCompile(`\b([a-z_]+)=(\d+)\b`)

// counters are the integer figures of one line of EXPLAIN ANALYZE.
func counters(line string) map[string]int64 {
	out := map[string]int64{}
	for _, m := range counterRE.FindAllStringSubmatch(line, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		out[m[1]] = n
	}
	return out
}

// lineStarting returns the one line whose text (indentation aside) starts
// with prefix.
func lineStarting(t *testing.T, lines []string, prefix string) string {
	t.Helper()
	var found []string
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines start with %q, want 1:\n%s", len(found), prefix, strings.Join(lines, "\n"))
	}
	return found[0]
}

// EXPLAIN ANALYZE of views over a kinesalite stream counts the rows each
// operator saw: figures worked out from the records put, not read back.
func TestExplainAnalyze(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	e := sharedKinesis.get(t)
	const shards = 2
	stream := fmt.Sprintf("explain-in-%d", time.Now().UnixNano()) // -count=N reuses the emulator
	if err := e.CreateStream(ctx, stream, shards); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE ex_in (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
			"endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon')", e.Endpoint(), stream),
		"CREATE MATERIALIZED VIEW ex_big AS SELECT user_id, amount FROM ex_in WHERE amount > 50",
		"CREATE MATERIALIZED VIEW ex_per_user AS SELECT user_id, COUNT(*) AS n FROM ex_in GROUP BY user_id",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Records go in once both views read from the shared readers, so
	// that a shard's records are those of one subscription. Until its
	// pipeline runs, a view has no profile (55000).
	for _, v := range []string{"ex_big", "ex_per_user"} {
		waitFor(t, time.Minute, func() bool {
			var lines []string
			rows, err := conn.Query(ctx, "EXPLAIN ANALYZE "+v)
			if err == nil {
				lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
			}
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "55000" {
				return false
			} else if err != nil {
				t.Fatalf("EXPLAIN ANALYZE %s: %v", v, err)
			}
			shared := 0
			for _, l := range lines {
				if strings.HasPrefix(l, "Shard ") && strings.Contains(l, " reader=shared ") {
					shared++
				}
			}
			return shared == shards
		})
	}
	const n, users = 300, 7
	recs := make([]emulator.Record, n)
	pass := 0
	for i := range recs {
		amount := i % 100
		if amount > 50 {
			pass++
		}
		recs[i] = emulator.Record{PartitionKey: fmt.Sprint("k", i), Data: []byte(fmt.Sprintf(`{"user_id":%d,"amount":%d}`, i%users, amount))}
	}
	if _, err := e.PutRecords(ctx, stream, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}

	big := explainAnalyze(ctx, t, conn, "ex_big")
	t.Logf("EXPLAIN ANALYZE ex_big:\n%s", strings.Join(big, "\n"))
	// The WHERE is pushed into the source: the rows that pass are all that
	// leave it, and all that the view's table receives.
	src := counters(lineStarting(t, big, "Source ex_in"))
	if src["rows_out"] != int64(pass) {
		t.Errorf("ex_big: source rows_out = %d, want %d", src["rows_out"], pass)
	}
	mat := counters(lineStarting(t, big, "Materialize"))
	if mat["rows_in"] != int64(pass) {
		t.Errorf("ex_big: Materialize rows_in = %d, want %d", mat["rows_in"], pass)
	}
	// One line per shard, and together they delivered every record.
	var shardLines []string
	var delivered int64
	for _, l := range big {
		if strings.HasPrefix(l, "Shard ex_in/") {
			shardLines = append(shardLines, l)
			c := counters(l)
			delivered += c["records"]
			if _, ok := c["millis_behind_latest"]; !ok {
				t.Errorf("shard line without its lag: %s", l)
			}
		}
	}
	if len(shardLines) != shards || delivered != n {
		t.Errorf("ex_big: %d shard lines delivering %d records, want %d delivering %d", len(shardLines), delivered, shards, n)
	}

	per := explainAnalyze(ctx, t, conn, "ex_per_user")
	t.Logf("EXPLAIN ANALYZE ex_per_user:\n%s", strings.Join(per, "\n"))
	agg := counters(lineStarting(t, per, "HashAgg"))
	if agg["rows_in"] != n {
		t.Errorf("ex_per_user: HashAgg rows_in = %d, want %d", agg["rows_in"], n)
	}
	if agg["cache_keys"] != users {
		t.Errorf("ex_per_user: HashAgg cache_keys = %d, want %d (one per user)", agg["cache_keys"], users)
	}
	// Nothing is evicted: each user's first row misses, the others hit.
	if want := fmt.Sprintf(" cache_hit_ratio=%.3f", float64(n-users)/n); !strings.Contains(lineStarting(t, per, "HashAgg"), want) {
		t.Errorf("ex_per_user: HashAgg line without%s", want)
	}
	if c := counters(lineStarting(t, per, "Source ex_in")); c["rows_out"] != n {
		t.Errorf("ex_per_user: source rows_out = %d, want %d", c["rows_out"], n)
	}

	// The same through the embedding API, as data: plan order, links
	// both ways, the source last.
	prof, err := srv.Engine.ViewProfile("ex_per_user")
	if err != nil {
		t.Fatal(err)
	}
	if len(prof.Operators) != len(per)-shards || len(prof.Shards) != shards {
		t.Fatalf("ViewProfile: %d operators and %d shards, EXPLAIN ANALYZE printed %d lines", len(prof.Operators), len(prof.Shards), len(per))
	}
	for i, op := range prof.Operators {
		if wantParent := i - 1; op.Parent != wantParent || op.Depth != i {
			t.Errorf("operator %d (%s): parent %d depth %d, want %d and %d (a chain)", i, op.Line, op.Parent, op.Depth, wantParent, i)
		}
		if i+1 < len(prof.Operators) && (len(op.Children) != 1 || op.Children[0] != i+1) {
			t.Errorf("operator %d (%s): children %v, want [%d]", i, op.Line, op.Children, i+1)
		}
		if wantKind := map[bool]string{true: "source", false: "operator"}[i == len(prof.Operators)-1]; op.Kind != wantKind {
			t.Errorf("operator %d (%s): kind %q, want %q", i, op.Line, op.Kind, wantKind)
		}
	}
	for _, op := range prof.Operators {
		if strings.HasPrefix(op.Line, "HashAgg") && (op.CacheHits != n-users || op.CacheMisses != users) {
			t.Errorf("ViewProfile: HashAgg cache hits/misses %d/%d, want %d/%d", op.CacheHits, op.CacheMisses, n-users, users)
		}
	}
	if last := prof.Operators[len(prof.Operators)-1]; last.RowsOut != n {
		t.Errorf("ViewProfile: source rows out %d, want %d", last.RowsOut, n)
	}

	for _, c := range []struct{ q, code string }{
		{"EXPLAIN ANALYZE no_such_view", "42P01"},
		{"EXPLAIN ANALYZE ex_in", "42809"},
		{"EXPLAIN ANALYZE SELECT * FROM ex_big", "0A000"},
	} {
		_, err := conn.Exec(ctx, c.q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != c.code {
			t.Errorf("%s: %v, want SQLSTATE %s", c.q, err, c.code)
		}
	}
	// A plain EXPLAIN is what it was: the plan, no figures.
	rows, err := conn.Query(ctx, "EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT user_id, amount FROM ex_in WHERE amount > 50")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range plain {
		if strings.Contains(l, "rows_out=") || i >= len(big) || !strings.HasPrefix(big[i], l+" (") {
			t.Errorf("EXPLAIN line %d %q is not the start of EXPLAIN ANALYZE's %q", i, l, big[min(i, len(big)-1)])
		}
	}
}

// Every operator of a view shows the watermark it last saw: over one
// shard, the latest event time put less the declared delay.
func TestExplainAnalyze_Watermark(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	e := sharedKinesis.get(t)
	stream := fmt.Sprintf("explain-wm-%d", time.Now().UnixNano()) // -count=N reuses the emulator
	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE wm_in (user_id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) "+
			"WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon')", e.Endpoint(), stream),
		"CREATE MATERIALIZED VIEW wm_counts AS SELECT user_id, window_start, COUNT(*) AS n " +
			"FROM TUMBLE(wm_in, ts, INTERVAL '10' SECOND) GROUP BY user_id, window_start EMIT ON WINDOW CLOSE",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	base := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	const n = 50
	var latest time.Time
	objs := make([]string, n)
	for i := range objs {
		at := base.Add(time.Duration(i*700) * time.Millisecond)
		latest = at
		objs[i] = fmt.Sprintf(`{"user_id":%d,"ts":"%s"}`, i%3, at.Format("2006-01-02T15:04:05.000Z"))
	}
	putJSON(ctx, t, e, stream, objs...)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	want := "watermark=" + latest.Add(-2*time.Second).Format("2006-01-02 15:04:05.999999") + ")"
	lines := explainAnalyze(ctx, t, conn, "wm_counts")
	t.Logf("EXPLAIN ANALYZE wm_counts:\n%s", strings.Join(lines, "\n"))
	for _, l := range lines {
		if strings.HasPrefix(l, "Shard ") {
			continue
		}
		if !strings.Contains(l, want) {
			t.Errorf("line %q does not show %s", l, want)
		}
		if strings.HasPrefix(strings.TrimSpace(l), "Source") {
			if c := counters(l); c["rows_out"] != n {
				t.Errorf("source rows_out = %d, want %d", c["rows_out"], n)
			}
			// All put within the last minute: the rate is positive.
			if strings.Contains(l, "rows_out/s=0.0 ") {
				t.Errorf("source rate 0 after %d rows: %s", n, l)
			}
		}
	}
}
