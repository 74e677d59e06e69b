package kinesis

import "time"

// WatermarkOptions are the source's watermark settings.
type WatermarkOptions struct {
	// Delay is subtracted from the largest event time seen (the WATERMARK
	// FOR ts AS ts - INTERVAL ... of the source).
	Delay time.Duration
	// IdleTimeout: a shard caught up and silent this long stops holding
	// the watermark back. Zero: shards never go idle.
	IdleTimeout time.Duration
	// WallClockWhenIdle lets the watermark follow the wall clock minus
	// Delay while every open shard is idle (idle_watermark = 'wall_clock'),
	// so windows close on a quiet stream.
	WallClockWhenIdle bool
}

// Watermarks is the per-shard watermark bookkeeping of one source. It is
// pure: the engine feeds it batches and times and asks for the
// watermark; it reads no clock and is not safe for concurrent use.
type Watermarks struct {
	opts    WatermarkOptions
	shards  map[string]*shardMark
	current time.Time // last watermark returned; never goes back
	has     bool
	// seeds are the largest event times committed before a restart, by
	// shard: a shard gets its seed when it is registered.
	seeds map[string]int64
}

type shardMark struct {
	maxEvent     time.Time
	hasEvent     bool
	caughtUp     bool
	lastActivity time.Time
	closed       bool
}

// NewWatermarks returns empty bookkeeping.
func NewWatermarks(opts WatermarkOptions) *Watermarks {
	return &Watermarks{opts: opts, shards: map[string]*shardMark{}}
}

func (w *Watermarks) shard(id string, now time.Time) *shardMark {
	s := w.shards[id]
	if s == nil {
		s = &shardMark{lastActivity: now}
		if m, ok := w.seeds[id]; ok {
			s.maxEvent, s.hasEvent = time.UnixMicro(m), true
		}
		w.shards[id] = s
	}
	return s
}

// Marks returns the largest event time (microseconds) each shard has
// seen, for the shards that have seen one: what to commit with the
// positions, so that Seed can restore it.
func (w *Watermarks) Marks() map[string]int64 {
	out := make(map[string]int64, len(w.shards))
	for id, s := range w.shards {
		if s.hasEvent {
			out[id] = s.maxEvent.UnixMicro()
		}
	}
	return out
}

// Seed restores marks committed before a restart, and the watermark
// returned then (current, when has). A shard read before the restart
// then holds the watermark back only as far as its own events did, not
// as a shard that has seen nothing; shards never registered again (aged
// out, drained) are ignored.
func (w *Watermarks) Seed(marks map[string]int64, current time.Time, has bool) {
	w.seeds = marks
	if has && (!w.has || current.After(w.current)) {
		w.current, w.has = current, true
	}
}

// AddShard registers a shard that is being read; until it has seen an
// event (or gone idle) it holds the watermark back.
func (w *Watermarks) AddShard(id string, now time.Time) { w.shard(id, now) }

// Observe records an event time read from a shard at now and reports
// whether the event is late: older than the watermark already returned.
func (w *Watermarks) Observe(id string, event, now time.Time) (late bool) {
	s := w.shard(id, now)
	s.lastActivity = now
	if !s.hasEvent || event.After(s.maxEvent) {
		s.maxEvent, s.hasEvent = event, true
	}
	return w.has && event.Before(w.current)
}

// Polled records a GetRecords result for the shard: caughtUp as in
// Batch.CaughtUp. A shard that is behind counts as active.
func (w *Watermarks) Polled(id string, caughtUp bool, now time.Time) {
	s := w.shard(id, now)
	s.caughtUp = caughtUp
	if !caughtUp {
		s.lastActivity = now
	}
}

// Close records that the shard was read to its end: it never holds the
// watermark back again.
func (w *Watermarks) Close(id string) {
	if s := w.shards[id]; s != nil {
		s.closed = true
	} else {
		w.shards[id] = &shardMark{closed: true}
	}
}

func (w *Watermarks) idle(s *shardMark, now time.Time) bool {
	return w.opts.IdleTimeout > 0 && s.caughtUp && now.Sub(s.lastActivity) >= w.opts.IdleTimeout
}

// Current returns the source's watermark at now: the minimum over open,
// non-idle shards of (largest event time - Delay). ok is false while no
// watermark exists yet (an active shard has seen no event). It never goes
// back: an idle shard waking up with older events makes them late, not
// the watermark smaller.
//
// While every open shard is idle, the watermark is the largest that any
// of them reached (or the wall clock, with WallClockWhenIdle): idle shards
// hold nothing back, so the one with the latest events would set it had it
// been the last to go quiet. Without this, shards that all went idle before
// the watermark was first asked for (all registered and read in the same
// instant) would never yield one, and no window would ever close.
func (w *Watermarks) Current(now time.Time) (wm time.Time, ok bool) {
	var minWM, idleMax time.Time
	active, idleWithEvents := 0, 0
	for _, s := range w.shards {
		if s.closed {
			continue
		}
		if w.idle(s, now) {
			if s.hasEvent {
				if m := s.maxEvent.Add(-w.opts.Delay); idleWithEvents == 0 || m.After(idleMax) {
					idleMax = m
				}
				idleWithEvents++
			}
			continue
		}
		if !s.hasEvent {
			return w.current, w.has
		}
		m := s.maxEvent.Add(-w.opts.Delay)
		if active == 0 || m.Before(minWM) {
			minWM = m
		}
		active++
	}
	switch {
	case active > 0:
	case w.opts.WallClockWhenIdle && len(w.shards) > 0:
		minWM = now.Add(-w.opts.Delay)
	case idleWithEvents > 0:
		minWM = idleMax
	default:
		return w.current, w.has
	}
	if !w.has || minWM.After(w.current) {
		w.current, w.has = minWM, true
	}
	return w.current, w.has
}
