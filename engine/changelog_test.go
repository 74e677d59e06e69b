package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// chainSQL creates a source of rows sequence numbers 1..rows and a chain of
// n views: c1 counts them per n % 10, each next view takes the MAX of its
// upstream's count per key (an aggregate over an updating view).
func chainSQL(rows, n int) []string {
	stmts := []string{fmt.Sprintf(`CREATE SOURCE seq (n BIGINT) WITH (connector = 'datagen', number_of_rows = %d,
		rows_per_second = 0, fields.n.kind = 'sequence', fields.n.start = 1, fields.n.end = %d)`, rows, rows),
		`CREATE MATERIALIZED VIEW c1 AS SELECT n % 10 AS k, COUNT(*) AS c FROM seq GROUP BY n % 10`}
	for i := 2; i <= n; i++ {
		stmts = append(stmts, fmt.Sprintf(`CREATE MATERIALIZED VIEW c%d AS SELECT k, MAX(c) AS c FROM c%d GROUP BY k`, i, i-1))
	}
	return stmts
}

// TestChangelog_ChainGrowsLinearly: a chain of N views keeps N stateful
// operators and reads the source once, not N(N+1)/2 operators and N
// times (the upstream's plan inlined in every view); the rows all the
// chain's operators take in grow with N, not N². Counts, not timings.
func TestChangelog_ChainGrowsLinearly(t *testing.T) {
	const rows = 2000
	totalIn := map[int]int64{}
	for _, n := range []int{2, 4, 8} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx := context.Background()
			eng := openTest(t, t.TempDir())
			for _, s := range chainSQL(rows, n) {
				if err := eng.Exec(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			if err := eng.Exec(ctx, "FLUSH"); err != nil {
				t.Fatal(err)
			}
			// 2000 numbers, 200 per last digit, at every level.
			var want []string
			for k := range 10 {
				want = append(want, fmt.Sprintf("%d 200", k))
			}
			for i := 1; i <= n; i++ {
				got := queryStrings(t, eng, fmt.Sprintf("SELECT k, c FROM c%d ORDER BY k", i))
				if !slices.Equal(got, want) {
					t.Fatalf("c%d = %v, want %v", i, got, want)
				}
			}
			stateful, sourceRows := 0, int64(0)
			for i := 1; i <= n; i++ {
				p, err := eng.ViewProfile(fmt.Sprintf("c%d", i))
				if err != nil {
					t.Fatal(err)
				}
				for _, op := range p.Operators {
					if strings.Contains(op.Line, " state=") && !strings.HasPrefix(op.Line, "Materialize") {
						stateful++
					}
					if strings.HasPrefix(op.Line, "Source ") {
						sourceRows += op.RowsOut
					}
					totalIn[n] += op.RowsIn
				}
			}
			if stateful != n {
				t.Errorf("%d stateful operators in a chain of %d views, want %d (one per view)", stateful, n, n)
			}
			if sourceRows != rows {
				t.Errorf("the chain read %d source rows, want %d (only c1 reads the source)", sourceRows, rows)
			}
		})
	}
	// Linear: doubling the chain about doubles the rows; quadratic would
	// more than triple them (2+1 levels of 2 → 4+3+2+1 of 4 ...).
	for _, n := range []int{4, 8} {
		if totalIn[n] > totalIn[n/2]*5/2 {
			t.Errorf("rows into the operators: %d for %d views, %d for %d: more than linear", totalIn[n], n, totalIn[n/2], n/2)
		}
	}
	t.Logf("rows into the chain's operators: %v", totalIn)
}

