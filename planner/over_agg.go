package planner

import (
	"fmt"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Aggregates OVER a frame: in a continuous query an exec.OverAgg (Flink's
// event-time OVER aggregation), in a one-off SELECT overAggPartition.

const overFrameHint = "Write SUM/COUNT/AVG/MIN/MAX(x) OVER (PARTITION BY ... ORDER BY <event time> " +
	"ROWS BETWEEN n PRECEDING AND CURRENT ROW), or RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW."

// overAgg plans an Over whose functions are all aggregates as an OverAgg:
// rows ordered by an event-time column, each emitted once the watermark
// passes its time, with its frame's aggregates.
func (b *streamBuilder) overAgg(n *Over, eowc bool) (exec.NodeID, error) {
	frame, err := checkStreamOver(n, b.views)
	if err != nil {
		return 0, err
	}
	if !appendOnly(n.Input, eowc, b.views) {
		return 0, sqlerr.Newf(sqlerr.FeatureNotSupported,
			"an OVER aggregate in a materialized view needs an append-only input: its input updates or retracts rows it emitted "+
				"(an aggregate without EMIT ON WINDOW CLOSE, an outer join, a view that updates), and a row already emitted with its frame cannot be taken back").
			WithHint("Aggregate over TUMBLE/HOP windows with EMIT ON WINDOW CLOSE below the OVER, or apply OVER to the source's rows.")
	}
	in, err := b.op(n.Input, eowc)
	if err != nil {
		return 0, err
	}
	o := exec.OverAggOptions{TimeCol: n.OrderBy[0].Expr.(*expr.ColumnRef).Index, Rows: frame.Kind == FrameRows,
		Preceding: frame.Preceding, Env: &b.env, Errs: b.errs, PartitionTexts: exprTexts(n.PartitionBy), Budget: b.cacheBudget}
	if o.Partition, err = compileAll(n.PartitionBy); err != nil {
		return 0, err
	}
	aggs := make([]*expr.Agg, len(n.Funcs))
	for i, f := range n.Funcs {
		aggs[i] = f.Agg
	}
	o.Aggs = aggs
	op, err := exec.NewOverAgg(o)
	if err != nil {
		return 0, err
	}
	detail := fmt.Sprintf("partition=[%s] order=[%s] frame=%s aggs=[%s] emit=on-watermark",
		joinExprs(n.PartitionBy), orderString(n.OrderBy), frame, joinAggs(aggs))
	return b.stateful("OverAgg", detail, op, in), nil
}

// checkStreamOver checks what a continuous OVER aggregation needs and
// returns the frame its functions share.
func checkStreamOver(n *Over, views func(string) (*Query, bool)) (Frame, error) {
	var frame Frame
	for i, f := range n.Funcs {
		if f.Kind != OverAgg {
			return Frame{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "%s in a materialized view is not supported beside OVER aggregates of the same window", f)
		}
		if err := exec.CheckOverAgg(f.Agg); err != nil {
			return Frame{}, err
		}
		if f.Frame.Kind == FrameDefault || f.Frame.Preceding < 0 {
			return Frame{}, sqlerr.Newf(sqlerr.FeatureNotSupported,
				"%s OVER an unbounded frame is not supported in a materialized view: its state would grow without bound", f.Agg).
				WithHint(overFrameHint)
		}
		if i == 0 {
			frame = f.Frame
		} else if f.Frame != frame {
			return Frame{}, sqlerr.Newf(sqlerr.FeatureNotSupported,
				"OVER aggregates of one window must share one frame in a materialized view: %s and %s differ", n.Funcs[0], f).
				WithHint("Compute the other frame in a second view over the same source.")
		}
	}
	if len(n.OrderBy) != 1 || n.OrderBy[0].Desc {
		return Frame{}, sqlerr.Newf(sqlerr.FeatureNotSupported,
			"an OVER aggregate in a materialized view needs ORDER BY one event-time column, ascending: rows are taken in time order as the watermark passes").
			WithHint(overFrameHint)
	}
	c, ok := n.OrderBy[0].Expr.(*expr.ColumnRef)
	if !ok || c.Typ.Kind != types.Timestamp || !eventTime(n.Input, c.Index, views) {
		return Frame{}, sqlerr.Newf(sqlerr.FeatureNotSupported,
			"an OVER aggregate in a materialized view needs ORDER BY an event-time column (a source's WATERMARK column, or window_start/window_end over one): %s is not one", n.OrderBy[0].Expr).
			WithHint("Declare WATERMARK FOR <time column> in the source and order by that column.")
	}
	return frame, nil
}

// eventTime reports whether column col of n carries an event time that
// the watermark flowing out of n describes: a source's WATERMARK column,
// or a window bound over one, passed through unchanged.
func eventTime(n Node, col int, views func(string) (*Query, bool)) bool {
	switch n := n.(type) {
	case *Scan:
		if n.Relation.Kind == "source" {
			return n.Relation.WatermarkColumn != "" && n.Relation.Columns[col].Name == n.Relation.WatermarkColumn
		}
		vq, ok := views(n.Relation.Name)
		return ok && eventTime(vq.root, col, views)
	case *Filter:
		return eventTime(n.Input, col, views)
	case *Project:
		c, ok := n.Exprs[col].(*expr.ColumnRef)
		return ok && eventTime(n.Input, c.Index, views)
	case *Window:
		if in := len(n.Input.Columns()); col < in {
			return eventTime(n.Input, col, views)
		}
		return eventTime(n.Input, n.TimeCol, views)
	case *Aggregate:
		if col >= len(n.Keys) || !n.Windowed {
			return false
		}
		c, ok := n.Keys[col].(*expr.ColumnRef)
		return ok && eventTime(n.Input, c.Index, views)
	case *Join:
		if l := len(n.Left.Columns()); col < l {
			return eventTime(n.Left, col, views)
		} else {
			return eventTime(n.Right, col-l, views)
		}
	case *Over:
		return col < len(n.Input.Columns()) && eventTime(n.Input, col, views)
	case *UnionAll:
		for _, in := range n.Inputs {
			if !eventTime(in, col, views) {
				return false
			}
		}
		return true
	}
	return false
}

// overAggsOnly reports whether every function of n is an aggregate (the
// ranking functions are top-N's, topn.go).
func overAggsOnly(n *Over) bool {
	for _, f := range n.Funcs {
		if f.Kind != OverAgg {
			return false
		}
	}
	return true
}

// overAggAppendOnly reports whether an Over only inserts: OVER aggregates
// emit each row once, with its frame's values, over an append-only input.
func overAggAppendOnly(n *Over, eowc bool, views func(string) (*Query, bool)) bool {
	return overAggsOnly(n) && appendOnly(n.Input, eowc, views)
}

// overAggPartition computes an aggregate over each row's frame in a
// partition sorted by the window's ORDER BY, for the batch evaluator.
// A frame bounded below is summed afresh per row (bounded work per row);
// one that starts at the partition's first row grows as the rows go.
func overAggPartition(f *OverFunc, order []OverOrder) (exec.PartitionFunc, error) {
	var arg expr.Func
	if f.Agg.Arg != nil {
		var err error
		if arg, err = expr.Compile(f.Agg.Arg); err != nil {
			return nil, err
		}
	}
	fr := f.Frame
	desc := len(order) == 1 && order[0].Desc
	return func(p *exec.Partition, env *expr.Env, out []types.Value) error {
		vals := make([]types.Value, len(p.Rows))
		for i, r := range p.Rows {
			if arg == nil {
				continue // COUNT(*): Add ignores the value
			}
			v, err := arg(r, env)
			if err != nil {
				return err
			}
			vals[i] = v
		}
		// frame returns row i's frame [lo, hi).
		frame := func(i int) (int, int) {
			switch fr.Kind {
			case FrameRows:
				if fr.Preceding < 0 {
					return 0, i + 1
				}
				return max(0, i-int(fr.Preceding)), i + 1
			case FrameRange:
				if fr.Preceding < 0 {
					return 0, p.PeerEnd[i]
				}
				t := p.Order[i][0]
				if t.IsNull() {
					return p.PeerStart[i], p.PeerEnd[i]
				}
				lo := p.PeerStart[i]
				for lo > 0 {
					u := p.Order[lo-1][0]
					if u.IsNull() {
						break
					}
					d := t.Micros() - u.Micros()
					if desc {
						d = -d
					}
					if d > fr.Preceding {
						break
					}
					lo--
				}
				return lo, p.PeerEnd[i]
			}
			if len(order) == 0 {
				return 0, len(p.Rows)
			}
			return 0, p.PeerEnd[i]
		}
		var run expr.AggState // the growing frame of frames that start at 0
		ran := 0
		for i := range out {
			lo, hi := frame(i)
			s := run
			if lo == 0 {
				if run == nil {
					run = f.Agg.NewState(env)
					s = run
				}
				for ; ran < hi; ran++ {
					if err := run.Add(vals[ran]); err != nil {
						return err
					}
				}
			} else {
				s = f.Agg.NewState(env)
				for j := lo; j < hi; j++ {
					if err := s.Add(vals[j]); err != nil {
						return err
					}
				}
			}
			v, err := s.Result()
			if err != nil {
				return err
			}
			out[i] = v
		}
		return nil
	}, nil
}
