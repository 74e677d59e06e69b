package tests

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/internal/emulator"
	"github.com/streamsql/streamsql/wire"
)

// TestMain stops the shared emulator and removes the built binary once
// every test is done.
func TestMain(m *testing.M) {
	code := m.Run()
	sharedKinesis.stop()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// sharedKinesis is one kinesalite for the client tests that need a stream,
// started on first use. Each .slt file starts its own instead, so that the
// files stay independent.
var sharedKinesis kinesisOnce

type kinesisOnce struct {
	mu  sync.Mutex
	emu *emulator.Emulator
}

func (k *kinesisOnce) get(t *testing.T) *emulator.Emulator {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.emu == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		e, err := emulator.Start(ctx, emulator.Options{})
		if err != nil {
			t.Fatalf("start kinesalite: %v", err)
		}
		k.emu = e
	}
	return k.emu
}

func (k *kinesisOnce) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.emu != nil {
		if err := k.emu.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop kinesalite:", err)
		}
	}
}

// testServer is an engine on a fresh data directory served over pgwire on a
// free loopback port.
type testServer struct {
	Engine *streamsql.Engine
	Addr   string // host:port
}

// startServer starts an engine and its wire server; both stop when the test
// ends.
func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerConfig(t, streamsql.Config{})
}

// startServerConfig is startServer with cfg (its DataDir and Logger are
// the test's).
func startServerConfig(t *testing.T, cfg streamsql.Config) *testServer {
	t.Helper()
	ctx := context.Background()
	logger := testLogger(t)
	cfg.DataDir, cfg.Logger = t.TempDir(), logger
	eng, err := streamsql.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = eng.Close()
		t.Fatalf("listen: %v", err)
	}
	srv := wire.NewServer(wire.EngineBackend(eng), wire.Options{Logger: logger})
	serveCtx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown wire server: %v", err)
		}
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Logf("Serve returned: %v", err)
			}
		case <-sctx.Done():
			t.Errorf("Serve did not return after Shutdown")
		}
		if err := eng.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	return &testServer{Engine: eng, Addr: ln.Addr().String()}
}

// connString is a libpq URL for the server; trust authentication, no TLS.
func connString(addr string) string {
	return fmt.Sprintf("postgres://tester@%s/streamsql?sslmode=disable&connect_timeout=10", addr)
}

// connect opens a pgx connection closed at the end of the test.
func connect(t *testing.T, addr string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString(addr))
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	})
	return conn
}

// testLogger sends the server's warnings and errors to the test log, and
// drops them once the test has ended (a late connection goroutine must not
// log to a finished test).
func testLogger(t *testing.T) *slog.Logger {
	w := &testLogWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func (w *testLogWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
