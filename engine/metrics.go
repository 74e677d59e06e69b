package engine

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/streamsql/streamsql/sql"
)

// Metrics returns the engine's Prometheus registry: the figures of SHOW
// SOURCE STATUS, SHOW MATERIALIZED VIEWS and SHOW SINKS, read when it is
// gathered (the hot path pays nothing for them), checkpoint durations,
// sessions and statement latencies, and the Go runtime's and the process's
// collectors. Serve it with promhttp.HandlerFor(e.Metrics(), ...);
// docs/observability.md lists the metrics.
func (e *Engine) Metrics() *prometheus.Registry { return e.metrics.reg }

// Health reports whether the engine is ready to serve: open, its catalog
// loaded (Open has returned) and every materialized view running or
// backfilling. When it is not, reasons says why, one line per cause.
func (e *Engine) Health() (ready bool, reasons []string) {
	// Not e.mu: Close holds it while views and sinks stop, which can take
	// a while, and a probe must not wait on it.
	if e.ctx.Err() != nil {
		return false, []string{"the engine is closed"}
	}
	for _, o := range e.catalog.list(sql.KindView) {
		st := e.views.status(o)
		if st.State == stateRunning || st.State == stateBackfilling {
			continue
		}
		reasons = append(reasons, fmt.Sprintf("materialized view %s is %s since %s: %s", o.entry.Name, st.State,
			st.Since.UTC().Format(time.RFC3339), st.errorText()))
	}
	return len(reasons) == 0, reasons
}

// engineMetrics are the engine's own instruments and its registry.
type engineMetrics struct {
	reg *prometheus.Registry
	// checkpoints is observed by the checkpoint coordinator for every
	// committed checkpoint, barrier injection to commit.
	checkpoints prometheus.Histogram
	// checkpointBytes is observed with the bytes of every committed
	// checkpoint's commit (state.CommitStats).
	checkpointBytes prometheus.Histogram
	// statements is observed for every statement, from Execute to the end
	// of its rows, by kind (statementKind).
	statements *prometheus.HistogramVec
	sessions   prometheus.Gauge
}

// latencyBuckets span a millisecond to about a minute.
var latencyBuckets = prometheus.ExponentialBuckets(0.001, 2, 17)

// sizeBuckets span a kilobyte to a gigabyte.
var sizeBuckets = prometheus.ExponentialBuckets(1<<10, 4, 11)

