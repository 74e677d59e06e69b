package tests

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestCrash_TopN: top-N views (a top 3 per user, a top 5 of users by an
// updating total, keep-first and keep-last deduplication, and a window
// top-N) while a producer writes records over 4 shards and the server
// is SIGKILLed at seeded moments at least crashKills times; after the
// final FLUSH each view equals its answer worked out here in plain Go.
// 30,000 records (STREAMSQL_CRASH_RECORDS for more).
func TestCrash_TopN(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it")
	}
	n, seed := 30_000, crashSeed(t)
	if os.Getenv("STREAMSQL_CRASH_RECORDS") != "" {
		n = crashRecords(t)
	}
	ctx := testContext(t, 6*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	if err := e.CreateStream(ctx, "tn-in", 4); err != nil {
		t.Fatal(err)
	}
	qs := []string{
		fmt.Sprintf("CREATE SOURCE tn (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) "+
			"WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', stream = 'tn-in', start_position = 'trim_horizon', "+
			"max_records_per_call = 1000)", e.Endpoint()),
		"CREATE MATERIALIZED VIEW top3 AS SELECT user_id, amount, rn FROM (SELECT user_id, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY amount DESC) AS rn FROM tn) AS t WHERE rn <= 3",
		"CREATE MATERIALIZED VIEW topusers AS SELECT user_id, total, rn FROM (SELECT user_id, total, " +
			"ROW_NUMBER() OVER (ORDER BY total DESC, user_id) AS rn FROM (SELECT user_id, SUM(amount) AS total FROM tn GROUP BY user_id) AS a) AS t WHERE rn <= 5",
		"CREATE MATERIALIZED VIEW firsts AS SELECT user_id, amount FROM (SELECT user_id, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts) AS rn FROM tn) AS t WHERE rn = 1",
		"CREATE MATERIALIZED VIEW lasts AS SELECT user_id, amount FROM (SELECT user_id, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts DESC) AS rn FROM tn) AS t WHERE rn = 1",
		"CREATE MATERIALIZED VIEW wintop AS SELECT window_start, amount, rn FROM (SELECT window_start, amount, " +
			"ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY amount DESC) AS rn FROM TUMBLE(tn, ts, INTERVAL '1' MINUTE)) AS t WHERE rn <= 2",
	}
	for _, q := range qs {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = conn.Close(ctx)

	clicks, times, recs := timedRecords(0, n, rand.New(rand.NewPCG(seed, 1)))
	prod := startProducer(ctx, e, "tn-in", recs, 500, 0)
	kills := rand.New(rand.NewPCG(seed, 3))
	producing := true
	for k := 0; k < crashKills || producing; k++ {
		wait := time.Duration(300+kills.IntN(2700)) * time.Millisecond
		select {
		case err := <-prod.done:
			if err != nil {
				t.Fatalf("producer: %v", err)
			}
			producing = false
			if k >= crashKills {
				continue
			}
			time.Sleep(wait) // the next kill's moment
		case <-time.After(wait):
		}
		srv.kill(t)
		t.Logf("kill %d after %v", k+1, wait)
		srv = startBinary(t, bin, dataDir)
	}
	conn = connectForBacklog(t, srv.addr)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("final FLUSH: %v", err)
	}

	// The answers. A user's records (user i%37, amount i) come 37 s
	// apart with at most 3 s of jitter, on the shard of its partition
	// key: in order of time, so the first is the smallest amount.
	byUser := map[int64][]float64{}
	totals := map[int64]float64{}
	byMinute := map[int64][]float64{}
	for i, c := range clicks {
		byUser[c.UserID] = append(byUser[c.UserID], c.Amount)
		totals[c.UserID] += c.Amount
		m := minuteOf(times[i])
		byMinute[m] = append(byMinute[m], c.Amount)
	}
	var top3, firsts, lasts, users, wintop []string
	for u, as := range byUser {
		firsts = append(firsts, fmt.Sprint(u, " ", as[0]))
		lasts = append(lasts, fmt.Sprint(u, " ", as[len(as)-1]))
		desc := slices.Clone(as)
		sort.Sort(sort.Reverse(sort.Float64Slice(desc)))
		for r := 0; r < 3 && r < len(desc); r++ {
			top3 = append(top3, fmt.Sprint(u, " ", desc[r], " ", r+1))
		}
		users = append(users, fmt.Sprint(u))
	}
	sort.Slice(users, func(i, j int) bool {
		a, b := parseInt(users[i]), parseInt(users[j])
		if totals[a] != totals[b] {
			return totals[a] > totals[b]
		}
		return a < b
	})
	var topusers []string
	for r, u := range users[:5] {
		topusers = append(topusers, fmt.Sprint(u, " ", totals[parseInt(u)], " ", r+1))
	}
	for m, as := range byMinute {
		desc := slices.Clone(as)
		sort.Sort(sort.Reverse(sort.Float64Slice(desc)))
		start := timedBase.Add(time.Duration(m) * time.Minute)
		for r := 0; r < 2 && r < len(desc); r++ {
			wintop = append(wintop, fmt.Sprint(start, " ", desc[r], " ", r+1))
		}
	}
	for _, c := range []struct {
		view string
		want []string
	}{{"top3", top3}, {"topusers", topusers}, {"firsts", firsts}, {"lasts", lasts}, {"wintop", wintop}} {
		slices.Sort(c.want)
		got := readRows(ctx, t, conn, "SELECT * FROM "+c.view)
		t.Logf("%s: %d rows", c.view, len(got))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %d rows, want %d; first differences:\n%s", c.view, len(got), len(c.want), firstDiffs(got, c.want))
		}
	}
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// firstDiffs names up to 5 rows in one list and not the other.
func firstDiffs(got, want []string) string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) && len(out) < 5 {
			out = append(out, "missing "+w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) && len(out) < 10 {
			out = append(out, "extra "+g)
		}
	}
	return strings.Join(out, "\n")
}
