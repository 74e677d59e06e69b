package eval

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// render prints result rows as "a|b|c" lines, NULL as NULL, each value in
// its Postgres text form.
func render(q *Query, rows [][]Value) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r))
		for j, v := range r {
			if v == nil {
				parts[j] = "NULL"
				continue
			}
			parts[j] = textOf(v, q.Columns()[j].Type)
		}
		out[i] = strings.Join(parts, "|")
	}
	return out
}

func runQuery(t *testing.T, text string, params ...Value) (*Query, []string) {
	t.Helper()
	cat := newFakeCatalog()
	q, err := Prepare(text, cat)
	if err != nil {
		t.Fatalf("Prepare(%s): %v", text, err)
	}
	rows, err := q.Run(context.Background(), cat, params)
	if err != nil {
		t.Fatalf("Run(%s): %v", text, err)
	}
	return q, render(q, rows)
}

func checkRows(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got rows:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestCorpus_answers checks captured client queries against answers worked
// out by hand from the fake catalog (see fake_test.go).
func TestCorpus_answers(t *testing.T) {
	for _, tc := range []struct {
		name string
		cols []string // leading output column names to check, if any
		want []string
	}{
		{name: `psql 15 \dt`, cols: []string{"Schema", "Name", "Type", "Owner"},
			want: []string{"public|clicks|table|streamsql"}},
		{name: `psql 15 \d`, want: []string{
			"public|clicks|table|streamsql",
			"public|clicks_per_user|materialized view|streamsql",
			"public|v_users|view|streamsql",
		}},
		{name: `psql 15 \dv`, want: []string{"public|v_users|view|streamsql"}},
		{name: `psql 15 \dm`, want: []string{"public|clicks_per_user|materialized view|streamsql"}},
		{name: `psql 15 \di`, want: []string{"public|clicks_pkey|index|streamsql|clicks"}},
		{name: `psql 15 \ds`, want: nil},
		{name: `psql 15 \d clicks`, cols: []string{"oid", "nspname", "relname"}, want: []string{"16384|public|clicks"}},
		{name: `psql 15 \dn`, want: []string{"public|streamsql"}},
		{name: `psql 15 \l`, want: []string{"streamsql|streamsql|UTF8|C.UTF-8|C.UTF-8|NULL|libc|=Tc/streamsql\nstreamsql=CTc/streamsql"}},
		{name: `psql 15 \df`, want: []string{"public|add_one|integer|integer|func"}},
		{name: `psql 15 \du`, want: []string{"streamsql|t|t|t|t|t|-1|NULL|{}|f|t"}},
		{name: `psql 15 \dt+`, want: []string{"public|clicks|table|streamsql|permanent|heap|0 bytes|click events"}},
		{name: `pgjdbc 42.5 DatabaseMetaData.getSchemas()`, cols: []string{"table_schem", "table_catalog"},
			want: []string{"information_schema|NULL", "pg_catalog|NULL", "public|NULL"}},
		{name: `pgjdbc 42.5 DatabaseMetaData.getTables(null, null, "%", {TABLE, VIEW, MATERIALIZED VIEW})`,
			cols: []string{"table_cat", "table_schem", "table_name", "table_type", "remarks"},
			want: []string{
				"NULL|public|clicks_per_user|MATERIALIZED VIEW|NULL|||||",
				"NULL|public|clicks|TABLE|click events|||||",
				"NULL|public|v_users|VIEW|NULL|||||",
			}},
		{name: `pgjdbc 42.5 DatabaseMetaData.getPrimaryKeys(null, "public", "clicks")`,
			cols: []string{"table_cat", "table_schem", "table_name", "column_name", "key_seq", "pk_name"},
			want: []string{"NULL|public|clicks|user_id|1|clicks_pkey", "NULL|public|clicks|ts|2|clicks_pkey"}},
		{name: `pgjdbc 42.5 DatabaseMetaData.getColumns(null, null, "clicks", "%")`,
			cols: []string{"nspname", "relname", "attname", "atttypid", "attnotnull", "atttypmod", "attlen", "typtypmod", "attnum", "attidentity", "attgenerated", "adsrc", "description"},
			want: []string{
				"public|clicks|user_id|20|t|-1|8|-1|1|NULL|NULL|NULL|who clicked|0|b",
				"public|clicks|url|25|f|-1|8|-1|2|NULL|NULL|'none'::text|NULL|0|b",
				"public|clicks|ts|1114|t|-1|8|-1|3|NULL|NULL|NULL|NULL|0|b",
			}},
		{name: `pgjdbc 42.5 DatabaseMetaData.getIndexInfo(null, "public", "clicks", false, true)`,
			cols: []string{"table_cat", "table_schem", "table_name", "non_unique", "index_qualifier", "index_name", "type", "ordinal_position", "column_name", "asc_or_desc"},
			want: []string{
				"NULL|public|clicks|f|NULL|clicks_pkey|3|1|user_id|A|-1|1|NULL",
				"NULL|public|clicks|f|NULL|clicks_pkey|3|2|ts|A|-1|1|NULL",
			}},
		{name: `pgjdbc 42.5 DatabaseMetaData.getFunctions(null, null, "%")`, want: []string{
			"streamsql|pg_catalog|array_in|NULL|1|array_in_750",
			"streamsql|pg_catalog|lower|NULL|1|lower_870",
			"streamsql|pg_catalog|version|PostgreSQL version string|1|version_89",
			"streamsql|public|add_one|NULL|1|add_one_16400",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cq := corpusText(t, tc.name)
			q, got := runQuery(t, cq.text, cq.params...)
			for i, c := range tc.cols {
				if q.Columns()[i].Name != c {
					t.Errorf("column %d is %q, want %q", i, q.Columns()[i].Name, c)
				}
			}
			checkRows(t, got, tc.want)
		})
	}
}

// TestRun checks the evaluator's pieces on small queries with answers
// worked out by hand.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		q      string
		params []Value
		want   []string
	}{
		{q: `SELECT pg_catalog.version()`, want: []string{"PostgreSQL 16.0 (streamsql test)"}},
		{q: `SELECT 1 + 2 * 3, 7 / 2, 7 % 3, -4, 1.5 * 2, 'a' || 'b' || 1`, want: []string{"7|3|1|-4|3|ab1"}},
		{q: `SELECT E'a\nb', length(E'a\nb')`, want: []string{"a\nb|3"}},
		{q: `SELECT 'pg_class'::regclass, 'pg_class'::regclass::oid, 'public.clicks'::regclass::oid, '"clicks"'::regclass::text`,
			want: []string{"pg_class|1259|16384|clicks"}},
		{q: `SELECT c.oid::regclass::text FROM pg_class c WHERE c.oid = '16384'`, want: []string{"clicks"}},
		{q: `SELECT relname FROM pg_class WHERE oid = $1`, params: []Value{"16390"}, want: []string{"clicks_per_user"}},
		{q: `SELECT 'int4'::regtype, 'integer'::regtype::oid, 23::regtype, 'lower'::regproc::oid`, want: []string{"integer|23|integer|870"}},
		{q: `SELECT NULL = NULL, NULL IS NULL, 1 IS DISTINCT FROM NULL, NULL IS NOT DISTINCT FROM NULL, true AND NULL, false AND NULL, true OR NULL, NOT NULL::bool`,
			want: []string{"NULL|t|t|t|NULL|f|t|NULL"}},
		{q: `SELECT 1 IN (2, NULL), 1 IN (1, NULL), 1 NOT IN (2, 3), 2 = ANY(ARRAY[1,2]), 3 = ALL('{3,3}'), 'r' = ANY('{r,v}')`,
			want: []string{"NULL|t|t|t|t|t"}},
		{q: `SELECT r FROM generate_series(1, 3) AS s(r) ORDER BY r DESC`, want: []string{"3", "2", "1"}},
		{q: `SELECT s.r, s.r * 10 FROM generate_series(1, 5, 2) s(r)`, want: []string{"1|10", "3|30", "5|50"}},
		{q: `SELECT (ARRAY['a','b','c'])[2], (ARRAY[1,2,3])[2:3], (ARRAY[1])[5], array_upper(ARRAY[4,5,6], 1), cardinality('{}'::text[])`,
			want: []string{"b|{2,3}|NULL|3|0"}},
		{q: `SELECT indkey[0], indkey[1], array_upper(indkey, 1), array_lower(indkey, 1) FROM pg_index`, want: []string{"1|3|1|0"}},
		{q: `SELECT (information_schema._pg_expandarray(indkey)).n, (information_schema._pg_expandarray(indkey)).x FROM pg_index`,
			want: []string{"1|1", "2|3"}},
		{q: `SELECT unnest(ARRAY[1,2,3]) AS u, generate_series(1, 2) AS g`, want: []string{"1|1", "2|2", "3|NULL"}},
		{q: `SELECT x FROM unnest(ARRAY['b','a']) WITH ORDINALITY AS t(x, o) ORDER BY o DESC`, want: []string{"a", "b"}},
		{q: `SELECT CASE WHEN 1 > 2 THEN 'x' WHEN 2 > 1 THEN 'y' END, CASE 'v' WHEN 'r' THEN 1 WHEN 'v' THEN 2 ELSE 3 END, COALESCE(NULL, 'z'), NULLIF(1, 1), GREATEST(1, 5, 3), LEAST('b', 'a')`,
			want: []string{"y|2|z|NULL|5|a"}},
		{q: `SELECT nspname FROM pg_namespace WHERE nspname ~ '^pg_' ORDER BY 1`, want: []string{"pg_catalog", "pg_toast"}},
		{q: `SELECT nspname FROM pg_namespace WHERE nspname OPERATOR(pg_catalog.~) '^(PUBLIC)$' COLLATE pg_catalog.default`, want: nil},
		{q: `SELECT nspname FROM pg_namespace WHERE nspname ~* '^(PUBLIC)$' AND nspname !~* 'x' AND nspname !~ 'y'`, want: []string{"public"}},
		{q: `SELECT relname FROM pg_class WHERE relname LIKE 'clicks%' AND relname NOT LIKE '%pkey' AND relname ILIKE 'CLICKS\_%' `, want: []string{"clicks_per_user"}},
		{q: `SELECT relkind, count(*), min(relname), max(oid), string_agg(relname, ',' ORDER BY relname DESC) FROM pg_class GROUP BY relkind HAVING count(*) > 1 ORDER BY 2 DESC, 1`,
			want: []string{"r|6|clicks|16384|pg_type,pg_proc,pg_namespace,pg_class,pg_attribute,clicks", "v|2|tables|16395|v_users,tables"}},
		{q: `SELECT count(*), count(DISTINCT relkind), sum(relnatts), bool_and(relnatts > 0), bool_or(relkind = 'm'), array_agg(DISTINCT relkind ORDER BY relkind) FROM pg_class`,
			want: []string{"10|4|135|t|t|{i,m,r,v}"}},
		{q: `SELECT count(*) FROM pg_class WHERE false`, want: []string{"0"}},
		{q: `SELECT DISTINCT relkind FROM pg_class ORDER BY relkind`, want: []string{"i", "m", "r", "v"}},
		{q: `SELECT relname FROM pg_class ORDER BY relname LIMIT 2 OFFSET 1`, want: []string{"clicks_per_user", "clicks_pkey"}},
		{q: `SELECT nspname FROM pg_namespace WHERE oid < 100 UNION SELECT 'x' UNION ALL SELECT 'x' ORDER BY 1`, want: []string{"pg_catalog", "pg_toast", "x", "x"}},
		{q: `SELECT n.nspname, (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid) AS rels FROM pg_namespace n ORDER BY rels DESC, 1`,
			want: []string{"pg_catalog|5", "public|4", "information_schema|1", "pg_toast|0"}},
		{q: `SELECT nspname FROM pg_namespace n WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind = 'v') ORDER BY 1`,
			want: []string{"information_schema", "public"}},
		{q: `SELECT relname FROM pg_class WHERE relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = 'public') AND relkind <> 'i' ORDER BY 1`,
			want: []string{"clicks", "clicks_per_user", "v_users"}},
		{q: `SELECT ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = 'clicks'::regclass ORDER BY attnum)`, want: []string{"{user_id,url,ts}"}},
		{q: `SELECT c.relname, a.amname FROM pg_class c LEFT JOIN pg_am a ON a.oid = c.relam WHERE c.relnamespace = 2200 ORDER BY 1`,
			want: []string{"clicks|heap", "clicks_per_user|heap", "clicks_pkey|btree", "v_users|NULL"}},
		{q: `SELECT a.amname, c.relname FROM pg_class c RIGHT JOIN pg_am a ON a.oid = c.relam AND c.relname = 'nope'`,
			want: []string{"heap|NULL", "btree|NULL"}},
		{q: `SELECT n.nspname, c.relname FROM pg_namespace n FULL JOIN (SELECT * FROM pg_class WHERE relkind = 'v') c ON c.relnamespace = n.oid ORDER BY 1, 2`,
			want: []string{"information_schema|tables", "pg_catalog|NULL", "pg_toast|NULL", "public|v_users"}},
		{q: `SELECT objsubid, description FROM pg_description JOIN pg_class c ON c.oid = objoid JOIN (SELECT 1259::oid AS classoid) k USING (classoid) ORDER BY 1`,
			want: []string{"0|click events", "1|who clicked"}},
		{q: `SELECT relname, row_number() OVER (PARTITION BY relkind ORDER BY relname DESC) FROM pg_class WHERE relnamespace = 2200 ORDER BY 1`,
			want: []string{"clicks|1", "clicks_per_user|1", "clicks_pkey|1", "v_users|1"}},
		{q: `SELECT relname, row_number() OVER (ORDER BY relname) AS n FROM pg_class WHERE relnamespace = 2200 ORDER BY n DESC LIMIT 2`,
			want: []string{"v_users|4", "clicks_pkey|3"}},
		{q: `SELECT lower('AbC'), upper('x'), length('héllo'), substring('abcdef' from 0 for 3), substring('abcdef', 2), position('c' in 'abc'), replace('aXbX', 'X', '-'), split_part('a.b.c', '.', 2), trim(both '"' from '"q"'), btrim('  s '), concat('a', NULL, 1), quote_ident('Foo'), quote_ident('foo'), quote_literal('it''s')`,
			want: []string{`abc|X|5|ab|bcdef|3|a-b-|b|q|s|a1|"Foo"|foo|'it''s'`}},
		{q: `SELECT array_to_string(ARRAY['a', NULL, 'c'], ','), array_to_string(ARRAY['a', NULL], ',', '*'), array_length(ARRAY[1,2], 1), '{a,"b c"}'::text[]`,
			want: []string{`a,c|a,*|2|{a,"b c"}`}},
		{q: `SELECT current_setting('max_index_keys')::int4 + 1, pg_catalog.set_config('search_path', 'public', false)`, want: []string{"33|public"}},
		{q: `SELECT typname FROM pg_type WHERE oid = ANY (SELECT atttypid FROM pg_attribute WHERE attrelid = 16384) ORDER BY 1`,
			want: []string{"int8", "text", "timestamp"}},
		{q: `SELECT t.typname FROM pg_type t WHERE t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_class c WHERE c.oid = t.typrelid) ORDER BY 1 LIMIT 2`,
			want: []string{"_int4", "_text"}},
		{q: `SELECT * FROM (SELECT 1 AS a, 'x' AS b) s, LATERAL (SELECT s.a + 1 AS c) l`, want: []string{"1|x|2"}},
		{q: `SELECT r.rolname, n.* FROM pg_roles r, pg_namespace n WHERE n.oid = 2200`, want: []string{"streamsql|2200|public|10|NULL"}},
		{q: `SELECT 'x' AS "Name" ORDER BY "Name" NULLS FIRST`, want: []string{"x"}},
		{q: `SELECT v FROM (VALUES (1), (NULL), (3)) AS t(v) ORDER BY v DESC NULLS LAST`, want: []string{"3", "1", "NULL"}},
		{q: `SELECT v FROM (VALUES (1), (NULL), (3)) AS t(v) ORDER BY v NULLS FIRST`, want: []string{"NULL", "1", "3"}},
		{q: `SELECT $1 = 'a', $2::int4 + 1`, params: []Value{"a", "41"}, want: []string{"t|42"}},
		{q: `SELECT 2.5::int4, 2.5::float8::int4, -2.5::int4, substring('12345' FROM 2 FOR 2), 10 / 4.0`, want: []string{"3|2|-3|23|2.5"}},
		{q: `SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d ON (a.attrelid, a.attnum) = (d.adrelid, d.adnum) WHERE a.attrelid = 'clicks'::regclass ORDER BY a.attnum`,
			want: []string{"user_id|NULL", "url|'none'::text", "ts|NULL"}},
		{q: `SELECT count(*) FILTER (WHERE relkind = 'r'), max(relname) FROM pg_class`, want: []string{"6|v_users"}},
		{q: `SELECT current_schema(), session_user, current_user, current_catalog`, want: []string{"public|streamsql|streamsql|streamsql"}},
		{q: `SELECT name FROM pg_catalog.pg_settings WHERE name = any($1::text[]) ORDER BY 1`, params: []Value{"{search_path,max_index_keys}"},
			want: []string{"max_index_keys", "search_path"}},
		{q: `SELECT typname FROM pg_type WHERE typname LIKE '\_%' ESCAPE '\' ORDER BY 1`, want: []string{"_int4", "_text"}},
		{q: `SELECT 5 & 1, 4 | 1, 1 << 3, CAST('7' AS int8), true IS TRUE, NULL IS NOT FALSE`, want: []string{"1|5|8|7|t|t"}},
		{q: `SELECT relname FROM pg_class WHERE oid = 'clicks'::regclass OR oid = 'pg_catalog.pg_class'::regclass ORDER BY oid`,
			want: []string{"pg_class", "clicks"}},
		{q: `SELECT c.tableoid, c.tableoid::regclass::text, relname FROM pg_class c WHERE c.oid = 16384`, want: []string{"1259|pg_class|clicks"}},
		{q: `WITH v(name) AS (SELECT relname FROM pg_class WHERE relkind = 'v'), w AS (SELECT name FROM v WHERE name <> 'tables') SELECT name, (SELECT count(*) FROM w) FROM v WHERE name IN (SELECT name FROM v) ORDER BY 1`,
			want: []string{"tables|1", "v_users|1"}},
		{q: `SELECT 'a' AS x, NULL AS y`, want: []string{"a|NULL"}},
		{q: `SELECT pg_options_to_table.option_name, option_value FROM pg_options_to_table('{fillfactor=70,autovacuum_enabled}')`,
			want: []string{"fillfactor|70", "autovacuum_enabled|NULL"}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			_, got := runQuery(t, tc.q, tc.params...)
			checkRows(t, got, tc.want)
		})
	}
}

