package exec

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/streamsql/streamsql/sql/types"
)

// Materialize keeps a view's table in its state and reports the view's
// net changes once per epoch.
//
// With a primary key (the group key of an aggregate), a row is stored at
// kg | key columns and an insert replaces the row of its key. Without one,
// the whole row is the key and the value counts its copies, so a view
// without a key keeps duplicates (a bag). Keys use the order-preserving
// codec, so ordered reads of the view can scan them; values are
// appendRow encodings (count first in the bag form).
//
// A view without a key whose input the planner proves append-only is a
// log: the rows of each input batch (up to logBlockRows) are stored
// together, as one block, under kg | 0xFD | epoch | ordinal, with no read
// of what is there (a bag would read each row's count), and a delete
// fails the view. One state write per block instead of one per row: a
// write's fixed cost (the write buffer's tree, Badger's skiplist, log
// entry and table builder) was most of a pass-through view's CPU. A
// block has no key to hash, so kg is the epoch's (epoch mod KeyGroups):
// an epoch's blocks then arrive in key order and each lands at the end of
// the epoch's write buffer (an ordered tree). A block's value is a zero
// count (no stored bag row has one), the row count, then the rows;
// MaterializedRows reads both forms.
//
// Every change is passed downstream unchanged, for views on this view. At
// each barrier the observer, if any, gets the epoch's net changes in key
// order: an insert, a delete, or an update pair per key whose row changed,
// and for a bag as many inserts or deletes as its count moved. The
// observer runs before the epoch commits; the engine holds what it
// publishes until the commit (SUBSCRIBE and sinks must not show an epoch
// that a crash would lose).
type Materialize struct {
	key        []int
	appendOnly bool
	observer   func(epoch uint64, changes *Batch) error
	state      StateTable
	// epoch and ordinal number the log's rows (appendOnly): epoch is after
	// every committed epoch and restarts ordinal at each barrier.
	epoch, ordinal uint64

	scratch types.Row
	kbuf    []byte
	vbuf    []byte
	// before holds, per key touched this epoch, its value when the epoch
	// began (nil when absent); only kept when there is an observer.
	before map[string][]byte
}

var _ Operator = (*Materialize)(nil)

// MaterializeOptions configures NewMaterialize.
type MaterializeOptions struct {
	// Key lists the primary key columns; empty means the whole row, counted.
	Key []int
	// AppendOnly, with no Key, stores the input as a log: it never deletes.
	AppendOnly bool
	// Observer gets the net changes of each epoch at its barrier; nil for
	// none. The batch belongs to the observer.
	Observer func(epoch uint64, changes *Batch) error
}

// NewMaterialize returns a Materialize.
func NewMaterialize(o MaterializeOptions) *Materialize {
	return &Materialize{key: o.Key, appendOnly: o.AppendOnly && len(o.Key) == 0, observer: o.Observer, scratch: make(types.Row, len(o.Key))}
}

func (m *Materialize) Open(_ context.Context, oc *OpContext) error {
	if oc.State == nil {
		return fmt.Errorf("materialize %s: no state table", oc.Name)
	}
	m.state = oc.State
	m.epoch = oc.Epoch + 1
	if m.observer != nil {
		m.before = make(map[string][]byte)
	}
	return nil
}

func (m *Materialize) Process(_ context.Context, _ int, b *Batch, out Output) error {
	if m.appendOnly {
		return m.appendLog(b, out)
	}
	for i := 0; i < b.Len(); i++ {
		op, row := b.Op(i), b.Row(i)
		if op == UpdateDelete && i+1 < b.Len() && b.Op(i+1) == UpdateInsert && m.replaces(row, b.Row(i+1)) {
			// The pair's insert overwrites the key: its delete need not
			// be written (a top-N's rank shift is such a pair per rank).
			out.Emit(op, row)
			continue
		}
		if err := m.apply(op.Positive(), row); err != nil {
			return err
		}
		out.Emit(op, row)
	}
	return nil
}

// replaces reports whether, in a keyed view, storing row next makes
// deleting row old first useless: both have the same key. (The key's
// image before the epoch, for the observer, is then taken at next.)
func (m *Materialize) replaces(old, next types.Row) bool {
	if len(m.key) == 0 {
		return false
	}
	for j, c := range m.key {
		m.scratch[j] = old[c]
	}
	m.kbuf = appendGroupPrefix(m.kbuf[:0], m.scratch)
	for j, c := range m.key {
		m.scratch[j] = next[c]
	}
	m.vbuf = appendGroupPrefix(m.vbuf[:0], m.scratch)
	return bytes.Equal(m.kbuf, m.vbuf)
}

// markLog is the byte after the key group of a log block's key: a row's
// encoding starts with 0x00 or 0x01, the aggregates' index with 0xFE.
const markLog byte = 0xFD

// logBlockRows bounds a log block, so that a value stays well under
// Badger's threshold for values kept apart from their keys.
const logBlockRows = 512

