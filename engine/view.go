package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// Continuous materialized views.
//
// Each view runs its own pipeline (a "life"): a subscription of the shared
// readers of the view's source (sourceHubs) from the source's start
// position, or after the positions committed with the last epoch (for a
// view over a view: that view's committed changes, changelog.go); records decoded to rows and fed with watermarks into
// an exec.Graph planned by planner.StreamPlan, ending in a Materialize.
//
// One checkpoint coordinator per engine injects a barrier for epoch N
// into every running view each checkpoint interval, waits until the
// barrier has come out of every view's Materialize (so every operator has
// sealed its state at N), then commits epoch N in ONE state.CommitEpoch:
// every view's operator tables and, in each view's meta table, the source
// positions and watermark of that barrier (a table write rather than
// CommitEpoch's extra, so that the positions live under the view's own key
// prefix and DropObjectState frees them with its state). The epoch marker
// in state is global and must increase, which is why epochs are global
// too: a slow view delays every view's commit. Restart resumes every view
// after its committed positions with its committed state: exactly once.
// The committed watermark is restored as a floor, so records late before
// a crash stay late after it.
//
// Late rows: a record behind its source's watermark on arrival is counted
// (SHOW SOURCE STATUS late_records) and fed into the graph like any other;
// only event-time operators (window aggregates, OVER, interval joins) drop
// it, by their own rule (WindowAgg: when its window has closed), and count
// their drops (EXPLAIN ANALYZE late=), as Flink does; regular aggregates,
// joins and projections keep it. So that an operator's verdict does not
// depend on how records were batched, nor on a restart, a late record
// enters the graph after the watermark it was late for: the input sends
// that watermark first (cutting the batch there), and after a restart the
// committed watermark, which the watermark never goes back behind.

// DefaultCheckpointInterval is how often epochs are cut and committed
// unless Config.CheckpointInterval or SET checkpoint_interval says
// otherwise; with fresh rows to show (see DefaultCheckpointMinInterval)
// they are cut sooner.
const DefaultCheckpointInterval = time.Second

// DefaultCheckpointMinInterval is how soon after the previous checkpoint
// began an epoch is cut early, unless Config.CheckpointMinInterval or SET
// checkpoint_min_interval says otherwise. An epoch is cut early when a
// view's input fed it rows read from a shard that was caught up: those
// rows are what a user waits to see (a change shows only once its epoch is
// committed), while a source that is behind is better served by long
// epochs, which write a changed group once per epoch rather than once per
// short one. Reading a caught-up Kinesis shard every 200 ms, an event then
// waits for its poll, at most this spacing and one commit, instead of up
// to a whole checkpoint interval.
const DefaultCheckpointMinInterval = 50 * time.Millisecond

// viewMetaTable is the operator id of a view's own bookkeeping table
// (committed source positions), beside its operators' tables.
const viewMetaTable uint32 = 0xFFFFFFFF

// Keys of the meta table: the source positions and the watermark of the
// last committed epoch.
var (
	keyPositions = []byte("positions")
	keyWatermark = []byte("watermark")
	// keyMarks holds each shard's largest event time (kinesis.Watermarks
	// Marks), so that a shard read before a restart does not hold the
	// watermark back as one that has seen nothing.
	keyMarks = []byte("marks")
	// keyEpoch is the last epoch the view was committed in, for SHOW and
	// the notices on reads ("its rows are as of epoch N").
	keyEpoch = []byte("epoch")
)

// viewManager owns the running views and the checkpoint coordinator.
type viewManager struct {
	e *Engine

	mu      sync.Mutex
	runners map[string]*viewRunner
	// parts are the runners of the parts of views this node holds, in a
	// cluster (parts.go); runners is empty there.
	parts map[PartID]*viewRunner
	// stopping counts runners told to stop and not yet ended (detach).
	stopping sync.WaitGroup

	subs subHub // SUBSCRIBE's subscriptions, per view (subscribe.go)

	// commitMu orders commits with the death of lives: a life marked dead
	// under it is never committed afterwards.
	commitMu  sync.Mutex
	injected  atomic.Uint64 // last epoch whose barriers were (being) injected
	committed atomic.Uint64 // last epoch committed

	changeMu sync.Mutex
	changed  chan struct{} // closed and replaced on progress
	kick     chan struct{}
	done     chan struct{}

	// interval is the checkpoint interval in nanoseconds, and minInterval
	// the least spacing of early epochs (fresh rows); reset wakes the
	// coordinator when either changes.
	interval    atomic.Int64
	minInterval atomic.Int64
	reset       chan struct{}
	// fresh wakes the coordinator when an input has fed rows read while
	// caught up into epoch wanted (the largest such epoch so far), which
	// is cut early if it has not been injected yet.
	fresh  chan struct{}
	wanted atomic.Uint64
	// durations records how long committed checkpoints took, barrier
	// injection to commit (CheckpointStats).
	durations durationLog
	// clQueues bounds what starting views queue of their upstreams'
	// changes (changelog.go).
	clQueues changelogQueues
}

func newViewManager(e *Engine, interval, minInterval time.Duration) (*viewManager, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("checkpoint interval %v: must be positive", interval)
	}
	if minInterval < 0 {
		return nil, fmt.Errorf("checkpoint min interval %v: must not be negative", minInterval)
	}
	last, err := e.db.LastCommittedEpoch()
	if err != nil {
		return nil, err
	}
	m := &viewManager{e: e, runners: map[string]*viewRunner{}, parts: map[PartID]*viewRunner{}, changed: make(chan struct{}),
		kick: make(chan struct{}, 1), done: make(chan struct{}), reset: make(chan struct{}, 1),
		fresh: make(chan struct{}, 1)}
	m.interval.Store(int64(interval))
	m.minInterval.Store(int64(minInterval))
	m.injected.Store(last)
	m.committed.Store(last)
	go m.coordinate(e.ctx)
	return m, nil
}

// notify wakes everyone waiting for progress (FLUSH).
func (m *viewManager) notify() {
	m.changeMu.Lock()
	close(m.changed)
	m.changed = make(chan struct{})
	m.changeMu.Unlock()
}

func (m *viewManager) changes() <-chan struct{} {
	m.changeMu.Lock()
	defer m.changeMu.Unlock()
	return m.changed
}

// viewRunner runs one view, restarting its pipeline when it fails.
type viewRunner struct {
	m    *viewManager
	obj  *object
	srcs []*object // the sources of obj.stream.Inputs, in order
	stop context.CancelFunc
	done chan struct{}
	life atomic.Pointer[viewLife]
	// health is the failure streak and backoff (viewstate.go).
	health viewHealth
	// errs absorbs the expression errors of every life (NULL and count).
	errs exec.ExprErrors
	// epoch and watermark are what was last committed for the view.
	epoch     atomic.Uint64
	watermark atomic.Pointer[int64]
	// part, in a cluster, is the part of the view the runner runs, and
	// stateID the object id of its state (parts.go); nil and 0 otherwise.
	part    *PartID
	stateID uint64
	// heldToken is the take of the part's lease it runs for.
	heldToken int64
	// fenced is set when the cluster refused the part's commit.
	fenced atomic.Bool
}

