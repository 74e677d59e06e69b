package engine

import (
	"github.com/streamsql/streamsql/connectors/kinesis"
)

// sourceWatermarks returns the per-shard watermark bookkeeping of a
// Kinesis source's WATERMARK and the index of its column, or nil and -1
// for a source without one: what a view's input and a one-off scan
// judge lateness by.
func sourceWatermarks(src *object) (*kinesis.Watermarks, int) {
	cs := src.createSource
	if cs == nil || cs.Watermark == nil {
		return nil, -1
	}
	wmCol := -1
	for i, c := range src.columns {
		if c.Name == cs.Watermark.Column {
			wmCol = i
		}
	}
	wo := kinesis.WatermarkOptions{Delay: cs.Watermark.Delay}
	if d, ok, _ := cs.Options.Duration("idle_timeout"); ok {
		wo.IdleTimeout = d
	}
	if v, _ := cs.Options.Get("idle_watermark"); v == "wall_clock" {
		wo.WallClockWhenIdle = true
	}
	return kinesis.NewWatermarks(wo), wmCol
}
