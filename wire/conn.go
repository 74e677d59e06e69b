package wire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgproto3/v2"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Sizes of the per-connection buffers. Replies are written into the bufio
// writer and flushed once per ReadyForQuery or Flush: pgproto3 alone would
// write every message with its own system call.
const (
	readBufferSize  = 16 << 10
	writeBufferSize = 64 << 10
)

var (
	errShutdown      = errors.New("wire: server shutting down")
	errMessageTooBig = errors.New("message exceeds the maximum message size")
	errClientGone    = errors.New("client connection lost")
)

// defaultSettings are reported when the session does not report them itself:
// clients (pgx among them) read server_version, encodings and DateStyle.
var defaultSettings = map[string]string{
	"server_version":              "16.0",
	"server_encoding":             "UTF8",
	"client_encoding":             "UTF8",
	"DateStyle":                   "ISO, MDY",
	"integer_datetimes":           "on",
	"standard_conforming_strings": "on",
	"TimeZone":                    "UTC",
	"IntervalStyle":               "postgres",
	"is_superuser":                "on",
	"application_name":            "",
}

// msgReader reads whole messages (frame.go) from the buffered connection
// into one reused buffer, refusing messages over the size limit before
// allocating for them. What it returns is valid until the next call, which
// is made only for the next message.
type msgReader struct {
	r   *bufio.Reader
	buf []byte
	max int
}

func (m *msgReader) Next(n int) ([]byte, error) {
	if n > m.max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", errMessageTooBig, n, m.max)
	}
	if cap(m.buf) < n || (cap(m.buf) > 1<<20 && n < 64<<10) {
		// Grow for a big message; give the memory back after one.
		m.buf = make([]byte, max(n, 4096))
	}
	b := m.buf[:n]
	if _, err := io.ReadFull(m.r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// prepared is a statement made by Parse (or the unnamed one of a Query).
type prepared struct {
	st    Statement    // nil for an empty query
	oids  []uint32     // parameter types as described to the client
	types []types.Type // ours for oids: how a parameter is decoded
	need  []types.Type // what the query needs (Unknown: anything)
}

// portal is a bound statement: Bind made it, Execute runs it, possibly in
// several steps when the client asks for a row limit.
type portal struct {
	st      Statement // nil for an empty query
	params  []types.Value
	formats []int16 // Bind's result format codes
	rows    Rows
	cancel  context.CancelFunc
	encs    []colEncoder
	done    bool
	tag     string
	warned  int // how many of rows' warnings were sent
}

func (p *portal) close() {
	if p.cancel != nil {
		p.cancel()
	}
	if p.rows != nil {
		_ = p.rows.Close()
		p.rows = nil
	}
}

// conn is one client connection and its session.
type conn struct {
	srv *Server
	nc  net.Conn
	br  *bufio.Reader
	w   *bufio.Writer
	fe  *frontend
	log *slog.Logger
	buf []byte // scratch for encoding protocol messages
	row []byte // scratch for encoding a DataRow
	esc []byte // scratch for quoting a CSV value

	pid, secret uint32
	ctx         context.Context
	cancel      context.CancelCauseFunc

	sess            Session
	stmts           map[string]*prepared
	portals         map[string]*portal
	reported        map[string]string
	settingsChanged bool
	failed          bool // an extended-query message failed: skip to Sync
	peerGone        atomic.Bool

	mu              sync.Mutex
	running         context.CancelFunc // the statement a cancel request would cancel
	cancelRequested bool               // a cancel request cancelled the running statement
	closing         bool               // shutting down: the read deadline stays in the past
}

func newConn(s *Server, nc net.Conn, ctx context.Context) *conn {
	c := &conn{
		srv:     s,
		nc:      nc,
		br:      bufio.NewReaderSize(nc, readBufferSize),
		w:       bufio.NewWriterSize(nc, writeBufferSize),
		log:     s.log.With("remote", nc.RemoteAddr().String()),
		stmts:   make(map[string]*prepared),
		portals: make(map[string]*portal),
	}
	c.ctx, c.cancel = context.WithCancelCause(ctx)
	c.fe = &frontend{r: &msgReader{r: c.br, max: s.opts.MaxMessageSize}}
	return c
}

// connError ends the session; other errors from handlers go to the client.
type connError struct{ err error }

func (e connError) Error() string { return e.err.Error() }
func (e connError) Unwrap() error { return e.err }

func isConnError(err error) bool {
	var ce connError
	return errors.As(err, &ce)
}

func (c *conn) serve() {
	defer c.close()
	defer c.recoverPanic()
	startup, ok := c.startup()
	if !ok {
		return
	}
	user := startup["user"]
	if c.srv.scram != nil {
		if err := c.authenticateSCRAM(c.srv.scram); err != nil {
			if isDisconnect(err) || errors.Is(err, errMessageTooBig) || errors.As(err, new(*protocolError)) {
				c.receiveFailed(err) // gone, or not speaking the protocol
				return
			}
			c.log.Info("wire: authentication failed", "user", user, "err", err)
			c.sendFatal(sqlerr.Newf(sqlerr.InvalidPassword, "password authentication failed for user %q", user))
			return
		}
	}
	c.send(&pgproto3.AuthenticationOk{})
	sess, err := c.srv.backend.NewSession(c.ctx, startup)
	if err != nil {
		c.log.Warn("wire: cannot open session", "err", err)
		c.sendFatal(err)
		return
	}
	c.sess = sess
	if err := c.srv.register(c); err != nil {
		c.sendFatal(err)
		return
	}
	c.log = c.log.With("pid", c.pid)
	if ps, ok := sess.(interface{ setBackendPID(uint32) }); ok {
		ps.setBackendPID(c.pid)
	}
	c.reportSettings()
	c.send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret})
	c.ready()
	if err := c.w.Flush(); err != nil {
		c.log.Info("wire: client went away during startup", "err", err)
		return
	}
	c.log.Debug("wire: session started", "user", user, "database", startup["database"])
	c.loop()
}

