package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/internal/emulator"
)

// TestHTTPListen_DefaultIsLoopback: metrics and the dashboard are not
// open to the network unless asked for.
func TestHTTPListen_DefaultIsLoopback(t *testing.T) {
	t.Setenv("STREAMSQL_HTTP_LISTEN", "") // restored at the end
	os.Unsetenv("STREAMSQL_HTTP_LISTEN")
	flags := func() string {
		fs := newFlagSet("serve", "", io.Discard)
		f := addServerFlags(fs, t.TempDir())
		if err := fs.parse(nil); err != nil {
			t.Fatal(err)
		}
		return *f.httpListen
	}
	got := flags()
	host, _, err := net.SplitHostPort(got)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("default --http-listen %q is not a loopback address", got)
	}
	os.Setenv("STREAMSQL_HTTP_LISTEN", "")
	if got := flags(); got != "" {
		t.Errorf("STREAMSQL_HTTP_LISTEN='' gave --http-listen %q, want off", got)
	}
}

// TestHTTPListen_BindError: an address in use is a startup error naming
// it and the flag.
func TestHTTPListen_BindError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	f := testServerFlags(t, busy.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = serve(ctx, f, slog.New(slog.NewTextHandler(io.Discard, nil)), func(*streamsql.Engine, listening) {
		t.Error("serve became ready with its HTTP address in use")
	})
	if err == nil || !strings.Contains(err.Error(), "--http-listen "+busy.Addr().String()) {
		t.Fatalf("serve with --http-listen in use: %v, want an error naming the flag and %s", err, busy.Addr())
	}
}

func TestLogFormat(t *testing.T) {
	for _, tc := range []struct {
		format, want string
		bad          bool
	}{
		{"text", `level=INFO msg=hello view=v1`, false},
		{"json", `"msg":"hello","view":"v1"}`, false},
		{"yaml", "", true},
	} {
		var b strings.Builder
		log, err := newLogger("info", tc.format, &b)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "--log-format") {
				t.Errorf("--log-format %s: %v, want an error naming the flag", tc.format, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("--log-format %s: %v", tc.format, err)
		}
		log.Info("hello", "view", "v1")
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("--log-format %s wrote %q, want it to contain %q", tc.format, b.String(), tc.want)
		}
	}
}

// testServerFlags are serve's flags for a test: free loopback ports, a
// temporary data directory, checkpoints every 200ms.
func testServerFlags(t *testing.T, httpListen string) serverFlags {
	listen, dataDir, level, format, password := "127.0.0.1:0", t.TempDir(), "info", "text", ""
	interval := 200 * time.Millisecond
	return serverFlags{listen: &listen, dataDir: &dataDir, logLevel: &level, logFormat: &format,
		password: &password, httpListen: &httpListen, checkpointInterval: &interval}
}

