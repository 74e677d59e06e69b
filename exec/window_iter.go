package exec

import (
	"context"
	"io"
	"math"
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

// SessionIter is SESSION over a bounded read: it reads all of its input,
// puts each row in its key's sessions by SessionAgg's rules, with the
// watermark wm gives for the row (nil: none), and returns every row with
// the window_start and window_end of its session appended. As in
// SessionAgg, a row whose own window had closed when it was read
// (time + gap <= watermark), or whose time is NULL, is dropped and counted
// in Late, and a session the watermark had closed when a row of its key
// came is not merged with.
type SessionIter struct {
	in      RowIter
	timeCol int
	gap     int64
	keys    []func(types.Row) (types.Value, error)
	wm      func() (int64, bool)
	late    atomic.Int64

	out  []types.Row
	read bool
}

// NewSessionIter returns a SessionIter over in; keys compute the row's
// session key (the GROUP BY keys other than the window's).
func NewSessionIter(in RowIter, timeCol int, gap int64, keys []func(types.Row) (types.Value, error), wm func() (int64, bool)) *SessionIter {
	return &SessionIter{in: in, timeCol: timeCol, gap: gap, keys: keys, wm: wm}
}

// Late returns the number of rows dropped as late.
func (s *SessionIter) Late() int64 { return s.late.Load() }

type batchSession struct {
	start, last int64
	rows        []types.Row
}

// Next returns the next row with its session's bounds.
func (s *SessionIter) Next(ctx context.Context) (types.Row, error) {
	if !s.read {
		if err := s.readAll(ctx); err != nil {
			return nil, err
		}
		s.read = true
	}
	if len(s.out) == 0 {
		return nil, io.EOF
	}
	r := s.out[0]
	s.out = s.out[1:]
	return r, nil
}

func (s *SessionIter) readAll(ctx context.Context) error {
	open := map[string][]*batchSession{}
	var done []*batchSession
	keyRow := make(types.Row, len(s.keys))
	var kbuf []byte
	for {
		row, err := s.in.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		tv := row[s.timeCol]
		wm, hasWM := int64(0), false
		if s.wm != nil {
			wm, hasWM = s.wm()
		}
		if tv.IsNull() || tv.Int() > math.MaxInt64-s.gap || (hasWM && tv.Int()+s.gap <= wm) {
			s.late.Add(1)
			continue
		}
		t := tv.Int()
		for i, k := range s.keys {
			if keyRow[i], err = k(row); err != nil {
				return err
			}
		}
		kbuf = appendGroupPrefix(kbuf[:0], keyRow)
		// The input may reuse its row: keep a copy, with room for the bounds.
		kept := append(make(types.Row, 0, len(row)+2), row...)
		var into *batchSession
		var still []*batchSession
		for _, ss := range open[string(kbuf)] {
			switch {
			case hasWM && ss.last+s.gap <= wm:
				done = append(done, ss) // closed: nothing joins it
			case ss.start <= t+s.gap && t <= ss.last+s.gap:
				if into == nil {
					into = ss
					still = append(still, ss)
				} else {
					into.start, into.last = min(into.start, ss.start), max(into.last, ss.last)
					into.rows = append(into.rows, ss.rows...)
				}
			default:
				still = append(still, ss)
			}
		}
		if into == nil {
			into = &batchSession{start: t, last: t}
			still = append(still, into)
		}
		into.start, into.last = min(into.start, t), max(into.last, t)
		into.rows = append(into.rows, kept)
		open[string(kbuf)] = still
	}
	for _, ss := range open {
		done = append(done, ss...)
	}
	for _, ss := range done {
		start, end := types.NewTimestamp(ss.start), types.NewTimestamp(ss.last+s.gap)
		for _, r := range ss.rows {
			s.out = append(s.out, append(r, start, end))
		}
	}
	return nil
}

// Close closes the input.
func (s *SessionIter) Close() { s.in.Close() }
