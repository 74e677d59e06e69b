package tests

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestAggregateViews_Restart: views with the aggregates of issue 15
// (STDDEV/VARIANCE, BIT_*, GROUP_CONCAT(DISTINCT ... ORDER BY)), one over a
// view whose rows update (so it takes retractions), survive a SIGKILL and
// equal, after the generator's end, a computation done here in Go over the
// rows a SELECT of the same source returns.
func TestAggregateViews_Restart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 4*time.Minute)
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	for _, q := range []string{
		"CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP(3), extra VARCHAR, " +
			"WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND) WITH (connector = 'nexmark', table = 'bid', " +
			"event_rate = 1500, max_events = 6000, seed = 12, pace = true, base_time = '2026-01-01T00:00:00Z')",
		"CREATE MATERIALIZED VIEW per_auction AS SELECT auction, COUNT(*) AS n, SUM(price) AS total FROM bid GROUP BY auction",
		"CREATE MATERIALIZED VIEW spread AS SELECT STDDEV_SAMP(total) AS sd, VAR_POP(total) AS vp, BIT_XOR(total) AS bx, " +
			"BIT_OR(n) AS bo, BIT_AND(n) AS ba FROM per_auction",
		"CREATE MATERIALIZED VIEW by_channel AS SELECT channel, GROUP_CONCAT(DISTINCT auction % 5 ORDER BY auction % 5) AS mods, " +
			"STDDEV_POP(price) AS sd, BIT_XOR(bidder) AS bx FROM bid GROUP BY channel",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	waitFor(t, time.Minute, func() bool {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM per_auction").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 100
	})
	_ = conn.Close(ctx)
	srv.kill(t)
	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}

	type bidRow struct {
		auction, bidder, price int64
		channel                string
	}
	var bids []bidRow
	rows, err := conn.Query(ctx, "SELECT auction, bidder, price, channel FROM bid")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b bidRow
		if err := rows.Scan(&b.auction, &b.bidder, &b.price, &b.channel); err != nil {
			t.Fatal(err)
		}
		bids = append(bids, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(bids) == 0 {
		t.Fatal("the source yields no bids")
	}

	type agg struct{ n, total int64 }
	per := map[int64]agg{}
	type chanAgg struct {
		mods   map[int64]bool
		prices []float64
		xor    uint64
	}
	chans := map[string]*chanAgg{}
	for _, b := range bids {
		a := per[b.auction]
		a.n, a.total = a.n+1, a.total+b.price
		per[b.auction] = a
		c := chans[b.channel]
		if c == nil {
			c = &chanAgg{mods: map[int64]bool{}}
			chans[b.channel] = c
		}
		c.mods[b.auction%5] = true
		c.prices = append(c.prices, float64(b.price))
		c.xor ^= uint64(b.bidder)
	}

	// spread: over the final per-auction rows.
	var totals []float64
	var bx, bo uint64
	ba := uint64(math.MaxUint64)
	for _, a := range per {
		totals = append(totals, float64(a.total))
		bx ^= uint64(a.total)
		bo |= uint64(a.n)
		ba &= uint64(a.n)
	}
	if len(totals) < 2 {
		t.Fatalf("%d auctions: too few for a sample deviation", len(totals))
	}
	m2 := sqDeviations(totals)
	var sd, vp float64
	var gotBx, gotBo, gotBa string
	if err := conn.QueryRow(ctx, "SELECT sd, vp, bx, bo, ba FROM spread").Scan(&sd, &vp, &gotBx, &gotBo, &gotBa); err != nil {
		t.Fatal(err)
	}
	checkFloat(t, "spread.sd", sd, math.Sqrt(m2/float64(len(totals)-1)))
	checkFloat(t, "spread.vp", vp, m2/float64(len(totals)))
	for _, c := range []struct {
		name, got string
		want      uint64
	}{{"bx", gotBx, bx}, {"bo", gotBo, bo}, {"ba", gotBa, ba}} {
		if c.got != strconv.FormatUint(c.want, 10) {
			t.Errorf("spread.%s = %s, want %d", c.name, c.got, c.want)
		}
	}

	seen := 0
	rowCounts(ctx, t, conn, "SELECT channel, mods, sd, bx FROM by_channel", func(r pgx.Rows) string {
		var ch, mods, x string
		var sd float64
		if err := r.Scan(&ch, &mods, &sd, &x); err != nil {
			t.Fatal(err)
		}
		seen++
		c := chans[ch]
		if c == nil {
			t.Errorf("by_channel: unexpected channel %q", ch)
			return ""
		}
		var ms []string
		for m := range c.mods {
			ms = append(ms, strconv.FormatInt(m, 10))
		}
		slices.SortFunc(ms, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
		if want := strings.Join(ms, ","); mods != want {
			t.Errorf("by_channel %s: mods %q, want %q", ch, mods, want)
		}
		checkFloat(t, "by_channel "+ch+" sd", sd, math.Sqrt(sqDeviations(c.prices)/float64(len(c.prices))))
		if x != strconv.FormatUint(c.xor, 10) {
			t.Errorf("by_channel %s: bx %s, want %d", ch, x, c.xor)
		}
		return ""
	})
	if seen != len(chans) {
		t.Errorf("by_channel has %d channels, want %d", seen, len(chans))
	}
}

// sqDeviations is the sum of squared deviations from the mean, two-pass.
func sqDeviations(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	var m2 float64
	for _, x := range xs {
		m2 += (x - mean) * (x - mean)
	}
	return m2
}

func checkFloat(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
