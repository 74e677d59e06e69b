package planner

import (
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// TestPlanStream_TopN checks which filters on a rank become a TopN, with
// what N and flags, and which window functions a view refuses.
func TestPlanStream_TopN(t *testing.T) {
	tests := []struct {
		sql        string
		explain    []string // want these lines, in order
		appendOnly bool
		code       sqlerr.Code
		contains   string
	}{
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, url, rn FROM (SELECT user_id, url, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY amount DESC) AS rn FROM clicks) AS t WHERE rn <= 3",
			// ROW_NUMBER gives one row per partition and rank: the view's key.
			explain: []string{
				"Materialize key=(user_id, rn) state=0",
				"  Project user_id, url, rn",
				"    Project user_id, url, amount, row_number() AS rn",
				"      TopN row_number n=3 partition=[user_id] order=[amount DESC] state=1",
				"        Source clicks columns=[user_id, url, amount, ts] watermark=ts",
			}},
		// rn not read above: rank=unused; rn < 3 is n=2; the rest of the
		// WHERE stays a Filter over the kept rows.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, url FROM (SELECT user_id, url, amount, " +
			"RANK() OVER (PARTITION BY user_id ORDER BY amount) AS rn FROM clicks) AS t WHERE rn < 3 AND url <> 'x'",
			explain: []string{
				"Materialize key=(whole row, counted) state=0",
				"  Project user_id, url",
				"    Filter (url <> 'x')",
				"      Project user_id, url, amount, rank() AS rn",
				"        TopN rank n=2 partition=[user_id] order=[amount] rank=unused state=1",
			}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT user_id, amount, " +
			"DENSE_RANK() OVER (ORDER BY amount DESC) AS r FROM clicks) AS t WHERE r BETWEEN 2 AND 4",
			explain: []string{"    TopN dense_rank ranks=2..4 partition=[] order=[amount DESC] state=1"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT user_id, amount, " +
			"ROW_NUMBER() OVER (ORDER BY amount DESC) AS r FROM clicks) AS t WHERE 2 = r",
			explain: []string{"    TopN row_number ranks=2..2 partition=[] order=[amount DESC] state=1"}},
		// Deduplication keeping the first row per key: append-only.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, url, ts FROM (SELECT *, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts) AS rn FROM clicks) AS t WHERE rn = 1",
			appendOnly: true,
			explain: []string{
				"Materialize key=(append-only log) state=0",
				"      TopN row_number n=1 partition=[user_id] order=[ts] keep=first rank=unused state=1",
			}},
		// Keeping the last row: updates.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, url, ts FROM (SELECT *, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts DESC) AS rn FROM clicks) AS t WHERE rn = 1",
			explain: []string{"Materialize key=(user_id) state=0",
				"      TopN row_number n=1 partition=[user_id] order=[ts DESC] rank=unused state=1"}},
		// No key where a row of the view is not one partition's one rank:
		// the rank is dropped and n > 1, the partition is an expression or
		// is dropped, peers share a RANK, or there is no partition and one
		// rank (one row at most, but the codec needs a column).
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, url FROM (SELECT user_id, url, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY amount DESC) AS rn FROM clicks) AS t WHERE rn <= 3",
			explain: []string{"Materialize key=(whole row, counted) state=0"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT url, rn FROM (SELECT user_id, url, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY amount DESC) AS rn FROM clicks) AS t WHERE rn <= 3",
			explain: []string{"Materialize key=(whole row, counted) state=0"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, url, rn FROM (SELECT user_id, url, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id + 1 ORDER BY amount DESC) AS rn FROM clicks) AS t WHERE rn <= 3",
			explain: []string{"Materialize key=(whole row, counted) state=0"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, url, rn FROM (SELECT user_id, url, amount, " +
			"RANK() OVER (PARTITION BY user_id ORDER BY amount DESC) AS rn FROM clicks) AS t WHERE rn <= 3",
			explain: []string{"Materialize key=(whole row, counted) state=0"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT url FROM (SELECT url, amount, " +
			"ROW_NUMBER() OVER (ORDER BY amount DESC) AS rn FROM clicks) AS t WHERE rn = 1",
			explain: []string{"Materialize key=(whole row, counted) state=0"}},
		// Without a partition the rank alone is the key; columns renamed
		// and reordered on the way up are followed.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT r AS place, url FROM (SELECT url, amount, " +
			"ROW_NUMBER() OVER (ORDER BY amount DESC) AS r FROM clicks) AS t WHERE r <= 5",
			explain: []string{"Materialize key=(place) state=0"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT rn, url, u FROM (SELECT url, user_id AS u, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY amount DESC) AS rn FROM clicks) AS t WHERE rn BETWEEN 2 AND 3",
			explain: []string{"Materialize key=(u, rn) state=0"}},
		// Window top-N: the partition closes with its window.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT window_start, user_id, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY amount DESC) AS rn FROM TUMBLE(clicks, ts, INTERVAL '10' SECOND)) AS t WHERE rn <= 2",
			explain: []string{"    TopN row_number n=2 partition=[window_start] order=[amount DESC] closes=window_start+00:00:10 state=1",
				"      Window TUMBLE time=ts size=00:00:10"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT window_start, user_id, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY amount DESC) AS rn FROM TUMBLE(clicks, ts, INTERVAL '10' SECOND)) AS t WHERE rn <= 2 EMIT ON WINDOW CLOSE",
			appendOnly: true,
			explain:    []string{"    TopN row_number n=2 partition=[window_start] order=[amount DESC] closes=window_start+00:00:10 emit=on-window-close state=1"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT user_id, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY amount DESC) AS rn FROM clicks) AS t WHERE rn <= 2 EMIT ON WINDOW CLOSE",
			code: sqlerr.InvalidObjectDefinition, contains: "EMIT ON WINDOW CLOSE"},
		// Over a view (the README's example): spend's rows only insert.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT window_start, user_id, total, rn FROM (SELECT window_start, user_id, total, " +
			"ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY total DESC, user_id) AS rn FROM spend) AS t WHERE rn <= 3",
			explain: []string{"    TopN row_number n=3 partition=[window_start] order=[total DESC, user_id] closes=window_start+00:01:00 state=1"}},
		// Window top-N after a window aggregate: closes with the window.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT window_start, user_id, n, ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY n DESC, user_id) AS rn " +
			"FROM (SELECT window_start, user_id, COUNT(*) AS n FROM HOP(clicks, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE) GROUP BY window_start, user_id) AS a) AS t WHERE rn <= 3 EMIT ON WINDOW CLOSE",
			appendOnly: true,
			explain:    []string{"    TopN row_number n=3 partition=[window_start] order=[n DESC, user_id] closes=window_start+00:01:00 emit=on-window-close state=2"}},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT user_id, ROW_NUMBER() OVER (ORDER BY ts) AS rn FROM clicks) AS t WHERE rn < 1",
			code: sqlerr.InvalidObjectDefinition, contains: "keeps no rows"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT user_id, RANK() OVER (ORDER BY ts) AS rn FROM clicks) AS t WHERE rn BETWEEN 5 AND 3",
			code: sqlerr.InvalidObjectDefinition, contains: "keeps no rows"},
		// Not top-N: refused, naming what is supported.
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT user_id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts) AS rn FROM clicks",
			code: sqlerr.FeatureNotSupported, contains: "supported only as a top-N"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT user_id, ROW_NUMBER() OVER (ORDER BY ts) AS rn FROM clicks) AS t WHERE rn > 3",
			code: sqlerr.FeatureNotSupported, contains: "supported only as a top-N"},
		{sql: "CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT user_id, ROW_NUMBER() OVER (ORDER BY ts) AS rn FROM clicks) AS t WHERE rn <= 3 OR user_id = 1",
			code: sqlerr.FeatureNotSupported, contains: "supported only as a top-N"},
	}
	for _, tt := range tests {
		q, err := planSQL(t, tt.sql, Options{})
		var p *StreamPlan
		if err == nil {
			p, err = PlanStream(q, testViews(t))
		}
		if tt.code != "" {
			if err == nil || sqlerr.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("%s:\ngot error %v, want %s containing %q", tt.sql, err, tt.code, tt.contains)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.sql, err)
			continue
		}
		got := p.Explain()
		at := 0
		for _, want := range tt.explain {
			for at < len(got) && got[at] != want {
				at++
			}
			if at == len(got) {
				t.Errorf("%s:\nEXPLAIN lacks (in order) %q:\n%s", tt.sql, want, strings.Join(got, "\n"))
				break
			}
		}
		if p.AppendOnly() != tt.appendOnly {
			t.Errorf("%s: append-only %v, want %v", tt.sql, p.AppendOnly(), tt.appendOnly)
		}
	}
}
