package emulator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestStart_Kinesalite(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	e := StartForTest(ctx, t, Options{Kind: KindKinesalite})

	if !strings.HasPrefix(e.Endpoint(), "http://127.0.0.1:") {
		t.Fatalf("Endpoint() = %q, want http://127.0.0.1:PORT", e.Endpoint())
	}
	c, err := NewClient(ctx, e.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("ListStreams: %v", err)
	}

	if err := e.CreateStream(ctx, "clicks", 2); err != nil {
		t.Fatal(err)
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("clicks")})
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.StreamDescriptionSummary.StreamStatus; got != ktypes.StreamStatusActive {
		t.Fatalf("status = %s, want ACTIVE", got)
	}
	if got := aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount); got != 2 {
		t.Fatalf("open shards = %d, want 2", got)
	}

	var recs []Record
	for i := range 20 {
		recs = append(recs, Record{PartitionKey: fmt.Sprintf("user-%d", i%5), Data: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	res, err := e.PutRecords(ctx, "clicks", recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(recs) {
		t.Fatalf("got %d results, want %d", len(res), len(recs))
	}
	// Every record must be readable back from the shard it landed in, and
	// records of one partition key must land in one shard.
	shardOfKey := map[string]string{}
	for i, r := range res {
		if r.ShardID == "" || r.SequenceNumber == "" {
			t.Fatalf("result %d is empty: %+v", i, r)
		}
		if s, ok := shardOfKey[recs[i].PartitionKey]; ok && s != r.ShardID {
			t.Fatalf("key %s landed in %s and %s", recs[i].PartitionKey, s, r.ShardID)
		}
		shardOfKey[recs[i].PartitionKey] = r.ShardID
	}
	got := readAll(ctx, t, c, "clicks")
	want := make([]string, len(recs))
	for i, r := range recs {
		want[i] = string(r.Data)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("read back %v, want %v", got, want)
	}
}

// readAll reads every record of every shard from TRIM_HORIZON.
func readAll(ctx context.Context, t *testing.T, c *kinesis.Client, stream string) []string {
	t.Helper()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			r, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range r.Records {
				out = append(out, string(rec.Data))
			}
			// kinesalite reports 0 behind latest once the shard is drained.
			if len(r.Records) == 0 && aws.ToInt64(r.MillisBehindLatest) == 0 {
				break
			}
			iter = r.NextShardIterator
		}
	}
	return out
}

func TestEmulator_Stop(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	e, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := e.cmd.Process.Pid
	if err := e.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := e.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	select {
	case <-e.exited:
	default:
		t.Fatal("process not reaped after Stop")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process %d still exists after Stop (kill 0: %v)", pid, err)
	}
}

// Two emulators at once get their own ports and their own streams.
func TestStart_Parallel(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	a := StartForTest(ctx, t, Options{})
	b := StartForTest(ctx, t, Options{})
	if a.Endpoint() == b.Endpoint() {
		t.Fatalf("both emulators at %s", a.Endpoint())
	}
	if err := a.CreateStream(ctx, "only-in-a", 1); err != nil {
		t.Fatal(err)
	}
	cb, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cb.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.StreamNames) != 0 {
		t.Fatalf("b lists %v, want none", out.StreamNames)
	}
}

func TestCreateStream_Errors(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	e := StartForTest(ctx, t, Options{})
	c, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := CreateStream(ctx, c, "dup", 1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, stream string
		shards       int
		want         string
	}{
		{"zero shards", "z", 0, "at least 1"},
		{"duplicate", "dup", 1, "ResourceInUse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CreateStream(ctx, c, tt.stream, tt.shards)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := e.PutRecords(ctx, "missing", []Record{{PartitionKey: "k", Data: []byte("x")}}); err == nil {
		t.Fatal("PutRecords to a missing stream succeeded")
	}
}

// PutRecords splits a large batch into calls within the service limits and
// keeps the order of the results.
func TestPutRecords_Batches(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	e := StartForTest(ctx, t, Options{})
	if err := e.CreateStream(ctx, "big", 1); err != nil {
		t.Fatal(err)
	}
	recs := make([]Record, 1203)
	for i := range recs {
		recs[i] = Record{PartitionKey: "k", Data: fmt.Appendf(nil, "%d", i)}
	}
	res, err := e.PutRecords(ctx, "big", recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(recs) {
		t.Fatalf("got %d results, want %d", len(res), len(recs))
	}
	// One shard, one key: sequence numbers must increase in input order.
	for i := 1; i < len(res); i++ {
		a, b := res[i-1].SequenceNumber, res[i].SequenceNumber
		if len(a) > len(b) || (len(a) == len(b) && a >= b) {
			t.Fatalf("sequence numbers out of order at %d: %s then %s", i, a, b)
		}
	}
}

func TestOptions_Validate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"zero value", Options{}, ""},
		{"kinesalite", Options{Kind: KindKinesalite, StartTimeout: time.Second}, ""},
		{"unknown kind", Options{Kind: "kinesis-local"}, `unknown kind "kinesis-local"`},
		{"negative timeout", Options{StartTimeout: -1}, "negative StartTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := Start(context.Background(), Options{Kind: "nope"}); err == nil {
		t.Fatal("Start with an unknown kind succeeded")
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		endpoint string
		ok       bool
	}{
		{"http://127.0.0.1:4567", true},
		{"http://127.3.2.1:4567", true},
		{"https://localhost:4567", true},
		{"http://[::1]:4567", true},
		{"http://10.0.0.1:4567", false},
		{"https://kinesis.us-east-1.amazonaws.com", false},
		{"ftp://127.0.0.1:21", false},
		{"127.0.0.1:4567", false},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			err := checkLoopback(tt.endpoint)
			if (err == nil) != tt.ok {
				t.Fatalf("checkLoopback(%q) = %v, want ok=%v", tt.endpoint, err, tt.ok)
			}
			_, err = NewClient(context.Background(), tt.endpoint)
			if (err == nil) != tt.ok {
				t.Fatalf("NewClient(%q) = %v, want ok=%v", tt.endpoint, err, tt.ok)
			}
		})
	}
}

