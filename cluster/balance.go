package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"
)

// Clock tells the balancer the time. Only differences between two readings
// of the same clock matter (a node is gone when its beat has not changed
// for a lease duration by the observer's own clock), so it must be
// monotonic, not right. Tests inject a fake one.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SystemClock is the process's clock; time.Now carries a monotonic reading,
// which is what Sub uses.
var SystemClock Clock = systemClock{}

// Balancer is one node's side of lease balancing (docs/cluster.md section
// 8): the node runtime calls Step every lease_duration/5, ShouldRelease and
// Release at commit time, and Fenced when a commit of a lease fails on its
// condition. The Balancer tracks the leases this node holds, so the runtime
// learns gains and losses from Step. Step runs in one goroutine at a time;
// the other methods may be called from any goroutine, also during a Step.
//
// The table's reads must be strongly consistent (a node must see its own
// takes), and Take and Release must clear the lease's Handoff.
//
// Every node computes the same targets from the same reads: per group of n
// leases over N live nodes, q = n/N and the r = n%N nodes that now hold the
// most leases of the group (ties by node id) get q+1, the others q. A node
// below its target takes free leases and leases of gone nodes; when there
// are none it asks for a hand-off from the nodes furthest above their
// targets, and takes an asked lease anyway if its owner has not released it
// within a lease duration. It never takes from a node at or below its
// target, so every move brings one node above its target and one below
// closer to theirs, and the moves for a membership change are the least
// that restore balance.
type Balancer struct {
	table LeaseTable
	me    string
	clock Clock
	dur   time.Duration

	mu sync.Mutex
	// held is what this node holds, as it knows from its takes, hand-offs
	// to it seen by Step, and the runtime's reports.
	held map[leaseRef]Lease
	// dropped remembers the counter of each lease this node released or
	// lost: a read that still shows this node as its owner at that counter
	// was taken before the change and must not make it ours again.
	dropped map[leaseRef]int64
	// beats is the last beat seen of each node and when (our clock) it
	// was first seen at that value.
	beats map[string]beatSeen
	reads int
	// members is the live membership at the last read, sorted, and since
	// when it has been the same without a gap in reading; pos indexes it.
	members      []string
	pos          map[string]int
	membersSince time.Time
	lastRead     time.Time
	// views are the per-group counts and targets of the last Step, kept
	// up to date by this node's own releases.
	views map[string]*groupView
	// asks are this node's hand-off requests still pending.
	asks map[leaseRef]ask
}

type leaseRef struct{ group, key string }

func refOf(l Lease) leaseRef { return leaseRef{l.Group, l.Key} }

type beatSeen struct {
	beat  int64
	since time.Time
	read  int // the read that last saw the node
}

type ask struct {
	owner   string
	counter int64
	at      time.Time
}

// groupView is one group's holdings and targets over the live members.
type groupView struct {
	n      int
	pos    map[string]int // live node -> its index in members, count, target
	count  []int
	target []int
}

// excess is how far id is above its target (negative: below); 0 for a
// node that is not live.
func (v *groupView) excess(id string) int {
	i, ok := v.pos[id]
	if !ok {
		return 0
	}
	return v.count[i] - v.target[i]
}

func (v *groupView) below(id string) bool { return v.excess(id) < 0 }
func (v *groupView) above(id string) bool { return v.excess(id) > 0 }

// moved records one lease going from one node to another (either may be
// empty or not live).
func (v *groupView) moved(from, to string) {
	if i, ok := v.pos[from]; ok {
		v.count[i]--
	}
	if i, ok := v.pos[to]; ok {
		v.count[i]++
	}
}

// NewBalancer returns the balancer of node me. leaseDuration is the
// cluster's lease duration (--lease-duration): how long a node's beat must
// stay the same before it is gone, how long membership must be stable
// before asking for a hand-off, and how long an owner has to hand off.
func NewBalancer(table LeaseTable, me string, clock Clock, leaseDuration time.Duration) (*Balancer, error) {
	if me == "" {
		return nil, errors.New("balancer: empty node id")
	}
	if leaseDuration <= 0 {
		return nil, fmt.Errorf("balancer: lease duration %v must be positive", leaseDuration)
	}
	return &Balancer{
		table:   table,
		me:      me,
		clock:   clock,
		dur:     leaseDuration,
		held:    map[leaseRef]Lease{},
		dropped: map[leaseRef]int64{},
		beats:   map[string]beatSeen{},
		views:   map[string]*groupView{},
		asks:    map[leaseRef]ask{},
	}, nil
}