func newEngineMetrics(e *Engine) *engineMetrics {
	m := &engineMetrics{
		reg: prometheus.NewRegistry(),
		checkpoints: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamsql_checkpoint_duration_seconds",
			Help:    "Time from a checkpoint's barrier injection to its commit, of committed checkpoints.",
			Buckets: latencyBuckets,
		}),
		// Not streamsql_checkpoint_bytes: OpenMetrics names the family of
		// the counter streamsql_checkpoint_bytes_total that way.
		checkpointBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamsql_checkpoint_size_bytes",
			Help:    "Bytes each committed checkpoint wrote to the state store (keys and values).",
			Buckets: sizeBuckets,
		}),
		statements: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamsql_statement_duration_seconds",
			Help:    "Time from a statement's start to the end of its rows (or its error), by kind of statement.",
			Buckets: latencyBuckets,
		}, []string{"kind"}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamsql_sessions_open",
			Help: "Sessions open: pgwire connections and the embedding API's own.",
		}),
	}
	m.reg.MustRegister(m.checkpoints, m.checkpointBytes, m.statements, m.sessions, statusCollector{e},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// statementKind names the kind of a statement for the metrics' labels:
// its type in snake case (select, create_materialized_view, show_objects),
// a bounded set.
func statementKind(st sql.Statement) string {
	t := reflect.TypeOf(st)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "unknown"
	}
	var b strings.Builder
	for i, r := range t.Name() {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// The figures statusCollector reads at scrape time.
var (
	sourceLabels = []string{"source", "shard", "consumer"}

	descSourceRecords = prometheus.NewDesc("streamsql_source_records_total",
		"Records delivered to the consumer from the shard (after KPL de-aggregation).", sourceLabels, nil)
	descSourceBytes = prometheus.NewDesc("streamsql_source_bytes_total",
		"Bytes of record data delivered to the consumer from the shard.", sourceLabels, nil)
	descSourceCalls = prometheus.NewDesc("streamsql_source_get_records_calls_total",
		"GetRecords calls that succeeded on the shard, by the readers the consumer reads with.", sourceLabels, nil)
	descSourceThrottles = prometheus.NewDesc("streamsql_source_throttles_total",
		"Throttled calls on the shard (ProvisionedThroughputExceeded, LimitExceeded).", sourceLabels, nil)
	descSourceRetries = prometheus.NewDesc("streamsql_source_retries_total",
		"Calls on the shard retried after a 5xx, a network error, a timeout or an expired iterator.", sourceLabels, nil)
	descSourceDecodeErrors = prometheus.NewDesc("streamsql_source_decode_errors_total",
		"Records of the shard the consumer could not decode.", sourceLabels, nil)
	descSourceLate = prometheus.NewDesc("streamsql_source_late_records_total",
		"Records of the shard that arrived behind the consumer's watermark.", sourceLabels, nil)
	descSourceDeadLetters = prometheus.NewDesc("streamsql_source_dead_letters_total",
		"Skipped records written to the source's dead-letter stream.", sourceLabels, nil)
	descSourceDeadLettersLost = prometheus.NewDesc("streamsql_source_dead_letters_lost_total",
		"Skipped records the dead-letter stream could not take.", sourceLabels, nil)
	descSourceBehind = prometheus.NewDesc("streamsql_source_millis_behind_latest",
		"MillisBehindLatest of the shard's last GetRecords.", sourceLabels, nil)
	descSourceAge = prometheus.NewDesc("streamsql_source_iterator_age_seconds",
		"How long before the shard's last GetRecords with records its last record arrived in the stream; 0 once caught up.", sourceLabels, nil)
	descSourceRetrying = prometheus.NewDesc("streamsql_source_shard_retrying",
		"1 while the shard's calls fail and are retried, else 0.", sourceLabels, nil)

	descViewState = prometheus.NewDesc("streamsql_view_state",
		"1 for the materialized view's current state (running, backfilling, restarting, failed), 0 for the others.", []string{"view", "state"}, nil)
	descViewWatermark = prometheus.NewDesc("streamsql_view_watermark_seconds",
		"The view's committed watermark, unix time; absent until it has one.", []string{"view"}, nil)
	descViewEpoch = prometheus.NewDesc("streamsql_view_committed_epoch",
		"The last checkpoint epoch committed with the view's rows in it.", []string{"view"}, nil)
	descViewExprErrors = prometheus.NewDesc("streamsql_view_expression_errors_total",
		"Expression errors the view absorbed (NULL and count) since the engine started.", []string{"view"}, nil)

	operatorLabels = []string{"view", "operator"}

	descOperatorRowsIn = prometheus.NewDesc("streamsql_operator_rows_in_total",
		"Rows the operator received since the view's pipeline started.", operatorLabels, nil)
	descOperatorRowsOut = prometheus.NewDesc("streamsql_operator_rows_out_total",
		"Rows the operator (or source input) emitted since the view's pipeline started.", operatorLabels, nil)
	descOperatorBusy = prometheus.NewDesc("streamsql_operator_busy_seconds_total",
		"Time spent in the operator's callbacks since the view's pipeline started.", operatorLabels, nil)
	descOperatorWatermark = prometheus.NewDesc("streamsql_operator_watermark_seconds",
		"The last input watermark the operator saw, unix time; absent before its first.", operatorLabels, nil)
	descOperatorCacheKeys = prometheus.NewDesc("streamsql_operator_cache_keys",
		"Keys in the operator's in-memory cache, as of its last barrier (operators with a cache).", operatorLabels, nil)
	descOperatorCacheBytes = prometheus.NewDesc("streamsql_operator_cache_bytes",
		"Estimated bytes of the operator's in-memory cache, as of its last barrier (operators with a cache).", operatorLabels, nil)
	descOperatorCacheHits = prometheus.NewDesc("streamsql_operator_cache_hits_total",
		"Lookups the operator's in-memory cache answered, as of its last barrier (operators with a cache).", operatorLabels, nil)
	descOperatorCacheMisses = prometheus.NewDesc("streamsql_operator_cache_misses_total",
		"Lookups not in the operator's in-memory cache (read from state, or a new key), as of its last barrier.", operatorLabels, nil)
	descOperatorLate = prometheus.NewDesc("streamsql_operator_late_rows_total",
		"Rows an event-time operator (window aggregate, windowed join) dropped as late since the view's pipeline started.", operatorLabels, nil)

	descSinkState = prometheus.NewDesc("streamsql_sink_state",
		"1 for the sink's current state (running, backfilling, restarting, failed), 0 for the others.", []string{"sink", "state"}, nil)
	descSinkEpoch = prometheus.NewDesc("streamsql_sink_committed_epoch",
		"The last checkpoint epoch the sink committed (a sink over a query).", []string{"sink"}, nil)
	descSinkRecords = prometheus.NewDesc("streamsql_sink_records_total",
		"Records Kinesis accepted from the sink's current writer.", []string{"sink"}, nil)
	descSinkBytes = prometheus.NewDesc("streamsql_sink_bytes_total",
		"Bytes of records Kinesis accepted from the sink's current writer.", []string{"sink"}, nil)
	descSinkCalls = prometheus.NewDesc("streamsql_sink_put_records_calls_total",
		"PutRecords calls answered, of the sink's current writer.", []string{"sink"}, nil)
	descSinkRetries = prometheus.NewDesc("streamsql_sink_retries_total",
		"Entries sent again plus calls failed by a 5xx or the network, of the sink's current writer.", []string{"sink"}, nil)
	descSinkThrottles = prometheus.NewDesc("streamsql_sink_throttles_total",
		"Throttled calls plus throttled entries, of the sink's current writer.", []string{"sink"}, nil)
	descSinkOversize = prometheus.NewDesc("streamsql_sink_oversize_records_total",
		"Records over Kinesis's size limit, of the sink's current writer (on_oversize).", []string{"sink"}, nil)
	descSinkOutbox = prometheus.NewDesc("streamsql_sink_outbox_records",
		"Records waiting to be sent or in flight.", []string{"sink"}, nil)

	descCheckpointEpoch = prometheus.NewDesc("streamsql_checkpoint_committed_epoch",
		"The last checkpoint epoch committed.", nil, nil)
	descCheckpointBytes = prometheus.NewDesc("streamsql_checkpoint_bytes_total",
		"Bytes the committed checkpoints wrote to the state store (keys and values).", nil, nil)
)

// viewStates are the values of the state label, in SHOW's words.
var viewStates = []string{stateRunning, stateBackfilling, stateRestarting, stateFailed}

// statusCollector turns the engine's status, as SHOW shows it, into
// metrics when the registry is gathered.
type statusCollector struct{ e *Engine }

func (statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descSourceRecords, descSourceBytes, descSourceCalls, descSourceThrottles, descSourceRetries,
		descSourceDecodeErrors, descSourceLate, descSourceDeadLetters, descSourceDeadLettersLost,
		descSourceBehind, descSourceAge, descSourceRetrying,
		descViewState, descViewWatermark, descViewEpoch, descViewExprErrors,
		descOperatorRowsIn, descOperatorRowsOut, descOperatorBusy, descOperatorWatermark,
		descOperatorCacheKeys, descOperatorCacheBytes, descOperatorCacheHits, descOperatorCacheMisses, descOperatorLate,
		descSinkState, descSinkEpoch, descSinkRecords, descSinkBytes, descSinkCalls, descSinkRetries,
		descSinkThrottles, descSinkOversize, descSinkOutbox, descCheckpointEpoch, descCheckpointBytes,
	} {
		ch <- d
	}
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.e
	for _, o := range e.catalog.list(sql.KindSource) {
		collectSource(ch, o.entry.Name, e.sources.kinesisStatus(o.entry.Name))
	}
	for _, o := range e.catalog.list(sql.KindView) {
		st := e.views.status(o)
		name := o.entry.Name
		collectState(ch, descViewState, name, st.State)
		if st.HasWatermark {
			ch <- prometheus.MustNewConstMetric(descViewWatermark, prometheus.GaugeValue, float64(st.Watermark)/1e6, name)
		}
		ch <- prometheus.MustNewConstMetric(descViewEpoch, prometheus.GaugeValue, float64(st.Epoch), name)
		ch <- prometheus.MustNewConstMetric(descViewExprErrors, prometheus.CounterValue, float64(st.ExprErrors), name)
		// A view that is not running has no operators to report: the
		// error only says so (SHOW MATERIALIZED VIEWS says why).
		if p, err := e.ViewProfile(name); err == nil {
			collectOperators(ch, p)
		}
	}
	for _, o := range e.catalog.list(sql.KindSink) {
		st := e.sinkStatus(o)
		name := o.entry.Name
		collectState(ch, descSinkState, name, st.State)
		ch <- prometheus.MustNewConstMetric(descSinkEpoch, prometheus.GaugeValue, float64(st.Epoch), name)
		r := e.sinkRunner(name)
		if r == nil {
			continue
		}
		if w := r.writer.Load(); w != nil {
			s := w.Stats()
			for _, m := range []struct {
				d *prometheus.Desc
				v int64
			}{
				{descSinkRecords, s.Records}, {descSinkBytes, s.Bytes}, {descSinkCalls, s.Calls},
				{descSinkRetries, s.Retries}, {descSinkThrottles, s.Throttles}, {descSinkOversize, s.Oversize},
			} {
				ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v), name)
			}
			ch <- prometheus.MustNewConstMetric(descSinkOutbox, prometheus.GaugeValue, float64(s.Buffered), name)
		}
	}
	ch <- prometheus.MustNewConstMetric(descCheckpointEpoch, prometheus.GaugeValue, float64(e.views.committed.Load()))
	ch <- prometheus.MustNewConstMetric(descCheckpointBytes, prometheus.CounterValue, float64(e.db.CommitStats().Bytes))
}

