package kinesis

import (
	"context"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// Event is what a subscription receives: a *Batch of one shard, or a
// *Barrier.
type Event interface{ isEvent() }

// Barrier marks a consistent cut across every shard of the source: every
// subscriber has received exactly the batches before it, and Positions
// are the positions after them, the value to commit with the epoch.
type Barrier struct {
	Epoch     uint64
	Positions *Positions
}

func (*Barrier) isEvent() {}

// Source reads every shard of one stream with one reader per shard and
// fans the batches out to its subscribers in process, so any number of
// consumers cost one GetRecords budget. Run drives it.
type Source struct {
	api  API
	opts SourceOptions

	// deliverMu serialises deliveries and barriers, so a barrier is a cut
	// between whole batches. It is held while waiting on slow subscribers;
	// mu is never held while waiting.
	deliverMu sync.Mutex

	mu         sync.Mutex
	positions  *Positions
	restored   bool
	discovered bool   // the first ListShards has completed
	lastShard  string // the highest shard id listed, for incremental ListShards
	running    map[string]*Reader
	counters   map[string]*counters
	subs       []*Subscription            // fed by the readers
	pending    map[*Subscription]struct{} // backfilling, to join subs
	subsWake   chan struct{}              // closed and replaced when a subscriber joins

	ended chan string
	done  chan struct{}
	err   error

	trouble trouble // shard discovery failing (trouble.go)
}

// NewSource returns a source of the stream in opts, resuming from restore
// when it is not nil (positions a Barrier or Positions returned earlier).
func NewSource(api API, opts SourceOptions, restore *Positions) (*Source, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	s := &Source{
		api: api, opts: opts,
		positions: NewPositions(),
		running:   map[string]*Reader{},
		counters:  map[string]*counters{},
		pending:   map[*Subscription]struct{}{},
		subsWake:  make(chan struct{}),
		ended:     make(chan string, 16),
		done:      make(chan struct{}),
	}
	if restore != nil && restore.Len() > 0 {
		s.positions = restore.Clone()
		s.restored = true
	}
	return s, nil
}

// Subscribe adds a consumer with room for buffer events (at least 1)
// that receives the batches delivered from now on. While a source has no
// subscriber its readers wait rather than drop records.
func (s *Source) Subscribe(buffer int) *Subscription {
	sub := newSubscription(s, buffer)
	sub.feeder.Store(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	sub.pos = s.positions.Clone()
	s.addLocked(sub)
	return sub
}

// SubscribeFrom adds a consumer that receives every record after from, or
// from the source's start position when from is nil, whatever the shared
// readers have delivered already. A consumer behind them first reads with
// readers of its own (a backfill, running under ctx) and joins the shared
// ones once it has caught up; one at or ahead of them joins at once.
func (s *Source) SubscribeFrom(ctx context.Context, buffer int, from *Positions) *Subscription {
	sub := newSubscription(s, buffer)
	s.mu.Lock()
	join := false
	if from == nil {
		// The readers start where the subscriber would: it may share
		// them as long as they have delivered nothing.
		join = !s.restored && s.untouchedLocked()
	} else {
		join = covers(from, s.positions, func(string) bool { return false })
		sub.pos = from.Clone()
	}
	select {
	case <-s.done:
		s.mu.Unlock()
		sub.fail(s.err)
		return sub
	default:
	}
	if join {
		for id, h := range s.positions.shards {
			if _, ok := sub.pos.shards[id]; !ok {
				c := h.clone()
				sub.pos.shards[id] = &c
			}
		}
		sub.feeder.Store(s)
		s.addLocked(sub)
		s.mu.Unlock()
		return sub
	}
	s.pending[sub] = struct{}{}
	s.mu.Unlock()
	sub.backfill(ctx, from)
	return sub
}

// untouchedLocked reports whether the readers have delivered nothing yet.
func (s *Source) untouchedLocked() bool {
	for _, p := range s.positions.shards {
		if p.SequenceNumber != "" || p.Drained {
			return false
		}
	}
	return true
}

// addLocked makes sub one of the subscribers fed by the readers.
func (s *Source) addLocked(sub *Subscription) {
	delete(s.pending, sub)
	select {
	case <-s.done:
		// Run has failed its subscribers already: one joining now (a
		// backfill catching up, a late Subscribe) must learn it too.
		sub.fail(s.err)
		return
	default:
	}
	s.subs = append(s.subs, sub)
	close(s.subsWake)
	s.subsWake = make(chan struct{})
}

// remove forgets a closed subscriber.
func (s *Source) remove(sub *Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, sub)
	s.subs = slices.DeleteFunc(s.subs, func(x *Subscription) bool { return x == sub })
}

// Done is closed when Run has returned; Err then says why.
func (s *Source) Done() <-chan struct{} { return s.done }

// Err returns the error Run returned, once Done is closed.
func (s *Source) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Positions returns the positions after every batch delivered so far.
func (s *Source) Positions() *Positions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.positions.Clone()
}

