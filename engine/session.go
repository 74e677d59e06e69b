package engine

import (
	"context"
	"strings"
	"time"

	"github.com/streamsql/streamsql/pgcatalog/eval"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Session holds per-connection settings (SET/SHOW/RESET) and runs statements.
type Session struct {
	engine   *Engine
	settings settings
	txn      txnState
	cursors  map[string]*cursor // txn.go
	info     SessionInfo
	closed   bool // Close has run (streamsql_sessions_open)
	// replica: the session applies another cluster node's DDL (parts_ddl.go).
	replica bool
}

// SessionInfo is who a session runs for, as the wire layer learned it at
// startup: current_user, current_database() and pg_backend_pid() answer
// it. Empty fields read as the defaults ("streamsql", 0).
type SessionInfo struct {
	User, Database string
	BackendPID     int32
}

// SetInfo records who the session runs for; statements prepared after it
// see it.
func (s *Session) SetInfo(info SessionInfo) { s.info = info }

// Info returns what SetInfo recorded.
func (s *Session) Info() SessionInfo { return s.info }

// defaultUser names the user and database of a session that was given none
// (embedding, or a view outliving its session).
const defaultUser = "streamsql"

func (i SessionInfo) user() string {
	if i.User == "" {
		return defaultUser
	}
	return i.User
}

func (i SessionInfo) database() string {
	if i.Database == "" {
		return i.user()
	}
	return i.Database
}

// Statement is one parsed and bound statement; it can run many times.
type Statement struct {
	stmt    sql.Statement
	text    string
	query   *planner.Query      // SELECT, and the query of EXPLAIN
	stream  *planner.StreamPlan // EXPLAIN CREATE MATERIALIZED VIEW: the operator DAG
	columns []types.Column
	bound   bool
	catalog *catalogSnapshot // what it was bound against
	pgQuery *eval.Query      // a catalog query (sql.CatalogQuery), alone or in DECLARE or COPY
	pgText  *sql.CatalogQuery
	dml     *dmlPlan // INSERT, UPDATE, DELETE (table_dml.go)
}

// SQL returns the statement's own text.
func (st *Statement) SQL() string { return st.text }

// NumParams returns how many parameters ($1..$n or ?) the statement takes.
func (st *Statement) NumParams() int {
	if st.pgQuery != nil {
		return st.pgQuery.NumParams()
	}
	switch st.stmt.(type) {
	case *sql.Select, *sql.Declare, *sql.Insert, *sql.Update, *sql.Delete:
		if st.query != nil {
			return len(st.query.ParamTypes())
		}
	}
	return 0
}

// ParamTypes returns the inferred type of each parameter (Unknown when the
// statement does not constrain it; clients then send text).
func (st *Statement) ParamTypes() []types.Type {
	if st.NumParams() == 0 {
		return nil
	}
	if st.pgQuery != nil {
		return make([]types.Type, st.NumParams()) // Unknown: clients send text
	}
	return st.query.ParamTypes()
}

// Columns returns the result columns, or nil for a statement without rows.
func (st *Statement) Columns() []types.Column { return st.columns }

// Prepare parses every statement in query. Errors carry a position relative
// to query. A single statement is bound at once, so that its parameters and
// columns can be described; in a text of several statements each is bound
// when it runs, because it may use what an earlier one creates. Cancelling
// ctx, or the session's statement_timeout, ends it with SQLSTATE 57014.
func (s *Session) Prepare(ctx context.Context, query string) ([]*Statement, error) {
	ctx, end, err := s.engine.beginStatement(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	ctx, cancel := s.statementContext(ctx)
	defer cancel()
	sts, err := s.prepare(ctx, query)
	if err == nil && len(sts) == 1 {
		err = s.checkTxn(sts[0].stmt)
	}
	if err != nil {
		s.failTxn()
	}
	return sts, statementError(ctx, err)
}

func (s *Session) prepare(ctx context.Context, query string) ([]*Statement, error) {
	parsed, err := sql.Parse(query)
	if err != nil {
		return nil, err
	}
	out := make([]*Statement, 0, len(parsed))
	for _, p := range parsed {
		span := p.Span()
		out = append(out, &Statement{stmt: p, text: query[span.Start:span.End]})
	}
	if len(out) == 1 {
		if err := s.bind(ctx, out[0]); err != nil {
			return nil, err
		}
		out[0].bound = true
	}
	return out, nil
}

var (
	textCol = func(name string) types.Column { return types.Column{Name: name, Type: types.TypeText} }
	nameCol = []types.Column{textCol("name")}
)

// bind works out a statement's result columns and, for queries, its plan,
// against the catalog as it is now.
func (s *Session) bind(ctx context.Context, st *Statement) error {
	st.catalog = s.engine.catalog.snapshot()
	switch p := st.stmt.(type) {
	case *sql.CatalogQuery:
		return s.bindCatalogQuery(st, p)
	case *sql.Select:
		q, err := s.plan(ctx, st, p, planner.Options{})
		if err != nil {
			return err
		}
		st.query = q
		if p.Copy == nil { // COPY describes no columns, as Postgres's does
			st.columns = q.Columns()
		}
	case *sql.Declare:
		if p.Catalog != nil {
			err := s.bindCatalogQuery(st, p.Catalog)
			st.columns = nil
			return err
		}
		q, err := s.plan(ctx, st, p.Query, planner.Options{})
		if err != nil {
			return err
		}
		st.query = q
	case *sql.Fetch:
		if c := s.cursors[p.Name]; c != nil && !p.Move {
			st.columns = c.columns
		}
	case *sql.Explain:
		var sel *sql.Select
		var opts planner.Options
		view := false
		switch inner := p.Stmt.(type) {
		case *sql.Select:
			sel = inner
		case *sql.CreateView:
			sel, opts.EmitOnWindowClose = inner.Query, inner.EmitOnWindowClose
			view = true
		case *sql.CreateSink:
			sel, opts.EmitOnWindowClose = inner.Query, inner.EmitOnWindowClose
		}
		if sel == nil {
			return sqlerr.Newf(sqlerr.FeatureNotSupported, "EXPLAIN takes a SELECT, a CREATE MATERIALIZED VIEW or a CREATE SINK ... AS SELECT")
		}
		q, err := s.plan(ctx, st, sel, opts)
		if err != nil {
			return err
		}
		st.query, st.columns = q, []types.Column{textCol("QUERY PLAN")}
		if view {
			if st.stream, err = planner.PlanStream(q, st.catalog.viewQuery); err != nil {
				return err
			}
		}
	case *sql.Subscribe:
		return s.bindSubscribe(st, p)
	case *sql.Insert, *sql.Update, *sql.Delete:
		return s.bindDML(ctx, st)
	case *sql.ShowObjects:
		st.columns = nameCol
		if p.Kind != sql.KindSource && p.Kind != sql.KindTable {
			st.columns = viewStatusColumns
		}
	case *sql.ShowCreate:
		st.columns = []types.Column{textCol("name"), textCol("create_sql")}
	case *sql.Describe:
		st.columns = []types.Column{textCol("name"), textCol("type")}
	case *sql.ExplainAnalyze:
		st.columns = []types.Column{textCol("QUERY PLAN")}
	case *sql.ShowSourceStatus:
		st.columns = sourceStatusColumns
	case *sql.ShowCluster, *sql.ClusterPeer:
		bindCluster(st) // cluster_peer.go
	case *sql.ShowVar:
		if p.Name == "all" {
			st.columns = []types.Column{textCol("name"), textCol("setting")}
		} else {
			st.columns = []types.Column{textCol(displayName(p.Name))}
		}
	}
	return nil
}

// plan plans a query against the statement's catalog snapshot: no lock is
// held, however long planning takes.
func (s *Session) plan(ctx context.Context, st *Statement, sel *sql.Select, opts planner.Options) (*planner.Query, error) {
	opts.Session = planner.SessionInfo{User: s.info.user(), Database: s.info.database(), BackendPID: s.info.BackendPID, Version: Version()}
	return planner.Plan(ctx, st.catalog, sel, opts)
}

// Execute runs a prepared statement with parameter values (len must equal
// NumParams). Cancelling ctx, the session's statement_timeout or closing
// the engine ends the statement (57014, 57P01); the timeout runs until its
// rows are read or closed.
func (s *Session) Execute(ctx context.Context, st *Statement, params []types.Value) (*Rows, error) {
	start := time.Now()
	ctx, end, err := s.engine.beginStatement(ctx)
	if err != nil {
		return nil, err
	}
	latency := s.engine.metrics.statements.WithLabelValues(statementKind(st.stmt))
	observe := func() { latency.Observe(time.Since(start).Seconds()) }
	var cancel context.CancelFunc
	var timer *stmtTimer
	if _, ok := st.stmt.(*sql.Select); ok {
		ctx, cancel, timer = s.queryContext(ctx)
	} else {
		ctx, cancel = s.statementContext(ctx)
	}
	rows, err := s.execute(ctx, st, params)
	if err != nil {
		cancel()
		end()
		observe()
		s.failTxn()
		return nil, statementError(ctx, err)
	}
	rows.ctx, rows.timer = ctx, timer
	rows.onClose(func() {
		cancel()
		end()
		observe()
		if rows.err != nil {
			s.failTxn()
		}
	})
	return rows, nil
}

func (s *Session) execute(ctx context.Context, st *Statement, params []types.Value) (*Rows, error) {
	if err := s.checkTxn(st.stmt); err != nil {
		return nil, err
	}
	if !st.bound {
		if err := s.bind(ctx, st); err != nil {
			return nil, err
		}
		st.bound = true
	}
	if len(params) != st.NumParams() {
		return nil, sqlerr.Newf(sqlerr.ProtocolViolation, "statement takes %d parameters, got %d", st.NumParams(), len(params))
	}
	if err := ctx.Err(); err != nil {
		return nil, sqlerr.Flatten(err)
	}
	if c := s.engine.cluster; c != nil && !s.replica {
		return c.execute(ctx, st, params, s.executeBound) // parts_ddl.go
	}
	return s.executeBound(ctx, st, params)
}

// executeBound runs a bound statement.
func (s *Session) executeBound(ctx context.Context, st *Statement, params []types.Value) (*Rows, error) {
	e := s.engine
	switch p := st.stmt.(type) {
	case *sql.CatalogQuery:
		rows, err := s.executeCatalogQuery(ctx, st, params)
		if err != nil || p.Copy == nil {
			return rows, err
		}
		if rows.copyFormat, err = resolveCopyFormat(p.Copy, rows.columns); err != nil {
			rows.Close()
			return nil, err
		}
		return rows, nil
	case *sql.Select:
		rows, err := s.runQuery(ctx, st, params)
		if err != nil || p.Copy == nil {
			return rows, err
		}
		if rows.copyFormat, err = resolveCopyFormat(p.Copy, rows.columns); err != nil {
			rows.Close()
			return nil, err
		}
		return rows, nil
	case *sql.Declare:
		return s.declare(ctx, st, p, params)
	case *sql.Fetch:
		return s.fetch(ctx, p)
	case *sql.CloseCursor:
		return s.closeCursor(p)
	case *sql.Explain:
		lines := st.query.Explain()
		if st.stream != nil {
			lines = st.stream.Explain()
		}
		return explainRows(st.columns, lines), nil
	case *sql.ExplainAnalyze:
		if _, err := s.lookup(p.Name, p.NamePos, sql.KindView); err != nil {
			return nil, err
		}
		prof, err := e.ViewProfile(p.Name)
		if err != nil {
			return nil, err
		}
		return explainRows(st.columns, explainAnalyzeLines(prof)), nil
	case *sql.CreateSource:
		if err := pinEndpoint(&p, e.kinesisEndpoint); err != nil {
			return nil, err
		}
		if err := e.checkStream(ctx, p, p.Options, "source", p.Name, p.NamePos, p.IfNotExists); err != nil {
			return nil, err
		}
		warning, err := e.checkFileSource(ctx, p)
		if err != nil {
			return nil, err
		}
		_, err = e.catalog.create(ctx, p, p.Name, p.NamePos, p.IfNotExists)
		rows, err := tagged("CREATE SOURCE", err)
		if rows != nil && warning != nil {
			rows.warnings = append(rows.warnings, warning)
		}
		return rows, err
	case *sql.CreateView:
		obj, err := e.catalog.create(ctx, p, p.Name, p.NamePos, p.IfNotExists)
		if obj != nil {
			e.views.startView(obj)
		}
		return tagged("CREATE MATERIALIZED VIEW", err)
	case *sql.CreateTable:
		_, err := e.catalog.create(ctx, p, p.Name, p.NamePos, p.IfNotExists)
		return tagged("CREATE TABLE", err)
	case *sql.Insert, *sql.Update, *sql.Delete:
		return s.executeDML(ctx, st, params)
	case *sql.CreateSink:
		if err := pinEndpoint(&p, e.kinesisEndpoint); err != nil {
			return nil, err
		}
		if err := e.checkStream(ctx, p, p.Options, "sink", p.Name, p.NamePos, p.IfNotExists); err != nil {
			return nil, err
		}
		obj, err := e.catalog.create(ctx, p, p.Name, p.NamePos, p.IfNotExists)
		if obj != nil {
			e.startSink(obj)
		}
		return tagged("CREATE SINK", err)
	case *sql.Drop:
		return tagged("DROP "+strings.ToUpper(p.Kind.String()), e.catalog.drop(p, e.stopObject))
	case *sql.ShowCluster:
		return s.showCluster(ctx, st, p) // cluster_peer.go
	case *sql.ClusterPeer:
		return s.clusterPeer(ctx, st, p)
	case *sql.ShowSourceStatus:
		if _, err := s.lookup(p.Name, p.NamePos, sql.KindSource); err != nil {
			return nil, err
		}
		return staticRows(st.columns, e.sources.status(p.Name), ""), nil
	case *sql.ShowObjects:
		var rows []types.Row
		for _, o := range e.catalog.list(p.Kind) {
			if p.Kind == sql.KindSource || p.Kind == sql.KindTable {
				rows = append(rows, types.Row{types.NewString(o.entry.Name)})
			} else {
				rows = append(rows, e.objectStatusRow(o))
			}
		}
		return staticRows(st.columns, rows, ""), nil
	case *sql.ShowCreate:
		o, err := s.lookup(p.Name, p.NamePos, p.Kind)
		if err != nil {
			return nil, err
		}
		return staticRows(st.columns, []types.Row{{types.NewString(o.entry.Name), types.NewString(o.shown)}}, ""), nil
	case *sql.Describe:
		o, ok := e.catalog.get(p.Name)
		if !ok || o.kind == sql.KindSink {
			return nil, sqlerr.Newf(sqlerr.UndefinedTable, "relation %q does not exist", p.Name).At(p.NamePos)
		}
		rows := make([]types.Row, len(o.columns))
		for i, c := range o.columns {
			typ := c.Type.String()
			if i == o.procCol() {
				typ += " *PROCTIME*" // as Flink's DESCRIBE marks it
			}
			rows[i] = types.Row{types.NewString(c.Name), types.NewString(typ)}
		}
		return staticRows(st.columns, rows, ""), nil
	case *sql.SetVar:
		var err error
		// Engine-wide, not session parameters (settings.go).
		if ok, err := e.setEngineSetting(p.Name, p.Value, p.Default); ok {
			return tagged("SET", err)
		}
		if p.Default {
			err = s.settings.reset(p.Name)
		} else {
			err = s.settings.set(p.Name, p.Value)
		}
		return tagged("SET", err)
	case *sql.ResetVar:
		if ok, err := e.setEngineSetting(p.Name, "", true); ok {
			return tagged("RESET", err)
		}
		return tagged("RESET", s.settings.reset(p.Name))
	case *sql.ShowVar:
		if p.Name == "all" {
			var rows []types.Row
			for _, kv := range s.allSettings() {
				rows = append(rows, types.Row{types.NewString(kv[0]), types.NewString(kv[1])})
			}
			return staticRows(st.columns, rows, "SHOW"), nil
		}
		v, err := s.showSetting(p.Name)
		if err != nil {
			return nil, err
		}
		return staticRows(st.columns, []types.Row{{types.NewString(v)}}, "SHOW"), nil
	case *sql.Flush:
		if p.Name != "" {
			o, ok := e.catalog.get(p.Name)
			if !ok {
				return nil, sqlerr.Newf(sqlerr.UndefinedTable, "materialized view or sink %q does not exist", p.Name).At(p.NamePos)
			}
			if o.kind == sql.KindSource {
				return nil, sqlerr.Newf(sqlerr.WrongObjectType, "%q is a source, not a materialized view or a sink", p.Name).At(p.NamePos)
			}
		}
		// One bound for the views and the sinks over sources together.
		start := time.Now()
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, DefaultFlushTimeout)
			defer cancel()
		}
		warnings, err := e.views.flush(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		sinkWarnings, err := e.flushSinks(ctx, start, p.Name)
		if err != nil {
			return nil, err
		}
		rows := done("FLUSH")
		rows.warnings = append(warnings, sinkWarnings...)
		return rows, nil
	case *sql.Begin:
		return s.begin(), nil
	case *sql.Commit:
		return s.endTxn(true), nil
	case *sql.Rollback:
		return s.endTxn(false), nil
	case *sql.Subscribe:
		return s.executeSubscribe(ctx, p)
	}
	return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "statement %T is not supported", st.stmt)
}