// collectState sends the 0/1 gauge of every state, 1 for state.
func collectState(ch chan<- prometheus.Metric, d *prometheus.Desc, name, state string) {
	for _, s := range viewStates {
		v := 0.0
		if s == state {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name, s)
	}
}

// collectSource sends the figures of a source's shards per consumer. Two
// subscriptions of one consumer to one shard (two one-off queries, a view
// reading a source twice) share a label set: their counts are summed and
// their gauges are the larger.
func collectSource(ch chan<- prometheus.Metric, source string, stats []shardStatus) {
	type key struct{ shard, consumer string }
	type sum struct {
		records, bytes, calls, throttles, retries, decode, late, dead, lost int64
		behind, age                                                         int64
		retrying                                                            bool
	}
	sums := map[key]*sum{}
	var order []key
	for _, st := range stats {
		if st.ShardID == "" {
			continue // no shard listed yet
		}
		k := key{st.ShardID, st.consumer}
		s := sums[k]
		if s == nil {
			s = &sum{}
			sums[k] = s
			order = append(order, k)
		}
		s.records += st.Records
		s.bytes += st.Bytes
		s.calls += st.Calls
		s.throttles += st.Throttles
		s.retries += st.Retries
		s.decode += st.DecodeErrors
		s.late += st.LateRecords
		s.dead += st.DeadLetters
		s.lost += st.DeadLettersLost
		s.behind = max(s.behind, st.MillisBehindLatest)
		s.age = max(s.age, st.IteratorAgeMillis)
		s.retrying = s.retrying || st.LastError != ""
	}
	for _, k := range order {
		s := sums[k]
		labels := []string{source, k.shard, k.consumer}
		counter := func(d *prometheus.Desc, v int64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
		}
		counter(descSourceRecords, s.records)
		counter(descSourceBytes, s.bytes)
		counter(descSourceCalls, s.calls)
		counter(descSourceThrottles, s.throttles)
		counter(descSourceRetries, s.retries)
		counter(descSourceDecodeErrors, s.decode)
		counter(descSourceLate, s.late)
		counter(descSourceDeadLetters, s.dead)
		counter(descSourceDeadLettersLost, s.lost)
		ch <- prometheus.MustNewConstMetric(descSourceBehind, prometheus.GaugeValue, float64(s.behind), labels...)
		ch <- prometheus.MustNewConstMetric(descSourceAge, prometheus.GaugeValue, float64(s.age)/1000, labels...)
		retrying := 0.0
		if s.retrying {
			retrying = 1
		}
		ch <- prometheus.MustNewConstMetric(descSourceRetrying, prometheus.GaugeValue, retrying, labels...)
	}
}

