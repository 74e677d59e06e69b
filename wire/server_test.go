package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/streamsql/streamsql/sql/types"
)

// testServer serves b on a loopback port until the test ends.
func testServer(t testing.TB, b Backend, opts Options) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv := NewServer(b, opts)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, ln.Addr().String()
}

func connString(addr, extra string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf("host=%s port=%s user=tester database=db sslmode=disable %s", host, port, extra)
}

func connect(t testing.TB, addr, extra string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString(addr, extra))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pgErr(t *testing.T, err error) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v (%T), want a *pgconn.PgError", err, err)
	}
	return pe
}

func TestServer_Startup(t *testing.T) {
	_, addr := testServer(t, newScriptBackend(), Options{})
	// sslmode=prefer makes pgx send SSLRequest first; we answer 'N'.
	conn := connect(t, addr, "sslmode=prefer application_name=myapp")
	pc := conn.PgConn()
	for name, want := range map[string]string{
		"server_version":              "16.0",
		"client_encoding":             "UTF8",
		"standard_conforming_strings": "on",
		"DateStyle":                   "ISO, MDY",
		"application_name":            "myapp",
		"TimeZone":                    "UTC",
	} {
		if got := pc.ParameterStatus(name); got != want {
			t.Errorf("ParameterStatus(%s) = %q, want %q", name, got, want)
		}
	}
	if pc.PID() == 0 || len(pc.SecretKey()) != 4 {
		t.Errorf("BackendKeyData: pid %d, key %x", pc.PID(), pc.SecretKey())
	}
	if pc.TxStatus() != 'I' {
		t.Errorf("TxStatus = %c", pc.TxStatus())
	}
}

func TestServer_SimpleQuery(t *testing.T) {
	_, addr := testServer(t, newScriptBackend(), Options{})
	conn := connect(t, addr, "")
	ctx := testCtx(t)

	results, err := conn.PgConn().Exec(ctx, "select 1; gen 3;").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("got %d results, want 2", len(results))
	}
	if got := results[0].FieldDescriptions[0]; got.DataTypeOID != 23 || got.Name != "?column?" {
		t.Errorf("field = %+v", got)
	}
	if got := string(results[0].Rows[0][0]); got != "1" {
		t.Errorf("select 1 = %q", got)
	}
	if got := results[1].CommandTag.String(); got != "SELECT 3" {
		t.Errorf("tag = %q", got)
	}
	if got := string(results[1].Rows[2][0]) + "," + string(results[1].Rows[2][1]); got != "2,row" {
		t.Errorf("row = %q", got)
	}

	// A parse error carries the engine's position; nothing runs.
	results, err = conn.PgConn().Exec(ctx, "select 1; bogus; gen 2").ReadAll()
	pe := pgErr(t, err)
	if pe.Code != "42601" || pe.Position != 11 || pe.Severity != "ERROR" {
		t.Errorf("error = %+v", pe)
	}
	// An execution error stops the statements after it.
	results, err = conn.PgConn().Exec(ctx, "select 1; fail; gen 2").ReadAll()
	if pe := pgErr(t, err); pe.Code != "22012" {
		t.Errorf("error = %+v", pe)
	}
	if len(results) == 0 || len(results) > 2 || len(results[0].Rows) != 1 {
		t.Errorf("got %d results, want select 1 and at most the failed one", len(results))
	}

	// Empty queries.
	for _, q := range []string{"", "  ", ";"} {
		if _, err := conn.PgConn().Exec(ctx, q).ReadAll(); err != nil {
			t.Errorf("Exec(%q): %v", q, err)
		}
	}
	// The connection still works.
	var one int
	if err := conn.QueryRow(ctx, "select 1", pgx.QueryExecModeSimpleProtocol).Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1 = %d, %v", one, err)
	}
}

