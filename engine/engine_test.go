package engine

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

const testSource = `CREATE SOURCE %s (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3),
	WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
	WITH (connector = 'kinesis', stream = 's', endpoint = 'http://127.0.0.1:1', validate = false)`

func openTest(t *testing.T, dir string) *Engine {
	t.Helper()
	eng, err := Open(context.Background(), Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// queryStrings runs one statement and returns its rows as text.
func queryStrings(t *testing.T, eng *Engine, q string, args ...any) []string {
	t.Helper()
	rows, err := eng.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		out = append(out, rows.Row().String())
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// queryNames returns the first column of q's rows: the names of a SHOW.
func queryNames(t *testing.T, eng *Engine, q string) []string {
	t.Helper()
	rows, err := eng.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		out = append(out, rows.Row()[0].String())
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func TestEngine_DDL(t *testing.T) {
	ctx := context.Background()
	eng := openTest(t, t.TempDir())
	src := func(name string) string { return strings.Replace(testSource, "%s", name, 1) }
	steps := []struct {
		sql  string
		code sqlerr.Code // "" means success
		want []string    // rows of the SHOW that follows, when set
	}{
		{sql: src("clicks")},
		{sql: src("clicks"), code: sqlerr.DuplicateTable},
		{sql: strings.Replace(src("clicks"), "SOURCE", "SOURCE IF NOT EXISTS", 1)},
		{sql: src("other")},
		{sql: `CREATE MATERIALIZED VIEW totals AS SELECT user_id, SUM(amount) AS total FROM clicks GROUP BY user_id`},
		{sql: `CREATE MATERIALIZED VIEW top AS SELECT user_id FROM totals WHERE total > 10`},
		{sql: `CREATE MATERIALIZED VIEW bad AS SELECT nope FROM clicks`, code: sqlerr.UndefinedColumn},
		{sql: `CREATE SINK out FROM totals WITH (connector = 'kinesis', stream = 'o', endpoint = 'http://127.0.0.1:1', validate = false)`, code: sqlerr.FeatureNotSupported},
		{sql: `CREATE SINK out FROM top WITH (connector = 'kinesis', stream = 'o', endpoint = 'http://127.0.0.1:1', validate = false)`, code: sqlerr.FeatureNotSupported},
		{sql: `CREATE MATERIALIZED VIEW big AS SELECT user_id, amount FROM clicks WHERE amount > 10`},
		{sql: `CREATE SINK out FROM big WITH (connector = 'kinesis', stream = 'o', endpoint = 'http://127.0.0.1:1', validate = false)`},
		{sql: `CREATE SINK out3 FROM big WITH (connector = 'kinesis', stream = 'o', partition_key = 'nope', endpoint = 'http://127.0.0.1:1', validate = false)`, code: sqlerr.UndefinedColumn},
		{sql: `CREATE SINK out4 AS SELECT user_id FROM clicks WHERE amount > 1 WITH (connector = 'kinesis', stream = 'o', endpoint = 'http://127.0.0.1:1', validate = false)`},
		{sql: `CREATE SINK out5 AS SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id WITH (connector = 'kinesis', stream = 'o', endpoint = 'http://127.0.0.1:1', validate = false)`, code: sqlerr.FeatureNotSupported},
		{sql: `CREATE SINK out2 FROM missing WITH (connector = 'kinesis', stream = 'o', endpoint = 'http://127.0.0.1:1', validate = false)`, code: sqlerr.UndefinedTable},
		{sql: `DROP SOURCE clicks`, code: sqlerr.DependentObjectsStillExist},
		{sql: `DROP MATERIALIZED VIEW clicks`, code: sqlerr.WrongObjectType},
		{sql: `DROP SOURCE nothing`, code: sqlerr.UndefinedTable},
		{sql: `DROP SOURCE IF EXISTS nothing`},
		{sql: `SHOW MATERIALIZED VIEWS`, want: []string{"big", "top", "totals"}},
		{sql: `DROP SOURCE clicks CASCADE`},
		{sql: `SHOW SOURCES`, want: []string{"other"}},
		{sql: `SHOW MATERIALIZED VIEWS`, want: nil},
		{sql: `SHOW SINKS`, want: nil},
	}
	for _, s := range steps {
		if strings.HasPrefix(s.sql, "SHOW") {
			got := queryNames(t, eng, s.sql)
			if strings.Join(got, ",") != strings.Join(s.want, ",") {
				t.Fatalf("%s: got %q, want %q", s.sql, got, s.want)
			}
			continue
		}
		err := eng.Exec(ctx, s.sql)
		if got := sqlerr.CodeOf(err); got != s.code {
			t.Fatalf("%s: got code %q (%v), want %q", s.sql, got, err, s.code)
		}
	}
}

func TestEngine_DropNamesDependants(t *testing.T) {
	ctx := context.Background()
	eng := openTest(t, t.TempDir())
	if err := eng.Exec(ctx, strings.Replace(testSource, "%s", "clicks", 1)+`;
		CREATE MATERIALIZED VIEW v1 AS SELECT user_id FROM clicks;
		CREATE MATERIALIZED VIEW v2 AS SELECT user_id FROM v1`); err != nil {
		t.Fatal(err)
	}
	err := eng.Exec(ctx, "DROP SOURCE clicks")
	e := sqlerr.Flatten(err)
	if e.Code != sqlerr.DependentObjectsStillExist || !strings.Contains(e.Message, "v1, v2") {
		t.Fatalf("the error must name every dependant: %v", err)
	}
	if e.Position != len("DROP SOURCE ")+1 {
		t.Fatalf("position %d, want %d", e.Position, len("DROP SOURCE ")+1)
	}
}

func TestEngine_CatalogSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	def := strings.Replace(testSource, "%s", "clicks", 1)
	eng := openTest(t, dir)
	if err := eng.Exec(ctx, def+"; CREATE MATERIALIZED VIEW v AS SELECT user_id FROM clicks"); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	eng = openTest(t, dir)
	if got := queryStrings(t, eng, "SHOW CREATE SOURCE clicks"); len(got) != 1 || got[0] != "clicks "+def {
		t.Fatalf("SHOW CREATE after restart: %q", got)
	}
	if got := queryStrings(t, eng, "DESCRIBE v"); strings.Join(got, ",") != "user_id BIGINT" {
		t.Fatalf("DESCRIBE v after restart: %q", got)
	}
}

func TestSession_Settings(t *testing.T) {
	ctx := context.Background()
	eng := openTest(t, t.TempDir())
	s := eng.NewSession()
	run := func(q string) error {
		stmts, err := s.Prepare(ctx, q)
		if err != nil {
			return err
		}
		for _, st := range stmts {
			rows, err := s.Execute(ctx, st, nil)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	for _, tc := range []struct {
		sql  string
		code sqlerr.Code
	}{
		{"SET application_name = 'psql'", ""},
		{"SET extra_float_digits = 3", ""},
		{"SET TimeZone TO 'UTC'", ""},
		{"SET client_encoding TO 'LATIN1'", sqlerr.FeatureNotSupported},
		{"SET no_such_thing = 1", sqlerr.UndefinedObject},
		{"SET server_version = '1'", sqlerr.ObjectNotInPrerequisiteState},
	} {
		if got := sqlerr.CodeOf(run(tc.sql)); got != tc.code {
			t.Errorf("%s: code %q, want %q", tc.sql, got, tc.code)
		}
	}
	if s.Setting("application_name") != "psql" || s.ReportedSettings()["application_name"] != "psql" {
		t.Fatalf("application_name not set: %q", s.Setting("application_name"))
	}
	if err := run("RESET ALL"); err != nil || s.Setting("application_name") != "" {
		t.Fatalf("RESET ALL: %v, application_name %q", err, s.Setting("application_name"))
	}
}
