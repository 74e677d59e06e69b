package exec

import (
	"math"
	"sync/atomic"
	"time"
)

// Per-node counters, for EXPLAIN ANALYZE and metrics. The node's own
// goroutine (or its Feed's sender) writes them once per batch, watermark
// or barrier, never per row, so the hot path pays a few atomic adds and two
// clock reads per batch; any goroutine may read them (Graph.Stats).

// RateWindow is the span NodeStats' rates are averaged over.
const RateWindow = time.Minute

// rateSlots holds one sample a second over RateWindow, and one more so that
// the oldest sample in the window is still there.
const rateSlots = int(RateWindow/time.Second) + 1

type nodeCounters struct {
	rowsIn, rowsOut atomic.Int64
	busy            atomic.Int64 // nanoseconds in the operator's callbacks
	wm              atomic.Int64 // last input watermark, micros; MinInt64: none
	cacheKeys       atomic.Int64 // -1: the operator does not say
	cacheBytes      atomic.Int64
	cacheHits       atomic.Int64
	cacheMisses     atomic.Int64

	// ring holds, per second slot, the counters as they were when the
	// second began; lastSec is the second of the newest sample (only
	// the writer reads it).
	ring    [rateSlots]rateSample
	lastSec int64
}

type rateSample struct {
	sec, in, out atomic.Int64
}

func newNodeCounters() *nodeCounters {
	c := &nodeCounters{}
	c.wm.Store(math.MinInt64)
	c.cacheKeys.Store(-1)
	return c
}

// tick samples the counters when a new second began, before the batch,
// watermark or barrier at hand counts. Writer only.
func (c *nodeCounters) tick(now time.Time) {
	sec := now.Unix()
	if sec == c.lastSec {
		return
	}
	c.lastSec = sec
	s := &c.ring[sec%int64(rateSlots)]
	// sec last: a reader that sees the new second sees its counts (or
	// later ones, which only make the rate a little lower).
	s.in.Store(c.rowsIn.Load())
	s.out.Store(c.rowsOut.Load())
	s.sec.Store(sec)
}

// rates are rows per second in and out over the last RateWindow, from the
// oldest sample in it to now; zero without one.
func (c *nodeCounters) rates(now time.Time, in, out int64) (float64, float64) {
	from := now.Add(-RateWindow).Unix()
	var oldest *rateSample
	oldestSec := int64(math.MaxInt64)
	for i := range c.ring {
		s := &c.ring[i]
		if sec := s.sec.Load(); sec >= from && sec < oldestSec {
			oldest, oldestSec = s, sec
		}
	}
	if oldest == nil {
		return 0, 0
	}
	span := now.Sub(time.Unix(oldestSec, 0)).Seconds()
	if span < 1 {
		span = 1 // the first second: at least a second's worth
	}
	return float64(max(in-oldest.in.Load(), 0)) / span, float64(max(out-oldest.out.Load(), 0)) / span
}

// cacheReporter is implemented by operators with an in-memory cache in
// front of their state. The runtime asks on the operator's goroutine at
// each barrier and publishes the answer.
type cacheReporter interface {
	cacheStats() cacheStats
}

// cacheStats is what a cache holds now (keys and their estimated bytes)
// and its lookups since the operator was made: found in the cache (hits)
// and not (misses: read from state, or new).
type cacheStats struct {
	keys, bytes, hits, misses int64
}

func (a *HashAgg) cacheStats() cacheStats   { return a.c.cacheStats() }
func (w *WindowAgg) cacheStats() cacheStats { return w.c.cacheStats() }
func (c *aggCore) cacheStats() cacheStats {
	return cacheStats{keys: int64(len(c.cache)), bytes: c.cachedBytes, hits: c.hits, misses: c.misses}
}
func (j *HashJoin) cacheStats() cacheStats {
	return cacheStats{keys: int64(len(j.cache)), bytes: int64(j.cachedBytes), hits: j.hits, misses: j.misses}
}