// deliver hands b to every subscriber. With no subscriber it waits for
// one, unless b carries no records and no end.
func (s *Source) deliver(ctx context.Context, b *Batch) error {
	if b.End {
		// A closed shard's children exist by now: list them before the
		// end is delivered, so that a subscriber sees them (waiting) in
		// Stats when the parent stops holding its watermark back; else
		// the watermark would run ahead of the children's older records
		// in the gap, and they would be late.
		if err := s.discover(ctx); err != nil {
			return err
		}
	}
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	for {
		s.mu.Lock()
		if len(s.subs) > 0 || (len(b.Records) == 0 && !b.End) {
			break
		}
		wake := s.subsWake
		s.mu.Unlock()
		// Let subscribers join (and backfills catch up) meanwhile.
		s.deliverMu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			s.deliverMu.Lock()
			return ctx.Err()
		}
		s.deliverMu.Lock()
	}
	// s.mu is held.
	p := s.positions.shards[b.ShardID]
	if p == nil {
		s.mu.Unlock()
		return fmt.Errorf("kinesis: delivery from unknown shard %s", b.ShardID)
	}
	before := p.clone()
	if b.Restarted {
		// The stream was recreated: the shard is read from its new start,
		// which is where a restart from the positions after b must begin.
		p.Start, p.StartTimestamp = startTrimHorizon, time.Time{}
	}
	if r := s.running[b.ShardID]; r != nil {
		// The reader's own position: it moves past skipped corrupt
		// aggregates too, which the last record of b would not.
		p.SequenceNumber, p.SubSequence = r.lastDelivered()
	}
	if b.End {
		p.Drained, p.Closed = true, true
	}
	after := p.clone()
	subs := slices.Clone(s.subs)
	s.mu.Unlock()
	for _, sub := range subs {
		if err := sub.push(ctx, b, before, after); err != nil {
			return err
		}
	}
	return nil
}

// Stats returns every known shard's figures, ordered by shard id.
func (s *Source) Stats() []ShardStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ShardStats, 0, len(s.positions.shards))
	for _, id := range slices.Sorted(maps.Keys(s.positions.shards)) {
		p := s.positions.shards[id]
		st := ShardStats{ShardID: id}
		if c := s.counters[id]; c != nil {
			st = c.snapshot(id)
		}
		st.LastSequenceNumber = p.SequenceNumber
		switch {
		case p.Drained:
			st.State = StateDrained
		case s.running[id] != nil && st.LastError != "":
			st.State = StateRetrying
		case s.running[id] != nil:
			st.State = StateReading
		default:
			st.State = StateWaiting
		}
		out = append(out, st)
	}
	return out
}

