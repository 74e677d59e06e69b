package cluster

import (
	"context"
	"errors"
)

// ErrVersionTaken is returned by AppendCatalog when another node appended
// that version first: load it, check the statement again, retry at the
// next version (docs/cluster.md section 6).
var ErrVersionTaken = errors.New("catalog version already taken")

// CatalogEntry is one version of the catalog log: one DDL statement.
type CatalogEntry struct {
	Version int64
	Stmt    string
}

// CatalogLog is the cluster's versioned DDL log; every node applies its
// entries in order.
type CatalogLog interface {
	// AppendCatalog writes version (from 1), conditional on nobody having
	// written it: ErrVersionTaken otherwise.
	AppendCatalog(ctx context.Context, version int64, stmt string) error
	// CatalogAfter returns every entry with a version above version, in
	// ascending order.
	CatalogAfter(ctx context.Context, version int64) ([]CatalogEntry, error)
}
