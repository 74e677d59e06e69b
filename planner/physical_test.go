package planner

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// testViews resolves the test catalog's one view, spend, to a plan of it.
func testViews(t *testing.T) func(string) (*Query, bool) {
	return func(name string) (*Query, bool) {
		if name != "spend" {
			return nil, false
		}
		q, err := planSQL(t, "SELECT user_id, window_start, COUNT(*) AS n, SUM(amount) AS total, MAX(url) AS url "+
			"FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start", Options{})
		if err != nil {
			t.Fatalf("plan spend: %v", err)
		}
		return q, true
	}
}

func TestPlanStream(t *testing.T) {
	tests := []struct {
		sql      string
		key      []int // want this key when no error
		code     sqlerr.Code
		contains string
		sources  []string // the plan's inputs; clicks when nil
	}{
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, amount FROM clicks WHERE amount > 1"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n, user_id FROM clicks GROUP BY user_id", key: []int{1}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n FROM clicks GROUP BY user_id"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT DISTINCT url FROM clicks", key: []int{0}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, window_start, window_end, COUNT(*) FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) " +
			"GROUP BY user_id, window_start, window_end EMIT ON WINDOW CLOSE", key: []int{0, 1, 2}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT window_start, SUM(amount) FROM HOP(clicks, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE) " +
			"GROUP BY window_start HAVING SUM(amount) > 3", key: []int{0}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, window_end, COUNT(*) FROM SESSION(clicks, ts, INTERVAL '1' MINUTE) " +
			"WHERE amount > 0 GROUP BY window_end, user_id EMIT ON WINDOW CLOSE", key: []int{1, 0}},
		// A view over a view reads the view's changelog, not its source.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, n FROM spend WHERE n > 2", sources: []string{"spend"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id FROM clicks ORDER BY user_id",
			code: sqlerr.InvalidObjectDefinition, contains: "ORDER BY"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id FROM clicks ORDER BY user_id LIMIT 3",
			code: sqlerr.FeatureNotSupported, contains: "LIMIT"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, NOW() FROM clicks",
			code: sqlerr.InvalidObjectDefinition, contains: "NOW() is not allowed"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id FROM clicks WHERE ts < NOW()",
			code: sqlerr.InvalidObjectDefinition, contains: "NOW() is not allowed"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT window_start, COUNT(*) FROM TUMBLE(users, signup, INTERVAL '1' DAY) GROUP BY window_start EMIT ON WINDOW CLOSE",
			code: sqlerr.DatatypeMismatch},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT window_end, COUNT(*) FROM TUMBLE(spend, window_start, INTERVAL '1' HOUR) GROUP BY window_end EMIT ON WINDOW CLOSE",
			code: sqlerr.FeatureNotSupported, contains: "no WATERMARK"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT 1", code: sqlerr.InvalidObjectDefinition, contains: "must read a source"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id FROM clicks UNION ALL SELECT user_id FROM users",
			sources: []string{"clicks", "users"}},
		// One source scanned by two branches is one input.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id FROM clicks WHERE amount > 1 UNION ALL SELECT user_id FROM clicks WHERE url = 'x'"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, n FROM spend UNION ALL SELECT user_id, 1 FROM clicks",
			sources: []string{"spend", "clicks"}},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			q, err := planSQL(t, tt.sql, Options{})
			if err == nil {
				var p *StreamPlan
				p, err = PlanStream(q, testViews(t))
				if err == nil {
					if tt.code != "" {
						t.Fatalf("planned; want error %s", tt.code)
					}
					if !slices.Equal(p.Key, tt.key) {
						t.Errorf("key = %v, want %v", p.Key, tt.key)
					}
					want := tt.sources
					if want == nil {
						want = []string{"clicks"}
					}
					var got []string
					for _, in := range p.Inputs {
						got = append(got, in.Source.Name)
					}
					if !slices.Equal(got, want) {
						t.Errorf("inputs = %v, want %v", got, want)
					}
					return
				}
			}
			var se *sqlerr.Error
			if !errors.As(err, &se) || se.Code != tt.code || !strings.Contains(se.Message, tt.contains) {
				t.Fatalf("error = %v (%#v), want %s containing %q", err, se, tt.code, tt.contains)
			}
		})
	}
}

// TestStreamPlan_Build runs a planned view's graph over in-memory state:
// rows in, barrier, and the Materialize's output is the view's changes.
func TestStreamPlan_Build(t *testing.T) {
	q, err := planSQL(t, "CREATE MATERIALIZED VIEW v AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM clicks WHERE amount > 1 GROUP BY user_id", Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanStream(q, testViews(t))
	if err != nil {
		t.Fatal(err)
	}
	g := exec.NewGraph(exec.GraphOptions{})
	in, feed := g.Input("clicks")
	tables := map[uint32]*exec.MemTable{}
	mat, err := p.Build(g, []exec.NodeID{in}, func(op uint32) exec.StateTable {
		tables[op] = exec.NewMemTable()
		return tables[op]
	}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	g.Observe(mat, func(m exec.Message) error {
		if m.Kind == exec.KindBatch {
			for _, l := range strings.Split(strings.TrimSpace(m.Batch.String()), "\n") {
				out = append(out, l)
			}
		}
		return nil
	})
	ctx := context.Background()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ts := types.NewTimestamp(0)
	b := exec.NewBatch(4)
	for _, r := range [][2]float64{{1, 5}, {2, 0.5}, {1, 7}, {2, 3}} {
		row := types.Row{types.NewInt(int64(r[0])), types.NewString("/"), types.NewFloat(r[1]), ts, types.Null}
		// The WHERE is pushed into the source: the feeder applies it.
		if keep, err := p.Inputs[0].Keep(row, &expr.Env{}); err != nil || !keep {
			continue
		}
		b.Append(exec.Insert, row)
	}
	for _, m := range []exec.Message{{Kind: exec.KindBatch, Batch: b}, {Kind: exec.KindBarrier, Barrier: exec.Barrier{Epoch: 1}}} {
		if err := feed.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	feed.Close()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	want := []string{"+ 1 2 12", "+ 2 1 3"}
	if !slices.Equal(out, want) {
		t.Errorf("view changes = %q, want %q", out, want)
	}
	if _, ok := tables[MaterializeTable]; !ok || len(tables) != 2 {
		t.Errorf("state tables = %d (materialize present: %v), want the HashAgg's and the Materialize's", len(tables), ok)
	}
}
