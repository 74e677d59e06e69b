package planner

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// TestPartitionable plans views through the real planner and checks which
// can be split into parts by group key.
func TestPartitionable(t *testing.T) {
	const view = "CREATE MATERIALIZED VIEW v AS "
	tests := []struct {
		sql  string
		ok   bool
		why  string // part of the reason, when not ok
		fail bool   // Build with a part must refuse it
	}{
		{sql: "SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id", ok: true},
		{sql: "SELECT COUNT(*) AS n FROM clicks GROUP BY user_id", ok: true},
		{sql: "SELECT user_id, url, SUM(amount) FROM clicks WHERE amount > 1 GROUP BY user_id, url HAVING SUM(amount) > 2", ok: true},
		{sql: "SELECT DISTINCT url FROM clicks", ok: true},
		{sql: "SELECT u, COUNT(*) FROM (SELECT user_id + 1 AS u FROM clicks) AS t GROUP BY u", ok: true},
		{sql: "SELECT user_id, window_start, window_end, COUNT(*) FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) " +
			"GROUP BY user_id, window_start, window_end EMIT ON WINDOW CLOSE", ok: true},
		{sql: "SELECT url, window_start, COUNT(*) FROM HOP(clicks, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE) " +
			"GROUP BY url, window_start HAVING COUNT(*) > 1", ok: true},
		{sql: "SELECT user_id, window_end, COUNT(*) FROM SESSION(clicks, ts, INTERVAL '1' MINUTE) " +
			"WHERE amount > 0 GROUP BY window_end, user_id EMIT ON WINDOW CLOSE", ok: true},
		// One aggregate over two sources' rows.
		{sql: "SELECT user_id FROM clicks UNION SELECT user_id FROM users", ok: true},

		{sql: "SELECT user_id, amount FROM clicks WHERE amount > 1", why: "no keyed operator"},
		{sql: "SELECT user_id FROM clicks UNION ALL SELECT user_id FROM users", why: "no keyed operator"},
		{sql: "SELECT COUNT(*), SUM(amount) FROM clicks", why: "without GROUP BY"},
		{sql: "SELECT window_start, COUNT(*) FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) GROUP BY window_start", why: "window alone"},
		{sql: "SELECT window_start, window_end, COUNT(*) FROM SESSION(clicks, ts, INTERVAL '1' MINUTE) GROUP BY window_start, window_end", why: "window alone"},
		{sql: "SELECT user_id, n FROM spend WHERE n > 2", why: "changelog of view spend"},
		{sql: "SELECT user_id, SUM(n) FROM spend GROUP BY user_id", why: "changelog"},
		{sql: "SELECT user_id, n FROM spend UNION ALL SELECT user_id, 1 FROM clicks", why: "changelog"},
		{sql: "SELECT c.user_id, COUNT(*) FROM clicks AS c JOIN users AS u ON c.user_id = u.user_id GROUP BY c.user_id", why: "join"},
		{sql: "SELECT c.user_id, u.signup FROM clicks AS c JOIN users AS u ON c.user_id = u.user_id", why: "join"},
		{sql: "SELECT n, COUNT(*) FROM (SELECT user_id, COUNT(*) AS n FROM clicks GROUP BY user_id) AS t GROUP BY n", why: "more than one aggregate"},
		{sql: "SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id UNION ALL SELECT user_id, COUNT(*) FROM users GROUP BY user_id", why: "more than one aggregate"},
		{sql: "SELECT user_id, url, rn FROM (SELECT user_id, url, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY amount DESC) AS rn FROM clicks) AS t WHERE rn <= 3", why: "top-N"},
		// A top-N over the aggregate re-keys on window_start.
		{sql: "SELECT * FROM (SELECT window_start, user_id, n, ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY n DESC, user_id) AS rn " +
			"FROM (SELECT window_start, user_id, COUNT(*) AS n FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) GROUP BY window_start, user_id) AS a) AS t WHERE rn <= 3", why: "top-N"},
		{sql: "SELECT user_id, ts, AVG(amount) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS a FROM clicks", why: "OVER"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			p := planView(t, view+tt.sql)
			ok, why := Partitionable(p)
			if ok != tt.ok || !strings.Contains(why, tt.why) || (!ok && why == "") {
				t.Fatalf("Partitionable = %v %q, want %v containing %q", ok, why, tt.ok, tt.why)
			}
			if ok {
				return
			}
			// Building a part of it is refused, not silently wrong.
			g := exec.NewGraph(exec.GraphOptions{})
			ins := make([]exec.NodeID, len(p.Inputs))
			for i := range ins {
				ins[i], _ = g.Input(fmt.Sprint("in", i))
			}
			opts := BuildOptions{}
			opts.Part.Index, opts.Part.Count = 1, 4
			if _, err := p.Build(g, ins, func(uint32) exec.StateTable { return exec.NewMemTable() }, opts); err == nil || !strings.Contains(err.Error(), "not partitionable") {
				t.Errorf("Build of part 1/4: error %v, want not partitionable", err)
			}
		})
	}
}

