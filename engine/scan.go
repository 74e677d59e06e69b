package engine

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// sourceScan is a one-off read of a source for a SELECT, from the source's
// start position, with readers of its own (sourceHubs.readOwn): the client
// sets the pace, and it must not set the views'. Without a LIMIT it ends when every
// shard has been read up to where it stood when the query began (a bounded
// read, as RisingWave reads a Kafka source in a batch query); with a LIMIT
// it follows the stream until the limit is met.
type sourceScan struct {
	name  string
	sub   *kinesis.Subscription
	dec   *recordDecoder
	tail  bool
	start time.Time

	release func() // stops the readers
	// check ticks while Next waits, to look at the readers' trouble; where
	// names the stream and endpoint for the error.
	check         *time.Ticker
	stream, where string

	batch    *kinesis.Batch
	next     int
	caughtUp map[string]bool
	lastRead map[string]time.Time

	// wms is the source's watermark (nil without a WATERMARK), kept as a
	// view's input keeps it; wm is the one the row returned last was
	// judged against (LastWatermark), when hasWM.
	wms   *kinesis.Watermarks
	wmCol int
	wm    int64
	hasWM bool
}

var _ exec.Watermarked = (*sourceScan)(nil)

// openSourceScan starts the readers of one scan; needed marks the columns
// the query reads (planner.Scan.Needed, nil for all), the only ones decoded.
func (e *Engine) openSourceScan(obj *object, tail bool, needed []bool) (*sourceScan, error) {
	dec, err := e.newRecordDecoder(obj, "query", needed, false)
	if err != nil {
		return nil, err
	}
	sub, release, err := e.sources.readOwn(obj, "query")
	if err != nil {
		return nil, err
	}
	dec.sub = sub
	stream, _ := obj.createSource.Options.Get("stream")
	if arn, ok := obj.createSource.Options.Get("stream_arn"); ok && arn != "" {
		stream = arn
	}
	s := &sourceScan{
		name: obj.entry.Name, sub: sub, dec: dec, tail: tail, start: time.Now(),
		release: release, caughtUp: map[string]bool{}, lastRead: map[string]time.Time{},
		check: time.NewTicker(time.Second), stream: stream, where: clientOptions(obj.createSource.Options).Where(),
	}
	s.wms, s.wmCol = sourceWatermarks(obj)
	return s, nil
}

// LastWatermark returns the source's watermark before the row Next
// returned last was read: what a window judges it late by.
func (s *sourceScan) LastWatermark() (int64, bool) { return s.wm, s.hasWM }

// observe advances the watermark with a row read from shard.
func (s *sourceScan) observe(shard string, row types.Row) {
	if s.wms == nil || s.wmCol < 0 || s.wmCol >= len(row) || row[s.wmCol].IsNull() {
		return
	}
	now := time.Now()
	if wm, ok := s.wms.Current(now); ok {
		s.wm, s.hasWM = wm.UnixMicro(), true
	}
	s.wms.Observe(shard, time.UnixMicro(row[s.wmCol].Micros()), now)
	s.wms.Current(now)
}

// polled registers the shards being read with the watermark, and a read
// of one of them.
func (s *sourceScan) polled(b *kinesis.Batch) {
	if s.wms == nil {
		return
	}
	now := time.Now()
	for _, st := range s.sub.Stats() {
		if st.State == kinesis.StateDrained {
			s.wms.Close(st.ShardID)
		} else {
			s.wms.AddShard(st.ShardID, now)
		}
	}
	s.wms.Polled(b.ShardID, b.CaughtUp, now)
	if b.End {
		s.wms.Close(b.ShardID)
	}
}

// troubleAfter is how long a source's calls must keep failing (endpoint
// unreachable, stream missing) before it is trouble: a one-off query over
// it fails, and a view over it says so. It is the bound CREATE SOURCE gives
// the same question.
const troubleAfter = kinesis.DefaultCheckTimeout

// troubled returns the error a query fails with when the readers' calls
// have failed for troubleAfter, naming the source, the stream and the
// endpoint; nil otherwise.
func (s *sourceScan) troubled() error {
	err, since := lastingTrouble(s.sub)
	if err == nil {
		return nil
	}
	return sqlerr.Wrap(kinesis.StreamError(err, s.stream, s.where), sqlerr.Internal,
		fmt.Sprintf("source %s: reads failing for %v", s.name, time.Since(since).Round(time.Second)))
}

