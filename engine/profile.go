package engine

import (
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// ViewProfile is a running view's operator graph with each operator's
// counters, and the lag of every shard it reads: what EXPLAIN ANALYZE
// prints, for metrics and the dashboard too.
type ViewProfile struct {
	View string
	// Operators are in EXPLAIN's order: the view's Materialize first, each
	// operator followed by the ones it reads. A node read twice (a source
	// scanned by both sides of a self-join) is listed under each reader,
	// with the same Node.
	Operators []OperatorProfile
	// Shards are the source shards the view reads, by source and shard.
	Shards []ShardLag
}

// OperatorProfile is one operator (or source input) of a view's graph.
// Counters count since the view's pipeline last started.
type OperatorProfile struct {
	// Node identifies the graph node (stable while the pipeline runs);
	// Parent is the index in ViewProfile.Operators of the operator that
	// reads this one (-1 for the root), Children the indexes of those it
	// reads, Depth its level in EXPLAIN.
	Node     int
	Parent   int
	Children []int
	Depth    int
	// Line is EXPLAIN's line for the operator; Kind is "operator" or
	// "source".
	Line string
	Kind string
	// RowsIn and RowsOut count rows received and emitted; the rates
	// average them over the last minute (exec.RateWindow).
	RowsIn, RowsOut             int64
	RowsInPerSec, RowsOutPerSec float64
	// Busy is the time spent in the operator's callbacks.
	Busy time.Duration
	// Watermark is the last input watermark it saw (zero before one).
	Watermark time.Time
	// CacheKeys and CacheBytes are what its in-memory cache holds, for
	// operators with one (HasCache); its state in Badger may hold more.
	// CacheHits and CacheMisses count its lookups found in the cache and
	// not (read from state, or a new key). All as of its last barrier.
	CacheKeys, CacheBytes  int64
	CacheHits, CacheMisses int64
	HasCache               bool
	// Late counts the rows the operator dropped as late, for the
	// event-time operators that drop them (HasLate).
	Late    int64
	HasLate bool
	// Expired counts the rows an interval join dropped from state once
	// the watermark passed their time (HasExpired).
	Expired    int64
	HasExpired bool
}

// CacheHitRatio is the share of the operator's cache lookups that found
// their key in the cache; ok is false without a cache or a lookup.
func (op OperatorProfile) CacheHitRatio() (ratio float64, ok bool) {
	n := op.CacheHits + op.CacheMisses
	if !op.HasCache || n == 0 {
		return 0, false
	}
	return float64(op.CacheHits) / float64(n), true
}

// ShardLag is one shard the view reads, from SHOW SOURCE STATUS.
type ShardLag struct {
	Source, ShardID, State, Reader string
	Records                        int64
	MillisBehindLatest             int64
}

// ViewProfile returns the profile of the running materialized view name
// (or sink over a query): 42P01 if there is none, 55000 if its pipeline
// is not running now.
func (e *Engine) ViewProfile(name string) (*ViewProfile, error) {
	o, ok := e.catalog.get(name)
	if !ok || o.kind == sql.KindSource {
		return nil, sqlerr.Newf(sqlerr.UndefinedTable, "materialized view %q does not exist", name)
	}
	e.views.mu.Lock()
	r := e.views.runners[o.entry.Name]
	e.views.mu.Unlock()
	if r == nil && e.cluster != nil {
		r = e.cluster.profiledPart(o) // in a cluster: a part running here (parts.go)
	}
	var l *viewLife
	if r != nil {
		l = r.life.Load()
	}
	if l == nil || l.graph == nil {
		return nil, sqlerr.Newf(sqlerr.ObjectNotInPrerequisiteState, "materialized view %s is not running", name).
			WithHint("SHOW MATERIALIZED VIEWS says why.")
	}
	stats := l.graph.Stats()
	byNode := make(map[exec.NodeID]*exec.NodeStats, len(stats))
	for i := range stats {
		byNode[stats[i].ID] = &stats[i]
	}
	inputLine := map[exec.NodeID]string{}
	for i, id := range l.inputNodes {
		inputLine[id] = r.obj.stream.InputLine(i)
	}
	p := &ViewProfile{View: o.entry.Name}
	var walk func(id exec.NodeID, parent, depth int)
	walk = func(id exec.NodeID, parent, depth int) {
		s := byNode[id]
		if s == nil {
			return
		}
		op := OperatorProfile{Node: int(id), Parent: parent, Depth: depth, Line: s.Name, Kind: "operator",
			RowsIn: s.RowsIn, RowsOut: s.RowsOut, RowsInPerSec: s.RowsInPerSec, RowsOutPerSec: s.RowsOutPerSec,
			Busy: s.Busy, CacheKeys: s.CacheKeys, CacheBytes: s.CacheBytes, HasCache: s.HasCache,
			CacheHits: s.CacheHits, CacheMisses: s.CacheMisses, Late: s.Late, HasLate: s.HasLate,
			Expired: s.Expired, HasExpired: s.HasExpired}
		if line, ok := inputLine[id]; ok {
			op.Line, op.Kind = line, "source"
		}
		if s.HasWatermark {
			op.Watermark = time.UnixMicro(s.Watermark).UTC()
		}
		at := len(p.Operators)
		p.Operators = append(p.Operators, op)
		if parent >= 0 {
			p.Operators[parent].Children = append(p.Operators[parent].Children, at)
		}
		for _, in := range s.Inputs {
			walk(in, at, depth+1)
		}
	}
	walk(l.root, -1, 0)

	consumer := r.consumer()
	for _, src := range r.srcs {
		for _, row := range e.sources.status(src.entry.Name) {
			// Columns as sourceStatusColumns: consumer, shard_id, state,
			// records, bytes, millis_behind_latest, ..., reader (11).
			if row[0].Str() != consumer || row[1].IsNull() {
				continue
			}
			p.Shards = append(p.Shards, ShardLag{Source: src.entry.Name, ShardID: row[1].Str(), State: row[2].Str(),
				Records: row[3].Int(), MillisBehindLatest: row[5].Int(), Reader: row[11].Str()})
		}
	}
	return p, nil
}

// explainAnalyzeLines renders p as EXPLAIN ANALYZE prints it.
func explainAnalyzeLines(p *ViewProfile) []string {
	var out []string
	for _, op := range p.Operators {
		var b strings.Builder
		b.WriteString(strings.Repeat("  ", op.Depth))
		b.WriteString(op.Line)
		b.WriteString(" (")
		if op.Kind != "source" {
			b.WriteString("rows_in=" + itoa(op.RowsIn) + " ")
		}
		b.WriteString("rows_out=" + itoa(op.RowsOut))
		if op.Kind == "source" {
			b.WriteString(" rows_out/s=" + rate(op.RowsOutPerSec))
		} else {
			b.WriteString(" rows_in/s=" + rate(op.RowsInPerSec) + " time=" + op.Busy.Round(time.Microsecond).String())
		}
		if op.HasCache {
			b.WriteString(" cache_keys=" + itoa(op.CacheKeys) + " cache_bytes=" + itoa(op.CacheBytes))
			if r, ok := op.CacheHitRatio(); ok {
				b.WriteString(" cache_hit_ratio=" + strconv.FormatFloat(r, 'f', 3, 64))
			}
		}
		if op.HasLate {
			b.WriteString(" late=" + itoa(op.Late))
		}
		if op.HasExpired {
			b.WriteString(" expired=" + itoa(op.Expired))
		}
		if !op.Watermark.IsZero() {
			b.WriteString(" watermark=" + types.FormatTimestamp(op.Watermark.UnixMicro()))
		}
		b.WriteString(")")
		out = append(out, b.String())
	}
	for _, s := range p.Shards {
		out = append(out, "Shard "+s.Source+"/"+s.ShardID+" (state="+s.State+" reader="+s.Reader+
			" records="+itoa(s.Records)+" millis_behind_latest="+itoa(s.MillisBehindLatest)+")")
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// rate prints rows per second with one decimal.
func rate(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
