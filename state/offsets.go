package state

import (
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// prefixOffsets holds, per catalog object that reads a source, the opaque
// positions of its source (shard sequence numbers and lineage) that the
// object has fully processed. Until epochs commit positions together with
// operator state, a sink saves them here after its writes are acknowledged.
const prefixOffsets byte = 'o'

func offsetsKey(objectID uint64) []byte {
	return AppendUint64([]byte{prefixOffsets}, objectID)
}

// SaveOffsets stores an object's source positions, replacing earlier ones.
func (d *DB) SaveOffsets(objectID uint64, positions []byte) error {
	err := d.db.Update(func(txn *badger.Txn) error { return txn.Set(offsetsKey(objectID), positions) })
	if err != nil {
		return fmt.Errorf("save offsets of object %d: %w", objectID, err)
	}
	return nil
}

// LoadOffsets returns an object's saved positions; ok is false when none
// were saved.
func (d *DB) LoadOffsets(objectID uint64) (positions []byte, ok bool, err error) {
	err = d.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(offsetsKey(objectID))
		if err != nil {
			return err
		}
		positions, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load offsets of object %d: %w", objectID, err)
	}
	return positions, true, nil
}

// DeleteOffsets forgets an object's positions, when it is dropped.
func (d *DB) DeleteOffsets(objectID uint64) error {
	if err := d.db.Update(func(txn *badger.Txn) error { return txn.Delete(offsetsKey(objectID)) }); err != nil {
		return fmt.Errorf("delete offsets of object %d: %w", objectID, err)
	}
	return nil
}
