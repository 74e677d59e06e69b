package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBalance_MemTableConditions(t *testing.T) {
	ctx := context.Background()
	fresh := func(t *testing.T) (*memTable, Lease) {
		m := newMemTable()
		if err := m.Ensure(ctx, "g", "0/1"); err != nil {
			t.Fatal(err)
		}
		l, err := m.Take(ctx, Lease{Group: "g", Key: "0/1"}, "a")
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Commit(ctx, l, "a", 5, []byte("cp5")); err != nil {
			t.Fatal(err)
		}
		return m, l // owner a, counter 1, epoch 5
	}
	missing := Lease{Group: "g", Key: "9/9", Owner: "a", Counter: 1}
	for _, tc := range []struct {
		name string
		op   func(m *memTable, l Lease) error
		ok   bool
	}{
		{"take at the read counter and owner", func(m *memTable, l Lease) error { _, err := m.Take(ctx, l, "b"); return err }, true},
		{"take at an old counter", func(m *memTable, l Lease) error { l.Counter--; _, err := m.Take(ctx, l, "b"); return err }, false},
		{"take believing another owner", func(m *memTable, l Lease) error { l.Owner = "c"; _, err := m.Take(ctx, l, "b"); return err }, false},
		{"take of a missing lease", func(m *memTable, l Lease) error { _, err := m.Take(ctx, missing, "b"); return err }, false},
		{"commit by the owner, next epoch", func(m *memTable, l Lease) error { return m.Commit(ctx, l, "a", 6, nil) }, true},
		{"commit by the owner, same epoch", func(m *memTable, l Lease) error { return m.Commit(ctx, l, "a", 5, nil) }, false},
		{"commit by another node", func(m *memTable, l Lease) error { return m.Commit(ctx, l, "b", 6, nil) }, false},
		{"commit at an old counter", func(m *memTable, l Lease) error { l.Counter = 0; return m.Commit(ctx, l, "a", 6, nil) }, false},
		{"commit of a missing lease", func(m *memTable, l Lease) error { return m.Commit(ctx, missing, "a", 6, nil) }, false},
		{"release by the owner", func(m *memTable, l Lease) error { return m.Release(ctx, l, "a", "b") }, true},
		{"release by another node", func(m *memTable, l Lease) error { return m.Release(ctx, l, "b", "") }, false},
		{"release at an old counter", func(m *memTable, l Lease) error { l.Counter = 0; return m.Release(ctx, l, "a", "") }, false},
		{"ask of the owner's lease", func(m *memTable, l Lease) error { return m.AskHandoff(ctx, l, "b") }, true},
		{"ask of one's own lease", func(m *memTable, l Lease) error { return m.AskHandoff(ctx, l, "a") }, false},
		{"ask at an old counter", func(m *memTable, l Lease) error { l.Counter = 0; return m.AskHandoff(ctx, l, "b") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, l := fresh(t)
			before, _ := m.Leases(ctx, "g")
			err := tc.op(m, l)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok {
				if !errors.Is(err, ErrFenced) {
					t.Fatalf("got %v, want ErrFenced", err)
				}
				after, _ := m.Leases(ctx, "g")
				if fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("a refused write changed the table: %v -> %v", before, after)
				}
			}
		})
	}

	t.Run("take returns the committed checkpoint and clears the ask", func(t *testing.T) {
		m, l := fresh(t)
		if err := m.AskHandoff(ctx, l, "c"); err != nil {
			t.Fatal(err)
		}
		got, err := m.Take(ctx, l, "b")
		if err != nil {
			t.Fatal(err)
		}
		want := Lease{Group: "g", Key: "0/1", Owner: "b", Counter: 2, Epoch: 5, Checkpoint: []byte("cp5"), Moves: 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("take returned %+v, want %+v", got, want)
		}
		// The old owner's commit after the take is refused.
		if err := m.Commit(ctx, l, "a", 6, nil); !errors.Is(err, ErrFenced) {
			t.Fatalf("old owner's commit: %v, want ErrFenced", err)
		}
	})
}

