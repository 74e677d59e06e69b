// Package engine runs streamsql: the catalog and statement execution
// (sessions, transactions, cursors, SHOW and the system catalogs), tables,
// the continuous views (their manager, runners, inputs and the checkpoint
// coordinator that cuts and commits epochs), changelogs and subscriptions,
// sinks, the shared readers of each source's shards, metrics and the memory
// budget. It runs in one process over one Badger directory; the root package
// streamsql is the embedding API over it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// Config configures an Engine.
type Config struct {
	// DataDir is where Badger keeps the catalog, state and offsets. Required.
	DataDir string
	// Logger receives the engine's logs; slog.Default() when nil.
	Logger *slog.Logger
	// CheckpointInterval is how often an epoch is cut and committed;
	// DefaultCheckpointInterval when zero. Negative is an error.
	CheckpointInterval time.Duration
	// CheckpointMinInterval is how soon after the previous checkpoint
	// began an epoch holding rows read from a caught-up source is cut,
	// ahead of the interval (DefaultCheckpointMinInterval). Zero means the
	// default; negative cuts such epochs as soon as the previous commit
	// is done.
	CheckpointMinInterval time.Duration
	// AggCacheGroups bounds the groups each aggregate of a view keeps in
	// memory; the others are read from its state in Badger when touched.
	// 0 bounds them by bytes only: every view's aggregates and joins share
	// an eighth of MemoryLimit (memory.go), so that a million groups stay
	// in memory when the limit allows. More memory, fewer state reads.
	AggCacheGroups int
	// MemoryLimit is the memory, in bytes, that the engine's caches,
	// Badger's caches and memtables and its writes not yet committed are
	// sized to stay within together (memory.go); 0 means
	// DefaultMemoryLimit(). It does not set the Go runtime's limit
	// (debug.SetMemoryLimit): the binary does, an embedder may.
	MemoryLimit int64
	// KinesisEndpoint is the endpoint of Kinesis sources and sinks created
	// without one (a local emulator's http://host:port); empty means AWS's.
	// CREATE writes it into the definition it stores, so SHOW CREATE shows
	// it, and the object keeps it whatever a later start says.
	KinesisEndpoint string
	// Clock is the wall clock PROCTIME() columns and processing-time
	// windows read (proctime.go); time.Now when nil. Tests set one they
	// move themselves.
	Clock func() time.Time
	// Cluster, when set, makes the engine a member of a cluster
	// (cluster_member.go): it runs the parts of views and sinks that
	// Cluster.Membership says it holds and commits them through
	// Cluster.Committer; CheckpointMinInterval then defaults to
	// CheckpointInterval (no early epochs). Nil: one process, as without
	// it.
	Cluster *ClusterConfig
}

// Engine is one running streamsql instance. It is safe for concurrent use.
type Engine struct {
	log     *slog.Logger
	db      *state.DB
	catalog *catalog
	sources sourceHubs // shared shard readers per source

	// ctx lives as long as the engine; everything running is under it.
	ctx    context.Context
	cancel context.CancelFunc

	sinksMu sync.Mutex
	sinks   map[string]*sinkRunner

	views *viewManager // continuous materialized views (view.go)

	cluster *clusterMember // nil outside a cluster (parts.go)

	tables tableManager // tables' run-time state (table.go)

	stmts statements // statements in flight (statements.go)

	aggCacheGroups  int              // Config.AggCacheGroups; 0 bounds groups by mem.caches only
	kinesisEndpoint string           // Config.KinesisEndpoint
	clock           func() time.Time // Config.Clock
	mem             memoryBudget
	metrics         *engineMetrics // Metrics (metrics.go)

	mu     sync.Mutex
	closed bool
}

