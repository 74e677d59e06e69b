package kinesis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// A Subscription is one consumer of a shared Source. It has positions of
// its own (what it has been delivered), barriers of its own, and may start
// behind the shared readers: it then reads with private readers (a
// backfill) until it has caught up, and joins the shared ones. Batches the
// shared readers deliver that it already has are filtered out, so it sees
// every record exactly once and in order per shard.
type Subscription struct {
	src *Source
	ch  chan Event

	closed    chan struct{}
	closeOnce sync.Once
	stop      context.CancelFunc // stops the backfill, if any

	failed   chan struct{}
	failOnce sync.Once
	err      error

	// sendMu orders what goes into ch: a barrier's positions are exactly
	// those after the batches before it. It is held while waiting for the
	// consumer; mu never is.
	sendMu sync.Mutex

	mu       sync.Mutex
	pos      *Positions
	counters map[string]*subCounters
	// lastRead is when each shard's last read returned; caughtSince is when
	// its last caught-up read began, at the latest (the previous ReadAt).
	lastRead    map[string]time.Time
	caughtSince map[string]time.Time
	lastCaught  map[string]bool
	progress    chan struct{} // closed and replaced after every delivery

	feeder atomic.Pointer[Source] // a backfill until it joins, then src
}

// subCounters are one consumer's figures for one shard.
type subCounters struct {
	records, bytes, decodeErrors, late atomic.Int64
	deadLetters, deadLettersLost       atomic.Int64
	lastDecodeError                    atomic.Pointer[decodeFailure]
}

// decodeFailure is the last record of a shard a consumer failed to decode.
type decodeFailure struct{ sequenceNumber, err string }

// ErrSourceStopped is a subscription's error when its source stopped
// without one of its own.
var ErrSourceStopped = errors.New("kinesis: source stopped")

func newSubscription(src *Source, buffer int) *Subscription {
	return &Subscription{
		src: src, ch: make(chan Event, max(buffer, 1)),
		closed: make(chan struct{}), failed: make(chan struct{}), stop: func() {},
		pos: NewPositions(), counters: map[string]*subCounters{},
		lastRead: map[string]time.Time{}, caughtSince: map[string]time.Time{}, lastCaught: map[string]bool{},
		progress: make(chan struct{}),
	}
}

// Events is the channel to receive from. It is never closed: stop on your
// own context, on Failed, or after Close.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Failed is closed when the subscription can deliver no more: its source
// or its backfill stopped. Err says why.
func (s *Subscription) Failed() <-chan struct{} { return s.failed }

// Err returns why the subscription failed, once Failed is closed.
func (s *Subscription) Err() error {
	select {
	case <-s.failed:
		return s.err
	default:
		return nil
	}
}

func (s *Subscription) fail(err error) {
	s.failOnce.Do(func() {
		if err == nil {
			err = ErrSourceStopped
		}
		s.err = err
		close(s.failed)
	})
}

// Close ends the subscription; a delivery blocked on it gives up on it.
func (s *Subscription) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.stop()
	s.src.remove(s)
}

// Shared reports whether the subscription is fed by the shared readers
// (false while it backfills).
func (s *Subscription) Shared() bool { return s.feeder.Load() == s.src }

// Barrier sends a Barrier for epoch after every batch delivered so far and
// before any delivered later, and returns the positions it carries: a
// consistent cut of this subscription, whatever the others do.
func (s *Subscription) Barrier(ctx context.Context, epoch uint64) (*Positions, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	b := &Barrier{Epoch: epoch, Positions: s.pos.Clone()}
	s.mu.Unlock()
	if err := s.send(ctx, b); err != nil {
		return nil, err
	}
	return b.Positions, nil
}

