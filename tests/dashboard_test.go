package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/dashboard"
	"github.com/streamsql/streamsql/internal/emulator"
)

// TestDashboard_InBrowser loads the dashboard in headless Chromium against
// an engine whose view and sink read a kinesalite stream, beside a view that
// fails on a record that does not decode, and checks that the page its
// script renders names the source, the views, the sink and every operator
// EXPLAIN prints, lists the failing view with its error, and draws a chart.
// It writes a screenshot to the test's artifact directory (go test
// -artifacts -outputdir DIR keeps it).
func TestDashboard_InBrowser(t *testing.T) {
	chromium := lookChromium(t)
	ctx := testContext(t, 3*time.Minute)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	const source, view = "dash_clicks", "dash_totals"
	emu, stream := newStream(ctx, t, "dash-clicks")
	viewSQL := "CREATE MATERIALIZED VIEW " + view + " AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM " +
		source + " WHERE amount > 0 GROUP BY user_id"
	// A second view fails on a record that does not decode: the page lists
	// it with its error.
	_, badStream := newStream(ctx, t, "dash-bad")
	mustExec(ctx, t, conn,
		fmt.Sprintf("CREATE SOURCE %s (user_id BIGINT, url VARCHAR(2048), amount DOUBLE, ts TIMESTAMP(3)) WITH (connector = 'kinesis', "+
			"stream = '%s', region = 'us-east-1', endpoint = '%s', format = 'json', start_position = 'trim_horizon')", source, stream, emu.Endpoint()),
		viewSQL,
		fmt.Sprintf("CREATE SOURCE dash_bad (user_id BIGINT) WITH (connector = 'kinesis', stream = '%s', region = 'us-east-1', "+
			"endpoint = '%s', format = 'json', start_position = 'trim_horizon', on_decode_error = 'fail')", badStream, emu.Endpoint()),
		"CREATE MATERIALIZED VIEW dash_broken AS SELECT user_id FROM dash_bad")
	_, sinkStream := newStream(ctx, t, "dash-copy")
	mustExec(ctx, t, conn, fmt.Sprintf("CREATE SINK dash_copy FROM %s WITH (connector = 'kinesis', endpoint = '%s', "+
		"region = 'us-east-1', stream = '%s')", source, emu.Endpoint(), sinkStream))
	putJSON(ctx, t, emu, badStream, `{"user_id": "one"}`)
	waitFor(t, time.Minute, func() bool {
		st := showViews(ctx, t, conn, "MATERIALIZED VIEWS")["dash_broken"].state
		return st == "restarting" || st == "failed"
	})
	rows, err := conn.Query(ctx, "EXPLAIN "+viewSQL)
	if err != nil {
		t.Fatal(err)
	}
	var operators []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		operators = append(operators, strings.TrimSpace(line))
	}
	if err := rows.Err(); err != nil || len(operators) < 3 {
		t.Fatalf("EXPLAIN: %v, %q: want at least a source, an aggregate and a Materialize", err, operators)
	}

	// Samples a few milliseconds apart instead of the page's two seconds,
	// so that two batches make a throughput line without waiting.
	web := httptest.NewServer(dashboard.NewHandler(srv.Engine, dashboard.Options{Interval: time.Millisecond}))
	t.Cleanup(web.Close)
	for batch := range 2 {
		var recs []emulator.Record
		for i := range 20 {
			recs = append(recs, emulator.Record{PartitionKey: fmt.Sprint(i), Data: fmt.Appendf(nil,
				`{"user_id": %d, "url": "/p", "amount": 1.5, "ts": "2026-01-01 00:00:0%d"}`, i%4, batch)})
		}
		if _, err := emu.PutRecords(ctx, stream, recs); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
			t.Fatalf("FLUSH: %v", err)
		}
		var n int64
		if err := conn.QueryRow(ctx, "SELECT SUM(n) FROM "+view).Scan(&n); err != nil || n != int64(20*(batch+1)) {
			t.Fatalf("SELECT SUM(n) FROM %s = %d, %v; want %d", view, n, err, 20*(batch+1))
		}
		// A sample of the history, taken as the page would.
		resp, err := http.Get(web.URL + "/api/overview")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/overview: %d %s", resp.StatusCode, body)
		}
		var r dashboard.Response
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		// FLUSH returned once Kinesis acknowledged everything the sink had
		// read: nothing is left in its outbox.
		if len(r.Current.Sinks) != 1 || r.Current.Sinks[0].Name != "dash_copy" || r.Current.Sinks[0].OutboxDepth != 0 {
			t.Errorf("sinks after FLUSH: %+v, want dash_copy with an empty outbox", r.Current.Sinks)
		}
	}

	out := t.ArtifactDir()
	shot := filepath.Join(out, "dashboard.png")
	dom := runChromium(ctx, t, chromium, "--dump-dom", web.URL+"/")
	runChromium(ctx, t, chromium, "--screenshot="+shot, "--window-size=1280,1800", web.URL+"/")
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Errorf("no screenshot at %s: %v", shot, err)
	} else {
		t.Logf("screenshot: %s (kept with go test -artifacts)", shot)
	}
	if err := os.WriteFile(filepath.Join(out, "dashboard.html"), []byte(dom), 0o644); err != nil {
		t.Fatal(err)
	}

	text := html.UnescapeString(dom)
	for _, want := range append([]string{"source " + source, "view " + view, "shardId-000000000000", "dash_copy"}, operators...) {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered page does not name %q", want)
		}
	}
	// A chart is an <svg> holding a polyline with points; the operator
	// graph is one with a box per EXPLAIN line.
	chart := false
	for _, svg := range regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(dom, -1) {
		chart = chart || regexp.MustCompile(`<polyline points="[0-9.]+,[0-9.]+ `).MatchString(svg)
	}
	if !chart {
		t.Errorf("the rendered page has no chart (an <svg> with a <polyline> of points)")
	}
	graph := regexp.MustCompile(`(?s)data-name="` + view + `".*?<svg[^>]*class="opgraph".*?</svg>`).FindString(dom)
	if n := strings.Count(graph, "<rect"); n != len(operators) {
		t.Errorf("the operator graph has %d boxes, want %d (one per EXPLAIN line)", n, len(operators))
	}
	if n := strings.Count(graph, "marker-end"); n != len(operators)-1 {
		t.Errorf("the operator graph has %d arrows, want %d", n, len(operators)-1)
	}
	failed := regexp.MustCompile(`(?s)<li class="failed-view">.*?</li>`).FindAllString(text, -1)
	if len(failed) != 1 || !strings.Contains(failed[0], "dash_broken") || !strings.Contains(failed[0], "user_id") {
		t.Errorf("views not running on the page: %q, want dash_broken alone, with its decode error naming user_id", failed)
	}
	// The checkpoint card: FLUSH committed the views' rows, so the last
	// checkpoint and all of them wrote bytes (at least the epoch marker).
	written := regexp.MustCompile(`last wrote ([0-9.]+ (?:B|KiB|MiB|GiB)) \(([0-9.]+ (?:B|KiB|MiB|GiB)) in all\)`).FindStringSubmatch(text)
	if written == nil || written[1] == "0 B" || written[2] == "0 B" {
		t.Errorf("the checkpoint card's bytes written: %q, want the last checkpoint's and the total, not zero", written)
	}
	if strings.Contains(text, "cannot reach the engine") {
		t.Errorf("the page could not read /api/overview")
	}
}

