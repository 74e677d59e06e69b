package tests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamsql/streamsql"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestIdleWatermark_OneBusyShardOfFour (issue 12 finding 8): records on one
// shard of four, idle_timeout = '2s', and an EMIT ON WINDOW CLOSE view
// created after the records were put. Every shard is registered and the
// busy one read in the same instant, so all four go idle together; the
// watermark must still come from the busy shard's events, and the first
// window close. Worked out by hand: events at 10 s, 30 s, 50 s and 65 s
// past midnight, delay 1 s, so the watermark reaches 64 s: the window
// [00:00, 00:01) closes with 3 rows and amount 1+2+3 = 6; [00:01, 00:02)
// stays open (nothing after 65 s).
func TestIdleWatermark_OneBusyShardOfFour(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	stream := fmt.Sprintf("idle-wm-%d", time.Now().UnixNano()) // -count=N reuses the emulator
	if err := e.CreateStream(ctx, stream, 4); err != nil {
		t.Fatal(err)
	}
	var recs []emulator.Record
	for i, sec := range []int{10, 30, 50, 65} {
		recs = append(recs, emulator.Record{PartitionKey: "one-key", // one key: one shard
			Data: fmt.Appendf(nil, `{"amount": %d, "ts": "2026-01-01T00:%02d:%02dZ"}`, i+1, sec/60, sec%60)})
	}
	if _, err := e.PutRecords(ctx, stream, recs); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	mustExec(ctx, t, conn, fmt.Sprintf("CREATE SOURCE idle_in (amount BIGINT, ts TIMESTAMP(3), "+
		"WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (connector = 'kinesis', stream = '%s', "+
		"region = 'us-east-1', endpoint = '%s', start_position = 'trim_horizon', idle_timeout = '2s')", stream, e.Endpoint()))
	mustExec(ctx, t, conn, "CREATE MATERIALIZED VIEW idle_windows AS SELECT window_start, COUNT(*) AS n, SUM(amount) AS total "+
		"FROM TUMBLE(idle_in, ts, INTERVAL '1' MINUTE) GROUP BY window_start, window_end EMIT ON WINDOW CLOSE")

	// The watermark moves with the idle timeout, not with FLUSH: poll the
	// view, within a bound far above the 2 s timeout.
	var got string
	waitFor(t, time.Minute, func() bool {
		got = queryLines(ctx, t, conn, "SELECT CAST(window_start AS CHAR), n, total FROM idle_windows ORDER BY window_start")
		return got != ""
	})
	if want := "2026-01-01 00:00:00|3|6"; got != want {
		t.Fatalf("closed windows:\n%s\nwant:\n%s", got, want)
	}
}

