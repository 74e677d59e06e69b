package engine

import (
	"context"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/sql"
)

// TestCollectSource: one series per shard and consumer, labelled by
// source, shard and consumer only; two subscriptions of one consumer to a
// shard add their counts and keep the larger gauge; a consumer with no
// shard listed yet has no series.
func TestCollectSource(t *testing.T) {
	stats := []shardStatus{
		{consumer: "view v", reader: "shared", ShardStats: kinesis.ShardStats{ShardID: "shardId-0", Records: 5, Bytes: 50,
			MillisBehindLatest: 10, IteratorAgeMillis: 1500, Calls: 2}},
		{consumer: "view v", reader: "shared", ShardStats: kinesis.ShardStats{ShardID: "shardId-1", Records: 1, Bytes: 7,
			LastError: "throttled", Throttles: 3}},
		{consumer: "query", reader: "own", ShardStats: kinesis.ShardStats{ShardID: "shardId-0", Records: 2, Bytes: 20,
			IteratorAgeMillis: 250}},
		{consumer: "query", reader: "own", ShardStats: kinesis.ShardStats{ShardID: "shardId-0", Records: 3, Bytes: 30,
			IteratorAgeMillis: 750, DecodeErrors: 1}},
		{consumer: "sink s", reader: "shared", ShardStats: kinesis.ShardStats{State: kinesis.StateRetrying, LastError: "no stream"}},
	}
	ch := make(chan prometheus.Metric, 1000)
	collectSource(ch, "clicks", stats)
	close(ch)
	type key struct{ name, shard, consumer string }
	got := map[key]float64{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{}
		for _, lp := range pb.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		names := make([]string, 0, len(labels))
		for n := range labels {
			names = append(names, n)
		}
		slices.Sort(names)
		if strings.Join(names, ",") != "consumer,shard,source" || labels["source"] != "clicks" {
			t.Fatalf("%s: labels %v, want source=clicks, shard, consumer", m.Desc(), labels)
		}
		name := descName(m.Desc())
		k := key{name, labels["shard"], labels["consumer"]}
		if _, dup := got[k]; dup {
			t.Fatalf("%v collected twice", k)
		}
		got[k] = pb.GetCounter().GetValue() + pb.GetGauge().GetValue()
	}
	for k, want := range map[key]float64{
		{"streamsql_source_records_total", "shardId-0", "view v"}:           5,
		{"streamsql_source_bytes_total", "shardId-0", "view v"}:             50,
		{"streamsql_source_millis_behind_latest", "shardId-0", "view v"}:    10,
		{"streamsql_source_iterator_age_seconds", "shardId-0", "view v"}:    1.5,
		{"streamsql_source_get_records_calls_total", "shardId-0", "view v"}: 2,
		{"streamsql_source_shard_retrying", "shardId-0", "view v"}:          0,
		{"streamsql_source_shard_retrying", "shardId-1", "view v"}:          1,
		{"streamsql_source_throttles_total", "shardId-1", "view v"}:         3,
		{"streamsql_source_records_total", "shardId-0", "query"}:            5,
		{"streamsql_source_bytes_total", "shardId-0", "query"}:              50,
		{"streamsql_source_iterator_age_seconds", "shardId-0", "query"}:     0.75,
		{"streamsql_source_decode_errors_total", "shardId-0", "query"}:      1,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%v = %v (present %v), want %v", k, v, ok, want)
		}
	}
	// 12 metrics for each of three (shard, consumer) pairs; none for the
	// sink without shards.
	if len(got) != 3*12 {
		t.Errorf("%d series, want %d", len(got), 3*12)
	}
}

