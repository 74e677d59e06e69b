package tests

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestTables_Pgx: DML over pgx, with and without parameters, answers
// with Postgres's command tags and SQLSTATEs.
func TestTables_Pgx(t *testing.T) {
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	ctx := testContext(t, 2*time.Minute)
	steps := []struct {
		sql  string
		args []any
		tag  string
		code string // SQLSTATE of the expected error, "" for none
	}{
		{sql: "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner TEXT NOT NULL, balance BIGINT)", tag: "CREATE TABLE"},
		{sql: "INSERT INTO accounts VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cy', 30)", tag: "INSERT 0 3"},
		{sql: "INSERT INTO accounts VALUES ($1, $2, $3)", args: []any{4, "dee", 40}, tag: "INSERT 0 1"},
		{sql: "INSERT INTO accounts VALUES ($1, $2, $3)", args: []any{4, "dee again", 1}, code: "23505"},
		{sql: "INSERT INTO accounts (id, balance) VALUES (5, 1)", code: "23502"},
		{sql: "UPDATE accounts SET balance = balance + $1 WHERE id >= $2", args: []any{5, 2}, tag: "UPDATE 3"},
		{sql: "UPDATE accounts SET balance = 0 WHERE id = 99", tag: "UPDATE 0"},
		{sql: "DELETE FROM accounts WHERE owner = 'bob'", tag: "DELETE 1"},
		{sql: "INSERT INTO accounts VALUES (1, 'ann', 1), (6, 'eve', 6) ON DUPLICATE KEY UPDATE balance = balance + VALUES(balance)", tag: "INSERT 0 2"},
		{sql: "UPDATE accounts SET nope = 1", code: "42703"},
	}
	for _, st := range steps {
		tag, err := conn.Exec(ctx, st.sql, st.args...)
		if st.code != "" {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != st.code {
				t.Errorf("%s: got %v, want SQLSTATE %s", st.sql, err, st.code)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.sql, err)
		}
		if tag.String() != st.tag {
			t.Errorf("%s: tag %q, want %q", st.sql, tag.String(), st.tag)
		}
	}
	// 1: 10 + 1; 2 deleted; 3: 30 + 5; 4: 40 + 5; 6 new.
	got := rowsInOrder(ctx, t, conn, "SELECT id, owner, balance FROM accounts ORDER BY id")
	want := []string{"1 ann 11", "3 cy 35", "4 dee 45", "6 eve 6"}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// TestTables_SIGKILL: a table's rows, and a view over it, survive a
// SIGKILL after the statements returned; the restarted engine goes on
// from there (a view created before the crash sees later statements).
func TestTables_SIGKILL(t *testing.T) {
	ct := newCrashBinary(t, 5*time.Minute)
	ctx := ct.ctx
	ct.exec(t,
		"CREATE TABLE stock (sku BIGINT PRIMARY KEY, qty BIGINT)",
		"CREATE MATERIALIZED VIEW stock_total AS SELECT SUM(qty) AS total, COUNT(*) AS n FROM stock",
		"INSERT INTO stock SELECT generate_series, generate_series * 10 FROM GENERATE_SERIES(1, 100)",
		"UPDATE stock SET qty = 0 WHERE sku > 50",
		"DELETE FROM stock WHERE sku <= 10",
	)
	// Rows 11..50 hold 10 * sku: 10 * (11 + ... + 50) = 10 * 1220 = 12200;
	// 51..100 hold 0. 90 rows.
	want := []string{"12200 90"}
	ct.restart(t)
	conn := connect(t, ct.srv.addr)
	if got := rowsInOrder(ctx, t, conn, "SELECT SUM(qty)::bigint, COUNT(*) FROM stock"); !slices.Equal(got, want) {
		t.Errorf("table after SIGKILL: %v, want %v", got, want)
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	if got := rowsInOrder(ctx, t, conn, "SELECT total::bigint, n FROM stock_total"); !slices.Equal(got, want) {
		t.Errorf("view after SIGKILL: %v, want %v", got, want)
	}
	// The restarted table takes statements, and the view follows them.
	if _, err := conn.Exec(ctx, "UPDATE stock SET qty = qty + 1 WHERE sku = 11"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	if got := rowsInOrder(ctx, t, conn, "SELECT total::bigint, n FROM stock_total"); !slices.Equal(got, []string{"12201 90"}) {
		t.Errorf("view after an UPDATE after the restart: %v, want [12201 90]", got)
	}
}

// TestTables_Psql: psql's \d lists a table and \d table describes it,
// from the Postgres catalog.
func TestTables_Psql(t *testing.T) {
	psql := needPsql(t)
	srv := startServer(t)
	script := strings.Join([]string{
		`CREATE TABLE psql_items (id BIGINT PRIMARY KEY, name TEXT NOT NULL);`,
		`INSERT INTO psql_items VALUES (1, 'one');`,
		`\d`,
		`\d psql_items`,
	}, "\n") + "\n"
	out, errOut, err := runPsql(testContext(t, 2*time.Minute), t, psql, srv.Addr, script, "-v", "ON_ERROR_STOP=1")
	if err != nil {
		t.Fatalf("psql: %v\n%s\n%s", err, out, errOut)
	}
	t.Logf("psql:\n%s", out)
	for _, want := range []string{"INSERT 0 1", "psql_items | table", "name   | text   |           | not null", "psql_items_pkey"} {
		if !strings.Contains(out, want) {
			t.Errorf("psql output lacks %q", want)
		}
	}
}

// TestTables_SIGKILLMidStatements: the binary is SIGKILLed while a
// client runs upserts one after another. After the restart the table
// holds every statement that returned, and at most the one in flight
// (all of it or none of it); a view over the table, after FLUSH, agrees
// with a one-off SELECT.
func TestTables_SIGKILLMidStatements(t *testing.T) {
	ct := newCrashBinary(t, 5*time.Minute)
	ctx := ct.ctx
	ct.exec(t,
		"CREATE TABLE tally (k BIGINT PRIMARY KEY, n BIGINT)",
		"CREATE MATERIALIZED VIEW tally_sum AS SELECT COUNT(*) AS nkeys, SUM(n) AS total FROM tally",
	)
	conn := connect(t, ct.srv.addr)
	// Statement i adds i to key i % 37.
	stmt := func(i int) string {
		return fmt.Sprintf("INSERT INTO tally VALUES (%d, %d) ON DUPLICATE KEY UPDATE n = n + VALUES(n)", i%37, i)
	}
	model := func(through int) []string {
		m := map[int]int{}
		for i := 1; i <= through; i++ {
			m[i%37] += i
		}
		var out []string
		for k, n := range m {
			out = append(out, fmt.Sprintf("%d %d", k, n))
		}
		slices.Sort(out)
		return out
	}
	var acked atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; ; i++ {
			if _, err := conn.Exec(ctx, stmt(i)); err != nil {
				return // the server is gone
			}
			acked.Store(int64(i))
		}
	}()
	killAt := int64(40 + rand.Intn(60))
	waitFor(t, time.Minute, func() bool { return acked.Load() >= killAt })
	ct.restart(t)
	<-done
	last := int(acked.Load())
	conn = connect(t, ct.srv.addr)
	got := rowsInOrder(ctx, t, conn, "SELECT k, n FROM tally")
	slices.Sort(got)
	if !slices.Equal(got, model(last)) && !slices.Equal(got, model(last+1)) {
		t.Fatalf("after SIGKILL with %d statements acknowledged the table holds %v, want %v (or with statement %d)", last, got, model(last), last+1)
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	view := rowsInOrder(ctx, t, conn, "SELECT nkeys, total::bigint FROM tally_sum")
	batch := rowsInOrder(ctx, t, conn, "SELECT COUNT(*), SUM(n)::bigint FROM tally")
	if !slices.Equal(view, batch) {
		t.Errorf("view %v, one-off SELECT %v", view, batch)
	}
}