// Next returns the next row of the source.
func (s *sourceScan) Next(ctx context.Context) (types.Row, error) {
	for {
		if s.batch != nil && s.next < len(s.batch.Records) {
			r := &s.batch.Records[s.next]
			s.next++
			row, ok, err := s.dec.decode(ctx, r)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			s.observe(s.batch.ShardID, row)
			return row, nil
		}
		s.batch = nil
		if !s.tail && s.readToStart() {
			return nil, io.EOF
		}
		select {
		case ev := <-s.sub.Events():
			if b, ok := ev.(*kinesis.Batch); ok {
				s.batch, s.next = b, 0
				s.polled(b)
				// ReadAt is when the call returned; only a call that began
				// after the scan did (the shard's previous call returned
				// after it) has seen every record put before the scan.
				if prev, ok := s.lastRead[b.ShardID]; ok && b.CaughtUp && !prev.Before(s.start) {
					s.caughtUp[b.ShardID] = true
				}
				s.lastRead[b.ShardID] = b.ReadAt
			}
		case <-s.sub.Failed():
			return nil, sqlerr.Wrap(s.sub.Err(), sqlerr.ConnectionException, "source "+s.name)
		case <-s.check.C:
			if err := s.troubled(); err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// readToStart reports whether every shard has been read to where it stood
// when the scan began: drained, or caught up in a read made after the start.
func (s *sourceScan) readToStart() bool {
	stats := s.sub.Stats()
	if len(stats) == 0 {
		return false // the shards are not listed yet
	}
	for _, st := range stats {
		if st.State != kinesis.StateDrained && !s.caughtUp[st.ShardID] {
			return false
		}
	}
	return true
}

// ready reports whether Next can answer without waiting on Kinesis.
func (s *sourceScan) ready() bool {
	return (s.batch != nil && s.next < len(s.batch.Records)) || len(s.sub.Events()) > 0
}

// Close stops the scan's readers and waits for them.
func (s *sourceScan) Close() {
	if s.release == nil {
		return
	}
	s.check.Stop()
	s.release()
	s.release = nil
}

// scanOpener returns the opener of the scans of one query. A scan follows
// the stream (tail) when a LIMIT above it, with nothing but filters and
// projections between, is what ends the query.
// A view read that is not running adds a WARNING to warnings (viewstate.go).
func (e *Engine) scanOpener(q *planner.Query, scans *[]*sourceScan, warnings *[]*sqlerr.Error) planner.ScanOpener {
	tail := limitsScan(q.Root(), false)
	return func(sc *planner.Scan) (exec.RowIter, error) {
		obj, ok := e.catalog.get(sc.Relation.Name)
		if !ok {
			return nil, sqlerr.Newf(sqlerr.UndefinedTable, "relation %q does not exist", sc.Relation.Name)
		}
		if obj.kind == sql.KindTable {
			return e.viewScan(obj)
		}
		if obj.kind == sql.KindView {
			if w := e.views.readWarning(obj); w != nil && !slices.ContainsFunc(*warnings, func(x *sqlerr.Error) bool { return x.Message == w.Message }) {
				*warnings = append(*warnings, w)
			}
			return e.viewScan(obj)
		}
		if obj.kind != sql.KindSource || obj.createSource == nil {
			return nil, sqlerr.Newf(sqlerr.WrongObjectType, "%s is not a source or a materialized view", sc.Relation.Name)
		}
		if isPulled(obj.connector) {
			return e.openPulledScan(obj, tail)
		}
		s, err := e.openSourceScan(obj, tail, sc.Needed)
		if err != nil {
			return nil, err
		}
		*scans = append(*scans, s)
		return s, nil
	}
}

// limitsScan reports whether a Limit bounds the scan under n with only
// filters and projections between them.
func limitsScan(n planner.Node, limited bool) bool {
	switch n := n.(type) {
	case *planner.Limit:
		return limitsScan(n.Input, true)
	case *planner.Filter:
		return limitsScan(n.Input, limited)
	case *planner.Project:
		return limitsScan(n.Input, limited)
	case *planner.Scan:
		return limited
	}
	return false
}
