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
	Throttles          int64 // ProvisionedThroughputExceeded / LimitExceeded answers
	Retries            int64 // 5xx, network errors, timeouts, expired iterators
	DecodeErrors       int64 // corrupt KPL aggregates, plus what the consumer reports
	LateRecords        int64 // reported by the consumer (behind its watermark)
	LastSequenceNumber string
	// LastError is the error of the shard's failing calls while they fail
	// (State is then StateRetrying), and ErrorSince when they began; empty
	// and zero while its calls succeed.
	LastError  string
	ErrorSince time.Time
}

// counters are one shard's live figures; atomics so that Stats never waits
// on a reader.
type counters struct {
	records, bytes, calls, behind, throttles, retries, decodeErrors atomic.Int64
	trouble                                                         trouble
}

func (c *counters) snapshot(id string) ShardStats {
	err, since := c.trouble.get()
	st := ShardStats{
		ShardID:            id,
		Records:            c.records.Load(),
		Bytes:              c.bytes.Load(),
		Calls:              c.calls.Load(),
		MillisBehindLatest: c.behind.Load(),
		Throttles:          c.throttles.Load(),
		Retries:            c.retries.Load(),
		DecodeErrors:       c.decodeErrors.Load(),
	}
	if err != nil {
		st.LastError, st.ErrorSince = err.Error(), since
	}
	return st
}
