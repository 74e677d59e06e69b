package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamsql/streamsql/internal/emulator"
)

// subChange is one SUBSCRIBE row as the tests compare it.
type subChange struct {
	epoch int64
	op    string
	user  int64
	n     int64
	total float64
}

// scanSubChange reads one row of SUBSCRIBE TO a totals view WITH
// (PROGRESS): epoch, op, watermark, then the view's columns, NULL on a
// progress row (hasRow is false then).
func scanSubChange(rows pgx.Rows) (c subChange, hasRow bool, err error) {
	var wm *time.Time
	var user, n *int64
	var total *float64
	if err := rows.Scan(&c.epoch, &c.op, &wm, &user, &n, &total); err != nil {
		return c, false, err
	}
	if user != nil {
		c.user, c.n, c.total = *user, *n, *total
	}
	return c, user != nil, nil
}

func (c subChange) String() string {
	return fmt.Sprintf("%s(%d,%d,%g)", c.op, c.user, c.n, c.total)
}

// putAmounts puts one JSON record {user_id, amount} per pair.
func putAmounts(ctx context.Context, t *testing.T, e *emulator.Emulator, stream string, pairs ...[2]float64) {
	t.Helper()
	recs := make([]emulator.Record, len(pairs))
	for i, p := range pairs {
		data, _ := json.Marshal(map[string]any{"user_id": int64(p[0]), "amount": p[1]})
		recs[i] = emulator.Record{PartitionKey: fmt.Sprint(p[0]), Data: data}
	}
	if _, err := e.PutRecords(ctx, stream, recs); err != nil {
		t.Fatal(err)
	}
}

// streamRuns numbers the streams made on the shared emulator, so a test
// run again in the same process (-count=2) starts from an empty stream.
var streamRuns atomic.Int64

// setupSubscribeView creates a source on a fresh stream and a GROUP BY
// view over it, and returns the emulator and the stream's name.
func setupSubscribeView(ctx context.Context, t *testing.T, conn *pgx.Conn, prefix, source, view string) (*emulator.Emulator, string) {
	t.Helper()
	emu := sharedKinesis.get(t)
	stream := fmt.Sprintf("%s-%d", prefix, streamRuns.Add(1))
	if err := emu.CreateStream(ctx, stream, 1); err != nil {
		t.Fatalf("create stream %s: %v", stream, err)
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE %s (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', stream = '%s', "+
			"region = 'us-east-1', endpoint = '%s', format = 'json', start_position = 'trim_horizon')", source, stream, emu.Endpoint()),
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM %s GROUP BY user_id", view, source),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return emu, stream
}

// TestSubscribe_Pgx: the snapshot, then an insert for a new group and an
// adjacent update pair for a changed one, each after its epoch commits;
// a progress row per epoch; cancel ends it with 57014 and the connection
// goes on. The embedding API reads the same changes.
func TestSubscribe_Pgx(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, 3*time.Minute)
	conn := connectCancelling(t, srv.Addr)
	other := connect(t, srv.Addr)
	emu, stream := setupSubscribeView(ctx, t, other, "sub-pgx", "sub_pgx", "sub_pgx_totals")

	putAmounts(ctx, t, emu, stream, [2]float64{1, 10})
	if _, err := other.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}

	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan subChange, 100)
	ended := make(chan error, 1)
	go func() {
		rows, err := conn.Query(subCtx, "SUBSCRIBE TO sub_pgx_totals WITH (PROGRESS)")
		if err != nil {
			ended <- err
			return
		}
		defer rows.Close()
		for rows.Next() {
			c, hasRow, err := scanSubChange(rows)
			if err != nil {
				ended <- err
				return
			}
			if !hasRow && c.op != "progress" {
				ended <- fmt.Errorf("%s row without columns", c.op)
				return
			}
			got <- c
		}
		ended <- rows.Err()
	}()
	// The embedding API, without the snapshot.
	apiRows, err := srv.Engine.Subscribe(subCtx, "SUBSCRIBE sub_pgx_totals WITH (SNAPSHOT = false)")
	if err != nil {
		t.Fatalf("Engine.Subscribe: %v", err)
	}
	apiGot := make(chan string, 100)
	go func() {
		defer apiRows.Close()
		for apiRows.Next() {
			r := apiRows.Row()
			apiGot <- fmt.Sprintf("%s(%s,%s,%s)", r[1].String(), r[2].String(), r[3].String(), r[4].String())
		}
		close(apiGot)
	}()

	next := func(skipProgress bool) subChange {
		t.Helper()
		for {
			select {
			case c := <-got:
				if skipProgress && c.op == "progress" {
					continue
				}
				return c
			case err := <-ended:
				t.Fatalf("SUBSCRIBE ended: %v", err)
			case <-time.After(time.Minute):
				t.Fatal("no SUBSCRIBE row within a minute")
			}
		}
	}
	snap := next(false)
	if snap.String() != "insert(1,1,10)" {
		t.Fatalf("snapshot row %v, want insert(1,1,10)", snap)
	}
	if p := next(false); p.op != "progress" || p.epoch != snap.epoch {
		t.Fatalf("after the snapshot: %v at %d, want progress at %d", p, p.epoch, snap.epoch)
	}

	putAmounts(ctx, t, emu, stream, [2]float64{2, 5}, [2]float64{1, 7})
	if _, err := other.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	// Worked out by hand: user 1 goes from (1, 10) to (2, 17), user 2 is
	// new. Changes come in key order; both records are in one epoch unless
	// a checkpoint fell between them, so compare per key.
	var changes []subChange
	for len(changes) < 3 {
		changes = append(changes, next(true))
	}
	var ops []string
	for _, c := range changes {
		if c.epoch <= snap.epoch {
			t.Errorf("change %v at epoch %d, not after the snapshot's %d", c, c.epoch, snap.epoch)
		}
		ops = append(ops, c.String())
	}
	joined := strings.Join(ops, " ")
	if !strings.Contains(joined, "update_delete(1,1,10) update_insert(1,2,17)") || !strings.Contains(joined, "insert(2,1,5)") {
		t.Fatalf("changes %s, want insert(2,1,5) and the adjacent pair update_delete(1,1,10) update_insert(1,2,17)", joined)
	}
	if changes[0].op == "update_delete" && changes[0].epoch != changes[1].epoch {
		t.Errorf("update pair split over epochs %d and %d", changes[0].epoch, changes[1].epoch)
	}

	// The embedding API saw the same changes (after its own start, which
	// came before the records were put).
	var api []string
	for len(api) < 3 {
		select {
		case s, ok := <-apiGot:
			if !ok {
				t.Fatalf("Engine.Subscribe ended: %v", apiRows.Err())
			}
			api = append(api, s)
		case <-time.After(time.Minute):
			t.Fatalf("Engine.Subscribe: %v so far", api)
		}
	}
	if a := strings.Join(api, " "); !strings.Contains(a, "update_delete(1,1,10) update_insert(1,2,17)") || !strings.Contains(a, "insert(2,1,5)") {
		t.Errorf("Engine.Subscribe rows %s", a)
	}

	cancel()
	select {
	case err := <-ended:
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" {
			t.Fatalf("cancelled SUBSCRIBE ended with %v, want SQLSTATE 57014", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("SUBSCRIBE did not end after cancel")
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("query after cancel: %d, %v", one, err)
	}
}

