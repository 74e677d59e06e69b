// Package streamsql is the embedding API of the streamsql engine: open an
// engine on a data directory, run statements, read rows, close it. The
// pgwire server (package wire) and the binary are built on this same API.
//
// It is a thin layer over package engine, which runs the engine: the names
// here are aliases of engine's, so that embedders depend on this package
// while the engine's layout may change under it (docs/cluster.md, section
// 10).
package streamsql

import (
	"context"

	"github.com/streamsql/streamsql/engine"
)

// Config configures an Engine.
type Config = engine.Config

// Engine is one running streamsql instance. It is safe for concurrent use.
type Engine = engine.Engine

// Open opens (or creates) the engine's data directory, loads the catalog and
// returns a running engine.
func Open(ctx context.Context, cfg Config) (*Engine, error) { return engine.Open(ctx, cfg) }

// Session holds per-connection settings (SET/SHOW/RESET) and runs statements.
type Session = engine.Session

// SessionInfo is who a session runs for, as the wire layer learned it at
// startup.
type SessionInfo = engine.SessionInfo

// Statement is one parsed and bound statement; it can run many times.
type Statement = engine.Statement

// Rows is the result of a statement. Call Next until it returns false, then
// Err. Rows must be closed.
type Rows = engine.Rows

// CopyFormat says how the rows of COPY ... TO STDOUT are written.
type CopyFormat = engine.CopyFormat

// CursorInfo describes an open cursor, as Postgres's pg_cursors does.
type CursorInfo = engine.CursorInfo

// CheckpointStats summarises the checkpoints committed since Open.
type CheckpointStats = engine.CheckpointStats

// ViewProfile is a running view's operator graph with each operator's
// counters, and the lag of every shard it reads.
type ViewProfile = engine.ViewProfile

// OperatorProfile is one operator (or source input) of a view's graph.
type OperatorProfile = engine.OperatorProfile

// ShardLag is one shard a view reads.
type ShardLag = engine.ShardLag

const (
	// DefaultCheckpointInterval is how often epochs are cut and committed
	// unless Config.CheckpointInterval or SET checkpoint_interval says
	// otherwise.
	DefaultCheckpointInterval = engine.DefaultCheckpointInterval
	// DefaultCheckpointMinInterval is how soon after the previous
	// checkpoint began an epoch is cut early (when a view read rows from a
	// caught-up shard), unless Config.CheckpointMinInterval or SET
	// checkpoint_min_interval says otherwise.
	DefaultCheckpointMinInterval = engine.DefaultCheckpointMinInterval
	// DefaultFlushTimeout bounds FLUSH when its statement has no deadline
	// of its own (statement_timeout).
	DefaultFlushTimeout = engine.DefaultFlushTimeout
	// MinMemoryLimit is the least Config.MemoryLimit accepted.
	MinMemoryLimit = engine.MinMemoryLimit
)

// DefaultMemoryLimit is the memory limit when none is given: half of the
// machine's memory (the cgroup's limit when one is set, else physical
// memory), at least 256 MiB and at most 8 GiB.
func DefaultMemoryLimit() int64 { return engine.DefaultMemoryLimit() }

// ParseMemoryLimit reads a size such as "2GiB", "512MiB", "1.5GB" or a
// number of bytes.
func ParseMemoryLimit(s string) (int64, error) { return engine.ParseMemoryLimit(s) }

// ErrInFailedTransaction returns the error of a statement sent to a failed
// transaction block.
func ErrInFailedTransaction() error { return engine.ErrInFailedTransaction() }

// Version is what version() returns.
func Version() string { return engine.Version() }