// Held returns the leases this node holds, by group and key.
func (b *Balancer) Held() []Lease {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Lease, 0, len(b.held))
	for _, l := range b.held {
		out = append(out, l)
	}
	slices.SortFunc(out, func(x, y Lease) int {
		return cmp.Or(cmp.Compare(x.Group, y.Group), cmp.Compare(x.Key, y.Key))
	})
	return out
}

// Fenced tells the balancer a conditional write on held failed: the lease
// is not ours any more.
func (b *Balancer) Fenced(held Lease) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forget(held)
}

func (b *Balancer) forget(held Lease) {
	ref := refOf(held)
	if h, ok := b.held[ref]; ok && h.Counter == held.Counter {
		delete(b.held, ref)
	}
	if c, ok := b.dropped[ref]; !ok || c < held.Counter {
		b.dropped[ref] = held.Counter
	}
}

// ShouldRelease says whether the node should hand held off at this
// commit, and to whom: another live node asked for it, that node is below
// its target and this node is above its own.
func (b *Balancer) ShouldRelease(held Lease) (to string, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h, ok := b.held[refOf(held)]
	if !ok || h.Counter != held.Counter {
		return "", false
	}
	to = h.Handoff
	v := b.views[held.Group]
	if to == "" || to == b.me || v == nil {
		return "", false
	}
	if !v.above(b.me) || !v.below(to) {
		return "", false
	}
	return to, true
}