func TestServer_ExtendedParams(t *testing.T) {
	b := newScriptBackend()
	b.echoTypes = []types.Type{types.TypeBigInt, types.TypeText, types.TypeDouble, types.TypeBool,
		types.TypeTimestamp, types.TypeDate, types.Type{Kind: types.Decimal}, types.TypeBytes, types.TypeJSON,
		types.TypeInt, types.TypeSmallInt, types.TypeInterval}
	_, addr := testServer(t, b, Options{})
	ctx := testCtx(t)
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)
	date := time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := connect(t, addr, "")
			q := "echo $1 $2 $3 $4 $5 $6 $7 $8 $9 $10 $11 $12"
			if mode == pgx.QueryExecModeSimpleProtocol {
				t.Skip("the simple protocol interpolates parameters client-side; the fake engine has no literals")
			}
			var (
				i8   int64
				s    string
				f8   float64
				bo   bool
				gotT time.Time
				gotD time.Time
				num  pgtype.Numeric
				by   []byte
				js   map[string]any
				i4   int32
				i2   int16
				iv   pgtype.Interval
			)
			err := conn.QueryRow(ctx, q, mode, int64(-42), "héllo", 2.5, true, ts, date, "-12.50",
				[]byte{0, 1, 2}, `{"a":1}`, int32(7), int16(-3),
				pgtype.Interval{Months: 1, Microseconds: 5_000_000, Valid: true}).
				Scan(&i8, &s, &f8, &bo, &gotT, &gotD, &num, &by, &js, &i4, &i2, &iv)
			if err != nil {
				t.Fatal(err)
			}
			numText, _ := num.Value()
			if i8 != -42 || s != "héllo" || f8 != 2.5 || !bo || !gotT.Equal(ts) || !gotD.Equal(date) ||
				numText != "-12.50" || string(by) != "\x00\x01\x02" || js["a"] != float64(1) || i4 != 7 || i2 != -3 ||
				iv.Months != 1 || iv.Microseconds != 5_000_000 {
				t.Errorf("got %v %q %v %v %v %v %v %x %v %v %v %+v", i8, s, f8, bo, gotT, gotD, numText, by, js, i4, i2, iv)
			}
		})
	}
}

func TestServer_ResultFormats(t *testing.T) {
	_, addr := testServer(t, newScriptBackend(), Options{})
	conn := connect(t, addr, "")
	ctx := testCtx(t)
	wantText := []string{"t", "-12", "123456", "-9007199254740993", "1.5", "-0.1", "12345678901234567890.123",
		"héllo", "abc", `\x0001fe`, "2024-01-01", "2024-01-02 03:04:05.123456", `{"a":1}`, "1 mon 00:00:05"}
	wantOIDs := []uint32{16, 21, 23, 20, 700, 701, 1700, 25, 1043, 17, 1082, 1114, 114, 1186}

	for _, format := range []int16{0, 1} {
		rr := conn.PgConn().ExecParams(ctx, "alltypes", nil, nil, nil, []int16{format})
		var rows [][][]byte
		for rr.NextRow() {
			var row [][]byte
			for _, v := range rr.Values() {
				row = append(row, append([]byte(nil), v...))
			}
			rows = append(rows, row)
		}
		fds := rr.FieldDescriptions()
		if _, err := rr.Close(); err != nil {
			t.Fatal(err)
		}
		m := pgtype.NewMap()
		for i, fd := range fds {
			if fd.DataTypeOID != wantOIDs[i] || fd.Format != format {
				t.Errorf("format %d column %s: oid %d format %d", format, fd.Name, fd.DataTypeOID, fd.Format)
			}
			if rows[1][i] != nil {
				t.Errorf("column %s of the NULL row = %q", fd.Name, rows[1][i])
			}
			// Decode with pgx's own codecs, then compare text forms.
			var v any
			if format == 0 {
				if got := string(rows[0][i]); got != wantText[i] {
					t.Errorf("text %s = %q, want %q", fd.Name, got, wantText[i])
				}
				continue
			}
			if err := m.Scan(fd.DataTypeOID, format, rows[0][i], &v); err != nil {
				t.Errorf("binary %s: %v", fd.Name, err)
				continue
			}
			var got string
			switch x := v.(type) {
			case time.Time:
				got = x.UTC().Format("2006-01-02 15:04:05.999999")
				if fd.DataTypeOID == 1082 {
					got = x.Format("2006-01-02")
				}
			case pgtype.Numeric:
				val, _ := x.Value()
				got = val.(string)
			case []byte:
				got = fmt.Sprintf(`\x%x`, x)
			case map[string]any:
				got = fmt.Sprintf(`{"a":%v}`, x["a"])
			case pgtype.Interval:
				got = types.FormatInterval(int64(x.Months), x.Microseconds)
			case bool:
				got = map[bool]string{true: "t", false: "f"}[x]
			case float32:
				got = types.FormatFloat(float64(x))
			default:
				got = fmt.Sprint(x)
			}
			if got != wantText[i] {
				t.Errorf("binary %s = %q (%T), want %q", fd.Name, got, v, wantText[i])
			}
		}
	}
}

