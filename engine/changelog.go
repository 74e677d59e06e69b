package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// Views on views: a changelog input.
//
// A view that reads another view (a ChangelogScan in EXPLAIN) does not
// compute the upstream's plan again from the sources: it consumes the
// upstream's committed changes (inserts, deletes, update pairs) as an
// input of its own graph, so a chain of N views keeps N views' state and
// does N views' work, not N².
//
// Where the changes come from. An upstream view with dependents keeps its
// Materialize table's recorder (subscribe.go, matRecorder) on: at the seal
// of each epoch N (the Materialize's barrier, on the operator's goroutine)
// it has N's net changes in key order. It then
//   - pushes them, with the upstream's watermark at N (the least of its
//     inputs' at barrier N), to every follower: the changelog inputs of
//     the running dependents, which feed them into their graphs before
//     their own barrier N;
//   - writes them to its changelog table in Badger (operator id
//     changelogTable, key epoch | chunk), which CommitEpoch(N) writes in
//     the same transaction as the upstream's view table;
//   - trims that table: epochs every dependent has committed are deleted
//     (a dependent's position is its last committed epoch, see below).
//
// Epochs are global, and an epoch commits every view in one transaction,
// so a dependent consumes the upstream's epoch N within its own epoch N:
// the coordinator injects barriers upstream first (sortUpstreamFirst),
// and a changelog input whose upstream took barrier N waits for the
// upstream's seal of N before it passes barrier N on. Its committed
// position is the upstream epoch it has consumed, N, in the dependent's
// meta table, committed with its state. A dependent takes barrier N only
// if the upstream life it follows took it (else it skips epoch N, and
// reads the upstream's epoch N within its own next one), and is committed
// in epoch N only with that life (else it skips the commit and restarts):
// the upstream's changes it consumed are never ahead of what the upstream
// committed.
//
// A dependent's life starts (attach) under the coordinator's commit lock,
// at the last committed epoch C:
//   - with no position (a view just created): it backfills from the
//     upstream's rows at C (a snapshot taken under the lock), then follows;
//   - with position P <= C (a restart, or a life that ended while the
//     upstream went on): it replays the upstream's changelog of epochs
//     (P, C] from that snapshot, then follows.
// Following starts with the changes the upstream life has sealed but not
// committed yet (they are held for SUBSCRIBE anyway), then every later
// seal. When the upstream life ends (a restart), its followers end too:
// they restart from their committed position and replay. So each upstream
// change is applied once, also across a SIGKILL.
//
// The upstream's committed watermark flows into the dependent (after the
// changes it covers), so windows over a view still close.
//
// Other objects with a committed changelog (tables: each DML statement
// commits under an epoch) are read the same way through changelogSource.

// changelogTable is the operator id of an object's changelog table, beside
// its view table and viewMetaTable.
const changelogTable uint32 = 0xFFFFFFFE

// changelogAttachTimeout bounds how long a changelog input waits, at the
// start of its view's life, for its upstream to run and record its changes.
const changelogAttachTimeout = 30 * time.Second

// changelogChunk caps the changes of one changelog value in Badger.
const changelogChunk = 1024

// changelogSource is an object with a committed changelog that a view can
// read as an input: a materialized view (viewChangelog), or a table.
// viewManager.changelogOf picks the implementation by the object's kind.
//
// The contract with the coordinator: a changelog input passes barrier N
// on once f holds every change of an epoch <= N. An object whose changes
// come from a pipeline that takes barriers (a view) says, through
// f.expects(N), that it took barrier N and will push N at its seal; the
// input waits for that push. An object that commits on its own (a table's
// DML statement, committed under the coordinator's commit lock with an
// epoch of its own) pushes a statement's changes when it commits, before
// any later barrier is injected, and its expects is nil (never waits).
type changelogSource interface {
	// follow starts delivering the object's changes to f. The caller holds
	// the coordinator's commit lock and committed is the last committed
	// epoch: every change of an epoch up to committed is in the object's
	// rows and in its changelog table (writeChangelog's format), every
	// change of a later epoch is pushed to f (f.push) in epoch order. It
	// sets f.gone, f.expects and the watermark committed with the object
	// (f.startWM). ok is false when the object cannot promise that yet
	// (the caller waits for a commit and tries again).
	follow(f *changelogFollower, committed uint64) (ok bool, err error)
	// unfollow stops the pushes to f.
	unfollow(f *changelogFollower)
	// rows reads the object's rows in snap (a backfill), and closes snap
	// once they are read or the iterator is closed.
	rows(snap *state.Snapshot) exec.RowIter
	// readTo reports whether everything the object holds or will hold from
	// what its own inputs stood at start has been pushed, or will be by the
	// next barrier (FLUSH); if not, lagging names what is behind.
	readTo(start time.Time) (lagging string, ok bool)
}

