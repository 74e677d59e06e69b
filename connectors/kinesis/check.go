package kinesis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// DefaultCheckTimeout bounds CheckStream as a whole: connect, answer and
// nothing more, so CREATE SOURCE and CREATE SINK never wait longer.
const DefaultCheckTimeout = 10 * time.Second

// CheckStream asks the service whether the stream exists and can be used
// (DescribeStreamSummary, one attempt, bounded by timeout or
// DefaultCheckTimeout when zero). where names the endpoint for messages.
// The error carries a SQLSTATE: 42704 (undefined_object) when the stream
// does not exist, 55000 when it is being deleted, 28000 when the
// credentials are refused, 08001 (unable to establish connection) when the
// endpoint does not answer in time or cannot be reached.
func CheckStream(ctx context.Context, api API, stream, streamARN, where string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in := &kinesis.DescribeStreamSummaryInput{}
	name := stream
	if streamARN != "" {
		in.StreamARN, name = aws.String(streamARN), streamARN
	} else {
		in.StreamName = aws.String(stream)
	}
	out, err := api.DescribeStreamSummary(ctx, in, noSDKRetry)
	if err == nil {
		if d := out.StreamDescriptionSummary; d != nil && d.StreamStatus == ktypes.StreamStatusDeleting {
			return sqlerr.Newf(sqlerr.ObjectNotInPrerequisiteState, "stream %q at %s is being deleted", name, where)
		}
		return nil
	}
	return StreamError(err, name, where)
}

// StreamError gives a failed call about stream at where its SQLSTATE and a
// message that names both and the cause (see CheckStream).
func StreamError(err error, stream, where string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ResourceNotFoundException":
			return sqlerr.Wrap(err, sqlerr.UndefinedObject, fmt.Sprintf("stream %q does not exist at %s", stream, where))
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
			"ExpiredTokenException", "IncompleteSignatureException", "MissingAuthenticationTokenException":
			return sqlerr.Wrap(err, sqlerr.InvalidAuthorization, fmt.Sprintf("stream %q at %s: credentials refused", stream, where))
		}
		if classify(context.Background(), err) == errFatal {
			return sqlerr.Wrap(err, sqlerr.ConnectionException, fmt.Sprintf("stream %q at %s", stream, where))
		}
	}
	return sqlerr.Wrap(err, sqlerr.UnableToEstablishConnection, fmt.Sprintf("stream %q: cannot reach %s", stream, where))
}

// Where names the endpoint of opts for messages: the URL, or the AWS
// endpoint of the region.
func (o ClientOptions) Where() string {
	if o.Endpoint != "" {
		return o.Endpoint
	}
	return fmt.Sprintf("the Kinesis endpoint of region %s", o.Region)
}
