package planner

import (
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// eowcKeys plans EMIT ON WINDOW CLOSE for an aggregate whose window is
// under a join (TUMBLE(a) JOIN TUMBLE(b) ON ... l.window_start =
// r.window_start, GROUP BY l.window_start): a group key that closes
// through the join (see closesAfter) is the window's end, as a WindowAgg
// needs it: window_end itself, or a hidden key of window_start plus the
// window's size. Without such a key the clause cannot be honoured and is
// refused, never ignored.
func (b *streamBuilder) eowcKeys(n *Aggregate) (keys []expr.Expr, end int, hidden bool, err error) {
	end = -1
	var after int64
	for i, k := range n.Keys {
		c, ok := k.(*expr.ColumnRef)
		if !ok || c.Typ.Kind != types.Timestamp {
			continue
		}
		a, closes := closesAfter(n.Input, c.Index, b.views)
		if closes && (end < 0 || a < after) {
			end, after = i, a
		}
	}
	if end < 0 {
		return nil, -1, false, sqlerr.Newf(sqlerr.FeatureNotSupported,
			"EMIT ON WINDOW CLOSE over a join needs a GROUP BY window bound that the join equates between its sides").
			WithHint("Join on the windows too (ON l.k = r.k AND l.window_start = r.window_start) and group by it, or leave out EMIT ON WINDOW CLOSE.")
	}
	if err := checkWatermarks(n.Input); err != nil {
		return nil, -1, false, err
	}
	keys = n.Keys
	if after == 0 {
		return keys, end, false, nil
	}
	// window_start closes a window's size after it: that is its end.
	closeAt, err := expr.NewCall("date_add", 0, n.Keys[end], &expr.Const{Value: types.NewInterval(0, after), Typ: types.TypeInterval})
	if err != nil {
		return nil, -1, false, err
	}
	keys = append(append([]expr.Expr(nil), keys...), closeAt)
	return keys, len(keys) - 1, true, nil
}

// checkWatermarks checks every window under n (through joins, filters and
// projections) as checkWatermark does: each must read a source's
// watermarked column, or its windows never close.
func checkWatermarks(n Node) error {
	if w, ok := n.(*Window); ok {
		return checkWatermark(w)
	}
	for _, in := range n.Children() {
		if err := checkWatermarks(in); err != nil {
			return err
		}
	}
	return nil
}
