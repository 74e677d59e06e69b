package kinesis

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/smithy-go"
)

// StateRetrying is the ShardStats.State of a shard whose calls fail for a
// transient cause (the endpoint does not answer, the stream has gone, 5xx):
// its reader backs off and retries until they succeed again.
const StateRetrying = "retrying"

// troubleLogEvery spaces the log lines of one ongoing trouble: the first
// failure is logged at once, then one line this often with a count, so an
// endpoint down for a day does not write a line per retry.
const troubleLogEvery = time.Minute

// trouble is the ongoing failure of one reader's calls, or of a source's
// shard discovery: the last error and when the run of failures began. It
// is cleared by the next call that succeeds.
type trouble struct {
	mu       sync.Mutex
	err      error
	since    time.Time
	failed   int64     // failures since the last log line
	loggedAt time.Time // zero: nothing logged for this run of failures
}

// set records a failure at now and logs it, rate-limited; what names the
// reader ("shard X of stream S") for the log.
func (t *trouble) set(log *slog.Logger, err error, now time.Time, what string) {
	t.mu.Lock()
	if t.err == nil {
		t.since = now
	}
	t.err = err
	t.failed++
	var n int64
	logIt := t.loggedAt.IsZero() || now.Sub(t.loggedAt) >= troubleLogEvery
	if logIt {
		n, t.failed, t.loggedAt = t.failed, 0, now
	}
	since := t.since
	t.mu.Unlock()
	if logIt {
		log.Warn("kinesis: calls fail; backing off and retrying", "reader", what, "failures", n,
			"since", since.UTC().Format(time.RFC3339), "err", err)
	}
}

// clear records a call that succeeded; it logs the recovery of a trouble
// that was logged.
func (t *trouble) clear(log *slog.Logger, what string) {
	t.mu.Lock()
	if t.err == nil {
		t.mu.Unlock()
		return
	}
	// The recovery line is written before the trouble reads as cleared, so
	// whoever sees Trouble() == nil also finds the line in the log.
	if !t.loggedAt.IsZero() {
		log.Info("kinesis: calls succeed again", "reader", what, "failing_for", time.Since(t.since).Round(time.Millisecond))
	}
	t.err, t.since, t.failed, t.loggedAt = nil, time.Time{}, 0, time.Time{}
	t.mu.Unlock()
}

// get returns the ongoing failure, nil when there is none.
func (t *trouble) get() (error, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err, t.since
}

// Trouble returns the source's ongoing failure and since when: shard
// discovery failing, else the reader failing longest. It is nil while
// every call succeeds (or has not failed yet). The source does not stop
// for such failures; they are what the engine shows a user while it waits.
func (s *Source) Trouble() (err error, since time.Time) {
	if err, since := s.trouble.get(); err != nil {
		return err, since
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.counters {
		if e, t := c.trouble.get(); e != nil && (err == nil || t.Before(since)) {
			err, since = e, t
		}
	}
	return err, since
}

// Trouble returns the ongoing failure of the readers that feed the
// subscription now (see Source.Trouble).
func (s *Subscription) Trouble() (err error, since time.Time) {
	return s.feeder.Load().Trouble()
}

// classifyRead is classify for the calls of readers and shard discovery: a
// stream that is not there is retried too (deleted and about to be
// created again, or bound with validate = false before it exists), shown
// as trouble rather than failing every consumer for good. A sink's
// PutRecords to a missing stream still fails (classify).
func classifyRead(ctx context.Context, err error) errClass {
	c := classify(ctx, err)
	if c == errFatal && ctx.Err() == nil && isNotFound(err) {
		return errRetryable
	}
	return c
}

func isNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
}

// readerName names a shard's reader, or the source's discovery when shard
// is empty, for log lines.
func (o *SourceOptions) readerName(shard string) string {
	stream := o.Stream
	if o.StreamARN != "" {
		stream = o.StreamARN
	}
	if shard == "" {
		return "shard discovery of stream " + stream
	}
	return "shard " + shard + " of stream " + stream
}

// readerName is SourceOptions.readerName of the source.
func (s *Source) readerName(shard string) string { return s.opts.readerName(shard) }

// logger returns the options' Logger, or slog's default.
func (o *SourceOptions) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}