// change is one row of a changelog.
type change struct {
	op  exec.Op
	row types.Row
}

// changelogEpoch is the changes of one epoch of an object, with its
// watermark at that epoch (if has).
type changelogEpoch struct {
	epoch   uint64
	changes []change
	wm      int64
	hasWM   bool
}

// queued is one entry of a follower's queue: an epoch's changes, or a
// run of epochs spilled, whose changes are left in the object's changelog
// table in Badger, to be read back in their turn (readBack).
type queued struct {
	changelogEpoch
	spilled bool
	to      uint64 // with spilled: the run is epochs epoch to to
	n       int    // with spilled: how many epochs of the run were pushed
}

// changelogQueues bounds and counts the queues of the changelog inputs of
// starting views (changelogFollower.limit).
type changelogQueues struct {
	limit    atomic.Int64 // bytes one input may queue while it starts; 0 for the default
	spilled  atomic.Int64 // epochs left in an upstream's changelog table instead
	readBack atomic.Int64 // epochs read back from there
	peak     atomic.Int64 // the most bytes a bounded queue held
}

// bound is the bytes one starting input may queue: 1/64 of the memory
// limit (at least 1 MiB), unless a test set its own.
func (q *changelogQueues) bound(mem memoryBudget) int64 {
	if l := q.limit.Load(); l > 0 {
		return l
	}
	return max(mem.limit/64, 1<<20)
}

// changelogFollower receives an object's changes; its changelog input
// feeds them into the view's graph.
//
// While the view starts (its backfill or replay, and the other inputs'),
// nothing drains the queue, and a busy upstream pushes epoch after epoch:
// past limit bytes, the follower keeps only which epochs were pushed,
// and the input reads their changes back from the object's changelog
// table once they are committed (they stay there until every dependent
// has committed past them, and this one has not committed yet). Once the
// view runs, its barriers wait for its inputs, so the queue holds about
// an epoch: unbound lifts the limit just before, so that no epoch of a
// checkpoint this view takes part in is spilled (its commit would wait
// for this view, which would wait for the commit).
type changelogFollower struct {
	mu      sync.Mutex
	queue   []queued
	through uint64 // the last epoch pushed
	// limit bounds held, the bytes of the changes queued, while > 0;
	// stats counts what the bound did.
	limit, held int64
	stats       *changelogQueues

	signal  chan struct{}
	killed  chan struct{}
	killErr error
	once    sync.Once

	// Set by follow: gone is closed when nothing more will be pushed (the
	// pipeline that pushes ended); expects reports whether epoch's changes
	// are still to come (it took epoch's barrier).
	gone       <-chan struct{}
	expects    func(epoch uint64) bool
	startWM    int64
	hasStartWM bool
	// life is the view life followed (viewChangelog).
	life *viewLife
}

func newChangelogFollower() *changelogFollower {
	return &changelogFollower{signal: make(chan struct{}, 1), killed: make(chan struct{})}
}

// push queues one epoch's changes, or past the limit spills them. It
// never blocks.
func (f *changelogFollower) push(e changelogEpoch) {
	f.mu.Lock()
	f.enqueue(e)
	if e.epoch > f.through {
		f.through = e.epoch
	}
	f.mu.Unlock()
	select {
	case f.signal <- struct{}{}:
	default:
	}
}

// enqueue adds e to the queue (f.mu held). Once an epoch is spilled, the
// next ones join its run until the queue is taken: read back in order.
func (f *changelogFollower) enqueue(e changelogEpoch) {
	if f.limit <= 0 {
		f.queue = append(f.queue, queued{changelogEpoch: e})
		return
	}
	if n := len(f.queue); n > 0 && f.queue[n-1].spilled {
		run := &f.queue[n-1]
		run.to, run.n = e.epoch, run.n+1
		f.stats.spilled.Add(1)
		return
	}
	size := changesBytes(e.changes)
	if f.held+size > f.limit {
		f.queue = append(f.queue, queued{changelogEpoch: changelogEpoch{epoch: e.epoch}, spilled: true, to: e.epoch, n: 1})
		f.stats.spilled.Add(1)
		return
	}
	f.queue = append(f.queue, queued{changelogEpoch: e})
	f.held += size
	for {
		p := f.stats.peak.Load()
		if f.held <= p || f.stats.peak.CompareAndSwap(p, f.held) {
			break
		}
	}
}

