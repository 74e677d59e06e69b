package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// SUBSCRIBE: a view's committed rows as of an epoch E, then the net
// changes of every later epoch, each only once its epoch is committed.
//
// Where the changes come from: the view's Materialize table is handed to
// the operator through a matRecorder, which remembers, per key written in
// the current epoch, the key's value when the epoch began. When the
// runtime seals the table at barrier N (on the operator's goroutine, right
// after Materialize.OnBarrier) the recorder diffs those keys against their
// values now, giving epoch N's net changes in key order, and holds them.
// When the coordinator's CommitEpoch of N (or of a later epoch, which
// writes N's sealed buffers too after a failed commit) succeeds, the held
// changes of epochs <= N are published to the view's subscriptions. A life
// that dies loses its held changes with its uncommitted state; the next
// life replays from the committed positions, so nothing is shown twice or
// lost.
//
// Recording costs a map entry per key written, so it only runs while the
// view has subscriptions. A subscription that finds it off asks for it and
// waits: it is switched on at the next seal S, and the subscription starts
// once S is committed (it asks for that checkpoint at once).
//
// The snapshot is read under the coordinator's commit lock, so that no
// epoch commits between choosing E and opening the read transaction; the
// scan itself runs after the lock is released (a Badger transaction reads
// as of its start).

// subscribeBuffer is how many change rows a subscription may have queued
// before it is ended as too slow (SQLSTATE 54000): the view's pipeline
// never waits for a subscriber.
const subscribeBuffer = 100_000

// Op names of SUBSCRIBE rows.
var subscribeOps = [...]string{
	exec.Insert:       "insert",
	exec.Delete:       "delete",
	exec.UpdateDelete: "update_delete",
	exec.UpdateInsert: "update_insert",
}

const opProgress = "progress"

// subscribeColumns returns the columns of a SUBSCRIBE: epoch, op, with
// PROGRESS the watermark, then the view's columns.
func subscribeColumns(view []types.Column, progress bool) []types.Column {
	cols := []types.Column{{Name: "epoch", Type: types.TypeBigInt}, textCol("op")}
	if progress {
		cols = append(cols, types.Column{Name: "watermark", Type: types.TypeTimestamp})
	}
	return append(cols, view...)
}

// subHub holds the subscriptions of every view; the zero value is ready.
type subHub struct {
	mu    sync.Mutex
	views map[string]map[*subscription]struct{}
}

func (h *subHub) add(s *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.views == nil {
		h.views = map[string]map[*subscription]struct{}{}
	}
	if h.views[s.view] == nil {
		h.views[s.view] = map[*subscription]struct{}{}
	}
	h.views[s.view][s] = struct{}{}
}

func (h *subHub) remove(s *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.views[s.view], s)
	if len(h.views[s.view]) == 0 {
		delete(h.views, s.view)
	}
}

func (h *subHub) has(view string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.views[view]) > 0
}

func (h *subHub) list(view string) []*subscription {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*subscription, 0, len(h.views[view]))
	for s := range h.views[view] {
		out = append(out, s)
	}
	return out
}

// end fails every subscription of a view (DROP).
func (h *subHub) end(view string, err error) {
	for _, s := range h.list(view) {
		s.fail(err)
		h.remove(s)
	}
}

// subEvent is one queued row of a subscription: a change or, with op
// opProgress, the end of a committed epoch.
type subEvent struct {
	epoch uint64
	op    string
	row   types.Row // nil for progress
	wm    int64
	hasWM bool
}

// subscription is one running SUBSCRIBE.
type subscription struct {
	view     string
	progress bool

	mu     sync.Mutex
	after  uint64 // epochs <= after are in the snapshot; MaxUint64 until started
	queue  []subEvent
	head   int
	err    error
	signal chan struct{} // cap 1: something was queued or err set
}

func (s *subscription) wake() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *subscription) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.wake()
}

