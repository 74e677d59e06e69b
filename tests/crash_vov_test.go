package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	const n = 20_000
	const kills = 4
	ct := newCrashTest(t, 6*time.Minute)
	ctx := ct.ctx
	conn := connect(t, ct.srv.addr)
	setupViewOnView(ctx, t, ct.e, conn, "vv-in", false)
	_ = conn.Close(ctx)

	seed := crashSeed(t) // STREAMSQL_CRASH_SEED replays a run
	clicks, _, recs := timedRecords(0, n, rand.New(rand.NewPCG(seed, 16)))
	prod := startProducer(ctx, ct.e, "vv-in", recs, 200, 40*time.Millisecond)
	ct.killWhileProducing(t, kills, rand.New(rand.NewPCG(seed, 17)), func(k int) {
		if k == 1 {
			ct.exec(t, vvEven)
		}
	}, prod)
	checkViewOnView(ctx, t, ct.flush(t), clicks)
}

// vvEven is the view over vv_per_user that TestCrash_ViewOnView creates
// after its second restart.
const vvEven = "CREATE MATERIALIZED VIEW vv_even AS SELECT user_id, n, total FROM vv_per_user WHERE n % 2 = 0"

// setupViewOnView creates a 4-shard stream, the source vv over it and the
// chain vv_per_user, vv_levels, vv_big, and with even vv_even.
func setupViewOnView(ctx context.Context, t *testing.T, e *emulator.Emulator, conn *pgx.Conn, stream string, even bool) {
	t.Helper()
	stmts := []string{
		crashSource(ctx, t, e, "vv", stream, 4, crashCols),
		"CREATE MATERIALIZED VIEW vv_per_user AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM vv GROUP BY user_id",
		"CREATE MATERIALIZED VIEW vv_levels AS SELECT n % 5 AS bucket, COUNT(*) AS users, SUM(total) AS total FROM vv_per_user GROUP BY n % 5",
		"CREATE MATERIALIZED VIEW vv_big AS SELECT bucket, users, total FROM vv_levels WHERE users >= 2",
	}
	if even {
		stmts = append(stmts, vvEven)
	}
	mustExec(ctx, t, conn, stmts...)
}

// TestCrash_ViewOnViewFailpoints kills the server inside the 4th epoch
// commit (state's failpoints) while records arrive: an upstream view and
// the views over it commit in one transaction, or not at all. After a
// restart and FLUSH the chain equals the plain-Go answer.
func TestCrash_ViewOnViewFailpoints(t *testing.T) {
	ct := prepareCrashTest(t, 6*time.Minute, true)
	ctx, e := ct.ctx, ct.e
	for i, tc := range []struct {
		failpoint string
		env       string
	}{
		{failpoint: "commit-before-txn"},
		{failpoint: "commit-after-txn"},
		{failpoint: "redo-after-marker", env: redoAlways},
		{failpoint: "defer-mid-apply", env: deferApplyAlways},
	} {
		t.Run(tc.failpoint, func(t *testing.T) {
			stream := fmt.Sprintf("vvfp-%d", i)
			clicks, _, recs := timedRecords(0, 4000, rand.New(rand.NewPCG(uint64(i), 16)))
			_, conn := ct.atFailpoint(t, tc.failpoint, tc.env,
				func(conn *pgx.Conn) { setupViewOnView(ctx, t, e, conn, stream, true) }, stream, recs)
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
