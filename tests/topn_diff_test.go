package tests

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestTopN_Differential: random top-N views (ROW_NUMBER, RANK,
// DENSE_RANK; rn <= N, <, =, BETWEEN; with and without PARTITION BY;
// over a source and over an aggregate, whose updates retract rows) over
// random rows of a file source must hold, after FLUSH, exactly the rows
// the same SELECT gives as a one-off query (the batch evaluator) over the
// same rows. v takes few values, so that RANK and DENSE_RANK meet ties;
// ROW_NUMBER orders by a unique column last, so that its answer does not
// depend on the order rows arrive in.
func TestTopN_Differential(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 16))

	path := filepath.Join(t.TempDir(), "rows.jsonl")
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var lines []string
	for i := 0; i < 400; i++ {
		ts := base.Add(time.Duration(i) * 100 * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		lines = append(lines, fmt.Sprintf(`{"k": %d, "v": %d, "id": %d, "ts": "%s"}`+"\n", rng.IntN(5), rng.IntN(8), i, ts))
	}
	writeFile(t, path, lines...)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE SOURCE tn (k BIGINT, v BIGINT, id BIGINT, ts TIMESTAMP(3), "+
		"WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (connector = 'file', path = '%s', format = 'json', mode = 'once')", path)); err != nil {
		t.Fatal(err)
	}

	inputs := []string{
		"tn",
		// Updating: a group's SUM changes as rows come.
		"(SELECT k, id % 7 AS id, SUM(v) % 11 AS v FROM tn GROUP BY k, id % 7) AS a",
	}
	var queries []string
	for i := 0; i < 12; i++ {
		fn := []string{"ROW_NUMBER", "RANK", "DENSE_RANK"}[rng.IntN(3)]
		order := []string{"v DESC", "v"}[rng.IntN(2)]
		if fn == "ROW_NUMBER" {
			order += ", id"
		}
		part := []string{"PARTITION BY k ", ""}[rng.IntN(2)]
		n := 1 + rng.IntN(4)
		bound := []string{
			fmt.Sprintf("rn <= %d", n),
			fmt.Sprintf("rn < %d", n+1),
			fmt.Sprintf("rn = %d", n),
			fmt.Sprintf("rn BETWEEN %d AND %d", n, n+rng.IntN(3)),
		}[rng.IntN(4)]
		queries = append(queries, fmt.Sprintf("SELECT k, v, id, rn FROM (SELECT k, v, id, %s() OVER (%sORDER BY %s) AS rn FROM %s) AS t WHERE %s",
			fn, part, order, inputs[rng.IntN(len(inputs))], bound))
	}
	for i, q := range queries {
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE MATERIALIZED VIEW d%d AS %s", i, q)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	for i, q := range queries {
		got := rowsOf(ctx, t, conn, fmt.Sprintf("SELECT * FROM d%d", i), pgx.QueryExecModeSimpleProtocol)
		want := rowsOf(ctx, t, conn, q, pgx.QueryExecModeSimpleProtocol)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\nview (%d rows):\n%s\none-off SELECT (%d rows):\n%s", q, len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
		}
		t.Logf("%s: %d rows", q, len(want))
	}
}