// push queues one committed epoch's changes (and its progress row); it
// never blocks. It reports false when the subscription has ended.
func (s *subscription) push(epoch uint64, changes []subEvent, progress *subEvent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	if epoch <= s.after {
		return true
	}
	n := len(changes)
	if s.progress && progress != nil {
		n++
	}
	if n == 0 {
		return true
	}
	if len(s.queue)-s.head+n > subscribeBuffer {
		s.err = sqlerr.Newf(sqlerr.ProgramLimitExceeded,
			"SUBSCRIBE to %s fell %d rows behind the view and was ended", s.view, subscribeBuffer).
			WithHint("Read the subscription faster, or SUBSCRIBE again (WITH (SNAPSHOT) to start from the current rows).")
		s.queue, s.head = nil, 0
		s.wake()
		return false
	}
	if s.head > 0 && s.head >= len(s.queue)/2 {
		s.queue = append(s.queue[:0], s.queue[s.head:]...)
		s.head = 0
	}
	s.queue = append(s.queue, changes...)
	if s.progress && progress != nil {
		s.queue = append(s.queue, *progress)
	}
	s.wake()
	return true
}

// pop returns the next queued row, or ok false when none is there.
func (s *subscription) pop() (ev subEvent, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head < len(s.queue) {
		ev = s.queue[s.head]
		s.queue[s.head] = subEvent{}
		s.head++
		return ev, true, nil
	}
	return subEvent{}, false, s.err
}

func (s *subscription) ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head < len(s.queue) || s.err != nil
}

// matRecorder wraps a view's Materialize table (see the comment at the
// top of this file). Get, Put, Delete, Scan and SealEpoch run on the
// operator's goroutine; pending is shared with the coordinator under mu.
type matRecorder struct {
	*state.Table
	m     *viewManager
	view  string
	keyed bool

	on     bool              // recording (operator goroutine)
	before map[string][]byte // key -> value when the epoch began, nil if absent

	mu      sync.Mutex
	active  bool   // mirror of on, for subscribers
	from    uint64 // every epoch after from is recorded while active
	pending map[uint64][]subEvent
	wm      int64 // the watermark committed with the last published epoch
	hasWM   bool
	// followers get every recorded epoch's changes at its seal, and log
	// writes them to Badger, for the views that read this one
	// (changelog.go); sealed is the last epoch sealed.
	followers map[*changelogFollower]struct{}
	log       *changelogLog
	sealed    uint64
}

var _ exec.EpochSealer = (*matRecorder)(nil)

// subscribeTable returns the table the view's operator op gets: its own
// state table, wrapped for SUBSCRIBE when op is the Materialize.
func (l *viewLife) subscribeTable(op uint32, t *state.Table) exec.StateTable {
	if op != planner.MaterializeTable {
		return t
	}
	r := l.r
	if r.obj.sinkShared != nil {
		l.sinkStage.Table = t // a sink's pipeline: its staging table (sinkview.go)
		return l.sinkStage
	}
	on := r.m.subs.has(r.obj.entry.Name) || r.m.hasDependents(r.obj.entry.Name)
	rec := &matRecorder{Table: t, m: r.m, view: r.obj.entry.Name,
		keyed: r.obj.stream != nil && r.obj.stream.Key != nil,
		on:    on, active: on, pending: map[uint64][]subEvent{}}
	rec.log = &changelogLog{l: l, table: r.m.e.db.Table(r.stateObject(), changelogTable)}
	l.tables = append(l.tables, rec.log.table)
	if on {
		rec.before = map[string][]byte{}
	}
	l.rec = rec
	return rec
}

func (c *matRecorder) touch(key []byte) error {
	if !c.on {
		return nil
	}
	if _, seen := c.before[string(key)]; seen {
		return nil
	}
	v, ok, err := c.Table.Get(key)
	if err != nil {
		return err
	}
	var img []byte
	if ok {
		img = bytes.Clone(v)
	}
	c.before[string(key)] = img
	return nil
}

func (c *matRecorder) Put(key, value []byte) error {
	if err := c.touch(key); err != nil {
		return err
	}
	return c.Table.Put(key, value)
}

func (c *matRecorder) Delete(key []byte) error {
	if err := c.touch(key); err != nil {
		return err
	}
	return c.Table.Delete(key)
}

