package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamsql/streamsql/planner"
)

// fakeCluster is an in-memory cluster for engines in one test: leases with
// the fencing conditions of cluster/lease.go (a take bumps the counter; a
// commit needs owner = me, counter = held, epoch < N), an object store of
// every committed epoch's writes per part, the catalog log, and peers
// answering from each other's engines.
type fakeCluster struct {
	mu      sync.Mutex
	leases  map[PartID]*fakeLease
	store   map[PartID][]fakeEpoch // committed epochs, in order
	ddl     []string
	changed chan struct{} // closed at every take and DDL append
	nodes   map[string]*fakeNode
	// beforeCommit, when set, runs in a node's Commit after its object is
	// written and before the conditional commits (a pause there).
	beforeCommit func(node string, epoch uint64)
	// failCommits makes that many of the next Commits fail whole (the
	// object store down); doubtCommits makes that many of the next
	// Commits commit and yet report every part fenced (an answer lost).
	failCommits, doubtCommits int
}

type fakeLease struct {
	owner   string
	counter int64
	epoch   uint64 // last committed
	commits int
}

type fakeEpoch struct {
	epoch  uint64
	writes []Write
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{leases: map[PartID]*fakeLease{}, store: map[PartID][]fakeEpoch{},
		changed: make(chan struct{}), nodes: map[string]*fakeNode{}}
}

// notify wakes every node; the caller holds mu.
func (c *fakeCluster) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// node returns the member config of node id.
func (c *fakeCluster) node(id string) *fakeNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := &fakeNode{c: c, id: id}
	c.nodes[id] = n
	return n
}

// take gives part to node id, as a take of the lease (counter + 1).
func (c *fakeCluster) take(part PartID, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.leases[part]
	if l == nil {
		panic("no lease " + part.String())
	}
	l.owner = id
	l.counter++
	c.notify()
}

// leaseOf returns a copy of part's lease.
func (c *fakeCluster) leaseOf(part PartID) fakeLease {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.leases[part]; l != nil {
		return *l
	}
	return fakeLease{}
}

// gone forgets node id's engine (closed): peers no longer ask it.
func (c *fakeCluster) gone(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes[id].e = nil
}

type fakeNode struct {
	c  *fakeCluster
	id string
	e  *Engine
}

func (n *fakeNode) config() *ClusterConfig {
	return &ClusterConfig{Membership: n, Restorer: n, Committer: n, Catalog: n, Peers: n, KeyGroupRanges: 4}
}

func (n *fakeNode) Ensure(_ context.Context, group string, parts int) error {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	for i := range parts {
		id := PartID{Group: group, Index: i, Count: parts}
		if n.c.leases[id] == nil {
			n.c.leases[id] = &fakeLease{}
		}
	}
	return nil
}

func (n *fakeNode) Drop(_ context.Context, group string) error {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	for id := range n.c.leases {
		if id.Group == group {
			delete(n.c.leases, id)
		}
	}
	n.c.notify()
	return nil
}

func (n *fakeNode) Held() ([]HeldPart, <-chan struct{}) {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	var out []HeldPart
	for id, l := range n.c.leases {
		if l.owner == n.id {
			out = append(out, HeldPart{Part: id, Epoch: l.epoch, Token: l.counter})
		}
	}
	return out, n.c.changed
}

func (n *fakeNode) Restore(_ context.Context, part PartID, apply func(key, val []byte, del bool) error) error {
	n.c.mu.Lock()
	epochs := slices.Clone(n.c.store[part])
	n.c.mu.Unlock()
	for _, ep := range epochs {
		for _, w := range ep.writes {
			if err := apply(w.Key, w.Val, w.Del); err != nil {
				return err
			}
		}
	}
	return nil
}

func (n *fakeNode) Commit(_ context.Context, epoch uint64, parts []PartWrites) ([]PartID, error) {
	n.c.mu.Lock()
	hook := n.c.beforeCommit
	n.c.mu.Unlock()
	if hook != nil {
		hook(n.id, epoch)
	}
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	if n.c.failCommits > 0 {
		n.c.failCommits--
		return nil, errors.New("object store unavailable")
	}
	doubt := n.c.doubtCommits > 0
	if doubt {
		n.c.doubtCommits--
	}
	var fenced []PartID
	for _, pw := range parts {
		l := n.c.leases[pw.Part]
		if l == nil || l.owner != n.id || l.counter != pw.Token || l.epoch >= epoch {
			fenced = append(fenced, pw.Part)
			continue
		}
		l.epoch = epoch
		l.commits++
		n.c.store[pw.Part] = append(n.c.store[pw.Part], fakeEpoch{epoch, pw.Writes})
		if doubt {
			fenced = append(fenced, pw.Part)
		}
	}
	return fenced, nil
}

