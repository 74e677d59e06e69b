package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamsql/streamsql/engine"
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// peerCallTimeout bounds one peer call (a scan of a part, a flush) when
// the caller's context has no earlier deadline.
const peerCallTimeout = 60 * time.Second

// peerUser is the user name peer connections give.
const peerUser = "streamsql-peer"

// Peers is the engine's Peers over our own pgwire (docs/cluster.md section
// 7): a part's owner comes from its lease item and the owner's address
// from its node item, both cached and read again when a peer answers that
// the part is not its own. pgx is the client: it is already the module's
// Postgres client and speaks the extended protocol with binary bytea.
type Peers struct {
	m        *Member
	password string

	mu     sync.Mutex
	owners map[string]string      // lease id -> owner node id
	addrs  map[string]string      // node id -> address
	idle   map[string][]*pgx.Conn // address -> connections to reuse
	local  LocalParts
}

// maxIdlePerPeer is how many connections to one peer are kept for reuse:
// a SELECT reads each remote part on a connection, and a connection with
// a password costs a SCRAM exchange on both nodes.
const maxIdlePerPeer = 4

var _ engine.Peers = (*Peers)(nil)

func newPeers(m *Member, password string) *Peers {
	return &Peers{m: m, password: password, owners: map[string]string{}, addrs: map[string]string{},
		idle: map[string][]*pgx.Conn{}}
}

// close closes the idle connections.
func (p *Peers) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = map[string][]*pgx.Conn{}
	p.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = c.Close(ctx)
			cancel()
		}
	}
}

// release keeps c for reuse when the call on it succeeded, else closes it.
func (p *Peers) release(addr string, c *pgx.Conn, ok bool) {
	if ok && !c.IsClosed() {
		p.mu.Lock()
		if len(p.idle[addr]) < maxIdlePerPeer {
			p.idle[addr] = append(p.idle[addr], c)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// token signs op with the cluster secret; empty without one.
func token(secret, op string) string {
	if secret == "" {
		return ""
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(op))
	return hex.EncodeToString(mac.Sum(nil))
}

// CheckPeer implements engine.PeerGate: with a cluster secret, the token
// must be op signed with it; a scan is answered only while this node may
// answer for its parts (Member.Serving).
func (m *Member) CheckPeer(op, tok string) error {
	if m.secret != "" && !hmac.Equal([]byte(tok), []byte(token(m.secret, op))) {
		return engine.ErrPeerToken
	}
	if op != engine.PeerFlushOp {
		return m.Serving()
	}
	return nil
}

var _ engine.PeerGate = (*Member)(nil)

// refresh reads the owners of group's leases and every node's address.
func (p *Peers) refresh(ctx context.Context, group string) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	leases, err := p.m.table.Leases(cctx, group)
	if err != nil {
		return err
	}
	nodes, err := p.m.table.Nodes(cctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range leases {
		p.owners[l.ID()] = l.Owner
	}
	for _, n := range nodes {
		p.addrs[n.ID] = n.Addr
	}
	return nil
}

// owner returns the node holding part and its address, from the cache
// unless fresh.
func (p *Peers) owner(ctx context.Context, part engine.PartID, fresh bool) (node, addr string, err error) {
	id := Lease{Group: part.Group, Key: part.Key()}.ID()
	p.mu.Lock()
	node, addr = p.owners[id], p.addrs[p.owners[id]]
	p.mu.Unlock()
	if fresh || node == "" || addr == "" {
		if err := p.refresh(ctx, part.Group); err != nil {
			return "", "", fmt.Errorf("find the owner of part %s: %w", part, err)
		}
		p.mu.Lock()
		node, addr = p.owners[id], p.addrs[p.owners[id]]
		p.mu.Unlock()
	}
	switch {
	case node == "":
		return "", "", fmt.Errorf("part %s has no owner at the moment (its lease is free or moving)", part)
	case addr == "":
		return "", "", fmt.Errorf("part %s: its owner %s has no address in the lease table", part, node)
	}
	return node, addr, nil
}

// connect returns an idle connection to a peer (reused) unless fresh, or
// opens one, bounded.
func (p *Peers) connect(ctx context.Context, node, addr string, fresh bool) (c *pgx.Conn, reused bool, err error) {
	if !fresh {
		p.mu.Lock()
		if cs := p.idle[addr]; len(cs) > 0 {
			c := cs[len(cs)-1]
			p.idle[addr] = cs[:len(cs)-1]
			p.mu.Unlock()
			return c, true, nil
		}
		p.mu.Unlock()
	}
	c, err = p.dial(ctx, node, addr)
	return c, false, err
}

// stale says whether a call on a reused connection failed without an
// answer from the peer (it restarted or dropped the connection
// meanwhile): the call is worth one more try on a new connection.
func stale(reused bool, err error) bool {
	var pe *pgconn.PgError
	return reused && err != nil && !errors.As(err, &pe)
}

// dial opens a connection to a peer, bounded.
func (p *Peers) dial(ctx context.Context, node, addr string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("postgres://" + addr + "/streamsql?sslmode=disable")
	if err != nil {
		return nil, fmt.Errorf("peer %s at %s: %w", node, addr, err)
	}
	cfg.User, cfg.Password = peerUser, p.password
	cfg.ConnectTimeout = callTimeout
	p.m.metrics.call("peer", "connect")
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to peer %s at %s: %w", node, addr, err)
	}
	return c, nil
}

func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, peerCallTimeout)
}