// TestPrepare_errors checks the SQLSTATE and the 1-based character
// position of errors.
func TestPrepare_errors(t *testing.T) {
	for _, tc := range []struct {
		q    string
		code sqlerr.Code
		pos  int
	}{
		{q: `SELECT * FROM pg_catalog.pg_nope`, code: sqlerr.UndefinedTable, pos: 15},
		{q: `SELECT nope FROM pg_class`, code: sqlerr.UndefinedColumn, pos: 8},
		{q: `SELECT c.nope FROM pg_class c`, code: sqlerr.UndefinedColumn, pos: 8},
		{q: `SELECT x.oid FROM pg_class c`, code: sqlerr.UndefinedTable, pos: 8},
		{q: `SELECT oid FROM pg_class, pg_namespace`, code: sqlerr.AmbiguousColumn, pos: 8},
		{q: `SELECT 'é', pg_catalog.nope(1)`, code: sqlerr.UndefinedFunction, pos: 13},
		{q: `SELECT relname FROM pg_class WHERE relname !~`, code: sqlerr.SyntaxError, pos: 46},
		{q: `SELECT FROM FROM`, code: sqlerr.SyntaxError, pos: 13},
		{q: `SELECT 1::nosuchtype`, code: sqlerr.UndefinedObject, pos: 11},
		{q: `CREATE TABLE x (a int)`, code: sqlerr.FeatureNotSupported, pos: 1},
	} {
		t.Run(tc.q, func(t *testing.T) {
			_, err := Prepare(tc.q, newFakeCatalog())
			var se *sqlerr.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *sqlerr.Error", err)
			}
			if se.Code != tc.code || se.Position != tc.pos {
				t.Errorf("err = %s at %d (%v), want %s at %d", se.Code, se.Position, se, tc.code, tc.pos)
			}
		})
	}
}