// SealEpoch records epoch's net changes, switches recording on or off for
// the next epoch, and seals the table.
func (c *matRecorder) SealEpoch(epoch uint64) error {
	var changes []subEvent
	var err error
	if c.on && len(c.before) > 0 {
		changes, err = c.diff(epoch)
	}
	dependents := c.m.hasDependents(c.view)
	if err != nil && dependents {
		return fmt.Errorf("record the changes the views reading %s need: %w", c.view, err)
	}
	want := c.m.subs.has(c.view) || dependents
	recorded := false
	c.mu.Lock()
	c.sealed = epoch
	switch {
	case err != nil:
		// Subscribers cannot be given this epoch: end them; recording
		// starts afresh for the next ones.
		c.m.subs.end(c.view, sqlerr.Wrap(err, sqlerr.Internal, "SUBSCRIBE: read the view's changes"))
		c.active, c.on, c.before = false, false, nil
		clear(c.pending)
	case c.on && !want:
		c.active, c.on, c.before = false, false, nil
		clear(c.pending)
	case c.on:
		if len(changes) > 0 {
			c.pending[epoch] = changes
		}
		recorded = true
		c.pushChangelog(epoch, changes)
	case want:
		c.active, c.on, c.from = true, true, epoch
		c.before = map[string][]byte{}
	}
	c.mu.Unlock()
	if err := c.sealChangelog(epoch, recorded && dependents); err != nil {
		return err
	}
	return c.Table.SealEpoch(epoch)
}

// diff turns the keys written this epoch into changes, in key order, as
// Materialize's own observer would.
func (c *matRecorder) diff(epoch uint64) ([]subEvent, error) {
	keys := make([]string, 0, len(c.before))
	for k := range c.before {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []subEvent
	add := func(op exec.Op, row types.Row) {
		out = append(out, subEvent{epoch: epoch, op: subscribeOps[op], row: row})
	}
	for _, k := range keys {
		was := c.before[k]
		now, ok, err := c.Table.Get([]byte(k))
		if err != nil {
			return nil, err
		}
		if !ok {
			now = nil
		}
		if bytes.Equal(was, now) {
			continue
		}
		if was == nil && exec.IsMaterializedBlock(now) {
			// A log block is written once, under a key of its own.
			if err := exec.MaterializedRows(c.keyed, now, func(row types.Row, _ int64) error {
				add(exec.Insert, row)
				return nil
			}); err != nil {
				return nil, err
			}
			continue
		}
		var oldRow, newRow types.Row
		var oldN, newN int64
		if was != nil {
			if oldRow, oldN, err = exec.DecodeMaterialized(c.keyed, was); err != nil {
				return nil, err
			}
		}
		if now != nil {
			if newRow, newN, err = exec.DecodeMaterialized(c.keyed, now); err != nil {
				return nil, err
			}
		}
		switch {
		case !c.keyed:
			row := newRow
			if row == nil {
				row = oldRow
			}
			for ; newN > oldN; newN-- {
				add(exec.Insert, row)
			}
			for ; oldN > newN; oldN-- {
				add(exec.Delete, row)
			}
		case was == nil:
			add(exec.Insert, newRow)
		case now == nil:
			add(exec.Delete, oldRow)
		default:
			add(exec.UpdateDelete, oldRow)
			add(exec.UpdateInsert, newRow)
		}
	}
	clear(c.before)
	return out, nil
}

// committedLife is a life whose state an epoch committed, with the
// watermark committed for it (if the epoch carried one).
type committedLife struct {
	l     *viewLife
	wm    int64
	hasWM bool
}

// publish releases the changes of every epoch <= epoch held by the lives
// just committed, and a progress row for epoch. The caller holds commitMu
// and CommitEpoch(epoch) succeeded.
func (m *viewManager) publish(epoch uint64, lives []committedLife) {
	for _, cl := range lives {
		rec := cl.l.rec
		if rec == nil {
			continue
		}
		rec.mu.Lock()
		if cl.hasWM {
			rec.wm, rec.hasWM = cl.wm, true
		}
		var epochs []uint64
		for e := range rec.pending {
			if e <= epoch {
				epochs = append(epochs, e)
			}
		}
		slices.Sort(epochs)
		var changes []subEvent
		for _, e := range epochs {
			// Changes of an epoch whose own commit failed were committed
			// now; they are shown at the epoch that made them durable.
			for _, ev := range rec.pending[e] {
				ev.epoch = epoch
				changes = append(changes, ev)
			}
			delete(rec.pending, e)
		}
		prog := subEvent{epoch: epoch, op: opProgress, wm: rec.wm, hasWM: rec.hasWM}
		rec.mu.Unlock()
		for _, s := range m.subs.list(rec.view) {
			if !s.push(epoch, changes, &prog) {
				m.subs.remove(s)
			}
		}
	}
}

// subscribe starts a SUBSCRIBE of view obj.
func (m *viewManager) subscribe(ctx context.Context, obj *object, progress, snapshot bool) (*Rows, error) {
	name := obj.entry.Name
	s := &subscription{view: name, progress: progress, after: math.MaxUint64, signal: make(chan struct{}, 1)}
	m.subs.add(s)
	started := false
	defer func() {
		if !started {
			m.subs.remove(s)
		}
	}()
	var (
		epoch uint64
		snap  *viewRows // nil without a snapshot
		wm    int64
		hasWM bool
	)
	for {
		ch := m.changes()
		m.mu.Lock()
		r := m.runners[name]
		m.mu.Unlock()
		if r == nil {
			return nil, sqlerr.Newf(sqlerr.ObjectNotInPrerequisiteState, "materialized view %s is not running", name)
		}
		ok, err := m.trySnapshot(r, s, snapshot, &epoch, &snap, &wm, &hasWM)
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		// Recording switches on at the next seal, and the subscription
		// starts once that epoch is committed: ask for it now rather than
		// wait up to two checkpoint intervals (a view not running has no
		// seal to ask for).
		if r.life.Load() != nil {
			m.checkpointSoon()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, sqlerr.Flatten(ctx.Err())
		case <-m.e.ctx.Done():
			return nil, sqlerr.Newf(sqlerr.AdminShutdown, "the engine is shutting down")
		}
	}
	started = true
	return m.subscriptionRows(ctx, s, obj, epoch, snap, wm, hasWM), nil
}

// trySnapshot starts s at the last committed epoch if the view's current
// life records every epoch after it; otherwise it asks for recording and
// reports false.
func (m *viewManager) trySnapshot(r *viewRunner, s *subscription, snapshot bool,
	epoch *uint64, snap **viewRows, wm *int64, hasWM *bool) (bool, error) {
	m.commitMu.Lock()
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			m.commitMu.Unlock()
		}
	}
	defer unlock()
	l := r.life.Load()
	if l == nil || l.isDead || l.rec == nil {
		return false, nil
	}
	rec := l.rec
	committed := m.committed.Load()
	rec.mu.Lock()
	ok := rec.active && rec.from <= committed
	*wm, *hasWM = rec.wm, rec.hasWM
	rec.mu.Unlock()
	if !ok {
		return false, nil // the next seal switches recording on
	}
	*epoch = committed
	s.mu.Lock()
	s.after = committed
	s.mu.Unlock()
	if !*hasWM {
		// Nothing published yet by this life: the committed watermark.
		*wm, *hasWM = l.startWM, l.hasStartWM
	}
	if !snapshot {
		return true, nil
	}
	// The snapshot reads as of now: epoch committed (commitMu is held).
	st, err := m.e.db.Snapshot()
	if err != nil {
		return false, fmt.Errorf("SUBSCRIBE %s: read the snapshot: %w", r.obj.entry.Name, err)
	}
	*snap = newViewRows(r.obj, st)
	return true, nil
}

