// Package emulator owns starting and stopping local stand-ins for AWS
// services on a loopback port, for tests and for `streamsql demo`:
// kinesalite (Kinesis), dynalite (DynamoDB) and s3rver (S3), installed from
// npm and pinned by the repository's package-lock.json. Another emulator
// can be added as a Kind without changing callers.
//
// The package also carries small Kinesis helpers for tests (NewClient,
// CreateStream, PutRecords) so that tests do not each re-learn the SDK.
package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// KindKinesalite is the kinesalite emulator (npm package kinesalite).
const KindKinesalite = "kinesalite"

// Options configures Start.
type Options struct {
	// Kind selects the emulator; "" means KindKinesalite.
	Kind string
	// RepoRoot is the directory holding package.json; found by walking up
	// from the working directory when empty.
	RepoRoot string
	// StartTimeout bounds the wait for the emulator to answer its API
	// (ListStreams, ListTables, ListBuckets) after its process started (npm ci is not counted). Default 30s.
	StartTimeout time.Duration
	// Log receives the emulator's stdout and stderr; discarded when nil.
	// The last few KiB are kept either way for error messages.
	Log io.Writer
	// Port is the loopback port to listen on; 0 lets the OS pick a free
	// one, which is what tests want. A fixed port (the demo's) that is
	// still held by an emulator on its way out is retried for a few
	// seconds, then refused with an error naming it.
	Port int
	// Dir, when set, is where the emulator keeps its streams, so that one
	// started again on the same Dir finds them; empty keeps them in memory.
	Dir string
}

func (o *Options) setDefaults() {
	if o.Kind == "" {
		o.Kind = KindKinesalite
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
}

// Validate reports an unknown Kind or a negative timeout.
func (o Options) Validate() error {
	if o.Kind != "" {
		if _, ok := kinds[o.Kind]; !ok {
			return fmt.Errorf("emulator: unknown kind %q (known: %s)", o.Kind, strings.Join(kindNames(), ", "))
		}
	}
	if o.StartTimeout < 0 {
		return fmt.Errorf("emulator: negative StartTimeout %v", o.StartTimeout)
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("emulator: port %d is not a TCP port", o.Port)
	}
	return nil
}

// kind knows how to install and launch one emulator.
type kind struct {
	// install makes sure the emulator can run from root (e.g. npm ci).
	install func(ctx context.Context, root string) error
	// command returns the process to start; it must listen on loopback only,
	// on opts.Port (0: any free port), keep its data in opts.Dir when set,
	// and print a line that ready recognises.
	command func(ctx context.Context, root string, opts Options) *exec.Cmd
	// ready parses a line of the process's stdout; it returns the endpoint
	// once the line says the server is listening.
	ready func(line string) (endpoint string, ok bool)
	// inMemory reports a line, before the ready one, saying the emulator
	// was given Options.Dir but keeps its streams in memory.
	inMemory func(line string) bool
	// busy reports an exit status meaning the port or Dir stays taken.
	busy func(exitCode int) bool
	// probe is one call proving the API answers, and what it is called
	// in errors; nil means the Kinesis ListStreams of kinesalite.
	probe     func(ctx context.Context, endpoint string) error
	probeName string
	// dir: "none" refuses Options.Dir, "required" makes a temporary one
	// (removed by Stop) when Options.Dir is empty; "" means optional.
	dir string
}

// ErrBusy is returned by Start (wrapped) when the emulator's fixed port or
// its data directory stays in use by another process.
var ErrBusy = errors.New("port or data directory in use")

var kinds = map[string]kind{
	KindKinesalite: kinesaliteKind,
	KindDynalite:   dynaliteKind,
	KindS3rver:     s3rverKind,
}

func kindNames() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	return names
}

// Emulator is one running emulator process. Stop it with Stop.
type Emulator struct {
	kind     string
	endpoint string
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	output   *tailBuffer
	exited   chan struct{} // closed when the process has been reaped
	waitErr  error         // valid after exited is closed
	inMemory bool          // given a Dir, it keeps its streams in memory
	dir      string        // Options.Dir or tempDir
	tempDir  string        // made by Start for a kind that needs a Dir; Stop removes it

	stopOnce sync.Once
	stopErr  error

	clientOnce sync.Once
	client     *kinesis.Client
	clientErr  error
}

