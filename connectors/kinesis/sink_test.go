package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
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

// TestSink_Trouble: a sink whose calls fail (refused, throttled, or
// answered with every entry throttled) keeps the first failure's time and
// the last error in Trouble, logs one WARN for the run of failures and an
// INFO when a call gets through, which clears it.
func TestSink_Trouble(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	type seen struct {
		err   string
		since time.Time
	}
	var (
		sink  *Sink
		calls []seen // Trouble as each call began
	)
	call := 0
	api := &fakeAPI{putRecords: func(in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		err, since := sink.Trouble()
		s := seen{since: since}
		if err != nil {
			s.err = err.Error()
		}
		calls = append(calls, s)
		call++
		switch call {
		case 1:
			return nil, refused
		case 2:
			return nil, apiErr("ProvisionedThroughputExceededException")
		}
		out := &kinesis.PutRecordsOutput{}
		for range in.Records {
			if call == 3 {
				out.Records = append(out.Records, ktypes.PutRecordsResultEntry{
					ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("slow down")})
			} else {
				out.Records = append(out.Records, ktypes.PutRecordsResultEntry{ShardId: aws.String("s"), SequenceNumber: aws.String("1")})
			}
		}
		return out, nil
	}}
	logs := &lockedBuffer{}
	sink, err := NewSink(api, SinkOptions{Stream: "out", Linger: time.Millisecond, BackoffBase: time.Microsecond,
		BackoffMax: time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = sink.Run(ctx) }()
	if err := sink.Write(ctx, SinkRecord{ID: "1", PartitionKey: "k", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err, _ := sink.Trouble(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("trouble not cleared after a call that got through")
		}
		time.Sleep(time.Millisecond)
	}
	if len(calls) != 4 {
		t.Fatalf("%d calls, want 4", len(calls))
	}
	for i, want := range []string{"", "connection refused", "ProvisionedThroughputExceededException", "1 of 1 entries failed, the first with ProvisionedThroughputExceededException: slow down"} {
		if !strings.Contains(calls[i].err, want) || (want == "") != (calls[i].err == "") {
			t.Errorf("Trouble before call %d: %q, want it to hold %q", i+1, calls[i].err, want)
		}
		if i > 1 && !calls[i].since.Equal(calls[1].since) {
			t.Errorf("since moved from %v to %v during one run of failures", calls[1].since, calls[i].since)
		}
	}
	text := logs.String()
	if n := strings.Count(text, "level=WARN"); n != 1 || !strings.Contains(text, "sink writer of stream out") {
		t.Errorf("%d WARN lines for one run of failures, want 1 naming the sink's stream:\n%s", n, text)
	}
	if !strings.Contains(text, "level=INFO") {
		t.Errorf("no INFO line on recovery:\n%s", text)
	}
}
