package planner

import (
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// buildWindowIter evaluates TUMBLE or HOP over a bounded read: the
// windows of what was read, each row dropped from the windows that had
// closed when it was read, by the watermark of the source scanned below
// (when that scan keeps one: a Kinesis source with a WATERMARK), as a
// view's WindowAgg drops it.
func buildWindowIter(n *Window, env *expr.Env, open ScanOpener) (exec.RowIter, error) {
	if n.Kind == "SESSION" {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "a SESSION window needs an aggregate over it").
			WithHint("GROUP BY window_start, window_end (and keys) with COUNT, SUM, ...")
	}
	o := exec.WindowOptions{Kind: exec.Tumble, TimeCol: n.TimeCol, Size: n.Size}
	if n.Kind == "HOP" {
		o.Kind, o.Slide = exec.Hop, n.Slide
	}
	in, wm, err := buildWindowInput(n, env, open)
	if err != nil {
		return nil, err
	}
	wi, err := exec.NewWindowIter(in, o, wm)
	if err != nil {
		in.Close()
		return nil, err
	}
	return wi, nil
}

// buildWindowInput builds the input of window n, and what gives the
// watermark of the source scanned below it for the row read last.
func buildWindowInput(n *Window, env *expr.Env, open ScanOpener) (exec.RowIter, func() (int64, bool), error) {
	if open == nil {
		return nil, nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "%s needs a source", n.Kind)
	}
	var marked exec.Watermarked
	tc := n.Input.Columns()[n.TimeCol].Name
	in, err := buildIter(n.Input, env, func(s *Scan) (exec.RowIter, error) {
		it, err := open(s)
		// Only windows over the WATERMARK's column have late rows (not
		// those over PROCTIME(), whose rows are stamped as they are read).
		if w, ok := it.(exec.Watermarked); ok && err == nil && s.Relation.WatermarkColumn == tc {
			marked = w
		}
		return it, err
	})
	if err != nil {
		return nil, nil, err
	}
	return in, func() (int64, bool) {
		if marked == nil {
			return 0, false
		}
		return marked.LastWatermark()
	}, nil
}

// buildSessionIter evaluates SESSION windows under the aggregate n over a
// bounded read: the rows under the window (its WHERE applied first, as a
// view's SessionAgg is fed) put in their key's sessions (keyed by the
// GROUP BY keys other than window_start and window_end), late rows
// dropped by SessionAgg's rule, each row then with its session's bounds
// for the aggregate above.
func buildSessionIter(n *Aggregate, win *Window, filters []*Filter, env *expr.Env, open ScanOpener) (exec.RowIter, error) {
	width := len(win.Input.Columns())
	readsWindow := func(e expr.Expr) bool { return readsColumnFrom(e, width) }
	var keys []func(types.Row) (types.Value, error)
	for _, k := range n.Keys {
		if readsWindow(k) {
			continue
		}
		f, err := expr.Compile(k)
		if err != nil {
			return nil, err
		}
		keys = append(keys, func(r types.Row) (types.Value, error) { return f(r, env) })
	}
	in, wm, err := buildWindowInput(win, env, open)
	if err != nil {
		return nil, err
	}
	for _, f := range filters {
		if readsWindow(f.Cond) {
			in.Close()
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "WHERE on window_start or window_end of a SESSION window is not supported")
		}
		pred, err := expr.CompilePredicate(f.Cond)
		if err != nil {
			in.Close()
			return nil, err
		}
		in = exec.NewFilterIter(in, pred, env)
	}
	return exec.NewSessionIter(in, win.TimeCol, win.Gap, keys, wm), nil
}

// readsColumnFrom reports whether e reads a column at index width or
// beyond: over a window, one of the columns it adds after its input's.
func readsColumnFrom(e expr.Expr, width int) bool {
	found := false
	expr.Walk(e, func(x expr.Expr) bool {
		if c, ok := x.(*expr.ColumnRef); ok && c.Index >= width {
			found = true
		}
		return !found
	})
	return found
}
