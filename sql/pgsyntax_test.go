package sql

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// TestPostgresRewrite checks the text TiDB gets for Postgres syntax and the
// cast targets recorded beside it.
func TestPostgresRewrite(t *testing.T) {
	vc := types.VarcharType
	tests := []struct {
		in, text string
		casts    []Cast
	}{
		{"SELECT x::text FROM t", "select __pgcast(x, 0) from t", []Cast{{Type: types.TypeText, Name: "text"}}},
		{"SELECT '1'::int", "select __pgcast('1', 0)", []Cast{{Type: types.TypeInt, Name: "int4"}}},
		{"SELECT a::int2::text", "select __pgcast(__pgcast(a, 0), 1)",
			[]Cast{{Type: types.TypeSmallInt, Name: "int2"}, {Type: types.TypeText, Name: "text"}}},
		{"SELECT (a + 1)::bigint", "select __pgcast((a + 1), 0)", []Cast{{Type: types.TypeBigInt, Name: "int8"}}},
		{"SELECT now()::date", "select __pgcast(now(), 0)", []Cast{{Type: types.TypeDate, Name: "date"}}},
		{"SELECT t.a::pg_catalog.int4", "select __pgcast(t.a, 0)", []Cast{{Type: types.TypeInt, Name: "int4"}}},
		{"SELECT $1::double precision", "select __pgcast(? , 0)", []Cast{{Type: types.TypeDouble, Name: "float8"}}},
		{"SELECT x::timestamp with time zone", "select __pgcast(x, 0)", []Cast{{Type: types.TypeTimestamp, Name: "timestamptz"}}},
		{"SELECT x::timestamptz", "select __pgcast(x, 0)", []Cast{{Type: types.TypeTimestamp, Name: "timestamptz"}}},
		{"SELECT x::timestamp(3)", "select __pgcast(x, 0)", []Cast{{Type: types.Type{Kind: types.Timestamp, Precision: 3}, Name: "timestamp"}}},
		{"SELECT x::character varying(10)", "select __pgcast(x, 0)", []Cast{{Type: vc(10), Name: "varchar"}}},
		{"SELECT x::numeric(10,2)", "select __pgcast(x, 0)", []Cast{{Type: types.DecimalType(10, 2), Name: "numeric"}}},
		{"SELECT x::varchar(5)", "select __pgcast(x, 0)", []Cast{{Type: vc(5), Name: "varchar"}}},
		{"SELECT x::float", "select __pgcast(x, 0)", []Cast{{Type: types.TypeDouble, Name: "float8"}}},
		{"SELECT x::real, x::bool, x::bytea, x::jsonb", "select __pgcast(x, 0), __pgcast(x, 1), __pgcast(x, 2), __pgcast(x, 3)",
			[]Cast{{Type: types.TypeFloat, Name: "float4"}, {Type: types.TypeBool, Name: "bool"}, {Type: types.TypeBytes, Name: "bytea"}, {Type: types.TypeJSON, Name: "jsonb"}}},
		{"SELECT CAST(x AS INTEGER)", "select __pgcast(x , 0)", []Cast{{Type: types.TypeInt, Name: "int4"}}},
		{"SELECT CAST(x AS DOUBLE PRECISION)", "select __pgcast(x , 0)", []Cast{{Type: types.TypeDouble, Name: "float8"}}},
		{"SELECT CAST(x AS SIGNED), CAST(x AS CHAR(3)), CAST(x AS DECIMAL(5,2))", "select cast(x as signed), cast(x as char(3)), cast(x as decimal(5,2))", nil},
		{"SELECT CAST(CAST(x AS TEXT) AS INT8)", "select __pgcast(__pgcast(x , 1) , 0)",
			[]Cast{{Type: types.TypeBigInt, Name: "int8"}, {Type: types.TypeText, Name: "text"}}},
		{"SELECT interval '1 day 2 hours'", "select __pgcast( '1 day 2 hours', 0)", []Cast{{Type: types.TypeInterval, Name: "interval"}}},
		{"SELECT '1 day'::interval", "select __pgcast('1 day', 0)", []Cast{{Type: types.TypeInterval, Name: "interval"}}},
		{"SELECT ts + INTERVAL '1' MINUTE, ts - INTERVAL 5 minutes", "select ts + interval '1' minute, ts - interval 5 MINUTE ", nil},
		{`SELECT E'a\nb\'c\x41\101\u00e9\\'`, "select 'a\nb''cAAé\\'", nil},
		{"SELECT e'x' || X'41'", "select 'x' || x'41'", nil},
		{"SELECT a ~ 'x', a !~ 'y'", "select a  REGEXP  'x', a  NOT REGEXP  'y'", nil},
		{"SELECT a ~* 'x', a !~* b.c", "select a  REGEXP concat('(?i)',  'x'), a  NOT REGEXP concat('(?i)',  b.c)", nil},
		{"SELECT ~1", "select ~1", nil},
		{"SELECT CASE WHEN a THEN CASE b WHEN 1 THEN 'x' END END::text, count(*)::int, -x::int, ?::int8",
			"select __pgcast(case when a then case b when 1 then 'x' end end, 0), __pgcast(count(*), 1), -__pgcast(x, 2), __pgcast(?, 3)",
			[]Cast{{Type: types.TypeText, Name: "text"}, {Type: types.TypeInt, Name: "int4"}, {Type: types.TypeInt, Name: "int4"}, {Type: types.TypeBigInt, Name: "int8"}}},
		{"SELECT a OPERATOR(pg_catalog.~) '^x'", "select a  REGEXP  '^x'", nil},
		{"SELECT a OPERATOR(pg_catalog.=) 1", "select a  =  1", nil},
		{`SELECT a COLLATE pg_catalog.default, b COLLATE "C", c COLLATE "default"`, "select a  , b  , c  ", nil},
		{"SELECT a IS NOT DISTINCT FROM b", "select a  <=>  b", nil},
		{"SELECT a IS DISTINCT FROM b + 1 AND c", "select a  <=>  b + 1 IS FALSE and c", nil},
		{"SELECT current_user, session_user, user, current_schema, current_database()", "select current_user(), session_user(), user(), current_schema(), current_database()", nil},
		{"SELECT t.user, x AS user FROM t", "select t.user, x as user from t", nil},
		{"SELECT 'a'::text FROM generate_series(1, '3'::int4, $1::int8) WHERE x ~ E'\\d'", "select __pgcast('a', 2) from __tf0                                   where x  REGEXP  'd'",
			[]Cast{{Type: types.TypeInt, Name: "int4"}, {Type: types.TypeBigInt, Name: "int8"}, {Type: types.TypeText, Name: "text"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			stmts, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			q := stmts[0].(*Select)
			if q.Text != tt.text {
				t.Errorf("text\n got %q\nwant %q", q.Text, tt.text)
			}
			if len(q.Casts) != len(tt.casts) {
				t.Fatalf("casts %+v, want %+v", q.Casts, tt.casts)
			}
			for i, c := range q.Casts {
				if c.Type != tt.casts[i].Type || c.Name != tt.casts[i].Name {
					t.Errorf("cast %d: %+v, want %+v", i, c, tt.casts[i])
				}
			}
		})
	}
}

// TestPostgresRewritePositions checks that positions survive rewrites that
// change lengths: TiDB's errors, parameter order and node offsets.
func TestPostgresRewritePositions(t *testing.T) {
	// A TiDB syntax error after a cast points at the user's text.
	in := "SELECT x::int, y::text FROM t WHERE ))"
	_, err := Parse(in)
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Code != sqlerr.SyntaxError {
		t.Fatalf("got %v, want a syntax error", err)
	}
	if want := strings.Index(in, "))") + 1; e.Position != want {
		t.Errorf("position %d, want %d (%v)", e.Position, want, err)
	}

	// Parameters keep their numbers across rewrites before them.
	stmts, err := Parse("SELECT $2::int8, E'\\n', $1::text")
	if err != nil {
		t.Fatal(err)
	}
	q := stmts[0].(*Select)
	if got := q.ParamOrder; len(got) != 2 || got[0] != 1 || got[1] != 0 {
		t.Errorf("ParamOrder %v, want [1 0]", got)
	}
	var orders []int
	q.AST.Accept(visitFunc(func(n ast.Node) {
		if pm, ok := n.(*driver.ParamMarkerExpr); ok {
			orders = append(orders, pm.Order)
		}
	}))
	if len(orders) != 2 || orders[0] != 0 || orders[1] != 1 {
		t.Errorf("marker orders %v, want [0 1]", orders)
	}

	// An offset in Text inside a copied run maps to the same character;
	// one inside our inserted text maps to what it stands for.
	in = "SELECT é::text, zz FROM t"
	stmts, err = Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	q = stmts[0].(*Select)
	zz := strings.Index(q.Text, "zz")
	if got, want := q.Position(zz), 17; got != want {
		t.Errorf("Position(zz) = %d, want %d (text %q)", got, want, q.Text)
	}
	if got, want := q.Position(strings.Index(q.Text, "__pgcast")), 8; got != want {
		t.Errorf("Position(__pgcast) = %d, want %d", got, want)
	}
}

type visitFunc func(ast.Node)

func (f visitFunc) Enter(n ast.Node) (ast.Node, bool) { f(n); return n, false }
func (f visitFunc) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// TestPostgresRewriteLongQuery guards against quadratic rewriting: a long
// IN list of casts parses in a bounded time (a generous bound that a
// quadratic rewrite of 50000 casts would break by far).
func TestPostgresRewriteLongQuery(t *testing.T) {
	var b strings.Builder
	b.WriteString("SELECT 1 FROM t WHERE x IN (")
	const n = 50000
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'1'::int4")
	}
	b.WriteString(") AND y ~ E'a' AND z IS DISTINCT FROM 1")
	start := time.Now()
	stmts, err := Parse(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("parsing %d casts took %v", n, d)
	}
	if got := len(stmts[0].(*Select).Casts); got != n {
		t.Errorf("%d casts, want %d", got, n)
	}
}

