package kinesis

import (
	"sync/atomic"
	"time"
)

// Shard states shown in ShardStats.State.
const (
	StateWaiting = "waiting" // a parent is not drained yet
	StateReading = "reading"
	StateDrained = "drained" // read to its end after resharding
)

// ShardStats is a snapshot of one shard's figures since the source started.
type ShardStats struct {
	ShardID            string
	State              string
	Records            int64 // user records delivered (after de-aggregation)
	Bytes              int64 // bytes of record data delivered
	Calls              int64 // GetRecords calls that succeeded
	MillisBehindLatest int64 // from the last GetRecords
	// IteratorAgeMillis is how long before the last GetRecords that
	// returned records its last record arrived in the stream (its
	// ApproximateArrivalTimestamp), 0 after a call that found the shard
	// caught up: Kinesis's iterator age, which an emulator that always
	// says MillisBehindLatest 0 still shows.
	IteratorAgeMillis  int64
	Throttles          int64 // ProvisionedThroughputExceeded / LimitExceeded answers
	Retries            int64 // 5xx, network errors, timeouts, expired iterators
	DecodeErrors       int64 // records the consumer failed to decode (Subscription.DecodeError)
	LateRecords        int64 // reported by the consumer (behind its watermark)
	LastSequenceNumber string
	// LastDecodeError and LastDecodeErrorSequenceNumber describe the last
	// record of the shard the consumer failed to decode; empty if none.
	LastDecodeError               string
	LastDecodeErrorSequenceNumber string
	// DeadLetters are skipped records the consumer wrote to its source's
	// dead-letter stream; DeadLettersLost those it gave up writing.
	DeadLetters, DeadLettersLost int64
	// LastError is the error of the shard's failing calls while they fail
	// (State is then StateRetrying), and ErrorSince when they began; empty
	// and zero while its calls succeed.
	LastError  string
	ErrorSince time.Time
}

// counters are one shard's live figures; atomics so that Stats never waits
// on a reader.
type counters struct {
	records, bytes, calls, behind, age, throttles, retries atomic.Int64
	trouble                                                trouble
}

func (c *counters) snapshot(id string) ShardStats {
	err, since := c.trouble.get()
	st := ShardStats{
		ShardID:            id,
		Records:            c.records.Load(),
		Bytes:              c.bytes.Load(),
		Calls:              c.calls.Load(),
		MillisBehindLatest: c.behind.Load(),
		IteratorAgeMillis:  c.age.Load(),
		Throttles:          c.throttles.Load(),
		Retries:            c.retries.Load(),
	}
	if err != nil {
		st.LastError, st.ErrorSince = err.Error(), since
	}
	return st
}
