package wire

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"

	streamsql "github.com/streamsql/streamsql"
)

// BenchmarkEngine measures the whole path a client sees: pgx over loopback,
// this server, the real engine's parser, planner and row iterators.
func BenchmarkEngine(b *testing.B) {
	ctx := context.Background()
	eng, err := streamsql.Open(ctx, streamsql.Config{DataDir: b.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = eng.Close() })
	_, addr := testServer(b, EngineBackend(eng), Options{})
	conn := connect(b, addr, "")

	b.Run("simple-query", func(b *testing.B) {
		for b.Loop() {
			if _, err := conn.PgConn().Exec(ctx, "SELECT 1").ReadAll(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	})
	const series = "SELECT generate_series, generate_series * 2 AS twice FROM generate_series(1, 1000000)"
	for _, tc := range []struct {
		name string
		mode pgx.QueryExecMode
	}{
		{"1M-rows-text", pgx.QueryExecModeSimpleProtocol},
		{"1M-rows-binary", pgx.QueryExecModeCacheStatement},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var total int64
			for b.Loop() {
				rows, err := conn.Query(ctx, series, tc.mode)
				if err != nil {
					b.Fatal(err)
				}
				var n, a, twice int64
				for rows.Next() {
					if err := rows.Scan(&a, &twice); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				if n != 1_000_000 || twice != 2_000_000 {
					b.Fatalf("got %d rows, last twice=%d", n, twice)
				}
				total += n
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
