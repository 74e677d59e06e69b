package cluster

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// memTable is a LeaseTable in memory with the conditions of the DynamoDB
// one, each operation atomic under one lock (DynamoDB's conditional
// UpdateItem on one item):
//
//	Take     owner = l.Owner AND counter = l.Counter -> owner = me, counter+1, moves+1, handoff cleared
//	Commit   owner = me AND counter = held.Counter AND epoch < N -> epoch, checkpoint, moves = 0
//	Release  owner = me AND counter = held.Counter -> owner = to, counter+1, handoff cleared
//	AskHandoff owner = l.Owner AND counter = l.Counter AND owner not empty, not me -> handoff = me
//
// A failed condition (including a missing item) is ErrFenced.
//
// Leases("") returns a snapshot shared by every caller until the next
// write, and Nodes and the other reads share Checkpoint and Info: callers
// must not modify what they read. Sharing keeps the simulation's reads
// cheap under the race detector, which checks a copy word by word.
type memTable struct {
	mu     sync.Mutex
	nodes  []Node  // by ID
	leases []Lease // by group, key
	snap   []Lease // a copy of leases, nil after a write
}

var _ LeaseTable = (*memTable)(nil)

func newMemTable() *memTable { return &memTable{} }

func leaseCmp(l Lease, group, key string) int {
	return cmp.Or(cmp.Compare(l.Group, group), cmp.Compare(l.Key, key))
}

// find returns the index of the lease, or -1.
func (m *memTable) find(group, key string) int {
	i, ok := slices.BinarySearchFunc(m.leases, leaseRef{group, key}, func(l Lease, r leaseRef) int {
		return leaseCmp(l, r.group, r.key)
	})
	if !ok {
		return -1
	}
	return i
}

func fenced(op string, l Lease) error {
	return fmt.Errorf("%s lease %s: %w", op, l.ID(), ErrFenced)
}

func (m *memTable) Heartbeat(_ context.Context, n Node) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := slices.BinarySearchFunc(m.nodes, n.ID, func(x Node, id string) int { return cmp.Compare(x.ID, id) })
	n.Info = maps.Clone(n.Info)
	if ok {
		n.Beat = m.nodes[i].Beat + 1
		m.nodes[i] = n
		return nil
	}
	n.Beat = 1
	m.nodes = slices.Insert(m.nodes, i, n)
	return nil
}

func (m *memTable) Nodes(context.Context) ([]Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.nodes), nil
}

func (m *memTable) Leave(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes = slices.DeleteFunc(m.nodes, func(n Node) bool { return n.ID == id })
	return nil
}

func (m *memTable) Ensure(_ context.Context, group, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := slices.BinarySearchFunc(m.leases, leaseRef{group, key}, func(l Lease, r leaseRef) int {
		return leaseCmp(l, r.group, r.key)
	})
	if !ok {
		m.leases = slices.Insert(m.leases, i, Lease{Group: group, Key: key})
		m.snap = nil
	}
	return nil
}

func (m *memTable) Leases(_ context.Context, group string) ([]Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if group == "" {
		if m.snap == nil {
			m.snap = slices.Clone(m.leases)
		}
		return m.snap, nil
	}
	var out []Lease
	for _, l := range m.leases {
		if l.Group == group {
			out = append(out, l)
		}
	}
	return out, nil
}

func (m *memTable) Take(_ context.Context, l Lease, me string) (Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(l.Group, l.Key)
	if i < 0 || m.leases[i].Owner != l.Owner || m.leases[i].Counter != l.Counter {
		return Lease{}, fenced("take", l)
	}
	m.snap = nil
	cur := &m.leases[i]
	cur.Owner = me
	cur.Counter++
	cur.Moves++
	cur.Handoff = ""
	return *cur, nil
}

func (m *memTable) Commit(_ context.Context, held Lease, me string, epoch uint64, checkpoint []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(held.Group, held.Key)
	if i < 0 || m.leases[i].Owner != me || m.leases[i].Counter != held.Counter || m.leases[i].Epoch >= epoch {
		return fenced("commit", held)
	}
	m.snap = nil
	cur := &m.leases[i]
	cur.Epoch = epoch
	cur.Checkpoint = slices.Clone(checkpoint)
	cur.Moves = 0
	return nil
}

func (m *memTable) Release(_ context.Context, held Lease, me, to string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(held.Group, held.Key)
	if i < 0 || m.leases[i].Owner != me || m.leases[i].Counter != held.Counter {
		return fenced("release", held)
	}
	m.snap = nil
	cur := &m.leases[i]
	cur.Owner = to
	cur.Counter++
	cur.Handoff = ""
	if to != "" {
		cur.Moves++
	}
	return nil
}

func (m *memTable) AskHandoff(_ context.Context, l Lease, me string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(l.Group, l.Key)
	if i < 0 || l.Owner == "" || l.Owner == me || m.leases[i].Owner != l.Owner || m.leases[i].Counter != l.Counter {
		return fenced("ask hand-off of", l)
	}
	m.snap = nil
	m.leases[i].Handoff = me
	return nil
}

func (m *memTable) Drop(_ context.Context, group, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.find(group, key); i >= 0 {
		m.leases = slices.Delete(m.leases, i, i+1)
		m.snap = nil
	}
	return nil
}
