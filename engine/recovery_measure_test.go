package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/internal/emulator"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// Measurements of issue 6 at scale: checkpoint durations once a view holds
// a million keys, and recovery time of a data directory holding about a
// gigabyte of a view's state. Both are skipped unless an environment
// variable asks for them; see each test's comment for the command.

// measureLogger keeps the engine's info logs out of the test output; the
// figures are what matter here.
func measureLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// checkpointLog is a slog.Handler that keeps the duration of every
// committed checkpoint from the coordinator's debug log, in order, so a
// measurement can see the whole distribution and not only CheckpointStats'
// three figures; other records are dropped.
type checkpointLog struct {
	mu   sync.Mutex
	took []time.Duration
}

func (c *checkpointLog) Enabled(_ context.Context, l slog.Level) bool { return true }

func (c *checkpointLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "checkpoint committed" {
		if r.Level >= slog.LevelWarn {
			fmt.Fprintln(os.Stderr, r.Level, r.Message)
		}
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "took" && a.Value.Kind() == slog.KindDuration {
			c.mu.Lock()
			c.took = append(c.took, a.Value.Duration())
			c.mu.Unlock()
			return false
		}
		return true
	})
	return nil
}

func (c *checkpointLog) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *checkpointLog) WithGroup(string) slog.Handler      { return c }

// durations returns the durations logged so far.
func (c *checkpointLog) durations() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.took)
}

// describeDurations summarises durations: count, percentiles with the
// same rank rule as CheckpointStats, and the sum.
func describeDurations(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	return fmt.Sprintf("n=%d min %v p10 %v p50 %v p90 %v p99 %v max %v (sum %v)", len(s),
		s[0].Round(time.Microsecond), at(0.10).Round(time.Microsecond), at(0.50).Round(time.Microsecond),
		at(0.90).Round(time.Microsecond), at(0.99).Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond),
		sum.Round(time.Millisecond))
}

// measureRecord is one source record of the measurements: key k, amount
// j % 100 for the j-th record put, and a note that depends on k only.
func measureRecord(j, k int64) emulator.Record {
	data, _ := json.Marshal(map[string]any{"k": k, "amount": j % 100, "note": measureNote(k)})
	return emulator.Record{PartitionKey: strconv.FormatInt(k, 10), Data: data}
}

// measureNote is a 64-byte string per key, so that a group's state holds
// a string as real views' often do (a name, a URL) and not only numbers.
func measureNote(k int64) string {
	s := fmt.Sprintf("note-%020d-", k)
	return s + strings.Repeat("x", 64-len(s))
}

