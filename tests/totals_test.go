package tests

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// totals are a group's COUNT(*) and SUM(amount), as the tests' views hold
// them; the expected ones are worked out in Go with add.
type totals struct {
	n     int64
	total float64
}

// add counts one amount.
func (a *totals) add(amount float64) {
	a.n++
	a.total += amount
}

// checkTotals compares the (key, n, total) rows that query returns with
// want; what names the view in errors.
func checkTotals(ctx context.Context, t *testing.T, conn *pgx.Conn, what, query string, want map[int64]totals) {
	t.Helper()
	got := readTotals(ctx, t, conn, query)
	if len(got) != len(want) {
		t.Errorf("%s has %d groups, want %d", what, len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s group %d: n=%d total=%g, want n=%d total=%g", what, id, got[id].n, got[id].total, w.n, w.total)
		}
	}
}

// readTotals returns the (key, n, total) rows of query.
func readTotals(ctx context.Context, t *testing.T, conn *pgx.Conn, query string) map[int64]totals {
	t.Helper()
	rows, err := conn.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int64]totals{}
	for rows.Next() {
		var id int64
		var a totals
		if err := rows.Scan(&id, &a.n, &a.total); err != nil {
			t.Fatal(err)
		}
		got[id] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}
