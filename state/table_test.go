package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

func openTest(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(context.Background(), Options{Dir: dir, InMemory: dir == ""})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// dump returns the table's live contents via Scan as "k=v" lines.
func dump(t *testing.T, tb *Table, start, end []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := tb.Scan(start, end, func(k, v []byte) error {
		fmt.Fprintf(&b, "%s=%s\n", k, v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func modelDump(m map[string]string, start, end string) string {
	var keys []string
	for k := range m {
		if k >= start && (end == "" || k < end) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

// TestTable_Model drives a table with random writes, seals and commits
// and checks every read against a map.
func TestTable_Model(t *testing.T) {
	db := openTest(t, "")
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	// A tiny cache so that reads go to Badger too.
	tb := db.TableWithOptions(7, 1, TableOptions{CacheBytes: 300})
	other := db.Table(7, 2) // same object, other operator: must not interfere
	if err := other.Put([]byte("k05"), []byte("other")); err != nil {
		t.Fatal(err)
	}
	model := map[string]string{}
	var epoch uint64
	var pendingCommit []uint64
	for step := 0; step < 5000; step++ {
		k := fmt.Sprintf("k%02d", rng.IntN(40))
		switch r := rng.IntN(100); {
		case r < 45:
			v := fmt.Sprintf("v%d", step)
			if err := tb.Put([]byte(k), []byte(v)); err != nil {
				t.Fatal(err)
			}
			model[k] = v
		case r < 65:
			if err := tb.Delete([]byte(k)); err != nil {
				t.Fatal(err)
			}
			delete(model, k)
		case r < 85:
			v, ok, err := tb.Get([]byte(k))
			if err != nil {
				t.Fatal(err)
			}
			mv, mok := model[k]
			if ok != mok || string(v) != mv {
				t.Fatalf("step %d: get %s = %q %v, want %q %v", step, k, v, ok, mv, mok)
			}
		case r < 92:
			lo := fmt.Sprintf("k%02d", rng.IntN(40))
			hi := fmt.Sprintf("k%02d", rng.IntN(41))
			var end []byte
			if hi != "k40" {
				end = []byte(hi)
			} else {
				hi = ""
			}
			if got, want := dump(t, tb, []byte(lo), end), modelDump(model, lo, hi); got != want {
				t.Fatalf("step %d: scan [%s,%s):\n%s\nwant:\n%s", step, lo, hi, got, want)
			}
		case r < 97:
			epoch++
			tb.SealEpoch(epoch)
			other.SealEpoch(epoch)
			pendingCommit = append(pendingCommit, epoch)
		default:
			if len(pendingCommit) > 0 {
				// Commit an epoch, sometimes skipping one (it is included).
				e := pendingCommit[rng.IntN(len(pendingCommit))]
				if err := db.CommitEpoch(e, nil, tb, other); err != nil {
					t.Fatal(err)
				}
				pendingCommit = slices.DeleteFunc(pendingCommit, func(x uint64) bool { return x <= e })
			}
		}
	}
	if v, _, _ := other.Get([]byte("k05")); string(v) != "other" {
		t.Fatalf("other operator's key = %q", v)
	}
}

func TestTable_ReopenSeesCommittedOnly(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	tb := db.Table(1, 1)
	must(t, tb.Put([]byte("a"), []byte("1")))
	must(t, tb.Put([]byte("b"), []byte("2")))
	extraKey := []byte("x-offset")
	must(t, db.CommitEpoch(1, func(txn *badger.Txn) error { return txn.Set(extraKey, []byte("seq-9")) }, tb))
	must(t, tb.Delete([]byte("a")))
	must(t, tb.Put([]byte("c"), []byte("3")))
	tb.SealEpoch(2) // sealed but never committed: lost in the crash
	must(t, db.Close())

	db = openTest(t, dir)
	defer db.Close()
	if e, err := db.LastCommittedEpoch(); err != nil || e != 1 {
		t.Fatalf("last committed epoch = %d, %v; want 1", e, err)
	}
	tb = db.Table(1, 1)
	if got, want := dump(t, tb, nil, nil), "a=1\nb=2\n"; got != want {
		t.Fatalf("after reopen:\n%s\nwant:\n%s", got, want)
	}
	var seen string
	must(t, db.ReadCommitted(func(txn *badger.Txn) error {
		item, err := txn.Get(extraKey)
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		seen = string(v)
		return err
	}))
	if seen != "seq-9" {
		t.Fatalf("extra write = %q", seen)
	}
	if err := db.CommitEpoch(1, nil, tb); err == nil {
		t.Fatal("committing an epoch twice must fail")
	}
}

// fill writes n keys of size bytes each.
func fill(t *testing.T, tb *Table, tag string, n, size int) {
	t.Helper()
	val := bytes.Repeat([]byte(tag), size/len(tag))
	for i := 0; i < n; i++ {
		must(t, tb.Put(fmt.Appendf(nil, "key%07d", i), val))
	}
}

func TestCommitEpoch_Large(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	tb := db.Table(3, 1)
	// 50 MB in one epoch: far over the ~9.6 MB transaction limit.
	fill(t, tb, "a", 50_000, 1000)
	must(t, db.CommitEpoch(1, func(txn *badger.Txn) error { return txn.Set([]byte("x-pos"), []byte("1")) }, tb))
	must(t, tb.Delete([]byte("key0000001")))
	must(t, db.CommitEpoch(2, nil, tb))
	must(t, db.Close())

	db = openTest(t, dir)
	defer db.Close()
	tb = db.Table(3, 1)
	n := 0
	must(t, tb.Scan(nil, nil, func(k, v []byte) error {
		if len(v) != 1000 || v[0] != 'a' {
			return fmt.Errorf("key %s: bad value", k)
		}
		n++
		return nil
	}))
	if n != 49_999 {
		t.Fatalf("%d keys after reopen, want 49999", n)
	}
	if e, _ := db.LastCommittedEpoch(); e != 2 {
		t.Fatalf("last committed epoch = %d", e)
	}
	assertNoStage(t, db)
}

var errCrash = errors.New("simulated crash")

func TestCommitEpoch_CrashBeforeMarker(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	tb := db.Table(3, 1)
	fill(t, tb, "a", 100, 10)
	must(t, db.CommitEpoch(1, nil, tb))
	fill(t, tb, "b", 20_000, 1000) // 20 MB: written in batches
	testHookAfterStage = func() error { return errCrash }
	err := db.CommitEpoch(2, func(txn *badger.Txn) error { return txn.Set([]byte("x-pos"), []byte("2")) }, tb)
	testHookAfterStage = nil
	if !errors.Is(err, errCrash) {
		t.Fatalf("commit = %v, want the simulated crash", err)
	}
	must(t, db.Close())

	db = openTest(t, dir)
	defer db.Close()
	if e, _ := db.LastCommittedEpoch(); e != 1 {
		t.Fatalf("last committed epoch = %d, want 1", e)
	}
	tb = db.Table(3, 1) // recovers
	n := 0
	must(t, tb.Scan(nil, nil, func(k, v []byte) error {
		if string(v) != "aaaaaaaaaa" {
			return fmt.Errorf("key %s has %q from the torn epoch", k, v)
		}
		n++
		return nil
	}))
	if n != 100 {
		t.Fatalf("%d keys, want 100", n)
	}
	must(t, db.ReadCommitted(func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte("x-pos")); !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("extra write of the torn epoch is visible: %v", err)
		}
		return nil
	}))
	assertNoStage(t, db)
}

func TestCommitEpoch_CrashAfterMarker(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	tb := db.Table(3, 1)
	fill(t, tb, "c", 1000, 100)
	tb.SealEpoch(1)
	// Steps 1 and 2 of a large commit, then a crash before the apply.
	bufs := [][]sealedBuf{tb.sealedUpTo(1)}
	_, err := db.stage(1, func(fn func(k []byte, e entry) error) error {
		return forEachWrite([]*Table{tb}, bufs, fn)
	})
	must(t, err)
	must(t, db.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(keyRedo, AppendUint64(nil, 1)); err != nil {
			return err
		}
		return txn.Set(keyEpoch, AppendUint64(nil, 1))
	}))
	must(t, db.Close())

	db = openTest(t, dir)
	defer db.Close()
	tb = db.Table(3, 1)
	n := 0
	must(t, tb.Scan(nil, nil, func(k, v []byte) error { n++; return nil }))
	if n != 1000 {
		t.Fatalf("%d keys after recovery, want 1000", n)
	}
	assertNoStage(t, db)
}

func assertNoStage(t *testing.T, db *DB) {
	t.Helper()
	must(t, db.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixStage}})
		defer it.Close()
		if it.Rewind(); it.Valid() {
			return fmt.Errorf("staged chunk %x left behind", it.Item().Key())
		}
		if _, err := txn.Get(keyRedo); !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("redo flag left behind: %v", err)
		}
		return nil
	}))
}

