package cluster

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// stateBackends runs fn against an in-memory store and against S3's API
// served by s3rver on loopback, each test with a fresh prefix.
func stateBackends(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, &Store{b: newMemBlobs()}) })
	t.Run("s3rver", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		em := emulator.StartS3rver(ctx, t)
		s, err := OpenStore(ctx, StoreOptions{
			URL:             "s3://streamsql-test/" + strings.ReplaceAll(t.Name(), "/", "-"),
			Endpoint:        em.Endpoint(),
			AccessKeyID:     "S3RVER",
			SecretAccessKey: "S3RVER",
		})
		if err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// model is a partition's state as a plain Go map, the independent answer.
type model map[string]string

func (m model) apply(w Write) error {
	if w.Delete {
		delete(m, string(w.Key))
	} else {
		m[string(w.Key)] = string(w.Value)
	}
	return nil
}

func (m model) String() string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%x=%x\n", k, m[k])
	}
	return b.String()
}

// scan yields m in key order, as Badger would.
func (m model) scan(yield func(Write) error) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := yield(Write{Key: []byte(k), Value: []byte(m[k])}); err != nil {
			return err
		}
	}
	return nil
}

func restoreModel(ctx context.Context, s *Store, loc Location, p string, last uint64) (model, error) {
	m := model{}
	err := s.Restore(ctx, loc, p, last, m.apply)
	return m, err
}

// cluster of two partitions committed by nodes epoch by epoch, with the
// expected state of each kept in plain maps.
type stateRig struct {
	t     *testing.T
	s     *Store
	want  map[string]model
	loc   map[string]Location
	last  map[string]uint64
	rng   *rand.Rand
	owner map[string][2]string
}

func newStateRig(t *testing.T, s *Store, parts ...string) *stateRig {
	r := &stateRig{t: t, s: s, want: map[string]model{}, loc: map[string]Location{}, last: map[string]uint64{},
		rng: rand.New(rand.NewSource(int64(len(t.Name())))), owner: map[string][2]string{}}
	for _, p := range parts {
		r.want[p] = model{}
		r.owner[p] = [2]string{"n1", "i1"}
	}
	return r
}

// commit writes epoch for the given partitions (all of them when none),
// from their current owners, one object per owner.
func (r *stateRig) commit(ctx context.Context, epoch uint64, parts ...string) {
	r.t.Helper()
	if len(parts) == 0 {
		for p := range r.want {
			parts = append(parts, p)
		}
	}
	byOwner := map[[2]string]map[string][]Write{}
	for _, p := range parts {
		o := r.owner[p]
		if byOwner[o] == nil {
			byOwner[o] = map[string][]Write{}
		}
		ws := randomWrites(r.rng, r.rng.Intn(30))
		byOwner[o][p] = ws
		for _, w := range ws {
			_ = r.want[p].apply(w)
		}
	}
	for o, ps := range byOwner {
		key, err := r.s.PutEpoch(ctx, o[0], o[1], epoch, ps)
		if err != nil {
			r.t.Fatal(err)
		}
		if want := fmt.Sprintf("d/%s/%s/%d", o[0], o[1], epoch); key != want {
			r.t.Fatalf("PutEpoch key %q, want %q", key, want)
		}
		for p := range ps {
			r.loc[p] = Extend(r.loc[p], o[0], o[1], epoch)
			r.last[p] = epoch
		}
	}
}

func (r *stateRig) check(ctx context.Context) {
	r.t.Helper()
	for p, want := range r.want {
		got, err := restoreModel(ctx, r.s, r.loc[p], p, r.last[p])
		if err != nil {
			r.t.Fatalf("restore %s: %v", p, err)
		}
		if got.String() != want.String() {
			r.t.Fatalf("restore %s at epoch %d:\n got %s\nwant %s", p, r.last[p], got, want)
		}
	}
}

