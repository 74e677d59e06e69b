package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Issue 15: MySQL's warnings end to end. A one-off SELECT whose expression
// MySQL answers with a warning returns the value and sends the warning as
// a WARNING notice with its SQLSTATE, at most 64 of them and then one that
// says how many more there were; a view counts them with its expression
// errors (SHOW MATERIALIZED VIEWS).

func TestWarnings_OneOffSelect(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, time.Minute)
	conn, seen := connectNotices(t, srv.Addr)

	var n float64
	if err := conn.QueryRow(ctx, "SELECT '12abc' + 0").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 12 {
		t.Errorf("'12abc' + 0 = %v, want 12", n)
	}
	got := seen.take()
	if len(got) != 1 || got[0].Severity != "WARNING" || got[0].Code != "22P02" ||
		got[0].Message != "Truncated incorrect DOUBLE value: '12abc'" {
		t.Errorf("notices %+v, want one WARNING 22P02 Truncated incorrect DOUBLE value: '12abc'", got)
	}

	// A clean conversion warns nothing.
	if err := conn.QueryRow(ctx, "SELECT ' 12' + 0").Scan(&n); err != nil || n != 12 {
		t.Fatalf("' 12' + 0 = %v, %v", n, err)
	}
	if got := seen.take(); len(got) != 0 {
		t.Errorf("' 12' + 0 sent notices %+v", got)
	}

	// 100 rows, each with a warning: 64 notices, then one for the other 36.
	rows, err := conn.Query(ctx, "SELECT CONCAT(generate_series, 'x') + 0 FROM generate_series(1, 100)")
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for rows.Next() {
		var v float64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if sum != 5050 {
		t.Errorf("sum of the values = %v, want 5050", sum)
	}
	got = seen.take()
	if len(got) != 65 {
		t.Fatalf("%d notices, want 64 and one closing", len(got))
	}
	for i, no := range got[:64] {
		want := fmt.Sprintf("Truncated incorrect DOUBLE value: '%dx'", i+1)
		if no.Severity != "WARNING" || no.Code != "22P02" || no.Message != want {
			t.Errorf("notice %d: %s %s %q, want WARNING 22P02 %q", i, no.Severity, no.Code, no.Message, want)
		}
	}
	if last := got[64]; last.Severity != "WARNING" || last.Code != "01000" || !strings.HasPrefix(last.Message, "36 more warnings were dropped") {
		t.Errorf("closing notice: %s %s %q, want WARNING 01000 \"36 more warnings were dropped ...\"", last.Severity, last.Code, last.Message)
	}
}

// A cursor's rows warn when a FETCH reads them: the FETCH gets them.
func TestWarnings_Cursor(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, time.Minute)
	conn, seen := connectNotices(t, srv.Addr)
	mustExec(ctx, t, conn, "BEGIN",
		"DECLARE c CURSOR FOR SELECT CONCAT(generate_series, 'y') + 0 FROM generate_series(1, 3)")
	if got := seen.take(); len(got) != 0 {
		t.Errorf("DECLARE sent notices %+v", got)
	}
	for i := 1; i <= 3; i++ {
		var v float64
		if err := conn.QueryRow(ctx, "FETCH 1 FROM c").Scan(&v); err != nil || v != float64(i) {
			t.Fatalf("FETCH %d: %v, %v", i, v, err)
		}
		got := seen.take()
		want := fmt.Sprintf("Truncated incorrect DOUBLE value: '%dy'", i)
		if len(got) != 1 || got[0].Code != "22P02" || got[0].Message != want {
			t.Errorf("FETCH %d: notices %+v, want one 22P02 %q", i, got, want)
		}
	}
	mustExec(ctx, t, conn, "COMMIT")
}

func TestWarnings_ViewCountsThem(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, 2*time.Minute)
	conn, seen := connectNotices(t, srv.Addr)
	mustExec(ctx, t, conn,
		"CREATE SOURCE w (id BIGINT, s VARCHAR) WITH (connector = 'datagen', rows_per_second = 0, number_of_rows = 50, seed = 1, "+
			"fields.id.kind = 'sequence', fields.id.start = 1, fields.id.end = 50, fields.s.values = '12abc')",
		"CREATE MATERIALIZED VIEW wv AS SELECT id, s + 0 AS n FROM w",
		"CREATE MATERIALIZED VIEW wclean AS SELECT id, id + 0 AS n FROM w",
		// A WHERE over one source is applied as records are read.
		"CREATE MATERIALIZED VIEW wwhere AS SELECT id FROM w WHERE s + 0 = 12")
	// The source ends after 50 rows: FLUSH returns once every row is in.
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	var count, bad int64
	if err := conn.QueryRow(ctx, "SELECT COUNT(*), COUNT(*) - SUM(n = 12) FROM wv").Scan(&count, &bad); err != nil {
		t.Fatal(err)
	}
	if count != 50 || bad != 0 {
		t.Errorf("wv: %d rows, %d not 12; want 50 rows of 12", count, bad)
	}
	views := showViews(ctx, t, conn, "MATERIALIZED VIEWS")
	v := views["wv"]
	if v.state != "running" || v.exprErrors != 50 || !strings.Contains(v.lastExprError, "Truncated incorrect DOUBLE value: '12abc'") {
		t.Errorf("wv: %+v, want running with 50 expression errors (Truncated incorrect DOUBLE value: '12abc')", v)
	}
	if w := views["wwhere"]; w.exprErrors != 50 || !strings.Contains(w.lastExprError, "warning: Truncated incorrect DOUBLE value: '12abc'") {
		t.Errorf("wwhere: %+v, want 50 expression errors (warning: Truncated incorrect DOUBLE value: '12abc')", w)
	}
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM wwhere").Scan(&count); err != nil || count != 50 {
		t.Errorf("wwhere: %d rows (%v), want 50: a warned WHERE still passes", count, err)
	}
	if c := views["wclean"]; c.exprErrors != 0 {
		t.Errorf("wclean: %+v, want no expression errors", c)
	}
	// Reading the view sends no notice: its warnings were counted.
	if got := seen.take(); len(got) != 0 {
		t.Errorf("notices %+v", got)
	}
}