// consumer is how the view (or sink over a query) is named in SHOW
// SOURCE STATUS and in the log.
func (r *viewRunner) consumer() string {
	if r.obj.kind == sql.KindSink {
		return "sink " + r.obj.entry.Name
	}
	if r.part != nil {
		return "view " + r.obj.entry.Name + " part " + r.part.Key()
	}
	return "view " + r.obj.entry.Name
}

// viewLife is one run of a view's pipeline.
type viewLife struct {
	r      *viewRunner
	inputs []*viewInput // one per source, fed by a goroutine each
	meta   *state.Table
	tables []*state.Table
	// reached gets the epoch of every barrier out of the Materialize.
	reached chan uint64
	dead    chan struct{}
	isDead  bool // under viewManager.commitMu
	started time.Time

	// startWM is the watermark committed before this life began (the
	// least of its inputs'), if every input has one; set before the life
	// is published, read by SUBSCRIBE.
	startWM    int64
	hasStartWM bool
	// rec records the Materialize's changes for SUBSCRIBE (subscribe.go).
	rec *matRecorder
	// sinkStage is a sink's staging table, for a sink's pipeline
	// (sinkview.go).
	sinkStage *sinkStage
	// graph is the life's operator graph, root its Materialize and
	// inputNodes the nodes of its inputs, for ViewProfile (profile.go).
	graph      *exec.Graph
	root       exec.NodeID
	inputNodes []exec.NodeID
	// barriered is the last epoch whose barrier every input took (for
	// the views reading this one's changelog, changelog.go).
	barriered atomic.Uint64
}

// startView starts a view's pipeline.
func (m *viewManager) startView(obj *object) {
	if m.e.cluster != nil {
		m.e.cluster.viewCreated(obj) // its parts start where they are held
		return
	}
	if obj.stream == nil {
		if obj.streamErr != nil {
			m.e.log.Error("materialized view cannot run", "view", obj.entry.Name, "err", obj.streamErr)
		}
		return
	}
	var srcs []*object
	for _, in := range obj.stream.Inputs {
		src, ok := m.e.catalog.get(in.Source.Name)
		if !ok || (src.createSource == nil && !in.Changelog()) {
			m.e.log.Warn("view's source is missing", "view", obj.entry.Name, "source", in.Source.Name)
			return
		}
		srcs = append(srcs, src)
	}
	ctx, stop := context.WithCancel(m.e.ctx)
	r := &viewRunner{m: m, obj: obj, srcs: srcs, stop: stop, done: make(chan struct{})}
	r.health.created = time.Now()
	m.mu.Lock()
	m.runners[obj.entry.Name] = r
	m.mu.Unlock()
	go r.loop(ctx)
	m.notify()
}

// stopView stops a view's pipeline and waits for it.
func (m *viewManager) stopView(name string) {
	if r := m.detach(name); r != nil {
		<-r.done
	}
	m.notify()
}

// detach forgets a view's runner and tells it to stop, without waiting;
// stopAll waits for it.
func (m *viewManager) detach(name string) *viewRunner {
	m.mu.Lock()
	r := m.runners[name]
	delete(m.runners, name)
	m.mu.Unlock()
	if r != nil {
		r.stop()
		m.stopping.Add(1)
		go func() {
			<-r.done
			m.stopping.Done()
		}()
	}
	return r
}

// stopAll stops every view and the coordinator (the engine's context is
// already cancelled).
func (m *viewManager) stopAll() {
	m.mu.Lock()
	names := make([]string, 0, len(m.runners))
	for n := range m.runners {
		names = append(names, n)
	}
	m.mu.Unlock()
	for _, n := range names {
		m.stopView(n)
	}
	m.stopParts(nil)
	m.stopping.Wait()
	<-m.done
}

func (r *viewRunner) loop(ctx context.Context) {
	defer close(r.done)
	log := r.m.e.log.With(logKey(r.obj), r.obj.entry.Name)
	r.health.supervise(ctx, log, r.run, r.m.notify)
}

