package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// crashClose closes db as a crash would leave it: the deferred tables'
// overlays are not applied, so the next Open finds their log.
func crashClose(t *testing.T, db *DB) {
	t.Helper()
	db.deferred.noApplyOnClose = true
	must(t, db.Close())
}

// rawKeys returns the table's keys as Badger holds them ("k=v" lines);
// with tombstones, deleted keys too as "k deleted".
func rawKeys(t *testing.T, db *DB, objectID uint64, op uint32, tombstones bool) string {
	t.Helper()
	prefix := tablePrefix(objectID, op)
	var b bytes.Buffer
	must(t, db.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, AllVersions: tombstones})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()[len(prefix):]
			if item.IsDeletedOrExpired() {
				fmt.Fprintf(&b, "%s deleted\n", k)
				continue
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
		return nil
	}))
	return b.String()
}

func assertNoLog(t *testing.T, db *DB) {
	t.Helper()
	must(t, db.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLog}})
		defer it.Close()
		if it.Rewind(); it.Valid() {
			return fmt.Errorf("state log chunk %x left behind", it.Item().Key())
		}
		return nil
	}))
}

func deferredTable(db *DB, objectID uint64) *Table {
	return db.TableWithOptions(objectID, 1, TableOptions{Deferred: true, CacheBytes: 300})
}

// TestDeferred_Model drives a deferred table with random writes (PutNew for
// keys the model does not have), seals, commits and applies, and checks
// every read against a map; after each apply Badger must hold exactly the
// committed map.
func TestDeferred_Model(t *testing.T) {
	db := openTest(t, "")
	defer db.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	tb := deferredTable(db, 7)
	model := map[string]string{}     // as the table reads
	committed := map[string]string{} // as of the last commit
	key := func() string { return fmt.Sprintf("k%03d", rng.IntN(60)) }
	epoch := uint64(0)
	for step := range 4000 {
		switch r := rng.IntN(100); {
		case r < 45:
			k, v := key(), fmt.Sprintf("v%d", step)
			var err error
			if _, ok := model[k]; !ok && rng.IntN(2) == 0 {
				err = tb.PutNew([]byte(k), []byte(v))
			} else {
				err = tb.Put([]byte(k), []byte(v))
			}
			must(t, err)
			model[k] = v
		case r < 80:
			k := key()
			must(t, tb.Delete([]byte(k)))
			delete(model, k)
		case r < 90:
			k := key()
			v, ok, err := tb.Get([]byte(k))
			must(t, err)
			if want, wok := model[k]; ok != wok || string(v) != want {
				t.Fatalf("step %d: Get(%s) = %q %v, want %q %v", step, k, v, ok, want, wok)
			}
		case r < 97:
			epoch++
			must(t, db.CommitEpoch(epoch, nil, tb))
			clear(committed)
			for k, v := range model {
				committed[k] = v
			}
		default:
			must(t, db.ApplyDeferred())
			if got, want := rawKeys(t, db, 7, 1, false), modelDump(committed, "", ""); got != want {
				t.Fatalf("step %d: after apply Badger holds\n%s\nwant\n%s", step, got, want)
			}
			assertNoLog(t, db)
		}
		if step%50 == 0 {
			if got, want := dump(t, tb, nil, nil), modelDump(model, "", ""); got != want {
				t.Fatalf("step %d: scan\n%s\nwant\n%s", step, got, want)
			}
			if got, want := dump(t, tb, []byte("k010"), []byte("k030")), modelDump(model, "k010", "k030"); got != want {
				t.Fatalf("step %d: range scan\n%s\nwant\n%s", step, got, want)
			}
		}
	}
}