// expiryReporter is implemented by operators that drop rows from state as
// the watermark passes their time (an interval join); ok is false for one
// that drops none. Safe to call from any goroutine.
type expiryReporter interface {
	expiredRows() (n int64, ok bool)
}

func (j *HashJoin) expiredRows() (int64, bool) { return j.Expired(), j.interval() }

// NodeKind says what a node of a graph is.
type NodeKind string

// The kinds of node Stats reports (observers are left out).
const (
	KindOperator NodeKind = "operator"
	KindInput    NodeKind = "input"
)

// NodeStats is a snapshot of one node's counters.
type NodeStats struct {
	ID   NodeID
	Name string
	Kind NodeKind
	// Inputs are the nodes this one reads, in input order.
	Inputs []NodeID
	// RowsIn counts the rows of the batches the operator received (an
	// input receives none); RowsOut the rows it emitted.
	RowsIn, RowsOut int64
	// RowsInPerSec and RowsOutPerSec average over the last RateWindow.
	RowsInPerSec, RowsOutPerSec float64
	// Busy is the time spent in the operator's callbacks.
	Busy time.Duration
	// Watermark is the last input watermark the node saw, unix micros;
	// HasWatermark is false before the first.
	Watermark    int64
	HasWatermark bool
	// CacheKeys and CacheBytes are what the operator's in-memory cache
	// holds (its state may hold more); HasCache is false for operators
	// without one. CacheHits and CacheMisses count the operator's
	// lookups found in the cache and not (read from state, or a new key)
	// since the pipeline started. They are updated at barriers.
	CacheKeys, CacheBytes  int64
	CacheHits, CacheMisses int64
	HasCache               bool
	// Late counts the rows an event-time operator dropped as late (by its
	// own rule: a window aggregate's when their window had closed);
	// HasLate is false for operators that drop none.
	Late    int64
	HasLate bool
	// Expired counts the rows an interval join dropped from state once
	// the watermark passed their time; HasExpired is false for the other
	// operators.
	Expired    int64
	HasExpired bool
}

// lateReporter is implemented by the event-time operators that drop late
// rows (WindowAgg, SessionAgg, a windowed HashJoin, ...); Late is safe to
// call from any goroutine. An operator that is event-time only in some
// configurations also has DropsLate() bool, false when it drops none.
type lateReporter interface {
	Late() int64
}

// Stats returns every operator's and input's counters, by node id (the
// order the graph was built in: a node's inputs come before it). Any
// goroutine may call it, while the graph runs or after.
func (g *Graph) Stats() []NodeStats {
	now := time.Now()
	out := make([]NodeStats, 0, len(g.nodes))
	for i, n := range g.nodes {
		if n.kind == nodeObserver {
			continue
		}
		c := n.stats
		s := NodeStats{ID: NodeID(i), Name: n.name, Kind: KindOperator, Inputs: append([]NodeID(nil), n.inputs...),
			RowsIn: c.rowsIn.Load(), RowsOut: c.rowsOut.Load(), Busy: time.Duration(c.busy.Load())}
		if n.kind == nodeFeed {
			s.Kind = KindInput
		}
		s.RowsInPerSec, s.RowsOutPerSec = c.rates(now, s.RowsIn, s.RowsOut)
		if wm := c.wm.Load(); wm != math.MinInt64 {
			s.Watermark, s.HasWatermark = wm, true
		}
		if k := c.cacheKeys.Load(); k >= 0 {
			s.CacheKeys, s.CacheBytes, s.HasCache = k, c.cacheBytes.Load(), true
			s.CacheHits, s.CacheMisses = c.cacheHits.Load(), c.cacheMisses.Load()
		}
		if lr, ok := n.op.(lateReporter); ok && n.kind != nodeFeed {
			if d, ok := n.op.(interface{ DropsLate() bool }); !ok || d.DropsLate() {
				s.Late, s.HasLate = lr.Late(), true
			}
		}
		if er, ok := n.op.(expiryReporter); ok {
			s.Expired, s.HasExpired = er.expiredRows()
		}
		out = append(out, s)
	}
	return out
}