// run is one life of the pipeline.
func (r *viewRunner) run(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e := r.m.e
	id := r.stateObject()
	l := &viewLife{r: r, reached: make(chan uint64, 4), dead: make(chan struct{}), started: time.Now()}
	defer func() {
		r.m.commitMu.Lock()
		l.isDead = true
		r.m.commitMu.Unlock()
		close(l.dead)
		r.life.CompareAndSwap(l, nil)
		// Its inputs have stopped (run waits for them): their own readers
		// go, also those of a life that failed before it ran.
		for _, in := range l.inputs {
			if in.gen != nil && in.gen.close != nil {
				in.gen.close()
			}
		}
		// No commit of this life runs now, and its graph has ended: what
		// its tables buffered is garbage, and stops counting against the
		// budget of uncommitted writes.
		for _, t := range append(l.tables, l.meta) {
			if t != nil {
				t.Reset()
			}
		}
	}()

	l.meta = e.db.Table(id, viewMetaTable)
	if r.epoch.Load() == 0 {
		if b, ok, err := l.meta.Get(keyEpoch); err != nil {
			return fmt.Errorf("read committed epoch: %w", err)
		} else if ok {
			n, _, err := state.ReadInt64(b)
			if err != nil {
				return fmt.Errorf("read committed epoch: %w", err)
			}
			r.epoch.Store(uint64(n))
		}
	}
	for i, src := range r.srcs {
		in, err := newViewInput(l, src, &r.obj.stream.Inputs[i], len(r.srcs) > 1)
		if err != nil {
			return err
		}
		l.inputs = append(l.inputs, in)
	}
	l.hasStartWM = true
	for i, in := range l.inputs {
		l.hasStartWM = l.hasStartWM && in.hasFloor
		if i == 0 || in.floor < l.startWM {
			l.startWM = in.floor
		}
	}

	if r.obj.sinkShared != nil {
		if l.sinkStage, err = newSinkStage(r.obj, nil, r.obj.sinkShared); err != nil {
			return err
		}
	}
	// Every barrier of this graph comes after the last one injected so
	// far, and so after every epoch the view's state was committed in.
	g := exec.NewGraph(exec.GraphOptions{StartEpoch: e.views.injected.Load()})
	nodes := make([]exec.NodeID, len(l.inputs))
	for i, in := range l.inputs {
		nodes[i], in.feed = g.Input("source " + in.src.entry.Name)
	}
	mat, err := r.obj.stream.Build(g, nodes, func(op uint32) exec.StateTable {
		// Only the view's own table is read from Badger (SELECT,
		// SUBSCRIBE's snapshot); its operators' state is theirs alone, so
		// its commits go to the state log (state/deferred.go).
		t := e.db.TableWithOptions(id, op, state.TableOptions{Deferred: op != planner.MaterializeTable})
		l.tables = append(l.tables, t)
		return l.subscribeTable(op, t) // SUBSCRIBE (subscribe.go)
	}, r.buildOptions(planner.BuildOptions{Errs: &r.errs, AggCacheGroups: e.aggCacheGroups, CacheBudget: e.mem.caches}))
	if err != nil {
		return err
	}
	g.Observe(mat, func(msg exec.Message) error {
		if msg.Kind == exec.KindBarrier {
			select {
			case l.reached <- msg.Barrier.Epoch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	if err := g.Start(ctx); err != nil {
		return err
	}
	l.graph, l.root, l.inputNodes = g, mat, nodes
	graphDone := make(chan error, 1)
	go func() { graphDone <- g.Wait() }()
	defer func() {
		cancel()
		for _, in := range l.inputs {
			in.feed.Close()
		}
		<-graphDone
	}()

	consumer := r.consumer()
	for _, in := range l.inputs {
		if in.cl != nil {
			defer in.cl.detach()
			if err := in.cl.start(ctx); err != nil {
				return err
			}
			continue
		}
		if in.gen != nil {
			continue
		}
		sub, release, err := e.sources.subscribe(ctx, in.src, consumer, in.restore)
		if err != nil {
			return err
		}
		defer release()
		in.sub = sub
		in.dec.sub = sub
	}
	if l.hasStartWM && r.watermark.Load() == nil {
		wm := l.startWM
		r.watermark.Store(&wm)
	}
	for _, in := range l.inputs {
		if in.cl != nil {
			in.cl.f.unbound() // barriers come from now on (changelogFollower)
		}
	}
	r.life.Store(l)
	r.m.notify()

	// Each input feeds its graph input on a goroutine of its own; the
	// first to stop ends the life.
	inputDone := make(chan error, len(l.inputs))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, in := range l.inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			defer func() { inputDone <- err }()
			defer exec.Recover("source "+in.src.entry.Name, &err)
			err = in.run(ctx)
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-graphDone:
		graphDone <- err
		if err == nil {
			err = errors.New("graph ended")
		}
		return err
	case err := <-inputDone:
		if err == nil && ctx.Err() == nil {
			err = errors.New("input ended")
		}
		return err
	}
}

// viewInput is one source of a view's life: its subscription of the
// source's shared readers, its decoder and watermarks, and the graph input
// it feeds.
type viewInput struct {
	l   *viewLife
	src *object
	dec *recordDecoder
	// plan is the input's part of the plan: the columns decoded and the
	// WHERE pushed into it (applied with env; a row it fails on does not
	// pass, and the error is counted in the runner's errs).
	plan *planner.StreamInput
	env  expr.Env
	// posKey and wmKey are its keys in the view's meta table.
	posKey, wmKey []byte
	restore       *kinesis.Positions
	// floor is the watermark committed for it, if hasFloor.
	floor    int64
	hasFloor bool
	sub      *kinesis.Subscription
	// joinedAt is when sub was first seen reading from the shared readers
	// (unix nanos), for the since of SHOW's running.
	joinedAt atomic.Int64
	// gen, for a pulled source (a generator, files), replaces sub:
	// barriers reach its loop through barriers; caughtUpAt (unix nanos) is
	// when it last began a read that found nothing more behind it, done is
	// set once a bounded one has ended (for FLUSH).
	gen        *pulledSource
	barriers   chan generatorBarrier
	caughtUpAt atomic.Int64
	done       atomic.Bool
	feed       *exec.Feed
	// passed is the epoch of the last barrier this input sent into the
	// graph (hold).
	passed atomic.Uint64

	// wmAt holds the watermark the graph had been sent when each barrier
	// entered it, until its epoch commits.
	wmMu sync.Mutex
	wmAt map[uint64]watermarkCut
	// marksKey is the key of the shards' event-time marks, and marks those
	// committed.
	marksKey []byte
	marks    map[string]int64

	// cl, for an input that reads another view's changelog, replaces
	// sub (changelog.go).
	cl *changelogInput
}

// newViewInput prepares the input of source src: the positions and the
// watermark committed for it, and a decoder of the columns the plan
// needs. A view of several sources keeps them under keys of each source.
func newViewInput(l *viewLife, src *object, plan *planner.StreamInput, several bool) (*viewInput, error) {
	in := &viewInput{l: l, src: src, plan: plan, posKey: keyPositions, wmKey: keyWatermark, marksKey: keyMarks,
		wmAt: map[uint64]watermarkCut{}}
	in.env.Warn = l.r.errs.Warner("warning")
	if several {
		in.posKey = append(append(slices.Clone(keyPositions), '/'), src.entry.Name...)
		in.wmKey = append(append(slices.Clone(keyWatermark), '/'), src.entry.Name...)
		in.marksKey = append(append(slices.Clone(keyMarks), '/'), src.entry.Name...)
	}
	pos, hasPos, err := l.meta.Get(in.posKey)
	if err != nil {
		return nil, fmt.Errorf("read committed positions of %s: %w", src.entry.Name, err)
	}
	if b, ok, err := l.meta.Get(in.wmKey); err != nil {
		return nil, fmt.Errorf("read committed watermark of %s: %w", src.entry.Name, err)
	} else if ok {
		if in.floor, _, err = state.ReadInt64(b); err != nil {
			return nil, fmt.Errorf("read committed watermark of %s: %w", src.entry.Name, err)
		}
		in.hasFloor = true
	}
	if b, ok, err := l.meta.Get(in.marksKey); err != nil {
		return nil, fmt.Errorf("read committed watermarks of %s: %w", src.entry.Name, err)
	} else if ok {
		if err := json.Unmarshal(b, &in.marks); err != nil {
			return nil, fmt.Errorf("read committed watermarks of %s: %w", src.entry.Name, err)
		}
	}
	if plan.Changelog() {
		return in, in.initChangelog()
	}
	if isPulled(src.connector) {
		if !hasPos {
			pos = nil
		}
		if in.gen, err = l.r.m.e.openPulled(src, pos, plan.Needed, l.r.consumer()); err != nil {
			return nil, err
		}
		in.barriers = make(chan generatorBarrier)
		return in, nil
	}
	if hasPos {
		if in.restore, err = kinesis.Restore(pos); err != nil {
			return nil, fmt.Errorf("restore positions of %s: %w", src.entry.Name, err)
		}
	}
	// Only the columns the view's plan reads are decoded (PruneScanColumns).
	if in.dec, err = l.r.m.e.newRecordDecoder(src, l.r.consumer(), plan.Needed, true); err != nil {
		return nil, err
	}
	return in, nil
}

// run decodes what the subscription delivers into the graph input, with
// watermarks and barriers, until ctx ends or something fails.
func (in *viewInput) run(ctx context.Context) error {
	if in.cl != nil {
		return in.cl.run(ctx)
	}
	if in.gen != nil {
		return in.runGenerator(ctx)
	}
	l, sub, feed := in.l, in.sub, in.feed
	name := in.src.entry.Name
	// The watermark: per shard from the WATERMARK column, Observe per
	// record, Polled per batch, Close at a shard's end.
	wms, wmCol := sourceWatermarks(in.src)
	if in.plan.ProcTime {
		wms = nil // the clock is the watermark (proctime.go)
	}
	if wms != nil {
		wms.Seed(in.marks, time.UnixMicro(in.floor), in.hasFloor)
	}
	// The committed watermark is a floor: the watermark never goes back,
	// across a restart too, so a record replayed after one is late exactly
	// when it was late before (Late rows, above).
	lastWM, hasWM := in.floor, in.hasFloor
	if hasWM {
		if err := feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: lastWM}}); err != nil {
			return err
		}
	}
	tick, stop := in.procTimeTicker()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			if err := in.procTimeWatermark(ctx, &lastWM, &hasWM); err != nil {
				return err
			}
		case <-sub.Failed():
			return fmt.Errorf("source %s: %w", name, sub.Err())
		case ev := <-sub.Events():
			switch ev := ev.(type) {
			case *kinesis.Barrier:
				in.dec.flushDeadLetters(ctx)
				if wms != nil || in.plan.ProcTime {
					c := watermarkCut{wm: lastWM, has: hasWM}
					if wms != nil {
						c.marks = wms.Marks()
					}
					in.wmMu.Lock()
					in.wmAt[ev.Epoch] = c
					in.wmMu.Unlock()
				}
				if err := feed.Send(ctx, exec.Message{Kind: exec.KindBarrier, Barrier: exec.Barrier{Epoch: ev.Epoch}}); err != nil {
					return err
				}
				in.passed.Store(ev.Epoch)
			case *kinesis.Batch:
				in.hold(ctx)
				now := time.Now()
				if in.joinedAt.Load() == 0 && sub.Shared() {
					in.joinedAt.Store(now.UnixNano())
				}
				if wms != nil {
					// Every shard being read holds the watermark back until
					// it has seen an event, not only those heard from yet.
					for _, st := range sub.Stats() {
						if st.State == kinesis.StateDrained {
							wms.Close(st.ShardID)
						} else {
							wms.AddShard(st.ShardID, now)
						}
					}
				}
				batch := exec.NewBatch(len(ev.Records))
				// The rows of this batch go into the epoch after the last
				// barrier this input passed.
				into := in.passed.Load() + 1
				advanced := false
				for i := range ev.Records {
					row, ok, err := in.dec.decode(ctx, &ev.Records[i])
					if err != nil {
						return err
					}
					if !ok {
						continue
					}
					if wms != nil && wmCol >= 0 && !row[wmCol].IsNull() {
						late := hasWM && row[wmCol].Micros() < lastWM
						if wms.Observe(ev.ShardID, time.UnixMicro(row[wmCol].Micros()), now) || late {
							// Late on arrival: counted, and kept (Late rows, above).
							// The graph gets the watermark it was late for
							// before it, so that an event-time operator judges
							// it as it would have had the records come one
							// batch each.
							sub.CountLate(ev.ShardID, 1)
							if wm, ok := wms.Current(now); ok && (!hasWM || wm.UnixMicro() > lastWM) {
								if batch.Len() > 0 {
									if err := feed.Send(ctx, exec.Message{Kind: exec.KindBatch, Batch: batch}); err != nil {
										return err
									}
									batch = exec.NewBatch(len(ev.Records) - i)
								}
								lastWM, hasWM = wm.UnixMicro(), true
								advanced = true
								if err := feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: lastWM}}); err != nil {
									return err
								}
							}
						} else {
							// Advance per record, so that lateness within a
							// shard does not depend on how records were
							// batched; the graph gets the watermark after the
							// batch, or before a late record.
							wms.Current(now)
						}
					}
					if in.keep(row, ev.ShardID, ev.Records[i].Position()) {
						batch.Append(exec.Insert, row)
					}
				}
				if batch.Len() > 0 {
					if err := feed.Send(ctx, exec.Message{Kind: exec.KindBatch, Batch: batch}); err != nil {
						return err
					}
				}
				if wms != nil {
					wms.Polled(ev.ShardID, ev.CaughtUp, now)
					if ev.End {
						wms.Close(ev.ShardID)
					}
					if wm, ok := wms.Current(now); ok && (!hasWM || wm.UnixMicro() > lastWM) {
						lastWM, hasWM = wm.UnixMicro(), true
						advanced = true
						if err := feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: lastWM}}); err != nil {
							return err
						}
					}
				}
				if in.plan.ProcTime {
					if err := in.procTimeWatermark(ctx, &lastWM, &hasWM); err != nil {
						return err
					}
				}
				if ev.CaughtUp && len(ev.Records) > 0 && (batch.Len() > 0 || advanced) {
					l.r.m.freshRows(into)
				}
				if ev.CaughtUp || ev.End {
					l.r.m.notify() // FLUSH may be waiting for this
				}
			}
		}
	}
}

