package exec

// inputWatermarker is implemented by operators that want each input's own
// watermark as well as the minimum OnWatermark gets (HashJoin: a side's
// late rows). The runtime calls it on the operator's goroutine.
type inputWatermarker interface {
	OnInputWatermark(input int, micros int64)
}
