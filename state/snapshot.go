package state

import (
	"bytes"
	"fmt"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// Snapshot is a read of committed state that the caller pulls at its own
// pace: whole epochs only, however long it is held, and without holding
// up commits (Badger keeps the versions it reads).
type Snapshot struct {
	txn    *badger.Txn
	shared *sharedRead // when txn is shared with other snapshots
}

// sharedRead is a read-only transaction shared by the snapshots opened
// while a large epoch is being applied; the last to let go discards it.
// Badger allows concurrent reads and iterators on a read-only transaction.
type sharedRead struct {
	txn  *badger.Txn
	mu   *sync.Mutex // epochState.pinMu, which guards refs
	refs int
}

func (r *sharedRead) release() {
	r.mu.Lock()
	r.refs--
	last := r.refs == 0
	r.mu.Unlock()
	if last {
		r.txn.Discard()
	}
}

// Snapshot opens a read of the state committed now. Close it.
func (d *DB) Snapshot() (*Snapshot, error) {
	if err := d.RecoverEpochs(); err != nil {
		return nil, err
	}
	es := d.epochs()
	// A large epoch is applied in several transactions: a read that starts
	// meanwhile shares one opened before it began (commitLarge), so it sees
	// all of such an epoch or none, without waiting for it.
	es.pinMu.Lock()
	defer es.pinMu.Unlock()
	if p := es.pinned; p != nil {
		p.refs++
		return &Snapshot{txn: p.txn, shared: p}, nil
	}
	return &Snapshot{txn: d.db.NewTransaction(false)}, nil
}

// Close ends the read.
func (s *Snapshot) Close() {
	if s.shared != nil {
		s.shared.release()
		return
	}
	s.txn.Discard()
}

// Scan returns an iterator over the committed rows of one operator's
// table with keys in [start, end) (nil end: to the table's end). Close it
// before the snapshot.
func (s *Snapshot) Scan(objectID uint64, operatorID uint32, start, end []byte) *SnapshotIter {
	return scanTable(s.txn, objectID, operatorID, start, end)
}

func scanTable(txn *badger.Txn, objectID uint64, operatorID uint32, start, end []byte) *SnapshotIter {
	prefix := tablePrefix(objectID, operatorID)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	it.Seek(append(append([]byte(nil), prefix...), start...))
	return &SnapshotIter{it: it, prefix: prefix, end: end}
}

// SnapshotIter walks a table of a Snapshot in key order.
type SnapshotIter struct {
	it      *badger.Iterator
	prefix  []byte
	end     []byte
	started bool
	val     []byte
}

// Next returns the next row's key and value, valid until the next call,
// or ok false at the end.
func (i *SnapshotIter) Next() (key, value []byte, ok bool, err error) {
	if i.started {
		i.it.Next()
	}
	i.started = true
	if !i.it.Valid() {
		return nil, nil, false, nil
	}
	k := i.it.Item().Key()[len(i.prefix):]
	if i.end != nil && bytes.Compare(k, i.end) >= 0 {
		return nil, nil, false, nil
	}
	if i.val, err = i.it.Item().ValueCopy(i.val[:0]); err != nil {
		return nil, nil, false, fmt.Errorf("state scan: %w", err)
	}
	return k, i.val, true, nil
}

// Close releases the iterator.
func (i *SnapshotIter) Close() { i.it.Close() }
