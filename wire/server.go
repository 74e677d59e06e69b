// Package wire owns the Postgres wire protocol (v3) server: connection
// startup, SCRAM-SHA-256 authentication, simple and extended query, cancel
// requests and the text and binary encodings of our types. It runs
// statements through the small Backend interface; EngineBackend adapts the
// root streamsql API to it. It is the only importer of pgproto3.
package wire

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Options configures a Server.
type Options struct {
	// Password enables SCRAM-SHA-256 authentication: any user name with this
	// password may connect. Empty means trust: everyone may connect.
	Password string
	// Logger receives connection logs; slog.Default() when nil.
	Logger *slog.Logger
	// MaxMessageSize bounds one client message in bytes (default 64 MiB). A
	// client that sends a bigger one loses its own session.
	MaxMessageSize int
}

// DefaultMaxMessageSize is MaxMessageSize when Options leaves it zero.
const DefaultMaxMessageSize = 64 << 20

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.MaxMessageSize < 0 {
		return fmt.Errorf("wire: MaxMessageSize %d is negative", o.MaxMessageSize)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	return o
}

// Server accepts Postgres clients and serves each on its own goroutine.
type Server struct {
	backend Backend
	opts    Options
	log     *slog.Logger
	scram   *scramVerifier // nil under trust authentication

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*conn]struct{}
	byPID    map[uint32]*conn
	nextPID  uint32
	shutting bool
	sessions sync.WaitGroup

	panics panicLog
}

// panicLog rate-limits the log lines of recovered panics: a client that
// found a way to make its session panic can repeat it, and each line
// carries a stack.
type panicLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
	// seen, when set (by tests), sees every panic a session recovers.
	seen func(v any)
}

// panicLogEvery is the least time between two logged panic stacks.
const panicLogEvery = time.Second

// logPanic logs a panic recovered in a session, with its stack, unless
// another was logged less than panicLogEvery ago; the next line logged
// counts those left out.
func (s *Server) logPanic(log *slog.Logger, v any, stack []byte) {
	p := &s.panics
	p.mu.Lock()
	if p.seen != nil {
		p.seen(v)
	}
	now := time.Now()
	if !p.last.IsZero() && now.Sub(p.last) < panicLogEvery {
		p.suppressed++
		p.mu.Unlock()
		return
	}
	p.last = now
	suppressed := p.suppressed
	p.suppressed = 0
	p.mu.Unlock()
	log.Error("wire: panic in a session; ending that session", "panic", fmt.Sprint(v),
		"stack", string(stack), "panics_not_logged", suppressed)
}

// NewServer returns a server that runs statements on b.
func NewServer(b Backend, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		backend: b,
		opts:    opts,
		log:     opts.Logger,
		conns:   make(map[*conn]struct{}),
		byPID:   make(map[uint32]*conn),
	}
	if opts.Password != "" {
		s.scram = newSCRAMVerifier(opts.Password)
	}
	return s
}

// Addr returns the address Serve listens on, nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts connections on ln until Shutdown (then it returns nil) or
// until ctx is done (then it returns ctx.Err()). Sessions run under ctx:
// cancelling it cancels their statements.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.shutting {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isShutting() {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("wire: accept failed; retrying", "err", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				continue
			}
			return fmt.Errorf("wire: accept: %w", err)
		}
		backoff = 0
		c := newConn(s, nc, ctx)
		s.mu.Lock()
		if s.shutting {
			s.mu.Unlock()
			_ = nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.sessions.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.sessions.Done()
			defer s.forget(c)
			c.serve()
		}()
	}
}

func (s *Server) isShutting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutting
}

// Shutdown stops accepting, cancels running statements (their clients get
// 57P01) and ends idle sessions, then waits for every session to end or for
// ctx; when ctx ends first it closes the remaining connections and returns
// ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutting = true
	ln := s.ln
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.sessions.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			_ = c.nc.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// register gives c a process id and secret key for cancel requests.
func (s *Server) register(c *conn) error {
	var key [4]byte
	if _, err := rand.Read(key[:]); err != nil {
		return fmt.Errorf("wire: secret key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		s.nextPID++
		if s.nextPID == 0 {
			continue
		}
		if _, taken := s.byPID[s.nextPID]; !taken {
			break
		}
	}
	c.pid, c.secret = s.nextPID, binary.BigEndian.Uint32(key[:])
	s.byPID[c.pid] = c
	return nil
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.byPID[c.pid] == c {
		delete(s.byPID, c.pid)
	}
}

// cancelRequest cancels the statement running in the session with that
// process id, if the secret matches. Postgres answers nothing either way.
func (s *Server) cancelRequest(pid, secret uint32) {
	s.mu.Lock()
	c := s.byPID[pid]
	s.mu.Unlock()
	if c == nil || c.secret != secret {
		s.log.Info("wire: cancel request for unknown session", "pid", pid)
		return
	}
	c.cancelRunning()
}
