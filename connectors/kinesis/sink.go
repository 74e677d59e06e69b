package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Kinesis PutRecords limits.
const (
	MaxPutRecords      = 500
	MaxPutBytes        = 5 << 20
	MaxRecordBytes     = 1 << 20 // data plus partition key
	MaxPartitionKeyLen = 256
)

// What to do with a record over MaxRecordBytes.
const (
	OversizeFail = "fail"
	OversizeSkip = "skip"
)

// SinkRecord is one record to write. ID is the caller's stable id of the
// record (for example epoch and row position): it names the record in
// errors and in OnAck, so a retried epoch can be recognised downstream.
type SinkRecord struct {
	ID              string
	PartitionKey    string
	ExplicitHashKey string
	Data            []byte
}

// SinkOptions configures a Sink. Zero fields take the defaults named.
type SinkOptions struct {
	Stream, StreamARN string
	// MaxBatchRecords and MaxBatchBytes bound one PutRecords call (defaults
	// and maxima 500 and 5 MiB).
	MaxBatchRecords int
	MaxBatchBytes   int
	// Linger is how long a record may wait for a fuller batch (default 100ms).
	Linger time.Duration
	// MaxBufferedRecords and MaxBufferedBytes bound memory: Write blocks
	// while the sink holds this much unacknowledged (defaults 10000 and 32 MiB).
	MaxBufferedRecords int
	MaxBufferedBytes   int
	// OnOversize is OversizeFail (default: Write returns an error) or
	// OversizeSkip (counted and dropped).
	OnOversize string
	// CallTimeout, BackoffBase, BackoffMax as for sources (10s, 100ms, 5s).
	CallTimeout             time.Duration
	BackoffBase, BackoffMax time.Duration
	// OnAck, when set, is called from the sender for every record Kinesis
	// has accepted. It must not block for long.
	OnAck func(id, shardID, sequenceNumber string)
	// Logger receives the rate-limited lines about calls that keep failing
	// (default slog's).
	Logger *slog.Logger
}

// Validate reports bad options.
func (o SinkOptions) Validate() error {
	if (o.Stream == "") == (o.StreamARN == "") {
		return fmt.Errorf("kinesis sink: set exactly one of stream and stream_arn")
	}
	if o.MaxBatchRecords < 0 || o.MaxBatchRecords > MaxPutRecords {
		return fmt.Errorf("kinesis sink: batch of %d records: want 1..%d", o.MaxBatchRecords, MaxPutRecords)
	}
	if o.MaxBatchBytes < 0 || o.MaxBatchBytes > MaxPutBytes {
		return fmt.Errorf("kinesis sink: batch of %d bytes: want 1..%d", o.MaxBatchBytes, MaxPutBytes)
	}
	switch o.OnOversize {
	case "", OversizeFail, OversizeSkip:
	default:
		return fmt.Errorf("kinesis sink: on_oversize %q: want fail or skip", o.OnOversize)
	}
	if o.Linger < 0 || o.MaxBufferedRecords < 0 || o.MaxBufferedBytes < 0 {
		return fmt.Errorf("kinesis sink: negative linger or buffer size")
	}
	return nil
}

func (o *SinkOptions) setDefaults() {
	if o.MaxBatchRecords == 0 {
		o.MaxBatchRecords = MaxPutRecords
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = MaxPutBytes
	}
	if o.Linger == 0 {
		o.Linger = 100 * time.Millisecond
	}
	if o.MaxBufferedRecords == 0 {
		o.MaxBufferedRecords = 10000
	}
	if o.MaxBufferedBytes == 0 {
		o.MaxBufferedBytes = 32 << 20
	}
	o.MaxBufferedBytes = max(o.MaxBufferedBytes, MaxRecordBytes)
	if o.OnOversize == "" {
		o.OnOversize = OversizeFail
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 10 * time.Second
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = 100 * time.Millisecond
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 5 * time.Second
	}
}

// SinkStats is a snapshot of a sink's figures.
type SinkStats struct {
	Records   int64 // accepted by Kinesis
	Bytes     int64
	Calls     int64 // PutRecords calls answered
	Throttles int64 // throttled calls plus throttled entries
	Retries   int64 // entries sent again, plus calls failed by 5xx or network
	Oversize  int64
	Buffered  int64 // records waiting or in flight
}

// ErrSinkClosed is returned by Write and Flush once Run has returned.
var ErrSinkClosed = errors.New("kinesis sink: not running")

type pendingRecord struct {
	rec    SinkRecord
	size   int
	serial uint64
	enq    time.Time
	acked  bool
}

// Sink writes records to a stream with PutRecords. Run is its sender;
// Write and Flush may be called from any goroutine.
//
// Order per partition key holds through partial failures: a record is
// never sent while an earlier record of its key is unacknowledged, so one
// call carries at most one record per key, and a failed entry blocks the
// later records of its key until it is accepted. (Resending only the failed
// entries, as Arroyo does, lets a later record of the key overtake it.)
type Sink struct {
	api  API
	opts SinkOptions

	mu       sync.Mutex
	queue    []*pendingRecord // unacknowledged, in Write order
	bytes    int
	serial   uint64
	changed  chan struct{} // closed and replaced when records are acked or the sink stops
	wake     chan struct{} // cap 1: new records or a flush request
	flushes  int           // Flush calls waiting
	stopped  bool
	fatal    error
	blocked  map[string]struct{} // scratch for batch building
	oversize atomic.Int64
	// trouble is the ongoing failure of the sender's calls: calls that
	// fail, or answer with every entry failed (throttled), so that nothing
	// gets out.
	trouble trouble

	records, bytesOut, calls, throttles, retries atomic.Int64
}

