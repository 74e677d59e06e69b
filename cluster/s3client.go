package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// OpenStore connects to the state store opts.URL names, creating its
// bucket if it does not exist (an emulator starts empty; in AWS the bucket
// is normally made beforehand, and then this is one HeadBucket).
func OpenStore(ctx context.Context, opts StoreOptions) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	bucket, prefix, _ := ParseStateURL(opts.URL)
	region := opts.Region
	if region == "" {
		region = "us-east-1"
	}
	var cfg aws.Config
	if opts.AccessKeyID != "" {
		// Static keys read nothing from the environment, so a test against
		// an emulator never picks up a developer's real profile.
		cfg = aws.Config{
			Region:      region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, "")),
		}
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx, config.WithRegion(region)); err != nil {
			return nil, fmt.Errorf("state store: load AWS default configuration: %w", err)
		}
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		// Our objects carry their own CRCs; the SDK's default checksum
		// trailers (aws-chunked uploads) are not understood by every S3
		// implementation, s3rver among them.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	c := &s3Blobs{client: client, bucket: bucket, prefix: prefix, timeout: timeout}
	if err := c.ensureBucket(ctx); err != nil {
		return nil, err
	}
	return &Store{b: c}, nil
}

var _ blobs = (*s3Blobs)(nil)

// s3Blobs is blobs over one bucket and prefix of S3.
type s3Blobs struct {
	client  *s3.Client
	bucket  string
	prefix  string
	timeout time.Duration
}

func (c *s3Blobs) name(key string) string { return "s3://" + c.bucket + "/" + c.prefix + key }

func (c *s3Blobs) ensureBucket(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.bucket)})
	if err == nil {
		return nil
	}
	var nf *s3types.NotFound
	if !errors.As(err, &nf) && !isCode(err, "NoSuchBucket", "NotFound") {
		return fmt.Errorf("state store: bucket %s: %w", c.bucket, err)
	}
	if _, err := c.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(c.bucket)}); err != nil &&
		!isCode(err, "BucketAlreadyOwnedByYou") {
		return fmt.Errorf("state store: create bucket %s: %w", c.bucket, err)
	}
	return nil
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

func (c *s3Blobs) put(ctx context.Context, key string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(c.bucket),
		Key:           aws.String(c.prefix + key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	})
	return err
}

func (c *s3Blobs) get(ctx context.Context, key string, off, n int64) ([]byte, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	in := &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(c.prefix + key)}
	if n == 0 {
		return nil, -1, errors.New("empty range")
	}
	if n > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	} else if off > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	out, err := c.client.GetObject(ctx, in)
	if err != nil {
		var nk *s3types.NoSuchKey
		if errors.As(err, &nk) || isCode(err, "NoSuchKey", "NotFound") {
			return nil, 0, errNotFound
		}
		if isCode(err, "InvalidRange") {
			// A range past the end: the object is shorter than its index
			// says.
			return nil, 0, fmt.Errorf("%w: object ends before byte %d", errCorrupt, off)
		}
		return nil, 0, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("read body: %w", err)
	}
	size := int64(len(b)) + off
	if out.ContentRange != nil {
		// "bytes 0-99/1234": the total is after the slash.
		if i := strings.LastIndexByte(*out.ContentRange, '/'); i >= 0 {
			if _, err := fmt.Sscan((*out.ContentRange)[i+1:], &size); err != nil {
				return nil, 0, fmt.Errorf("bad Content-Range %q", *out.ContentRange)
			}
		}
	}
	return b, size, nil
}

func (c *s3Blobs) del(ctx context.Context, keys []string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	objs := make([]s3types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		objs[i] = s3types.ObjectIdentifier{Key: aws.String(c.prefix + k)}
	}
	out, err := c.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(c.bucket),
		Delete: &s3types.Delete{Objects: objs, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return err
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		return fmt.Errorf("delete %s: %s: %s (and %d more)", c.name(strings.TrimPrefix(aws.ToString(e.Key), c.prefix)),
			aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors)-1)
	}
	return nil
}

func (c *s3Blobs) list(ctx context.Context, prefix string, fn func(key string, modified time.Time) error) error {
	p := s3.NewListObjectsV2Paginator(c.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(c.bucket),
		Prefix: aws.String(c.prefix + prefix),
	})
	for p.HasMorePages() {
		pctx, cancel := context.WithTimeout(ctx, c.timeout)
		page, err := p.NextPage(pctx)
		cancel()
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if err := fn(strings.TrimPrefix(aws.ToString(o.Key), c.prefix), aws.ToTime(o.LastModified)); err != nil {
				return err
			}
		}
	}
	return nil
}