func (s *Subscription) send(ctx context.Context, ev Event) error {
	select {
	case s.ch <- ev:
		return nil
	case <-s.closed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// push delivers b, less the records this subscription already has, and
// moves its position of b's shard to after (the feeding source's position
// after b; before is its position before b).
func (s *Subscription) push(ctx context.Context, b *Batch, before, after ShardPosition) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	cur := s.pos.shards[b.ShardID]
	// The first batch of a recreated stream: a subscription where the
	// feeder stood has the old stream's position, which compares with
	// nothing on the new one; every record is new to it. One ahead of the
	// feeder (joined after a backfill that may have read the new stream
	// already) filters as usual.
	renewed := b.Restarted && (cur == nil || comparePosition(cur, &before) == 0)
	s.mu.Unlock()
	ev := b
	if cur != nil && cur.SequenceNumber != "" && len(b.Records) > 0 && !renewed {
		k := 0
		for k < len(b.Records) && compareRecord(&b.Records[k], cur) <= 0 {
			k++
		}
		if k > 0 {
			c := *b
			c.Records = b.Records[k:]
			c.Bytes = 0
			for i := range c.Records {
				c.Bytes += len(c.Records[i].Data)
			}
			ev = &c
		}
	}
	if err := s.send(ctx, ev); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if cur = s.pos.shards[b.ShardID]; cur == nil || renewed || comparePosition(&after, cur) >= 0 {
		a := after.clone()
		s.pos.shards[b.ShardID] = &a
	} else {
		// Ahead of the feeder on this shard (it joined after a backfill).
		cur.Closed = cur.Closed || after.Closed
		cur.Drained = cur.Drained || after.Drained
	}
	c := s.countersLocked(b.ShardID)
	c.records.Add(int64(len(ev.Records)))
	c.bytes.Add(int64(ev.Bytes))
	if ev.CaughtUp || ev.End {
		if prev, ok := s.lastRead[b.ShardID]; ok {
			s.caughtSince[b.ShardID] = prev
		}
	}
	s.lastCaught[b.ShardID] = ev.CaughtUp || ev.End
	s.lastRead[b.ShardID] = ev.ReadAt
	close(s.progress)
	s.progress = make(chan struct{})
	return nil
}

func (s *Subscription) countersLocked(shard string) *subCounters {
	c := s.counters[shard]
	if c == nil {
		c = &subCounters{}
		s.counters[shard] = c
	}
	return c
}

func (s *Subscription) shardCounters(shard string) *subCounters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.countersLocked(shard)
}

// DecodeError counts a record this consumer failed to decode, and keeps
// err and the record's position as its shard's last.
func (s *Subscription) DecodeError(r *Record, err error) {
	c := s.shardCounters(r.ShardID)
	c.decodeErrors.Add(1)
	c.lastDecodeError.Store(&decodeFailure{sequenceNumber: r.Position(), err: err.Error()})
}

// CountDeadLetters adds records of a shard that this consumer skipped to
// its figures: written to the dead-letter stream, or given up on (lost).
func (s *Subscription) CountDeadLetters(shard string, written, lost int64) {
	c := s.shardCounters(shard)
	c.deadLetters.Add(written)
	c.deadLettersLost.Add(lost)
}

// CountLate adds rows of a shard that arrived behind this consumer's
// watermark to its figures.
func (s *Subscription) CountLate(shard string, n int64) { s.shardCounters(shard).late.Add(n) }

// Stats returns the figures of every shard of the readers that feed the
// subscription now, with the records, bytes, decode errors, late records
// and last sequence number of this consumer.
func (s *Subscription) Stats() []ShardStats {
	st := s.feeder.Load().Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range st {
		id := st[i].ShardID
		st[i].Records, st[i].Bytes, st[i].LateRecords = 0, 0, 0
		st[i].LastSequenceNumber = ""
		if p := s.pos.shards[id]; p != nil {
			st[i].LastSequenceNumber = p.SequenceNumber
		}
		if c := s.counters[id]; c != nil {
			st[i].Records = c.records.Load()
			st[i].Bytes = c.bytes.Load()
			st[i].DecodeErrors = c.decodeErrors.Load()
			st[i].LateRecords = c.late.Load()
			st[i].DeadLetters, st[i].DeadLettersLost = c.deadLetters.Load(), c.deadLettersLost.Load()
			if f := c.lastDecodeError.Load(); f != nil {
				st[i].LastDecodeError, st[i].LastDecodeErrorSequenceNumber = f.err, f.sequenceNumber
			}
		}
	}
	return st
}

// ReadTo reports whether the subscription has been delivered every shard
// up to where it stood at start: drained, or a read that began at or
// after start and caught up. A Barrier sent after that follows all of it.
func (s *Subscription) ReadTo(start time.Time) bool {
	stats := s.feeder.Load().Stats()
	if len(stats) == 0 {
		return false // the shards are not listed yet
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range stats {
		if st.State == StateDrained {
			continue
		}
		if t, ok := s.caughtSince[st.ShardID]; !ok || t.Before(start) {
			return false
		}
	}
	return true
}

// covers reports whether a consumer at pos, joining src now, would miss
// no record. For every shard of src: pos is at or past src's position, or
// src has not read the shard yet and will start where pos did (or at its
// beginning), or caught(shard) says the consumer has made a caught-up
// read of it recent enough to hold every record src has delivered.
// Callers hold src's lock.
func covers(pos, src *Positions, caught func(shard string) bool) bool {
	for id, h := range src.shards {
		f := pos.shards[id]
		if (f != nil && f.Drained) || caught(id) {
			continue
		}
		switch {
		case h.Drained:
			return false
		case h.SequenceNumber != "":
			if f == nil || comparePosition(f, h) < 0 {
				return false
			}
		case h.Start == startTrimHorizon:
			// src reads it from its beginning; what pos has is filtered.
		default:
			// src will start at a timestamp: pos must have started there too.
			if f == nil || f.Start != h.Start || !f.StartTimestamp.Equal(h.StartTimestamp) {
				return false
			}
		}
	}
	return true
}

// joinFreezeLimit bounds how long joining may hold the shared readers
// still; past it the backfill goes on and joining is tried again later.
const joinFreezeLimit = 5 * time.Second

// backfill reads from from (nil: the source's start position) with private
// readers until the subscription covers the shared readers, then joins
// them. It runs until the subscription joins, closes or fails.
func (s *Subscription) backfill(ctx context.Context, from *Positions) {
	ctx, cancel := context.WithCancel(ctx)
	s.stop = cancel
	bf, err := NewSource(s.src.api, s.src.opts, from)
	if err != nil {
		cancel()
		s.fail(err)
		return
	}
	bf.subs = []*Subscription{s}
	s.feeder.Store(bf)
	go func() {
		if err := bf.Run(ctx); err != nil {
			s.fail(err)
		}
	}()
	go func() {
		defer func() { <-bf.Done() }()
		defer cancel()
		if err := s.join(ctx, bf); err != nil && ctx.Err() == nil {
			s.fail(err)
		}
	}()
}

func (s *Subscription) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.progress
}