// runQuery starts a bound query: a SELECT, or the query of a cursor.
func (s *Session) runQuery(ctx context.Context, st *Statement, params []types.Value) (*Rows, error) {
	if st.pgQuery != nil {
		return s.executeCatalogQuery(ctx, st, params)
	}
	var scans []*sourceScan
	var warnings []*sqlerr.Error
	// The rows exist only once the query is running, and its expressions
	// warn from then on: the warnings go to rows, created below.
	var rows *Rows
	warn := func(w *sqlerr.Error) {
		if rows == nil { // a constant evaluated while planning (LIMIT)
			warnings = append(warnings, w)
			return
		}
		rows.warn(w)
	}
	it, err := st.query.RunWith(ctx, params, s.engine.scanOpener(st.query, &scans, &warnings), warn)
	if err != nil {
		for _, sc := range scans {
			sc.Close()
		}
		return nil, err
	}
	rows = iterRows(ctx, st.query.Columns(), it)
	rows.warnings = warnings
	if len(scans) > 0 {
		rows.ready = func() bool {
			for _, sc := range scans {
				if !sc.ready() {
					return false
				}
			}
			return true
		}
	}
	return rows, nil
}

// checkStream checks a new source's or sink's stream (checkKinesisStream)
// once the catalog has nothing against the statement, and before it
// stores it: the wait (bounded) holds no lock, and a statement refused
// for its definition never reaches for the network. An object that exists
// under IF NOT EXISTS is left alone.
func (e *Engine) checkStream(ctx context.Context, st sql.Statement, opts sql.Options, what, name string, namePos int, ifNotExists bool) error {
	skip, err := e.catalog.check(ctx, st, name, namePos, ifNotExists)
	if err != nil || skip {
		return err
	}
	return checkKinesisStream(ctx, opts, what, name)
}

