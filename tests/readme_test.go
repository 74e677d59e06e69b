package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestREADME replays README.md's psql session against a fresh demo, the
// way a first-time user pastes it: every block marked with an HTML comment
// saying "replay" before its fence, in order. Each statement goes through
// the real psql; its outcome is checked against what the README shows:
// exactly where the output does not depend on when it runs, otherwise by a
// check below that works the answer out from the records the demo's
// producer wrote (read from the emulator directly) or checks shape and
// invariants. The sh lines run as written, kill -9 included; `make demo`
// starts the demo again the way make does.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the demo")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		msg := "psql is not on PATH; `make deps` installs postgresql-client"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must run the psql tests)")
		}
		t.Skip("SKIPPING TestREADME: " + msg)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	steps := readmeSteps(t, filepath.Join(root, "README.md"))
	bin := buildBinary(t)
	ctx := testContext(t, 20*time.Minute)

	// The README's sh lines run in work, where the demo keeps its data as
	// make demo does in the repository: ./streamsql-demo.
	work := t.TempDir()
	r := &readmeRun{t: t, ctx: ctx, bin: bin, root: root, work: work, psql: psql,
		listen: fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)), emuPort: freeTCPPort(t)}
	r.startDemo(false)

	// A user reads before typing; the windowed views need the stream to
	// span a closed window (10 s, plus the 5 s watermark delay) to show a row.
	r.waitStreamSpan(time.Time{}, 20*time.Second)

	for _, st := range steps {
		if st.shell {
			r.shell(st)
			continue
		}
		r.statement(st)
	}
	r.checkSpendExact()
	r.checkEndpointPinned()
	r.stopDemo()
}

// readmeStep is one statement of a replayed psql block, with the output
// the README shows after it, or one line of a replayed sh block.
type readmeStep struct {
	shell bool
	text  string   // the statement as sent (up to its ';'), or the sh line
	shown []string // the README's output lines, right-trimmed, without trailing blank lines
	line  int      // where it starts in README.md
}

// key is the statement with its whitespace collapsed: what the checks
// below are looked up by.
func (s readmeStep) key() string { return strings.Join(strings.Fields(s.text), " ") }

var (
	replayMarker = regexp.MustCompile(`^<!--.*\breplay`)
	promptLine   = "demo=# "
)

// readmeSteps extracts the replayed blocks of README.md.
func readmeSteps(t *testing.T, path string) []readmeStep {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var steps []readmeStep
	blocks := 0
	for i := 0; i < len(lines); i++ {
		if !replayMarker.MatchString(lines[i]) {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			t.Fatalf("README.md:%d: a replay marker must be followed by a fence", i+1)
		}
		lang := strings.TrimPrefix(lines[i+1], "```")
		end := i + 2
		for end < len(lines) && !strings.HasPrefix(lines[end], "```") {
			end++
		}
		body := lines[i+2 : end]
		blocks++
		switch lang {
		case "sh":
			for j, l := range body {
				if strings.TrimSpace(l) != "" {
					steps = append(steps, readmeStep{shell: true, text: l, line: i + 3 + j})
				}
			}
		case "text":
			steps = append(steps, psqlTranscript(t, body, i+3)...)
		default:
			t.Fatalf("README.md:%d: replayed block of unknown kind %q", i+2, lang)
		}
		i = end
	}
	if blocks == 0 || len(steps) == 0 {
		t.Fatal("README.md has no block marked for replay")
	}
	return steps
}

