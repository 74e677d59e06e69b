package engine

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// holdTableCommit holds the next commit of a statement on table in its
// transaction until release is called; entered is closed when it is
// held. The hook is the process's: tests using it do not run in
// parallel.
func holdTableCommit(t *testing.T, table string) (entered <-chan struct{}, release func()) {
	in, out := make(chan struct{}), make(chan struct{})
	var armed sync.Once
	var once sync.Once
	release = func() { once.Do(func() { close(out) }) }
	h := func(name string, epoch uint64) {
		if name != table {
			return
		}
		held := false
		armed.Do(func() { held = true })
		if held {
			close(in)
			<-out
		}
	}
	testHookTableCommit.Store(&h)
	t.Cleanup(func() {
		release()
		testHookTableCommit.Store(nil)
	})
	return in, release
}

// pollUntil polls cond until it holds or d passes.
func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTable_CancelledWhileCommitting: a statement cancelled while its
// epoch is being committed answers at once that its change may still
// commit; the next statement on the table waits for that epoch and sees
// the change (no lost update, no missed duplicate), and a later epoch
// never overwrites it with what was read before it.
func TestTable_CancelledWhileCommitting(t *testing.T) {
	for _, tc := range []struct {
		name          string
		setup         string
		first, second string
		secondCode    sqlerr.Code // "" for success
		query         string
		want          []string
	}{
		{name: "update after update", setup: "INSERT INTO c VALUES (1, 0)",
			first: "UPDATE c SET n = n + 1 WHERE k = 1", second: "UPDATE c SET n = n + 1 WHERE k = 1",
			query: "SELECT n FROM c WHERE k = 1", want: []string{"2"}},
		{name: "upsert after upsert", setup: "INSERT INTO c VALUES (1, 5)",
			first:  "INSERT INTO c VALUES (1, 1) ON DUPLICATE KEY UPDATE n = n * 10",
			second: "INSERT INTO c VALUES (1, 1) ON DUPLICATE KEY UPDATE n = n + 3",
			query:  "SELECT n FROM c WHERE k = 1", want: []string{"53"}},
		{name: "insert after insert", first: "INSERT INTO c VALUES (2, 7)", second: "INSERT INTO c VALUES (2, 8)",
			secondCode: sqlerr.UniqueViolation, query: "SELECT n FROM c WHERE k = 2", want: []string{"7"}},
		{name: "insert after delete", setup: "INSERT INTO c VALUES (3, 1)",
			first: "DELETE FROM c WHERE k = 3", second: "INSERT INTO c VALUES (3, 9)",
			query: "SELECT n FROM c WHERE k = 3", want: []string{"9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			eng := openTest(t, t.TempDir())
			if err := eng.Exec(ctx, "CREATE TABLE c (k BIGINT PRIMARY KEY, n BIGINT)"); err != nil {
				t.Fatal(err)
			}
			if tc.setup != "" {
				if err := eng.Exec(ctx, tc.setup); err != nil {
					t.Fatal(err)
				}
			}
			entered, release := holdTableCommit(t, "c")
			firstCtx, cancelFirst := context.WithCancel(ctx)
			defer cancelFirst()
			firstErr := make(chan error, 1)
			go func() { firstErr <- eng.Exec(firstCtx, tc.first) }()
			select {
			case <-entered:
			case <-ctx.Done():
				t.Fatal("the first statement's commit was never reached")
			}
			cancelFirst()
			canceled := time.Now()
			var err error
			select {
			case err = <-firstErr:
			case <-ctx.Done():
				t.Fatal("the first statement did not end after its cancel")
			}
			// Generous: it used to wait a minute for the commit.
			if took := time.Since(canceled); took > 10*time.Second {
				t.Errorf("the first statement ended %v after its cancel, want at once", took)
			}
			if sqlerr.CodeOf(err) != sqlerr.QueryCanceled || !strings.Contains(err.Error(), "may still commit") {
				t.Errorf("first statement: %v, want 57014 saying its change may still commit", err)
			}
			secondErr := make(chan error, 1)
			go func() { secondErr <- eng.Exec(ctx, tc.second) }()
			// The second statement is waiting (for the first's epoch, or
			// in the old code for its own commit) before the first's
			// commit goes on.
			pollUntil(t, time.Minute, "the second statement waits", func() bool {
				return eng.tables.waiting.Load() == 1
			})
			release()
			select {
			case err = <-secondErr:
			case <-ctx.Done():
				t.Fatal("the second statement did not end")
			}
			if sqlerr.CodeOf(err) != tc.secondCode {
				t.Fatalf("second statement: %v, want code %q", err, tc.secondCode)
			}
			if got := queryStrings(t, eng, tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("%s = %v, want %v", tc.query, got, tc.want)
			}
		})
	}
}

// TestTable_WaitForEarlierEpochBounded: while an earlier statement's
// epoch cannot commit, a later statement on the table waits no longer
// than its statement_timeout and says what it waited for; once the
// epoch commits, the next statement sees its change.
func TestTable_WaitForEarlierEpochBounded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng := openTest(t, t.TempDir())
	for _, q := range []string{"CREATE TABLE c (k BIGINT PRIMARY KEY, n BIGINT)", "INSERT INTO c VALUES (1, 0)"} {
		if err := eng.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	entered, release := holdTableCommit(t, "c")
	firstCtx, cancelFirst := context.WithCancel(ctx)
	firstErr := make(chan error, 1)
	go func() { firstErr <- eng.Exec(firstCtx, "UPDATE c SET n = n + 1") }()
	<-entered
	cancelFirst()
	if err := <-firstErr; sqlerr.CodeOf(err) != sqlerr.QueryCanceled {
		t.Fatalf("first statement: %v, want 57014", err)
	}
	s := eng.NewSession()
	defer s.Close()
	if err := s.exec(ctx, "SET statement_timeout = '300ms'"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := s.exec(ctx, "UPDATE c SET n = n + 1")
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the second statement took %v, want about its 300ms timeout", took)
	}
	if sqlerr.CodeOf(err) != sqlerr.QueryCanceled {
		t.Fatalf("second statement: %v, want 57014", err)
	}
	for _, want := range []string{"statement timeout", "table c", "epoch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("second statement's error %q does not say %q", err, want)
		}
	}
	release()
	if err := s.exec(ctx, "SET statement_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	if err := s.exec(ctx, "UPDATE c SET n = n + 10"); err != nil {
		t.Fatal(err)
	}
	if got := queryStrings(t, eng, "SELECT n FROM c"); !slices.Equal(got, []string{"11"}) {
		t.Errorf("n = %v, want 11 (the first statement's 1, the timed-out one's none, then 10)", got)
	}
}

// execSession runs one statement in s to its end.
