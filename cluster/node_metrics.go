package cluster

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// memberMetrics are the member's instruments (docs/cluster.md section
// 10); Register adds them to the engine's registry.
type memberMetrics struct {
	nodes          prometheus.Gauge
	leases         *prometheus.GaugeVec
	moves          prometheus.Counter
	fenced         prometheus.Counter
	restoreSeconds prometheus.Histogram
	calls          *prometheus.CounterVec
	swept          prometheus.Counter
	lag            *prometheus.GaugeVec

	mu     sync.Mutex
	groups map[string]bool // groups with a leases gauge, to zero them
}

func newMemberMetrics() *memberMetrics {
	return &memberMetrics{
		nodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamsql_cluster_nodes",
			Help: "Live nodes of the cluster, as this node's last balancing step saw them.",
		}),
		leases: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamsql_cluster_leases",
			Help: "Leases this node holds, by lease group (view/<name>, sink/<name>).",
		}, []string{"group"}),
		moves: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamsql_cluster_lease_moves_total",
			Help: "Leases this node took (free, from a gone node, or handed off to it).",
		}),
		fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamsql_cluster_commits_fenced_total",
			Help: "Part commits refused because another node holds the lease now; the part stops here.",
		}),
		restoreSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamsql_cluster_restore_seconds",
			Help:    "Time to restore a taken part's state from the state store.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 17),
		}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamsql_cluster_calls_total",
			Help: "Calls to DynamoDB, S3 and peers, by service and operation.",
		}, []string{"service", "op"}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamsql_cluster_s3_objects_swept_total",
			Help: "State store objects (epoch objects, bases) the leader deleted because no lease references them.",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamsql_cluster_lag_ms",
			Help: "How far behind the tip of its Kinesis shards the furthest behind part running on the node reads (milliseconds), as of its last heartbeat.",
		}, []string{"node"}),
		groups: map[string]bool{},
	}
}

// Register adds the member's metrics to reg (the engine's registry).
func (m *Member) Register(reg prometheus.Registerer) error {
	mm := m.metrics
	for _, c := range []prometheus.Collector{mm.nodes, mm.leases, mm.moves, mm.fenced, mm.restoreSeconds, mm.calls, mm.swept, mm.lag} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (mm *memberMetrics) call(service, op string) { mm.calls.WithLabelValues(service, op).Inc() }

// setHeld sets the leases gauge from the held set, zeroing groups no
// longer held.
func (mm *memberMetrics) setHeld(groups map[string]int) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	for g := range mm.groups {
		if _, ok := groups[g]; !ok {
			mm.leases.WithLabelValues(g).Set(0)
		}
	}
	for g, n := range groups {
		mm.groups[g] = true
		mm.leases.WithLabelValues(g).Set(float64(n))
	}
}

// countingTable counts the lease table's calls.
type countingTable struct {
	t LeaseTable
	m *memberMetrics
}

func (c countingTable) Heartbeat(ctx context.Context, n Node) error {
	c.m.call("dynamodb", "heartbeat")
	return c.t.Heartbeat(ctx, n)
}

func (c countingTable) Nodes(ctx context.Context) ([]Node, error) {
	c.m.call("dynamodb", "nodes")
	return c.t.Nodes(ctx)
}

func (c countingTable) Leave(ctx context.Context, id string) error {
	c.m.call("dynamodb", "leave")
	return c.t.Leave(ctx, id)
}

func (c countingTable) Ensure(ctx context.Context, group, key string) error {
	c.m.call("dynamodb", "ensure")
	return c.t.Ensure(ctx, group, key)
}

func (c countingTable) Leases(ctx context.Context, group string) ([]Lease, error) {
	c.m.call("dynamodb", "leases")
	return c.t.Leases(ctx, group)
}

func (c countingTable) Take(ctx context.Context, l Lease, me string) (Lease, error) {
	c.m.call("dynamodb", "take")
	return c.t.Take(ctx, l, me)
}

func (c countingTable) Commit(ctx context.Context, held Lease, me string, epoch uint64, checkpoint []byte) error {
	c.m.call("dynamodb", "commit")
	return c.t.Commit(ctx, held, me, epoch, checkpoint)
}

func (c countingTable) Release(ctx context.Context, held Lease, me, to string) error {
	c.m.call("dynamodb", "release")
	return c.t.Release(ctx, held, me, to)
}

func (c countingTable) AskHandoff(ctx context.Context, l Lease, me string) error {
	c.m.call("dynamodb", "ask_handoff")
	return c.t.AskHandoff(ctx, l, me)
}

func (c countingTable) Drop(ctx context.Context, group, key string) error {
	c.m.call("dynamodb", "drop")
	return c.t.Drop(ctx, group, key)
}

// countingCatalog counts the catalog log's calls.
type countingCatalog struct {
	c CatalogLog
	m *memberMetrics
}

func (c countingCatalog) AppendCatalog(ctx context.Context, version int64, stmt string) error {
	c.m.call("dynamodb", "append_catalog")
	return c.c.AppendCatalog(ctx, version, stmt)
}

func (c countingCatalog) CatalogAfter(ctx context.Context, version int64) ([]CatalogEntry, error) {
	c.m.call("dynamodb", "catalog_after")
	return c.c.CatalogAfter(ctx, version)
}
