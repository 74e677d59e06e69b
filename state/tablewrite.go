package state

import (
	"errors"

	badger "github.com/dgraph-io/badger/v4"
)

// ErrTxnTooBig is returned by Update when the writes do not fit one
// Badger transaction.
var ErrTxnTooBig = badger.ErrTxnTooBig

// Writer is one read-write transaction over an object's tables (Update).
// Reads see the transaction's own writes.
type Writer struct {
	txn      *badger.Txn
	objectID uint64
}

// Update runs fn in one Badger transaction over the tables of objectID and
// commits what it wrote, all or nothing, when fn returns nil: a table
// (CREATE TABLE) commits each statement this way, rows and change log
// together, outside the epochs of views. It holds off epoch commits while
// it runs, so that a read begun after it returns (Snapshot) sees its
// writes even while a large epoch is being applied.
func (d *DB) Update(objectID uint64, fn func(w *Writer) error) error {
	if err := d.RecoverEpochs(); err != nil {
		return err
	}
	es := d.epochs()
	es.commitMu.Lock()
	defer es.commitMu.Unlock()
	txn := d.db.NewTransaction(true)
	defer txn.Discard()
	if err := fn(&Writer{txn: txn, objectID: objectID}); err != nil {
		return err
	}
	return txn.Commit()
}

// Get returns key's value in table op, or ok false.
func (w *Writer) Get(op uint32, key []byte) (val []byte, ok bool, err error) {
	item, err := w.txn.Get(append(tablePrefix(w.objectID, op), key...))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	val, err = item.ValueCopy(nil)
	return val, err == nil, err
}

// Put sets key in table op.
func (w *Writer) Put(op uint32, key, val []byte) error {
	return w.txn.Set(append(tablePrefix(w.objectID, op), key...), append([]byte(nil), val...))
}

// Delete removes key from table op.
func (w *Writer) Delete(op uint32, key []byte) error {
	return w.txn.Delete(append(tablePrefix(w.objectID, op), key...))
}

// Get returns key's committed value in one operator's table.
func (s *Snapshot) Get(objectID uint64, operatorID uint32, key []byte) (val []byte, ok bool, err error) {
	item, err := s.txn.Get(append(tablePrefix(objectID, operatorID), key...))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	val, err = item.ValueCopy(nil)
	return val, err == nil, err
}

// TableKey returns the full key of key in one operator's table of an
// object, for writes made in CommitEpoch's extra.
func TableKey(objectID uint64, operatorID uint32, key []byte) []byte {
	return append(tablePrefix(objectID, operatorID), key...)
}