// unbound lifts the limit: the view is about to run (see the type).
func (f *changelogFollower) unbound() {
	f.mu.Lock()
	f.limit = 0
	f.mu.Unlock()
}

func (f *changelogFollower) take() ([]queued, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queue
	f.queue, f.held = nil, 0
	return q, f.through
}

// changesBytes estimates the memory changes hold.
func changesBytes(changes []change) int64 {
	n := int64(len(changes)) * int64(unsafe.Sizeof(change{}))
	for _, c := range changes {
		n += int64(len(c.row)) * int64(unsafe.Sizeof(types.Value{}))
		for _, v := range c.row {
			n += int64(len(v.Str()))
		}
	}
	return n
}

// kill ends the follower's input with err.
func (f *changelogFollower) kill(err error) {
	f.once.Do(func() {
		f.killErr = err
		close(f.killed)
	})
}

// changelogInput is a viewInput that reads an object's changelog.
type changelogInput struct {
	in     *viewInput
	src    changelogSource
	name   string
	pos    uint64 // the committed position, if hasPos
	hasPos bool
	f      *changelogFollower
	// Set by attach: the snapshot to backfill or replay from, and the
	// epoch it is at.
	snap     *state.Snapshot
	at       uint64
	attached bool
	barriers chan changelogBarrier
	// ready is set once the backfill or replay has been fed.
	ready atomic.Bool
	// lastWM is the watermark sent into the graph, if hasWM (the input's
	// goroutine).
	lastWM int64
	hasWM  bool
}

type changelogBarrier struct {
	epoch  uint64
	expect bool
}

// initChangelog makes in read its object's changelog, resuming after the
// position committed under its own key in the view's meta table (the
// upstream epoch consumed), if there is one.
func (in *viewInput) initChangelog() error {
	src, err := in.l.r.m.changelogOf(in.src)
	if err != nil {
		return err
	}
	m := in.l.r.m
	c := &changelogInput{in: in, src: src, name: in.src.entry.Name, f: newChangelogFollower(),
		barriers: make(chan changelogBarrier, 16)}
	c.f.limit, c.f.stats = m.clQueues.bound(m.e.mem), &m.clQueues
	in.posKey = append(slices.Clone(keyChangelogPos), in.src.entry.Name...)
	pos, hasPos, err := in.l.meta.Get(in.posKey)
	if err != nil {
		return fmt.Errorf("read committed position of %s: %w", c.name, err)
	}
	if hasPos {
		p, _, err := state.ReadUint64(pos)
		if err != nil {
			return fmt.Errorf("read committed position of %s: %w", c.name, err)
		}
		c.pos, c.hasPos = p, true
	} else if in.l.r.epoch.Load() > 0 {
		// Committed, but never with this input: an earlier build ran the
		// upstream's query inside this view, and its state is laid out for
		// that plan. Reading it as this one's would give wrong rows.
		return sqlerr.Newf(sqlerr.ObjectNotInPrerequisiteState,
			"materialized view %s was created by an earlier version, which computed %s inside it; its state cannot be read as a view over %s's changes",
			in.l.r.obj.entry.Name, c.name, c.name).
			WithHint("DROP MATERIALIZED VIEW %s and CREATE it again.", in.l.r.obj.entry.Name)
	}
	in.cl = c
	return nil
}

// keyChangelogPos prefixes the meta key of a changelog input's committed
// position (the upstream's name follows): a key of its own, never a source
// input's positions.
var keyChangelogPos = []byte("changelog/")

// changelogOf returns the changelog of object o, which a view reads.
func (m *viewManager) changelogOf(o *object) (changelogSource, error) {
	if o.kind == sql.KindView {
		return &viewChangelog{m: m, obj: o}, nil
	}
	if o.kind == sql.KindTable {
		return &tableChangelog{m: &m.e.tables, obj: o}, nil
	}
	return nil, fmt.Errorf("%s %s has no changelog to read", o.kind, o.entry.Name)
}