// TestPostgresRewrite_shortcut: a query with no token the rewriter acts on
// skips it, and must come out as the whole rewrite would have it: the same
// text and the same positions.
func TestPostgresRewrite_shortcut(t *testing.T) {
	for _, in := range []string{
		"SELECT a, b + 1 FROM t WHERE c IN (1, 2, 3) AND d LIKE 'x%' -- note\nORDER BY a",
		"SELECT COUNT(*) AS n, SUM(x) FROM t /* c */ GROUP BY y HAVING n > 2 LIMIT 5",
		"SELECT `q`, \"Q\", 'it''s' FROM t JOIN u ON t.a = u.a",
		"SELECT 1",
	} {
		toks, comments, serr := scan(in)
		if serr != nil {
			t.Fatal(serr)
		}
		p := &parser{src: in, chars: newCharIndex(in), toks: toks, comments: comments}
		to := len(toks) - 1 // before tEOF
		if p.mayNeedRewrite(0, to) {
			t.Fatalf("%q: needs a rewrite", in)
		}
		start := toks[0].start
		buf := []byte(p.blanked(start, toks[to-1].end))
		var c1, c2 []Cast
		fast, fm, err1 := p.rewritePostgres(0, to, start, buf, nil, &c1)
		full, wm, err2 := p.rewriteAll(0, to, start, buf, nil, &c2)
		if err1 != nil || err2 != nil {
			t.Fatalf("%q: %v, %v", in, err1, err2)
		}
		if fast != full {
			t.Errorf("%q: shortcut %q, rewrite %q", in, fast, full)
		}
		for off := 0; off <= len(full); off++ {
			if fm.src(off) != wm.src(off) {
				t.Errorf("%q: offset %d maps to %d by the shortcut, %d by the rewrite", in, off, fm.src(off), wm.src(off))
				break
			}
		}
	}
}