// holdRecheck bounds how long an input held back (hold) waits before it
// looks again, should no progress be announced.
const holdRecheck = 100 * time.Millisecond

// held reports whether the input should feed no more rows for now: the
// writes buffered and not yet committed, all views together, are over
// their budget (memory.go) and an epoch this input has already sent its
// barrier for is being committed, which frees them. Over budget with no
// such epoch, it asks for a checkpoint at once and goes on until the
// barrier comes: what one epoch holds is capped, and a view that produces
// faster than its epochs commit slows down to their pace instead of
// growing the process.
func (in *viewInput) held() bool {
	m := in.l.r.m
	if m.e.db.Uncommitted() <= m.e.mem.uncommitted {
		return false
	}
	if in.passed.Load() <= m.committed.Load() {
		m.checkpointSoon()
		return false
	}
	return true
}

// hold waits while held, until ctx ends.
func (in *viewInput) hold(ctx context.Context) {
	for {
		ch := in.l.r.m.changes()
		if !in.held() {
			return
		}
		select {
		case <-ch:
		case <-time.After(holdRecheck):
		case <-ctx.Done():
			return
		}
	}
}

// keep applies the WHERE pushed into the input; a row it cannot be
// computed for does not pass, as in the plan's Filters, and the error is
// counted with the record it came from (shard and seq, when known).
func (in *viewInput) keep(row types.Row, shard, seq string) bool {
	ok, err := in.plan.Keep(row, &in.env)
	if err != nil {
		where := "source " + in.src.entry.Name
		if shard != "" {
			where += ", shard " + shard + ", sequence number " + seq
		}
		_ = in.l.r.errs.AbsorbAt("WHERE "+in.plan.FilterText, where, err) // never nil: it absorbs
		return false
	}
	return ok
}

