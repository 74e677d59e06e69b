package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/streamsql/streamsql/engine"
)

// Options configures Join: where the cluster's table and state store are,
// and who this node is to its peers.
type Options struct {
	// Table is the DynamoDB table of leases and the catalog (--cluster).
	Table string
	// StateURL is s3://bucket/prefix (--state-store).
	StateURL string
	// NodeID names this node in the table; it must be unique in the
	// cluster (--node-id).
	NodeID string
	// Advertise is the pgwire address peers reach this node at.
	Advertise string
	// LeaseDuration is how long a node's beat must stay the same before
	// others take its leases (default 10s). Heartbeats and balancing run
	// every fifth of it.
	LeaseDuration time.Duration
	// DynamoEndpoint and S3Endpoint override the services' endpoints
	// (emulators on loopback); Region defaults to us-east-1.
	DynamoEndpoint, S3Endpoint, Region string
	// AccessKeyID and SecretAccessKey are static credentials for both
	// services; both empty: the AWS SDK's default chain.
	AccessKeyID, SecretAccessKey string
	// Secret authenticates peers' internal statements (--cluster-secret);
	// empty: they are answered like any client's statements.
	Secret string
	// PeerPassword is the pgwire password of every node (serve
	// --password), which a peer connection must give.
	PeerPassword string
	// Log receives the member's lines; slog.Default when nil.
	Log *slog.Logger
	// SweepEvery is how often the leader deletes the state store's
	// objects no lease references (sweep.go); DefaultSweepEvery when 0.
	SweepEvery time.Duration
}

// DefaultLeaseDuration is --lease-duration's default.
const DefaultLeaseDuration = 10 * time.Second

// callTimeout bounds each DynamoDB call of the member's loop and each
// peer call's connection.
const callTimeout = 10 * time.Second

// Member is this process's membership of a cluster: it heartbeats, runs
// the balancer, and implements the engine's Membership, Restorer,
// Committer (this file), CatalogLog (Catalog) and Peers (Peers) over the
// lease table and the state store (docs/cluster.md sections 2, 5, 8).
type Member struct {
	id, incarnation string
	addr            string
	dur             time.Duration
	secret          string
	log             *slog.Logger
	clock           Clock

	table   LeaseTable
	store   *Store
	bal     *Balancer
	catalog *Catalog
	peers   *Peers
	metrics *memberMetrics
	warn    *logLimiter

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	// life ends at Close; compactions run under it.
	life        context.Context
	endLife     context.CancelFunc
	compactions sync.WaitGroup

	mu       sync.Mutex
	held     map[string]*heldPart // by lease id
	changed  chan struct{}        // closed at the next change of held
	lastBeat time.Time            // last successful heartbeat (monotonic)
	fenced   int64
	restores int64
	epoch    uint64 // the last epoch this node committed
	closed   bool
	// sweepEvery, lastSweep and sweeping pace the leader's sweeps of the
	// state store (sweep.go).
	sweepEvery time.Duration
	lastSweep  time.Time
	sweeping   bool
}

// heldPart is a lease this node holds and what it has committed of it.
type heldPart struct {
	part  engine.PartID
	lease Lease    // as taken: the counter is the fencing token
	taken uint64   // the committed epoch at the take
	epoch uint64   // the committed epoch now
	loc   Location // where the committed state is in the store
	// compacting: a compaction of the part is under way; base is its
	// result, adopted by the part's next commit (compact.go).
	compacting bool
	base       *Location
	baseAt     time.Time // when the compaction that wrote base started
}

// checkpoint is what the member keeps in a lease's checkpoint: where the
// part's committed state is. The part's source positions are in its
// state, so the location is all a new owner needs.
type checkpoint struct {
	Loc Location `json:"loc"`
}

func decodeCheckpoint(l Lease) (Location, error) {
	if len(l.Checkpoint) == 0 {
		if l.Epoch != 0 {
			return Location{}, fmt.Errorf("lease %s committed epoch %d but has no checkpoint", l.ID(), l.Epoch)
		}
		return Location{}, nil
	}
	var cp checkpoint
	if err := json.Unmarshal(l.Checkpoint, &cp); err != nil {
		return Location{}, fmt.Errorf("lease %s: checkpoint: %w", l.ID(), err)
	}
	return cp.Loc, nil
}