// TestCollectOperators: one series per graph node, labelled by view and
// operator ("INDEX WORD"); a source input named by its source; a node
// listed twice (a self-join's source) sent once, under its first index;
// the watermark only once there is one, the cache gauges only for an
// operator with a cache.
func TestCollectOperators(t *testing.T) {
	wm := time.Date(2026, 1, 1, 0, 0, 10, 500_000_000, time.UTC)
	p := &ViewProfile{View: "v", Operators: []OperatorProfile{
		{Node: 5, Line: "Materialize v", Kind: "operator", RowsIn: 4, RowsOut: 4, Busy: 1500 * time.Millisecond, Watermark: wm},
		{Node: 4, Line: "HashJoin on=a.k=b.k state=1", Kind: "operator", RowsIn: 6, RowsOut: 4,
			HasCache: true, CacheKeys: 3, CacheBytes: 300, CacheHits: 5, CacheMisses: 1},
		{Node: 0, Line: "Source clicks columns=k", Kind: "source", RowsOut: 3},
		{Node: 0, Line: "Source clicks columns=k", Kind: "source", RowsOut: 3},
	}}
	ch := make(chan prometheus.Metric, 100)
	collectOperators(ch, p)
	close(ch)
	type key struct{ name, operator string }
	got := map[key]float64{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{}
		for _, lp := range pb.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		if len(labels) != 2 || labels["view"] != "v" || labels["operator"] == "" {
			t.Fatalf("%s: labels %v, want view=v and operator", m.Desc(), labels)
		}
		k := key{descName(m.Desc()), labels["operator"]}
		if _, dup := got[k]; dup {
			t.Fatalf("%v collected twice", k)
		}
		got[k] = pb.GetCounter().GetValue() + pb.GetGauge().GetValue()
	}
	want := map[key]float64{
		{"streamsql_operator_rows_in_total", "0 Materialize"}:      4,
		{"streamsql_operator_rows_out_total", "0 Materialize"}:     4,
		{"streamsql_operator_busy_seconds_total", "0 Materialize"}: 1.5,
		{"streamsql_operator_watermark_seconds", "0 Materialize"}:  float64(wm.Unix()) + 0.5,
		{"streamsql_operator_rows_in_total", "1 HashJoin"}:         6,
		{"streamsql_operator_rows_out_total", "1 HashJoin"}:        4,
		{"streamsql_operator_busy_seconds_total", "1 HashJoin"}:    0,
		{"streamsql_operator_cache_keys", "1 HashJoin"}:            3,
		{"streamsql_operator_cache_bytes", "1 HashJoin"}:           300,
		{"streamsql_operator_cache_hits_total", "1 HashJoin"}:      5,
		{"streamsql_operator_cache_misses_total", "1 HashJoin"}:    1,
		{"streamsql_operator_rows_in_total", "2 clicks"}:           0,
		{"streamsql_operator_rows_out_total", "2 clicks"}:          3,
		{"streamsql_operator_busy_seconds_total", "2 clicks"}:      0,
	}
	for k, w := range want {
		if v, ok := got[k]; !ok || v != w {
			t.Errorf("%v = %v (present %v), want %v", k, v, ok, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %v = %v", k, got[k])
		}
	}
}

// descName is the metric name inside a Desc's text.
func descName(d *prometheus.Desc) string {
	s := d.String()
	_, after, _ := strings.Cut(s, `fqName: "`)
	name, _, _ := strings.Cut(after, `"`)
	return name
}

// TestMetrics_Gather: an engine's registry gathers without error and its
// own metrics are all named streamsql_*; the sessions of the embedding
// API's statements are closed when they end.
func TestMetrics_Gather(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	rows, err := e.Query(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if g := gaugeValue(t, e, "streamsql_sessions_open"); g != 1 {
		t.Errorf("sessions open with a query's rows open: %v, want 1", g)
	}
	rows.Close()
	if _, err := e.Query(ctx, "SELECT nonsense FROM"); err == nil {
		t.Fatal("a query that does not parse ran")
	}
	if g := gaugeValue(t, e, "streamsql_sessions_open"); g != 0 {
		t.Errorf("sessions open after every statement ended: %v, want 0", g)
	}
	mfs, err := e.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		seen[name] = true
		if !strings.HasPrefix(name, "streamsql_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("metric %s: not streamsql_*, go_* or process_*", name)
		}
	}
	for _, want := range []string{"streamsql_checkpoint_committed_epoch", "streamsql_statement_duration_seconds",
		"streamsql_sessions_open", "go_goroutines"} {
		if !seen[want] {
			t.Errorf("no %s", want)
		}
	}
	if ready, reasons := e.Health(); !ready {
		t.Errorf("a new engine is not ready: %v", reasons)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if ready, reasons := e.Health(); ready || len(reasons) != 1 || reasons[0] != "the engine is closed" {
		t.Errorf("a closed engine: ready %v, reasons %q", ready, reasons)
	}
	if got := statementKind(&sql.CreateView{}); got != "create_view" {
		t.Errorf("statementKind(CreateView) = %q", got)
	}
}

func gaugeValue(t *testing.T, e *Engine, name string) float64 {
	t.Helper()
	mfs, err := e.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no single %s", name)
	return 0
}

// TestMetrics_Documented: docs/observability.md lists every streamsql_*
// metric, and no other. The streamsql_cluster_* ones are the cluster
// member's: package cluster checks those.
func TestMetrics_Documented(t *testing.T) {
	doc, err := os.ReadFile("../docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(streamsql_[a-z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		if !strings.HasPrefix(m[1], "streamsql_cluster_") {
			documented[m[1]] = true
		}
	}
	ch := make(chan *prometheus.Desc, 100)
	statusCollector{}.Describe(ch)
	m := newEngineMetrics(nil)
	m.checkpoints.Describe(ch)
	m.checkpointBytes.Describe(ch)
	m.statements.Describe(ch)
	m.sessions.Describe(ch)
	close(ch)
	defined := map[string]bool{}
	for d := range ch {
		defined[descName(d)] = true
	}
	for name := range defined {
		if !documented[name] {
			t.Errorf("%s is not in docs/observability.md", name)
		}
	}
	for name := range documented {
		if !defined[name] {
			t.Errorf("docs/observability.md lists %s, which does not exist", name)
		}
	}
}

// BenchmarkMetricsScrape is one scrape of an engine with a view: gather
// and encode in the text format, what /metrics does.
func BenchmarkMetricsScrape(b *testing.B) {
	ctx := context.Background()
	e, err := Open(ctx, Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if err := e.Exec(ctx, "CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel TEXT, url TEXT, date_time TIMESTAMP(3), extra TEXT, "+
		"WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND) WITH (connector = 'nexmark', table = 'bid', max_events = 1000)"); err != nil {
		b.Fatal(err)
	}
	if err := e.Exec(ctx, "CREATE MATERIALIZED VIEW per_auction AS SELECT auction, COUNT(*) AS n FROM bid GROUP BY auction"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		mfs, err := e.Metrics().Gather()
		if err != nil {
			b.Fatal(err)
		}
		enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				b.Fatal(err)
			}
		}
	}
}
