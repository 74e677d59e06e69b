package planner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata files with the actual output")

// fakeCatalog is a map of relations.
type fakeCatalog map[string]*Relation

func (c fakeCatalog) Relation(name string) (*Relation, bool) {
	r, ok := c[name]
	return r, ok
}

var testCatalog = fakeCatalog{
	"clicks": {Name: "clicks", Kind: "source", WatermarkColumn: "ts", Columns: []types.Column{
		{Name: "user_id", Type: types.TypeBigInt},
		{Name: "url", Type: types.VarcharType(2048)},
		{Name: "amount", Type: types.TypeDouble},
		{Name: "ts", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
		{Name: "payload", Type: types.TypeJSON},
	}},
	"spend": {Name: "spend", Kind: "view", Columns: []types.Column{
		{Name: "user_id", Type: types.TypeBigInt},
		{Name: "window_start", Type: types.TypeTimestamp},
		{Name: "n", Type: types.TypeBigInt},
		{Name: "total", Type: types.TypeDouble},
		{Name: "url", Type: types.TypeText},
	}},
	"users": {Name: "users", Kind: "source", Columns: []types.Column{
		{Name: "user_id", Type: types.TypeBigInt},
		{Name: "url", Type: types.TypeText},
		{Name: "signup", Type: types.TypeDate},
	}},
}

// fixedNow is NOW() in tests: 2024-01-02 03:04:05.678901 UTC.
var fixedNow = time.Date(2024, 1, 2, 3, 4, 5, 678901000, time.UTC)

// planSQL parses one SELECT (or EXPLAIN/CREATE ... AS SELECT) with the
// front end and plans it.
func planSQL(t testing.TB, text string, opts Options) (*Query, error) {
	t.Helper()
	stmts, err := sql.Parse(text)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		t.Fatalf("%q: %d statements", text, len(stmts))
	}
	var sel *sql.Select
	switch st := stmts[0].(type) {
	case *sql.Select:
		sel = st
	case *sql.CreateView:
		sel, opts.EmitOnWindowClose = st.Query, st.EmitOnWindowClose
	default:
		t.Fatalf("%q: not a SELECT but %T", text, stmts[0])
	}
	return Plan(context.Background(), testCatalog, sel, opts)
}

func formatErr(err error) string {
	e := sqlerr.Flatten(err)
	return fmt.Sprintf("error %s at %d: %s", e.Code, e.Position, e.Message)
}

func formatRows(q *Query, rows []types.Row) []string {
	var cols []string
	for _, c := range q.Columns() {
		cols = append(cols, c.Name+" "+c.Type.String())
	}
	out := []string{"columns: " + strings.Join(cols, ", ")}
	for _, r := range rows {
		vals := make([]string, len(r))
		for i, v := range r {
			vals[i] = v.String()
		}
		out = append(out, strings.Join(vals, " | "))
	}
	if len(rows) == 0 {
		out = append(out, "(no rows)")
	}
	return out
}

// runCase runs one testdata case and returns its output lines.
func runCase(t *testing.T, directive string, args []string, text string) []string {
	var params []types.Value
	for _, a := range args {
		if p, ok := strings.CutPrefix(a, "params="); ok {
			for _, s := range strings.Split(p, ",") {
				if s == "NULL" {
					params = append(params, types.Null)
				} else {
					params = append(params, types.NewString(s))
				}
			}
		}
	}
	q, err := planSQL(t, text, Options{})
	if err != nil {
		return []string{formatErr(err)}
	}
	switch directive {
	case "explain":
		out := q.Explain()
		var cols []string
		for _, c := range q.Columns() {
			cols = append(cols, c.Name+" "+c.Type.String())
		}
		out = append(out, "columns: "+strings.Join(cols, ", "))
		if len(q.ParamTypes()) > 0 {
			var ps []string
			for _, p := range q.ParamTypes() {
				ps = append(ps, p.String())
			}
			out = append(out, "params: "+strings.Join(ps, ", "))
		}
		if len(q.Dependencies()) > 0 {
			out = append(out, "reads: "+strings.Join(q.Dependencies(), ", "))
		}
		if len(q.fired) > 0 {
			out = append(out, "rules: "+strings.Join(q.fired, ", "))
		}
		return out
	case "query":
		it, err := q.RunEnv(context.Background(), &expr.Env{Params: params, Now: fixedNow.UnixMicro()})
		if err != nil {
			return []string{formatErr(err)}
		}
		rows, err := exec.Drain(context.Background(), it)
		if err != nil {
			return []string{formatErr(err)}
		}
		return formatRows(q, rows)
	}
	t.Fatalf("unknown directive %q", directive)
	return nil
}

