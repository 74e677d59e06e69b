package cluster

import (
	"context"
	"fmt"
	"strconv"

	"github.com/streamsql/streamsql/engine"
)

var _ engine.ClusterStatus = (*Member)(nil)

// ClusterNodes implements engine.ClusterStatus: every node item, with
// liveness as this node's balancer judges it and the figures each node
// publishes in its heartbeat.
func (m *Member) ClusterNodes(ctx context.Context) ([]engine.ClusterNode, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	nodes, err := m.table.Nodes(cctx)
	if err != nil {
		return nil, fmt.Errorf("SHOW CLUSTER: %w", err)
	}
	leases, err := m.table.Leases(cctx, "")
	if err != nil {
		return nil, fmt.Errorf("SHOW CLUSTER: %w", err)
	}
	held := map[string]int{}
	for _, l := range leases {
		if l.Owner != "" {
			held[l.Owner]++
		}
	}
	live := map[string]bool{}
	for _, id := range m.bal.Live() {
		live[id] = true
	}
	out := make([]engine.ClusterNode, 0, len(nodes))
	for _, n := range nodes {
		row := engine.ClusterNode{ID: n.ID, Addr: n.Addr, Alive: live[n.ID] || n.ID == m.id, Leases: held[n.ID]}
		row.Fenced, _ = strconv.ParseInt(n.Info["fenced"], 10, 64)
		row.Restores, _ = strconv.ParseInt(n.Info["restores"], 10, 64)
		row.LastEpoch, _ = strconv.ParseUint(n.Info["last_epoch"], 10, 64)
		if lag, err := strconv.ParseInt(n.Info["lag_ms"], 10, 64); err == nil && row.Alive {
			row.LagMillis, row.HasLag = lag, true // a gone node's last figure says nothing now
		}
		out = append(out, row)
	}
	return out, nil
}

// ClusterLeases implements engine.ClusterStatus: every lease item.
func (m *Member) ClusterLeases(ctx context.Context) ([]engine.ClusterLease, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	leases, err := m.table.Leases(cctx, "")
	if err != nil {
		return nil, fmt.Errorf("SHOW CLUSTER LEASES: %w", err)
	}
	out := make([]engine.ClusterLease, len(leases))
	for i, l := range leases {
		out[i] = engine.ClusterLease{Group: l.Group, Key: l.Key, Owner: l.Owner, Counter: l.Counter,
			Epoch: l.Epoch, Moves: l.Moves, Handoff: l.Handoff}
	}
	return out, nil
}