func TestState_CommitRestoreCompact(t *testing.T) {
	stateBackends(t, func(t *testing.T, s *Store) {
		ctx := testCtx(t)
		const a, b = "view/v#0/2", "view/v#1/2"
		r := newStateRig(t, s, a, b)
		for e := uint64(1); e <= 4; e++ {
			r.commit(ctx, e)
		}
		r.commit(ctx, 5, a) // b's lease did not commit epoch 5
		r.commit(ctx, 6)
		r.check(ctx)
		if len(r.loc[b].Runs) != 2 || len(r.loc[a].Runs) != 1 {
			t.Fatalf("runs a %v b %v", r.loc[a].Runs, r.loc[b].Runs)
		}
		// a moves to another node, whose epochs run ahead.
		r.owner[a] = [2]string{"n2", "i7"}
		r.commit(ctx, 9)
		r.commit(ctx, 10)
		r.check(ctx)
		// Reapplying over a restored state is harmless.
		m, err := restoreModel(ctx, s, r.loc[a], a, r.last[a])
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Restore(ctx, r.loc[a], a, r.last[a], m.apply); err != nil {
			t.Fatal(err)
		}
		if m.String() != r.want[a].String() {
			t.Fatal("restoring twice changed the state")
		}

		// Compaction of a at 10, then more epochs on top of the base.
		old := r.loc[a]
		loc, err := s.Compact(ctx, a, 10, r.want[a].scan)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(loc.Base, "b/"+a+"/10-") || loc.BaseEpoch != 10 || len(loc.Runs) != 0 {
			t.Fatalf("compacted location %+v", loc)
		}
		r.loc[a] = loc
		r.check(ctx)
		r.commit(ctx, 11)
		r.commit(ctx, 12)
		r.check(ctx)
		// A second compaction deletes the first base once committed.
		loc2, err := s.Compact(ctx, a, 12, r.want[a].scan)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteBase(ctx, loc); err != nil {
			t.Fatal(err)
		}
		r.loc[a] = loc2
		r.check(ctx)
		_, err = restoreModel(ctx, s, Extend(Extend(loc, "n2", "i7", 11), "n2", "i7", 12), a, 12)
		if err == nil || !strings.Contains(err.Error(), loc.Base) {
			t.Fatalf("restore from a deleted base: %v, want an error naming %s", err, loc.Base)
		}

		// Sweep with both locations: b references every object of n1
		// but epoch 5's (a only), and a's compacted state needs none of
		// n2's (9 to 12); the bases it keeps are the one a points to.
		n, err := s.Sweep(ctx, []Location{r.loc[a], r.loc[b]}, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 5 {
			t.Fatalf("swept %d objects, want 5", n)
		}
		_, err = restoreModel(ctx, s, old, a, 10)
		if err == nil || !strings.Contains(err.Error(), s.b.name("d/n1/i1/5")) {
			t.Fatalf("restore after sweep: %v, want an error naming d/n1/i1/5", err)
		}
		r.check(ctx)
	})
}

func TestState_RestoreErrors(t *testing.T) {
	stateBackends(t, func(t *testing.T, s *Store) {
		ctx := testCtx(t)
		const a, b = "view/w#0/2", "view/w#1/2"
		r := newStateRig(t, s, a, b)
		for e := uint64(1); e <= 3; e++ {
			r.commit(ctx, e)
		}
		blobs := s.b
		// Epoch 5 holds only b: a's location must not find a there.
		if _, err := s.PutEpoch(ctx, "n1", "i1", 5, map[string][]Write{b: nil}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			loc  Location
			last uint64
			err  []string
		}{
			{"location behind the lease", r.loc[a], 4, []string{"restore " + a, "end at 3 but the lease committed epoch 4"}},
			{"run with a missing epoch object", Extend(r.loc[a], "n1", "i1", 4), 4,
				[]string{"restore " + a, blobs.name("d/n1/i1/4"), "no such object"}},
			{"partition not in the object", Extend(r.loc[a], "n1", "i1", 5), 5,
				[]string{"restore " + a, blobs.name("d/n1/i1/5"), "not in the object's index"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.Restore(ctx, tc.loc, a, tc.last, model{}.apply)
				for _, want := range tc.err {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("got %v, want an error containing %q", err, want)
					}
				}
			})
		}

		// A corrupt or truncated epoch 2: an error naming the object and
		// the partition, after exactly epoch 1's writes were applied.
		key := EpochKey("n1", "i1", 2)
		orig, _, err := blobs.get(ctx, key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		x, err := decodeIndex(orig)
		if err != nil {
			t.Fatal(err)
		}
		ea, _ := x.find(a)
		eb, _ := x.find(b)
		if ea.length == 0 || eb.length == 0 || ea.offset > eb.offset {
			t.Fatalf("the test wants a's section, then b's, both non-empty: %+v %+v", ea, eb)
		}
		epoch1 := map[string]int{}
		for _, p := range []string{a, b} {
			_ = s.Restore(ctx, Extend(Location{}, "n1", "i1", 1), p, 1, func(Write) error { epoch1[p]++; return nil })
		}
		for _, tc := range []struct {
			name          string
			body          []byte
			victim, other string
			otherOK       bool
			err           string
		}{
			{"flipped byte in a", flip(orig, int(x.dataStart+ea.offset)+1), a, b, true, "section checksum mismatch"},
			{"last byte cut off", orig[:len(orig)-1], b, a, true, "truncated"},
			{"index cut", orig[:20], a, b, false, "truncated index"},
			{"not ours", []byte("a different object"), b, a, false, "bad magic"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := blobs.put(ctx, key, tc.body); err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := blobs.put(ctx, key, orig); err != nil {
						t.Fatal(err)
					}
				}()
				applied := 0
				err := s.Restore(ctx, r.loc[tc.victim], tc.victim, 3, func(Write) error { applied++; return nil })
				if err == nil || !strings.Contains(err.Error(), tc.err) ||
					!strings.Contains(err.Error(), blobs.name(key)) || !strings.Contains(err.Error(), tc.victim) {
					t.Fatalf("got %v, want an error naming %s, %s and %q", err, blobs.name(key), tc.victim, tc.err)
				}
				if applied != epoch1[tc.victim] {
					t.Fatalf("%d writes applied, want epoch 1's %d only", applied, epoch1[tc.victim])
				}
				_, errOther := restoreModel(ctx, s, r.loc[tc.other], tc.other, 3)
				if tc.otherOK != (errOther == nil) {
					t.Fatalf("restore of the other partition: %v", errOther)
				}
			})
		}
		r.check(ctx)
	})
}

