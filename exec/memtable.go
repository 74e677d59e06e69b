package exec

import (
	"bytes"

	"github.com/google/btree"
)

// MemTable is a StateTable in memory, for unit tests of operators and for
// queries that need no durability. Writes are visible at once; there are no
// epochs. It is not safe for concurrent use.
type MemTable struct {
	t *btree.BTreeG[memEntry]
}

type memEntry struct{ key, val []byte }

var _ StateTable = (*MemTable)(nil)

// NewMemTable returns an empty MemTable.
func NewMemTable() *MemTable {
	return &MemTable{t: btree.NewG(32, func(a, b memEntry) bool { return bytes.Compare(a.key, b.key) < 0 })}
}

// Get returns key's value; the caller must not change it.
func (m *MemTable) Get(key []byte) ([]byte, bool, error) {
	e, ok := m.t.Get(memEntry{key: key})
	return e.val, ok, nil
}

// Put sets key to value; both are copied.
func (m *MemTable) Put(key, value []byte) error {
	m.t.ReplaceOrInsert(memEntry{key: bytes.Clone(key), val: append([]byte{}, value...)})
	return nil
}

// Delete removes key.
func (m *MemTable) Delete(key []byte) error {
	m.t.Delete(memEntry{key: key})
	return nil
}

// Scan calls fn for the keys in [start, end) in order, over a snapshot
// taken when Scan begins, so fn may write to the table.
func (m *MemTable) Scan(start, end []byte, fn func(key, value []byte) error) error {
	var es []memEntry
	visit := func(e memEntry) bool { es = append(es, e); return true }
	lo := memEntry{key: start}
	if start == nil {
		lo.key = []byte{}
	}
	if end == nil {
		m.t.AscendGreaterOrEqual(lo, visit)
	} else {
		m.t.AscendRange(lo, memEntry{key: end}, visit)
	}
	for _, e := range es {
		if err := fn(e.key, e.val); err != nil {
			return err
		}
	}
	return nil
}

// Len returns the number of keys.
func (m *MemTable) Len() int { return m.t.Len() }