// TestChangelog_Codec: what writeChangelog writes, decodeChangelog reads,
// chunked, with and without a watermark.
func TestChangelog_Codec(t *testing.T) {
	var many []change
	for i := range changelogChunk + 3 {
		many = append(many, change{op: exec.Op(i % 4), row: types.Row{types.NewInt(int64(i)), types.NewString("x"), types.Null}})
	}
	tests := []changelogEpoch{
		{epoch: 7},
		{epoch: 8, wm: -5, hasWM: true, changes: []change{{op: exec.UpdateDelete, row: types.Row{types.NewInt(1)}}, {op: exec.UpdateInsert, row: types.Row{types.NewInt(2)}}}},
		{epoch: 9, wm: 1e12, hasWM: true, changes: many},
	}
	for _, want := range tests {
		t.Run(fmt.Sprint(want.epoch), func(t *testing.T) {
			tab := &memTable{m: map[string][]byte{}}
			if err := writeChangelog(tab, want); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range tab.m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			got := changelogEpoch{epoch: want.epoch}
			for i, k := range keys {
				e, err := decodeChangelog([]byte(k), tab.m[k])
				if err != nil {
					t.Fatal(err)
				}
				if e.epoch != want.epoch {
					t.Fatalf("epoch %d, want %d", e.epoch, want.epoch)
				}
				if i == 0 {
					got.wm, got.hasWM = e.wm, e.hasWM
				}
				got.changes = append(got.changes, e.changes...)
			}
			if wantKeys := 1 + len(want.changes)/changelogChunk; len(keys) != wantKeys {
				t.Errorf("%d chunks, want %d", len(keys), wantKeys)
			}
			if got.wm != want.wm || got.hasWM != want.hasWM || len(got.changes) != len(want.changes) {
				t.Fatalf("got wm %d %v and %d changes, want %d %v and %d", got.wm, got.hasWM, len(got.changes), want.wm, want.hasWM, len(want.changes))
			}
			for i := range got.changes {
				if got.changes[i].op != want.changes[i].op || got.changes[i].row.String() != want.changes[i].row.String() {
					t.Errorf("change %d = %v %v, want %v %v", i, got.changes[i].op, got.changes[i].row, want.changes[i].op, want.changes[i].row)
				}
			}
		})
	}
}

// memTable is an exec.StateTable in a map, for the codec's test.
type memTable struct{ m map[string][]byte }

var _ exec.StateTable = (*memTable)(nil)

func (t *memTable) Get(k []byte) ([]byte, bool, error) { v, ok := t.m[string(k)]; return v, ok, nil }
func (t *memTable) Put(k, v []byte) error              { t.m[string(k)] = v; return nil }
func (t *memTable) Delete(k []byte) error              { delete(t.m, string(k)); return nil }
func (t *memTable) Scan(start, end []byte, fn func(k, v []byte) error) error {
	return fmt.Errorf("not used")
}

// TestChangelog_DiffAgainstBatch: a chain of views over a random bounded
// source (seeded datagen, rows spread over many short epochs so that
// updates and retractions cross epochs), each view against the same query
// as a one-off SELECT over the source with the upstream views written as
// subqueries (the batch evaluator). d is created once the chain has rows:
// it backfills.
func TestChangelog_DiffAgainstBatch(t *testing.T) {
	const a = "SELECT k, SUM(v) AS s, COUNT(*) AS c FROM r GROUP BY k"
	const b = "SELECT s %% 7 AS m, COUNT(*) AS nk, SUM(c) AS c FROM %s GROUP BY s %% 7"
	const c = "SELECT m, nk FROM %s WHERE c > 100"
	const d = "SELECT k, s FROM %s WHERE s > 0"
	views := []struct{ name, view, batch string }{
		{"a", a, a},
		{"b", fmt.Sprintf(b, "a"), fmt.Sprintf(b, "("+a+") ta")},
		{"c", fmt.Sprintf(c, "b"), fmt.Sprintf(c, "("+fmt.Sprintf(b, "("+a+") ta")+") tb")},
	}
	for _, seed := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			ctx := context.Background()
			eng, err := Open(ctx, Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				CheckpointInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { eng.Close() })
			src := fmt.Sprintf(`CREATE SOURCE r (k BIGINT, v BIGINT) WITH (connector = 'datagen', number_of_rows = 3000,
				rows_per_second = 5000, seed = %d, fields.k.min = 1, fields.k.max = 40, fields.v.min = -20, fields.v.max = 20)`, seed)
			if err := eng.Exec(ctx, src); err != nil {
				t.Fatal(err)
			}
			for _, v := range views {
				if err := eng.Exec(ctx, "CREATE MATERIALIZED VIEW "+v.name+" AS "+v.view); err != nil {
					t.Fatalf("%s: %v", v.name, err)
				}
			}
			// Once a has rows (before the source has ended), d over it.
			deadline := time.Now().Add(time.Minute)
			for len(queryStrings(t, eng, "SELECT k FROM a")) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("view a has no rows after a minute")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := eng.Exec(ctx, "CREATE MATERIALIZED VIEW d AS "+fmt.Sprintf(d, "a")); err != nil {
				t.Fatal(err)
			}
			if err := eng.Exec(ctx, "FLUSH"); err != nil {
				t.Fatal(err)
			}
			all := append(views, struct{ name, view, batch string }{"d", "", fmt.Sprintf(d, "("+a+") ta")})
			for _, v := range all {
				got := queryStrings(t, eng, "SELECT * FROM "+v.name)
				want := queryStrings(t, eng, v.batch)
				slices.Sort(got)
				slices.Sort(want)
				if len(want) == 0 || !slices.Equal(got, want) {
					t.Errorf("view %s = %v\nbatch = %v", v.name, got, want)
				}
			}
		})
	}
}

