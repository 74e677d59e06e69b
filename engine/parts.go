package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// Parts: how a cluster member runs views (cluster_member.go says what a
// part is).
//
// The view manager runs one runner per part this node holds
// (viewManager.parts) instead of one per view. A part's runner is an
// ordinary view runner with two differences: its plan is built for its
// part (planner.BuildOptions.Part), and its state lives under an object id
// of its own (partStateID), meta table included, so that each part is
// today's exactly-once view: its own positions, watermark and epoch.
//
// A newly held part starts from a clean slate: its local state is
// replaced by what Restorer.Restore gives, the coordinator's epoch counter
// is raised above the part's committed epoch (so a part's epochs increase
// across owners, and Badger's global epoch marker on this node still
// increases), and then its runner starts. A part no longer held (or taken
// again, or fenced) is stopped and its local state dropped.
//
// An epoch commits in this order (viewManager.checkpoint, then commit
// below): the parts' sealed writes go to Committer.Commit (the cluster's
// object store, then one conditional commit per part: the commit point);
// then Badger commits the parts the cluster accepted; then anything
// visible (SUBSCRIBE, FLUSH). A fenced part never reaches Badger.

// DefaultKeyGroupRanges is how many parts a partitionable view has in a
// cluster unless ClusterConfig.KeyGroupRanges says otherwise.
const DefaultKeyGroupRanges = 8

// partStateID is the object id of part index's state: the view's id with
// index+1 above bit 40. Catalog ids count up from 1, so they stay below
// 2^40 and no part's id is another object's or another part's.
func partStateID(viewID uint64, index int) uint64 { return viewID + uint64(index+1)<<40 }

// clusterMember is the engine's side of its cluster membership.
type clusterMember struct {
	e      *Engine
	cfg    ClusterConfig
	ranges int

	fenced   atomic.Int64
	restores atomic.Int64

	kick chan struct{}
	wg   sync.WaitGroup // the reconciler and the DDL follower

	mu sync.Mutex
	// dropping holds the object ids of views being dropped: their parts
	// are not started again while their definition goes.
	dropping map[uint64]bool
	// unensured holds views whose leases could not be made yet.
	unensured map[string]*object
	// failedStart rate-limits the log line of a part that cannot start.
	failedStart map[PartID]time.Time
	// sinkPartsRunning are the sink parts running here (sinkparts.go).
	sinkPartsRunning map[PartID]*sinkRunner
	// fencedAt is when each part was last fenced here: a part still held
	// after its commit was fenced (in doubt) restarts a while later, not
	// at once, should the cluster keep refusing it.
	fencedAt map[PartID]time.Time

	// ddlMu orders this node's DDL with the statements of other nodes it
	// applies; own holds the versions this node appended.
	ddlMu sync.Mutex
	own   map[uint64]bool
}

func newClusterMember(e *Engine, cfg *ClusterConfig) (*clusterMember, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	c := &clusterMember{e: e, cfg: *cfg, ranges: cfg.KeyGroupRanges, kick: make(chan struct{}, 1),
		dropping: map[uint64]bool{}, unensured: map[string]*object{}, failedStart: map[PartID]time.Time{},
		sinkPartsRunning: map[PartID]*sinkRunner{}, fencedAt: map[PartID]time.Time{}, own: map[uint64]bool{}}
	if c.ranges == 0 {
		c.ranges = DefaultKeyGroupRanges
	}
	if c.ranges < 1 || c.ranges > 256 {
		return nil, fmt.Errorf("Config.Cluster.KeyGroupRanges %d: must be between 1 and 256", c.ranges)
	}
	return c, nil
}

// start runs the reconciler and the DDL follower until the engine closes.
func (c *clusterMember) start() {
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.reconcileLoop(c.e.ctx)
	}()
	go func() {
		defer c.wg.Done()
		c.followDDL(c.e.ctx)
	}()
}

func (c *clusterMember) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// partsOf returns how many parts view obj has: ranges when its plan can be
// split by key, 1 when not, 0 when it cannot run at all.
func (c *clusterMember) partsOf(obj *object) int {
	if obj.stream == nil {
		return 0
	}
	if ok, _ := planner.Partitionable(obj.stream); ok {
		return c.ranges
	}
	return 1
}

// ensureTimeout bounds the making of a view's leases at CREATE; a failure
// is retried by the reconciler.
const ensureTimeout = 10 * time.Second

