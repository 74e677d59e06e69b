package tests

import (
	"strings"
	"testing"
	"time"
)

// TestPsql_CursorsAndCopy runs what psql sends for FETCH_COUNT (BEGIN,
// DECLARE _psql_cursor NO SCROLL CURSOR, FETCH FORWARD n, CLOSE, COMMIT),
// \copy and COPY of a SELECT in CSV, and a failed transaction block,
// through the real psql.
func TestPsql_CursorsAndCopy(t *testing.T) {
	psql := needPsql(t)
	srv := startServer(t)
	script := strings.Join([]string{
		`\set FETCH_COUNT 2`,
		`SELECT generate_series AS n, 'x,y' AS s FROM generate_series(1, 5);`,
		`SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname IN ('public', 'pg_catalog') ORDER BY 1;`,
		`\unset FETCH_COUNT`,
		`COPY (SELECT relname FROM pg_class WHERE relname = 'pg_type') TO STDOUT;`,
		`\copy (SELECT generate_series AS n, 'x,y' AS s FROM generate_series(1, 3)) TO STDOUT WITH CSV HEADER`,
		`COPY (SELECT generate_series AS n, NULL AS s FROM generate_series(1, 2)) TO STDOUT (FORMAT csv, FORCE_QUOTE *);`,
		`BEGIN;`,
		`SELEC 1;`,
		`SELECT 'not run' AS r;`,
		`ROLLBACK;`,
		`SELECT 'after rollback' AS r;`,
	}, "\n") + "\n"
	ctx := testContext(t, time.Minute)
	out, errOut, err := runPsql(ctx, t, psql, srv.Addr, script, "-v", "ON_ERROR_STOP=0", "-v", "VERBOSITY=verbose")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, errOut)
	}
	t.Logf("psql stdout:\n%s\npsql stderr:\n%s", out, errOut)
	want := " n |  s  \n---+-----\n 1 | x,y\n 2 | x,y\n 3 | x,y\n 4 | x,y\n 5 | x,y\n(5 rows)\n\n" +
		"  nspname   \n------------\n pg_catalog\n public\n(2 rows)\n\n" +
		"pg_type\n" +
		"n,s\n1,\"x,y\"\n2,\"x,y\"\n3,\"x,y\"\n" +
		"\"1\",\n\"2\",\n" +
		"BEGIN\n" +
		"ROLLBACK\n" +
		"       r        \n----------------\n after rollback\n(1 row)\n\n"
	if out != want {
		t.Errorf("psql stdout:\n%s\nwant:\n%s", out, want)
	}
	for _, w := range []string{"ERROR:  42601", "ERROR:  25P02: current transaction is aborted"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("psql stderr lacks %q", w)
		}
	}
	if strings.Count(errOut, "ERROR:") != 2 {
		t.Errorf("want exactly two errors in psql stderr")
	}
}
