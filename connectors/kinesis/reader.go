package kinesis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// Batch is what one GetRecords call on one shard delivered: its user
// records in shard order (KPL aggregates expanded), or none when the shard
// had nothing new. Subscribers share a Batch: read it, never modify it.
type Batch struct {
	ShardID string
	Records []Record
	// Bytes is the size of the records' data as read (before de-aggregation).
	Bytes int
	// MillisBehindLatest is the service's figure from the call.
	MillisBehindLatest int64
	// CaughtUp means the shard had nothing more to give at ReadAt:
	// MillisBehindLatest was 0 and the call returned less than its limit.
	CaughtUp bool
	// End means the shard is closed and has now been read to its end; no
	// more batches come from it and its children may be read.
	End bool
	// Restarted means the stream was deleted and created again under the
	// reader: this batch is the first from the start (TRIM_HORIZON) of the
	// new stream's shard, whose sequence numbers have nothing to do with
	// the old one's. Positions of the shard before it no longer apply.
	Restarted bool
	ReadAt    time.Time
}

func (*Batch) isEvent() {}

// pollError is a failed poll the loop may retry.
type pollError struct {
	class errClass
	err   error
}

func (e *pollError) Error() string { return e.err.Error() }
func (e *pollError) Unwrap() error { return e.err }

// Reader reads one shard. PollOnce is the synchronous step (one GetRecords,
// no waiting) that tests drive; Run is the paced loop around it.
type Reader struct {
	api     API
	opts    *SourceOptions
	shardID string
	start   ShardPosition // where reading starts when nothing was delivered yet
	stats   *counters

	iterator  string // empty: fetch one before the next GetRecords
	lastSeq   string // last record delivered; expired iterators resume after it
	lastSub   int
	restarted bool // the stream was recreated; the next batch says so
	bo        backoff
	next      time.Time // earliest start of the next call (pacing)
}

// NewReader returns a reader of one shard starting from pos: after
// pos.SequenceNumber when set, else from pos.Start (TRIM_HORIZON when
// empty). Sources make their own readers; this is for tests and tools.
func NewReader(api API, opts SourceOptions, pos ShardPosition) (*Reader, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if pos.ShardID == "" {
		return nil, fmt.Errorf("kinesis: reader needs a shard id")
	}
	opts.setDefaults()
	return newReader(API(api), &opts, pos, &counters{}), nil
}

func newReader(api API, opts *SourceOptions, pos ShardPosition, c *counters) *Reader {
	return &Reader{
		api: api, opts: opts, shardID: pos.ShardID, start: pos, stats: c,
		lastSeq: pos.SequenceNumber, lastSub: pos.SubSequence,
		bo: backoff{base: opts.BackoffBase, cap: opts.BackoffMax},
	}
}

// Stats returns the reader's figures.
func (r *Reader) Stats() ShardStats {
	s := r.stats.snapshot(r.shardID)
	s.LastSequenceNumber = r.lastSeq
	return s
}

func (r *Reader) iteratorInput() *kinesis.GetShardIteratorInput {
	in := &kinesis.GetShardIteratorInput{ShardId: aws.String(r.shardID)}
	r.opts.setStream(&in.StreamName, &in.StreamARN)
	switch {
	case r.lastSeq != "":
		in.ShardIteratorType = ktypes.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(r.lastSeq)
	case r.start.Start == startAtTimestamp:
		in.ShardIteratorType = ktypes.ShardIteratorTypeAtTimestamp
		in.Timestamp = aws.Time(r.start.StartTimestamp)
	default:
		in.ShardIteratorType = ktypes.ShardIteratorTypeTrimHorizon
	}
	return in
}

// PollOnce makes one GetRecords call (first fetching an iterator if
// needed) and returns what it read, without pacing or back-off: Run does
// those. Errors worth retrying are *pollError; the reader's position does
// not move on error. A returned batch counts as delivered: the next call
// reads after it.
func (r *Reader) PollOnce(ctx context.Context) (*Batch, error) {
	if r.iterator == "" {
		in := r.iteratorInput()
		callCtx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
		out, err := r.api.GetShardIterator(callCtx, in, noSDKRetry)
		cancel()
		if err != nil && ctx.Err() == nil && foreignSequence(in, err) {
			r.readNewStream(in, err)
			return r.PollOnce(ctx) // once: there is no sequence number now
		}
		if err != nil {
			return nil, r.failed(ctx, "get shard iterator", err)
		}
		r.iterator = aws.ToString(out.ShardIterator)
		if r.iterator == "" {
			return nil, fmt.Errorf("kinesis: shard %s: GetShardIterator returned no iterator", r.shardID)
		}
	}
	callCtx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	out, err := r.api.GetRecords(callCtx, &kinesis.GetRecordsInput{
		ShardIterator: aws.String(r.iterator),
		Limit:         aws.Int32(int32(r.opts.MaxRecordsPerCall)),
	}, noSDKRetry)
	cancel()
	if err != nil {
		return nil, r.failed(ctx, "get records", err)
	}
	r.stats.calls.Add(1)
	r.stats.trouble.clear(r.opts.logger(), r.opts.readerName(r.shardID))
	b := &Batch{ShardID: r.shardID, ReadAt: time.Now(), MillisBehindLatest: aws.ToInt64(out.MillisBehindLatest),
		Restarted: r.restarted}
	r.restarted = false
	b.Records = make([]Record, 0, len(out.Records))
	for i := range out.Records {
		kr := &out.Records[i]
		rec := Record{
			ShardID:                     r.shardID,
			SequenceNumber:              aws.ToString(kr.SequenceNumber),
			PartitionKey:                aws.ToString(kr.PartitionKey),
			ApproximateArrivalTimestamp: aws.ToTime(kr.ApproximateArrivalTimestamp),
			Data:                        kr.Data,
		}
		b.Bytes += len(kr.Data)
		var derr error
		if b.Records, derr = Deaggregate(b.Records, rec); derr != nil {
			// Delivered whole: each consumer applies its on_decode_error,
			// and the shard goes on (failing here would stop every
			// consumer of the source, whatever each asked for).
			rec.DecodeErr = derr
			b.Records = append(b.Records, rec)
		}
	}
	if n := len(b.Records); n > 0 {
		last := b.Records[n-1]
		r.lastSeq, r.lastSub = last.SequenceNumber, last.SubSequence
		if at := last.ApproximateArrivalTimestamp; !at.IsZero() {
			r.stats.age.Store(max(0, time.Since(at).Milliseconds()))
		}
	}
	r.stats.records.Add(int64(len(b.Records)))
	r.stats.bytes.Add(int64(b.Bytes))
	r.stats.behind.Store(b.MillisBehindLatest)
	r.iterator = aws.ToString(out.NextShardIterator)
	if out.NextShardIterator == nil {
		b.End = true
	}
	b.CaughtUp = b.MillisBehindLatest == 0 && len(out.Records) < r.opts.MaxRecordsPerCall
	if b.CaughtUp && len(out.Records) == 0 {
		r.stats.age.Store(0)
	}
	return b, nil
}

