package tests

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Issue 12, finding 2: a long IN list was quadratic to plan, could not be
// cancelled, held the catalog's lock against other sessions' DDL, and made
// a SIGTERM wait out its shutdown deadline.

// inList returns "(f(0), f(1), ..., f(n-1))".
func inList(n int, f func(i int) string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f(i))
	}
	b.WriteByte(')')
	return b.String()
}

func evens(i int) string { return fmt.Sprint(2 * i) }

// TestPgx_LongInList: 100,000-item IN lists answer correctly, in both
// protocols. The bound is generous: only a quadratic path reaches it.
func TestPgx_LongInList(t *testing.T) {
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	const n = 100000
	list := inList(n, evens) // 0, 2, ..., 199998
	tests := []struct {
		name, sql string
		want      int64
	}{
		// The evens of 1..200000 that are in the list: 2..199998.
		{"filter", "SELECT COUNT(*) FROM generate_series(1, 200000) WHERE generate_series IN " + list, n - 1},
		{"NOT IN", "SELECT COUNT(*) FROM generate_series(1, 200000) WHERE generate_series NOT IN " + list, 200000 - (n - 1)},
		{"constant found", "SELECT CASE WHEN 199998 IN " + list + " THEN 1 ELSE 0 END", 1},
		{"constant not found", "SELECT CASE WHEN 7 IN " + list + " THEN 1 ELSE 0 END", 0},
		{"text", "SELECT COUNT(*) FROM generate_series(1, 1000) WHERE CONCAT('k', generate_series) IN " +
			inList(n, func(i int) string { return fmt.Sprintf("'k%d'", 3*i) }), 333},
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		for _, tt := range tests {
			t.Run(mode.String()+"/"+tt.name, func(t *testing.T) {
				ctx := testContext(t, 20*time.Second)
				var got int64
				if err := conn.QueryRow(ctx, tt.sql, mode).Scan(&got); err != nil {
					t.Fatalf("%d-item IN list: %v", n, err)
				}
				if got != tt.want {
					t.Fatalf("got %d, want %d", got, tt.want)
				}
			})
		}
	}
}

// startTail starts, on conn, a one-off query that follows source until a
// row with a user_id in a 50,000-item list arrives (none does), and waits
// until SHOW SOURCE STATUS on other shows its readers: the query is past
// planning and running. The returned channel gets its error.
func startTail(t *testing.T, ctx context.Context, conn, other *pgx.Conn, source string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		rows, err := conn.Query(ctx, "SELECT user_id FROM "+source+" WHERE user_id IN "+inList(50000, evens)+" LIMIT 1")
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		rows, err := other.Query(ctx, "SHOW SOURCE STATUS "+source)
		if err == nil {
			for rows.Next() {
				if vals, err := rows.Values(); err == nil && vals[0] == "query" {
					n++
				}
			}
			err = rows.Err()
		}
		if err != nil {
			t.Fatalf("SHOW SOURCE STATUS %s: %v", source, err)
		}
		if n > 0 {
			return done
		}
		select {
		case err := <-done:
			t.Fatalf("the tailing query ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the tailing query's readers did not show in SHOW SOURCE STATUS within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPgx_DDLWhileQueryRuns: while a long one-off query runs on one
// connection, DDL on another completes (generous bound: a query holding
// the catalog's lock makes it wait for the query).
func TestPgx_DDLWhileQueryRuns(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, 3*time.Minute)
	a, b := connectCancelling(t, srv.Addr), connect(t, srv.Addr)
	if _, err := b.Exec(ctx, createSourceSQL(t, "ddl_clicks", "ddl-clicks")); err != nil {
		t.Fatal(err)
	}
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := startTail(t, qctx, a, b, "ddl_clicks")
	for _, stmt := range []string{
		createSourceSQL(t, "ddl_more", "ddl-clicks"),
		"CREATE MATERIALIZED VIEW ddl_totals AS SELECT user_id, COUNT(*) AS n FROM ddl_more GROUP BY user_id",
		"DROP MATERIALIZED VIEW ddl_totals",
		"DROP SOURCE ddl_more",
	} {
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		start := time.Now()
		_, err := b.Exec(sctx, stmt)
		scancel()
		if err != nil {
			t.Fatalf("%s while a query runs: %v after %v", stmt, err, time.Since(start))
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the long query ended by itself: %v", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" {
			t.Fatalf("cancelled query: %v, want 57014", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the long query did not end within 30s of its cancel")
	}
}

// TestGracefulShutdown_LongQueries: SIGTERM with long statements running
// (a scan of a billion rows through a 100,000-item IN list, and a query
// tailing a source) ends them and exits 0 without waiting out the
// shutdown deadline.
func TestGracefulShutdown_LongQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	ctx := testContext(t, 5*time.Minute)
	srv := startBinary(t, bin, t.TempDir())
	a, b, c := connect(t, srv.addr), connect(t, srv.addr), connect(t, srv.addr)
	if _, err := c.Exec(ctx, createSourceSQL(t, "sigterm_clicks", "sigterm-clicks")); err != nil {
		t.Fatal(err)
	}
	scan := make(chan error, 1)
	go func() {
		var n int64
		scan <- a.QueryRow(ctx, "SELECT COUNT(*) FROM generate_series(1, 1000000000) WHERE generate_series IN "+
			inList(100000, evens)).Scan(&n)
	}()
	tail := startTail(t, ctx, b, c, "sigterm_clicks")
	srv.terminate(t)
	for name, ch := range map[string]<-chan error{"scan": scan, "tail": tail} {
		select {
		case err := <-ch:
			var pe *pgconn.PgError
			if err == nil {
				t.Errorf("%s: finished instead of being ended by the shutdown", name)
			} else if errors.As(err, &pe) && pe.Code != "57P01" && pe.Code != "57014" {
				t.Errorf("%s: ended with %s, want 57P01 or 57014", name, pe.Code)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s: never returned", name)
		}
	}
	log := srv.stderr.String()
	if strings.Contains(log, "deadline exceeded") || strings.Contains(log, `msg=shutdown`) {
		t.Errorf("the shutdown waited out its deadline:\n%s", log)
	}
}
