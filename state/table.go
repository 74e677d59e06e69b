package state

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/google/btree"
)

// Table is one operator's keyed state (it implements exec.StateTable): the
// rows under the key prefix 't' | object id | operator id in Badger, plus
// what the operator wrote since the last committed epoch.
//
// Layers, newest first: the dirty buffer (writes of the current epoch), the
// sealed buffers of epochs that ended but are not committed yet, a read cache
// of latest values, and Badger. Reads see the operator's own writes at once;
// Badger holds committed epochs only, so a crash loses uncommitted writes
// and nothing else.
//
// Concurrency: Get, Put, Delete, Scan, SealEpoch and Reset belong to the
// operator's goroutine. CommitEpoch may run on another goroutine at the same
// time: it only reads sealed buffers, which never change, and drops them once
// Badger holds their contents.
type Table struct {
	db     *DB
	prefix []byte
	dirty  *btree.BTreeG[entry]
	cache  *lru
	err    error // recovery failure, reported by every call
	// ov is a deferred table's committed overlay (deferred.go), nil for
	// a table whose commits write its keys.
	ov *overlay

	sealed   atomic.Uint64 // highest epoch sealed
	frozenMu sync.Mutex    // serialises writers of frozen
	frozen   atomic.Pointer[[]sealedBuf]
	keyBuf   []byte
	degree   int
	// dirtyBytes is what the dirty buffer holds (entryBytes each); it and
	// the sealed buffers' bytes are counted in DB.Uncommitted.
	dirtyBytes int64
	// dirtyKV is the key and value bytes the dirty buffer holds, so that
	// a commit sizes its writes without walking them.
	dirtyKV kvBytes
}

// kvBytes counts the key and value bytes of a buffer's writes.
type kvBytes struct{ keys, vals int64 }

func (n *kvBytes) add(e entry, sign int64) {
	n.keys += sign * int64(len(e.key))
	n.vals += sign * int64(len(e.val))
}

// entry is one buffered write. key and val share one allocation and are
// never changed after the entry is built.
type entry struct {
	key []byte
	val []byte
	del bool
	// fresh: the key had no value in Badger when the oldest write of its
	// buffer or overlay was made (PutNew), so that a delete meeting it
	// needs no write.
	fresh bool
}

func entryLess(a, b entry) bool { return bytes.Compare(a.key, b.key) < 0 }

// entryBytes estimates the memory of a buffered write: its bytes, and its
// item in the B-tree (two slice headers and a flag, in nodes up to half
// empty), measured on a heap profile.
func entryBytes(e entry) int64 { return int64(len(e.key)+len(e.val)) + 128 }

// sealedBuf is the writes of one ended epoch, immutable from SealEpoch on.
type sealedBuf struct {
	epoch uint64
	tree  *btree.BTreeG[entry]
	bytes int64
	kv    kvBytes
}

// TableOptions tunes a Table.
type TableOptions struct {
	// CacheBytes bounds the read cache; 0 means DefaultCacheBytes and a
	// negative value disables the cache.
	CacheBytes int
	// Deferred keeps the table's committed writes in a log and in memory,
	// applied to its keys rarely (deferred.go): for state that only its
	// operator reads, never for a table read with ReadCommitted.
	Deferred bool
}

// DefaultCacheBytes is the read cache of a Table built without options.
const DefaultCacheBytes = 8 << 20

const btreeDegree = 32

// Table returns the state table of operator operatorID of object objectID.
// Keys are scoped by the prefix, so operators never see each other's state.
// A DB whose last epoch needs recovering is recovered first; a failure is
// returned by every call on the table.
func (d *DB) Table(objectID uint64, operatorID uint32) *Table {
	return d.TableWithOptions(objectID, operatorID, TableOptions{})
}

// TableWithOptions is Table with options.
func (d *DB) TableWithOptions(objectID uint64, operatorID uint32, opts TableOptions) *Table {
	cb := opts.CacheBytes
	if cb == 0 {
		cb = DefaultCacheBytes
	}
	t := &Table{
		db:     d,
		prefix: tablePrefix(objectID, operatorID),
		dirty:  btree.NewG(btreeDegree, entryLess),
		cache:  newLRU(cb),
		degree: btreeDegree,
	}
	t.err = d.RecoverEpochs()
	if opts.Deferred {
		t.ov = d.overlayFor(t.prefix)
	}
	empty := []sealedBuf{}
	t.frozen.Store(&empty)
	return t
}

func tablePrefix(objectID uint64, operatorID uint32) []byte {
	p := make([]byte, 0, 13)
	p = append(p, prefixTable)
	p = AppendUint64(p, objectID)
	return append(p, byte(operatorID>>24), byte(operatorID>>16), byte(operatorID>>8), byte(operatorID))
}

// fullKey returns prefix|key in a buffer reused by the next call.
func (t *Table) fullKey(key []byte) []byte {
	t.keyBuf = append(append(t.keyBuf[:0], t.prefix...), key...)
	return t.keyBuf
}

