package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/streamsql/streamsql/internal/emulator"
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// Issue 12: views under faults. An expression error in a view is NULL and
// counted (finding 4); a view that cannot run says so in SHOW, in WARNING
// notices on reads and FLUSH, and can be dropped at once (finding 3); FLUSH
// is bounded.

// notices collects the NoticeResponses a connection gets.
type notices struct {
	mu  sync.Mutex
	got []*pgconn.Notice
}

func (n *notices) take() []*pgconn.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.got
	n.got = nil
	return out
}

// connectNotices opens a pgx connection that records its notices.
func connectNotices(t *testing.T, addr string) (*pgx.Conn, *notices) {
	t.Helper()
	cfg, err := pgx.ParseConfig(connString(addr))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 15 * time.Second}
	}
	n := &notices{}
	cfg.OnNotice = func(_ *pgconn.PgConn, no *pgconn.Notice) {
		n.mu.Lock()
		n.got = append(n.got, no)
		n.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	})
	return conn, n
}

// putJSON puts one record per object, partition key "k".
func putJSON(ctx context.Context, t *testing.T, e *emulator.Emulator, stream string, objs ...string) {
	t.Helper()
	recs := make([]emulator.Record, len(objs))
	for i, o := range objs {
		recs[i] = emulator.Record{PartitionKey: "k", Data: []byte(o)}
	}
	if _, err := e.PutRecords(ctx, stream, recs); err != nil {
		t.Fatal(err)
	}
}

// viewState is one row of SHOW MATERIALIZED VIEWS (or SHOW SINKS).
type viewState struct {
	name, state, err string
	since, watermark *time.Time
	epoch            *int64
	exprErrors       int64
	lastExprError    string
}

func showViews(ctx context.Context, t *testing.T, conn *pgx.Conn, what string) map[string]viewState {
	t.Helper()
	rows, err := conn.Query(ctx, "SHOW "+what)
	if err != nil {
		t.Fatalf("SHOW %s: %v", what, err)
	}
	defer rows.Close()
	if got := fieldNames(rows.FieldDescriptions()); got != "name,state,error,since,watermark,committed_epoch,expression_errors,last_expression_error" {
		t.Fatalf("SHOW %s columns: %s", what, got)
	}
	out := map[string]viewState{}
	for rows.Next() {
		var v viewState
		if err := rows.Scan(&v.name, &v.state, &v.err, &v.since, &v.watermark, &v.epoch, &v.exprErrors, &v.lastExprError); err != nil {
			t.Fatalf("SHOW %s: %v", what, err)
		}
		out[v.name] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("SHOW %s: %v", what, err)
	}
	return out
}

func fieldNames(fds []pgconn.FieldDescription) string {
	names := make([]string, len(fds))
	for i, f := range fds {
		names[i] = f.Name
	}
	return strings.Join(names, ",")
}

// newStream creates a fresh one-shard stream on the shared emulator.
func newStream(ctx context.Context, t *testing.T, prefix string) (*emulator.Emulator, string) {
	t.Helper()
	emu := sharedKinesis.get(t)
	stream := fmt.Sprintf("%s-%d", prefix, streamRuns.Add(1))
	if err := emu.CreateStream(ctx, stream, 1); err != nil {
		t.Fatalf("create stream %s: %v", stream, err)
	}
	return emu, stream
}

