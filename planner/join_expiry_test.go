package planner

import (
	"testing"

	"github.com/streamsql/streamsql/exec"
)

// TestPlanInterval checks which sides of a join expire their rows, after
// what, and which sides drop late rows, worked out by hand from each
// condition: a side expires when the condition caps the other side's time
// by its own plus a constant c and no row of the other side at or under
// the cap can still come: an append-only side drops its rows behind the
// watermark (after c + 1 µs: the cap is passed once the watermark is
// beyond it), a window bound closes (after c plus its closing delay).
// The side's own rows must never change (a source) or close too.
func TestPlanInterval(t *testing.T) {
	const win = "(SELECT user_id, MAX(amount) AS top, window_start, window_end FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE) " +
		"GROUP BY user_id, window_start, window_end) w"
	const minute, sec = int64(60e6), int64(1e6)
	none := exec.JoinExpiry{}
	exp := func(col int, after int64) exec.JoinExpiry { return exec.JoinExpiry{Set: true, Col: col, After: after} }
	late := func(col int) exec.JoinLate { return exec.JoinLate{Set: true, Col: col} }
	tests := []struct {
		name        string
		sql         string
		left, right exec.JoinExpiry
		late        [2]exec.JoinLate
	}{
		{name: "between window bounds (q7)", sql: "SELECT c.url FROM clicks c JOIN " + win + " ON c.amount = w.top " +
			"WHERE c.ts BETWEEN w.window_end - INTERVAL '1' MINUTE AND w.window_end",
			// window_end ≤ ts + 1 min, window_end closing at once: clicks
			// expire a minute after their time. ts ≤ window_end, clicks
			// late behind the watermark: a window row expires 1 µs past
			// its end (it closes then too).
			left: exp(3, minute), right: exp(3, 1), late: [2]exec.JoinLate{late(3), {}}},
		{name: "window start, closing a minute after it", sql: "SELECT c.url FROM clicks c JOIN " + win + " ON c.user_id = w.user_id " +
			"AND c.ts >= w.window_start AND c.ts < w.window_end",
			// window_start ≤ ts: closes a minute after it. ts < window_end:
			// a window row expires when its end (and start + 1 min) passed.
			left: exp(3, minute), right: exp(3, 1), late: [2]exec.JoinLate{late(3), {}}},
		{name: "sides swapped, offset on the source", sql: "SELECT c.url FROM " + win + " JOIN clicks c ON c.user_id = w.user_id " +
			"AND w.window_end > c.ts - INTERVAL '30' SECOND",
			// ts < window_end + 30 s: window rows expire 30 s + 1 µs past
			// their end; nothing caps window_end.
			left: exp(3, 30*sec+1), right: none, late: [2]exec.JoinLate{{}, late(3)}},
		{name: "no time condition", sql: "SELECT c.url FROM clicks c JOIN " + win + " ON c.user_id = w.user_id",
			left: none, right: none},
		{name: "two sources, BETWEEN", sql: "SELECT c.url FROM clicks c JOIN clicks d ON c.user_id = d.user_id " +
			"AND d.ts BETWEEN c.ts - INTERVAL '5' SECOND AND c.ts + INTERVAL '10' SECOND",
			// d ≤ c + 10 s: c expires 10 s + 1 µs after; c ≤ d + 5 s: d
			// expires 5 s + 1 µs after; both late behind the watermark.
			left: exp(3, 10*sec+1), right: exp(3, 5*sec+1), late: [2]exec.JoinLate{late(3), late(3)}},
		{name: "two sources, strict bounds", sql: "SELECT c.url FROM clicks c JOIN clicks d ON c.user_id = d.user_id " +
			"AND d.ts > c.ts AND d.ts < c.ts + INTERVAL '10' SECOND",
			// c < d: d expires 1 µs after its time (0 + 1 µs).
			left: exp(3, 10*sec+1), right: exp(3, 1), late: [2]exec.JoinLate{late(3), late(3)}},
		{name: "two sources, one bound", sql: "SELECT c.url FROM clicks c JOIN clicks d ON c.user_id = d.user_id " +
			"AND d.ts <= c.ts + INTERVAL '10' SECOND",
			// Only c expires; d, whose partners are capped by nothing, stays.
			left: exp(3, 10*sec+1), right: none, late: [2]exec.JoinLate{{}, late(3)}},
		{name: "an outer join keeps everything", sql: "SELECT c.url FROM clicks c LEFT JOIN clicks d ON c.user_id = d.user_id " +
			"AND d.ts BETWEEN c.ts AND c.ts + INTERVAL '10' SECOND",
			left: none, right: none},
		{name: "an updating side whose time does not close", sql: "SELECT s.n FROM spend s JOIN " + win + " ON s.user_id = w.user_id " +
			"AND s.window_start BETWEEN w.window_end - INTERVAL '1' MINUTE AND w.window_end",
			// spend's window_start closes a minute after it (its TUMBLE's
			// size): expiring after max(1 min, 1 min); the window side
			// after max(0 + 1 min, 0).
			left: exp(1, minute), right: exp(3, minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := planSQL(t, tt.sql, Options{})
			if err != nil {
				t.Fatal(err)
			}
			j := findJoin(q.root)
			if j == nil {
				t.Fatal("no join in the plan")
			}
			s, err := splitJoin(j)
			if err != nil {
				t.Fatal(err)
			}
			got := planInterval(j, s, false, testViews(t))
			if got.expire[0] != tt.left || got.expire[1] != tt.right || got.late != tt.late {
				t.Errorf("expire = %+v, late = %+v; want left %+v, right %+v, late %+v (cond %v)", got.expire, got.late, tt.left, tt.right, tt.late, s.residual)
			}
		})
	}
}

func findJoin(n Node) *Join {
	if j, ok := n.(*Join); ok {
		return j
	}
	for _, in := range n.Children() {
		if j := findJoin(in); j != nil {
			return j
		}
	}
	return nil
}