func TestServer_ExtendedErrors(t *testing.T) {
	_, addr := testServer(t, newScriptBackend(), Options{})
	conn := connect(t, addr, "")
	ctx := testCtx(t)

	_, err := conn.PgConn().Prepare(ctx, "two", "select 1; select 1", nil)
	if pe := pgErr(t, err); pe.Code != "42601" || pe.Message != "cannot insert multiple commands into a prepared statement" {
		t.Errorf("error = %+v", pe)
	}
	_, err = conn.PgConn().Prepare(ctx, "bad", "  nonsense", nil)
	if pe := pgErr(t, err); pe.Code != "42601" || pe.Position != 3 {
		t.Errorf("error = %+v", pe)
	}
	if _, err := conn.PgConn().Prepare(ctx, "s1", "select 1", nil); err != nil {
		t.Fatal(err)
	}
	_, err = conn.PgConn().Prepare(ctx, "s1", "select 1", nil)
	if pe := pgErr(t, err); pe.Code != "42P05" {
		t.Errorf("error = %+v", pe)
	}
	res := conn.PgConn().ExecPrepared(ctx, "missing", nil, nil, nil).Read()
	if pe := pgErr(t, res.Err); pe.Code != "26000" {
		t.Errorf("error = %+v", pe)
	}
	// A bad parameter value: 22P02 from the text parser.
	res = conn.PgConn().ExecParams(ctx, "echo $1", [][]byte{[]byte("x")}, []uint32{20}, nil, nil).Read()
	if pe := pgErr(t, res.Err); pe.Code != "22P02" {
		t.Errorf("error = %+v", pe)
	}
	// Wrong parameter count.
	res = conn.PgConn().ExecParams(ctx, "echo $1", nil, nil, nil, nil).Read()
	if pe := pgErr(t, res.Err); pe.Code != "08P01" {
		t.Errorf("error = %+v", pe)
	}
	// The session is fine afterwards.
	res = conn.PgConn().ExecPrepared(ctx, "s1", nil, nil, nil).Read()
	if res.Err != nil || string(res.Rows[0][0]) != "1" {
		t.Fatalf("after errors: %v", res.Err)
	}
}

func TestServer_Settings(t *testing.T) {
	_, addr := testServer(t, newScriptBackend(), Options{})
	conn := connect(t, addr, "")
	ctx := testCtx(t)
	if _, err := conn.Exec(ctx, "set application_name = 'other'", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	if got := conn.PgConn().ParameterStatus("application_name"); got != "other" {
		t.Errorf("application_name = %q", got)
	}
	if _, err := conn.Exec(ctx, "set TimeZone = 'Europe/Paris'"); err != nil {
		t.Fatal(err)
	}
	if got := conn.PgConn().ParameterStatus("TimeZone"); got != "Europe/Paris" {
		t.Errorf("TimeZone = %q", got)
	}
}

func TestServer_CancelRequest(t *testing.T) {
	b := newScriptBackend()
	_, addr := testServer(t, b, Options{})
	conn := connect(t, addr, "")
	ctx := testCtx(t)
	errc := make(chan error, 1)
	go func() {
		_, err := conn.PgConn().Exec(ctx, "sleep").ReadAll()
		errc <- err
	}()
	waitFor(t, b.started)
	if err := conn.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	if pe := pgErr(t, <-errc); pe.Code != "57014" || pe.Message != "canceling statement due to user request" {
		t.Errorf("error = %+v", pe)
	}
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after cancel: %d, %v", one, err)
	}
}