// NewSink returns a sink; Run starts sending.
func NewSink(api API, opts SinkOptions) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	return &Sink{
		api: api, opts: opts,
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		blocked: map[string]struct{}{},
	}, nil
}

func (s *Sink) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// broadcast must be called with mu held.
func (s *Sink) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Write queues a record. It blocks while the sink's buffer is full
// (back-pressure) and fails on an oversize record under OversizeFail, on
// an invalid partition key, or once the sink has failed or stopped.
func (s *Sink) Write(ctx context.Context, r SinkRecord) error {
	size := len(r.Data) + len(r.PartitionKey)
	if n := len(r.PartitionKey); n == 0 || n > MaxPartitionKeyLen {
		return fmt.Errorf("kinesis sink: record %s: partition key of %d characters: want 1..%d", r.ID, n, MaxPartitionKeyLen)
	}
	if size > MaxRecordBytes {
		s.oversize.Add(1)
		if s.opts.OnOversize == OversizeSkip {
			return nil
		}
		return fmt.Errorf("kinesis sink: record %s is %d bytes with its partition key, over the %d-byte limit", r.ID, size, MaxRecordBytes)
	}
	s.mu.Lock()
	for {
		if s.fatal != nil {
			err := s.fatal
			s.mu.Unlock()
			return err
		}
		if s.stopped {
			s.mu.Unlock()
			return ErrSinkClosed
		}
		if len(s.queue) == 0 || (len(s.queue) < s.opts.MaxBufferedRecords && s.bytes+size <= s.opts.MaxBufferedBytes) {
			break
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
	s.serial++
	s.queue = append(s.queue, &pendingRecord{rec: r, size: size, serial: s.serial, enq: time.Now()})
	s.bytes += size
	wake := len(s.queue) == 1 || len(s.queue) >= s.opts.MaxBatchRecords || s.bytes >= s.opts.MaxBatchBytes
	s.mu.Unlock()
	if wake {
		s.signal()
	}
	return nil
}

// Flush returns once every record written before it has been accepted by
// Kinesis, or with the sink's error.
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	target := s.serial
	s.flushes++
	defer func() {
		s.mu.Lock()
		s.flushes--
		s.mu.Unlock()
	}()
	for {
		if len(s.queue) == 0 || s.queue[0].serial > target {
			s.mu.Unlock()
			return nil
		}
		if s.fatal != nil {
			err := s.fatal
			s.mu.Unlock()
			return err
		}
		if s.stopped {
			s.mu.Unlock()
			return ErrSinkClosed
		}
		ch := s.changed
		s.mu.Unlock()
		s.signal()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
}

// Stats returns the sink's figures.
func (s *Sink) Stats() SinkStats {
	s.mu.Lock()
	buffered := int64(len(s.queue))
	s.mu.Unlock()
	return SinkStats{
		Records: s.records.Load(), Bytes: s.bytesOut.Load(), Calls: s.calls.Load(),
		Throttles: s.throttles.Load(), Retries: s.retries.Load(), Oversize: s.oversize.Load(),
		Buffered: buffered,
	}
}

// Run sends until ctx ends (nil; unsent records stay unsent, which is
// at-least-once's contract: the epoch that produced them is not committed)
// or a call fails for good (that error, also returned by Write and Flush).
func (s *Sink) Run(ctx context.Context) (err error) {
	defer func() {
		s.mu.Lock()
		s.stopped = true
		if err != nil {
			s.fatal = err
		}
		s.broadcast()
		s.mu.Unlock()
	}()
	bo := backoff{base: s.opts.BackoffBase, cap: s.opts.BackoffMax}
	var timer *time.Timer
	for {
		batch, wait := s.nextBatch(time.Now())
		if len(batch) == 0 {
			var tc <-chan time.Time
			if wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				tc = timer.C
			}
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
			case <-tc:
			}
			if timer != nil {
				timer.Stop()
			}
			continue
		}
		failed, entryErr, err := s.put(ctx, batch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			switch classify(ctx, err) {
			case errThrottled:
				s.throttles.Add(1)
			case errRetryable:
				s.retries.Add(1)
			default:
				return fmt.Errorf("kinesis sink: put %d records to %s: %w", len(batch), s.streamName(), err)
			}
			s.trouble.set(s.opts.logger(), err, time.Now(), s.writerName())
			if sleep(ctx, bo.next()) != nil {
				return nil
			}
			continue
		}
		if failed > 0 {
			// Back off harder only while nothing gets through: a call that
			// wrote most of its records is progress, and growing the pause
			// on every partly failed call would let a few throttled
			// entries slow the sink to one call per BackoffMax. Only a
			// call that got nothing through is trouble, likewise.
			if failed < len(batch) {
				bo.reset()
				s.trouble.clear(s.opts.logger(), s.writerName())
			} else {
				s.trouble.set(s.opts.logger(), entryErr, time.Now(), s.writerName())
			}
			if sleep(ctx, bo.next()) != nil {
				return nil
			}
			continue
		}
		s.trouble.clear(s.opts.logger(), s.writerName())
		bo.reset()
	}
}