// partition is the part's name in the state store.
func partition(p engine.PartID) string { return p.Group + "/" + p.Key() }

// Join opens the cluster's DynamoDB table (creating it when missing) and
// state store, heartbeats once, and starts the member's loop. The engine
// is then opened with Config.Cluster = m.EngineConfig().
func Join(ctx context.Context, opts Options) (*Member, error) {
	if opts.Table == "" || opts.StateURL == "" {
		return nil, errors.New("cluster: a table and a state store are both required")
	}
	region := opts.Region
	if region == "" {
		region = "us-east-1"
	}
	d, err := OpenDynamo(ctx, DynamoConfig{Table: opts.Table, Endpoint: opts.DynamoEndpoint, Region: region,
		AccessKeyID: opts.AccessKeyID, SecretAccessKey: opts.SecretAccessKey})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	st, err := OpenStore(ctx, StoreOptions{URL: opts.StateURL, Endpoint: opts.S3Endpoint, Region: region,
		AccessKeyID: opts.AccessKeyID, SecretAccessKey: opts.SecretAccessKey})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	m, err := newMember(ctx, opts, d, d, st, SystemClock)
	if err != nil {
		return nil, err
	}
	m.start()
	m.log.Info("joined the cluster", "table", opts.Table, "lease_duration", m.dur, "advertise", m.addr)
	return m, nil
}

// newMember is Join over given services (tests give in-memory ones).
func newMember(ctx context.Context, opts Options, table LeaseTable, log CatalogLog, store *Store, clock Clock) (*Member, error) {
	if opts.NodeID == "" {
		return nil, errors.New("cluster: empty node id")
	}
	if err := checkSegment("node id", opts.NodeID); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if opts.LeaseDuration == 0 {
		opts.LeaseDuration = DefaultLeaseDuration
	}
	if opts.LeaseDuration < 100*time.Millisecond {
		return nil, fmt.Errorf("cluster: lease duration %v is too short (at least 100ms)", opts.LeaseDuration)
	}
	lg := opts.Log
	if lg == nil {
		lg = slog.Default()
	}
	var inc [6]byte
	if _, err := rand.Read(inc[:]); err != nil {
		return nil, fmt.Errorf("cluster: incarnation: %w", err)
	}
	met := newMemberMetrics()
	m := &Member{
		id: opts.NodeID, incarnation: hex.EncodeToString(inc[:]), addr: opts.Advertise,
		dur: opts.LeaseDuration, secret: opts.Secret, clock: clock,
		log:        lg.With("node", opts.NodeID),
		table:      countingTable{t: table, m: met},
		store:      store,
		metrics:    met,
		warn:       newLogLimiter(time.Minute),
		kick:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		held:       map[string]*heldPart{},
		changed:    make(chan struct{}),
		sweepEvery: opts.SweepEvery,
		lastSweep:  clock.Now(),
	}
	if m.sweepEvery <= 0 {
		m.sweepEvery = DefaultSweepEvery
	}
	m.log = m.log.With("incarnation", m.incarnation)
	var err error
	if m.bal, err = NewBalancer(m.table, m.id, clock, m.dur); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	m.catalog = newCatalog(countingCatalog{c: log, m: met}, m.log)
	m.peers = newPeers(m, opts.PeerPassword)
	// The first heartbeat is synchronous: a node that cannot reach the
	// table fails to start, with the table's error, rather than starting
	// as a member nobody sees.
	if err := m.heartbeat(ctx); err != nil {
		return nil, fmt.Errorf("cluster: first heartbeat in table %s: %w", opts.Table, err)
	}
	m.life, m.endLife = context.WithCancel(context.Background())
	return m, nil
}

// start runs the member's loop until Close.
func (m *Member) start() {
	lctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go m.loop(lctx)
}

// ID is this node's id; Incarnation is this start's random id.
func (m *Member) ID() string          { return m.id }
func (m *Member) Incarnation() string { return m.incarnation }