// Racing takes of one lease: exactly one wins at each counter.
func TestBalance_MemTableConcurrentTakes(t *testing.T) {
	ctx := context.Background()
	m := newMemTable()
	if err := m.Ensure(ctx, "g", "k"); err != nil {
		t.Fatal(err)
	}
	const rounds, takers = 50, 8
	for r := range rounds {
		ls, _ := m.Leases(ctx, "g")
		read := ls[0]
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range takers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := m.Take(ctx, read, fmt.Sprint("n", i))
				if err == nil {
					wins.Add(1)
				} else if !errors.Is(err, ErrFenced) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d takes won, want 1", r, wins.Load())
		}
	}
	ls, _ := m.Leases(ctx, "g")
	if ls[0].Counter != rounds {
		t.Fatalf("counter %d after %d takes", ls[0].Counter, rounds)
	}
}

// cluster is a few balancers over one memTable and one fake clock.
type testCluster struct {
	t     *testing.T
	clock *fakeClock
	table *memTable
	b     map[string]*Balancer
}

const testLease = 10 * time.Second

func newTestCluster(t *testing.T, leases map[string]int, ids ...string) *testCluster {
	c := &testCluster{t: t, clock: &fakeClock{now: time.Unix(1000, 0)}, table: newMemTable(), b: map[string]*Balancer{}}
	for g, n := range leases {
		for k := range n {
			if err := c.table.Ensure(context.Background(), g, fmt.Sprintf("%d/%d", k, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range ids {
		c.add(id)
	}
	return c
}

func (c *testCluster) add(id string) {
	b, err := NewBalancer(c.table, id, c.clock, testLease)
	if err != nil {
		c.t.Fatal(err)
	}
	c.b[id] = b
}

// round beats and steps each of ids once, in order; it returns what each
// took.
func (c *testCluster) round(ids ...string) map[string][]Lease {
	c.t.Helper()
	taken := map[string][]Lease{}
	for _, id := range ids {
		if err := c.table.Heartbeat(context.Background(), Node{ID: id}); err != nil {
			c.t.Fatal(err)
		}
		got, _, err := c.b[id].Step(context.Background())
		if err != nil {
			c.t.Fatalf("%s: %v", id, err)
		}
		taken[id] = got
	}
	return taken
}

func (c *testCluster) counts(group string) map[string]int {
	ls, _ := c.table.Leases(context.Background(), group)
	out := map[string]int{}
	for _, l := range ls {
		out[l.Owner]++
	}
	return out
}

func TestBalance_TargetsSplitEvenly(t *testing.T) {
	c := newTestCluster(t, map[string]int{"shard/s": 8, "view/v": 8}, "a", "b", "c")
	// a steps before b and c beat, so it takes all 8 of each group; b
	// and c then ask, nobody hands off, and they take after a lease
	// duration. The +1s go to the nodes holding most, ties by id: a, b.
	for range 20 {
		c.round("a", "b", "c")
		c.clock.now = c.clock.now.Add(testLease / 5)
	}
	for _, g := range []string{"shard/s", "view/v"} {
		if got := c.counts(g); got["a"] != 3 || got["b"] != 3 || got["c"] != 2 {
			t.Errorf("%s: %v, want a 3, b 3, c 2", g, got)
		}
	}
}

func TestBalance_GoneOnlyAfterALeaseDurationOfStillBeat(t *testing.T) {
	c := newTestCluster(t, map[string]int{"g": 4}, "a", "b")
	c.round("a")
	for range 20 {
		c.clock.now = c.clock.now.Add(testLease / 5)
		c.round("b", "a") // a reads b's latest beat
	}
	if got := c.counts("g"); got["a"] != 2 || got["b"] != 2 {
		t.Fatalf("before: %v, want 2/2", got)
	}
	// b stops. a reads every tick; b's leases are a's only once b's beat
	// has been still for a whole lease duration by a's clock.
	stopped := c.clock.now
	for c.clock.now.Sub(stopped) < testLease {
		c.clock.now = c.clock.now.Add(testLease / 10)
		taken := c.round("a")
		gone := c.clock.now.Sub(stopped) >= testLease
		if len(taken["a"]) > 0 != gone {
			t.Fatalf("%v after b stopped: a took %d", c.clock.now.Sub(stopped), len(taken["a"]))
		}
	}
	if got := c.counts("g"); got["a"] != 4 {
		t.Fatalf("after: %v, want a holding all 4", got)
	}
}

// A joiner asks for hand-offs only after a lease duration of the same
// membership; the owner hands off at its commit; an owner that does not is
// taken from after another lease duration, and its commit is fenced.
func TestBalance_HandoffAndForcedTake(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t, map[string]int{"g": 4}, "a", "j")
	c.round("a")
	if got := c.counts("g"); got["a"] != 4 {
		t.Fatalf("a alone: %v", got)
	}
	tick := testLease / 5
	joined := c.clock.now
	var asked Lease
	for asked.Handoff == "" {
		c.clock.now = c.clock.now.Add(tick)
		c.round("a", "j")
		ls, _ := c.table.Leases(ctx, "g")
		for _, l := range ls {
			if l.Handoff != "" {
				asked = l
			}
		}
		if c.clock.now.Sub(joined) > 3*testLease {
			t.Fatal("j never asked")
		}
	}
	if waited := c.clock.now.Sub(joined); waited < testLease {
		t.Fatalf("j asked %v after joining, before membership was stable for %v", waited, testLease)
	}
	if asked.Handoff != "j" || asked.Owner != "a" {
		t.Fatalf("ask %+v", asked)
	}
	// a sees the ask at its next Step; then ShouldRelease names j for
	// exactly the asked leases (j's target is 2: two asks).
	c.round("a")
	var release []Lease
	for _, l := range c.b["a"].Held() {
		if to, ok := c.b["a"].ShouldRelease(l); ok {
			if to != "j" {
				t.Fatalf("release %s to %q", l.ID(), to)
			}
			release = append(release, l)
		}
	}
	if len(release) != 2 {
		t.Fatalf("a would release %d leases, want 2", len(release))
	}
	// a hands one off and ignores the other.
	if err := c.b["a"].Release(ctx, release[0], "j"); err != nil {
		t.Fatal(err)
	}
	taken := c.round("j")
	if len(taken["j"]) != 1 || taken["j"][0].Key != release[0].Key {
		t.Fatalf("j learnt %v, want the hand-off of %s", taken["j"], release[0].ID())
	}
	// One lease duration after the ask, j takes the ignored lease anyway.
	askedAt := c.clock.now
	for c.counts("g")["j"] < 2 {
		c.clock.now = c.clock.now.Add(tick)
		// a keeps beating (it is alive, just not handing off).
		if err := c.table.Heartbeat(ctx, Node{ID: "a"}); err != nil {
			t.Fatal(err)
		}
		c.round("j")
		if c.clock.now.Sub(askedAt) > 2*testLease {
			t.Fatal("j never took the ignored lease")
		}
	}
	if err := c.table.Commit(ctx, release[1], "a", 99, nil); !errors.Is(err, ErrFenced) {
		t.Fatalf("a's commit after j took its lease: %v, want ErrFenced", err)
	}
	_, lost, err := c.b["a"].Step(ctx)
	if err != nil || len(lost) != 1 || lost[0].Key != release[1].Key {
		t.Fatalf("a lost %v (%v), want %s", lost, err, release[1].ID())
	}
	if got := c.counts("g"); got["a"] != 2 || got["j"] != 2 {
		t.Fatalf("after: %v, want 2/2", got)
	}
}

// staleTable serves Leases from a read taken before the last write.
type staleTable struct {
	*memTable
	stale []Lease
}

func (s *staleTable) Leases(ctx context.Context, group string) ([]Lease, error) {
	if s.stale != nil {
		return s.stale, nil
	}
	return s.memTable.Leases(ctx, group)
}

// A read from before the node's own release must not hand the lease back.
func TestBalance_StaleReadAfterReleaseIsNotAGain(t *testing.T) {
	ctx := context.Background()
	st := &staleTable{memTable: newMemTable()}
	if err := st.Ensure(ctx, "g", "0/1"); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	b, err := NewBalancer(st, "a", clock, testLease)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Heartbeat(ctx, Node{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	taken, _, err := b.Step(ctx)
	if err != nil || len(taken) != 1 {
		t.Fatalf("took %v, %v", taken, err)
	}
	st.stale, _ = st.memTable.Leases(ctx, "")
	if err := b.Release(ctx, taken[0], ""); err != nil {
		t.Fatal(err)
	}
	if len(b.Held()) != 0 {
		t.Fatalf("held after release: %v", b.Held())
	}
	if err := st.Heartbeat(ctx, Node{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	taken, lost, err := b.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The stale read shows a as owner at the released counter: neither a
	// gain nor a loss. (It would be free to take in a fresh read.)
	for _, l := range taken {
		if l.Counter == 1 {
			t.Fatalf("stale read made the released lease ours again: %+v", l)
		}
	}
	if len(lost) != 0 {
		t.Fatalf("lost %v", lost)
	}
}

// A node paused past its lease: its leases are taken, its commits after it
// resumes are fenced, and it does not ask for hand-offs on its first reads.
func TestBalance_PausedNodeResumes(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t, map[string]int{"g": 4}, "a", "b")
	c.round("a")
	c.round("a", "b")
	tick := testLease / 5
	for range 20 {
		c.clock.now = c.clock.now.Add(tick)
		c.round("a", "b")
	}
	held := c.b["b"].Held()
	if len(held) != 2 {
		t.Fatalf("b holds %d", len(held))
	}
	// b pauses; a takes its leases after a lease duration.
	for range 8 {
		c.clock.now = c.clock.now.Add(tick)
		c.round("a")
	}
	if got := c.counts("g"); got["a"] != 4 {
		t.Fatalf("after b paused: %v", got)
	}
	// b resumes mid-epoch and commits what it believes it holds.
	for _, l := range held {
		if err := c.table.Commit(ctx, l, "b", 1000, nil); !errors.Is(err, ErrFenced) {
			t.Fatalf("resumed b's commit of %s: %v, want ErrFenced", l.ID(), err)
		}
		c.b["b"].Fenced(l)
	}
	c.round("b")
	ls, _ := c.table.Leases(ctx, "g")
	for _, l := range ls {
		if l.Handoff != "" {
			t.Fatalf("b asked at once after resuming: %+v", l)
		}
	}
	// It then takes its share back by hand-off.
	for range 20 {
		c.clock.now = c.clock.now.Add(tick)
		c.round("a", "b")
		for _, l := range c.b["a"].Held() {
			if to, ok := c.b["a"].ShouldRelease(l); ok {
				if err := c.table.Commit(ctx, l, "a", uint64(c.clock.now.Unix()), nil); err != nil {
					t.Fatal(err)
				}
				if err := c.b["a"].Release(ctx, l, to); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if got := c.counts("g"); got["a"] != 2 || got["b"] != 2 {
		t.Fatalf("after b rejoined: %v, want 2/2", got)
	}
}

// The runtime's calls (commit-time hand-offs, fenced reports, Held) come
// from other goroutines than Step's; -race checks they share safely.
func TestBalance_RuntimeCallsDuringStep(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t, map[string]int{"g": 64}, "a", "b")
	c.round("a")
	done, stop, passed := make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	var released atomic.Int32
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, l := range c.b["a"].Held() {
				if to, ok := c.b["a"].ShouldRelease(l); ok {
					if err := c.b["a"].Release(ctx, l, to); err != nil && !errors.Is(err, ErrFenced) {
						t.Error(err)
						return
					}
					released.Add(1)
				}
			}
			select {
			case passed <- struct{}{}:
			default:
			}
		}
	}()
	for range 30 {
		c.round("a", "b")
		c.clock.now = c.clock.now.Add(testLease / 5)
		// Let the runtime's goroutine finish a pass that began after
		// this round, so hand-offs beat the forced takes.
		<-passed
		<-passed
	}
	close(stop)
	<-done
	if released.Load() == 0 {
		t.Fatalf("no hand-off happened during the Steps: %v", c.counts("g"))
	}
	if got := c.counts("g"); got["a"] != 32 || got["b"] != 32 {
		t.Fatalf("%v, want 32/32", got)
	}
}
