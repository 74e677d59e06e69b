package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/streamsql/streamsql/engine"
)

// lockedClock is a fake clock safe to read from several goroutines; the
// tests move it.
type lockedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *lockedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *lockedClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// flakyTable fails heartbeats while down is set.
type flakyTable struct {
	LeaseTable
	down atomic.Bool
}

func (f *flakyTable) Heartbeat(ctx context.Context, n Node) error {
	if f.down.Load() {
		return errors.New("injected: table unreachable")
	}
	return f.LeaseTable.Heartbeat(ctx, n)
}

// failingBlobs fails every put while fail is set.
type failingBlobs struct {
	blobs
	fail atomic.Bool
}

func (f *failingBlobs) put(ctx context.Context, key string, body []byte) error {
	if f.fail.Load() {
		return errors.New("injected: S3 unavailable")
	}
	return f.blobs.put(ctx, key, body)
}

// memCatalog is the catalog log in memory, with DynamoDB's condition.
type memCatalog struct {
	mu      sync.Mutex
	entries []CatalogEntry
}

func (c *memCatalog) AppendCatalog(_ context.Context, version int64, stmt string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int64(len(c.entries)) >= version {
		return fmt.Errorf("append catalog version %d: %w", version, ErrVersionTaken)
	}
	if int64(len(c.entries))+1 != version {
		return fmt.Errorf("append catalog version %d: a gap after %d", version, len(c.entries))
	}
	c.entries = append(c.entries, CatalogEntry{Version: version, Stmt: stmt})
	return nil
}

func (c *memCatalog) CatalogAfter(_ context.Context, version int64) ([]CatalogEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version >= int64(len(c.entries)) {
		return nil, nil
	}
	return slices.Clone(c.entries[max(version, 0):]), nil
}

const memberLease = time.Second

// rig is a few members over one in-memory lease table and state store,
// stepped by hand on a fake clock.
type rig struct {
	t     *testing.T
	ctx   context.Context
	clock *lockedClock
	table *flakyTable
	blobs *failingBlobs
	log   *memCatalog
	// sweepEvery is the members' Options.SweepEvery.
	sweepEvery time.Duration
}

func newRig(t *testing.T) *rig {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	clock := &lockedClock{now: time.Unix(1_000_000, 0)}
	mb := newMemBlobs()
	mb.now = clock.Now
	return &rig{t: t, ctx: ctx, clock: clock,
		table: &flakyTable{LeaseTable: newMemTable()}, blobs: &failingBlobs{blobs: mb}, log: &memCatalog{}}
}

