package engine

import (
	"context"
	"sort"
	"sync"

	"github.com/streamsql/streamsql/connectors/file"
	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/sql/types"
)

// sourceHubs runs one kinesis.Source, one reader per shard, for each
// catalog source that anything consumes, and subscribes every consumer
// (views, sinks, queries) to it: ten views over a stream cost the
// GetRecords budget of one. A consumer behind the shared readers (a new
// view from the source's start, a restart after an older commit) reads
// with readers of its own until it catches up, then joins them
// (kinesis.Source.SubscribeFrom). The readers stop with their last
// consumer.
//
// A one-off SELECT reads with readers of its own instead (readOwn): a
// client may read its result as slowly as it likes, and a consumer of the
// shared readers that stops reading holds all of them up.
type sourceHubs struct {
	e   *Engine
	mu  sync.Mutex
	m   map[string]*sourceHub                       // by source name
	own map[string]map[*kinesis.Subscription]string // by source name: readOwn's consumers
	bad map[string]*badRecordLog                    // by source name
	// dead are the sources' dead-letter writers, by source name; nil for
	// a source without one.
	dead   map[string]*deadLetters
	deadOf map[string]*object
	// files are the readers of file sources, each consumer's own, by
	// source name (files.go).
	files map[string]map[*file.Reader]string
	// gens are the generators (generators.go), each consumer's own, by
	// source name.
	gens map[string]map[*generatorStatus]string
}

// addGenerator shows st, consumer's generator of source, in SHOW SOURCE
// STATUS until the returned release.
func (h *sourceHubs) addGenerator(source string, st *generatorStatus, consumer string) (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gens == nil {
		h.gens = map[string]map[*generatorStatus]string{}
	}
	if h.gens[source] == nil {
		h.gens[source] = map[*generatorStatus]string{}
	}
	h.gens[source][st] = consumer
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.gens[source], st)
	}
}

// addFileReader shows r, consumer's reader of source, in SHOW SOURCE
// STATUS until the returned release.
func (h *sourceHubs) addFileReader(source string, r *file.Reader, consumer string) (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.files == nil {
		h.files = map[string]map[*file.Reader]string{}
	}
	if h.files[source] == nil {
		h.files[source] = map[*file.Reader]string{}
	}
	h.files[source][r] = consumer
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.files[source], r)
	}
}

// deadLetters returns the dead-letter writer of the source obj, shared by
// its consumers; nil when it has no dead_letter_stream.
func (h *sourceHubs) deadLetters(obj *object) *deadLetters {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := obj.entry.Name
	if h.deadOf[name] != obj {
		// New, or dropped and created again (its options may differ).
		if h.dead == nil {
			h.dead, h.deadOf = map[string]*deadLetters{}, map[string]*object{}
		}
		h.dead[name], h.deadOf[name] = newDeadLetters(h.e, obj), obj
	}
	return h.dead[name]
}

// forget lets go of what the dropped source left here: its dead-letter
// writer (stopped) and its log's rate limit.
func (h *sourceHubs) forget(source string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := h.dead[source]; d != nil {
		d.close()
	}
	delete(h.dead, source)
	delete(h.deadOf, source)
	delete(h.bad, source)
}

// badLog returns the rate limit of the log lines about source's skipped
// records, shared by all its consumers.
func (h *sourceHubs) badLog(source string) *badRecordLog {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bad == nil {
		h.bad = map[string]*badRecordLog{}
	}
	l := h.bad[source]
	if l == nil {
		l = &badRecordLog{}
		h.bad[source] = l
	}
	return l
}

type sourceHub struct {
	obj       *object
	src       *kinesis.Source
	stop      context.CancelFunc
	consumers map[*kinesis.Subscription]string
}

// subscribe returns a subscription of the source obj for consumer (a name
// for SHOW SOURCE STATUS) that resumes after from, or reads from the
// source's start position when from is nil; a backfill, if it needs one,
// runs under ctx. release ends the subscription.
func (h *sourceHubs) subscribe(ctx context.Context, obj *object, consumer string, from *kinesis.Positions) (sub *kinesis.Subscription, release func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := obj.entry.Name
	hub := h.m[name]
	if hub != nil && (hub.obj != obj || hub.src.Err() != nil) {
		// Dropped and created again, or failed: its consumers have failed
		// or are stopping, and a release of theirs leaves h.m alone.
		delete(h.m, name)
		hub = nil
	}
	if hub == nil {
		runCtx, stop := context.WithCancel(h.e.ctx)
		src, err := newSourceReader(runCtx, obj, from, h.e.log)
		if err != nil {
			stop()
			return nil, nil, err
		}
		hub = &sourceHub{obj: obj, src: src, stop: stop, consumers: map[*kinesis.Subscription]string{}}
		go func() { _ = src.Run(runCtx) }() // its error reaches every subscription
		if h.m == nil {
			h.m = map[string]*sourceHub{}
		}
		h.m[name] = hub
	}
	sub = hub.src.SubscribeFrom(ctx, 8, from)
	hub.consumers[sub] = consumer
	return sub, func() {
		sub.Close()
		h.mu.Lock()
		delete(hub.consumers, sub)
		last := len(hub.consumers) == 0
		if last && h.m[name] == hub {
			delete(h.m, name)
		}
		h.mu.Unlock()
		if last {
			hub.stop()
			<-hub.src.Done()
		}
	}, nil
}