func TestServer_ClientDisconnectsMidStatement(t *testing.T) {
	b := newScriptBackend()
	_, addr := testServer(t, b, Options{})
	conn := connect(t, addr, "")
	other := connect(t, addr, "")
	ctx := testCtx(t)
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		_, _ = conn.PgConn().Exec(ctx, "sleep").ReadAll()
	}()
	defer func() { <-clientDone }() // before the cleanup closes conn
	waitFor(t, b.started)
	_ = conn.PgConn().Conn().Close()
	select {
	case err := <-b.canceled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("statement ended with %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the statement of a disconnected client was not cancelled")
	}
	var one int
	if err := other.QueryRow(ctx, "select 1").Scan(&one); err != nil {
		t.Fatalf("other session: %v", err)
	}
}

func TestServer_Shutdown(t *testing.T) {
	b := newScriptBackend()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(b, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	addr := ln.Addr().String()
	busy := connect(t, addr, "")
	idle := connect(t, addr, "")
	ctx := testCtx(t)
	errc := make(chan error, 1)
	go func() {
		_, err := busy.PgConn().Exec(ctx, "sleep").ReadAll()
		errc <- err
	}()
	waitFor(t, b.started)
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	if pe := pgErr(t, <-errc); pe.Code != "57P01" {
		t.Errorf("busy session got %+v", pe)
	}
	if err := idle.Ping(ctx); err == nil {
		t.Error("idle session survived shutdown")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("still accepting after shutdown")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed != b.sessions {
		t.Errorf("%d sessions, %d closed", b.sessions, b.closed)
	}
}

func TestServer_SCRAM(t *testing.T) {
	_, addr := testServer(t, newScriptBackend(), Options{Password: "s3cret"})
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, connString(addr, "password=s3cret"))
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	defer conn.Close(ctx)
	if err := conn.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = pgx.Connect(ctx, connString(addr, "password=wrong"))
	if pe := pgErr(t, err); pe.Code != "28P01" {
		t.Errorf("wrong password: %+v", pe)
	}
	_, err = pgx.Connect(ctx, connString(addr, ""))
	if err == nil {
		t.Error("connected without a password")
	}
}

func waitFor(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the statement to start")
	}
}

// onPanic makes f see every panic srv's sessions recover.
func onPanic(srv *Server, f func(v any)) {
	srv.panics.mu.Lock()
	srv.panics.seen = f
	srv.panics.mu.Unlock()
}

// panicRows panics in Next or Close.
type panicRows struct {
	funcRows
	inNext, inClose bool
}

func (r *panicRows) Next() bool {
	if r.inNext {
		panic("boom in Next")
	}
	return false
}

func (r *panicRows) Close() error {
	if r.inClose {
		panic("boom in Close")
	}
	return nil
}

