package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/internal/emulator"
	"github.com/streamsql/streamsql/sql/types"
)

// The latency phase shared by the end-to-end modes of both scenarios
// (tumble in e2e.go, Nexmark in nexmark_e2e.go): records are produced at
// a steady rate into a fresh stream while SUBSCRIBE follows a view on a
// fresh engine, and each record's latency runs from its PutRecords
// acknowledgement to the arrival of the change that shows it.

// LatencyRun describes the latency phase of an end-to-end run.
type LatencyRun struct {
	// Events were timed; the WarmUp events before them were not.
	Events int `json:"events"`
	WarmUp int `json:"warm_up_events"`
	// Unseen counts events produced after the warm-up that no row of the
	// view shows (a filter drops them), so they were not timed.
	Unseen               int     `json:"unseen_events,omitempty"`
	RatePerSecond        int     `json:"rate_per_second"`
	PutEveryMs           float64 `json:"put_every_ms"`
	CheckpointIntervalMs float64 `json:"checkpoint_interval_ms"`
	Shards               int     `json:"shards,omitempty"`
	// KeyedBy says what the records' partition keys were.
	KeyedBy string `json:"keyed_by,omitempty"`
	// Visible says when an event counts as shown.
	Visible string  `json:"visible,omitempty"`
	P50Ms   float64 `json:"p50_ms"`
	P90Ms   float64 `json:"p90_ms"`
	P99Ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
	// View is the query the latency was measured on.
	View string `json:"view"`
	// CheckpointMinIntervalMs is the least spacing of the epochs cut early
	// for rows read from caught-up shards.
	CheckpointMinIntervalMs float64 `json:"checkpoint_min_interval_ms"`
}

// visibility says which changes of a subscription show which events.
// Each event has a key: the text of some of the view's columns (cols,
// rendered as valueText and joined by "|"), or "" when no row of the view
// shows it. Without count, each event is its own row and the key is that
// row's whole text: the k-th insert of a key shows the k-th event of that
// key. With count, the key names a group and count the column holding the
// group's number of events: a change whose count is n shows the first n
// events of the group. Both are exact only where the events of a key reach
// the view in the order they were produced, which keying the records so
// that a key's events share a shard gives.
type visibility struct {
	cols  []string
	count string
	keys  []string

	order      map[string][]int // events of each key, in production order
	next       map[string]int   // how many of them have shown (or were warm-up)
	idx        []int
	icount     int
	iop        int
	key        strings.Builder
	unexpected int
}

// start binds the subscription's columns; the first warm events were
// committed before the subscription began, so they are taken as shown.
func (v *visibility) start(warm int, cols []types.Column) error {
	at := map[string]int{}
	for i, c := range cols {
		at[c.Name] = i
	}
	var ok bool
	if v.iop, ok = at["op"]; !ok {
		return fmt.Errorf("latency: the subscription has no op column")
	}
	v.idx = v.idx[:0]
	for _, c := range v.cols {
		i, ok := at[c]
		if !ok {
			return fmt.Errorf("latency: the subscription has no column %q", c)
		}
		v.idx = append(v.idx, i)
	}
	if v.count != "" {
		if v.icount, ok = at[v.count]; !ok {
			return fmt.Errorf("latency: the subscription has no column %q", v.count)
		}
	}
	v.order, v.next = map[string][]int{}, map[string]int{}
	for i, k := range v.keys {
		if k == "" {
			continue
		}
		v.order[k] = append(v.order[k], i)
		if i < warm {
			v.next[k]++
		}
	}
	return nil
}

// see takes one change that arrived at at, stamps the events it shows in
// shown and returns how many it showed.
func (v *visibility) see(r []types.Value, at time.Time, shown []time.Time) (int, error) {
	if op := r[v.iop].Str(); op != "insert" && op != "update_insert" {
		return 0, nil
	}
	v.key.Reset()
	for j, i := range v.idx {
		if j > 0 {
			v.key.WriteByte('|')
		}
		v.key.WriteString(valueText(r[i]))
	}
	k := v.key.String()
	evs, from := v.order[k], v.next[k]
	to := from + 1
	if v.count != "" {
		to = int(r[v.icount].Int())
	}
	if to > len(evs) {
		return 0, fmt.Errorf("latency: the view shows %d events of %q, %d were produced", to, k, len(evs))
	}
	if to <= from {
		return 0, nil
	}
	for _, i := range evs[from:to] {
		shown[i] = at
	}
	v.next[k] = to
	return to - from, nil
}

// latencyPhase is one latency measurement.
type latencyPhase struct {
	// prefix names the stream, which is made fresh, of o.Shards shards.
	prefix string
	recs   []emulator.Record
	// source returns the CREATE SOURCE statement over the stream.
	source func(stream, endpoint string) string
	// name and view: the view to create and follow.
	name, view string
	vis        *visibility
	// check, run after the last FLUSH, must find the view's rows right.
	check   func(ctx context.Context, e *streamsql.Engine) error
	keyedBy string
	visible string
}

// timed is how many events after the warm-up a row of the view shows.
func (p *latencyPhase) timed(warm int) int {
	n := 0
	for _, k := range p.vis.keys[warm:] {
		if k != "" {
			n++
		}
	}
	return n
}

// warmUp is the number of events, the first second's, that are produced
// and committed before the subscription starts.
func warmUp(n int, o E2EOptions) int { return min(n, o.LatencyRate) }

