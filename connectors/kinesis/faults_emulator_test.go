package kinesis

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A fifth of GetRecords, GetShardIterator and ListShards calls throttled,
// failed with 500 or dropped: nothing lost, nothing duplicated, and the
// counters show it.
func TestSource_Faults(t *testing.T) {
	ctx := context.Background()
	stream, c := newStream(t, 2)
	proxy := newFaultProxy(t, shieldURL, 0.2, 0, "GetRecords", "GetShardIterator", "ListShards")
	pc := testClient(t, proxy.URL())
	opts := fastOptions(stream, StartTrimHorizon)
	opts.MaxRecordsPerCall = 200 // many calls, many faults
	src, err := NewSource(pc, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.Subscribe(8)
	stop := runSource(t, src)
	defer stop()
	w := newWriter(c, stream, 50)
	l := newLedger()
	for i := 0; i < 4; i++ {
		if err := w.put(ctx, 1000); err != nil {
			t.Fatal(err)
		}
		collect(t, src, sub, l, w.total, 60*time.Second)
	}
	expectQuiet(t, sub, l, 100*time.Millisecond)
	l.check(t, w.total)
	var throttles, retries int64
	for _, s := range src.Stats() {
		throttles += s.Throttles
		retries += s.Retries
	}
	if throttles == 0 || retries == 0 || proxy.dropped.Load() == 0 {
		t.Errorf("throttles %d, retries %d, proxy dropped %d: faults not seen", throttles, retries, proxy.dropped.Load())
	}
	t.Logf("proxy: %d throttled, %d failed, %d dropped; source: %d throttles, %d retries",
		proxy.throttled.Load(), proxy.failed.Load(), proxy.dropped.Load(), throttles, retries)
}

// The sink through injected whole-call faults and partial failures: read
// back, every record once, in order per key.
func TestSink_EmulatorFaults(t *testing.T) {
	ctx := context.Background()
	stream, c := newStream(t, 4)
	proxy := newFaultProxy(t, shieldURL, 0.1, 0.2, "PutRecords")
	sink, err := NewSink(testClient(t, proxy.URL()), SinkOptions{
		Stream: stream, Linger: 5 * time.Millisecond, MaxBufferedRecords: 1000,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sinkErr := make(chan error, 1)
	go func() { sinkErr <- sink.Run(sctx) }()

	const total, nkeys = 6000, 40
	next := make([]int, nkeys)
	for i := 0; i < total; i++ {
		k := i % nkeys
		if i%7 == 0 { // uneven keys: runs of one key in a batch
			k = 0
		}
		key := fmt.Sprintf("k%d", k)
		if err := sink.Write(ctx, SinkRecord{ID: fmt.Sprint(i), PartitionKey: key, Data: encodePayload(key, next[k])}); err != nil {
			t.Fatal(err)
		}
		next[k]++
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st := sink.Stats()
	if st.Records != total || st.Buffered != 0 {
		t.Errorf("sink stats %+v, want %d records, none buffered", st, total)
	}
	if st.Throttles == 0 || st.Retries == 0 || proxy.partialEntries.Load() == 0 {
		t.Errorf("sink stats %+v, proxy partial %d: faults not seen", st, proxy.partialEntries.Load())
	}
	t.Logf("sink %+v; proxy %d throttled, %d failed, %d dropped, %d entries failed",
		st, proxy.throttled.Load(), proxy.failed.Load(), proxy.dropped.Load(), proxy.partialEntries.Load())

	src, err := NewSource(c, fastOptions(stream, StartTrimHorizon), nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := src.Subscribe(8)
	stop := runSource(t, src)
	defer stop()
	// The sink is at-least-once: a PutRecords call that Kinesis took but
	// whose answer came too late (a loaded machine, -race) is sent again.
	// Every record must arrive, first sightings in order per key.
	l := newLedger()
	l.atLeastOnce = true
	collect(t, src, sub, l, total, 60*time.Second)
	expectQuiet(t, sub, l, 100*time.Millisecond)
	l.check(t, total)
	t.Logf("%d records seen again (re-sent after a late answer)", l.resent)
	cancel()
	if err := <-sinkErr; err != nil {
		t.Error(err)
	}
}
