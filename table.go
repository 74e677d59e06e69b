package streamsql

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"

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
// Each DML statement is one Badger transaction (state.DB.Update) that
// writes the rows and the statement's changes (an insert, a delete, or an
// update pair per row), under the table's next version: its own epoch,
// counted per table. The statement returns once that transaction has
// committed, so a restart or a SIGKILL after it keeps it. One statement
// at a time writes a table (tableState.mu): what it reads (the row a key
// holds, the rows an UPDATE matches) is what it changes.
//
// Under the table's object id:
//
//	op 0 (planner.MaterializeTable)  the rows, laid out as a view's Materialize
//	                                 (keyed by the primary key, or counted
//	                                 whole rows without one), so SELECT reads a
//	                                 table as it reads a view
//	op 1 (tableLogTable)             version(8) | chunk(8) → changes
//	op 2 (tableMetaTable)            "version" → the last committed version
//
// The change log is what makes a table an input of views (tableinput.go):
// a view backfills from the rows at some version, then reads the changes
// of every later version in order, and commits the version it has read
// with its epochs, as it commits a shard's sequence number. SUBSCRIBE TO
// a table shows each committed version's changes, numbered by version.
//
// The log keeps every version (a view created later starts from the rows
// instead). Trimming it to the oldest version a dependent view has not
// committed is left for later.
const (
	tableLogTable  uint32 = 1
	tableMetaTable uint32 = 2
)

var keyTableVersion = []byte("version")

// tableLogChunk bounds the changes stored under one log key.
const tableLogChunk = 512

// tableManager holds what the engine knows of each table at run time.
type tableManager struct {
	e      *Engine
	mu     sync.Mutex
	tables map[uint64]*tableState
}

// tableState is one table at run time.
type tableState struct {
	mu      sync.Mutex // held by the statement writing the table
	loaded  bool       // version read from state (under mu)
	version atomic.Uint64

	changeMu sync.Mutex
	changed  chan struct{} // closed and replaced at each commit
}

func (m *tableManager) state(obj *object) (*tableState, error) {
	m.mu.Lock()
	if m.tables == nil {
		m.tables = map[uint64]*tableState{}
	}
	ts := m.tables[obj.entry.ID]
	if ts == nil {
		ts = &tableState{changed: make(chan struct{})}
		m.tables[obj.entry.ID] = ts
	}
	m.mu.Unlock()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.loaded {
		v, err := m.e.readTableVersion(obj)
		if err != nil {
			return nil, err
		}
		ts.version.Store(v)
		ts.loaded = true
	}
	return ts, nil
}

func (m *tableManager) forget(obj *object) {
	m.mu.Lock()
	delete(m.tables, obj.entry.ID)
	m.mu.Unlock()
}

// changes returns a channel closed at the next commit.
func (t *tableState) changes() <-chan struct{} {
	t.changeMu.Lock()
	defer t.changeMu.Unlock()
	return t.changed
}

func (t *tableState) notify() {
	t.changeMu.Lock()
	close(t.changed)
	t.changed = make(chan struct{})
	t.changeMu.Unlock()
}

func (e *Engine) readTableVersion(obj *object) (uint64, error) {
	snap, err := e.db.Snapshot()
	if err != nil {
		return 0, err
	}
	defer snap.Close()
	b, ok, err := snap.Get(obj.entry.ID, tableMetaTable, keyTableVersion)
	if err != nil || !ok {
		return 0, err
	}
	v, _, err := state.ReadUint64(b)
	if err != nil {
		return 0, fmt.Errorf("table %s: version: %w", obj.entry.Name, err)
	}
	return v, nil
}

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

// tableChange is one change of a table's rows.
type tableChange struct {
	op  exec.Op
	row types.Row
}

// appendChanges encodes changes for the log: per change its op, then the
// row.
func appendChanges(b []byte, changes []tableChange) []byte {
	b = binary.AppendUvarint(b, uint64(len(changes)))
	for _, c := range changes {
		b = append(b, byte(c.op))
		b = binary.AppendUvarint(b, uint64(len(c.row)))
		for _, v := range c.row {
			b = types.AppendValue(b, v)
		}
	}
	return b
}

func readChanges(b []byte, fn func(op exec.Op, row types.Row)) error {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return errors.New("table log: bad change count")
	}
	b = b[k:]
	for ; n > 0; n-- {
		if len(b) == 0 {
			return errors.New("table log: short")
		}
		op := exec.Op(b[0])
		w, k := binary.Uvarint(b[1:])
		if k <= 0 || w > uint64(len(b)) {
			return errors.New("table log: bad row width")
		}
		b = b[1+k:]
		row := make(types.Row, w)
		for i := range row {
			var err error
			if row[i], b, err = types.ReadValue(b); err != nil {
				return fmt.Errorf("table log: %w", err)
			}
		}
		fn(op, row)
	}
	return nil
}

