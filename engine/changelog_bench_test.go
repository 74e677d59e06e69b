package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkViewChain4 measures a chain of 4 views over a followed file:
// the time from a file of rows appearing to FLUSH returning, as events/s.
// c1 aggregates the source per key, c2 filters c1, c3 aggregates c2 again,
// c4 filters c3. Reading the upstream's changelog, each level does its own
// work once; with the upstream's plan inlined (before issue 16), c4 ran
// all four levels itself, c3 three, and so on, each reading the file.
//
//	go test -run '^$' -bench BenchmarkViewChain4 -benchtime 3x .
func BenchmarkViewChain4(b *testing.B) {
	const rows = 100_000
	var lines strings.Builder
	for i := range rows {
		fmt.Fprintf(&lines, "{\"k\": %d, \"v\": %d}\n", i%1000, i)
	}
	ctx := context.Background()
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		dir := b.TempDir()
		in := filepath.Join(dir, "in")
		if err := os.Mkdir(in, 0o755); err != nil {
			b.Fatal(err)
		}
		eng, err := Open(ctx, Config{DataDir: filepath.Join(dir, "data"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range []string{
			fmt.Sprintf("CREATE SOURCE f (k BIGINT, v BIGINT) WITH (connector = 'file', format = 'json', mode = 'follow', path = '%s', poll_interval = '10ms')",
				filepath.Join(in, "*.jsonl")),
			"CREATE MATERIALIZED VIEW c1 AS SELECT k, COUNT(*) AS c, SUM(v) AS s FROM f GROUP BY k",
			"CREATE MATERIALIZED VIEW c2 AS SELECT k, c, s FROM c1 WHERE c > 0",
			"CREATE MATERIALIZED VIEW c3 AS SELECT k % 100 AS g, SUM(s) AS s FROM c2 GROUP BY k % 100",
			"CREATE MATERIALIZED VIEW c4 AS SELECT g, s FROM c3 WHERE s > 0",
		} {
			if err := eng.Exec(ctx, s); err != nil && !strings.Contains(err.Error(), "matches nothing") {
				b.Fatalf("%s: %v", s, err)
			}
		}
		if err := eng.Exec(ctx, "FLUSH"); err != nil {
			b.Fatal(err)
		}
		tmp := filepath.Join(dir, "rows.tmp")
		if err := os.WriteFile(tmp, []byte(lines.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := os.Rename(tmp, filepath.Join(in, "rows.jsonl")); err != nil {
			b.Fatal(err)
		}
		if err := eng.Exec(ctx, "FLUSH"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rows, err := eng.Query(ctx, "SELECT COUNT(*), SUM(s) FROM c4")
		if err != nil {
			b.Fatal(err)
		}
		rows.Next()
		// 100 groups; the sum of 0..99999.
		if got := rows.Row().String(); got != "100 4999950000" {
			b.Fatalf("c4 holds %s, want 100 groups summing to 4999950000", got)
		}
		rows.Close()
		eng.Close()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "events/s")
}
