package planner

import (
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// procTimeWindow notes a window over a source's PROCTIME() column: that
// source's input gets the clock as its watermark (StreamInput.ProcTime).
// One input has one watermark, so windows over both a source's
// processing time and its event time in one view are refused.
func (b *streamBuilder) procTimeWindow(win *Window) error {
	scan, ok := win.Input.(*Scan)
	if !ok || scan.Relation.Kind != "source" {
		return nil
	}
	proc := scan.Relation.IsProcTime(win.Input.Columns()[win.TimeCol].Name)
	if b.timeKind == nil {
		b.timeKind = map[string]bool{}
	}
	name := scan.Relation.Name
	if was, seen := b.timeKind[name]; seen && was != proc {
		return sqlerr.Newf(sqlerr.FeatureNotSupported,
			"a view cannot window %s by both processing time (%s) and another time column", name, scan.Relation.ProcTimeColumn).
			WithHint("Window one time column of the source per view.")
	}
	b.timeKind[name] = proc
	for i := range b.inputs {
		if b.inputs[i].Source.Name == name {
			b.inputs[i].ProcTime = proc
		}
	}
	return nil
}