func TestKinesaliteReady(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{"kinesalite listening on 127.0.0.1:4567", "http://127.0.0.1:4567"},
		{"kinesalite listening on 127.0.0.1:4567\r", "http://127.0.0.1:4567"},
		{"kinesalite listening on 0.0.0.0:4567", ""},
		{"Listening at http://:::4567", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := kinesaliteKind.ready(tt.line)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ready(%q) = %q, %v; want %q", tt.line, got, ok, tt.want)
		}
	}
}

// A process that dies before it is ready, or never becomes ready, fails
// Start with its output instead of hanging.
func TestStart_Failures(t *testing.T) {
	root := t.TempDir()
	noInstall := func(context.Context, string) error { return nil }
	kinds["test-exits"] = kind{
		install: noInstall,
		command: func(ctx context.Context, _ string, _ Options) *exec.Cmd {
			return exec.CommandContext(ctx, "sh", "-c", "echo boom >&2; exit 3")
		},
		ready: kinesaliteKind.ready,
	}
	kinds["test-silent"] = kind{
		install: noInstall,
		command: func(ctx context.Context, _ string, _ Options) *exec.Cmd {
			return exec.CommandContext(ctx, "sh", "-c", "echo starting; exec sleep 60")
		},
		ready: kinesaliteKind.ready,
	}
	kinds["test-install-fails"] = kind{
		install: func(context.Context, string) error { return errors.New("no npm here") },
		command: kinesaliteKind.command,
		ready:   kinesaliteKind.ready,
	}
	t.Cleanup(func() {
		delete(kinds, "test-exits")
		delete(kinds, "test-silent")
		delete(kinds, "test-install-fails")
	})
	tests := []struct {
		kind string
		want []string
	}{
		{"test-exits", []string{"exited before it was listening", "boom"}},
		{"test-silent", []string{"not listening after", "starting"}},
		{"test-install-fails", []string{"install", "no npm here"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			start := time.Now()
			_, err := Start(testCtx(t, time.Minute), Options{Kind: tt.kind, RepoRoot: root, StartTimeout: 500 * time.Millisecond})
			if err == nil {
				t.Fatal("Start succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("Start took %v to fail", d)
			}
		})
	}
}

func TestFindUp(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := findUp(deep, "package.json")
	if err != nil || got != root {
		t.Fatalf("findUp = %q, %v; want %q", got, err, root)
	}
	if _, err := findUp(deep, "no-such-file-anywhere.json"); err == nil {
		t.Fatal("findUp found a file that does not exist")
	}
	// The real repository root is found from this package's directory.
	repo, err := FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, kinesaliteScript)); err != nil {
		t.Fatalf("repo root %s has no %s: %v", repo, kinesaliteScript, err)
	}
}

func TestNodeModuleCurrent(t *testing.T) {
	const lock = `{"packages":{"":{},"node_modules/kinesalite":{"version":"3.3.3"}}}`
	tests := []struct {
		name      string
		lock      string
		installed string // "" means not installed
		want      bool
		wantErr   bool
	}{
		{"installed at the pinned version", lock, `{"version":"3.3.3"}`, true, false},
		{"missing", lock, "", false, false},
		{"other version", lock, `{"version":"3.3.2"}`, false, false},
		{"half-written", lock, `{"vers`, false, false},
		{"not pinned", `{"packages":{}}`, `{"version":"3.3.3"}`, false, true},
		{"no lock file", "", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.lock != "" {
				if err := os.WriteFile(filepath.Join(root, "package-lock.json"), []byte(tt.lock), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.installed != "" {
				dir := filepath.Join(root, "node_modules", "kinesalite")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(tt.installed), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := nodeModuleCurrent(root, "kinesalite")
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("nodeModuleCurrent = %v, %v; want %v, err=%v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// A second locker waits while the first holds the lock and gets it once
// the first lets go.
func TestLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockFile(short, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: %v, want deadline exceeded", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := lockFile(testCtx(t, 30*time.Second), path)
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 8}
	fmt.Fprint(b, "0123456789")
	fmt.Fprint(b, "ab")
	if got := b.String(); got != "456789ab" {
		t.Fatalf("tail = %q", got)
	}
}

func TestLineWriter(t *testing.T) {
	var lines []string
	var all strings.Builder
	w := &lineWriter{out: &all, line: func(s string) { lines = append(lines, s) }}
	for _, chunk := range []string{"one\ntw", "o\r\n", "three"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(lines, "|") != "one|two" {
		t.Fatalf("lines = %q", lines)
	}
	if all.String() != "one\ntwo\r\nthree" {
		t.Fatalf("out = %q", all.String())
	}
}
