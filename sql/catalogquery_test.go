package sql

import "testing"

func TestParse_CatalogQuery(t *testing.T) {
	tests := []struct {
		in      string
		catalog bool
	}{
		// psql \d (15): schema-qualified names and OPERATOR(pg_catalog.~).
		{"SELECT n.nspname as \"Schema\" FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
			"WHERE n.nspname !~ '^pg_toast' AND c.relname OPERATOR(pg_catalog.~) '^(x)$' COLLATE pg_catalog.default", true},
		{"SELECT nspname FROM pg_namespace", true},
		{"select * from \"pg_class\"", true},
		{"SELECT * FROM t JOIN pg_type ON true", true},
		{"SELECT * FROM t, pg_type", true},
		{"SELECT * FROM (SELECT 1) x, pg_type", true},
		{"SELECT word FROM pg_get_keywords()", true},
		{"SELECT table_name FROM information_schema.tables WHERE table_schema = $1", true},
		{"WITH x AS (SELECT * FROM pg_catalog.pg_proc) SELECT 1 FROM x", true},
		{"(SELECT 1 FROM pg_am)", true},
		{"SELECT pg_catalog.version()", true},
		// Not the catalog: pg_ names that are not relations, strings, plain queries.
		{"SELECT 1", false},
		// pg_catalog in a type or an operator of a query of ours: the TiDB
		// path rewrites those.
		{"SELECT t.a::pg_catalog.int4 FROM t", false},
		{"SELECT '1'::pg_catalog.int4", false},
		{"SELECT 1 WHERE 'a' OPERATOR(pg_catalog.~) 'a'", false},
		{"SELECT pg_backend_pid()", false},
		{"SELECT 'pg_catalog.pg_class' FROM t", false},
		{"SELECT pg_x FROM t", false},
		{"SELECT a FROM t WHERE b = pg_x", false},
		{"SELECT a, pg_y FROM t", false},
		{"SELECT * FROM t WHERE a IN (1, pg_z)", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			// A prefix moves the statement: Offset, Text and Position must follow it.
			const prefix = "SELECT 'é'; "
			stmts, err := Parse(prefix + tt.in + ";")
			if err != nil {
				if tt.catalog {
					t.Fatalf("Parse: %v", err)
				}
				return // a TiDB-path error is fine here: only the routing is tested
			}
			cq, ok := stmts[1].(*CatalogQuery)
			if ok != tt.catalog {
				t.Fatalf("got %T, want catalog query %v", stmts[1], tt.catalog)
			}
			if !ok {
				return
			}
			if cq.Text != tt.in || cq.Offset != len(prefix) {
				t.Errorf("Text %q Offset %d, want %q %d", cq.Text, cq.Offset, tt.in, len(prefix))
			}
			// The prefix holds 12 characters (13 bytes): position 1 in Text is 13.
			if got := cq.Position(1); got != 13 {
				t.Errorf("Position(1) = %d, want 13", got)
			}
		})
	}
}

func TestParse_CatalogQueryNotExplained(t *testing.T) {
	if _, err := Parse("EXPLAIN SELECT * FROM pg_class"); err == nil {
		t.Fatal("EXPLAIN of a catalog query parsed")
	}
}