// attach starts following the upstream (see the top of this file); it
// runs before the life is published, so that no barrier reaches the input
// before it follows.
func (c *changelogInput) attach(ctx context.Context) error {
	m := c.in.l.r.m
	timer := time.NewTimer(changelogAttachTimeout)
	defer timer.Stop()
	for {
		ch := m.changes()
		ok, err := c.tryAttach()
		if err != nil || ok {
			return err
		}
		m.checkpointSoon() // the upstream switches recording on at its next seal
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return fmt.Errorf("materialized view %s did not start publishing its changes within %v (is it running?)",
				c.name, changelogAttachTimeout)
		}
	}
}

func (c *changelogInput) tryAttach() (bool, error) {
	m := c.in.l.r.m
	m.commitMu.Lock()
	defer m.commitMu.Unlock()
	committed := m.committed.Load()
	ok, err := c.src.follow(c.f, committed)
	if err != nil || !ok {
		return false, err
	}
	if c.hasPos && c.pos > committed {
		c.src.unfollow(c.f)
		return false, fmt.Errorf("%s: committed position %d is ahead of the last committed epoch %d", c.name, c.pos, committed)
	}
	// The snapshot reads as of now: epoch committed (commitMu is held).
	snap, err := m.e.db.Snapshot()
	if err != nil {
		c.src.unfollow(c.f)
		return false, fmt.Errorf("read %s: %w", c.name, err)
	}
	c.snap, c.at, c.attached = snap, committed, true
	return true, nil
}

// detach stops following and frees what attach kept.
func (c *changelogInput) detach() {
	if c.attached {
		c.src.unfollow(c.f)
	}
	if c.snap != nil {
		c.snap.Close()
		c.snap = nil
	}
}

