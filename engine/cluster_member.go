package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Cluster membership: the interfaces the engine runs a cluster member
// through (docs/cluster.md sections 2, 5, 6, 7, 10). The engine declares
// them and never imports their implementation (package cluster: leases
// in DynamoDB, state in S3, peers over pgwire); tests implement them in
// memory. Without Config.Cluster none of this runs: one process, as
// before.
//
// The unit of work is a part: part Index of Count of a view or a sink (a
// lease of group "view/<name>" or "sink/<name>", key "<Index>/<Count>").
// A part of a view is an ordinary exactly-once view instance with its own
// state object id (partStateID) and its own committed positions, reading
// every shard of its sources and keeping the rows whose group key hashes
// to the part (planner.BuildOptions.Part). An epoch commits per part:
// Committer (the cluster's commit point), then local Badger, then
// anything visible.

// ClusterConfig makes an engine a cluster member (Config.Cluster). Every
// field is required but KeyGroupRanges.
type ClusterConfig struct {
	Membership Membership
	Restorer   Restorer
	Committer  Committer
	Catalog    CatalogLog
	Peers      Peers
	// KeyGroupRanges is how many parts a view split by key has
	// (DefaultKeyGroupRanges when zero, at most 256). Every node of a
	// cluster must say the same.
	KeyGroupRanges int
	// Status answers SHOW CLUSTER; nil: SHOW CLUSTER shows this node is
	// a member but nothing more (cluster_status.go).
	Status ClusterStatus
	// Gate checks peers' internal statements (cluster_peer.go); nil:
	// they are answered like any client's.
	Gate PeerGate
}

func (c *ClusterConfig) check() error {
	switch {
	case c.Membership == nil:
		return fmt.Errorf("Config.Cluster.Membership is required")
	case c.Restorer == nil:
		return fmt.Errorf("Config.Cluster.Restorer is required")
	case c.Committer == nil:
		return fmt.Errorf("Config.Cluster.Committer is required")
	case c.Catalog == nil:
		return fmt.Errorf("Config.Cluster.Catalog is required")
	case c.Peers == nil:
		return fmt.Errorf("Config.Cluster.Peers is required")
	}
	return nil
}

// PartID names one part of a view or a sink: one lease of the cluster.
type PartID struct {
	// Group is the lease group: "view/<name>" or "sink/<name>".
	Group string
	// Index is the part, 0 <= Index < Count.
	Index, Count int
}

// Key is the lease key within the group: "<Index>/<Count>".
func (p PartID) Key() string { return strconv.Itoa(p.Index) + "/" + strconv.Itoa(p.Count) }

func (p PartID) String() string { return p.Group + "#" + p.Key() }

// ParsePart reads a part back from its group and key.
func ParsePart(group, key string) (PartID, error) {
	i, n, ok := strings.Cut(key, "/")
	idx, err1 := strconv.Atoi(i)
	cnt, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || cnt < 1 || idx < 0 || idx >= cnt {
		return PartID{}, fmt.Errorf("part key %q of group %q: want <index>/<count>", key, group)
	}
	return PartID{Group: group, Index: idx, Count: cnt}, nil
}

// ViewGroup and SinkGroup are the lease groups of a view's and a sink's
// parts.
func ViewGroup(name string) string { return "view/" + name }
func SinkGroup(name string) string { return "sink/" + name }

// HeldPart is a part this node holds, as its lease was taken.
type HeldPart struct {
	Part PartID
	// Epoch is the part's last committed epoch when this node took it (0:
	// never committed): what Restore brings back, and what every epoch
	// this node commits for the part is above.
	Epoch uint64
	// Token identifies the take (the lease counter it got): a part lost
	// and taken again has a new token, and is restored again.
	Token int64
}