// readOwn returns a subscription of readers of its own over the source obj,
// from its start position, for consumer; release stops them.
func (h *sourceHubs) readOwn(obj *object, consumer string) (sub *kinesis.Subscription, release func(), err error) {
	runCtx, stop := context.WithCancel(h.e.ctx)
	src, err := newSourceReader(runCtx, obj, nil, h.e.log)
	if err != nil {
		stop()
		return nil, nil, err
	}
	sub = src.SubscribeFrom(runCtx, 4, nil) // the readers have read nothing: no backfill
	go func() { _ = src.Run(runCtx) }()     // its error reaches the subscription
	name := obj.entry.Name
	h.mu.Lock()
	if h.own == nil {
		h.own = map[string]map[*kinesis.Subscription]string{}
	}
	if h.own[name] == nil {
		h.own[name] = map[*kinesis.Subscription]string{}
	}
	h.own[name][sub] = consumer
	h.mu.Unlock()
	return sub, func() {
		h.mu.Lock()
		delete(h.own[name], sub)
		h.mu.Unlock()
		sub.Close()
		stop()
		<-src.Done()
	}, nil
}

var sourceStatusColumns = []types.Column{
	textCol("consumer"), textCol("shard_id"), textCol("state"),
	{Name: "records", Type: types.TypeBigInt}, {Name: "bytes", Type: types.TypeBigInt},
	{Name: "millis_behind_latest", Type: types.TypeBigInt},
	{Name: "throttles", Type: types.TypeBigInt}, {Name: "retries", Type: types.TypeBigInt},
	{Name: "decode_errors", Type: types.TypeBigInt}, {Name: "late_records", Type: types.TypeBigInt},
	textCol("last_sequence_number"), textCol("reader"), {Name: "get_records_calls", Type: types.TypeBigInt},
	textCol("last_decode_error"), textCol("last_decode_error_sequence_number"),
	{Name: "dead_letters", Type: types.TypeBigInt}, {Name: "dead_letters_lost", Type: types.TypeBigInt},
	// While calls fail (state 'retrying'): the last error and since when.
	textCol("last_error"), {Name: "error_since", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
}

// shardStatus is one shard's figures as one consumer of a Kinesis source
// sees them, and which readers it reads with (shared, backfill, own).
type shardStatus struct {
	consumer, reader string
	kinesis.ShardStats
}

// kinesisStatus returns the figures of every shard per consumer of the
// Kinesis source named source, in no order; SHOW SOURCE STATUS and the
// metrics both read them here.
func (h *sourceHubs) kinesisStatus(source string) []shardStatus {
	h.mu.Lock()
	subs := map[*kinesis.Subscription]string{}
	if hub := h.m[source]; hub != nil {
		for s, c := range hub.consumers {
			subs[s] = c
		}
	}
	own := map[*kinesis.Subscription]bool{}
	for s, c := range h.own[source] {
		subs[s], own[s] = c, true
	}
	h.mu.Unlock()
	var out []shardStatus
	for sub, consumer := range subs {
		reader := "shared"
		switch {
		case own[sub]:
			reader = "own"
		case !sub.Shared():
			reader = "backfill"
		}
		stats := sub.Stats()
		if len(stats) == 0 {
			// No shard listed yet: if listing them fails, say so.
			if err, since := sub.Trouble(); err != nil {
				stats = []kinesis.ShardStats{{State: kinesis.StateRetrying, LastError: err.Error(), ErrorSince: since}}
			}
		}
		for _, st := range stats {
			out = append(out, shardStatus{consumer: consumer, reader: reader, ShardStats: st})
		}
	}
	return out
}

// status returns one row per shard per consumer of source.
func (h *sourceHubs) status(source string) []types.Row {
	h.mu.Lock()
	files := map[*file.Reader]string{}
	for r, c := range h.files[source] {
		files[r] = c
	}
	var rows []types.Row
	for st, consumer := range h.gens[source] {
		rows = append(rows, st.row(consumer))
	}
	h.mu.Unlock()
	for r, consumer := range files {
		rows = append(rows, fileStatusRows(consumer, "own", r.Stats())...)
	}
	for _, st := range h.kinesisStatus(source) {
		shard, lastErr, errSince := textOrNull(st.ShardID), textOrNull(st.LastError), types.Null
		if st.LastError != "" {
			errSince = types.NewTimestampFromTime(st.ErrorSince)
		}
		rows = append(rows, types.Row{
			types.NewString(st.consumer), shard, types.NewString(st.State),
			types.NewInt(st.Records), types.NewInt(st.Bytes), types.NewInt(st.MillisBehindLatest),
			types.NewInt(st.Throttles), types.NewInt(st.Retries), types.NewInt(st.DecodeErrors),
			types.NewInt(st.LateRecords), types.NewString(st.LastSequenceNumber),
			types.NewString(st.reader), types.NewInt(st.Calls),
			textOrNull(st.LastDecodeError), textOrNull(st.LastDecodeErrorSequenceNumber),
			types.NewInt(st.DeadLetters), types.NewInt(st.DeadLettersLost), lastErr, errSince,
		})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a[0].Str() != b[0].Str() {
			return a[0].Str() < b[0].Str()
		}
		return a[1].Str() < b[1].Str()
	})
	return rows
}

// textOrNull is NULL for "", else the text: a figure that is not there yet.
func textOrNull(s string) types.Value {
	if s == "" {
		return types.Null
	}
	return types.NewString(s)
}