// putAll puts records j in [from, to) with key keyOf(j), in batches of 500
// from two goroutines (kinesalite is the bottleneck; two calls in flight
// keep it busy).
func putAll(ctx context.Context, emu *emulator.Emulator, stream string, from, to int64, keyOf func(j int64) int64) error {
	const batch = 500
	var next atomic.Int64
	next.Store(from)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			for {
				i := next.Add(batch) - batch
				if i >= to {
					return
				}
				recs := make([]emulator.Record, 0, batch)
				for j := i; j < min(i+batch, to); j++ {
					recs = append(recs, measureRecord(j, keyOf(j)))
				}
				if _, err := emu.PutRecords(ctx, stream, recs); err != nil {
					errs <- fmt.Errorf("put records %d..%d: %w", i, i+int64(len(recs)), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// viewTotals is what the measured view must answer: its number of groups,
// the sum of its counts and the sum of its totals.
type viewTotals struct{ groups, records, amount int64 }

func (v viewTotals) String() string {
	return fmt.Sprintf("(%d, %d, %d)", v.groups, v.records, v.amount)
}

// addRecord adds record j (amount j % 100) to the expected totals.
func (v *viewTotals) addRecord(j int64) { v.records++; v.amount += j % 100 }

// queryTotals asks the view for its totals.
func queryTotals(ctx context.Context, e *Engine, view string) (string, error) {
	rows, err := e.Query(ctx, "SELECT COUNT(*), SUM(n), SUM(total) FROM "+view)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		r := rows.Row()
		got = append(got, fmt.Sprintf("(%s, %s, %s)", r[0].String(), r[1].String(), r[2].String()))
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if len(got) != 1 {
		return "", fmt.Errorf("want one row, got %d", len(got))
	}
	return got[0], nil
}

const (
	measureSource = "CREATE SOURCE m (k BIGINT, amount BIGINT, note VARCHAR(64)) WITH (connector = 'kinesis', " +
		"endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon')"
	// One group per key; MAX(note) keeps per-value counts in state, as
	// MIN/MAX/DISTINCT do, besides the group's summary and the view's row.
	measureView = "CREATE MATERIALIZED VIEW m_keys AS SELECT k, COUNT(*) AS n, SUM(amount) AS total, " +
		"MAX(note) AS note FROM m GROUP BY k"
)

// TestMeasureCheckpointsAtScale measures checkpoint durations while a view
// holds a given number of keys (one group per key) and records keep
// arriving, each checkpoint writing the keys touched since the previous.
//
// Phase 1 loads the keys: records k = 0..keys-1 are put, the view is
// created and FLUSHed. The engine is then closed, so that phase 2 starts
// with a fresh Engine whose CheckpointStats (kept since Open) hold only
// checkpoints over the full state. Phase 2 reopens the engine (its Open is
// a recovery of the phase-1 state and is timed) and keeps putting records
// with keys drawn uniformly from the loaded ones for a while, then
// FLUSHes; the view's answer is checked against totals kept here.
// STREAMSQL_MEASURE_CHECKPOINT_RATE is phase 2's put rate in records per
// second (default 2000; 0 puts as fast as kinesalite takes them, which
// outruns the view's reads, so barriers then wait behind a backlog).
//
//	STREAMSQL_MEASURE_CHECKPOINT_KEYS=1000000 STREAMSQL_MEASURE_CHECKPOINT_SECONDS=120 \
//	  go test -run TestMeasureCheckpointsAtScale -v -timeout 2h .
func TestMeasureCheckpointsAtScale(t *testing.T) {
	keys, _ := strconv.ParseInt(os.Getenv("STREAMSQL_MEASURE_CHECKPOINT_KEYS"), 10, 64)
	if keys <= 0 {
		t.Skip("set STREAMSQL_MEASURE_CHECKPOINT_KEYS=<keys> to measure")
	}
	secs, _ := strconv.Atoi(os.Getenv("STREAMSQL_MEASURE_CHECKPOINT_SECONDS"))
	if secs <= 0 {
		secs = 60
	}
	rate := int64(2000)
	if v := os.Getenv("STREAMSQL_MEASURE_CHECKPOINT_RATE"); v != "" {
		rate, _ = strconv.ParseInt(v, 10, 64)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	emu := emulator.StartForTest(ctx, t, emulator.Options{})
	const stream = "m-scale"
	if err := emu.CreateStream(ctx, stream, 4); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var want viewTotals
	want.groups = keys

	// Phase 1: load.
	start := time.Now()
	if err := putAll(ctx, emu, stream, 0, keys, func(j int64) int64 { return j }); err != nil {
		t.Fatal(err)
	}
	for j := range keys {
		want.addRecord(j)
	}
	t.Logf("phase 1: put %d records in %v", keys, time.Since(start).Round(time.Millisecond))
	log1 := &checkpointLog{}
	e, err := Open(ctx, Config{DataDir: dir, Logger: slog.New(log1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Exec(ctx, fmt.Sprintf(measureSource, emu.Endpoint(), stream)); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := e.Exec(ctx, measureView); err != nil {
		t.Fatal(err)
	}
	if err := e.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	load := time.Since(start)
	st := e.CheckpointStats()
	t.Logf("phase 1: view over %d keys built in %v (%.0f records/s); %d checkpoints while the state grew: p50 %v, p99 %v, max %v",
		keys, load.Round(time.Millisecond), float64(keys)/load.Seconds(), st.Count, st.P50, st.P99, st.Max)
	t.Logf("phase 1: checkpoints %s", describeDurations(log1.durations()))
	if got, err := queryTotals(ctx, e, "m_keys"); err != nil || got != want.String() {
		t.Fatalf("phase 1: view answers %s (err %v), want %s", got, err, want)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("phase 1: data dir %s", diskSize(t, dir))

	// Phase 2: a fresh engine (fresh CheckpointStats) over the full state,
	// with records arriving for secs seconds.
	start = time.Now()
	log2 := &checkpointLog{}
	e, err = Open(ctx, Config{DataDir: dir, Logger: slog.New(log2)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Logf("phase 2: Open of the %d-key state took %v", keys, time.Since(start).Round(time.Millisecond))
	rng := rand.New(rand.NewPCG(1, 2))
	var updates int64
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	start = time.Now()
	// Paced puts, a tenth of the rate every 100 ms, keep the pipeline
	// caught up, so that a checkpoint's duration is its own work and not
	// the wait of its barrier behind a backlog; rate 0 puts as fast as
	// kinesalite takes them.
	step := int64(1000)
	var tick <-chan time.Time
	if rate > 0 {
		step = max(1, rate/10)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		tick = tk.C
	}
	for next := keys; time.Now().Before(deadline); next += step {
		ks := make([]int64, step)
		for i := range ks {
			ks[i] = rng.Int64N(keys)
		}
		if err := putAll(ctx, emu, stream, next, next+step, func(j int64) int64 { return ks[j-next] }); err != nil {
			t.Fatal(err)
		}
		for j := next; j < next+step; j++ {
			want.addRecord(j)
		}
		updates += step
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
	}
	put := time.Since(start)
	if err := e.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	all := time.Since(start)
	st = e.CheckpointStats()
	t.Logf("phase 2: %d records (rate asked %d/s, 0: unpaced) over the %d keys put in %v (%.0f records/s), processed and committed in %v",
		updates, rate, keys, put.Round(time.Millisecond), float64(updates)/put.Seconds(), all.Round(time.Millisecond))
	t.Logf("phase 2: %d checkpoints at %d keys of state (interval %v): p50 %v, p99 %v, max %v",
		st.Count, keys, e.CheckpointInterval(), st.P50, st.P99, st.Max)
	took := log2.durations()
	t.Logf("phase 2: checkpoints %s", describeDurations(took))
	ms := make([]string, len(took))
	for i, d := range took {
		ms[i] = strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
	}
	t.Logf("phase 2: each checkpoint in ms, in order: %s", strings.Join(ms, " "))
	if got, err := queryTotals(ctx, e, "m_keys"); err != nil || got != want.String() {
		t.Fatalf("phase 2: view answers %s (err %v), want %s", got, err, want)
	}
	t.Logf("phase 2: data dir %s", diskSize(t, dir))
}

// TestMeasureRecovery measures how long an engine takes, from Open, until
// a view holding about the given amount of committed state answers a
// SELECT with its full result and FLUSH returns.
//
// Producing a gigabyte of state through kinesalite would take hours, so a
// small real run creates the source and the view (catalog, plan, committed
// source positions), then the view's pipeline is stopped and the same
// plan (planner.StreamPlan.Build, so the operators' own state encoding) is
// driven in process with synthetic rows of further keys, committing its
// state tables epoch by epoch with CommitEpoch as the coordinator does.
// The view's answer after the restart is checked against totals kept here
// (the count of groups, of records and the sum of amounts), so the
// synthetic state is read back exactly as real state would be.
//
//	STREAMSQL_MEASURE_RECOVERY_MB=1024 go test -run TestMeasureRecovery -v -timeout 2h .
//
// STREAMSQL_MEASURE_RECOVERY_DIR=<dir> keeps the data directory there
// (it must not exist) instead of a temporary one.
func TestMeasureRecovery(t *testing.T) {
	mb, _ := strconv.ParseFloat(os.Getenv("STREAMSQL_MEASURE_RECOVERY_MB"), 64)
	if mb <= 0 {
		t.Skip("set STREAMSQL_MEASURE_RECOVERY_MB=<megabytes of state> to measure")
	}
	target := int64(mb * (1 << 20))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	dir := os.Getenv("STREAMSQL_MEASURE_RECOVERY_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if _, err := os.Stat(dir); err == nil {
		t.Fatalf("%s exists; give a new directory", dir)
	}
	emu := emulator.StartForTest(ctx, t, emulator.Options{})
	const stream = "m-recover"
	if err := emu.CreateStream(ctx, stream, 4); err != nil {
		t.Fatal(err)
	}
	// The real run: keys 0..real-1, through Kinesis.
	const real = 2000
	var want viewTotals
	if err := putAll(ctx, emu, stream, 0, real, func(j int64) int64 { return j }); err != nil {
		t.Fatal(err)
	}
	for j := range int64(real) {
		want.addRecord(j)
	}
	want.groups = real
	e, err := Open(ctx, Config{DataDir: dir, Logger: measureLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Exec(ctx, fmt.Sprintf(measureSource, emu.Endpoint(), stream)); err != nil {
		t.Fatal(err)
	}
	if err := e.Exec(ctx, measureView); err != nil {
		t.Fatal(err)
	}
	if err := e.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	if got, err := queryTotals(ctx, e, "m_keys"); err != nil || got != want.String() {
		t.Fatalf("real run: view answers %s (err %v), want %s", got, err, want)
	}

	// The synthetic rest: the view's own plan, fed in process.
	obj, ok := e.catalog.get("m_keys")
	if !ok || obj.stream == nil {
		t.Fatal("view m_keys has no stream plan")
	}
	src, ok := e.catalog.get("m")
	if !ok {
		t.Fatal("source m is missing")
	}
	e.views.stopView("m_keys")
	gen, err := newStateGenerator(ctx, e, obj, src)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// Epochs of chunk groups each; after the first, the bytes per group
	// of committed state tell how many groups reach the target.
	const chunk = 200000
	next := int64(real)
	perGroup := 0.0
	total := int64(0)
	for total == 0 || float64(next-real)*perGroup < float64(target) {
		n := int64(chunk)
		if perGroup > 0 {
			n = min(n, int64((float64(target)-float64(next-real)*perGroup)/perGroup)+1)
		}
		if err := gen.epoch(ctx, next, next+n, &want); err != nil {
			t.Fatal(err)
		}
		next += n
		if perGroup == 0 {
			b, err := committedBytes(e, obj.entry.ID)
			if err != nil {
				t.Fatal(err)
			}
			perGroup = float64(b) / float64(next)
			t.Logf("synthetic state: %.0f bytes of keys and values per group", perGroup)
		}
		total = next
	}
	if err := gen.close(); err != nil {
		t.Fatal(err)
	}
	stateBytes, err := committedBytes(e, obj.entry.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("synthetic state: %d groups, %.1f MiB of keys and values, written in %v; CommitEpoch of each epoch of up to %d groups: %s",
		next, float64(stateBytes)/(1<<20), time.Since(start).Round(time.Millisecond), chunk, describeDurations(gen.commits))
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("data dir before recovery: %s", diskSize(t, dir))

	// Recovery, timed.
	start = time.Now()
	e, err = Open(ctx, Config{DataDir: dir, Logger: measureLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	opened := time.Since(start)
	got, err := queryTotals(ctx, e, "m_keys")
	selected := time.Since(start)
	if err != nil || got != want.String() {
		t.Fatalf("after recovery: view answers %s (err %v), want %s", got, err, want)
	}
	if err := e.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	flushed := time.Since(start)
	t.Logf("recovery of %.2f GiB of state (%d groups): Open %v, full SELECT answered at %v, FLUSH returned at %v",
		float64(stateBytes)/(1<<30), next, opened.Round(time.Millisecond), selected.Round(time.Millisecond),
		flushed.Round(time.Millisecond))
	// A second SELECT shows how much of the first was the scan itself.
	start = time.Now()
	if _, err := queryTotals(ctx, e, "m_keys"); err != nil {
		t.Fatal(err)
	}
	t.Logf("a second full SELECT took %v", time.Since(start).Round(time.Millisecond))
	t.Logf("data dir after recovery: %s", diskSize(t, dir))
}

// stateGenerator drives a view's plan in process over its own state
// tables, as the view's pipeline would, committing an epoch per call.
type stateGenerator struct {
	e       *Engine
	cols    int
	kCol    int
	amtCol  int
	noteCol int
	feed    *exec.Feed
	tables  []*state.Table
	reached chan uint64
	done    chan error
	cancel  context.CancelFunc
	// commits holds how long each epoch's CommitEpoch took (the state
	// write alone, without the operators' work before the barrier).
	commits []time.Duration
}

func newStateGenerator(ctx context.Context, e *Engine, view, src *object) (*stateGenerator, error) {
	g := &stateGenerator{e: e, cols: len(src.columns), kCol: -1, amtCol: -1, noteCol: -1,
		reached: make(chan uint64, 1), done: make(chan error, 1)}
	for i, c := range src.columns {
		switch c.Name {
		case "k":
			g.kCol = i
		case "amount":
			g.amtCol = i
		case "note":
			g.noteCol = i
		}
	}
	if g.kCol < 0 || g.amtCol < 0 || g.noteCol < 0 {
		return nil, fmt.Errorf("source columns %v: want k, amount and note", src.columns)
	}
	ctx, g.cancel = context.WithCancel(ctx)
	graph := exec.NewGraph(exec.GraphOptions{})
	in, feed := graph.Input("synthetic source")
	g.feed = feed
	mat, err := view.stream.Build(graph, []exec.NodeID{in}, func(op uint32) exec.StateTable {
		t := e.db.Table(view.entry.ID, op)
		g.tables = append(g.tables, t)
		return t
	}, planner.BuildOptions{})
	if err != nil {
		return nil, fmt.Errorf("build the view's plan: %w", err)
	}
	graph.Observe(mat, func(msg exec.Message) error {
		if msg.Kind == exec.KindBarrier {
			select {
			case g.reached <- msg.Barrier.Epoch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	if err := graph.Start(ctx); err != nil {
		return nil, err
	}
	go func() { g.done <- graph.Wait() }()
	return g, nil
}

// epoch feeds one record for each key in [from, to) (record number = key),
// then a barrier, and commits the epoch once the barrier is through.
func (g *stateGenerator) epoch(ctx context.Context, from, to int64, want *viewTotals) error {
	const batchRows = 1024
	for i := from; i < to; i += batchRows {
		b := exec.NewBatch(batchRows)
		for k := i; k < min(i+batchRows, to); k++ {
			row := make(types.Row, g.cols)
			row[g.kCol] = types.NewInt(k)
			row[g.amtCol] = types.NewInt(k % 100)
			row[g.noteCol] = types.NewString(measureNote(k))
			b.Append(exec.Insert, row)
			want.addRecord(k)
			want.groups++
		}
		if err := g.feed.Send(ctx, exec.Message{Kind: exec.KindBatch, Batch: b}); err != nil {
			return fmt.Errorf("feed rows: %w", err)
		}
	}
	last, err := g.e.db.LastCommittedEpoch()
	if err != nil {
		return err
	}
	epoch := last + 1
	if err := g.feed.Send(ctx, exec.Message{Kind: exec.KindBarrier, Barrier: exec.Barrier{Epoch: epoch}}); err != nil {
		return fmt.Errorf("feed barrier: %w", err)
	}
	select {
	case got := <-g.reached:
		if got != epoch {
			return fmt.Errorf("barrier %d came out, want %d", got, epoch)
		}
	case err := <-g.done:
		return fmt.Errorf("graph ended: %v", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	start := time.Now()
	if err := g.e.db.CommitEpoch(epoch, nil, g.tables...); err != nil {
		return fmt.Errorf("commit synthetic epoch %d: %w", epoch, err)
	}
	g.commits = append(g.commits, time.Since(start))
	return nil
}

func (g *stateGenerator) close() error {
	g.feed.Close()
	err := <-g.done
	g.cancel()
	return err
}

// committedBytes sums the key and value bytes of a view's committed
// tables (its meta table and operator ids 0 to 15, more than this plan
// has), keys with their 13-byte table prefix.
func committedBytes(e *Engine, id uint64) (int64, error) {
	var total int64
	ops := []uint32{viewMetaTable}
	for op := uint32(0); op < 16; op++ {
		ops = append(ops, op)
	}
	err := e.db.ReadCommitted(func(txn *badger.Txn) error {
		for _, op := range ops {
			if err := state.ScanCommitted(txn, id, op, nil, nil, func(k, v []byte) error {
				total += int64(13 + len(k) + len(v))
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return total, err
}

// diskSize describes the files of a data directory: their apparent size,
// the SSTable and value-log parts of it, and du's count of allocated
// blocks (Badger preallocates value-log files, so the two differ).
func diskSize(t *testing.T, dir string) string {
	t.Helper()
	var all, vlog, sst int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		all += info.Size()
		switch filepath.Ext(path) {
		case ".vlog":
			vlog += info.Size()
		case ".sst":
			sst += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	du := "unknown"
	if out, err := osexec.Command("du", "-sk", dir).Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) > 0 {
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				du = fmt.Sprintf("%.1f MiB", float64(kb)/1024)
			}
		}
	}
	return fmt.Sprintf("%.1f MiB apparent (SSTables %.1f MiB, value log %.1f MiB), du %s",
		float64(all)/(1<<20), float64(sst)/(1<<20), float64(vlog)/(1<<20), du)
}