// collectOperators sends the counters of a running view's operators,
// labelled by view and operator: the operator's index in p.Operators and
// the first word of its EXPLAIN line ("2 HashAgg"), or a source input's
// source name ("3 clicks"), bounded and stable for the view's plan. A node
// listed twice (a source scanned by both sides of a self-join) is sent
// once, under its first index.
func collectOperators(ch chan<- prometheus.Metric, p *ViewProfile) {
	seen := make(map[int]bool, len(p.Operators))
	for i, op := range p.Operators {
		if seen[op.Node] {
			continue
		}
		seen[op.Node] = true
		labels := []string{p.View, operatorLabel(i, op)}
		ch <- prometheus.MustNewConstMetric(descOperatorRowsIn, prometheus.CounterValue, float64(op.RowsIn), labels...)
		ch <- prometheus.MustNewConstMetric(descOperatorRowsOut, prometheus.CounterValue, float64(op.RowsOut), labels...)
		ch <- prometheus.MustNewConstMetric(descOperatorBusy, prometheus.CounterValue, op.Busy.Seconds(), labels...)
		if !op.Watermark.IsZero() {
			ch <- prometheus.MustNewConstMetric(descOperatorWatermark, prometheus.GaugeValue,
				float64(op.Watermark.UnixMicro())/1e6, labels...)
		}
		if op.HasCache {
			ch <- prometheus.MustNewConstMetric(descOperatorCacheKeys, prometheus.GaugeValue, float64(op.CacheKeys), labels...)
			ch <- prometheus.MustNewConstMetric(descOperatorCacheBytes, prometheus.GaugeValue, float64(op.CacheBytes), labels...)
			ch <- prometheus.MustNewConstMetric(descOperatorCacheHits, prometheus.CounterValue, float64(op.CacheHits), labels...)
			ch <- prometheus.MustNewConstMetric(descOperatorCacheMisses, prometheus.CounterValue, float64(op.CacheMisses), labels...)
		}
		if op.HasLate {
			ch <- prometheus.MustNewConstMetric(descOperatorLate, prometheus.CounterValue, float64(op.Late), labels...)
		}
	}
}

// operatorLabel is the operator label of p.Operators[i]; see
// collectOperators.
func operatorLabel(i int, op OperatorProfile) string {
	words := strings.Fields(op.Line)
	word := "?"
	if op.Kind == "source" && len(words) > 1 {
		word = words[1] // "Source NAME columns=..."
	} else if len(words) > 0 {
		word = words[0]
	}
	return fmt.Sprintf("%d %s", i, word)
}
