package state

import (
	"errors"
	"fmt"
	"slices"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Value-log garbage collection. Table keys hold committed values only and
// old versions are not kept (NumVersionsToKeep 1), so overwritten and
// deleted values become garbage in Badger's value log; Badger reclaims it
// only when asked. Open starts gcLoop, Close stops it before closing
// Badger, so that disk use stays bounded when state is bounded.

// DefaultGCInterval is how often the value log is collected unless
// Options.GCInterval says otherwise.
const DefaultGCInterval = 5 * time.Minute

// gcDiscardRatio: a value-log file is rewritten when at least half of it
// is garbage.
const gcDiscardRatio = 0.5

// gcLoop runs the value-log GC every interval until stop is closed.
func (d *DB) gcLoop(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		d.collect(stop)
	}
}

// collect runs RunValueLogGC while it reclaims a file (each call rewrites
// at most one), stopping early when stop closes.
func (d *DB) collect(stop <-chan struct{}) {
	start := time.Now()
	files := 0
	for {
		select {
		case <-stop:
			return
		default:
		}
		err := d.db.RunValueLogGC(gcDiscardRatio)
		if err == nil {
			files++
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			d.log.Warn("value-log GC failed", "err", err)
		}
		break
	}
	d.gcRuns.Add(1)
	d.log.Debug("value-log GC", "files_rewritten", files, "took", time.Since(start).Round(time.Millisecond))
}

// Dropping an object's state. DropObjectState must not hold up DROP (a
// view's state may be gigabytes) nor every other view's commits (Badger's
// DropPrefix blocks all writes while it runs), so it writes a durable
// marker, 'm' "drop" | id, and deletes the keys in batches on a goroutine
// of its own; the marker goes last. Open resumes what a restart cut short,
// unless the object is still in the catalog (the DROP itself did not
// commit), in which case only the marker goes.

var keyDropPrefix = append([]byte{prefixMeta}, "drop"...)

func dropKey(objectID uint64) []byte { return AppendUint64(slices.Clone(keyDropPrefix), objectID) }

// dropBatchKeys is how many keys one batch of a drop deletes.
const dropBatchKeys = 10_000

// DropObjectState deletes every table of object objectID from Badger, for
// DROP: durably from when it returns, in the background once unused is
// closed (nil: at once). No Table of the object may be written after
// unused is closed. WaitDrops waits for the deletion.
func (d *DB) DropObjectState(objectID uint64, unused <-chan struct{}) error {
	if err := d.db.Update(func(txn *badger.Txn) error { return txn.Set(dropKey(objectID), nil) }); err != nil {
		return fmt.Errorf("drop state of object %d: %w", objectID, err)
	}
	d.startDrop(objectID, unused)
	return nil
}

// startDrop deletes the object's state on a goroutine that Close waits for.
func (d *DB) startDrop(objectID uint64, unused <-chan struct{}) {
	d.drops.Add(1)
	go func() {
		defer d.drops.Done()
		if unused != nil {
			select {
			case <-unused:
			case <-d.closing:
				return // the marker stays: the next Open deletes it
			}
		}
		// The object's writes still in the state log would be applied
		// again by a restart after its keys are deleted: apply the log
		// (less the object) and delete it first.
		es := d.epochs()
		es.commitMu.Lock()
		err := d.applyDeferred(objectID)
		es.commitMu.Unlock()
		if err != nil {
			d.log.Warn("free a dropped object's state; the next start retries", "object", objectID, "err", err)
			return
		}
		start := time.Now()
		n, err := d.dropState(objectID)
		if err != nil {
			if !errors.Is(err, errClosing) {
				d.log.Warn("free a dropped object's state; the next start retries", "object", objectID, "err", err)
			}
			return
		}
		d.log.Debug("freed a dropped object's state", "object", objectID, "keys", n, "took", time.Since(start).Round(time.Millisecond))
	}()
}

var errClosing = errors.New("closing")

// dropState deletes the object's keys in batches, then its marker.
func (d *DB) dropState(objectID uint64) (int, error) {
	prefix := AppendUint64([]byte{prefixTable}, objectID)
	total := 0
	// Each batch starts after the last key of the one before, rather than
	// walking again over the deletions already made.
	from := prefix
	for {
		select {
		case <-d.closing:
			return total, errClosing
		default:
		}
		var keys [][]byte
		err := d.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
			defer it.Close()
			for it.Seek(from); it.Valid() && len(keys) < dropBatchKeys; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		if len(keys) == 0 {
			break
		}
		wb := d.db.NewWriteBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return total, err
			}
		}
		if err := wb.Flush(); err != nil {
			return total, err
		}
		total += len(keys)
		from = append(keys[len(keys)-1], 0) // the next key after the last
	}
	return total, d.db.Update(func(txn *badger.Txn) error { return txn.Delete(dropKey(objectID)) })
}

// resumeDrops starts the deletion of every object whose drop marker a
// restart left, or forgets the marker of one the catalog still has.
func (d *DB) resumeDrops() error {
	var ids []uint64
	err := d.db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: keyDropPrefix, PrefetchValues: false})
		var pending []uint64
		for it.Rewind(); it.Valid(); it.Next() {
			id, _, err := ReadUint64(it.Item().Key()[len(keyDropPrefix):])
			if err != nil {
				it.Close()
				return fmt.Errorf("drop marker %x: %w", it.Item().Key(), err)
			}
			pending = append(pending, id)
		}
		it.Close()
		for _, id := range pending {
			if _, err := txn.Get(catalogKey(id)); err == nil {
				if err := txn.Delete(dropKey(id)); err != nil {
					return err
				}
				continue
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("resume dropping state: %w", err)
	}
	for _, id := range ids {
		d.startDrop(id, nil)
	}
	return nil
}

// WaitDrops waits until every drop started so far is done (or stopped by
// Close).
func (d *DB) WaitDrops() { d.drops.Wait() }
