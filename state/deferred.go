package state

import (
	"fmt"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/google/btree"
)

// Deferred tables: a changelog for operator-internal state.
//
// A window's aggregate writes each changed group at every barrier and
// deletes it when the window closes, so written key by key into Badger
// its state costs about two Badger writes per group per window. Nothing
// but the operator itself reads that state, so a Table opened with
// TableOptions.Deferred keeps it off the table keys:
//
//   - CommitEpoch encodes the table's sealed writes into chunks (the
//     staged-chunk format of epoch.go, full keys) at 'l' | epoch | seq,
//     written in the epoch's one transaction, or before its marker when
//     the epoch goes through the redo log; the marker's transaction also
//     writes 'l' | epoch | logMark. Chunks count only with their mark.
//   - The writes then move, newest wins, into the table's committed
//     overlay, kept by the DB per table prefix (so that a restarted
//     pipeline's new Table sees it) and read by Get and Scan between the
//     sealed buffers and Badger.
//   - A key the operator knows has no value (PutNew) is marked fresh; a
//     delete that meets a fresh entry of the overlay takes both away, so
//     a group born and gone between two applies never reaches Badger.
//   - Rarely (the overlays or the log written since the last apply over
//     Options.DeferredApplyBytes, a drop, or Close) every overlay is applied to the table keys and then every
//     chunk is deleted. Chunks hold final values, so a crash between
//     the two is repaired by applying them again.
//
// Recovery (RecoverEpochs): chunks of epochs with their mark are merged,
// newest wins, and applied to the table keys; chunks without it (of an
// epoch whose marker was never written) are dropped unread; then every
// chunk is deleted.

const prefixLog byte = 'l'

// DefaultDeferredApplyBytes is when the committed overlays of deferred
// tables are applied to Badger unless Options.DeferredApplyBytes says
// otherwise.
const DefaultDeferredApplyBytes = 64 << 20

// applyBatchKeys is how many keys one batch of an apply writes (a
// variable for tests).
var applyBatchKeys = 100_000

// overlay is the committed, not yet applied writes of one deferred table.
// Only CommitEpoch and apply change it, both under commitMu, so they read
// it without mu and take mu only to change it; the table's reads take mu
// for reading. (A copy-on-write clone per commit instead copied most of
// the tree at every epoch: twice the peak heap in
// BenchmarkWindowAgg_TumbleState.)
type overlay struct {
	prefix []byte
	mu     sync.RWMutex
	tree   *btree.BTreeG[entry]
	bytes  int64 // guarded by commitMu
}

// get returns the overlay's write of key.
func (ov *overlay) get(key []byte) (entry, bool) {
	ov.mu.RLock()
	defer ov.mu.RUnlock()
	return ov.tree.Get(entry{key: key})
}

type deferState struct {
	mu       sync.Mutex // guards overlays
	overlays map[string]*overlay
	// noApplyOnClose: a test's crash leaves the overlays unapplied.
	noApplyOnClose bool
}

// overlayFor returns the overlay of the table with prefix, made if new.
func (d *DB) overlayFor(prefix []byte) *overlay {
	ds := &d.deferred
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.overlays == nil {
		ds.overlays = map[string]*overlay{}
	}
	ov := ds.overlays[string(prefix)]
	if ov == nil {
		ov = &overlay{prefix: prefix, tree: btree.NewG(btreeDegree, entryLess)}
		ds.overlays[string(prefix)] = ov
	}
	return ov
}

func logKey(epoch, seq uint64) []byte {
	return AppendUint64(AppendUint64([]byte{prefixLog}, epoch), seq)
}

// logMark is the key, after every chunk of its epoch, that the epoch's
// commit writes with its marker: chunks without it belong to a commit that
// failed or was cut short, and are never applied, even once a later epoch
// has committed.
const logMark = ^uint64(0)

