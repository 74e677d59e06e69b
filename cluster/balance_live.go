package cluster

import "slices"

// Live returns the nodes the last Step judged live, this node included,
// sorted (SHOW CLUSTER, streamsql_cluster_nodes).
func (b *Balancer) Live() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.live))
	for id := range b.live {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
