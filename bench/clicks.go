// Package bench owns the pieces of `streamsql bench` that do not need the
// engine: the event stream of each scenario, the hand-written Go loop that
// is the ceiling for this machine, the peer engines run in process on the
// same events, the measurement of CPU, memory and allocations around a run,
// and the table and JSON the run reports. The command wires the engine in.
//
// Every contender of a scenario returns an Answer computed from its own
// output; the run compares each with the ceiling's, so a fast wrong answer
// is reported as wrong, not as fast.
package bench

import (
	"strconv"
	"time"
)

// ClickOptions shape the click stream of the tumbling-window scenario.
type ClickOptions struct {
	Events int
	// Keys is the number of distinct user_id values, drawn uniformly
	// (at most 9,999,999).
	Keys int
	Seed uint64
	// BaseMillis is the nominal event time of the first event (epoch ms).
	// Default ClickBase plus 5 s. It must stay in the past: rulego ignores
	// event times more than a day ahead of the wall clock. It sits mid-window
	// because rulego v1.1.2 starts its first window at the first event's and
	// never emits earlier ones, so it would lose the events that the
	// disorder puts before a window boundary at the very start.
	BaseMillis int64
	// Rate is events per second of event time. Default 20,000: the
	// default 2,000,000-event run spans 100 seconds, ten 10-second windows
	// (as many as e2e's 200,000 events at 2,000/s), so windows close
	// throughout the run and state is written and dropped as a user's
	// would be, while each window still holds 200,000 events (some 180,000
	// groups with 1,000,000 keys), the most that stays within ten windows.
	// The former 100,000 put a million events, and two thirds of its
	// groups' state, in one window, so almost nothing closed until the end.
	Rate int64
	// MaxDisorder is how far an event may lag the newest event before it,
	// in ms; it must stay under the query's watermark delay so that no
	// contender may drop an event as late. Default 1999 (the delay is 2 s).
	MaxDisorder int64
}

// DefaultClickRate is ClickOptions.Rate's default.
const DefaultClickRate = 20_000

// ClickBase is 2026-01-01T00:00:00Z in epoch ms.
const ClickBase = 1767225600000

func (o *ClickOptions) setDefaults() {
	if o.Keys <= 0 {
		o.Keys = 1000
	}
	o.Keys = min(o.Keys, 9_999_999)
	if o.BaseMillis == 0 {
		o.BaseMillis = ClickBase + 5000
	}
	if o.Rate <= 0 {
		o.Rate = DefaultClickRate
	}
	if o.MaxDisorder <= 0 {
		o.MaxDisorder = 1999
	}
}

// Clicks is a pre-generated click stream: one JSON object per event,
// {"user_id":<int>,"amount":<dollars with 2 decimals>,"ts":<epoch ms>}.
type Clicks struct {
	Events [][]byte
	Keys   int
	// MaxTs is the largest event time in the stream (epoch ms).
	MaxTs int64
	Bytes int64
}

// maxClickBytes bounds one event's JSON: 7-digit user, "1000.00", 13-digit ts.
const maxClickBytes = len(`{"user_id":9999999,"amount":1000.00,"ts":9999999999999}`)

// GenerateClicks builds the stream in memory, deterministically for the
// options. One in five events is delayed by up to MaxDisorder ms.
func GenerateClicks(o ClickOptions) Clicks {
	o.setDefaults()
	c := Clicks{Events: make([][]byte, o.Events), Keys: o.Keys}
	// One backing array for all events, sized so it never moves: fewer
	// objects for the GC to walk while contenders run.
	buf := make([]byte, 0, o.Events*maxClickBytes)
	r := rng{s: o.Seed*0x9e3779b97f4a7c15 + 1}
	for i := range o.Events {
		ts := o.BaseMillis + int64(i)*1000/o.Rate
		if r.intn(5) == 0 {
			ts -= r.intn(o.MaxDisorder + 1)
		}
		c.MaxTs = max(c.MaxTs, ts)
		user := 1 + r.intn(int64(o.Keys))
		cents := 1 + r.intn(100_000)
		start := len(buf)
		buf = append(buf, `{"user_id":`...)
		buf = strconv.AppendInt(buf, user, 10)
		buf = append(buf, `,"amount":`...)
		buf = strconv.AppendInt(buf, cents/100, 10)
		buf = append(buf, '.', byte('0'+cents/10%10), byte('0'+cents%10))
		buf = append(buf, `,"ts":`...)
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, '}')
		c.Events[i] = buf[start:len(buf):len(buf)]
		c.Bytes += int64(len(buf) - start)
	}
	return c
}

// Query is the scenario's query: a TUMBLE of Size per user_id with
// COUNT(*) and SUM(amount), event time from ts with a watermark Delay
// behind the newest event, each window emitted once when it closes.
type Query struct {
	Size, Delay time.Duration
}

// TumbleQuery is the scenario of PEERS.md: 10-second windows, 2-second delay.
var TumbleQuery = Query{Size: 10 * time.Second, Delay: 2 * time.Second}

// rng is splitmix64.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int64) int64 { return int64(r.next() % uint64(n)) }

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