// TestHTTP_MetricsAndReadiness runs the server with its HTTP listener and
// a view over a kinesalite stream: /metrics, parsed with Prometheus's text
// parser, follows the records put (records read, iterator age, the view's
// watermark, checkpoints); /readyz turns 503 naming the view when the view
// fails on a record that does not decode, and 200 again once it recovers
// (the stream deleted and created again without that record).
func TestHTTP_MetricsAndReadiness(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	emu := emulator.StartForTest(ctx, t, emulator.Options{})
	const stream = "obs"
	if err := emu.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}

	f := testServerFlags(t, "127.0.0.1:0")
	serveCtx, stop := context.WithCancel(ctx)
	type started struct {
		eng *streamsql.Engine
		at  listening
	}
	ready := make(chan started, 1)
	served := make(chan error, 1)
	logs := &syncBuffer{}
	log, err := newLogger("info", "json", logs)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		served <- serve(serveCtx, f, log, func(e *streamsql.Engine, at listening) {
			ready <- started{e, at}
		})
	}()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("serve did not return within a minute of its context's end")
		}
	})
	var s started
	select {
	case s = <-ready:
	case err := <-served:
		t.Fatalf("serve: %v", err)
	case <-ctx.Done():
		t.Fatal("serve did not become ready")
	}
	if s.at.HTTP == nil {
		t.Fatal("no HTTP address with --http-listen set")
	}
	base := "http://" + s.at.HTTP.String()

	if code, body := httpGet(ctx, t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if err := s.eng.Exec(ctx, fmt.Sprintf("CREATE SOURCE obs_in (k BIGINT, ts TIMESTAMP(3), "+
		"WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (connector = 'kinesis', stream = '%s', region = 'us-east-1', "+
		"endpoint = '%s', start_position = 'trim_horizon', on_decode_error = 'fail')", stream, emu.Endpoint())); err != nil {
		t.Fatal(err)
	}
	if err := s.eng.Exec(ctx, "CREATE MATERIALIZED VIEW obs_counts AS SELECT k, COUNT(*) AS n FROM obs_in GROUP BY k"); err != nil {
		t.Fatal(err)
	}
	if code, body := httpGet(ctx, t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with a new view: %d %s", code, body)
	}

	// Two rounds of records, each with later event times: every figure
	// must follow.
	base0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var lastCheckpoints uint64
	var lastBytes float64
	for round, n := range []int{10, 15} {
		start := round * 100
		recs := make([]emulator.Record, n)
		for i := range recs {
			recs[i] = emulator.Record{PartitionKey: "k",
				Data: fmt.Appendf(nil, `{"k": %d, "ts": "%s"}`, i%3, base0.Add(time.Duration(start+i)*time.Second).Format(time.RFC3339))}
		}
		if _, err := emu.PutRecords(ctx, stream, recs); err != nil {
			t.Fatal(err)
		}
		wantRecords := float64(10 + 15*round)
		// The watermark: the latest event time less the 1s delay.
		wantWM := float64(base0.Add(time.Duration(start+n-1)*time.Second - time.Second).Unix())
		var m scrape
		pollUntil(t, time.Minute, func() string {
			m = scrapeMetrics(ctx, t, base+"/metrics")
			switch {
			case m.sum("streamsql_source_records_total", "source", "obs_in") != wantRecords:
				return fmt.Sprintf("records read %v, want %v", m.sum("streamsql_source_records_total", "source", "obs_in"), wantRecords)
			case m.value("streamsql_view_watermark_seconds", "view", "obs_counts") != wantWM:
				return fmt.Sprintf("watermark %v, want %v", m.value("streamsql_view_watermark_seconds", "view", "obs_counts"), wantWM)
			case m.histogramCount("streamsql_checkpoint_duration_seconds") <= lastCheckpoints:
				return "no checkpoint committed since the last round"
			}
			return ""
		})
		lastCheckpoints = m.histogramCount("streamsql_checkpoint_duration_seconds")
		// The view's operators: after FLUSH, its HashAgg has received every
		// record put and the source input emitted them all; the operator
		// labels are "INDEX WORD", the view's Materialize first.
		if err := s.eng.Exec(ctx, "FLUSH obs_counts"); err != nil {
			t.Fatal(err)
		}
		m = scrapeMetrics(ctx, t, base+"/metrics")
		ops := map[string]float64{} // operator label -> rows in
		for _, sr := range m.series("streamsql_operator_rows_in_total", "view", "obs_counts") {
			for _, lp := range sr.GetLabel() {
				if lp.GetName() == "operator" {
					ops[lp.GetValue()] = sr.GetCounter().GetValue()
				}
			}
		}
		var agg, src string
		for op := range ops {
			if !operatorLabelRE.MatchString(op) {
				t.Errorf("round %d: operator label %q, want INDEX WORD", round, op)
			}
			switch {
			case strings.HasSuffix(op, " HashAgg"):
				agg = op
			case strings.HasSuffix(op, " obs_in"):
				src = op
			}
		}
		if _, ok := ops["0 Materialize"]; !ok || agg == "" || src == "" {
			t.Fatalf("round %d: operators %v, want 0 Materialize, a HashAgg and the source obs_in", round, ops)
		}
		if ops[agg] != wantRecords {
			t.Errorf("round %d: %s rows in %v, want %v", round, agg, ops[agg], wantRecords)
		}
		if v := m.value("streamsql_operator_rows_out_total", "view", "obs_counts", "operator", src); v != wantRecords {
			t.Errorf("round %d: %s rows out %v, want %v", round, src, v, wantRecords)
		}
		if v := m.value("streamsql_operator_watermark_seconds", "view", "obs_counts", "operator", agg); v != wantWM {
			t.Errorf("round %d: %s watermark %v, want %v", round, agg, v, wantWM)
		}
		// Three keys (k = i%3) in the aggregate's cache.
		if v := m.value("streamsql_operator_cache_keys", "view", "obs_counts", "operator", agg); v != 3 {
			t.Errorf("round %d: %s cache keys %v, want 3", round, agg, v)
		}
		if v := m.value("streamsql_operator_cache_keys", "view", "obs_counts", "operator", src); v != -1 {
			t.Errorf("round %d: source input %s has a cache gauge %v", round, src, v)
		}
		// The round's records changed the aggregate's keys and the
		// source positions, which FLUSH's checkpoint committed: the
		// bytes written grow, and the per-checkpoint histogram has
		// them (observed before the epoch is published to FLUSH).
		if b := m.value("streamsql_checkpoint_bytes_total"); b <= lastBytes {
			t.Errorf("round %d: checkpoint bytes written %v after FLUSH, want more than %v", round, b, lastBytes)
		} else {
			lastBytes = b
		}
		if n := m.histogramCount("streamsql_checkpoint_size_bytes"); n == 0 {
			t.Errorf("round %d: no checkpoint size observed", round)
		}
		if e := m.value("streamsql_view_committed_epoch", "view", "obs_counts"); e <= 0 {
			t.Errorf("round %d: view committed epoch %v", round, e)
		}
		if e := m.value("streamsql_checkpoint_committed_epoch"); e < m.value("streamsql_view_committed_epoch", "view", "obs_counts") {
			t.Errorf("round %d: checkpoint committed epoch %v behind the view's", round, e)
		}
		ages := m.series("streamsql_source_iterator_age_seconds", "source", "obs_in")
		if len(ages) != 1 {
			t.Fatalf("round %d: iterator age series %v, want one (one shard, one consumer)", round, ages)
		}
		// Read within moments of the put on one machine: a generous bound
		// that a stale or garbage figure breaks.
		if age := ages[0].GetGauge().GetValue(); age < 0 || age > 60 {
			t.Errorf("round %d: iterator age %vs", round, age)
		}
		if v := m.value("streamsql_view_state", "view", "obs_counts", "state", "running"); v != 1 {
			t.Errorf("round %d: view running gauge %v", round, v)
		}
		if v := m.value("streamsql_sessions_open"); v < 0 {
			t.Errorf("sessions open %v", v)
		}
		if n := m.histogramCount("streamsql_statement_duration_seconds", "kind", "create_view"); n != 1 {
			t.Errorf("CREATE MATERIALIZED VIEW statements observed: %d, want 1", n)
		}
		for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
			if _, ok := m[name]; !ok {
				t.Errorf("no %s: the Go and process collectors are missing", name)
			}
		}
	}

	// A record that does not decode fails the view (on_decode_error 'fail').
	if _, err := emu.PutRecords(ctx, stream, []emulator.Record{{PartitionKey: "k", Data: []byte(`{"k": "one", "ts": "2026-01-01T01:00:00Z"}`)}}); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, time.Minute, func() string {
		code, body := httpGet(ctx, t, base+"/readyz")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "materialized view obs_counts is ") {
			return fmt.Sprintf("/readyz %d %q", code, body)
		}
		return ""
	})
	t.Logf("/readyz 503 after the bad record")
	// --log-format json: every line an object; the view's failure is
	// logged with the view's name.
	named := false
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line not JSON: %q: %v", line, err)
		}
		if rec["level"] == "ERROR" && rec["view"] == "obs_counts" {
			named = true
		}
	}
	if !named {
		t.Errorf("no ERROR log line with view=obs_counts after the view failed:\n%s", logs.String())
	}
	m := scrapeMetrics(ctx, t, base+"/metrics")
	if m.value("streamsql_view_state", "view", "obs_counts", "state", "running") != 0 ||
		m.value("streamsql_view_state", "view", "obs_counts", "state", "restarting")+
			m.value("streamsql_view_state", "view", "obs_counts", "state", "failed") != 1 {
		t.Errorf("view state gauges of a failing view: %v", m.series("streamsql_view_state", "view", "obs_counts"))
	}

	// The stream deleted and created again without the bad record: the
	// view reads the new stream from its start and recovers by itself.
	client, err := emu.Client()
	if err != nil {
		t.Fatal(err)
	}
	old, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, time.Minute, func() string {
		_, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if nf := (*ktypes.ResourceNotFoundException)(nil); !errors.As(err, &nf) {
			return fmt.Sprintf("stream not deleted yet: %v", err)
		}
		return ""
	})
	// kinesalite's sequence numbers have whole seconds: a stream created
	// in the second of the old one's creation would be the old one.
	created := aws.ToTime(old.StreamDescriptionSummary.StreamCreationTimestamp)
	pollUntil(t, 10*time.Second, func() string {
		if time.Now().Add(-2*time.Second).Unix() <= created.Unix() {
			return "within the old stream's creation second"
		}
		return ""
	})
	if err := emu.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.PutRecords(ctx, stream, []emulator.Record{{PartitionKey: "k", Data: []byte(`{"k": 1, "ts": "2026-01-01T02:00:00Z"}`)}}); err != nil {
		t.Fatal(err)
	}
	// Restarts back off up to a minute: two minutes is a bound only a
	// stuck view breaks.
	pollUntil(t, 2*time.Minute, func() string {
		if code, body := httpGet(ctx, t, base+"/readyz"); code != http.StatusOK {
			return fmt.Sprintf("/readyz %d %q", code, body)
		}
		return ""
	})
	t.Logf("/readyz 200 after the stream was created again")
}

