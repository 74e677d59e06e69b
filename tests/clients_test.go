package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// longQuery runs far longer than any test waits, so only a cancel or a
// disconnect ends it.
const longQuery = "SELECT SUM(generate_series) FROM generate_series(1, 1000000000000)"

// createSourceSQL binds a source to a stream on the shared kinesalite,
// creating the stream first.
func createSourceSQL(t *testing.T, name, stream string) string {
	t.Helper()
	emu := sharedKinesis.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := emu.CreateStream(ctx, stream, 1); err != nil && !strings.Contains(err.Error(), "ResourceInUse") {
		t.Fatalf("create stream %s: %v", stream, err)
	}
	return fmt.Sprintf("CREATE SOURCE %s (user_id BIGINT, url VARCHAR(2048), amount DOUBLE, ts TIMESTAMP(3)) "+
		"WITH (connector = 'kinesis', stream = '%s', region = 'us-east-1', endpoint = '%s', format = 'json')",
		name, stream, emu.Endpoint())
}

func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestPsql drives the real psql client: connect (with psql's default
// sslmode=prefer, so the server must answer the SSL request), create a
// source, list it, get a syntax error with its SQLSTATE and position, and
// go on in the same session.
func TestPsql(t *testing.T) {
	psql := needPsql(t)
	srv := startServer(t)
	script := strings.Join([]string{
		`\set VERBOSITY verbose`,
		`SELECT 1 + 1 AS two;`,
		createSourceSQL(t, "psql_clicks", "psql-clicks") + ";",
		`SHOW SOURCES;`,
		`SELEC oops;`,
		`SELECT 'still here' AS alive;`,
	}, "\n") + "\n"

	ctx := testContext(t, 2*time.Minute)
	out, errOut, runErr := runPsql(ctx, t, psql, srv.Addr, script, "-v", "ON_ERROR_STOP=0")
	t.Logf("psql stdout:\n%s\npsql stderr:\n%s", out, errOut)
	if runErr != nil {
		// psql exits 0 after SQL errors without ON_ERROR_STOP; anything
		// else is a failure to connect or a crash.
		t.Fatalf("psql: %v", runErr)
	}
	for _, want := range []string{" two", "2", "CREATE SOURCE", "psql_clicks", "still here", "(1 row)"} {
		if !strings.Contains(out, want) {
			t.Errorf("psql stdout lacks %q", want)
		}
	}
	// VERBOSITY verbose prints "ERROR:  42601: message"; a position makes
	// psql print the statement and a caret under the error.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`ERROR:\s+42601:.*(?i:syntax)`),
		regexp.MustCompile(`LINE 1: SELEC oops;`),
		regexp.MustCompile(`(?m)^\s+\^\s*$`),
	} {
		if !want.MatchString(errOut) {
			t.Errorf("psql stderr does not match %s", want)
		}
	}
	if strings.Count(errOut, "ERROR:") != 1 {
		t.Errorf("want exactly one error in psql stderr")
	}
}

// needPsql returns the path of psql; without it the test skips loudly,
// and fails under CI.
func needPsql(t *testing.T) string {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		msg := "psql is not on PATH; `make deps` installs postgresql-client"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must run the psql tests)")
		}
		t.Skip("SKIPPING " + t.Name() + ": " + msg)
	}
	return psql
}

// runPsql runs script through psql (-f -), with flags, as user tester
// against the server at addr, without the developer's libpq settings, and
// returns what psql wrote and how it exited.
func runPsql(ctx context.Context, t *testing.T, psql, addr, script string, flags ...string) (stdout, stderr string, err error) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"-X", "--no-password"}, flags...), "-h", host, "-p", port, "-U", "tester", "-d", "streamsql", "-f", "-")
	cmd := exec.CommandContext(ctx, psql, args...)
	cmd.Env = append(withoutPGEnv(os.Environ()), "PGCONNECT_TIMEOUT=10", "PGAPPNAME=streamsql-tests")
	cmd.Stdin = strings.NewReader(script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// withoutPGEnv drops libpq's environment so that the developer's settings
// cannot change what psql does.
func withoutPGEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
}