// viewCreated makes the leases of a new (or loaded) view's parts exist;
// the parts start where they are held.
func (c *clusterMember) viewCreated(obj *object) {
	if obj.stream == nil {
		if obj.streamErr != nil {
			c.e.log.Error("materialized view cannot run", "view", obj.entry.Name, "err", obj.streamErr)
		}
		return
	}
	ctx, cancel := context.WithTimeout(c.e.ctx, ensureTimeout)
	defer cancel()
	if err := c.cfg.Membership.Ensure(ctx, ViewGroup(obj.entry.Name), c.partsOf(obj)); err != nil {
		c.e.log.Warn("cluster: make the view's leases; retried", "view", obj.entry.Name, "err", err)
		c.mu.Lock()
		c.unensured[obj.entry.Name] = obj
		c.mu.Unlock()
	}
	c.wake()
}

// reconcileInterval is how often the reconciler looks again without being
// woken, for what failed before (a restore, a lease to make).
const reconcileInterval = time.Second

// reconcileLoop runs the parts Membership says this node holds.
func (c *clusterMember) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(reconcileInterval)
	defer t.Stop()
	first := true
	for {
		held, changed := c.cfg.Membership.Held()
		if first {
			c.dropUnheld(held)
			first = false
		}
		c.reconcile(ctx, held)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-c.kick:
		case <-t.C:
		}
	}
}

// dropUnheld frees, at start, the local state of the parts of every view
// that this node does not hold: what a previous run here left. (A held
// part's state is replaced by its restore anyway.)
func (c *clusterMember) dropUnheld(held []HeldPart) {
	mine := map[PartID]bool{}
	for _, h := range held {
		mine[h.Part] = true
	}
	for _, o := range c.e.catalog.list(sql.KindView) {
		n := c.partsOf(o)
		for i := range n {
			if mine[PartID{Group: ViewGroup(o.entry.Name), Index: i, Count: n}] {
				continue
			}
			if err := c.e.db.ResetObjectState(partStateID(o.entry.ID, i), nil); err != nil {
				c.e.log.Warn("cluster: free the state a previous run left of a part not held", "view", o.entry.Name, "part", i, "err", err)
			}
		}
	}
}