// TestDeferred_Writes checks which writes reach Badger at an apply.
func TestDeferred_Writes(t *testing.T) {
	type op struct {
		kind string // put, new, del, commit, apply
		key  string
	}
	tests := []struct {
		name string
		ops  []op
		// wantRaw is Badger's contents with tombstones after the last op.
		wantRaw string
		// wantRead is what the table reads.
		wantRead string
	}{
		{"new key put and deleted in one epoch",
			[]op{{"new", "a"}, {"del", "a"}, {"commit", ""}, {"apply", ""}}, "", ""},
		{"new key put and deleted in later epochs",
			[]op{{"new", "a"}, {"commit", ""}, {"put", "a"}, {"commit", ""}, {"del", "a"}, {"commit", ""}, {"apply", ""}}, "", ""},
		{"new key put, deleted, put again, deleted",
			[]op{{"new", "a"}, {"commit", ""}, {"del", "a"}, {"commit", ""}, {"new", "a"}, {"commit", ""}, {"del", "a"}, {"commit", ""}, {"apply", ""}}, "", ""},
		{"committed, not applied: only the log has it",
			[]op{{"new", "a"}, {"commit", ""}}, "", "a=a\n"},
		{"delete of an applied key stays a delete",
			[]op{{"new", "a"}, {"commit", ""}, {"apply", ""}, {"del", "a"}, {"commit", ""}, {"apply", ""}}, "a deleted\na=a\n", ""},
		{"applied key deleted then put as new again then deleted",
			[]op{{"new", "a"}, {"commit", ""}, {"apply", ""}, {"del", "a"}, {"commit", ""}, {"new", "a"}, {"commit", ""}, {"del", "a"}, {"commit", ""}, {"apply", ""}},
			"a deleted\na=a\n", ""},
		{"applied key deleted and put as new in one epoch",
			[]op{{"new", "a"}, {"commit", ""}, {"apply", ""}, {"del", "a"}, {"new", "a"}, {"del", "a"}, {"commit", ""}, {"apply", ""}},
			"a deleted\na=a\n", ""},
		{"plain put of a new key is written",
			[]op{{"put", "a"}, {"commit", ""}, {"apply", ""}}, "a=a\n", "a=a\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, "")
			defer db.Close()
			tb := deferredTable(db, 5)
			epoch := uint64(0)
			for _, o := range tc.ops {
				switch o.kind {
				case "put":
					must(t, tb.Put([]byte(o.key), []byte(o.key)))
				case "new":
					must(t, tb.PutNew([]byte(o.key), []byte(o.key)))
				case "del":
					must(t, tb.Delete([]byte(o.key)))
				case "commit":
					epoch++
					must(t, db.CommitEpoch(epoch, nil, tb))
				case "apply":
					must(t, db.ApplyDeferred())
				}
			}
			if got := rawKeys(t, db, 5, 1, true); got != tc.wantRaw {
				t.Errorf("Badger holds\n%s\nwant\n%s", got, tc.wantRaw)
			}
			if got := dump(t, tb, nil, nil); got != tc.wantRead {
				t.Errorf("table reads\n%s\nwant\n%s", got, tc.wantRead)
			}
			tb.Reset() // a restarted pipeline's table reads the overlay too
			if got := dump(t, deferredTable(db, 5), nil, nil); got != tc.wantRead {
				t.Errorf("a new table reads\n%s\nwant\n%s", got, tc.wantRead)
			}
		})
	}
}

// TestDeferred_ApplyThreshold: over Options.DeferredApplyBytes a commit
// applies the overlays and gives their memory back.
func TestDeferred_ApplyThreshold(t *testing.T) {
	db, err := Open(context.Background(), Options{InMemory: true, DeferredApplyBytes: 4 << 10})
	must(t, err)
	defer db.Close()
	tb := deferredTable(db, 9)
	want := map[string]string{}
	for i := range 10 {
		k := fmt.Sprintf("k%02d", i)
		must(t, tb.PutNew([]byte(k), []byte("v")))
		want[k] = "v"
	}
	must(t, db.CommitEpoch(1, nil, tb))
	if rawKeys(t, db, 9, 1, false) != "" {
		t.Fatal("a small epoch was applied")
	}
	if db.Uncommitted() <= 0 {
		t.Fatalf("Uncommitted = %d with a committed overlay, want > 0", db.Uncommitted())
	}
	for i := range 40 {
		k := fmt.Sprintf("k%02d", 10+i)
		must(t, tb.PutNew([]byte(k), []byte("v")))
		want[k] = "v"
	}
	must(t, db.CommitEpoch(2, nil, tb))
	if got, w := rawKeys(t, db, 9, 1, false), modelDump(want, "", ""); got != w {
		t.Fatalf("after a commit over the threshold Badger holds\n%s\nwant\n%s", got, w)
	}
	if n := db.Uncommitted(); n != 0 {
		t.Fatalf("Uncommitted = %d after the apply, want 0", n)
	}
	assertNoLog(t, db)
}

