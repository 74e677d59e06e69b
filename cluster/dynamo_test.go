package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// dynaliteTables starts one dynalite for a test and hands each subtest a
// table of its own on it, so subtests never see each other's items.
func dynaliteTables(t *testing.T) func(t *testing.T) (context.Context, *Dynamo) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	e := emulator.StartDynalite(ctx, t)
	var mu sync.Mutex
	n := 0
	return func(t *testing.T) (context.Context, *Dynamo) {
		t.Helper()
		mu.Lock()
		n++
		table := fmt.Sprintf("streamsql-test-%d", n)
		mu.Unlock()
		d, err := OpenDynamo(ctx, DynamoConfig{Table: table, Endpoint: e.Endpoint(), Region: "us-east-1",
			AccessKeyID: "AKIDTEST", SecretAccessKey: "test-secret"})
		if err != nil {
			t.Fatalf("%v\n%s", err, e.Output())
		}
		return ctx, d
	}
}

// readLease reads one lease item back, failing the test if it is not there.
func readLease(ctx context.Context, t *testing.T, d *Dynamo, group, key string) Lease {
	t.Helper()
	ls, err := d.Leases(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Key == key {
			return l
		}
	}
	t.Fatalf("lease %s#%s not found in %+v", group, key, ls)
	return Lease{}
}