// heldView returns the view a held part belongs to, if this node knows it
// and the part fits it.
func (c *clusterMember) heldView(id PartID) (*object, bool) {
	name, ok := strings.CutPrefix(id.Group, "view/")
	if !ok {
		return nil, false
	}
	obj, ok := c.e.catalog.get(name)
	if !ok || obj.kind != sql.KindView || c.partsOf(obj) != id.Count {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return obj, !c.dropping[obj.entry.ID]
}

// reconcile stops the parts no longer held here (or taken again, or
// fenced) and starts the held ones not running.
func (c *clusterMember) reconcile(ctx context.Context, held []HeldPart) {
	c.mu.Lock()
	retry := c.unensured
	c.unensured = map[string]*object{}
	c.mu.Unlock()
	for _, obj := range retry {
		if cur, ok := c.e.catalog.get(obj.entry.Name); ok && cur == obj {
			if obj.kind == sql.KindSink {
				c.sinkCreated(obj)
			} else {
				c.viewCreated(obj)
			}
		}
	}
	want := make(map[PartID]HeldPart, len(held))
	for _, h := range held {
		want[h.Part] = h
	}
	m := c.e.views
	m.mu.Lock()
	running := make(map[PartID]*viewRunner, len(m.parts))
	for id, r := range m.parts {
		running[id] = r
	}
	m.mu.Unlock()
	for id, r := range running {
		h, ok := want[id]
		obj, known := c.heldView(id)
		if ok && known && obj == r.obj && h.Token == r.heldToken && !r.fenced.Load() {
			continue
		}
		m.mu.Lock()
		if m.parts[id] == r {
			delete(m.parts, id)
		}
		m.mu.Unlock()
		r.stop()
		<-r.done
		if err := c.e.db.ResetObjectState(r.stateID, nil); err != nil {
			c.e.log.Warn("cluster: drop the local state of a part no longer running here", "part", id.String(), "err", err)
		}
		delete(running, id)
		m.notify()
	}
	for id, h := range want {
		if _, ok := running[id]; ok || ctx.Err() != nil {
			continue
		}
		if c.recentlyFenced(id) {
			continue
		}
		obj, ok := c.heldView(id)
		if !ok {
			if o, known := c.e.catalog.get(strings.TrimPrefix(id.Group, "view/")); known && o.kind == sql.KindView {
				if n := c.partsOf(o); n != id.Count {
					c.logStartFailure(id, fmt.Errorf("view %s has %d parts on this node (KeyGroupRanges): every node must say the same", o.entry.Name, n))
				}
			}
			continue // not (yet) known here: the DDL follower wakes us
		}
		if err := c.startPart(ctx, obj, h); err != nil && ctx.Err() == nil {
			c.logStartFailure(id, err)
		}
	}
	c.reconcileSinks(ctx, want)
}

// refenceWait is how long a part fenced here waits before it is started
// again, should this node still hold it.
const refenceWait = time.Second

// fencedNow records that part id was fenced here.
func (c *clusterMember) fencedNow(id PartID) {
	c.mu.Lock()
	c.fencedAt[id] = time.Now()
	c.mu.Unlock()
}

// recentlyFenced reports whether part id was fenced here less than
// refenceWait ago.
func (c *clusterMember) recentlyFenced(id PartID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.fencedAt[id]
	if ok && time.Since(at) >= refenceWait {
		delete(c.fencedAt, id)
		return false
	}
	return ok
}

// logStartFailure logs that a held part cannot start, once a minute per
// part.
func (c *clusterMember) logStartFailure(id PartID, err error) {
	c.mu.Lock()
	last := c.failedStart[id]
	log := time.Since(last) > time.Minute
	if log {
		c.failedStart[id] = time.Now()
	}
	c.mu.Unlock()
	if log {
		c.e.log.Warn("cluster: cannot start a held part; retried", "part", id.String(), "err", err)
	}
}

// raiseEpoch makes every epoch this node cuts from now on come after
// epoch: a part's epochs increase across owners.
func (c *clusterMember) raiseEpoch(epoch uint64) {
	m := c.e.views
	for {
		cur := m.injected.Load()
		if cur >= epoch || m.injected.CompareAndSwap(cur, epoch) {
			return
		}
	}
}

// startPart restores a held part's state and starts its runner.
func (c *clusterMember) startPart(ctx context.Context, obj *object, h HeldPart) error {
	m := c.e.views
	var srcs []*object
	for _, in := range obj.stream.Inputs {
		src, ok := c.e.catalog.get(in.Source.Name)
		if !ok || src.createSource == nil {
			return fmt.Errorf("view %s: source %s is missing", obj.entry.Name, in.Source.Name)
		}
		srcs = append(srcs, src)
	}
	id := h.Part
	sid := partStateID(obj.entry.ID, id.Index)
	start := time.Now()
	if err := c.e.db.ResetObjectState(sid, func(put func(key, val []byte, del bool) error) error {
		return c.cfg.Restorer.Restore(ctx, id, put)
	}); err != nil {
		return fmt.Errorf("restore part %s: %w", id, err)
	}
	c.restores.Add(1)
	c.raiseEpoch(h.Epoch)
	rctx, stop := context.WithCancel(c.e.ctx)
	r := &viewRunner{m: m, obj: obj, srcs: srcs, stop: stop, done: make(chan struct{}),
		part: &id, stateID: sid, heldToken: h.Token}
	r.health.created = time.Now()
	m.mu.Lock()
	m.parts[id] = r
	m.mu.Unlock()
	go r.loop(rctx)
	m.notify()
	c.e.log.Info("cluster: part started", "part", id.String(), "epoch", h.Epoch, "restore", time.Since(start).Round(time.Millisecond))
	return nil
}

// stopParts stops the parts of view o (nil: every part, waiting for them,
// as the engine closes) and drops their local state once they have ended.
func (m *viewManager) stopParts(o *object) {
	m.mu.Lock()
	var rs []*viewRunner
	for id, r := range m.parts {
		if o == nil || r.obj.entry.ID == o.entry.ID {
			delete(m.parts, id)
			rs = append(rs, r)
		}
	}
	m.mu.Unlock()
	for _, r := range rs {
		r.stop()
	}
	if o == nil {
		for _, r := range rs {
			<-r.done
		}
		return
	}
	c := m.e.cluster
	c.mu.Lock()
	c.dropping[o.entry.ID] = true
	c.mu.Unlock()
	for _, r := range rs {
		m.stopping.Add(1)
		go func() {
			defer m.stopping.Done()
			<-r.done
			if err := m.e.db.ResetObjectState(r.stateID, nil); err != nil {
				m.e.log.Warn("drop: free the state of a view's part", "view", o.entry.Name, "part", r.part.Key(), "err", err)
			}
		}()
	}
	m.notify()
}

// commit is the cluster's commit point of epoch for the parts of
// published (checkpoint calls it under commitMu, after their meta
// writes): it returns the lives to commit to Badger, those the cluster
// accepted. A fenced part's life is dead from here on (never committed),
// its runner stopped; the reconciler drops its state and restarts it from
// the cluster's state if it is still held.
func (c *clusterMember) commit(ctx context.Context, epoch uint64, published []committedLife) ([]committedLife, error) {
	writes := make([]PartWrites, 0, len(published))
	for _, p := range published {
		r := p.l.r
		if r.part == nil {
			return nil, fmt.Errorf("commit epoch %d: view %s runs outside of a part in a cluster", epoch, r.obj.entry.Name)
		}
		pw := PartWrites{Part: *r.part, Token: r.heldToken}
		for _, t := range append([]*state.Table{p.l.meta}, p.l.tables...) {
			if err := t.SealedWrites(epoch, func(key, val []byte, del bool) error {
				pw.Writes = append(pw.Writes, Write{Key: bytes.Clone(key), Val: bytes.Clone(val), Del: del})
				return nil
			}); err != nil {
				return nil, fmt.Errorf("commit epoch %d: writes of part %s: %w", epoch, r.part, err)
			}
		}
		writes = append(writes, pw)
	}
	fenced, err := c.cfg.Committer.Commit(ctx, epoch, writes)
	if err != nil {
		return nil, fmt.Errorf("commit epoch %d to the cluster: %w", epoch, err)
	}
	if len(fenced) == 0 {
		return published, nil
	}
	out := map[PartID]bool{}
	for _, id := range fenced {
		out[id] = true
	}
	kept := published[:0:0]
	for _, p := range published {
		r := p.l.r
		if !out[*r.part] {
			kept = append(kept, p)
			continue
		}
		p.l.isDead = true // under commitMu: never committed from now on
		r.fenced.Store(true)
		r.stop()
		c.fenced.Add(1)
		c.fencedNow(*r.part)
		c.e.log.Warn("cluster: commit fenced: another node holds the part now; stopped it and dropping its local state",
			"part", r.part.String(), "epoch", epoch)
	}
	c.wake()
	return kept, nil
}

// stateObject is the object id of the runner's state.
func (r *viewRunner) stateObject() uint64 {
	if r.stateID != 0 {
		return r.stateID
	}
	return r.obj.entry.ID
}

// buildOptions adds the runner's part to o.
func (r *viewRunner) buildOptions(o planner.BuildOptions) planner.BuildOptions {
	if r.part != nil && r.part.Count > 1 {
		o.Part.Index, o.Part.Count = r.part.Index, r.part.Count
	}
	return o
}

// profiledPart returns the runner of the first part of view o running
// here (EXPLAIN ANALYZE shows its operators), nil if none does.
func (c *clusterMember) profiledPart(o *object) *viewRunner {
	m := c.e.views
	m.mu.Lock()
	defer m.mu.Unlock()
	var out *viewRunner
	for _, r := range m.parts {
		if r.obj == o && (out == nil || r.part.Index < out.part.Index) {
			out = r
		}
	}
	return out
}

// localPart returns the runner of a part running here.
func (m *viewManager) localPart(id PartID) (*viewRunner, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.parts[id]
	return r, ok
}

// viewStatus is a view's status in a cluster: that of a part running here
// that is not well, else that of one that is, else running elsewhere.
func (c *clusterMember) viewStatus(o *object) viewStatus {
	if o.stream == nil {
		return viewStatus{State: stateFailed, Err: o.streamErr, Since: o.entry.CreatedAt}
	}
	m := c.e.views
	m.mu.Lock()
	var rs []*viewRunner
	for _, r := range m.parts {
		if r.obj == o {
			rs = append(rs, r)
		}
	}
	m.mu.Unlock()
	var st viewStatus
	for i, r := range rs {
		s := r.status()
		if !s.healthy() {
			return s
		}
		if i == 0 {
			st = s
		}
	}
	if len(rs) == 0 {
		st = viewStatus{State: stateRunning, Since: o.entry.CreatedAt}
	}
	return st
}

// scanView reads a view in a cluster: the union of its parts, those held
// here from local Badger, the others from their owners (Peers.ScanPart),
// each as its owner last committed it.
func (c *clusterMember) scanView(obj *object) *partUnion {
	return &partUnion{c: c, obj: obj, n: c.partsOf(obj), keyed: obj.stream != nil && obj.stream.Key != nil}
}

// partUnion iterates the rows of a view's parts, one part after another.
type partUnion struct {
	c     *clusterMember
	obj   *object
	n     int // parts
	next  int // the next part to open
	keyed bool
	cur   *viewRows
}

func (u *partUnion) Next(ctx context.Context) (types.Row, error) {
	for {
		if u.cur != nil {
			row, err := u.cur.Next(ctx)
			if err != io.EOF {
				return row, err
			}
			u.cur.Close()
			u.cur = nil
		}
		if u.next >= u.n {
			return nil, io.EOF
		}
		id := PartID{Group: ViewGroup(u.obj.entry.Name), Index: u.next, Count: u.n}
		u.next++
		var err error
		if u.cur, err = u.c.openPart(ctx, u.obj, id, u.keyed); err != nil {
			return nil, err
		}
	}
}

func (u *partUnion) Close() {
	if u.cur != nil {
		u.cur.Close()
		u.cur = nil
	}
	u.next = u.n
}

// openPart reads one part of a view: locally if it runs here.
func (c *clusterMember) openPart(ctx context.Context, obj *object, id PartID, keyed bool) (*viewRows, error) {
	name := obj.entry.Name
	r, ok := c.e.views.localPart(id)
	if !ok || r.fenced.Load() {
		r, ok = c.awaitHeld(ctx, id)
	}
	if ok {
		snap, err := c.e.db.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("read view %s: %w", name, err)
		}
		return &viewRows{name: name, keyed: keyed, snap: snap, it: snap.Scan(r.stateID, planner.MaterializeTable, nil, nil)}, nil
	}
	var ents entrySlice
	if err := c.cfg.Peers.ScanPart(ctx, id, func(key, val []byte) error {
		ents = append(ents, [2][]byte{bytes.Clone(key), bytes.Clone(val)})
		return nil
	}); err != nil {
		if ctx.Err() != nil {
			return nil, sqlerr.Flatten(ctx.Err())
		}
		return nil, sqlerr.Wrap(err, sqlerr.ConnectionException, fmt.Sprintf("read part %s of view %s from its owner", id.Key(), name))
	}
	return &viewRows{name: name, keyed: keyed, it: &ents}, nil
}

