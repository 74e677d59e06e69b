package kinesis

import (
	"fmt"
	"log/slog"
	"time"
)

// StartPosition is where a new source starts reading its shards.
type StartPosition string

const (
	// StartLatest reads records that arrive after the source was created.
	// It is read AT_TIMESTAMP of SourceOptions.StartTimestamp (the creation
	// time the caller pins), not LATEST, so that a restart before the first
	// commit does not skip what arrived meanwhile.
	StartLatest      StartPosition = "latest"
	StartTrimHorizon StartPosition = "trim_horizon"
	StartAtTimestamp StartPosition = "at_timestamp"
)

// What a consumer does with a record that cannot be decoded (a row that
// does not decode, or a Record with DecodeErr): the values of a source's
// on_decode_error. The readers deliver every record either way.
const (
	DecodeErrorSkip = "skip" // count it and go on
	DecodeErrorFail = "fail" // the consumer fails with the error
)

// Kinesis limits per shard.
const (
	MaxGetRecordsLimit = 10000
	// DefaultMinCallInterval keeps GetRecords under 5 calls/s per shard.
	DefaultMinCallInterval = 200 * time.Millisecond
	// DefaultMaxBytesPerSecond is the 2 MB/s per-shard read limit.
	DefaultMaxBytesPerSecond = 2 << 20
)

// SourceOptions configures a Source. Zero fields take the defaults named.
type SourceOptions struct {
	// Stream or StreamARN names the stream (exactly one).
	Stream    string
	StreamARN string
	// StartPosition is where shards without a committed position start;
	// default StartLatest.
	StartPosition StartPosition
	// StartTimestamp is required for StartLatest (the time the source was
	// created, pinned by the caller and kept in the catalog) and for
	// StartAtTimestamp.
	StartTimestamp time.Time
	// ShardDiscoveryInterval is how often ListShards looks for new shards
	// (default 10s). A shard reaching its end triggers a discovery at once.
	ShardDiscoveryInterval time.Duration
	// PollInterval is the pause between GetRecords calls on a shard that is
	// caught up (default 200ms).
	PollInterval time.Duration
	// MaxRecordsPerCall is GetRecords' Limit (default and maximum 10000).
	MaxRecordsPerCall int
	// MinCallInterval spaces GetRecords calls on one shard (default 200ms,
	// i.e. 5 calls/s); MaxBytesPerSecond spaces them further after large
	// reads (default 2 MiB/s). Negative values turn pacing off, for
	// benchmarks only.
	MinCallInterval   time.Duration
	MaxBytesPerSecond int64
	// CallTimeout bounds each API call (default 10s); a call that times out
	// is retried.
	CallTimeout time.Duration
	// BackoffBase and BackoffMax shape the back-off after throttling and
	// errors (defaults 100ms and 5s).
	BackoffBase, BackoffMax time.Duration
	// Logger receives the rate-limited lines about calls that keep failing
	// (trouble.go); nil: slog's default.
	Logger *slog.Logger
}

// Validate reports bad options; it does not change o.
func (o SourceOptions) Validate() error {
	if (o.Stream == "") == (o.StreamARN == "") {
		return fmt.Errorf("kinesis source: set exactly one of stream and stream_arn")
	}
	switch o.StartPosition {
	case "", StartLatest, StartAtTimestamp:
		if o.StartTimestamp.IsZero() {
			return fmt.Errorf("kinesis source: start_position %s needs a start timestamp (for latest: the time the source was created)", o.startPosition())
		}
	case StartTrimHorizon:
	default:
		return fmt.Errorf("kinesis source: start_position %q: want latest, trim_horizon or at_timestamp", o.StartPosition)
	}
	if o.MaxRecordsPerCall < 0 || o.MaxRecordsPerCall > MaxGetRecordsLimit {
		return fmt.Errorf("kinesis source: max_records_per_call %d: want 1..%d", o.MaxRecordsPerCall, MaxGetRecordsLimit)
	}
	for name, d := range map[string]time.Duration{
		"shard_discovery_interval": o.ShardDiscoveryInterval, "poll_interval": o.PollInterval,
		"call timeout": o.CallTimeout, "back-off base": o.BackoffBase, "back-off max": o.BackoffMax,
	} {
		if d < 0 {
			return fmt.Errorf("kinesis source: %s %v is negative", name, d)
		}
	}
	return nil
}

func (o SourceOptions) startPosition() StartPosition {
	if o.StartPosition == "" {
		return StartLatest
	}
	return o.StartPosition
}

func (o *SourceOptions) setDefaults() {
	o.StartPosition = o.startPosition()
	if o.ShardDiscoveryInterval == 0 {
		o.ShardDiscoveryInterval = 10 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.MaxRecordsPerCall == 0 {
		o.MaxRecordsPerCall = MaxGetRecordsLimit
	}
	switch {
	case o.MinCallInterval == 0:
		o.MinCallInterval = DefaultMinCallInterval
	case o.MinCallInterval < 0:
		o.MinCallInterval = 0
	}
	switch {
	case o.MaxBytesPerSecond == 0:
		o.MaxBytesPerSecond = DefaultMaxBytesPerSecond
	case o.MaxBytesPerSecond < 0:
		o.MaxBytesPerSecond = 0
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

// setStream fills the StreamName or StreamARN field of an SDK input.
func (o *SourceOptions) setStream(name, arn **string) {
	if o.StreamARN != "" {
		*arn = &o.StreamARN
	} else {
		*name = &o.Stream
	}
}

// initialStart is where a shard listed by a source's first discovery
// starts: the source's start position. TRIM_HORIZON for shards that already
// existed would read the whole retention period behind latest/at_timestamp.
func (o *SourceOptions) initialStart() (string, time.Time) {
	if o.StartPosition == StartTrimHorizon {
		return startTrimHorizon, time.Time{}
	}
	return startAtTimestamp, o.StartTimestamp
}