// startup reads the startup packet, answering SSL and GSSAPI encryption
// requests with 'N' and serving cancel requests. ok is false when the
// connection has nothing more to do.
func (c *conn) startup() (map[string]string, bool) {
	for {
		msg, err := c.fe.receiveStartup()
		if err != nil {
			if c.isClosing() || isDisconnect(err) {
				c.log.Debug("wire: connection closed before startup", "err", err)
			} else {
				c.log.Warn("wire: bad startup packet", "err", err)
				c.sendFatal(sqlerr.Newf(sqlerr.ProtocolViolation, "%v", err))
			}
			return nil, false
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			_ = c.w.WriteByte('N')
			if err := c.w.Flush(); err != nil {
				return nil, false
			}
		case *pgproto3.CancelRequest:
			c.srv.cancelRequest(m.ProcessID, m.SecretKey)
			return nil, false
		case *pgproto3.StartupMessage:
			if m.Parameters["user"] == "" {
				c.sendFatal(sqlerr.Newf(sqlerr.InvalidAuthorization, "no user name specified in startup packet"))
				return nil, false
			}
			return m.Parameters, true
		default:
			c.log.Warn("wire: unexpected startup message", "type", fmt.Sprintf("%T", msg))
			return nil, false
		}
	}
}

// loop serves messages until the client leaves or the session must end.
func (c *conn) loop() {
	for {
		msg, err := c.fe.receive(authNone)
		if err != nil {
			c.receiveFailed(err)
			return
		}
		if c.failed {
			switch msg.(type) {
			case *pgproto3.Sync, *pgproto3.Terminate:
			default:
				continue
			}
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			if err = c.simpleQuery(m.String); !isConnError(err) {
				c.ready()
			}
			err = c.flushAfter(err)
		case *pgproto3.Parse:
			err = c.extended(c.parse(m))
		case *pgproto3.Bind:
			err = c.extended(c.bind(m))
		case *pgproto3.Describe:
			err = c.extended(c.describe(m))
		case *pgproto3.Execute:
			err = c.extended(c.execute(m))
		case *pgproto3.Close:
			err = c.extended(c.closeMsg(m))
		case *pgproto3.Sync:
			c.failed = false
			c.ready()
			err = c.flushAfter(nil)
		case *pgproto3.Flush:
			err = c.flushAfter(nil)
		case *pgproto3.Terminate:
			c.log.Debug("wire: client terminated the session")
			return
		case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
			// No COPY FROM STDIN here: these can only be the rest of a
			// copy the server refused. Postgres ignores them too.
		case *pgproto3.FunctionCall:
			// A fast-path call stands alone, like a simple query.
			err = c.sendError(sqlerr.Newf(sqlerr.FeatureNotSupported, "function call messages are not supported"))
			if err == nil {
				c.ready()
			}
			err = c.flushAfter(err)
		default:
			err = c.extended(sqlerr.Newf(sqlerr.FeatureNotSupported, "message %T is not supported", msg))
		}
		if err != nil {
			if c.peerGone.Load() || isDisconnect(err) {
				c.log.Info("wire: client disconnected during a statement", "err", err)
			} else {
				c.log.Warn("wire: ending session", "err", err)
			}
			return
		}
	}
}