func (n *fakeNode) AppendDDL(_ context.Context, stmt string) (uint64, error) {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	n.c.ddl = append(n.c.ddl, stmt)
	n.c.notify()
	return uint64(len(n.c.ddl)), nil
}

func (n *fakeNode) Follow(ctx context.Context, after uint64, apply func(version uint64, stmt string) error) error {
	for {
		n.c.mu.Lock()
		next := slices.Clone(n.c.ddl[after:])
		ch := n.c.changed
		n.c.mu.Unlock()
		for _, stmt := range next {
			after++
			if err := apply(after, stmt); err != nil {
				return err
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (n *fakeNode) ScanPart(ctx context.Context, part PartID, fn func(key, val []byte) error) error {
	n.c.mu.Lock()
	var owner *Engine
	if l := n.c.leases[part]; l != nil && l.owner != "" {
		owner = n.c.nodes[l.owner].e
	}
	n.c.mu.Unlock()
	if owner == nil {
		return fmt.Errorf("part %s: no live owner", part)
	}
	return owner.ScanLocalPart(ctx, part, fn)
}

func (n *fakeNode) Flush(ctx context.Context) error {
	n.c.mu.Lock()
	var peers []*Engine
	for id, o := range n.c.nodes {
		if id != n.id && o.e != nil {
			peers = append(peers, o.e)
		}
	}
	n.c.mu.Unlock()
	for _, e := range peers {
		if err := e.FlushLocal(ctx); err != nil {
			return err
		}
	}
	return nil
}

// openMember opens an engine as node id of c.
func openMember(t *testing.T, c *fakeCluster, id string) *Engine {
	t.Helper()
	return openMemberDir(t, c, id, t.TempDir())
}

// openMemberDir opens an engine on dir as node id of c.
func openMemberDir(t *testing.T, c *fakeCluster, id, dir string) *Engine {
	t.Helper()
	n := c.node(id)
	var out io.Writer = io.Discard
	if os.Getenv("STREAMSQL_TEST_LOG") != "" {
		out = os.Stderr
	}
	e, err := Open(context.Background(), Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(out, nil)).With("node", id),
		CheckpointInterval: 50 * time.Millisecond, Cluster: n.config()})
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	n.e = e
	c.mu.Unlock()
	t.Cleanup(func() { e.Close() })
	return e
}

// waitFor polls cond until it holds, failing the test after a generous
// bound (a hang, not a slow machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const partsN = 3000

// partsSource is a sequence 1..partsN; rate 0 generates it at once.
func partsSource(rate int) string {
	return fmt.Sprintf(`CREATE SOURCE seq (n BIGINT) WITH (connector = 'datagen', number_of_rows = %d, rows_per_second = %d,
		fields.n.kind = 'sequence', fields.n.start = 1, fields.n.end = %d)`, partsN, rate, partsN)
}

// partsView groups the sequence by n % 10: a view split by key.
const partsView = `CREATE MATERIALIZED VIEW v AS SELECT n % 10 AS k, COUNT(*) AS c, SUM(n) AS s FROM seq GROUP BY n % 10`

// partsWant is the view worked out in Go: a row "k c s" per group.
func partsWant(upTo int) []string {
	var c, s [10]int64
	for n := 1; n <= upTo; n++ {
		c[n%10]++
		s[n%10] += int64(n)
	}
	var out []string
	for k := range 10 {
		if c[k] > 0 {
			out = append(out, fmt.Sprintf("%d %d %d", k, c[k], s[k]))
		}
	}
	return out
}

func viewParts(count int) []PartID {
	out := make([]PartID, count)
	for i := range out {
		out[i] = PartID{Group: ViewGroup("v"), Index: i, Count: count}
	}
	return out
}

// takeAllAndCommit gives node every part of the view and waits until each
// has committed at least commits epochs there.
// splitOverTwo gives the view's four parts to n1 and n2 in turn and
// waits until each engine runs its two.
func (c *fakeCluster) splitOverTwo(t *testing.T, e1, e2 *Engine) {
	t.Helper()
	for i, p := range viewParts(4) {
		c.take(p, []string{"n1", "n2"}[i%2])
	}
	waitFor(t, "two parts running on each engine", func() bool {
		return e1.ClusterStats().Held == 2 && e2.ClusterStats().Held == 2
	})
}

func (c *fakeCluster) takeAllAndCommit(t *testing.T, node string, commits int) {
	t.Helper()
	for _, p := range viewParts(4) {
		c.take(p, node)
	}
	waitFor(t, fmt.Sprintf("every part to commit %d epochs on %s", commits, node), func() bool {
		for _, p := range viewParts(4) {
			if c.leaseOf(p).commits < commits {
				return false
			}
		}
		return true
	})
}

// readView returns the view's rows as "k c s", by k.
func readView(t *testing.T, e *Engine) []string {
	t.Helper()
	var out []string
	for _, r := range queryStrings(t, e, `SELECT k, c, s FROM v ORDER BY k`) {
		out = append(out, strings.Trim(r, "()"))
	}
	return out
}

// clusterReady creates the source and the view on e1 and waits until
// every node has applied them.
func clusterReady(t *testing.T, rate int, engines ...*Engine) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{partsSource(rate), partsView} {
		if err := engines[0].Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, e := range engines[1:] {
		waitFor(t, fmt.Sprintf("node %d to apply the DDL", i+2), func() bool {
			_, ok := e.catalog.get("v")
			return ok
		})
	}
}

func sameRows(got, want []string) bool { return slices.Equal(got, want) }

// One view in four parts over two engines: either engine answers the
// whole view, equal to the Go computation.
func TestCluster_PartsOverTwoEngines(t *testing.T) {
	c := newFakeCluster()
	e1, e2 := openMember(t, c, "n1"), openMember(t, c, "n2")
	clusterReady(t, 0, e1, e2)
	c.splitOverTwo(t, e1, e2)
	if err := e1.Exec(context.Background(), "FLUSH"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"seq", "v"} {
		o1, _ := e1.catalog.get(name)
		o2, _ := e2.catalog.get(name)
		if !o1.entry.CreatedAt.Equal(o2.entry.CreatedAt) || o1.entry.Definition != o2.entry.Definition {
			t.Errorf("%s: engine 2 has %v %q, engine 1 %v %q", name, o2.entry.CreatedAt, o2.entry.Definition, o1.entry.CreatedAt, o1.entry.Definition)
		}
	}
	want := partsWant(partsN)
	for i, e := range []*Engine{e1, e2} {
		if got := readView(t, e); !sameRows(got, want) {
			t.Errorf("engine %d: got %q, want %q", i+1, got, want)
		}
		if got := queryStrings(t, e, `SHOW MATERIALIZED VIEWS`); len(got) != 1 || !strings.HasPrefix(got[0], "v running ") {
			t.Errorf("engine %d: SHOW MATERIALIZED VIEWS: %q, want v running", i+1, got)
		}
		if got := strings.Join(queryStrings(t, e, `EXPLAIN ANALYZE v`), "\n"); !strings.Contains(got, "PartFilter") {
			t.Errorf("engine %d: EXPLAIN ANALYZE v shows no part's filter:\n%s", i+1, got)
		}
	}
	for _, p := range viewParts(4) {
		if l := c.leaseOf(p); l.commits == 0 {
			t.Errorf("part %s never committed to the cluster", p)
		}
	}
}

// The owner of every part goes away after some epochs; the other engine
// takes the parts, restores them from the cluster's store and continues:
// nothing lost, nothing counted twice.
func TestCluster_PartsFailover(t *testing.T) {
	c := newFakeCluster()
	e1, e2 := openMember(t, c, "n1"), openMember(t, c, "n2")
	clusterReady(t, 1000, e1, e2)
	c.takeAllAndCommit(t, "n1", 3)
	// Engine 1 goes in the middle of the stream.
	var counted int64
	for _, r := range readView(t, e1) {
		var k, n, sum int64
		if _, err := fmt.Sscan(r, &k, &n, &sum); err != nil {
			t.Fatalf("row %q: %v", r, err)
		}
		counted += n
	}
	if counted == 0 || counted >= partsN {
		t.Fatalf("engine 1 had counted %d of %d rows: not in the middle of the stream", counted, partsN)
	}
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	c.gone("n1")
	var before uint64
	for _, p := range viewParts(4) {
		before = max(before, c.leaseOf(p).epoch)
		c.take(p, "n2")
	}
	waitFor(t, "engine 2 to run every part", func() bool { return e2.ClusterStats().Held == 4 })
	if err := e2.Exec(context.Background(), "FLUSH"); err != nil {
		t.Fatal(err)
	}
	if got, want := readView(t, e2), partsWant(partsN); !sameRows(got, want) {
		t.Errorf("after failover: got %q, want %q", got, want)
	}
	// Each part went on from its committed position, not from the start.
	e2.sources.mu.Lock()
	gens := 0
	for st, consumer := range e2.sources.gens["seq"] {
		gens++
		if n := st.rows.Load(); n >= partsN {
			t.Errorf("%s generated %d rows on engine 2: it started over rather than from its committed position", consumer, n)
		}
	}
	e2.sources.mu.Unlock()
	if gens != 4 {
		t.Errorf("engine 2 reads seq for %d consumers, want 4 (one per part)", gens)
	}
	if st := e2.ClusterStats(); st.Restores != 4 || st.Fenced != 0 {
		t.Errorf("engine 2: %+v, want 4 restores and nothing fenced", st)
	}
	for _, p := range viewParts(4) {
		if l := c.leaseOf(p); l.epoch <= before {
			t.Errorf("part %s: epoch %d after failover, want above %d (engine 1's last)", p, l.epoch, before)
		}
	}
}

// A part taken away while its owner is in the middle of committing: the
// old owner's commit is fenced, its Badger never gets that epoch, it
// stops the parts and counts them; the new owner's answer is right.
func TestCluster_PartsFenced(t *testing.T) {
	c := newFakeCluster()
	e1, e2 := openMember(t, c, "n1"), openMember(t, c, "n2")
	clusterReady(t, 1000, e1, e2)
	c.takeAllAndCommit(t, "n1", 2)
	// Engine 1's next commit pauses after its object is written, as a
	// node stopped there would.
	paused := make(chan uint64, 1)
	resume := make(chan struct{})
	var once sync.Once
	c.mu.Lock()
	c.beforeCommit = func(node string, epoch uint64) {
		if node != "n1" {
			return
		}
		once.Do(func() {
			paused <- epoch
			<-resume
		})
	}
	c.mu.Unlock()
	var epoch uint64
	select {
	case epoch = <-paused:
	case <-time.After(60 * time.Second):
		t.Fatal("engine 1 did not commit again")
	}
	for _, p := range viewParts(4) {
		c.take(p, "n2")
	}
	waitFor(t, "engine 2 to run every part", func() bool { return e2.ClusterStats().Held == 4 })
	close(resume)
	waitFor(t, "engine 1 to count its fenced commits and stop its parts", func() bool {
		st := e1.ClusterStats()
		return st.Fenced >= 4 && st.Held == 0
	})
	last, err := e1.db.LastCommittedEpoch()
	if err != nil {
		t.Fatal(err)
	}
	if last >= epoch {
		t.Errorf("engine 1's Badger committed epoch %d, at or past the fenced epoch %d", last, epoch)
	}
	for _, p := range viewParts(4) {
		if err := e1.ScanLocalPart(context.Background(), p, func(_, _ []byte) error { return nil }); err == nil {
			t.Errorf("engine 1 still serves part %s", p)
		}
	}
	if err := e2.Exec(context.Background(), "FLUSH"); err != nil {
		t.Fatal(err)
	}
	want := partsWant(partsN)
	for i, e := range []*Engine{e1, e2} {
		if got := readView(t, e); !sameRows(got, want) {
			t.Errorf("engine %d: got %q, want %q", i+1, got, want)
		}
	}
}

// In a cluster, what it does not run yet is refused with 0A000.
func TestCluster_Refused(t *testing.T) {
	c := newFakeCluster()
	e1 := openMember(t, c, "n1")
	clusterReady(t, 0, e1)
	for _, q := range []string{
		`CREATE TABLE t (a INT PRIMARY KEY)`,
		`CREATE MATERIALIZED VIEW w AS SELECT k FROM v`,
		`CREATE SINK o FROM seq WITH (connector = 'kinesis', stream = 'o', endpoint = 'http://127.0.0.1:1', validate = false)`,
		`CREATE SINK o FROM v WITH (connector = 'kinesis', stream = 'o', endpoint = 'http://127.0.0.1:1', validate = false)`,
		`SUBSCRIBE TO v`,
	} {
		err := e1.Exec(context.Background(), q)
		var se interface{ SQLState() string }
		if !errors.As(err, &se) || se.SQLState() != "0A000" {
			t.Errorf("%s: got %v, want 0A000", q, err)
		}
	}
}

// DROP on one node stops the view's parts on every node, frees their
// local state and deletes the view's leases.
func TestCluster_PartsDropped(t *testing.T) {
	c := newFakeCluster()
	e1, e2 := openMember(t, c, "n1"), openMember(t, c, "n2")
	clusterReady(t, 0, e1, e2)
	c.splitOverTwo(t, e1, e2)
	if err := e1.Exec(context.Background(), "FLUSH"); err != nil {
		t.Fatal(err)
	}
	obj, _ := e2.catalog.get("v")
	viewID := obj.entry.ID
	if err := e1.Exec(context.Background(), "DROP MATERIALIZED VIEW v"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both engines to stop the parts", func() bool {
		return e1.ClusterStats().Held == 0 && e2.ClusterStats().Held == 0
	})
	c.mu.Lock()
	for _, p := range viewParts(4) {
		if _, ok := c.leases[p]; ok {
			t.Errorf("lease of part %s still there", p)
		}
	}
	c.mu.Unlock()
	waitFor(t, "engine 2 to free the parts' state", func() bool {
		snap, err := e2.db.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		for i := range 4 {
			it := snap.Scan(partStateID(viewID, i), planner.MaterializeTable, nil, nil)
			_, _, ok, err := it.Next()
			it.Close()
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				return false
			}
		}
		return true
	})
}

