package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/cluster"
	"github.com/streamsql/streamsql/internal/emulator"
)

// The harness of the cluster tests (issue 18, docs/cluster.md section 11):
// kinesalite, dynalite and s3rver on loopback, `streamsql serve --cluster`
// nodes as child processes of the built binary, and the observers the
// tests judge them by: a poller of every lease item, the state store's
// listing, the sink's stream read straight from Kinesis, the metrics.

// s3rver accepts only its own default credentials; dynalite and kinesalite
// accept any, so every node and every client of the test uses these.
const clusterKeyID, clusterSecretKey = "S3RVER", "S3RVER"

// clusterEnv is one cluster's services: the emulators, the lease table's
// name and the state store's URL.
type clusterEnv struct {
	ctx           context.Context
	bin           string
	kin, ddb, s3  *emulator.Emulator
	table, bucket string
	prefix        string // of the state store, with a trailing slash
	leaseDuration time.Duration
}

// newClusterEnv skips under -short; otherwise it builds the binary and
// starts the three emulators under a context that ends after d.
func newClusterEnv(t *testing.T, d, leaseDuration time.Duration) *clusterEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and runs a cluster of it")
	}
	bin := buildBinary(t)
	if why := clusterFlagMissing(t, bin); why != "" {
		t.Skip(why)
	}
	ctx := testContext(t, d)
	ce := &clusterEnv{ctx: ctx, bin: bin, table: "streamsql-accept", bucket: "streamsql-accept",
		prefix: "state/", leaseDuration: leaseDuration}
	ce.kin = emulator.StartForTest(ctx, t, emulator.Options{})
	ce.ddb = emulator.StartDynalite(ctx, t)
	ce.s3 = emulator.StartS3rver(ctx, t)
	return ce
}

// stateURL is --state-store for table: each cluster of a run (the cost
// test runs two) has its own prefix.
func (ce *clusterEnv) stateURL(table string) string {
	return "s3://" + ce.bucket + "/" + ce.prefix + table
}

// nodeProc is one `streamsql serve --cluster` process.
type nodeProc struct {
	id       string
	srv      *binaryServer
	httpAddr string // host:port of /metrics
	stopped  bool   // SIGSTOPped and not yet continued
}

var metricsLine = regexp.MustCompile(`addr=http://(127\.0\.0\.1:\d+)/metrics`)

// startNode starts node id of the cluster whose lease table is table, on a
// fresh data directory, with extra flags after the cluster's.
func (ce *clusterEnv) startNode(t *testing.T, table, id string, extra ...string) *nodeProc {
	t.Helper()
	// --advertise defaults to the address --listen bound.
	args := append([]string{
		"--cluster", table, "--state-store", ce.stateURL(table),
		"--node-id", id, "--lease-duration", ce.leaseDuration.String(),
		"--cluster-secret", "accept-secret",
		"--dynamodb-endpoint", ce.ddb.Endpoint(), "--s3-endpoint", ce.s3.Endpoint(),
		"--kinesis-endpoint", ce.kin.Endpoint(), "--aws-region", emulator.Region,
	}, extra...)
	srv := startBinaryWith(t, ce.bin, t.TempDir(), binaryConfig{args: args, env: []string{
		"AWS_ACCESS_KEY_ID=" + clusterKeyID, "AWS_SECRET_ACCESS_KEY=" + clusterSecretKey, "AWS_REGION=" + emulator.Region,
		"AWS_EC2_METADATA_DISABLED=true", // loopback only
	}})
	n := &nodeProc{id: id, srv: srv}
	// The line that says "listening" may reach the harness's scanner before
	// the output buffer gets the chunk it came in, metrics line included.
	for deadline := time.Now().Add(10 * time.Second); n.httpAddr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := metricsLine.FindStringSubmatch(srv.stderr.String()); m != nil {
			n.httpAddr = m[1]
		}
	}
	t.Cleanup(func() {
		if n.stopped { // a failed test must not leave a stopped process behind
			_ = syscall.Kill(srv.cmd.Process.Pid, syscall.SIGCONT)
		}
	})
	return n
}

// stop sends SIGSTOP: the process is frozen where it stands, as in a long
// pause of a VM or a collector.
func (n *nodeProc) stop(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(n.srv.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP node %s: %v", n.id, err)
	}
	n.stopped = true
}

// cont sends SIGCONT.
func (n *nodeProc) cont(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(n.srv.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT node %s: %v", n.id, err)
	}
	n.stopped = false
}

