package cluster

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

var simSeed = flag.Int64("sim.seed", 0, "seed of TestBalanceSim (0: from the time)")

const (
	simLease = 10 * time.Second
	simTick  = simLease / 5
)

// fakeClock is the simulation's time, moved only by the simulation.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// recTable is the memTable seen through a model of its own: each lease's
// owner, counter and committed epoch as the successful takes and releases
// made them. It fails the test when the table accepts a write the model
// says is not the owner's (or refuses one it says is), and counts moves
// per group.
type recTable struct {
	*memTable
	t     testing.TB
	model map[leaseRef]modelLease
	moves map[string]int

	commits   int // accepted
	nonOwner  int // attempted by a node that was not the owner at the counter it held
	byResumed int // of nonOwner: by a paused node after it resumed
}

type modelLease struct {
	owner   string
	counter int64
	epoch   uint64
}

func newRecTable(t testing.TB) *recTable {
	return &recTable{memTable: newMemTable(), t: t, model: map[leaseRef]modelLease{}, moves: map[string]int{}}
}

func (r *recTable) Ensure(ctx context.Context, group, key string) error {
	if _, ok := r.model[leaseRef{group, key}]; !ok {
		r.model[leaseRef{group, key}] = modelLease{}
	}
	return r.memTable.Ensure(ctx, group, key)
}

func (r *recTable) Take(ctx context.Context, l Lease, me string) (Lease, error) {
	ref := refOf(l)
	m := r.model[ref]
	ok := m.owner == l.Owner && m.counter == l.Counter
	got, err := r.memTable.Take(ctx, l, me)
	if (err == nil) != ok {
		r.t.Errorf("take of %s by %s at (%q, %d): table said %v, model has (%q, %d)", l.ID(), me, l.Owner, l.Counter, err, m.owner, m.counter)
	}
	if err == nil {
		m.owner, m.counter = me, m.counter+1
		r.model[ref] = m
		r.moves[l.Group]++
		if got.Owner != me || got.Counter != m.counter || got.Epoch != m.epoch {
			r.t.Errorf("take of %s returned %+v, model has %+v", l.ID(), got, m)
		}
	}
	return got, err
}

func (r *recTable) Release(ctx context.Context, held Lease, me, to string) error {
	ref := refOf(held)
	m := r.model[ref]
	ok := m.owner == me && m.counter == held.Counter
	err := r.memTable.Release(ctx, held, me, to)
	if (err == nil) != ok {
		r.t.Errorf("release of %s by %s at counter %d: table said %v, model has (%q, %d)", held.ID(), me, held.Counter, err, m.owner, m.counter)
	}
	if err == nil {
		m.owner, m.counter = to, m.counter+1
		r.model[ref] = m
		if to != "" {
			r.moves[held.Group]++
		}
	}
	return err
}

func (r *recTable) Commit(ctx context.Context, held Lease, me string, epoch uint64, checkpoint []byte) error {
	ref := refOf(held)
	m := r.model[ref]
	owner := m.owner == me && m.counter == held.Counter
	err := r.memTable.Commit(ctx, held, me, epoch, checkpoint)
	if !owner {
		r.nonOwner++
	}
	if (err == nil) != (owner && m.epoch < epoch) {
		r.t.Errorf("commit of %s epoch %d by %s at counter %d: table said %v, model has (%q, %d, epoch %d)", held.ID(), epoch, me, held.Counter, err, m.owner, m.counter, m.epoch)
	}
	if err == nil {
		m.epoch = epoch
		r.model[ref] = m
		r.commits++
	}
	return err
}

type nodeState int

const (
	running nodeState = iota
	failed
	left
)

type simNode struct {
	id      string
	b       *Balancer
	state   nodeState
	resumed bool
	next    time.Time
	ticks   int
	// holds is what the runtime learnt from Step, Fenced and Release:
	// it must end up equal to the table's truth.
	holds map[leaseRef]int64
}

type sim struct {
	t     *testing.T
	rng   *rand.Rand
	clock *fakeClock
	table *recTable
	nodes []*simNode
	epoch uint64
	steps int
}

func (s *sim) addNode(id string, first time.Time) {
	b, err := NewBalancer(s.table, id, s.clock, simLease)
	if err != nil {
		s.t.Fatal(err)
	}
	s.nodes = append(s.nodes, &simNode{id: id, b: b, next: first, ticks: s.rng.Intn(5), holds: map[leaseRef]int64{}})
}