// queryLines returns the rows of sql as text, one line per row, values
// joined by |.
func queryLines(ctx context.Context, t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	rows, err := conn.Query(ctx, sql, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out string
	for rows.Next() {
		line := ""
		for i, v := range rows.RawValues() {
			if i > 0 {
				line += "|"
			}
			line += string(v)
		}
		if out != "" {
			out += "\n"
		}
		out += line
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// TestCreate_ChecksStream (issue 12 finding 5): CREATE SOURCE and CREATE
// SINK ask the endpoint whether the stream exists, within a bound, and
// refuse with the stream, the endpoint and the cause; validate = false
// creates before the stream exists.
func TestCreate_ChecksStream(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	stream := fmt.Sprintf("check-%d", time.Now().UnixNano())
	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	const nobody = "http://127.0.0.1:9" // the discard port: nothing listens
	src := func(name, stream, endpoint, extra string) string {
		return fmt.Sprintf("CREATE SOURCE %s (a BIGINT) WITH (connector = 'kinesis', stream = '%s', region = 'us-east-1', endpoint = '%s'%s)",
			name, stream, endpoint, extra)
	}
	for _, tc := range []struct {
		name, sql, code string
		msg             []string // each must be in the message
	}{
		{"unreachable endpoint", src("c_nobody", stream, nobody, ""), "08001", []string{"c_nobody", stream, nobody}},
		{"missing stream", src("c_missing", "no-such-stream", e.Endpoint(), ""), "42704", []string{"c_missing", "no-such-stream", e.Endpoint(), "does not exist"}},
		{"sink, missing stream", "CREATE SINK k_missing FROM c_ok WITH (connector = 'kinesis', stream = 'no-such-out', region = 'us-east-1', endpoint = '" + e.Endpoint() + "')",
			"42704", []string{"k_missing", "no-such-out", e.Endpoint()}},
		{"sink, unreachable", "CREATE SINK k_nobody FROM c_ok WITH (connector = 'kinesis', stream = 'out', region = 'us-east-1', endpoint = '" + nobody + "')",
			"08001", []string{"k_nobody", nobody}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "sink, missing stream" {
				mustExec(ctx, t, conn, src("c_ok", stream, e.Endpoint(), ""))
			}
			start := time.Now()
			_, err := conn.Exec(ctx, tc.sql)
			took := time.Since(start)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				t.Fatalf("%s: want a refusal with SQLSTATE %s, got %v", tc.sql, tc.code, err)
			}
			if pe.Code != tc.code {
				t.Errorf("SQLSTATE %s (%s), want %s", pe.Code, pe.Message, tc.code)
			}
			for _, m := range tc.msg {
				if !strings.Contains(pe.Message, m) {
					t.Errorf("message %q does not name %q", pe.Message, m)
				}
			}
			// The check is bounded at 10 s; a hang would run into minutes.
			if took > 20*time.Second {
				t.Errorf("refused after %v, want within the 10 s check bound", took)
			}
		})
	}
	// validate = false: created, and SHOW CREATE keeps the option.
	create := src("c_later", "not-yet", nobody, ", validate = false")
	mustExec(ctx, t, conn, create)
	if got := queryLines(ctx, t, conn, "SHOW CREATE SOURCE c_later"); !strings.Contains(got, "validate = false") {
		t.Errorf("SHOW CREATE SOURCE c_later: %q, want the validate option", got)
	}
	if got := queryLines(ctx, t, conn, "SHOW SOURCES"); strings.Contains(got, "c_nobody") || strings.Contains(got, "c_missing") {
		t.Errorf("SHOW SOURCES lists a refused source: %q", got)
	}
}

// TestSelect_UnreachableSourceFails (issue 12 finding 5): a one-off SELECT
// over a source whose endpoint does not answer, or whose stream does not
// exist, fails within the bound with the source, stream and endpoint in
// the message, instead of waiting for ever.
func TestSelect_UnreachableSourceFails(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	const nobody = "http://127.0.0.1:9"
	for _, tc := range []struct {
		name, source, stream, endpoint, code string
	}{
		{"unreachable endpoint", "sel_nobody", "sel-nobody", nobody, "08001"},
		{"missing stream", "sel_missing", "sel-missing", e.Endpoint(), "42704"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustExec(ctx, t, conn, fmt.Sprintf("CREATE SOURCE %s (a BIGINT) WITH (connector = 'kinesis', stream = '%s', "+
				"region = 'us-east-1', endpoint = '%s', start_position = 'trim_horizon', validate = false)", tc.source, tc.stream, tc.endpoint))
			start := time.Now()
			var n int64
			err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM "+tc.source).Scan(&n)
			took := time.Since(start)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				t.Fatalf("want an error with SQLSTATE %s, got %v (count %d)", tc.code, err, n)
			}
			if pe.Code != tc.code {
				t.Errorf("SQLSTATE %s (%s), want %s", pe.Code, pe.Message, tc.code)
			}
			for _, m := range []string{tc.source, tc.stream, tc.endpoint} {
				if !strings.Contains(pe.Message, m) {
					t.Errorf("message %q does not name %q", pe.Message, m)
				}
			}
			// Given up after 10 s of failing calls; a hang runs to minutes.
			if took > 45*time.Second {
				t.Errorf("failed after %v, want about 10 s", took)
			}
		})
	}
}

// TestSource_EndpointDownShowsAndHeals (issue 12 finding 5): a running
// view's source whose endpoint goes away shows each shard 'retrying' with
// the error and since when in SHOW SOURCE STATUS; once the endpoint is
// back the readers heal by themselves and the view's answer, after FLUSH,
// counts every record put meanwhile.
func TestSource_EndpointDownShowsAndHeals(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	e := sharedKinesis.get(t)
	stream := fmt.Sprintf("down-%d", time.Now().UnixNano())
	if err := e.CreateStream(ctx, stream, 2); err != nil {
		t.Fatal(err)
	}
	proxy := newThrottleProxy(t, e.Endpoint())
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	mustExec(ctx, t, conn, fmt.Sprintf("CREATE SOURCE down_in (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
		"stream = '%s', region = 'us-east-1', endpoint = '%s', start_position = 'trim_horizon')", stream, proxy.URL()))
	mustExec(ctx, t, conn, "CREATE MATERIALIZED VIEW down_totals AS SELECT COUNT(*) AS n, SUM(amount) AS total FROM down_in")
	all := putClicks(ctx, t, e, stream, 0, 100)
	mustExec(ctx, t, conn, "FLUSH")

	for _, mode := range []struct {
		name string
		m    downMode
	}{{"refused", refuse}, {"black-holed", blackHole}} {
		t.Run(mode.name, func(t *testing.T) {
			proxy.setDown(mode.m)
			// Every shard of the view's consumer says so, with the error
			// and since when. A black-holed call gives up after its 10 s
			// call timeout, so allow a minute.
			waitFor(t, time.Minute, func() bool {
				rows := consumerStatus(ctx, t, conn, "down_in", "view down_totals")
				for _, r := range rows {
					if r["state"] != "retrying" || r["last_error"] == "" || r["error_since"] == "" {
						return false
					}
				}
				return len(rows) == 2
			})
			more := putClicks(ctx, t, e, stream, len(all), 50) // straight to kinesalite
			all = append(all, more...)
			proxy.setDown(up)
			mustExec(ctx, t, conn, "FLUSH")
			var want totals
			for _, c := range all {
				want.add(c.Amount)
			}
			got := queryLines(ctx, t, conn, "SELECT n, total FROM down_totals")
			if w := fmt.Sprintf("%d|%g", want.n, want.total); got != w {
				t.Errorf("after the endpoint came back: %s, want %s", got, w)
			}
			waitFor(t, 30*time.Second, func() bool {
				rows := consumerStatus(ctx, t, conn, "down_in", "view down_totals")
				for _, r := range rows {
					if r["state"] != "reading" || r["last_error"] != "" || r["error_since"] != "" {
						return false
					}
				}
				return len(rows) == 2
			})
		})
	}

	// A stream deleted under a running view: its shards say so too.
	t.Run("stream deleted", func(t *testing.T) {
		c, err := e.Client()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(stream)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, func() bool {
			rows := consumerStatus(ctx, t, conn, "down_in", "view down_totals")
			for _, r := range rows {
				if r["state"] != "retrying" || !strings.Contains(r["last_error"], "ResourceNotFoundException") {
					return false
				}
			}
			return len(rows) == 2
		})
	})
}