// barrier asks the input to pass epoch's barrier on after the upstream's
// changes of epoch (when it took that barrier), and returns the position
// committed with it: the upstream epoch consumed. It does not wait for the
// upstream: the input's goroutine does.
func (c *changelogInput) barrier(ctx context.Context, epoch uint64) ([]byte, error) {
	req := changelogBarrier{epoch: epoch, expect: c.f.expects != nil && c.f.expects(epoch)}
	select {
	case c.barriers <- req:
	case <-c.in.l.dead:
		return nil, errors.New("the view stopped")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return state.AppendUint64(nil, epoch), nil
}

// readTo reports whether the upstream has read to start and this input
// has fed its backfill or replay.
func (c *changelogInput) readTo(start time.Time) (string, bool) {
	if !c.ready.Load() {
		return c.name, false
	}
	return c.src.readTo(start)
}

// advance sends the watermark wm into the graph if has and it is ahead.
func (c *changelogInput) advance(ctx context.Context, wm int64, has bool) error {
	if !has || (c.hasWM && wm <= c.lastWM) {
		return nil
	}
	c.lastWM, c.hasWM = wm, true
	return c.in.feed.Send(ctx, exec.Message{Kind: exec.KindWatermark, Watermark: exec.Watermark{Micros: wm}})
}

// send feeds changes into the graph, in batches of changelogChunk.
func (c *changelogInput) send(ctx context.Context, changes []change) error {
	for len(changes) > 0 {
		n := min(len(changes), changelogChunk)
		b := exec.NewBatch(n)
		for _, ch := range changes[:n] {
			b.Append(ch.op, ch.row)
		}
		changes = changes[n:]
		if err := c.in.feed.Send(ctx, exec.Message{Kind: exec.KindBatch, Batch: b}); err != nil {
			return err
		}
	}
	return nil
}

// feedQueued feeds what the follower has been pushed, and returns the
// last epoch pushed.
func (c *changelogInput) feedQueued(ctx context.Context) (uint64, error) {
	es, through := c.f.take()
	for _, e := range es {
		if e.spilled {
			if err := c.readBack(ctx, e); err != nil {
				return 0, err
			}
			continue
		}
		if err := c.send(ctx, e.changes); err != nil {
			return 0, err
		}
		if err := c.advance(ctx, e.wm, e.hasWM); err != nil {
			return 0, err
		}
	}
	if len(es) > 0 {
		c.in.l.r.m.notify()
	}
	return through, nil
}

// start attaches (see the top of this file) and feeds the backfill or the
// replay. It runs before the life is published: no barrier reaches the
// input before it follows, and a long backfill holds no other view's
// epoch back (the upstream's pushes queue meanwhile).
func (c *changelogInput) start(ctx context.Context) error {
	c.lastWM, c.hasWM = c.in.floor, c.in.hasFloor
	if err := c.attach(ctx); err != nil {
		return err
	}
	if err := c.catchUp(ctx); err != nil {
		return err
	}
	if h := testHookChangelogStarted.Load(); h != nil {
		(*h)(c.in.l.r.obj.entry.Name)
	}
	if err := c.advance(ctx, c.f.startWM, c.f.hasStartWM); err != nil {
		return err
	}
	c.ready.Store(true)
	return nil
}

// gone is the error of an input whose follower was killed or whose
// upstream life ended.
func (c *changelogInput) gone() error {
	select {
	case <-c.f.killed:
		return c.f.killErr
	default:
	}
	return fmt.Errorf("materialized view %s restarted: reading its changes again after the last committed epoch", c.name)
}

// readBack feeds a spilled run of epochs (changelogFollower) from the
// object's changelog table, once the run's last epoch is committed. Every
// epoch of the run was pushed before the view ran, so no commit it waits
// for waits for this view.
func (c *changelogInput) readBack(ctx context.Context, run queued) error {
	m := c.in.l.r.m
	timer := time.NewTimer(changelogAttachTimeout)
	defer timer.Stop()
	for {
		ch := m.changes()
		// injected first: checkpoints run one after another, so past
		// run.to it had ended when committed is read.
		injected := m.injected.Load()
		if m.committed.Load() >= run.to {
			break
		}
		if injected > run.to {
			// The checkpoint of run.to ended without committing it (a
			// failed commit): its changes commit only with a later epoch,
			// which waits for this view. Start again from what is
			// committed.
			return fmt.Errorf("read back the changes of %s: epoch %d failed to commit; reading them again after the last committed epoch", c.name, run.to)
		}
		select {
		case <-ch:
		case <-time.After(holdRecheck):
		case <-ctx.Done():
			return ctx.Err()
		case <-c.f.gone:
			return c.gone()
		case <-c.f.killed:
			return c.gone()
		case <-timer.C:
			return fmt.Errorf("read back the changes of %s: epoch %d was not committed within %v", c.name, run.to, changelogAttachTimeout)
		}
	}
	select {
	case <-c.f.gone: // its life may have ended before committing the run
		return c.gone()
	default:
	}
	snap, err := m.e.db.Snapshot()
	if err != nil {
		return fmt.Errorf("read back the changes of %s: %w", c.name, err)
	}
	defer snap.Close()
	it := snap.Scan(c.in.src.entry.ID, changelogTable, changelogKey(run.epoch, 0), changelogKey(run.to+1, 0))
	defer it.Close()
	epochs, last := 0, uint64(0)
	for {
		k, v, ok, err := it.Next()
		if err != nil {
			return fmt.Errorf("read back the changes of %s: %w", c.name, err)
		}
		if !ok {
			break
		}
		e, err := decodeChangelog(k, v)
		if err != nil {
			return fmt.Errorf("read back the changes of %s: %w", c.name, err)
		}
		if epochs == 0 || e.epoch != last {
			epochs, last = epochs+1, e.epoch
		}
		if err := c.send(ctx, e.changes); err != nil {
			return err
		}
		if err := c.advance(ctx, e.wm, e.hasWM); err != nil {
			return err
		}
	}
	if epochs != run.n {
		return fmt.Errorf("read back the changes of %s: its changelog holds %d of the %d epochs from %d to %d that were left there",
			c.name, epochs, run.n, run.epoch, run.to)
	}
	m.clQueues.readBack.Add(int64(epochs))
	return nil
}

// testHookChangelogStarted, when set, runs when a changelog input of a
// starting view has fed its backfill or replay: a test holds the start
// there while the upstream goes on.
var testHookChangelogStarted atomic.Pointer[func(view string)]

// run feeds the upstream's changes and watermarks, and barriers, until ctx
// ends or the upstream's life does.
func (c *changelogInput) run(ctx context.Context) error {
	gone := c.gone
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.f.gone:
			return gone()
		case <-c.f.killed:
			return gone()
		case <-c.f.signal:
			if _, err := c.feedQueued(ctx); err != nil {
				return err
			}
		case req := <-c.barriers:
			for {
				through, err := c.feedQueued(ctx)
				if err != nil {
					return err
				}
				if !req.expect || through >= req.epoch {
					break
				}
				select {
				case <-c.f.signal:
				case <-ctx.Done():
					return nil
				case <-c.f.gone:
					return gone()
				case <-c.f.killed:
					return gone()
				}
			}
			c.in.wmMu.Lock()
			c.in.wmAt[req.epoch] = watermarkCut{wm: c.lastWM, has: c.hasWM}
			c.in.wmMu.Unlock()
			if err := c.in.feed.Send(ctx, exec.Message{Kind: exec.KindBarrier, Barrier: exec.Barrier{Epoch: req.epoch}}); err != nil {
				return err
			}
			c.in.passed.Store(req.epoch)
		}
	}
}

