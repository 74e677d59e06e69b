package streamsql

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
	s.Close()
	start := time.Now()
	if n := eng.stmts.close(10 * time.Second); n != 0 || time.Since(start) > 3*time.Second {
		t.Fatalf("after the session closed, %d statements still ran (waited %v)", n, time.Since(start))
	}
}