func (r *rig) member(id, secret string) *Member {
	r.t.Helper()
	m, err := newMember(r.ctx, Options{NodeID: id, Advertise: id + ":5432", LeaseDuration: memberLease, Secret: secret, SweepEvery: r.sweepEvery,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, r.table, r.log, &Store{b: r.blobs}, r.clock)
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// holding is member id after it ensured view v's leases with the given
// number of parts and took its first step.
func (r *rig) holding(id string, parts int) *Member {
	r.t.Helper()
	m := r.member(id, "")
	if err := m.Ensure(r.ctx, "view/v", parts); err != nil {
		r.t.Fatal(err)
	}
	r.tick(m)
	return m
}

// tick moves the clock a fifth of a lease duration and steps each member.
func (r *rig) tick(ms ...*Member) {
	r.clock.advance(memberLease / 5)
	for _, m := range ms {
		m.step(r.ctx)
	}
}

func heldKeys(m *Member) []string {
	parts, _ := m.Held()
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.Part.String()
	}
	return out
}

// state is a part's state as a plain map, the model the tests compute
// the expected state with.
type state map[string]string

func (s state) apply(ws []engine.Write) {
	for _, w := range ws {
		if w.Del {
			delete(s, string(w.Key))
		} else {
			s[string(w.Key)] = string(w.Val)
		}
	}
}

func restored(t *testing.T, ctx context.Context, m *Member, p engine.PartID) state {
	t.Helper()
	got := state{}
	err := m.Restore(ctx, p, func(k, v []byte, del bool) error {
		if del {
			delete(got, string(k))
		} else {
			got[string(k)] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("restore %s on %s: %v", p, m.id, err)
	}
	return got
}

func part(i int) engine.PartID { return engine.PartID{Group: "view/v", Index: i, Count: 4} }

// writesFor is epoch e's writes of part i: a new key, an overwrite of key
// 0 and, from epoch 2, the delete of the previous epoch's key.
func writesFor(i int, e uint64) []engine.Write {
	ws := []engine.Write{
		{Key: []byte(fmt.Sprintf("p%d/k%d", i, e)), Val: []byte(fmt.Sprintf("v%d", e))},
		{Key: []byte(fmt.Sprintf("p%d/k0", i)), Val: []byte(fmt.Sprintf("e%d", e))},
	}
	if e >= 2 {
		ws = append(ws, engine.Write{Key: []byte(fmt.Sprintf("p%d/k%d", i, e-1)), Del: true})
	}
	return ws
}

// commitAll commits epoch e of every part m holds and applies the writes
// to the models of the parts that were not fenced.
func commitAll(t *testing.T, ctx context.Context, m *Member, e uint64, models map[engine.PartID]state) []engine.PartID {
	t.Helper()
	parts, _ := m.Held()
	var pw []engine.PartWrites
	for _, h := range parts {
		pw = append(pw, engine.PartWrites{Part: h.Part, Token: h.Token, Writes: writesFor(h.Part.Index, e)})
	}
	fenced, err := m.Commit(ctx, e, pw)
	if err != nil {
		t.Fatalf("commit epoch %d on %s: %v", e, m.id, err)
	}
	for _, p := range pw {
		if !slices.Contains(fenced, p.Part) {
			if models[p.Part] == nil {
				models[p.Part] = state{}
			}
			models[p.Part].apply(p.Writes)
		}
	}
	return fenced
}

// TestMember_FailoverRestoresAndFences: a node takes every part of a
// view, commits two epochs and stops heartbeating (a pause); the other
// node takes the parts after a lease duration and restores exactly the
// committed state; the paused node's next commit is fenced for every
// part, counted, and its held set empties.
func TestMember_FailoverRestoresAndFences(t *testing.T) {
	r := newRig(t)
	a := r.member("a", "")
	if err := a.Ensure(r.ctx, "view/v", 4); err != nil {
		t.Fatal(err)
	}
	_, changed := a.Held()
	r.tick(a)
	select {
	case <-changed:
	default:
		t.Fatal("Held's channel was not closed when a took the parts")
	}
	if got, want := heldKeys(a), []string{"view/v#0/4", "view/v#1/4", "view/v#2/4", "view/v#3/4"}; !slices.Equal(got, want) {
		t.Fatalf("a holds %v, want %v", got, want)
	}
	models := map[engine.PartID]state{}
	for e := uint64(1); e <= 2; e++ {
		if fenced := commitAll(t, r.ctx, a, e, models); len(fenced) != 0 {
			t.Fatalf("epoch %d fenced %v", e, fenced)
		}
	}
	leases, _ := r.table.Leases(r.ctx, "view/v")
	for _, l := range leases {
		if l.Owner != "a" || l.Epoch != 2 {
			t.Errorf("lease %s: owner %q epoch %d, want a at 2", l.ID(), l.Owner, l.Epoch)
		}
	}

	// a pauses (no more steps); b joins and waits out a's lease.
	b := r.member("b", "")
	for range 12 {
		r.tick(b)
	}
	if got := heldKeys(b); len(got) != 4 {
		t.Fatalf("b holds %v after a lease duration of a's silence, want all 4 parts", got)
	}
	for i := range 4 {
		p := part(i)
		if got := restored(t, r.ctx, b, p); !maps.Equal(got, models[p]) {
			t.Errorf("b restored %s as %v, want %v", p, got, models[p])
		}
	}
	bParts, _ := b.Held()
	for _, h := range bParts {
		if h.Epoch != 2 || h.Token != 2 {
			t.Errorf("b's %s: epoch %d token %d, want epoch 2 token 2", h.Part, h.Epoch, h.Token)
		}
	}

	// a resumes and commits epoch 3: fenced everywhere, nothing written.
	_, changed = a.Held()
	fenced := commitAll(t, r.ctx, a, 3, models)
	if len(fenced) != 4 {
		t.Fatalf("a's commit after the take fenced %v, want all 4 parts", fenced)
	}
	select {
	case <-changed:
	default:
		t.Error("Held's channel was not closed when a's parts were fenced")
	}
	if got := heldKeys(a); len(got) != 0 {
		t.Errorf("a still holds %v after being fenced", got)
	}
	if a.fenced != 4 {
		t.Errorf("a counted %d fenced commits, want 4", a.fenced)
	}
	reg := prometheus.NewRegistry()
	if err := a.Register(reg); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name string
		c    prometheus.Metric
		want float64
	}{
		{"streamsql_cluster_commits_fenced_total", a.metrics.fenced, 4},
		{"streamsql_cluster_lease_moves_total", a.metrics.moves, 4},
		{"streamsql_cluster_calls_total{dynamodb,commit}", a.metrics.calls.WithLabelValues("dynamodb", "commit"), 12},
		{"streamsql_cluster_calls_total{s3,put_epoch}", a.metrics.calls.WithLabelValues("s3", "put_epoch"), 3},
		{"streamsql_cluster_leases{view/v}", a.metrics.leases.WithLabelValues("view/v"), 0},
	} {
		if got := metricValue(t, m.c); got != m.want {
			t.Errorf("a's %s = %v, want %v", m.name, got, m.want)
		}
	}
	if got := metricValue(t, b.metrics.leases.WithLabelValues("view/v")); got != 4 {
		t.Errorf("b's streamsql_cluster_leases{view/v} = %v, want 4", got)
	}
	// b continues from epoch 3 (above a's last commit) and its state is
	// the committed one plus its own.
	if fenced := commitAll(t, r.ctx, b, 3, models); len(fenced) != 0 {
		t.Fatalf("b's epoch 3 fenced %v", fenced)
	}
	c := r.member("c", "")
	for range 6 {
		r.tick(b, c)
	}
	for i := range 4 {
		p := part(i)
		h, ok := b.heldOf(p)
		if !ok {
			continue // handed to c meanwhile: not committed since
		}
		if got := restored(t, r.ctx, b, p); !maps.Equal(got, models[p]) {
			t.Errorf("restore of %s after b's epoch 3: %v, want %v", p, got, models[p])
		}
		if h.epoch != 3 {
			t.Errorf("b's %s at epoch %d, want 3", p, h.epoch)
		}
	}
}

// TestMember_StaleTokenFenced: a part lost and taken back between two
// commits is held again under a new take, but the writes its old run made
// were not made from the state the new take restores: a commit carrying
// the old take's token is fenced (counted, not committed in DynamoDB, its
// writes left out of the epoch object), while the other parts of the same
// commit go through, and a commit under the new token succeeds.
func TestMember_StaleTokenFenced(t *testing.T) {
	r := newRig(t)
	a := r.holding("a", 4)
	models := map[engine.PartID]state{}
	if fenced := commitAll(t, r.ctx, a, 1, models); len(fenced) != 0 {
		t.Fatalf("epoch 1 fenced %v", fenced)
	}
	stale := tokenOf(t, a, part(0))
	// Another node takes part 0 and a takes it back, both between a's
	// commits.
	leases, err := r.table.Leases(r.ctx, "view/v")
	if err != nil {
		t.Fatal(err)
	}
	l := leases[slices.IndexFunc(leases, func(l Lease) bool { return l.Key == part(0).Key() })]
	if l, err = r.table.Take(r.ctx, l, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err = r.table.Take(r.ctx, l, "a"); err != nil {
		t.Fatal(err)
	}
	r.tick(a)
	fresh := tokenOf(t, a, part(0))
	if fresh != stale+2 {
		t.Fatalf("a holds part 0 under take %d after losing and retaking it, want %d", fresh, stale+2)
	}
	staleWrites := []engine.Write{{Key: []byte("stale-key"), Val: []byte("stale-value")}}
	pw := []engine.PartWrites{
		{Part: part(0), Token: stale, Writes: staleWrites},
		{Part: part(1), Token: tokenOf(t, a, part(1)), Writes: writesFor(1, 2)},
	}
	fenced, err := a.Commit(r.ctx, 2, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fenced, []engine.PartID{part(0)}) {
		t.Fatalf("commit with part 0's old token fenced %v, want only part 0", fenced)
	}
	models[part(1)].apply(pw[1].Writes)
	if a.fenced != 1 || metricValue(t, a.metrics.fenced) != 1 {
		t.Errorf("fenced commits counted %d, metric %v; want 1", a.fenced, metricValue(t, a.metrics.fenced))
	}
	leases, _ = r.table.Leases(r.ctx, "view/v")
	for _, l := range leases {
		want := uint64(1)
		if l.Key == part(1).Key() {
			want = 2
		}
		if l.Epoch != want {
			t.Errorf("lease %s at epoch %d, want %d", l.ID(), l.Epoch, want)
		}
	}
	obj, ok := r.blobs.blobs.(*memBlobs).objs[EpochKey("a", a.incarnation, 2)]
	if !ok {
		t.Fatal("no epoch object for epoch 2")
	}
	if bytes.Contains(obj, []byte("stale")) {
		t.Error("the epoch object holds the fenced part's writes")
	}
	if got := restored(t, r.ctx, a, part(0)); !maps.Equal(got, models[part(0)]) {
		t.Errorf("part 0 restores as %v, want %v (epoch 1 only)", got, models[part(0)])
	}
	// The part is still held under the new take, which commits.
	if got := heldKeys(a); len(got) != 4 {
		t.Errorf("a holds %v, want all 4 parts (part 0 under its new take)", got)
	}
	ws := writesFor(0, 3)
	if fenced, err := a.Commit(r.ctx, 3, []engine.PartWrites{{Part: part(0), Token: fresh, Writes: ws}}); err != nil || len(fenced) != 0 {
		t.Fatalf("commit under the new take: fenced %v, err %v", fenced, err)
	}
	models[part(0)].apply(ws)
	if got := restored(t, r.ctx, a, part(0)); !maps.Equal(got, models[part(0)]) {
		t.Errorf("part 0 restores as %v after the new take's commit, want %v", got, models[part(0)])
	}
}

// TestMember_Handoff: a node that joins asks for its share; the owner
// hands each asked part off right after committing it, and the newcomer
// restores the state of that very commit.
func TestMember_Handoff(t *testing.T) {
	r := newRig(t)
	a := r.holding("a", 4)
	models := map[engine.PartID]state{}
	commitAll(t, r.ctx, a, 1, models)
	b := r.member("b", "")
	// b needs a stable membership for a lease duration before asking.
	for range 8 {
		r.tick(a, b)
	}
	asked := 0
	leases, _ := r.table.Leases(r.ctx, "view/v")
	for _, l := range leases {
		if l.Handoff == "b" {
			asked++
		}
	}
	if asked != 2 {
		t.Fatalf("b asked for %d hand-offs, want 2 (its target of 4 parts over 2 nodes)", asked)
	}
	commitAll(t, r.ctx, a, 2, models)
	if got := heldKeys(a); len(got) != 2 {
		t.Fatalf("a holds %v after handing off at its commit, want 2 parts", got)
	}
	r.tick(a, b)
	bParts, _ := b.Held()
	if len(bParts) != 2 {
		t.Fatalf("b holds %v after the hand-off, want 2 parts", heldKeys(b))
	}
	for _, h := range bParts {
		if h.Epoch != 2 {
			t.Errorf("b took %s at epoch %d, want 2 (a's commit just before the hand-off)", h.Part, h.Epoch)
		}
		if got := restored(t, r.ctx, b, h.Part); !maps.Equal(got, models[h.Part]) {
			t.Errorf("b restored %s as %v, want %v", h.Part, got, models[h.Part])
		}
	}
}

// TestMember_CommitErrors: an S3 failure fails the whole commit without
// fencing anything and without moving the lease; the next epoch commits
// (and carries the failed one's writes, as the engine promises).
func TestMember_CommitErrors(t *testing.T) {
	r := newRig(t)
	a := r.member("a", "")
	if err := a.Ensure(r.ctx, "view/v", 1); err != nil {
		t.Fatal(err)
	}
	r.tick(a)
	p := engine.PartID{Group: "view/v", Index: 0, Count: 1}
	tok := tokenOf(t, a, p)
	w1 := []engine.Write{{Key: []byte("k"), Val: []byte("1")}}
	if _, err := a.Commit(r.ctx, 1, []engine.PartWrites{{Part: p, Token: tok, Writes: w1}}); err != nil {
		t.Fatal(err)
	}
	r.blobs.fail.Store(true)
	w2 := []engine.Write{{Key: []byte("k"), Val: []byte("2")}, {Key: []byte("j"), Val: []byte("x")}}
	fenced, err := a.Commit(r.ctx, 2, []engine.PartWrites{{Part: p, Token: tok, Writes: w2}})
	if err == nil || len(fenced) != 0 {
		t.Fatalf("commit with S3 down: fenced %v, err %v; want an error and nothing fenced", fenced, err)
	}
	leases, _ := r.table.Leases(r.ctx, "view/v")
	if leases[0].Epoch != 1 {
		t.Errorf("lease at epoch %d after a failed commit, want 1", leases[0].Epoch)
	}
	r.blobs.fail.Store(false)
	w3 := append(w2, engine.Write{Key: []byte("j"), Del: true})
	if fenced, err := a.Commit(r.ctx, 3, []engine.PartWrites{{Part: p, Token: tok, Writes: w3}}); err != nil || len(fenced) != 0 {
		t.Fatalf("commit after S3 is back: fenced %v, err %v", fenced, err)
	}
	want := state{"k": "2"}
	if got := restored(t, r.ctx, a, p); !maps.Equal(got, want) {
		t.Errorf("restored %v, want %v", got, want)
	}
	// A part not held is reported fenced, not committed.
	other := engine.PartID{Group: "view/w", Index: 0, Count: 1}
	fenced, err = a.Commit(r.ctx, 4, []engine.PartWrites{{Part: other}})
	if err != nil || !slices.Equal(fenced, []engine.PartID{other}) || a.fenced != 1 {
		t.Errorf("commit of a part not held: fenced %v, err %v, counted %d; want it fenced and counted", fenced, err, a.fenced)
	}
}

// TestMember_ServingAndPeerTokens: a node whose heartbeats fail for a
// lease duration stops answering scans of its parts until one succeeds;
// with a cluster secret only a token signed with it is accepted.
func TestMember_ServingAndPeerTokens(t *testing.T) {
	r := newRig(t)
	a := r.member("a", "s3cret")
	scan := engine.PeerScanOp(part(0))
	good := token("s3cret", scan)
	if err := a.CheckPeer(scan, good); err != nil {
		t.Fatalf("a right token refused: %v", err)
	}
	for _, bad := range []string{"", token("other", scan), token("s3cret", engine.PeerFlushOp)} {
		if err := a.CheckPeer(scan, bad); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
	r.table.down.Store(true)
	for range 5 {
		r.tick(a)
	}
	if err := a.CheckPeer(scan, good); err == nil {
		t.Error("a answered a scan after a lease duration without a successful heartbeat")
	}
	if err := a.CheckPeer(engine.PeerFlushOp, token("s3cret", engine.PeerFlushOp)); err != nil {
		t.Errorf("flush refused while heartbeats fail: %v", err)
	}
	r.table.down.Store(false)
	r.tick(a)
	if err := a.CheckPeer(scan, good); err != nil {
		t.Errorf("scan refused after a heartbeat succeeded again: %v", err)
	}
	open := r.member("b", "")
	if err := open.CheckPeer(scan, ""); err != nil {
		t.Errorf("without a secret, a scan was refused: %v", err)
	}
}

// TestMember_Close releases every lease for others to take at once and
// deletes the node's item.
func TestMember_Close(t *testing.T) {
	r := newRig(t)
	a := r.holding("a", 4)
	commitAll(t, r.ctx, a, 1, map[engine.PartID]state{})
	if err := a.Close(r.ctx); err != nil {
		t.Fatal(err)
	}
	leases, _ := r.table.Leases(r.ctx, "view/v")
	for _, l := range leases {
		if l.Owner != "" || l.Epoch != 1 {
			t.Errorf("after Close, lease %s: owner %q epoch %d; want free at epoch 1", l.ID(), l.Owner, l.Epoch)
		}
	}
	nodes, _ := r.table.Nodes(r.ctx)
	if len(nodes) != 0 {
		t.Errorf("node items after Close: %v", nodes)
	}
	b := r.member("b", "")
	r.tick(b) // free leases need no waiting
	if got := heldKeys(b); len(got) != 4 {
		t.Errorf("b holds %v right after a left, want 4 parts", got)
	}
}

// TestCatalog_AppendAndFollow: nodes appending at once get distinct
// versions, and a follower applies every statement once, in order.
func TestCatalog_AppendAndFollow(t *testing.T) {
	r := newRig(t)
	const nodes, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, nodes*each)
	for n := range nodes {
		c := newCatalog(r.log, slog.New(slog.NewTextHandler(io.Discard, nil)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := c.AppendDDL(r.ctx, fmt.Sprintf("stmt %d.%d", n, i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	follower := newCatalog(r.log, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(r.ctx)
	var got []uint64
	seen := map[string]bool{}
	err := follower.Follow(ctx, 3, func(v uint64, stmt string) error {
		got = append(got, v)
		if seen[stmt] {
			t.Errorf("statement %q applied twice", stmt)
		}
		seen[stmt] = true
		if len(got) == nodes*each-3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Follow ended with %v, want its context's error", err)
	}
	for i, v := range got {
		if v != uint64(i+4) {
			t.Fatalf("Follow applied versions %v, want 4..%d in order", got, nodes*each)
		}
	}
}

// onePart is member a of a rig holding the only part of view v, and the
// model of the state it committed.
type onePart struct {
	a     *Member
	p     engine.PartID
	tok   int64
	model state
}

func (r *rig) onePart(t *testing.T) *onePart {
	t.Helper()
	o := &onePart{a: r.holding("a", 1), p: engine.PartID{Group: "view/v", Index: 0, Count: 1}, model: state{}}
	o.tok = tokenOf(t, o.a, o.p)
	return o
}

// commit commits epoch e's writesFor the part, applies them to the model
// and waits for any compaction the commit started.
func (o *onePart) commit(t *testing.T, r *rig, e uint64) {
	t.Helper()
	ws := writesFor(0, e)
	if fenced, err := o.a.Commit(r.ctx, e, []engine.PartWrites{{Part: o.p, Token: o.tok, Writes: ws}}); err != nil || len(fenced) != 0 {
		t.Fatalf("commit epoch %d: fenced %v, err %v", e, fenced, err)
	}
	o.model.apply(ws)
	o.a.compactions.Wait()
}

// checkpoint decodes the part's lease checkpoint as the table has it.
func (o *onePart) checkpoint(t *testing.T, r *rig) Location {
	t.Helper()
	leases, _ := r.table.Leases(r.ctx, o.p.Group)
	loc, err := decodeCheckpoint(leases[0])
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestMember_Compaction: a part that commits every other epoch (as when
// sinks take epochs of the same counter) would add a run per commit; the
// member compacts it into a base every compactEvery epochs, so the lease
// item and a restore stay bounded, old bases are deleted, and another
// node restores the same state from base and runs.
func TestMember_Compaction(t *testing.T) {
	r := newRig(t)
	o := r.onePart(t)
	a, p := o.a, o.p
	for i := range 200 {
		e := uint64(2*i + 1)
		o.commit(t, r, e)
		loc := o.checkpoint(t, r)
		if n := epochsAfterBase(loc); n > compactEvery+1 {
			t.Fatalf("after epoch %d the part spans %d epochs after its base (%d runs), want at most %d", e, n, len(loc.Runs), compactEvery+1)
		}
		if err := loc.Validate(e); err != nil {
			t.Fatalf("after epoch %d: %v", e, err)
		}
	}
	bases := 0
	for _, k := range r.storeKeys() {
		if strings.HasPrefix(k, "b/") {
			bases++
		}
	}
	if bases != 1 {
		t.Errorf("%d base objects in the store, want the one the lease refers to", bases)
	}
	if got := restored(t, r.ctx, a, p); !maps.Equal(got, o.model) {
		t.Errorf("restore after compactions: %v, want %v", got, o.model)
	}
	// Another node takes the part once a is silent and restores the same.
	b := r.member("b", "")
	for range 12 {
		r.tick(b)
	}
	if got := restored(t, r.ctx, b, p); !maps.Equal(got, o.model) {
		t.Errorf("b's restore from base and runs: %v, want %v", got, o.model)
	}
}

// TestMember_StaleBaseNotAdopted: a compacted base waits for its part's
// next commit to be adopted; when that commit comes more than half a
// sweep age later, another node's sweep may have deleted the base (no
// lease referenced it), so the commit must not adopt it: the part's state
// still restores, and the next compaction's base is adopted.
func TestMember_StaleBaseNotAdopted(t *testing.T) {
	r := newRig(t)
	o := r.onePart(t)
	a, p := o.a, o.p
	for e := uint64(1); e <= compactEvery; e++ {
		o.commit(t, r, e)
	}
	if h, _ := a.heldOf(p); h.base == nil {
		t.Fatalf("no compacted base waiting after %d epochs", compactEvery)
	}
	// The part is idle past a sweep age; another node sweeps meanwhile.
	r.clock.advance(a.sweepAge() + time.Second)
	b := r.member("b", "")
	if n, err := b.sweep(r.ctx, r.clock.Now().Add(-b.sweepAge())); err != nil || n == 0 {
		t.Fatalf("b's sweep deleted %d objects, err %v; want the waiting base", n, err)
	}
	o.commit(t, r, compactEvery+1)
	if got := restored(t, r.ctx, a, p); !maps.Equal(got, o.model) {
		t.Fatalf("restore after the commit that followed the sweep: %v, want %v", got, o.model)
	}
	for e := uint64(compactEvery + 2); e <= compactEvery+4; e++ {
		o.commit(t, r, e)
	}
	if loc := o.checkpoint(t, r); loc.Base == "" {
		t.Error("no base adopted after the part compacted again")
	}
	if got := restored(t, r.ctx, a, p); !maps.Equal(got, o.model) {
		t.Errorf("restore from the new base: %v, want %v", got, o.model)
	}
}

// fakeLocal is the engine's side a member reads its published figures
// from.
type fakeLocal struct{ lag atomic.Int64 }

func (f *fakeLocal) ScanLocalPart(context.Context, engine.PartID, func(key, val []byte) error) error {
	return errors.New("no parts here")
}

func (f *fakeLocal) ClusterStats() engine.ClusterStats {
	return engine.ClusterStats{LagMillis: f.lag.Load()}
}

// TestMember_PublishesLag: a node publishes its engine's lag with every
// heartbeat; SHOW CLUSTER (ClusterNodes) shows it on any node, and NULL
// for a node without an engine's figures yet or gone; the node's
// streamsql_cluster_lag_ms follows it.
func TestMember_PublishesLag(t *testing.T) {
	r := newRig(t)
	a, b := r.member("a", ""), r.member("b", "")
	local := &fakeLocal{}
	local.lag.Store(1234)
	a.SetLocal(local)
	lags := func() map[string]string {
		t.Helper()
		nodes, err := b.ClusterNodes(r.ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range nodes {
			out[n.ID] = "NULL"
			if n.HasLag {
				out[n.ID] = strconv.FormatInt(n.LagMillis, 10)
			}
		}
		return out
	}
	for range 6 {
		r.tick(a, b)
	}
	if got, want := lags(), map[string]string{"a": "1234", "b": "NULL"}; !maps.Equal(got, want) {
		t.Errorf("lags shown: %v, want %v", got, want)
	}
	if got := metricValue(t, a.metrics.lag.WithLabelValues("a")); got != 1234 {
		t.Errorf("a's streamsql_cluster_lag_ms{node=a} = %v, want 1234", got)
	}
	local.lag.Store(50)
	r.tick(a, b)
	if got := lags()["a"]; got != "50" {
		t.Errorf("a's lag after a heartbeat: %s, want 50", got)
	}
	if got := metricValue(t, a.metrics.lag.WithLabelValues("a")); got != 50 {
		t.Errorf("a's streamsql_cluster_lag_ms{node=a} = %v, want 50", got)
	}
	// a goes silent: once b judges it gone, its lag is unknown.
	for range 12 {
		r.tick(b)
	}
	if got, want := lags(), map[string]string{"a": "NULL", "b": "NULL"}; !maps.Equal(got, want) {
		t.Errorf("lags shown with a gone: %v, want %v", got, want)
	}
}

// storeKeys returns the keys of the rig's state store, sorted.
func (r *rig) storeKeys() []string {
	mb := r.blobs.blobs.(*memBlobs)
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return slices.Sorted(maps.Keys(mb.objs))
}

// TestMember_Sweep: the leader (the live node with the smallest id)
// sweeps the state store every SweepEvery: objects no lease references
// and older than the sweep age go (a fenced node's epoch object, a base
// of a dropped part); those a lease references stay however old, and so
// do unreferenced young ones (a commit may be under way). The other node
// never sweeps while the leader lives, and takes over when it is gone.
func TestMember_Sweep(t *testing.T) {
	r := newRig(t)
	r.sweepEvery = time.Minute
	st := &Store{b: r.blobs}
	a := r.holding("a", 4)
	models := map[engine.PartID]state{}
	for e := uint64(1); e <= 2; e++ {
		if fenced := commitAll(t, r.ctx, a, e, models); len(fenced) != 0 {
			t.Fatalf("epoch %d fenced %v", e, fenced)
		}
	}
	oldOrphan, err := st.PutEpoch(r.ctx, "z", "dead", 9, map[string][]Write{"view/v/0/4": {{Key: []byte("k"), Value: []byte("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	orphanBase, err := st.Compact(r.ctx, "view/gone/0/1", 3, func(yield func(Write) error) error {
		return yield(Write{Key: []byte("k"), Value: []byte("v")})
	})
	if err != nil {
		t.Fatal(err)
	}
	kept := []string{EpochKey("a", a.incarnation, 1), EpochKey("a", a.incarnation, 2)}
	r.clock.advance(a.sweepAge() + time.Second)
	youngOrphan, err := st.PutEpoch(r.ctx, "z", "dead", 10, map[string][]Write{"view/v/0/4": nil})
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(kept), youngOrphan)
	slices.Sort(want)
	if got := r.storeKeys(); len(got) != 5 {
		t.Fatalf("store before the sweep: %q, want 5 objects (with %s and %s)", got, oldOrphan, orphanBase.Base)
	}

	b := r.member("b", "")
	// More than a SweepEvery of ticks: a sweeps (at its first tick, its
	// last sweep being a sweep age ago, then every minute), b never.
	for range 2 * int(r.sweepEvery/(memberLease/5)) {
		r.tick(a, b)
		a.compactions.Wait()
		b.compactions.Wait()
	}
	if got := r.storeKeys(); !slices.Equal(got, want) {
		t.Errorf("store after the sweeps: %q, want %q", got, want)
	}
	if got := metricValue(t, a.metrics.swept); got != 2 {
		t.Errorf("a's streamsql_cluster_s3_objects_swept_total = %v, want 2", got)
	}
	if n := metricValue(t, a.metrics.calls.WithLabelValues("s3", "sweep")); n < 2 {
		t.Errorf("a swept %v times in two sweep periods, want at least 2", n)
	}
	if n := metricValue(t, b.metrics.calls.WithLabelValues("s3", "sweep")); n != 0 {
		t.Errorf("b swept %v times while a, the leader, lives", n)
	}
	for i := range 4 {
		if _, ok := a.heldOf(part(i)); ok {
			if got := restored(t, r.ctx, a, part(i)); !maps.Equal(got, models[part(i)]) {
				t.Errorf("after the sweeps %s restores as %v, want %v", part(i), got, models[part(i)])
			}
		}
	}

	// a goes silent: once b sees it gone, b is the leader and sweeps the
	// young orphan when it is old enough.
	r.clock.advance(a.sweepAge())
	for range 2 * int(r.sweepEvery/(memberLease/5)) {
		r.tick(b)
		b.compactions.Wait()
	}
	if n := metricValue(t, b.metrics.calls.WithLabelValues("s3", "sweep")); n < 1 {
		t.Errorf("b did not sweep once a was gone")
	}
	if slices.Contains(r.storeKeys(), youngOrphan) {
		t.Errorf("the orphan %s is still there a sweep age later", youngOrphan)
	}
	for _, k := range kept {
		if !slices.Contains(r.storeKeys(), k) {
			t.Errorf("b's sweep deleted %s, which the leases reference", k)
		}
	}
}

// tokenOf is the take m holds part p under: what the engine's runner of
// the part sends with its writes.
func tokenOf(t *testing.T, m *Member, p engine.PartID) int64 {
	t.Helper()
	h, ok := m.heldOf(p)
	if !ok {
		t.Fatalf("%s does not hold %s", m.id, p)
	}
	return h.lease.Counter
}

// metricValue reads a counter's or a gauge's value.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	if c := pb.GetCounter(); c != nil {
		return c.GetValue()
	}
	return pb.GetGauge().GetValue()
}
