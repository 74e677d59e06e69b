package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// tokenGate accepts the token "ok:<op>" only.
type tokenGate struct{}

func (tokenGate) CheckPeer(op, token string) error {
	if token != "ok:"+op {
		return ErrPeerToken
	}
	return nil
}

// fixedStatus is a cluster's status as SHOW CLUSTER shows it.
type fixedStatus struct{}

func (fixedStatus) ClusterNodes(context.Context) ([]ClusterNode, error) {
	return []ClusterNode{{ID: "n1", Addr: "127.0.0.1:1", Alive: true, Leases: 3, Fenced: 1, Restores: 2, LastEpoch: 40,
		LagMillis: 1500, HasLag: true},
		{ID: "n2", Addr: "127.0.0.1:2"}}, nil
}

func (fixedStatus) ClusterLeases(context.Context) ([]ClusterLease, error) {
	return []ClusterLease{{Group: "view/v", Key: "0/2", Owner: "n1", Counter: 3, Epoch: 40, Moves: 0},
		{Group: "view/v", Key: "1/2", Counter: 4, Handoff: "n2"}}, nil
}

func sqlCode(err error) sqlerr.Code {
	var se *sqlerr.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

// Outside a cluster, SHOW CLUSTER is empty with a warning saying why, and
// the peer statements are refused.
func TestShowCluster_NotMember(t *testing.T) {
	e := openTest(t, t.TempDir())
	for _, q := range []string{"SHOW CLUSTER", "SHOW CLUSTER LEASES"} {
		rows, err := e.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if n != 0 || len(rows.Warnings()) != 1 {
			t.Errorf("%s: %d rows, warnings %v; want none and one warning", q, n, rows.Warnings())
		}
	}
	err := e.Exec(context.Background(), "STREAMSQL CLUSTER FLUSH LOCAL TOKEN ''")
	if sqlCode(err) != sqlerr.ObjectNotInPrerequisiteState {
		t.Errorf("a peer statement outside a cluster: %v, want 55000", err)
	}
}

// In a cluster, SHOW CLUSTER shows the status; a peer's scan of a part
// answers the part's committed view rows with the right token only, and
// is refused for a part that does not run here.
func TestClusterPeer_Statements(t *testing.T) {
	c := newFakeCluster()
	n := c.node("n1")
	cfg := n.config()
	cfg.Gate, cfg.Status = tokenGate{}, fixedStatus{}
	e, err := Open(context.Background(), Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		CheckpointInterval: 50 * time.Millisecond, Cluster: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	c.mu.Lock()
	n.e = e
	c.mu.Unlock()

	if got, want := queryStrings(t, e, "SHOW CLUSTER"), []string{"n1 127.0.0.1:1 t 3 1 2 40 1500", "n2 127.0.0.1:2 f 0 0 0 0 NULL"}; !slices.Equal(got, want) {
		t.Errorf("SHOW CLUSTER: %q, want %q", got, want)
	}
	if got, want := queryStrings(t, e, "SHOW CLUSTER LEASES"), []string{"view/v 0/2 n1 3 40 0 NULL", "view/v 1/2 NULL 4 0 0 n2"}; !slices.Equal(got, want) {
		t.Errorf("SHOW CLUSTER LEASES: %q, want %q", got, want)
	}

	clusterReady(t, 0, e)
	parts := viewParts(4)
	for _, p := range parts {
		c.take(p, "n1")
	}
	waitFor(t, "four parts running", func() bool { return e.ClusterStats().Held == 4 })
	if err := e.Exec(context.Background(), "FLUSH"); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range parts {
		var want [][2]string
		if err := e.ScanLocalPart(context.Background(), p, func(k, v []byte) error {
			want = append(want, [2]string{string(k), string(v)})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		total += len(want)
		rows, err := e.Query(context.Background(), PeerScanStatement(p, "ok:"+PeerScanOp(p)))
		if err != nil {
			t.Fatalf("scan of %s: %v", p, err)
		}
		var got [][2]string
		for rows.Next() {
			r := rows.Row()
			got = append(got, [2]string{r[0].Str(), r[1].Str()})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("peer scan of %s: %d entries, want the %d ScanLocalPart reads", p, len(got), len(want))
		}
	}
	if total != 10 {
		t.Errorf("the parts hold %d view rows, want the 10 groups", total)
	}
	_, err = e.Query(context.Background(), PeerScanStatement(parts[0], "forged"))
	if sqlCode(err) != sqlerr.InvalidAuthorization {
		t.Errorf("scan with a wrong token: %v, want 28000", err)
	}
	other := PartID{Group: ViewGroup("nope"), Index: 0, Count: 1}
	_, err = e.Query(context.Background(), PeerScanStatement(other, "ok:"+PeerScanOp(other)))
	if sqlCode(err) != sqlerr.ObjectNotInPrerequisiteState {
		t.Errorf("scan of a part not running here: %v, want 55000", err)
	}
	if err := e.Exec(context.Background(), PeerFlushStatement("ok:"+PeerFlushOp)); err != nil {
		t.Errorf("FLUSH LOCAL: %v", err)
	}
}
