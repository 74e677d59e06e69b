package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// Epoch commits: how operator state becomes durable.
//
// Operators write into their Tables' buffers; at barrier N each table seals
// its buffer as epoch N, and when barrier N has reached every view and sink
// of a query the coordinator calls CommitEpoch(N, extra, tables...). What
// that writes is visible all together or not at all:
//
//   - Small epoch (the usual case): one Badger transaction holds every
//     sealed write, extra's writes (shard positions, view changes) and the
//     marker 'm' "epoch" = N. Badger makes it atomic.
//   - Large epoch (over ~80% of Badger's transaction limit, or the one
//     transaction failed with ErrTxnTooBig): a redo log.
//     1. The writes are staged in chunks at 'w' | N | seq, in as many
//     transactions as needed. Nothing reads 'w' keys.
//     2. One transaction writes extra's writes, the marker 'm' "epoch" = N
//     and 'm' "redo" = N. This is the commit point.
//     3. The writes are applied to the table keys in batches, then the
//     redo flag and the chunks are deleted.
//     Readers of committed state (ReadCommitted) are held off during step 3,
//     so they never see half an epoch; the operators' own Tables keep the
//     sealed buffers until step 3 ends, so they read the new values anyway.
//
// Recovery (RecoverEpochs, run once per DB before any table is read): if
// 'm' "redo" is set, its epoch committed but may be half applied, so the
// chunks are applied again (they hold final values, so applying twice is
// harmless); then the flag is deleted, then every 'w' chunk: chunks of an
// epoch whose marker was never written (a crash in step 1) are thrown away,
// so that epoch's writes are invisible.
//
// Table keys hold committed values only, with no epoch in the key: reads
// need no version filtering and old values need no garbage collection.
// Deferred tables (deferred.go) are the exception: their commits write a
// log, applied to their keys rarely, and their Tables read what is not
// applied yet from memory.

// Key families of this file; state.go owns 'm' and 'c'.
const (
	prefixTable byte = 't'
	prefixStage byte = 'w'
)

var (
	keyEpoch = append([]byte{prefixMeta}, "epoch"...)
	keyRedo  = append([]byte{prefixMeta}, "redo"...)
)

// stageChunkBytes bounds one staged chunk, well under a transaction, and
// under Badger's value threshold (1 MB by default), so that chunks stay in
// the LSM tree and their deletion frees them at compaction, rather than
// leaving the value log as large as the epoch until value-log GC.
const stageChunkBytes = 512 << 10

// epochState is the per-DB state of epoch commits.
type epochState struct {
	commitMu sync.Mutex   // one CommitEpoch at a time
	applyMu  sync.RWMutex // held for writing while a large epoch is applied
	// pinMu guards pinned: while a large epoch is committed and applied,
	// Snapshot shares a read of the state as it was before, so that a read
	// of a view never waits for another view's large epoch.
	pinMu       sync.Mutex
	pinned      *sharedRead
	recoverOnce sync.Once
	recoverErr  error

	statsMu sync.Mutex
	stats   CommitStats
}

// CommitStats counts the epochs CommitEpoch has committed since Open and
// the bytes their commits wrote to Badger: the key and value of every set
// and the key of every delete, of table writes, state log chunks, staged
// chunks and markers (a large epoch's writes count twice, staged and then
// applied: Badger writes both). The writes of CommitEpoch's extra, and the
// later apply of deferred tables' log to their keys, are not counted.
type CommitStats struct {
	Commits int64
	Bytes   int64
	// LastEpoch and LastBytes are of the last commit.
	LastEpoch uint64
	LastBytes int64
}

// CommitStats returns the figures of the commits since Open.
func (d *DB) CommitStats() CommitStats {
	es := d.epochs()
	es.statsMu.Lock()
	defer es.statsMu.Unlock()
	return es.stats
}

// writeBytes is what a set (or, v nil, a delete) of k writes, as
// CommitStats counts it.
func writeBytes(k, v []byte) int64 { return int64(len(k) + len(v)) }

func (d *DB) epochs() *epochState { return &d.epoch }