// Release gives held up, to the node to (a hand-off) or free when to is
// empty (graceful shutdown). The runtime commits the lease first. The lease
// is no longer held when Release returns nil or a fenced error.
func (b *Balancer) Release(ctx context.Context, held Lease, to string) error {
	err := b.table.Release(ctx, held, b.me, to)
	if err != nil && !errors.Is(err, ErrFenced) {
		// Unknown outcome: keep holding it; the next Step reads the truth.
		return fmt.Errorf("release lease %s: %w", held.ID(), err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forget(held)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", held.ID(), err)
	}
	if v := b.views[held.Group]; v != nil {
		v.moved(b.me, to)
	}
	return nil
}

// Step reads the lease table once, judges liveness, and takes or asks for
// leases when this node is below its target in a group. It returns the
// leases this node gained (its takes and hand-offs to it) and lost (taken
// by another node) since the last Step, other than those the runtime
// reported through Release and Fenced. taken and lost are valid even when
// err is not nil.
func (b *Balancer) Step(ctx context.Context) (taken, lost []Lease, err error) {
	// Leases before nodes: an owner in the lease read had its node item
	// before that read, so an owner missing from the later node read has
	// left, not yet to arrive.
	leases, err := b.table.Leases(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("balancer: read leases: %w", err)
	}
	nodes, err := b.table.Nodes(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("balancer: read nodes: %w", err)
	}

	b.mu.Lock()
	now := b.clock.Now()
	b.observe(now, nodes)
	taken, lost = b.reconcile(leases)
	acts := b.plan(now, leases)
	b.mu.Unlock()

	for _, a := range acts {
		got, err := b.act(ctx, now, leases, a)
		taken = append(taken, got...)
		if err != nil {
			return taken, lost, err
		}
	}
	return taken, lost, nil
}

// observe updates liveness from the node items: a node is live while its
// beat has changed within the last lease duration of our clock.
func (b *Balancer) observe(now time.Time, nodes []Node) {
	gap := !b.lastRead.IsZero() && now.Sub(b.lastRead) > b.dur/2
	b.lastRead = now
	b.reads++
	members := []string{b.me}
	for _, n := range nodes {
		s, ok := b.beats[n.ID]
		if !ok || s.beat != n.Beat {
			s.beat, s.since = n.Beat, now
		}
		s.read = b.reads
		b.beats[n.ID] = s
		if n.ID != b.me && now.Sub(s.since) < b.dur {
			members = append(members, n.ID)
		}
	}
	for id, s := range b.beats {
		if s.read != b.reads {
			delete(b.beats, id)
		}
	}
	slices.Sort(members)
	members = slices.Compact(members)
	// Membership agreement needs reads without a gap: after a pause, what
	// was seen before tells nothing about what happened meanwhile.
	if gap || !slices.Equal(members, b.members) {
		b.members = members
		b.membersSince = now
		// A new map, not an update: the views of earlier Steps keep theirs.
		b.pos = make(map[string]int, len(members))
		for i, id := range members {
			b.pos[id] = i
		}
	}
}

func (b *Balancer) isLive(id string) bool {
	_, ok := b.pos[id]
	return ok
}

// reconcile brings held up to date with a read of every lease.
func (b *Balancer) reconcile(leases []Lease) (taken, lost []Lease) {
	seen := make(map[leaseRef]bool, len(b.held))
	for i := range leases {
		l := &leases[i]
		if l.Owner != b.me {
			continue
		}
		ref := refOf(*l)
		if c, ok := b.dropped[ref]; ok {
			if l.Counter <= c {
				continue // read before our release or loss
			}
			delete(b.dropped, ref)
		}
		seen[ref] = true
		h, ok := b.held[ref]
		switch {
		case !ok:
			taken = append(taken, *l)
		case h.Counter != l.Counter:
			lost = append(lost, h)
			taken = append(taken, *l)
		}
		b.held[ref] = *l
	}
	if len(seen) < len(b.held) {
		// Taken by another node, or dropped from the table.
		for ref, h := range b.held {
			if !seen[ref] {
				lost = append(lost, h)
				b.forget(h)
			}
		}
	}
	return taken, lost
}

// action is what Step does in one group after the read: take orphans (in
// order, until want are taken), ask for hand-offs, take asked leases whose
// owner did not hand them off in time.
type action struct {
	group   string
	want    int
	orphans []int // indexes into the read
	asks    []int
	forced  []int
}

// span is a run of one group's leases in a read.
type span struct{ lo, hi int }

// plan computes every group's targets from the read and what this node
// does about them.
func (b *Balancer) plan(now time.Time, leases []Lease) []action {
	clear(b.views)
	// The table returns a group's leases together, but a group in more
	// than one run is fine too.
	groups := map[string][]span{}
	var order []string
	for lo := 0; lo < len(leases); {
		hi := lo + 1
		for hi < len(leases) && leases[hi].Group == leases[lo].Group {
			hi++
		}
		g := leases[lo].Group
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], span{lo, hi})
		lo = hi
	}
	if len(b.asks) > 0 {
		// Drop asks the read shows answered or overtaken.
		valid := map[leaseRef]bool{}
		for i := range leases {
			l := &leases[i]
			if a, ok := b.asks[refOf(*l)]; ok && l.Owner == a.owner && l.Counter == a.counter && l.Handoff == b.me {
				valid[refOf(*l)] = true
			}
		}
		for ref := range b.asks {
			if !valid[ref] {
				delete(b.asks, ref)
			}
		}
	}
	stable := now.Sub(b.membersSince) >= b.dur
	var acts []action
	for _, g := range order {
		v := b.view(leases, groups[g])
		b.views[g] = v
		if !v.below(b.me) {
			for ref := range b.asks {
				if ref.group == g {
					delete(b.asks, ref)
				}
			}
			continue
		}
		var idx []int
		for _, sp := range groups[g] {
			for i := sp.lo; i < sp.hi; i++ {
				idx = append(idx, i)
			}
		}
		a := action{group: g, want: -v.excess(b.me)}
		for _, i := range idx {
			if o := leases[i].Owner; o == "" || !b.isLive(o) {
				a.orphans = append(a.orphans, i)
			}
		}
		if len(a.orphans) > 0 {
			// Start at a place of our own, so that takers spread over
			// the orphans instead of racing for the first.
			off := int(hashString(b.me) % uint32(len(a.orphans)))
			a.orphans = append(a.orphans[off:], a.orphans[:off]...)
		} else {
			a.asks, a.forced = b.planAsks(now, leases, idx, v, a.want, stable)
		}
		acts = append(acts, a)
	}
	return acts
}

// view counts who holds what in one group and computes the targets.
func (b *Balancer) view(leases []Lease, spans []span) *groupView {
	m := len(b.members)
	v := &groupView{pos: b.pos, count: make([]int, m), target: make([]int, m)}
	for _, sp := range spans {
		v.n += sp.hi - sp.lo
		for i := sp.lo; i < sp.hi; i++ {
			o := leases[i].Owner
			if o == "" {
				continue
			}
			p, ok := b.pos[o]
			if !ok {
				continue
			}
			if o == b.me && len(b.dropped) > 0 {
				// A stale read of a lease we gave up is not ours.
				if c, ok := b.dropped[refOf(leases[i])]; ok && leases[i].Counter <= c {
					continue
				}
			}
			v.count[p]++
		}
	}
	// members are sorted by id, so an index breaks ties by id.
	rank := make([]int, m)
	for i := range rank {
		rank[i] = i
	}
	slices.SortFunc(rank, func(x, y int) int {
		return cmp.Or(cmp.Compare(v.count[y], v.count[x]), cmp.Compare(x, y))
	})
	q, r := v.n/m, v.n%m
	for k, i := range rank {
		v.target[i] = q
		if k < r {
			v.target[i]++
		}
	}
	return v
}