// dumpStacks sends SIGQUIT to every node still running (not stopped,
// not exited): the Go runtime prints every goroutine's stack and exits, and
// the harness logs each node's output when the test has failed. For a
// wait that ran past its bound: the stacks say where it is stuck.
func dumpStacks(t *testing.T, nodes ...*nodeProc) {
	t.Helper()
	for _, n := range nodes {
		select {
		case <-n.srv.exited:
			continue
		default:
		}
		if n.stopped {
			n.cont(t)
		}
		_ = n.srv.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-n.srv.exited:
		case <-time.After(30 * time.Second):
			t.Logf("node %s still running 30s after SIGQUIT", n.id)
		}
	}
}

// flushBounded runs FLUSH on conn with statement_timeout = bound, so that
// past it the engine's own error says what FLUSH waited for. On an error
// it calls stalled (when not nil: say what the cluster looks like), dumps
// every node's stacks (the Go runtime's, on SIGQUIT: the harness logs each
// node's output when the test has failed) and fails the test; the same,
// should FLUSH outlive its timeout by 30 s.
func flushBounded(ctx context.Context, t *testing.T, conn *pgx.Conn, on string, bound time.Duration, stalled func(), nodes ...*nodeProc) {
	t.Helper()
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET statement_timeout = '%dms'", bound.Milliseconds())); err != nil {
		t.Fatalf("SET statement_timeout on %s: %v", on, err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, "FLUSH")
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(bound + 30*time.Second):
		if stalled != nil {
			stalled()
		}
		dumpStacks(t, nodes...)
		t.Fatalf("FLUSH on %s still waiting %v after its statement_timeout of %v (then: %v); every node's goroutines, dumped while it waited, are in its output below",
			on, 30*time.Second, bound, <-done)
	}
	if err != nil {
		if stalled != nil {
			stalled()
		}
		// Whatever FLUSH waited for is most likely still stuck.
		dumpStacks(t, nodes...)
		t.Fatalf("FLUSH on %s: %v after %v (every node's goroutines, dumped after, are in its output below)", on, err, time.Since(start).Round(time.Millisecond))
	}
	t.Logf("FLUSH on %s took %v", on, time.Since(start).Round(time.Millisecond))
	if _, err := conn.Exec(ctx, "SET statement_timeout = '10min'"); err != nil {
		t.Fatalf("SET statement_timeout on %s: %v", on, err)
	}
}

// cpuSeconds is the node's user and system CPU time so far, from
// /proc/<pid>/stat (utime and stime, fields 14 and 15, in clock ticks).
func (n *nodeProc) cpuSeconds(t *testing.T) float64 {
	t.Helper()
	return procCPUSeconds(t, n.srv.cmd.Process.Pid)
}

// clockTicks is the kernel's USER_HZ, 100 on every Linux Go supports.
const clockTicks = 100

func procCPUSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("CPU time of process %d: %v", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// fields[0] is field 3 (state): utime is field 14, stime 15.
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: utime %q stime %q", pid, fields[11], fields[12])
	}
	return float64(utime+stime) / clockTicks
}

// metric sums the samples of the metric named name (every label set) at
// the node's /metrics; found is false when the node exports none.
func (n *nodeProc) metric(t *testing.T, name string) (sum float64, found bool) {
	t.Helper()
	if n.httpAddr == "" {
		t.Fatalf("node %s logged no metrics address", n.id)
	}
	resp, err := http.Get("http://" + n.httpAddr + "/metrics")
	if err != nil {
		t.Fatalf("metrics of node %s: %v", n.id, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("metrics of node %s: %q: %v", n.id, line, err)
		}
		sum, found = sum+v, true
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("metrics of node %s: %v", n.id, err)
	}
	return sum, found
}

