package planner

import "testing"

func TestStreamPlan_AppendOnly(t *testing.T) {
	tests := []struct {
		sql  string
		want bool
	}{
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id, amount FROM clicks WHERE amount > 1", true},
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id, amount * 2 AS a FROM clicks", true},
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id, window_start, COUNT(*) FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) " +
			"GROUP BY user_id, window_start EMIT ON WINDOW CLOSE", true},
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id, window_end, COUNT(*) FROM SESSION(clicks, ts, INTERVAL '1' MINUTE) " +
			"WHERE amount > 0 GROUP BY window_end, user_id EMIT ON WINDOW CLOSE", true},
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id, window_start, COUNT(*) FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) " +
			"GROUP BY user_id, window_start", false},
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id", false},
		{"CREATE MATERIALIZED VIEW v AS SELECT DISTINCT url FROM clicks", false},
		// spend updates its windows, so a filter over it does too.
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id, n FROM spend WHERE n > 2", false},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			q, err := planSQL(t, tt.sql, Options{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := PlanStream(q, testViews(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.AppendOnly(); got != tt.want {
				t.Errorf("AppendOnly() = %v, want %v", got, tt.want)
			}
		})
	}
}
