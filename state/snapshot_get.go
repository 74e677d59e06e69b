package state

import (
	"errors"

	badger "github.com/dgraph-io/badger/v4"
)

// A table (CREATE TABLE) commits its statements' writes in CommitEpoch's
// extra, with keys built by TableKey, and reads single rows with
// Snapshot.Get.

// TableKey returns the full key of key in one operator's table of an
// object, for writes made in CommitEpoch's extra.
func TableKey(objectID uint64, operatorID uint32, key []byte) []byte {
	return append(tablePrefix(objectID, operatorID), key...)
}

// Get returns key's committed value in one operator's table.
func (s *Snapshot) Get(objectID uint64, operatorID uint32, key []byte) (val []byte, ok bool, err error) {
	item, err := s.txn.Get(TableKey(objectID, operatorID, key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	val, err = item.ValueCopy(nil)
	return val, err == nil, err
}
