package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

func TestDB_Catalog(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateCatalogEntry(CatalogEntry{Kind: "source", Name: "a", Definition: "CREATE SOURCE a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateCatalogEntry(CatalogEntry{Kind: "materialized view", Name: "b", Definition: "CREATE MATERIALIZED VIEW b", DependsOn: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || b.ID <= a.ID {
		t.Fatalf("ids must grow from 1: a=%d b=%d", a.ID, b.ID)
	}
	c, _ := db.CreateCatalogEntry(CatalogEntry{Kind: "source", Name: "c", Definition: "CREATE SOURCE c"})
	if err := db.DeleteCatalogEntries(a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "c" || got[0].ID != c.ID || got[0].Definition != "CREATE SOURCE c" {
		t.Fatalf("after reopen: %+v", got)
	}
	d, _ := db.CreateCatalogEntry(CatalogEntry{Kind: "source", Name: "d"})
	if d.ID <= c.ID {
		t.Fatalf("ids are never reused: c=%d d=%d", c.ID, d.ID)
	}
	db.Close()
}

func TestOpen_RefusesOtherFormat(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.db.Update(func(txn *badger.Txn) error { return txn.Set(keyFormat, []byte("999")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(ctx, Options{Dir: dir})
	if !errors.Is(err, ErrIncompatible) {
		t.Fatalf("want ErrIncompatible, got %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "MANIFEST")); statErr != nil {
		t.Fatalf("the refused data dir must be left as it was: %v", statErr)
	}
}
