package planner

import (
	"strings"
	"testing"
)

// TestPruneScanColumns_StreamPlan checks what a view's pipeline is told
// to decode: the source columns its plan reads (through a view it reads,
// too), and the EXPLAIN line of the source that shows them.
func TestPruneScanColumns_StreamPlan(t *testing.T) {
	tests := []struct {
		sql  string
		want string // the Source line of EXPLAIN
	}{
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id FROM clicks",
			"Source clicks columns=[user_id, ts] watermark=ts"},
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id, COUNT(*) AS n FROM clicks WHERE amount > 1 GROUP BY user_id",
			"Source clicks columns=[user_id, amount, ts] watermark=ts filter=(amount > 1)"},
		{"CREATE MATERIALIZED VIEW v AS SELECT * FROM clicks",
			"Source clicks watermark=ts"},
		// Scanned twice: one input feeds both branches, so neither WHERE is
		// pushed into it (they stay Filter operators).
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id FROM clicks WHERE amount > 1 UNION ALL SELECT user_id FROM clicks WHERE url = 'x'",
			"Source clicks columns=[user_id, url, amount, ts] watermark=ts"},
		// A view reads spend's changelog, every column of it: nothing of
		// clicks is decoded for it.
		{"CREATE MATERIALIZED VIEW v AS SELECT user_id FROM spend",
			"ChangelogScan spend"},
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
			lines := p.Explain()
			if got := strings.TrimSpace(lines[len(lines)-1]); got != tt.want {
				t.Errorf("source line = %q, want %q", got, tt.want)
			}
			if in := p.Inputs[0]; in.Needed != nil && len(in.Needed) != len(in.Source.Columns) {
				t.Errorf("Needed has %d entries for %d columns", len(in.Needed), len(in.Source.Columns))
			}
		})
	}
}