// watermarkCut is an input's watermark as a barrier passed it: the
// watermark sent into the graph (if has) and the shards' marks.
type watermarkCut struct {
	wm    int64
	has   bool
	marks map[string]int64
}

// watermarkAt returns the watermark cut at the barrier of epoch, and
// forgets those of epochs up to it.
func (in *viewInput) watermarkAt(epoch uint64) (watermarkCut, bool) {
	in.wmMu.Lock()
	defer in.wmMu.Unlock()
	c, ok := in.wmAt[epoch]
	for e := range in.wmAt {
		if e <= epoch {
			delete(in.wmAt, e)
		}
	}
	return c, ok
}

// readTo reports whether the life has been delivered every shard of every
// source up to where it stood at start (a bounded generator: ended; an
// unbounded one: has fed a batch made after start); a barrier injected
// after that follows all of it. If not, lagging names a source behind.
func (l *viewLife) readTo(start time.Time) (lagging string, ok bool) {
	for _, in := range l.inputs {
		if in.cl != nil {
			if src, ok := in.cl.readTo(start); !ok {
				return src, false
			}
			continue
		}
		if in.gen != nil {
			// A bounded source holds all of its rows "now"; an unbounded
			// one, what it held when FLUSH began.
			if !in.done.Load() && (in.gen.bounded || in.caughtUpAt.Load() < start.UnixNano()) {
				return in.src.entry.Name, false
			}
			continue
		}
		if !in.sub.ReadTo(start) {
			return in.src.entry.Name, false
		}
	}
	return "", true
}

// barrier sends the barrier of epoch into the input, after everything fed
// so far, and returns the position to commit with it.
func (in *viewInput) barrier(ctx context.Context, epoch uint64) ([]byte, error) {
	if in.cl != nil {
		return in.cl.barrier(ctx, epoch)
	}
	if in.gen == nil {
		pos, err := in.sub.Barrier(ctx, epoch)
		if err != nil {
			return nil, err
		}
		return pos.Marshal()
	}
	req := generatorBarrier{epoch: epoch, reply: make(chan []byte, 1)}
	select {
	case in.barriers <- req:
	case <-in.l.dead:
		return nil, errors.New("the view stopped")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case pos := <-req.reply:
		return pos, nil
	case <-in.l.dead:
		return nil, errors.New("the view stopped")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// pulledSource is a source that a view's own loop reads and positions,
// instead of a subscription of the shared readers: the generators
// (generators.go) and files (files.go).
type pulledSource struct {
	// next returns the next rows (the caller's; the slice only until the
	// next call) and whether nothing more was there when it was called;
	// io.EOF, with no rows, once a bounded source has ended.
	next func(ctx context.Context) (rows []types.Row, caughtUp bool, err error)
	// late counts row i of the rows next returned last as late on
	// arrival (SHOW SOURCE STATUS late_records); nil: not counted.
	late func(i int)
	// position is what to commit to resume after the rows returned so far.
	position func() ([]byte, error)
	bounded  bool
	// endsWindows: at its end the watermark goes to the end of time, so
	// that every window closes (files read once).
	endsWindows bool
	// tails: rows read once caught up are new data arriving (files
	// followed), so their epoch is cut early, as for a caught-up shard.
	tails bool
	// poll is how long to wait after next found nothing at all.
	poll  time.Duration
	close func() // nil: nothing to close
}

// endOfTime is the watermark of a source that has ended (endsWindows).
var endOfTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).UnixMicro()

// generatorBarrier asks a pulled input's loop for a barrier.
type generatorBarrier struct {
	epoch uint64
	reply chan []byte // the position after the rows before the barrier
}

// runGenerator feeds the pulled source's rows into the graph input, with
// the watermark of the source's WATERMARK (the largest event time fed,
// less the delay, after each batch and before a late row) and barriers
// between batches, until
// ctx ends, or forever after a bounded source's end (barriers still pass).
func (in *viewInput) runGenerator(ctx context.Context) error {
	cs := in.src.createSource
	wmCol := -1
	var delay int64
	if cs.Watermark != nil {
		for i, c := range in.src.columns {
			if c.Name == cs.Watermark.Column {
				wmCol = i
			}
		}
		delay = cs.Watermark.Delay.Microseconds()
	}
	if in.plan.ProcTime {
		wmCol = -1 // the clock is the watermark (proctime.go)
	}
	tick, stop := in.procTimeTicker()
	defer stop()
	lastWM, hasWM := in.floor, in.hasFloor
	// cur is the source's watermark, ahead of lastWM (the graph's) within
	// a batch.
	cur, hasCur := lastWM, hasWM
	if hasWM {
		// The committed watermark: see run.
		if err := in.feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: lastWM}}); err != nil {
			return err
		}
	}
	barrier := func(req generatorBarrier) error {
		if hasWM {
			in.wmMu.Lock()
			in.wmAt[req.epoch] = watermarkCut{wm: lastWM, has: true}
			in.wmMu.Unlock()
		}
		pos, err := in.gen.position()
		if err != nil {
			return err
		}
		if err := in.feed.Send(ctx, exec.Message{Kind: exec.KindBarrier, Barrier: exec.Barrier{Epoch: req.epoch}}); err != nil {
			return err
		}
		in.passed.Store(req.epoch)
		req.reply <- pos
		return nil
	}
	for {
		if in.plan.ProcTime {
			if err := in.procTimeWatermark(ctx, &lastWM, &hasWM); err != nil {
				return err
			}
		}
		if in.done.Load() {
			select {
			case req := <-in.barriers:
				if err := barrier(req); err != nil {
					return err
				}
				continue
			case <-tick:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case req := <-in.barriers:
			if err := barrier(req); err != nil {
				return err
			}
			continue
		case <-ctx.Done():
			return nil
		default:
		}
		if in.held() {
			// Wait for the commit, still taking barriers.
			select {
			case req := <-in.barriers:
				if err := barrier(req); err != nil {
					return err
				}
			case <-in.l.r.m.changes():
			case <-time.After(holdRecheck):
			case <-tick:
			case <-ctx.Done():
				return nil
			}
			continue
		}
		began := time.Now()
		rows, caughtUp, err := in.gen.next(ctx)
		if err != nil && !(err == io.EOF && len(rows) == 0) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("source %s: %w", in.src.entry.Name, err)
		}
		if err == io.EOF {
			if in.gen.endsWindows && (!hasWM || lastWM < endOfTime) {
				lastWM, hasWM = endOfTime, true
				if err := in.feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: lastWM}}); err != nil {
					return err
				}
			}
			in.done.Store(true)
			in.l.r.m.notify()
			continue
		}
		if caughtUp && len(rows) == 0 {
			in.caughtUpAt.Store(began.UnixNano())
			in.l.r.m.notify()
			// Nothing there: look again after the poll interval, taking
			// barriers meanwhile.
			wait := time.NewTimer(in.gen.poll)
			select {
			case req := <-in.barriers:
				wait.Stop()
				if err := barrier(req); err != nil {
					return err
				}
			case <-wait.C:
			case <-tick:
				wait.Stop()
			case <-ctx.Done():
				wait.Stop()
				return nil
			}
			continue
		}
		batch := exec.NewBatch(len(rows))
		for i, row := range rows {
			if wmCol >= 0 && !row[wmCol].IsNull() {
				// The source's watermark advances per row, as a shard's
				// does (run): a row behind it is late, counted and kept,
				// and reaches the graph after the watermark it was late
				// for, whatever the batching (Late rows, above).
				t := row[wmCol].Micros()
				if hasCur && t < cur {
					if in.gen.late != nil {
						in.gen.late(i)
					}
					if !hasWM || cur > lastWM {
						if batch.Len() > 0 {
							if err := in.feed.Send(ctx, exec.Message{Kind: exec.KindBatch, Batch: batch}); err != nil {
								return err
							}
							batch = exec.NewBatch(len(rows) - i)
						}
						lastWM, hasWM = cur, true
						if err := in.feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: lastWM}}); err != nil {
							return err
						}
					}
				} else if !hasCur || t-delay > cur {
					cur, hasCur = t-delay, true
				}
			}
			if in.keep(row, "", "") {
				batch.Append(exec.Insert, row)
			}
		}
		if batch.Len() > 0 {
			if err := in.feed.Send(ctx, exec.Message{Kind: exec.KindBatch, Batch: batch}); err != nil {
				return err
			}
		}
		if hasCur && (!hasWM || cur > lastWM) {
			lastWM, hasWM = cur, true
			if err := in.feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: lastWM}}); err != nil {
				return err
			}
		}
		if caughtUp {
			in.caughtUpAt.Store(began.UnixNano())
			if in.gen.tails && batch.Len() > 0 {
				in.l.r.m.freshRows(in.passed.Load() + 1)
			}
		}
		in.l.r.m.notify()
	}
}

