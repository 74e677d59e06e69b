package engine

import (
	"context"
	"sync"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// closeWaitStatements bounds how long Close waits for running statements
// to end once it has cancelled them; only rows nobody reads or closes
// take that long.
const closeWaitStatements = 5 * time.Second

// statements tracks the statements in flight, so that Close can cancel
// them and let them end before it closes the data directory under them.
type statements struct {
	mu     sync.Mutex
	n      int
	closed bool
	idle   chan struct{} // closed when n is zero after close
}

// begin counts a statement in; false once the engine is closing.
func (s *statements) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.n++
	return true
}

func (s *statements) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n--; s.n == 0 && s.closed {
		close(s.idle)
	}
}

// close lets no more statements begin and waits up to d for the running
// ones to end; it returns how many are still running.
func (s *statements) close(d time.Duration) int {
	s.mu.Lock()
	s.closed, s.idle = true, make(chan struct{})
	if s.n == 0 {
		close(s.idle)
	}
	s.mu.Unlock()
	select {
	case <-s.idle:
		return 0
	case <-time.After(d):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// errShuttingDown is why a statement ends when the engine closes under it.
var errShuttingDown = sqlerr.Newf(sqlerr.AdminShutdown, "terminating statement: the engine is shutting down")

// beginStatement returns the context a statement runs under: ctx, also
// cancelled when the engine closes. end releases it once the statement
// and its rows are done; it may be called more than once.
func (e *Engine) beginStatement(ctx context.Context) (_ context.Context, end func(), _ error) {
	if !e.stmts.begin() {
		return nil, nil, sqlerr.Newf(sqlerr.AdminShutdown, "the engine is closed")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(e.ctx, func() { cancel(errShuttingDown) })
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			stop()
			cancel(nil)
			e.stmts.end()
		})
	}, nil
}
