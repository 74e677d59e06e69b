package nexmark

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/types"
)

var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// drain returns every row of a generator and their event times.
func drain(t testing.TB, opts Options, batch int) ([]types.Row, []int64) {
	t.Helper()
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var rows []types.Row
	var times []int64
	var b Batch
	for {
		n, err := g.NextBatch(context.Background(), &b, batch)
		if errors.Is(err, io.EOF) {
			return rows, times
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != b.Len() {
			t.Fatalf("NextBatch returned %d, batch holds %d", n, b.Len())
		}
		rows = append(rows, b.Rows...)
		times = append(times, b.EventTimes...)
	}
}

func TestGenerator_Proportions(t *testing.T) {
	for _, tc := range []struct {
		table Table
		max   int64
		want  int
	}{
		{Person, 5000, 100}, {Auction, 5000, 300}, {Bid, 5000, 4600},
		{Person, 51, 2}, {Auction, 3, 2}, {Bid, 53, 46}, {Bid, 55, 47}, {Bid, 4, 0},
	} {
		t.Run(tc.table.String(), func(t *testing.T) {
			rows, _ := drain(t, Options{Table: tc.table, MaxEvents: tc.max, BaseTime: base}, 333)
			if len(rows) != tc.want {
				t.Errorf("%s of %d events: %d rows, want %d", tc.table, tc.max, len(rows), tc.want)
			}
			for _, r := range rows {
				if len(r) != len(tc.table.Columns()) {
					t.Fatalf("row %v has %d values for %d columns", r, len(r), len(tc.table.Columns()))
				}
			}
		})
	}
}

func TestGenerator_IDsAndTimes(t *testing.T) {
	const rate = 1000
	persons, ptimes := drain(t, Options{Table: Person, MaxEvents: 10000, EventRate: rate, BaseTime: base}, 64)
	for i, r := range persons {
		if got := r[0].Int(); got != int64(1000+i) {
			t.Fatalf("person %d has id %d, want %d", i, got, 1000+i)
		}
		// Person i is event number 50*i: 50 ms apart at 1000 events/s.
		if want := base + int64(i)*50*1000; ptimes[i] != want || r[6].Micros() != want {
			t.Fatalf("person %d at %d (date_time %d), want %d", i, ptimes[i], r[6].Micros(), want)
		}
	}
	auctions, _ := drain(t, Options{Table: Auction, MaxEvents: 10000, EventRate: rate, BaseTime: base}, 64)
	for i, r := range auctions {
		if got := r[0].Int(); got != int64(1000+i) {
			t.Fatalf("auction %d has id %d", i, got)
		}
		if r[6].Micros() <= r[5].Micros() {
			t.Fatalf("auction %v expires before it starts", r)
		}
		if c := r[8].Int(); c < 10 || c >= 15 {
			t.Fatalf("auction category %d", c)
		}
		if r[3].Int() <= 0 || r[4].Int() <= r[3].Int() {
			t.Fatalf("auction prices %v", r)
		}
		if s := r[7].Int(); s < 1000 || s > 1000+int64(len(persons))+personIDLead {
			t.Fatalf("auction seller %d", s)
		}
	}
	bids, btimes := drain(t, Options{Table: Bid, MaxEvents: 10000, EventRate: rate, BaseTime: base}, 64)
	for i, r := range bids {
		if i > 0 && btimes[i] < btimes[i-1] {
			t.Fatalf("bid times go back: %d after %d", btimes[i], btimes[i-1])
		}
		if a := r[0].Int(); a < 1000 || a > 1000+int64(len(auctions))+auctionIDLead {
			t.Fatalf("bid auction %d", a)
		}
		if r[2].Int() <= 0 || r[3].Str() == "" || r[4].Str() == "" {
			t.Fatalf("bid %v", r)
		}
	}
	if len(bids) != 9200 {
		t.Fatalf("%d bids", len(bids))
	}
}

func TestGenerator_Deterministic(t *testing.T) {
	a, _ := drain(t, Options{Table: Bid, MaxEvents: 2000, Seed: 7, BaseTime: base}, 100)
	b, _ := drain(t, Options{Table: Bid, MaxEvents: 2000, Seed: 7, BaseTime: base}, 37)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different rows")
	}
	c, _ := drain(t, Options{Table: Bid, MaxEvents: 2000, Seed: 8, BaseTime: base}, 100)
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds, same rows")
	}
}

func TestGenerator_Splits(t *testing.T) {
	for _, table := range []Table{Person, Auction, Bid} {
		whole, wt := drain(t, Options{Table: table, MaxEvents: 7777, Seed: 3, BaseTime: base}, 128)
		const n = 3
		seen := 0
		for i := range n {
			part, pt := drain(t, Options{Table: table, MaxEvents: 7777, Seed: 3, BaseTime: base, SplitIndex: i, SplitCount: n}, 50)
			for j, r := range part {
				k := j*n + i
				if !reflect.DeepEqual(r, whole[k]) || pt[j] != wt[k] {
					t.Fatalf("%s split %d row %d = %v, want row %d %v", table, i, j, r, k, whole[k])
				}
			}
			seen += len(part)
		}
		if seen != len(whole) {
			t.Fatalf("%s: splits hold %d rows, whole %d", table, seen, len(whole))
		}
	}
}

