package wire

import (
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	streamsql "github.com/streamsql/streamsql"
)

// engineAddr starts the real engine behind a server and returns its address.
func engineAddr(t *testing.T) string {
	_, addr := engineServer(t)
	return addr
}

func engineServer(t *testing.T) (*streamsql.Engine, string) {
	t.Helper()
	ctx := testCtx(t)
	e, err := streamsql.Open(ctx, streamsql.Config{DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	_, addr := testServer(t, EngineBackend(e), Options{})
	return e, addr
}

func query(q string) *pgproto3.Query { return &pgproto3.Query{String: q} }

// TestTransactions_Wire checks the transaction status ReadyForQuery
// reports and that portals live across Sync inside a block, as pgjdbc
// with a fetch size needs, message by message.
func TestTransactions_Wire(t *testing.T) {
	addr := engineAddr(t)
	const series = "SELECT generate_series FROM generate_series(1, 5)"
	const one = "SELECT 'x' AS a"
	tests := []struct {
		name  string
		steps [][]pgproto3.FrontendMessage // each ends in Sync or a Query
		want  []string                     // one line per step, messages joined by |
	}{
		{
			name: "simple BEGIN, COMMIT",
			steps: [][]pgproto3.FrontendMessage{
				{query("BEGIN")}, {query(one)}, {query("COMMIT")}, {query(one)},
			},
			want: []string{
				"CommandComplete BEGIN|ReadyForQuery T",
				"RowDescription a:25|DataRow x|CommandComplete SELECT 1|ReadyForQuery T",
				"CommandComplete COMMIT|ReadyForQuery I",
				"RowDescription a:25|DataRow x|CommandComplete SELECT 1|ReadyForQuery I",
			},
		},
		{
			name: "an error fails the block until ROLLBACK",
			steps: [][]pgproto3.FrontendMessage{
				{query("START TRANSACTION")}, {query("SELEC 1")}, {query(one)},
				{query("ROLLBACK")}, {query(one)},
			},
			want: []string{
				"CommandComplete BEGIN|ReadyForQuery T",
				"Error 42601|ReadyForQuery E",
				"Error 25P02|ReadyForQuery E",
				"CommandComplete ROLLBACK|ReadyForQuery I",
				"RowDescription a:25|DataRow x|CommandComplete SELECT 1|ReadyForQuery I",
			},
		},
		{
			name: "COMMIT of a failed block rolls back",
			steps: [][]pgproto3.FrontendMessage{
				{query("BEGIN")}, {query("SELEC 1")}, {query("COMMIT")},
			},
			want: []string{
				"CommandComplete BEGIN|ReadyForQuery T",
				"Error 42601|ReadyForQuery E",
				"CommandComplete ROLLBACK|ReadyForQuery I",
			},
		},
		{
			name: "transaction statements outside a block warn",
			steps: [][]pgproto3.FrontendMessage{
				{query("COMMIT")}, {query("ABORT")}, {query("BEGIN; BEGIN")}, {query("END")},
			},
			want: []string{
				"Notice WARNING 25P01 there is no transaction in progress|CommandComplete COMMIT|ReadyForQuery I",
				"Notice WARNING 25P01 there is no transaction in progress|CommandComplete ROLLBACK|ReadyForQuery I",
				"CommandComplete BEGIN|Notice WARNING 25001 there is already a transaction in progress|CommandComplete BEGIN|ReadyForQuery T",
				"CommandComplete COMMIT|ReadyForQuery I",
			},
		},
		{
			name: "a named portal lives across Sync in a block (pgjdbc fetch size)",
			steps: [][]pgproto3.FrontendMessage{
				{&pgproto3.Parse{Query: "BEGIN"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}},
				{&pgproto3.Parse{Name: "S_1", Query: series}, &pgproto3.Bind{DestinationPortal: "C_1", PreparedStatement: "S_1"},
					&pgproto3.Describe{ObjectType: 'P', Name: "C_1"}, &pgproto3.Execute{Portal: "C_1", MaxRows: 2}, &pgproto3.Sync{}},
				{&pgproto3.Execute{Portal: "C_1", MaxRows: 2}, &pgproto3.Sync{}},
				{&pgproto3.Execute{Portal: "C_1", MaxRows: 2}, &pgproto3.Sync{}},
				{&pgproto3.Execute{Portal: "C_1", MaxRows: 2}, &pgproto3.Sync{}},
				{&pgproto3.Parse{Query: "COMMIT"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}},
				{&pgproto3.Execute{Portal: "C_1", MaxRows: 2}, &pgproto3.Sync{}},
			},
			want: []string{
				"ParseComplete|BindComplete|CommandComplete BEGIN|ReadyForQuery T",
				"ParseComplete|BindComplete|RowDescription generate_series:20|DataRow 1|DataRow 2|PortalSuspended|ReadyForQuery T",
				"DataRow 3|DataRow 4|PortalSuspended|ReadyForQuery T",
				"DataRow 5|CommandComplete SELECT 5|ReadyForQuery T",
				"CommandComplete SELECT 5|ReadyForQuery T",
				"ParseComplete|BindComplete|CommandComplete COMMIT|ReadyForQuery I",
				"Error 34000|ReadyForQuery I",
			},
		},
		{
			name: "outside a block Sync closes portals",
			steps: [][]pgproto3.FrontendMessage{
				{&pgproto3.Parse{Query: series}, &pgproto3.Bind{DestinationPortal: "p"}, &pgproto3.Execute{Portal: "p", MaxRows: 1}, &pgproto3.Sync{}},
				{&pgproto3.Execute{Portal: "p", MaxRows: 1}, &pgproto3.Sync{}},
			},
			want: []string{
				"ParseComplete|BindComplete|DataRow 1|PortalSuspended|ReadyForQuery I",
				"Error 34000|ReadyForQuery I",
			},
		},
		{
			name: "an error in an extended block fails it; ROLLBACK ends it and its portals",
			steps: [][]pgproto3.FrontendMessage{
				{query("BEGIN")},
				{&pgproto3.Parse{Query: series}, &pgproto3.Bind{DestinationPortal: "p"}, &pgproto3.Execute{Portal: "p", MaxRows: 1}, &pgproto3.Sync{}},
				{&pgproto3.Parse{Query: "SELECT $1::nonsense"}, &pgproto3.Sync{}},
				{&pgproto3.Execute{Portal: "p", MaxRows: 1}, &pgproto3.Sync{}},
				{query("ROLLBACK")},
				{&pgproto3.Execute{Portal: "p", MaxRows: 1}, &pgproto3.Sync{}},
			},
			want: []string{
				"CommandComplete BEGIN|ReadyForQuery T",
				"ParseComplete|BindComplete|DataRow 1|PortalSuspended|ReadyForQuery T",
				"Error *|ReadyForQuery E",
				"Error 25P02|ReadyForQuery E",
				"CommandComplete ROLLBACK|ReadyForQuery I",
				"Error 34000|ReadyForQuery I",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startRaw(t, addr)
			for i, step := range tt.steps {
				c.send(step...)
				got := strings.Join(withoutStatus(c.expectUntilReady()), "|")
				want := tt.want[i]
				if strings.HasPrefix(want, "Error *|") && strings.HasPrefix(got, "Error ") {
					got = "Error *" + got[strings.Index(got, "|"):]
				}
				if got != want {
					t.Fatalf("step %d (%v):\n got %s\nwant %s", i+1, step, got, want)
				}
			}
		})
	}
}

// TestTransactions_DisconnectFreesPortal checks that a client that goes
// away with a suspended portal and a cursor inside a block leaves no
// goroutine and no running statement behind: the engine's Close, which
// waits (5 s) for running statements, returns at once.
func TestTransactions_DisconnectFreesPortal(t *testing.T) {
	e, addr := engineServer(t)
	// Warm up: the first connection starts the server's own goroutines.
	c0 := startRaw(t, addr)
	c0.send(query("SELECT 1"))
	c0.expectUntilReady()
	_ = c0.nc.Close()
	base := settledGoroutines(t, -1)
	for range 5 {
		c := startRaw(t, addr)
		c.send(query("BEGIN"))
		c.expectUntilReady()
		c.send(&pgproto3.Parse{Query: "SELECT generate_series FROM generate_series(1, 1000000)"},
			&pgproto3.Bind{DestinationPortal: "p"}, &pgproto3.Execute{Portal: "p", MaxRows: 1}, &pgproto3.Sync{})
		c.expectUntilReady()
		c.send(query("DECLARE c CURSOR FOR SELECT generate_series FROM generate_series(1, 1000000)"))
		if got := strings.Join(withoutStatus(c.expectUntilReady()), "|"); got != "CommandComplete DECLARE CURSOR|ReadyForQuery T" {
			t.Fatalf("DECLARE: %s", got)
		}
		_ = c.nc.Close()
	}
	if n := settledGoroutines(t, base); n > base {
		t.Fatalf("%d goroutines after 5 clients left with open portals and cursors, %d before", n, base)
	}
	start := time.Now()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("engine Close took %v: it waited for the statements of cursors or portals nobody closed", d)
	}
}

// settledGoroutines waits (bounded) until the number of goroutines is at
// most want (or stops changing when want < 0) and returns it.
func settledGoroutines(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last, stable := runtime.NumGoroutine(), 0
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n := runtime.NumGoroutine()
		if want >= 0 && n <= want {
			return n
		}
		if n == last {
			if stable++; stable >= 10 && want < 0 {
				return n
			}
		} else {
			last, stable = n, 0
		}
	}
	return runtime.NumGoroutine()
}