func (s *sim) jitter() time.Duration {
	return simTick*4/5 + time.Duration(s.rng.Int63n(int64(simTick*2/5)))
}

// runFor processes every node tick until d from now, in time order.
func (s *sim) runFor(d time.Duration) {
	end := s.clock.now.Add(d)
	for {
		var n *simNode
		for _, c := range s.nodes {
			if c.state == running && (n == nil || c.next.Before(n.next)) {
				n = c
			}
		}
		if n == nil || n.next.After(end) {
			s.clock.now = end
			return
		}
		s.clock.now = n.next
		s.tick(n)
		n.next = s.clock.now.Add(s.jitter())
	}
}

// tick is one round of a node's runtime: beat, commit what a paused node
// still believes it holds, balance, then commit every held lease and hand
// off what was asked for.
func (s *sim) tick(n *simNode) {
	ctx := context.Background()
	if err := s.table.Heartbeat(ctx, Node{ID: n.id}); err != nil {
		s.t.Fatal(err)
	}
	if n.resumed {
		n.resumed = false
		before := s.table.nonOwner
		for _, l := range n.b.Held() {
			s.commit(n, l)
		}
		s.table.byResumed += s.table.nonOwner - before
	}
	s.steps++
	taken, lost, err := n.b.Step(ctx)
	if err != nil {
		s.t.Fatalf("%s: step: %v", n.id, err)
	}
	for _, l := range lost {
		delete(n.holds, refOf(l))
	}
	for _, l := range taken {
		n.holds[refOf(l)] = l.Counter
	}
	// A node commits every held lease each epoch (here every fifth tick)
	// and, before a hand-off, the lease it hands off.
	n.ticks++
	epoch := n.ticks%5 == 0
	for _, l := range n.b.Held() {
		to, release := n.b.ShouldRelease(l)
		if !epoch && !release {
			continue
		}
		if !s.commit(n, l) {
			continue
		}
		if release {
			if err := n.b.Release(ctx, l, to); err != nil {
				s.t.Fatalf("%s: hand-off: %v", n.id, err)
			}
			delete(n.holds, refOf(l))
		}
	}
}

// commit commits the next epoch of l for n, as its runtime would; false
// when the table fenced it.
func (s *sim) commit(n *simNode, l Lease) bool {
	s.epoch++
	err := s.table.Commit(context.Background(), l, n.id, s.epoch, nil)
	if errors.Is(err, ErrFenced) {
		n.b.Fenced(l)
		delete(n.holds, refOf(l))
		return false
	}
	if err != nil {
		s.t.Fatalf("%s: commit: %v", n.id, err)
	}
	return true
}

func (s *sim) leave(n *simNode) {
	ctx := context.Background()
	for _, l := range n.b.Held() {
		if !s.commit(n, l) {
			continue
		}
		if err := n.b.Release(ctx, l, ""); err != nil {
			s.t.Fatalf("%s: release: %v", n.id, err)
		}
		delete(n.holds, refOf(l))
	}
	if err := s.table.Leave(ctx, n.id); err != nil {
		s.t.Fatal(err)
	}
	n.state = left
}