// namedRows runs q and returns its column names and rows, each value as
// text (NULL for a null).
func namedRows(ctx context.Context, t *testing.T, conn *pgx.Conn, q string) ([]string, [][]string) {
	t.Helper()
	cols, rows, err := tryNamedRows(ctx, conn, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return cols, rows
}

func tryNamedRows(ctx context.Context, conn *pgx.Conn, q string) ([]string, [][]string, error) {
	rows, err := conn.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, nil, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = "NULL"
			if v != nil {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	return cols, out, rows.Err()
}

// logTable logs q's answer as a table; an error fails the test but not
// at once (these are diagnostics beside the checks).
func logTable(ctx context.Context, t *testing.T, conn *pgx.Conn, q string) {
	t.Helper()
	cols, rows, err := tryNamedRows(ctx, conn, q)
	if err != nil {
		t.Errorf("%s: %v", q, err)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n  %s\n", q, strings.Join(cols, " | "))
	for _, r := range rows {
		fmt.Fprintf(&b, "  %s\n", strings.Join(r, " | "))
	}
	t.Log(b.String())
}

// leaseObs is what the poller saw of one lease at one moment.
type leaseObs struct {
	at      time.Time
	owner   string
	counter int64
	epoch   uint64
}

// leasePoller reads every lease item of a table every interval and checks,
// per lease and between consecutive reads, what fencing promises: the
// committed epoch never goes back; the counter never goes back; the owner
// never changes without the counter (every take and release bumps it); and
// the counter never moves by one with the owner unchanged (a commit must
// not bump it; a take or a release changes the owner). It also keeps every
// run of epochs any checkpoint ever referenced, for the fencing check on
// the state store.
type leasePoller struct {
	d    *cluster.Dynamo
	stop chan struct{}
	done chan struct{}

	mu         sync.Mutex
	history    map[string][]leaseObs // by lease id, one entry per change
	runs       map[cluster.Run]bool
	violations []string
	reads      int
	errs       int
	lastErr    error
}

// openLeaseTable is a client of the cluster's lease table, as the test's
// own observer.
func (ce *clusterEnv) openLeaseTable(t *testing.T, table string) *cluster.Dynamo {
	t.Helper()
	d, err := cluster.OpenDynamo(ce.ctx, cluster.DynamoConfig{Table: table, Endpoint: ce.ddb.Endpoint(), Region: emulator.Region,
		AccessKeyID: clusterKeyID, SecretAccessKey: clusterSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// startLeasePoller polls table every interval until the test ends or
// finish is called.
func (ce *clusterEnv) startLeasePoller(t *testing.T, table string, interval time.Duration) *leasePoller {
	t.Helper()
	p := &leasePoller{d: ce.openLeaseTable(t, table), stop: make(chan struct{}), done: make(chan struct{}),
		history: map[string][]leaseObs{}, runs: map[cluster.Run]bool{}}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			p.poll(ce.ctx)
			select {
			case <-p.stop:
				return
			case <-ce.ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { p.finish(ce.ctx) })
	return p
}

// finish stops the poller and reads once more, so that the history ends
// with what the table holds now; safe to call twice.
func (p *leasePoller) finish(ctx context.Context) {
	select {
	case <-p.stop:
		return
	default:
		close(p.stop)
	}
	<-p.done
	p.poll(ctx)
}

func (p *leasePoller) poll(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	leases, err := p.d.Leases(cctx, "")
	cancel()
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.errs++
		p.lastErr = err
		return
	}
	p.reads++
	for _, l := range leases {
		id := l.ID()
		o := leaseObs{at: now, owner: l.Owner, counter: l.Counter, epoch: l.Epoch}
		for _, r := range checkpointRuns(l.Checkpoint) {
			p.runs[r] = true
		}
		h := p.history[id]
		if len(h) == 0 {
			p.history[id] = append(h, o)
			continue
		}
		prev := h[len(h)-1]
		if prev.owner == o.owner && prev.counter == o.counter && prev.epoch == o.epoch {
			continue
		}
		if bad := leaseStepFaults(prev, o); len(bad) > 0 && len(p.violations) < 20 {
			p.violations = append(p.violations, fmt.Sprintf("lease %s: %s: %s at %s, then %s at %s", id, strings.Join(bad, "; "),
				obsString(prev), prev.at.Format("15:04:05.000"), obsString(o), o.at.Format("15:04:05.000")))
		}
		p.history[id] = append(h, o)
	}
}

// leaseStepFaults says what is wrong with a lease going from prev to next
// between two reads (nothing: nil).
func leaseStepFaults(prev, next leaseObs) []string {
	var bad []string
	if next.epoch < prev.epoch {
		bad = append(bad, "its committed epoch went back")
	}
	if next.counter < prev.counter {
		bad = append(bad, "its counter went back")
	}
	if next.counter == prev.counter && next.owner != prev.owner {
		bad = append(bad, "its owner changed without the counter")
	}
	if next.counter == prev.counter+1 && next.owner == prev.owner {
		bad = append(bad, "its counter moved by one with the same owner (a commit or a take of itself bumped it)")
	}
	return bad
}

func obsString(o leaseObs) string {
	owner := o.owner
	if owner == "" {
		owner = "(none)"
	}
	return fmt.Sprintf("owner %s counter %d epoch %d", owner, o.counter, o.epoch)
}

// checkpointRuns finds the runs of a lease's checkpoint: the JSON of the
// state's location (cluster.Location), alone or inside the engine's
// checkpoint, wherever an object has a "runs" member.
func checkpointRuns(cp []byte) []cluster.Run {
	if len(cp) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(cp, &v) != nil {
		return nil
	}
	var out []cluster.Run
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if runs, ok := x["runs"]; ok {
				b, _ := json.Marshal(runs)
				var rs []cluster.Run
				if json.Unmarshal(b, &rs) == nil {
					out = append(out, rs...)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return out
}

// current is the last observation of every lease, by id.
func (p *leasePoller) current() map[string]leaseObs {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]leaseObs, len(p.history))
	for id, h := range p.history {
		out[id] = h[len(h)-1]
	}
	return out
}

// waitCurrent waits, up to d, until cond holds of the last observations
// (after a read that began after the call), and fails naming what.
func (p *leasePoller) waitCurrent(t *testing.T, d time.Duration, what string, cond func(map[string]leaseObs) bool) map[string]leaseObs {
	t.Helper()
	deadline := time.Now().Add(d)
	p.mu.Lock()
	from := p.reads
	p.mu.Unlock()
	for {
		p.mu.Lock()
		fresh := p.reads > from
		p.mu.Unlock()
		if fresh {
			cur := p.current()
			if cond(cur) {
				return cur
			}
			if time.Now().After(deadline) {
				t.Fatalf("leases: %s: not within %v; the lease items are:\n%s%s", what, d, leaseListing(cur), p.errSummary())
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("leases: %s: no successful read of the lease table within %v%s", what, d, p.errSummary())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *leasePoller) errSummary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.errs == 0 {
		return ""
	}
	return fmt.Sprintf("\n(%d reads of the lease table failed; the last: %v)", p.errs, p.lastErr)
}

// leaseListing is cur, one lease a line, sorted.
func leaseListing(cur map[string]leaseObs) string {
	ids := make([]string, 0, len(cur))
	for id := range cur {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "  %s: %s\n", id, obsString(cur[id]))
	}
	if len(ids) == 0 {
		b.WriteString("  (none)\n")
	}
	return b.String()
}

// ownedBy counts the leases each owner holds ("" for free ones).
func ownedBy(cur map[string]leaseObs) map[string]int {
	out := map[string]int{}
	for _, o := range cur {
		out[o.owner]++
	}
	return out
}

// leasesOf are the ids of the leases owner holds in cur.
func leasesOf(cur map[string]leaseObs, owner string) []string {
	var out []string
	for id, o := range cur {
		if o.owner == owner {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// referenced reports whether a checkpoint the poller saw ever referenced
// node's epoch object of incarnation inc, and whether one referenced a
// later epoch of that incarnation.
func (p *leasePoller) referenced(node, inc string, epoch uint64) (it, later bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for r := range p.runs {
		if r.Node == node && r.Incarnation == inc {
			it = it || r.First <= epoch && epoch <= r.Last
			later = later || r.Last > epoch
		}
	}
	return it, later
}

// epochObject is one object under d/<node>/ in the state store.
type epochObject struct {
	key         string
	incarnation string
	epoch       uint64
	modified    time.Time
}

// epochObjects lists the state store's epoch objects of node
// (d/<node>/<incarnation>/<epoch> under prefix) with the S3 SDK. s3rver
// answers a listing with a 500 now and then while objects are written
// beside it, so a failed listing is tried again, up to a minute.
func (ce *clusterEnv) epochObjects(t *testing.T, prefix, node string) []epochObject {
	t.Helper()
	c := s3.New(s3.Options{
		Region:       emulator.Region,
		BaseEndpoint: aws.String(ce.s3.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(clusterKeyID, clusterSecretKey, ""),
	})
	dir := prefix + "d/" + node + "/"
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := listEpochObjects(ce.ctx, c, ce.bucket, dir)
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("list s3://%s/%s for a minute: %v", ce.bucket, dir, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func listEpochObjects(ctx context.Context, c *s3.Client, bucket, dir string) ([]epochObject, error) {
	var out []epochObject
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(dir)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			inc, e, ok := strings.Cut(strings.TrimPrefix(key, dir), "/")
			epoch, err := strconv.ParseUint(e, 10, 64)
			if !ok || err != nil {
				return nil, fmt.Errorf("s3://%s/%s is not d/<node>/<incarnation>/<epoch>", bucket, key)
			}
			out = append(out, epochObject{key: key, incarnation: inc, epoch: epoch, modified: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

// sinkReader reads a stream from its start, every shard, keeping each
// shard's iterator so that a later read goes on where the last stopped.
type sinkReader struct {
	c      *kinesis.Client
	stream string
	iters  map[string]*string // by shard id; nil once a closed shard is done
	recs   [][]byte
}

func (ce *clusterEnv) newSinkReader(t *testing.T, stream string) *sinkReader {
	t.Helper()
	c, err := ce.kin.Client()
	if err != nil {
		t.Fatal(err)
	}
	return &sinkReader{c: c, stream: stream, iters: map[string]*string{}}
}

// readAll reads every shard until each is caught up (an empty answer with
// nothing behind), and returns every record read so far.
func (r *sinkReader) readAll(ctx context.Context, t *testing.T) [][]byte {
	t.Helper()
	shards, err := r.c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(r.stream)})
	if err != nil {
		t.Fatalf("list shards of %s: %v", r.stream, err)
	}
	for _, s := range shards.Shards {
		id := aws.ToString(s.ShardId)
		it, seen := r.iters[id]
		if !seen {
			out, err := r.c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(r.stream), ShardId: s.ShardId,
				ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatalf("shard iterator of %s/%s: %v", r.stream, id, err)
			}
			it = out.ShardIterator
		}
		for it != nil {
			out, err := r.c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(10000)})
			if err != nil {
				t.Fatalf("read %s/%s: %v", r.stream, id, err)
			}
			for _, rec := range out.Records {
				r.recs = append(r.recs, rec.Data)
			}
			it = out.NextShardIterator
			if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
				break
			}
		}
		r.iters[id] = it
	}
	return r.recs
}

// sinkRecord is what the test's sinks write per input record: the sink's
// id and the source's columns the test checks.
type sinkRecord struct {
	ID  string `json:"_id"`
	Seq int64  `json:"seq"`
}

// dedupSink de-duplicates records by _id: it fails on an id that carries
// two different records, and returns the input sequence numbers of the
// distinct ones.
func dedupSink(t *testing.T, recs [][]byte) (seqs []int64, dups int) {
	t.Helper()
	byID := map[string]string{}
	for _, data := range recs {
		var r sinkRecord
		if err := json.Unmarshal(data, &r); err != nil || r.ID == "" {
			t.Fatalf("a sink record without an _id or not JSON (%v): %s", err, data)
		}
		if old, ok := byID[r.ID]; ok {
			dups++
			if old != string(data) {
				t.Fatalf("_id %s carries two different records:\n%s\n%s", r.ID, old, data)
			}
			continue
		}
		byID[r.ID] = string(data)
		seqs = append(seqs, r.Seq)
	}
	slices.Sort(seqs)
	return seqs, dups
}

// clusterFlagMissing says why the binary cannot run a cluster node, or ""
// when `streamsql serve --help` lists --cluster.
func clusterFlagMissing(t *testing.T, bin string) string {
	t.Helper()
	out, _ := exec.Command(bin, "serve", "--help").CombinedOutput()
	if strings.Contains(string(out), "-cluster") {
		return ""
	}
	return "streamsql serve has no --cluster flag in this build"
}

// leaseOwners returns the owner of each lease of group ("" when free),
// from SHOW CLUSTER LEASES.
func leaseOwners(ctx context.Context, conn *pgx.Conn, group string) (map[string]string, error) {
	rows, err := conn.Query(ctx, "SHOW CLUSTER LEASES")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var g, key string
		var owner, handoff *string
		var counter, epoch, moves int64
		if err := rows.Scan(&g, &key, &owner, &counter, &epoch, &moves, &handoff); err != nil {
			return nil, err
		}
		if g != group {
			continue
		}
		out[key] = ""
		if owner != nil {
			out[key] = *owner
		}
	}
	return out, rows.Err()
}

// countOwners counts the leases of leaseOwners by owner ("" for free).
func countOwners(owners map[string]string) map[string]int {
	held := map[string]int{}
	for _, o := range owners {
		held[o]++
	}
	return held
}

// clusterRow is one row of SHOW CLUSTER.
type clusterRow struct {
	alive                           bool
	leases, fenced, restores, epoch int64
	lag                             *int64 // lag_ms, NULL when unknown
}

func (r clusterRow) String() string {
	lag := "NULL"
	if r.lag != nil {
		lag = fmt.Sprint(*r.lag)
	}
	return fmt.Sprintf("{alive:%t leases:%d fenced:%d restores:%d epoch:%d lag_ms:%s}", r.alive, r.leases, r.fenced, r.restores, r.epoch, lag)
}

// showCluster reads SHOW CLUSTER on conn, by node id.
func showCluster(t *testing.T, ctx context.Context, conn *pgx.Conn) map[string]clusterRow {
	t.Helper()
	rows, err := conn.Query(ctx, "SHOW CLUSTER")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]clusterRow{}
	for rows.Next() {
		var id, addr string
		var r clusterRow
		if err := rows.Scan(&id, &addr, &r.alive, &r.leases, &r.fenced, &r.restores, &r.epoch, &r.lag); err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