// Commits that fail whole are retried with the next epoch, whose writes
// include theirs; commits that took place but whose answer said fenced
// (in doubt) restart the parts from the cluster's state, as the node still
// holds them. Either way the view ends equal to the Go computation.
func TestCluster_PartsCommitTrouble(t *testing.T) {
	for _, tc := range []struct {
		name         string
		fail, doubt  int
		wantFenced   bool
		wantRestores int64
	}{
		{name: "failed", fail: 5, wantRestores: 4},
		{name: "in doubt", doubt: 2, wantFenced: true, wantRestores: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster()
			e1 := openMember(t, c, "n1")
			clusterReady(t, 1000, e1)
			c.takeAllAndCommit(t, "n1", 1)
			c.mu.Lock()
			c.failCommits, c.doubtCommits = tc.fail, tc.doubt
			c.mu.Unlock()
			waitFor(t, "the troubled commits to pass", func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				return c.failCommits == 0 && c.doubtCommits == 0
			})
			if err := e1.Exec(context.Background(), "FLUSH"); err != nil {
				t.Fatal(err)
			}
			if got, want := readView(t, e1), partsWant(partsN); !sameRows(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			st := e1.ClusterStats()
			if (st.Fenced > 0) != tc.wantFenced || st.Restores < tc.wantRestores {
				t.Errorf("stats %+v: want fenced %v and at least %d restores", st, tc.wantFenced, tc.wantRestores)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, p := range viewParts(4) {
				var last uint64
				for _, ep := range c.store[p] {
					if ep.epoch <= last {
						t.Errorf("part %s: epoch %d committed after %d", p, ep.epoch, last)
					}
					last = ep.epoch
				}
			}
		})
	}
}