// EngineConfig is the engine's side of the membership (Config.Cluster).
func (m *Member) EngineConfig() *engine.ClusterConfig {
	return &engine.ClusterConfig{Membership: m, Restorer: m, Committer: m, Catalog: m.catalog, Peers: m.peers, Status: m, Gate: m}
}

var (
	_ engine.Membership = (*Member)(nil)
	_ engine.Restorer   = (*Member)(nil)
	_ engine.Committer  = (*Member)(nil)
)

// loop heartbeats and balances every fifth of a lease duration, each on
// its own goroutine so that a slow read of the lease table never delays
// a beat; it balances at once when kicked (Ensure made leases).
func (m *Member) loop(ctx context.Context) {
	defer close(m.done)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(m.dur / 5)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			m.beat(ctx)
		}
	}()
	t := time.NewTicker(m.dur / 5)
	defer t.Stop()
	for {
		m.balance(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		case <-m.kick:
		}
	}
}

// step is one tick of both loops, for tests that drive the member by
// hand.
func (m *Member) step(ctx context.Context) {
	m.beat(ctx)
	m.balance(ctx)
}

func (m *Member) beat(ctx context.Context) {
	if err := m.heartbeat(ctx); err != nil && ctx.Err() == nil {
		m.warnf("heartbeat", "heartbeat failed; peers take this node's leases if none succeeds for a lease duration",
			"err", err, "since_last_success", m.clock.Now().Sub(m.lastBeatAt()))
	}
}

// balance is one balancer step and its effect on the held set.
func (m *Member) balance(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	taken, lost, err := m.bal.Step(cctx)
	cancel()
	if err != nil && ctx.Err() == nil {
		m.warnf("balance", "balancing step failed", "err", err)
	}
	live := m.bal.Live()
	m.metrics.nodes.Set(float64(len(live)))
	m.apply(taken, lost)
	m.mu.Lock()
	m.maybeSweepLocked(live)
	m.mu.Unlock()
}

func (m *Member) heartbeat(ctx context.Context) error {
	// The engine's figures, read before m.mu: the engine calls the member
	// under its own locks.
	lag := ""
	if l := m.peers.localParts(); l != nil {
		ms := l.ClusterStats().LagMillis
		lag = strconv.FormatInt(ms, 10)
		m.metrics.lag.WithLabelValues(m.id).Set(float64(ms))
	}
	m.mu.Lock()
	info := map[string]string{
		"inc":        m.incarnation,
		"held":       strconv.Itoa(len(m.held)),
		"fenced":     strconv.FormatInt(m.fenced, 10),
		"restores":   strconv.FormatInt(m.restores, 10),
		"last_epoch": strconv.FormatUint(m.epoch, 10),
	}
	if lag != "" {
		info["lag_ms"] = lag
	}
	m.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	start := m.clock.Now()
	if err := m.table.Heartbeat(cctx, Node{ID: m.id, Addr: m.addr, Info: info}); err != nil {
		return err
	}
	m.mu.Lock()
	// The beat's start, not its end: a taker's clock starts when it
	// first sees the beat, which is after the write began.
	if start.After(m.lastBeat) {
		m.lastBeat = start
	}
	m.mu.Unlock()
	return nil
}

func (m *Member) lastBeatAt() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastBeat
}

// Serving says whether this node may answer for its parts: only while
// its last successful heartbeat is less than a lease duration old, since
// no other node can have taken its leases before then (docs/cluster.md
// section 7).
func (m *Member) Serving() error {
	since := m.clock.Now().Sub(m.lastBeatAt())
	if since >= m.dur {
		return fmt.Errorf("node %s: no heartbeat succeeded for %v (lease duration %v): its parts may have moved", m.id, since.Round(time.Millisecond), m.dur)
	}
	return nil
}

