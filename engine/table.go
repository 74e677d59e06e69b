package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// Tables (CREATE TABLE): rows the user writes with INSERT, UPDATE and
// DELETE, kept in Badger.
//
// A DML statement reads the committed rows (a snapshot) under its own
// writes, then hands its writes and its changes (an insert, a delete, or
// an update pair per row) to the checkpoint coordinator (view.go), and
// returns once they are committed: the next checkpoint gives them its
// epoch, pushes the changes to the views that read the table before that
// epoch's barriers (so each view consumes them within its own epoch), and
// writes them in CommitEpoch's transaction with every view's state. So a
// restart or a SIGKILL after a statement returned keeps it, and a view
// over a table is exactly once with it. One statement at a time writes a
// table (tableState.mu): what it read is what it changes.
//
// Under the table's object id:
//
//	op 0 (planner.MaterializeTable)  the rows, laid out as a view's Materialize
//	                                 (keyed by the primary key, or counted
//	                                 whole rows without one), so SELECT reads a
//	                                 table as it reads a view
//	changelogTable (changelog.go)    epoch | chunk → the epoch's changes, the
//	                                 format a view's changelog has
//
// A view reads a table as it reads another view's changelog
// (tableChangelog, a changelogSource): a new view backfills from the rows,
// a restarted one replays the changelog after its committed position. The
// changelog keeps the epochs some dependent has not committed yet; a table
// that no view reads keeps none.

// tableManager holds what the engine knows of each table at run time,
// and the DML writes on their way into an epoch.
type tableManager struct {
	e  *Engine
	mu sync.Mutex
	// tables by object id; each table's followers are under mu.
	tables map[uint64]*tableState
	// pending are writes not yet given an epoch; inflight those given one
	// and not committed yet (a failed commit leaves them for the next).
	pending, inflight []*tableWrite
	// waiting counts the statements waiting for an earlier statement's
	// epoch to commit (lock); tests read it.
	waiting atomic.Int32
}

// tableState is one table at run time.
type tableState struct {
	// lock holds a token while a statement writes the table (lock): a
	// channel, so that a statement waiting for it stops at its deadline.
	lock      chan struct{}
	dropped   atomic.Bool // DROP TABLE has run
	followers map[*changelogFollower]struct{}
}

func (m *tableManager) state(obj *object) *tableState {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tables == nil {
		m.tables = map[uint64]*tableState{}
	}
	ts := m.tables[obj.entry.ID]
	if ts == nil {
		ts = &tableState{lock: make(chan struct{}, 1), followers: map[*changelogFollower]struct{}{}}
		m.tables[obj.entry.ID] = ts
	}
	return ts
}

// tableWrite is one DML statement's writes: the rows (key → stored
// value, nil to delete) and the changes, committed with epoch.
type tableWrite struct {
	obj     *object
	rows    map[string][]byte
	changes []change
	epoch   uint64
	done    chan error    // gets the commit's outcome
	settled chan struct{} // closed once committed
}

// maxTableWriteBytes bounds what one statement writes: its writes go into
// the transaction that commits an epoch.
const maxTableWriteBytes = 4 << 20

// lock takes table obj for one statement, once no other statement is
// writing it and every earlier statement's change to it that was given
// an epoch has committed: a statement cancelled while its epoch was
// being committed returned without its outcome (commit), and the next one
// must read that change, or a later epoch would overwrite it with rows
// read before it. The wait ends with ctx, or after DefaultFlushTimeout
// without a deadline, in an error naming what it waited for.
func (m *tableManager) lock(ctx context.Context, obj *object) (unlock func(), err error) {
	ts := m.state(obj)
	wctx, cancel := boundWait(ctx)
	defer cancel()
	select {
	case ts.lock <- struct{}{}:
	case <-wctx.Done():
		return nil, waitError(ctx, fmt.Sprintf("the statement writing table %s to end", obj.entry.Name))
	}
	unlock = func() { <-ts.lock }
	for {
		w := m.unsettled(obj.entry.ID)
		if w == nil {
			return unlock, nil
		}
		m.waiting.Add(1)
		select {
		case <-w.settled:
			m.waiting.Add(-1)
		case <-wctx.Done():
			m.waiting.Add(-1)
			unlock()
			return nil, waitError(ctx, fmt.Sprintf("epoch %d, with an earlier statement's change to table %s, to commit", w.epoch, obj.entry.Name))
		case <-m.e.ctx.Done():
			m.waiting.Add(-1)
			unlock()
			return nil, sqlerr.Newf(sqlerr.AdminShutdown, "the engine shut down while waiting for epoch %d, with an earlier statement's change to table %s, to commit", w.epoch, obj.entry.Name)
		}
	}
}

