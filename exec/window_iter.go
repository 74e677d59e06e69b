package exec

import (
	"context"
	"sync/atomic"

	"github.com/streamsql/streamsql/sql/types"
)

// Watermarked is a RowIter of a source that knows its watermark: the one
// the row Next returned last was judged against (the watermark before the
// row was read), for the windows above it to drop late rows by the rule
// their streaming counterparts follow. ok is false before there is one.
type Watermarked interface {
	RowIter
	LastWatermark() (micros int64, ok bool)
}

// WindowIter is TUMBLE or HOP over a bounded read (a one-off SELECT): each
// row once per window that holds its time, as Window does, except the
// windows that had closed when the row was read (window_end <= the
// watermark wm gives for it), which drop it and count it in Late: the
// rule WindowAgg follows in a view. A row with a NULL time is dropped.
type WindowIter struct {
	in   RowIter
	o    WindowOptions
	wm   func() (int64, bool)
	late atomic.Int64
	row  types.Row // the row being expanded
	next int64     // the start of its next window
	last int64     // the start of its last window
}

// NewWindowIter returns a WindowIter over in; wm, when not nil, gives the
// watermark of the row in returned last.
func NewWindowIter(in RowIter, o WindowOptions, wm func() (int64, bool)) (*WindowIter, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Kind == Tumble {
		o.Slide = o.Size
	}
	return &WindowIter{in: in, o: o, wm: wm}, nil
}

// Late returns the number of (row, window) pairs dropped as late.
func (w *WindowIter) Late() int64 { return w.late.Load() }

// Next returns the next (row, window) pair: the row's columns, then
// window_start and window_end.
func (w *WindowIter) Next(ctx context.Context) (types.Row, error) {
	o := &w.o
	for {
		if w.row != nil && w.next <= w.last {
			start := w.next
			w.next += o.Slide
			out := make(types.Row, len(w.row)+2)
			copy(out, w.row)
			out[len(w.row)] = types.NewTimestamp(start)
			out[len(w.row)+1] = types.NewTimestamp(start + o.Size)
			return out, nil
		}
		row, err := w.in.Next(ctx)
		if err != nil {
			return nil, err
		}
		tv := row[o.TimeCol]
		if tv.IsNull() {
			continue
		}
		t := tv.Int()
		w.last = windowFloor(t, o.Slide, o.Offset)
		w.next = w.last
		for w.next-o.Slide > t-o.Size {
			w.next -= o.Slide
		}
		if w.wm != nil {
			if wm, ok := w.wm(); ok {
				// Windows ending at or before the watermark had closed.
				for w.next <= w.last && w.next+o.Size <= wm {
					w.late.Add(1)
					w.next += o.Slide
				}
			}
		}
		w.row = row
	}
}

// Close closes the input.
func (w *WindowIter) Close() { w.in.Close() }