// checkpointSoon asks the coordinator for a checkpoint now, or right
// after the one running.
func (m *viewManager) checkpointSoon() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// freshRows tells the coordinator that an input fed rows read from a
// caught-up shard into epoch: that epoch is to be cut early (coordinate).
// It never blocks.
func (m *viewManager) freshRows(epoch uint64) {
	for {
		w := m.wanted.Load()
		if epoch <= w || m.wanted.CompareAndSwap(w, epoch) {
			break
		}
	}
	select {
	case m.fresh <- struct{}{}:
	default:
	}
}

// setInterval changes the checkpoint interval of the running coordinator;
// the next checkpoint is due one new interval from now.
func (m *viewManager) setInterval(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("checkpoint interval %v: must be positive", d)
	}
	m.interval.Store(int64(d))
	m.wake()
	return nil
}

// setMinInterval changes the least spacing of early epochs.
func (m *viewManager) setMinInterval(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("checkpoint min interval %v: must not be negative", d)
	}
	m.minInterval.Store(int64(d))
	m.wake()
	return nil
}

func (m *viewManager) wake() {
	select {
	case m.reset <- struct{}{}:
	default:
	}
}

// coordinate cuts and commits epochs until ctx ends: one checkpoint
// interval after the end of the previous checkpoint, or, when an input
// has fed rows read while caught up into an epoch not cut yet
// (freshRows), as soon as the previous checkpoint is done and the minimum
// interval has passed since it began.
func (m *viewManager) coordinate(ctx context.Context) {
	defer close(m.done)
	// regular is when the next checkpoint is due by the interval alone;
	// began is when the last one began, and failed whether it failed.
	regular := time.Now().Add(time.Duration(m.interval.Load()))
	var began time.Time
	failed := false
	t := time.NewTimer(time.Until(regular))
	defer t.Stop()
	// due is when the next checkpoint is: the regular one, or earlier for
	// fresh rows, unless the last one failed (its retry waits for the
	// interval, as does the log line saying it failed).
	due := func() time.Time {
		if !failed && m.wanted.Load() > m.injected.Load() {
			if early := began.Add(time.Duration(m.minInterval.Load())); early.Before(regular) {
				return early
			}
		}
		return regular
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.reset:
			regular = time.Now().Add(time.Duration(m.interval.Load()))
			t.Reset(time.Until(due()))
			continue
		case <-m.fresh:
			if wait := time.Until(due()); wait > 0 {
				t.Reset(wait)
				continue
			}
		case <-t.C:
			if wait := time.Until(due()); wait > 0 {
				t.Reset(wait) // a reset moved it
				continue
			}
		case <-m.kick:
		}
		start := time.Now()
		began = start
		before, injected, wanted := m.committed.Load(), m.injected.Load(), m.wanted.Load()
		err := m.checkpoint(ctx)
		failed = err != nil
		if err != nil && ctx.Err() == nil {
			m.e.log.Error("checkpoint failed; the next one retries", "err", err)
		} else if epoch := m.committed.Load(); err == nil && epoch != before {
			took := time.Since(start)
			m.durations.observe(took)
			m.e.metrics.checkpoints.Observe(took.Seconds())
			m.e.log.Debug("checkpoint committed", "epoch", epoch, "took", took)
		}
		if m.injected.Load() == injected {
			// No view was running: the life that asked for an epoch has
			// ended, and none is wanted until a running one asks.
			m.wanted.CompareAndSwap(wanted, injected)
		}
		// The interval runs from the end of a checkpoint, so that a slow
		// commit is not followed at once by another; fresh rows that came
		// during it are cut as soon as the minimum interval allows.
		regular = time.Now().Add(time.Duration(m.interval.Load()))
		t.Reset(time.Until(due()))
	}
}