// unsettled returns a write to table id given an epoch and not committed
// yet, nil when there is none.
func (m *tableManager) unsettled(id uint64) *tableWrite {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.inflight {
		if w.obj.entry.ID == id {
			return w
		}
	}
	return nil
}

// boundWait returns ctx, bounded by DefaultFlushTimeout when it has no
// deadline of its own (statement_timeout), as FLUSH is.
func boundWait(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultFlushTimeout)
}

// waitError is the error of a statement that stopped waiting for what
// because its context ended (57014 with the context's reason) or
// boundWait's bound passed.
func waitError(ctx context.Context, what string) error {
	if ctx.Err() == nil {
		return sqlerr.Newf(sqlerr.QueryCanceled, "gave up after %v waiting for %s", DefaultFlushTimeout, what)
	}
	reason := sqlerr.Flatten(statementError(ctx, ctx.Err())).Message
	return sqlerr.Newf(sqlerr.QueryCanceled, "%s while waiting for %s", reason, what)
}

// commit hands w to the next checkpoint and waits until it is committed.
// The caller holds the table's lock. Cancelled before w is given an
// epoch, the change is not made; after, it may still commit, and the
// statement returns at once saying so: the next statement on the table
// waits for the epoch (lock).
func (m *tableManager) commit(ctx context.Context, w *tableWrite) error {
	w.done = make(chan error, 1)
	w.settled = make(chan struct{})
	m.mu.Lock()
	m.pending = append(m.pending, w)
	m.mu.Unlock()
	m.e.views.checkpointSoon()
	wctx, cancel := boundWait(ctx)
	defer cancel()
	select {
	case err := <-w.done:
		return err
	case <-wctx.Done():
	case <-m.e.ctx.Done():
	}
	name := w.obj.entry.Name
	m.mu.Lock()
	i := slices.Index(m.pending, w)
	if i >= 0 {
		m.pending = slices.Delete(m.pending, i, i+1)
	}
	m.mu.Unlock()
	select {
	case err := <-w.done: // committed meanwhile
		return err
	default:
	}
	switch {
	case i >= 0 && m.e.ctx.Err() != nil:
		return sqlerr.Newf(sqlerr.AdminShutdown, "the engine shut down before the change to table %s was committed: it was not made", name)
	case i >= 0:
		return waitError(ctx, fmt.Sprintf("a checkpoint to commit the change to table %s (it was not made)", name))
	case m.e.ctx.Err() != nil:
		return sqlerr.Newf(sqlerr.AdminShutdown, "the engine shut down while epoch %d, with the change to table %s, was being committed: it may have committed", w.epoch, name)
	}
	return waitError(ctx, fmt.Sprintf("epoch %d, with the change to table %s, to commit: the change may still commit (the next statement on %s waits for it)", w.epoch, name, name))
}

// take returns the writes for the next epoch: at most one per table (a
// table's changelog holds one statement per epoch).
func (m *tableManager) take() (writes []*tableWrite, any bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[uint64]bool{}
	rest := m.pending[:0]
	for _, w := range m.pending {
		if seen[w.obj.entry.ID] {
			rest = append(rest, w)
			continue
		}
		seen[w.obj.entry.ID] = true
		writes = append(writes, w)
	}
	m.pending = rest
	return writes, len(writes) > 0 || len(m.inflight) > 0
}

// assign gives writes epoch and pushes their changes to the followers
// of their tables: before the epoch's barriers, so that every view
// reading a table consumes the table's changes of epoch within its own.
func (m *tableManager) assign(epoch uint64, writes []*tableWrite) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range writes {
		w.epoch = epoch
		m.inflight = append(m.inflight, w)
		if ts := m.tables[w.obj.entry.ID]; ts != nil {
			for f := range ts.followers {
				f.push(changelogEpoch{epoch: epoch, changes: w.changes})
			}
		}
	}
}

// hasInflight reports whether writes wait for a commit.
func (m *tableManager) hasInflight() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.inflight) > 0
}

