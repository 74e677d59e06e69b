package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// haRecord is one record of the HA test: user_id is the partition key,
// the view groups by cat.
type haRecord struct {
	UserID int64   `json:"user_id"`
	Cat    int64   `json:"cat"`
	Amount float64 `json:"amount"`
}

func haRecords(n int) ([]haRecord, []emulator.Record) {
	recs := make([]haRecord, n)
	out := make([]emulator.Record, n)
	for i := range recs {
		r := haRecord{UserID: int64(i % 37), Cat: int64(i*7919%13) - 3, Amount: float64(i%100) + 0.5}
		recs[i] = r
		data, _ := json.Marshal(r)
		out[i] = emulator.Record{PartitionKey: fmt.Sprint(r.UserID), Data: data}
	}
	return recs, out
}

// haWant is the view worked out in Go: "cat count sum" per cat, by cat.
func haWant(recs []haRecord) []string {
	type agg struct {
		n int64
		s float64
	}
	by := map[int64]agg{}
	for _, r := range recs {
		a := by[r.Cat]
		a.n++
		a.s += r.Amount
		by[r.Cat] = a
	}
	cats := make([]int64, 0, len(by))
	for c := range by {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	out := make([]string, len(cats))
	for i, c := range cats {
		out[i] = fmt.Sprintf("%d %d %.1f", c, by[c].n, by[c].s)
	}
	return out
}

// readHAView reads the view on conn as haWant writes it.
func readHAView(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, "SELECT cat, n, s FROM totals ORDER BY cat")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var cat, n int64
		var s float64
		if err := rows.Scan(&cat, &n, &s); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%d %d %.1f", cat, n, s))
	}
	return out, rows.Err()
}

// haCluster is the HA tests' setup: kinesalite, dynalite and s3rver, two
// nodes, a source over 4 shards and a view grouping by a column that is
// not the partition key, split into 8 parts over the nodes, and records
// being produced.
type haCluster struct {
	*clusterEnv
	nodes []*nodeProc
	conns []*pgx.Conn
	recs  []haRecord
	prod  *producer
	// victim is the index of the node holding the most parts.
	victim, survivor int
}

const (
	haGroup = "view/totals"
	haLease = 3 * time.Second
)