// TestDeferred_Crash crashes at each point of a deferred table's life and
// checks that a restart reads the last committed epoch, whole.
func TestDeferred_Crash(t *testing.T) {
	defer func(n int) { applyBatchKeys = n }(applyBatchKeys)
	applyBatchKeys = 3
	tests := []struct {
		name string
		// crash does the last epoch (3) and crashes; it reports whether
		// epoch 3 committed.
		crash func(t *testing.T, db *DB, tbs ...*Table) bool
	}{
		{"before marker, one transaction", func(t *testing.T, db *DB, tbs ...*Table) bool {
			err := db.CommitEpoch(3, func(*badger.Txn) error { return errCrash }, tbs...)
			if !errors.Is(err, errCrash) {
				t.Fatalf("commit = %v, want the crash", err)
			}
			return false
		}},
		{"before marker, redo log", func(t *testing.T, db *DB, tbs ...*Table) bool {
			testRedoAbove = 1
			testHookAfterStage = func() error { return errCrash }
			defer func() { testRedoAbove, testHookAfterStage = 0, nil }()
			if err := db.CommitEpoch(3, nil, tbs...); !errors.Is(err, errCrash) {
				t.Fatalf("commit = %v, want the crash", err)
			}
			return false
		}},
		{"after marker, before apply", func(t *testing.T, db *DB, tbs ...*Table) bool {
			must(t, db.CommitEpoch(3, nil, tbs...))
			return true
		}},
		{"after marker through the redo log, before apply", func(t *testing.T, db *DB, tbs ...*Table) bool {
			testRedoAbove = 1
			defer func() { testRedoAbove = 0 }()
			must(t, db.CommitEpoch(3, nil, tbs...))
			return true
		}},
		{"mid apply", func(t *testing.T, db *DB, tbs ...*Table) bool {
			must(t, db.CommitEpoch(3, nil, tbs...))
			testHookApply = func(step string) error { return errCrash }
			defer func() { testHookApply = nil }()
			if err := db.ApplyDeferred(); !errors.Is(err, errCrash) {
				t.Fatalf("apply = %v, want the crash", err)
			}
			return true
		}},
		{"after apply, before the log is deleted", func(t *testing.T, db *DB, tbs ...*Table) bool {
			must(t, db.CommitEpoch(3, nil, tbs...))
			testHookApply = func(step string) error {
				if step == "applied" {
					return errCrash
				}
				return nil
			}
			defer func() { testHookApply = nil }()
			if err := db.ApplyDeferred(); !errors.Is(err, errCrash) {
				t.Fatalf("apply = %v, want the crash", err)
			}
			return true
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openTest(t, dir)
			tb := deferredTable(db, 4)
			plain := db.Table(4, 2) // a plain table committed alongside
			model := map[string]string{}
			put := func(k, v string, isNew bool) {
				if isNew {
					must(t, tb.PutNew([]byte(k), []byte(v)))
				} else {
					must(t, tb.Put([]byte(k), []byte(v)))
				}
				must(t, plain.Put([]byte(k), []byte(v)))
				model[k] = v
			}
			del := func(k string) {
				must(t, tb.Delete([]byte(k)))
				must(t, plain.Delete([]byte(k)))
				delete(model, k)
			}
			// Epoch 1, applied: a..j in Badger.
			for i := range 10 {
				put(string(rune('a'+i)), "1", true)
			}
			must(t, db.CommitEpoch(1, nil, tb, plain))
			must(t, db.ApplyDeferred())
			// Epoch 2, in the log: updates, deletes of applied keys, new
			// keys, a new key born and gone.
			put("a", "2", false)
			put("b", "2", false)
			del("c")
			del("d")
			put("x", "2", true)
			put("y", "2", true)
			put("z", "2", true)
			del("z")
			must(t, db.CommitEpoch(2, nil, tb, plain))
			committed := modelDump(model, "", "")
			// Epoch 3: more of each, then the crash.
			put("a", "3", false)
			del("b")
			del("x")
			put("c", "3", true)
			put("w", "3", true)
			if tc.crash(t, db, tb, plain) {
				committed = modelDump(model, "", "")
			}
			crashClose(t, db)

			db = openTest(t, dir)
			defer db.Close()
			assertNoLog(t, db)
			if got := rawKeys(t, db, 4, 1, false); got != committed {
				t.Errorf("after recovery Badger holds\n%s\nwant\n%s", got, committed)
			}
			if got := dump(t, deferredTable(db, 4), nil, nil); got != committed {
				t.Errorf("after recovery the table reads\n%s\nwant\n%s", got, committed)
			}
			if got := dump(t, db.Table(4, 2), nil, nil); got != committed {
				t.Errorf("after recovery the plain table reads\n%s\nwant\n%s", got, committed)
			}
		})
	}
}