// LastCommittedEpoch returns the last epoch CommitEpoch made durable, 0 if
// none.
func (d *DB) LastCommittedEpoch() (uint64, error) {
	var epoch uint64
	err := d.db.View(func(txn *badger.Txn) error {
		var err error
		epoch, err = readEpochKey(txn, keyEpoch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read last committed epoch: %w", err)
	}
	return epoch, nil
}

func readEpochKey(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var epoch uint64
	err = item.Value(func(v []byte) error {
		var err error
		epoch, _, err = ReadUint64(v)
		return err
	})
	return epoch, err
}

// ReadCommitted runs fn in a read-only transaction that sees whole
// committed epochs only: SELECT from a view and SUBSCRIBE's snapshot read
// through it (with ScanCommitted).
func (d *DB) ReadCommitted(fn func(txn *badger.Txn) error) error {
	if err := d.RecoverEpochs(); err != nil {
		return err
	}
	es := d.epochs()
	es.applyMu.RLock()
	defer es.applyMu.RUnlock()
	return d.db.View(fn)
}

// CommitEpoch makes epoch durable: every write sealed in tables at epochs
// up to epoch, whatever extra writes in the transaction (shard positions;
// nil for none), and the epoch marker, all or nothing (see the comment at
// the top of this file). A table not yet sealed at epoch is sealed here,
// which is only safe while nothing writes to it. Epochs must increase.
func (d *DB) CommitEpoch(epoch uint64, extra func(txn *badger.Txn) error, tables ...*Table) error {
	if err := d.RecoverEpochs(); err != nil {
		return err
	}
	es := d.epochs()
	es.commitMu.Lock()
	defer es.commitMu.Unlock()

	last, err := d.LastCommittedEpoch()
	if err != nil {
		return err
	}
	if epoch <= last {
		return fmt.Errorf("commit epoch %d: epoch %d is already committed", epoch, last)
	}
	// Deferred tables' writes go to the state log (deferred.go), the
	// others' to their keys.
	var plain, deferred []*Table
	var bufs, deferBufs [][]sealedBuf
	var size, count int64
	for _, t := range tables {
		if t.err != nil {
			return t.err
		}
		if t.sealed.Load() < epoch {
			t.SealEpoch(epoch)
		}
		b := t.sealedUpTo(epoch)
		if t.ov != nil {
			deferred, deferBufs = append(deferred, t), append(deferBufs, b)
		} else {
			plain, bufs = append(plain, t), append(bufs, b)
		}
		for _, sb := range b {
			n := int64(sb.tree.Len())
			size += sb.kv.keys + sb.kv.vals + n*int64(len(t.prefix)+16)
			if t.ov == nil {
				count += n
			}
		}
	}
	logChunks := encodeLog(deferred, deferBufs)
	count += int64(len(logChunks))
	small := size < d.db.MaxBatchSize()*8/10 && count < d.db.MaxBatchCount()*8/10
	if limit := redoAbove(); limit > 0 && size > limit {
		small = false
	}
	// written sums the bytes of the commit's writes (CommitStats).
	var written int64
	if small {
		err = d.db.Update(func(txn *badger.Txn) error {
			written = 0
			set := func(k, v []byte) error {
				written += writeBytes(k, v)
				return txn.Set(k, v)
			}
			if err := forEachWrite(plain, bufs, func(k []byte, e entry) error {
				if e.del {
					written += writeBytes(k, nil)
					return txn.Delete(k)
				}
				return set(k, e.val)
			}); err != nil {
				return err
			}
			for i, c := range logChunks {
				if err := set(logKey(epoch, uint64(i)), c); err != nil {
					return err
				}
			}
			if len(logChunks) > 0 {
				if err := set(logKey(epoch, logMark), nil); err != nil {
					return err
				}
			}
			if extra != nil {
				if err := extra(txn); err != nil {
					return err
				}
			}
			if err := set(keyEpoch, AppendUint64(nil, epoch)); err != nil {
				return err
			}
			failpoint(d.log, fpCommitBeforeTxn)
			return nil
		})
		if err == nil {
			failpoint(d.log, fpCommitAfterTxn)
		}
		if errors.Is(err, badger.ErrTxnTooBig) {
			small = false
		} else if err != nil {
			return fmt.Errorf("commit epoch %d: %w", epoch, err)
		}
	}
	if !small {
		logWritten, err := d.writeLog(epoch, logChunks)
		if err != nil {
			return fmt.Errorf("commit epoch %d in batches: %w", epoch, err)
		}
		largeExtra := extra
		if len(logChunks) > 0 {
			mark := logKey(epoch, logMark)
			logWritten += writeBytes(mark, nil)
			largeExtra = func(txn *badger.Txn) error {
				if extra != nil {
					if err := extra(txn); err != nil {
						return err
					}
				}
				return txn.Set(mark, nil)
			}
		}
		largeWritten, err := d.commitLarge(epoch, largeExtra, plain, bufs)
		if err != nil {
			return fmt.Errorf("commit epoch %d in batches: %w", epoch, err)
		}
		written = logWritten + largeWritten
	}
	es.statsMu.Lock()
	es.stats.Commits++
	es.stats.Bytes += written
	es.stats.LastEpoch, es.stats.LastBytes = epoch, written
	es.statsMu.Unlock()
	// The overlays take the deferred tables' writes before their sealed
	// buffers go, so that a read finds them in one or the other.
	for i, t := range deferred {
		d.mergeCommitted(t, deferBufs[i])
	}
	for _, t := range tables {
		t.dropSealedUpTo(epoch)
	}
	for _, c := range logChunks {
		d.logBytes += int64(len(c))
	}
	if d.deferredBytes.Load() > d.deferApply || d.logBytes > d.deferApply {
		// The epoch is committed whatever happens here: a failed apply
		// is tried again at the next commit, the log keeps the writes.
		if err := d.applyDeferred(0); err != nil {
			d.log.Warn("apply deferred state to its keys; retried at the next commit", "epoch", epoch, "err", err)
		}
	}
	return nil
}

// forEachWrite calls fn with the full key of every sealed write, oldest
// epoch first, so that a later write to a key lands after an earlier one.
func forEachWrite(tables []*Table, bufs [][]sealedBuf, fn func(fullKey []byte, e entry) error) error {
	for i, t := range tables {
		for _, sb := range bufs[i] {
			// One allocation holds every full key of the buffer: Badger
			// keeps the keys it is given until the write is done.
			arena := make([]byte, 0, sb.kv.keys+int64(sb.tree.Len()*len(t.prefix)))
			var err error
			sb.tree.Ascend(func(e entry) bool {
				if e.del && e.fresh {
					// The key had no value before this epoch and has
					// none after it.
					return true
				}
				start := len(arena)
				arena = append(append(arena, t.prefix...), e.key...)
				err = fn(arena[start:len(arena):len(arena)], e)
				return err == nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// testHookAfterStage, when set, runs after the chunks of a large epoch
// are staged and before its marker: a test returns an error to simulate a
// crash there.
var testHookAfterStage func() error

// testHookApplying, when set, runs while a large epoch is being applied.
var testHookApplying func()

// commitLarge returns the bytes it wrote, as CommitStats counts them
// (extra's writes aside).
func (d *DB) commitLarge(epoch uint64, extra func(txn *badger.Txn) error, tables []*Table, bufs [][]sealedBuf) (int64, error) {
	// 1. Stage.
	written, err := d.stage(epoch, func(fn func(k []byte, e entry) error) error {
		return forEachWrite(tables, bufs, fn)
	})
	if err != nil {
		return 0, err
	}
	if testHookAfterStage != nil {
		if err := testHookAfterStage(); err != nil {
			return 0, err
		}
	}
	failpoint(d.log, fpRedoAfterStage)
	// Reads of views started from here until the epoch is applied see the
	// previous epoch, whole (Snapshot).
	es := d.epochs()
	pin := &sharedRead{txn: d.db.NewTransaction(false), mu: &es.pinMu, refs: 1}
	es.pinMu.Lock()
	es.pinned = pin
	es.pinMu.Unlock()
	defer func() {
		es.pinMu.Lock()
		es.pinned = nil
		es.pinMu.Unlock()
		pin.release()
	}()
	// 2. Commit point.
	mark := AppendUint64(nil, epoch)
	err = d.db.Update(func(txn *badger.Txn) error {
		if extra != nil {
			if err := extra(txn); err != nil {
				return err
			}
		}
		if err := txn.Set(keyRedo, mark); err != nil {
			return err
		}
		return txn.Set(keyEpoch, mark)
	})
	if err != nil {
		return 0, fmt.Errorf("write marker: %w", err)
	}
	written += writeBytes(keyRedo, mark) + writeBytes(keyEpoch, mark)
	failpoint(d.log, fpRedoAfterMarker)
	// 3. Apply, then clean up.
	es.applyMu.Lock()
	defer es.applyMu.Unlock()
	if testHookApplying != nil {
		testHookApplying()
	}
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	if err := forEachWrite(tables, bufs, func(k []byte, e entry) error {
		if e.del {
			written += writeBytes(k, nil)
			return wb.Delete(k)
		}
		written += writeBytes(k, e.val)
		return wb.Set(k, e.val)
	}); err != nil {
		return 0, fmt.Errorf("apply: %w", err)
	}
	if err := wb.Flush(); err != nil {
		return 0, fmt.Errorf("apply: %w", err)
	}
	failpoint(d.log, fpRedoAfterApply)
	return written, d.clearStage()
}

// stage writes every write that each yields as chunks at 'w' | epoch | seq,
// and returns the bytes of the chunks and their keys.
func (d *DB) stage(epoch uint64, each func(fn func(k []byte, e entry) error) error) (int64, error) {
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	var seq uint64
	var written int64
	chunk := make([]byte, 0, stageChunkBytes)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		k := AppendUint64(AppendUint64([]byte{prefixStage}, epoch), seq)
		seq++
		written += writeBytes(k, chunk)
		err := wb.Set(k, chunk)
		chunk = make([]byte, 0, stageChunkBytes)
		return err
	}
	err := each(func(k []byte, e entry) error {
		chunk = appendChunkEntry(chunk, k, e)
		if len(chunk) >= stageChunkBytes {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	return written, nil
}

// clearStage deletes the redo flag, then every staged chunk.
func (d *DB) clearStage() error {
	if err := d.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyRedo) }); err != nil {
		return fmt.Errorf("clear redo flag: %w", err)
	}
	failpoint(d.log, fpRedoAfterClearFlag)
	return d.deletePrefix([]byte{prefixStage}, "staged chunks")
}

// deletePrefix deletes every key under prefix (what names them in
// errors), listing them first and then deleting them in batches.
func (d *DB) deletePrefix(prefix []byte, what string) error {
	var keys [][]byte
	err := d.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", what, err)
	}
	if len(keys) == 0 {
		return nil
	}
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return fmt.Errorf("delete %s: %w", what, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("delete %s: %w", what, err)
	}
	return nil
}

// RecoverEpochs finishes or discards a large epoch that a crash cut short
// (see the top of this file). Open runs it; it runs once per DB, and later
// calls return the first call's result.
func (d *DB) RecoverEpochs() error {
	es := d.epochs()
	es.recoverOnce.Do(func() { es.recoverErr = d.recoverEpochs() })
	return es.recoverErr
}

func (d *DB) recoverEpochs() error {
	if err := checkKnobs(); err != nil {
		return err
	}
	var redo, committed uint64
	var staged bool
	err := d.db.View(func(txn *badger.Txn) error {
		var err error
		if redo, err = readEpochKey(txn, keyRedo); err != nil {
			return err
		}
		if committed, err = readEpochKey(txn, keyEpoch); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixStage}})
		defer it.Close()
		it.Rewind()
		staged = it.Valid()
		return nil
	})
	if err != nil {
		return fmt.Errorf("recover epochs: %w", err)
	}
	if redo != 0 {
		if redo != committed {
			return fmt.Errorf("recover epochs: redo flag names epoch %d but epoch %d is committed", redo, committed)
		}
		if err := d.replay(redo); err != nil {
			return fmt.Errorf("recover epoch %d: %w", redo, err)
		}
		d.log.Info("finished applying a committed epoch after restart", "epoch", redo)
	} else if staged {
		// Either a torn epoch (staged, never committed) or a committed
		// one applied before its chunks were deleted: either way the
		// chunks are not needed.
		d.log.Info("discarding leftover staged writes: of an epoch that never committed, or of one already applied",
			"last_committed_epoch", committed)
	}
	if redo != 0 || staged {
		if err := d.clearStage(); err != nil {
			return err
		}
	}
	return d.recoverLog(committed)
}

// replay applies the staged chunks of epoch to the table keys.
func (d *DB) replay(epoch uint64) error {
	wb := d.db.NewWriteBatch()
	defer wb.Cancel()
	err := d.db.View(func(txn *badger.Txn) error {
		prefix := AppendUint64([]byte{prefixStage}, epoch)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			chunk, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := decodeChunk(chunk, func(k, v []byte, del bool) error {
				if del {
					return wb.Delete(k)
				}
				return wb.Set(k, v)
			}); err != nil {
				return fmt.Errorf("chunk %x: %w", it.Item().Key(), err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return wb.Flush()
}

// appendChunkEntry appends one write to a staged or log chunk.
func appendChunkEntry(chunk, k []byte, e entry) []byte {
	chunk = binary.AppendUvarint(chunk, uint64(len(k)))
	chunk = append(chunk, k...)
	if e.del {
		return append(chunk, 1)
	}
	chunk = append(chunk, 0)
	chunk = binary.AppendUvarint(chunk, uint64(len(e.val)))
	return append(chunk, e.val...)
}

var errBadChunk = errors.New("corrupt staged chunk")

func decodeChunk(b []byte, fn func(k, v []byte, del bool) error) error {
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n+1 {
			return errBadChunk
		}
		k := b[w : w+int(n)]
		b = b[w+int(n):]
		del := b[0] == 1
		b = b[1:]
		var v []byte
		if !del {
			n, w = binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				return errBadChunk
			}
			v = b[w : w+int(n)]
			b = b[w+int(n):]
		}
		if err := fn(k, v, del); err != nil {
			return err
		}
	}
	return nil
}