func (s *sim) live() []string {
	var ids []string
	for _, n := range s.nodes {
		if n.state == running {
			ids = append(ids, n.id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (s *sim) truth() []Lease {
	ls, err := s.table.memTable.Leases(context.Background(), "")
	if err != nil {
		s.t.Fatal(err)
	}
	return ls
}

// groupTargets is the design's rule, written out again here: per group of
// n leases over N live nodes, the n%N nodes holding the most (ties by id)
// get n/N+1, the others n/N. It returns each group's holdings and targets
// and the leases held by nobody live.
func groupTargets(leases []Lease, live []string) map[string]*simGroup {
	out := map[string]*simGroup{}
	for _, l := range leases {
		g := out[l.Group]
		if g == nil {
			g = &simGroup{count: map[string]int{}, target: map[string]int{}}
			for _, id := range live {
				g.count[id] = 0
			}
			out[l.Group] = g
		}
		g.n++
		if _, ok := g.count[l.Owner]; ok {
			g.count[l.Owner]++
		} else {
			g.orphans++
		}
	}
	for _, g := range out {
		ranked := slices.Clone(live)
		slices.SortFunc(ranked, func(x, y string) int {
			return cmp.Or(cmp.Compare(g.count[y], g.count[x]), cmp.Compare(x, y))
		})
		for i, id := range ranked {
			g.target[id] = g.n / len(live)
			if i < g.n%len(live) {
				g.target[id]++
			}
		}
	}
	return out
}

type simGroup struct {
	n, orphans    int
	count, target map[string]int
}

// minMoves is sum over nodes of max(0, held - target), a lease of a node
// no longer live counting as one over.
func (g *simGroup) minMoves() int {
	m := g.orphans
	for id, c := range g.count {
		m += max(0, c-g.target[id])
	}
	return m
}

// balanced says every lease is held by a live node and every group is
// within one lease of even.
func (s *sim) balanced() bool {
	for _, g := range groupTargets(s.truth(), s.live()) {
		if g.orphans > 0 {
			return false
		}
		lo, hi := g.n, 0
		for _, c := range g.count {
			lo, hi = min(lo, c), max(hi, c)
		}
		if hi-lo > 1 {
			return false
		}
	}
	return true
}

func (s *sim) totalMoves() int {
	t := 0
	for _, m := range s.table.moves {
		t += m
	}
	return t
}

// settle runs until the cluster is balanced and no lease has moved for
// two lease durations; it returns how long balancing took.
func (s *sim) settle(what string) time.Duration {
	start := s.clock.now
	var quietSince time.Time
	last := s.totalMoves()
	for s.clock.now.Sub(start) < 40*simLease {
		s.runFor(simTick)
		if m := s.totalMoves(); m != last || !s.balanced() {
			last, quietSince = m, time.Time{}
			continue
		}
		if quietSince.IsZero() {
			quietSince = s.clock.now
		}
		if s.clock.now.Sub(quietSince) >= 2*simLease {
			return quietSince.Sub(start)
		}
	}
	s.t.Fatalf("%s: not settled after %v: %s", what, s.clock.now.Sub(start), s.describe())
	return 0
}

func (s *sim) describe() string {
	var b strings.Builder
	for name, g := range groupTargets(s.truth(), s.live()) {
		fmt.Fprintf(&b, "\n%s: n=%d orphans=%d", name, g.n, g.orphans)
		for _, id := range s.live() {
			if g.count[id] != g.target[id] {
				fmt.Fprintf(&b, " %s:%d/%d", id, g.count[id], g.target[id])
			}
		}
	}
	return b.String()
}

// checkHolds compares, for every running node, what its runtime learnt
// and what its balancer holds with the table.
func (s *sim) checkHolds(what string) {
	truth := map[string]map[leaseRef]int64{}
	for _, l := range s.truth() {
		if truth[l.Owner] == nil {
			truth[l.Owner] = map[leaseRef]int64{}
		}
		truth[l.Owner][refOf(l)] = l.Counter
	}
	for _, n := range s.nodes {
		if n.state != running {
			continue
		}
		held := map[leaseRef]int64{}
		for _, l := range n.b.Held() {
			held[refOf(l)] = l.Counter
		}
		want := truth[n.id]
		if want == nil {
			want = map[leaseRef]int64{}
		}
		if !mapsEqual(held, want) || !mapsEqual(n.holds, want) {
			s.t.Errorf("%s: node %s: balancer holds %d leases, runtime learnt %d, table says %d", what, n.id, len(held), len(n.holds), len(want))
		}
	}
}

func mapsEqual(a, b map[leaseRef]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

var simGroups = []struct {
	name string
	n    int
}{
	{"shard/src", 1000},
	{"view/agg", 256},
	{"sink/out", 8},
}

// TestBalanceSim is the acceptance simulation of docs/cluster.md section 8:
// 100 nodes, 1,000 shard leases and two more groups, one membership change
// at a time (joins, graceful leaves, failures, and failed nodes resuming
// after their leases were taken); after each settles every group is within
// one lease of even and the leases moved are exactly the least that
// restore balance. Every commit is checked against a model of ownership:
// none from a non-owner is accepted.
func TestBalanceSim(t *testing.T) {
	seed := *simSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d (rerun with -sim.seed=%d)", seed, seed)
		}
	})
	rng := rand.New(rand.NewSource(seed))
	s := &sim{t: t, rng: rng, clock: &fakeClock{now: time.Unix(1_000_000, 0)}, table: newRecTable(t)}
	ctx := context.Background()
	for _, g := range simGroups {
		for k := range g.n {
			if err := s.table.Ensure(ctx, g.name, fmt.Sprintf("%d/%d", k, g.n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	used := map[string]bool{}
	newID := func() string {
		for {
			id := fmt.Sprintf("n%05d", rng.Intn(100000))
			if !used[id] {
				used[id] = true
				return id
			}
		}
	}
	for range 100 {
		s.addNode(newID(), s.clock.now.Add(time.Duration(rng.Int63n(int64(simTick)))))
	}
	took := s.settle("start")
	t.Logf("start: 100 nodes balanced after %v, %d moves", took, s.totalMoves())
	s.checkHolds("start")

	// Blocks of the four kinds of change in random order; a resume needs
	// a failed node.
	var kinds []string
	for range 6 {
		block := []string{"join", "leave", "fail", "resume"}
		rng.Shuffle(len(block), func(i, j int) { block[i], block[j] = block[j], block[i] })
		kinds = append(kinds, block...)
	}
	failedNodes := func() []*simNode {
		var out []*simNode
		for _, n := range s.nodes {
			if n.state == failed {
				out = append(out, n)
			}
		}
		return out
	}
	for i := 0; i < len(kinds); i++ {
		kind := kinds[i]
		if kind == "resume" && len(failedNodes()) == 0 {
			j := slices.Index(kinds[i+1:], "fail")
			kinds[i], kinds[i+1+j] = kinds[i+1+j], kinds[i]
			kind = kinds[i]
		}
		clear(s.table.moves)
		before := groupTargets(s.truth(), s.live())
		var subject string
		departed := map[string]int{}
		switch kind {
		case "join":
			subject = newID()
			s.addNode(subject, s.clock.now.Add(time.Duration(rng.Int63n(int64(simTick)))))
		case "resume":
			fs := failedNodes()
			n := fs[rng.Intn(len(fs))]
			subject, n.state, n.resumed = n.id, running, true
			n.next = s.clock.now.Add(time.Duration(rng.Int63n(int64(simTick))))
		case "leave", "fail":
			// Half the time a holder of the small group's leases, so
			// that group moves too.
			cands := s.live()
			if rng.Intn(2) == 0 {
				var holders []string
				for id, c := range before[simGroups[len(simGroups)-1].name].count {
					if c > 0 {
						holders = append(holders, id)
					}
				}
				slices.Sort(holders)
				cands = holders
			}
			subject = cands[rng.Intn(len(cands))]
			for name, g := range before {
				departed[name] = g.count[subject]
			}
			n := s.nodes[slices.IndexFunc(s.nodes, func(n *simNode) bool { return n.id == subject })]
			if kind == "leave" {
				s.leave(n)
			} else {
				n.state = failed
			}
		}
		live := s.live()
		after := groupTargets(s.truth(), live)
		what := fmt.Sprintf("change %d (%s %s, %d nodes live)", i+1, kind, subject, len(live))
		took := s.settle(what)
		var report []string
		for _, g := range simGroups {
			want := after[g.name].minMoves()
			got := s.table.moves[g.name]
			switch kind {
			case "join", "resume":
				if bound := g.n / len(live); want > bound {
					t.Errorf("%s: %s: least moves %d above the newcomer's target %d", what, g.name, want, bound)
				}
			default:
				if want != departed[g.name] {
					t.Errorf("%s: %s: least moves %d, but the departed node held %d", what, g.name, want, departed[g.name])
				}
			}
			if got != want {
				t.Errorf("%s: %s: %d leases moved, want exactly %d", what, g.name, got, want)
			}
			report = append(report, fmt.Sprintf("%s %d/%d", g.name, got, want))
		}
		t.Logf("%s: settled in %v; moved/least: %s", what, took, strings.Join(report, ", "))
		s.checkHolds(what)
		if t.Failed() {
			t.FailNow()
		}
	}
	if s.table.byResumed == 0 {
		t.Errorf("no resumed node tried a commit: the fencing check did not run")
	}
	t.Logf("%d node steps, %d commits accepted, %d commits by non-owners all refused (%d by resumed nodes)",
		s.steps, s.table.commits, s.table.nonOwner, s.table.byResumed)
}
