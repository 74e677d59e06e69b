package exec

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamsql/streamsql/sql/types"
)

// The streaming runtime: a Graph of operators, one goroutine each, joined
// by bounded channels of Message. The runtime owns the channels, batching
// of emitted rows, watermark propagation, barrier alignment and
// cancellation; operators only see their callbacks (see Operator).

// NodeID names a node of a Graph: an operator, an input fed from outside,
// or an observer.
type NodeID int

// GraphOptions tunes a Graph.
type GraphOptions struct {
	// BatchSize is how many rows an operator's output gathers before it
	// sends a batch on; 0 means DefaultBatchSize. Tests randomise it.
	BatchSize int
	// EdgeCapacity is how many messages an edge holds before its sender
	// blocks; 0 means DefaultEdgeCapacity.
	EdgeCapacity int
	// StartEpoch is an epoch no later than any this graph's barriers will
	// carry, and no earlier than any its state was committed in: operators
	// get it in OpContext.Epoch.
	StartEpoch uint64
}

// Defaults of GraphOptions.
const (
	DefaultBatchSize    = 1024
	DefaultEdgeCapacity = 4
)

// EpochSealer is implemented by state tables that buffer writes per epoch
// (state.Table): the runtime seals an operator's table after its OnBarrier,
// so that the epoch's writes can be committed while the operator goes on.
// An error fails the operator, so the epoch is never committed.
type EpochSealer interface {
	SealEpoch(epoch uint64) error
}

// Graph is a DAG of operators. Build it with Add, Input and Observe, then
// Start it once and Wait for it.
type Graph struct {
	opts    GraphOptions
	nodes   []*node
	started bool

	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

type nodeKind uint8

const (
	nodeOp nodeKind = iota
	nodeFeed
	nodeObserver
)

type node struct {
	kind    nodeKind
	name    string
	op      Operator
	state   StateTable
	inputs  []NodeID
	observe func(Message) error

	in   []chan Message // one per input, made at Start
	outs []chan Message // one per downstream consumer

	stats *nodeCounters // see stats.go
}

// NewGraph returns an empty graph.
func NewGraph(opts GraphOptions) *Graph {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.EdgeCapacity <= 0 {
		opts.EdgeCapacity = DefaultEdgeCapacity
	}
	return &Graph{opts: opts}
}

// Add adds operator op reading from inputs (its input i is inputs[i]) and
// returns its id. A node may feed several others: each gets every message,
// sharing batches and rows, which nobody changes once emitted.
func (g *Graph) Add(name string, op Operator, inputs ...NodeID) NodeID {
	g.nodes = append(g.nodes, &node{kind: nodeOp, name: name, op: op, inputs: inputs, stats: newNodeCounters()})
	return NodeID(len(g.nodes) - 1)
}

// SetState gives node id the state table it receives in OpContext.State.
func (g *Graph) SetState(id NodeID, st StateTable) { g.nodes[id].state = st }

// Input adds a node fed from outside the graph (a source) and returns it
// with its Feed.
func (g *Graph) Input(name string) (NodeID, *Feed) {
	g.nodes = append(g.nodes, &node{kind: nodeFeed, name: name, stats: newNodeCounters()})
	id := NodeID(len(g.nodes) - 1)
	return id, &Feed{g: g, n: g.nodes[id]}
}

// Observe calls fn with every message that node from sends, in order, on a
// goroutine of its own; an error from fn fails the graph. Sinks, SUBSCRIBE
// and tests read a graph's output this way.
func (g *Graph) Observe(from NodeID, fn func(Message) error) {
	g.nodes = append(g.nodes, &node{kind: nodeObserver, name: "observe", inputs: []NodeID{from}, observe: fn, stats: newNodeCounters()})
}

// Start connects the nodes and starts a goroutine per operator and
// observer. It returns an error for a malformed graph; runtime errors come
// from Wait.
func (g *Graph) Start(ctx context.Context) error {
	if g.started {
		return errors.New("graph already started")
	}
	for i, n := range g.nodes {
		n.in = make([]chan Message, len(n.inputs))
		for j, from := range n.inputs {
			if from < 0 || int(from) >= len(g.nodes) || g.nodes[from].kind == nodeObserver {
				return fmt.Errorf("node %d (%s): input %d is not a node that produces", i, n.name, j)
			}
			if int(from) >= i {
				return fmt.Errorf("node %d (%s): input %d comes from a later node; add nodes in order", i, n.name, j)
			}
			ch := make(chan Message, g.opts.EdgeCapacity)
			n.in[j] = ch
			up := g.nodes[from]
			up.outs = append(up.outs, ch)
		}
		if n.kind == nodeOp && len(n.inputs) == 0 {
			return fmt.Errorf("node %d (%s) has no input", i, n.name)
		}
	}
	g.started = true
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	for _, n := range g.nodes {
		switch n.kind {
		case nodeOp:
			g.spawn(n, func() error { return g.runOp(n) })
		case nodeObserver:
			g.spawn(n, func() error { return g.runObserver(n) })
		}
	}
	return nil
}

func (g *Graph) spawn(n *node, run func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		// A panic in an operator is the graph's failure, not the
		// process's: the view that owns the graph is marked failed and
		// restarts, every other view and session goes on.
		if err := runRecovered(n.name, run); err != nil {
			g.fail(err)
		}
	}()
}