// TestSubscribe_PgxCopy: COPY (SUBSCRIBE ...) TO STDOUT through pgconn's
// CopyTo; a cancel ends the copy (CopyDone, COPY n), and the connection
// goes on.
func TestSubscribe_PgxCopy(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, 3*time.Minute)
	conn := connectCancelling(t, srv.Addr)
	other := connect(t, srv.Addr)
	emu, stream := setupSubscribeView(ctx, t, other, "sub-copy", "sub_copy", "sub_copy_totals")
	putAmounts(ctx, t, emu, stream, [2]float64{3, 1.5})
	if _, err := other.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	lines := make(chan string, 100)
	pr, pw := net.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	copyCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		tag pgconn.CommandTag
		err error
	}
	done := make(chan result, 1)
	go func() {
		tag, err := conn.PgConn().CopyTo(copyCtx, pw, "COPY (SUBSCRIBE TO sub_copy_totals) TO STDOUT")
		_ = pw.Close()
		done <- result{tag, err}
	}()
	select {
	case l := <-lines:
		if f := strings.Split(l, "\t"); len(f) != 5 || f[1] != "insert" || f[2] != "3" || f[3] != "1" || f[4] != "1.5" {
			t.Fatalf("COPY line %q, want <epoch>\\tinsert\\t3\\t1\\t1.5", l)
		}
	case r := <-done:
		t.Fatalf("COPY ended: %v", r.err)
	case <-time.After(time.Minute):
		t.Fatal("no COPY line within a minute")
	}
	cancel()
	select {
	case r := <-done:
		// pgconn reports the context's error once it cancelled; the
		// server's own answer is CopyDone and "COPY 1".
		t.Logf("CopyTo after cancel: tag %q, err %v", r.tag, r.err)
		if r.err == nil && r.tag.String() != "COPY 1" {
			t.Errorf("tag %q, want COPY 1", r.tag)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("COPY did not end after cancel")
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("query after cancelled COPY: %d, %v", one, err)
	}
}

