package kinesis

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// consumer is what the engine's views do with a shared source: read, cut
// (a barrier: positions to commit), and after a crash resume from the last
// cut, with what it had counted by then.
type consumer struct {
	sub      *Subscription
	l        *ledger
	cut      *Positions
	cutNext  map[string]int
	hasCut   bool
	restarts int
}

// takeCut sends a barrier and reads up to it: the positions and the
// ledger at that point are the consumer's committed state.
func (cn *consumer) takeCut(t *testing.T, ctx context.Context) {
	t.Helper()
	cn.cut = cutAt(t, ctx, cn.sub, cn.l)
	cn.cutNext, cn.hasCut = maps.Clone(cn.l.next), true
}

// resume subscribes again from the last cut (or the source's start).
func (cn *consumer) resume(ctx context.Context, src *Source) {
	if cn.sub != nil {
		cn.sub.Close()
	}
	cn.l = newLedger()
	if cn.hasCut {
		maps.Copy(cn.l.next, cn.cutNext)
		cn.sub = src.SubscribeFrom(ctx, 100000, cn.cut)
	} else {
		cn.sub = src.SubscribeFrom(ctx, 100000, nil)
	}
	cn.restarts++
}

// drain reads until the consumer has every record written per key.
func (cn *consumer) drain(t *testing.T, w *writer) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	complete := func() bool {
		for k, n := range w.next {
			if cn.l.next[keyName(k)] != n {
				return false
			}
		}
		return true
	}
	for !complete() {
		select {
		case ev := <-cn.sub.Events():
			if b, ok := ev.(*Batch); ok {
				for _, r := range b.Records {
					cn.l.add(r)
				}
			}
		case <-cn.sub.Failed():
			t.Fatalf("subscription failed: %v", cn.sub.Err())
		case <-deadline:
			t.Fatalf("incomplete after 60 s (shared %v, restarts %d); stats %+v", cn.sub.Shared(), cn.restarts, cn.sub.Stats())
		}
	}
}

// Consumers of one shared source crash and resume from their last cut,
// and the whole source is restarted from one consumer's cut, while shards
// are split and merged: every consumer sees every record after its cut
// exactly once, in order per key.
func TestSource_RestartsWhileResharding(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { restartsWhileResharding(t, seed) })
	}
}

func restartsWhileResharding(t *testing.T, seed uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	stream, c := newStream(t, 2)
	w := newWriter(c, stream, 40)
	opts := fastOptions(stream, StartTrimHorizon)
	start := func(from *Positions) (*Source, func()) {
		src, err := NewSource(c, opts, from)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		go func() { _ = src.Run(runCtx) }()
		return src, func() { stop(); <-src.Done() }
	}
	src, stop := start(nil)
	defer func() { stop() }()
	cons := make([]*consumer, 3)
	for i := range cons {
		cons[i] = &consumer{}
		cons[i].resume(ctx, src)
	}
	rnd := rand.New(rand.NewPCG(seed, 4))
	openShards := func() []string {
		out, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range out.Shards {
			if s.SequenceNumberRange.EndingSequenceNumber == nil {
				ids = append(ids, aws.ToString(s.ShardId))
			}
		}
		return ids
	}
	for round := range 14 {
		if err := w.put(ctx, 300); err != nil {
			t.Fatal(err)
		}
		switch round % 4 {
		case 1: // split a random open shard in the middle
			out, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
			if err != nil {
				t.Fatal(err)
			}
			var open []int
			for i, s := range out.Shards {
				if s.SequenceNumberRange.EndingSequenceNumber == nil {
					open = append(open, i)
				}
			}
			s := out.Shards[open[rnd.IntN(len(open))]]
			mid := midHashKey(aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
			if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream),
				ShardToSplit: s.ShardId, NewStartingHashKey: aws.String(mid)}); err != nil {
				t.Fatalf("split: %v", err)
			}
			waitActive(t, c, stream)
		case 3: // merge the two newest open shards (the children of the last split)
			open := openShards()
			if len(open) >= 2 {
				a, b := open[len(open)-2], open[len(open)-1]
				if _, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(stream),
					ShardToMerge: aws.String(a), AdjacentShardToMerge: aws.String(b)}); err != nil {
					t.Logf("merge %s %s: %v (not adjacent; skipped)", a, b, err)
				} else {
					waitActive(t, c, stream)
				}
			}
		}
		if err := w.put(ctx, 200); err != nil {
			t.Fatal(err)
		}
		// Cuts land mid-stream: some of the records are read, some not.
		for _, cn := range cons {
			if rnd.IntN(2) == 0 {
				cn.takeCut(t, ctx)
			}
		}
		switch r := rnd.IntN(10); {
		case r < 3: // one consumer crashes
			cons[rnd.IntN(len(cons))].resume(ctx, src)
		case r < 5: // the process crashes: the shared readers start again
			// from the cut of whichever consumer comes first.
			stop()
			first := cons[rnd.IntN(len(cons))]
			var from *Positions
			if first.hasCut {
				from = first.cut
			}
			src, stop = start(from)
			first.resume(ctx, src)
			for _, cn := range cons {
				if cn != first {
					cn.resume(ctx, src)
				}
			}
		}
		for _, cn := range cons {
			cn.drain(t, w)
		}
	}
	for i, cn := range cons {
		expectQuiet(t, cn.sub, cn.l, 200*time.Millisecond)
		if len(cn.l.errs) > 0 {
			t.Errorf("consumer %d (%d restarts):", i, cn.restarts)
			cn.l.check(t, cn.l.total)
		}
	}
	t.Logf("%d records; restarts %d %d %d", w.total, cons[0].restarts, cons[1].restarts, cons[2].restarts)
}

// When a subscriber receives the end of a closed shard, the shard's
// children are already listed: a consumer that computes watermarks over
// the shards in Stats never has a moment with the parent closed and its
// children unknown, in which the watermark could run ahead of them.
func TestSource_ChildrenListedBeforeParentEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, c := newStream(t, 1)
	opts := fastOptions(stream, StartTrimHorizon)
	opts.ShardDiscoveryInterval = time.Hour // only the end of the parent may list the children
	src, err := NewSource(c, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.Subscribe(64)
	stop := runSource(t, src)
	defer stop()
	w := newWriter(c, stream, 10)
	if err := w.put(ctx, 100); err != nil {
		t.Fatal(err)
	}
	l := newLedger()
	collect(t, src, sub, l, 100, 30*time.Second)
	out, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	s0 := out.Shards[0]
	mid := midHashKey(aws.ToString(s0.HashKeyRange.StartingHashKey), aws.ToString(s0.HashKeyRange.EndingHashKey))
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream),
		ShardToSplit: s0.ShardId, NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, c, stream)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-sub.Events():
			b, ok := ev.(*Batch)
			if !ok || !b.End {
				continue
			}
			known := map[string]bool{}
			for _, st := range sub.Stats() {
				known[st.ShardID] = true
			}
			if !known["shardId-000000000001"] || !known["shardId-000000000002"] {
				t.Fatalf("the end of %s came with shards %v listed; want its children too", b.ShardID, known)
			}
			return
		case <-deadline:
			t.Fatal("the split shard did not end within 30 s")
		}
	}
}