// Open opens (or creates) the engine's data directory, loads the catalog and
// returns a running engine.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("streamsql: Config.DataDir is required")
	}
	if cfg.AggCacheGroups < 0 {
		return nil, fmt.Errorf("streamsql: Config.AggCacheGroups %d: must not be negative", cfg.AggCacheGroups)
	}
	if cfg.MemoryLimit != 0 && cfg.MemoryLimit < MinMemoryLimit {
		return nil, fmt.Errorf("streamsql: Config.MemoryLimit %d: must be at least %d (256 MiB)", cfg.MemoryLimit, MinMemoryLimit)
	}
	if cfg.CheckpointInterval < 0 {
		return nil, fmt.Errorf("streamsql: Config.CheckpointInterval %v: must be positive", cfg.CheckpointInterval)
	}
	if err := checkEndpointURL(cfg.KinesisEndpoint); err != nil {
		return nil, fmt.Errorf("streamsql: Config.KinesisEndpoint: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	limit := cfg.MemoryLimit
	if limit == 0 {
		limit = DefaultMemoryLimit()
	}
	mem := newMemoryBudget(limit)
	db, err := state.Open(ctx, state.Options{Dir: cfg.DataDir, Logger: log, Memory: mem.badger,
		// Deferred tables' committed writes count among the uncommitted
		// ones: applied at half that budget at most, they leave the rest
		// to epochs.
		DeferredApplyBytes: min(mem.uncommitted/2, state.DefaultDeferredApplyBytes)})
	if err != nil {
		return nil, err
	}
	e := &Engine{log: log, db: db, catalog: &catalog{db: db}, sinks: map[string]*sinkRunner{},
		aggCacheGroups: cfg.AggCacheGroups, mem: mem, kinesisEndpoint: cfg.KinesisEndpoint, clock: cfg.Clock}
	if e.clock == nil {
		e.clock = time.Now
	}
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	e.metrics = newEngineMetrics(e)
	e.sources.e = e
	e.tables.e = e
	if err := e.catalog.load(ctx); err != nil {
		e.cancel()
		_ = db.Close()
		return nil, err
	}
	interval := cfg.CheckpointInterval
	if interval == 0 {
		interval = DefaultCheckpointInterval
	}
	minInterval := cfg.CheckpointMinInterval
	switch {
	case minInterval == 0 && cfg.Cluster != nil:
		// In a cluster every epoch of every part is an object store PUT
		// and a conditional write per part (docs/cluster.md section 9
		// counts one a second): no early epochs unless asked for.
		minInterval = interval
	case minInterval == 0:
		minInterval = DefaultCheckpointMinInterval
	case minInterval < 0:
		minInterval = 0
	}
	if e.views, err = newViewManager(e, interval, minInterval); err != nil {
		e.cancel()
		_ = db.Close()
		return nil, err
	}
	if cfg.Cluster != nil {
		if e.cluster, err = newClusterMember(e, cfg.Cluster); err != nil {
			e.cancel()
			e.views.stopAll()
			_ = db.Close()
			return nil, fmt.Errorf("streamsql: %w", err)
		}
		defer e.cluster.start()
	}
	for _, o := range e.catalog.list(sql.KindView) {
		e.views.startView(o)
	}
	for _, o := range e.catalog.list(sql.KindSink) {
		e.startSink(o)
	}
	log.Info("engine open", "data_dir", cfg.DataDir, "objects", len(e.catalog.snapshot().objects), "memory_limit", humanize.IBytes(uint64(limit)),
		"took", time.Since(start).Round(time.Millisecond))
	return e, nil
}

// Close cancels every running statement, stops every view and sink, and
// closes the data directory. It is safe to call more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.cancel() // cancels every statement too (beginStatement)
	if e.cluster != nil {
		e.cluster.wg.Wait() // the reconciler starts no part from now on
	}
	e.sinksMu.Lock()
	names := make([]string, 0, len(e.sinks))
	for name := range e.sinks {
		names = append(names, name)
	}
	e.sinksMu.Unlock()
	for _, name := range names {
		e.stopSink(name)
	}
	if e.cluster != nil {
		e.cluster.stopSinkParts(nil)
	}
	e.views.stopAll()
	if n := e.stmts.close(closeWaitStatements); n > 0 {
		e.log.Warn("close: statements still running after their cancel; closing the data directory under them",
			"statements", n, "waited", closeWaitStatements)
	}
	return e.db.Close()
}

// NewSession returns a session with default settings. Sessions are not safe
// for concurrent use; a pgwire connection owns one.
func (e *Engine) NewSession() *Session {
	e.metrics.sessions.Inc()
	return &Session{engine: e, settings: newSettings()}
}

// Exec runs every statement in query, in order, discarding rows. args bind
// $1..$n (or ?) and are only allowed with a single statement.
func (e *Engine) Exec(ctx context.Context, query string, args ...any) error {
	s := e.NewSession()
	defer s.Close()
	return s.exec(ctx, query, args...)
}

// exec runs every statement in query on s, in order, discarding rows.
func (s *Session) exec(ctx context.Context, query string, args ...any) error {
	stmts, err := s.Prepare(ctx, query)
	if err != nil {
		return err
	}
	if len(args) > 0 && len(stmts) != 1 {
		return sqlerr.Newf(sqlerr.SyntaxError, "cannot use parameters with %d statements in one call", len(stmts))
	}
	for _, st := range stmts {
		params, err := bindArgs(st, args)
		if err != nil {
			return err
		}
		rows, err := s.Execute(ctx, st, params)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Query runs one statement and returns its rows; the caller closes them.
func (e *Engine) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	s := e.NewSession()
	stmts, err := s.Prepare(ctx, query)
	if err != nil {
		return s.closeOnEnd(nil, err)
	}
	if len(stmts) != 1 {
		return s.closeOnEnd(nil, sqlerr.Newf(sqlerr.SyntaxError, "Query takes one statement, got %d", len(stmts)))
	}
	params, err := bindArgs(stmts[0], args)
	if err != nil {
		return s.closeOnEnd(nil, err)
	}
	return s.closeOnEnd(s.Execute(ctx, stmts[0], params))
}

// bindArgs converts Go values to the statement's parameters.
func bindArgs(st *Statement, args []any) ([]types.Value, error) {
	if len(args) != st.NumParams() {
		return nil, sqlerr.Newf(sqlerr.UndefinedParameter, "statement takes %d parameters, got %d", st.NumParams(), len(args))
	}
	out := make([]types.Value, len(args))
	for i, a := range args {
		v, err := goValue(a)
		if err != nil {
			return nil, fmt.Errorf("parameter $%d: %w", i+1, err)
		}
		out[i] = v
	}
	return out, nil
}

// goValue converts one Go value to a SQL value.
func goValue(a any) (types.Value, error) {
	switch v := a.(type) {
	case nil:
		return types.Null, nil
	case types.Value:
		return v, nil
	case bool:
		return types.NewBool(v), nil
	case int:
		return types.NewInt(int64(v)), nil
	case int8:
		return types.NewInt(int64(v)), nil
	case int16:
		return types.NewInt(int64(v)), nil
	case int32:
		return types.NewInt(int64(v)), nil
	case int64:
		return types.NewInt(v), nil
	case uint8:
		return types.NewInt(int64(v)), nil
	case uint16:
		return types.NewInt(int64(v)), nil
	case uint32:
		return types.NewInt(int64(v)), nil
	case float32:
		return types.NewFloat(float64(v)), nil
	case float64:
		return types.NewFloat(v), nil
	case string:
		return types.NewString(v), nil
	case []byte:
		return types.NewBytes(v), nil
	case time.Time:
		return types.NewTimestampFromTime(v), nil
	}
	return types.Null, sqlerr.Newf(sqlerr.DatatypeMismatch, "unsupported Go type %T", a)
}
