package tests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// rowsOf is rowsInOrder, sorted.
func rowsOf(ctx context.Context, t *testing.T, conn *pgx.Conn, q string, args ...any) []string {
	t.Helper()
	out := rowsInOrder(ctx, t, conn, q, args...)
	slices.Sort(out)
	return out
}

// rowsInOrder runs q (args as conn.Query takes them, such as
// pgx.QueryExecModeSimpleProtocol) and returns its rows in the order they
// come, each its values as fmt.Sprint prints them, joined by spaces, NULL
// for a null.
func rowsInOrder(ctx context.Context, t *testing.T, conn *pgx.Conn, q string, args ...any) []string {
	t.Helper()
	return scanRows(ctx, t, conn, q, func(v any) string { return fmt.Sprint(v) }, args...)
}

// scanRows is rowsInOrder with text making each value that is not null.
func scanRows(ctx context.Context, t *testing.T, conn *pgx.Conn, q string, text func(any) string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = "NULL"
			if v != nil {
				parts[i] = text(v)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// diffRows fails the test with the rows that are in one sorted list and
// not the other (the first ten), naming what it compares.
func diffRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	gi, wi, shown := 0, 0, 0
	for (gi < len(got) || wi < len(want)) && shown < 10 {
		switch {
		case wi == len(want) || gi < len(got) && got[gi] < want[wi]:
			t.Errorf("%s: extra row %q", what, got[gi])
			gi++
			shown++
		case gi == len(got) || want[wi] < got[gi]:
			t.Errorf("%s: missing row %q", what, want[wi])
			wi++
			shown++
		default:
			gi++
			wi++
		}
	}
	t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
}