// subscriptionRows streams a started subscription: the snapshot as
// inserts at epoch, a progress row, then the queued changes until ctx ends.
func (m *viewManager) subscriptionRows(ctx context.Context, s *subscription, obj *object,
	epoch uint64, snap *viewRows, wm int64, hasWM bool) *Rows {
	cols := subscribeColumns(obj.columns, s.progress)
	width := len(obj.columns)
	lead := 2
	if s.progress {
		lead = 3
	}
	format := func(ev subEvent) types.Row {
		out := make(types.Row, lead+width)
		out[0] = types.NewInt(int64(ev.epoch))
		out[1] = types.NewString(ev.op)
		if s.progress {
			out[2] = types.Null
			if ev.row == nil && ev.hasWM {
				out[2] = types.NewTimestamp(ev.wm)
			}
		}
		if ev.row != nil {
			copy(out[lead:], ev.row)
		} else {
			for i := lead; i < len(out); i++ {
				out[i] = types.Null
			}
		}
		return out
	}
	progressSent := !s.progress
	next := func() (types.Row, error) {
		if snap != nil {
			row, err := snap.Next(ctx)
			if err == nil {
				return format(subEvent{epoch: epoch, op: subscribeOps[exec.Insert], row: row}), nil
			}
			snap.Close()
			snap = nil
			if err != io.EOF {
				return nil, err
			}
		}
		if !progressSent {
			progressSent = true
			return format(subEvent{epoch: epoch, op: opProgress, wm: wm, hasWM: hasWM}), nil
		}
		for {
			ev, ok, err := s.pop()
			if ok {
				return format(ev), nil
			}
			if err != nil {
				return nil, err
			}
			select {
			case <-s.signal:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-m.e.ctx.Done():
				return nil, sqlerr.Newf(sqlerr.AdminShutdown, "the engine is shutting down")
			}
		}
	}
	closed := false
	return &Rows{
		columns: cols,
		next:    next,
		ready: func() bool {
			if snap != nil {
				if more, err := snap.more(); more || err != nil {
					return true // next answers at once
				}
			}
			return !progressSent || s.ready()
		},
		close: func() {
			if !closed {
				closed = true
				if snap != nil {
					snap.Close()
				}
				m.subs.remove(s)
			}
		},
		subscribe: true,
	}
}