// startHACluster sets the cluster up, checks a first batch on both nodes
// (FLUSH on one reaches the other's parts with FLUSH LOCAL over pgwire; a
// SELECT on either reads the other's parts with SCAN PART, both signed
// with the secret), and starts producing the rest; it returns once a
// third of the rest is in.
func startHACluster(t *testing.T) *haCluster {
	t.Helper()
	c := &haCluster{clusterEnv: newClusterEnv(t, 8*time.Minute, haLease)}
	ctx, kin := c.ctx, c.kin
	const stream, shards = "ha", 4
	if err := kin.CreateStream(ctx, stream, shards); err != nil {
		t.Fatal(err)
	}
	c.nodes = []*nodeProc{c.startHANode(t, "n1"), c.startHANode(t, "n2")}
	c.conns = []*pgx.Conn{connectForBacklog(t, c.nodes[0].srv.addr), connectForBacklog(t, c.nodes[1].srv.addr)}
	mustExec(ctx, t, c.conns[0],
		fmt.Sprintf("CREATE SOURCE clicks (user_id BIGINT, cat BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
			"endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon', max_records_per_call = 1000)",
			kin.Endpoint(), stream),
		"CREATE MATERIALIZED VIEW totals AS SELECT cat, COUNT(*) AS n, SUM(amount) AS s FROM clicks GROUP BY cat")

	// Both nodes run parts: the balancer spreads the 8 leases 4/4.
	waitUntil(ctx, t, "the view's 8 parts spread over both nodes", func() (bool, error) {
		owners, err := leaseOwners(ctx, c.conns[1], haGroup)
		if err != nil {
			return false, err
		}
		held := countOwners(owners)
		return len(owners) == 8 && held["n1"] > 0 && held["n2"] > 0 && held[""] == 0, nil
	})

	recs, kinRecs := haRecords(30000)
	c.recs = recs
	const first = 3000
	if _, err := kin.PutRecords(ctx, stream, kinRecs[:first]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.conns[0].Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH on n1: %v", err)
	}
	want := haWant(recs[:first])
	for i, conn := range c.conns {
		got, err := readHAView(ctx, conn)
		if err != nil {
			t.Fatalf("SELECT on %s: %v", c.nodes[i].id, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("SELECT on %s after the first batch and FLUSH:\n got %q\nwant %q", c.nodes[i].id, got, want)
		}
	}

	c.prod = startProducer(ctx, kin, stream, kinRecs[first:], 250, 40*time.Millisecond)
	waitUntil(ctx, t, "a third of the rest put", func() (bool, error) {
		return c.prod.put.Load() >= int64(len(kinRecs)-first)/3, nil
	})
	owners, err := leaseOwners(ctx, c.conns[0], haGroup)
	if err != nil {
		t.Fatal(err)
	}
	held := countOwners(owners)
	c.victim, c.survivor = 0, 1
	if held["n2"] > held["n1"] {
		c.victim, c.survivor = 1, 0
	}
	t.Logf("leases %v; the victim is %s (%d parts), after %d records put", owners, c.nodes[c.victim].id,
		held[c.nodes[c.victim].id], first+int(c.prod.put.Load()))
	return c
}

// startHANode starts node id of the HA tests' cluster, with short epochs.
func (c *haCluster) startHANode(t *testing.T, id string) *nodeProc {
	t.Helper()
	return c.startNode(t, c.table, id, fastCheckpoints...)
}

// allOn waits until node i holds every part and the view answers there.
// A read that waits on a paused owner is cancelled after a while, which
// closes pgx's connection: each attempt has a connection of its own.
func (c *haCluster) allOn(t *testing.T, i int) {
	t.Helper()
	node := c.nodes[i].id
	waitUntil(c.ctx, t, node+" to answer the view with every part", func() (bool, error) {
		qctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(qctx, connString(c.nodes[i].srv.addr))
		if err != nil {
			return false, err
		}
		defer conn.Close(context.WithoutCancel(qctx))
		if _, err := readHAView(qctx, conn); err != nil {
			return false, nil // parts still moving: their old owner is gone or paused
		}
		owners, err := leaseOwners(qctx, conn, haGroup)
		if err != nil {
			return false, err
		}
		return countOwners(owners)[node] == 8, nil
	})
}

// finish waits for the producer, FLUSHes on conn and checks the view
// there against the Go computation.
func (c *haCluster) finish(t *testing.T, conn *pgx.Conn, on string) {
	t.Helper()
	select {
	case err := <-c.prod.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-c.ctx.Done():
		t.Fatal("producer did not finish")
	}
	start := time.Now()
	if _, err := conn.Exec(c.ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH on %s: %v", on, err)
	}
	t.Logf("FLUSH on %s took %v", on, time.Since(start).Round(time.Millisecond))
	got, err := readHAView(c.ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if want := haWant(c.recs); !slices.Equal(got, want) {
		t.Errorf("view on %s after FLUSH:\n got %q\nwant %q", on, got, want)
	}
}

// TestClusterHA: the node holding most parts is SIGKILLed while records
// are produced; the other takes its parts after the lease duration,
// restores them from S3 and continues from their committed positions.
// After FLUSH on the survivor the view equals the Go computation: nothing
// lost, nothing counted twice. The time from the kill to the view
// answering with every part again is logged. Then a third node joins and
// takes half the parts by hand-off, and the survivor leaves with SIGTERM:
// the newcomer takes its released parts at once and answers the same view.
func TestClusterHA(t *testing.T) {
	c := startHACluster(t)
	ctx, nodes := c.ctx, c.nodes
	victim, survivor := c.victim, c.survivor
	killed := time.Now()
	nodes[victim].srv.kill(t)
	conn := c.conns[survivor]
	c.allOn(t, survivor)
	t.Logf("failover: %v from SIGKILL of %s to the view answering with all 8 parts on %s (lease duration %v)",
		time.Since(killed).Round(time.Millisecond), nodes[victim].id, nodes[survivor].id, haLease)
	c.finish(t, conn, nodes[survivor].id)

	// SHOW CLUSTER: the survivor alive with every lease and the killed
	// node's committed parts restored; the killed node gone.
	shown := showCluster(t, ctx, conn)
	if r := shown[nodes[survivor].id]; !r.alive || r.leases != 8 || r.restores < 1 || r.lag == nil || *r.lag < 0 {
		t.Errorf("SHOW CLUSTER: survivor %+v, want alive with 8 leases, the killed node's committed parts restored and a lag", r)
	}
	if r := shown[nodes[victim].id]; r.alive || r.leases != 0 || r.lag != nil {
		t.Errorf("SHOW CLUSTER: killed node %+v, want gone with no lease and lag_ms NULL", r)
	}
	t.Logf("SHOW CLUSTER: %+v", shown)

	// A node joins: it asks for its share and the survivor hands parts
	// off at its commits. Then the survivor leaves with SIGTERM, releasing
	// its leases, and the newcomer takes them at once, without waiting
	// out a lease duration.
	n3 := c.startHANode(t, "n3")
	conn3 := connectForBacklog(t, n3.srv.addr)
	joined := time.Now()
	waitUntil(ctx, t, "n3 to take its share by hand-off", func() (bool, error) {
		owners, err := leaseOwners(ctx, conn3, haGroup)
		if err != nil {
			return false, err
		}
		held := countOwners(owners)
		return held["n3"] == 4 && held[nodes[survivor].id] == 4, nil
	})
	t.Logf("join: n3 held its 4 parts %v after it started", time.Since(joined).Round(time.Millisecond))
	left := time.Now()
	nodes[survivor].srv.terminate(t)
	waitUntil(ctx, t, "n3 to answer the view with every part after the survivor left", func() (bool, error) {
		got, err := readHAView(ctx, conn3)
		if err != nil {
			return false, nil
		}
		if want := haWant(c.recs); !slices.Equal(got, want) {
			return false, fmt.Errorf("view on n3 after the survivor left:\n got %q\nwant %q", got, want)
		}
		return true, nil
	})
	t.Logf("graceful leave: %v from SIGTERM of %s to n3 answering the view with all 8 parts",
		time.Since(left).Round(time.Millisecond), nodes[survivor].id)
}

// TestClusterHA_PausedOwner: the node holding most parts is SIGSTOPped
// past its lease while records are produced; the other takes its parts.
// When the paused node resumes, whatever epochs it had under way cannot
// commit (its conditional commits lose: counted as fenced, or the parts
// were dropped as lost before it tried), it stops those parts and later
// takes its share back by hand-off, restored from S3. The view, FLUSHed
// and read on both nodes, equals the Go computation.
func TestClusterHA_PausedOwner(t *testing.T) {
	c := startHACluster(t)
	ctx, nodes := c.ctx, c.nodes
	victim, survivor := c.victim, c.survivor
	paused := nodes[victim]
	paused.stop(t)
	c.allOn(t, survivor)
	paused.cont(t)
	resumed := time.Now()
	// The resumed node is live again and takes its share back.
	waitUntil(ctx, t, "the resumed node to hold its share again", func() (bool, error) {
		owners, err := leaseOwners(ctx, c.conns[survivor], haGroup)
		if err != nil {
			return false, err
		}
		held := countOwners(owners)
		return held[paused.id] == 4 && held[nodes[survivor].id] == 4, nil
	})
	t.Logf("the resumed %s held 4 parts again %v after SIGCONT", paused.id, time.Since(resumed).Round(time.Millisecond))
	c.finish(t, c.conns[survivor], nodes[survivor].id)
	got, err := readHAView(ctx, c.conns[victim])
	if err != nil {
		t.Fatal(err)
	}
	if want := haWant(c.recs); !slices.Equal(got, want) {
		t.Errorf("view on the resumed %s:\n got %q\nwant %q", paused.id, got, want)
	}
	// Each node publishes its figures with its next heartbeat.
	var shown map[string]clusterRow
	waitUntil(ctx, t, "SHOW CLUSTER to show the resumed node alive and its parts taken back restored from S3", func() (bool, error) {
		shown = showCluster(t, ctx, c.conns[survivor])
		r := shown[paused.id]
		return r.alive && r.restores >= 1, nil
	})
	t.Logf("SHOW CLUSTER: %+v (fenced commits of the resumed node: %d)", shown, shown[paused.id].fenced)
}

// waitUntil polls cond every 100ms until it holds; an error from cond or
// the test's deadline fails the test naming what it waited for.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	for {
		ok, err := cond()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
