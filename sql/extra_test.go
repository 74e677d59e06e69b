package sql

import (
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// markerCollector gathers parameter markers in AST order.
type markerCollector struct{ orders, offsets []int }

func (c *markerCollector) Enter(n ast.Node) (ast.Node, bool) {
	if pm, ok := n.(*driver.ParamMarkerExpr); ok {
		c.orders = append(c.orders, pm.Order)
		c.offsets = append(c.offsets, pm.Offset)
	}
	return n, false
}
func (c *markerCollector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func TestParse_ParamOrder(t *testing.T) {
	text := "SELECT 1; SELECT * FROM generate_series($3, 10) WHERE a = $1 AND b = $3"
	stmts, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	q := stmts[1].(*Select)
	var c markerCollector
	q.AST.Accept(&c)
	q.TableFuncs["__tf0"].Args[0].Expr.Accept(&c)
	// AST: $1 (text order 1), $3 (text order 2); the argument: $3 (text order 0).
	if got, want := c.orders, []int{1, 2, 0}; !equalInts(got, want) {
		t.Errorf("orders %v, want %v", got, want)
	}
	if got, want := q.ParamOrder, []int{2, 0, 2}; !equalInts(got, want) || q.NumParams != 3 {
		t.Errorf("ParamOrder %v NumParams %d, want %v 3", got, q.NumParams, want)
	}
	if got, want := q.Position(c.offsets[0]), strings.Index(text, "$1")+1; got != want {
		t.Errorf("Position of $1 = %d, want %d", got, want)
	}
	if q.Offset != 10 || q.Span() != (Span{10, len(text)}) || len(q.Text) != len(text)-10 {
		t.Errorf("Offset %d Span %v len(Text) %d", q.Offset, q.Span(), len(q.Text))
	}
}

func TestSelect_Position(t *testing.T) {
	text := "SELECT 'é'; SELECT 'ü', bad_col FROM t"
	stmts, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	q := stmts[1].(*Select)
	sel, ok := q.SelectStmt()
	if !ok {
		t.Fatal("not a SELECT")
	}
	f := sel.Fields.Fields[1]
	// Characters, not bytes: é and ü are two bytes each.
	if got, want := q.Position(f.Offset), len([]rune(text[:strings.Index(text, "bad_col")]))+1; got != want {
		t.Errorf("Position = %d, want %d", got, want)
	}
}

func TestParse_Text(t *testing.T) {
	text := "  CREATE MATERIALIZED VIEW v AS SELECT A FROM T -- trailing\n;  CREATE SOURCE s (a INT) WITH (connector='kinesis', stream='x');"
	stmts, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	v := stmts[0].(*CreateView)
	if v.Text != "CREATE MATERIALIZED VIEW v AS SELECT A FROM T" {
		t.Errorf("view text %q", v.Text)
	}
	if !strings.Contains(v.Query.Text, "select a from t") {
		t.Errorf("query text not folded: %q", v.Query.Text)
	}
	s := stmts[1].(*CreateSource)
	if s.Text != "CREATE SOURCE s (a INT) WITH (connector='kinesis', stream='x')" {
		t.Errorf("source text %q", s.Text)
	}
	if sp := s.Span(); text[sp.Start:sp.End] != s.Text {
		t.Errorf("span %v", sp)
	}
	// The text of a statement parses again on its own, as the catalog does
	// at restart.
	for _, st := range stmts {
		sp := st.Span()
		if _, err := Parse(text[sp.Start:sp.End]); err != nil {
			t.Errorf("reparse %q: %v", text[sp.Start:sp.End], err)
		}
	}
}

func TestParse_Intervals(t *testing.T) {
	tests := []struct {
		in             string
		months, micros int64
	}{
		{"INTERVAL 5 SECOND", 0, 5_000_000},
		{"INTERVAL '5' SECONDS", 0, 5_000_000},
		{"INTERVAL '1' MINUTE", 0, 60_000_000},
		{"INTERVAL 1.5 SECOND", 0, 1_500_000},
		{"INTERVAL 250 MILLISECOND", 0, 250_000},
		{"INTERVAL 7 MICROSECONDS", 0, 7},
		{"INTERVAL '1:30' MINUTE_SECOND", 0, 90_000_000},
		{"INTERVAL '1 2:03:04' DAY_SECOND", 0, 93_784_000_000},
		{"INTERVAL '2' HOUR", 0, 7_200_000_000},
		{"INTERVAL 1 DAY", 0, 86_400_000_000},
		{"INTERVAL 1 WEEK", 0, 604_800_000_000},
		{"INTERVAL '1 hour 30 minutes'", 0, 5_400_000_000},
		{"INTERVAL 2 MONTH", 2, 0},
		{"INTERVAL 1 QUARTER", 3, 0},
		{"INTERVAL '1' YEAR", 12, 0},
		{"INTERVAL '1-6' YEAR_MONTH", 18, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			stmts, err := Parse("SELECT * FROM generate_series(1, 2, " + tt.in + ")")
			if err != nil {
				t.Fatal(err)
			}
			iv := stmts[0].(*Select).TableFuncs["__tf0"].Args[2].Interval
			if iv == nil || iv.Months != tt.months || iv.Micros != tt.micros {
				t.Errorf("got %+v, want %d months %d us", iv, tt.months, tt.micros)
			}
		})
	}
}

func TestConnectors_Defaults(t *testing.T) {
	stmts, err := Parse("CREATE SOURCE s (a INT) WITH (connector = 'KINESIS', stream = 's', start_position = 'at_timestamp', start_timestamp = '1700000000000')")
	if err != nil {
		t.Fatal(err)
	}
	o := stmts[0].(*CreateSource).Options
	want := map[string]string{
		"connector": "kinesis", "stream": "s", "region": "us-east-1", "start_position": "at_timestamp",
		"format": "json", "on_decode_error": "skip", "shard_discovery_interval": "10s", "idle_watermark": "none",
		"poll_interval": "200ms", "max_records_per_call": "10000",
	}
	for k, v := range want {
		if got, ok := o.Get(k); !ok || got != v {
			t.Errorf("%s = %q (%v), want %q", k, got, ok, v)
		}
	}
	if _, ok := o.Get("idle_timeout"); ok {
		t.Error("idle_timeout has no default")
	}
	if d, ok, err := o.Duration("poll_interval"); !ok || err != nil || d.Milliseconds() != 200 {
		t.Errorf("Duration = %v %v %v", d, ok, err)
	}
	if n, ok, err := o.Int("max_records_per_call"); !ok || err != nil || n != 10000 {
		t.Errorf("Int = %v %v %v", n, ok, err)
	}
	if ts, ok, err := o.Time("start_timestamp"); !ok || err != nil || ts.UnixMilli() != 1700000000000 {
		t.Errorf("Time = %v %v %v", ts, ok, err)
	}

	stmts, err = Parse("CREATE SINK k FROM v WITH (connector = 'kinesis', stream = 's')")
	if err != nil {
		t.Fatal(err)
	}
	o = stmts[0].(*CreateSink).Options
	for k, v := range map[string]string{"format": "json", "mode": "append", "on_oversize": "fail", "linger": "100ms", "region": "us-east-1"} {
		if got, ok := o.Get(k); !ok || got != v {
			t.Errorf("sink %s = %q (%v), want %q", k, got, ok, v)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCreateSource_RedactedText(t *testing.T) {
	text := "SELECT 1; CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', access_key = 'AKIA', secret_key = 'sekrit', session_token = 'tok')"
	stmts, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE SOURCE s (a INT) WITH (connector = 'kinesis', stream = 's', access_key = '***', secret_key = '***', session_token = '***')"
	if got := stmts[1].(*CreateSource).RedactedText(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCommandTag(t *testing.T) {
	text := "SELECT 1; CREATE SOURCE s (a INT) " + kin + "; DROP MATERIALIZED VIEW v; SET x = 1; " +
		"COPY (SUBSCRIBE v) TO STDOUT; SUBSCRIBE v; SHOW SOURCES; FLUSH; BEGIN; COMMIT; ROLLBACK; RESET x; SHOW x; EXPLAIN SELECT 1"
	stmts, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range stmts {
		got = append(got, CommandTag(st))
	}
	want := "SELECT,CREATE SOURCE,DROP MATERIALIZED VIEW,SET,COPY,SUBSCRIBE,SHOW,FLUSH,BEGIN,COMMIT,ROLLBACK,RESET,SHOW,EXPLAIN"
	if strings.Join(got, ",") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, ","), want)
	}
}