// Start installs the emulator if needed, starts it on a loopback port
// (opts.Port, or a free one) and returns once it answers ListStreams. ctx bounds the whole start; the
// process itself lives until Stop (not until ctx ends).
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	k := kinds[opts.Kind]

	root := opts.RepoRoot
	if root == "" {
		var err error
		if root, err = FindRepoRoot(); err != nil {
			return nil, err
		}
	}
	if err := k.install(ctx, root); err != nil {
		return nil, fmt.Errorf("emulator %s: install: %w", opts.Kind, err)
	}

	// The process must outlive ctx, so it is not started with
	// CommandContext(ctx); Stop ends it.
	var tempDir string
	switch {
	case k.dir == "none" && opts.Dir != "":
		return nil, fmt.Errorf("emulator %s: keeps its data in memory; Options.Dir %q is not supported", opts.Kind, opts.Dir)
	case k.dir == "required" && opts.Dir == "":
		d, err := os.MkdirTemp("", "streamsql-"+opts.Kind+"-")
		if err != nil {
			return nil, fmt.Errorf("emulator %s: temporary data directory: %w", opts.Kind, err)
		}
		tempDir, opts.Dir = d, d
	}
	removeTemp := func() {
		if tempDir != "" {
			_ = os.RemoveAll(tempDir)
		}
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			removeTemp()
			return nil, fmt.Errorf("emulator %s: data directory: %w", opts.Kind, err)
		}
	}
	cmd := k.command(context.WithoutCancel(ctx), root, opts)
	cmd.Dir = root
	// Own process group: Stop signals the group, so nothing a wrapper may
	// fork survives it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		removeTemp()
		return nil, fmt.Errorf("emulator %s: stdin pipe: %w", opts.Kind, err)
	}
	tail := &tailBuffer{max: 8 << 10}
	var logw io.Writer = tail
	if opts.Log != nil {
		// exec copies stdout and stderr on two goroutines.
		logw = io.MultiWriter(tail, &lockedWriter{w: opts.Log})
	}
	// Stdout goes through a writer (not a pipe we read ourselves) so that
	// cmd.Wait owns the copying and never races our reads.
	readyc := make(chan string, 1)
	found, inMemory := false, false
	cmd.Stdout = &lineWriter{out: logw, line: func(line string) {
		if found {
			return
		}
		if k.inMemory != nil && k.inMemory(line) {
			inMemory = true // read after readyc, which orders it
		}
		if ep, ok := k.ready(line); ok {
			found = true
			readyc <- ep
		}
	}}
	cmd.Stderr = logw
	// Wait returns this long after the process exits even if something it
	// forked still holds stdout open.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		removeTemp()
		return nil, fmt.Errorf("emulator %s: start %s: %w", opts.Kind, cmd.Path, err)
	}
	e := &Emulator{kind: opts.Kind, cmd: cmd, stdin: stdin, output: tail, exited: make(chan struct{}), dir: opts.Dir, tempDir: tempDir}

	go func() {
		e.waitErr = cmd.Wait()
		close(e.exited)
	}()

	startCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	fail := func(err error) (*Emulator, error) {
		_ = e.Stop()
		return nil, fmt.Errorf("emulator %s: %w; output:\n%s", opts.Kind, err, e.output.String())
	}
	select {
	case ep := <-readyc:
		e.endpoint, e.inMemory = ep, inMemory && opts.Dir != ""
	case <-e.exited:
		err := fmt.Errorf("process exited before it was listening: %v", e.waitErr)
		if k.busy != nil && k.busy(cmd.ProcessState.ExitCode()) {
			err = fmt.Errorf("%w (%w)", err, ErrBusy)
		}
		return fail(err)
	case <-startCtx.Done():
		return fail(fmt.Errorf("not listening after %v: %w", opts.StartTimeout, startCtx.Err()))
	}
	if err := e.waitAnswers(startCtx, k); err != nil {
		return fail(err)
	}
	return e, nil
}