func TestPgx_PreparedStatements(t *testing.T) {
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	ctx := testContext(t, time.Minute)

	var n int64
	var s string
	if err := conn.QueryRow(ctx, "SELECT $1 + 1, CONCAT($2, '!')", 41, "hi").Scan(&n, &s); err != nil {
		t.Fatalf("QueryRow with parameters: %v", err)
	}
	if n != 42 || s != "hi!" {
		t.Fatalf("got %d, %q; want 42, \"hi!\"", n, s)
	}

	if _, err := conn.Prepare(ctx, "add", "SELECT $1 + $2"); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	tests := []struct{ a, b, want int64 }{{1, 2, 3}, {-5, 5, 0}, {1 << 40, 1, 1<<40 + 1}}
	for _, tt := range tests {
		var got int64
		if err := conn.QueryRow(ctx, "add", tt.a, tt.b).Scan(&got); err != nil {
			t.Fatalf("execute prepared add(%d, %d): %v", tt.a, tt.b, err)
		}
		if got != tt.want {
			t.Errorf("add(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}

	var ab string
	if err := conn.QueryRow(ctx, "SELECT CONCAT('a', 'b')").Scan(&ab); err != nil || ab != "ab" {
		t.Fatalf("QueryRow CONCAT = %q, %v", ab, err)
	}
	var none int64
	if err := conn.QueryRow(ctx, "SELECT * FROM generate_series(5, 1)").Scan(&none); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("QueryRow over no rows: %v, want ErrNoRows", err)
	}

	rows, err := conn.Query(ctx, "SELECT * FROM generate_series(1, $1)", 5)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatalf("collect generate_series rows: %v", err)
	}
	if !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("generate_series(1, 5) = %v", got)
	}

	// A server error in the extended protocol carries its code, and the
	// connection goes on.
	_, err = conn.Exec(ctx, "SELEC $1", 1)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42601" {
		t.Fatalf("syntax error over extended protocol: %v, want 42601", err)
	}
	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("ping after error: %v", err)
	}
}

// connectCancelling opens a pgx connection that cancels a statement with a
// CancelRequest when its context ends (pgx's default closes the socket).
func connectCancelling(t *testing.T, addr string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(connString(addr))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 15 * time.Second}
	}
	ctx := testContext(t, 30*time.Second)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestPgx_Cancel(t *testing.T) {
	srv := startServer(t)
	conn := connectCancelling(t, srv.Addr)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			timer := time.AfterFunc(300*time.Millisecond, cancel)
			defer timer.Stop()
			start := time.Now()
			var sum int64
			err := conn.QueryRow(ctx, longQuery, mode).Scan(&sum)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "57014" {
				t.Fatalf("cancelled query: %v, want SQLSTATE 57014", err)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("cancel took %v", d)
			}
			// The same connection still works.
			var one int
			if err := conn.QueryRow(testContext(t, 30*time.Second), "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("query after cancel: %d, %v", one, err)
			}
		})
	}
}

// A client that sends garbage loses its own connection; nobody else
// notices.
func TestGarbageClient(t *testing.T) {
	srv := startServer(t)
	good := connect(t, srv.Addr)
	ctx := testContext(t, time.Minute)

	hugeLength := make([]byte, 8)
	binary.BigEndian.PutUint32(hugeLength[0:4], 0x7fffffff)
	binary.BigEndian.PutUint32(hugeLength[4:8], 196608) // protocol 3.0
	badVersion := make([]byte, 8)
	binary.BigEndian.PutUint32(badVersion[0:4], 8)
	binary.BigEndian.PutUint32(badVersion[4:8], 0x12345678)
	tooShort := []byte{0, 0, 0, 2}
	// A valid startup, then an unknown message type, or a query whose
	// declared length is 2 GiB (the server must refuse it, not allocate it).
	startup := startupMessage("tester", "streamsql")
	unknownType := append(slices.Clone(startup), 'y', 0, 0, 0, 8, 1, 2, 3, 4)
	hugeQuery := append(slices.Clone(startup), 'Q', 0x7f, 0xff, 0xff, 0xff, 'S', 'E', 'L')
	// Issue 12, finding 1: a message whose body is too short for its type
	// (a Query of length 4 is five bytes) once panicked in the decoder and
	// took the process down.
	afterStartup := func(msg ...byte) []byte { return append(slices.Clone(startup), msg...) }
	tests := []struct {
		name string
		data []byte
		code string // the SQLSTATE of the FATAL ErrorResponse expected, if any
	}{
		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ""},
		{"random bytes", bytes.Repeat([]byte{0xff, 0x00, 0x13, 0x37}, 64), ""},
		{"huge startup length", hugeLength, ""},
		{"unknown protocol version", badVersion, ""},
		{"length below header", tooShort, ""},
		{"unknown message after startup", unknownType, ""},
		{"huge message after startup", hugeQuery, ""},
		{"query without body", afterStartup('Q', 0, 0, 0, 4), "08P01"},
		{"parse without body", afterStartup('P', 0, 0, 0, 4), "08P01"},
		{"bind without body", afterStartup('B', 0, 0, 0, 4), "08P01"},
		{"describe without body", afterStartup('D', 0, 0, 0, 4), "08P01"},
		{"short execute", afterStartup('E', 0, 0, 0, 5, 0), "08P01"},
		{"bind with a negative parameter length", afterStartup('B', 0, 0, 0, 16, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 0), "08P01"},
		{"function call without body", afterStartup('F', 0, 0, 0, 4), "08P01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", srv.Addr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tt.data); err != nil {
				t.Fatal(err)
			}
			// The server must close the connection (an ErrorResponse before
			// that is welcome), not wait for ever.
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			var got bytes.Buffer
			_, err = io.Copy(&got, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("server kept a garbage connection open for 15s")
			}
			// An ErrorResponse carries its severity and code as fields
			// 'V' and 'C'.
			if tt.code != "" && !bytes.Contains(got.Bytes(), []byte("VFATAL\x00C"+tt.code+"\x00")) {
				t.Errorf("the server did not answer FATAL %s before closing: %q", tt.code, got.Bytes())
			}
		})
	}
	var n int
	if err := good.QueryRow(ctx, "SELECT 1 + 1").Scan(&n); err != nil || n != 2 {
		t.Fatalf("existing connection after garbage: %d, %v", n, err)
	}
	fresh := connect(t, srv.Addr)
	if err := fresh.Ping(ctx); err != nil {
		t.Fatalf("new connection after garbage: %v", err)
	}
}

