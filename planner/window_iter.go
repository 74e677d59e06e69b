package planner

import (
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// buildWindowIter evaluates TUMBLE or HOP over a bounded read: the
// windows of what was read, each row dropped from the windows that had
// closed when it was read, by the watermark of the source scanned below
// (when that scan keeps one: a Kinesis source with a WATERMARK), as a
// view's WindowAgg drops it.
func buildWindowIter(n *Window, env *expr.Env, open ScanOpener) (exec.RowIter, error) {
	if n.Kind == "SESSION" {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "a one-off SELECT over SESSION windows is not supported").
			WithHint("Create a materialized view with the query and read it.")
	}
	if open == nil {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "%s needs a source", n.Kind)
	}
	o := exec.WindowOptions{Kind: exec.Tumble, TimeCol: n.TimeCol, Size: n.Size}
	if n.Kind == "HOP" {
		o.Kind, o.Slide = exec.Hop, n.Slide
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
		return nil, err
	}
	wi, err := exec.NewWindowIter(in, o, func() (int64, bool) {
		if marked == nil {
			return 0, false
		}
		return marked.LastWatermark()
	})
	if err != nil {
		in.Close()
		return nil, err
	}
	return wi, nil
}
