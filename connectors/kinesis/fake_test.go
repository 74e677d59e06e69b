package kinesis

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// fakeAPI is the unit tests' Kinesis: each call runs its func field
// (litestream's mock/replica_client.go shape). A nil field panics, which
// in a test means the code made a call the test did not expect.
type fakeAPI struct {
	listShards       func(*kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error)
	getShardIterator func(*kinesis.GetShardIteratorInput) (*kinesis.GetShardIteratorOutput, error)
	getRecords       func(*kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error)
	putRecords       func(*kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)
}

func (f *fakeAPI) ListShards(_ context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return f.listShards(in)
}

func (f *fakeAPI) GetShardIterator(_ context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	return f.getShardIterator(in)
}

func (f *fakeAPI) GetRecords(_ context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	return f.getRecords(in)
}

func (f *fakeAPI) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return f.putRecords(in)
}

func (f *fakeAPI) DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	return &kinesis.DescribeStreamSummaryOutput{}, nil
}