// startupMessage is a protocol 3.0 StartupMessage.
func startupMessage(user, database string) []byte {
	body := binary.BigEndian.AppendUint32(nil, 196608)
	for _, kv := range []string{"user", user, "database", database} {
		body = append(body, kv...)
		body = append(body, 0)
	}
	body = append(body, 0)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), body...)
}

// A client that disconnects in the middle of a long statement does not
// hurt the others.
func TestDisconnectMidStatement(t *testing.T) {
	srv := startServer(t)
	other := connect(t, srv.Addr)
	ctx := testContext(t, time.Minute)

	const leavers = 3
	var wg sync.WaitGroup
	for range leavers {
		c := connect(t, srv.Addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sum int64
			// Fails once the socket is closed under it.
			_ = c.QueryRow(ctx, longQuery).Scan(&sum)
		}()
		// Drop the socket while the statement runs (or, if the goroutine
		// is slow to start, before it is sent: a disconnect either way).
		time.AfterFunc(200*time.Millisecond, func() { _ = c.PgConn().Conn().Close() })
	}
	for i := range 5 {
		var n int
		if err := other.QueryRow(ctx, "SELECT $1 + 1", i).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("other connection during disconnects: %d, %v", n, err)
		}
	}
	wg.Wait()
	var n int
	if err := other.QueryRow(ctx, "SELECT 2 + 2").Scan(&n); err != nil || n != 4 {
		t.Fatalf("other connection after disconnects: %d, %v", n, err)
	}
	fresh := connect(t, srv.Addr)
	if err := fresh.Ping(ctx); err != nil {
		t.Fatalf("new connection after disconnects: %v", err)
	}
}

// TestCatalogDurability kills the real binary with SIGKILL and checks that
// the catalog survived: what was created is there with its exact text, what
// was dropped stays dropped.
func TestCatalogDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	ctx := testContext(t, 5*time.Minute)

	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	createClicks := createSourceSQL(t, "durable_clicks", "durable-clicks")
	for _, sql := range []string{
		createClicks,
		"CREATE MATERIALIZED VIEW durable_big AS SELECT user_id, amount FROM durable_clicks WHERE amount > 10",
		createSourceSQL(t, "durable_gone", "durable-gone"),
		"DROP SOURCE durable_gone",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	before := showCreate(ctx, t, conn, "durable_clicks")
	if before != createClicks {
		t.Errorf("SHOW CREATE before the crash:\n%s\nwant the statement as written:\n%s", before, createClicks)
	}
	_ = conn.Close(ctx)
	srv.kill(t)

	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	if got := showNames(ctx, t, conn, "SHOW SOURCES"); !slices.Equal(got, []string{"durable_clicks"}) {
		t.Errorf("SHOW SOURCES after SIGKILL = %v, want [durable_clicks]", got)
	}
	if got := showNames(ctx, t, conn, "SHOW MATERIALIZED VIEWS"); !slices.Equal(got, []string{"durable_big"}) {
		t.Errorf("SHOW MATERIALIZED VIEWS after SIGKILL = %v, want [durable_big]", got)
	}
	if after := showCreate(ctx, t, conn, "durable_clicks"); after != before {
		t.Errorf("SHOW CREATE after SIGKILL:\n%s\nbefore:\n%s", after, before)
	}
	// The restarted catalog is live, not a read-only copy.
	if _, err := conn.Exec(ctx, "DROP SOURCE durable_clicks CASCADE"); err != nil {
		t.Fatalf("drop after restart: %v", err)
	}
	if got := showNames(ctx, t, conn, "SHOW SOURCES"); len(got) != 0 {
		t.Errorf("SHOW SOURCES after drop = %v, want none", got)
	}
}

