package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/cluster"
)

func testClusterFlags(table, store string) *clusterFlags {
	empty, region, d := "", "us-east-1", cluster.DefaultLeaseDuration
	return &clusterFlags{table: &table, stateStore: &store, nodeID: &empty, advertise: &empty, secret: &empty,
		dynamoEndpoint: &empty, s3Endpoint: &empty, region: &region, leaseDuration: &d}
}

// Without --cluster and --state-store, serve runs one process as before
// and never reaches the code that makes DynamoDB and S3 clients; with
// only one of them it refuses to start, before joining anything.
func TestServe_ClusterFlags(t *testing.T) {
	joined := 0
	orig := joinCluster
	joinCluster = func(context.Context, cluster.Options) (*cluster.Member, error) {
		joined++
		return nil, context.Canceled
	}
	t.Cleanup(func() { joinCluster = orig })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	for _, tc := range []struct{ table, store string }{{"t", ""}, {"", "s3://b/p"}} {
		f := testServerFlags(t, "")
		f.cluster = testClusterFlags(tc.table, tc.store)
		err := serve(context.Background(), f, log, nil)
		if err == nil || !strings.Contains(err.Error(), "--cluster and --state-store go together") {
			t.Errorf("--cluster %q --state-store %q: %v", tc.table, tc.store, err)
		}
	}

	f := testServerFlags(t, "")
	f.cluster = testClusterFlags("", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	served := false
	err := serve(ctx, f, log, func(eng *streamsql.Engine, _ listening) {
		served = true
		rows, err := eng.Query(ctx, "SHOW CLUSTER")
		if err != nil {
			t.Errorf("SHOW CLUSTER: %v", err)
		} else {
			if rows.Next() {
				t.Error("SHOW CLUSTER has rows without a cluster")
			}
			rows.Close()
		}
		cancel()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !served || joined != 0 {
		t.Errorf("served %v, joined a cluster %d times; want served and never joined", served, joined)
	}

	// Both flags: the join is attempted (here it fails), and its error
	// ends serve.
	f = testServerFlags(t, "")
	f.cluster = testClusterFlags("t", "s3://b/p")
	if err := serve(context.Background(), f, log, nil); err == nil || joined != 1 {
		t.Errorf("with both flags: err %v, joined %d times; want the join's error after one join", err, joined)
	}
}

func TestAdvertiseAddr(t *testing.T) {
	host, _ := os.Hostname()
	for _, tc := range []struct {
		in   net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4566}, "127.0.0.1:4566"},
		{&net.TCPAddr{IP: net.IPv6zero, Port: 4566}, net.JoinHostPort(host, "4566")},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 5}, net.JoinHostPort(host, "5")},
	} {
		if got := advertiseAddr(tc.in); got != tc.want {
			t.Errorf("advertiseAddr(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
