package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/sql"
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
	// proc is the index of the source's PROCTIME() column (-1: none),
	// stamped from clock (proctime.go).
	proc  int
	clock func() time.Time
	width int // the physical columns, without the PROCTIME() one

	// dead is the source's dead-letter writer, nil without one; pending
	// counts per shard the dead letters queued on deadSink since the last
	// barrier, not yet acknowledged.
	dead     *deadLetters
	deadSink *kinesis.Sink
	pending  map[string]int64
}

// newRecordDecoder returns the decoder of the source obj's records for
// consumer; needed marks the columns it reads (nil: all). With deadLetter
// (views and sinks, which call flushDeadLetters at each barrier) skipped
// records go to the source's dead_letter_stream, if it has one. Set sub
// before the first decode.
func (e *Engine) newRecordDecoder(obj *object, consumer string, needed []bool, deadLetter bool) (*recordDecoder, error) {
	cs := obj.createSource
	dec, err := sourceDecoderNeeded(cs, obj.physical(), obj.physicalNeeded(needed))
	if err != nil {
		return nil, err
	}
	onErr, _ := cs.Options.Get("on_decode_error")
	stream, _ := cs.Options.Get("stream")
	if stream == "" {
		stream, _ = cs.Options.Get("stream_arn")
	}
	d := &recordDecoder{
		source: obj.entry.Name, stream: stream, consumer: consumer,
		dec: dec, fail: onErr == kinesis.DecodeErrorFail,
		log: e.sources.badLog(obj.entry.Name), l: e.log, proc: obj.procCol(), clock: e.clock, width: len(obj.physical()),
	}
	if deadLetter && !d.fail {
		d.dead = e.sources.deadLetters(obj)
		d.pending = map[string]int64{}
	}
	return d, nil
}

// decode returns rec's row (a fresh one, which the caller may keep), or
// ok false for a record skipped under 'skip', or the error under 'fail'.
func (d *recordDecoder) decode(ctx context.Context, rec *kinesis.Record) (row types.Row, ok bool, err error) {
	if err = rec.DecodeErr; err == nil {
		d.meta = format.Meta{PartitionKey: rec.PartitionKey, SequenceNumber: rec.SequenceNumber,
			ShardID: rec.ShardID, ArrivalTime: rec.ApproximateArrivalTimestamp}
		var dst types.Row
		if d.proc >= 0 {
			// Room for the stamp: one allocation per row, not two.
			dst = make(types.Row, 0, d.width+1)
		}
		if row, err = d.dec.Decode(rec.Data, &d.meta, dst); err == nil {
			if d.proc >= 0 {
				row = stampProcTime(row, d.proc, d.clock())
			}
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
	if d.dead != nil {
		d.deadLetter(ctx, rec, err)
	}
	return nil, false, nil
}

// deadLetter queues rec, skipped with cause, for the dead-letter stream.
func (d *recordDecoder) deadLetter(ctx context.Context, rec *kinesis.Record, cause error) {
	sink, err := d.dead.write(ctx, d.stream, rec, cause)
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return // stopping: the epoch does not commit, the record is read again
		}
		d.lost(map[string]int64{rec.ShardID: 1}, err)
	case sink == nil: // another consumer wrote it lately
		d.sub.CountDeadLetters(rec.ShardID, 1, 0)
	default:
		if d.deadSink != nil && d.deadSink != sink {
			d.flushDeadLetters(ctx) // the sink was remade: settle the old one's first
		}
		d.deadSink = sink
		d.pending[rec.ShardID]++
	}
}

// flushDeadLetters waits, at most deadLetterTimeout, until the dead
// letters queued since the last call are acknowledged, and counts them as
// written or lost. Views and sinks call it at each barrier, before the
// epoch that skipped the records can commit: at least once.
func (d *recordDecoder) flushDeadLetters(ctx context.Context) {
	if len(d.pending) == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(ctx, deadLetterTimeout)
	err := d.deadSink.Flush(fctx)
	cancel()
	if err != nil && ctx.Err() != nil {
		return
	}
	if err != nil {
		d.lost(d.pending, err)
	} else {
		for shard, n := range d.pending {
			d.sub.CountDeadLetters(shard, n, 0)
		}
	}
	clear(d.pending)
	d.deadSink = nil
}

