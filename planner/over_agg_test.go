package planner

import (
	"errors"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// TestPlanStream_OverAgg checks which OVER aggregates a materialized view
// takes, and what EXPLAIN shows of them.
func TestPlanStream_OverAgg(t *testing.T) {
	const view = "CREATE MATERIALIZED VIEW v AS "
	tests := []struct {
		sql      string
		explain  []string // the plan's lines, when it plans
		code     sqlerr.Code
		contains string
	}{
		{sql: "SELECT user_id, ts, AVG(amount) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS a, " +
			"MAX(amount) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS m FROM clicks",
			explain: []string{
				"Materialize key=(append-only log) state=0",
				"  Project user_id, ts, avg(amount) ROWS BETWEEN 10 PRECEDING AND CURRENT ROW AS a, max(amount) ROWS BETWEEN 10 PRECEDING AND CURRENT ROW AS m",
				"    OverAgg partition=[user_id] order=[ts] frame=ROWS BETWEEN 10 PRECEDING AND CURRENT ROW aggs=[avg(amount), max(amount)] emit=on-watermark state=1",
				"      Source clicks columns=[user_id, amount, ts] watermark=ts",
			}},
		{sql: "SELECT ts, COUNT(*) OVER (PARTITION BY url ORDER BY ts RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS n FROM clicks WHERE amount > 0",
			explain: []string{
				"Materialize key=(append-only log) state=0",
				"  Project ts, count(*) RANGE BETWEEN INTERVAL 00:01:00 PRECEDING AND CURRENT ROW AS n",
				"    OverAgg partition=[url] order=[ts] frame=RANGE BETWEEN INTERVAL 00:01:00 PRECEDING AND CURRENT ROW aggs=[count(*)] emit=on-watermark state=1",
				"      Source clicks columns=[url, amount, ts] watermark=ts filter=(amount > 0)",
			}},
		// Over the closed windows of an aggregate: window_end is event time.
		{sql: "SELECT user_id, window_end, SUM(n) OVER (PARTITION BY user_id ORDER BY window_end ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s " +
			"FROM (SELECT user_id, window_end, COUNT(*) AS n FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start, window_end) AS w EMIT ON WINDOW CLOSE"},
		{sql: "SELECT user_id, window_end, SUM(n) OVER (PARTITION BY user_id ORDER BY window_end ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s " +
			"FROM (SELECT user_id, window_end, COUNT(*) AS n FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start, window_end) AS w",
			code: sqlerr.FeatureNotSupported, contains: "needs an append-only input"},
		{sql: "SELECT user_id, SUM(n) OVER (PARTITION BY user_id ORDER BY c ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s " +
			"FROM (SELECT user_id, COUNT(*) AS n, MAX(ts) AS c FROM clicks GROUP BY user_id) AS g",
			code: sqlerr.FeatureNotSupported, contains: "event-time column"},
		{sql: "SELECT SUM(amount) OVER (PARTITION BY user_id ORDER BY ts) AS s FROM clicks",
			code: sqlerr.FeatureNotSupported, contains: "unbounded frame"},
		{sql: "SELECT SUM(amount) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s FROM clicks",
			code: sqlerr.FeatureNotSupported, contains: "unbounded frame"},
		{sql: "SELECT SUM(amount) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s, " +
			"MIN(amount) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS m FROM clicks",
			code: sqlerr.FeatureNotSupported, contains: "share one frame"},
		{sql: "SELECT SUM(amount) OVER (PARTITION BY user_id ORDER BY amount ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s FROM clicks",
			code: sqlerr.FeatureNotSupported, contains: "event-time column"},
		{sql: "SELECT SUM(amount) OVER (PARTITION BY user_id ORDER BY ts DESC ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s FROM clicks",
			code: sqlerr.FeatureNotSupported, contains: "ascending"},
		// docs/sql.md's examples.
		{sql: "SELECT user_id, ts, amount, AVG(amount) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS avg10, " +
			"MAX(amount) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) AS max10 FROM clicks"},
		{sql: "SELECT user_id, window_end, n, SUM(n) OVER (PARTITION BY user_id ORDER BY window_end RANGE BETWEEN INTERVAL '2' MINUTE PRECEDING AND CURRENT ROW) AS n3 " +
			"FROM (SELECT user_id, window_end, COUNT(*) AS n FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start, window_end) AS m EMIT ON WINDOW CLOSE"},
		// A source without a WATERMARK: rows would never be emitted.
		{sql: "SELECT COUNT(*) OVER (ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS n FROM (SELECT CAST(signup AS DATETIME) AS t FROM users) AS u",
			code: sqlerr.FeatureNotSupported, contains: "event-time column"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			q, err := planSQL(t, view+tt.sql, Options{})
			if err == nil {
				var p *StreamPlan
				if p, err = PlanStream(q, testViews(t)); err == nil {
					if tt.code != "" {
						t.Fatalf("planned; want error %s", tt.code)
					}
					if !p.AppendOnly() {
						t.Errorf("plan is not append-only")
					}
					if got := p.Explain(); tt.explain != nil && strings.Join(got, "\n") != strings.Join(tt.explain, "\n") {
						t.Errorf("EXPLAIN:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.explain, "\n"))
					}
					return
				}
			}
			var se *sqlerr.Error
			if !errors.As(err, &se) || se.Code != tt.code || !strings.Contains(se.Message, tt.contains) {
				t.Fatalf("error = %v, want %s containing %q", err, tt.code, tt.contains)
			}
		})
	}
}