// extra writes the inflight writes in CommitEpoch's transaction: rows,
// changelog (trimmed to what some dependent has not committed yet).
func (m *tableManager) extra(txn *badger.Txn) error {
	m.mu.Lock()
	writes := slices.Clone(m.inflight)
	m.mu.Unlock()
	for _, w := range writes {
		if h := testHookTableCommit.Load(); h != nil {
			(*h)(w.obj.entry.Name, w.epoch)
		}
		id := w.obj.entry.ID
		for k, v := range w.rows {
			key := state.TableKey(id, planner.MaterializeTable, []byte(k))
			var err error
			if v == nil {
				err = txn.Delete(key)
			} else {
				err = txn.Set(key, v)
			}
			if err != nil {
				return err
			}
		}
		low := m.e.views.consumed(w.obj.entry.Name)
		if low == math.MaxUint64 {
			low = w.epoch // nobody reads it: a new dependent backfills from the rows
		} else if err := writeChangelog(txnTable{txn: txn, id: id}, changelogEpoch{epoch: w.epoch, changes: w.changes}); err != nil {
			return err
		}
		if err := trimChangelog(txnTable{txn: txn, id: id}, low); err != nil {
			return err
		}
	}
	return nil
}

// testHookTableCommit, when set, runs in the transaction that commits a
// table's statement: a test holds the commit there.
var testHookTableCommit atomic.Pointer[func(table string, epoch uint64)]

// committed reports the inflight writes committed in epoch: SUBSCRIBE
// shows them, their statements return. The caller holds the
// coordinator's commit lock, so follow sees every write committed or
// inflight, never neither.
func (m *tableManager) committed(epoch uint64) {
	m.mu.Lock()
	writes := m.inflight
	m.inflight = nil
	m.mu.Unlock()
	for _, w := range writes {
		m.e.publishTable(w.obj, epoch, w.changes)
		w.done <- nil
		close(w.settled)
	}
}

// txnTable is an object's changelog table in a transaction, for
// writeChangelog and trimChangelog.
type txnTable struct {
	txn *badger.Txn
	id  uint64
}

