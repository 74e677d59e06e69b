// Package mariadb starts and stops a throwaway MariaDB server on a loopback
// port for tests: a fresh data directory from mariadb-install-db, one
// mariadbd process, removed again by Stop. It is the MySQL-compatible
// reference of the expression differential test (tests/exprdiff); like
// internal/emulator for kinesalite, the server comes from the machine
// (Debian's mariadb-server package, installed by `make deps`).
package mariadb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Package is the Debian package that brings mariadbd, mariadb-install-db
// and the client; error messages name it.
const Package = "mariadb-server"

// ErrMissing is returned (wrapped) by Start when mariadbd or
// mariadb-install-db is not installed.
var ErrMissing = errors.New("MariaDB is not installed (Debian package " + Package + "; `make deps` installs it)")

// Options configures Start.
type Options struct {
	// StartTimeout bounds the data directory's creation and the wait for
	// the server to answer a ping. Default 60s.
	StartTimeout time.Duration
}

// Server is one running mariadbd. Stop it with Stop.
type Server struct {
	dir     string // temporary directory: data, socket, log
	addr    string // 127.0.0.1:port
	cmd     *exec.Cmd
	log     *tailBuffer
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// Binaries are looked up on PATH first, then in Debian's places (/usr/sbin
// is not on a normal user's PATH).
func lookBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("mariadb: %s not found: %w", name, ErrMissing)
}

// Start creates a data directory under os.TempDir, starts mariadbd on a
// free loopback port with grant tables off (any user, no password) and
// returns once it answers a ping. ctx bounds the start; the server lives
// until Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	installDB, err := lookBinary("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	mariadbd, err := lookBinary("mariadbd")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "streamsql-mariadb-")
	if err != nil {
		return nil, fmt.Errorf("mariadb: temporary directory: %w", err)
	}
	datadir := filepath.Join(dir, "data")
	// mariadbd refuses to run as root without --user; as a normal user it
	// ignores --user, and mariadb-install-db wants it to match the caller.
	var userArgs []string
	if os.Geteuid() == 0 {
		userArgs = []string{"--user=root"}
	}

	startCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	install := exec.CommandContext(startCtx, installDB, append([]string{"--no-defaults",
		"--datadir=" + datadir, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve"}, userArgs...)...)
	if out, err := install.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("mariadb: %s: %w; output:\n%s", installDB, err, tailOf(out, 4<<10))
	}

	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{dir: dir, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		log: &tailBuffer{max: 8 << 10}, exited: make(chan struct{})}
	args := append([]string{"--no-defaults",
		"--datadir=" + datadir,
		"--socket=" + filepath.Join(dir, "mariadbd.sock"),
		"--pid-file=" + filepath.Join(dir, "mariadbd.pid"),
		"--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--skip-networking=0",
		"--skip-log-bin",
		"--skip-grant-tables",
		"--skip-name-resolve",
		"--innodb-buffer-pool-size=16M",
		"--performance-schema=OFF",
	}, userArgs...)
	// The process must outlive ctx; Stop ends it.
	s.cmd = exec.Command(mariadbd, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.cmd.WaitDelay = 2 * time.Second
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("mariadb: start %s: %w", mariadbd, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitPing(startCtx); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("mariadb: %w; log tail:\n%s", err, s.log.String())
	}
	return s, nil
}

// waitPing pings until the server answers, exits or ctx ends.
func (s *Server) waitPing(ctx context.Context) error {
	db, err := sql.Open("mysql", s.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	var last error
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = db.PingContext(pctx)
		cancel()
		if last == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-s.exited:
			t.Stop()
			return fmt.Errorf("mariadbd exited before answering a ping at %s: %v", s.addr, s.waitErr)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("no answer to a ping at %s: %w (last error: %v)", s.addr, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// Addr is the server's host:port on loopback.
func (s *Server) Addr() string { return s.addr }

// DSN is a go-sql-driver/mysql data source name for the server (user root,
// no password, no database).
func (s *Server) DSN() string {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net = "tcp"
	c.Addr = s.addr
	c.Timeout = 10 * time.Second
	c.ReadTimeout = 30 * time.Second
	c.WriteTimeout = 30 * time.Second
	return c.FormatDSN()
}

// Log returns the last few KiB of the server's output.
func (s *Server) Log() string { return s.log.String() }

// Stop ends the server (SIGTERM, then SIGKILL after 10s) and removes its
// directory. Safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
			t := time.NewTimer(10 * time.Second)
			select {
			case <-s.exited:
			case <-t.C:
				_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-s.exited
				s.stopErr = fmt.Errorf("mariadb: mariadbd did not stop within 10s of SIGTERM; killed")
			}
			t.Stop()
		}
		if err := os.RemoveAll(s.dir); err != nil && s.stopErr == nil {
			s.stopErr = fmt.Errorf("mariadb: remove %s: %w", s.dir, err)
		}
	})
	return s.stopErr
}

// freePort asks the OS for a free loopback port. Another process may take
// it before mariadbd binds it; mariadbd then exits and Start says so.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("mariadb: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func tailOf(p []byte, n int) string {
	p = bytes.TrimSpace(p)
	if len(p) > n {
		p = p[len(p)-n:]
	}
	return string(p)
}
