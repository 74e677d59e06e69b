package engine

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// sinkCheckpointInterval is how often a running sink makes its progress
// durable: the source positions of everything it has written and Kinesis
// has acknowledged.
const sinkCheckpointInterval = time.Second

// sinkRunner runs one CREATE SINK ... FROM source: it reads the source
// after the positions it saved last, writes every row to the sink's stream
// and saves the positions again once Kinesis has acknowledged the writes.
// After a crash it resends what was written after the last save: at least
// once, every record carrying a stable "_id" (sink, shard, sequence number,
// sub-sequence) for consumers to de-duplicate.
type sinkRunner struct {
	e    *Engine
	obj  *object
	from *object
	stop context.CancelFunc
	done chan struct{}
	// health is the failure streak of a sink over a source, whose restarts
	// back off as views' do (viewstate.go); live is when its current life
	// began reading (unix nanos), 0 between lives.
	health viewHealth
	live   atomic.Int64
	// writer is the current life's Kinesis writer, and sub its
	// subscription to the source (a sink over a source); nil between
	// lives. Their trouble is the sink's error in SHOW SINKS.
	writer atomic.Pointer[kinesis.Sink]
	sub    atomic.Pointer[kinesis.Subscription]
	// saved is when the barrier whose positions the current life saved
	// last was injected (unix nanos): everything the sink had read by
	// then is acknowledged by Kinesis. FLUSH waits on it.
	saved atomic.Int64
	// part, in a cluster, is the part of the sink the runner runs: the
	// records of the shards of the part (sinkparts.go); stateID is where
	// its positions are saved, heldToken the take of its lease.
	part      *PartID
	stateID   uint64
	heldToken int64
	fenced    atomic.Bool
}

// sinkRunner returns the runner of sink name, nil if none runs.
func (e *Engine) sinkRunner(name string) *sinkRunner {
	e.sinksMu.Lock()
	defer e.sinksMu.Unlock()
	return e.sinks[name]
}

// trouble returns the lasting trouble of the sink's writer, naming the
// stream and the endpoint, and since when: records are not getting out,
// while the writer backs off and retries.
func (r *sinkRunner) trouble() (error, time.Time) {
	w := r.writer.Load()
	if w == nil {
		return nil, time.Time{}
	}
	err, since := lastingTrouble(w)
	if err == nil {
		return nil, time.Time{}
	}
	opts := r.obj.createSink.Options
	stream, _ := opts.Get("stream")
	if stream == "" {
		stream, _ = opts.Get("stream_arn")
	}
	return fmt.Errorf("writing to stream %q at %s: %w", stream, clientOptions(opts).Where(), err), since
}

// startSink starts a sink: one that reads a source directly here, one over
// a materialized view or its own query in sinkview.go.
func (e *Engine) startSink(obj *object) {
	cs := obj.createSink
	if cs == nil {
		return
	}
	if e.cluster != nil {
		e.cluster.sinkCreated(obj) // its parts start where they are held (sinkparts.go)
		return
	}
	from, ok := e.catalog.get(cs.From)
	if cs.Query != nil || (ok && from.kind == sql.KindView) {
		e.startViewSink(obj) // sinkview.go
		return
	}
	if !ok || from.createSource == nil {
		e.log.Warn("sink's source is missing", "sink", obj.entry.Name)
		return
	}
	ctx, stop := context.WithCancel(e.ctx)
	r := &sinkRunner{e: e, obj: obj, from: from, stop: stop, done: make(chan struct{})}
	r.health.created = time.Now()
	e.sinksMu.Lock()
	e.sinks[obj.entry.Name] = r
	e.sinksMu.Unlock()
	go r.loop(ctx)
}

// stopSink stops a sink's pipeline and waits for it.
func (e *Engine) stopSink(name string) {
	e.sinksMu.Lock()
	r := e.sinks[name]
	delete(e.sinks, name)
	e.sinksMu.Unlock()
	if r != nil {
		r.stop()
		<-r.done
	}
}

func (r *sinkRunner) loop(ctx context.Context) {
	defer close(r.done)
	r.health.supervise(ctx, r.e.log.With("sink", r.obj.entry.Name), r.run, func() {})
}