type testCase struct {
	directive string
	args      []string
	sql       string
	output    []string
	comments  []string // lines before the directive
}

// parseTestdata reads cases: comment lines (#), a directive line, SQL
// lines, "----", output lines, a blank line.
func parseTestdata(t *testing.T, data string) []testCase {
	var cases []testCase
	lines := strings.Split(data, "\n")
	var cur *testCase
	var pending []string
	state := 0 // 0 between cases, 1 reading SQL, 2 reading output
	for _, line := range lines {
		switch state {
		case 0:
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				pending = append(pending, line)
				continue
			}
			f := strings.Fields(line)
			cur = &testCase{directive: f[0], args: f[1:], comments: pending}
			pending = nil
			state = 1
		case 1:
			if line == "----" {
				state = 2
				continue
			}
			if cur.sql != "" {
				cur.sql += "\n"
			}
			cur.sql += line
		case 2:
			if line == "" {
				cases = append(cases, *cur)
				state = 0
				continue
			}
			cur.output = append(cur.output, line)
		}
	}
	if state == 2 {
		cases = append(cases, *cur)
	} else if state == 1 {
		t.Fatalf("unterminated case %q", cur.sql)
	}
	return cases
}

func TestPlanner_Testdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cases := parseTestdata(t, string(data))
			var out strings.Builder
			for i := range cases {
				c := &cases[i]
				got := runCase(t, c.directive, c.args, c.sql)
				if *rewrite {
					c.output = got
				} else if strings.Join(got, "\n") != strings.Join(c.output, "\n") {
					t.Errorf("%s:\n%s\nwant:\n%s\ngot:\n%s", file, c.sql, strings.Join(c.output, "\n"), strings.Join(got, "\n"))
				}
				for _, cm := range c.comments {
					out.WriteString(cm + "\n")
				}
				out.WriteString(strings.Join(append([]string{c.directive}, c.args...), " ") + "\n")
				out.WriteString(c.sql + "\n----\n")
				out.WriteString(strings.Join(c.output, "\n") + "\n\n")
			}
			if *rewrite {
				if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestQuery_RunRejectsStreams(t *testing.T) {
	q, err := planSQL(t, "SELECT * FROM clicks", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.Run(context.Background(), nil)
	if sqlerr.CodeOf(err) != sqlerr.FeatureNotSupported {
		t.Fatalf("Run over a source: %v, want 0A000", err)
	}
}

func TestQuery_GenerateSeriesIsLazy(t *testing.T) {
	q, err := planSQL(t, "SELECT * FROM generate_series(1, 1000000)", Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := q.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := int64(0)
	allocs := testing.AllocsPerRun(1, func() {
		for {
			row, err := it.Next(context.Background())
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				return
			}
			n++
			if row[0].Int() != n {
				t.Fatalf("row %d = %v", n, row)
			}
		}
	})
	if n != 1000000 {
		t.Fatalf("got %d rows", n)
	}
	if allocs > 100 {
		t.Fatalf("streaming a million rows allocated %v times", allocs)
	}
}

func TestQuery_Cancel(t *testing.T) {
	q, err := planSQL(t, "SELECT count(*) FROM generate_series(1, 100000000)", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	it, err := q.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = it.Next(ctx)
	if sqlerr.CodeOf(err) != sqlerr.QueryCanceled {
		t.Fatalf("cancelled query: %v", err)
	}
}

// TestPlan_PositionInLongerText checks that positions count from the start
// of the client's whole text, not from the statement's.
func TestPlan_PositionInLongerText(t *testing.T) {
	text := "SELECT 1;\n  SELECT nope FROM clicks"
	stmts, err := sql.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Plan(context.Background(), testCatalog, stmts[1].(*sql.Select), Options{})
	e := sqlerr.Flatten(err)
	if e.Code != sqlerr.UndefinedColumn || e.Position != strings.Index(text, "nope")+1 {
		t.Fatalf("got %s at %d, want 42703 at %d", e.Code, e.Position, strings.Index(text, "nope")+1)
	}
}

func TestQuery_ParamCountMismatch(t *testing.T) {
	q, err := planSQL(t, "SELECT $1 + 1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Run(context.Background(), nil); sqlerr.CodeOf(err) != sqlerr.ProtocolViolation {
		t.Fatalf("missing parameter: %v", err)
	}
}

// TestQuery_NowIsFixedPerExecution: every row of one execution sees the
// same NOW().
func TestQuery_NowIsFixedPerExecution(t *testing.T) {
	q, err := planSQL(t, "SELECT COUNT(DISTINCT NOW(6)) FROM generate_series(1, 20000)", Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := q.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := exec.Drain(context.Background(), it)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0][0].Int() != 1 {
		t.Fatalf("NOW() took %v values in one execution", rows)
	}
}

// TestQuery_RunConcurrently: a Query is immutable; executions share it.
func TestQuery_RunConcurrently(t *testing.T) {
	q, err := planSQL(t, "SELECT x % 3 AS k, SUM(x) FROM generate_series(1, 3000) AS x WHERE x > $1 GROUP BY 1 ORDER BY k", Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 4)
	for i := 0; i < 4; i++ {
		go func() {
			it, err := q.Run(context.Background(), []types.Value{types.NewString("10")})
			if err != nil {
				done <- err.Error()
				return
			}
			rows, err := exec.Drain(context.Background(), it)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- fmt.Sprint(rows)
		}()
	}
	first := <-done
	for i := 1; i < 4; i++ {
		if got := <-done; got != first {
			t.Fatalf("executions disagree: %s vs %s", got, first)
		}
	}
	if !strings.HasPrefix(first, "[0 1501482") {
		t.Fatalf("unexpected result %s", first)
	}
}

// BenchmarkQuery_GenerateSeries streams a million rows through Run, as the
// wire benchmark does.
func BenchmarkQuery_GenerateSeries(b *testing.B) {
	q, err := planSQL(b, "SELECT * FROM generate_series(1, 1000000)", Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		it, err := q.Run(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			if _, err := it.Next(context.Background()); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
			n++
		}
		it.Close()
		if n != 1000000 {
			b.Fatalf("%d rows", n)
		}
	}
}

// BenchmarkInList parses, plans and runs a filter with a long IN list of
// constants over 10,000 rows: planning is linear in the list and each row
// is one hash lookup, so ns/op grows with the list's length, not with
// length times rows.
func BenchmarkInList(b *testing.B) {
	for _, n := range []int{10, 1000, 10000, 100000} {
		var sb strings.Builder
		sb.WriteString("SELECT COUNT(*) FROM generate_series(1, 10000) WHERE generate_series IN (")
		for i := 0; i < n; i++ {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "%d", 2*i)
		}
		sb.WriteString(")")
		text := sb.String()
		want := int64(min(n-1, 5000)) // 2, 4, ..., up to 2(n-1) or 10000
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				q, err := planSQL(b, text, Options{})
				if err != nil {
					b.Fatal(err)
				}
				it, err := q.Run(context.Background(), nil)
				if err != nil {
					b.Fatal(err)
				}
				rows, err := exec.Drain(context.Background(), it)
				if err != nil {
					b.Fatal(err)
				}
				if got := rows[0][0].Int(); got != want {
					b.Fatalf("COUNT = %d, want %d", got, want)
				}
			}
		})
	}
}

