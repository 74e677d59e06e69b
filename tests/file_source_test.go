package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/wire"
)

// fileClick is one line of a clicks file.
type fileClick struct {
	user   int64
	amount float64 // whole cents / 100, so that sums are exact in binary
	at     time.Time
}

// fileClicks makes n clicks of users 1..users, about 150 ms apart from
// base, so that 5 s windows hold ~33 each.
func fileClicks(rnd *rand.Rand, base time.Time, n, users int) []fileClick {
	out := make([]fileClick, n)
	for i := range out {
		out[i] = fileClick{user: 1 + rnd.Int64N(int64(users)), amount: float64(rnd.IntN(10000)) / 4,
			at: base.Add(time.Duration(i)*150*time.Millisecond + time.Duration(rnd.IntN(100))*time.Millisecond)}
	}
	return out
}

func jsonLine(c fileClick) string {
	return fmt.Sprintf(`{"user_id":%d,"amount":%g,"ts":"%s"}`+"\n", c.user, c.amount, c.at.UTC().Format("2006-01-02T15:04:05.000Z"))
}

func csvLine(c fileClick) string {
	return fmt.Sprintf("%d,%g,%s\n", c.user, c.amount, c.at.UTC().Format("2006-01-02 15:04:05.000"))
}

// windowTotal is a (user, window) group of a TUMBLE view.
type windowTotal struct {
	user  int64
	start time.Time
	n     int64
	sum   float64
}

// expectTumble computes COUNT(*) and SUM(amount) per user and 5 s window,
// keeping only windows that end at or before closedBy (zero: all).
func expectTumble(clicks []fileClick, closedBy time.Time) []windowTotal {
	m := map[[2]int64]*windowTotal{}
	for _, c := range clicks {
		start := c.at.Truncate(5 * time.Second)
		if !closedBy.IsZero() && start.Add(5*time.Second).After(closedBy) {
			continue
		}
		k := [2]int64{c.user, start.UnixMilli()}
		w := m[k]
		if w == nil {
			w = &windowTotal{user: c.user, start: start.UTC()}
			m[k] = w
		}
		w.n++
		w.sum += c.amount
	}
	out := make([]windowTotal, 0, len(m))
	for _, w := range m {
		out = append(out, *w)
	}
	sortTotals(out)
	return out
}

func sortTotals(ws []windowTotal) {
	sort.Slice(ws, func(i, j int) bool {
		if !ws[i].start.Equal(ws[j].start) {
			return ws[i].start.Before(ws[j].start)
		}
		return ws[i].user < ws[j].user
	})
}

func readWindowTotals(ctx context.Context, t *testing.T, conn *pgx.Conn, view string) []windowTotal {
	t.Helper()
	rows, err := conn.Query(ctx, "SELECT user_id, window_start, n, total FROM "+view)
	if err != nil {
		t.Fatal(err)
	}
	var out []windowTotal
	for rows.Next() {
		var w windowTotal
		if err := rows.Scan(&w.user, &w.start, &w.n, &w.sum); err != nil {
			t.Fatal(err)
		}
		w.start = w.start.UTC()
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortTotals(out)
	return out
}

func checkWindowTotals(t *testing.T, what string, got, want []windowTotal) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d groups, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.user != w.user || !g.start.Equal(w.start) || g.n != w.n || g.sum != w.sum {
			t.Fatalf("%s: group %d is %+v, want %+v", what, i, g, w)
		}
	}
}

func writeFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

const fileClicksColumns = "(user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)"

const fileTumbleView = "SELECT user_id, window_start, COUNT(*) AS n, SUM(amount) AS total " +
	"FROM TUMBLE(%s, ts, INTERVAL '5' SECOND) GROUP BY user_id, window_start EMIT ON WINDOW CLOSE"

