package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// TestSession_Cursors drives cursors and transaction blocks through the
// embedding API: FETCH returns the cursor's columns and next rows with the
// tag FETCH n, a FETCH that times out ends its cursor with 57014, and
// closing the session frees the cursors (no statement left running).
func TestSession_Cursors(t *testing.T) {
	ctx := context.Background()
	eng := openTest(t, t.TempDir())
	s := eng.NewSession()
	run := func(q string) (string, error) {
		t.Helper()
		stmts, err := s.Prepare(ctx, q)
		if err != nil {
			return "", err
		}
		var out []string
		for _, st := range stmts {
			rows, err := s.Execute(ctx, st, nil)
			if err != nil {
				return strings.Join(out, ";"), err
			}
			var vals []string
			for rows.Next() {
				vals = append(vals, rows.Row()[0].String())
			}
			if err := rows.Err(); err != nil {
				return strings.Join(out, ";"), err
			}
			cols := ""
			for _, c := range rows.Columns() {
				cols += c.Name + " "
			}
			out = append(out, cols+strings.Join(vals, ",")+" "+rows.Tag()+" "+string(s.TxStatus()))
		}
		return strings.Join(out, ";"), nil
	}
	for _, tc := range []struct {
		sql  string
		want string
		code sqlerr.Code
	}{
		{"BEGIN", " BEGIN T", ""},
		{"DECLARE c CURSOR FOR SELECT generate_series AS g FROM generate_series(1, 4)", " DECLARE CURSOR T", ""},
		{"FETCH 3 FROM c", "g 1,2,3 FETCH 3 T", ""},
		{"FETCH 3 FROM c; FETCH c", "g 4 FETCH 1 T;g  FETCH 0 T", ""},
		{"FETCH 1 FROM d", "", sqlerr.InvalidCursorName},
		{"FETCH 1 FROM c", "", sqlerr.InFailedSQLTransaction},
		{"COMMIT", " ROLLBACK I", ""},
		{"FETCH c", "", sqlerr.InvalidCursorName},
		{"DECLARE c CURSOR WITH HOLD FOR SELECT generate_series AS g FROM generate_series(1, 1000000000000)", " DECLARE CURSOR I", ""},
		{"SET statement_timeout = '50ms'", " SET I", ""},
		{"FETCH ALL c", "", sqlerr.QueryCanceled},
		{"RESET statement_timeout", " RESET I", ""},
		{"FETCH c", "", sqlerr.InvalidCursorName},
		{"DECLARE d CURSOR WITH HOLD FOR SELECT generate_series AS g FROM generate_series(1, 1000000000000)", " DECLARE CURSOR I", ""},
		{"FETCH 2 d", "g 1,2 FETCH 2 I", ""},
	} {
		got, err := run(tc.sql)
		if sqlerr.CodeOf(err) != tc.code || got != tc.want {
			t.Fatalf("%s: %q, %v; want %q, code %q", tc.sql, got, err, tc.want, tc.code)
		}
	}
	if cs := s.Cursors(); len(cs) != 1 || cs[0].Name != "d" || !cs[0].Holdable || !strings.HasPrefix(cs[0].Statement, "DECLARE d CURSOR WITH HOLD FOR") {
		t.Fatalf("Cursors() = %+v", cs)
	}
	s.Close()
	start := time.Now()
	if n := eng.stmts.close(10 * time.Second); n != 0 || time.Since(start) > 3*time.Second {
		t.Fatalf("after the session closed, %d statements still ran (waited %v)", n, time.Since(start))
	}
}

// TestRows_SuspendStopsStatementTimeout: statement_timeout counts the
// time a query works for the client, not the time a client that reads it
// in steps (a portal with a row limit) spends between steps, as in
// Postgres, where the timer runs from an Execute to the Sync.
func TestRows_SuspendStopsStatementTimeout(t *testing.T) {
	ctx := context.Background()
	eng := openTest(t, t.TempDir())
	s := eng.NewSession()
	defer s.Close()
	exec := func(q string) *Rows {
		t.Helper()
		sts, err := s.Prepare(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.Execute(ctx, sts[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	exec("SET statement_timeout = '100ms'").Close()
	const timeout = 100 * time.Millisecond
	for _, suspend := range []bool{true, false} {
		rows := exec("SELECT generate_series FROM generate_series(1, 1000)")
		if !rows.Next() {
			t.Fatalf("no first row: %v", rows.Err())
		}
		if suspend {
			rows.Suspend()
		}
		// The client thinks for three timeouts between two steps.
		time.Sleep(3 * timeout)
		if suspend {
			rows.Resume()
		}
		n := 1
		for rows.Next() {
			n++
		}
		err := rows.Err()
		rows.Close()
		switch {
		case suspend && (err != nil || n != 1000):
			t.Errorf("suspended between steps: %d rows, %v; want 1000 rows", n, err)
		case !suspend && sqlerr.CodeOf(err) != sqlerr.QueryCanceled:
			t.Errorf("not suspended: %d rows, %v; want 57014", n, err)
		}
	}
}
