package kinesis

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// 4 shards, 100,000 records written while the source reads them.
func TestSource_Emulator100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100k records")
	}
	stream, c := newStream(t, 4)
	src, err := NewSource(c, fastOptions(stream, StartTrimHorizon), nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.Subscribe(8)
	stop := runSource(t, src)
	defer stop()

	const total = 100_000
	w := newWriter(c, stream, 1000)
	werr := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for w.total < total {
			if err := w.put(ctx, 5000); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	l := newLedger()
	start := time.Now()
	collect(t, src, sub, l, total, 150*time.Second)
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote and read %d records in %v", total, time.Since(start))
	expectQuiet(t, sub, l, 100*time.Millisecond)
	l.check(t, total)
	var recs int64
	for _, s := range src.Stats() {
		recs += s.Records
		if s.State != StateReading {
			t.Errorf("shard %s: state %s", s.ShardID, s.State)
		}
	}
	if recs != total {
		t.Errorf("stats count %d records, want %d", recs, total)
	}
}

func TestSource_StartPositions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start StartPosition
		// pinBefore: the timestamp is taken before the first records.
		pinBefore bool
		wantOld   bool
	}{
		{"trim_horizon", StartTrimHorizon, false, true},
		{"latest", StartLatest, false, false},
		{"at_timestamp_before", StartAtTimestamp, true, true},
		{"at_timestamp_between", StartAtTimestamp, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			stream, c := newStream(t, 2)
			w := newWriter(c, stream, 10)
			pin := time.Now().Add(-time.Millisecond)
			if err := w.put(ctx, 100); err != nil {
				t.Fatal(err)
			}
			if !tc.pinBefore {
				// Kinesis timestamps have millisecond resolution: the pin
				// must be strictly after the old records' arrival.
				waitClock(t, time.Now().Add(2*time.Millisecond))
				pin = time.Now()
				waitClock(t, pin.Add(2*time.Millisecond))
			}
			opts := fastOptions(stream, tc.start)
			opts.StartTimestamp = pin
			opts.CallTimeout = 500 * time.Millisecond // kinesalite never answers AT_TIMESTAMP on an empty tail
			src, err := NewSource(c, opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			sub := src.Subscribe(8)
			stop := runSource(t, src)
			defer stop()
			// The "new" records are written after the source started (for
			// latest: the restart-before-commit case is the same pin).
			if err := w.put(ctx, 100); err != nil {
				t.Fatal(err)
			}
			l := newLedger()
			if tc.wantOld {
				collect(t, src, sub, l, 200, 30*time.Second)
				expectQuiet(t, sub, l, 100*time.Millisecond)
				l.check(t, 200)
				return
			}
			// Old records are 0..9 per key; the ledger must start at 10.
			for k := 0; k < 10; k++ {
				l.next[keyName(k)] = 10
			}
			collect(t, src, sub, l, 100, 30*time.Second)
			expectQuiet(t, sub, l, 100*time.Millisecond)
			l.check(t, 100)
		})
	}
}

func keyName(k int) string { return "k" + itoa(k) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// waitClock waits until the wall clock has passed t (a few milliseconds).
func waitClock(t *testing.T, until time.Time) {
	t.Helper()
	for time.Now().Before(until) {
		time.Sleep(time.Millisecond)
	}
}

// SplitShard and MergeShards while the source reads and a writer writes:
// every record exactly once, in order per key, children read after parents.
func TestSource_Reshard(t *testing.T) {
	ctx := context.Background()
	stream, c := newStream(t, 2)
	src, err := NewSource(c, fastOptions(stream, StartTrimHorizon), nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.Subscribe(8)
	stop := runSource(t, src)
	defer stop()
	w := newWriter(c, stream, 200)
	l := newLedger()

	step := func(n int) {
		t.Helper()
		if err := w.put(ctx, n); err != nil {
			t.Fatal(err)
		}
		collect(t, src, sub, l, w.total, 30*time.Second)
	}
	step(2000)
	// Split shard 0 in the middle of its hash range.
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	s0 := shards.Shards[0]
	mid := midHashKey(aws.ToString(s0.HashKeyRange.StartingHashKey), aws.ToString(s0.HashKeyRange.EndingHashKey))
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream),
		ShardToSplit: s0.ShardId, NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatalf("split: %v", err)
	}
	waitActive(t, c, stream)
	step(2000)
	// Merge the two children of the split (shards 2 and 3, adjacent).
	if _, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(stream),
		ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000003")}); err != nil {
		t.Fatalf("merge: %v", err)
	}
	waitActive(t, c, stream)
	step(2000)
	expectQuiet(t, sub, l, 200*time.Millisecond)
	l.check(t, w.total)

	states := map[string]string{}
	for _, s := range src.Stats() {
		states[s.ShardID] = s.State
	}
	want := map[string]string{
		"shardId-000000000000": StateDrained, "shardId-000000000001": StateReading,
		"shardId-000000000002": StateDrained, "shardId-000000000003": StateDrained,
		"shardId-000000000004": StateReading,
	}
	for id, st := range want {
		if states[id] != st {
			t.Errorf("shard %s: state %q, want %q (all: %v)", id, states[id], st, states)
		}
	}
	p, _ := src.Positions().Shard("shardId-000000000004")
	if len(p.Parents) != 2 {
		t.Errorf("merged shard parents %v, want two", p.Parents)
	}
}

