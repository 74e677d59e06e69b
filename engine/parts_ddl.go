package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Statements in a cluster. DDL runs on the node it was sent to, as in one
// process; once it has succeeded there it is appended to the cluster's
// catalog log, and every other node applies it in log order with a system
// session (followDDL). What a cluster does not run yet is refused with
// 0A000: tables and DML (a table would need a lease of its own),
// SUBSCRIBE (its changes would come from every part's owner), sinks over
// a view or a query (sinks from a source run by shard: sinkparts.go), and
// views over views (a part reads sources only).
//
// Known limit: two nodes running conflicting DDL at the same moment (both
// CREATE the same name) both succeed locally; the log orders them and the
// loser's statement fails where it is applied (logged).

// notInCluster is the error of what a cluster does not run yet.
func notInCluster(what string) error {
	return sqlerr.Newf(sqlerr.FeatureNotSupported, "%s not supported in a cluster yet", what).
		WithHint("Run it on a server started without --cluster.")
}

// execute runs a statement sent to this node: run executes it locally.
func (c *clusterMember) execute(ctx context.Context, st *Statement, params []types.Value,
	run func(context.Context, *Statement, []types.Value) (*Rows, error)) (*Rows, error) {
	var name string
	switch p := st.stmt.(type) {
	case *sql.CreateTable, *sql.Insert, *sql.Update, *sql.Delete:
		return nil, notInCluster("tables are")
	case *sql.Subscribe:
		return nil, notInCluster("SUBSCRIBE is")
	case *sql.CreateSink:
		if from, ok := c.e.catalog.get(p.From); p.Query != nil || (ok && from.kind != sql.KindSource) {
			return nil, notInCluster("a sink over a query or a materialized view is")
		}
		name = p.Name
	case *sql.Flush:
		var rows *Rows
		if err := c.flushLocal(ctx, func(ctx context.Context) error {
			var err error
			if rows != nil {
				rows.Close()
			}
			rows, err = run(ctx, st, params)
			return err
		}); err != nil {
			return nil, err
		}
		if err := c.cfg.Peers.Flush(ctx); err != nil {
			rows.Close()
			if ctx.Err() != nil {
				return nil, sqlerr.Flatten(ctx.Err())
			}
			return nil, sqlerr.Wrap(err, sqlerr.QueryCanceled, "FLUSH of the parts held by other nodes")
		}
		return rows, nil
	case *sql.CreateView:
		obj, err := c.e.catalog.snapshot().define(ctx, p, p.Name, p.NamePos, p.IfNotExists)
		if err != nil {
			return nil, err
		}
		if obj != nil && obj.stream != nil {
			for _, in := range obj.stream.Inputs {
				if in.Changelog() {
					return nil, notInCluster("a materialized view over another view or a table is")
				}
			}
		}
		name = p.Name
	case *sql.CreateSource:
		name = p.Name
	case *sql.Drop:
		return c.drop(ctx, st, params, run)
	default:
		return run(ctx, st, params)
	}
	c.ddlMu.Lock()
	defer c.ddlMu.Unlock()
	before, _ := c.e.catalog.get(name)
	rows, err := run(ctx, st, params)
	if err != nil {
		return rows, err
	}
	if after, _ := c.e.catalog.get(name); after == before {
		return rows, nil // IF NOT EXISTS of an object that exists: nothing happened
	}
	return c.appendDDL(ctx, rows, st.text, name), nil
}

// drop runs a DROP here and in the cluster, and deletes the leases of the
// views it dropped (with CASCADE, perhaps more than the one named).
func (c *clusterMember) drop(ctx context.Context, st *Statement, params []types.Value,
	run func(context.Context, *Statement, []types.Value) (*Rows, error)) (*Rows, error) {
	c.ddlMu.Lock()
	defer c.ddlMu.Unlock()
	objs := append(c.e.catalog.list(sql.KindView), c.e.catalog.list(sql.KindSink)...)
	_, existed := c.e.catalog.get(st.stmt.(*sql.Drop).Name)
	rows, err := run(ctx, st, params)
	if err != nil || !existed {
		return rows, err // an error, or IF EXISTS of nothing: nothing happened
	}
	rows = c.appendDDL(ctx, rows, st.text, "")
	for _, o := range objs {
		if _, ok := c.e.catalog.get(o.entry.Name); ok {
			continue
		}
		group := ViewGroup(o.entry.Name)
		if o.kind == sql.KindSink {
			group = SinkGroup(o.entry.Name)
		}
		if err := c.cfg.Membership.Drop(ctx, group); err != nil {
			c.e.log.Warn("cluster: delete the leases of a dropped object", "group", group, "err", err)
			rows.warnings = append(rows.warnings, sqlerr.Newf(sqlerr.Warning,
				"the leases of %s were not deleted: %v", group, err))
		}
	}
	return rows, nil
}

