package state

import (
	"encoding/binary"

	badger "github.com/dgraph-io/badger/v4"
)

// TableSize is what one operator's state table holds in the committed
// state: its live keys and their bytes (keys without the table's prefix,
// plus values).
type TableSize struct {
	ObjectID   uint64
	OperatorID uint32
	Keys       int64
	Bytes      int64
}

// TableSizes returns the size of every state table with a live key, in key
// order (by object, then operator): what a benchmark reports as an
// operator's state, whatever Badger's files hold besides (old versions,
// the value log's garbage).
func (d *DB) TableSizes() ([]TableSize, error) {
	var out []TableSize
	err := d.ReadCommitted(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixTable}})
		defer it.Close()
		const prefixLen = 1 + 8 + 4
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) < prefixLen {
				continue
			}
			obj, op := binary.BigEndian.Uint64(k[1:9]), binary.BigEndian.Uint32(k[9:13])
			if n := len(out); n == 0 || out[n-1].ObjectID != obj || out[n-1].OperatorID != op {
				out = append(out, TableSize{ObjectID: obj, OperatorID: op})
			}
			t := &out[len(out)-1]
			t.Keys++
			t.Bytes += int64(len(k)-prefixLen) + item.ValueSize()
		}
		return nil
	})
	return out, err
}
