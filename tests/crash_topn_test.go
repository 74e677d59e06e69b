package tests

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestCrash_TopN: top-N views (a top 3 per user, a top 5 of users by an
// updating total, keep-first and keep-last deduplication, and a window
// top-N) while a producer writes records over 4 shards and the server
// is SIGKILLed at seeded moments at least crashKills times; after the
// final FLUSH each view equals its answer worked out here in plain Go.
// 30,000 records (STREAMSQL_CRASH_RECORDS for more).
func TestCrash_TopN(t *testing.T) {
	n, seed := 30_000, crashSeed(t)
	if os.Getenv("STREAMSQL_CRASH_RECORDS") != "" {
		n = crashRecords(t)
	}
	ct := newCrashTest(t, 6*time.Minute)
	ctx := ct.ctx
	ct.exec(t,
		crashSource(ctx, t, ct.e, "tn", "tn-in", 4, crashCols),
		"CREATE MATERIALIZED VIEW top3 AS SELECT user_id, amount, rn FROM (SELECT user_id, amount, "+
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY amount DESC) AS rn FROM tn) AS t WHERE rn <= 3",
		"CREATE MATERIALIZED VIEW topusers AS SELECT user_id, total, rn FROM (SELECT user_id, total, "+
			"ROW_NUMBER() OVER (ORDER BY total DESC, user_id) AS rn FROM (SELECT user_id, SUM(amount) AS total FROM tn GROUP BY user_id) AS a) AS t WHERE rn <= 5",
		"CREATE MATERIALIZED VIEW firsts AS SELECT user_id, amount FROM (SELECT user_id, amount, "+
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts) AS rn FROM tn) AS t WHERE rn = 1",
		"CREATE MATERIALIZED VIEW lasts AS SELECT user_id, amount FROM (SELECT user_id, amount, "+
			"ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts DESC) AS rn FROM tn) AS t WHERE rn = 1",
		"CREATE MATERIALIZED VIEW wintop AS SELECT window_start, amount, rn FROM (SELECT window_start, amount, "+
			"ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY amount DESC) AS rn FROM TUMBLE(tn, ts, INTERVAL '1' MINUTE)) AS t WHERE rn <= 2",
	)

	clicks, times, recs := timedRecords(0, n, rand.New(rand.NewPCG(seed, 1)))
	prod := startProducer(ctx, ct.e, "tn-in", recs, 500, 0)
	ct.killWhileProducing(t, crashKills, rand.New(rand.NewPCG(seed, 3)), nil, prod)
	conn := ct.flush(t)

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
		got := rowsOf(ctx, t, conn, "SELECT * FROM "+c.view, pgx.QueryExecModeSimpleProtocol)
		t.Logf("%s: %d rows", c.view, len(got))
		diffRows(t, c.view, got, c.want)
	}
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
