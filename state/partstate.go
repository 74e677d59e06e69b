package state

import (
	"bytes"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Part state for a cluster (docs/cluster.md section 5): a part of a view
// moves between nodes as the writes of its epochs, with keys relative to
// its object's prefix 't' | object id (the operator id, then the
// operator's key), so that they mean the same whatever object id the part
// has on each node.

// objectPrefix is the prefix of every table key of an object.
func objectPrefix(objectID uint64) []byte { return AppendUint64([]byte{prefixTable}, objectID) }

// SealedWrites calls fn with every write sealed in the table at epochs up
// to epoch (sealing the dirty buffer as epoch first, as CommitEpoch does:
// only while nothing writes to the table), oldest epoch first: the writes
// CommitEpoch(epoch) would make. Keys are relative to the object's prefix
// (the operator id, then the key); a delete has a nil value. fn must not
// keep key or value, nor write to the table.
func (t *Table) SealedWrites(epoch uint64, fn func(key, val []byte, del bool) error) error {
	if t.err != nil {
		return t.err
	}
	if t.sealed.Load() < epoch {
		if err := t.SealEpoch(epoch); err != nil {
			return err
		}
	}
	rel := t.prefix[len(t.prefix)-4:] // the operator id
	var key []byte
	var err error
	for _, sb := range t.sealedUpTo(epoch) {
		sb.tree.Ascend(func(e entry) bool {
			if e.del && e.fresh {
				return true // no value before the epoch, none after it
			}
			key = append(append(key[:0], rel...), e.key...)
			err = fn(key, e.val, e.del)
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ResetObjectState replaces every table key of object objectID with what
// load puts (keys relative to the object's prefix, as SealedWrites gives
// them; a later put of a key wins, del deletes it): nothing at all when
// load is nil. The object's committed writes not yet applied (deferred
// tables' overlays and log) are forgotten first. No Table of the object
// may be in use, nor used again but a new one. load runs before any
// change, so that a failed load leaves the state as it was.
func (d *DB) ResetObjectState(objectID uint64, load func(put func(key, val []byte, del bool) error) error) error {
	if err := d.RecoverEpochs(); err != nil {
		return err
	}
	// Loaded whole first: load may wait on the network, and nothing is
	// changed until it has succeeded.
	final := map[string]entry{}
	if load != nil {
		if err := load(func(key, val []byte, del bool) error {
			final[string(key)] = entry{val: bytes.Clone(val), del: del}
			return nil
		}); err != nil {
			return fmt.Errorf("reset state of object %d: load: %w", objectID, err)
		}
	}
	if d.hasOverlay(objectID) {
		// Its writes still in the state log would come back at a restart:
		// apply the log less the object, as a drop does.
		es := d.epochs()
		es.commitMu.Lock()
		err := d.applyDeferred(objectID)
		es.commitMu.Unlock()
		if err != nil {
			return fmt.Errorf("reset state of object %d: %w", objectID, err)
		}
	}
	if _, err := d.dropState(objectID); err != nil {
		return fmt.Errorf("reset state of object %d: clear: %w", objectID, err)
	}
	prefix := objectPrefix(objectID)
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	for k, e := range final {
		if e.del {
			continue // cleared above
		}
		if err := wb.Set(append(bytes.Clone(prefix), k...), e.val); err != nil {
			return fmt.Errorf("reset state of object %d: %w", objectID, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("reset state of object %d: %w", objectID, err)
	}
	return nil
}

// hasOverlay reports whether a deferred table of the object has committed
// writes not yet applied (and so perhaps in the state log): only then
// must a reset apply the log first. (Open applies the whole log, and a
// commit puts a deferred table's writes in its overlay with its chunks.)
func (d *DB) hasOverlay(objectID uint64) bool {
	prefix := objectPrefix(objectID)
	ds := &d.deferred
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for k, ov := range ds.overlays {
		if !bytes.HasPrefix([]byte(k), prefix) {
			continue
		}
		ov.mu.RLock()
		n := ov.tree.Len()
		ov.mu.RUnlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// keyClusterCatalog is the version of the cluster's catalog log this
// node has applied up to.
var keyClusterCatalog = append([]byte{prefixMeta}, "cluster_catalog"...)

// ClusterCatalogVersion returns the version of the cluster's catalog log
// applied here (SetClusterCatalogVersion), 0 if none.
func (d *DB) ClusterCatalogVersion() (uint64, error) {
	var v uint64
	err := d.db.View(func(txn *badger.Txn) error {
		var err error
		v, err = readEpochKey(txn, keyClusterCatalog)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read the cluster catalog version: %w", err)
	}
	return v, nil
}

// SetClusterCatalogVersion records that the cluster's catalog log is
// applied here up to version v.
func (d *DB) SetClusterCatalogVersion(v uint64) error {
	if err := d.db.Update(func(txn *badger.Txn) error { return txn.Set(keyClusterCatalog, AppendUint64(nil, v)) }); err != nil {
		return fmt.Errorf("write the cluster catalog version: %w", err)
	}
	return nil
}