func (t txnTable) Get([]byte) ([]byte, bool, error) {
	return nil, false, errors.New("txnTable: write only")
}
func (t txnTable) Put(k, v []byte) error {
	return t.txn.Set(state.TableKey(t.id, changelogTable, k), slices.Clone(v))
}
func (t txnTable) Delete(k []byte) error {
	return t.txn.Delete(state.TableKey(t.id, changelogTable, k))
}
func (t txnTable) Scan(start, end []byte, fn func(k, v []byte) error) error {
	prefix := state.TableKey(t.id, changelogTable, nil)
	it := t.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(append(slices.Clone(prefix), start...)); it.Valid(); it.Next() {
		k := it.Item().Key()[len(prefix):]
		if end != nil && string(k) >= string(end) {
			return nil
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// tableChangelog is a table's changelog (changelogSource): its changes
// are pushed to the followers when their epoch is assigned, before the
// epoch's barriers.
type tableChangelog struct {
	m   *tableManager
	obj *object
}

var _ changelogSource = (*tableChangelog)(nil)

func (t *tableChangelog) follow(f *changelogFollower, committed uint64) (bool, error) {
	ts := t.m.state(t.obj)
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	for _, w := range t.m.inflight {
		if w.obj.entry.ID == t.obj.entry.ID && w.epoch > committed {
			f.push(changelogEpoch{epoch: w.epoch, changes: w.changes})
		}
	}
	ts.followers[f] = struct{}{}
	// A table has no event time: it holds back no watermark (a lookup
	// join ignores it; a regular join waits for it, as Flink's does).
	return true, nil
}

func (t *tableChangelog) unfollow(f *changelogFollower) {
	ts := t.m.state(t.obj)
	t.m.mu.Lock()
	delete(ts.followers, f)
	t.m.mu.Unlock()
}

func (t *tableChangelog) rows(snap *state.Snapshot) exec.RowIter { return newViewRows(t.obj, snap) }

// readTo: a statement returns once its changes are committed, with every
// view that reads the table in the same epoch.
func (t *tableChangelog) readTo(time.Time) (string, bool) { return "", true }

// buildTable derives a table's object from CREATE TABLE.
func buildTable(s *sql.CreateTable) *object {
	o := &object{kind: sql.KindTable, shown: s.Text, createTable: s,
		entry: state.CatalogEntry{Kind: "table", Name: s.Name, Definition: s.Text}}
	for _, col := range s.Columns {
		o.columns = append(o.columns, types.Column{Name: col.Name, Type: col.Type})
	}
	for _, k := range s.PrimaryKey {
		for i, c := range s.Columns {
			if c.Name == k {
				o.tableKey = append(o.tableKey, i)
			}
		}
	}
	return o
}

// tableTxn is one DML statement's view of a table: the committed rows
// (snap) under the statement's own writes.
type tableTxn struct {
	obj     *object
	snap    *state.Snapshot
	rows    map[string][]byte // key → stored value, nil when deleted
	changes []change
	bytes   int
}

func (t *tableTxn) keyed() bool { return len(t.obj.tableKey) > 0 }

// key returns the stored key of row: its primary key, or the whole row.
func (t *tableTxn) key(row types.Row) []byte {
	if !t.keyed() {
		return exec.AppendMaterializedKey(nil, row)
	}
	kv := make(types.Row, len(t.obj.tableKey))
	for i, c := range t.obj.tableKey {
		kv[i] = row[c]
	}
	return exec.AppendMaterializedKey(nil, kv)
}

// get returns the row stored under key and its count (1 in a keyed
// table; 0 when absent).
func (t *tableTxn) get(key []byte) (types.Row, int64, error) {
	v, ok := t.rows[string(key)]
	if !ok {
		var err error
		if v, ok, err = t.snap.Get(t.obj.entry.ID, planner.MaterializeTable, key); err != nil {
			return nil, 0, fmt.Errorf("table %s: %w", t.obj.entry.Name, err)
		}
	}
	if v == nil {
		return nil, 0, nil
	}
	row, n, err := exec.DecodeMaterialized(t.keyed(), v)
	if err != nil {
		return nil, 0, fmt.Errorf("table %s: stored row: %w", t.obj.entry.Name, err)
	}
	return row, n, nil
}

func (t *tableTxn) put(key []byte, row types.Row, n int64) error {
	var v []byte
	if n > 0 {
		v = exec.AppendMaterializedValue(nil, t.keyed(), row, n)
	}
	t.rows[string(key)] = v
	t.bytes += 2*len(key) + 2*len(v) + 16
	if t.bytes > maxTableWriteBytes {
		return sqlerr.Newf(sqlerr.ProgramLimitExceeded, "the statement changes more of table %s than one statement may (%d MiB)", t.obj.entry.Name, maxTableWriteBytes>>20).
			WithHint("Change the rows in several statements (a WHERE on ranges of the key).")
	}
	return nil
}

// insert adds row; with a key already held, it fails (23505) unless
// onDup gives the row to store instead (ON DUPLICATE KEY UPDATE).
func (t *tableTxn) insert(row types.Row, onDup func(old, new types.Row) (types.Row, error)) (int64, error) {
	key := t.key(row)
	old, n, err := t.get(key)
	if err != nil {
		return 0, err
	}
	if !t.keyed() {
		t.changes = append(t.changes, change{exec.Insert, row})
		return 1, t.put(key, row, n+1)
	}
	if n == 0 {
		t.changes = append(t.changes, change{exec.Insert, row})
		return 1, t.put(key, row, 1)
	}
	if onDup == nil {
		return 0, t.duplicate(row)
	}
	upd, err := onDup(old, row)
	if err != nil {
		return 0, err
	}
	if !sameKey(t.obj.tableKey, old, upd) {
		return 0, sqlerr.Newf(sqlerr.FeatureNotSupported, "ON DUPLICATE KEY UPDATE cannot change the primary key of table %s", t.obj.entry.Name)
	}
	// MySQL counts an upsert that changed a row twice, one that changed
	// nothing not at all; Postgres's tag counts the row once.
	if !rowsEqual(old, upd) {
		t.changes = append(t.changes, change{exec.UpdateDelete, old}, change{exec.UpdateInsert, upd})
	}
	return 1, t.put(key, upd, 1)
}

func (t *tableTxn) duplicate(row types.Row) error {
	names := make([]string, len(t.obj.tableKey))
	vals := make([]string, len(t.obj.tableKey))
	for i, c := range t.obj.tableKey {
		names[i] = t.obj.columns[c].Name
		vals[i] = row[c].String()
	}
	return sqlerr.Newf(sqlerr.UniqueViolation, "duplicate key value violates unique constraint \"%s_pkey\"", t.obj.entry.Name).
		WithDetail("Key (%s)=(%s) already exists.", strings.Join(names, ", "), strings.Join(vals, ", "))
}

// remove deletes one copy of row (as stored: read by the statement's
// query).
func (t *tableTxn) remove(row types.Row) error {
	key := t.key(row)
	old, n, err := t.get(key)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil // a bag row deleted as often as it was there
	}
	t.changes = append(t.changes, change{exec.Delete, old})
	return t.put(key, old, n-1)
}

// update replaces one copy of old by upd.
func (t *tableTxn) update(old, upd types.Row) error {
	okey, nkey := t.key(old), t.key(upd)
	stored, n, err := t.get(okey)
	if err != nil || n == 0 {
		return err
	}
	if !t.keyed() {
		if err := t.put(okey, stored, n-1); err != nil {
			return err
		}
		_, m, err := t.get(nkey)
		if err != nil {
			return err
		}
		if err := t.put(nkey, upd, m+1); err != nil {
			return err
		}
	} else {
		if string(okey) != string(nkey) {
			if _, m, err := t.get(nkey); err != nil {
				return err
			} else if m > 0 {
				return t.duplicate(upd)
			}
			if err := t.put(okey, nil, 0); err != nil {
				return err
			}
		}
		if err := t.put(nkey, upd, 1); err != nil {
			return err
		}
	}
	if !rowsEqual(stored, upd) {
		t.changes = append(t.changes, change{exec.UpdateDelete, stored}, change{exec.UpdateInsert, upd})
	}
	return nil
}

func sameKey(key []int, a, b types.Row) bool {
	for _, c := range key {
		if string(exec.AppendMaterializedKey(nil, a[c:c+1])) != string(exec.AppendMaterializedKey(nil, b[c:c+1])) {
			return false
		}
	}
	return true
}

func rowsEqual(a, b types.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].IsNull() != b[i].IsNull() || a[i].Kind() != b[i].Kind() || a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

// writeTable runs fn over table obj's committed rows and commits its
// writes and changes with the next epoch. The caller holds the table's
// lock, so no other statement changes the rows fn read before this one
// commits.
func (e *Engine) writeTable(ctx context.Context, obj *object, fn func(t *tableTxn) error) error {
	if e.tables.state(obj).dropped.Load() {
		return sqlerr.Newf(sqlerr.UndefinedTable, "table %q was dropped", obj.entry.Name)
	}
	snap, err := e.db.Snapshot()
	if err != nil {
		return err
	}
	t := &tableTxn{obj: obj, snap: snap, rows: map[string][]byte{}}
	err = fn(t)
	snap.Close()
	if err != nil || len(t.changes) == 0 {
		return err
	}
	return e.tables.commit(ctx, &tableWrite{obj: obj, rows: t.rows, changes: t.changes})
}

// publishTable shows a committed epoch's changes to SUBSCRIBE.
func (e *Engine) publishTable(obj *object, epoch uint64, changes []change) {
	subs := e.views.subs.list(obj.entry.Name)
	if len(subs) == 0 {
		return
	}
	evs := make([]subEvent, len(changes))
	for i, c := range changes {
		evs[i] = subEvent{epoch: epoch, op: subscribeOps[c.op], row: c.row}
	}
	prog := subEvent{epoch: epoch, op: opProgress}
	for _, s := range subs {
		if !s.push(epoch, evs, &prog) {
			e.views.subs.remove(s)
		}
	}
}

// subscribeTable starts a SUBSCRIBE of table obj: its rows at the last
// committed epoch, then each later epoch's changes.
func (e *Engine) subscribeTable(ctx context.Context, obj *object, progress, snapshot bool) (*Rows, error) {
	m := e.views
	s := &subscription{view: obj.entry.Name, progress: progress, after: math.MaxUint64, signal: make(chan struct{}, 1)}
	// Under the commit lock no epoch commits between the snapshot and
	// the subscription's start.
	m.commitMu.Lock()
	epoch := m.committed.Load()
	s.after = epoch
	m.subs.add(s)
	var snap *viewRows
	if snapshot {
		st, err := e.db.Snapshot()
		if err != nil {
			m.commitMu.Unlock()
			m.subs.remove(s)
			return nil, err
		}
		snap = newViewRows(obj, st)
	}
	m.commitMu.Unlock()
	return m.subscriptionRows(ctx, s, obj, epoch, snap, 0, false), nil
}

// dropTable frees a dropped table's rows and changelog, once the
// statement writing it (if any) has ended.
func (e *Engine) dropTable(o *object) {
	// The state stays in the map, marked: a statement that looked the
	// table up before the drop finds it dropped once it has the lock.
	// Taking the lock waits for the statement writing the table and for
	// an earlier statement's epoch, so that no commit writes rows after
	// they are freed.
	ts := e.tables.state(o)
	unlock, err := e.tables.lock(e.ctx, o)
	ts.dropped.Store(true)
	if err != nil {
		e.log.Warn("drop: a change to the table is still being committed", "table", o.entry.Name, "err", err)
	} else {
		unlock()
	}
	e.views.subs.end(o.entry.Name, sqlerr.Newf(sqlerr.UndefinedTable, "table %s was dropped", o.entry.Name))
	if err := e.db.DropObjectState(o.entry.ID, nil); err != nil {
		e.log.Warn("drop: free table state", "table", o.entry.Name, "err", err)
	}
}

// tableTarget returns the table a DML statement names, from the
// statement's catalog.
func tableTarget(cat *catalogSnapshot, name string, pos int) (*object, error) {
	o, ok := cat.objects[name]
	if !ok {
		return nil, sqlerr.Newf(sqlerr.UndefinedTable, "relation %q does not exist", name).At(pos)
	}
	if o.kind != sql.KindTable {
		return nil, sqlerr.Newf(sqlerr.WrongObjectType, "cannot change %s %q: only a table takes INSERT, UPDATE and DELETE", o.kind, name).At(pos)
	}
	return o, nil
}

// assignable checks that a value of type from can be stored in column
// col (42804 otherwise), as Postgres's assignment casts allow.
func assignable(col types.Column, from types.Type) error {
	to := col.Type
	numeric := func(k types.Kind) bool { return k == types.Int || k == types.Float || k == types.Decimal }
	switch {
	case from.Kind == types.Unknown, from.Kind == to.Kind, from.Kind == types.String, to.Kind == types.String:
		return nil
	case numeric(from.Kind) && numeric(to.Kind):
		return nil
	case (from.Kind == types.Date || from.Kind == types.Timestamp) && (to.Kind == types.Date || to.Kind == types.Timestamp):
		return nil
	}
	return sqlerr.Newf(sqlerr.DatatypeMismatch, "column %q is of type %s but expression is of type %s",
		col.Name, types.PGName(to), types.PGName(from)).WithHint("You will need to rewrite or cast the expression.")
}

// coerce converts v to column col's type: text is read in the column's
// input syntax (22P02 when it does not read), numbers are range-checked.
func coerce(col types.Column, v types.Value) (types.Value, error) {
	if v.IsNull() {
		return v, nil
	}
	to := col.Type
	switch {
	case v.Kind() == to.Kind && to.Kind != types.Int && to.Kind != types.Decimal && to.Kind != types.String:
		return v, nil
	case v.Kind() == types.Float && to.Kind == types.Int:
		f := math.RoundToEven(v.Float())
		if f < math.MinInt64 || f > math.MaxInt64 {
			return v, sqlerr.Newf(sqlerr.NumericValueOutOfRange, "%s out of range", types.PGName(to))
		}
		return types.ParseText(to, fmt.Sprint(int64(f)))
	case v.Kind() == types.Date && to.Kind == types.Timestamp:
		return types.NewTimestamp(v.Days() * 86400_000_000), nil
	case v.Kind() == types.Timestamp && to.Kind == types.Date:
		return types.NewDate(int64(math.Floor(float64(v.Micros()) / 86400_000_000))), nil
	case v.Kind() == types.Bool && to.Kind == types.String:
		if v.Bool() {
			return types.ParseText(to, "true")
		}
		return types.ParseText(to, "false")
	}
	return types.ParseText(to, v.String())
}

// drainQuery runs a bound query to its end.
func (s *Session) drainQuery(ctx context.Context, q *planner.Query, params []types.Value) ([]types.Row, []*sqlerr.Error, error) {
	st := &Statement{query: q}
	rows, err := s.runQuery(ctx, st, params)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []types.Row
	for {
		row, err := rows.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		// The iterator may reuse the row it returned.
		out = append(out, slices.Clone(row))
	}
	return out, rows.warnings, nil
}
