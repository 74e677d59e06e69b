package kinesis

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"
)

// Consumers that subscribe after the shared readers have moved on read
// with readers of their own until they catch up, then join the shared
// ones, while records keep arriving: each sees every record after where
// it started exactly once, in order per key, and ends up shared.
func TestSource_BackfillThenJoin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stream, c := newStream(t, 3)
	w := newWriter(c, stream, 30)
	if err := w.put(ctx, 2000); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(c, fastOptions(stream, StartTrimHorizon), nil)
	if err != nil {
		t.Fatal(err)
	}
	first := src.SubscribeFrom(ctx, 4, nil)
	if !first.Shared() {
		t.Fatal("the first subscriber of an unread source backfills; want it shared at once")
	}
	stop := runSource(t, src)
	defer stop()

	l1 := newLedger()
	collect(t, src, first, l1, 1000, 30*time.Second)
	// A cut of the first subscriber: what a committed epoch would hold.
	cut := cutAt(t, ctx, first, l1)
	l3 := newLedger()
	maps.Copy(l3.next, l1.next)
	atCut := l1.total
	// More on every shard, so that the shared readers are past the cut.
	if err := w.put(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	collect(t, src, first, l1, 3000, 30*time.Second)

	// Records keep arriving while the late subscribers backfill and join.
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 15 {
			if err := w.put(ctx, 200); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(30 * time.Millisecond) // pacing the producer, not waiting for a result
		}
	}()
	fromStart := src.SubscribeFrom(ctx, 4, nil)
	fromCut := src.SubscribeFrom(ctx, 4, cut)
	if fromStart.Shared() || fromCut.Shared() {
		t.Error("subscribers behind the shared readers joined without a backfill")
	}
	l2 := newLedger()
	const total = 3000 + 15*200
	// Each consumer reads for as long as the test runs, as a view does: one
	// that stopped once it had its records would hold up the shared
	// readers as soon as its buffer filled.
	stopReading := make(chan struct{})
	var cwg sync.WaitGroup
	reached := make(chan error, 3)
	for _, c := range []struct {
		sub  *Subscription
		l    *ledger
		want int
	}{{first, l1, total}, {fromStart, l2, total}, {fromCut, l3, total - atCut}} {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			reached <- receive(src, c.sub, c.l, c.want, 60*time.Second)
			for {
				select {
				case ev := <-c.sub.Events():
					if b, ok := ev.(*Batch); ok {
						for _, r := range b.Records {
							c.l.add(r) // anything more is an error the ledger reports
						}
					}
				case <-stopReading:
					return
				}
			}
		}()
	}
	wg.Wait()
	for range 3 {
		if err := <-reached; err != nil {
			t.Error(err)
		}
	}
	for _, sub := range []*Subscription{fromStart, fromCut} {
		deadline := time.Now().Add(30 * time.Second)
		for !sub.Shared() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
		}
		if !sub.Shared() {
			t.Errorf("a subscriber still backfills after catching up; stats %+v", sub.Stats())
		}
	}
	time.Sleep(200 * time.Millisecond) // a late duplicate would land in a ledger now
	close(stopReading)
	cwg.Wait()
	l1.check(t, total)
	l2.check(t, total)
	l3.check(t, total-atCut)
}

// A subscriber ahead of readers that have read nothing yet joins at once;
// the records it already has are filtered out of what they deliver.
func TestSource_JoinAheadFilters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, c := newStream(t, 2)
	w := newWriter(c, stream, 10)
	if err := w.put(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(c, fastOptions(stream, StartTrimHorizon), nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.Subscribe(4)
	stop := runSource(t, src)
	l := newLedger()
	collect(t, src, sub, l, 400, 30*time.Second)
	cut := cutAt(t, ctx, sub, l)
	stop()

	// A fresh trim_horizon source: the restored subscriber is ahead of it.
	src2, err := NewSource(c, fastOptions(stream, StartTrimHorizon), nil)
	if err != nil {
		t.Fatal(err)
	}
	ahead := src2.SubscribeFrom(ctx, 4, cut)
	if !ahead.Shared() {
		t.Fatal("a subscriber ahead of the readers backfills; want it to join at once")
	}
	stop2 := runSource(t, src2)
	defer stop2()
	l2 := newLedger()
	maps.Copy(l2.next, l.next)
	collect(t, src2, ahead, l2, 1000-l.total, 30*time.Second)
	expectQuiet(t, ahead, l2, 200*time.Millisecond)
	l2.check(t, 1000-l.total)
}