func TestDropObjectState(t *testing.T) {
	db := openTest(t, "")
	defer db.Close()
	a, b := db.Table(10, 1), db.Table(11, 1)
	must(t, a.Put([]byte("k"), []byte("v")))
	must(t, b.Put([]byte("k"), []byte("v")))
	must(t, db.CommitEpoch(1, nil, a, b))
	must(t, db.DropObjectState(10, nil))
	db.WaitDrops()
	if got := dump(t, db.Table(10, 1), nil, nil); got != "" {
		t.Fatalf("dropped object still has %q", got)
	}
	if got := dump(t, db.Table(11, 1), nil, nil); got != "k=v\n" {
		t.Fatalf("other object lost its state: %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTable_PutCommit measures Put then CommitEpoch per key over
// 1,000,000 distinct keys, committed every 10,000 keys as a 1 s epoch
// of a busy operator would.
func BenchmarkTable_PutCommit(b *testing.B) {
	db, err := Open(context.Background(), Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tb := db.Table(1, 1)
	val := make([]byte, 16)
	key := make([]byte, 0, 16)
	var epoch uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key = AppendUint64(key[:0], uint64(i%1_000_000))
		if err := tb.Put(key, val); err != nil {
			b.Fatal(err)
		}
		if i%10_000 == 9_999 {
			epoch++
			if err := db.CommitEpoch(epoch, nil, tb); err != nil {
				b.Fatal(err)
			}
		}
	}
	epoch++
	if err := db.CommitEpoch(epoch, nil, tb); err != nil {
		b.Fatal(err)
	}
}

// TestSnapshot_DuringLargeEpoch: a read of committed state opened while a
// large epoch is being applied answers at once, with the epoch before it
// whole, and one opened after sees the new epoch whole.
func TestSnapshot_DuringLargeEpoch(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	tb := db.Table(3, 1)
	fill(t, tb, "a", 100, 10)
	must(t, db.CommitEpoch(1, nil, tb))
	count := func(s *Snapshot) (n int, vals string) {
		it := s.Scan(3, 1, nil, nil)
		defer it.Close()
		seen := map[byte]bool{}
		for {
			_, v, ok, err := it.Next()
			if err != nil {
				t.Error(err)
				return n, ""
			}
			if !ok {
				break
			}
			n++
			if !seen[v[0]] {
				seen[v[0]] = true
				vals += string(v[0])
			}
		}
		return n, vals
	}
	var during []string
	testHookApplying = func() {
		got := make(chan string, 1)
		go func() {
			s, err := db.Snapshot()
			if err != nil {
				got <- err.Error()
				return
			}
			defer s.Close()
			n, vals := count(s)
			got <- fmt.Sprintf("%d %s", n, vals)
		}()
		select {
		case g := <-got:
			during = append(during, g)
		case <-time.After(10 * time.Second):
			during = append(during, "blocked")
		}
	}
	defer func() { testHookApplying = nil }()
	// Over the transaction limit: a large epoch, through the redo log.
	fill(t, tb, "b", 20_000, 1000)
	must(t, db.CommitEpoch(2, nil, tb))
	if want := []string{"100 a"}; !slices.Equal(during, want) {
		t.Fatalf("snapshot during the apply read %q, want %q", during, want)
	}
	s, err := db.Snapshot()
	must(t, err)
	defer s.Close()
	if n, vals := count(s); n != 20_000 || vals != "b" {
		t.Fatalf("snapshot after the apply read %d rows of %q, want 20000 of \"b\"", n, vals)
	}
}
