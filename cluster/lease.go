// Package cluster makes streamsql nodes share work through services Kinesis
// users already run (docs/cluster.md): leases and the catalog in DynamoDB,
// state in S3. It implements the interfaces the engine declares; the engine
// never imports it.
package cluster

import (
	"context"
	"errors"
)

// ErrFenced is returned by a conditional lease write that lost: the lease
// was taken by another node (its counter moved) or is not ours. A fenced
// commit must leave no trace anywhere a reader looks.
var ErrFenced = errors.New("lease fenced: another node took it")

// Lease is one unit of work and its committed checkpoint, one item of the
// lease table (docs/cluster.md section 2).
type Lease struct {
	// Group is the balancing group: leases of one group are spread evenly
	// over the live nodes ("view/<name>", "sink/<name>").
	Group string
	// Key names the lease within its group ("3/8": part 3 of 8).
	Key string
	// Owner is the holder's node id, empty when nobody holds the lease.
	Owner string
	// Counter is bumped by every take and release, never by a commit: the
	// fencing token.
	Counter int64
	// Epoch is the last committed epoch (0: never committed).
	Epoch uint64
	// Checkpoint is the engine's opaque committed checkpoint of the lease
	// (source positions, where its state is in S3).
	Checkpoint []byte
	// Handoff is a node that asked for the lease (cooperative stealing).
	Handoff string
	// Moves counts owner changes since the last commit.
	Moves int64
}

// ID is the lease's identity across the cluster.
func (l Lease) ID() string { return l.Group + "#" + l.Key }

// Node is one member's liveness item.
type Node struct {
	ID string
	// Addr is the pgwire address peers use.
	Addr string
	// Beat is incremented by the node every heartbeat; a node whose beat
	// stays the same for a whole lease duration, by the observer's own
	// clock, is gone.
	Beat int64
	// Info is free-form status the node publishes (lag, catalog version),
	// shown by SHOW CLUSTER.
	Info map[string]string
}

// LeaseTable is the lease table's operations, each one conditional write
// or one read. The DynamoDB client implements it; the balancing
// simulation uses an in-memory one with the same conditions.
type LeaseTable interface {
	// Heartbeat creates or updates the node's item, incrementing Beat.
	Heartbeat(ctx context.Context, n Node) error
	// Nodes lists every node item.
	Nodes(ctx context.Context) ([]Node, error)
	// Leave deletes the node's item (graceful shutdown).
	Leave(ctx context.Context, id string) error
	// Ensure creates the lease if it does not exist (free, counter 0).
	Ensure(ctx context.Context, group, key string) error
	// Leases lists the leases of group ("" for every group).
	Leases(ctx context.Context, group string) ([]Lease, error)
	// Take makes me the owner of l, conditional on the counter and owner
	// still being l.Counter and l.Owner; it returns the lease as written
	// (counter + 1, the committed checkpoint). ErrFenced if it lost.
	Take(ctx context.Context, l Lease, me string) (Lease, error)
	// Commit records epoch and checkpoint, conditional on owner = me,
	// counter = held.Counter and a smaller committed epoch. ErrFenced if
	// the lease is no longer ours.
	Commit(ctx context.Context, held Lease, me string, epoch uint64, checkpoint []byte) error
	// Release gives the lease up (to handoff's asker, or free when to is
	// empty), bumping the counter, conditional like Commit.
	Release(ctx context.Context, held Lease, me, to string) error
	// AskHandoff sets Handoff = me on a lease another node holds.
	AskHandoff(ctx context.Context, l Lease, me string) error
	// Drop deletes a lease (its object was dropped).
	Drop(ctx context.Context, group, key string) error
}
