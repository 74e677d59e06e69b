package state

import (
	"encoding/json"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// CatalogEntry is one object of the catalog as it is stored: its identity,
// its definition as the user wrote it, and the names it depends on. The
// engine re-parses Definition at startup, so one code path builds an object
// whether it was just created or loaded after a restart.
type CatalogEntry struct {
	ID         uint64   `json:"id"`
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	Definition string   `json:"definition"`
	DependsOn  []string `json:"depends_on,omitempty"`
	// CreatedAt pins what "now" meant at CREATE, e.g. a source's
	// start_position = 'latest'.
	CreatedAt time.Time `json:"created_at"`
}

var keyNextID = append([]byte{prefixMeta}, "next_id"...)

func catalogKey(id uint64) []byte {
	return AppendUint64(append(make([]byte, 0, 9), prefixCatalog), id)
}

// LoadCatalog returns every catalog entry in creation (ID) order, so that an
// object always comes after the objects it depends on.
func (d *DB) LoadCatalog() ([]CatalogEntry, error) {
	var out []CatalogEntry
	err := d.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixCatalog}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var e CatalogEntry
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("catalog key %x: %w", it.Item().Key(), err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	return out, nil
}

// CreateCatalogEntry assigns e a new ID, stores it durably and returns it.
func (d *DB) CreateCatalogEntry(e CatalogEntry) (CatalogEntry, error) {
	err := d.db.Update(func(txn *badger.Txn) error {
		id, err := nextID(txn)
		if err != nil {
			return err
		}
		e.ID = id
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return txn.Set(catalogKey(id), v)
	})
	if err != nil {
		return CatalogEntry{}, fmt.Errorf("create %s %s: %w", e.Kind, e.Name, err)
	}
	return e, d.sync()
}

// DeleteCatalogEntries removes the entries with these IDs in one transaction,
// so a DROP ... CASCADE removes all of its objects or none.
func (d *DB) DeleteCatalogEntries(ids ...uint64) error {
	err := d.db.Update(func(txn *badger.Txn) error {
		for _, id := range ids {
			if err := txn.Delete(catalogKey(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete catalog entries: %w", err)
	}
	return d.sync()
}

// sync makes catalog changes survive a power loss, not only a killed
// process: DDL is rare, so the fsync costs nothing that matters.
func (d *DB) sync() error {
	if err := d.db.Sync(); err != nil {
		return fmt.Errorf("sync state: %w", err)
	}
	return nil
}

func nextID(txn *badger.Txn) (uint64, error) {
	var id uint64 = 1
	item, err := txn.Get(keyNextID)
	switch {
	case err == nil:
		v, err := item.ValueCopy(nil)
		if err != nil {
			return 0, err
		}
		if id, _, err = ReadUint64(v); err != nil {
			return 0, fmt.Errorf("next id: %w", err)
		}
	case err != badger.ErrKeyNotFound:
		return 0, err
	}
	return id, txn.Set(keyNextID, AppendUint64(nil, id+1))
}