// Get returns key's value. The value must not be changed; it stays valid.
func (t *Table) Get(key []byte) ([]byte, bool, error) {
	if t.err != nil {
		return nil, false, t.err
	}
	if e, ok := t.dirty.Get(entry{key: key}); ok {
		return e.val, !e.del, nil
	}
	fz := *t.frozen.Load()
	for i := len(fz) - 1; i >= 0; i-- {
		if e, ok := fz[i].tree.Get(entry{key: key}); ok {
			return e.val, !e.del, nil
		}
	}
	if t.ov != nil {
		if e, ok := t.ov.get(key); ok {
			return e.val, !e.del, nil
		}
	}
	if v, present, ok := t.cache.get(key); ok {
		return v, present, nil
	}
	var val []byte
	present := false
	err := t.db.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(t.fullKey(key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		present = true
		val, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("state get: %w", err)
	}
	t.cache.set(key, val, present)
	return val, present, nil
}

// Put sets key to value; both are copied.
func (t *Table) Put(key, value []byte) error { return t.put(key, value, false) }

// PutNew is Put of a key the caller knows has no value (Get would not find
// it): should it be deleted again before it reaches Badger, neither write
// is made.
func (t *Table) PutNew(key, value []byte) error { return t.put(key, value, true) }

func (t *Table) put(key, value []byte, fresh bool) error {
	if t.err != nil {
		return t.err
	}
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	e := entry{key: buf[:len(key):len(key)], val: buf[len(key):], fresh: fresh}
	t.buffer(e)
	t.cache.written(e.key, e.val, true)
	return nil
}

// buffer adds e to the dirty buffer, counting its memory.
func (t *Table) buffer(e entry) {
	n := entryBytes(e)
	t.dirtyKV.add(e, 1)
	if old, ok := t.dirty.ReplaceOrInsert(e); ok {
		n -= entryBytes(old)
		t.dirtyKV.add(old, -1)
		if old.fresh != e.fresh {
			// Whether Badger may hold the key was settled by the
			// buffer's first write of it.
			e.fresh = old.fresh
			if e.fresh && e.del {
				// Put as new and deleted in one epoch: nothing to
				// write, and no layer below has a value to hide.
				t.dirty.Delete(e)
				n -= entryBytes(e)
				t.dirtyKV.add(e, -1)
			} else {
				t.dirty.ReplaceOrInsert(e)
			}
		}
	}
	t.dirtyBytes += n
	t.db.uncommitted.Add(n)
}

// Delete removes key.
func (t *Table) Delete(key []byte) error {
	if t.err != nil {
		return t.err
	}
	e := entry{key: bytes.Clone(key), del: true}
	if e.key == nil {
		e.key = []byte{}
	}
	t.buffer(e)
	t.cache.written(e.key, nil, false)
	return nil
}

// Scan calls fn for every live key in [start, end) in key order; a nil end
// means no upper bound. It sees the table as it was when Scan began, so fn
// may Put and Delete (a window closing deletes what it scans). fn must not
// keep key or value after it returns.
func (t *Table) Scan(start, end []byte, fn func(key, value []byte) error) error {
	if t.err != nil {
		return t.err
	}
	overlay := t.overlay(start, end)
	txn := t.db.db.NewTransaction(false)
	defer txn.Discard()
	// Every key in [start, end) starts with what start and end have in
	// common: with that as the iterator's prefix Badger never walks past
	// the range (past it may lie long runs of deleted keys it would skip
	// one by one).
	prefix := t.prefix
	if end != nil {
		n := 0
		for n < len(start) && n < len(end) && start[n] == end[n] {
			n++
		}
		prefix = append(append(make([]byte, 0, len(t.prefix)+n), t.prefix...), start[:n]...)
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	seek := append(append([]byte(nil), t.prefix...), start...)
	it.Seek(seek)
	var vbuf []byte
	oi := 0
	for {
		var bk []byte
		if it.Valid() {
			bk = it.Item().Key()[len(t.prefix):]
			if end != nil && bytes.Compare(bk, end) >= 0 {
				bk = nil
			}
		}
		bValid := bk != nil
		if !bValid && oi >= len(overlay) {
			return nil
		}
		c := -1 // <0: overlay first; 0: same key, overlay wins; >0: badger
		switch {
		case !bValid:
			c = -1
		case oi >= len(overlay):
			c = 1
		default:
			c = bytes.Compare(overlay[oi].key, bk)
		}
		if c <= 0 {
			e := overlay[oi]
			oi++
			if c == 0 {
				it.Next()
			}
			if !e.del {
				if err := fn(e.key, e.val); err != nil {
					return err
				}
			}
			continue
		}
		var err error
		vbuf, err = it.Item().ValueCopy(vbuf[:0])
		if err != nil {
			return fmt.Errorf("state scan: %w", err)
		}
		if err := fn(bk, vbuf); err != nil {
			return err
		}
		it.Next()
	}
}

// overlay returns the buffered writes in [start, end), newest per key, in
// key order.
func (t *Table) overlay(start, end []byte) []entry {
	fz := *t.frozen.Load()
	trees := make([]*btree.BTreeG[entry], 0, len(fz)+2)
	trees = append(trees, t.dirty)
	for i := len(fz) - 1; i >= 0; i-- {
		trees = append(trees, fz[i].tree)
	}
	var out []entry
	collect := func(tr *btree.BTreeG[entry]) []entry {
		var es []entry
		visit := func(e entry) bool { es = append(es, e); return true }
		lo := entry{key: start}
		if start == nil {
			lo.key = []byte{}
		}
		if end == nil {
			tr.AscendGreaterOrEqual(lo, visit)
		} else {
			tr.AscendRange(lo, entry{key: end}, visit)
		}
		return es
	}
	add := func(es []entry) {
		if out == nil {
			out = es
			return
		}
		out = mergeNewer(out, es)
	}
	for _, tr := range trees {
		if tr.Len() > 0 {
			add(collect(tr))
		}
	}
	if t.ov != nil {
		// Read after the sealed buffers: a commit merges them into the
		// overlay before it drops them.
		t.ov.mu.RLock()
		es := collect(t.ov.tree)
		t.ov.mu.RUnlock()
		add(es)
	}
	return out
}

// mergeNewer merges two key-ordered runs; on equal keys newer wins.
func mergeNewer(newer, older []entry) []entry {
	out := make([]entry, 0, len(newer)+len(older))
	i, j := 0, 0
	for i < len(newer) && j < len(older) {
		switch c := bytes.Compare(newer[i].key, older[j].key); {
		case c < 0:
			out = append(out, newer[i])
			i++
		case c > 0:
			out = append(out, older[j])
			j++
		default:
			out = append(out, newer[i])
			i, j = i+1, j+1
		}
	}
	out = append(out, newer[i:]...)
	return append(out, older[j:]...)
}

// SealEpoch ends epoch in this table: the writes made so far belong to it
// and are what CommitEpoch(epoch) writes, while later writes belong to the
// next epoch. The runtime calls it after the operator's OnBarrier. It
// fails only when the table cannot be used at all.
func (t *Table) SealEpoch(epoch uint64) error {
	if t.err != nil {
		return t.err
	}
	if t.dirty.Len() > 0 {
		t.frozenMu.Lock()
		old := *t.frozen.Load()
		next := make([]sealedBuf, len(old), len(old)+1)
		copy(next, old)
		next = append(next, sealedBuf{epoch: epoch, tree: t.dirty, bytes: t.dirtyBytes, kv: t.dirtyKV})
		t.frozen.Store(&next)
		t.frozenMu.Unlock()
		t.dirty = btree.NewG(t.degree, entryLess)
		t.dirtyBytes = 0
		t.dirtyKV = kvBytes{}
	}
	if epoch > t.sealed.Load() {
		t.sealed.Store(epoch)
	}
	return nil
}

// sealedUpTo returns the sealed buffers of epochs <= epoch, oldest first.
func (t *Table) sealedUpTo(epoch uint64) []sealedBuf {
	fz := *t.frozen.Load()
	n := 0
	for n < len(fz) && fz[n].epoch <= epoch {
		n++
	}
	return fz[:n]
}

// dropSealedUpTo forgets the sealed buffers that Badger now holds.
func (t *Table) dropSealedUpTo(epoch uint64) {
	t.frozenMu.Lock()
	defer t.frozenMu.Unlock()
	old := *t.frozen.Load()
	n := 0
	for n < len(old) && old[n].epoch <= epoch {
		t.db.uncommitted.Add(-old[n].bytes)
		n++
	}
	next := append([]sealedBuf{}, old[n:]...)
	t.frozen.Store(&next)
}

// Reset forgets every uncommitted write and the cache, so the table reads
// as of the last committed epoch (a deferred table's committed overlay
// stays: it is committed). A pipeline that ends calls it on its
// tables, so that what they held no longer counts in DB.Uncommitted; no
// CommitEpoch of the table may be running.
func (t *Table) Reset() {
	t.frozenMu.Lock()
	for _, sb := range *t.frozen.Load() {
		t.db.uncommitted.Add(-sb.bytes)
	}
	empty := []sealedBuf{}
	t.frozen.Store(&empty)
	t.frozenMu.Unlock()
	t.db.uncommitted.Add(-t.dirtyBytes)
	t.dirtyBytes = 0
	t.dirtyKV = kvBytes{}
	t.dirty = btree.NewG(t.degree, entryLess)
	t.cache.reset()
}

// ScanCommitted calls fn for every key of a table in [start, end) as of
// txn, which should come from ReadCommitted so that it sees whole epochs.
// fn must not keep key or value.
func ScanCommitted(txn *badger.Txn, objectID uint64, operatorID uint32, start, end []byte,
	fn func(key, value []byte) error) error {
	it := scanTable(txn, objectID, operatorID, start, end)
	defer it.Close()
	for {
		k, v, ok, err := it.Next()
		if err != nil || !ok {
			return err
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
}