// TestSubscribe_Psql: psql prints COPY (SUBSCRIBE ...) rows as they come:
// the snapshot, then a change put after psql started; then psql is killed
// and the server goes on.
func TestSubscribe_Psql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("SKIPPING TestSubscribe_Psql: psql is not on PATH")
	}
	srv := startServer(t)
	ctx := testContext(t, 3*time.Minute)
	other := connect(t, srv.Addr)
	emu, stream := setupSubscribeView(ctx, t, other, "sub-psql", "sub_psql", "sub_psql_totals")
	putAmounts(ctx, t, emu, stream, [2]float64{4, 2})
	if _, err := other.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	// psql writes COPY data with stdio and flushes at the end only; on a
	// terminal that is line-buffered, on our pipe it is not, so stdbuf
	// makes the pipe behave like the terminal a person would watch.
	stdbuf, err := exec.LookPath("stdbuf")
	if err != nil {
		t.Skip("SKIPPING TestSubscribe_Psql: stdbuf (coreutils) is not on PATH")
	}
	host, port, _ := net.SplitHostPort(srv.Addr)
	cmd := exec.CommandContext(ctx, stdbuf, "-oL", psql, "-X", "--no-password", "-h", host, "-p", port, "-U", "tester", "-d", "streamsql",
		"-c", "COPY (SUBSCRIBE TO sub_psql_totals) TO STDOUT")
	cmd.Env = append(withoutPGEnv(os.Environ()), "PGCONNECT_TIMEOUT=10")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	read := func() []string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("psql ended; stderr: %s", stderr.String())
			}
			return strings.Split(l, "\t")
		case <-time.After(time.Minute):
			t.Fatalf("no line from psql within a minute; stderr: %s", stderr.String())
		}
		return nil
	}
	if f := read(); strings.Join(f[1:], " ") != "insert 4 1 2" {
		t.Fatalf("psql line %q, want the snapshot row insert 4 1 2", f)
	}
	putAmounts(ctx, t, emu, stream, [2]float64{4, 3})
	if _, err := other.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	a, b := read(), read()
	if got := strings.Join(a[1:], " ") + " / " + strings.Join(b[1:], " "); got != "update_delete 4 1 2 / update_insert 4 2 5" || a[0] != b[0] {
		t.Fatalf("psql lines %q %q, want the update pair of user 4 at one epoch", a, b)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	var one int
	if err := other.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("server after psql was killed: %d, %v", one, err)
	}
}

// TestSubscribe_Fresh: with a checkpoint interval of a minute, a SUBSCRIBE
// starts, and a record put into a caught-up source shows in it (and in
// SELECT) long before the interval: an epoch holding rows read from a
// caught-up shard is cut as soon as checkpoint_min_interval allows, not on
// the interval's clock. No FLUSH here: FLUSH asks for a checkpoint itself.
// The bound is generous; fixed epochs would take the whole minute.
func TestSubscribe_Fresh(t *testing.T) {
	srv := startServer(t)
	ctx := testContext(t, 3*time.Minute)
	conn := connectCancelling(t, srv.Addr)
	other := connect(t, srv.Addr)
	if _, err := other.Exec(ctx, "SET checkpoint_interval = '60s'"); err != nil {
		t.Fatal(err)
	}
	emu, stream := setupSubscribeView(ctx, t, other, "sub-fresh", "sub_fresh", "sub_fresh_totals")
	const bound = 20 * time.Second

	subCtx, cancel := context.WithCancel(ctx)
	got := make(chan subChange, 100)
	ended := make(chan error, 1)
	done := make(chan struct{})
	defer func() {
		// The subscription's reads end before its connection is closed.
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("SUBSCRIBE did not end after cancel")
		}
	}()
	started := time.Now()
	go func() {
		defer close(done)
		rows, err := conn.Query(subCtx, "SUBSCRIBE TO sub_fresh_totals WITH (SNAPSHOT = false, PROGRESS)")
		if err != nil {
			ended <- err
			return
		}
		defer rows.Close()
		for rows.Next() {
			c, _, err := scanSubChange(rows)
			if err != nil {
				ended <- err
				return
			}
			got <- c
		}
		ended <- rows.Err()
	}()
	next := func(what string, skipProgress bool) subChange {
		t.Helper()
		deadline := time.After(bound)
		for {
			select {
			case c := <-got:
				if skipProgress && c.op == "progress" {
					continue
				}
				return c
			case err := <-ended:
				t.Fatalf("SUBSCRIBE ended: %v", err)
			case <-deadline:
				t.Fatalf("%s: nothing within %v with a 60 s checkpoint interval", what, bound)
			}
		}
	}
	// The subscription has started once its first progress row is there.
	if p := next("SUBSCRIBE start", false); p.op != "progress" {
		t.Fatalf("first row %v, want the starting progress row", p)
	}
	t.Logf("SUBSCRIBE started in %v", time.Since(started))

	for _, step := range []struct {
		put  [2]float64
		want []string // worked out by hand
		row  string   // SELECT of user 1 after it
	}{
		{[2]float64{1, 10}, []string{"insert(1,1,10)"}, "1 1 10"},
		{[2]float64{1, 7}, []string{"update_delete(1,1,10)", "update_insert(1,2,17)"}, "1 2 17"},
	} {
		put := time.Now()
		putAmounts(ctx, t, emu, stream, step.put)
		for _, want := range step.want {
			if c := next(fmt.Sprintf("change %s", want), true); c.String() != want {
				t.Fatalf("change %v, want %s", c, want)
			}
		}
		t.Logf("%s shown %v after the put", step.want[len(step.want)-1], time.Since(put))
		// SELECT reads the same committed epoch.
		var user, n int64
		var total float64
		if err := other.QueryRow(ctx, "SELECT user_id, n, total FROM sub_fresh_totals WHERE user_id = 1").Scan(&user, &n, &total); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%d %d %g", user, n, total); got != step.row {
			t.Errorf("SELECT after the change: %s, want %s", got, step.row)
		}
	}
}