// Objects larger than the first GET (an index or a section past it) are
// read with further ranged GETs.
func TestState_LargeObjects(t *testing.T) {
	stateBackends(t, func(t *testing.T, s *Store) {
		ctx := testCtx(t)
		parts := map[string][]Write{}
		want := map[string]model{}
		for i := 0; i < 2500; i++ { // ~100 KB of index
			p := fmt.Sprintf("view/a-rather-long-view-name#%04d/2500", i)
			parts[p] = []Write{{Key: []byte("k"), Value: []byte(p)}}
			want[p] = model{"k": p}
		}
		big := make([]byte, 200<<10)
		rand.New(rand.NewSource(3)).Read(big)
		parts["big"] = []Write{{Key: []byte("x"), Value: big}, {Key: []byte("y"), Delete: true}}
		want["big"] = model{"x": string(big)}
		if _, err := s.PutEpoch(ctx, "n", "i", 1, parts); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"big", "view/a-rather-long-view-name#0000/2500", "view/a-rather-long-view-name#2499/2500"} {
			mem, _ := s.b.(*memBlobs)
			if mem != nil {
				mem.gets = 0
			}
			got, err := restoreModel(ctx, s, Extend(Location{}, "n", "i", 1), p, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != want[p].String() {
				t.Fatalf("%s differs", p)
			}
			// The head, the rest of the index, the section.
			if mem != nil && mem.gets != 3 {
				t.Fatalf("%s: %d GETs, want 3", p, mem.gets)
			}
		}
	})
}

func TestState_Refusals(t *testing.T) {
	ctx := testCtx(t)
	s := &Store{b: newMemBlobs()}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"node with a slash", func() error { _, err := s.PutEpoch(ctx, "a/b", "i", 1, nil); return err }(), "node"},
		{"empty incarnation", func() error { _, err := s.PutEpoch(ctx, "n", "", 1, nil); return err }(), "incarnation"},
		{"partition ..", func() error {
			_, err := s.PutEpoch(ctx, "n", "i", 1, map[string][]Write{"a/../b": nil})
			return err
		}(), "partition"},
		{"unsorted base", func() error {
			_, err := s.Compact(ctx, "p", 1, model{"b": "1", "a": "2"}.scanReversed)
			return err
		}(), "increasing key order"},
		{"tombstone in base", func() error {
			_, err := s.Compact(ctx, "p", 1, func(y func(Write) error) error { return y(Write{Key: []byte("a"), Delete: true}) })
			return err
		}(), "tombstone"},
		{"half a key pair", StoreOptions{URL: "s3://bucket/p", AccessKeyID: "x"}.Validate(), "both"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, tc.err, tc.want)
		}
	}
}

func (m model) scanReversed(yield func(Write) error) error {
	var ws []Write
	_ = m.scan(func(w Write) error { ws = append(ws, w); return nil })
	for i := len(ws) - 1; i >= 0; i-- {
		if err := yield(ws[i]); err != nil {
			return err
		}
	}
	return nil
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x10
	return c
}

// A second node opening the same store finds the bucket there and reads
// what the first wrote; a store nobody answers for is an error naming it.
func TestS3Store_OpenTwiceAndUnreachable(t *testing.T) {
	ctx := testCtx(t)
	em := emulator.StartS3rver(ctx, t)
	opts := StoreOptions{URL: "s3://shared-bucket/cluster-a", Endpoint: em.Endpoint(), AccessKeyID: "S3RVER", SecretAccessKey: "S3RVER"} // s3rver's only pair
	s1, err := OpenStore(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.PutEpoch(ctx, "n1", "i1", 1, map[string][]Write{"p": {{Key: []byte("k"), Value: []byte("v")}}}); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenStore(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := restoreModel(ctx, s2, Extend(Location{}, "n1", "i1", 1), "p", 1)
	if err != nil || got.String() != (model{"k": "v"}).String() {
		t.Fatalf("second store restored %v, %v", got, err)
	}
	if err := em.Stop(); err != nil {
		t.Fatal(err)
	}
	opts.Timeout = 5 * time.Second
	if _, err := OpenStore(ctx, opts); err == nil || !strings.Contains(err.Error(), "shared-bucket") {
		t.Fatalf("open with the server gone: %v, want an error naming the bucket", err)
	}
}