// consumerStatus returns the SHOW SOURCE STATUS rows of one consumer, each
// as column name to text ("" for NULL).
func consumerStatus(ctx context.Context, t *testing.T, conn *pgx.Conn, source, consumer string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for key, row := range showSourceStatus(ctx, t, conn, source) {
		if key[0] != consumer {
			continue
		}
		r := map[string]string{}
		for col, v := range row {
			if v != nil {
				r[col] = fmt.Sprint(v)
			}
		}
		out = append(out, r)
	}
	return out
}

// TestView_MissingStreamQuietThenHeals (issue 12 finding 5): a view over a
// source bound with validate = false to a stream that does not exist
// does not log an ERROR line a second: its readers back off, the log says
// it once (then once a minute), and SHOW SOURCE STATUS says 'retrying'.
// Once the stream is created the view reads it by itself.
func TestView_MissingStreamQuietThenHeals(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	stream := fmt.Sprintf("later-%d", time.Now().UnixNano())
	logs := &levelCounter{}
	eng, err := streamsql.Open(ctx, streamsql.Config{DataDir: t.TempDir(), Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	if err := eng.Exec(ctx, fmt.Sprintf("CREATE SOURCE later_in (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
		"stream = '%s', region = 'us-east-1', endpoint = '%s', start_position = 'trim_horizon', validate = false)", stream, e.Endpoint())); err != nil {
		t.Fatal(err)
	}
	if err := eng.Exec(ctx, "CREATE MATERIALIZED VIEW later_totals AS SELECT COUNT(*) AS n, SUM(amount) AS total FROM later_in"); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		rows, err := eng.Query(ctx, "SHOW SOURCE STATUS later_in")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			out = append(out, rows.Row().String())
		}
		return strings.Join(out, "\n")
	}
	waitFor(t, 30*time.Second, func() bool { return strings.Contains(status(), "retrying") })
	// Watch the log for a while: the old code restarted the view and
	// logged an ERROR every second.
	watch := time.Now()
	for time.Since(watch) < 5*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	if errs, warns := logs.counts(); errs > 0 || warns > 1 {
		t.Errorf("over ~5 s of a missing stream: %d ERROR and %d WARN lines, want none and at most one\n%s", errs, warns, logs.text())
	}
	if !strings.Contains(status(), "ResourceNotFound") {
		t.Errorf("SHOW SOURCE STATUS does not give the cause:\n%s", status())
	}

	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	all := putClicks(ctx, t, e, stream, 0, 40)
	var want totals
	for _, c := range all {
		want.add(c.Amount)
	}
	// The readers back off at most 5 s between tries.
	waitFor(t, time.Minute, func() bool {
		rows, err := eng.Query(ctx, "SELECT n, total FROM later_totals")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := ""
		for rows.Next() {
			got = rows.Row().String()
		}
		return got == fmt.Sprintf("%d %g", want.n, want.total) || got == fmt.Sprintf("(%d, %g)", want.n, want.total)
	})
}

// levelCounter is a slog handler that keeps the records it gets and counts
// them by level.
type levelCounter struct {
	mu    sync.Mutex
	lines []string
	errs  int
	warns int
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *levelCounter) WithGroup(string) slog.Handler            { return h }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case r.Level >= slog.LevelError:
		h.errs++
	case r.Level >= slog.LevelWarn:
		h.warns++
	default:
		return nil
	}
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	h.lines = append(h.lines, line)
	return nil
}

func (h *levelCounter) counts() (errs, warns int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.errs, h.warns
}

func (h *levelCounter) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.lines, "\n")
}
