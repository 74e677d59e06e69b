package cluster

import "slices"

// Live returns the nodes the last Step judged live, this node included,
// sorted (SHOW CLUSTER, streamsql_cluster_nodes, peers to flush).
func (b *Balancer) Live() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.members) == 0 {
		return []string{b.me}
	}
	return slices.Clone(b.members)
}
