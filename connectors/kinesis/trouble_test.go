package kinesis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// A reader whose calls fail for a transient cause shows it (Stats state
// 'retrying', the error, since when; Source.Trouble) and clears it on the
// next call that succeeds; a missing stream counts as transient for
// readers, not for the sink's classify.
func TestReader_Trouble(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	script := []error{refused, apiErr("ResourceNotFoundException"), nil}
	iterators := 0
	api := &fakeAPI{
		getShardIterator: func(*kinesis.GetShardIteratorInput) (*kinesis.GetShardIteratorOutput, error) {
			iterators++
			return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String("it")}, nil
		},
		getRecords: func(*kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error) {
			err := script[0]
			script = script[1:]
			if err != nil {
				return nil, err
			}
			return &kinesis.GetRecordsOutput{NextShardIterator: aws.String("it"), MillisBehindLatest: aws.Int64(0)}, nil
		},
	}
	opts := SourceOptions{Stream: "s", StartPosition: StartTrimHorizon, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r, err := NewReader(api, opts, ShardPosition{ShardID: "shard-0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var firstSince time.Time
	for i, want := range []string{"connection refused", "ResourceNotFoundException"} {
		_, err := r.PollOnce(ctx)
		var pe *pollError
		if !errors.As(err, &pe) || pe.class != errRetryable {
			t.Fatalf("poll %d: %v, want a retryable poll error", i, err)
		}
		st := r.Stats()
		if !strings.Contains(st.LastError, want) || st.ErrorSince.IsZero() {
			t.Fatalf("poll %d: stats %+v, want last error with %q and a since", i, st, want)
		}
		if i == 0 {
			firstSince = st.ErrorSince
		} else if !st.ErrorSince.Equal(firstSince) {
			t.Errorf("since moved from %v to %v during one run of failures", firstSince, st.ErrorSince)
		}
	}
	if _, err := r.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if iterators != 2 {
		t.Errorf("%d GetShardIterator calls, want 2: a missing stream drops the old iterator", iterators)
	}
	if st := r.Stats(); st.LastError != "" || !st.ErrorSince.IsZero() {
		t.Errorf("after a call that succeeded: %+v, want no error", st)
	}
	if c := classify(ctx, apiErr("ResourceNotFoundException")); c != errFatal {
		t.Errorf("classify (sinks) of a missing stream: %v, want fatal", c)
	}
}

// The error of a failed stream check carries the SQLSTATE for its cause
// and names the stream and the endpoint.
func TestStreamError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code sqlerr.Code
	}{
		{apiErr("ResourceNotFoundException"), sqlerr.UndefinedObject},
		{apiErr("UnrecognizedClientException"), sqlerr.InvalidAuthorization},
		{apiErr("ValidationException"), sqlerr.ConnectionException},
		{apiErr("InternalFailure"), sqlerr.UnableToEstablishConnection},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), sqlerr.UnableToEstablishConnection},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, sqlerr.UnableToEstablishConnection},
	} {
		err := StreamError(tc.err, "clicks", "http://127.0.0.1:9")
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != tc.code {
			t.Errorf("%v: %v, want SQLSTATE %s", tc.err, err, tc.code)
			continue
		}
		if !strings.Contains(se.Message, `"clicks"`) || !strings.Contains(se.Message, "http://127.0.0.1:9") {
			t.Errorf("%v: message %q does not name the stream and endpoint", tc.err, se.Message)
		}
	}
}

// CheckStream gives up within its bound on an endpoint that never answers.
func TestCheckStream_Bounded(t *testing.T) {
	api := &blockingAPI{}
	start := time.Now()
	err := CheckStream(context.Background(), api, "clicks", "", "http://127.0.0.1:9", 200*time.Millisecond)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("returned after %v, want about 200ms", took)
	}
	var se *sqlerr.Error
	if !errors.As(err, &se) || se.Code != sqlerr.UnableToEstablishConnection {
		t.Fatalf("%v, want SQLSTATE 08001", err)
	}
}

// blockingAPI answers DescribeStreamSummary only when its context ends.
type blockingAPI struct{ fakeAPI }

func (*blockingAPI) DescribeStreamSummary(ctx context.Context, _ *kinesis.DescribeStreamSummaryInput, _ ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("describe: %w", ctx.Err())
}