// receiveFailed ends the session after Receive failed, telling the client
// why when it is still there to hear it.
func (c *conn) receiveFailed(err error) {
	switch {
	case c.isClosing():
		c.sendFatal(sqlerr.Newf(sqlerr.AdminShutdown, "terminating connection due to administrator command"))
	case isDisconnect(err):
		c.log.Info("wire: client disconnected without Terminate")
	case errors.Is(err, errMessageTooBig):
		c.log.Warn("wire: message too large; ending session", "err", err)
		c.sendFatal(sqlerr.Newf(sqlerr.ProgramLimitExceeded, "%v", err))
	default: // a protocolError (frame.go), or the socket failed
		c.log.Warn("wire: protocol violation; ending session", "err", err)
		c.sendFatal(sqlerr.Newf(sqlerr.ProtocolViolation, "%v", err))
	}
}

// extended handles the outcome of an extended-query message: a SQL error is
// reported and the messages up to Sync are skipped.
func (c *conn) extended(err error) error {
	if err == nil {
		return nil
	}
	if isConnError(err) {
		return err
	}
	c.failed = true
	return c.sendError(err)
}

// flushAfter flushes the reply unless the session is already over.
func (c *conn) flushAfter(err error) error {
	if isConnError(err) {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return connError{fmt.Errorf("%w: %w", errClientGone, err)}
	}
	return nil
}

func (c *conn) close() {
	defer func() { _ = c.nc.Close() }()
	defer c.recoverPanic() // in a Rows' or the Session's Close
	defer c.cancel(errClientGone)
	c.closePortals()
	if c.sess != nil {
		c.sess.Close()
	}
	_ = c.w.Flush()
}

// recoverPanic is the session's failure boundary: a panic anywhere in the
// session's goroutine (the protocol, or the engine running a statement
// for it) ends this session with XX000 and leaves the process and every
// other session alone. Deferred directly, it must be.
func (c *conn) recoverPanic() {
	r := recover()
	if r == nil {
		return
	}
	c.srv.logPanic(c.log, r, debug.Stack())
	c.sendFatal(sqlerr.Newf(sqlerr.Internal, "internal error: %v", r))
}

func (c *conn) closePortals() {
	for name, p := range c.portals {
		p.close()
		delete(c.portals, name)
	}
}

// send encodes msg into the write buffer. Write errors stick in the
// bufio.Writer and surface at the next flush.
func (c *conn) send(msg pgproto3.BackendMessage) {
	b, err := msg.Encode(c.buf[:0])
	if err != nil {
		c.log.Error("wire: cannot encode message", "type", fmt.Sprintf("%T", msg), "err", err)
		return
	}
	c.buf = b
	_, _ = c.w.Write(b)
}

func (c *conn) ready() {
	if c.settingsChanged {
		c.settingsChanged = false
		c.reportSettings()
	}
	// Outside a transaction block every statement runs in its own
	// implicit transaction, which ends here and takes its portals with it.
	status := c.txStatus()
	if status == 'I' {
		c.closePortals()
	}
	c.send(&pgproto3.ReadyForQuery{TxStatus: status})
}

// txStatus is the session's transaction status: 'I', 'T' or 'E'.
func (c *conn) txStatus() byte {
	if ts, ok := c.sess.(TxSession); ok {
		return ts.TxStatus()
	}
	return 'I'
}

