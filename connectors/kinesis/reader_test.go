package kinesis

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: "fake"} }

// TestReader_PollOnce drives one reader step by step: the iterator types it
// asks for, ExpiredIteratorException recovered AFTER the last record
// delivered, throttles counted, the shard's end.
func TestReader_PollOnce(t *testing.T) {
	var iterReqs []string
	var script []func(*kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error)
	rec := func(seq string) ktypes.Record {
		return ktypes.Record{SequenceNumber: aws.String(seq), PartitionKey: aws.String("p"), Data: []byte(seq),
			ApproximateArrivalTimestamp: aws.Time(time.Unix(1, 0))}
	}
	page := func(next *string, seqs ...string) func(*kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error) {
		return func(*kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error) {
			out := &kinesis.GetRecordsOutput{NextShardIterator: next, MillisBehindLatest: aws.Int64(0)}
			for _, s := range seqs {
				out.Records = append(out.Records, rec(s))
			}
			return out, nil
		}
	}
	fail := func(err error) func(*kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error) {
		return func(*kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error) { return nil, err }
	}
	script = append(script,
		page(aws.String("it"), "1", "2"),
		fail(apiErr("ProvisionedThroughputExceededException")),
		fail(apiErr("ExpiredIteratorException")),
		page(aws.String("it"), "3"),
		fail(apiErr("InternalFailure")),
		page(nil), // closed and drained
	)
	api := &fakeAPI{
		getShardIterator: func(in *kinesis.GetShardIteratorInput) (*kinesis.GetShardIteratorOutput, error) {
			iterReqs = append(iterReqs, fmt.Sprintf("%s %s", in.ShardIteratorType, aws.ToString(in.StartingSequenceNumber)))
			return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String("it")}, nil
		},
		getRecords: func(in *kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error) {
			step := script[0]
			script = script[1:]
			return step(in)
		},
	}
	r, err := NewReader(api, SourceOptions{Stream: "s", StartPosition: StartTrimHorizon}, ShardPosition{ShardID: "shard-0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var got []string
	for len(script) > 0 {
		b, err := r.PollOnce(ctx)
		var pe *pollError
		switch {
		case errors.As(err, &pe):
			continue
		case err != nil:
			t.Fatal(err)
		}
		for _, rec := range b.Records {
			got = append(got, rec.SequenceNumber)
		}
		if b.End {
			got = append(got, "end")
		}
	}
	if want := "[1 2 3 end]"; fmt.Sprint(got) != want {
		t.Errorf("records %v, want %s", got, want)
	}
	if want := "[TRIM_HORIZON  AFTER_SEQUENCE_NUMBER 2]"; fmt.Sprint(iterReqs) != want {
		t.Errorf("iterator requests %v, want %s", iterReqs, want)
	}
	st := r.Stats()
	if st.Throttles != 1 || st.Retries != 2 || st.Records != 3 || st.LastSequenceNumber != "3" {
		t.Errorf("stats %+v", st)
	}
}

// Resume is AFTER the committed sequence number, never AT it; a shard
// without a position starts at its start.
func TestReader_StartIterator(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		pos  ShardPosition
		want string
	}{
		{ShardPosition{ShardID: "a", SequenceNumber: "42"}, "AFTER_SEQUENCE_NUMBER 42"},
		{ShardPosition{ShardID: "a", Start: startTrimHorizon}, "TRIM_HORIZON "},
		{ShardPosition{ShardID: "a", Start: startAtTimestamp, StartTimestamp: ts}, "AT_TIMESTAMP 1700000000"},
	} {
		r, err := NewReader(&fakeAPI{}, SourceOptions{Stream: "s", StartPosition: StartTrimHorizon}, tc.pos)
		if err != nil {
			t.Fatal(err)
		}
		in := r.iteratorInput()
		got := fmt.Sprintf("%s %s", in.ShardIteratorType, aws.ToString(in.StartingSequenceNumber))
		if in.Timestamp != nil {
			got += fmt.Sprint(in.Timestamp.Unix())
		}
		if got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.pos, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want errClass
	}{
		{ctx, apiErr("ProvisionedThroughputExceededException"), errThrottled},
		{ctx, apiErr("LimitExceededException"), errThrottled},
		{ctx, apiErr("ExpiredIteratorException"), errExpired},
		{ctx, apiErr("InternalFailure"), errRetryable},
		{ctx, fmt.Errorf("call: %w", context.DeadlineExceeded), errRetryable},
		{ctx, apiErr("ResourceNotFoundException"), errFatal},
		{ctx, apiErr("AccessDeniedException"), errFatal},
		{canceled, apiErr("InternalFailure"), errFatal},
	} {
		if got := classify(tc.ctx, tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// ListShards pagination: the first call names the stream, later ones the
// token alone; a second discovery starts after the last shard seen.
func TestSource_DiscoverOnce(t *testing.T) {
	var calls []string
	api := &fakeAPI{listShards: func(in *kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error) {
		calls = append(calls, fmt.Sprintf("%s|%s|%s", aws.ToString(in.StreamName), aws.ToString(in.NextToken), aws.ToString(in.ExclusiveStartShardId)))
		switch {
		case aws.ToString(in.NextToken) == "" && aws.ToString(in.ExclusiveStartShardId) == "":
			return &kinesis.ListShardsOutput{Shards: []ktypes.Shard{{ShardId: aws.String("s-0")}}, NextToken: aws.String("t1")}, nil
		case aws.ToString(in.NextToken) == "t1":
			return &kinesis.ListShardsOutput{Shards: []ktypes.Shard{{ShardId: aws.String("s-1"),
				SequenceNumberRange: &ktypes.SequenceNumberRange{EndingSequenceNumber: aws.String("9")}}}}, nil
		default:
			return &kinesis.ListShardsOutput{Shards: []ktypes.Shard{{ShardId: aws.String("s-2"), ParentShardId: aws.String("s-1")}}}, nil
		}
	}}
	opts := SourceOptions{Stream: "st", StartPosition: StartLatest, StartTimestamp: time.Unix(100, 0)}
	src, err := NewSource(api, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := src.DiscoverOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if want := "[st|| |t1| st||s-1]"; fmt.Sprint(calls) != want {
		t.Errorf("calls %v, want %s", calls, want)
	}
	p := src.Positions()
	got := ""
	for _, s := range p.Shards() {
		got += fmt.Sprintf("%s:%s:%v:%v ", s.ShardID, s.Start, s.Closed, s.Parents)
	}
	// Shards of the first listing start at the pinned timestamp; a shard
	// found later, at TRIM_HORIZON.
	if want := "s-0:AT_TIMESTAMP:false:[] s-1:AT_TIMESTAMP:true:[] s-2:TRIM_HORIZON:false:[s-1] "; got != want {
		t.Errorf("positions %q, want %q", got, want)
	}
	if p.readable("s-2") {
		t.Error("child readable before its parent drained")
	}
	p.shards["s-1"].Drained = true
	if !p.readable("s-2") {
		t.Error("child not readable after its parent drained")
	}
	blob, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Restore(blob)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.Shards()) != fmt.Sprint(p.Shards()) {
		t.Errorf("restore: %v, want %v", back.Shards(), p.Shards())
	}
	if _, err := Restore([]byte(`{"v":99}`)); err == nil {
		t.Error("unknown version restored")
	}
}

func TestSourceOptions_Validate(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		opts SourceOptions
		ok   bool
	}{
		{SourceOptions{Stream: "s", StartTimestamp: now}, true},
		{SourceOptions{Stream: "s"}, false}, // latest needs its pinned time
		{SourceOptions{Stream: "s", StartPosition: StartTrimHorizon}, true},
		{SourceOptions{Stream: "s", StreamARN: "arn", StartPosition: StartTrimHorizon}, false},
		{SourceOptions{StartPosition: StartTrimHorizon}, false},
		{SourceOptions{Stream: "s", StartPosition: "earliest"}, false},
		{SourceOptions{Stream: "s", StartPosition: StartTrimHorizon, MaxRecordsPerCall: 10001}, false},
	} {
		if err := tc.opts.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: err %v, want ok=%v", tc.opts, err, tc.ok)
		}
	}
}
