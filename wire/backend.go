package wire

import (
	"context"

	"github.com/streamsql/streamsql/sql/types"
)

// Backend is the engine as the wire server sees it: it opens one Session per
// client connection. EngineBackend adapts the root streamsql API to it.
type Backend interface {
	// NewSession opens the session of a newly authenticated connection.
	// startup holds the client's startup parameters (user, database,
	// application_name, ...).
	NewSession(ctx context.Context, startup map[string]string) (Session, error)
}

// Session runs the statements of one connection. The server calls it from
// one goroutine at a time.
type Session interface {
	// Prepare parses and binds every statement in query. Error positions are
	// 1-based character offsets into query.
	Prepare(ctx context.Context, query string) ([]Statement, error)
	// Execute runs st with len(params) == st.NumParams(). The returned Rows
	// stay usable until ctx is done or they are closed.
	Execute(ctx context.Context, st Statement, params []types.Value) (Rows, error)
	// ReportedSettings returns the settings a server reports with
	// ParameterStatus, with their current values.
	ReportedSettings() map[string]string
	// Close releases the session.
	Close()
}

// Statement is one prepared statement.
type Statement interface {
	SQL() string
	NumParams() int
	// ParamTypes returns the inferred parameter types (Unknown where the
	// statement does not constrain one).
	ParamTypes() []types.Type
	// Columns returns the result columns, nil for a statement without rows.
	Columns() []types.Column
}

// Rows is the result of one execution. Row is valid until the next Next.
type Rows interface {
	Columns() []types.Column
	Next() bool
	Row() types.Row
	Err() error
	// Tag is the command tag ("SELECT 3", "SET") once Next returned false.
	Tag() string
	Close() error
}

// ReadyRows is implemented by Rows whose Next can wait for rows that do not
// exist yet (a tail of a source). Before such a wait the server flushes
// the rows it has buffered, so that the client sees them now rather than
// when 64 KiB have piled up.
type ReadyRows interface {
	Rows
	// Ready reports whether Next would return without waiting.
	Ready() bool
}

// TxSession is implemented by Sessions with transaction blocks. Without
// it every statement stands alone: ReadyForQuery always reports idle and
// Sync closes every portal.
type TxSession interface {
	Session
	// TxStatus is the status ReadyForQuery reports: 'I' idle, 'T' in a
	// transaction block, 'E' in a failed block. Portals outlive Sync only
	// in a block.
	TxStatus() byte
	// FailTransaction marks the block failed after an error the session
	// did not report itself (a Bind that could not be decoded).
	FailTransaction()
}

// SuspendableRows is implemented by Rows that a client may read in steps
// (Execute with a row limit): the server calls Suspend when it suspends
// the portal and Resume when the next Execute continues it, so that the
// time the client takes between steps does not count as the statement's.
type SuspendableRows interface {
	Rows
	Suspend()
	Resume()
}
