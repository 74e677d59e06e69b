package sql

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// FuzzParse checks that Parse never panics, that every error is coded with a
// position inside the text (or none), and that every span is in range.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT 1", "SELEC 1", "CREATE SOURCE s (a INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) " + kin,
		"CREATE MATERIALIZED VIEW v AS SELECT * FROM TUMBLE(s, ts, INTERVAL '1' MINUTE) EMIT ON WINDOW CLOSE",
		"CREATE SINK k AS SELECT a FROM HOP(s, ts, INTERVAL 1 SECOND, INTERVAL 2 SECOND) " + kin,
		"SELECT * FROM generate_series($1, $2) WHERE x = $1", "COPY (SUBSCRIBE TO v WITH (progress)) TO STDOUT",
		"SET TIME ZONE 'UTC'; SHOW ALL; RESET x; BEGIN; COMMIT", "SELECT 'é' /* c */ -- d\n; DROP SOURCE s CASCADE",
		"EXPLAIN CREATE MATERIALIZED VIEW v AS SELECT 1", "SELECT \"a\" || 'b', `c` FROM t WHERE d = ?",
		// Issue 12: what clients and tools send, and what fuzzing found worth keeping.
		"SET statement_timeout = '1.5s'", "SET statement_timeout TO 1500", "SET SESSION statement_timeout = DEFAULT",
		"SET NAMES 'utf8'", "SHOW TRANSACTION ISOLATION LEVEL", "RESET ALL", "START TRANSACTION; END; ABORT",
		"SELECT 1 IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)", "SELECT CAST('1' AS BIGINT), 'it''s', E'x', X'ff'",
		"SELECT * FROM SESSION(s, ts, INTERVAL '10' SECOND)", "SELECT a->>'$.b', JSON_EXTRACT(a, '$.c') FROM s",
		"FLUSH v", "DROP MATERIALIZED VIEW IF EXISTS v RESTRICT", "SHOW SOURCE STATUS s", "DESC s",
		"CREATE SOURCE g (id BIGINT) WITH (connector = 'datagen', fields.id.kind = 'sequence', fields.id.start = 1, fields.id.end = 9)",
		"/* a /* nested */ comment */ SELECT 1 # mysql comment\n", "SELECT '", "SELECT \"", "SELECT $", "SELECT $0, $99999999999",
		"SELECT 1::int", "SELECT INTERVAL '1 hour'", "\x00\xff;;;", "SELECT (((((((((((1)))))))))))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		stmts, err := Parse(text)
		if err != nil {
			var e *sqlerr.Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("uncoded error %v", err)
			}
			if e.Position < 0 || e.Position > utf8.RuneCountInString(text)+1 {
				t.Fatalf("position %d outside text of %d characters: %v", e.Position, utf8.RuneCountInString(text), err)
			}
			return
		}
		for _, st := range stmts {
			sp := st.Span()
			if sp.Start < 0 || sp.End > len(text) || sp.Start > sp.End {
				t.Fatalf("span %v outside text of %d bytes", sp, len(text))
			}
			if q, ok := st.(*Select); ok {
				// Every offset of the rewritten text maps into the query.
				lo, hi := utf8.RuneCountInString(text[:sp.Start])+1, utf8.RuneCountInString(text[:sp.End])+1
				for off := 0; off <= len(q.Text); off++ {
					if pos := q.Position(off); pos < lo || pos > hi {
						t.Fatalf("offset %d of %q maps to position %d, outside [%d, %d]", off, q.Text, pos, lo, hi)
					}
				}
			}
		}
	})
}