// apply brings the held set up to date with a balancer step and tells
// the engine when it changed.
func (m *Member) apply(taken, lost []Lease) {
	if len(taken) == 0 && len(lost) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	change := false
	for _, l := range lost {
		if h, ok := m.held[l.ID()]; ok && h.lease.Counter == l.Counter {
			delete(m.held, l.ID())
			change = true
			m.log.Info("lost a lease to another node", "lease", l.ID())
		}
	}
	for _, l := range taken {
		part, err := engine.ParsePart(l.Group, l.Key)
		if err != nil {
			m.warnf("lease "+l.ID(), "took a lease that names no part; releasing it", "err", err)
			go m.releaseQuietly(l)
			continue
		}
		loc, err := decodeCheckpoint(l)
		if err != nil {
			m.warnf("lease "+l.ID(), "took a lease with a checkpoint that does not decode; releasing it", "err", err)
			go m.releaseQuietly(l)
			continue
		}
		m.held[l.ID()] = &heldPart{part: part, lease: l, taken: l.Epoch, epoch: l.Epoch, loc: loc}
		m.metrics.moves.Inc()
		change = true
		m.log.Info("took a lease", "lease", l.ID(), "counter", l.Counter, "epoch", l.Epoch)
	}
	if change {
		m.publishLocked()
	}
}

func (m *Member) releaseQuietly(l Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := m.bal.Release(ctx, l, ""); err != nil {
		m.warnf("lease "+l.ID(), "release failed", "err", err)
	}
}

// publishLocked closes the change channel; m.mu is held.
func (m *Member) publishLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
	groups := map[string]int{}
	for _, h := range m.held {
		groups[h.part.Group]++
	}
	m.metrics.setHeld(groups)
}

// Ensure implements engine.Membership: the leases of an object's parts
// exist afterwards; the balancer is kicked so that they are taken soon.
func (m *Member) Ensure(ctx context.Context, group string, parts int) error {
	if parts < 1 {
		return fmt.Errorf("cluster: ensure %s: %d parts", group, parts)
	}
	for r := range parts {
		key := engine.PartID{Group: group, Index: r, Count: parts}.Key()
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := m.table.Ensure(cctx, group, key)
		cancel()
		if err != nil {
			return fmt.Errorf("cluster: ensure lease %s#%s: %w", group, key, err)
		}
	}
	select {
	case m.kick <- struct{}{}:
	default:
	}
	return nil
}

