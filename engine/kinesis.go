package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

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

// checkEndpointURL accepts "" (AWS's endpoint) or an http:// or https://
// URL with a host, as the endpoint option does.
func checkEndpointURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", v)
	}
	return nil
}

// pinEndpoint writes endpoint (the engine's default, Config.KinesisEndpoint)
// into a Kinesis source or sink that names none: the definition stored and
// shown by SHOW CREATE is then what the object uses, and a later start with
// another default does not move it. An endpoint the statement names wins;
// other connectors and an empty default leave *st as it is.
func pinEndpoint[T *sql.CreateSource | *sql.CreateSink](st *T, endpoint string) error {
	if endpoint == "" {
		return nil
	}
	var text string
	switch s := any(*st).(type) {
	case *sql.CreateSource:
		text = s.Text
	case *sql.CreateSink:
		text = s.Text
	}
	opts := optionsOf(any(*st).(sql.Statement))
	if c, _ := opts.Get("connector"); c != "kinesis" {
		return nil
	}
	if o, ok := opts.Lookup("endpoint"); ok && !o.Default {
		return nil
	}
	// Positions are relative to the text given to Parse, and the
	// statement's may have come with others: parse it alone.
	alone, err := sql.Parse(text)
	if err != nil || len(alone) != 1 {
		return fmt.Errorf("pin the default endpoint into %q: reparse: %v (%d statements)", text, err, len(alone))
	}
	first := 0 // the first option written, as a 1-based character position
	for _, o := range optionsOf(alone[0]).List {
		if o.KeyPos > 0 && (first == 0 || o.KeyPos < first) {
			first = o.KeyPos
		}
	}
	if first == 0 {
		return nil // connector is always written; nothing to anchor on otherwise
	}
	at := len(text)
	for chars, off := 0, 0; off < len(text); chars++ {
		if chars == first-1 {
			at = off
			break
		}
		_, n := utf8.DecodeRuneInString(text[off:])
		off += n
	}
	pinned := text[:at] + "endpoint = '" + strings.ReplaceAll(endpoint, "'", "''") + "', " + text[at:]
	stmts, err := sql.Parse(pinned)
	if err != nil || len(stmts) != 1 {
		return fmt.Errorf("pin the default endpoint into %q: %v (%d statements)", text, err, len(stmts))
	}
	p, ok := stmts[0].(T)
	if !ok {
		return fmt.Errorf("pin the default endpoint into %q: it parses as %T", text, stmts[0])
	}
	*st = p
	return nil
}

// optionsOf returns the WITH options of a CREATE SOURCE or CREATE SINK.
func optionsOf(st sql.Statement) sql.Options {
	switch s := st.(type) {
	case *sql.CreateSource:
		return s.Options
	case *sql.CreateSink:
		return s.Options
	}
	return sql.Options{}
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
