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
	if err := e.CreateStream(ctx, "vv-in", 4); err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		fmt.Sprintf("CREATE SOURCE vv (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) "+
			"WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', stream = 'vv-in', start_position = 'trim_horizon', "+
			"max_records_per_call = 1000)", e.Endpoint()),
		"CREATE MATERIALIZED VIEW vv_per_user AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM vv GROUP BY user_id",
		"CREATE MATERIALIZED VIEW vv_levels AS SELECT n % 5 AS bucket, COUNT(*) AS users, SUM(total) AS total FROM vv_per_user GROUP BY n % 5",
		"CREATE MATERIALIZED VIEW vv_big AS SELECT bucket, users, total FROM vv_levels WHERE users >= 2",
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = conn.Close(ctx)

	clicks, _, recs := timedRecords(0, n, rand.New(rand.NewPCG(16, 1)))
	prod := startProducer(ctx, e, "vv-in", recs, 200, 40*time.Millisecond)
	rnd := rand.New(rand.NewPCG(16, 2))
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
			q := "CREATE MATERIALIZED VIEW vv_even AS SELECT user_id, n, total FROM vv_per_user WHERE n % 2 = 0"
			if _, err := c.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
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
