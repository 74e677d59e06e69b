package engine

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// FuzzPrepare parses, binds and plans arbitrary text in a session whose
// catalog holds a source, a view over it and a sink-free pipeline: what a
// client's Query or Parse message reaches. It must never panic, and every
// error must carry a SQLSTATE other than XX000 (an error nobody coded). Nothing is executed, so nothing is
// created. Seeds: testdata/fuzz/FuzzPrepare (go test runs them); sql's
// FuzzParse covers the parser alone.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{
		"SELECT user_id, SUM(amount) FROM clicks WHERE amount > 1 GROUP BY user_id HAVING COUNT(*) > 2 ORDER BY 2 DESC LIMIT 3",
		"SELECT * FROM spend WHERE total > $1",
		"SELECT c.user_id, s.n FROM clicks c JOIN spend s ON c.user_id = s.user_id",
		"SELECT 1 IN (1, 2, 3), 'a' || 'b', CAST('2024-01-01' AS DATE), NULL IS NULL",
		"SELECT SUM(generate_series) FROM generate_series(1, 10)",
		"SELECT user_id, window_start, COUNT(*) FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start",
		"SELECT user_id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts) FROM clicks",
		"WITH t AS (SELECT user_id FROM clicks) SELECT COUNT(*) FROM t UNION ALL SELECT 1",
		"EXPLAIN CREATE MATERIALIZED VIEW v AS SELECT user_id, COUNT(*) FROM HOP(clicks, ts, INTERVAL 1 SECOND, INTERVAL 2 SECOND) GROUP BY user_id",
		"SUBSCRIBE TO spend WITH (progress)", "COPY (SUBSCRIBE spend) TO STDOUT",
		"SHOW statement_timeout", "SET statement_timeout = '1.5s'", "SHOW ALL", "DESCRIBE spend",
		"SHOW SOURCE STATUS clicks", "SHOW CREATE MATERIALIZED VIEW spend", "FLUSH",
		"SELECT JSON_EXTRACT('{\"a\": 1}', '$.a'), DATE_ADD(NOW(), INTERVAL 1 DAY), IF(1, 2, 3)",
		"SELECT * FROM clicks WHERE url LIKE '%x%' AND user_id BETWEEN ? AND ?",
	} {
		f.Add(s)
	}
	eng, err := Open(context.Background(), Config{DataDir: f.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = eng.Close() })
	ctx := context.Background()
	for _, q := range []string{
		`CREATE SOURCE clicks (user_id BIGINT, url VARCHAR(2048), amount DOUBLE, ts TIMESTAMP(3),
			WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (connector = 'datagen', rows_per_second = 1)`,
		`CREATE MATERIALIZED VIEW spend AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM clicks GROUP BY user_id`,
	} {
		if err := eng.Exec(ctx, q); err != nil {
			f.Fatalf("%s: %v", q, err)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		s := eng.NewSession()
		// A plan that takes long is not what this looks for.
		if err := s.settings.set("statement_timeout", "2s"); err != nil {
			t.Fatal(err)
		}
		_, err := s.Prepare(ctx, text)
		if sqlerr.CodeOf(err) == sqlerr.Internal {
			t.Fatalf("internal error (nobody coded it): %v", err)
		}
	})
}