// run is one life of the pipeline, from the saved positions until an error
// or ctx ends.
func (r *sinkRunner) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	db := r.e.db
	var restore *kinesis.Positions
	if b, ok, err := db.LoadOffsets(r.stateObject()); err != nil {
		return err
	} else if ok {
		if restore, err = kinesis.Restore(b); err != nil {
			return fmt.Errorf("restore positions: %w", err)
		}
	}
	sink, err := r.newSink(ctx)
	if err != nil {
		return err
	}
	consumer := r.consumer()
	dec, err := r.e.newRecordDecoder(r.from, consumer, nil, true)
	if err != nil {
		return err
	}
	sub, release, err := r.e.sources.subscribe(ctx, r.from, consumer, restore)
	if err != nil {
		return err
	}
	defer release()
	dec.sub = sub
	r.saved.Store(0)
	r.sub.Store(sub)
	defer r.sub.Store(nil)
	r.live.Store(time.Now().UnixNano())
	defer r.live.Store(0)

	errc := make(chan error, 2)
	go func() { errc <- sink.Run(ctx) }()
	// Barriers cut the stream between batches; the loop below saves the
	// positions a barrier carries once everything before it is acknowledged.
	var injectedMu sync.Mutex
	injected := map[uint64]int64{} // epoch → when its barrier was sent, at the latest
	go func() {
		t := time.NewTicker(sinkCheckpointInterval)
		defer t.Stop()
		for epoch := uint64(1); ; epoch++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			injectedMu.Lock()
			injected[epoch] = time.Now().UnixNano()
			injectedMu.Unlock()
			if _, err := sub.Barrier(ctx, epoch); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("barrier: %w", err)
				return
			}
		}
	}()

	enc := format.NewJSONEncoder(r.from.columns)
	// A source only inserts: in upsert mode every row is an "insert".
	upsert := isUpsert(r.obj)
	keyCol := sinkColumn(r.obj, "partition_key", r.from.columns)
	hashCol := sinkColumn(r.obj, "explicit_hash_key", r.from.columns)
	var buf []byte
	for {
		select {
		case err := <-errc:
			if err == nil {
				err = errors.New("pipeline ended")
			}
			return err
		case <-sub.Failed():
			return fmt.Errorf("source %s: %w", r.from.entry.Name, sub.Err())
		case <-ctx.Done():
			return nil
		case ev := <-sub.Events():
			switch ev := ev.(type) {
			case *kinesis.Barrier:
				dec.flushDeadLetters(ctx)
				if err := sink.Flush(ctx); err != nil {
					return fmt.Errorf("flush: %w", err)
				}
				b, err := ev.Positions.Marshal()
				if err != nil {
					return err
				}
				if err := r.saveOffsets(ctx, b); err != nil {
					return err
				}
				injectedMu.Lock()
				at := injected[ev.Epoch]
				delete(injected, ev.Epoch)
				injectedMu.Unlock()
				r.saved.Store(at)
			case *kinesis.Batch:
				if !r.keepsShard(ev.ShardID) {
					continue // another part's shard (sinkparts.go)
				}
				for i := range ev.Records {
					rec := &ev.Records[i]
					row, ok, err := dec.decode(ctx, rec)
					if err != nil {
						return err
					}
					if !ok {
						continue
					}
					id := r.obj.entry.Name + "/" + rec.ShardID + "/" + rec.SequenceNumber + "/" + strconv.Itoa(rec.SubSequence)
					if buf, err = enc.Append(buf[:0], row); err != nil {
						return err
					}
					if upsert {
						buf = withOp(buf, "insert")
					}
					data := withID(id, buf)
					key := rec.PartitionKey
					if keyCol >= 0 {
						key = row[keyCol].String()
					}
					hash, err := explicitHashKey(row, hashCol)
					if err != nil {
						return fmt.Errorf("sink %s, record %s: %w", r.obj.entry.Name, id, err)
					}
					if err := sink.Write(ctx, kinesis.SinkRecord{ID: id, PartitionKey: key, ExplicitHashKey: hash, Data: data}); err != nil {
						return err
					}
				}
			}
		}
	}
}

// withID returns the JSON object row with an "_id" member first, in a
// fresh slice the sink may keep.
func withID(id string, row []byte) []byte {
	data := make([]byte, 0, len(id)+len(row)+12)
	data = append(data, `{"_id":`...)
	data = strconv.AppendQuote(data, id)
	if len(row) > 2 { // not "{}"
		data = append(data, ',')
		return append(data, row[1:]...)
	}
	return append(data, '}')
}

func (r *sinkRunner) newSink(ctx context.Context) (*kinesis.Sink, error) {
	cs := r.obj.createSink
	client, err := kinesis.NewClient(ctx, clientOptions(cs.Options))
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", cs.Name, err)
	}
	get := func(k string) string { v, _ := cs.Options.Get(k); return v }
	o := kinesis.SinkOptions{Stream: get("stream"), StreamARN: get("stream_arn"), OnOversize: get("on_oversize"),
		Logger: r.e.log.With("sink", cs.Name)}
	if d, ok, _ := cs.Options.Duration("linger"); ok {
		o.Linger = d
	}
	sink, err := kinesis.NewSink(client, o)
	if err != nil {
		return nil, err
	}
	// The life that made it shows its trouble until it ends.
	r.writer.Store(sink)
	context.AfterFunc(ctx, func() { r.writer.CompareAndSwap(sink, nil) })
	return sink, nil
}

