package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// TestEngine_CancelLongStatements: a statement whose context is cancelled
// (or times out) while it runs for a long time without producing rows ends
// promptly with the context's error. Each of these would run for hours.
func TestEngine_CancelLongStatements(t *testing.T) {
	eng := openTest(t, t.TempDir())
	const huge = "generate_series(1, 20000000000)"
	tests := []struct{ name, sql string }{
		{"sum", "SELECT SUM(generate_series) FROM " + huge},
		{"order by", "SELECT generate_series FROM " + huge + " ORDER BY generate_series DESC"},
		{"group by", "SELECT generate_series % 7, COUNT(*) FROM " + huge + " GROUP BY 1"},
		{"filter that passes nothing", "SELECT * FROM " + huge + " WHERE generate_series < 0"},
		{"offset", "SELECT * FROM " + huge + " LIMIT 1 OFFSET 19999999999"},
		{"series step off the check", "SELECT COUNT(*) FROM generate_series(1, 9000000000000000000, 2048)"},
		{"hash join build", "SELECT COUNT(*) FROM generate_series(1, 3) AS a JOIN " + huge + " AS b ON a.a = b.b"},
		{"nested loop", "SELECT COUNT(*) FROM generate_series(1, 200000) AS a JOIN generate_series(1, 200000) AS b ON a.a + b.b < 0"},
	}
	for _, tt := range tests {
		for _, how := range []string{"cancel", "timeout"} {
			t.Run(tt.name+"/"+how, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				want := context.Canceled
				if how == "timeout" {
					ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
					defer cancel()
					want = context.DeadlineExceeded
				} else {
					time.AfterFunc(100*time.Millisecond, cancel)
				}
				start := time.Now()
				err := drainQuery(ctx, eng, tt.sql)
				took := time.Since(start)
				if !errors.Is(err, want) {
					t.Fatalf("%s: got %v after %v, want %v", tt.sql, err, took, want)
				}
				// Generous: a statement that does not look at its context
				// runs for hours.
				if took > 100*time.Millisecond+time.Second {
					t.Fatalf("%s: ended %v after it began, want within a second of the cancel", tt.sql, took)
				}
			})
		}
	}
}

// drainQuery runs one statement and reads all its rows.
func drainQuery(ctx context.Context, eng *Engine, q string) error {
	rows, err := eng.Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// TestEngine_CloseCancelsStatements: Close cancels a statement that is
// running, lets it end, then closes; later statements are refused.
func TestEngine_CloseCancelsStatements(t *testing.T) {
	eng := openTest(t, t.TempDir())
	ended := make(chan error, 1)
	go func() {
		ended <- drainQuery(context.Background(), eng, "SELECT SUM(generate_series) FROM generate_series(1, 20000000000)")
	}()
	running := func() int {
		eng.stmts.mu.Lock()
		defer eng.stmts.mu.Unlock()
		return eng.stmts.n
	}
	deadline := time.Now().Add(30 * time.Second)
	for running() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the statement did not start within 30s")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= closeWaitStatements {
		t.Fatalf("Close took %v: it waited out the statement instead of ending it", took)
	}
	select {
	case err := <-ended:
		if sqlerr.CodeOf(err) != sqlerr.AdminShutdown {
			t.Fatalf("the running statement ended with %v, want 57P01 (the engine is shutting down)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the running statement is still running 10s after Close")
	}
	if err := eng.Exec(context.Background(), "SELECT 1"); sqlerr.CodeOf(err) != sqlerr.AdminShutdown {
		t.Fatalf("a statement after Close: %v, want 57P01", err)
	}
}
