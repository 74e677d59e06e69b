package cluster

import (
	"context"
	"fmt"
	"time"
)

// Garbage collection of the state store (docs/cluster.md section 5): the
// leader (the live node with the smallest id) deletes, every SweepEvery,
// the epoch objects and bases no lease's checkpoint references any more
// (runs cut by a compaction, parts of dropped views, commits that were
// fenced or failed). Only objects older than sweepAge go: an object
// written since may belong to a commit or a compaction still under way,
// whose lease item does not name it yet.

// DefaultSweepEvery is Options.SweepEvery's default.
const DefaultSweepEvery = 10 * time.Minute

// minSweepAge is the least age of an object a sweep deletes.
const minSweepAge = 10 * time.Minute

// sweepTimeout bounds one sweep.
const sweepTimeout = 5 * time.Minute

// sweepAge is how old an unreferenced object must be to be swept: two
// lease durations or minSweepAge, whichever is longer.
func (m *Member) sweepAge() time.Duration { return max(2*m.dur, minSweepAge) }

// maybeSweepLocked starts a sweep when this node is the leader and the
// last one is SweepEvery ago; m.mu is held.
func (m *Member) maybeSweepLocked(live []string) {
	now := m.clock.Now()
	if m.sweeping || len(live) == 0 || live[0] != m.id || now.Sub(m.lastSweep) < m.sweepEvery ||
		m.life == nil || m.life.Err() != nil {
		return
	}
	m.sweeping, m.lastSweep = true, now
	m.compactions.Add(1)
	go func() {
		defer m.compactions.Done()
		ctx, cancel := context.WithTimeout(m.life, sweepTimeout)
		defer cancel()
		n, err := m.sweep(ctx, now.Add(-m.sweepAge()))
		m.mu.Lock()
		m.sweeping = false
		m.mu.Unlock()
		if n > 0 {
			m.metrics.swept.Add(float64(n))
		}
		if err != nil {
			if ctx.Err() == nil || n > 0 {
				m.warnf("sweep", "sweep of the state store failed; retried at the next one", "err", err, "deleted", n)
			}
			return
		}
		m.log.Info("swept the state store", "deleted", n, "older_than", now.Add(-m.sweepAge()))
	}()
}

// sweep deletes the objects older than olderThan that no lease references,
// the leases read after olderThan (Store.Sweep's condition).
func (m *Member) sweep(ctx context.Context, olderThan time.Time) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	leases, err := m.table.Leases(cctx, "")
	cancel()
	if err != nil {
		return 0, fmt.Errorf("read the leases: %w", err)
	}
	keep := make([]Location, 0, len(leases))
	for _, l := range leases {
		loc, err := decodeCheckpoint(l)
		if err != nil {
			// What it references is unknown: delete nothing.
			return 0, err
		}
		keep = append(keep, loc)
	}
	m.mu.Lock()
	for _, h := range m.held {
		if h.base != nil {
			keep = append(keep, *h.base) // written, not yet adopted
		}
	}
	m.mu.Unlock()
	m.metrics.call("s3", "sweep")
	return m.store.Sweep(ctx, keep, olderThan)
}

// baseFresh says whether h's compacted base, not yet adopted, may still
// be adopted by a commit: a sweep deletes it once it is sweepAge old, so a
// part that did not commit for half of that compacts again instead.
func (m *Member) baseFresh(h heldPart) bool {
	return h.base != nil && m.clock.Now().Sub(h.baseAt) < m.sweepAge()/2
}