// waitAnswers polls the kind's probe (kinesalite: ListStreams) until it
// succeeds, the process exits or ctx ends: the listening line proves the
// socket, this proves the API.
func (e *Emulator) waitAnswers(ctx context.Context, k kind) error {
	probe, name := k.probe, k.probeName
	if probe == nil {
		name = "ListStreams"
		probe = func(ctx context.Context, _ string) error {
			c, err := e.Client()
			if err != nil {
				return err
			}
			_, err = c.ListStreams(ctx, &kinesis.ListStreamsInput{})
			return err
		}
	}
	var last error
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(callCtx, e.endpoint)
		cancel()
		if last == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-e.exited:
			t.Stop()
			return fmt.Errorf("process exited before answering %s: %v", name, e.waitErr)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("no answer to %s at %s: %w (last error: %v)", name, e.endpoint, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// Kind returns the emulator's kind.
func (e *Emulator) Kind() string { return e.kind }

// InMemory reports an emulator given Options.Dir that keeps its streams in
// memory all the same (kinesalite where leveldown has no prebuilt binary):
// one started again will not find them.
func (e *Emulator) InMemory() bool { return e.inMemory }

// Endpoint returns the emulator's URL, http://127.0.0.1:PORT.
func (e *Emulator) Endpoint() string { return e.endpoint }

// Output returns the last few KiB the emulator printed, for diagnostics.
func (e *Emulator) Output() string { return e.output.String() }

// Dir returns where the emulator keeps its data: Options.Dir, or the
// temporary directory Start made for s3rver; empty for dynalite.
func (e *Emulator) Dir() string { return e.dir }

// Client returns a Kinesis client for this emulator, made once.
func (e *Emulator) Client() (*kinesis.Client, error) {
	if e.kind != KindKinesalite {
		return nil, fmt.Errorf("emulator %s: Client is a Kinesis client, for kinesalite only", e.kind)
	}
	e.clientOnce.Do(func() {
		e.client, e.clientErr = NewClient(context.Background(), e.endpoint)
	})
	return e.client, e.clientErr
}

// CreateStream creates a stream on this emulator and waits until it is ACTIVE.
func (e *Emulator) CreateStream(ctx context.Context, name string, shards int) error {
	c, err := e.Client()
	if err != nil {
		return err
	}
	return CreateStream(ctx, c, name, shards)
}

// PutRecords writes records to a stream on this emulator, in order.
func (e *Emulator) PutRecords(ctx context.Context, stream string, records []Record) ([]PutResult, error) {
	c, err := e.Client()
	if err != nil {
		return nil, err
	}
	return PutRecords(ctx, c, stream, records)
}

// Stop ends the emulator's process group: SIGTERM, then SIGKILL if it has
// not exited within a few seconds. It is safe to call more than once and
// returns nil once the process is gone, however it went.
func (e *Emulator) Stop() error {
	e.stopOnce.Do(func() {
		e.stopErr = e.stop()
		if e.tempDir != "" && e.stopErr == nil {
			if err := os.RemoveAll(e.tempDir); err != nil {
				e.stopErr = fmt.Errorf("emulator %s: remove %s: %w", e.kind, e.tempDir, err)
			}
		}
	})
	return e.stopErr
}

func (e *Emulator) stop() error {
	select {
	case <-e.exited:
		return nil
	default:
	}
	pgid := e.cmd.Process.Pid
	_ = e.stdin.Close() // our script also exits on stdin EOF
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("emulator %s: SIGTERM process group %d: %w", e.kind, pgid, err)
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-e.exited:
		return nil
	case <-t.C:
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("emulator %s: SIGKILL process group %d: %w", e.kind, pgid, err)
	}
	t2 := time.NewTimer(5 * time.Second)
	defer t2.Stop()
	select {
	case <-e.exited:
		return nil
	case <-t2.C:
		return fmt.Errorf("emulator %s: process %d still running after SIGKILL", e.kind, pgid)
	}
}

// TB is the part of testing.TB that StartForTest uses; taking an interface
// keeps the testing package out of the binary, which uses this package for
// its demo.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// StartForTest starts an emulator and stops it when the test ends. On
// failure it fails the test with the emulator's output.
func StartForTest(ctx context.Context, t TB, opts Options) *Emulator {
	t.Helper()
	e, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
		return nil
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Logf("stop emulator: %v", err)
		}
	})
	return e
}

// lineWriter passes everything to out and each complete line to line. Only
// exec's single copying goroutine writes to it.
type lineWriter struct {
	out     io.Writer
	line    func(string)
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	_, _ = w.out.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.line(strings.TrimRight(string(w.partial[:i]), "\r"))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > 64<<10 { // a line that long is not our ready line
		w.partial = w.partial[:0]
	}
	return len(p), nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// FindRepoRoot walks up from the working directory to the first directory
// holding package.json (the repository root, where the emulators are pinned).
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("emulator: working directory: %w", err)
	}
	return findUp(dir, "package.json")
}
