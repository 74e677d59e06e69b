package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// clusterNode is one `streamsql serve --cluster` process of a test.
type clusterNode struct {
	id  string
	srv *binaryServer
}

// startClusterNode starts node id of the cluster whose table and state
// store live in dyn and s3, with a short lease so that a failover takes
// seconds.
func startClusterNode(t *testing.T, bin, id string, dyn, s3 *emulator.Emulator, lease time.Duration) *clusterNode {
	t.Helper()
	cfg := binaryConfig{
		args: append([]string{"--cluster", "streamsql-ha", "--state-store", "s3://state/ha", "--node-id", id,
			"--dynamodb-endpoint", dyn.Endpoint(), "--s3-endpoint", s3.Endpoint(),
			"--lease-duration", lease.String(), "--cluster-secret", "test-secret"}, fastCheckpoints...),
		// s3rver accepts only its own key pair; dynalite and kinesalite
		// accept any. No instance metadata lookups: loopback only.
		env: []string{"AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=S3RVER", "AWS_REGION=us-east-1",
			"AWS_EC2_METADATA_DISABLED=true"},
	}
	return &clusterNode{id: id, srv: startBinaryWith(t, bin, t.TempDir(), cfg)}
}

// leaseOwners returns the owner of each lease of group ("" when free),
// from SHOW CLUSTER LEASES.
func leaseOwners(ctx context.Context, conn *pgx.Conn, group string) (map[string]string, error) {
	rows, err := conn.Query(ctx, "SHOW CLUSTER LEASES")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var g, key string
		var owner, handoff *string
		var counter, epoch, moves int64
		if err := rows.Scan(&g, &key, &owner, &counter, &epoch, &moves, &handoff); err != nil {
			return nil, err
		}
		if g != group {
			continue
		}
		out[key] = ""
		if owner != nil {
			out[key] = *owner
		}
	}
	return out, rows.Err()
}

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
	by := map[int64]*agg{}
	for _, r := range recs {
		a := by[r.Cat]
		if a == nil {
			a = &agg{}
			by[r.Cat] = a
		}
		a.n++
		a.s += r.Amount
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

// TestClusterHA: two nodes over kinesalite, dynalite and s3rver; a source
// of 4 shards and a view grouping by a column that is not the partition
// key, split into 8 parts over the nodes. While records are produced, the
// node holding most parts is SIGKILLed; the other takes its parts after
// the lease duration, restores them from S3 and continues from their
// committed positions. After FLUSH on the survivor the view equals the Go
// computation: nothing lost, nothing counted twice. The time from the kill
// to the view answering with every part again is logged. Then a third node
// joins and takes half the parts by hand-off, and the survivor leaves
// with SIGTERM: the newcomer takes its released parts at once and answers
// the same view.
func TestClusterHA(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, runs two nodes and three emulators")
	}
	ctx := testContext(t, 8*time.Minute)
	bin := buildBinary(t)
	kin := emulator.StartForTest(ctx, t, emulator.Options{})
	dyn := emulator.StartDynalite(ctx, t)
	s3 := emulator.StartS3rver(ctx, t)
	const stream, shards, lease = "ha", 4, 3 * time.Second
	if err := kin.CreateStream(ctx, stream, shards); err != nil {
		t.Fatal(err)
	}

	nodes := []*clusterNode{startClusterNode(t, bin, "n1", dyn, s3, lease), startClusterNode(t, bin, "n2", dyn, s3, lease)}
	conns := []*pgx.Conn{connectForBacklog(t, nodes[0].srv.addr), connectForBacklog(t, nodes[1].srv.addr)}
	mustExec(ctx, t, conns[0],
		fmt.Sprintf("CREATE SOURCE clicks (user_id BIGINT, cat BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
			"endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon', max_records_per_call = 1000)",
			kin.Endpoint(), stream),
		"CREATE MATERIALIZED VIEW totals AS SELECT cat, COUNT(*) AS n, SUM(amount) AS s FROM clicks GROUP BY cat")

	// Both nodes run parts: the balancer spreads the 8 leases 4/4.
	const group = "view/totals"
	waitUntil(ctx, t, "the view's 8 parts spread over both nodes", func() (bool, error) {
		owners, err := leaseOwners(ctx, conns[1], group)
		if err != nil {
			return false, err
		}
		held := map[string]int{}
		for _, o := range owners {
			held[o]++
		}
		return len(owners) == 8 && held["n1"] > 0 && held["n2"] > 0 && held[""] == 0, nil
	})

	// A first batch, FLUSHed on one node: FLUSH reaches the other node's
	// parts (FLUSH LOCAL over pgwire), and a SELECT on either node reads
	// the other's parts from it (SCAN PART), both signed with the secret.
	recs, kinRecs := haRecords(30000)
	const first = 3000
	if _, err := kin.PutRecords(ctx, stream, kinRecs[:first]); err != nil {
		t.Fatal(err)
	}
	if _, err := conns[0].Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH on n1: %v", err)
	}
	want := haWant(recs[:first])
	for i, c := range conns {
		got, err := readHAView(ctx, c)
		if err != nil {
			t.Fatalf("SELECT on %s: %v", nodes[i].id, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("SELECT on %s after the first batch and FLUSH:\n got %q\nwant %q", nodes[i].id, got, want)
		}
	}

	prod := startProducer(ctx, kin, stream, kinRecs[first:], 250, 40*time.Millisecond)
	waitUntil(ctx, t, "a third of the rest put", func() (bool, error) {
		return prod.put.Load() >= int64(len(kinRecs)-first)/3, nil
	})
	owners, err := leaseOwners(ctx, conns[0], group)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]int{}
	for _, o := range owners {
		held[o]++
	}
	victim, survivor := 0, 1
	if held["n2"] > held["n1"] {
		victim, survivor = 1, 0
	}
	t.Logf("before the kill: leases %v; killing %s (%d parts) after %d records put",
		owners, nodes[victim].id, held[nodes[victim].id], prod.put.Load())
	killed := time.Now()
	nodes[victim].srv.kill(t)
	conn := conns[survivor]

	// The view answers again once every part runs on the survivor.
	waitUntil(ctx, t, "the survivor to answer the view with every part", func() (bool, error) {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := readHAView(qctx, conn); err != nil {
			return false, nil // parts still moving: their old owner is gone
		}
		owners, err := leaseOwners(ctx, conn, group)
		if err != nil {
			return false, err
		}
		for _, o := range owners {
			if o != nodes[survivor].id {
				return false, nil
			}
		}
		return len(owners) == 8, nil
	})
	t.Logf("failover: %v from SIGKILL of %s to the view answering with all 8 parts on %s (lease duration %v)",
		time.Since(killed).Round(time.Millisecond), nodes[victim].id, nodes[survivor].id, lease)

	select {
	case err := <-prod.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("producer did not finish")
	}
	start := time.Now()
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH on the survivor: %v", err)
	}
	t.Logf("FLUSH on the survivor took %v", time.Since(start).Round(time.Millisecond))
	got, err := readHAView(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if want := haWant(recs); !slices.Equal(got, want) {
		t.Errorf("view after failover and FLUSH:\n got %q\nwant %q", got, want)
	}

	// SHOW CLUSTER: the survivor alive with every lease and restores
	// counted; the killed node gone.
	rows, err := conn.Query(ctx, "SHOW CLUSTER")
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for rows.Next() {
		var id, addr string
		var alive bool
		var leases, fenced, restores, last int64
		if err := rows.Scan(&id, &addr, &alive, &leases, &fenced, &restores, &last); err != nil {
			t.Fatal(err)
		}
		shown = append(shown, fmt.Sprintf("%s alive=%v leases=%d restores=%d", id, alive, leases, restores))
		switch id {
		case nodes[survivor].id:
			if !alive || leases != 8 || restores < 1 {
				t.Errorf("SHOW CLUSTER: survivor %s alive=%v leases=%d restores=%d, want alive with 8 and the killed node's committed parts restored",
					id, alive, leases, restores)
			}
		case nodes[victim].id:
			if alive || leases != 0 {
				t.Errorf("SHOW CLUSTER: killed %s alive=%v leases=%d, want gone with none", id, alive, leases)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("SHOW CLUSTER: %s", strings.Join(shown, "; "))

	// A node joins: it asks for its share and the survivor hands parts
	// off at its commits. Then the survivor leaves with SIGTERM, releasing
	// its leases, and the newcomer takes them at once, without waiting
	// out a lease duration.
	n3 := startClusterNode(t, bin, "n3", dyn, s3, lease)
	conn3 := connectForBacklog(t, n3.srv.addr)
	joined := time.Now()
	waitUntil(ctx, t, "n3 to take its share by hand-off", func() (bool, error) {
		owners, err := leaseOwners(ctx, conn3, group)
		if err != nil {
			return false, err
		}
		held := map[string]int{}
		for _, o := range owners {
			held[o]++
		}
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
		if want := haWant(recs); !slices.Equal(got, want) {
			return false, fmt.Errorf("view on n3 after the survivor left:\n got %q\nwant %q", got, want)
		}
		return true, nil
	})
	t.Logf("graceful leave: %v from SIGTERM of %s to n3 answering the view with all 8 parts",
		time.Since(left).Round(time.Millisecond), nodes[survivor].id)
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