func runRecovered(node string, run func() error) (err error) {
	defer Recover(node, &err)
	return run()
}

// Recover, deferred by a goroutine that runs a view's work, turns a panic
// of that goroutine into *errp, a PanicError naming node.
func Recover(node string, errp *error) {
	if p := recover(); p != nil {
		*errp = &PanicError{Node: node, Value: p, Stack: debug.Stack()}
	}
}

// PanicError is an operator's panic, recovered by the runtime. Stack is
// where it happened, for the one log line that reports it.
type PanicError struct {
	Node  string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error: operator %s panicked: %v", e.Node, e.Value)
}

// fail records the first error and cancels the graph.
func (g *Graph) fail(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	g.cancel(err)
}

// Wait waits until every node has stopped: because every input was closed
// and drained, because an operator failed (its error, wrapped with its name,
// is returned) or because the context was cancelled.
func (g *Graph) Wait() error {
	if !g.started {
		return errors.New("graph not started")
	}
	g.wg.Wait()
	g.cancel(nil)
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Feed sends messages into an input node of a running graph. Send and
// Close must not be called concurrently.
type Feed struct {
	g      *Graph
	n      *node
	closed bool
}

// Send delivers m to every consumer of the input, waiting while their
// edges are full. It fails when ctx or the graph is cancelled. The batch of
// m belongs to the graph from then on.
func (f *Feed) Send(ctx context.Context, m Message) error {
	if !f.g.started {
		return errors.New("feed: graph not started")
	}
	if f.closed {
		return errors.New("feed: send after close")
	}
	switch c := f.n.stats; m.Kind {
	case KindBatch:
		if m.Batch != nil {
			c.tick(time.Now())
			c.rowsOut.Add(int64(m.Batch.Len()))
		}
	case KindWatermark:
		c.wm.Store(m.Watermark.Micros)
	}
	for _, ch := range f.n.outs {
		select {
		case ch <- m:
		case <-ctx.Done():
			return ctx.Err()
		case <-f.g.ctx.Done():
			return context.Cause(f.g.ctx)
		}
	}
	return nil
}

// Close ends the input: its consumers see the end of their input.
func (f *Feed) Close() {
	if f.closed {
		return
	}
	f.closed = true
	for _, ch := range f.n.outs {
		close(ch)
	}
}

func (g *Graph) runObserver(n *node) error {
	in := n.in[0]
	for {
		select {
		case m, ok := <-in:
			if !ok {
				return nil
			}
			if err := n.observe(m); err != nil {
				return fmt.Errorf("observer of %s: %w", g.nodes[n.inputs[0]].name, err)
			}
		case <-g.ctx.Done():
			return context.Cause(g.ctx)
		}
	}
}

// output is an operator's Output: it gathers emitted rows into batches and
// sends each to every downstream edge.
type output struct {
	ctx  context.Context
	outs []chan Message
	size int
	cur  *Batch
	err  error
	rows *atomic.Int64 // counts the rows sent
}

func (o *output) Emit(op Op, row types.Row) {
	if o.cur == nil {
		o.cur = NewBatch(o.size)
	}
	o.cur.Append(op, row)
	// An update pair stays in one batch, so an operator that looks at both
	// halves (Filter) always finds them together.
	if o.cur.Len() >= o.size && op != UpdateDelete {
		o.flush()
	}
}

// flush sends the batch gathered so far.
func (o *output) flush() {
	if o.cur == nil || o.cur.Len() == 0 {
		return
	}
	o.rows.Add(int64(o.cur.Len()))
	if len(o.outs) == 0 {
		o.cur.Reset() // nobody reads this node: reuse the batch
		return
	}
	m := Message{Kind: KindBatch, Batch: o.cur}
	o.cur = nil
	o.send(m)
}

func (o *output) send(m Message) {
	if o.err != nil {
		return
	}
	for _, ch := range o.outs {
		select {
		case ch <- m:
		case <-o.ctx.Done():
			o.err = context.Cause(o.ctx)
			return
		}
	}
}

// inMsg is a message tagged with the input it came on; closed marks the
// end of that input.
type inMsg struct {
	input  int
	m      Message
	closed bool
}

// opRun is the state of one operator's goroutine.
type opRun struct {
	g    *Graph
	n    *node
	out  *output
	wms  []int64 // per input
	done []bool  // input ended
	// deaf marks the inputs whose watermark the operator does not wait
	// for (watermarkDeaf).
	deaf []bool
	wm   int64 // last watermark passed to the operator

	// Barrier alignment: the epoch being aligned, which inputs delivered it
	// (their later messages are held back by their forwarders until resumed).
	aligning bool
	epoch    uint64
	arrived  []bool
	nArrived int
	resume   []chan struct{}
}

func (g *Graph) runOp(n *node) (err error) {
	ctx := g.ctx
	r := &opRun{
		g:    g,
		n:    n,
		out:  &output{ctx: ctx, outs: n.outs, size: g.opts.BatchSize, rows: &n.stats.rowsOut},
		wms:  make([]int64, len(n.in)),
		done: make([]bool, len(n.in)),
		wm:   math.MinInt64,
	}
	for i := range r.wms {
		r.wms[i] = math.MinInt64
	}
	if d, ok := n.op.(watermarkDeaf); ok {
		r.deaf = make([]bool, len(n.in))
		for i := range r.deaf {
			r.deaf[i] = d.IgnoresWatermark(i)
		}
	}
	if err := n.op.Open(ctx, &OpContext{Name: n.name, State: n.state, Epoch: g.opts.StartEpoch}); err != nil {
		return fmt.Errorf("operator %s: open: %w", n.name, err)
	}
	defer func() {
		if cerr := n.op.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("operator %s: close: %w", n.name, cerr)
		}
	}()
	if len(n.in) == 1 {
		err = r.loopOne(ctx)
	} else {
		err = r.loopMany(ctx)
	}
	if err != nil {
		return err
	}
	for _, ch := range n.outs {
		close(ch)
	}
	return nil
}