// tableTxn is one DML statement's transaction over a table.
type tableTxn struct {
	obj     *object
	w       *state.Writer
	changes []tableChange
	kbuf    []byte
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

// get returns the row stored under key (keyed tables) and its count.
func (t *tableTxn) get(key []byte) (types.Row, int64, error) {
	v, ok, err := t.w.Get(planner.MaterializeTable, key)
	if err != nil || !ok {
		return nil, 0, err
	}
	row, n, err := exec.DecodeMaterialized(t.keyed(), v)
	if err != nil {
		return nil, 0, fmt.Errorf("table %s: stored row: %w", t.obj.entry.Name, err)
	}
	return row, n, nil
}

func (t *tableTxn) put(key []byte, row types.Row, n int64) error {
	if n <= 0 {
		return t.w.Delete(planner.MaterializeTable, key)
	}
	return t.w.Put(planner.MaterializeTable, key, exec.AppendMaterializedValue(nil, t.keyed(), row, n))
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
		t.changes = append(t.changes, tableChange{exec.Insert, row})
		return 1, t.put(key, row, n+1)
	}
	if n == 0 {
		t.changes = append(t.changes, tableChange{exec.Insert, row})
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
		t.changes = append(t.changes, tableChange{exec.UpdateDelete, old}, tableChange{exec.UpdateInsert, upd})
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
	t.changes = append(t.changes, tableChange{exec.Delete, old})
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
		t.changes = append(t.changes, tableChange{exec.UpdateDelete, stored}, tableChange{exec.UpdateInsert, upd})
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

// writeTable runs fn in one transaction of table obj, then logs fn's
// changes under the next version, commits, and publishes them. The
// caller holds ts.mu.
func (e *Engine) writeTable(obj *object, ts *tableState, fn func(t *tableTxn) error) error {
	version := ts.version.Load() + 1
	var changes []tableChange
	err := e.db.Update(obj.entry.ID, func(w *state.Writer) error {
		t := &tableTxn{obj: obj, w: w}
		if err := fn(t); err != nil {
			return err
		}
		changes = t.changes
		if len(changes) == 0 {
			return errNoChange
		}
		for i := 0; i < len(changes); i += tableLogChunk {
			k := state.AppendUint64(state.AppendUint64(nil, version), uint64(i/tableLogChunk))
			if err := w.Put(tableLogTable, k, appendChanges(nil, changes[i:min(i+tableLogChunk, len(changes))])); err != nil {
				return err
			}
		}
		return w.Put(tableMetaTable, keyTableVersion, state.AppendUint64(nil, version))
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if errors.Is(err, state.ErrTxnTooBig) {
		return sqlerr.Newf(sqlerr.ProgramLimitExceeded, "the statement changes too many rows of table %s for one transaction", obj.entry.Name).
			WithHint("Change the rows in several statements (a WHERE on ranges of the key).")
	}
	if err != nil {
		return err
	}
	ts.version.Store(version)
	e.publishTable(obj, version, changes)
	ts.notify()
	e.views.notify() // FLUSH may wait for a view to read this version
	return nil
}

// errNoChange rolls back a statement that changed nothing: no version.
var errNoChange = errors.New("no change")

// publishTable shows a committed version's changes to SUBSCRIBE.
func (e *Engine) publishTable(obj *object, version uint64, changes []tableChange) {
	subs := e.views.subs.list(obj.entry.Name)
	if len(subs) == 0 {
		return
	}
	evs := make([]subEvent, len(changes))
	for i, c := range changes {
		evs[i] = subEvent{epoch: version, op: subscribeOps[c.op], row: c.row}
	}
	prog := subEvent{epoch: version, op: opProgress}
	for _, s := range subs {
		if !s.push(version, evs, &prog) {
			e.views.subs.remove(s)
		}
	}
}

// subscribeTable starts a SUBSCRIBE of table obj: its rows at the current
// version, then each later version's changes.
func (e *Engine) subscribeTable(ctx context.Context, obj *object, progress, snapshot bool) (*Rows, error) {
	ts, err := e.tables.state(obj)
	if err != nil {
		return nil, err
	}
	s := &subscription{view: obj.entry.Name, progress: progress, after: math.MaxUint64, signal: make(chan struct{}, 1)}
	ts.mu.Lock()
	version := ts.version.Load()
	s.after = version
	e.views.subs.add(s)
	var snap *viewRows
	if snapshot {
		st, err := e.db.Snapshot()
		if err != nil {
			ts.mu.Unlock()
			e.views.subs.remove(s)
			return nil, err
		}
		snap = newViewRows(obj, st)
	}
	ts.mu.Unlock()
	return e.views.subscriptionRows(ctx, s, obj, version, snap, 0, false), nil
}

// dropTable frees a dropped table's rows and log.
func (e *Engine) dropTable(o *object) {
	e.tables.forget(o)
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
		out = append(out, row)
	}
	return out, rows.warnings, nil
}