// stopObject stops whatever runs for an object about to be dropped and
// forgets its saved positions.
func (e *Engine) stopObject(o *object) {
	if o.kind == sql.KindSink {
		e.stopSink(o.entry.Name)
		if e.cluster != nil {
			e.cluster.stopSinkParts(o)
		}
		if o.stream != nil {
			e.views.dropView(o) // the sink's pipeline and staged records
		}
	}
	if o.kind == sql.KindView {
		e.views.dropView(o)
	}
	if o.kind == sql.KindSource {
		e.sources.forget(o.entry.Name)
	}
	if o.kind == sql.KindTable {
		e.dropTable(o)
	}
	if err := e.db.DeleteOffsets(o.entry.ID); err != nil {
		key := "source"
		if o.kind != sql.KindSource {
			key = logKey(o)
		}
		e.log.Warn("drop: forget positions", key, o.entry.Name, "err", err)
	}
}

// sinkColumn returns the index in cols of the column a sink's option
// (partition_key, explicit_hash_key) names, -1 when it names none.
func sinkColumn(o *object, option string, cols []types.Column) int {
	name, ok := o.createSink.Options.Get(option)
	if !ok {
		return -1
	}
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// sinkKeyColumns refuses a partition_key or explicit_hash_key that names
// no column of the sink's rows.
func sinkKeyColumns(o *object, cols []types.Column) error {
	for _, option := range []string{"partition_key", "explicit_hash_key"} {
		if opt, ok := o.createSink.Options.Lookup(option); ok && sinkColumn(o, option, cols) < 0 {
			return sqlerr.Newf(sqlerr.UndefinedColumn, "%s %q is not a column of the sink's rows", option, opt.Value).At(opt.KeyPos)
		}
	}
	return nil
}

// maxHashKey is the largest Kinesis hash key, 2^128 - 1.
var maxHashKey = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

// explicitHashKey returns the explicit hash key in column col of row: ""
// for none (col < 0, or NULL: the partition key places the record), else
// the decimal the column holds, which must lie in [0, 2^128 - 1].
func explicitHashKey(row types.Row, col int) (string, error) {
	if col < 0 || row[col].IsNull() {
		return "", nil
	}
	s := strings.TrimSpace(row[col].String())
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 0 || n.Cmp(maxHashKey) > 0 {
		return "", fmt.Errorf("explicit hash key %q: want an integer from 0 to 2^128-1", s)
	}
	return n.String(), nil
}

// flushSinks is FLUSH for the sinks over a source (every one, or only the
// one named only): it returns once each running one has read its source
// up to where it stood at start and Kinesis has acknowledged all of it,
// and names those restarting or failed in warnings. Past ctx's deadline it
// fails (57014) naming the sink that did not get there and why.
func (e *Engine) flushSinks(ctx context.Context, start time.Time, only string) ([]*sqlerr.Error, error) {
	var runners []*sinkRunner
	e.sinksMu.Lock()
	for name, r := range e.sinks {
		if r.from != nil && (only == "" || name == only) {
			runners = append(runners, r)
		}
	}
	e.sinksMu.Unlock()
	if e.cluster != nil {
		runners = append(runners, e.cluster.sinkRunners(only)...)
	}
	budget := DefaultFlushTimeout
	if d, ok := ctx.Deadline(); ok {
		budget = time.Until(d)
	}
	// A sink's progress is polled: it is a few atomic loads, and FLUSH's
	// latency is bounded by the sink's checkpoint interval anyway.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var warnings []*sqlerr.Error
	for _, r := range runners {
		var readSub *kinesis.Subscription // the life that had read up to start, at readAt
		var readAt int64
		for {
			if r.part != nil {
				// A part handed off, fenced or taken again stops; its
				// runner here now (if any) is the one to wait for, and
				// one that runs elsewhere is its owner's to flush.
				cur, held := e.cluster.sinkPartNow(*r.part)
				if cur == nil && !held {
					break
				}
				if cur != nil && cur != r {
					r, readSub, readAt = cur, nil, 0
				}
			}
			st := e.sinkStatus(r.obj)
			if r.part != nil {
				st = r.status()
			}
			if st.State == stateRestarting || st.State == stateFailed {
				warnings = append(warnings, st.notice(r.obj.kind, r.obj.entry.Name))
				break
			}
			sub := r.sub.Load()
			if sub != readSub {
				readSub, readAt = nil, 0
			}
			var what string
			switch {
			case sub == nil:
				what = "has not started"
			case readSub == nil && !sub.ReadTo(start):
				what = "has not read source " + r.from.entry.Name + " up to where it stood when FLUSH began"
			default:
				if readSub == nil {
					readSub, readAt = sub, time.Now().UnixNano()
				}
				what = "has not had Kinesis acknowledge what it read"
			}
			if readSub != nil && r.saved.Load() >= readAt {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.Canceled) {
					return nil, sqlerr.Flatten(ctx.Err())
				}
				msg := fmt.Sprintf("FLUSH did not finish within %v: %s %s", budget.Round(time.Millisecond), r.consumer(), what)
				if st := r.status(); st.Err != nil {
					msg += ": " + st.errorText()
				}
				return nil, sqlerr.Newf(sqlerr.QueryCanceled, "%s", msg)
			}
		}
	}
	return warnings, nil
}
