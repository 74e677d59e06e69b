package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestCrash_ViewOnView (issue 16): views that read other views' committed
// changelogs, SIGKILLed at random moments while a producer writes, started
// again each time; after the final FLUSH every view equals a plain-Go
// computation over all records. A chain of three: vv_per_user (per user,
// updated by every record), vv_levels over it (users per n % 5: every
// record moves its user from one group to the next, a retraction and an
// insert) and vv_big over vv_levels; vv_even is created over vv_per_user
// after the second restart, so it backfills from rows already there and
// then follows through the later kills.
func TestCrash_ViewOnView(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const n = 20_000
	const kills = 4
	ctx := testContext(t, 6*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	setupViewOnView(ctx, t, e, conn, "vv-in", false)
	_ = conn.Close(ctx)

	seed := crashSeed(t) // STREAMSQL_CRASH_SEED replays a run
	clicks, _, recs := timedRecords(0, n, rand.New(rand.NewPCG(seed, 16)))
	prod := startProducer(ctx, e, "vv-in", recs, 200, 40*time.Millisecond)
	rnd := rand.New(rand.NewPCG(seed, 17))
	producing := true
	for k := 0; k < kills || producing; k++ {
		wait := time.Duration(300+rnd.IntN(2700)) * time.Millisecond
		select {
		case err := <-prod.done:
			if err != nil {
				t.Fatalf("producer: %v", err)
			}
			producing = false
			if k >= kills {
				continue
			}
			time.Sleep(wait) // the next kill's moment
		case <-time.After(wait):
		}
		srv.kill(t)
		t.Logf("kill %d after %v (%d records put)", k+1, wait, prod.put.Load())
		srv = startBinary(t, bin, dataDir)
		if k == 1 {
			c := connect(t, srv.addr)
			if _, err := c.Exec(ctx, vvEven); err != nil {
				t.Fatalf("%s: %v", vvEven, err)
			}
			_ = c.Close(ctx)
		}
	}
	conn = connectForBacklog(t, srv.addr)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("final FLUSH: %v", err)
	}
	checkViewOnView(ctx, t, conn, clicks)
}

// vvEven is the view over vv_per_user that TestCrash_ViewOnView creates
// after its second restart.
const vvEven = "CREATE MATERIALIZED VIEW vv_even AS SELECT user_id, n, total FROM vv_per_user WHERE n % 2 = 0"

// setupViewOnView creates a 4-shard stream, the source vv over it and the
// chain vv_per_user, vv_levels, vv_big, and with even vv_even.
func setupViewOnView(ctx context.Context, t *testing.T, e *emulator.Emulator, conn *pgx.Conn, stream string, even bool) {
	t.Helper()
	if err := e.CreateStream(ctx, stream, 4); err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		fmt.Sprintf("CREATE SOURCE vv (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) "+
			"WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon', "+
			"max_records_per_call = 1000)", e.Endpoint(), stream),
		"CREATE MATERIALIZED VIEW vv_per_user AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM vv GROUP BY user_id",
		"CREATE MATERIALIZED VIEW vv_levels AS SELECT n % 5 AS bucket, COUNT(*) AS users, SUM(total) AS total FROM vv_per_user GROUP BY n % 5",
		"CREATE MATERIALIZED VIEW vv_big AS SELECT bucket, users, total FROM vv_levels WHERE users >= 2",
	}
	if even {
		stmts = append(stmts, vvEven)
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestCrash_ViewOnViewFailpoints kills the server inside the 4th epoch
// commit (state's failpoints) while records arrive: an upstream view and
// the views over it commit in one transaction, or not at all. After a
// restart and FLUSH the chain equals the plain-Go answer.
func TestCrash_ViewOnViewFailpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 6*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	bin := buildBinary(t)
	for i, tc := range []struct {
		failpoint string
		env       string
	}{
		{failpoint: "commit-before-txn"},
		{failpoint: "commit-after-txn"},
		{failpoint: "redo-after-marker", env: "STREAMSQL_REDO_ABOVE_BYTES=1"},
		{failpoint: "defer-mid-apply", env: "STREAMSQL_DEFER_APPLY_BYTES=1"},
	} {
		t.Run(tc.failpoint, func(t *testing.T) {
			cfg := binaryConfig{args: fastCheckpoints}
			if tc.env != "" {
				cfg.env = []string{tc.env}
			}
			armed := cfg
			armed.env = append(slices.Clone(cfg.env), "STREAMSQL_FAILPOINT="+tc.failpoint+"@4")
			dataDir := t.TempDir()
			srv := startBinaryWith(t, bin, dataDir, cfg)
			conn := connect(t, srv.addr)
			stream := fmt.Sprintf("vvfp-%d", i)
			setupViewOnView(ctx, t, e, conn, stream, true)
			srv.kill(t)
			srv = startBinaryWith(t, bin, dataDir, armed)

			clicks, _, recs := timedRecords(0, 4000, rand.New(rand.NewPCG(uint64(i), 16)))
			prod := startProducer(ctx, e, stream, recs[:3000], 100, 20*time.Millisecond)
			out := srv.waitKilled(t, time.Minute)
			if want := "failpoint=" + tc.failpoint; !strings.Contains(out, want) {
				t.Fatalf("the server died without logging %q:\n%s", want, out)
			}
			t.Logf("died at %s with %d records put", tc.failpoint, prod.put.Load())
			srv = startBinaryWith(t, bin, dataDir, cfg)
			prod.wait(t)
			if _, err := e.PutRecords(ctx, stream, recs[3000:]); err != nil {
				t.Fatal(err)
			}
			conn = connectForBacklog(t, srv.addr)
			if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
				t.Fatalf("FLUSH after restart: %v", err)
			}
			checkViewOnView(ctx, t, conn, clicks)
		})
	}
}

// checkViewOnView compares the views of TestCrash_ViewOnView with their
// answers worked out here.
func checkViewOnView(ctx context.Context, t *testing.T, conn *pgx.Conn, clicks []click) {
	t.Helper()
	perUser := map[int64]totals{}
	for _, c := range clicks {
		w := perUser[c.UserID]
		w.add(c.Amount)
		perUser[c.UserID] = w
	}
	levels := map[int64]totals{} // bucket → users (as n) and their total
	even := map[int64]totals{}
	for user, w := range perUser {
		l := levels[w.n%5]
		l.n++
		l.total += w.total
		levels[w.n%5] = l
		if w.n%2 == 0 {
			even[user] = w
		}
	}
	big := map[int64]totals{}
	for b, l := range levels {
		if l.n >= 2 {
			big[b] = l
		}
	}
	checkTotals(ctx, t, conn, "vv_per_user", "SELECT user_id, n, total FROM vv_per_user", perUser)
	checkTotals(ctx, t, conn, "vv_levels", "SELECT bucket, users, total FROM vv_levels", levels)
	checkTotals(ctx, t, conn, "vv_big", "SELECT bucket, users, total FROM vv_big", big)
	checkTotals(ctx, t, conn, "vv_even", "SELECT user_id, n, total FROM vv_even", even)
	t.Logf("checked %d users, %d levels, %d big levels, %d even users", len(perUser), len(levels), len(big), len(even))
}