// checkpoint runs one epoch: barriers into every running view, wait for
// them at every Materialize, commit everything in one CommitEpoch.
func (m *viewManager) checkpoint(ctx context.Context) error {
	m.mu.Lock()
	var lives []*viewLife
	for _, r := range m.runners {
		if l := r.life.Load(); l != nil {
			lives = append(lives, l)
		}
	}
	for _, r := range m.parts {
		if l := r.life.Load(); l != nil {
			lives = append(lives, l)
		}
	}
	m.mu.Unlock()
	// Tables' statements commit with the epoch too (table.go).
	writes, tableWrites := m.e.tables.take()
	if len(lives) == 0 && !tableWrites {
		return nil
	}
	sortUpstreamFirst(lives)
	epoch := m.injected.Add(1)
	m.e.tables.assign(epoch, writes)
	type part struct {
		l   *viewLife
		pos [][]byte // per input
	}
	var parts []part
lives:
	for _, l := range lives {
		if !changelogsInjected(l, epoch) {
			continue // a view it reads took no barrier: next epoch (changelog.go)
		}
		p := part{l: l}
		for _, in := range l.inputs {
			b, err := in.barrier(ctx, epoch)
			if err != nil {
				if l.isDeadNow() || ctx.Err() != nil {
					continue lives // the life is ending
				}
				return fmt.Errorf("positions of view %s: %w", l.r.obj.entry.Name, err)
			}
			p.pos = append(p.pos, b)
		}
		l.barriered.Store(epoch)
		parts = append(parts, p)
	}
	var ready []part
	for _, p := range parts {
	wait:
		for {
			select {
			case got := <-p.l.reached:
				if got == epoch {
					ready = append(ready, p)
					break wait
				}
			case <-p.l.dead:
				break wait
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	m.commitMu.Lock()
	defer m.commitMu.Unlock()
	var tables []*state.Table
	var published []committedLife // for SUBSCRIBE (subscribe.go)
	committing := map[*viewLife]bool{}
	for _, p := range ready {
		if p.l.isDead || !changelogsCommitted(p.l, committing) {
			continue
		}
		committing[p.l] = true
		var wm int64
		withWM := 0
		for i, in := range p.l.inputs {
			if err := p.l.meta.Put(in.posKey, p.pos[i]); err != nil {
				return err
			}
			c, ok := in.watermarkAt(epoch)
			if ok && c.marks != nil {
				b, err := json.Marshal(c.marks)
				if err != nil {
					return err
				}
				if err := p.l.meta.Put(in.marksKey, b); err != nil {
					return err
				}
			}
			if ok && c.has {
				if err := p.l.meta.Put(in.wmKey, state.AppendInt64(nil, c.wm)); err != nil {
					return err
				}
				// SUBSCRIBE's progress: the least over the inputs.
				if withWM == 0 || c.wm < wm {
					wm = c.wm
				}
				withWM++
			}
		}
		if err := p.l.meta.Put(keyEpoch, state.AppendInt64(nil, int64(epoch))); err != nil {
			return err
		}
		tables = append(tables, p.l.meta)
		tables = append(tables, p.l.tables...)
		// An input without a watermark holds the view's back.
		published = append(published, committedLife{p.l, wm, withWM == len(p.l.inputs)})
	}
	if c := m.e.cluster; c != nil && len(published) > 0 {
		// The cluster's commit point comes first; Badger gets only the
		// parts it accepted (parts.go).
		var err error
		if published, err = c.commit(ctx, epoch, published); err != nil {
			return err
		}
		tables = tables[:0]
		for _, p := range published {
			tables = append(append(tables, p.l.meta), p.l.tables...)
		}
	}
	if len(tables) == 0 && !m.e.tables.hasInflight() {
		return nil
	}
	if err := m.e.db.CommitEpoch(epoch, m.e.tables.extra, tables...); err != nil {
		return err
	}
	m.e.tables.committed(epoch)
	// Only this coordinator commits, under commitMu: the last commit is
	// this one.
	if cs := m.e.db.CommitStats(); cs.LastEpoch == epoch {
		m.e.metrics.checkpointBytes.Observe(float64(cs.LastBytes))
	}
	m.committed.Store(epoch)
	for _, c := range published {
		if c.l.r.health.failing() {
			if _, ok := c.l.readTo(c.l.started); ok {
				c.l.r.health.recovered(m.e.log.With(logKey(c.l.r.obj), c.l.r.obj.entry.Name))
			}
		}
		c.l.r.epoch.Store(epoch)
		if c.hasWM {
			wm := c.wm
			c.l.r.watermark.Store(&wm)
		}
	}
	m.publish(epoch, published)
	m.notify()
	return nil
}

// DefaultFlushTimeout bounds FLUSH when its statement has no deadline of
// its own (statement_timeout).
const DefaultFlushTimeout = 60 * time.Second

// flush waits until every running view (or only the view or sink named
// only) has processed every shard up to where it stood when flush began,
// and an epoch cut after that is committed (and, for a sink, sent). A view
// that is restarting or failed is not waited for: it is named in a
// warning. Past ctx's deadline, or DefaultFlushTimeout without one, flush
// fails (57014) naming the view, and the source, that did not get there.
func (m *viewManager) flush(ctx context.Context, only string) ([]*sqlerr.Error, error) {
	wctx := ctx
	budget := DefaultFlushTimeout
	if d, ok := ctx.Deadline(); ok {
		budget = time.Until(d)
	} else {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, DefaultFlushTimeout)
		defer cancel()
	}
	start := time.Now()
	// skipped are the pipelines found not running: named, not waited for.
	skipped := map[*viewRunner]viewStatus{}
	skip := func(r *viewRunner) bool {
		if _, ok := skipped[r]; ok {
			return true
		}
		if st := r.status(); st.State == stateRestarting || st.State == stateFailed {
			skipped[r] = st
			return true
		}
		return false
	}
	stuck := func(r *viewRunner, what string) error {
		if errors.Is(ctx.Err(), context.Canceled) {
			return sqlerr.Flatten(ctx.Err())
		}
		msg := fmt.Sprintf("FLUSH did not finish within %v: %s %s %s", budget.Round(time.Millisecond), r.obj.kind, r.obj.entry.Name, what)
		if st := r.status(); st.Err != nil {
			msg += ": " + st.errorText()
		}
		return sqlerr.Newf(sqlerr.QueryCanceled, "%s", msg)
	}
	for {
		ch := m.changes()
		var waiting *viewRunner
		what := ""
		for _, r := range m.flushed(only) {
			if skip(r) {
				continue
			}
			l := r.life.Load()
			if l == nil {
				waiting, what = r, "has not started"
				break
			}
			if src, ok := l.readTo(start); !ok {
				waiting, what = r, "has not read source "+src+" up to where it stood when FLUSH began"
				break
			}
		}
		if waiting == nil {
			break
		}
		select {
		case <-ch:
		case <-wctx.Done():
			return nil, stuck(waiting, what)
		}
	}
	// Barriers injected from now on follow everything read so far.
	target := m.injected.Load() + 1
	for {
		ch := m.changes()
		var waiting *viewRunner
		what := ""
		for _, r := range m.flushed(only) {
			if skip(r) {
				continue
			}
			if m.committed.Load() < target || r.life.Load() == nil {
				waiting, what = r, fmt.Sprintf("has not committed epoch %d (committed: %d)", target, m.committed.Load())
				break
			}
			// A sink over a query: every record committed so far is
			// acknowledged by Kinesis.
			if sh := r.obj.sinkShared; sh != nil {
				sh.mu.Lock()
				acked := sh.acked
				sh.mu.Unlock()
				if acked < target {
					waiting, what = r, fmt.Sprintf("has not sent epoch %d to Kinesis", target)
					break
				}
			}
		}
		if waiting == nil {
			break
		}
		select {
		case m.kick <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-wctx.Done():
			return nil, stuck(waiting, what)
		}
	}
	var warnings []*sqlerr.Error
	for r, st := range skipped {
		warnings = append(warnings, st.notice(r.obj.kind, r.obj.entry.Name))
	}
	// Views that could not be started at all are failed too (in a
	// cluster, a view runs as parts, held here or elsewhere).
	for _, o := range m.e.catalog.list(sql.KindView) {
		if m.e.cluster != nil {
			break
		}
		if only != "" && o.entry.Name != only {
			continue
		}
		m.mu.Lock()
		_, ok := m.runners[o.entry.Name]
		m.mu.Unlock()
		if !ok {
			warnings = append(warnings, m.status(o).notice(o.kind, o.entry.Name))
		}
	}
	slices.SortFunc(warnings, func(a, b *sqlerr.Error) int { return strings.Compare(a.Message, b.Message) })
	return warnings, nil
}

// flushed returns the runners FLUSH waits for: every one, or the one of
// the view or sink named only.
func (m *viewManager) flushed(only string) []*viewRunner {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*viewRunner, 0, len(m.runners))
	for name, r := range m.runners {
		if only == "" || name == only {
			out = append(out, r)
		}
	}
	for _, r := range m.parts {
		if only == "" || r.obj.entry.Name == only {
			out = append(out, r)
		}
	}
	return out
}

// dropView stops a view and frees its state. It does not wait for either:
// the pipeline may be in a long step, or in an epoch's commit, and DROP
// must answer at once (the state goes once the pipeline has ended).
func (m *viewManager) dropView(o *object) {
	var ended <-chan struct{}
	if r := m.detach(o.entry.Name); r != nil {
		ended = r.done
		// Give what the pipeline held back to the system now: the Go
		// runtime would otherwise keep it for reuse, and a dropped heavy
		// view is the one time that much comes free at once.
		go func() {
			<-r.done
			debug.FreeOSMemory()
		}()
	}
	m.notify()
	m.subs.end(o.entry.Name, sqlerr.Newf(sqlerr.UndefinedTable, "materialized view %s was dropped", o.entry.Name))
	if m.e.cluster != nil {
		m.stopParts(o) // and frees their state (parts.go)
	}
	if err := m.e.db.DropObjectState(o.entry.ID, ended); err != nil {
		m.e.log.Warn("drop: free view state", "view", o.entry.Name, "err", err)
	}
}

// viewScan reads a view's committed rows: a consistent snapshot, whole
// epochs only, pulled from Badger as the query reads them.
func (e *Engine) viewScan(obj *object) (exec.RowIter, error) {
	if e.cluster != nil && obj.kind == sql.KindView {
		return e.cluster.scanView(obj), nil // the union of its parts (parts.go)
	}
	snap, err := e.db.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("read view %s: %w", obj.entry.Name, err)
	}
	return newViewRows(obj, snap), nil
}