// catchUp feeds what the snapshot of attach holds: the upstream's rows
// (no position yet) or its changelog of the epochs after the position.
func (c *changelogInput) catchUp(ctx context.Context) error {
	snap := c.snap
	if snap == nil {
		return nil
	}
	c.snap = nil
	if !c.hasPos {
		rows := c.src.rows(snap) // closes snap
		defer rows.Close()
		batch := make([]change, 0, changelogChunk)
		for {
			row, err := rows.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("backfill from %s: %w", c.name, err)
			}
			batch = append(batch, change{op: exec.Insert, row: row})
			if len(batch) == changelogChunk {
				if err := c.send(ctx, batch); err != nil {
					return err
				}
				batch = make([]change, 0, changelogChunk)
			}
		}
		return c.send(ctx, batch)
	}
	defer snap.Close()
	it := snap.Scan(c.in.src.entry.ID, changelogTable, changelogKey(c.pos+1, 0), changelogKey(c.at+1, 0))
	defer it.Close()
	for {
		k, v, ok, err := it.Next()
		if err != nil {
			return fmt.Errorf("replay the changelog of %s: %w", c.name, err)
		}
		if !ok {
			return nil
		}
		e, err := decodeChangelog(k, v)
		if err != nil {
			return fmt.Errorf("replay the changelog of %s: %w", c.name, err)
		}
		if err := c.send(ctx, e.changes); err != nil {
			return err
		}
		if err := c.advance(ctx, e.wm, e.hasWM); err != nil {
			return err
		}
	}
}

// changelogKey is the key of chunk of epoch in a changelog table.
func changelogKey(epoch uint64, chunk uint32) []byte {
	return binary.BigEndian.AppendUint32(state.AppendUint64(nil, epoch), chunk)
}

// writeChangelog writes epoch's changes to t, the object's changelog
// table: chunks of changelogChunk changes under (epoch, chunk), the first
// (written even without changes) carrying the watermark.
func writeChangelog(t exec.StateTable, e changelogEpoch) error {
	chunk := uint32(0)
	changes := e.changes
	for {
		n := min(len(changes), changelogChunk)
		var v []byte
		if chunk == 0 && e.hasWM {
			v = binary.BigEndian.AppendUint64(append(v, 1), uint64(e.wm))
		} else {
			v = append(v, 0)
		}
		for _, ch := range changes[:n] {
			v = append(v, byte(ch.op))
			v = binary.AppendUvarint(v, uint64(len(ch.row)))
			for _, val := range ch.row {
				v = types.AppendValue(v, val)
			}
		}
		if err := t.Put(changelogKey(e.epoch, chunk), v); err != nil {
			return err
		}
		changes = changes[n:]
		chunk++
		if len(changes) == 0 {
			return nil
		}
	}
}

// decodeChangelog reads one chunk written by writeChangelog.
func decodeChangelog(k, v []byte) (changelogEpoch, error) {
	var e changelogEpoch
	epoch, _, err := state.ReadUint64(k)
	if err != nil {
		return e, err
	}
	e.epoch = epoch
	if len(v) == 0 {
		return e, errors.New("empty changelog chunk")
	}
	if v[0] == 1 {
		if len(v) < 9 {
			return e, errors.New("changelog chunk: watermark truncated")
		}
		e.wm, e.hasWM = int64(binary.BigEndian.Uint64(v[1:9])), true
		v = v[9:]
	} else {
		v = v[1:]
	}
	for len(v) > 0 {
		op := exec.Op(v[0])
		n, w := binary.Uvarint(v[1:])
		if w <= 0 || op > exec.UpdateInsert {
			return e, errors.New("changelog chunk: bad change header")
		}
		v = v[1+w:]
		row := make(types.Row, n)
		for i := range row {
			if row[i], v, err = types.ReadValue(v); err != nil {
				return e, fmt.Errorf("changelog chunk: %w", err)
			}
		}
		e.changes = append(e.changes, change{op: op, row: row})
	}
	return e, nil
}

// viewChangelog is a materialized view's changelog (changelogSource).
type viewChangelog struct {
	m   *viewManager
	obj *object
}

var _ changelogSource = (*viewChangelog)(nil)