// join waits until the backfill is near the shared readers, then holds
// them still (their deliveries wait) until the backfill covers them, and
// moves the subscription over.
func (s *Subscription) join(ctx context.Context, bf *Source) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	wait := func(progress <-chan struct{}, deadline <-chan time.Time) (bool, error) {
		select {
		case <-progress:
		case <-tick.C:
		case <-deadline:
			return false, nil
		case <-bf.Done():
			return false, bf.Err()
		case <-s.closed:
			return false, context.Canceled
		case <-ctx.Done():
			return false, ctx.Err()
		}
		return true, nil
	}
	for {
		progress := s.changes()
		s.src.mu.Lock()
		s.mu.Lock()
		// The latest read of a shard having caught up is near enough to
		// try: tryJoin then waits for a caught-up read begun after it.
		near := s.src.discovered && covers(s.pos, s.src.positions, func(id string) bool { return s.lastCaught[id] })
		s.mu.Unlock()
		s.src.mu.Unlock()
		if near {
			joined, err := s.tryJoin(ctx, bf, wait)
			if joined || err != nil {
				return err
			}
			continue
		}
		if _, err := wait(progress, nil); err != nil {
			return err
		}
	}
}

// tryJoin holds the shared readers still for at most joinFreezeLimit while
// the backfill catches up with them exactly.
func (s *Subscription) tryJoin(ctx context.Context, bf *Source,
	wait func(<-chan struct{}, <-chan time.Time) (bool, error)) (bool, error) {
	src := s.src
	src.deliverMu.Lock()
	defer src.deliverMu.Unlock()
	since := time.Now()
	deadline := time.After(joinFreezeLimit)
	for {
		progress := s.changes()
		src.mu.Lock()
		s.mu.Lock()
		ok := covers(s.pos, src.positions, func(id string) bool {
			t, ok := s.caughtSince[id]
			return ok && !t.Before(since)
		})
		s.mu.Unlock()
		src.mu.Unlock()
		if ok {
			break
		}
		more, err := wait(progress, deadline)
		if err != nil {
			return false, err
		}
		if !more {
			return false, nil
		}
	}
	// No backfill delivery is in flight once its deliverMu is ours.
	bf.deliverMu.Lock()
	bf.mu.Lock()
	bf.subs = nil
	bf.mu.Unlock()
	bf.deliverMu.Unlock()

	src.mu.Lock()
	defer src.mu.Unlock()
	s.mu.Lock()
	for id, h := range src.positions.shards {
		if _, ok := s.pos.shards[id]; !ok {
			c := h.clone()
			s.pos.shards[id] = &c
		}
	}
	s.mu.Unlock()
	select {
	case <-s.closed:
		return true, nil
	default:
	}
	s.feeder.Store(src)
	src.addLocked(s)
	return true, nil
}

// compareRecord orders a record against a position of its shard.
func compareRecord(r *Record, p *ShardPosition) int {
	if c := compareSequence(r.SequenceNumber, p.SequenceNumber); c != 0 {
		return c
	}
	return r.SubSequence - p.SubSequence
}

// comparePosition orders two positions of one shard; no position is before
// any record.
func comparePosition(a, b *ShardPosition) int {
	if c := compareSequence(a.SequenceNumber, b.SequenceNumber); c != 0 {
		return c
	}
	return a.SubSequence - b.SubSequence
}

// compareSequence orders Kinesis sequence numbers: decimal strings without
// leading zeros, so the longer is the larger; "" is before every one.
func compareSequence(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
