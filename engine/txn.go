package engine

import (
	"context"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Transaction blocks and cursors. A block (BEGIN ... COMMIT) makes no
// statement atomic: each takes effect as it runs, and ROLLBACK undoes
// nothing. What the block does is what clients rely on in Postgres:
// ReadyForQuery reports it ('T'), cursors and portals live until it ends,
// and after an error every statement but COMMIT and ROLLBACK fails with
// 25P02 until the block ends ('E'), so that a client never runs the rest
// of a unit of work whose beginning failed.

type txnState uint8

const (
	txnIdle   txnState = iota // no block: each statement on its own
	txnBlock                  // inside BEGIN ... COMMIT
	txnFailed                 // inside a block after an error
)

// TxStatus returns the session's transaction status as Postgres's
// ReadyForQuery reports it: 'I' idle, 'T' in a block, 'E' in a failed block.
func (s *Session) TxStatus() byte {
	switch s.txn {
	case txnBlock:
		return 'T'
	case txnFailed:
		return 'E'
	}
	return 'I'
}

// FailTransaction marks the transaction block, if any, as failed: a
// server calls it for errors the session did not see (a Bind whose
// parameters cannot be decoded). The session marks its own errors.
func (s *Session) FailTransaction() { s.failTxn() }

func (s *Session) failTxn() {
	if s.txn == txnBlock {
		s.txn = txnFailed
	}
}

// ErrInFailedTransaction returns the error of a statement sent to a failed
// transaction block.
func ErrInFailedTransaction() error {
	return sqlerr.Newf(sqlerr.InFailedSQLTransaction,
		"current transaction is aborted, commands ignored until end of transaction block").
		WithHint("Send ROLLBACK to end the transaction block.")
}

// checkTxn refuses a statement that a failed block does not allow.
func (s *Session) checkTxn(st sql.Statement) error {
	if s.txn != txnFailed {
		return nil
	}
	switch st.(type) {
	case *sql.Commit, *sql.Rollback:
		return nil
	}
	return ErrInFailedTransaction()
}

func (s *Session) begin() *Rows {
	rows := done("BEGIN")
	if s.txn != txnIdle {
		rows.warnings = []*sqlerr.Error{sqlerr.Newf(sqlerr.ActiveSQLTransaction, "there is already a transaction in progress")}
		return rows
	}
	s.txn = txnBlock
	return rows
}

// endTxn ends the block with COMMIT (commit true) or ROLLBACK. A failed
// block's COMMIT is a ROLLBACK, and says so in its tag. Cursors end with
// the block, except WITH HOLD ones of a block that committed.
func (s *Session) endTxn(commit bool) *Rows {
	tag := "ROLLBACK"
	if commit && s.txn != txnFailed {
		tag = "COMMIT"
	}
	if s.txn == txnIdle {
		if commit {
			tag = "COMMIT"
		}
		rows := done(tag)
		rows.warnings = []*sqlerr.Error{sqlerr.Newf(sqlerr.NoActiveSQLTransaction, "there is no transaction in progress")}
		return rows
	}
	committed := tag == "COMMIT"
	s.closeCursors(func(c *cursor) bool { return !c.hold || c.inBlock && !committed })
	for _, c := range s.cursors {
		c.inBlock = false
	}
	s.txn = txnIdle
	return done(tag)
}

// cursor is a DECLAREd cursor: the rows of its query, read by FETCH.
type cursor struct {
	info    CursorInfo
	rows    *Rows
	columns []types.Column
	hold    bool
	inBlock bool // declared in the block now open: a ROLLBACK closes it even WITH HOLD
	cancel  context.CancelCauseFunc
	end     func()
}

func (c *cursor) close() {
	_ = c.rows.Close()
	c.cancel(nil)
	c.end()
}

// declare opens a cursor. Its query runs under a context of its own, not
// the DECLARE's: it outlives the statement until CLOSE, the end of its
// block or of the session, and the engine's Close cancels it. Each FETCH
// runs under its own statement context (fetch).
func (s *Session) declare(ctx context.Context, st *Statement, p *sql.Declare, params []types.Value) (*Rows, error) {
	if s.txn == txnIdle && !p.Hold {
		return nil, sqlerr.Newf(sqlerr.NoActiveSQLTransaction, "DECLARE CURSOR can only be used in transaction blocks").
			WithHint("Send BEGIN first, or declare the cursor WITH HOLD.")
	}
	if _, ok := s.cursors[p.Name]; ok {
		return nil, sqlerr.Newf(sqlerr.DuplicateCursor, "cursor %q already exists", p.Name).At(p.NamePos)
	}
	cctx, end, err := s.engine.beginStatement(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancelCause(cctx)
	rows, err := s.runQuery(cctx, st, params)
	if err != nil {
		cancel(nil)
		end()
		return nil, err
	}
	rows.ctx = cctx
	if s.cursors == nil {
		s.cursors = make(map[string]*cursor)
	}
	s.cursors[p.Name] = &cursor{info: CursorInfo{Name: p.Name, Statement: st.text, Holdable: p.Hold, Created: time.Now()}, rows: rows, columns: rows.columns, hold: p.Hold, inBlock: s.txn != txnIdle,
		cancel: cancel, end: end}
	out := done("DECLARE CURSOR")
	out.warnings = rows.warnings
	return out, nil
}

// fetch reads the next rows of a cursor (FETCH), or skips them (MOVE). A
// cancel or a statement timeout of the FETCH cancels the cursor's query
// (its iterator only knows the context it was started with), and a
// cursor whose query failed is closed once its FETCH has reported why.
func (s *Session) fetch(ctx context.Context, p *sql.Fetch) (*Rows, error) {
	c, ok := s.cursors[p.Name]
	if !ok {
		return nil, sqlerr.Newf(sqlerr.InvalidCursorName, "cursor %q does not exist", p.Name).At(p.NamePos)
	}
	stop := context.AfterFunc(ctx, func() { c.cancel(context.Cause(ctx)) })
	var n int64
	next := func() (types.Row, error) {
		if !p.All && n >= p.Count {
			return nil, io.EOF
		}
		if !c.rows.Next() {
			if err := c.rows.Err(); err != nil {
				// The query is over: the cursor reports why once,
				// then is gone.
				c.close()
				delete(s.cursors, p.Name)
				return nil, err
			}
			return nil, io.EOF
		}
		n++
		return c.rows.Row(), nil
	}
	if p.Move {
		defer stop()
		for {
			if _, err := next(); err != nil {
				if err == io.EOF {
					return done("MOVE " + strconv.FormatInt(n, 10)), nil
				}
				return nil, err
			}
		}
	}
	out := &Rows{columns: c.columns, countTag: "FETCH", next: next, ready: c.rows.Ready,
		close: func() { stop() }}
	// The rows this FETCH reads raise their warnings now: they go to its
	// client, under its cap.
	c.rows.forwardWarnings(out)
	return out, nil
}

// CursorInfo describes an open cursor, as Postgres's pg_cursors does.
type CursorInfo struct {
	Name      string
	Statement string // the DECLARE statement's text
	Holdable  bool   // WITH HOLD
	Created   time.Time
}

// Cursors returns the session's open cursors by name (for pg_cursors,
// which psycopg2 reads before it closes a named cursor it never used).
func (s *Session) Cursors() []CursorInfo {
	out := make([]CursorInfo, 0, len(s.cursors))
	for _, c := range s.cursors {
		out = append(out, c.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Session) closeCursor(p *sql.CloseCursor) (*Rows, error) {
	if p.All {
		s.closeCursors(func(*cursor) bool { return true })
		return done("CLOSE CURSOR ALL"), nil
	}
	c, ok := s.cursors[p.Name]
	if !ok {
		return nil, sqlerr.Newf(sqlerr.InvalidCursorName, "cursor %q does not exist", p.Name).At(p.NamePos)
	}
	c.close()
	delete(s.cursors, p.Name)
	return done("CLOSE CURSOR"), nil
}

// closeCursors closes the cursors for which which returns true.
func (s *Session) closeCursors(which func(*cursor) bool) {
	for name, c := range s.cursors {
		if which(c) {
			c.close()
			delete(s.cursors, name)
		}
	}
}

// CopyFormat says how the rows of COPY ... TO STDOUT are written:
// Postgres's text format or CSV, with COPY's options.
type CopyFormat struct {
	CSV       bool
	Header    bool
	Delimiter byte
	Null      string
	Quote     byte // CSV
	Escape    byte // CSV
	// ForceQuote has one entry per column: quote its non-null values
	// even when they need no quotes (CSV's FORCE_QUOTE).
	ForceQuote []bool
}

// resolveCopyFormat checks a COPY's FORCE_QUOTE columns against its result.
func resolveCopyFormat(f *sql.CopyFormat, cols []types.Column) (*CopyFormat, error) {
	out := &CopyFormat{CSV: f.CSV, Header: f.Header, Delimiter: f.Delimiter, Null: f.Null, Quote: f.Quote, Escape: f.Escape}
	if !f.ForceQuoteAll && len(f.ForceQuote) == 0 {
		return out, nil
	}
	out.ForceQuote = make([]bool, len(cols))
	for i := range cols {
		out.ForceQuote[i] = f.ForceQuoteAll
	}
	for k, name := range f.ForceQuote {
		found := false
		for i, c := range cols {
			if c.Name == name {
				out.ForceQuote[i], found = true, true
			}
		}
		if !found {
			return nil, sqlerr.Newf(sqlerr.Code("42P10"), "FORCE_QUOTE column %q not referenced by COPY", name).At(f.ForceQuotePos[k])
		}
	}
	return out, nil
}