func mustExec(ctx context.Context, t *testing.T, conn *pgx.Conn, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestView_ExpressionErrorIsNull: finding 4. A view whose expression
// overflows BIGINT for one record keeps the record's row with NULL for
// that value and counts the error, where it used to restart its pipeline
// every second and never get past the record. A WHERE that cannot be
// computed does not pass, and names the record; an aggregate's argument
// that cannot be computed is NULL (COUNT(x) skips it). A one-off SELECT of
// the same expression still fails with 22003.
func TestView_ExpressionErrorIsNull(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, 3*time.Minute)
	conn := connect(t, srv.Addr)
	emu, stream := newStream(ctx, t, "exprerr")
	mustExec(ctx, t, conn,
		fmt.Sprintf("CREATE SOURCE ee (v BIGINT) WITH (connector = 'kinesis', stream = '%s', region = 'us-east-1', "+
			"endpoint = '%s', format = 'json', start_position = 'trim_horizon')", stream, emu.Endpoint()),
		"CREATE MATERIALIZED VIEW ee_mul AS SELECT v, v * 4611686018427387904 AS w FROM ee",
		"CREATE MATERIALIZED VIEW ee_where AS SELECT v FROM ee WHERE v * 4611686018427387904 >= 0",
		"CREATE MATERIALIZED VIEW ee_count AS SELECT COUNT(*) AS n, COUNT(v * 4611686018427387904) AS ok FROM ee")
	// 2^62 · v fits in a BIGINT for v in {-1, 0, 1} and overflows for 4.
	putJSON(ctx, t, emu, stream, `{"v": 1}`, `{"v": 4}`, `{"v": -1}`, `{"v": 0}`)
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := conn.Exec(fctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}

	rows, err := conn.Query(ctx, "SELECT v, w FROM ee_mul ORDER BY v")
	if err != nil {
		t.Fatal(err)
	}
	type vw struct {
		V int64
		W *int64
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[vw])
	if err != nil {
		t.Fatal(err)
	}
	p62 := int64(1) << 62
	want := []vw{{-1, ptr(-p62)}, {0, ptr(0)}, {1, ptr(p62)}, {4, nil}}
	if fmt.Sprint(derefAll(got)) != fmt.Sprint(derefAll(want)) {
		t.Errorf("ee_mul = %v, want %v", derefAll(got), derefAll(want))
	}
	var where []int64
	rows, err = conn.Query(ctx, "SELECT v FROM ee_where ORDER BY v")
	if err != nil {
		t.Fatal(err)
	}
	if where, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(where, []int64{0, 1}) {
		t.Errorf("ee_where = %v, want [0 1]", where)
	}
	var n, ok int64
	if err := conn.QueryRow(ctx, "SELECT n, ok FROM ee_count").Scan(&n, &ok); err != nil {
		t.Fatal(err)
	}
	if n != 4 || ok != 3 {
		t.Errorf("ee_count = (%d, %d), want (4, 3)", n, ok)
	}

	views := showViews(ctx, t, conn, "MATERIALIZED VIEWS")
	for _, name := range []string{"ee_mul", "ee_where", "ee_count"} {
		v := views[name]
		if v.state != "running" || v.err != "" || v.exprErrors != 1 || !strings.Contains(v.lastExprError, "out of range") {
			t.Errorf("%s: %+v, want running with 1 expression error (out of range)", name, v)
		}
		if v.epoch == nil || *v.epoch <= 0 {
			t.Errorf("%s: committed_epoch %v after FLUSH", name, v.epoch)
		}
	}
	if l := views["ee_mul"].lastExprError; !strings.Contains(l, "SELECT (v * 4611686018427387904)") {
		t.Errorf("ee_mul's last error does not name the expression: %q", l)
	}
	if l := views["ee_where"].lastExprError; !strings.Contains(l, "source ee, shard shardId-000000000000, sequence number ") {
		t.Errorf("ee_where's last error does not name the record: %q", l)
	}

	// A one-off SELECT fails as before.
	_, err = conn.Exec(ctx, "SELECT v * 4611686018427387904 FROM ee")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "22003" {
		t.Errorf("one-off SELECT: %v, want 22003", err)
	}
}

func ptr(v int64) *int64 { return &v }

func derefAll[T any](rows []T) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	return out
}