// DiscoverOnce lists shards new since the last listing (all of them the
// first time), following pagination, and adds them to the lineage. It
// starts no reader; Run does.
func (s *Source) DiscoverOnce(ctx context.Context) error {
	s.mu.Lock()
	after := s.lastShard
	s.mu.Unlock()
	in := &kinesis.ListShardsInput{}
	s.opts.setStream(&in.StreamName, &in.StreamARN)
	if after != "" {
		in.ExclusiveStartShardId = aws.String(after)
	}
	var listed []ShardPosition
	for {
		callCtx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
		out, err := s.api.ListShards(callCtx, in, noSDKRetry)
		cancel()
		if err != nil {
			return fmt.Errorf("kinesis: list shards of %s: %w", s.streamName(), err)
		}
		for _, sh := range out.Shards {
			p := ShardPosition{ShardID: aws.ToString(sh.ShardId)}
			for _, parent := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
				if parent != nil && *parent != "" {
					p.Parents = append(p.Parents, *parent)
				}
			}
			if sh.HashKeyRange != nil {
				p.HashKeyStart = aws.ToString(sh.HashKeyRange.StartingHashKey)
				p.HashKeyEnd = aws.ToString(sh.HashKeyRange.EndingHashKey)
			}
			if sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil {
				p.Closed = true
			}
			listed = append(listed, p)
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		// A paginated ListShards takes the token alone, without the stream.
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.discovered
	if first && s.restored {
		// Restored shards that the stream no longer lists have aged out.
		present := make(map[string]bool, len(listed))
		for _, p := range listed {
			present[p.ShardID] = true
		}
		for id := range s.positions.shards {
			if !present[id] {
				delete(s.positions.shards, id)
			}
		}
	}
	for _, p := range listed {
		if p.ShardID > s.lastShard {
			s.lastShard = p.ShardID
		}
		if known := s.positions.shards[p.ShardID]; known != nil {
			known.Closed = known.Closed || p.Closed
			continue
		}
		if first && !s.restored {
			p.Start, p.StartTimestamp = s.opts.initialStart()
		} else {
			// Created after the source started (or after the snapshot it
			// restored): everything in it is new to us.
			p.Start = startTrimHorizon
		}
		p := p
		s.positions.shards[p.ShardID] = &p
	}
	s.discovered = true
	return nil
}

// discover is DiscoverOnce, retried with back-off while Kinesis throttles
// or fails transiently; nil once ctx ends.
func (s *Source) discover(ctx context.Context) error {
	bo := backoff{base: s.opts.BackoffBase, cap: s.opts.BackoffMax}
	for {
		err := s.DiscoverOnce(ctx)
		if err == nil {
			s.trouble.clear(s.opts.logger(), s.readerName(""))
			return nil
		}
		switch classifyRead(ctx, err) {
		case errThrottled, errRetryable:
			s.trouble.set(s.opts.logger(), err, time.Now(), s.readerName(""))
			if serr := sleep(ctx, bo.next()); serr != nil {
				return nil
			}
		default:
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

func (s *Source) streamName() string {
	if s.opts.StreamARN != "" {
		return s.opts.StreamARN
	}
	return s.opts.Stream
}

// runReader runs one shard's reader; a panic in it is the source's error
// (logged once with its stack), not the process's end.
func (s *Source) runReader(ctx context.Context, shard string, r *Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.logger().Error("kinesis: shard reader panicked", "stream", s.streamName(), "shard", shard,
				"panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("shard %s: internal error: reader panicked: %v", shard, p)
		}
	}()
	return r.Run(ctx, s.deliver)
}

// Run discovers shards, runs a reader per readable shard and starts
// children as their parents drain, until ctx ends (nil) or a reader or
// discovery fails for good (that error). Call it once.
func (s *Source) Run(ctx context.Context) (err error) {
	defer func() {
		s.mu.Lock()
		s.err = err
		close(s.done)
		for _, sub := range s.subs {
			sub.fail(err)
		}
		for sub := range s.pending {
			sub.fail(err)
		}
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Stop the readers, then wait for them: in one deferred call, because
	// two defers run in reverse and waiting first would wait for ever on
	// the healthy shards after one has failed (issue 12, finding 7).
	defer func() {
		cancel()
		wg.Wait()
	}()
	errc := make(chan error, 1)

	discover := func() error { return s.discover(ctx) }
	startReadable := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, id := range slices.Sorted(maps.Keys(s.positions.shards)) {
			if s.running[id] != nil || !s.positions.readable(id) {
				continue
			}
			c := s.counters[id]
			if c == nil {
				c = &counters{}
				s.counters[id] = c
			}
			r := newReader(s.api, &s.opts, s.positions.shards[id].clone(), c)
			s.running[id] = r
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.runReader(ctx, id, r); err != nil {
					select {
					case errc <- err:
					default:
					}
					return
				}
				if ctx.Err() == nil {
					select {
					case s.ended <- id:
					case <-ctx.Done():
					}
				}
			}()
		}
	}

	if err := discover(); err != nil {
		return err
	}
	startReadable()
	tick := time.NewTicker(s.opts.ShardDiscoveryInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-s.ended:
			// The shard is drained (deliver recorded it): its children may
			// be listed already or appear in a fresh listing.
			if err := discover(); err != nil {
				return err
			}
			startReadable()
		case <-tick.C:
			if err := discover(); err != nil {
				return err
			}
			startReadable()
		}
	}
}
