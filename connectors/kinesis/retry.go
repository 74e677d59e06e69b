package kinesis

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// errClass is how a failed call is handled.
type errClass int

const (
	errFatal     errClass = iota // give up: the source or sink fails
	errThrottled                 // the service asked us to slow down: back off
	errRetryable                 // 5xx, network, per-call timeout: back off and retry
	errExpired                   // ExpiredIteratorException: new iterator from the last position
)

// classify sorts an error of an SDK call. parent is the caller's context:
// a per-call timeout is retryable, the caller's own cancellation is not.
func classify(parent context.Context, err error) errClass {
	if err == nil {
		return errFatal
	}
	if parent.Err() != nil {
		return errFatal
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ProvisionedThroughputExceededException", "LimitExceededException",
			"KMSThrottlingException", "ThrottlingException":
			return errThrottled
		case "ExpiredIteratorException":
			return errExpired
		case "InternalFailure", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException":
			return errRetryable
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errRetryable
	}
	// The SDK's own list knows 5xx statuses, connection resets, EOFs and
	// timeouts; we only borrow its judgement, not its retry loop.
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		return errRetryable
	}
	return errFatal
}

// backoff is capped exponential back-off with full jitter (AWS
// architecture blog, "Exponential Backoff And Jitter"): the wait is uniform
// in [base/2, min(cap, base*2^n)] so that many readers throttled together
// do not come back together.
type backoff struct {
	base, cap time.Duration
	n         int
}

func (b *backoff) next() time.Duration {
	d := b.base << min(b.n, 20)
	if d > b.cap || d <= 0 {
		d = b.cap
	}
	b.n++
	lo := b.base / 2
	if d <= lo {
		return d
	}
	return lo + rand.N(d-lo)
}

func (b *backoff) reset() { b.n = 0 }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