// TestFileSource_Once: JSON lines over three files of a glob and a CSV
// file, read once: FLUSH returns with every window closed, and the views
// equal the totals computed here; bad lines are counted and skipped.
func TestFileSource_Once(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	dir := t.TempDir()
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clicks := fileClicks(rand.New(rand.NewPCG(1, 2)), base, 3000, 20)

	// Three files of the glob, in name order; one bad line in the second.
	var parts [3][]string
	for i, c := range clicks {
		parts[i*3/len(clicks)] = append(parts[i*3/len(clicks)], jsonLine(c))
	}
	parts[1] = append(parts[1][:10:10], append([]string{"{not json\n", `{"user_id":"x"}` + "\n"}, parts[1][10:]...)...)
	for i, p := range parts {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("clicks-%d.jsonl", i)), p...)
	}
	var csv []string
	for _, c := range clicks[:1000] {
		csv = append(csv, csvLine(c))
	}
	writeFile(t, filepath.Join(dir, "clicks.csv"), csv...)
	// The last line without its newline is read too, reading once.
	csvPath := filepath.Join(dir, "clicks.csv")
	data, _ := os.ReadFile(csvPath)
	if err := os.WriteFile(csvPath, data[:len(data)-1], 0o644); err != nil {
		t.Fatal(err)
	}

	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE jclicks %s WITH (connector = 'file', path = '%s', format = 'json', mode = 'once')",
			fileClicksColumns, filepath.Join(dir, "clicks-*.jsonl")),
		fmt.Sprintf("CREATE SOURCE cclicks %s WITH (connector = 'file', path = '%s', format = 'csv')", fileClicksColumns, csvPath),
		"CREATE MATERIALIZED VIEW jspend AS " + fmt.Sprintf(fileTumbleView, "jclicks"),
		"CREATE MATERIALIZED VIEW cspend AS " + fmt.Sprintf(fileTumbleView, "cclicks"),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	checkWindowTotals(t, "json view", readWindowTotals(ctx, t, conn, "jspend"), expectTumble(clicks, time.Time{}))
	checkWindowTotals(t, "csv view", readWindowTotals(ctx, t, conn, "cspend"), expectTumble(clicks[:1000], time.Time{}))

	// SHOW SOURCE STATUS: per file of the view's reader, lines read and
	// the two bad lines counted on the second file.
	rows, err := conn.Query(ctx, "SHOW SOURCE STATUS jclicks")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if vals[0] != "view jspend" {
			continue
		}
		got[filepath.Base(vals[1].(string))] = [2]int64{vals[3].(int64), vals[8].(int64)}
		if vals[2] != "ended" {
			t.Errorf("file %s is %v, want ended", vals[1], vals[2])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{"clicks-0.jsonl": {1000, 0}, "clicks-1.jsonl": {1002, 2}, "clicks-2.jsonl": {1000, 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("SHOW SOURCE STATUS: lines and decode errors per file %v, want %v", got, want)
	}

	// A SELECT reads the files as they are.
	var n int64
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM jclicks").Scan(&n); err != nil || n != int64(len(clicks)) {
		t.Errorf("SELECT COUNT(*) FROM jclicks = %d, %v; want %d", n, err, len(clicks))
	}
}

// TestFileSource_Faults: the errors at CREATE and with on_decode_error =
// 'fail'.
func TestFileSource_Faults(t *testing.T) {
	ctx := testContext(t, time.Minute)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	dir := t.TempDir()
	for _, c := range []struct {
		name, with, code string
	}{
		{"missing", fmt.Sprintf("path = '%s'", filepath.Join(dir, "none.jsonl")), "58P01"},
		{"glob matches nothing", fmt.Sprintf("path = '%s'", filepath.Join(dir, "none-*.jsonl")), "58P01"},
		{"bad glob", "path = '/tmp/[x'", "22023"},
		{"raw", fmt.Sprintf("path = '%s', format = 'raw'", dir), "22023"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, fmt.Sprintf("CREATE SOURCE s %s WITH (connector = 'file', %s)", fileClicksColumns, c.with))
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != c.code {
				t.Fatalf("CREATE SOURCE: %v, want SQLSTATE %s", err, c.code)
			}
		})
	}
	// Following, a path that matches nothing yet is a warning.
	var notices []string
	cfg, err := pgx.ParseConfig(connString(srv.Addr))
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Severity+": "+n.Message) }
	c2, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	if _, err := c2.Exec(ctx, fmt.Sprintf("CREATE SOURCE later %s WITH (connector = 'file', mode = 'follow', path = '%s')",
		fileClicksColumns, filepath.Join(dir, "later-*.jsonl"))); err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "no file matches") {
		t.Errorf("notices %q, want one saying no file matches", notices)
	}

	// on_decode_error = 'fail': the view fails naming the file and offset.
	bad := filepath.Join(dir, "bad.jsonl")
	good := jsonLine(fileClick{user: 1, amount: 1, at: time.Unix(0, 0)})
	writeFile(t, bad, good, "{oops\n")
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE SOURCE strict %s WITH (connector = 'file', path = '%s', on_decode_error = 'fail')",
		fileClicksColumns, bad)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW strict_n AS SELECT COUNT(*) AS n FROM strict"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool {
		var status, errText *string
		rows, err := conn.Query(ctx, "SHOW MATERIALIZED VIEWS")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			vals, _ := rows.Values()
			if vals[0] == "strict_n" {
				s := fmt.Sprint(vals...)
				status, errText = &s, &s
			}
		}
		return status != nil && strings.Contains(*errText, fmt.Sprintf("line at byte %d of", len(good))) && strings.Contains(*errText, "bad.jsonl")
	})
}

