package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPsql_Catalog runs psql's describe commands against the real binary
// with a source, a materialized view and a sink, and checks that psql shows
// our objects and their columns with the right types. The queries are
// psql's own (describe.c), sent as psql sends them.
func TestPsql_Catalog(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("SKIPPING TestPsql_Catalog: psql is not on PATH; `make deps` installs postgresql-client")
	}
	ctx := testContext(t, 4*time.Minute)
	emu := sharedKinesis.get(t)
	for _, s := range []string{"psqlcat-in", "psqlcat-out"} {
		if err := emu.CreateStream(ctx, s, 1); err != nil && !strings.Contains(err.Error(), "ResourceInUse") {
			t.Fatal(err)
		}
	}
	srv := startBinary(t, buildBinary(t), t.TempDir())
	conn, err := pgx.Connect(ctx, connString(srv.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	with := fmt.Sprintf("connector = 'kinesis', region = 'us-east-1', endpoint = '%s'", emu.Endpoint())
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE clicks (user_id BIGINT NOT NULL, url VARCHAR(2048), amount DECIMAL(12,2), ts TIMESTAMP(3)) "+
			"WITH (%s, stream = 'psqlcat-in', format = 'json')", with),
		"CREATE MATERIALIZED VIEW spend AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM clicks GROUP BY user_id",
		fmt.Sprintf("CREATE SINK clicks_out FROM clicks WITH (%s, stream = 'psqlcat-out', partition_key = 'user_id')", with),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	host, port, _ := strings.Cut(srv.addr, ":")
	run := func(t *testing.T, tuplesOnly bool, command string) string {
		t.Helper()
		args := []string{"-X", "--no-password", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", "tester", "-d", "streamsql"}
		if tuplesOnly {
			args = append(args, "-A", "-t")
		}
		cmd := exec.CommandContext(ctx, psql, append(args, "-c", command)...)
		cmd.Env = append(withoutPGEnv(os.Environ()), "PGCONNECT_TIMEOUT=10")
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Contains(string(out), "ERROR") {
			t.Fatalf("psql -c %q: %v\n%s", command, err, out)
		}
		return string(out)
	}
	// lines is the exact output of a tuples-only command, line by line.
	lines := func(s ...string) string {
		if len(s) == 0 {
			return ""
		}
		return strings.Join(s, "\n") + "\n"
	}
	exact := []struct{ command, want string }{
		{`\d`, lines("public|clicks|table|tester", "public|clicks_out|foreign table|tester", "public|spend|materialized view|tester")},
		{`\dt`, lines("public|clicks|table|tester")},
		{`\dm`, lines("public|spend|materialized view|tester")},
		{`\dn`, lines("public|tester")},
		{`\df`, lines()},
		{`\df abs`, lines(`pg_catalog|abs|anyelement|"any"|func`)},
		{`\d clicks`, lines("user_id|bigint||not null|", "url|character varying(2048)|||", "amount|numeric(12,2)|||",
			"ts|timestamp(3) without time zone|||")},
	}
	for _, tt := range exact {
		t.Run(tt.command, func(t *testing.T) {
			if got := run(t, true, tt.command); got != tt.want {
				t.Errorf("psql -A -t -c %q:\n%s\nwant:\n%s", tt.command, got, tt.want)
			}
		})
	}
	// \dv finds no views: psql says so (on stderr) and fails nothing.
	t.Run(`\dv`, func(t *testing.T) {
		if got := run(t, true, `\dv`); strings.TrimSpace(got) != "Did not find any relations." {
			t.Errorf(`\dv: %q`, got)
		}
	})
	// The default (aligned) format, with titles and footers.
	formatted := []struct {
		command string
		want    []string // regular expressions, each to match somewhere
	}{
		{`\d clicks`, []string{`Table "public.clicks"`, `user_id\s+\|\s+bigint\s+\|\s+\|\s+not null`,
			`url\s+\|\s+character varying\(2048\)`, `ts\s+\|\s+timestamp\(3\) without time zone`}},
		{`\d spend`, []string{`Materialized view "public.spend"`, `user_id\s+\|\s+bigint`, `n\s+\|\s+bigint`,
			`total\s+\|\s+numeric`, `Indexes:\s+"spend_pkey" PRIMARY KEY, btree \(user_id\)`}},
		{`\d+ spend`, []string{`Materialized view "public.spend"`, `View definition:\s+SELECT user_id, COUNT\(\*\) AS n, SUM\(amount\) AS total FROM clicks GROUP BY user_id;`,
			`Access method: heap`}},
		{`\d clicks_out`, []string{`Foreign table "public.clicks_out"`, `user_id\s+\|\s+bigint`, `Server: kinesis`,
			`FDW options: \(.*stream 'psqlcat-out'.*partition_key 'user_id'`}},
		{`\l`, []string{`List of databases`, `streamsql\s+\|\s+tester\s+\|\s+UTF8`}},
		{`\dn`, []string{`List of schemas`, `public\s+\|\s+tester`}},
		{`\df`, []string{`List of functions`, `\(0 rows\)`}},
	}
	for _, tt := range formatted {
		t.Run(tt.command+" formatted", func(t *testing.T) {
			got := run(t, false, tt.command)
			for _, w := range tt.want {
				if !regexp.MustCompile(w).MatchString(got) {
					t.Errorf("psql -c %q does not match %s:\n%s", tt.command, w, got)
				}
			}
		})
	}
}

// TestPgx_CatalogQueryWithParameter runs a catalog query through the
// extended protocol (Parse, Bind with a parameter, Describe, Execute), as
// JDBC drivers send their metadata queries.
func TestPgx_CatalogQueryWithParameter(t *testing.T) {
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	ctx := testContext(t, 2*time.Minute)
	if _, err := conn.Exec(ctx, createSourceSQL(t, "pgxcat", "pgxcat")); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnum
		FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
		WHERE c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`
	type col struct {
		name, typ string
		num       int
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec} {
		rows, err := conn.Query(ctx, q, mode, "pgxcat")
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
			var c col
			err := r.Scan(&c.name, &c.typ, &c.num)
			return c, err
		})
		if err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		// createSourceSQL's columns, by hand.
		want := []col{{"user_id", "bigint", 1}, {"url", "character varying(2048)", 2}, {"amount", "double precision", 3},
			{"ts", "timestamp(3) without time zone", 4}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("mode %v: got %v, want %v", mode, got, want)
		}
	}
}