// doneAfter is a context that reports itself cancelled from its n-th look
// on: a cancel that arrives while the statement is being planned.
type doneAfter struct {
	context.Context
	n, looks int
}

func (c *doneAfter) Err() error {
	if c.looks++; c.looks >= c.n {
		return context.Canceled
	}
	return nil
}

// TestPlan_CancelWhileBinding: binding a long expression looks at the
// context as it goes, so a statement cancelled while it is planned ends
// with the context's error.
func TestPlan_CancelWhileBinding(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("SELECT user_id IN (0")
	for i := 1; i < 5*cancelCheckEvery; i++ {
		fmt.Fprintf(&sb, ", %d", i)
	}
	sb.WriteString(") FROM clicks")
	stmts, err := sql.Parse(sb.String())
	if err != nil {
		t.Fatal(err)
	}
	sel := stmts[0].(*sql.Select)
	ctx := &doneAfter{Context: context.Background(), n: 2} // plan's first look passes
	if _, err := Plan(ctx, testCatalog, sel, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Plan = %v, want context.Canceled", err)
	}
	if ctx.looks > 2 {
		t.Fatalf("planning looked at the context %d times after it was done", ctx.looks-2)
	}
	if _, err := Plan(context.Background(), testCatalog, sel, Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestPlan_DeepExpression: an expression nested deeper than maxExprDepth
// is refused with 54000 instead of recursing until the goroutine's stack
// outgrows Go's limit, which ends the process; one within it plans.
func TestPlan_DeepExpression(t *testing.T) {
	for _, tt := range []struct {
		depth int
		code  sqlerr.Code
	}{
		{maxExprDepth / 2, ""},
		{maxExprDepth + 10, sqlerr.ProgramLimitExceeded},
		{5 * maxExprDepth, sqlerr.ProgramLimitExceeded},
	} {
		text := "SELECT user_id" + strings.Repeat(" + 1", tt.depth) + " FROM clicks"
		_, err := planSQL(t, text, Options{})
		if sqlerr.CodeOf(err) != tt.code {
			t.Errorf("depth %d: %v, want code %q", tt.depth, err, tt.code)
		}
	}
}