// appendDDL appends a statement that succeeded here to the cluster's
// catalog log; a failure is a WARNING on rows. name is the object a
// CREATE made, whose stored definition is what goes.
func (c *clusterMember) appendDDL(ctx context.Context, rows *Rows, text, name string) *Rows {
	if name != "" {
		// What the catalog stored (an endpoint pinned by this node's
		// configuration included).
		if o, ok := c.e.catalog.get(name); ok {
			text = o.entry.Definition
		}
	}
	if name != "" {
		if o, ok := c.e.catalog.get(name); ok {
			text = withCreatedAt(text, o.entry.CreatedAt)
		}
	}
	v, err := c.cfg.Catalog.AppendDDL(ctx, text)
	if err != nil {
		c.e.log.Error("cluster: DDL applied on this node but not recorded in the cluster's catalog", "statement", text, "err", err)
		rows.warnings = append(rows.warnings, sqlerr.Newf(sqlerr.Warning,
			"applied on this node only: the cluster's catalog did not record it: %v", err))
		return rows
	}
	c.own[v] = true
	return rows
}

// createdAtKey is the context key of the moment a CREATE applied from the
// catalog log was made at on its first node: every node's object has the
// same CreatedAt, which pins what start_position = 'latest' and a
// generator's event time mean.
type createdAtKey struct{}

// createdAtLine starts the line the log's text of a CREATE begins with.
const createdAtLine = "-- streamsql created_at "

// withCreatedAt prefixes a CREATE's text with its moment.
func withCreatedAt(text string, at time.Time) string {
	return createdAtLine + at.UTC().Format(time.RFC3339Nano) + "\n" + text
}

// splitCreatedAt undoes withCreatedAt; ok is false for a text without it.
func splitCreatedAt(s string) (text string, at time.Time, ok bool) {
	rest, found := strings.CutPrefix(s, createdAtLine)
	if !found {
		return s, time.Time{}, false
	}
	line, text, found := strings.Cut(rest, "\n")
	if !found {
		return s, time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, line)
	if err != nil {
		return s, time.Time{}, false
	}
	return text, at, true
}

// followRetry is the pause before the catalog log is followed again
// after it failed.
const followRetry = time.Second

// followDDL applies the DDL of other nodes, in log order, until ctx ends.
func (c *clusterMember) followDDL(ctx context.Context) {
	applied, err := c.e.db.ClusterCatalogVersion()
	if err != nil {
		c.e.log.Error("cluster: cannot follow the catalog log", "err", err)
		return
	}
	for ctx.Err() == nil {
		err := c.cfg.Catalog.Follow(ctx, applied, func(version uint64, stmt string) error {
			c.applyDDL(ctx, version, stmt)
			applied = version
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		c.e.log.Warn("cluster: following the catalog log failed; retried", "after_version", applied, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(followRetry):
		}
	}
}

// applyDDL runs one statement of the catalog log, unless this node
// appended it. A statement that fails is logged and skipped: every node
// applies the same log, so what fails here failed everywhere after the
// node that ran it first.
func (c *clusterMember) applyDDL(ctx context.Context, version uint64, stmt string) {
	c.ddlMu.Lock()
	defer c.ddlMu.Unlock()
	defer func() {
		if err := c.e.db.SetClusterCatalogVersion(version); err != nil {
			c.e.log.Warn("cluster: record the catalog version applied; a restart applies it again", "version", version, "err", err)
		}
	}()
	if c.own[version] {
		return
	}
	s := c.e.NewSession()
	s.replica = true
	defer s.Close()
	sctx := ctx
	if text, at, ok := splitCreatedAt(stmt); ok {
		stmt, sctx = text, context.WithValue(ctx, createdAtKey{}, at)
	}
	if err := s.exec(sctx, stmt); err != nil {
		if ctx.Err() == nil {
			c.e.log.Warn("cluster: a DDL statement of the catalog log failed here; skipped", "version", version,
				"statement", stmt, "err", fmt.Sprint(err))
		}
		return
	}
	c.wake()
}
