package kinesis

import (
	"strconv"
	"time"
)

// Record is one user record read from a shard. A KPL aggregate becomes
// several Records with one SequenceNumber and SubSequence 0, 1, 2, ...
//
// Records are shared by every subscriber of a source: treat them, and the
// bytes of Data, as read-only.
type Record struct {
	ShardID        string
	SequenceNumber string
	// SubSequence is the index of a user record inside a KPL aggregate;
	// 0 for a record that was not aggregated (Aggregated false).
	SubSequence                 int
	Aggregated                  bool
	PartitionKey                string
	ExplicitHashKey             string // only from KPL aggregates that carry one
	ApproximateArrivalTimestamp time.Time
	Data                        []byte
	// DecodeErr is set on a KPL aggregate that cannot be expanded (it
	// wraps ErrCorruptAggregate); Data is then the whole record as read.
	// Consumers treat it as a record that does not decode, so that
	// on_decode_error, the counters and dead letters apply to it as to
	// any other.
	DecodeErr error
}

// Position names the record in errors and status: its sequence number,
// with "/" and its SubSequence when it came from a KPL aggregate.
func (r *Record) Position() string {
	if r.Aggregated {
		return r.SequenceNumber + "/" + strconv.Itoa(r.SubSequence)
	}
	return r.SequenceNumber
}