// planAsks picks the hand-offs to ask for and the asked leases to take
// anyway. New asks only when membership has been the same for a lease
// duration: a node that has not yet seen a join or a departure computes
// targets for the old membership.
func (b *Balancer) planAsks(now time.Time, leases []Lease, idx []int, v *groupView, want int, stable bool) (asks, forced []int) {
	// excess is how many more leases each node above its target can give,
	// after the hand-offs already asked of it by nodes below their target.
	excess := make([]int, len(v.count))
	for p := range excess {
		excess[p] = max(0, v.count[p]-v.target[p])
	}
	asked := func(l *Lease) bool {
		return l.Handoff != "" && l.Handoff != l.Owner && v.below(l.Handoff)
	}
	pending := 0
	for _, i := range idx {
		l := &leases[i]
		if asked(l) {
			if p, ok := v.pos[l.Owner]; ok && excess[p] > 0 {
				excess[p]--
			}
		}
		a, ok := b.asks[refOf(*l)]
		if !ok {
			continue
		}
		if !v.above(l.Owner) {
			// Its owner will not hand it off and we must not take it:
			// ask someone else.
			delete(b.asks, refOf(*l))
			continue
		}
		pending++
		if now.Sub(a.at) >= b.dur && len(forced) < want {
			forced = append(forced, i)
		}
	}
	need := want - pending
	if need <= 0 || !stable {
		return nil, forced
	}
	var givers []int
	for p, e := range excess {
		if e > 0 {
			givers = append(givers, p)
		}
	}
	// Furthest above target first, ties by id; one lease per giver per
	// round, so the asks spread.
	slices.SortFunc(givers, func(x, y int) int {
		return cmp.Or(cmp.Compare(v.count[y]-v.target[y], v.count[x]-v.target[x]), cmp.Compare(x, y))
	})
	byOwner := map[int][]int{}
	for _, i := range idx {
		l := &leases[i]
		if p, ok := v.pos[l.Owner]; ok && excess[p] > 0 && !asked(l) {
			byOwner[p] = append(byOwner[p], i)
		}
	}
	for need > 0 {
		progress := false
		for _, g := range givers {
			if need == 0 {
				break
			}
			if excess[g] == 0 || len(byOwner[g]) == 0 {
				continue
			}
			asks = append(asks, byOwner[g][0])
			byOwner[g] = byOwner[g][1:]
			excess[g]--
			need--
			progress = true
		}
		if !progress {
			break
		}
	}
	return asks, forced
}

// act carries out one group's action against the table. Losing a
// conditional write to another node is normal; any other error ends the
// Step.
func (b *Balancer) act(ctx context.Context, now time.Time, leases []Lease, a action) (taken []Lease, err error) {
	take := func(i int) (bool, error) {
		got, err := b.table.Take(ctx, leases[i], b.me)
		if errors.Is(err, ErrFenced) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("balancer: take lease %s: %w", leases[i].ID(), err)
		}
		b.mu.Lock()
		b.held[refOf(got)] = got
		delete(b.asks, refOf(got))
		if v := b.views[got.Group]; v != nil {
			v.moved(leases[i].Owner, b.me)
		}
		b.mu.Unlock()
		taken = append(taken, got)
		return true, nil
	}
	want := a.want
	// Orphans first, then leases whose hand-off ask went unanswered too long.
	for _, i := range slices.Concat(a.orphans, a.forced) {
		if want == 0 {
			break
		}
		ok, err := take(i)
		if err != nil {
			return taken, err
		}
		if ok {
			want--
		}
	}
	for _, i := range a.asks {
		l := leases[i]
		err := b.table.AskHandoff(ctx, l, b.me)
		if errors.Is(err, ErrFenced) {
			continue
		}
		if err != nil {
			return taken, fmt.Errorf("balancer: ask hand-off of lease %s: %w", l.ID(), err)
		}
		b.mu.Lock()
		b.asks[refOf(l)] = ask{owner: l.Owner, counter: l.Counter, at: now}
		b.mu.Unlock()
	}
	return taken, nil
}

func hashString(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