// TestPart_BuildRefusesBadPart checks Build's check of the part itself.
func TestPart_BuildRefusesBadPart(t *testing.T) {
	p := planView(t, "CREATE MATERIALIZED VIEW v AS SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id")
	for _, part := range []exec.Part{{Index: 4, Count: 4}, {Index: -1, Count: 2}, {Index: 0, Count: exec.KeyGroups + 1}} {
		g := exec.NewGraph(exec.GraphOptions{})
		in, _ := g.Input("clicks")
		opts := BuildOptions{}
		opts.Part = part
		if _, err := p.Build(g, []exec.NodeID{in}, func(uint32) exec.StateTable { return exec.NewMemTable() }, opts); err == nil {
			t.Errorf("part %+v: built, want refused", part)
		}
	}
}

// planView plans a CREATE MATERIALIZED VIEW statement through the real
// planner to its stream plan, failing the test on any error.
func planView(t *testing.T, sql string) *StreamPlan {
	t.Helper()
	q, err := planSQL(t, sql, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanStream(q, testViews(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// partRun is what one run of a view's graph left: the view's rows (each
// with its multiplicity) and every stateful operator's state by id.
type partRun struct {
	rows  map[string]int
	state map[uint32]map[string]string
}

// runPart builds p (part index of count; count 0 for the whole view),
// feeds it the clicks rows in batches, each followed by a watermark 5
// seconds behind the latest time and a barrier, then a watermark past
// every window, and returns the view's contents and state.
func runPart(t *testing.T, p *StreamPlan, rows []types.Row, index, count int, errs *exec.ExprErrors) partRun {
	t.Helper()
	g := exec.NewGraph(exec.GraphOptions{})
	in, feed := g.Input("clicks")
	tables := map[uint32]*exec.MemTable{}
	opts := BuildOptions{Errs: errs}
	opts.Part.Index, opts.Part.Count = index, count
	mat, err := p.Build(g, []exec.NodeID{in}, func(op uint32) exec.StateTable {
		tables[op] = exec.NewMemTable()
		return tables[op]
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	run := partRun{rows: map[string]int{}, state: map[uint32]map[string]string{}}
	g.Observe(mat, func(m exec.Message) error {
		if m.Kind != exec.KindBatch {
			return nil
		}
		for i := 0; i < m.Batch.Len(); i++ {
			sign := 1
			if op := m.Batch.Op(i); op == exec.Delete || op == exec.UpdateDelete {
				sign = -1
			}
			run.rows[fmtRow(m.Batch.Row(i))] += sign
		}
		return nil
	})
	ctx := context.Background()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	send := func(m exec.Message) {
		if err := feed.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	const batch = 50
	var maxTS int64
	epoch := uint64(0)
	for start := 0; start < len(rows); start += batch {
		b := exec.NewBatch(batch)
		for _, row := range rows[start:min(start+batch, len(rows))] {
			if keep, err := p.Inputs[0].Keep(row, &expr.Env{}); err != nil || !keep {
				continue
			}
			b.Append(exec.Insert, slices.Clone(row))
			maxTS = max(maxTS, row[3].Int())
		}
		epoch++
		send(exec.Message{Kind: exec.KindBatch, Batch: b})
		send(exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: maxTS - 5e6}})
		send(exec.Message{Kind: exec.KindBarrier, Barrier: exec.Barrier{Epoch: epoch}})
	}
	send(exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: maxTS + 3600e6}})
	send(exec.Message{Kind: exec.KindBarrier, Barrier: exec.Barrier{Epoch: epoch + 1}})
	feed.Close()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for k, n := range run.rows {
		if n < 0 {
			t.Fatalf("row %s has multiplicity %d", k, n)
		}
		if n == 0 {
			delete(run.rows, k)
		}
	}
	for op, tb := range tables {
		if op == MaterializeTable {
			continue
		}
		kv := map[string]string{}
		if err := tb.Scan(nil, nil, func(k, v []byte) error { kv[string(k)] = string(v); return nil }); err != nil {
			t.Fatal(err)
		}
		run.state[op] = kv
	}
	return run
}

func fmtRow(r types.Row) string {
	parts := make([]string, len(r))
	for i, v := range r {
		if v.IsNull() {
			parts[i] = "NULL"
		} else {
			parts[i] = v.String()
		}
	}
	return strings.Join(parts, " | ")
}

// partRows makes n clicks rows: user ids and urls with NULLs, strings
// that differ only in case or by an accent, 0 and -0, times mostly in
// order with some disorder and some rows late past the watermark.
func partRows(n int) []types.Row {
	rng := rand.New(rand.NewPCG(18, 42))
	urls := []string{"/a", "/A", "/é", "/e", "", "/b/c", "/long/" + strings.Repeat("x", 40)}
	negZero := 0.0
	negZero = -negZero
	amounts := []float64{0, negZero, 1.5, 2, -3.25, 100, 7}
	base := int64(1_700_000_000_000_000)
	rows := make([]types.Row, n)
	for i := range rows {
		user := types.NewInt(int64(rng.IntN(40)))
		if rng.IntN(10) == 0 {
			user = types.Null
		}
		url := types.NewString(urls[rng.IntN(len(urls))])
		if rng.IntN(12) == 0 {
			url = types.Null
		}
		amount := types.NewFloat(amounts[rng.IntN(len(amounts))])
		if rng.IntN(15) == 0 {
			amount = types.Null
		}
		ts := base + int64(i)*100_000 - rng.Int64N(3_000_000)
		if rng.IntN(50) == 0 {
			ts -= 30_000_000 // late: behind the watermark
		}
		rows[i] = types.Row{user, url, amount, types.NewTimestamp(ts), types.Null}
	}
	return rows
}

// TestPart_UnionOfPartsIsTheView runs GROUP BY views whole and in parts
// over the same rows: the parts' views, added up, are the whole view's;
// every aggregate state key (so every group) is in exactly one part and
// in that part's key groups; and the state is the whole run's.
func TestPart_UnionOfPartsIsTheView(t *testing.T) {
	views := []string{
		"SELECT user_id, COUNT(*) AS n, COUNT(amount) AS na, SUM(amount) AS s, AVG(amount) AS a, MIN(amount) AS lo, MAX(url) AS hi FROM clicks GROUP BY user_id",
		"SELECT user_id, url, COUNT(*), MIN(ts), MAX(amount) FROM clicks WHERE amount IS NOT NULL GROUP BY user_id, url",
		"SELECT amount, COUNT(*) FROM clicks GROUP BY amount",
		"SELECT COUNT(*) AS n FROM clicks GROUP BY url",
		"SELECT LOWER(url) AS l, user_id % 3 AS m, SUM(amount), COUNT(DISTINCT user_id) FROM clicks GROUP BY LOWER(url), user_id % 3",
		"SELECT DISTINCT url, user_id FROM clicks",
		"SELECT user_id, window_start, window_end, COUNT(*), SUM(amount) FROM TUMBLE(clicks, ts, INTERVAL '10' SECOND) GROUP BY user_id, window_start, window_end",
		"SELECT user_id, url, window_start, COUNT(*), MIN(amount), MAX(amount) FROM TUMBLE(clicks, ts, INTERVAL '10' SECOND) " +
			"GROUP BY user_id, url, window_start EMIT ON WINDOW CLOSE",
		"SELECT url, window_start, COUNT(*) AS n FROM HOP(clicks, ts, INTERVAL '5' SECOND, INTERVAL '20' SECOND) GROUP BY url, window_start HAVING COUNT(*) > 1",
		"SELECT user_id, window_start, window_end, COUNT(*), MAX(amount) FROM SESSION(clicks, ts, INTERVAL '2' SECOND) " +
			"GROUP BY user_id, window_start, window_end EMIT ON WINDOW CLOSE",
		"SELECT user_id, window_start, window_end, COUNT(*) FROM SESSION(clicks, ts, INTERVAL '2' SECOND) GROUP BY user_id, window_start, window_end",
	}
	rows := partRows(3000)
	for _, v := range views {
		t.Run(v, func(t *testing.T) {
			p := planView(t, "CREATE MATERIALIZED VIEW v AS "+v)
			if ok, why := Partitionable(p); !ok {
				t.Fatalf("not partitionable: %s", why)
			}
			whole := runPart(t, p, rows, 0, 0, nil)
			if len(whole.rows) < 5 {
				t.Fatalf("the whole view has %d rows: too few to tell", len(whole.rows))
			}
			for _, count := range []int{3, 8} {
				sum := map[string]int{}
				state := map[uint32]map[string]string{}
				nonEmpty := 0
				for r := 0; r < count; r++ {
					part := runPart(t, p, rows, r, count, nil)
					if len(part.rows) > 0 {
						nonEmpty++
					}
					for k, n := range part.rows {
						sum[k] += n
					}
					for op, kv := range part.state {
						if state[op] == nil {
							state[op] = map[string]string{}
						}
						for k, val := range kv {
							if kg := uint16(k[0])<<8 | uint16(k[1]); kg < exec.KeyGroups && !(exec.Part{Index: r, Count: count}).HasKeyGroup(kg) {
								t.Errorf("%d parts: part %d keeps state of key group %d", count, r, kg)
							}
							if k[0] == 0xFF && k[1] == 0xFF {
								continue // operator metadata, in every part
							}
							if _, dup := state[op][k]; dup {
								t.Errorf("%d parts: state key %q of operator %d in two parts", count, k, op)
							}
							state[op][k] = val
						}
					}
				}
				if nonEmpty < 2 {
					t.Errorf("%d parts: only %d have rows", count, nonEmpty)
				}
				if !maps.Equal(sum, whole.rows) {
					t.Errorf("%d parts: union of the parts' views (%d rows) differs from the whole view (%d rows):\n%s",
						count, len(sum), len(whole.rows), diffRows(sum, whole.rows))
				}
				for op, kv := range whole.state {
					for k := range kv {
						if k[0] == 0xFF && k[1] == 0xFF {
							delete(kv, k)
						}
					}
					if !maps.Equal(state[op], kv) {
						t.Errorf("%d parts: operator %d state: %d keys in the parts, %d in the whole", count, op, len(state[op]), len(kv))
					}
				}
			}
		})
	}
}

// TestPart_KeyErrorsCountedOnce checks that a GROUP BY key's warnings and
// errors are counted by the one part that keeps the row: the parts' counts
// add up to the whole view's, and the views agree.
func TestPart_KeyErrorsCountedOnce(t *testing.T) {
	rows := partRows(1000)
	for _, v := range []string{
		"SELECT url + 0 AS u, COUNT(*) FROM clicks GROUP BY url + 0",
		"SELECT CAST(url AS DATE) AS d, user_id, COUNT(*) FROM clicks GROUP BY CAST(url AS DATE), user_id",
	} {
		t.Run(v, func(t *testing.T) {
			p := planView(t, "CREATE MATERIALIZED VIEW v AS "+v)
			var wholeErrs exec.ExprErrors
			whole := runPart(t, p, rows, 0, 0, &wholeErrs)
			if wholeErrs.Count() == 0 {
				t.Fatalf("the whole view counted no key errors: the test tests nothing")
			}
			const count = 4
			var sum int64
			union := map[string]int{}
			for r := 0; r < count; r++ {
				var errs exec.ExprErrors
				part := runPart(t, p, rows, r, count, &errs)
				sum += errs.Count()
				for k, n := range part.rows {
					union[k] += n
				}
			}
			if sum != wholeErrs.Count() {
				t.Errorf("the parts counted %d key errors, the whole view %d", sum, wholeErrs.Count())
			}
			if !maps.Equal(union, whole.rows) {
				t.Errorf("union of the parts differs from the whole view:\n%s", diffRows(union, whole.rows))
			}
		})
	}
}

func diffRows(got, want map[string]int) string {
	var out []string
	for k, n := range got {
		if want[k] != n {
			out = append(out, fmt.Sprintf("parts %d, whole %d: %s", n, want[k], k))
		}
	}
	for k, n := range want {
		if _, ok := got[k]; !ok {
			out = append(out, fmt.Sprintf("parts 0, whole %d: %s", n, k))
		}
	}
	slices.Sort(out)
	if len(out) > 10 {
		out = append(out[:10], "...")
	}
	return strings.Join(out, "\n")
}

// TestPartOfShard checks that shard ids of Kinesis's form spread
// round-robin and that every id maps into range, the same each time.
func TestPartOfShard(t *testing.T) {
	counts := make([]int, 8)
	for i := 0; i < 8; i++ {
		counts[PartOfShard(fmt.Sprintf("shardId-%012d", i), 8)]++
	}
	for r, n := range counts {
		if n != 1 {
			t.Errorf("8 shards over 8 parts: part %d has %d", r, n)
		}
	}
	for _, id := range []string{"shardId-000000000013", "odd", "", "a-b-c", "shardId-x"} {
		for _, count := range []int{0, 1, 3, 8} {
			got := PartOfShard(id, count)
			if got < 0 || (count > 1 && got >= count) || (count <= 1 && got != 0) || PartOfShard(id, count) != got {
				t.Errorf("PartOfShard(%q, %d) = %d", id, count, got)
			}
		}
	}
	if got := PartOfShard("shardId-000000000013", 8); got != 5 {
		t.Errorf("PartOfShard(shardId-000000000013, 8) = %d, want 13 mod 8 = 5", got)
	}
}
