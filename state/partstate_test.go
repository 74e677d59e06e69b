package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// A part's state moved by its epochs' writes (SealedWrites) into another
// DB under another object id (ResetObjectState) reads the same, plain and
// deferred tables alike, and what the target held before is gone, also
// after a restart (the deferred log must not bring it back).
func TestPartState_MoveByEpochWrites(t *testing.T) {
	const fromID, toID = 5, 9
	src := openTest(t, t.TempDir())
	defer src.Close()
	dstDir := t.TempDir()
	dst := openTest(t, dstDir)

	// The target's stale state: keys of both tables, some committed to the
	// deferred table's overlay and log only.
	stale := []*Table{dst.Table(toID, 1), dst.TableWithOptions(toID, 2, TableOptions{Deferred: true})}
	for i, tb := range stale {
		for k := range 20 {
			if err := tb.Put(fmt.Appendf(nil, "k%02d", k), fmt.Appendf(nil, "stale%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := dst.CommitEpoch(1, nil, stale...); err != nil {
		t.Fatal(err)
	}

	tables := []*Table{src.Table(fromID, 1), src.TableWithOptions(fromID, 2, TableOptions{Deferred: true})}
	models := []map[string]string{{}, {}}
	type write struct {
		key, val string
		del      bool
	}
	var epochs [][]write
	rng := rand.New(rand.NewPCG(1, 2))
	for epoch := uint64(1); epoch <= 12; epoch++ {
		for i, tb := range tables {
			for range 30 {
				k := fmt.Sprintf("k%02d", rng.IntN(40))
				if rng.IntN(3) == 0 {
					if err := tb.Delete([]byte(k)); err != nil {
						t.Fatal(err)
					}
					delete(models[i], k)
					continue
				}
				v := fmt.Sprintf("v%d.%d", epoch, rng.IntN(1000))
				if err := tb.Put([]byte(k), []byte(v)); err != nil {
					t.Fatal(err)
				}
				models[i][k] = v
			}
		}
		var ws []write
		for _, tb := range tables {
			if err := tb.SealedWrites(epoch, func(key, val []byte, del bool) error {
				ws = append(ws, write{string(key), string(val), del})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		epochs = append(epochs, ws)
		if err := src.CommitEpoch(epoch, nil, tables...); err != nil {
			t.Fatal(err)
		}
	}

	replay := func(put func(key, val []byte, del bool) error) error {
		for _, ws := range epochs {
			for _, w := range ws {
				if err := put([]byte(w.key), []byte(w.val), w.del); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// A load that fails changes nothing.
	before := dump(t, dst.Table(toID, 1), nil, nil) + dump(t, dst.TableWithOptions(toID, 2, TableOptions{Deferred: true}), nil, nil)
	boom := errors.New("boom")
	if err := dst.ResetObjectState(toID, func(func(key, val []byte, del bool) error) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed load: got %v, want %v", err, boom)
	}
	if after := dump(t, dst.Table(toID, 1), nil, nil) + dump(t, dst.TableWithOptions(toID, 2, TableOptions{Deferred: true}), nil, nil); after != before {
		t.Fatalf("a failed load changed the state:\n%s\nwas:\n%s", after, before)
	}
	if err := dst.ResetObjectState(toID, replay); err != nil {
		t.Fatal(err)
	}
	check := func(db *DB, when string) {
		t.Helper()
		for i, tb := range []*Table{db.Table(toID, 1), db.TableWithOptions(toID, 2, TableOptions{Deferred: true})} {
			if got, want := dump(t, tb, nil, nil), modelDump(models[i], "", ""); got != want {
				t.Fatalf("%s: table %d:\ngot:\n%s\nwant:\n%s", when, i+1, got, want)
			}
		}
	}
	check(dst, "moved")
	// The target goes on committing after the move.
	if err := dst.CommitEpoch(20, nil, dst.Table(toID, 1)); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	dst = openTest(t, dstDir)
	defer dst.Close()
	check(dst, "after a restart")

	// Nothing loaded: the object's state is gone.
	if err := dst.ResetObjectState(toID, nil); err != nil {
		t.Fatal(err)
	}
	for op := uint32(1); op <= 2; op++ {
		if got := dump(t, dst.Table(toID, op), nil, nil); got != "" {
			t.Fatalf("reset to nothing: table %d holds\n%s", op, got)
		}
	}
}