// psqlTranscript splits a psql transcript: a statement starts at the
// prompt and ends on the line where its text (without -- comments) ends
// with ';'; what follows up to the next prompt is its output.
func psqlTranscript(t *testing.T, body []string, firstLine int) []readmeStep {
	t.Helper()
	var steps []readmeStep
	for i := 0; i < len(body); {
		if !strings.HasPrefix(body[i], promptLine) {
			t.Fatalf("README.md:%d: expected %q, got %q", firstLine+i, promptLine, body[i])
		}
		st := readmeStep{line: firstLine + i}
		var text []string
		for ; i < len(body); i++ {
			l := strings.TrimPrefix(body[i], promptLine)
			if len(text) == 0 && strings.HasPrefix(l, `\`) {
				text = append(text, l) // a psql meta-command is one line
				i++
				break
			}
			code, _, _ := strings.Cut(l, "--")
			code = strings.TrimRight(code, " ")
			if strings.HasSuffix(code, ";") {
				text = append(text, code) // psql sends up to the ';'
				i++
				break
			}
			text = append(text, l)
		}
		st.text = strings.Join(text, "\n")
		for ; i < len(body) && !strings.HasPrefix(body[i], promptLine); i++ {
			st.shown = append(st.shown, strings.TrimRight(body[i], " "))
		}
		for len(st.shown) > 0 && st.shown[len(st.shown)-1] == "" {
			st.shown = st.shown[:len(st.shown)-1]
		}
		steps = append(steps, st)
	}
	return steps
}

// readmeRun is the replay's state: the demo, the psql it connects with,
// and the stream as last read.
type readmeRun struct {
	t                    *testing.T
	ctx                  context.Context
	bin, root, work      string
	psql                 string
	listen               string
	emuPort              int
	demo                 *demoProcess
	host, port, user     string
	endpoint             string
	client               *kinesis.Client
	flushed              []demoClick // the stream just before the last FLUSH
	killedAt             time.Time
	waitedAfterKillSpans bool
}

type demoProcess struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{}
}

var (
	bannerPsql     = regexp.MustCompile(`(?m)^\s+psql -h (\S+) -p (\d+) -U (\S+)$`)
	bannerEndpoint = regexp.MustCompile(`kinesalite at (http://127\.0\.0\.1:\d+),`)
)

// startDemo runs the binary as the Makefile's demo target does, on this
// run's ports, and waits (bounded) for its banner.
func (r *readmeRun) startDemo(again bool) {
	t := r.t
	t.Helper()
	// A free port for the HTTP listener too: the default one may be
	// another demo's.
	cmd := exec.Command(r.bin, "demo", "--listen", r.listen, "--emulator-port", strconv.Itoa(r.emuPort),
		"--http-listen", fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)), "--data-dir", filepath.Join(r.work, "streamsql-demo"))
	cmd.Dir = r.root // as make runs it: the emulator is found from the repository
	cmd.Env = withoutStreamsqlEnv(os.Environ())
	d := &demoProcess{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.stdout, d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the demo: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-d.exited
		if t.Failed() {
			t.Logf("demo stdout:\n%s\ndemo stderr:\n%s", d.stdout.String(), d.stderr.String())
		}
	})
	r.demo = d
	deadline := time.After(3 * time.Minute)
	for !strings.Contains(d.stdout.String(), "Ctrl-C stops the demo") {
		select {
		case <-d.exited:
			t.Fatalf("the demo exited before its banner:\n%s\n%s", d.stdout.String(), d.stderr.String())
		case <-deadline:
			t.Fatalf("no banner from the demo within 3 minutes:\n%s\n%s", d.stdout.String(), d.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	out := d.stdout.String()
	t.Logf("demo output:\n%s", out)
	m := bannerPsql.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo's banner has no psql line:\n%s", out)
	}
	r.host, r.port, r.user = m[1], m[2], m[3]
	if net.JoinHostPort(r.host, r.port) != r.listen {
		t.Fatalf("the banner says psql -h %s -p %s; the demo listens on %s", r.host, r.port, r.listen)
	}
	e := bannerEndpoint.FindStringSubmatch(out)
	if want := fmt.Sprintf("http://127.0.0.1:%d", r.emuPort); e == nil || e[1] != want {
		t.Fatalf("the banner does not name the emulator at %s:\n%s", want, out)
	}
	if r.endpoint != "" && e[1] != r.endpoint {
		t.Fatalf("the restarted demo's emulator is at %s, not %s", e[1], r.endpoint)
	}
	r.endpoint = e[1]
	if again != strings.Contains(out, "continuing from") {
		t.Fatalf("restarted = %v, but the banner says otherwise:\n%s", again, out)
	}
	c, err := emulator.NewClient(r.ctx, r.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	r.client = c
}

// stopDemo is Ctrl-C: the demo must exit 0, having removed its data.
func (r *readmeRun) stopDemo() {
	t := r.t
	t.Helper()
	if err := r.demo.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.demo.exited:
	case <-time.After(time.Minute):
		t.Fatal("the demo still runs a minute after SIGINT")
	}
	if code := r.demo.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the demo exited %d after SIGINT, want 0", code)
	}
	if _, err := os.Stat(filepath.Join(r.work, "streamsql-demo")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the demo's data directory is still there after a clean stop (%v)", err)
	}
}

// shell runs a line of a replayed sh block.
func (r *readmeRun) shell(st readmeStep) {
	t := r.t
	t.Helper()
	cmdline, _, _ := strings.Cut(st.text, "#")
	cmdline = strings.TrimSpace(cmdline)
	if cmdline == "make demo" {
		r.startDemo(true)
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", st.text)
	cmd.Dir = r.work
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README.md:%d: %s: %v\n%s", st.line, st.text, err, out)
	}
	if strings.Contains(cmdline, "kill -9") {
		select {
		case <-r.demo.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("README.md:%d: the demo still runs 30 s after %s", st.line, cmdline)
		}
		ws, _ := r.demo.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("README.md:%d: the demo ended with %v, not SIGKILL", st.line, r.demo.cmd.ProcessState)
		}
		r.killedAt = time.Now()
	}
}

type psqlResult struct {
	stdout, stderr []string // right-trimmed lines, without trailing blank lines
	code           int
}

func (r *readmeRun) psqlCmd(ctx context.Context, args ...string) *exec.Cmd {
	all := append([]string{"-X", "--no-password", "-v", "ON_ERROR_STOP=1", "-h", r.host, "-p", r.port, "-U", r.user}, args...)
	cmd := exec.CommandContext(ctx, r.psql, all...)
	cmd.Env = append(withoutPGEnv(os.Environ()), "PGCONNECT_TIMEOUT=10")
	return cmd
}

// runPsql runs one statement in a psql of its own, as the README shows it
// typed at the prompt.
func (r *readmeRun) runPsql(sqlText string) psqlResult {
	t := r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
	defer cancel()
	cmd := r.psqlCmd(ctx, "-c", sqlText)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := psqlResult{stdout: outputLines(stdout.String()), stderr: outputLines(stderr.String())}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		t.Fatalf("psql -c %q: %v", sqlText, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("psql -c %q did not return within 2 minutes", sqlText)
	}
	return res
}

func outputLines(s string) []string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// readmeCheck checks a statement whose rows depend on when it runs.
// before and after are the stream just before the statement was sent and
// just after its answer came.
type readmeCheck func(r *readmeRun, st readmeStep, res psqlResult, before, after []demoClick)

// readmeChecks are the statements that are not compared with the README's
// output line for line, by their text with whitespace collapsed.
var readmeChecks = map[string]readmeCheck{
	"SELECT * FROM per_url ORDER BY n DESC LIMIT 3;":                                                                          checkPerURLTop,
	"SELECT * FROM spend ORDER BY window_end DESC, total DESC LIMIT 3;":                                                       checkSpendTop,
	"SELECT c.user_id, COUNT(*) FROM clicks c JOIN per_url p ON c.url = p.url GROUP BY c.user_id ORDER BY c.user_id LIMIT 3;": checkJoinCounts,
	"SELECT COUNT(*), ROUND(SUM(amount), 2) FROM clicks;":                                                                     checkCountSum,
	"SELECT user_id, url FROM clicks LIMIT 5;":                                                                                checkFirstClicks,
	"SHOW SOURCE STATUS clicks;":                                                                                              checkSourceStatus,
	"SHOW MATERIALIZED VIEWS;":                                                                                                checkViews,
}

// statement replays one psql statement and checks its outcome.
func (r *readmeRun) statement(st readmeStep) {
	t := r.t
	t.Helper()
	if !r.killedAt.IsZero() && !r.waitedAfterKillSpans {
		// The windows the crash cut through must close before the views
		// are read, so that a record counted twice or lost shows.
		r.waitStreamSpan(r.killedAt, 20*time.Second)
		r.waitedAfterKillSpans = true
	}
	key := st.key()
	if key == "COPY (SUBSCRIBE TO per_url) TO STDOUT;" {
		r.subscribeAndCancel(st)
		return
	}
	before := r.readStream()
	if strings.HasPrefix(strings.ToUpper(key), "FLUSH") {
		r.flushed = before
	}
	res := r.runPsql(st.text)
	after := r.readStream()
	t.Logf("README.md:%d: %s\n%s\n%s", st.line, st.text, strings.Join(res.stdout, "\n"), strings.Join(res.stderr, "\n"))
	if check, ok := readmeChecks[key]; ok {
		if res.code != 0 {
			t.Fatalf("README.md:%d: %s failed (exit %d): %s", st.line, key, res.code, strings.Join(res.stderr, "\n"))
		}
		check(r, st, res, before, after)
		return
	}
	if len(st.shown) == 0 {
		t.Fatalf("README.md:%d: %s shows no output and has no check in readmeChecks", st.line, key)
	}
	if strings.HasPrefix(st.shown[0], "ERROR:") {
		if res.code == 0 {
			t.Fatalf("README.md:%d: %s succeeded; the README shows %s", st.line, key, st.shown[0])
		}
		if !slices.Equal(res.stderr, st.shown) {
			t.Fatalf("README.md:%d: %s printed\n%s\nthe README shows\n%s", st.line, key,
				strings.Join(res.stderr, "\n"), strings.Join(st.shown, "\n"))
		}
		return
	}
	if res.code != 0 || len(res.stderr) > 0 {
		t.Fatalf("README.md:%d: %s: exit %d, stderr:\n%s", st.line, key, res.code, strings.Join(res.stderr, "\n"))
	}
	if !slices.Equal(res.stdout, st.shown) {
		t.Fatalf("README.md:%d: %s printed\n%s\nthe README shows\n%s", st.line, key,
			strings.Join(res.stdout, "\n"), strings.Join(st.shown, "\n"))
	}
}

// subscribeAndCancel is the README's SUBSCRIBE followed by Ctrl-C: changes
// come, and psql's cancel ends the statement.
func (r *readmeRun) subscribeAndCancel(st readmeStep) {
	t := r.t
	t.Helper()
	change := regexp.MustCompile(`^\d+\t(insert|update_delete|update_insert|delete)\t(/\S*)\t\d+$`)
	for _, l := range st.shown {
		if !change.MatchString(l) && l != "^CCancel request sent" {
			t.Fatalf("README.md: SUBSCRIBE shows %q, which is neither a change nor psql's cancel", l)
		}
	}
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Minute)
	defer cancel()
	cmd := r.psqlCmd(ctx, "-c", st.text)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("SUBSCRIBE ended without a change: %s", stderr.String())
		}
		if m := change.FindStringSubmatch(l); m == nil || !slices.Contains(demoURLs, m[2]) {
			t.Fatalf("SUBSCRIBE printed %q, not a change of per_url", l)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("SUBSCRIBE printed no change within 3 minutes")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	go func() { // drain
		for range lines {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("psql still runs 30 s after Ctrl-C during SUBSCRIBE")
	}
	if !strings.Contains(stderr.String(), "Cancel request sent") {
		t.Fatalf("psql's stderr after Ctrl-C: %q", stderr.String())
	}
}

// The demo producer's events (cmd/streamsql/demo.go).
var demoURLs = []string{"/", "/search", "/cart", "/checkout", "/product/1", "/product/2", "/help"}

type demoClick struct {
	UserID int64   `json:"user_id"`
	URL    string  `json:"url"`
	Amount float64 `json:"amount"`
	TS     string  `json:"ts"`
	ts     time.Time
}

// cents is the amount in hundredths: the producer writes whole cents, so
// sums compare exactly.
func (c demoClick) cents() int64 { return int64(math.Round(c.Amount * 100)) }

// readStream reads every record of the demo's clicks stream from the
// emulator, bypassing the server.
func (r *readmeRun) readStream() []demoClick {
	t := r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
	defer cancel()
	shards, err := r.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("clicks")})
	if err != nil {
		t.Fatalf("list the shards of clicks: %v", err)
	}
	var out []demoClick
	for _, sh := range shards.Shards {
		it, err := r.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("clicks"), ShardId: sh.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatalf("shard iterator: %v", err)
		}
		for iter := it.ShardIterator; iter != nil; {
			res, err := r.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatalf("read clicks: %v", err)
			}
			for _, rec := range res.Records {
				var c demoClick
				if err := json.Unmarshal(rec.Data, &c); err != nil {
					t.Fatalf("a record of clicks is not the producer's JSON: %v: %s", err, rec.Data)
				}
				if c.ts, err = time.Parse(time.RFC3339Nano, c.TS); err != nil {
					t.Fatalf("a record's ts: %v", err)
				}
				out = append(out, c)
			}
			if len(res.Records) == 0 && aws.ToInt64(res.MillisBehindLatest) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	return out
}