// reportSettings sends ParameterStatus for every reported setting whose
// value differs from what the client was last told.
func (c *conn) reportSettings() {
	current := make(map[string]string, len(defaultSettings))
	for k, v := range defaultSettings {
		current[k] = v
	}
	if c.sess != nil {
		for k, v := range c.sess.ReportedSettings() {
			current[k] = v
		}
	}
	names := make([]string, 0, len(current))
	for k, v := range current {
		if old, ok := c.reported[k]; !ok || old != v {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		c.send(&pgproto3.ParameterStatus{Name: k, Value: current[k]})
	}
	c.reported = current
}

// sendError reports err to the client as an ErrorResponse. A statement
// cancelled by a shutdown ends the session with FATAL 57P01.
func (c *conn) sendError(err error) error {
	e := sqlerr.Flatten(err)
	if e.Code == sqlerr.QueryCanceled && c.isClosing() {
		c.sendFatal(sqlerr.Newf(sqlerr.AdminShutdown, "terminating connection due to administrator command"))
		return connError{errShutdown}
	}
	if e.Code == sqlerr.Internal {
		c.log.Warn("wire: internal error", "err", err)
	}
	if ts, ok := c.sess.(TxSession); ok {
		ts.FailTransaction() // any error fails a transaction block
	}
	c.send(errorResponse("ERROR", e))
	return nil
}

func (c *conn) sendFatal(err error) {
	c.send(errorResponse("FATAL", sqlerr.Flatten(err)))
	_ = c.w.Flush()
}

func errorResponse(severity string, e *sqlerr.Error) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{
		Severity:            severity,
		SeverityUnlocalized: severity,
		Code:                string(e.Code),
		Message:             e.Message,
		Detail:              e.Detail,
		Hint:                e.Hint,
		Position:            int32(e.Position),
	}
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// shutdown cancels the session's statements and wakes it from Receive.
func (c *conn) shutdown() {
	c.mu.Lock()
	c.closing = true
	_ = c.nc.SetReadDeadline(time.Now())
	c.mu.Unlock()
	c.cancel(errShutdown)
}

// setRunning names the statement (its Prepare or its execution) that a
// cancel request cancels from now on; nil when none runs.
func (c *conn) setRunning(cancel context.CancelFunc) {
	c.mu.Lock()
	c.running = cancel
	c.cancelRequested = false
	c.mu.Unlock()
}

func (c *conn) cancelRunning() {
	c.mu.Lock()
	cancel := c.running
	c.cancelRequested = cancel != nil
	c.mu.Unlock()
	if cancel != nil {
		c.log.Info("wire: cancel request")
		cancel()
	}
}

// wasCancelled reports whether a cancel request cancelled the running
// statement (rather than a timeout, a disconnect or a shutdown).
func (c *conn) wasCancelled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelRequested
}

// prepare runs the session's Prepare under a context that a cancel
// request cancels: planning a statement can take long too.
func (c *conn) prepare(query string) ([]Statement, error) {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	c.setRunning(cancel)
	defer c.setRunning(nil)
	return c.sess.Prepare(ctx, query)
}