// A member restarted on its data directory neither applies the catalog log
// again nor keeps the state of parts it no longer holds; the parts it
// holds again go on from the cluster's state.
func TestCluster_PartsRestart(t *testing.T) {
	c := newFakeCluster()
	dir := t.TempDir()
	e1 := openMemberDir(t, c, "n1", dir)
	e2 := openMember(t, c, "n2")
	clusterReady(t, 1000, e1, e2)
	c.takeAllAndCommit(t, "n1", 2)
	obj, _ := e1.catalog.get("v")
	viewID := obj.entry.ID
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	c.gone("n1")
	// Parts 2 and 3 go to engine 2 while engine 1 is away; 0 and 1 come
	// back to it.
	for i, p := range viewParts(4) {
		c.take(p, []string{"n1", "n1", "n2", "n2"}[i])
	}
	e1 = openMemberDir(t, c, "n1", dir)
	if err := e1.Exec(context.Background(), "FLUSH"); err != nil {
		t.Fatal(err)
	}
	want := partsWant(partsN)
	for i, e := range []*Engine{e1, e2} {
		if got := readView(t, e); !sameRows(got, want) {
			t.Errorf("engine %d: got %q, want %q", i+1, got, want)
		}
	}
	if v, err := e1.db.ClusterCatalogVersion(); err != nil || v != 2 {
		t.Errorf("engine 1 applied the catalog log up to %d (err %v), want 2", v, err)
	}
	snap, err := e1.db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	for i := 2; i < 4; i++ {
		for _, op := range []uint32{viewMetaTable, planner.MaterializeTable} {
			it := snap.Scan(partStateID(viewID, i), op, nil, nil)
			_, _, ok, err := it.Next()
			it.Close()
			if err != nil || ok {
				t.Errorf("engine 1 still holds state of part %d (table %d), held by engine 2 now (err %v)", i, op, err)
			}
		}
	}
}