// TestRun_errors checks errors found while running.
func TestRun_errors(t *testing.T) {
	for _, tc := range []struct {
		q    string
		code sqlerr.Code
		pos  int
	}{
		{q: `SELECT relnatts / 0 FROM pg_class`, code: sqlerr.DivisionByZero, pos: 17},
		{q: `SELECT 'nope'::regclass`, code: sqlerr.UndefinedTable, pos: 14},
		{q: `SELECT (SELECT relname FROM pg_class)`, code: "21000", pos: 8},
		{q: `SELECT oid FROM pg_class WHERE oid = 'abc'`, code: sqlerr.InvalidTextRepresentation},
	} {
		t.Run(tc.q, func(t *testing.T) {
			cat := newFakeCatalog()
			q, err := Prepare(tc.q, cat)
			if err != nil {
				t.Fatal(err)
			}
			_, err = q.Run(context.Background(), cat, nil)
			var se *sqlerr.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *sqlerr.Error", err)
			}
			if se.Code != tc.code || tc.pos != 0 && se.Position != tc.pos {
				t.Errorf("err = %s at %d (%v), want %s at %d", se.Code, se.Position, se, tc.code, tc.pos)
			}
		})
	}
}

// TestColumns checks result column names and types as clients see them.
func TestColumns(t *testing.T) {
	cat := newFakeCatalog()
	q, err := Prepare(`SELECT c.oid, c.relname, 'x', NULL AS n, 1, c.oid::regclass, ARRAY[1], count(*) AS "Count", c.relnatts::int8 + 1 FROM pg_class c GROUP BY 1, 2`, cat)
	if err != nil {
		t.Fatal(err)
	}
	want := []Column{{"oid", tOid}, {"relname", tName}, {"?column?", tText}, {"n", tText}, {"?column?", tInt4},
		{"oid", Type{OID: OIDRegclass}}, {"array", Type{OID: oidInt4Array, Elem: OIDInt4}}, {"Count", tInt8}, {"?column?", tInt8}}
	got := q.Columns()
	if len(got) != len(want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d = %v, want %v", i, got[i], want[i])
		}
	}
	rows, err := q.Run(context.Background(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	// reg* values leave as their names; Out describes them as text.
	for _, r := range rows {
		if r[0] == int64(relClicks) && r[5] != "clicks" {
			t.Errorf("regclass column = %v, want clicks", r[5])
		}
	}
	if got, want := (Type{OID: OIDRegclass}).Out(), outType(tText); got != want {
		t.Errorf("regclass Out = %v, want %v", got, want)
	}
	if got := OutValue([]Value{int64(1), nil, int64(3)}, Type{OID: oidInt4Array, Elem: OIDInt4}); got.String() != "{1,NULL,3}" {
		t.Errorf("array OutValue = %v", got)
	}
}

// TestRun_panickingFunction checks that a Catalog function that panics
// fails the statement with XX000 instead of taking the process down.
func TestRun_panickingFunction(t *testing.T) {
	cat := newFakeCatalog()
	cat.funcs["version"] = func([]Value) (Value, error) { panic("boom") }
	q, err := Prepare(`SELECT version()`, cat)
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.Run(context.Background(), cat, nil)
	if sqlerr.CodeOf(err) != sqlerr.Internal || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want XX000 naming the panic", err)
	}
}

func TestRun_canceled(t *testing.T) {
	cat := newFakeCatalog()
	q, err := Prepare(`SELECT count(*) FROM pg_class a, pg_class b, pg_class c, pg_attribute d`, cat)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Run(ctx, cat, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