// appendLog stores b's rows as log blocks and passes them on.
func (m *Materialize) appendLog(b *Batch, out Output) error {
	for from := 0; from < b.Len(); from += logBlockRows {
		to := min(from+logBlockRows, b.Len())
		k := binary.BigEndian.AppendUint16(m.kbuf[:0], uint16(m.epoch%KeyGroups))
		k = binary.BigEndian.AppendUint64(append(k, markLog), m.epoch)
		k = binary.BigEndian.AppendUint64(k, m.ordinal)
		m.kbuf = k
		m.ordinal++
		v := binary.AppendVarint(m.vbuf[:0], 0)
		v = binary.AppendUvarint(v, uint64(to-from))
		for i := from; i < to; i++ {
			if !b.Op(i).Positive() {
				return fmt.Errorf("materialize: a delete reached an append-only view: %s", b.Row(i))
			}
			v = appendRow(v, b.Row(i))
		}
		m.vbuf = v
		if m.before != nil {
			m.before[string(k)] = nil
		}
		if err := m.state.Put(k, v); err != nil {
			return err
		}
		for i := from; i < to; i++ {
			out.Emit(b.Op(i), b.Row(i))
		}
	}
	return nil
}

func (m *Materialize) apply(positive bool, row types.Row) error {
	var k []byte
	if len(m.key) > 0 {
		for j, c := range m.key {
			m.scratch[j] = row[c]
		}
		k = appendGroupPrefix(m.kbuf[:0], m.scratch)
	} else {
		k = appendGroupPrefix(m.kbuf[:0], row)
	}
	m.kbuf = k
	if len(m.key) > 0 && m.before == nil {
		// A keyed row replaces or removes whatever the key held: no read
		// (with state larger than the cache, a read is a Badger lookup).
		if positive {
			m.vbuf = appendRow(m.vbuf[:0], row)
			return m.state.Put(k, m.vbuf)
		}
		return m.state.Delete(k)
	}
	old, present, err := m.state.Get(k)
	if err != nil {
		return fmt.Errorf("materialize: %w", err)
	}
	if m.before != nil {
		if _, seen := m.before[string(k)]; !seen {
			var img []byte
			if present {
				img = bytes.Clone(old)
			}
			m.before[string(k)] = img
		}
	}
	if len(m.key) > 0 {
		if positive {
			m.vbuf = appendRow(m.vbuf[:0], row)
			return m.state.Put(k, m.vbuf)
		}
		if present {
			return m.state.Delete(k)
		}
		return nil
	}
	var count int64
	if present {
		if count, _, err = readVarint(old); err != nil {
			return fmt.Errorf("materialize: stored count: %w", err)
		}
	}
	if positive {
		count++
	} else {
		count--
	}
	if count <= 0 {
		if present {
			return m.state.Delete(k)
		}
		return nil
	}
	m.vbuf = appendRow(binary.AppendVarint(m.vbuf[:0], count), row)
	return m.state.Put(k, m.vbuf)
}

func (m *Materialize) OnWatermark(context.Context, Watermark, Output) error { return nil }

func (m *Materialize) OnBarrier(_ context.Context, b Barrier, _ Output) error {
	if b.Epoch >= m.epoch {
		m.epoch, m.ordinal = b.Epoch+1, 0
	}
	if m.observer == nil {
		return nil
	}
	keys := make([]string, 0, len(m.before))
	for k := range m.before {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	changes := NewBatch(len(keys))
	for _, k := range keys {
		was := m.before[k]
		now, present, err := m.state.Get([]byte(k))
		if err != nil {
			return fmt.Errorf("materialize: %w", err)
		}
		if !present {
			now = nil
		}
		if err := m.diff(changes, was, now); err != nil {
			return err
		}
	}
	clear(m.before)
	if err := m.observer(b.Epoch, changes); err != nil {
		return fmt.Errorf("materialize: observer: %w", err)
	}
	return nil
}

// diff appends the net change from stored value was to now (nil: absent).
func (m *Materialize) diff(out *Batch, was, now []byte) error {
	if bytes.Equal(was, now) {
		return nil
	}
	if was == nil && len(m.key) == 0 && isLogBlock(now) {
		// A block is written once, under a key of its own.
		return MaterializedRows(false, now, func(row types.Row, _ int64) error {
			out.Append(Insert, row)
			return nil
		})
	}
	decode := func(v []byte) (types.Row, int64, error) {
		var n int64 = 1
		if len(m.key) == 0 {
			var err error
			if n, v, err = readVarint(v); err != nil {
				return nil, 0, err
			}
		}
		r, _, err := readRow(v)
		return r, n, err
	}
	var oldRow, newRow types.Row
	var oldN, newN int64
	var err error
	if was != nil {
		if oldRow, oldN, err = decode(was); err != nil {
			return fmt.Errorf("materialize: stored row: %w", err)
		}
	}
	if now != nil {
		if newRow, newN, err = decode(now); err != nil {
			return fmt.Errorf("materialize: stored row: %w", err)
		}
	}
	switch {
	case len(m.key) == 0:
		row := newRow
		if row == nil {
			row = oldRow
		}
		for ; newN > oldN; newN-- {
			out.Append(Insert, row)
		}
		for ; oldN > newN; oldN-- {
			out.Append(Delete, row)
		}
	case was == nil:
		out.Append(Insert, newRow)
	case now == nil:
		out.Append(Delete, oldRow)
	default:
		out.Append(UpdateDelete, oldRow)
		out.Append(UpdateInsert, newRow)
	}
	return nil
}

func (m *Materialize) Close() error { return nil }