// waitStreamSpan waits (bounded) until the stream holds a record stamped
// span after since (after its first record when since is zero).
func (r *readmeRun) waitStreamSpan(since time.Time, span time.Duration) {
	t := r.t
	t.Helper()
	deadline := time.Now().Add(2*span + time.Minute)
	for {
		clicks := r.readStream()
		if len(clicks) > 0 {
			first, last := clicks[0].ts, clicks[0].ts
			for _, c := range clicks {
				first, last = minTime(first, c.ts), maxTime(last, c.ts)
			}
			if since.IsZero() {
				since = first
			}
			if last.Sub(since) >= span {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's stream does not span %v after %v within the bound (%d records)", span, since, len(clicks))
		}
		select {
		case <-r.demo.exited:
			t.Fatalf("the demo exited:\n%s", r.demo.stderr.String())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// table parses psql's aligned output: the header's column names and the
// rows' cells, trimmed.
type psqlTable struct {
	columns []string
	rows    [][]string
	footer  string // "(3 rows)"
}

func parseTable(t *testing.T, lines []string) psqlTable {
	t.Helper()
	if len(lines) < 3 || !strings.HasPrefix(lines[1], "--") {
		t.Fatalf("not a psql table:\n%s", strings.Join(lines, "\n"))
	}
	split := func(l string) []string {
		cells := strings.Split(l, "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		return cells
	}
	tab := psqlTable{columns: split(lines[0]), footer: lines[len(lines)-1]}
	for _, l := range lines[2 : len(lines)-1] {
		tab.rows = append(tab.rows, split(l))
	}
	if want := fmt.Sprintf("(%d row", len(tab.rows)); !strings.HasPrefix(tab.footer, want) {
		t.Fatalf("psql table footer %q for %d rows", tab.footer, len(tab.rows))
	}
	return tab
}

// sameShape checks that what psql printed has the columns and the number
// of rows the README shows, and returns it parsed.
func sameShape(r *readmeRun, st readmeStep, res psqlResult) psqlTable {
	t := r.t
	t.Helper()
	got := parseTable(t, res.stdout)
	if len(st.shown) > 0 {
		shown := parseTable(t, st.shown)
		if !slices.Equal(got.columns, shown.columns) || got.footer != shown.footer {
			t.Fatalf("README.md:%d: %s printed columns %v and %s; the README shows %v and %s",
				st.line, st.key(), got.columns, got.footer, shown.columns, shown.footer)
		}
	}
	return got
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%q is not an integer", s)
	}
	return n
}

// countBy counts clicks by a key.
func countBy(clicks []demoClick, key func(demoClick) string) map[string]int64 {
	m := map[string]int64{}
	for _, c := range clicks {
		m[key(c)]++
	}
	return m
}

func byURL(c demoClick) string  { return c.URL }
func byUser(c demoClick) string { return strconv.FormatInt(c.UserID, 10) }

// per_url after FLUSH holds at least what the stream held before the
// FLUSH and at most what it holds after the read, url by url.
func checkPerURLTop(r *readmeRun, st readmeStep, res psqlResult, _, after []demoClick) {
	t := r.t
	tab := sameShape(r, st, res)
	lo, hi := countBy(r.flushed, byURL), countBy(after, byURL)
	prev := int64(math.MaxInt64)
	for _, row := range tab.rows {
		url, n := row[0], atoi(t, row[1])
		if !slices.Contains(demoURLs, url) {
			t.Fatalf("per_url has url %q, which the producer never writes", url)
		}
		if n < lo[url] || n > hi[url] {
			t.Fatalf("per_url: %s has n = %d; the stream held %d before FLUSH and %d after the read", url, n, lo[url], hi[url])
		}
		if n > prev {
			t.Fatalf("per_url rows are not ordered by n descending: %v", tab.rows)
		}
		prev = n
	}
}

// spendWindow is one row of spend worked out from the stream.
type spendWindow struct {
	n     int64
	cents int64
}

// spendFromStream groups the clicks as spend does: by user and 10-second
// window (its end, as psql prints a TIMESTAMP).
func spendFromStream(clicks []demoClick) map[[2]string]spendWindow {
	m := map[[2]string]spendWindow{}
	for _, c := range clicks {
		end := c.ts.UTC().Truncate(10 * time.Second).Add(10 * time.Second).Format("2006-01-02 15:04:05")
		k := [2]string{strconv.FormatInt(c.UserID, 10), end}
		w := m[k]
		w.n++
		w.cents += c.cents()
		m[k] = w
	}
	return m
}

// parseCents reads a ROUND(..., 2) value.
func parseCents(t *testing.T, s string) int64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return int64(math.Round(f * 100))
}

// spend's rows are windows that closed: each must hold exactly the clicks
// of its user and window in the stream.
func checkSpendTop(r *readmeRun, st readmeStep, res psqlResult, _, after []demoClick) {
	t := r.t
	tab := sameShape(r, st, res)
	want := spendFromStream(after)
	for _, row := range tab.rows {
		user, end, n, cents := row[0], row[2], atoi(t, row[3]), parseCents(t, row[4])
		w, ok := want[[2]string{user, end}]
		if !ok || w.n != n || w.cents != cents {
			t.Fatalf("spend: user %s, window ending %s: n = %d, total = %d cents; the stream holds %d clicks of %d cents",
				user, end, n, cents, w.n, w.cents)
		}
	}
}

// checkSpendExact compares the whole of spend with the stream: every
// window that closed holds exactly its clicks (so none was lost or counted
// twice across the kill -9), and every window before the last closed one
// is there.
func (r *readmeRun) checkSpendExact() {
	t := r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
	defer cancel()
	out, err := r.psqlCmd(ctx, "-At", "-c", "SELECT user_id, window_end, n, total FROM spend").Output()
	if err != nil {
		t.Fatalf("read spend: %v", err)
	}
	stream := r.readStream()
	want := spendFromStream(stream)
	got := map[[2]string]bool{}
	last := ""
	for _, l := range outputLines(string(out)) {
		if l == "" {
			continue
		}
		f := strings.Split(l, "|")
		if len(f) != 4 {
			t.Fatalf("spend row %q", l)
		}
		k := [2]string{f[0], f[1]}
		w := want[k]
		if n, cents := atoi(t, f[2]), parseCents(t, f[3]); w.n != n || w.cents != cents {
			t.Errorf("spend: user %s, window ending %s: n = %d, total = %d cents; the stream holds %d clicks of %d cents",
				f[0], f[1], n, cents, w.n, w.cents)
		}
		got[k] = true
		last = max(last, f[1])
	}
	if last == "" {
		t.Fatal("spend has no closed window at the end of the session")
	}
	if !r.killedAt.IsZero() && last <= r.killedAt.UTC().Format("2006-01-02 15:04:05") {
		t.Fatalf("spend's last closed window ends %s, not after the kill -9 at %s", last, r.killedAt.UTC())
	}
	missing := 0
	for k := range want {
		if k[1] <= last && !got[k] {
			missing++
			if missing <= 5 {
				t.Errorf("spend lacks user %s, window ending %s (%d clicks in the stream)", k[0], k[1], want[k].n)
			}
		}
	}
	t.Logf("spend: %d rows, windows up to %s, all equal to the stream's %d records", len(got), last, len(stream))
}

// checkEndpointPinned: the README's source and sink name no endpoint; the
// demo's default (its emulator) was written into their definitions.
func (r *readmeRun) checkEndpointPinned() {
	t := r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
	defer cancel()
	for _, obj := range []string{"SOURCE clicks", "SINK big_clicks"} {
		out, err := r.psqlCmd(ctx, "-At", "-c", "SHOW CREATE "+obj).Output()
		if err != nil {
			t.Fatalf("SHOW CREATE %s: %v", obj, err)
		}
		if want := "endpoint = '" + r.endpoint + "'"; !strings.Contains(string(out), want) {
			t.Errorf("SHOW CREATE %s does not show %s:\n%s", obj, want, out)
		}
	}
}

// The one-off join counts each user's clicks in the stream as it was read.
func checkJoinCounts(r *readmeRun, st readmeStep, res psqlResult, before, after []demoClick) {
	t := r.t
	tab := sameShape(r, st, res)
	lo, hi := countBy(before, byUser), countBy(after, byUser)
	prev := int64(0)
	for _, row := range tab.rows {
		user, n := row[0], atoi(t, row[1])
		if u := atoi(t, user); u <= prev {
			t.Fatalf("join rows are not ordered by user_id: %v", tab.rows)
		} else {
			prev = u
		}
		if n < lo[user] || n > hi[user] {
			t.Fatalf("join: user %s has %d clicks; the stream held %d before and %d after", user, n, lo[user], hi[user])
		}
	}
}

// COUNT and SUM over the source read what the stream held at some moment
// between before and after.
func checkCountSum(r *readmeRun, st readmeStep, res psqlResult, before, after []demoClick) {
	t := r.t
	tab := sameShape(r, st, res)
	n, cents := atoi(t, tab.rows[0][0]), parseCents(t, tab.rows[0][1])
	sum := func(cs []demoClick) (s int64) {
		for _, c := range cs {
			s += c.cents()
		}
		return s
	}
	if n < int64(len(before)) || n > int64(len(after)) {
		t.Fatalf("COUNT(*) = %d; the stream held %d records before and %d after", n, len(before), len(after))
	}
	if cents < sum(before) || cents > sum(after) {
		t.Fatalf("SUM(amount) = %d cents; the stream held %d before and %d after", cents, sum(before), sum(after))
	}
}

func checkFirstClicks(r *readmeRun, st readmeStep, res psqlResult, _, _ []demoClick) {
	t := r.t
	tab := sameShape(r, st, res)
	for _, row := range tab.rows {
		if u := atoi(t, row[0]); u < 1 || u > 100 || !slices.Contains(demoURLs, row[1]) {
			t.Fatalf("a click the producer cannot have written: %v", row)
		}
	}
}

// SHOW SOURCE STATUS: two shards for every consumer of clicks, all reading,
// no record skipped or late (which would make spend's exact check moot).
func checkSourceStatus(r *readmeRun, st readmeStep, res psqlResult, _, _ []demoClick) {
	t := r.t
	tab := parseTable(t, res.stdout)
	col := func(name string) int {
		i := slices.Index(tab.columns, name)
		if i < 0 {
			t.Fatalf("SHOW SOURCE STATUS has no column %q: %v", name, tab.columns)
		}
		return i
	}
	consumer, state, decode, late := col("consumer"), col("state"), col("decode_errors"), col("late_records")
	shards := map[string]int{}
	for _, row := range tab.rows {
		shards[row[consumer]]++
		if row[state] != "reading" || row[decode] != "0" || row[late] != "0" {
			t.Fatalf("SHOW SOURCE STATUS clicks: %v", row)
		}
	}
	for _, c := range []string{"view per_url", "view spend", "view moves", "view bidders", "sink big_clicks"} {
		if shards[c] != 2 {
			t.Fatalf("SHOW SOURCE STATUS clicks: consumer %q has %d shards, want 2 (%v)", c, shards[c], shards)
		}
	}
}

// SHOW MATERIALIZED VIEWS: the session's five views, running.
func checkViews(r *readmeRun, st readmeStep, res psqlResult, _, _ []demoClick) {
	t := r.t
	tab := sameShape(r, st, res)
	var names []string
	for _, row := range tab.rows {
		names = append(names, row[0])
		if row[1] != "running" || row[2] != "" {
			t.Fatalf("SHOW MATERIALIZED VIEWS: %v", row)
		}
	}
	if want := []string{"bidders", "moves", "per_url", "spend", "top_price"}; !slices.Equal(names, want) {
		t.Fatalf("SHOW MATERIALIZED VIEWS lists %v, want %v", names, want)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
