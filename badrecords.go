package streamsql

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// badRecordLogEvery is the least time between two log lines about one
// source's skipped records: a stream of bad records must not flood the log.
const badRecordLogEvery = 10 * time.Second

// recordDecoder turns one consumer's records (a view's, a sink's, a
// one-off SELECT's) into rows, and is the one place that applies a
// source's on_decode_error. A record that does not decode is counted on
// the consumer's figures for its shard with the error and the record's
// sequence number (SHOW SOURCE STATUS) and then skipped ('skip', the
// default), with a rate-limited log line, or returned as an error naming
// the source, stream, shard, sequence number and cause ('fail').
type recordDecoder struct {
	source, stream, consumer string

	dec  format.Decoder
	sub  *kinesis.Subscription // the consumer's figures
	fail bool
	log  *badRecordLog
	l    *slog.Logger
	meta format.Meta
}

// newRecordDecoder returns the decoder of the source obj's records for
// consumer; needed marks the columns it reads (nil: all). Set sub before
// the first decode.
func (e *Engine) newRecordDecoder(obj *object, consumer string, needed []bool) (*recordDecoder, error) {
	cs := obj.createSource
	dec, err := sourceDecoderNeeded(cs, obj.columns, needed)
	if err != nil {
		return nil, err
	}
	onErr, _ := cs.Options.Get("on_decode_error")
	stream, _ := cs.Options.Get("stream")
	if stream == "" {
		stream, _ = cs.Options.Get("stream_arn")
	}
	return &recordDecoder{
		source: obj.entry.Name, stream: stream, consumer: consumer,
		dec: dec, fail: onErr == kinesis.DecodeErrorFail,
		log: e.sources.badLog(obj.entry.Name), l: e.log,
	}, nil
}

// decode returns rec's row (a fresh one, which the caller may keep), or
// ok false for a record skipped under 'skip', or the error under 'fail'.
func (d *recordDecoder) decode(rec *kinesis.Record) (row types.Row, ok bool, err error) {
	if err = rec.DecodeErr; err == nil {
		d.meta = format.Meta{PartitionKey: rec.PartitionKey, SequenceNumber: rec.SequenceNumber,
			ShardID: rec.ShardID, ArrivalTime: rec.ApproximateArrivalTimestamp}
		if row, err = d.dec.Decode(rec.Data, &d.meta, nil); err == nil {
			return row, true, nil
		}
	}
	d.sub.DecodeError(rec, err)
	if d.fail {
		return nil, false, d.failure(rec, err)
	}
	if n, ok := d.log.skip(time.Now()); ok {
		d.l.Warn("skipped records that do not decode (on_decode_error = 'skip'; see SHOW SOURCE STATUS)",
			"source", d.source, "stream", d.stream, "skipped", n, "consumer", d.consumer,
			"shard", rec.ShardID, "sequence_number", rec.Position(), "err", err)
	}
	return nil, false, nil
}

// failure is the error of a record that does not decode under 'fail'. Its
// SQLSTATE is the decoder's, a data exception (22P02, 22032, 22003, ...),
// or 22000 for a KPL aggregate that cannot be expanded. Callers may wrap
// it but keep it whole: a coded error's message is what clients see.
func (d *recordDecoder) failure(rec *kinesis.Record, err error) error {
	return sqlerr.Wrap(err, sqlerr.DataException, fmt.Sprintf(
		"source %s (stream %s): record at shard %s, sequence number %s does not decode (on_decode_error = 'fail')",
		d.source, d.stream, rec.ShardID, rec.Position()))
}

// badRecordLog rate-limits one source's log lines about skipped records
// (every consumer of the source shares it).
type badRecordLog struct {
	mu      sync.Mutex
	last    time.Time
	skipped int64 // since the last line
}

// skip counts a skipped record at now and reports whether a line is due,
// with how many records were skipped since the last one (this one too).
func (l *badRecordLog) skip(now time.Time) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.skipped++
	if !l.last.IsZero() && now.Sub(l.last) < badRecordLogEvery {
		return 0, false
	}
	n := l.skipped
	l.last, l.skipped = now, 0
	return n, true
}
