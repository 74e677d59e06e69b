package kinesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestSink_OrderUnderPartialFailures: a fake that fails a third of the
// entries of every call; what it accepts must be in order per key, once.
func TestSink_OrderUnderPartialFailures(t *testing.T) {
	var mu sync.Mutex
	accepted := map[string][]int{}
	rng := rand.New(rand.NewPCG(3, 4))
	maxBatch := 0
	api := &fakeAPI{putRecords: func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		maxBatch = max(maxBatch, len(in.Records))
		seen := map[string]bool{}
		out := &kinesis.PutRecordsOutput{}
		for _, e := range in.Records {
			k := aws.ToString(e.PartitionKey)
			if seen[k] {
				t.Errorf("two records of key %s in one call", k)
			}
			seen[k] = true
			if rng.Float64() < 0.33 {
				out.Records = append(out.Records, ktypes.PutRecordsResultEntry{ErrorCode: aws.String("InternalFailure")})
				continue
			}
			var n int
			fmt.Sscanf(string(e.Data), "%d", &n)
			accepted[k] = append(accepted[k], n)
			out.Records = append(out.Records, ktypes.PutRecordsResultEntry{ShardId: aws.String("s"), SequenceNumber: aws.String("1")})
		}
		return out, nil
	}}
	sink, err := NewSink(api, SinkOptions{Stream: "s", Linger: time.Millisecond, MaxBufferedRecords: 300,
		BackoffBase: time.Microsecond, BackoffMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = sink.Run(ctx) }()
	next := map[string]int{}
	keys := rand.New(rand.NewPCG(5, 6)) // the fake's rng is its own
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("k%d", keys.IntN(30))
		if err := sink.Write(ctx, SinkRecord{ID: fmt.Sprint(i), PartitionKey: k, Data: []byte(fmt.Sprint(next[k]))}); err != nil {
			t.Fatal(err)
		}
		next[k]++
		if st := sink.Stats(); st.Buffered > 300 {
			t.Fatalf("%d buffered, bound 300", st.Buffered)
		}
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for k, ns := range accepted {
		if len(ns) != next[k] {
			t.Errorf("key %s: %d accepted, %d written", k, len(ns), next[k])
		}
		for i, n := range ns {
			if n != i {
				t.Fatalf("key %s: accepted order %v", k, ns)
			}
		}
	}
	if maxBatch > MaxPutRecords {
		t.Errorf("batch of %d", maxBatch)
	}
}

func TestSink_Oversize(t *testing.T) {
	api := &fakeAPI{putRecords: func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		out := &kinesis.PutRecordsOutput{}
		for range in.Records {
			out.Records = append(out.Records, ktypes.PutRecordsResultEntry{ShardId: aws.String("s"), SequenceNumber: aws.String("1")})
		}
		return out, nil
	}}
	big := make([]byte, MaxRecordBytes)
	for _, tc := range []struct {
		onOversize string
		wantErr    string
	}{{OversizeFail, "over the"}, {OversizeSkip, ""}} {
		sink, err := NewSink(api, SinkOptions{Stream: "s", OnOversize: tc.onOversize})
		if err != nil {
			t.Fatal(err)
		}
		err = sink.Write(context.Background(), SinkRecord{ID: "r1", PartitionKey: "k", Data: big})
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: err %v, want %q", tc.onOversize, err, tc.wantErr)
		}
		if sink.Stats().Oversize != 1 {
			t.Errorf("%s: oversize not counted", tc.onOversize)
		}
	}
	sink, _ := NewSink(api, SinkOptions{Stream: "s"})
	if err := sink.Write(context.Background(), SinkRecord{ID: "r2", PartitionKey: "", Data: []byte("x")}); err == nil {
		t.Error("empty partition key accepted")
	}
}

// A fatal error (the stream is gone) ends Run and reaches Write and Flush.
func TestSink_Fatal(t *testing.T) {
	api := &fakeAPI{putRecords: func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		return nil, apiErr("ResourceNotFoundException")
	}}
	sink, _ := NewSink(api, SinkOptions{Stream: "s", Linger: time.Millisecond})
	ctx := context.Background()
	runErr := make(chan error, 1)
	go func() { runErr <- sink.Run(ctx) }()
	if err := sink.Write(ctx, SinkRecord{ID: "1", PartitionKey: "k", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(ctx); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("flush: %v", err)
	}
	if err := <-runErr; err == nil {
		t.Error("Run returned nil")
	}
	if err := sink.Write(ctx, SinkRecord{ID: "2", PartitionKey: "k", Data: []byte("x")}); err == nil {
		t.Error("write after failure accepted")
	}
}
