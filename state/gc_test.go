package state

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// TestGC_RunsAndStopsOnClose: the value-log GC goroutine runs rounds while
// state is overwritten, and Close stops it and returns promptly.
func TestGC_RunsAndStopsOnClose(t *testing.T) {
	db, err := Open(context.Background(), Options{Dir: t.TempDir(), GCInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tb := db.Table(1, 1)
	big := make([]byte, 64<<10)
	for epoch := uint64(1); epoch <= 20; epoch++ {
		for k := range 8 {
			if err := tb.Put(fmt.Appendf(nil, "k%d", k), big); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CommitEpoch(epoch, nil, tb); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for db.gcRuns.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("value-log GC ran %d rounds in 30s, want 3", db.gcRuns.Load())
		}
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return within 30s")
	}
	select {
	case <-db.gcDone:
	default:
		t.Fatal("the GC goroutine is still running after Close")
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestGC_NotInMemory: an in-memory database has no value log and no GC.
func TestGC_NotInMemory(t *testing.T) {
	db := openTest(t, "")
	if db.gcStop != nil {
		t.Error("GC goroutine started for an in-memory database")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDropObjectState_FreesKeys: after DROP, no key of the dropped
// object's tables is left in Badger, other objects' keys are untouched,
// and that holds after a reopen.
func TestDropObjectState_FreesKeys(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	var tables []*Table
	for _, id := range []struct {
		obj uint64
		op  uint32
	}{{5, 1}, {5, 2}, {5, 0xFFFFFFFF}, {6, 1}, {4, 1}} {
		tb := db.Table(id.obj, id.op)
		for k := range 100 {
			if err := tb.Put(fmt.Appendf(nil, "key%03d", k), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		tables = append(tables, tb)
	}
	if err := db.CommitEpoch(1, nil, tables...); err != nil {
		t.Fatal(err)
	}
	count := func(db *DB, obj uint64) int {
		t.Helper()
		n := 0
		err := db.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: AppendUint64([]byte{prefixTable}, obj)})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(db, 5); got != 300 {
		t.Fatalf("object 5 has %d keys before DROP, want 300", got)
	}
	if err := db.DropObjectState(5, nil); err != nil {
		t.Fatal(err)
	}
	db.WaitDrops()
	for _, c := range []struct {
		obj  uint64
		want int
	}{{5, 0}, {4, 100}, {6, 100}} {
		if got := count(db, c.obj); got != c.want {
			t.Errorf("after DROP: object %d has %d keys, want %d", c.obj, got, c.want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir)
	defer db.Close()
	for _, c := range []struct {
		obj  uint64
		want int
	}{{5, 0}, {4, 100}, {6, 100}} {
		if got := count(db, c.obj); got != c.want {
			t.Errorf("after reopen: object %d has %d keys, want %d", c.obj, got, c.want)
		}
	}
}

// TestDropObjectState_ResumesAfterRestart: a drop cut short by the process
// dying (its marker written, its keys not yet deleted) is finished by the
// next Open, unless the catalog still holds the object (the DROP did not
// commit), whose state is then kept.
func TestDropObjectState_ResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	e, err := db.CreateCatalogEntry(CatalogEntry{Name: "kept", Kind: "view", Definition: "x"})
	must(t, err)
	dropped, kept := db.Table(77, 1), db.Table(e.ID, 1)
	fill(t, dropped, "a", 25_000, 10)
	fill(t, kept, "b", 100, 10)
	must(t, db.CommitEpoch(1, nil, dropped, kept))
	// As if DROP had written its markers and died.
	must(t, db.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(dropKey(77), nil); err != nil {
			return err
		}
		return txn.Set(dropKey(e.ID), nil)
	}))
	must(t, db.Close())

	db = openTest(t, dir)
	defer db.Close()
	db.WaitDrops()
	if got := dump(t, db.Table(77, 1), nil, nil); got != "" {
		t.Fatalf("dropped object's state survived the restart: %d bytes of it", len(got))
	}
	if got := strings.Count(dump(t, db.Table(e.ID, 1), nil, nil), "\n"); got != 100 {
		t.Fatalf("object still in the catalog has %d keys, want 100", got)
	}
	must(t, db.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: keyDropPrefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			t.Errorf("drop marker %x left", it.Item().Key())
		}
		return nil
	}))
}