// Membership is the set of parts this node holds.
type Membership interface {
	// Ensure makes the leases of an object's parts exist (group,
	// "<r>/<parts>" for every r), idempotently. The engine calls it for
	// every view and sink when it is created and at start.
	Ensure(ctx context.Context, group string, parts int) error
	// Held returns the parts this node holds now and a channel closed at
	// the next change. The engine runs exactly these.
	Held() (parts []HeldPart, changed <-chan struct{})
	// Drop deletes the leases of group, whose object was dropped. The
	// node that ran the DROP calls it; the others stop the group's parts
	// when they apply the DROP.
	Drop(ctx context.Context, group string) error
}

// Restorer fills a part's local state from where the cluster keeps it.
type Restorer interface {
	// Restore calls apply with every key of the part's state at its last
	// committed epoch (HeldPart.Epoch), or with every write of each
	// committed epoch in order (a later write of a key wins, del removes
	// it). Keys are relative to the part's state prefix (Write.Key).
	// Nothing at all for a part never committed.
	Restore(ctx context.Context, part PartID, apply func(key, val []byte, del bool) error) error
}

// Write is one write of a part's state in an epoch: Key is relative to
// the part's state prefix (operator id, then the operator's key), so
// that it means the same on every node; Del removes the key (Val nil).
type Write struct {
	Key, Val []byte
	Del      bool
}

// PartWrites is what one part wrote in one epoch: its whole delta, to
// be applied after the part's previous epochs.
type PartWrites struct {
	Part PartID
	// Token is the take the part's runner was started for
	// (HeldPart.Token): writes of a run started under an earlier take of
	// the lease (lost and taken back meanwhile) are fenced, never
	// committed under the new take.
	Token  int64
	Writes []Write
}

// Committer is the cluster's commit point of an epoch.
type Committer interface {
	// Commit makes epoch durable for parts in the cluster: one object of
	// every part's writes, then one conditional commit per part (owner =
	// this node, counter = held, committed epoch < epoch). It returns the
	// parts whose commit did not take place or is in doubt (fenced): the
	// engine stops them, drops their local state, and restarts them from
	// Restore should Held still list them (the implementation removes a
	// truly fenced part from Held before returning). An error means no
	// part committed; the engine commits nothing and tries again with the
	// next epoch (whose writes include this one's). It may be called
	// concurrently, with different epochs (views' checkpoints and sinks'
	// saves of their positions).
	Commit(ctx context.Context, epoch uint64, parts []PartWrites) (fenced []PartID, err error)
}

// CatalogLog is the cluster's ordered log of DDL statements.
type CatalogLog interface {
	// AppendDDL appends a DDL statement that succeeded on this node and
	// returns its version.
	AppendDDL(ctx context.Context, stmt string) (version uint64, err error)
	// Follow calls apply with every statement of a version above after,
	// in version order, until ctx ends (its error then is ctx's). The
	// engine applies every version not its own with a system session.
	Follow(ctx context.Context, after uint64, apply func(version uint64, stmt string) error) error
}

// Peers reaches the parts held by other nodes.
type Peers interface {
	// ScanPart calls fn with every entry of the view table of part (its
	// Materialize table: key and value as stored, decoded by the caller)
	// as the part's owner last committed it. The owner answers with
	// Engine.ScanLocalPart.
	ScanPart(ctx context.Context, part PartID, fn func(key, val []byte) error) error
	// Flush asks every other node to FLUSH its local parts and waits for
	// them (each answers with Engine.FlushLocal).
	Flush(ctx context.Context) error
}

// ClusterStats is what SHOW CLUSTER and the metrics show of this node's
// parts.
type ClusterStats struct {
	// Held is the parts running here now.
	Held int
	// Fenced counts the parts whose commit the cluster refused or left in
	// doubt (Committer.Commit), each stopped and its local state dropped.
	Fenced int64
	// Restores counts parts started from Restorer.Restore.
	Restores int64
	// LagMillis is how far behind the tip of its Kinesis shards the
	// furthest behind part running here reads: the largest
	// millis_behind_latest (SHOW SOURCE STATUS) over the shards of the
	// parts' consumers; 0 when none runs.
	LagMillis int64
}