// lost counts dead letters given up on, per shard, with a rate-limited line.
func (d *recordDecoder) lost(perShard map[string]int64, err error) {
	for shard, n := range perShard {
		d.sub.CountDeadLetters(shard, 0, n)
	}
	if n, ok := d.dead.lost.skip(time.Now()); ok {
		d.l.Error("skipped records could not be written to the dead-letter stream; counted as lost (dead_letters_lost in SHOW SOURCE STATUS)",
			"source", d.source, "dead_letter_stream", d.dead.stream, "consumer", d.consumer, "times", n, "err", err)
	}
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

// deadLetterTimeout bounds every wait on a dead-letter stream: queueing a
// record, and its acknowledgement at a barrier. Past it the records are
// counted as lost, with a log line, and the consumer goes on: a broken
// dead-letter stream must not stop the source it serves.
const deadLetterTimeout = 10 * time.Second

// deadLetterRecent is how many dead letters of a source are remembered,
// so that its other consumers skipping the same record do not write it
// again.
const deadLetterRecent = 4096

// deadLetter is the JSON object written for a skipped record.
type deadLetter struct {
	Stream         string    `json:"stream"`
	ShardID        string    `json:"shard_id"`
	SequenceNumber string    `json:"sequence_number"`
	PartitionKey   string    `json:"partition_key"`
	ArrivalTime    time.Time `json:"arrival_time"`
	Error          string    `json:"error"`
	Data           []byte    `json:"data"` // base64, as encoding/json writes bytes
}

// deadLetters writes one source's skipped records to its
// dead_letter_stream with the Kinesis sink writer, for every consumer of
// the source that is a view or a sink (a one-off SELECT reads the same
// records again each time, and writes none). Delivery is at least once:
// a consumer waits at each barrier for its dead letters to be acknowledged
// before the epoch that skipped them can commit.
type deadLetters struct {
	e *Engine
	// ctx ends with the engine or when the source is dropped (close).
	ctx            context.Context
	close          context.CancelFunc
	source, stream string
	opts           sql.Options // the source's, for region and credentials
	endpoint       string

	mu     sync.Mutex
	sink   *kinesis.Sink // nil until first needed, and after it failed
	failed time.Time     // when the last sink failed: none is made for deadLetterTimeout
	recent map[string]struct{}
	ring   []string
	next   int

	lost badRecordLog // rate-limits the lines about lost dead letters
}

// newDeadLetters returns the dead-letter writer of the source obj, or nil
// when it has no dead_letter_stream.
func newDeadLetters(e *Engine, obj *object) *deadLetters {
	opts := obj.createSource.Options
	stream, _ := opts.Get("dead_letter_stream")
	if stream == "" {
		return nil
	}
	endpoint, ok := opts.Get("dead_letter_endpoint")
	if !ok {
		endpoint, _ = opts.Get("endpoint")
	}
	ctx, cancel := context.WithCancel(e.ctx)
	return &deadLetters{e: e, ctx: ctx, close: cancel, source: obj.entry.Name, stream: stream, opts: opts,
		endpoint: endpoint, recent: map[string]struct{}{}, ring: make([]string, deadLetterRecent)}
}

// writer returns the running sink, making one if there is none.
func (d *deadLetters) writer() (*kinesis.Sink, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sink != nil {
		return d.sink, nil
	}
	if time.Since(d.failed) < deadLetterTimeout {
		return nil, fmt.Errorf("dead-letter stream %s failed less than %v ago", d.stream, deadLetterTimeout)
	}
	client, err := kinesis.NewClient(d.ctx, clientOptionsAt(d.opts, d.endpoint))
	if err != nil {
		d.failed = time.Now()
		return nil, fmt.Errorf("dead-letter stream %s: %w", d.stream, err)
	}
	sink, err := kinesis.NewSink(client, kinesis.SinkOptions{Stream: d.stream, Linger: 10 * time.Millisecond,
		CallTimeout: deadLetterTimeout, OnOversize: kinesis.OversizeSkip})
	if err != nil {
		d.failed = time.Now()
		return nil, fmt.Errorf("dead-letter stream %s: %w", d.stream, err)
	}
	d.sink = sink
	go func() {
		err := sink.Run(d.ctx)
		d.mu.Lock()
		if d.sink == sink {
			d.sink, d.failed = nil, time.Now()
		}
		d.mu.Unlock()
		if err != nil && d.ctx.Err() == nil {
			d.e.log.Error("dead-letter stream failed; its records are counted as lost until it is retried",
				"source", d.source, "dead_letter_stream", d.stream, "retry_in", deadLetterTimeout, "err", err)
		}
	}()
	return sink, nil
}

// seen reports whether the record id was written lately, and remembers it.
func (d *deadLetters) seen(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.recent[id]; ok {
		return true
	}
	delete(d.recent, d.ring[d.next])
	d.ring[d.next] = id
	d.next = (d.next + 1) % len(d.ring)
	d.recent[id] = struct{}{}
	return false
}

// write queues rec, skipped with err, for the dead-letter stream. It
// returns the sink it went to (nil when another consumer wrote it lately),
// or an error when it could not be queued within deadLetterTimeout.
func (d *deadLetters) write(ctx context.Context, stream string, rec *kinesis.Record, cause error) (*kinesis.Sink, error) {
	id := d.source + "/" + rec.ShardID + "/" + rec.Position()
	if d.seen(id) {
		return nil, nil
	}
	data, err := json.Marshal(deadLetter{Stream: stream, ShardID: rec.ShardID, SequenceNumber: rec.Position(),
		PartitionKey: rec.PartitionKey, ArrivalTime: rec.ApproximateArrivalTimestamp, Error: cause.Error(), Data: rec.Data})
	if err != nil {
		return nil, err
	}
	sink, err := d.writer()
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, deadLetterTimeout)
	defer cancel()
	if err := sink.Write(wctx, kinesis.SinkRecord{ID: id, PartitionKey: rec.PartitionKey, Data: data}); err != nil {
		return nil, fmt.Errorf("dead-letter stream %s: %w", d.stream, err)
	}
	return sink, nil
}