// newViewRows reads the rows of view obj in snap, and closes snap after.
func newViewRows(obj *object, snap *state.Snapshot) *viewRows {
	keyed := obj.stream != nil && obj.stream.Key != nil
	if obj.kind == sql.KindTable {
		keyed = len(obj.tableKey) > 0
	}
	return &viewRows{name: obj.entry.Name, keyed: keyed,
		snap: snap, it: snap.Scan(obj.entry.ID, planner.MaterializeTable, nil, nil)}
}

// viewRows iterates a view's table in a snapshot; a row stored with a
// count (a view without a key) is returned that many times, and each row
// of a log block (exec.MaterializedRows) in turn.
type viewRows struct {
	name  string
	keyed bool
	snap  *state.Snapshot // nil: it reads entries of a peer's part (parts.go)
	it    entryIter
	row   types.Row
	left  int64
	block []types.Row // the rest of a log block's rows
}

func (v *viewRows) Next(context.Context) (types.Row, error) {
	more, err := v.more()
	if err != nil || !more {
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}
	v.left--
	return v.row, nil
}

// more reads ahead to the next row, if there is one. It never waits on
// anything but local state.
func (v *viewRows) more() (bool, error) {
	for v.left == 0 {
		if len(v.block) > 0 {
			v.row, v.left, v.block = v.block[0], 1, v.block[1:]
			break
		}
		if v.it == nil {
			return false, nil
		}
		_, val, ok, err := v.it.Next()
		if err != nil {
			return false, fmt.Errorf("read view %s: %w", v.name, err)
		}
		if !ok {
			v.Close()
			return false, nil
		}
		if exec.IsMaterializedBlock(val) {
			v.block = v.block[:0]
			err = exec.MaterializedRows(v.keyed, val, func(row types.Row, _ int64) error {
				v.block = append(v.block, row)
				return nil
			})
		} else {
			v.row, v.left, err = exec.DecodeMaterialized(v.keyed, val)
		}
		if err != nil {
			return false, fmt.Errorf("read view %s: %w", v.name, err)
		}
	}
	return true, nil
}

func (v *viewRows) Close() {
	if v.it != nil {
		v.it.Close()
		if v.snap != nil {
			v.snap.Close()
		}
		v.it = nil
	}
}

// entryIter is the entries of a view's table: a snapshot's, or a peer's.
type entryIter interface {
	Next() (key, value []byte, ok bool, err error)
	Close()
}

// viewQuery resolves the plans of views for planner.PlanStream.
func (c *catalogSnapshot) viewQuery(name string) (*planner.Query, bool) {
	o, ok := c.objects[name]
	if !ok || o.kind != sql.KindView || o.query == nil {
		return nil, false
	}
	return o.query, true
}

// isDeadNow reports whether the life has ended.
func (l *viewLife) isDeadNow() bool {
	select {
	case <-l.dead:
		return true
	default:
		return false
	}
}