// Trouble returns the ongoing failure of the sink's calls and since when:
// PutRecords calls that fail for a transient cause (the endpoint does not
// answer, 5xx) or whose every entry fails (throttled), while the sender
// backs off and retries. It is nil once a call gets records through. The
// sink does not stop for such failures; they are what the engine shows a
// user while records wait.
func (s *Sink) Trouble() (error, time.Time) { return s.trouble.get() }

// writerName names the sink's sender for log lines.
func (s *Sink) writerName() string { return "sink writer of stream " + s.streamName() }

// logger returns the options' Logger, or slog's default.
func (o *SinkOptions) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

func (s *Sink) streamName() string {
	if s.opts.StreamARN != "" {
		return s.opts.StreamARN
	}
	return s.opts.Stream
}

// nextBatch picks the records to send now, in order, at most one per
// partition key and none whose key has an earlier unacknowledged record.
// With nothing to send yet it returns how long to wait for the linger.
func (s *Sink) nextBatch(now time.Time) ([]*pendingRecord, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return nil, 0
	}
	if s.flushes == 0 && len(s.queue) < s.opts.MaxBatchRecords && s.bytes < s.opts.MaxBatchBytes {
		if age := now.Sub(s.queue[0].enq); age < s.opts.Linger {
			return nil, s.opts.Linger - age
		}
	}
	clear(s.blocked)
	var batch []*pendingRecord
	bytes := 0
	for _, p := range s.queue {
		if _, ok := s.blocked[p.rec.PartitionKey]; ok {
			continue
		}
		s.blocked[p.rec.PartitionKey] = struct{}{}
		if len(batch) == s.opts.MaxBatchRecords || bytes+p.size > s.opts.MaxBatchBytes {
			break
		}
		batch = append(batch, p)
		bytes += p.size
	}
	return batch, 0
}

// put sends one batch and removes the accepted records from the queue;
// it returns how many entries failed (they stay queued, in place) and the
// first failed entry's error.
func (s *Sink) put(ctx context.Context, batch []*pendingRecord) (int, error, error) {
	entries := make([]ktypes.PutRecordsRequestEntry, len(batch))
	for i, p := range batch {
		entries[i] = ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(p.rec.PartitionKey), Data: p.rec.Data}
		if p.rec.ExplicitHashKey != "" {
			entries[i].ExplicitHashKey = aws.String(p.rec.ExplicitHashKey)
		}
	}
	in := &kinesis.PutRecordsInput{Records: entries}
	if s.opts.StreamARN != "" {
		in.StreamARN = aws.String(s.opts.StreamARN)
	} else {
		in.StreamName = aws.String(s.opts.Stream)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	out, err := s.api.PutRecords(callCtx, in, noSDKRetry)
	cancel()
	if err != nil {
		return 0, nil, err
	}
	s.calls.Add(1)
	if len(out.Records) != len(batch) {
		return 0, nil, fmt.Errorf("kinesis sink: PutRecords answered %d entries for %d records", len(out.Records), len(batch))
	}
	failed := 0
	var fatal error
	var firstCode, firstMsg string
	for i, res := range out.Records {
		p := batch[i]
		if res.ErrorCode == nil {
			p.acked = true
			s.records.Add(1)
			s.bytesOut.Add(int64(len(p.rec.Data)))
			if s.opts.OnAck != nil {
				s.opts.OnAck(p.rec.ID, aws.ToString(res.ShardId), aws.ToString(res.SequenceNumber))
			}
			continue
		}
		failed++
		s.retries.Add(1)
		code := aws.ToString(res.ErrorCode)
		if firstCode == "" {
			firstCode, firstMsg = code, aws.ToString(res.ErrorMessage)
		}
		switch code {
		case "ProvisionedThroughputExceededException", "KMSThrottlingException":
			s.throttles.Add(1)
		case "InternalFailure", "ServiceUnavailable":
		default:
			// KMS access or key problems do not heal by retrying.
			if fatal == nil {
				fatal = fmt.Errorf("kinesis sink: record %s: %s: %s", p.rec.ID, code, aws.ToString(res.ErrorMessage))
			}
		}
	}
	s.mu.Lock()
	kept := s.queue[:0]
	for _, p := range s.queue {
		if p.acked {
			s.bytes -= p.size
			continue
		}
		kept = append(kept, p)
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	s.broadcast()
	s.mu.Unlock()
	var entryErr error
	if failed > 0 {
		entryErr = fmt.Errorf("PutRecords: %d of %d entries failed, the first with %s: %s", failed, len(batch), firstCode, firstMsg)
	}
	return failed, entryErr, fatal
}