// TestView_NotRunning: the view side of finding 3, and the states. A view
// over a source with on_decode_error = 'fail' meets a record that does not
// decode: SHOW MATERIALIZED VIEWS says it is restarting, then failed, with
// the cause; FLUSH returns at once with a WARNING naming it instead of
// failing; a SELECT of it still returns its committed rows, now with a
// WARNING; SUBSCRIBE gets the WARNING too; DROP returns at once.
func TestView_NotRunning(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, 3*time.Minute)
	conn, seen := connectNotices(t, srv.Addr)
	emu, stream := newStream(ctx, t, "notrunning")
	mustExec(ctx, t, conn,
		fmt.Sprintf("CREATE SOURCE nr (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', stream = '%s', "+
			"region = 'us-east-1', endpoint = '%s', format = 'json', start_position = 'trim_horizon', "+
			"on_decode_error = 'fail')", stream, emu.Endpoint()),
		"CREATE MATERIALIZED VIEW nr_spend AS SELECT user_id, SUM(amount) AS total FROM nr GROUP BY user_id")
	_, okStream := newStream(ctx, t, "notrunning-ok")
	mustExec(ctx, t, conn,
		fmt.Sprintf("CREATE SOURCE nr_ok (v BIGINT) WITH (connector = 'kinesis', stream = '%s', region = 'us-east-1', "+
			"endpoint = '%s', format = 'json', start_position = 'trim_horizon')", okStream, emu.Endpoint()),
		"CREATE MATERIALIZED VIEW nr_other AS SELECT v FROM nr_ok")
	putJSON(ctx, t, emu, stream, `{"user_id": 1, "amount": 5}`)
	mustExec(ctx, t, conn, "FLUSH")
	if w := seen.take(); len(w) != 0 {
		t.Fatalf("FLUSH of running views sent notices: %v", w[0].Message)
	}
	before := showViews(ctx, t, conn, "MATERIALIZED VIEWS")["nr_spend"]
	if before.state != "running" || before.err != "" || before.epoch == nil {
		t.Fatalf("nr_spend before the bad record: %+v", before)
	}

	putJSON(ctx, t, emu, stream, `{"user_id": "one", "amount": 7}`)
	var v viewState
	waitFor(t, 30*time.Second, func() bool {
		v = showViews(ctx, t, conn, "MATERIALIZED VIEWS")["nr_spend"]
		return v.state == "failed"
	})
	if !strings.Contains(v.err, "user_id") || !strings.Contains(v.err, "next attempt at") || v.since == nil {
		t.Errorf("failed nr_spend: %+v, want the decode error and the next attempt", v)
	}
	if v.epoch == nil || *v.epoch < *before.epoch {
		t.Errorf("failed nr_spend's committed epoch %v, before %v", v.epoch, *before.epoch)
	}

	// FLUSH does not fail and does not wait: it names the view.
	start := time.Now()
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	mustExec(fctx, t, conn, "FLUSH")
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("FLUSH took %v", took)
	} else {
		t.Logf("FLUSH with nr_spend failed: %v", took)
	}
	checkWarning(t, seen.take(), "FLUSH", "materialized view nr_spend is failed since", "user_id", "its rows are as of epoch")
	mustExec(fctx, t, conn, "FLUSH nr_spend")
	checkWarning(t, seen.take(), "FLUSH nr_spend", "materialized view nr_spend is failed")
	mustExec(fctx, t, conn, "FLUSH nr_other")
	if w := seen.take(); len(w) != 0 {
		t.Errorf("FLUSH nr_other sent notices: %v", w[0].Message)
	}

	// The committed rows are still there, with a warning.
	var user int64
	var total float64
	if err := conn.QueryRow(ctx, "SELECT user_id, total FROM nr_spend").Scan(&user, &total); err != nil {
		t.Fatal(err)
	}
	if user != 1 || total != 5 {
		t.Errorf("nr_spend = (%d, %g), want (1, 5)", user, total)
	}
	checkWarning(t, seen.take(), "SELECT", "materialized view nr_spend is failed since", "its rows are as of epoch")

	// psql prints the notice to stderr.
	if psql, err := exec.LookPath("psql"); err == nil {
		host, port, _ := net.SplitHostPort(srv.Addr)
		cmd := exec.CommandContext(ctx, psql, "-X", "--no-password", "-h", host, "-p", port, "-U", "tester",
			"-d", "streamsql", "-c", "SELECT user_id, total FROM nr_spend")
		cmd.Env = append(withoutPGEnv(os.Environ()), "PGCONNECT_TIMEOUT=10")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("psql: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "WARNING:  materialized view nr_spend is failed since") ||
			!strings.Contains(stdout.String(), "(1 row)") {
			t.Errorf("psql: stdout\n%s\nstderr\n%s", stdout.String(), stderr.String())
		}
	}

	sctx, scancel := context.WithCancel(ctx)
	rows, err := conn.Query(sctx, "SUBSCRIBE nr_spend")
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("SUBSCRIBE: no snapshot row: %v", rows.Err())
	}
	scancel()
	rows.Close()
	checkWarning(t, seen.take(), "SUBSCRIBE", "materialized view nr_spend is failed since")

	start = time.Now()
	mustExec(ctx, t, conn, "DROP MATERIALIZED VIEW nr_spend")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("DROP of a failed view took %v", took)
	} else {
		t.Logf("DROP of failed nr_spend: %v", took)
	}
	if _, ok := showViews(ctx, t, conn, "MATERIALIZED VIEWS")["nr_spend"]; ok {
		t.Error("nr_spend still listed after DROP")
	}
}