// LocalParts reads the parts this node runs: the engine
// (Engine.ScanLocalPart), given to the member once it is open. Its
// ClusterStats are what the node publishes with its heartbeat (the lag).
type LocalParts interface {
	ScanLocalPart(ctx context.Context, part engine.PartID, fn func(key, val []byte) error) error
	ClusterStats() engine.ClusterStats
}

// SetLocal gives the member the engine's local reads, for scans of parts
// that moved to this node while a statement started.
func (m *Member) SetLocal(l LocalParts) {
	m.peers.mu.Lock()
	m.peers.local = l
	m.peers.mu.Unlock()
}

func (p *Peers) localParts() LocalParts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.local
}

// notRunningHere says whether the local engine refused a scan because
// the part does not run here (yet): 55000.
func notRunningHere(err error) bool {
	var se *sqlerr.Error
	return errors.As(err, &se) && se.Code == sqlerr.ObjectNotInPrerequisiteState
}

// notMine says whether a peer refused a scan because the part does not
// run there (any more, or yet): 55000, or the gate's refusal.
func notMine(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "55000" || pe.Code == "57P03")
}

// unreachable says whether a peer could not be connected to at all: the
// owner this node remembers may be gone (killed), and the lease item may
// name its successor already.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// ScanPart implements engine.Peers. When the owner answers that the part
// does not run there (it moved, or its new owner is still restoring it),
// or cannot be reached (it died), before any row was delivered, the owner
// is looked up again and asked again, with a growing pause, for up to two
// lease durations: the time a move takes.
func (p *Peers) ScanPart(ctx context.Context, part engine.PartID, fn func(key, val []byte) error) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	deadline := p.m.clock.Now().Add(max(2*p.m.dur, 5*time.Second))
	pause := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		node, addr, err := p.owner(ctx, part, attempt > 0)
		if err != nil {
			return err
		}
		if node == p.m.id {
			// Moved here while the statement started: read it here once
			// it runs (the engine is asked as any peer would be).
			err = fmt.Errorf("scan part %s: this node owns it but does not run it yet", part)
			if local := p.localParts(); local != nil {
				delivered := false
				err = local.ScanLocalPart(ctx, part, func(k, v []byte) error {
					delivered = true
					return fn(k, v)
				})
				if err == nil || delivered || !notRunningHere(err) {
					return err
				}
			}
		} else {
			var delivered bool
			if delivered, err = p.scanAt(ctx, node, addr, part, fn); err == nil || delivered || !notMine(err) && !unreachable(err) {
				return err
			}
		}
		if p.m.clock.Now().Add(pause).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

func (p *Peers) scanAt(ctx context.Context, node, addr string, part engine.PartID, fn func(key, val []byte) error) (delivered bool, err error) {
	delivered, reused, err := p.scanOn(ctx, node, addr, part, fn, false)
	if !delivered && stale(reused, err) {
		delivered, _, err = p.scanOn(ctx, node, addr, part, fn, true)
	}
	return delivered, err
}

func (p *Peers) scanOn(ctx context.Context, node, addr string, part engine.PartID, fn func(key, val []byte) error, fresh bool) (delivered, reused bool, err error) {
	fail := func(err error) error { return fmt.Errorf("scan part %s at peer %s (%s): %w", part, node, addr, err) }
	c, reused, err := p.connect(ctx, node, addr, fresh)
	if err != nil {
		return false, false, fmt.Errorf("scan part %s: %w", part, err)
	}
	defer func() { p.release(addr, c, err == nil) }()
	p.m.metrics.call("peer", "scan_part")
	rows, err := c.Query(ctx, engine.PeerScanStatement(part, token(p.m.secret, engine.PeerScanOp(part))))
	if err != nil {
		return false, reused, fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return delivered, reused, fail(err)
		}
		delivered = true
		if err := fn(k, v); err != nil {
			return true, reused, err
		}
	}
	if err := rows.Err(); err != nil {
		return delivered, reused, fail(err)
	}
	return delivered, reused, nil
}

// Flush implements engine.Peers: FLUSH LOCAL on every other live node, at
// once, waiting for all of them.
func (p *Peers) Flush(ctx context.Context) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	cctx, ccancel := context.WithTimeout(ctx, callTimeout)
	nodes, err := p.m.table.Nodes(cctx)
	ccancel()
	if err != nil {
		return fmt.Errorf("flush peers: list nodes: %w", err)
	}
	live := map[string]bool{}
	for _, id := range p.m.bal.Live() {
		live[id] = true
	}
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		if n.ID == p.m.id || !live[n.ID] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.flushAt(ctx, n.ID, n.Addr)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p *Peers) flushAt(ctx context.Context, node, addr string) error {
	if addr == "" {
		return fmt.Errorf("flush peer %s: it has no address in the lease table", node)
	}
	reused, err := p.flushOn(ctx, node, addr, false)
	if stale(reused, err) {
		_, err = p.flushOn(ctx, node, addr, true)
	}
	return err
}

func (p *Peers) flushOn(ctx context.Context, node, addr string, fresh bool) (reused bool, err error) {
	c, reused, err := p.connect(ctx, node, addr, fresh)
	if err != nil {
		return false, fmt.Errorf("flush: %w", err)
	}
	defer func() { p.release(addr, c, err == nil) }()
	p.m.metrics.call("peer", "flush")
	if _, err := c.Exec(ctx, engine.PeerFlushStatement(token(p.m.secret, engine.PeerFlushOp))); err != nil {
		return reused, fmt.Errorf("flush peer %s (%s): %w", node, addr, err)
	}
	return reused, nil
}