func sameLease(t *testing.T, what string, got, want Lease) {
	t.Helper()
	if len(got.Checkpoint) == 0 && len(want.Checkpoint) == 0 {
		got.Checkpoint, want.Checkpoint = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func wantFenced(t *testing.T, what string, err error, id string) {
	t.Helper()
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("%s: got %v, want ErrFenced", what, err)
	}
	if !strings.Contains(err.Error(), id) {
		t.Fatalf("%s: error %q does not name lease %s", what, err, id)
	}
}

// mustTake takes l for me, failing the test if it cannot.
func mustTake(ctx context.Context, t *testing.T, d *Dynamo, l Lease, me string) Lease {
	t.Helper()
	got, err := d.Take(ctx, l, me)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDynamo(t *testing.T) {
	open := dynaliteTables(t)
	const g, k = "view/v", "3/8"
	id := Lease{Group: g, Key: k}.ID()
	// openLease is a fresh table with lease g#k ensured (free).
	openLease := func(t *testing.T) (context.Context, *Dynamo) {
		t.Helper()
		ctx, d := open(t)
		if err := d.Ensure(ctx, g, k); err != nil {
			t.Fatal(err)
		}
		return ctx, d
	}

	t.Run("take commit release", func(t *testing.T) {
		ctx, d := openLease(t)
		free := Lease{Group: g, Key: k}
		sameLease(t, "ensured", readLease(ctx, t, d, g, k), free)

		a := mustTake(ctx, t, d, free, "A")
		sameLease(t, "take returns", a, Lease{Group: g, Key: k, Owner: "A", Counter: 1, Moves: 1})
		if err := d.Commit(ctx, a, "A", 1, []byte("pos-1")); err != nil {
			t.Fatal(err)
		}
		committed := Lease{Group: g, Key: k, Owner: "A", Counter: 1, Epoch: 1, Checkpoint: []byte("pos-1")}
		sameLease(t, "after commit", readLease(ctx, t, d, g, k), committed)

		// Ensure again must not reset a lease that exists.
		if err := d.Ensure(ctx, g, k); err != nil {
			t.Fatal(err)
		}
		sameLease(t, "ensure of an existing lease", readLease(ctx, t, d, g, k), committed)

		if err := d.Release(ctx, a, "A", ""); err != nil {
			t.Fatal(err)
		}
		released := Lease{Group: g, Key: k, Counter: 2, Epoch: 1, Checkpoint: []byte("pos-1")}
		sameLease(t, "after release", readLease(ctx, t, d, g, k), released)

		// The next taker gets the committed checkpoint from the take itself.
		b := mustTake(ctx, t, d, released, "B")
		sameLease(t, "take returns the committed checkpoint", b,
			Lease{Group: g, Key: k, Owner: "B", Counter: 3, Epoch: 1, Checkpoint: []byte("pos-1"), Moves: 1})
	})

	t.Run("a node that lost its lease cannot commit or release", func(t *testing.T) {
		ctx, d := openLease(t)
		a := mustTake(ctx, t, d, Lease{Group: g, Key: k}, "A")
		if err := d.Commit(ctx, a, "A", 1, []byte("a1")); err != nil {
			t.Fatal(err)
		}
		// A pauses; B sees it gone and takes the lease from it.
		seen := readLease(ctx, t, d, g, k)
		b := mustTake(ctx, t, d, seen, "B")
		want := Lease{Group: g, Key: k, Owner: "B", Counter: 2, Epoch: 1, Checkpoint: []byte("a1"), Moves: 1}
		sameLease(t, "B's take", b, want)

		// A resumes and tries everything it could with what it holds.
		wantFenced(t, "A's commit", d.Commit(ctx, a, "A", 2, []byte("a2")), id)
		wantFenced(t, "A's release", d.Release(ctx, a, "A", ""), id)
		wantFenced(t, "A's release to C", d.Release(ctx, a, "A", "C"), id)
		// Even with B's counter (read from the table), A is not the owner.
		wantFenced(t, "A's commit with the current counter", d.Commit(ctx, b, "A", 2, []byte("a2")), id)
		sameLease(t, "after the fenced writes", readLease(ctx, t, d, g, k), want)

		if err := d.Commit(ctx, b, "B", 2, []byte("b2")); err != nil {
			t.Fatalf("the new owner's commit: %v", err)
		}
	})

	// The counter fences what the owner name cannot: A lost the lease and
	// took it back, so the item says owner A again, but a task still
	// running on A's first holding (counter 1) must not commit or release.
	t.Run("an old holding of the same owner is fenced", func(t *testing.T) {
		ctx, d := openLease(t)
		first := mustTake(ctx, t, d, Lease{Group: g, Key: k}, "A")
		b := mustTake(ctx, t, d, first, "B")
		again := mustTake(ctx, t, d, b, "A")
		want := Lease{Group: g, Key: k, Owner: "A", Counter: 3, Moves: 3}
		sameLease(t, "A's second take", again, want)
		for _, tc := range []struct {
			name string
			err  error
		}{
			{"commit", d.Commit(ctx, first, "A", 1, []byte("old"))},
			{"release", d.Release(ctx, first, "A", "")},
			{"release to C", d.Release(ctx, first, "A", "C")},
		} {
			wantFenced(t, "the old holding's "+tc.name, tc.err, id)
		}
		sameLease(t, "after the old holding's writes", readLease(ctx, t, d, g, k), want)
		if err := d.Commit(ctx, again, "A", 1, []byte("new")); err != nil {
			t.Fatalf("the current holding's commit: %v", err)
		}
	})

	t.Run("racing takes: exactly one wins", func(t *testing.T) {
		ctx, d := openLease(t)
		seen := readLease(ctx, t, d, g, k)
		const racers = 8
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				_, errs[i] = d.Take(ctx, seen, fmt.Sprintf("N%d", i))
			})
		}
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil && winner != "":
				t.Fatalf("two takes won: %s and N%d", winner, i)
			case err == nil:
				winner = fmt.Sprintf("N%d", i)
			default:
				wantFenced(t, "a losing take", err, id)
			}
		}
		if winner == "" {
			t.Fatal("no take won")
		}
		sameLease(t, "after the race", readLease(ctx, t, d, g, k), Lease{Group: g, Key: k, Owner: winner, Counter: 1, Moves: 1})

		// A take that read before the winner's write and comes late loses
		// too, whatever owner it believed.
		for _, believed := range []string{"", winner, "someone"} {
			stale := seen
			stale.Owner = believed
			_, err := d.Take(ctx, stale, "late")
			wantFenced(t, "late take believing owner "+believed, err, id)
		}
	})

	t.Run("epochs must increase", func(t *testing.T) {
		ctx, d := openLease(t)
		a := mustTake(ctx, t, d, Lease{Group: g, Key: k}, "A")
		for _, tc := range []struct {
			epoch uint64
			ok    bool
			want  uint64 // committed epoch afterwards
		}{
			{3, true, 3},
			{3, false, 3}, // the same epoch twice
			{2, false, 3}, // an older one
			{0, false, 3},
			{4, true, 4},
			{10, true, 10}, // gaps are fine (empty epochs are not committed)
			{9, false, 10},
		} {
			cp := []byte(fmt.Sprintf("cp-%d", tc.epoch))
			err := d.Commit(ctx, a, "A", tc.epoch, cp)
			if tc.ok && err != nil {
				t.Fatalf("commit %d: %v", tc.epoch, err)
			}
			if !tc.ok {
				wantFenced(t, fmt.Sprintf("commit %d", tc.epoch), err, id)
			}
			got := readLease(ctx, t, d, g, k)
			if got.Epoch != tc.want || !bytes.Equal(got.Checkpoint, []byte(fmt.Sprintf("cp-%d", tc.want))) {
				t.Fatalf("after commit %d: epoch %d checkpoint %q, want %d cp-%d", tc.epoch, got.Epoch, got.Checkpoint, tc.want, tc.want)
			}
		}
		// An empty checkpoint reads back empty, not as the previous one.
		if err := d.Commit(ctx, a, "A", 11, nil); err != nil {
			t.Fatal(err)
		}
		if got := readLease(ctx, t, d, g, k); got.Epoch != 11 || len(got.Checkpoint) != 0 {
			t.Fatalf("after an empty checkpoint: epoch %d checkpoint %q", got.Epoch, got.Checkpoint)
		}
	})

	t.Run("hand-off", func(t *testing.T) {
		ctx, d := openLease(t)
		free := readLease(ctx, t, d, g, k)
		if err := d.AskHandoff(ctx, free, "B"); err == nil || errors.Is(err, ErrFenced) {
			t.Fatalf("asking for a free lease: %v, want an error saying to take it", err)
		}
		a := mustTake(ctx, t, d, free, "A")
		if err := d.Commit(ctx, a, "A", 1, []byte("a1")); err != nil {
			t.Fatal(err)
		}
		seen := readLease(ctx, t, d, g, k)
		if err := d.AskHandoff(ctx, seen, "B"); err != nil {
			t.Fatal(err)
		}
		asked := readLease(ctx, t, d, g, k)
		if asked.Handoff != "B" {
			t.Fatalf("after AskHandoff: handoff %q, want B", asked.Handoff)
		}
		// A commit does not disturb the ask; a stale ask is refused.
		if err := d.Commit(ctx, a, "A", 2, []byte("a2")); err != nil {
			t.Fatal(err)
		}
		stale := seen
		stale.Counter--
		wantFenced(t, "an ask with a stale counter", d.AskHandoff(ctx, stale, "C"), id)
		if got := readLease(ctx, t, d, g, k); got.Handoff != "B" {
			t.Fatalf("a refused ask changed handoff to %q", got.Handoff)
		}

		// A, at its commit, sees the ask and releases to B.
		if err := d.Release(ctx, a, "A", "B"); err != nil {
			t.Fatal(err)
		}
		handed := Lease{Group: g, Key: k, Owner: "B", Counter: 2, Epoch: 2, Checkpoint: []byte("a2")}
		sameLease(t, "after the release to B", readLease(ctx, t, d, g, k), handed)
		wantFenced(t, "A's commit after handing off", d.Commit(ctx, a, "A", 3, []byte("a3")), id)
		if err := d.Commit(ctx, handed, "B", 3, []byte("b3")); err != nil {
			t.Fatalf("B's commit after the hand-off: %v", err)
		}
	})

	t.Run("listing groups and dropping", func(t *testing.T) {
		ctx, d := open(t)
		want := map[string][]string{"view/a": {"0/2", "1/2"}, "view/b": {"0/1"}, "sink/s": {"0/8", "7/8"}}
		for grp, keys := range want {
			for _, key := range keys {
				if err := d.Ensure(ctx, grp, key); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Other items in the table (nodes, the catalog) are not leases.
		if err := d.Heartbeat(ctx, Node{ID: "A"}); err != nil {
			t.Fatal(err)
		}
		if err := d.AppendCatalog(ctx, 1, "CREATE SOURCE s"); err != nil {
			t.Fatal(err)
		}
		ids := func(ls []Lease) []string {
			var out []string
			for _, l := range ls {
				out = append(out, l.ID())
			}
			return out
		}
		for _, tc := range []struct {
			group string
			want  []string
		}{
			{"", []string{"sink/s#0/8", "sink/s#7/8", "view/a#0/2", "view/a#1/2", "view/b#0/1"}},
			{"view/a", []string{"view/a#0/2", "view/a#1/2"}},
			{"view/b", []string{"view/b#0/1"}},
			{"view/none", nil},
		} {
			ls, err := d.Leases(ctx, tc.group)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(ls); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Leases(%q) = %v, want %v", tc.group, got, tc.want)
			}
		}
		if err := d.Drop(ctx, "view/a", "0/2"); err != nil {
			t.Fatal(err)
		}
		ls, err := d.Leases(ctx, "view/a")
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(ls); !reflect.DeepEqual(got, []string{"view/a#1/2"}) {
			t.Fatalf("after Drop: %v", got)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		ctx, d := open(t)
		for range 3 {
			if err := d.Heartbeat(ctx, Node{ID: "A", Addr: "127.0.0.1:5433", Info: map[string]string{"catalog": "7"}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Heartbeat(ctx, Node{ID: "B", Addr: "127.0.0.1:5434"}); err != nil {
			t.Fatal(err)
		}
		nodes, err := d.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []Node{
			{ID: "A", Addr: "127.0.0.1:5433", Beat: 3, Info: map[string]string{"catalog": "7"}},
			{ID: "B", Addr: "127.0.0.1:5434", Beat: 1},
		}
		if !reflect.DeepEqual(nodes, want) {
			t.Fatalf("Nodes() = %+v, want %+v", nodes, want)
		}
		if err := d.Leave(ctx, "A"); err != nil {
			t.Fatal(err)
		}
		if nodes, err = d.Nodes(ctx); err != nil || len(nodes) != 1 || nodes[0].ID != "B" {
			t.Fatalf("after A left: %+v, %v", nodes, err)
		}
	})

	t.Run("catalog", func(t *testing.T) {
		ctx, d := open(t)
		stmts := map[int64]string{}
		// Out of order and across a digit boundary: the log reads back by
		// version, not by the order of writes or as strings.
		for _, v := range []int64{2, 1, 10, 9, 3} {
			stmts[v] = fmt.Sprintf("CREATE VIEW v%d AS SELECT %d", v, v)
			if err := d.AppendCatalog(ctx, v, stmts[v]); err != nil {
				t.Fatal(err)
			}
		}
		err := d.AppendCatalog(ctx, 9, "DROP VIEW v9")
		if !errors.Is(err, ErrVersionTaken) || !strings.Contains(err.Error(), "9") {
			t.Fatalf("appending a taken version: %v, want ErrVersionTaken naming 9", err)
		}
		if err := d.AppendCatalog(ctx, 0, "x"); err == nil || errors.Is(err, ErrVersionTaken) {
			t.Fatalf("appending version 0: %v, want a refusal", err)
		}
		for _, tc := range []struct {
			after int64
			want  []int64
		}{
			{0, []int64{1, 2, 3, 9, 10}},
			{-1, []int64{1, 2, 3, 9, 10}},
			{2, []int64{3, 9, 10}},
			{9, []int64{10}},
			{10, nil},
		} {
			got, err := d.CatalogAfter(ctx, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			var want []CatalogEntry
			for _, v := range tc.want {
				want = append(want, CatalogEntry{Version: v, Stmt: stmts[v]})
			}
			if len(got) == 0 && len(want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("CatalogAfter(%d) = %+v, want %+v", tc.after, got, want)
			}
		}

		// Nodes racing for the next version: exactly one gets it.
		const racers = 6
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() { errs[i] = d.AppendCatalog(ctx, 11, fmt.Sprintf("stmt from N%d", i)) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrVersionTaken):
				t.Fatalf("a losing append: %v, want ErrVersionTaken", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d appends of version 11 won, want 1", won)
		}
	})

	t.Run("open an existing table", func(t *testing.T) {
		ctx, d := openLease(t)
		again, err := OpenDynamo(ctx, DynamoConfig{Table: d.table, Endpoint: *d.c.Options().BaseEndpoint, Region: "us-east-1",
			AccessKeyID: "AKIDTEST", SecretAccessKey: "test-secret"})
		if err != nil {
			t.Fatal(err)
		}
		sameLease(t, "lease seen through a second client", readLease(ctx, t, again, g, k), Lease{Group: g, Key: k})
	})
}

func TestOpenDynamo_Refuses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  DynamoConfig
		want string
	}{
		{"no table", DynamoConfig{Region: "us-east-1"}, "no table"},
		{"no region", DynamoConfig{Table: "t"}, "no region"},
		{"half credentials", DynamoConfig{Table: "t", Region: "us-east-1", AccessKeyID: "a"}, "both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenDynamo(ctx, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("OpenDynamo: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// A table that never becomes reachable is an error naming the table,
// within the bound, not a hang.
func TestOpenDynamo_Unreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := OpenDynamo(ctx, DynamoConfig{Table: "gone", Endpoint: "http://127.0.0.1:1", Region: "us-east-1",
		AccessKeyID: "a", SecretAccessKey: "b", CallTimeout: 2 * time.Second, TableTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("OpenDynamo on a dead endpoint: %v, want an error naming the table", err)
	}
}