// Drop implements engine.Membership: the leases of group (a dropped
// object) are deleted, and its parts leave the held set.
func (m *Member) Drop(ctx context.Context, group string) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	leases, err := m.table.Leases(cctx, group)
	if err != nil {
		return fmt.Errorf("cluster: drop the leases of %s: %w", group, err)
	}
	for _, l := range leases {
		if err := m.table.Drop(cctx, l.Group, l.Key); err != nil {
			return fmt.Errorf("cluster: drop lease %s: %w", l.ID(), err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	change := false
	for id, h := range m.held {
		if h.part.Group == group {
			delete(m.held, id)
			change = true
		}
	}
	if change {
		m.publishLocked()
	}
	return nil
}

// Held implements engine.Membership.
func (m *Member) Held() ([]engine.HeldPart, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]engine.HeldPart, 0, len(m.held))
	for _, h := range m.held {
		out = append(out, engine.HeldPart{Part: h.part, Epoch: h.taken, Token: h.lease.Counter})
	}
	slices.SortFunc(out, func(a, b engine.HeldPart) int {
		if c := compareStrings(a.Part.Group, b.Part.Group); c != 0 {
			return c
		}
		return a.Part.Index - b.Part.Index
	})
	return out, m.changed
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (m *Member) heldOf(p engine.PartID) (heldPart, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.held[Lease{Group: p.Group, Key: p.Key()}.ID()]
	if !ok {
		return heldPart{}, false
	}
	return *h, true
}

// Restore implements engine.Restorer: the part's committed state, read
// from the state store at the location its lease's checkpoint names.
func (m *Member) Restore(ctx context.Context, part engine.PartID, apply func(key, val []byte, del bool) error) error {
	h, ok := m.heldOf(part)
	if !ok {
		return fmt.Errorf("cluster: restore %s: this node does not hold its lease", part)
	}
	if h.epoch == 0 {
		return nil
	}
	start := m.clock.Now()
	m.metrics.call("s3", "restore")
	err := m.store.Restore(ctx, h.loc, partition(part), h.epoch, func(w Write) error {
		return apply(w.Key, w.Value, w.Delete)
	})
	if err != nil {
		return fmt.Errorf("cluster: restore %s at epoch %d: %w", part, h.epoch, err)
	}
	m.metrics.restoreSeconds.Observe(m.clock.Now().Sub(start).Seconds())
	m.mu.Lock()
	m.restores++
	m.mu.Unlock()
	m.log.Info("restored a part from the state store", "part", part.String(), "epoch", h.epoch, "took", m.clock.Now().Sub(start))
	return nil
}

// Commit implements engine.Committer: one epoch object with every part's
// writes, then one conditional commit per part. A part not held, or held
// under another take than the one its writes were made for
// (PartWrites.Token), is fenced at once, and its writes left out. A part
// whose commit is fenced is dropped from the held set and returned; any
// other error of S3 or DynamoDB is returned as it is (the engine commits nothing and tries
// again with the next epoch, whose writes include this one's, so a commit
// that did land in DynamoDB is superseded, not lost). After a part's
// successful commit, a hand-off the balancer asks for is done.
func (m *Member) Commit(ctx context.Context, epoch uint64, parts []engine.PartWrites) (fenced []engine.PartID, err error) {
	type job struct {
		pw engine.PartWrites
		h  heldPart
	}
	jobs := make([]job, 0, len(parts))
	writes := make(map[string][]Write, len(parts))
	m.mu.Lock()
	for _, pw := range parts {
		h, ok := m.held[Lease{Group: pw.Part.Group, Key: pw.Part.Key()}.ID()]
		if !ok || h.lease.Counter != pw.Token {
			// Lost before this commit (a step saw another owner), or lost
			// and taken back since the writes' run started (their state
			// is not the one the new take restored): fenced without
			// asking DynamoDB, and the writes stay out of the object.
			fenced = append(fenced, pw.Part)
			m.fenced++
			m.metrics.fenced.Inc()
			if ok {
				m.log.Warn("commit fenced: the part's run started under an earlier take of its lease; it stops here",
					"part", pw.Part.String(), "epoch", epoch, "run_token", pw.Token, "lease_counter", h.lease.Counter)
			}
			continue
		}
		jobs = append(jobs, job{pw: pw, h: *h})
		ws := make([]Write, len(pw.Writes))
		for i, w := range pw.Writes {
			ws[i] = Write{Key: w.Key, Value: w.Val, Delete: w.Del}
		}
		writes[partition(pw.Part)] = ws
	}
	m.mu.Unlock()
	if len(jobs) == 0 {
		return fenced, nil
	}
	m.metrics.call("s3", "put_epoch")
	if _, err := m.store.PutEpoch(ctx, m.id, m.incarnation, epoch, writes); err != nil {
		return fenced, fmt.Errorf("cluster: commit epoch %d: %w", epoch, err)
	}
	var handoffs []heldPart
	for _, j := range jobs {
		prev := j.h.loc
		if b := j.h.base; b != nil && b.BaseEpoch >= prev.BaseEpoch && m.baseFresh(j.h) {
			prev = rebase(prev, *b)
		}
		loc := Extend(prev, m.id, m.incarnation, epoch)
		cp, err := json.Marshal(checkpoint{Loc: loc})
		if err != nil {
			return fenced, fmt.Errorf("cluster: commit epoch %d of %s: %w", epoch, j.pw.Part, err)
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err = m.table.Commit(cctx, j.h.lease, m.id, epoch, cp)
		cancel()
		if errors.Is(err, ErrFenced) {
			m.bal.Fenced(j.h.lease)
			m.mu.Lock()
			if h, ok := m.held[j.h.lease.ID()]; ok && h.lease.Counter == j.h.lease.Counter {
				delete(m.held, j.h.lease.ID())
				m.publishLocked()
			}
			m.fenced++
			m.mu.Unlock()
			if j.h.base != nil {
				m.deleteBase(*j.h.base)
			}
			m.metrics.fenced.Inc()
			m.log.Warn("commit fenced: another node holds the lease now; the part stops here", "part", j.pw.Part.String(), "epoch", epoch)
			fenced = append(fenced, j.pw.Part)
			continue
		}
		if err != nil {
			return fenced, fmt.Errorf("cluster: commit epoch %d: %w", epoch, err)
		}
		var oldBase Location
		m.mu.Lock()
		if h, ok := m.held[j.h.lease.ID()]; ok && h.lease.Counter == j.h.lease.Counter {
			if h.base != nil && loc.Base == h.base.Base && h.loc.Base != loc.Base {
				oldBase, h.base = h.loc, nil
			} else if h.base != nil && !m.baseFresh(*h) {
				h.base = nil // left to the sweep; the part compacts again
			}
			h.loc, h.epoch = loc, epoch
			if epoch > m.epoch {
				m.epoch = epoch
			}
			m.maybeCompactLocked(h)
			if _, ok := m.bal.ShouldRelease(h.lease); ok {
				handoffs = append(handoffs, *h)
			}
		}
		m.mu.Unlock()
		m.deleteBase(oldBase)
	}
	for _, h := range handoffs {
		m.handoff(ctx, h)
	}
	return fenced, nil
}

// handoff releases a just-committed lease to the node that asked for it.
// The engine has this epoch's commit to finish locally; the part stops
// when Held changes, and the new owner restores from what was committed.
func (m *Member) handoff(ctx context.Context, h heldPart) {
	to, ok := m.bal.ShouldRelease(h.lease)
	if !ok {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	err := m.bal.Release(cctx, h.lease, to)
	cancel()
	if err != nil && !errors.Is(err, ErrFenced) {
		m.warnf("handoff "+h.lease.ID(), "hand-off failed; the asker takes the lease after a lease duration", "err", err)
		return
	}
	m.mu.Lock()
	if cur, ok := m.held[h.lease.ID()]; ok && cur.lease.Counter == h.lease.Counter {
		delete(m.held, h.lease.ID())
		m.publishLocked()
	}
	m.mu.Unlock()
	m.log.Info("handed a lease off", "lease", h.lease.ID(), "to", to, "epoch", h.epoch)
}

// Close leaves the cluster: it stops heartbeating and balancing, releases
// every held lease (the next owner replays from its last commit) and
// deletes the node's item. The engine must be closed first, so that
// nothing commits after the release.
func (m *Member) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	if m.cancel != nil {
		m.cancel()
		<-m.done
	}
	m.endLife()
	m.compactions.Wait()
	var errs []error
	m.mu.Lock()
	held := make([]heldPart, 0, len(m.held))
	for _, h := range m.held {
		held = append(held, *h)
	}
	m.mu.Unlock()
	for _, h := range held {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := m.bal.Release(cctx, h.lease, "")
		cancel()
		if err != nil && !errors.Is(err, ErrFenced) {
			errs = append(errs, err)
		}
	}
	m.mu.Lock()
	clear(m.held)
	m.publishLocked()
	m.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	if err := m.table.Leave(cctx, m.id); err != nil {
		errs = append(errs, err)
	}
	cancel()
	m.peers.close()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	m.log.Info("left the cluster", "released", len(held))
	return nil
}

// warnf logs a warning at most once a minute per topic, with how many
// were suppressed in between.
func (m *Member) warnf(topic, msg string, args ...any) {
	if n, ok := m.warn.allow(topic, m.clock.Now()); ok {
		if n > 0 {
			args = append(args, "suppressed", n)
		}
		m.log.Warn(msg, args...)
	}
}

// logLimiter lets one line per topic through per period.
type logLimiter struct {
	period time.Duration
	mu     sync.Mutex
	last   map[string]time.Time
	count  map[string]int
}

func newLogLimiter(period time.Duration) *logLimiter {
	return &logLimiter{period: period, last: map[string]time.Time{}, count: map[string]int{}}
}

// allow reports whether topic may log now, and how many lines of it were
// suppressed since the last one.
func (l *logLimiter) allow(topic string, now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, seen := l.last[topic]; seen && now.Sub(last) < l.period {
		l.count[topic]++
		return 0, false
	}
	l.last[topic] = now
	n := l.count[topic]
	delete(l.count, topic)
	return n, true
}