func TestGenerator_Resume(t *testing.T) {
	whole, _ := drain(t, Options{Table: Auction, MaxEvents: 3000, BaseTime: base, SplitIndex: 1, SplitCount: 2}, 10)
	g, err := New(Options{Table: Auction, MaxEvents: 3000, BaseTime: base, SplitIndex: 1, SplitCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	if _, err := g.NextBatch(context.Background(), &b, 17); err != nil {
		t.Fatal(err)
	}
	if g.Offset() != 17 {
		t.Fatalf("offset %d after 17 rows", g.Offset())
	}
	rest, _ := drain(t, Options{Table: Auction, MaxEvents: 3000, BaseTime: base, SplitIndex: 1, SplitCount: 2, Offset: g.Offset()}, 10)
	if !reflect.DeepEqual(rest, whole[17:]) {
		t.Fatalf("resumed rows differ: %d rows, want %d", len(rest), len(whole)-17)
	}
}

func TestGenerator_Pace(t *testing.T) {
	// 100 events at 1000/s span 99 ms of event time; paced, they cannot all
	// arrive sooner.
	start := time.Now()
	rows, times := drain(t, Options{Table: Bid, MaxEvents: 100, EventRate: 1000, BaseTime: base, Pace: true}, 1000)
	if len(rows) != 92 {
		t.Fatalf("%d rows", len(rows))
	}
	if span := time.Duration(times[len(times)-1]-base) * time.Microsecond; time.Since(start) < span {
		t.Fatalf("paced run took %v for %v of event time", time.Since(start), span)
	}
	// At 1 event/s the first bid (event 4) is due 4 s after the start: a
	// cancelled context ends the wait.
	g, _ := New(Options{Table: Bid, EventRate: 1, BaseTime: base, Pace: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var b Batch
	if _, err := g.NextBatch(ctx, &b, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("NextBatch with a cancelled context: %v", err)
	}
}

func TestGenerator_Allocs(t *testing.T) {
	g, _ := New(Options{Table: Bid, BaseTime: base})
	var b Batch
	ctx := context.Background()
	for range 200 { // warm the channel URL cache
		g.NextBatch(ctx, &b, 1024)
	}
	allocs := testing.AllocsPerRun(20, func() { g.NextBatch(ctx, &b, 1024) })
	if allocs > 8 {
		t.Errorf("%v allocations per batch of 1024 bids", allocs)
	}
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		with map[string]string
		want Options
		err  bool
	}{
		{with: map[string]string{"table": "BID", "event_rate": "500", "max_events": "10", "seed": "4", "pace": "true", "base_time": "1000"},
			want: Options{Table: Bid, EventRate: 500, MaxEvents: 10, Seed: 4, Pace: true, BaseTime: 1000000}},
		{with: map[string]string{"table": "person", "base_time": "2026-01-01T00:00:00Z", "connector": "nexmark"},
			want: Options{Table: Person, BaseTime: base}},
		{with: map[string]string{"table": "people"}, err: true},
		{with: map[string]string{"event_rate": "x"}, err: true},
		{with: map[string]string{"base_time": "yesterday"}, err: true},
	} {
		got, err := ParseOptions(tc.with)
		if (err != nil) != tc.err {
			t.Errorf("ParseOptions(%v): error %v", tc.with, err)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("ParseOptions(%v) = %+v, want %+v", tc.with, got, tc.want)
		}
	}
}

func TestTable_CheckColumns(t *testing.T) {
	if err := Bid.CheckColumns(Bid.Columns()); err != nil {
		t.Fatal(err)
	}
	upper := append([]types.Column(nil), Person.Columns()...)
	upper[0].Name = "ID"
	if err := Person.CheckColumns(upper); err != nil {
		t.Fatal(err)
	}
	err := Auction.CheckColumns(Bid.Columns())
	if err == nil || !strings.Contains(err.Error(), "id BIGINT, item_name TEXT") {
		t.Fatalf("CheckColumns of bid columns for auction: %v", err)
	}
}

// TestGenerator_SkipExtra: without extra, every table's rows are the same
// but for extra, which is NULL.
func TestGenerator_SkipExtra(t *testing.T) {
	for _, tbl := range []Table{Person, Auction, Bid} {
		full, _ := drain(t, Options{Table: tbl, MaxEvents: 3000, Seed: 3, BaseTime: base}, 64)
		lean, _ := drain(t, Options{Table: tbl, MaxEvents: 3000, Seed: 3, BaseTime: base, SkipExtra: true}, 64)
		if len(full) == 0 || len(full) != len(lean) {
			t.Fatalf("%s: %d rows, %d without extra", tbl, len(full), len(lean))
		}
		for i := range full {
			last := len(full[i]) - 1
			if !lean[i][last].IsNull() {
				t.Fatalf("%s row %d: extra %q, want NULL", tbl, i, lean[i][last].Str())
			}
			if full[i][last].IsNull() {
				t.Fatalf("%s row %d: no extra in the full row", tbl, i)
			}
			if !reflect.DeepEqual(full[i][:last], lean[i][:last]) {
				t.Fatalf("%s row %d: %v, without extra %v", tbl, i, full[i], lean[i])
			}
		}
	}
}