// encodeLog encodes the sealed writes of deferred tables into chunks,
// oldest epoch first. A delete fresh in its own buffer (the key had no
// value before the epoch and has none after it) is left out.
func encodeLog(tables []*Table, bufs [][]sealedBuf) [][]byte {
	var chunks [][]byte
	var chunk []byte
	_ = forEachWrite(tables, bufs, func(k []byte, e entry) error {
		if chunk == nil {
			chunk = make([]byte, 0, stageChunkBytes)
		}
		chunk = appendChunkEntry(chunk, k, e)
		if len(chunk) >= stageChunkBytes {
			chunks = append(chunks, chunk)
			chunk = nil
		}
		return nil
	})
	if len(chunk) > 0 {
		chunks = append(chunks, chunk)
	}
	return chunks
}

// writeLog writes an epoch's chunks in batches (the redo path: before the
// marker, so that a crash leaves chunks of an epoch never committed), and
// returns the bytes of the chunks and their keys.
func (d *DB) writeLog(epoch uint64, chunks [][]byte) (int64, error) {
	if len(chunks) == 0 {
		return 0, nil
	}
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	var written int64
	for i, c := range chunks {
		k := logKey(epoch, uint64(i))
		written += writeBytes(k, c)
		if err := wb.Set(k, c); err != nil {
			return 0, fmt.Errorf("write state log: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, fmt.Errorf("write state log: %w", err)
	}
	return written, nil
}

// mergeCommitted moves the sealed writes of a committed epoch into the
// table's overlay. Called under commitMu.
func (d *DB) mergeCommitted(t *Table, bufs []sealedBuf) {
	ov := t.ov
	ov.mu.Lock()
	defer ov.mu.Unlock()
	tree := ov.tree
	var delta int64
	for _, sb := range bufs {
		sb.tree.Ascend(func(e entry) bool {
			if e.del && e.fresh {
				// Absent before the epoch and after it: whatever the
				// overlay holds for the key (nothing, or a delete)
				// stays right.
				return true
			}
			old, had := tree.ReplaceOrInsert(e)
			if !had {
				delta += entryBytes(e)
				return true
			}
			delta -= entryBytes(old)
			// Whether Badger may hold the key was settled by the oldest
			// write since the last apply.
			switch {
			case old.fresh && e.del:
				tree.Delete(e)
				return true
			case old.fresh != e.fresh:
				e.fresh = old.fresh
				tree.ReplaceOrInsert(e)
			}
			delta += entryBytes(e)
			return true
		})
	}
	ov.bytes += delta
	d.uncommitted.Add(delta)
	d.deferredBytes.Add(delta)
}

// testHookApply, when set, is called at each step of an apply ("batch"
// after each batch but the last, "applied" before the chunks are
// deleted); an error stops the apply there, as a crash would.
var testHookApply func(step string) error

// applyDeferred applies every overlay to the table keys, then deletes
// every chunk of the log; the overlays of object dropID (0: none) are
// forgotten instead of applied. The caller holds commitMu, so every chunk
// belongs to a committed epoch and is in an overlay.
func (d *DB) applyDeferred(dropID uint64) error {
	ds := &d.deferred
	ds.mu.Lock()
	var ovs []*overlay
	for k, ov := range ds.overlays {
		if dropID != 0 && len(ov.prefix) >= 9 {
			if id, _, _ := ReadUint64(ov.prefix[1:]); id == dropID {
				delete(ds.overlays, k)
				d.forget(ov)
				continue
			}
		}
		ovs = append(ovs, ov)
	}
	ds.mu.Unlock()

	batch := applyBatchKeys
	if knobs().deferApply > 0 {
		batch = 16
	}
	wb := d.db.NewWriteBatch()
	defer func() { wb.Cancel() }()
	n := 0
	var key []byte
	var err error
	for _, ov := range ovs {
		ov.tree.Ascend(func(e entry) bool {
			key = append(append(key[:0], ov.prefix...), e.key...)
			k := append([]byte(nil), key...)
			if e.del {
				err = wb.Delete(k)
			} else {
				err = wb.Set(k, e.val)
			}
			if err != nil {
				return false
			}
			if n++; n%batch == 0 {
				if err = wb.Flush(); err != nil {
					return false
				}
				failpoint(d.log, fpDeferMidApply)
				if testHookApply != nil {
					if err = testHookApply("batch"); err != nil {
						return false
					}
				}
				wb = d.db.NewWriteBatch()
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("apply deferred state: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("apply deferred state: %w", err)
	}
	failpoint(d.log, fpDeferAfterApply)
	if testHookApply != nil {
		if err := testHookApply("applied"); err != nil {
			return err
		}
	}
	// Badger holds every overlay now: readers may stop looking there.
	for _, ov := range ovs {
		d.forget(ov)
	}
	return d.deleteLog()
}

// forget empties an overlay, giving its bytes back.
func (d *DB) forget(ov *overlay) {
	ov.mu.Lock()
	ov.tree = btree.NewG(btreeDegree, entryLess)
	ov.mu.Unlock()
	d.uncommitted.Add(-ov.bytes)
	d.deferredBytes.Add(-ov.bytes)
	ov.bytes = 0
}

// deleteLog deletes every chunk of the log.
func (d *DB) deleteLog() error {
	if err := d.deletePrefix([]byte{prefixLog}, "state log"); err != nil {
		return err
	}
	d.logBytes = 0
	return nil
}

// ApplyDeferred applies the committed overlays of deferred tables to
// Badger now (see the top of this file).
func (d *DB) ApplyDeferred() error {
	if err := d.RecoverEpochs(); err != nil {
		return err
	}
	es := d.epochs()
	es.commitMu.Lock()
	defer es.commitMu.Unlock()
	return d.applyDeferred(0)
}

// recoverLog applies the chunks of committed epochs (newest wins per key)
// and deletes every chunk. It runs before any table is read.
func (d *DB) recoverLog(committed uint64) error {
	final := btree.NewG(btreeDegree, entryLess)
	var torn, chunks int
	// The chunks of one epoch wait for its mark, which sorts after them.
	var pending [][]byte
	var pendingEpoch uint64
	err := d.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLog}, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			epoch, rest, err := ReadUint64(it.Item().Key()[1:])
			if err == nil {
				var seq uint64
				if seq, _, err = ReadUint64(rest); err == nil && seq == logMark {
					if epoch > committed {
						return fmt.Errorf("state log of epoch %d, but epoch %d is the last committed", epoch, committed)
					}
					if epoch != pendingEpoch {
						torn += len(pending)
						pending = nil
					}
					for _, chunk := range pending {
						chunks++
						if err := decodeChunk(chunk, func(k, v []byte, del bool) error {
							final.ReplaceOrInsert(entry{key: k, val: v, del: del})
							return nil
						}); err != nil {
							return fmt.Errorf("log chunk of epoch %d: %w", epoch, err)
						}
					}
					pending = nil
					continue
				}
			}
			if err != nil {
				return fmt.Errorf("log chunk %x: %w", it.Item().Key(), err)
			}
			if epoch != pendingEpoch {
				torn += len(pending)
				pending, pendingEpoch = nil, epoch
			}
			chunk, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			pending = append(pending, chunk)
		}
		torn += len(pending)
		return nil
	})
	if err != nil {
		return fmt.Errorf("recover state log: %w", err)
	}
	if chunks == 0 && torn == 0 {
		return nil
	}
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	final.Ascend(func(e entry) bool {
		if e.del {
			err = wb.Delete(e.key)
		} else {
			err = wb.Set(e.key, e.val)
		}
		return err == nil
	})
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return fmt.Errorf("recover state log: apply: %w", err)
	}
	d.log.Info("applied the state log after restart", "chunks", chunks, "keys", final.Len(),
		"discarded_chunks_of_uncommitted_epochs", torn)
	return d.deleteLog()
}
