package engine

import (
	"context"
	"strings"
	"time"

	"github.com/streamsql/streamsql/dashboard"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/types"
)

var _ dashboard.Source = (*Engine)(nil)

// Overview is the engine's state for the dashboard, read from what SHOW
// SOURCE STATUS, SHOW MATERIALIZED VIEWS, SHOW SINKS and EXPLAIN already
// produce, so the page and SQL never disagree.
func (e *Engine) Overview(ctx context.Context) (dashboard.Overview, error) {
	if err := ctx.Err(); err != nil {
		return dashboard.Overview{}, err
	}
	var ov dashboard.Overview
	snap := e.catalog.snapshot()
	for _, o := range snap.list(sql.KindSource) {
		ov.Sources = append(ov.Sources, dashboard.SourceStatus{Name: o.entry.Name, Shards: shardsOf(e.sources.status(o.entry.Name))})
	}
	for _, o := range snap.list(sql.KindView) {
		st := e.views.status(o)
		v := dashboard.View{Name: o.entry.Name, State: st.State, Error: st.errorText(), Since: st.Since, CommittedEpoch: st.Epoch}
		if st.HasWatermark {
			wm := time.UnixMicro(st.Watermark).UTC()
			v.Watermark = &wm
		}
		v.Graph = e.viewGraph(o)
		ov.Views = append(ov.Views, v)
	}
	for _, o := range snap.list(sql.KindSink) {
		st := e.sinkStatus(o)
		s := dashboard.Sink{Name: o.entry.Name, State: st.State, Error: st.errorText()}
		if r := e.sinkRunner(o.entry.Name); r != nil {
			if w := r.writer.Load(); w != nil {
				stats := w.Stats()
				s.Records, s.OutboxDepth = stats.Records, stats.Buffered
			}
		}
		ov.Sinks = append(ov.Sinks, s)
	}
	cs := e.CheckpointStats()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	ws := e.db.CommitStats()
	ov.Checkpoints = dashboard.Checkpoints{Count: cs.Count, P50Ms: ms(cs.P50), P99Ms: ms(cs.P99), MaxMs: ms(cs.Max),
		Bytes: ws.Bytes, LastBytes: ws.LastBytes}
	return ov, nil
}

// shardsOf reads the rows of SHOW SOURCE STATUS by column name.
func shardsOf(rows []types.Row) []dashboard.Shard {
	col := map[string]int{}
	for i, c := range sourceStatusColumns {
		col[c.Name] = i
	}
	str := func(r types.Row, name string) string {
		if v := r[col[name]]; !v.IsNull() {
			return v.Str()
		}
		return ""
	}
	num := func(r types.Row, name string) int64 { return r[col[name]].Int() }
	shards := make([]dashboard.Shard, 0, len(rows))
	for _, r := range rows {
		shards = append(shards, dashboard.Shard{
			Consumer: str(r, "consumer"), ShardID: str(r, "shard_id"), State: str(r, "state"), Reader: str(r, "reader"),
			Records: num(r, "records"), Bytes: num(r, "bytes"), MillisBehindLatest: num(r, "millis_behind_latest"),
			DecodeErrors: num(r, "decode_errors"), LateRecords: num(r, "late_records"), LastError: str(r, "last_error"),
		})
	}
	return shards
}

// viewGraph is view o's operator graph: a running view's with its
// operators' counters (EXPLAIN ANALYZE's profile), else the plan as EXPLAIN
// prints it.
func (e *Engine) viewGraph(o *object) dashboard.Graph {
	p, err := e.ViewProfile(o.entry.Name)
	if err != nil { // not running now: the plan without counters
		if o.stream == nil {
			return dashboard.Graph{}
		}
		return explainGraph(o.stream.Explain())
	}
	var g dashboard.Graph
	for i, op := range p.Operators {
		st := &dashboard.NodeStats{RowsIn: op.RowsIn, RowsOut: op.RowsOut, RowsInPerSec: op.RowsInPerSec, RowsOutPerSec: op.RowsOutPerSec}
		if !op.Watermark.IsZero() {
			wm := op.Watermark.UTC()
			st.Watermark = &wm
		}
		if r, ok := op.CacheHitRatio(); ok {
			st.CacheHitRatio = &r
		}
		g.Nodes = append(g.Nodes, dashboard.Node{ID: i, Label: op.Line, Stats: st})
		if op.Parent >= 0 {
			g.Edges = append(g.Edges, dashboard.Edge{From: i, To: op.Parent})
		}
	}
	return g
}

// explainGraph turns EXPLAIN's lines, each operator above the ones it
// reads and indented two spaces deeper than its reader, into a graph whose
// edges point the way data flows (from the operator read to its reader).
func explainGraph(lines []string) dashboard.Graph {
	var g dashboard.Graph
	var path []int // path[d] is the last node seen at depth d
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		depth := (len(line) - len(trimmed)) / 2
		g.Nodes = append(g.Nodes, dashboard.Node{ID: i, Label: trimmed})
		if depth > len(path) {
			depth = len(path) // a deeper jump than EXPLAIN makes: hang it under the last node
		}
		path = append(path[:depth], i)
		if depth > 0 {
			g.Edges = append(g.Edges, dashboard.Edge{From: i, To: path[depth-1]})
		}
	}
	return g
}