// foreignSequence reports whether GetShardIterator refused in's starting
// sequence number as not belonging to the shard: the stream was deleted
// and created again with the same name, and the sequence number is the
// old stream's (Kinesis: "StartingSequenceNumber ... is invalid because it
// did not come from this stream"). Other InvalidArgumentExceptions are
// mistakes of ours and fail as before.
func foreignSequence(in *kinesis.GetShardIteratorInput, err error) bool {
	switch in.ShardIteratorType {
	case ktypes.ShardIteratorTypeAfterSequenceNumber, ktypes.ShardIteratorTypeAtSequenceNumber:
	default:
		return false
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidArgumentException" &&
		strings.Contains(ae.ErrorMessage(), "StartingSequenceNumber")
}

// readNewStream makes the reader read its shard of a recreated stream from
// the new stream's start (what a KCL application does when its lease's
// checkpoint is not valid on the shard): everything in the new stream is
// new to every consumer. It says so once, with the old sequence number,
// as a KCL user would look for it.
func (r *Reader) readNewStream(in *kinesis.GetShardIteratorInput, err error) {
	stream := r.opts.Stream
	if r.opts.StreamARN != "" {
		stream = r.opts.StreamARN
	}
	r.opts.logger().Warn("kinesis: the stream was deleted and created again; reading the shard from the start of the new stream",
		"stream", stream, "shard", r.shardID, "old_sequence_number", aws.ToString(in.StartingSequenceNumber), "err", err)
	r.stats.retries.Add(1)
	r.lastSeq, r.lastSub = "", 0
	r.start.Start, r.start.StartTimestamp = startTrimHorizon, time.Time{}
	r.restarted = true
}

// lastDelivered returns the position of the last record PollOnce returned.
func (r *Reader) lastDelivered() (string, int) { return r.lastSeq, r.lastSub }

func (r *Reader) failed(ctx context.Context, what string, err error) error {
	class := classifyRead(ctx, err)
	switch class {
	case errThrottled:
		r.stats.throttles.Add(1)
	case errRetryable:
		r.stats.retries.Add(1)
		r.stats.trouble.set(r.opts.logger(), fmt.Errorf("%s: %w", what, err), time.Now(), r.opts.readerName(r.shardID))
		if isNotFound(err) {
			// The stream may come back as a new stream: its old iterator
			// would not read it. A new one resumes after the last record.
			r.iterator = ""
		}
	case errExpired:
		// A new iterator AFTER_SEQUENCE_NUMBER of the last record delivered
		// (or from the start if nothing was): never AT, which would repeat it.
		r.stats.retries.Add(1)
		r.iterator = ""
	default:
		return fmt.Errorf("kinesis: shard %s: %s: %w", r.shardID, what, err)
	}
	return &pollError{class: class, err: fmt.Errorf("kinesis: shard %s: %s: %w", r.shardID, what, err)}
}

// Run polls until the shard ends (returns nil after delivering the End
// batch), ctx ends (returns nil), deliver fails or a call fails for good.
// Calls are paced under the per-shard limits: at least MinCallInterval
// apart, spaced further so the bytes read stay under MaxBytesPerSecond,
// and PollInterval apart once the shard is caught up.
func (r *Reader) Run(ctx context.Context, deliver func(context.Context, *Batch) error) error {
	for {
		if err := sleep(ctx, time.Until(r.next)); err != nil {
			return nil
		}
		started := time.Now()
		b, err := r.PollOnce(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var pe *pollError
			if !errors.As(err, &pe) {
				return err
			}
			if pe.class == errExpired {
				r.next = started.Add(r.opts.MinCallInterval)
			} else {
				r.next = time.Now().Add(r.bo.next())
			}
			continue
		}
		r.bo.reset()
		if err := deliver(ctx, b); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if b.End {
			return nil
		}
		gap := r.opts.MinCallInterval
		if r.opts.MaxBytesPerSecond > 0 {
			gap = max(gap, time.Duration(int64(b.Bytes)*int64(time.Second)/r.opts.MaxBytesPerSecond))
		}
		if b.CaughtUp {
			gap = max(gap, r.opts.PollInterval)
		}
		r.next = started.Add(gap)
	}
}