// operatorLabelRE is the form of the operator label: index and word.
var operatorLabelRE = regexp.MustCompile(`^[0-9]+ [A-Za-z_][A-Za-z0-9_]*$`)

// syncBuffer is a buffer the server's goroutines log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pollUntil polls cond until it returns "" or d passes; then it fails with
// cond's last answer.
func pollUntil(t *testing.T, d time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpGet(ctx context.Context, t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// scrape is a parsed /metrics, by metric name.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(ctx context.Context, t *testing.T, url string) scrape {
	t.Helper()
	code, body := httpGet(ctx, t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", url, err, body)
	}
	return m
}

// series returns the metrics of name whose labels include labels (name,
// value pairs).
func (s scrape) series(name string, labels ...string) []*dto.Metric {
	var out []*dto.Metric
	mf := s[name]
	if mf == nil {
		return nil
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// sum adds the counter or gauge values of the matching series.
func (s scrape) sum(name string, labels ...string) float64 {
	var v float64
	for _, m := range s.series(name, labels...) {
		v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return v
}

// value is the value of the one matching series, -1 when there is none.
func (s scrape) value(name string, labels ...string) float64 {
	if len(s.series(name, labels...)) == 0 {
		return -1
	}
	return s.sum(name, labels...)
}

func (s scrape) histogramCount(name string, labels ...string) uint64 {
	var n uint64
	for _, m := range s.series(name, labels...) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}
