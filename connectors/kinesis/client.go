package kinesis

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// ClientOptions says how to reach Kinesis and with which credentials. They
// mirror the WITH options of CREATE SOURCE / CREATE SINK.
type ClientOptions struct {
	// Region is required unless the default chain supplies one.
	Region string
	// Endpoint overrides the service URL (emulators such as kinesalite).
	Endpoint string
	// AccessKey and SecretKey (with an optional SessionToken) are static
	// credentials; when empty the AWS default chain is used.
	AccessKey, SecretKey, SessionToken string
	// RoleARN, when set, is assumed through STS with the credentials above
	// (or the default chain) as the source identity.
	RoleARN string
	// ExternalID is passed to AssumeRole when set.
	ExternalID string
	// HTTPClient replaces the SDK's HTTP client (tests, custom transports).
	HTTPClient *http.Client
	// ConnectTimeout bounds opening a connection to the endpoint (default
	// DefaultConnectTimeout), so that an endpoint that drops packets fails
	// a call long before its own timeout. Ignored with HTTPClient.
	ConnectTimeout time.Duration
}

// DefaultConnectTimeout bounds a TCP connect and TLS handshake to Kinesis.
const DefaultConnectTimeout = 5 * time.Second

// Validate reports options that cannot work together.
func (o ClientOptions) Validate() error {
	if (o.AccessKey == "") != (o.SecretKey == "") {
		return fmt.Errorf("kinesis: access_key and secret_key must be given together")
	}
	if o.SessionToken != "" && o.AccessKey == "" {
		return fmt.Errorf("kinesis: session_token needs access_key and secret_key")
	}
	if o.Endpoint != "" && !strings.HasPrefix(o.Endpoint, "http://") && !strings.HasPrefix(o.Endpoint, "https://") {
		return fmt.Errorf("kinesis: endpoint %q must start with http:// or https://", o.Endpoint)
	}
	if o.RoleARN != "" && !strings.HasPrefix(o.RoleARN, "arn:") {
		return fmt.Errorf("kinesis: role_arn %q is not an ARN", o.RoleARN)
	}
	return nil
}

// NewClient builds a Kinesis client from opts. With static keys and an
// endpoint it reads nothing from the environment, so a test against an
// emulator never picks up a developer's real profile.
func NewClient(ctx context.Context, opts ClientOptions) (*kinesis.Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	var cfg aws.Config
	if opts.AccessKey != "" {
		cfg = aws.Config{
			Region:      opts.Region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(opts.AccessKey, opts.SecretKey, opts.SessionToken)),
		}
	} else {
		var loadOpts []func(*config.LoadOptions) error
		if opts.Region != "" {
			loadOpts = append(loadOpts, config.WithRegion(opts.Region))
		}
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx, loadOpts...); err != nil {
			return nil, fmt.Errorf("kinesis: load AWS default configuration: %w", err)
		}
	}
	if opts.HTTPClient != nil {
		cfg.HTTPClient = opts.HTTPClient
	} else {
		connect := opts.ConnectTimeout
		if connect <= 0 {
			connect = DefaultConnectTimeout
		}
		// The SDK's default waits 30 s for a connect; every call also has a
		// context deadline of its own (CallTimeout), this bounds the part
		// before a request is even sent.
		cfg.HTTPClient = awshttp.NewBuildableClient().
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = connect }).
			WithTransportOptions(func(t *http.Transport) { t.TLSHandshakeTimeout = connect })
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("kinesis: no region: set region or AWS_REGION")
	}
	if opts.RoleARN != "" {
		stsClient := sts.NewFromConfig(cfg)
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, opts.RoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = "streamsql"
				if opts.ExternalID != "" {
					o.ExternalID = aws.String(opts.ExternalID)
				}
			}))
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	}, withGetRecordsDecoder), nil
}
