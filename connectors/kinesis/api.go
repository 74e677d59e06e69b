// Package kinesis owns reading and writing Amazon Kinesis Data Streams for
// streamsql: per-shard readers paced under the service limits, shard
// discovery and resharding (children read only after their parents are
// drained), the shard lineage and positions that checkpoints commit, an
// in-process fan-out so that every consumer of a source shares one reader
// per shard, KPL de-aggregation, watermark bookkeeping per shard, and the
// PutRecords sink writer. It knows nothing of SQL: rows are built by
// connectors/format from the bytes delivered here.
package kinesis

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// API is the part of the Kinesis service this package calls. The consumer
// owns the seam (Flink's StreamProxy): *kinesis.Client implements it, unit
// tests fake it. The signatures are the SDK's, so optFns reach the client;
// fakes ignore them.
type API interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
}

var _ API = (*kinesis.Client)(nil)

// noSDKRetry turns the SDK's retryer off for one call. Every call this
// package makes sits in a loop of its own that paces and backs off with
// jitter; the SDK retrying underneath would multiply attempts, and its
// retry quota would turn sustained throttling into hard failures.
func noSDKRetry(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} }