// TestDeferred_Drop: a dropped object's writes in the log are not applied
// again after a restart.
func TestDeferred_Drop(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	a, b := deferredTable(db, 10), deferredTable(db, 11)
	must(t, a.PutNew([]byte("k"), []byte("v")))
	must(t, b.PutNew([]byte("k"), []byte("v")))
	must(t, db.CommitEpoch(1, nil, a, b))
	must(t, db.DropObjectState(10, nil))
	db.WaitDrops()
	if got := rawKeys(t, db, 10, 1, false); got != "" {
		t.Fatalf("dropped object's state: %s", got)
	}
	crashClose(t, db)
	db = openTest(t, dir)
	defer db.Close()
	if got := rawKeys(t, db, 10, 1, false); got != "" {
		t.Fatalf("dropped object's state after restart: %s", got)
	}
	if got := dump(t, deferredTable(db, 11), nil, nil); got != "k=v\n" {
		t.Fatalf("other object reads %q, want k=v", got)
	}
	assertNoLog(t, db)
}

// TestDeferred_FailedCommitThenLater: the chunks of a commit that failed
// after they were written are not applied once a later epoch commits.
func TestDeferred_FailedCommitThenLater(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	tb := deferredTable(db, 6)
	must(t, tb.PutNew([]byte("a"), []byte("1")))
	must(t, db.CommitEpoch(1, nil, tb))
	must(t, tb.Put([]byte("a"), []byte("stray")))
	must(t, tb.PutNew([]byte("stray"), []byte("stray")))
	testRedoAbove = 1
	testHookAfterStage = func() error { return errCrash }
	err := db.CommitEpoch(2, nil, tb)
	testRedoAbove, testHookAfterStage = 0, nil
	if !errors.Is(err, errCrash) {
		t.Fatalf("commit = %v, want the failure", err)
	}
	tb.Reset() // the pipeline restarts from epoch 1
	must(t, tb.PutNew([]byte("b"), []byte("3")))
	must(t, db.CommitEpoch(3, nil, tb))
	crashClose(t, db)

	db = openTest(t, dir)
	defer db.Close()
	const want = "a=1\nb=3\n"
	if got := dump(t, deferredTable(db, 6), nil, nil); got != want {
		t.Fatalf("after recovery the table reads\n%s\nwant\n%s", got, want)
	}
	assertNoLog(t, db)
}

// TestDeferred_LogBounded: keys put and deleted across epochs keep the
// overlay small, but their log is applied and deleted once it passes
// Options.DeferredApplyBytes, so that it does not grow without bound.
func TestDeferred_LogBounded(t *testing.T) {
	const limit = 4 << 10
	db, err := Open(context.Background(), Options{InMemory: true, DeferredApplyBytes: limit})
	must(t, err)
	defer db.Close()
	tb := deferredTable(db, 8)
	val := bytes.Repeat([]byte("v"), 50)
	for epoch := uint64(1); epoch <= 100; epoch++ {
		for i := range 20 {
			if epoch > 1 {
				must(t, tb.Delete([]byte(fmt.Sprintf("k%03d-%02d", epoch-1, i))))
			}
			must(t, tb.PutNew([]byte(fmt.Sprintf("k%03d-%02d", epoch, i)), val))
		}
		must(t, db.CommitEpoch(epoch, nil, tb))
		var logged int
		must(t, db.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLog}})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				logged += int(it.Item().ValueSize())
			}
			return nil
		}))
		// At most the limit and one epoch's chunk (about 2 KiB).
		if logged > limit+4<<10 {
			t.Fatalf("epoch %d: %d bytes of state log, want it applied past %d", epoch, logged, limit)
		}
	}
}