// executeSubscribe runs a bound SUBSCRIBE statement.
func (s *Session) executeSubscribe(ctx context.Context, p *sql.Subscribe) (*Rows, error) {
	obj, err := s.subscribed(p)
	if err != nil {
		return nil, err
	}
	progress, snapshot, err := subscribeOptions(p)
	if err != nil {
		return nil, err
	}
	var rows *Rows
	if obj.kind == sql.KindTable {
		rows, err = s.engine.subscribeTable(ctx, obj, progress, snapshot)
	} else {
		rows, err = s.engine.views.subscribe(ctx, obj, progress, snapshot)
	}
	if err != nil {
		return nil, err
	}
	if p.Copy != nil {
		if rows.copyFormat, err = resolveCopyFormat(p.Copy, rows.columns); err != nil {
			rows.Close()
			return nil, err
		}
	}
	if w := s.engine.views.readWarning(obj); w != nil {
		rows.warnings = []*sqlerr.Error{w}
	}
	return rows, nil
}

func subscribeOptions(p *sql.Subscribe) (progress, snapshot bool, err error) {
	snapshot = true
	if v, ok, err := p.Options.Bool("progress"); err != nil {
		return false, false, err
	} else if ok {
		progress = v
	}
	if v, ok, err := p.Options.Bool("snapshot"); err != nil {
		return false, false, err
	} else if ok {
		snapshot = v
	}
	return progress, snapshot, nil
}

// bindSubscribe sets a SUBSCRIBE statement's columns (none for the COPY
// form, as Postgres describes COPY).
func (s *Session) bindSubscribe(st *Statement, p *sql.Subscribe) error {
	if p.Copy != nil {
		return nil
	}
	obj, err := s.subscribed(p)
	if err != nil {
		return err
	}
	progress, _, err := subscribeOptions(p)
	if err != nil {
		return err
	}
	st.columns = subscribeColumns(obj.columns, progress)
	return nil
}

// Subscribe runs a SUBSCRIBE statement ("SUBSCRIBE TO v WITH (PROGRESS)")
// and returns its rows: epoch, op, (watermark with PROGRESS), then the
// view's columns. Next blocks until the next committed change; the rows
// never end by themselves: cancel ctx (Next then returns false and Err
// a 57014 error) or Close them.
func (e *Engine) Subscribe(ctx context.Context, query string) (*Rows, error) {
	s := e.NewSession()
	stmts, err := s.Prepare(ctx, query)
	if err != nil {
		return s.closeOnEnd(nil, err)
	}
	if len(stmts) != 1 {
		return s.closeOnEnd(nil, sqlerr.Newf(sqlerr.SyntaxError, "Subscribe takes one statement, got %d", len(stmts)))
	}
	p, ok := stmts[0].stmt.(*sql.Subscribe)
	if !ok {
		return s.closeOnEnd(nil, sqlerr.Newf(sqlerr.WrongObjectType, "Subscribe takes a SUBSCRIBE statement").
			WithHint("Write SUBSCRIBE TO view."))
	}
	p.Copy = nil
	return s.closeOnEnd(s.Execute(ctx, stmts[0], nil))
}

// subscribed returns the view or table a SUBSCRIBE names.
func (s *Session) subscribed(p *sql.Subscribe) (*object, error) {
	if o, ok := s.engine.catalog.get(p.Name); ok && o.kind == sql.KindTable {
		return o, nil
	}
	return s.lookup(p.Name, p.NamePos, sql.KindView)
}
