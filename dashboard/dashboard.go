// Package dashboard owns the live dashboard served at / on the HTTP
// listener: the page itself (plain HTML, CSS and JavaScript embedded in the
// binary, charts drawn as inline SVG by the page's own script, nothing
// fetched from elsewhere), the JSON it polls (/api/overview), and the short
// history of samples behind its charts. What it shows comes from a Source,
// which the engine implements from the figures SHOW SOURCE STATUS, SHOW
// MATERIALIZED VIEWS, SHOW SINKS and EXPLAIN already produce.
//
// It imports nothing of ours: the engine depends on it for the Overview
// types, never the other way round.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"sync"
	"time"
)

// Source is what the dashboard reads: the engine's state now.
type Source interface {
	Overview(ctx context.Context) (Overview, error)
}

// Overview is everything the page shows at one moment.
type Overview struct {
	Sources     []SourceStatus `json:"sources"`
	Views       []View         `json:"views"`
	Sinks       []Sink         `json:"sinks"`
	Checkpoints Checkpoints    `json:"checkpoints"`
}

// SourceStatus is a source and its shard readers (SHOW SOURCE STATUS).
type SourceStatus struct {
	Name   string  `json:"name"`
	Shards []Shard `json:"shards"`
}

// Shard is one shard reader of a source: one row of SHOW SOURCE STATUS.
type Shard struct {
	Consumer           string `json:"consumer"`
	ShardID            string `json:"shard_id"`
	State              string `json:"state"`
	Reader             string `json:"reader"`
	Records            int64  `json:"records"`
	Bytes              int64  `json:"bytes"`
	MillisBehindLatest int64  `json:"millis_behind_latest"`
	DecodeErrors       int64  `json:"decode_errors"`
	LateRecords        int64  `json:"late_records"`
	LastError          string `json:"last_error,omitempty"`
}

// View is a materialized view: its row of SHOW MATERIALIZED VIEWS and the
// operator graph EXPLAIN prints for it.
type View struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// Since is when the view entered State.
	Since time.Time `json:"since,omitzero"`
	// Watermark is the committed watermark, nil for none yet.
	Watermark      *time.Time `json:"watermark,omitempty"`
	CommittedEpoch uint64     `json:"committed_epoch"`
	Graph          Graph      `json:"graph"`
}

// Graph is an operator graph: data flows along each edge From -> To.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node is one operator (or source) of a Graph; Label is its EXPLAIN line.
// Stats, when the engine has them (a running view's counters), are drawn
// in the node's box.
type Node struct {
	ID    int        `json:"id"`
	Label string     `json:"label"`
	Stats *NodeStats `json:"stats,omitempty"`
}

// NodeStats are an operator's counters since its pipeline started, and
// its rates over the last minute.
type NodeStats struct {
	RowsIn        int64   `json:"rows_in"`
	RowsOut       int64   `json:"rows_out"`
	RowsInPerSec  float64 `json:"rows_in_per_sec"`
	RowsOutPerSec float64 `json:"rows_out_per_sec"`
	// Watermark is the last input watermark the operator saw, nil before
	// one.
	Watermark *time.Time `json:"watermark,omitempty"`
	// CacheHitRatio is the share of the operator's cache lookups found in
	// its cache, nil for an operator without a cache or a lookup yet.
	CacheHitRatio *float64 `json:"cache_hit_ratio,omitempty"`
}

// Edge says that node To reads node From.
type Edge struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Sink is a sink: its row of SHOW SINKS and its writer's figures.
type Sink struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// Records sent and OutboxDepth (records waiting to be sent) are the
	// current writer's, zero between its lives.
	Records     int64 `json:"records"`
	OutboxDepth int64 `json:"outbox_depth"`
}

