package engine

import (
	"context"
	"errors"

	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// SHOW CLUSTER and the internal statements peers send (docs/cluster.md
// sections 7 and 10). The internal statements are answered only with a
// token that signs them with the cluster secret (ClusterConfig.Gate);
// without a secret they are answered like any client's statement, since
// they only read what SELECT reads and do what FLUSH does.

var (
	clusterNodeColumns = []types.Column{textCol("node"), textCol("address"), {Name: "alive", Type: types.TypeBool},
		{Name: "leases", Type: types.TypeBigInt}, {Name: "fenced_commits", Type: types.TypeBigInt},
		{Name: "restores", Type: types.TypeBigInt}, {Name: "last_epoch", Type: types.TypeBigInt},
		{Name: "lag_ms", Type: types.TypeBigInt}}
	clusterLeaseColumns = []types.Column{textCol("group"), textCol("key"), textCol("owner"),
		{Name: "counter", Type: types.TypeBigInt}, {Name: "epoch", Type: types.TypeBigInt},
		{Name: "moves", Type: types.TypeBigInt}, textCol("handoff")}
	peerScanColumns = []types.Column{{Name: "key", Type: types.TypeBytes}, {Name: "val", Type: types.TypeBytes}}
)

// bindCluster sets the columns of SHOW CLUSTER and of a peer's scan.
func bindCluster(st *Statement) {
	switch p := st.stmt.(type) {
	case *sql.ShowCluster:
		st.columns = clusterNodeColumns
		if p.Leases {
			st.columns = clusterLeaseColumns
		}
	case *sql.ClusterPeer:
		if p.Op == "scan" {
			st.columns = peerScanColumns
		}
	}
}

func (e *Engine) clusterStatus() ClusterStatus {
	if e.cluster == nil {
		return nil
	}
	return e.cluster.cfg.Status
}

// showCluster answers SHOW CLUSTER [LEASES]. Outside a cluster it is an
// empty result with a warning saying so.
func (s *Session) showCluster(ctx context.Context, st *Statement, p *sql.ShowCluster) (*Rows, error) {
	status := s.engine.clusterStatus()
	if status == nil {
		rows := staticRows(st.columns, nil, "")
		rows.warnings = append(rows.warnings, sqlerr.Newf(sqlerr.Warning,
			"this server is not a cluster member (started without --cluster): no nodes or leases to show"))
		return rows, nil
	}
	var out []types.Row
	if p.Leases {
		leases, err := status.ClusterLeases(ctx)
		if err != nil {
			return nil, sqlerr.Wrap(err, sqlerr.ConnectionException, "SHOW CLUSTER LEASES")
		}
		for _, l := range leases {
			out = append(out, types.Row{types.NewString(l.Group), types.NewString(l.Key), optString(l.Owner),
				types.NewInt(l.Counter), types.NewInt(int64(l.Epoch)), types.NewInt(l.Moves), optString(l.Handoff)})
		}
		return staticRows(st.columns, out, ""), nil
	}
	nodes, err := status.ClusterNodes(ctx)
	if err != nil {
		return nil, sqlerr.Wrap(err, sqlerr.ConnectionException, "SHOW CLUSTER")
	}
	for _, n := range nodes {
		lag := types.Null
		if n.HasLag {
			lag = types.NewInt(n.LagMillis)
		}
		out = append(out, types.Row{types.NewString(n.ID), types.NewString(n.Addr), types.NewBool(n.Alive),
			types.NewInt(int64(n.Leases)), types.NewInt(n.Fenced), types.NewInt(n.Restores), types.NewInt(int64(n.LastEpoch)), lag})
	}
	return staticRows(st.columns, out, ""), nil
}

func optString(s string) types.Value {
	if s == "" {
		return types.Null
	}
	return types.NewString(s)
}

// clusterPeer answers a peer's internal statement.
func (s *Session) clusterPeer(ctx context.Context, st *Statement, p *sql.ClusterPeer) (*Rows, error) {
	e := s.engine
	if e.cluster == nil {
		return nil, sqlerr.Newf(sqlerr.ObjectNotInPrerequisiteState, "this server is not a cluster member")
	}
	var part PartID
	op := PeerFlushOp
	if p.Op == "scan" {
		var err error
		if part, err = ParsePart(p.Group, p.Key); err != nil {
			return nil, sqlerr.Wrap(err, sqlerr.InvalidParameterValue, "STREAMSQL CLUSTER SCAN PART")
		}
		op = PeerScanOp(part)
	}
	if g := e.cluster.cfg.Gate; g != nil {
		if err := g.CheckPeer(op, p.Token); err != nil {
			code := sqlerr.ObjectNotInPrerequisiteState
			if errors.Is(err, ErrPeerToken) {
				code = sqlerr.InvalidAuthorization
			}
			return nil, sqlerr.Wrap(err, code, "cluster peer statement refused")
		}
	}
	if p.Op == "flush" {
		if err := e.FlushLocal(ctx); err != nil {
			return nil, err
		}
		return tagged("FLUSH", nil)
	}
	var rows []types.Row
	err := e.ScanLocalPart(ctx, part, func(k, v []byte) error {
		rows = append(rows, types.Row{types.NewBytes(k), types.NewBytes(v)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return staticRows(st.columns, rows, ""), nil
}

// ErrPeerToken is what a PeerGate returns, wrapped, for a token that does
// not sign the statement with this node's cluster secret.
var ErrPeerToken = errors.New("the peer's token does not match this node's cluster secret")
