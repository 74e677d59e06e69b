package kinesis

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestReader_IteratorAge: the iterator age is how long before the call
// the last record it returned arrived, kept through calls that find
// nothing while behind, and 0 once a call finds the shard caught up. It
// does not come from MillisBehindLatest (kinesalite's is always 0).
func TestReader_IteratorAge(t *testing.T) {
	now := time.Now()
	page := func(behind int64, arrived ...time.Time) *kinesis.GetRecordsOutput {
		out := &kinesis.GetRecordsOutput{NextShardIterator: aws.String("it"), MillisBehindLatest: aws.Int64(behind)}
		for i, at := range arrived {
			out.Records = append(out.Records, ktypes.Record{SequenceNumber: aws.String(string(rune('1' + i))),
				PartitionKey: aws.String("p"), Data: []byte("x"), ApproximateArrivalTimestamp: aws.Time(at)})
		}
		return out
	}
	steps := []struct {
		name     string
		out      *kinesis.GetRecordsOutput
		min, max time.Duration
	}{
		// The last record arrived 10 minutes ago, the first an hour ago:
		// the last one counts. Up to a minute more for a slow machine.
		{"records, MillisBehindLatest 0", page(0, now.Add(-time.Hour), now.Add(-10*time.Minute)), 10 * time.Minute, 11 * time.Minute},
		{"nothing, behind", page(5000), 10 * time.Minute, 11 * time.Minute},
		{"nothing, caught up", page(0), 0, 0},
		{"a record from the future (clock skew)", page(0, now.Add(time.Hour)), 0, 0},
	}
	next := 0
	api := &fakeAPI{
		getShardIterator: func(*kinesis.GetShardIteratorInput) (*kinesis.GetShardIteratorOutput, error) {
			return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String("it")}, nil
		},
		getRecords: func(*kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error) {
			out := steps[next].out
			next++
			return out, nil
		},
	}
	r, err := NewReader(api, SourceOptions{Stream: "s", StartPosition: StartTrimHorizon}, ShardPosition{ShardID: "shard-0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range steps {
		if _, err := r.PollOnce(context.Background()); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		age := time.Duration(r.Stats().IteratorAgeMillis) * time.Millisecond
		if age < step.min || age > step.max {
			t.Errorf("%s: iterator age %v, want %v to %v", step.name, age, step.min, step.max)
		}
	}
}
