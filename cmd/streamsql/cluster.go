package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/streamsql/streamsql/cluster"
)

// clusterFlags are serve's cluster flags (docs/cluster.md section 10).
type clusterFlags struct {
	table, stateStore, nodeID, advertise *string
	secret, dynamoEndpoint, s3Endpoint   *string
	region                               *string
	leaseDuration                        *time.Duration
}

func addClusterFlags(fs *flagSet) *clusterFlags {
	return &clusterFlags{
		table: fs.string("cluster", "", "join the cluster whose leases and catalog are in this DynamoDB table (created if missing); "+
			"needs --state-store; empty: one process, as without a cluster"),
		stateStore: fs.string("state-store", "", "s3://bucket/prefix where the cluster keeps view state (with --cluster)"),
		nodeID:     fs.string("node-id", "", "this node's id in the cluster (default: the host name and a random suffix)"),
		advertise:  fs.string("advertise", "", "the Postgres address other nodes reach this node at (default: the address --listen bound)"),
		leaseDuration: fs.duration("lease-duration", cluster.DefaultLeaseDuration,
			"how long a silent node keeps its leases before others take them; heartbeats run every fifth of it"),
		secret:         fs.string("cluster-secret", "", "shared secret that signs the statements nodes send each other; empty: they are answered like any client's"),
		dynamoEndpoint: fs.string("dynamodb-endpoint", "", "DynamoDB endpoint URL (an emulator's, e.g. http://127.0.0.1:8000); empty: AWS's"),
		s3Endpoint:     fs.string("s3-endpoint", "", "S3 endpoint URL (an emulator's); empty: AWS's"),
		region:         fs.string("aws-region", "us-east-1", "AWS region of the cluster's DynamoDB table and S3 bucket"),
	}
}

// enabled reports whether the flags ask for a cluster, and an error when
// only one of --cluster and --state-store is given.
func (c *clusterFlags) enabled() (bool, error) {
	if c == nil {
		return false, nil
	}
	switch table, store := *c.table != "", *c.stateStore != ""; {
	case table && store:
		if *c.leaseDuration <= 0 {
			return false, fmt.Errorf("--lease-duration %v: must be positive", *c.leaseDuration)
		}
		return true, nil
	case table || store:
		return false, errors.New("--cluster and --state-store go together: give both to run as a cluster node, or neither")
	}
	return false, nil
}

// joinCluster is cluster.Join; a test replaces it to prove that a server
// started without --cluster never constructs a DynamoDB or S3 client.
var joinCluster = cluster.Join

// join joins the cluster the flags name; ln is the bound pgwire listener,
// the default advertised address.
func (c *clusterFlags) join(ctx context.Context, ln net.Listener, password string) (*cluster.Member, error) {
	id := *c.nodeID
	if id == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "node"
		}
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		id = host + "-" + hex.EncodeToString(b[:])
	}
	addr := *c.advertise
	if addr == "" {
		addr = advertiseAddr(ln.Addr())
	}
	// Credentials come from the AWS SDK's default chain (environment,
	// shared files, instance role), as for Kinesis.
	return joinCluster(ctx, cluster.Options{
		Table: *c.table, StateURL: *c.stateStore, NodeID: id, Advertise: addr,
		LeaseDuration: *c.leaseDuration, DynamoEndpoint: *c.dynamoEndpoint, S3Endpoint: *c.s3Endpoint,
		Region: *c.region, Secret: *c.secret, PeerPassword: password,
	})
}

// advertiseAddr is the address peers use by default: the bound one, with
// the host name instead of an unspecified IP (--listen :4566), which
// peers cannot dial.
func advertiseAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return a.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
