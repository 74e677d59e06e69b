package engine

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// TestEngine_CatalogQuery: queries over pg_catalog and information_schema
// see our objects, take parameters, see the catalog as it is at each run,
// and place their errors in the client's text.
func TestEngine_CatalogQuery(t *testing.T) {
	ctx := context.Background()
	eng := openTest(t, t.TempDir())
	for _, q := range []string{
		strings.Replace(testSource, "%s", "clicks", 1),
		`CREATE MATERIALIZED VIEW totals AS SELECT user_id, SUM(amount) AS total FROM clicks GROUP BY user_id`,
		`CREATE SINK out FROM clicks WITH (connector = 'kinesis', stream = 'o', endpoint = 'http://127.0.0.1:1', validate = false)`,
	} {
		if err := eng.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tests := []struct {
		q    string
		args []any
		want []string
	}{
		{`SELECT c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' ORDER BY 1`, nil,
			[]string{"clicks r", "out f", "totals m", "totals_pkey i"}},
		{`SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_catalog.pg_attribute a
			JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relname = $1 AND a.attnum > 0 ORDER BY a.attnum`,
			[]any{"clicks"},
			[]string{"user_id bigint f", "amount double precision f", "ts timestamp(3) without time zone f"}},
		{`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'totals' ORDER BY ordinal_position`, nil,
			[]string{"user_id bigint", "total double precision"}},
		{`SELECT pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint WHERE conname = 'totals_pkey'`, nil,
			[]string{"PRIMARY KEY (user_id)"}},
	}
	for _, tt := range tests {
		if got := queryStrings(t, eng, tt.q, tt.args...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s\ngot  %q\nwant %q", tt.q, got, tt.want)
		}
	}

	// A prepared catalog query reads the catalog as it is when it runs.
	s := eng.NewSession()
	defer s.Close()
	sts, err := s.Prepare(ctx, `SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r' AND relnamespace = 2200 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	if cols := sts[0].Columns(); len(cols) != 1 || cols[0].Name != "relname" || cols[0].Type.Kind != types.String {
		t.Errorf("columns %v, want relname of a text type", cols)
	}
	run := func() []string {
		rows, err := s.Execute(ctx, sts[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			out = append(out, rows.Row().String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := run(); !reflect.DeepEqual(got, []string{"clicks"}) {
		t.Errorf("before: %q", got)
	}
	if err := eng.Exec(ctx, strings.Replace(testSource, "%s", "more", 1)); err != nil {
		t.Fatal(err)
	}
	if got := run(); !reflect.DeepEqual(got, []string{"clicks", "more"}) {
		t.Errorf("after CREATE SOURCE more: %q", got)
	}

	// Errors are positioned in the whole text: "nope" starts at character 18.
	sts, err = s.Prepare(ctx, "SELECT 1; SELECT nope FROM pg_catalog.pg_class")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Execute(ctx, sts[1], nil)
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Code != sqlerr.UndefinedColumn || e.Position != 18 {
		t.Errorf("error %v (%#v), want 42703 at 18", err, e)
	}
}