// TestChangelog_RestartAloneReplays: a view whose pipeline stops while
// its upstream goes on resumes from the upstream's changelog in Badger
// (the epochs after its committed position) and ends equal to the batch
// answer; meanwhile the upstream keeps those epochs, and trims them once
// the view has committed past them.
func TestChangelog_RestartAloneReplays(t *testing.T) {
	ctx := context.Background()
	eng, err := Open(ctx, Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		CheckpointInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	const a = "SELECT k, SUM(v) AS s, COUNT(*) AS c FROM r GROUP BY k"
	for _, s := range []string{
		`CREATE SOURCE r (k BIGINT, v BIGINT) WITH (connector = 'datagen', number_of_rows = 4000,
			rows_per_second = 4000, seed = 9, fields.k.min = 1, fields.k.max = 30, fields.v.min = -20, fields.v.max = 20)`,
		"CREATE MATERIALIZED VIEW a AS " + a,
		"CREATE MATERIALIZED VIEW d AS SELECT k, s, c FROM a WHERE c % 2 = 0",
	} {
		if err := eng.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	obj, _ := eng.catalog.get("d")
	up, _ := eng.catalog.get("a")
	// Stop d once it has committed rows, while the source still runs.
	committed := func(name string) uint64 {
		eng.views.mu.Lock()
		r := eng.views.runners[name]
		eng.views.mu.Unlock()
		if r == nil {
			return 0
		}
		return r.epoch.Load()
	}
	deadline := time.Now().Add(time.Minute)
	for len(queryStrings(t, eng, "SELECT k FROM d")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("view d has no rows after a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	eng.views.stopView("d")
	stoppedAt := committed("a")
	// The source runs to its end without d; a's changelog keeps every
	// epoch d has not committed.
	if err := eng.Exec(ctx, "FLUSH a"); err != nil {
		t.Fatal(err)
	}
	changelogKeys := func() (n int, first uint64) {
		snap, err := eng.db.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		it := snap.Scan(up.entry.ID, changelogTable, nil, nil)
		defer it.Close()
		for {
			k, _, ok, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return n, first
			}
			if n == 0 {
				first, _, _ = state.ReadUint64(k)
			}
			n++
		}
	}
	if n, first := changelogKeys(); n == 0 || first > stoppedAt+1 {
		t.Fatalf("a's changelog holds %d chunks from epoch %d; want those after d's stop at epoch %d", n, first, stoppedAt)
	}
	if committed("a") <= stoppedAt {
		t.Fatalf("a committed nothing after d stopped (epoch %d)", stoppedAt)
	}
	eng.views.startView(obj)
	if err := eng.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	got := queryStrings(t, eng, "SELECT * FROM d")
	want := queryStrings(t, eng, "SELECT k, s, c FROM ("+a+") t WHERE c % 2 = 0")
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("d after its restart = %v\nbatch = %v", got, want)
	}
	// Once d has committed past them, a's next seals trim the epochs.
	deadline = time.Now().Add(time.Minute)
	for {
		n, first := changelogKeys()
		if first > stoppedAt+1 && n <= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a's changelog still holds %d chunks from epoch %d (d committed %d)", n, first, committed("d"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