// fileServer is an engine on dataDir served over pgwire, stopped by stop.
type fileServer struct {
	addr string
	stop func()
}

func startFileServer(t *testing.T, dataDir string) *fileServer {
	t.Helper()
	ctx := context.Background()
	logger := testLogger(t)
	eng, err := streamsql.Open(ctx, streamsql.Config{DataDir: dataDir, Logger: logger, CheckpointInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := wire.NewServer(wire.EngineBackend(eng), wire.Options{Logger: logger})
	serveCtx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		cancel()
		<-served
		if err := eng.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	}
	t.Cleanup(stop)
	return &fileServer{addr: ln.Addr().String(), stop: stop}
}

// TestFileSource_FollowRestart: following a glob, lines appended and a
// new file reach the view; a partial line waits for its newline; the
// engine closed and opened again on the same data directory resumes
// where its last epoch stood, without counting a line twice.
func TestFileSource_FollowRestart(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dataDir, dir := t.TempDir(), t.TempDir()
	srv := startFileServer(t, dataDir)
	conn := connect(t, srv.addr)
	clicks := fileClicks(rand.New(rand.NewPCG(3, 4)), time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), 2400, 10)
	lines := func(cs []fileClick) []string {
		var out []string
		for _, c := range cs {
			out = append(out, jsonLine(c))
		}
		return out
	}
	a := filepath.Join(dir, "a.jsonl")
	writeFile(t, a, lines(clicks[:500])...)
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE fclicks %s WITH (connector = 'file', path = '%s', mode = 'follow', poll_interval = '50ms')",
			fileClicksColumns, filepath.Join(dir, "*.jsonl")),
		"CREATE MATERIALIZED VIEW fspend AS " + fmt.Sprintf(fileTumbleView, "fclicks"),
		"CREATE MATERIALIZED VIEW fcount AS SELECT COUNT(*) AS n, SUM(amount) AS total FROM fclicks",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// closedBy is the watermark after the last click read: its time less 2 s.
	closedBy := func(cs []fileClick) time.Time {
		var m time.Time
		for _, c := range cs {
			if c.at.After(m) {
				m = c.at
			}
		}
		return m.Add(-2 * time.Second)
	}
	check := func(upTo int) {
		t.Helper()
		if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
			t.Fatalf("FLUSH: %v", err)
		}
		checkWindowTotals(t, fmt.Sprintf("after %d clicks", upTo), readWindowTotals(ctx, t, conn, "fspend"), expectTumble(clicks[:upTo], closedBy(clicks[:upTo])))
		var n int64
		var total float64
		if err := conn.QueryRow(ctx, "SELECT n, total FROM fcount").Scan(&n, &total); err != nil {
			t.Fatal(err)
		}
		var want float64
		for _, c := range clicks[:upTo] {
			want += c.amount
		}
		if n != int64(upTo) || total != want {
			t.Fatalf("after %d clicks: count %d, sum %v; want %d, %v", upTo, n, total, upTo, want)
		}
	}
	check(500)

	// Appended lines, and a partial one that waits for its newline.
	appendFile(t, a, lines(clicks[500:800])...)
	partial := jsonLine(clicks[800])
	appendFile(t, a, partial[:20])
	check(800)
	appendFile(t, a, partial[20:])
	// A new file of the glob, sorting after a.
	writeFile(t, filepath.Join(dir, "b.jsonl"), lines(clicks[801:1200])...)
	waitFor(t, 30*time.Second, func() bool {
		var n int64
		_ = conn.QueryRow(ctx, "SELECT n FROM fcount").Scan(&n)
		return n == 1200
	})
	check(1200)

	// Close, append while closed, open again: every line counted once.
	srv.stop()
	appendFile(t, a, lines(clicks[1200:1500])...)
	appendFile(t, filepath.Join(dir, "b.jsonl"), lines(clicks[1500:1800])...)
	srv = startFileServer(t, dataDir)
	conn = connect(t, srv.addr)
	check(1800)
	appendFile(t, filepath.Join(dir, "c.jsonl"), lines(clicks[1800:])...)
	check(len(clicks))
}
