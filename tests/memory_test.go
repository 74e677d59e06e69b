package tests

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// soakSeconds is how long TestMemory_HeavyJoin runs its heavy view:
// STREAMSQL_SOAK_SECONDS, 40 by default.
func soakSeconds(t *testing.T) time.Duration {
	t.Helper()
	if v := os.Getenv("STREAMSQL_SOAK_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("STREAMSQL_SOAK_SECONDS=%q: want a positive number of seconds", v)
		}
		return time.Duration(n) * time.Second
	}
	return 40 * time.Second
}

// rssBytes is the process's resident set (VmRSS), from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the server's RSS: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/<pid>/status")
	return 0
}

// TestMemory_HeavyJoin is issue 12's finding 6: the README's old bidders
// join, whose output grows with the square of time, beside a small view,
// under --memory-limit 512MiB. The server's RSS stays under the limit, a
// point read of the small view answers within a few seconds all along,
// DROP of the heavy view returns within 5 s, and RSS stops growing after.
// The limit is given through STREAMSQL_MEMORY_LIMIT.
// Before the fix the point read took tens of seconds (it waited for the
// heavy view's epochs to be applied) and RSS grew past a gigabyte within
// two minutes.
func TestMemory_HeavyJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a heavy view")
	}
	const limit = 512 << 20
	soak := soakSeconds(t)
	bin := buildBinary(t)
	srv := startBinaryWith(t, bin, t.TempDir(), binaryConfig{env: []string{"STREAMSQL_MEMORY_LIMIT=512MiB"}})
	pid := srv.cmd.Process.Pid
	conn := connect(t, srv.addr)
	ctx := testContext(t, soak+5*time.Minute)

	for _, q := range []string{
		`CREATE SOURCE clicks (user_id BIGINT, url VARCHAR, amount DOUBLE, ts TIMESTAMP(3),
			WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
		 WITH (connector = 'datagen', rows_per_second = 80, seed = 7, fields.user_id.min = 1,
			fields.user_id.max = 100, fields.url.values = 'a,b,c,d', fields.ts.max_past = '1s')`,
		`CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
			date_time TIMESTAMP(3), extra VARCHAR, WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
		 WITH (connector = 'nexmark', table = 'bid', event_rate = 1600, pace = true)`,
		`CREATE MATERIALIZED VIEW per_url AS SELECT url, COUNT(*) AS n FROM clicks GROUP BY url`,
		`FLUSH`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// pointRead times a read of one row of the small view; it must answer,
	// with a count that never goes down.
	lastN := int64(0)
	pointRead := func() time.Duration {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		start := time.Now()
		var n int64
		if err := conn.QueryRow(rctx, "SELECT n FROM per_url WHERE url = 'a'").Scan(&n); err != nil {
			t.Fatalf("point read of per_url: %v", err)
		}
		if n < lastN {
			t.Fatalf("per_url's count for 'a' went from %d to %d", lastN, n)
		}
		lastN = n
		return time.Since(start)
	}
	before := pointRead()

	if _, err := conn.Exec(ctx, `CREATE MATERIALIZED VIEW bidders AS
		SELECT c.user_id, b.price FROM clicks c JOIN bid b ON c.user_id = b.bidder % 100`); err != nil {
		t.Fatal(err)
	}
	var peak int64
	var slowest time.Duration
	end := time.Now().Add(soak)
	for time.Now().Before(end) {
		time.Sleep(2 * time.Second)
		rss := rssBytes(t, pid)
		peak = max(peak, rss)
		d := pointRead()
		slowest = max(slowest, d)
		t.Logf("rss %d MiB, point read %v", rss>>20, d.Round(time.Millisecond))
		if rss > limit {
			t.Errorf("RSS %d MiB is over the 512 MiB limit", rss>>20)
		}
		// Generous: a regression (reads waiting for the heavy view's
		// commits) took tens of seconds.
		if d > 5*time.Second {
			t.Errorf("point read of a small view took %v beside the heavy view (%v before it)", d, before)
		}
	}
	var joined int64
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM bidders").Scan(&joined); err != nil {
		t.Fatal(err)
	}
	if joined == 0 {
		t.Error("the heavy view made no rows: it was held back entirely")
	}
	t.Logf("peak RSS %d MiB, slowest point read %v (before the heavy view: %v), bidders rows %d",
		peak>>20, slowest, before, joined)

	start := time.Now()
	if _, err := conn.Exec(ctx, "DROP MATERIALIZED VIEW bidders"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("DROP MATERIALIZED VIEW bidders took %v", took)
	}
	// Once dropped, RSS stays under the limit while the view's state is
	// deleted in the background, and then stops growing.
	var after int64
	for range 10 {
		time.Sleep(time.Second)
		after = rssBytes(t, pid)
		if after > limit {
			t.Errorf("RSS %d MiB after DROP is over the 512 MiB limit", after>>20)
		}
	}
	if after > peak+64<<20 {
		t.Errorf("RSS %d MiB 10 s after DROP, well above the peak of %d MiB while the view ran", after>>20, peak>>20)
	}
	if d := pointRead(); d > 5*time.Second {
		t.Errorf("point read after DROP took %v", d)
	}
	t.Logf("RSS 10 s after DROP: %d MiB", after>>20)
}