// statsSource is an overview with one view whose operators carry counters.
type statsSource struct{}

func (statsSource) Overview(context.Context) (dashboard.Overview, error) {
	wm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return dashboard.Overview{Views: []dashboard.View{{Name: "counted", State: "running", Graph: dashboard.Graph{
		Nodes: []dashboard.Node{
			{ID: 0, Label: "Materialize key=(k)", Stats: &dashboard.NodeStats{RowsIn: 120, RowsOut: 120, RowsInPerSec: 2, RowsOutPerSec: 2}},
			{ID: 1, Label: "Source s", Stats: &dashboard.NodeStats{RowsIn: 0, RowsOut: 12000, RowsOutPerSec: 200.5, Watermark: &wm}},
		},
		Edges: []dashboard.Edge{{From: 1, To: 0}},
	}}}}, nil
}

// An operator's counters, when the engine gives them, are drawn in its box.
func TestDashboard_InBrowserOperatorStats(t *testing.T) {
	chromium := lookChromium(t)
	ctx := testContext(t, 2*time.Minute)
	web := httptest.NewServer(dashboard.Handler(statsSource{}))
	t.Cleanup(web.Close)
	text := html.UnescapeString(runChromium(ctx, t, chromium, "--dump-dom", web.URL+"/"))
	shot := filepath.Join(t.ArtifactDir(), "operator-stats.png")
	runChromium(ctx, t, chromium, "--screenshot="+shot, "--window-size=1000,700", web.URL+"/")
	t.Logf("screenshot: %s", shot)
	for _, want := range []string{
		"in 120 (2/s) · out 120 (2/s)",
		"in 0 (0/s) · out 12.0k (200.5/s) · wm 03:04:05",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered page does not show %q", want)
		}
	}
}

// lookChromium finds Debian's chromium (make clients installs it).
func lookChromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		msg := "chromium is not on PATH; `make clients` installs it"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must run the browser test)")
		}
		t.Skip("SKIPPING: " + msg)
	}
	return p
}

// runChromium runs headless Chromium on a fresh profile with everything
// that would reach beyond loopback turned off, lets the page's script run
// for a few seconds of virtual time, and returns its stdout.
func runChromium(ctx context.Context, t *testing.T, chromium string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	flags := []string{"--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage", "--no-default-browser-check",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000"}
	if os.Geteuid() == 0 {
		flags = append(flags, "--no-sandbox") // Chromium's sandbox refuses root
	}
	cmd := exec.CommandContext(ctx, chromium, append(flags, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v (deadline: %v)\n%s", strings.Join(args, " "), err, ctx.Err(), stderr.String())
	}
	return string(stdout)
}