// watchPeer notices a client that disconnects while a statement runs (a
// tail of a source may produce nothing for a long time) and cancels the
// statement. It peeks one byte past what is already buffered; the returned
// stop ends the watch before the session reads again. A client that sends
// more messages meanwhile ends the watch early: it is still there.
func (c *conn) watchPeer(cancel context.CancelFunc) (stop func()) {
	n := c.br.Buffered()
	if n >= c.br.Size() {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.br.Peek(n + 1); err != nil && isDisconnect(err) {
			c.peerGone.Store(true)
			cancel()
		}
	}()
	return func() {
		c.mu.Lock()
		_ = c.nc.SetReadDeadline(time.Now())
		c.mu.Unlock()
		<-done
		c.mu.Lock()
		if !c.closing {
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		c.mu.Unlock()
	}
}

// isDisconnect reports errors that mean the client is gone rather than
// misbehaving.
func isDisconnect(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, errClientGone) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// simpleQuery runs every statement of a Query message in order, stopping
// at the first error.
func (c *conn) simpleQuery(query string) error {
	// A Query message destroys the unnamed statement and portal.
	delete(c.stmts, "")
	if p := c.portals[""]; p != nil {
		p.close()
		delete(c.portals, "")
	}
	if strings.TrimSpace(query) == "" {
		c.send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	sts, err := c.prepare(query)
	if err != nil {
		return c.sendError(err)
	}
	if len(sts) == 0 {
		c.send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	for _, st := range sts {
		if st.NumParams() > 0 {
			return c.sendError(sqlerr.Newf(sqlerr.UndefinedParameter, "there is no parameter $1"))
		}
		p := &portal{st: st}
		err := c.run(p, 0, true)
		p.close()
		if err != nil {
			if isConnError(err) {
				return err
			}
			return c.sendError(err)
		}
	}
	return nil
}

// run executes a portal, or resumes a suspended one, sending at most limit
// rows (0: all). describe sends RowDescription first, as a simple query
// does. A SQL error is returned for the caller to report; a connError means
// the client is gone.
func (c *conn) run(p *portal, limit int, describe bool) error {
	if p.done {
		c.send(&pgproto3.CommandComplete{CommandTag: []byte(p.tag)})
		return nil
	}
	if p.rows == nil {
		ctx, cancel := context.WithCancel(c.ctx)
		p.cancel = cancel
		end := c.watch(p)
		rows, err := c.sess.Execute(ctx, p.st, p.params)
		if err != nil {
			end()
			p.done = true // a failed execution is not retried
			return err
		}
		defer end()
		p.rows = rows
		p.encs = newEncoders(rows.Columns(), p.formats)
		c.sendWarnings(p) // notice.go
	} else {
		if sr, ok := p.rows.(SuspendableRows); ok {
			sr.Resume()
		}
		defer c.watch(p)()
	}
	if isCopyOut(p.rows) {
		return c.copyOut(p) // copy.go
	}
	if describe {
		if cols := p.rows.Columns(); len(cols) > 0 {
			c.send(rowDescription(cols, p.formats))
		}
	}
	ready, _ := p.rows.(ReadyRows)
	for n := 0; ; n++ {
		if limit > 0 && n >= limit {
			if sr, ok := p.rows.(SuspendableRows); ok {
				sr.Suspend()
			}
			c.send(&pgproto3.PortalSuspended{})
			return nil
		}
		if ready != nil && c.w.Buffered() > 0 && !ready.Ready() {
			if err := c.w.Flush(); err != nil {
				p.done = true
				return connError{fmt.Errorf("%w: %w", errClientGone, err)}
			}
		}
		if !p.rows.Next() {
			break
		}
		if err := c.writeRow(p.rows.Row(), p.encs); err != nil {
			p.done = true
			return err
		}
	}
	p.done = true
	c.sendWarnings(p)
	if err := p.rows.Err(); err != nil {
		return err
	}
	p.tag = p.rows.Tag()
	if strings.HasPrefix(p.tag, "SET") || strings.HasPrefix(p.tag, "RESET") {
		c.settingsChanged = true
	}
	c.send(&pgproto3.CommandComplete{CommandTag: []byte(p.tag)})
	return nil
}

// watch marks the portal as the running statement (for cancel requests
// and disconnect detection) until the returned func is called.
func (c *conn) watch(p *portal) func() {
	c.setRunning(p.cancel)
	stop := c.watchPeer(p.cancel)
	return func() {
		stop()
		c.setRunning(nil)
	}
}

// writeRow encodes a DataRow into the reused row buffer and writes it.
func (c *conn) writeRow(row types.Row, encs []colEncoder) error {
	b := c.row[:0]
	b = append(b, 'D', 0, 0, 0, 0, byte(len(row)>>8), byte(len(row)))
	var err error
	for i, v := range row {
		if v.IsNull() {
			b = append(b, 0xff, 0xff, 0xff, 0xff)
			continue
		}
		at := len(b)
		b = append(b, 0, 0, 0, 0)
		enc := colEncoder{oid: oidText}
		if i < len(encs) {
			enc = encs[i]
		}
		if b, err = enc.appendValue(b, v); err != nil {
			return sqlerr.Wrap(err, sqlerr.Internal, fmt.Sprintf("encode column %d", i+1))
		}
		binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	}
	binary.BigEndian.PutUint32(b[1:], uint32(len(b)-1))
	c.row = b
	if _, err := c.w.Write(b); err != nil {
		return connError{fmt.Errorf("%w: %w", errClientGone, err)}
	}
	return nil
}

func rowDescription(cols []types.Column, formats []int16) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, col := range cols {
		ti := describeType(col.Type)
		fields[i] = pgproto3.FieldDescription{
			Name:         []byte(col.Name),
			DataTypeOID:  ti.oid,
			DataTypeSize: ti.size,
			TypeModifier: ti.typmod,
			Format:       formatOf(formats, i),
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}