// heldStartWait bounds how long a read waits for a part this node holds
// to start (restore) before it asks the peers instead.
const heldStartWait = 10 * time.Second

// awaitHeld waits, when this node holds part id, until it runs here (it
// is being restored or restarted) and returns its runner; false when the
// part is not held here or did not start within heldStartWait.
func (c *clusterMember) awaitHeld(ctx context.Context, id PartID) (*viewRunner, bool) {
	deadline := time.NewTimer(heldStartWait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		held, changed := c.cfg.Membership.Held()
		if !slices.ContainsFunc(held, func(h HeldPart) bool { return h.Part == id }) {
			return nil, false
		}
		if r, ok := c.e.views.localPart(id); ok && !r.fenced.Load() {
			return r, true
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

// entrySlice is a peer's part read whole, as an entryIter.
type entrySlice [][2][]byte

func (s *entrySlice) Next() (key, value []byte, ok bool, err error) {
	if len(*s) == 0 {
		return nil, nil, false, nil
	}
	e := (*s)[0]
	*s = (*s)[1:]
	return e[0], e[1], true, nil
}

func (s *entrySlice) Close() { *s = nil }

// ScanLocalPart calls fn with every entry of the view table of part, a
// part of a view running on this node, as last committed: what a peer's
// Peers.ScanPart reads. It fails with 55000 when the part does not run
// here (not held, or not restored yet).
func (e *Engine) ScanLocalPart(ctx context.Context, part PartID, fn func(key, val []byte) error) error {
	if e.cluster == nil {
		return sqlerr.Newf(sqlerr.ObjectNotInPrerequisiteState, "this engine is not a cluster member")
	}
	r, ok := e.views.localPart(part)
	if !ok {
		return sqlerr.Newf(sqlerr.ObjectNotInPrerequisiteState, "part %s does not run on this node", part)
	}
	snap, err := e.db.Snapshot()
	if err != nil {
		return fmt.Errorf("read part %s: %w", part, err)
	}
	defer snap.Close()
	it := snap.Scan(r.stateID, planner.MaterializeTable, nil, nil)
	defer it.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, v, ok, err := it.Next()
		if err != nil {
			return fmt.Errorf("read part %s: %w", part, err)
		}
		if !ok {
			return nil
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
}

// FlushLocal is FLUSH of the parts running on this node only, of views
// and of sinks: what a peer's Peers.Flush asks of it.
func (e *Engine) FlushLocal(ctx context.Context) error {
	flush := func(ctx context.Context) error {
		start := time.Now()
		if _, err := e.views.flush(ctx, ""); err != nil {
			return err
		}
		_, err := e.flushSinks(ctx, start, "")
		return err
	}
	if e.cluster == nil {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, DefaultFlushTimeout)
			defer cancel()
		}
		return flush(ctx)
	}
	return e.cluster.flushLocal(ctx, flush)
}

// flushLocal runs flush, a FLUSH of the parts running here, once every
// held part has started, and again should a part have been restarted
// (fenced, restored) meanwhile: until one flush saw the same parts all
// through. Bounded by DefaultFlushTimeout without a deadline on ctx.
func (c *clusterMember) flushLocal(ctx context.Context, flush func(context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFlushTimeout)
		defer cancel()
	}
	for {
		before := c.restores.Load() + c.fenced.Load()
		if err := c.waitStarted(ctx); err != nil {
			return err
		}
		if err := flush(ctx); err != nil {
			return err
		}
		if c.restores.Load()+c.fenced.Load() == before {
			return nil
		}
	}
}

// waitStarted waits until every part this node holds, of a view or sink it
// knows, runs here: FLUSH waits for the parts it holds, not only for those
// already restored.
func (c *clusterMember) waitStarted(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFlushTimeout)
		defer cancel()
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		held, changed := c.cfg.Membership.Held()
		var missing *PartID
		for _, h := range held {
			if _, ok := c.heldView(h.Part); ok {
				if r, running := c.e.views.localPart(h.Part); !running || r.fenced.Load() {
					missing = &h.Part
					break
				}
				continue
			}
			if _, ok := c.heldSink(h.Part); ok {
				c.mu.Lock()
				_, running := c.sinkPartsRunning[h.Part]
				c.mu.Unlock()
				if !running {
					missing = &h.Part
					break
				}
			}
		}
		if missing == nil {
			return nil
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return sqlerr.Flatten(ctx.Err())
			}
			return sqlerr.Newf(sqlerr.QueryCanceled, "FLUSH did not finish: part %s held by this node has not started (restoring its state)", missing)
		}
	}
}

// ClusterStats returns what SHOW CLUSTER and the metrics show of this
// node's parts; zero outside a cluster.
func (e *Engine) ClusterStats() ClusterStats {
	c := e.cluster
	if c == nil {
		return ClusterStats{}
	}
	// The consumers of the parts running here, by source.
	consumers := map[*object]map[string]bool{}
	add := func(src *object, consumer string) {
		if consumers[src] == nil {
			consumers[src] = map[string]bool{}
		}
		consumers[src][consumer] = true
	}
	e.views.mu.Lock()
	held := len(e.views.parts)
	for _, r := range e.views.parts {
		for _, src := range r.srcs {
			add(src, r.consumer())
		}
	}
	e.views.mu.Unlock()
	sinks := c.sinkRunners("")
	held += len(sinks)
	for _, r := range sinks {
		if r.from != nil {
			add(r.from, r.consumer())
		}
	}
	var lag int64
	for src, names := range consumers {
		for _, st := range e.sources.kinesisStatus(src.entry.Name) {
			if names[st.consumer] {
				lag = max(lag, st.MillisBehindLatest)
			}
		}
	}
	return ClusterStats{Held: held, Fenced: c.fenced.Load(), Restores: c.restores.Load(), LagMillis: lag}
}
