package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestGeneratorViews_Restart: views over a paced Nexmark bid source (the
// Nexmark queries q1, q2 and a q7-style window, and a count per auction)
// survive a SIGKILL: the generator's offset is committed with their
// state, so after the restart and the generator's end every view equals
// a computation done here, in Go, over the rows a SELECT of the same
// source (same seed and base time) returns.
func TestGeneratorViews_Restart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 4*time.Minute)
	bin := buildBinary(t)
	dataDir := t.TempDir()
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	// 6,000 events at 1,500 a second: 4 s of generation.
	for _, q := range []string{
		"CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP(3), extra VARCHAR, " +
			"WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND) WITH (connector = 'nexmark', table = 'bid', " +
			"event_rate = 1500, max_events = 6000, seed = 11, pace = true, base_time = '2026-01-01T00:00:00Z')",
		"CREATE MATERIALIZED VIEW q1 AS SELECT auction, bidder, price * 908 / 1000 AS euro, date_time FROM bid",
		"CREATE MATERIALIZED VIEW q2 AS SELECT auction, price FROM bid WHERE auction % 7 = 0",
		"CREATE MATERIALIZED VIEW q7 AS SELECT window_start, MAX(price) AS top, COUNT(*) AS n " +
			"FROM TUMBLE(bid, date_time, INTERVAL '1' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE",
		"CREATE MATERIALIZED VIEW per_auction AS SELECT auction, COUNT(*) AS n, SUM(price) AS total FROM bid GROUP BY auction",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Kill once part of the rows is committed.
	waitFor(t, time.Minute, func() bool {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM q1").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 1000
	})
	_ = conn.Close(ctx)
	srv.kill(t)
	srv = startBinary(t, bin, dataDir)
	conn = connect(t, srv.addr)
	// The generator is bounded: FLUSH returns once it has ended and the
	// epoch after its last row is committed.
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}

	type bidRow struct {
		auction, bidder, price int64
		at                     time.Time
	}
	var bids []bidRow
	rows, err := conn.Query(ctx, "SELECT auction, bidder, price, date_time FROM bid")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b bidRow
		if err := rows.Scan(&b.auction, &b.bidder, &b.price, &b.at); err != nil {
			t.Fatal(err)
		}
		bids = append(bids, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(bids) != 6000*46/50 {
		t.Fatalf("the source yields %d bids, want %d", len(bids), 6000*46/50)
	}

	wantQ1, wantQ2 := map[string]int{}, map[string]int{}
	type win struct{ top, n int64 }
	wantQ7 := map[int64]win{}
	type agg struct{ n, total int64 }
	wantPer := map[int64]agg{}
	var last time.Time
	for _, b := range bids {
		// price * 908 / 1000 is a DECIMAL in MySQL: exact, 4 places
		// (price * 9080 ten-thousandths).
		wantQ1[fmt.Sprintf("%d/%d/%s/%d", b.auction, b.bidder, decimal4(b.price*9080), b.at.UnixMilli())]++
		if b.auction%7 == 0 {
			wantQ2[fmt.Sprintf("%d/%d", b.auction, b.price)]++
		}
		w := b.at.Unix()
		c := wantQ7[w]
		c.top, c.n = max(c.top, b.price), c.n+1
		wantQ7[w] = c
		a := wantPer[b.auction]
		a.n, a.total = a.n+1, a.total+b.price
		wantPer[b.auction] = a
		if b.at.After(last) {
			last = b.at
		}
	}
	// Windows closed by the final watermark (last event - 1 s).
	for w := range wantQ7 {
		if time.Unix(w+1, 0).After(last.Add(-time.Second)) {
			delete(wantQ7, w)
		}
	}

	gotQ1 := rowCounts(ctx, t, conn, "SELECT auction, bidder, euro, date_time FROM q1", func(r pgx.Rows) string {
		var a, b int64
		var euro string
		var at time.Time
		if err := r.Scan(&a, &b, &euro, &at); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d/%d/%s/%d", a, b, euro, at.UnixMilli())
	})
	sameCounts(t, "q1", gotQ1, wantQ1)
	gotQ2 := rowCounts(ctx, t, conn, "SELECT auction, price FROM q2", func(r pgx.Rows) string {
		var a, p int64
		if err := r.Scan(&a, &p); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d/%d", a, p)
	})
	sameCounts(t, "q2", gotQ2, wantQ2)
	gotQ7 := map[int64]win{}
	rowCounts(ctx, t, conn, "SELECT window_start, top, n FROM q7", func(r pgx.Rows) string {
		var ws time.Time
		var w win
		if err := r.Scan(&ws, &w.top, &w.n); err != nil {
			t.Fatal(err)
		}
		gotQ7[ws.Unix()] = w
		return ""
	})
	if len(gotQ7) != len(wantQ7) {
		t.Errorf("q7 has %d closed windows, want %d", len(gotQ7), len(wantQ7))
	}
	for w, want := range wantQ7 {
		if gotQ7[w] != want {
			t.Errorf("q7 window %d: %+v, want %+v", w, gotQ7[w], want)
		}
	}
	gotPer := map[int64]agg{}
	rowCounts(ctx, t, conn, "SELECT auction, n, total FROM per_auction", func(r pgx.Rows) string {
		var id int64
		var a agg
		if err := r.Scan(&id, &a.n, &a.total); err != nil {
			t.Fatal(err)
		}
		gotPer[id] = a
		return ""
	})
	if len(gotPer) != len(wantPer) {
		t.Errorf("per_auction has %d auctions, want %d", len(gotPer), len(wantPer))
	}
	for id, want := range wantPer {
		if gotPer[id] != want {
			t.Errorf("auction %d: %+v, want %+v", id, gotPer[id], want)
		}
	}
}

// decimal4 renders n/10000 with four decimal places, as MySQL's DECIMAL
// result of price * 908 / 1000 prints.
func decimal4(n int64) string {
	return fmt.Sprintf("%d.%04d", n/10000, n%10000)
}

// rowCounts runs q and counts each row's key.
func rowCounts(ctx context.Context, t *testing.T, conn *pgx.Conn, q string, key func(pgx.Rows) string) map[string]int {
	t.Helper()
	rows, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		out[key(rows)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameCounts(t *testing.T, view string, got, want map[string]int) {
	t.Helper()
	bad := 0
	for k, n := range want {
		if got[k] != n {
			if bad++; bad <= 5 {
				t.Errorf("%s: row %s %d times, want %d", view, k, got[k], n)
			}
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			if bad++; bad <= 5 {
				t.Errorf("%s: unexpected row %s (%d times)", view, k, n)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d rows differ", view, bad)
	}
}