// loopOne serves an operator with one input: no forwarders, no alignment.
func (r *opRun) loopOne(ctx context.Context) error {
	in := r.n.in[0]
	for {
		select {
		case m, ok := <-in:
			if !ok {
				return nil
			}
			if err := r.handle(ctx, 0, m); err != nil {
				return err
			}
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// loopMany serves several inputs through one forwarder goroutine each; a
// forwarder that passed a barrier waits to be resumed, which is how input
// i's messages after barrier N are held until every input delivered N.
func (r *opRun) loopMany(ctx context.Context) error {
	k := len(r.n.in)
	merged := make(chan inMsg, k)
	r.arrived = make([]bool, k)
	r.resume = make([]chan struct{}, k)
	var fwd sync.WaitGroup
	defer fwd.Wait()
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	for i, in := range r.n.in {
		r.resume[i] = make(chan struct{}, 1)
		fwd.Add(1)
		go func() {
			defer fwd.Done()
			forward(fctx, i, in, merged, r.resume[i])
		}()
	}
	open := k
	for open > 0 {
		select {
		case im := <-merged:
			if im.closed {
				open--
				if err := r.inputEnded(ctx, im.input); err != nil {
					return err
				}
				continue
			}
			if err := r.handle(ctx, im.input, im.m); err != nil {
				return err
			}
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

func forward(ctx context.Context, i int, in <-chan Message, merged chan<- inMsg, resume <-chan struct{}) {
	for {
		var im inMsg
		select {
		case m, ok := <-in:
			im = inMsg{input: i, m: m, closed: !ok}
		case <-ctx.Done():
			return
		}
		select {
		case merged <- im:
		case <-ctx.Done():
			return
		}
		if im.closed {
			return
		}
		if im.m.Kind == KindBarrier {
			select {
			case <-resume:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (r *opRun) handle(ctx context.Context, input int, m Message) error {
	n := r.n
	switch m.Kind {
	case KindBatch:
		if m.Batch == nil || m.Batch.Len() == 0 {
			return nil
		}
		began := r.begin()
		n.stats.rowsIn.Add(int64(m.Batch.Len()))
		if err := n.op.Process(ctx, input, m.Batch, r.out); err != nil {
			return fmt.Errorf("operator %s: %w", n.name, err)
		}
		r.spent(began)
		r.out.flush()
		return r.out.err
	case KindWatermark:
		if m.Watermark.Micros > r.wms[input] {
			r.wms[input] = m.Watermark.Micros
			if iw, ok := n.op.(inputWatermarker); ok {
				iw.OnInputWatermark(input, m.Watermark.Micros)
			}
		}
		return r.advanceWatermark(ctx)
	case KindBarrier:
		if len(n.in) == 1 {
			return r.passBarrier(ctx, m.Barrier)
		}
		if r.aligning && m.Barrier.Epoch != r.epoch {
			return fmt.Errorf("operator %s: inputs disagree on the barrier: epochs %d and %d",
				n.name, min(m.Barrier.Epoch, r.epoch), max(m.Barrier.Epoch, r.epoch))
		}
		r.aligning, r.epoch = true, m.Barrier.Epoch
		r.arrived[input] = true
		r.nArrived++
		return r.maybeAligned(ctx)
	}
	return fmt.Errorf("operator %s: message of unknown kind %d", n.name, m.Kind)
}

// inputEnded accounts for an input that closed: it holds back neither the
// watermark nor barrier alignment any more.
func (r *opRun) inputEnded(ctx context.Context, input int) error {
	r.done[input] = true
	if err := r.advanceWatermark(ctx); err != nil {
		return err
	}
	if r.aligning {
		return r.maybeAligned(ctx)
	}
	return nil
}

func (r *opRun) maybeAligned(ctx context.Context) error {
	open := 0
	for i := range r.done {
		if !r.done[i] {
			open++
		}
	}
	if r.nArrived < open {
		return nil
	}
	if err := r.passBarrier(ctx, Barrier{Epoch: r.epoch}); err != nil {
		return err
	}
	r.aligning, r.nArrived = false, 0
	for i := range r.arrived {
		if r.arrived[i] {
			r.arrived[i] = false
			r.resume[i] <- struct{}{}
		}
	}
	return nil
}

// advanceWatermark passes the minimum over open inputs to the operator and
// downstream when it grew.
func (r *opRun) advanceWatermark(ctx context.Context) error {
	wm, found := int64(math.MaxInt64), false
	for i, w := range r.wms {
		if !r.done[i] && (r.deaf == nil || !r.deaf[i]) {
			wm, found = min(wm, w), true
		}
	}
	if !found || wm <= r.wm {
		return nil
	}
	r.wm = wm
	r.n.stats.wm.Store(wm)
	r.out.flush()
	began := r.begin()
	if err := r.n.op.OnWatermark(ctx, Watermark{Micros: wm}, r.out); err != nil {
		return fmt.Errorf("operator %s: watermark: %w", r.n.name, err)
	}
	r.spent(began)
	r.out.flush()
	r.out.send(Message{Kind: KindWatermark, Watermark: Watermark{Micros: wm}})
	return r.out.err
}

func (r *opRun) passBarrier(ctx context.Context, b Barrier) error {
	r.out.flush()
	began := r.begin()
	if err := r.n.op.OnBarrier(ctx, b, r.out); err != nil {
		return fmt.Errorf("operator %s: barrier %d: %w", r.n.name, b.Epoch, err)
	}
	if cr, ok := r.n.op.(cacheReporter); ok {
		cs := cr.cacheStats()
		r.n.stats.cacheBytes.Store(cs.bytes)
		r.n.stats.cacheHits.Store(cs.hits)
		r.n.stats.cacheMisses.Store(cs.misses)
		r.n.stats.cacheKeys.Store(cs.keys)
	}
	if s, ok := r.n.state.(EpochSealer); ok {
		if err := s.SealEpoch(b.Epoch); err != nil {
			return fmt.Errorf("operator %s: seal epoch %d: %w", r.n.name, b.Epoch, err)
		}
	}
	r.spent(began)
	r.out.flush()
	r.out.send(Message{Kind: KindBarrier, Barrier: b})
	return r.out.err
}

// begin starts timing a callback, and samples the operator's counters for
// its rates first (so a sample holds what came before it).
func (r *opRun) begin() time.Time {
	now := time.Now()
	r.n.stats.tick(now)
	return now
}

// spent adds the time since began to the operator's busy time (the time
// its output waited on a full edge while a callback ran included; the
// final flush is not).
func (r *opRun) spent(began time.Time) {
	r.n.stats.busy.Add(int64(time.Since(began)))
}
