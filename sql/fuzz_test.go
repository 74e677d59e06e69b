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
			if q, ok := st.(*Select); ok && len(q.Text) != q.Span().End-q.Span().Start {
				t.Fatalf("rewritten text changed length: %q", q.Text)
			}
		}
	})
}