func showCreate(ctx context.Context, t *testing.T, conn *pgx.Conn, name string) string {
	t.Helper()
	var gotName, text string
	if err := conn.QueryRow(ctx, "SHOW CREATE SOURCE "+name).Scan(&gotName, &text); err != nil {
		t.Fatalf("SHOW CREATE SOURCE %s: %v", name, err)
	}
	return text
}

func showNames(ctx context.Context, t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	// The name is the first column (SHOW MATERIALIZED VIEWS has more).
	names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		vals, err := r.Values()
		if err != nil {
			return "", err
		}
		return vals[0].(string), nil
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	slices.Sort(names)
	return names
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

// buildBinary builds cmd/streamsql once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "streamsql-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		builtBin = filepath.Join(dir, "streamsql")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", builtBin, "github.com/streamsql/streamsql/cmd/streamsql")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/streamsql: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// binaryServer is `streamsql serve` running as a child process.
type binaryServer struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
	stderr *syncBuffer
}

var listeningLine = regexp.MustCompile(`msg=listening .*addr=(127\.0\.0\.1:\d+)`)

// startBinary runs `streamsql serve` on a free loopback port (port 0; the
// address comes from its "listening" log line) and waits until it is ready.
func startBinary(t *testing.T, bin, dataDir string) *binaryServer {
	t.Helper()
	return startBinaryWith(t, bin, dataDir, binaryConfig{})
}

// binaryConfig adds to what startBinary passes the binary.
type binaryConfig struct {
	args []string // more flags for serve
	env  []string // NAME=value; the caller's own STREAMSQL_ variables never pass
}

// startBinaryWith is startBinary with more flags and environment.
func startBinaryWith(t *testing.T, bin, dataDir string, cfg binaryConfig) *binaryServer {
	t.Helper()
	// A free port for the HTTP listener too: tests run servers side by side.
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "info"}, cfg.args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(withoutStreamsqlEnv(os.Environ()), cfg.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	s := &binaryServer{cmd: cmd, exited: make(chan struct{}), stderr: &syncBuffer{}}
	cmd.Stderr = io.MultiWriter(pw, s.stderr)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		if t.Failed() {
			t.Logf("streamsql serve output:\n%s", s.stderr.String())
		}
	})
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		found := false
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				addrc <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pr) // keep the pipe drained
	}()
	select {
	case s.addr = <-addrc:
	case <-s.exited:
		t.Fatalf("streamsql serve exited before listening:\n%s", s.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("streamsql serve did not log \"listening\" within 60s:\n%s", s.stderr.String())
	}
	return s
}

// kill sends SIGKILL (no chance to close anything) and waits for the exit.
func (s *binaryServer) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("streamsql serve still running 30s after SIGKILL")
	}
}

// terminate sends SIGTERM and waits for a clean exit (code 0) within 30 s.
func (s *binaryServer) terminate(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("streamsql serve still running 30s after SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0:\n%s", code, s.stderr.String())
	}
}

func withoutStreamsqlEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "STREAMSQL_") })
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestGracefulShutdown: SIGTERM stops accepting, cancels a running
// statement (the client sees 57P01 or 57014, never a hang), closes Badger
// and exits 0; the catalog is all there on restart.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	ctx := testContext(t, 5*time.Minute)

	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	createClicks := createSourceSQL(t, "term_clicks", "term-clicks")
	if _, err := conn.Exec(ctx, createClicks); err != nil {
		t.Fatal(err)
	}
	// A statement that runs for a long time: it must be ended by the shutdown.
	running := make(chan error, 1)
	sending := make(chan struct{})
	go func() {
		var n int64
		close(sending)
		running <- conn.QueryRow(ctx, "SELECT COUNT(*) FROM generate_series(1, 10000000000)").Scan(&n)
	}()
	// Whether the server has begun the query or not when the signal lands,
	// the client must get an answer, not a hang.
	<-sending
	srv.terminate(t)
	select {
	case err := <-running:
		var pgErr *pgconn.PgError
		if err == nil {
			t.Fatal("the running statement finished instead of being cancelled")
		}
		if errors.As(err, &pgErr) && pgErr.Code != "57P01" && pgErr.Code != "57014" {
			t.Fatalf("running statement ended with %s, want 57P01 or 57014", pgErr.Code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the running statement never returned")
	}
	if !strings.Contains(srv.stderr.String(), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", srv.stderr.String())
	}

	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	if got := showCreate(ctx, t, conn, "term_clicks"); got != createClicks {
		t.Errorf("SHOW CREATE after SIGTERM:\n%s\nwant:\n%s", got, createClicks)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
