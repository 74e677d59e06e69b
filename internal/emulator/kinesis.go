package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Region is the region the helpers' clients sign for; emulators accept any.
const Region = "us-east-1"

// NewClient returns a Kinesis client for an emulator at endpoint, with
// static fake credentials and region us-east-1. It does not read the AWS
// environment or shared config files, so a developer's real profile can
// never leak into a test. endpoint must be an http(s) URL on loopback.
func NewClient(ctx context.Context, endpoint string) (*kinesis.Client, error) {
	if err := checkLoopback(endpoint); err != nil {
		return nil, err
	}
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDSTREAMSQLTEST", SecretAccessKey: "streamsql-test-secret", Source: "emulator"}, nil
	})
	return kinesis.New(kinesis.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  aws.NewCredentialsCache(creds),
		// The SDK's client-side retry quota protects a shared service from
		// a storm of retries; against a local emulator under test load it
		// only turns a slow moment into "retry quota exceeded".
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None }),
	}), nil
}

// checkLoopback refuses an endpoint that is not on the loopback interface:
// these helpers are for local emulators only.
func checkLoopback(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("emulator: endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("emulator: endpoint %q: scheme must be http or https", endpoint)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("emulator: endpoint %q is not a loopback address", endpoint)
}

// CreateStream creates a stream with the given number of shards and waits
// until it is ACTIVE (or ctx ends; without a deadline on ctx, 30s).
func CreateStream(ctx context.Context, c *kinesis.Client, name string, shards int) error {
	if shards < 1 {
		return fmt.Errorf("create stream %s: shards must be at least 1, got %d", name, shards)
	}
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String(name),
		ShardCount: aws.Int32(int32(shards)),
	}); err != nil {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	return WaitActive(ctx, c, name)
}

// WaitActive polls the stream's status until it is ACTIVE.
func WaitActive(ctx context.Context, c *kinesis.Client, name string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	var last string
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		var notFound *ktypes.ResourceNotFoundException
		switch {
		case err == nil:
			last = string(out.StreamDescriptionSummary.StreamStatus)
			if out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive {
				return nil
			}
		case errors.As(err, &notFound):
			last = "not found"
		case ctx.Err() != nil:
		default:
			return fmt.Errorf("describe stream %s: %w", name, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("stream %s not ACTIVE (last status %q): %w", name, last, ctx.Err())
		case <-t.C:
		}
	}
}

// Record is one record to put.
type Record struct {
	PartitionKey string
	Data         []byte
}

// PutResult says where a record landed.
type PutResult struct {
	ShardID        string
	SequenceNumber string
}

// Kinesis PutRecords limits per call.
const (
	maxPutRecords = 500
	maxPutBytes   = 5 << 20
)

// PutRecords writes records in order, in as few PutRecords calls as the
// service limits allow, and returns each record's shard and sequence
// number. A partially failed call is an error: retrying only the failed
// entries would reorder records of one partition key, and a test helper
// should say so rather than hide it.
func PutRecords(ctx context.Context, c *kinesis.Client, stream string, records []Record) ([]PutResult, error) {
	results := make([]PutResult, 0, len(records))
	for start := 0; start < len(records); {
		end, size := start, 0
		for end < len(records) && end-start < maxPutRecords {
			n := len(records[end].PartitionKey) + len(records[end].Data)
			if end > start && size+n > maxPutBytes {
				break
			}
			size += n
			end++
		}
		entries := make([]ktypes.PutRecordsRequestEntry, 0, end-start)
		for _, r := range records[start:end] {
			entries = append(entries, ktypes.PutRecordsRequestEntry{
				PartitionKey: aws.String(r.PartitionKey),
				Data:         r.Data,
			})
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err != nil {
			return results, fmt.Errorf("put %d records to %s: %w", len(entries), stream, err)
		}
		if n := aws.ToInt32(out.FailedRecordCount); n > 0 {
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					return results, fmt.Errorf("put records to %s: %d of %d failed; first at %d: %s: %s",
						stream, n, len(entries), start+i, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
				}
			}
			return results, fmt.Errorf("put records to %s: %d of %d failed", stream, n, len(entries))
		}
		for _, r := range out.Records {
			results = append(results, PutResult{ShardID: aws.ToString(r.ShardId), SequenceNumber: aws.ToString(r.SequenceNumber)})
		}
		start = end
	}
	return results, nil
}