func checkWarning(t *testing.T, got []*pgconn.Notice, stmt string, parts ...string) {
	t.Helper()
	for _, n := range got {
		if n.Severity != "WARNING" || n.Code != "01000" {
			continue
		}
		all := true
		for _, p := range parts {
			all = all && strings.Contains(n.Message, p)
		}
		if all {
			return
		}
	}
	var msgs []string
	for _, n := range got {
		msgs = append(msgs, n.Severity+" "+n.Code+" "+n.Message)
	}
	t.Errorf("%s: no WARNING 01000 containing %q; got %q", stmt, parts, msgs)
}

// TestFlush_Bounded: FLUSH of a view over a source that cannot be read
// (nothing listens at its endpoint) fails within the statement's deadline
// with 57014 naming the view and the source, instead of hanging; FLUSH of
// an unknown name is 42P01.
func TestFlush_Bounded(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, 3*time.Minute)
	conn := connect(t, srv.Addr)
	create := "CREATE SOURCE dead (v BIGINT) WITH (connector = 'kinesis', stream = 'nowhere', region = 'us-east-1', " +
		"endpoint = 'http://127.0.0.1:9', format = 'json', validate = false)"
	mustExec(ctx, t, conn, create)
	mustExec(ctx, t, conn, "CREATE MATERIALIZED VIEW dead_v AS SELECT v FROM dead")

	_, err := conn.Exec(ctx, "FLUSH nope")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42P01" {
		t.Errorf("FLUSH nope: %v, want 42P01", err)
	}

	// The statement's deadline, here from the embedding API's context
	// (statement_timeout does the same through the wire).
	for _, q := range []string{"FLUSH", "FLUSH dead_v"} {
		fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		start := time.Now()
		err := srv.Engine.Exec(fctx, q)
		took := time.Since(start)
		cancel()
		if took > 20*time.Second {
			t.Errorf("%s took %v", q, took)
		}
		if err == nil {
			// A view whose pipeline failed outright is named in a warning
			// instead; either way FLUSH must not hang.
			st := showViews(ctx, t, conn, "MATERIALIZED VIEWS")["dead_v"]
			if st.state == "running" || st.state == "backfilling" {
				t.Errorf("%s succeeded while dead_v is %+v", q, st)
			}
			continue
		}
		t.Logf("%s after %v: %v", q, took.Round(time.Millisecond), err)
		if code := sqlerr.CodeOf(err); code != sqlerr.QueryCanceled {
			t.Errorf("%s: %v (%s), want 57014", q, err, code)
		}
		msg := err.Error()
		if !strings.Contains(msg, "materialized view dead_v") || !strings.Contains(msg, "source dead") {
			t.Errorf("%s: %q does not name the view and the source", q, msg)
		}
	}
}