// Checkpoints summarises the checkpoints committed since the engine
// opened: how many, their durations' percentiles in milliseconds, and the
// bytes they wrote to the state store, in all and the last one's.
type Checkpoints struct {
	Count     int64   `json:"count"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	Bytes     int64   `json:"bytes"`
	LastBytes int64   `json:"last_bytes"`
}

// Sample is what the history keeps of one Overview: enough to chart each
// shard's throughput and lag and the checkpoints over time.
type Sample struct {
	At time.Time `json:"at"`
	// Shards is keyed "source/consumer/shard".
	Shards      map[string]ShardSample `json:"shards"`
	Checkpoints Checkpoints            `json:"checkpoints"`
}

// ShardSample is a shard reader's counters at a Sample.
type ShardSample struct {
	Records            int64 `json:"records"`
	MillisBehindLatest int64 `json:"millis_behind_latest"`
}

// Response is the body of /api/overview: the state now, and the samples
// of the last minutes, oldest first.
type Response struct {
	Now     time.Time `json:"now"`
	Current Overview  `json:"current"`
	History []Sample  `json:"history"`
}

// Options tune the history; the zero value takes the defaults.
type Options struct {
	// Interval is the least time between two samples (default 2s);
	// Keep is how many samples are kept (default 150: five minutes).
	Interval time.Duration
	Keep     int
	// OverviewTimeout bounds one read of the Source (default 5s).
	OverviewTimeout time.Duration
}

//go:embed static
var static embed.FS

// Handler serves the dashboard over src with the default Options.
func Handler(src Source) http.Handler { return NewHandler(src, Options{}) }

// NewHandler serves the page at / and its data at /api/overview.
//
// The history is sampled when /api/overview is read (at most once per
// Interval), not by a goroutine of its own: the handler then has no
// lifetime to manage, and an open page, which polls every two seconds,
// keeps it filled. What it charts is the minutes the page was open.
func NewHandler(src Source, opts Options) http.Handler {
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	if opts.Keep <= 0 {
		opts.Keep = 150
	}
	if opts.OverviewTimeout <= 0 {
		opts.OverviewTimeout = 5 * time.Second
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	h := &handler{src: src, opts: opts}
	mux := http.NewServeMux()
	mux.Handle("GET /api/overview", http.HandlerFunc(h.overview))
	mux.Handle("GET /", http.FileServerFS(files))
	return mux
}

type handler struct {
	src  Source
	opts Options

	mu      sync.Mutex
	history ring
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.OverviewTimeout)
	defer cancel()
	ov, err := h.src.Overview(ctx)
	if err != nil {
		http.Error(w, "reading the engine's status: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	now := time.Now()
	h.mu.Lock()
	h.history.add(sampleOf(now, ov), h.opts.Interval, h.opts.Keep)
	hist := h.history.list()
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// An error here is the client gone; there is no one left to tell.
	_ = json.NewEncoder(w).Encode(Response{Now: now, Current: ov, History: hist})
}

func sampleOf(at time.Time, ov Overview) Sample {
	s := Sample{At: at, Shards: map[string]ShardSample{}, Checkpoints: ov.Checkpoints}
	for _, src := range ov.Sources {
		for _, sh := range src.Shards {
			s.Shards[src.Name+"/"+sh.Consumer+"/"+sh.ShardID] = ShardSample{Records: sh.Records, MillisBehindLatest: sh.MillisBehindLatest}
		}
	}
	return s
}

// ring is a bounded history of samples at least an interval apart.
type ring struct {
	buf  []Sample
	next int // where the next sample goes once buf is full
}

func (r *ring) add(s Sample, interval time.Duration, keep int) {
	if n := len(r.buf); n > 0 {
		last := r.buf[(r.next+n-1)%n]
		if s.At.Sub(last.At) < interval {
			return
		}
	}
	if len(r.buf) < keep {
		r.buf = append(r.buf, s)
		return
	}
	r.buf[r.next] = s
	r.next = (r.next + 1) % keep
}

// list returns the samples oldest first.
func (r *ring) list() []Sample {
	out := make([]Sample, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}
