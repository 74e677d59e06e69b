// Package streamsql is the embedding API of the streamsql engine: open an
// engine on a data directory, run statements, read rows, close it. The
// pgwire server (package wire) and the binary are built on this same API.
package streamsql

import (
	"context"
	"log/slog"

	"github.com/streamsql/streamsql/sql/types"
)

// Config configures an Engine.
type Config struct {
	// DataDir is where Badger keeps the catalog, state and offsets. Required.
	DataDir string
	// Logger receives the engine's logs; slog.Default() when nil.
	Logger *slog.Logger
}

// Engine is one running streamsql instance. It is safe for concurrent use.
type Engine struct{}

// Open opens (or creates) the engine's data directory, loads the catalog and
// returns a running engine.
func Open(ctx context.Context, cfg Config) (*Engine, error) { panic("todo") }

// Close stops every query and closes the data directory.
func (e *Engine) Close() error { panic("todo") }

// NewSession returns a session with default settings. Sessions are not safe
// for concurrent use; a pgwire connection owns one.
func (e *Engine) NewSession() *Session { panic("todo") }

// Exec runs every statement in query, in order, on a fresh session,
// discarding rows. args bind $1..$n (or ?) of a single statement.
func (e *Engine) Exec(ctx context.Context, query string, args ...any) error { panic("todo") }

// Query runs one statement and returns its rows.
func (e *Engine) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	panic("todo")
}

// Session holds per-connection settings (SET/SHOW/RESET) and runs statements.
type Session struct{}

// Prepare parses and binds every statement in query. Errors carry a position
// relative to query.
func (s *Session) Prepare(ctx context.Context, query string) ([]*Statement, error) {
	panic("todo")
}

// Execute runs a prepared statement with parameter values (len must equal
// NumParams). Cancelling ctx cancels the statement with SQLSTATE 57014.
func (s *Session) Execute(ctx context.Context, st *Statement, params []types.Value) (*Rows, error) {
	panic("todo")
}

// Setting returns the current value of a session parameter ("" when unknown).
func (s *Session) Setting(name string) string { panic("todo") }

// ReportedSettings returns the parameters a Postgres server reports with
// ParameterStatus, with their current values.
func (s *Session) ReportedSettings() map[string]string { panic("todo") }

// Close releases the session.
func (s *Session) Close() {}

// Statement is one parsed and bound statement; it can run many times.
type Statement struct{}

// SQL returns the statement's own text.
func (st *Statement) SQL() string { panic("todo") }

// NumParams returns how many parameters ($1..$n or ?) the statement takes.
func (st *Statement) NumParams() int { panic("todo") }

// ParamTypes returns the inferred type of each parameter (Unknown when the
// statement does not constrain it; clients then send text).
func (st *Statement) ParamTypes() []types.Type { panic("todo") }

// Columns returns the result columns, or nil for a statement without rows.
func (st *Statement) Columns() []types.Column { panic("todo") }

// Rows is the result of a statement. Call Next until it returns false, then
// Err. Rows must be closed.
type Rows struct{}

// Columns returns the result columns (nil for a statement without rows).
func (r *Rows) Columns() []types.Column { panic("todo") }

// Next advances to the next row. It blocks for rows that are not there yet
// (a tail of a source) until ctx given to Execute is done.
func (r *Rows) Next() bool { panic("todo") }

// Row returns the current row. It is valid until the next call to Next.
func (r *Rows) Row() types.Row { panic("todo") }

// Err returns the error that ended iteration, if any.
func (r *Rows) Err() error { panic("todo") }

// Tag returns the command tag once iteration has ended ("SELECT 3",
// "CREATE SOURCE", "SET").
func (r *Rows) Tag() string { panic("todo") }

// Close releases the rows; it is safe to call twice.
func (r *Rows) Close() error { panic("todo") }