// TestServer_PanicEndsOnlyItsSession injects a panic at each place the
// server calls into the engine for a client: the session ends with FATAL
// XX000, the panic is seen once, and the server, and a session that was
// already open, go on.
func TestServer_PanicEndsOnlyItsSession(t *testing.T) {
	st := &fakeStatement{sql: "x", cols: []types.Column{{Name: "x", Type: types.TypeInt}}}
	b := &fakeBackend{NewSessionFunc: func(_ context.Context, startup map[string]string) (Session, error) {
		where := startup["application_name"]
		if where == "NewSession" {
			panic("boom in NewSession")
		}
		return &fakeSession{
			PrepareFunc: func(context.Context, string) ([]Statement, error) {
				if where == "Prepare" {
					panic("boom in Prepare")
				}
				return []Statement{st}, nil
			},
			ExecuteFunc: func(context.Context, Statement, []types.Value) (Rows, error) {
				if where == "Execute" {
					panic("boom in Execute")
				}
				return &panicRows{funcRows: funcRows{cols: st.cols}, inNext: where == "Next", inClose: where == "Close"}, nil
			},
			ReportedSettingsFunc: func() map[string]string {
				if where == "ReportedSettings" {
					panic("boom in ReportedSettings")
				}
				return nil
			},
			CloseFunc: func() {
				if where == "SessionClose" {
					panic("boom in Close")
				}
			},
		}, nil
	}}
	srv, addr := testServer(t, b, Options{})
	var panics atomic.Int32
	onPanic(srv, func(any) { panics.Add(1) })
	good := connect(t, addr, "")
	ctx := testCtx(t)

	for _, where := range []string{"NewSession", "ReportedSettings", "Prepare", "Execute", "Next", "Close"} {
		t.Run(where, func(t *testing.T) {
			before := panics.Load()
			conn, err := pgx.Connect(ctx, connString(addr, "application_name="+where))
			if err == nil {
				defer conn.Close(ctx)
				_, err = conn.Exec(ctx, "x", pgx.QueryExecModeSimpleProtocol)
			}
			if pe := pgErr(t, err); pe.Code != "XX000" || pe.Severity != "FATAL" || pe.Message != "internal error: boom in "+where {
				t.Errorf("got %s %s %q, want FATAL XX000 \"internal error: boom in %s\"", pe.Severity, pe.Code, pe.Message, where)
			}
			if n := panics.Load() - before; n != 1 {
				t.Errorf("%d panics recovered, want 1", n)
			}
			if _, err := good.Exec(ctx, "x"); err != nil {
				t.Fatalf("other session after a panic in %s: %v", where, err)
			}
		})
	}
	// A panic while the session is being released, after the client left.
	t.Run("SessionClose", func(t *testing.T) {
		seen := make(chan any, 1)
		onPanic(srv, func(v any) { seen <- v })
		conn := connect(t, addr, "application_name=SessionClose")
		_ = conn.Close(ctx)
		select {
		case v := <-seen:
			if v != "boom in Close" {
				t.Errorf("recovered %v", v)
			}
		case <-ctx.Done():
			t.Fatal("the panic in Session.Close was not recovered")
		}
		if _, err := good.Exec(ctx, "x"); err != nil {
			t.Fatalf("other session: %v", err)
		}
	})
}

// TestServer_CancelDuringPrepare checks that a cancel request reaches a
// statement that is still being prepared (parsed and planned), by a simple
// Query and by Parse.
func TestServer_CancelDuringPrepare(t *testing.T) {
	started := make(chan struct{}, 1)
	ended := make(chan error, 1)
	b := &fakeBackend{NewSessionFunc: func(context.Context, map[string]string) (Session, error) {
		return &fakeSession{
			PrepareFunc: func(ctx context.Context, q string) ([]Statement, error) {
				if q != "plan for ever" {
					return []Statement{&fakeStatement{sql: q}}, nil
				}
				started <- struct{}{}
				<-ctx.Done()
				ended <- ctx.Err()
				return nil, ctx.Err()
			},
			ExecuteFunc: func(context.Context, Statement, []types.Value) (Rows, error) {
				return &funcRows{tag: "OK"}, nil
			},
		}, nil
	}}
	_, addr := testServer(t, b, Options{})
	conn := connect(t, addr, "")
	ctx := testCtx(t)
	for _, tt := range []struct {
		name string
		run  func() error
	}{
		{"query", func() error { _, err := conn.PgConn().Exec(ctx, "plan for ever").ReadAll(); return err }},
		{"parse", func() error { _, err := conn.PgConn().Prepare(ctx, "p", "plan for ever", nil); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errc := make(chan error, 1)
			go func() { errc <- tt.run() }()
			waitFor(t, started)
			if err := conn.PgConn().CancelRequest(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-ended; !errors.Is(err, context.Canceled) {
				t.Errorf("Prepare's context ended with %v", err)
			}
			if pe := pgErr(t, <-errc); pe.Code != "57014" || pe.Message != "canceling statement due to user request" {
				t.Errorf("error = %+v", pe)
			}
			if _, err := conn.PgConn().Exec(ctx, "next").ReadAll(); err != nil {
				t.Fatalf("after cancel: %v", err)
			}
		})
	}
}