// runLatency produces p.recs at o.LatencyRate records/s into a fresh
// stream while SUBSCRIBE follows p's view on a fresh engine, and returns
// the latencies of the events some change of the view shows. The first
// second's events are a warm-up, committed before SUBSCRIBE starts, and
// not timed.
func runLatency(ctx context.Context, emu *emulator.Emulator, client *kinesis.Client, p latencyPhase, o E2EOptions) (*LatencyRun, error) {
	recs := p.recs
	warm := warmUp(len(recs), o)
	timed := p.timed(warm)
	if timed == 0 {
		return nil, fmt.Errorf("e2e: none of the latency phase's %d events after the %d of warm-up (%d/s) shows in the view: nothing to time",
			len(recs)-warm, warm, o.LatencyRate)
	}
	stream := nextStream(p.prefix)
	if err := emu.CreateStream(ctx, stream, o.Shards); err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	e, done, err := openEngine(ctx, o)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := e.Exec(ctx, p.source(stream, emu.Endpoint())); err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	if err := e.Exec(ctx, p.view); err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	// The warm-up is committed before SUBSCRIBE starts: the view then has
	// a committed watermark, which keeps Subscribe off a path that reads
	// the view's state from the caller's goroutine while the view writes
	// it (a data race in the engine, reported).
	for i := 0; i < warm; i += o.PutBatch {
		if _, err := emulator.PutRecords(ctx, client, stream, recs[i:min(i+o.PutBatch, warm)]); err != nil {
			return nil, fmt.Errorf("e2e: produce: %w", err)
		}
	}
	if err := e.Exec(ctx, "FLUSH"); err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe returns once the subscription is started: every change
	// committed from here on reaches it.
	sub, err := e.Subscribe(subCtx, "SUBSCRIBE TO "+p.name+" WITH (SNAPSHOT = false)")
	if err != nil {
		return nil, fmt.Errorf("e2e: subscribe: %w", err)
	}
	if err := p.vis.start(warm, sub.Columns()); err != nil {
		sub.Close()
		return nil, err
	}
	var (
		mu       sync.Mutex
		shown    = make([]time.Time, len(recs))
		nShown   int
		allShown = make(chan struct{})
		subErr   error
		subDone  = make(chan struct{})
	)
	go func() {
		defer close(subDone)
		defer sub.Close()
		for sub.Next() {
			at := time.Now()
			mu.Lock()
			n, err := p.vis.see(sub.Row(), at, shown)
			nShown += n
			if n > 0 && nShown == timed {
				close(allShown)
			}
			mu.Unlock()
			if err != nil {
				subErr = err
				return
			}
		}
		if err := sub.Err(); err != nil && subCtx.Err() == nil {
			subErr = err
		}
	}()

	// Produce at a steady rate: a call every tick, each carrying what the
	// rate allows since the start, so a slow call is caught up on, not lost.
	acked := make([]time.Time, len(recs))
	start := time.Now()
	tick := time.NewTicker(o.LatencyTick)
	defer tick.Stop()
	for sent := warm; sent < len(recs); {
		due := min(len(recs), warm+int(float64(o.LatencyRate)*time.Since(start).Seconds())+1)
		for sent < due {
			end := min(due, sent+o.PutBatch)
			if _, err := emulator.PutRecords(ctx, client, stream, recs[sent:end]); err != nil {
				return nil, fmt.Errorf("e2e: produce: %w", err)
			}
			now := time.Now()
			for i := sent; i < end; i++ {
				acked[i] = now
			}
			sent = end
		}
		if sent == len(recs) {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// FLUSH for the answer; then wait for the last changes to reach the
	// subscription (they are released as their epochs commit).
	if err := e.Exec(ctx, "FLUSH"); err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	if p.check != nil {
		if err := p.check(ctx, e); err != nil {
			return nil, err
		}
	}
	wait := time.NewTimer(time.Minute)
	defer wait.Stop()
	select {
	case <-allShown:
	case <-subDone:
	case <-wait.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	cancel()
	<-subDone
	if subErr != nil {
		return nil, fmt.Errorf("e2e: subscription: %w", subErr)
	}

	lat := make([]float64, 0, timed)
	for i := warm; i < len(recs); i++ {
		if p.vis.keys[i] == "" {
			continue
		}
		if shown[i].IsZero() {
			return nil, fmt.Errorf("e2e: event %d (%q) never showed in SUBSCRIBE (%d of %d timed events did)", i, p.vis.keys[i], nShown, timed)
		}
		lat = append(lat, float64(shown[i].Sub(acked[i]))/float64(time.Millisecond))
	}
	slices.Sort(lat)
	return &LatencyRun{
		Events: len(lat), WarmUp: warm, Unseen: len(recs) - warm - len(lat),
		RatePerSecond: o.LatencyRate, PutEveryMs: float64(o.LatencyTick) / float64(time.Millisecond),
		CheckpointIntervalMs: float64(o.CheckpointInterval) / float64(time.Millisecond),
		Shards:               o.Shards, KeyedBy: p.keyedBy, Visible: p.visible,
		P50Ms: percentile(lat, 0.50), P90Ms: percentile(lat, 0.90), P99Ms: percentile(lat, 0.99), MaxMs: lat[len(lat)-1],
		View:                    p.view,
		CheckpointMinIntervalMs: float64(e.CheckpointMinInterval()) / float64(time.Millisecond),
	}, nil
}
