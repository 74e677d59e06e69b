package engine

import (
	"context"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/pgcatalog"
	"github.com/streamsql/streamsql/pgcatalog/eval"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Queries that read the Postgres catalog (sql.CatalogQuery) do not go
// through the planner: pgcatalog/eval prepares them against a
// pgcatalog.Catalog built from a snapshot of our catalog, and runs them
// against a fresh one each time.

// processStart is what pg_postmaster_start_time() reports.
var processStart = time.Now()

// pgCatalog builds the Postgres catalog over snap for this session.
func (s *Session) pgCatalog(snap *catalogSnapshot) *pgcatalog.Catalog {
	ps := pgcatalog.Snapshot{
		User:       s.info.user(),
		Database:   s.info.database(),
		Version:    Version(),
		BackendPID: int(s.info.BackendPID),
		StartTime:  processStart,
		SetSetting: func(name, value string) (string, error) {
			if err := s.settings.set(name, value); err != nil {
				return "", err
			}
			return s.settings[strings.ToLower(name)], nil
		},
	}
	for name, def := range settingDefs {
		ps.Settings = append(ps.Settings, pgcatalog.Setting{Name: displayName(name), Value: s.settings[name], ReadOnly: def.readOnly})
	}
	for _, f := range expr.Functions() {
		ps.Functions = append(ps.Functions, pgcatalog.Function{Name: f.Name, MinArgs: f.MinArgs, MaxArgs: f.MaxArgs, Aggregate: f.Aggregate})
	}
	for _, c := range s.Cursors() {
		ps.Cursors = append(ps.Cursors, pgcatalog.Cursor{Name: c.Name, Statement: c.Statement, Holdable: c.Holdable, Created: c.Created})
	}
	for _, o := range snap.objects {
		ps.Objects = append(ps.Objects, snap.pgObject(o))
	}
	return pgcatalog.New(ps)
}

// pgObject is how the Postgres catalog shows one of our objects.
func (c *catalogSnapshot) pgObject(o *object) pgcatalog.Object {
	po := pgcatalog.Object{ID: o.entry.ID, Name: o.entry.Name, Connector: o.connector}
	var columns []types.Column
	switch o.kind {
	case sql.KindSource:
		po.Kind = pgcatalog.Source
		for _, col := range o.createSource.Columns {
			po.Columns = append(po.Columns, pgcatalog.Column{Name: col.Name, Type: col.Type, NotNull: col.NotNull})
		}
		po.Options = shownOptions(o.createSource.Options, sql.RoleSource)
	case sql.KindView:
		po.Kind = pgcatalog.View
		columns = o.columns
		po.Query = o.viewQuery
		if o.stream != nil {
			po.Key = o.stream.Key
		}
	case sql.KindTable:
		po.Kind = pgcatalog.Table
		for _, col := range o.createTable.Columns {
			po.Columns = append(po.Columns, pgcatalog.Column{Name: col.Name, Type: col.Type, NotNull: col.NotNull})
		}
		po.Key = o.tableKey
	case sql.KindSink:
		po.Kind = pgcatalog.Sink
		columns = o.sinkColumns
		if from, ok := c.objects[o.createSink.From]; ok && columns == nil {
			columns = from.columns
		}
		po.Options = shownOptions(o.createSink.Options, sql.RoleSink)
	}
	for _, col := range columns {
		po.Columns = append(po.Columns, pgcatalog.Column{Name: col.Name, Type: col.Type})
	}
	return po
}

// shownOptions are the options written in a definition, secrets masked.
func shownOptions(opts sql.Options, role sql.Role) [][2]string {
	secret := map[string]bool{}
	if name, ok := opts.Get("connector"); ok {
		if spec, ok := sql.LookupConnector(role, name); ok {
			for _, o := range spec.Options {
				secret[o.Key] = o.Secret
			}
		}
	}
	var out [][2]string
	for _, o := range opts.List {
		if o.Default {
			continue
		}
		v := o.Value
		if secret[o.Key] {
			v = "***"
		}
		out = append(out, [2]string{o.Key, v})
	}
	return out
}

// viewQueryText is a view's query as written, for pg_get_viewdef.
func viewQueryText(s *sql.CreateView) string {
	base, q := s.Span().Start, s.Query.Span()
	if q.Start < base || q.End-base > len(s.Text) {
		return ""
	}
	text := s.Text[q.Start-base : q.End-base]
	if s.EmitOnWindowClose {
		text += " EMIT ON WINDOW CLOSE"
	}
	return text
}

// bindCatalogQuery prepares a catalog query: its columns and parameters.
func (s *Session) bindCatalogQuery(st *Statement, p *sql.CatalogQuery) (err error) {
	defer s.recoverCatalogQuery(p, &err)
	q, err := eval.Prepare(p.Text, s.pgCatalog(st.catalog))
	if err != nil {
		return catalogQueryError(err, p)
	}
	st.pgQuery, st.pgText = q, p
	if p.Copy == nil { // COPY describes no columns, as Postgres's does
		st.columns = catalogColumns(q)
	}
	return nil
}

// catalogColumns describes a catalog query's result columns in our types.
func catalogColumns(q *eval.Query) []types.Column {
	var cols []types.Column
	for _, c := range q.Columns() {
		cols = append(cols, types.Column{Name: c.Name, Type: c.Type.Out()})
	}
	return cols
}

// recoverCatalogQuery turns a panic while preparing or running a catalog
// query (building the catalog, evaluating, converting values) into the
// statement's error, logged once with its stack: a tool's odd query must
// not end the session that sent it.
func (s *Session) recoverCatalogQuery(p *sql.CatalogQuery, err *error) {
	if r := recover(); r != nil {
		s.engine.log.Error("catalog query panicked", "panic", r, "query", p.Text, "stack", string(debug.Stack()))
		*err = sqlerr.Newf(sqlerr.Internal, "internal error: the catalog query failed: %v", r)
	}
}

// catalogQueryError places an evaluator error in the client's text.
func catalogQueryError(err error, p *sql.CatalogQuery) error {
	e := sqlerr.Flatten(err)
	if e.Position > 0 {
		e = e.At(p.Position(e.Position))
	}
	return e
}

// executeCatalogQuery runs a prepared catalog query against the catalog as
// it is now.
func (s *Session) executeCatalogQuery(ctx context.Context, st *Statement, params []types.Value) (_ *Rows, err error) {
	p := st.pgText
	defer s.recoverCatalogQuery(p, &err)
	args := make([]eval.Value, len(params))
	for i, v := range params {
		args[i] = evalValue(v)
	}
	out, err := st.pgQuery.Run(ctx, s.pgCatalog(s.engine.catalog.snapshot()), args)
	if err != nil {
		return nil, catalogQueryError(err, p)
	}
	cols := st.pgQuery.Columns()
	i := 0
	return &Rows{columns: catalogColumns(st.pgQuery), next: func() (types.Row, error) {
		if i == len(out) {
			return nil, io.EOF
		}
		r := make(types.Row, len(cols))
		for j, c := range cols {
			r[j] = eval.OutValue(out[i][j], c.Type)
		}
		i++
		return r, nil
	}}, nil
}

// evalValue converts a parameter to the evaluator's form.
func evalValue(v types.Value) eval.Value {
	switch v.Kind() {
	case types.Unknown:
		return nil
	case types.Bool:
		return v.Bool()
	case types.Int:
		return v.Int()
	case types.Float:
		return v.Float()
	case types.Bytes:
		return []byte(v.Str())
	case types.Date:
		return time.Unix(v.Days()*86400, 0).UTC()
	case types.Timestamp:
		return v.Time()
	case types.Decimal, types.String, types.JSON:
		return v.Str()
	}
	return v.String()
}