func waitActive(t *testing.T, c *kinesis.Client, stream string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StreamDescriptionSummary.StreamStatus == "ACTIVE" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Restore from the positions of a barrier: the second source reads on
// after them, nothing twice, nothing skipped.
func TestSource_Restore(t *testing.T) {
	ctx := context.Background()
	stream, c := newStream(t, 3)
	w := newWriter(c, stream, 30)
	if err := w.put(ctx, 3000); err != nil {
		t.Fatal(err)
	}
	// A trim_horizon source reads the first 3000, commits at a barrier.
	src, err := NewSource(c, fastOptions(stream, StartTrimHorizon), nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.Subscribe(4)
	stop := runSource(t, src)
	l := newLedger()
	collect(t, src, sub, l, 3000, 30*time.Second)
	// Drain what is buffered, then take a barrier: its positions are those
	// after exactly what this subscriber received before it.
	snap := cutAt(t, ctx, sub, l)
	stop()
	blob, err := snap.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.put(ctx, 3000); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(blob)
	if err != nil {
		t.Fatal(err)
	}
	// The restored source's start position is irrelevant: every shard has
	// a position. (latest would skip the 3000 new ones otherwise.)
	src2, err := NewSource(c, fastOptions(stream, StartLatest), restored)
	if err != nil {
		t.Fatal(err)
	}
	sub2 := src2.Subscribe(4)
	stop2 := runSource(t, src2)
	defer stop2()
	collect(t, src2, sub2, l, 6000, 30*time.Second)
	expectQuiet(t, sub2, l, 100*time.Millisecond)
	l.check(t, 6000)
}

// Ten subscribers share one reader per shard: the GetRecords calls do not
// grow with them, and each sees every record in order.
func TestSource_FanOut(t *testing.T) {
	ctx := context.Background()
	stream, c := newStream(t, 2)
	w := newWriter(c, stream, 20)
	if err := w.put(ctx, 2000); err != nil {
		t.Fatal(err)
	}
	opts := fastOptions(stream, StartTrimHorizon)
	opts.PollInterval = 100 * time.Millisecond // bounds the caught-up polls
	src, err := NewSource(c, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	subs := make([]*Subscription, 10)
	for i := range subs {
		subs[i] = src.Subscribe(1) // tiny buffers: the slowest paces the reader
	}
	stop := runSource(t, src)
	defer stop()
	done := make(chan *ledger, len(subs))
	for _, sub := range subs {
		go func() {
			l := newLedger()
			deadline := time.After(30 * time.Second)
			for l.total < 2000 {
				select {
				case ev := <-sub.Events():
					if b, ok := ev.(*Batch); ok {
						for _, r := range b.Records {
							l.add(r)
						}
					}
				case <-deadline:
					done <- l
					return
				}
			}
			done <- l
		}()
	}
	for range subs {
		l := <-done
		l.check(t, 2000)
	}
	var calls int64
	for _, s := range src.Stats() {
		calls += s.Calls
	}
	// 2 shards, 1000 records each, one page each plus caught-up polls: a
	// reader per subscriber would make at least 20 calls before catching up.
	if calls > 200 {
		t.Errorf("%d GetRecords calls for 10 subscribers", calls)
	}
}
