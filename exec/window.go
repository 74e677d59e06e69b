package exec

import (
	"context"
	"sync/atomic"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// WindowKind is a time window function.
type WindowKind uint8

const (
	// Tumble assigns each row to the one window [start, start+Size) that
	// holds its time, windows aligned to Offset.
	Tumble WindowKind = iota
	// Hop assigns each row to every window [start, start+Size) holding its
	// time, windows starting every Slide: Size/Slide windows per row when
	// Slide divides Size.
	Hop
)

// WindowOptions configures Window.
type WindowOptions struct {
	Kind WindowKind
	// TimeCol is the input column of event time: TIMESTAMP (or BIGINT
	// microseconds).
	TimeCol int
	// Size, Slide and Offset are microseconds; Slide is for Hop only.
	Size, Slide, Offset int64
}

// Validate checks the options.
func (o *WindowOptions) Validate() error {
	if o.Size <= 0 {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "window size must be positive")
	}
	if o.Kind == Hop && (o.Slide <= 0 || o.Slide > o.Size) {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "HOP slide must be positive and at most the window size")
	}
	return nil
}

// Window is TUMBLE or HOP: it appends window_start and window_end
// (TIMESTAMP) to each row, once per window the row belongs to, keeping
// the row's op, so deletes retract from the same windows. A row whose
// time is NULL belongs to no window: it is dropped and counted.
type Window struct {
	o        WindowOptions
	nullTime atomic.Int64
	slab     []types.Value // where the next output rows are cut from
}

// windowSlabRows is how many output rows Window allocates at once: one
// allocation per that many rows instead of one per row, while a row kept
// downstream holds at most that many others' memory.
const windowSlabRows = 64

var _ Operator = (*Window)(nil)

// NewWindow returns a Window.
func NewWindow(o WindowOptions) (*Window, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Kind == Tumble {
		o.Slide = o.Size
	}
	return &Window{o: o}, nil
}

// NullTime returns the number of rows dropped for a NULL time.
func (w *Window) NullTime() int64 { return w.nullTime.Load() }

// Open does nothing: Window is stateless.
func (w *Window) Open(context.Context, *OpContext) error { return nil }

// windowFloor returns the start of the window grid step holding t.
func windowFloor(t, step, offset int64) int64 {
	r := (t - offset) % step
	if r < 0 {
		r += step
	}
	return t - r
}

// Process emits each row once per window that holds its time, earliest
// window first.
func (w *Window) Process(_ context.Context, _ int, b *Batch, out Output) error {
	o := &w.o
	for i := 0; i < b.Len(); i++ {
		row := b.Row(i)
		tv := row[o.TimeCol]
		if tv.IsNull() {
			w.nullTime.Add(1)
			continue
		}
		t := tv.Int()
		last := windowFloor(t, o.Slide, o.Offset)
		first := last
		for first-o.Slide > t-o.Size {
			first -= o.Slide
		}
		for start := first; start <= last; start += o.Slide {
			width := len(row) + 2
			if len(w.slab) < width {
				w.slab = make([]types.Value, width*windowSlabRows)
			}
			r := types.Row(w.slab[:width:width])
			w.slab = w.slab[width:]
			copy(r, row)
			r[len(row)] = types.NewTimestamp(start)
			r[len(row)+1] = types.NewTimestamp(start + o.Size)
			out.Emit(b.Op(i), r)
		}
	}
	return nil
}

// OnWatermark does nothing; the runtime forwards the watermark.
func (w *Window) OnWatermark(context.Context, Watermark, Output) error { return nil }

// OnBarrier does nothing: there is no state.
func (w *Window) OnBarrier(context.Context, Barrier, Output) error { return nil }

// Close does nothing.
func (w *Window) Close() error { return nil }