func (v *viewChangelog) follow(f *changelogFollower, committed uint64) (bool, error) {
	v.m.mu.Lock()
	r := v.m.runners[v.obj.entry.Name]
	v.m.mu.Unlock()
	if r == nil {
		return false, nil
	}
	l := r.life.Load()
	if l == nil || l.isDead || l.rec == nil {
		return false, nil
	}
	rec := l.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !rec.active || rec.from > committed {
		return false, nil // the next seal switches recording on
	}
	// What this life sealed and has not committed yet: SUBSCRIBE holds it
	// for the same reason.
	var epochs []uint64
	for e := range rec.pending {
		if e > committed {
			epochs = append(epochs, e)
		}
	}
	slices.Sort(epochs)
	for _, e := range epochs {
		f.push(changelogEpoch{epoch: e, changes: changesOf(rec.pending[e])})
	}
	// Every epoch this life sealed is pushed or committed.
	f.mu.Lock()
	f.through = max(f.through, rec.sealed)
	f.mu.Unlock()
	if rec.followers == nil {
		rec.followers = map[*changelogFollower]struct{}{}
	}
	rec.followers[f] = struct{}{}
	f.gone = l.dead
	f.expects = func(epoch uint64) bool { return l.barriered.Load() >= epoch }
	if wm := r.watermark.Load(); wm != nil {
		f.startWM, f.hasStartWM = *wm, true
	}
	f.life = l
	return true, nil
}

func (v *viewChangelog) unfollow(f *changelogFollower) {
	if l := f.life; l != nil && l.rec != nil {
		l.rec.mu.Lock()
		delete(l.rec.followers, f)
		l.rec.mu.Unlock()
	}
}

func (v *viewChangelog) rows(snap *state.Snapshot) exec.RowIter { return newViewRows(v.obj, snap) }

func (v *viewChangelog) readTo(start time.Time) (string, bool) {
	v.m.mu.Lock()
	r := v.m.runners[v.obj.entry.Name]
	v.m.mu.Unlock()
	if r == nil {
		return v.obj.entry.Name, false
	}
	l := r.life.Load()
	if l == nil {
		return v.obj.entry.Name, false
	}
	return l.readTo(start)
}

// changesOf turns SUBSCRIBE's events into changes.
func changesOf(evs []subEvent) []change {
	out := make([]change, len(evs))
	for i, ev := range evs {
		out[i] = change{op: opNamed(ev.op), row: ev.row}
	}
	return out
}

// opNamed is the op SUBSCRIBE names name (subscribeOps).
func opNamed(name string) exec.Op {
	for op, n := range subscribeOps {
		if n == name {
			return exec.Op(op)
		}
	}
	return exec.Insert
}

// hasDependents reports whether a view or sink reads view's changelog.
func (m *viewManager) hasDependents(view string) bool {
	for _, o := range m.e.catalog.snapshot().objects {
		if readsChangelog(o, view) {
			return true
		}
	}
	return false
}

func readsChangelog(o *object, name string) bool {
	if o.stream == nil {
		return false
	}
	for _, in := range o.stream.Inputs {
		if in.Changelog() && in.Source.Name == name {
			return true
		}
	}
	return false
}

// consumed returns the epoch up to which every dependent of view has
// committed its consumption of view's changelog (MaxUint64 with none); 0
// when one has not told yet.
func (m *viewManager) consumed(view string) uint64 {
	low := uint64(math.MaxUint64)
	for _, o := range m.e.catalog.snapshot().objects {
		if !readsChangelog(o, view) {
			continue
		}
		m.mu.Lock()
		r := m.runners[o.entry.Name]
		m.mu.Unlock()
		if r == nil {
			return 0
		}
		low = min(low, r.epoch.Load())
	}
	return low
}

// pushChangelog gives epoch's changes, with the life's watermark at
// epoch, to the followers (matRecorder.SealEpoch calls it under c.mu, in
// the step that holds them for SUBSCRIBE, so that follow sees each epoch
// either in pending or pushed, never both), and keeps them for
// sealChangelog.
func (c *matRecorder) pushChangelog(epoch uint64, changes []subEvent) {
	if c.log == nil {
		return
	}
	e := changelogEpoch{epoch: epoch, changes: changesOf(changes)}
	e.wm, e.hasWM = c.log.l.watermarkCut(epoch)
	for f := range c.followers {
		f.push(e)
	}
	c.log.last = e
}

