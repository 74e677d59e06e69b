package engine

import (
	"context"
	"strings"
)

// What a cluster member shows and how its peers' internal statements are
// checked: small interfaces the engine's SHOW CLUSTER and the internal
// STREAMSQL CLUSTER statements (cluster_peer.go) call, implemented by
// package cluster. Both are optional fields of ClusterConfig.

// ClusterStatus answers SHOW CLUSTER and SHOW CLUSTER LEASES.
type ClusterStatus interface {
	ClusterNodes(ctx context.Context) ([]ClusterNode, error)
	ClusterLeases(ctx context.Context) ([]ClusterLease, error)
}

// ClusterNode is one row of SHOW CLUSTER.
type ClusterNode struct {
	ID, Addr string
	// Alive: its beat changed within the last lease duration, by this
	// node's clock.
	Alive bool
	// Leases it holds, by the lease table.
	Leases int
	// Fenced commits, restores and the last epoch it committed, as the
	// node last published them in its heartbeat.
	Fenced, Restores int64
	LastEpoch        uint64
	// LagMillis is the node's ClusterStats.LagMillis as it last
	// published it; HasLag is false when that is unknown (the node is
	// gone, or has not published it yet): SHOW CLUSTER shows NULL.
	LagMillis int64
	HasLag    bool
}

// ClusterLease is one row of SHOW CLUSTER LEASES.
type ClusterLease struct {
	Group, Key, Owner string
	Counter           int64
	Epoch             uint64
	Moves             int64
	Handoff           string
}

// PeerGate decides whether this node answers a peer's internal statement:
// op is the statement's canonical text (PeerScanOp, PeerFlushOp) and
// token what the peer sent with it.
type PeerGate interface {
	CheckPeer(op, token string) error
}

// PeerFlushOp is the canonical text of STREAMSQL CLUSTER FLUSH LOCAL.
const PeerFlushOp = "flush local"

// PeerScanOp is the canonical text of STREAMSQL CLUSTER SCAN PART.
func PeerScanOp(p PartID) string { return "scan part " + p.Group + " " + p.Key() }

// PeerScanStatement and PeerFlushStatement are the internal statements a
// peer sends; the owner answers them with ScanLocalPart (two bytea
// columns, key and val) and FlushLocal.
func PeerScanStatement(p PartID, token string) string {
	return "STREAMSQL CLUSTER SCAN PART " + quoteLiteral(p.Group) + " " + quoteLiteral(p.Key()) + " TOKEN " + quoteLiteral(token)
}

func PeerFlushStatement(token string) string {
	return "STREAMSQL CLUSTER FLUSH LOCAL TOKEN " + quoteLiteral(token)
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
