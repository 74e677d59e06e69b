package streamsql

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// This file turns the validated WITH options of CREATE SOURCE and CREATE
// SINK into the Kinesis connector's options: the one place that knows both.

// emulatorCredential is the access key and secret used with an endpoint
// and no credentials of the user's: emulators accept any, and looking for
// real ones (the default chain ends at the EC2 metadata service) would
// reach for the network.
const emulatorCredential = "streamsql-local"

func clientOptions(opts sql.Options) kinesis.ClientOptions {
	endpoint, _ := opts.Get("endpoint")
	return clientOptionsAt(opts, endpoint)
}

// clientOptionsAt is clientOptions with another endpoint ("" for AWS's),
// for a stream beside the one opts name (a source's dead letters).
func clientOptionsAt(opts sql.Options, endpoint string) kinesis.ClientOptions {
	get := func(k string) string { v, _ := opts.Get(k); return v }
	o := kinesis.ClientOptions{
		Region: get("region"), Endpoint: endpoint,
		AccessKey: get("access_key"), SecretKey: get("secret_key"), SessionToken: get("session_token"),
		RoleARN: get("role_arn"),
	}
	if o.Endpoint != "" && o.AccessKey == "" && o.RoleARN == "" {
		o.AccessKey, o.SecretKey = emulatorCredential, emulatorCredential
	}
	return o
}

// checkKinesisStream refuses a Kinesis source or sink (what, name) whose
// stream does not exist or does not answer within kinesis.DefaultCheckTimeout,
// unless it says validate = false. Other connectors pass.
func checkKinesisStream(ctx context.Context, opts sql.Options, what, name string) error {
	if c, _ := opts.Get("connector"); c != "kinesis" {
		return nil
	}
	if v, ok, err := opts.Bool("validate"); err != nil || (ok && !v) {
		return err
	}
	co := clientOptions(opts)
	client, err := kinesis.NewClient(ctx, co)
	if err != nil {
		return sqlerr.Wrap(err, sqlerr.InvalidParameterValue, fmt.Sprintf("%s %s", what, name))
	}
	stream, _ := opts.Get("stream")
	arn, _ := opts.Get("stream_arn")
	if err := kinesis.CheckStream(ctx, client, stream, arn, co.Where(), 0); err != nil {
		e := sqlerr.Wrap(err, sqlerr.Internal, fmt.Sprintf("%s %s", what, name))
		return e.WithHint("Create the stream first, or say validate = false to create the %s before it exists.", what)
	}
	return nil
}

// sourceOptions builds a source's reader options. createdAt pins
// start_position = 'latest' to the moment of CREATE SOURCE, so a query or
// a restart later never skips what arrived in between.
func sourceOptions(cs *sql.CreateSource, createdAt time.Time) (kinesis.SourceOptions, error) {
	get := func(k string) string { v, _ := cs.Options.Get(k); return v }
	o := kinesis.SourceOptions{
		Stream: get("stream"), StreamARN: get("stream_arn"),
		StartPosition:  kinesis.StartPosition(get("start_position")),
		StartTimestamp: createdAt,
	}
	if o.StartPosition == kinesis.StartAtTimestamp {
		t, _, err := cs.Options.Time("start_timestamp")
		if err != nil {
			return o, fmt.Errorf("source %s: start_timestamp: %w", cs.Name, err)
		}
		o.StartTimestamp = t
	}
	for key, dst := range map[string]*time.Duration{
		"shard_discovery_interval": &o.ShardDiscoveryInterval,
		"poll_interval":            &o.PollInterval,
	} {
		d, ok, err := cs.Options.Duration(key)
		if err != nil {
			return o, fmt.Errorf("source %s: %s: %w", cs.Name, key, err)
		}
		if ok {
			*dst = d
		}
	}
	if n, ok, err := cs.Options.Int("max_records_per_call"); err != nil {
		return o, fmt.Errorf("source %s: max_records_per_call: %w", cs.Name, err)
	} else if ok {
		o.MaxRecordsPerCall = int(n)
	}
	return o, o.Validate()
}

// sourceDecoderNeeded returns the decoder of a source's records into its
// rows, skipping the columns needed marks false (a plan's
// StreamPlan.SourceNeeded): they stay NULL, unparsed. A nil mask, or one
// that does not fit cols, decodes everything, which is always correct.
func sourceDecoderNeeded(cs *sql.CreateSource, cols []types.Column, needed []bool) (format.Decoder, error) {
	f, _ := cs.Options.Get("format")
	if len(needed) != len(cols) {
		needed = nil
	}
	return format.NewDecoder(format.Options{Format: f, Columns: cols, Needed: needed})
}

// newSourceReader opens a reader of every shard of a source's stream,
// resuming after restore when it is not nil. The caller runs it.
func newSourceReader(ctx context.Context, obj *object, restore *kinesis.Positions, log *slog.Logger) (*kinesis.Source, error) {
	cs := obj.createSource
	client, err := kinesis.NewClient(ctx, clientOptions(cs.Options))
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", cs.Name, err)
	}
	opts, err := sourceOptions(cs, obj.entry.CreatedAt)
	if err != nil {
		return nil, err
	}
	opts.Logger = log.With("source", cs.Name)
	return kinesis.NewSource(client, opts, restore)
}