// TestTransactions_PortalTimeoutPerExecute: a portal suspended in a block
// is not ended by statement_timeout while the client thinks between two
// Executes (pgjdbc's fetch size over a slow consumer).
func TestTransactions_PortalTimeoutPerExecute(t *testing.T) {
	c := startRaw(t, engineAddr(t))
	c.send(query("SET statement_timeout = '100ms'; BEGIN"))
	c.expectUntilReady()
	c.send(&pgproto3.Parse{Query: "SELECT generate_series FROM generate_series(1, 1000)"},
		&pgproto3.Bind{DestinationPortal: "p"}, &pgproto3.Execute{Portal: "p", MaxRows: 1}, &pgproto3.Sync{})
	if got := strings.Join(withoutStatus(c.expectUntilReady()), "|"); got != "ParseComplete|BindComplete|DataRow 1|PortalSuspended|ReadyForQuery T" {
		t.Fatal(got)
	}
	time.Sleep(300 * time.Millisecond) // three timeouts between two steps
	c.send(&pgproto3.Execute{Portal: "p"}, &pgproto3.Sync{})
	got := withoutStatus(c.expectUntilReady())
	if tail := strings.Join(got[len(got)-2:], "|"); len(got) != 1001 || tail != "CommandComplete SELECT 1000|ReadyForQuery T" {
		t.Fatalf("%d messages ending in %s", len(got), tail)
	}
}

// TestTransactions_Pgx uses pgx's transactions: the status it reads after
// BEGIN, a query inside, COMMIT, and ROLLBACK after an error.
func TestTransactions_Pgx(t *testing.T) {
	ctx := testCtx(t)
	conn := connect(t, engineAddr(t), "")
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := conn.PgConn().TxStatus(); st != 'T' {
		t.Fatalf("status after BEGIN %q", st)
	}
	var sum int64
	if err := tx.QueryRow(ctx, "SELECT SUM(generate_series) FROM generate_series(1, 4)").Scan(&sum); err != nil || sum != 10 {
		t.Fatalf("sum %d, %v", sum, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("status after COMMIT %q", st)
	}
	tx, err = conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELEC 1"); err == nil {
		t.Fatal("no error")
	}
	if st := conn.PgConn().TxStatus(); st != 'E' {
		t.Fatalf("status after an error %q", st)
	}
	if err := tx.Commit(ctx); err == nil {
		t.Fatal("COMMIT of a failed transaction: no error") // pgx reports the ROLLBACK tag as ErrTxCommitRollback
	}
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("status after COMMIT of a failed block %q", st)
	}
}
