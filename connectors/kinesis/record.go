package kinesis

import "time"

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
}