// sealChangelog is the changelog's part of the Materialize's seal of
// epoch (on the operator's goroutine): with write, it writes the changes
// pushChangelog kept to the changelog table; it trims the epochs every
// dependent has committed, and seals the table.
func (c *matRecorder) sealChangelog(epoch uint64, write bool) error {
	log := c.log
	if log == nil {
		return nil
	}
	if write && log.last.epoch == epoch {
		if err := writeChangelog(log.table, log.last); err != nil {
			return fmt.Errorf("write changelog: %w", err)
		}
	}
	log.last = changelogEpoch{}
	// A dependent created since may lower low: trimmed follows it down.
	low := c.m.consumed(c.view)
	if low > log.trimmed {
		if err := trimChangelog(log.table, low); err != nil {
			return err
		}
	}
	log.trimmed = low
	return log.table.SealEpoch(epoch)
}

// trimChangelog deletes the epochs up to low (every one at MaxUint64)
// from t, an object's changelog table: low is what every dependent has
// committed (viewManager.consumed).
func trimChangelog(t exec.StateTable, low uint64) error {
	var end []byte
	if low < math.MaxUint64 {
		end = changelogKey(low+1, 0)
	}
	var keys [][]byte
	if err := t.Scan(nil, end, func(k, _ []byte) error {
		keys = append(keys, slices.Clone(k))
		return nil
	}); err != nil {
		return fmt.Errorf("trim changelog: %w", err)
	}
	for _, k := range keys {
		if err := t.Delete(k); err != nil {
			return fmt.Errorf("trim changelog: %w", err)
		}
	}
	return nil
}

// changelogLog is a view life's changelog table.
type changelogLog struct {
	l       *viewLife
	table   *state.Table
	trimmed uint64         // epochs up to it are deleted (operator goroutine)
	last    changelogEpoch // what pushChangelog pushed last
}

// watermarkCut returns the life's watermark at the barrier of epoch: the
// least of its inputs', if every input has one.
func (l *viewLife) watermarkCut(epoch uint64) (int64, bool) {
	var wm int64
	for i, in := range l.inputs {
		in.wmMu.Lock()
		c, ok := in.wmAt[epoch]
		in.wmMu.Unlock()
		if !ok || !c.has {
			return 0, false
		}
		if i == 0 || c.wm < wm {
			wm = c.wm
		}
	}
	return wm, len(l.inputs) > 0
}

// sortUpstreamFirst orders lives so that a view comes after every view
// whose changelog it reads: the coordinator injects barriers in that
// order, so that a changelog input knows whether its upstream took the
// barrier (changelogFollower.expects).
func sortUpstreamFirst(lives []*viewLife) {
	depth := map[string]int{}
	var depthOf func(o *object, seen int) int
	depthOf = func(o *object, seen int) int {
		if d, ok := depth[o.entry.Name]; ok {
			return d
		}
		d := 0
		if o.stream != nil && seen < 64 {
			for _, in := range o.stream.Inputs {
				if !in.Changelog() {
					continue
				}
				if up, ok := lives[0].r.m.e.catalog.get(in.Source.Name); ok {
					d = max(d, depthOf(up, seen+1)+1)
				}
			}
		}
		depth[o.entry.Name] = d
		return d
	}
	if len(lives) == 0 {
		return
	}
	slices.SortStableFunc(lives, func(a, b *viewLife) int {
		return depthOf(a.r.obj, 0) - depthOf(b.r.obj, 0)
	})
}

// changelogsInjected reports whether every view life that l follows took
// the barrier of epoch (lives are injected upstream first). One that did
// not (it failed to, or was published after this checkpoint listed the
// lives) will push nothing of epoch: l then skips epoch too, and reads
// the upstream's next epochs within its own next one.
func changelogsInjected(l *viewLife, epoch uint64) bool {
	for _, in := range l.inputs {
		if in.cl != nil && in.cl.f.life != nil && in.cl.f.life.barriered.Load() != epoch {
			return false
		}
	}
	return true
}

// changelogsCommitted reports whether every upstream life whose changes l
// consumed is committed in this epoch (committing); if not, l is not
// committed, and its inputs that follow a life not committed end (their
// view restarts from its committed position).
func changelogsCommitted(l *viewLife, committing map[*viewLife]bool) bool {
	ok := true
	for _, in := range l.inputs {
		if in.cl == nil || in.cl.f.life == nil {
			continue
		}
		if !committing[in.cl.f.life] {
			ok = false
			in.cl.f.kill(fmt.Errorf("materialized view %s was not committed with this view: reading its changes again after the last committed epoch", in.cl.name))
		}
	}
	return ok
}
