package bench

import (
	"fmt"
	"math"
	"slices"

	json "github.com/goccy/go-json"
)

// click is one decoded event.
type click struct {
	UserID int64   `json:"user_id"`
	Amount float64 `json:"amount"`
	Ts     int64   `json:"ts"`
}

// Row is one result of the tumbling query.
type Row struct {
	UserID        int64
	WindowStartMs int64
	WindowEndMs   int64
	Count         int64
	SumCents      int64
}

// window is the state of one open window: an index per key into aggs, so
// that an event costs one map lookup.
type window struct {
	start int64
	index map[int64]int32
	keys  []int64
	aggs  []agg
}

type agg struct{ n, cents int64 }

// Ceiling is the hand-written loop: decode each event with goccy/go-json
// into a struct, add it to its window's per-key count and sum, advance the
// watermark, and emit every window whose end it passed. Nothing is shared
// with the engine, so it is also an independent check of its answers.
type Ceiling struct {
	q       Query
	sizeMs  int64
	delayMs int64
	open    []*window // by start, ascending; at most a few
	free    []*window
	maxTs   int64
	wm      int64
	late    int64
	emit    func(Row)
	answer  answerBuilder
}

// NewCeiling returns the loop for q. emit, if not nil, receives every
// result row as its window closes.
func NewCeiling(q Query, emit func(Row)) *Ceiling {
	return &Ceiling{q: q, sizeMs: q.Size.Milliseconds(), delayMs: q.Delay.Milliseconds(), maxTs: math.MinInt64, wm: math.MinInt64, emit: emit}
}

// Add processes one event.
func (c *Ceiling) Add(event []byte) error {
	var e click
	if err := json.UnmarshalNoEscape(event, &e); err != nil {
		return fmt.Errorf("ceiling: decoding %q: %w", event, err)
	}
	start := e.Ts - ((e.Ts%c.sizeMs)+c.sizeMs)%c.sizeMs
	if start+c.sizeMs <= c.wm {
		c.late++ // its window is already emitted
	} else {
		w := c.window(start)
		i, ok := w.index[e.UserID]
		if !ok {
			i = int32(len(w.aggs))
			w.index[e.UserID] = i
			w.keys = append(w.keys, e.UserID)
			w.aggs = append(w.aggs, agg{})
		}
		w.aggs[i].n++
		w.aggs[i].cents += int64(math.Round(e.Amount * 100))
	}
	if e.Ts > c.maxTs {
		c.maxTs = e.Ts
		c.wm = e.Ts - c.delayMs
		for len(c.open) > 0 && c.open[0].start+c.sizeMs <= c.wm {
			c.close()
		}
	}
	return nil
}

// Finish ends the input, which moves the watermark past every window, and
// returns the answer.
func (c *Ceiling) Finish() Answer {
	for len(c.open) > 0 {
		c.close()
	}
	return c.answer.a
}

// Late is the number of events dropped because their window had closed.
func (c *Ceiling) Late() int64 { return c.late }

func (c *Ceiling) window(start int64) *window {
	for _, w := range c.open {
		if w.start == start {
			return w
		}
	}
	var w *window
	if n := len(c.free); n > 0 {
		w, c.free = c.free[n-1], c.free[:n-1]
	} else {
		w = &window{index: map[int64]int32{}}
	}
	w.start = start
	c.open = append(c.open, w)
	slices.SortFunc(c.open, func(a, b *window) int { return int(a.start - b.start) })
	return w
}

// close emits the oldest open window and keeps its memory for a later one.
func (c *Ceiling) close() {
	w := c.open[0]
	c.open = c.open[1:]
	end := w.start + c.sizeMs
	for i, a := range w.aggs {
		c.answer.add(end, a.n, a.cents)
		if c.emit != nil {
			c.emit(Row{UserID: w.keys[i], WindowStartMs: w.start, WindowEndMs: end, Count: a.n, SumCents: a.cents})
		}
	}
	clear(w.index)
	w.keys, w.aggs = w.keys[:0], w.aggs[:0]
	c.free = append(c.free, w)
}

// RunCeiling runs the loop over events.
func RunCeiling(events [][]byte, q Query) (Answer, error) {
	c := NewCeiling(q, nil)
	for _, e := range events {
		if err := c.Add(e); err != nil {
			return Answer{}, err
		}
	}
	return c.Finish(), nil
}