// lookup finds an object of one kind, with errors that name what is there.
func (s *Session) lookup(name string, pos int, kind sql.ObjectKind) (*object, error) {
	o, ok := s.engine.catalog.get(name)
	if !ok {
		return nil, sqlerr.Newf(sqlerr.UndefinedTable, "%s %q does not exist", kind.String(), name).At(pos)
	}
	if o.kind != kind {
		return nil, sqlerr.Newf(sqlerr.WrongObjectType, "%q is a %s, not a %s", name, o.kind.String(), kind.String()).At(pos)
	}
	return o, nil
}

// Setting returns the current value of a session parameter ("" when unknown).
func (s *Session) Setting(name string) string { return s.settings[strings.ToLower(name)] }

// ReportedSettings returns the parameters a Postgres server reports with
// ParameterStatus, with their current values.
func (s *Session) ReportedSettings() map[string]string {
	out := make(map[string]string)
	for name, def := range settingDefs {
		if def.reported {
			out[displayName(name)] = s.settings[name]
		}
	}
	return out
}

// Close releases the session and its cursors.
func (s *Session) Close() {
	s.closeCursors(func(*cursor) bool { return true })
	if !s.closed {
		s.closed = true
		s.engine.metrics.sessions.Dec()
	}
}

// closeOnEnd closes the session, of one statement of the embedding API,
// when its rows end, or now if it failed.
func (s *Session) closeOnEnd(rows *Rows, err error) (*Rows, error) {
	if err != nil {
		s.Close()
		return nil, err
	}
	rows.onClose(s.Close)
	return rows, nil
}

// tagged is the result of a statement without rows that may have failed.
func tagged(tag string, err error) (*Rows, error) {
	if err != nil {
		return nil, err
	}
	return done(tag), nil
}

// explainRows is EXPLAIN's answer: one row per line.
func explainRows(columns []types.Column, lines []string) *Rows {
	rows := make([]types.Row, len(lines))
	for i, l := range lines {
		rows[i] = types.Row{types.NewString(l)}
	}
	return staticRows(columns, rows, "EXPLAIN")
}
