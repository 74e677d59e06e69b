package bench

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/connectors/nexmark"
	"github.com/streamsql/streamsql/sql/types"
)

// NexmarkOptions configure RunNexmark.
type NexmarkOptions struct {
	// Queries to run, by name (q0 ... q22, and q7-simple); default every one in
	// NexmarkQueries. Unsupported ones get a row saying why.
	Queries []string
	// Events is max_events of the generator: all three kinds counted, of
	// which 46 in 50 are bids. Default 1,000,000.
	Events int64
	// EventRate is events per second of event time; default 10,000 (the
	// reference generator's), so 1,000,000 events span 100 seconds.
	EventRate int64
	Seed      int64
	// BaseTime is the event time of the first event. Default
	// 2026-01-01T07:59:30Z, so that the run crosses 08:00 and q14's
	// CASE on the hour takes two of its branches.
	BaseTime time.Time
	// E2E, when set, adds an end-to-end row per query (bench/nexmark_e2e.go).
	E2E *E2EOptions
	// Timeout bounds each run; default 10 minutes.
	Timeout time.Duration
	// MemoryLimit is each engine's Config.MemoryLimit, and a run whose
	// peak RSS passes it is flagged; 0: the engine's default, unchecked.
	MemoryLimit int64
	// ProfileDir, when set, gets a CPU profile of each measured part:
	// nexmark-<query>-ceiling.pprof and nexmark-<query>-engine.pprof.
	ProfileDir string
	// StateSize, when set, reports the view's operator state after the
	// run (NexmarkResult.State): the engine is closed and its committed
	// state read back.
	StateSize bool
}

func (o *NexmarkOptions) setDefaults() {
	if len(o.Queries) == 0 {
		for _, q := range NexmarkQueries {
			o.Queries = append(o.Queries, q.Name)
		}
	}
	if o.Events <= 0 {
		o.Events = 1_000_000
	}
	if o.EventRate <= 0 {
		o.EventRate = nexmark.DefaultEventRate
	}
	if o.BaseTime.IsZero() {
		o.BaseTime = time.Date(2026, 1, 1, 7, 59, 30, 0, time.UTC)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
}

// nexmarkDelay is every source's watermark delay.
const nexmarkDelay = 4 * time.Second

// NexmarkQuery is one query of the Nexmark suite, as a materialized view
// over the sources person, auction and bid, with its answer computed in
// plain Go.
type NexmarkQuery struct {
	Name string
	// Unsupported says why the query cannot be written yet (or, starting
	// "not written", why it is not run); then nothing else is set.
	Unsupported string
	// Note says where the view departs from the reference query.
	Note string
	// Tables are the sources the view reads, the only ones its run
	// creates; nil means bid alone.
	Tables []nexmark.Table
	// Setup runs after the sources are created and before the view (not
	// measured): q13's side table.
	Setup string
	// View is the SELECT of the view, over sources named as the tables.
	View string
	// Read lists the view's columns in the order ref renders them.
	Read string
	// ReadQuery, when set, is what reads the view instead of SELECT Read:
	// a SELECT with %s for the view's name, for a view whose rows are not
	// deterministic (processing time) but whose summary is.
	ReadQuery string
	// ProcTime gives the bid source the column p_time AS PROCTIME().
	ProcTime bool
	// ref returns a fresh independent computation of the view's rows.
	ref func() nexRef
	// LatencySkip says why the end-to-end mode does not measure the
	// query's event-to-view latency. Otherwise lat says how a bid shows in
	// the view; nil means each bid the ref renders a row for shows as that
	// row (bench/nexmark_e2e.go).
	LatencySkip string
	lat         *nexLatency
}

// nexLatency: a bid shows once the count column of its group's row
// reaches the bid's ordinal in the group.
type nexLatency struct {
	// view, when set, is the SELECT the latency phase follows instead of
	// View.
	view  string
	cols  []string
	count string
	key   func(*bidRow) string
	// oneKey puts every bid of the phase under one partition key: the
	// groups take bids of every auction, and only within one shard do they
	// reach the view in the order they were produced.
	oneKey bool
}

// bidRow is one generated bid, as the reference computations see it.
type bidRow struct {
	auction, bidder, price int64
	channel, url, extra    string
	// ts is date_time in microseconds since the epoch.
	ts int64
}

// nexRef computes a query's answer in plain Go: add sees every bid in
// order of generation (event time never goes back), finish gets the bid
// source's final watermark and renders each result row into acc. A
// computation over persons or auctions also implements personAdder or
// auctionAdder (bench/nexmark_tables.go).
type nexRef interface {
	add(b *bidRow)
	finish(wm int64, acc *nexAcc)
}

// NexmarkQueries is the suite, in order. The SQL is MySQL's dialect plus
// our TUMBLE/SESSION; where the reference uses Flink functions
// (DATE_FORMAT patterns, HOUR, count_char, FILTER) the view uses the
// MySQL equivalent.
var NexmarkQueries = []NexmarkQuery{
	{Name: "q0", Note: "pass-through",
		View: "SELECT auction, bidder, price, date_time, extra FROM bid",
		Read: "auction, bidder, price, date_time, extra",
		ref: func() nexRef {
			return &mapRef{fn: func(b *bidRow) []string {
				return []string{i64(b.auction), i64(b.bidder), i64(b.price), tsText(b.ts), b.extra}
			}}
		}},
	{Name: "q1", Note: "currency conversion, price * 908 / 1000 (an exact DECIMAL)",
		View: "SELECT auction, bidder, price * 908 / 1000 AS euro, date_time, extra FROM bid",
		Read: "auction, bidder, euro, date_time, extra",
		ref: func() nexRef {
			return &mapRef{fn: func(b *bidRow) []string {
				return []string{i64(b.auction), i64(b.bidder), dec4(b.price * 9080), tsText(b.ts), b.extra}
			}}
		}},
	{Name: "q2", Note: "selection, auction % 123 = 0",
		View: "SELECT auction, price FROM bid WHERE auction % 123 = 0",
		Read: "auction, price",
		ref: func() nexRef {
			return &mapRef{fn: func(b *bidRow) []string {
				if b.auction%123 != 0 {
					return nil
				}
				return []string{i64(b.auction), i64(b.price)}
			}}
		}},
	{Name: "q3", Note: "local item suggestion: auctions of category 10 joined with their sellers in OR, ID or CA",
		Tables: []nexmark.Table{nexmark.Person, nexmark.Auction},
		View: "SELECT P.name, P.city, P.state, A.id FROM auction AS A JOIN person AS P ON A.seller = P.id " +
			"WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')",
		Read:        "name, city, state, id",
		ref:         func() nexRef { return &q3Ref{persons: map[int64][]*personRow{}} },
		LatencySkip: latencySkipJoin},
	{Name: "q4", Note: "average winning price per category: the highest bid per auction between its start and expiry " +
		"(a comma join, the equality and the BETWEEN in WHERE), then AVG per category; an updating view (no window); " +
		"an interval join: a bid leaves the join's state once the watermark passes its time, an auction once it passes its expiry",
		Tables: []nexmark.Table{nexmark.Auction, nexmark.Bid},
		View: "SELECT Q.category, AVG(Q.final) AS avg_final FROM (SELECT MAX(B.price) AS final, A.category FROM auction A, bid B " +
			"WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND A.expires GROUP BY A.id, A.category) Q GROUP BY Q.category",
		Read:        "category, avg_final",
		ref:         func() nexRef { return &q4Ref{auctions: map[int64][]auctionRow{}} },
		LatencySkip: latencySkipJoin},
	{Name: "q5", Note: "hot items: per HOP window (2-second slide, 10-second size) the auctions with the most bids, " +
		"a join of two aggregates over the bid source; every window, closed or not (no EMIT ON WINDOW CLOSE)",
		View: "SELECT AuctionBids.auction, AuctionBids.num FROM (SELECT auction, COUNT(*) AS num, window_start AS starttime " +
			"FROM HOP(bid, date_time, INTERVAL '2' SECOND, INTERVAL '10' SECOND) GROUP BY window_start, auction) AS AuctionBids " +
			"JOIN (SELECT MAX(CountBids.num) AS maxn, CountBids.starttime_c FROM (SELECT COUNT(*) AS num, window_start AS starttime_c " +
			"FROM HOP(bid, date_time, INTERVAL '2' SECOND, INTERVAL '10' SECOND) GROUP BY auction, window_start) AS CountBids " +
			"GROUP BY CountBids.starttime_c) AS MaxBids ON AuctionBids.starttime = MaxBids.starttime_c AND AuctionBids.num >= MaxBids.maxn",
		Read:        "auction, num",
		ref:         func() nexRef { return &q5Ref{slide: 2_000_000, size: 10_000_000, counts: map[q5Key]int64{}} },
		LatencySkip: "a row (auction, count) appears and disappears as its window's maximum moves, so no row follows a bid"},
	{Name: "q6", Note: "average selling price per seller over their last closed auctions (AVG OVER ROWS BETWEEN 10 PRECEDING AND " +
		"CURRENT ROW, Flink's form), in an append-only form: an auction's winning bid is its highest bid per 2-second TUMBLE " +
		"window of the bids (the generator's auctions last under half a second), emitted when the window closes (EMIT ON WINDOW " +
		"CLOSE), joined to the auction for its seller, and ordered by window_end; not the highest bid between the auction's start " +
		"and expiry, whose per-auction aggregate only updates (q4)",
		Tables: []nexmark.Table{nexmark.Auction, nexmark.Bid},
		View: "SELECT W.auction, A.seller, W.window_end AS date_time, W.final, AVG(W.final) OVER (PARTITION BY A.seller ORDER BY W.window_end " +
			"ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS avg_final FROM auction AS A JOIN (SELECT auction, window_end, MAX(price) AS final " +
			"FROM TUMBLE(bid, date_time, INTERVAL '2' SECOND) GROUP BY auction, window_start, window_end) AS W ON A.id = W.auction " +
			"EMIT ON WINDOW CLOSE",
		Read: "auction, seller, date_time, final, avg_final",
		ref: func() nexRef {
			return &q6Ref{size: 2_000_000, sellers: map[int64][]int64{}, finals: map[[2]int64]int64{}}
		},
		LatencySkip: latencySkipJoin},
	{Name: "q7", Note: "highest bid: per 10-second TUMBLE window its highest price, joined back to the bids of that price made " +
		"between the window's start and end, both included (a bid at exactly a window's end can match two windows); " +
		"every window, closed or not (no EMIT ON WINDOW CLOSE); an interval join: a bid leaves the join's state 10 s after its " +
		"time, a window's row once its window closed",
		View: "SELECT B.auction, B.price, B.bidder, B.date_time, B.extra FROM bid B JOIN (SELECT MAX(price) AS maxprice, window_end AS date_time " +
			"FROM TUMBLE(bid, date_time, INTERVAL '10' SECOND) GROUP BY window_end) B1 ON B.price = B1.maxprice " +
			"WHERE B.date_time BETWEEN B1.date_time - INTERVAL '10' SECOND AND B1.date_time",
		Read:        "auction, price, bidder, date_time, extra",
		ref:         func() nexRef { return &q7Ref{size: 10_000_000, wins: map[int64]*q7Win{}} },
		LatencySkip: "a bid's row appears and disappears as its window's maximum moves, so no row follows a bid"},
	{Name: "q7-simple", Note: "not a Nexmark query: MAX(price) and COUNT(*) per closed 10-second TUMBLE window, " +
		"q7 without the join back to the winning bid",
		View: "SELECT window_start, window_end, MAX(price) AS maxprice, COUNT(*) AS n " +
			"FROM TUMBLE(bid, date_time, INTERVAL '10' SECOND) GROUP BY window_start, window_end EMIT ON WINDOW CLOSE",
		Read: "window_start, window_end, maxprice, n",
		ref:  func() nexRef { return &q7SimpleRef{size: 10_000_000, wins: map[int64]*q7SimpleWin{}} },
		// With EMIT ON WINDOW CLOSE a bid shows only when its window
		// closes, which measures the window, not the engine.
		lat: &nexLatency{view: "SELECT window_start, window_end, MAX(price) AS maxprice, COUNT(*) AS n " +
			"FROM TUMBLE(bid, date_time, INTERVAL '10' SECOND) GROUP BY window_start, window_end",
			cols: []string{"window_start"}, count: "n", oneKey: true,
			key: func(b *bidRow) string { return tsText(b.ts - b.ts%10_000_000) }}},
	{Name: "q8", Note: "new users: persons who opened an auction in the 10-second TUMBLE window they registered in; " +
		"every window, closed or not (no EMIT ON WINDOW CLOSE)",
		Tables: []nexmark.Table{nexmark.Person, nexmark.Auction},
		View: "SELECT P.id, P.name, P.starttime FROM (SELECT id, name, window_start AS starttime, window_end AS endtime " +
			"FROM TUMBLE(person, date_time, INTERVAL '10' SECOND) GROUP BY id, name, window_start, window_end) P " +
			"JOIN (SELECT seller, window_start AS starttime, window_end AS endtime FROM TUMBLE(auction, date_time, INTERVAL '10' SECOND) " +
			"GROUP BY seller, window_start, window_end) A ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime",
		Read: "id, name, starttime",
		ref: func() nexRef {
			return &q8Ref{size: 10_000_000, persons: map[q8Person]struct{}{}, sellers: map[[2]int64]struct{}{}}
		},
		LatencySkip: latencySkipJoin},
	{Name: "q9", Note: "winning bid: per auction the highest bid made between its start and its expiry (both included), " +
		"a join then a top-1 (ROW_NUMBER); ties on price broken by date_time then bidder (the reference query leaves them open)",
		Tables: []nexmark.Table{nexmark.Auction, nexmark.Bid},
		View: "SELECT id, item_name, description, initial_bid, reserve, date_time, expires, seller, category, extra, " +
			"auction, bidder, price, bid_date_time, bid_extra FROM (SELECT A.id, A.item_name, A.description, A.initial_bid, A.reserve, " +
			"A.date_time, A.expires, A.seller, A.category, A.extra, B.auction, B.bidder, B.price, B.date_time AS bid_date_time, " +
			"B.extra AS bid_extra, ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.date_time, B.bidder) AS rownum " +
			"FROM auction AS A JOIN bid AS B ON A.id = B.auction WHERE B.date_time BETWEEN A.date_time AND A.expires) AS t WHERE rownum <= 1",
		Read: "id, item_name, description, initial_bid, reserve, date_time, expires, seller, category, extra, " +
			"auction, bidder, price, bid_date_time, bid_extra",
		ref:         func() nexRef { return &q9Ref{auctions: map[int64][]auctionRow{}, bids: map[int64][]bidRow{}} },
		LatencySkip: latencySkipJoin},
	{Name: "q10", Note: "projection with DATE_FORMAT (the reference writes to a file system sink partitioned by day and minute)",
		View: "SELECT auction, bidder, price, date_time, extra, DATE_FORMAT(date_time, '%Y-%m-%d') AS dt, " +
			"DATE_FORMAT(date_time, '%H:%i') AS hm FROM bid",
		Read: "auction, bidder, price, date_time, extra, dt, hm",
		ref: func() nexRef {
			return &mapRef{fn: func(b *bidRow) []string {
				t := time.UnixMicro(b.ts).UTC()
				return []string{i64(b.auction), i64(b.bidder), i64(b.price), tsText(b.ts), b.extra, t.Format("2006-01-02"), t.Format("15:04")}
			}}
		}},
	{Name: "q11", Note: "bids per bidder per 10-second SESSION window",
		View: "SELECT bidder, COUNT(*) AS bid_count, window_start, window_end FROM SESSION(bid, date_time, INTERVAL '10' SECOND) " +
			"GROUP BY bidder, window_start, window_end EMIT ON WINDOW CLOSE",
		Read: "bidder, bid_count, window_start, window_end",
		ref:  func() nexRef { return &q11Ref{gap: 10_000_000, open: map[int64]*session{}} },
		LatencySkip: "a session's row changes key as it grows (window_end moves, sessions merge), so no row follows a bid; " +
			"with EMIT ON WINDOW CLOSE a bid shows when its session closes, which measures the 10-second gap, not the engine"},
	{Name: "q12", Note: "bids per bidder per 10-second processing-time TUMBLE window (p_time AS PROCTIME()); " +
		"which window a bid falls in depends on the clock, so the check is per bidder: the bids over all windows " +
		"equal the bidder's bids, and every window is 10 seconds",
		ProcTime: true,
		View: "SELECT bidder, COUNT(*) AS bid_count, window_start, window_end FROM TUMBLE(bid, p_time, INTERVAL '10' SECOND) " +
			"GROUP BY bidder, window_start, window_end",
		Read: "bidder, bid_count, window_start, window_end",
		ReadQuery: "SELECT bidder, CAST(SUM(bid_count) AS SIGNED), MIN(TIMESTAMPDIFF(MICROSECOND, window_start, window_end)), " +
			"MAX(TIMESTAMPDIFF(MICROSECOND, window_start, window_end)) FROM %s GROUP BY bidder",
		ref:         func() nexRef { return &q12Ref{bids: map[int64]int64{}} },
		LatencySkip: "a bid's window is the clock's when it is read, and its row's count is summed over windows by the check only"},
	{Name: "q13", Note: "bounded side input join: each bid looks the key auction % 10000 up in the table side_input " +
		"FOR SYSTEM_TIME AS OF PROCTIME() (the reference reads the table from a file; the bench creates it and fills " +
		"its 10,000 rows with INSERT before the view)",
		Setup: "CREATE TABLE side_input (key BIGINT PRIMARY KEY, value TEXT); " +
			"INSERT INTO side_input SELECT generate_series, CONCAT('value-', generate_series) FROM GENERATE_SERIES(0, 9999)",
		View: "SELECT B.auction, B.bidder, B.price, B.date_time, S.value FROM bid AS B " +
			"JOIN side_input FOR SYSTEM_TIME AS OF PROCTIME() AS S ON B.auction % 10000 = S.key",
		Read: "auction, bidder, price, date_time, value",
		ref: func() nexRef {
			return &mapRef{fn: func(b *bidRow) []string {
				return []string{i64(b.auction), i64(b.bidder), i64(b.price), tsText(b.ts), "value-" + i64(b.auction%10000)}
			}}
		}},
	{Name: "q14", Note: "projection with CASE on the hour; count_char(extra, 'c') written as CHAR_LENGTH minus CHAR_LENGTH of REPLACE",
		View: "SELECT auction, bidder, price * 908 / 1000 AS price, CASE WHEN EXTRACT(HOUR FROM date_time) >= 8 AND EXTRACT(HOUR FROM date_time) <= 18 " +
			"THEN 'dayTime' WHEN EXTRACT(HOUR FROM date_time) <= 6 OR EXTRACT(HOUR FROM date_time) >= 20 THEN 'nightTime' ELSE 'otherTime' END AS bid_time_type, " +
			"date_time, extra, CHAR_LENGTH(extra) - CHAR_LENGTH(REPLACE(extra, 'c', '')) AS c_counts FROM bid " +
			"WHERE price * 908 / 1000 > 1000000 AND price * 908 / 1000 < 50000000",
		Read: "auction, bidder, price, bid_time_type, date_time, extra, c_counts",
		ref: func() nexRef {
			return &mapRef{fn: func(b *bidRow) []string {
				if e := b.price * 9080; e <= 1_000_000*10_000 || e >= 50_000_000*10_000 {
					return nil
				}
				kind := "otherTime"
				switch h := time.UnixMicro(b.ts).UTC().Hour(); {
				case h >= 8 && h <= 18:
					kind = "dayTime"
				case h <= 6 || h >= 20:
					kind = "nightTime"
				}
				return []string{i64(b.auction), i64(b.bidder), dec4(b.price * 9080), kind, tsText(b.ts), b.extra, strconv.Itoa(strings.Count(b.extra, "c"))}
			}}
		}},
	{Name: "q15", Note: "per day: bids, bidders and auctions in three price ranks; COUNT(*) FILTER written as SUM(CASE), " +
		"COUNT(DISTINCT x) FILTER as COUNT(DISTINCT CASE WHEN ... THEN x END); an updating view (no window)",
		View: "SELECT DATE_FORMAT(date_time, '%Y-%m-%d') AS day, COUNT(*) AS total_bids, " + rankSums +
			", COUNT(DISTINCT bidder) AS total_bidders, " + rankDistinct("bidder") +
			", COUNT(DISTINCT auction) AS total_auctions, " + rankDistinct("auction") +
			" FROM bid GROUP BY DATE_FORMAT(date_time, '%Y-%m-%d')",
		Read: "day, total_bids, rank1_bids, rank2_bids, rank3_bids, total_bidders, rank1_bidders, rank2_bidders, rank3_bidders, " +
			"total_auctions, rank1_auctions, rank2_auctions, rank3_auctions",
		ref: func() nexRef { return &q15Ref{days: map[string]*q15Day{}} },
		lat: &nexLatency{cols: []string{"day"}, count: "total_bids", oneKey: true, key: bidDay}},
	{Name: "q16", Note: "q15 per channel, with the day's last minute (MAX of DATE_FORMAT '%H:%i'); COUNT(*) FILTER written as SUM(CASE), " +
		"COUNT(DISTINCT x) FILTER as COUNT(DISTINCT CASE WHEN ... THEN x END); an updating view (no window)",
		View: "SELECT channel, DATE_FORMAT(date_time, '%Y-%m-%d') AS day, MAX(DATE_FORMAT(date_time, '%H:%i')) AS minute, " +
			"COUNT(*) AS total_bids, " + rankSums +
			", COUNT(DISTINCT bidder) AS total_bidders, " + rankDistinct("bidder") +
			", COUNT(DISTINCT auction) AS total_auctions, " + rankDistinct("auction") +
			" FROM bid GROUP BY channel, DATE_FORMAT(date_time, '%Y-%m-%d')",
		Read: "channel, day, minute, total_bids, rank1_bids, rank2_bids, rank3_bids, total_bidders, rank1_bidders, rank2_bidders, rank3_bidders, " +
			"total_auctions, rank1_auctions, rank2_auctions, rank3_auctions",
		ref: func() nexRef { return &q16Ref{groups: map[q16Key]*q16Group{}} },
		lat: &nexLatency{cols: []string{"channel", "day"}, count: "total_bids", oneKey: true,
			key: func(b *bidRow) string { return b.channel + "|" + bidDay(b) }}},
	{Name: "q17", Note: "per auction and day: bids in three price ranks, MIN, MAX, AVG, SUM of price; an updating view (no window)",
		View: "SELECT auction, DATE_FORMAT(date_time, '%Y-%m-%d') AS day, COUNT(*) AS total_bids, " + rankSums +
			", MIN(price) AS min_price, MAX(price) AS max_price, AVG(price) AS avg_price, SUM(price) AS sum_price " +
			"FROM bid GROUP BY auction, DATE_FORMAT(date_time, '%Y-%m-%d')",
		Read: "auction, day, total_bids, rank1_bids, rank2_bids, rank3_bids, min_price, max_price, avg_price, sum_price",
		ref:  func() nexRef { return &q17Ref{groups: map[q17Key]*q17Agg{}} },
		lat: &nexLatency{cols: []string{"auction", "day"}, count: "total_bids",
			key: func(b *bidRow) string { return i64(b.auction) + "|" + bidDay(b) }}},
	{Name: "q18", Note: "last bid per bidder and auction: deduplication keeping the last row (ROW_NUMBER ... ORDER BY date_time DESC, rn = 1); " +
		"ties on date_time broken by the higher price",
		View: "SELECT auction, bidder, price, channel, url, date_time, extra FROM (SELECT *, ROW_NUMBER() OVER " +
			"(PARTITION BY bidder, auction ORDER BY date_time DESC, price DESC) AS rank_number FROM bid) AS t WHERE rank_number <= 1",
		Read:        "auction, bidder, price, channel, url, date_time, extra",
		ref:         func() nexRef { return &q18Ref{last: map[[2]int64]bidRow{}} },
		LatencySkip: "a bid's row is replaced by the next bid of its bidder on its auction, maybe before it is read"},
	{Name: "q19", Note: "the 10 highest bids per auction (ROW_NUMBER top-N), with their rank; ties on price broken by date_time then bidder",
		View: "SELECT auction, bidder, price, channel, url, date_time, extra, rank_number FROM (SELECT *, ROW_NUMBER() OVER " +
			"(PARTITION BY auction ORDER BY price DESC, date_time, bidder) AS rank_number FROM bid) AS t WHERE rank_number <= 10",
		Read:        "auction, bidder, price, channel, url, date_time, extra, rank_number",
		ref:         func() nexRef { return &q19Ref{n: 10, tops: map[int64][]bidRow{}} },
		LatencySkip: "a bid's row leaves the view when ten higher bids come, and ranks move, so no row follows a bid"},
	{Name: "q20", Note: "expanded bids: the bids on auctions of category 10, with their auction's columns",
		Tables: []nexmark.Table{nexmark.Auction, nexmark.Bid},
		View: "SELECT B.auction, B.bidder, B.price, B.channel, B.url, B.date_time AS bid_date_time, B.extra AS bid_extra, " +
			"A.item_name, A.description, A.initial_bid, A.reserve, A.date_time AS auction_date_time, A.expires, A.seller, A.category, " +
			"A.extra AS auction_extra FROM bid AS B JOIN auction AS A ON B.auction = A.id WHERE A.category = 10",
		Read: "auction, bidder, price, channel, url, bid_date_time, bid_extra, item_name, description, initial_bid, reserve, " +
			"auction_date_time, expires, seller, category, auction_extra",
		ref:         func() nexRef { return &q20Ref{auctions: map[int64][]auctionRow{}, seen: map[int64]uint8{}} },
		LatencySkip: latencySkipJoin},
	{Name: "q20-bounded", Note: "q20 as an interval join: the bid's time within [the auction's - 1 s, + 10 s], so each side's rows " +
		"leave the join's state once the watermark passes that (q20 keeps every bid and auction); the generator's bids name an auction " +
		"at most about 110 auctions away (0.2 s of event time at its default 10,000 events/s), so the answer is q20's",
		Tables: []nexmark.Table{nexmark.Auction, nexmark.Bid},
		View: "SELECT B.auction, B.bidder, B.price, B.channel, B.url, B.date_time AS bid_date_time, B.extra AS bid_extra, " +
			"A.item_name, A.description, A.initial_bid, A.reserve, A.date_time AS auction_date_time, A.expires, A.seller, A.category, " +
			"A.extra AS auction_extra FROM bid AS B JOIN auction AS A ON B.auction = A.id WHERE A.category = 10 " +
			"AND B.date_time BETWEEN A.date_time - INTERVAL '1' SECOND AND A.date_time + INTERVAL '10' SECOND",
		Read: "auction, bidder, price, channel, url, bid_date_time, bid_extra, item_name, description, initial_bid, reserve, " +
			"auction_date_time, expires, seller, category, auction_extra",
		ref: func() nexRef {
			return &q20Ref{auctions: map[int64][]auctionRow{}, seen: map[int64]uint8{}, within: &[2]int64{-1_000_000, 10_000_000}}
		},
		LatencySkip: latencySkipJoin},
	{Name: "q21", Note: "channel id: for the four hot channels (Apple, Google, Facebook, Baidu, any case) a fixed id, else the URL's " +
		"channel_id parameter (REGEXP_EXTRACT), the bids with neither left out; the generator gives 9 in 10 of the other 10,000 " +
		"channels a channel_id, none of the hot channels' URLs",
		View: "SELECT auction, bidder, price, channel, CASE WHEN LOWER(channel) = 'apple' THEN '0' WHEN LOWER(channel) = 'google' THEN '1' " +
			"WHEN LOWER(channel) = 'facebook' THEN '2' WHEN LOWER(channel) = 'baidu' THEN '3' " +
			"ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) END AS channel_id FROM bid " +
			"WHERE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) IS NOT NULL OR LOWER(channel) IN ('apple', 'google', 'facebook', 'baidu')",
		Read: "auction, bidder, price, channel, channel_id",
		ref: func() nexRef {
			return &mapRef{fn: func(b *bidRow) []string {
				id, ok := urlChannelID(b.url)
				switch strings.ToLower(b.channel) {
				case "apple":
					id, ok = "0", true
				case "google":
					id, ok = "1", true
				case "facebook":
					id, ok = "2", true
				case "baidu":
					id, ok = "3", true
				}
				if !ok {
					return nil
				}
				return []string{i64(b.auction), i64(b.bidder), i64(b.price), b.channel, id}
			}}
		}},
	{Name: "q22", Note: "URL directories: the URL's path segments 1 to 3 (SPLIT_INDEX on '/', zero-based, NULL past the end)",
		View: "SELECT auction, bidder, price, channel, SPLIT_INDEX(url, '/', 3) AS dir1, SPLIT_INDEX(url, '/', 4) AS dir2, " +
			"SPLIT_INDEX(url, '/', 5) AS dir3 FROM bid",
		Read: "auction, bidder, price, channel, dir1, dir2, dir3",
		ref: func() nexRef {
			return &mapRef{fn: func(b *bidRow) []string {
				parts := strings.Split(b.url, "/")
				row := []string{i64(b.auction), i64(b.bidder), i64(b.price), b.channel}
				for i := 3; i <= 5; i++ {
					if i < len(parts) {
						row = append(row, parts[i])
					} else {
						row = append(row, "NULL")
					}
				}
				return row
			}}
		}},
}

// latencySkipJoin: the latency phase produces bids only.
const latencySkipJoin = "the latency phase produces bids alone, and the query reads persons or auctions"

const rankSums = "SUM(CASE WHEN price < 10000 THEN 1 ELSE 0 END) AS rank1_bids, " +
	"SUM(CASE WHEN price >= 10000 AND price < 1000000 THEN 1 ELSE 0 END) AS rank2_bids, " +
	"SUM(CASE WHEN price >= 1000000 THEN 1 ELSE 0 END) AS rank3_bids"

func rankDistinct(col string) string {
	return fmt.Sprintf("COUNT(DISTINCT CASE WHEN price < 10000 THEN %[1]s END) AS rank1_%[1]ss, "+
		"COUNT(DISTINCT CASE WHEN price >= 10000 AND price < 1000000 THEN %[1]s END) AS rank2_%[1]ss, "+
		"COUNT(DISTINCT CASE WHEN price >= 1000000 THEN %[1]s END) AS rank3_%[1]ss", col)
}

func bidDay(b *bidRow) string { return time.UnixMicro(b.ts).UTC().Format("2006-01-02") }

// rank is the Nexmark price rank (q15 to q17): 0, 1 or 2.
func rank(price int64) int {
	switch {
	case price < 10_000:
		return 0
	case price < 1_000_000:
		return 1
	}
	return 2
}

// tables returns the sources the view reads.
func (q *NexmarkQuery) tables() []nexmark.Table {
	if len(q.Tables) == 0 {
		return []nexmark.Table{nexmark.Bid}
	}
	return q.Tables
}

// viewName is the view's name: the query's, an identifier ("q7-simple"
// is q7_simple).
func (q *NexmarkQuery) viewName() string { return strings.ReplaceAll(q.Name, "-", "_") }

func nexmarkQuery(name string) (NexmarkQuery, bool) {
	for _, q := range NexmarkQueries {
		if q.Name == name {
			return q, true
		}
	}
	return NexmarkQuery{}, false
}

// NexmarkAnswer is what a view's rows add up to: their number and the sum
// of each row's FNV-1a hash of its text (columns joined by |), which does
// not depend on order.
type NexmarkAnswer struct {
	Rows     int64  `json:"rows"`
	Checksum uint64 `json:"checksum"`
}

func (a NexmarkAnswer) String() string {
	return fmt.Sprintf("%d rows, checksum %016x", a.Rows, a.Checksum)
}

// nexAcc accumulates an answer; with keep it also keeps every row's text,
// so that a mismatch can name rows.
type nexAcc struct {
	a    NexmarkAnswer
	keep map[string]int
}

func (c *nexAcc) add(cols []string) {
	s := strings.Join(cols, "|")
	h := fnv.New64a()
	_, _ = io.WriteString(h, s)
	c.a.Rows++
	c.a.Checksum += h.Sum64()
	if c.keep != nil {
		c.keep[s]++
	}
}

// diff names up to 5 rows that differ between got and want (both kept).
func (c *nexAcc) diff(want *nexAcc) string {
	if c.a == want.a {
		return ""
	}
	msg := fmt.Sprintf("got %v, want %v", c.a, want.a)
	if c.keep == nil || want.keep == nil {
		return msg
	}
	n := 0
	for k, w := range want.keep {
		if g := c.keep[k]; g != w && n < 5 {
			msg += fmt.Sprintf("; row %s %d times, want %d", k, g, w)
			n++
		}
	}
	for k, g := range c.keep {
		if _, ok := want.keep[k]; !ok && n < 5 {
			msg += fmt.Sprintf("; unexpected row %s (%d times)", k, g)
			n++
		}
	}
	return msg
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// dec4 renders n ten-thousandths as MySQL's DECIMAL of scale 4 prints.
func dec4(n int64) string { return fmt.Sprintf("%d.%04d", n/10000, n%10000) }

// tsText renders microseconds as a TIMESTAMP prints (trailing zeros of the
// fraction dropped).
func tsText(us int64) string { return time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05.999999") }

// mapRef is a row-by-row query: fn renders a bid's output row, or nil when
// the bid is filtered out.
type mapRef struct {
	fn  func(*bidRow) []string
	acc nexAcc
}

func (m *mapRef) add(b *bidRow) {
	if r := m.fn(b); r != nil {
		m.acc.add(r)
	}
}

// finish hands over m.acc: the rows went into it as they came, so that
// no copy of them is kept.
func (m *mapRef) finish(_ int64, acc *nexAcc) { *acc = m.acc }

func (m *mapRef) rowsAcc() *nexAcc { return &m.acc }

// accRef is a computation that renders rows as they come, into an
// accumulator of its own that it hands over in finish: its caller must
// set that accumulator's keep.
type accRef interface{ rowsAcc() *nexAcc }

type q7SimpleWin struct{ max, n int64 }

// q7SimpleRef: per 10-second TUMBLE window, its highest price and its
// number of bids.
type q7SimpleRef struct {
	size int64
	wins map[int64]*q7SimpleWin
}

func (q *q7SimpleRef) add(b *bidRow) {
	start := b.ts - ((b.ts%q.size)+q.size)%q.size
	w := q.wins[start]
	if w == nil {
		w = &q7SimpleWin{max: b.price}
		q.wins[start] = w
	}
	w.max, w.n = max(w.max, b.price), w.n+1
}

// finish keeps the windows the final watermark has closed: a window
// closes once the watermark reaches its end.
func (q *q7SimpleRef) finish(wm int64, acc *nexAcc) {
	for start, w := range q.wins {
		if start+q.size <= wm {
			acc.add([]string{tsText(start), tsText(start + q.size), i64(w.max), i64(w.n)})
		}
	}
}

// q12Ref: what a processing-time TUMBLE of 10 seconds per bidder shows
// whatever the clock: each bidder's bids over all windows (open ones
// too: the view does not wait for them to close), each window 10 s.
type q12Ref struct{ bids map[int64]int64 }

func (q *q12Ref) add(b *bidRow) { q.bids[b.bidder]++ }

func (q *q12Ref) finish(_ int64, acc *nexAcc) {
	for bidder, n := range q.bids {
		acc.add([]string{i64(bidder), i64(n), "10000000", "10000000"})
	}
}

type session struct{ start, last, n int64 }

// q11Ref: Flink's session semantics (exec/session.go): an event joins its
// bidder's session when it is at most gap after the session's last event.
type q11Ref struct {
	gap    int64
	open   map[int64]*session
	closed []struct {
		bidder int64
		s      session
	}
}

func (q *q11Ref) add(b *bidRow) {
	s := q.open[b.bidder]
	if s != nil && b.ts <= s.last+q.gap {
		s.last, s.n = b.ts, s.n+1
		return
	}
	if s != nil {
		q.closed = append(q.closed, struct {
			bidder int64
			s      session
		}{b.bidder, *s})
	}
	q.open[b.bidder] = &session{start: b.ts, last: b.ts, n: 1}
}

func (q *q11Ref) finish(wm int64, acc *nexAcc) {
	emit := func(bidder int64, s session) {
		if s.last+q.gap <= wm {
			acc.add([]string{i64(bidder), i64(s.n), tsText(s.start), tsText(s.last + q.gap)})
		}
	}
	for _, c := range q.closed {
		emit(c.bidder, c.s)
	}
	for bidder, s := range q.open {
		emit(bidder, *s)
	}
}

type q15Day struct {
	bids              [4]int64 // total, then per rank
	bidders, auctions [4]map[int64]struct{}
}

func newQ15Day() *q15Day {
	d := &q15Day{}
	for i := range 4 {
		d.bidders[i], d.auctions[i] = map[int64]struct{}{}, map[int64]struct{}{}
	}
	return d
}

func (d *q15Day) add(b *bidRow) {
	r := 1 + rank(b.price)
	for _, i := range []int{0, r} {
		d.bids[i]++
		d.bidders[i][b.bidder] = struct{}{}
		d.auctions[i][b.auction] = struct{}{}
	}
}

// appendCounts appends the bids, then the distinct bidders, then the
// distinct auctions: in total and per rank.
func (d *q15Day) appendCounts(row []string) []string {
	for _, n := range d.bids {
		row = append(row, i64(n))
	}
	for _, m := range d.bidders {
		row = append(row, strconv.Itoa(len(m)))
	}
	for _, m := range d.auctions {
		row = append(row, strconv.Itoa(len(m)))
	}
	return row
}

type q15Ref struct{ days map[string]*q15Day }

func (q *q15Ref) add(b *bidRow) {
	day := bidDay(b)
	d := q.days[day]
	if d == nil {
		d = newQ15Day()
		q.days[day] = d
	}
	d.add(b)
}

func (q *q15Ref) finish(_ int64, acc *nexAcc) {
	for day, d := range q.days {
		acc.add(d.appendCounts([]string{day}))
	}
}

// q16Ref: q15's counts per channel and day, and the day's last minute
// with a bid.
type q16Ref struct{ groups map[q16Key]*q16Group }

type q16Key struct{ channel, day string }

type q16Group struct {
	*q15Day
	minute string
}

func (q *q16Ref) add(b *bidRow) {
	k := q16Key{b.channel, bidDay(b)}
	g := q.groups[k]
	if g == nil {
		g = &q16Group{q15Day: newQ15Day()}
		q.groups[k] = g
	}
	g.add(b)
	// "HH:MM" strings order as the times do.
	g.minute = max(g.minute, time.UnixMicro(b.ts).UTC().Format("15:04"))
}

func (q *q16Ref) finish(_ int64, acc *nexAcc) {
	for k, g := range q.groups {
		acc.add(g.appendCounts([]string{k.channel, k.day, g.minute}))
	}
}

// urlChannelID is what REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
// gives, found without regular expressions: the value of the first
// channel_id parameter that starts the URL or follows an '&', up to the
// next '&'; false when there is none.
func urlChannelID(url string) (string, bool) {
	const name = "channel_id="
	for i := 0; ; {
		j := strings.Index(url[i:], name)
		if j < 0 {
			return "", false
		}
		i += j
		if i == 0 || url[i-1] == '&' {
			v := url[i+len(name):]
			if k := strings.IndexByte(v, '&'); k >= 0 {
				v = v[:k]
			}
			return v, true
		}
		i++
	}
}

type q17Key struct {
	auction int64
	day     string
}

type q17Agg struct{ n, r1, r2, r3, min, max, sum int64 }

type q17Ref struct{ groups map[q17Key]*q17Agg }

func (q *q17Ref) add(b *bidRow) {
	k := q17Key{b.auction, time.UnixMicro(b.ts).UTC().Format("2006-01-02")}
	g := q.groups[k]
	if g == nil {
		g = &q17Agg{min: b.price, max: b.price}
		q.groups[k] = g
	}
	g.n++
	g.sum += b.price
	g.min, g.max = min(g.min, b.price), max(g.max, b.price)
	switch rank(b.price) {
	case 0:
		g.r1++
	case 1:
		g.r2++
	default:
		g.r3++
	}
}

func (q *q17Ref) finish(_ int64, acc *nexAcc) {
	for k, g := range q.groups {
		// AVG of a BIGINT is a DECIMAL of scale 4, rounded half away from
		// zero (prices are not negative).
		avg := (g.sum*10000*2 + g.n) / (2 * g.n)
		acc.add([]string{i64(k.auction), k.day, i64(g.n), i64(g.r1), i64(g.r2), i64(g.r3), i64(g.min), i64(g.max), dec4(avg), i64(g.sum)})
	}
}

// NexmarkResult is one query's run in one mode.
type NexmarkResult struct {
	Query string `json:"query"`
	// Mode is "engine" (the generator in process) or "e2e" (kinesalite).
	Mode        string `json:"mode,omitempty"`
	Unsupported string `json:"unsupported,omitempty"`
	Note        string `json:"note,omitempty"`
	View        string `json:"view,omitempty"`
	// Events is the generator's max_events (all three tables). Inputs
	// names the sources the view read ("bid", "person+auction", ...), and
	// Rows counts their rows: the figures per row count those (for a
	// bid-only query they are bids, as before joins came). Bids is the bid
	// rows among them.
	Events int64  `json:"events"`
	Inputs string `json:"inputs"`
	Rows   int64  `json:"rows_in"`
	Bids   int64  `json:"bids"`

	WallSeconds        float64  `json:"wall_seconds"`
	CPUSeconds         float64  `json:"cpu_seconds"`
	EventsPerSecond    float64  `json:"rows_per_second"`
	EventsPerCPUSecond float64  `json:"rows_per_cpu_second"`
	AllocsPerEvent     float64  `json:"allocs_per_row"`
	BytesPerEvent      float64  `json:"alloc_bytes_per_row"`
	PeakRSSBytes       int64    `json:"peak_rss_bytes"`
	PeakRSSLifetime    bool     `json:"peak_rss_lifetime,omitempty"`
	StartRSSBytes      int64    `json:"start_rss_bytes"`
	Load               *LoadRun `json:"load,omitempty"`
	// LatencyP50Ms and LatencyP99Ms are event-to-view latencies (e2e rows,
	// detailed in Latency); LatencySkipped says why they are absent.
	LatencyP50Ms   *float64    `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms   *float64    `json:"latency_p99_ms,omitempty"`
	Latency        *LatencyRun `json:"latency,omitempty"`
	LatencySkipped string      `json:"latency_skipped,omitempty"`

	// MemoryLimitBytes is the engine's memory limit (0: its default,
	// unchecked), and OverMemoryLimit says the peak RSS passed it.
	MemoryLimitBytes int64 `json:"memory_limit_bytes,omitempty"`
	OverMemoryLimit  bool  `json:"over_memory_limit,omitempty"`
	// Ceiling is the query's plain-Go reference timed over the same rows
	// in the same run (engine rows), and BelowCeiling its rows per
	// CPU-second divided by the engine's: 3 means 3x below the ceiling.
	Ceiling      *NexmarkCeiling `json:"ceiling,omitempty"`
	BelowCeiling float64         `json:"below_ceiling,omitempty"`

	// State is the view's operator state after the run (its rows in the
	// view's table left out), with NexmarkOptions.StateSize.
	State *OperatorState `json:"operator_state,omitempty"`

	Answer   NexmarkAnswer `json:"answer"`
	Want     NexmarkAnswer `json:"want"`
	Correct  bool          `json:"correct"`
	Mismatch string        `json:"mismatch,omitempty"`
	Error    string        `json:"error,omitempty"`
}

func (r *NexmarkResult) fill(u Usage) {
	r.WallSeconds, r.CPUSeconds = u.Wall.Seconds(), u.CPU.Seconds()
	if r.WallSeconds > 0 {
		r.EventsPerSecond = float64(r.Rows) / r.WallSeconds
	}
	if r.CPUSeconds > 0 {
		r.EventsPerCPUSecond = float64(r.Rows) / r.CPUSeconds
	}
	if r.Rows > 0 {
		r.AllocsPerEvent = float64(u.Mallocs) / float64(r.Rows)
		r.BytesPerEvent = float64(u.AllocBytes) / float64(r.Rows)
	}
	r.PeakRSSBytes, r.PeakRSSLifetime, r.StartRSSBytes = u.PeakRSS, u.PeakRSSLifetime, u.StartRSS
}

// nexmarkWant computes the answers of qs over the rows rows hands to the
// visitor it is given, in one pass, and the number of rows of each table.
// rows must generate the tables the visitor has a func for. The final
// watermark is the last bid's event time less the source's delay, as the
// bid source's WATERMARK clause makes it (only bid-only queries wait for
// windows to close).
func nexmarkWant(qs []NexmarkQuery, rows func(nexVisit) error, keep bool) (map[string]*nexAcc, nexCounts, error) {
	var counts nexCounts
	refs := make([]nexRef, len(qs))
	var persons []personAdder
	var auctions []auctionAdder
	var bids []nexRef
	for i, q := range qs {
		refs[i] = q.ref()
		if ar, ok := refs[i].(accRef); ok && keep {
			ar.rowsAcc().keep = map[string]int{}
		}
		for _, t := range q.tables() {
			switch t {
			case nexmark.Person:
				persons = append(persons, refs[i].(personAdder))
			case nexmark.Auction:
				auctions = append(auctions, refs[i].(auctionAdder))
			default:
				bids = append(bids, refs[i])
			}
		}
	}
	var maxTs int64
	var v nexVisit
	if len(persons) > 0 {
		v.person = func(p *personRow) {
			counts[nexmark.Person]++
			for _, r := range persons {
				r.addPerson(p)
			}
		}
	}
	if len(auctions) > 0 {
		v.auction = func(a *auctionRow) {
			counts[nexmark.Auction]++
			for _, r := range auctions {
				r.addAuction(a)
			}
		}
	}
	if len(bids) > 0 {
		v.bid = func(b *bidRow) {
			counts[nexmark.Bid]++
			maxTs = max(maxTs, b.ts)
			for _, r := range bids {
				r.add(b)
			}
		}
	}
	if err := rows(v); err != nil {
		return nil, counts, err
	}
	out := map[string]*nexAcc{}
	for i, q := range qs {
		acc := &nexAcc{}
		if keep {
			acc.keep = map[string]int{}
		}
		refs[i].finish(maxTs-nexmarkDelay.Microseconds(), acc)
		out[q.Name] = acc
	}
	return out, counts, nil
}

// RunNexmark runs each of o.Queries as a materialized view over the
// in-process Nexmark generator (and, with o.E2E, through kinesalite),
// each on a fresh engine with the sources the query reads, and checks
// each view against the plain-Go computation over the same rows. A
// query's error or wrong answer is recorded in its result, not returned.
func RunNexmark(ctx context.Context, o NexmarkOptions) ([]NexmarkResult, error) {
	o.setDefaults()
	var qs []NexmarkQuery
	for _, name := range o.Queries {
		q, ok := nexmarkQuery(strings.ToLower(strings.TrimSpace(name)))
		if !ok {
			return nil, fmt.Errorf("nexmark: no query %q (q0 to q22, q7-simple)", name)
		}
		qs = append(qs, q)
	}
	var supported []NexmarkQuery
	for _, q := range qs {
		if q.Unsupported == "" {
			supported = append(supported, q)
		}
	}
	// Small runs keep every row, so that a mismatch names rows.
	keep := o.Events <= 50_000
	var e2e *nexmarkE2E
	if o.E2E != nil {
		var err error
		if e2e, err = newNexmarkE2E(ctx, o, supported, keep); err != nil {
			return nil, err
		}
		defer e2e.stop()
	}
	var results []NexmarkResult
	for _, q := range qs {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		if q.Unsupported != "" {
			results = append(results, NexmarkResult{Query: q.Name, Unsupported: q.Unsupported, Events: o.Events})
			continue
		}
		want, counts, cu, err := nexmarkCeiling(ctx, o, q, keep)
		if err != nil {
			return results, err
		}
		r := NexmarkResult{Query: q.Name, Mode: "engine", Note: q.Note, View: q.View, Events: o.Events, Want: want.a,
			LatencySkipped: "in process: measured end to end only (--mode e2e)"}
		r.inputs(q, counts)
		ceiling := &NexmarkCeiling{}
		ceiling.fill(cu, r.Rows)
		r.Ceiling = ceiling
		var sources []string
		for _, t := range q.tables() {
			sources = append(sources, q.sourceSQL(nexmarkSourceSQL(o, t), t))
		}
		var got *nexAcc
		var u Usage
		profiled(o.ProfileDir, "nexmark-"+q.Name+"-engine", func() { got, u, r.State, err = runNexmarkView(ctx, o, q, sources, want, 0) })
		r.finish(got, want, u, err)
		r.MemoryLimitBytes, r.OverMemoryLimit = o.MemoryLimit, o.MemoryLimit > 0 && r.PeakRSSBytes > o.MemoryLimit
		if r.EventsPerCPUSecond > 0 && ceiling.RowsPerCPUSecond > 0 {
			r.BelowCeiling = ceiling.RowsPerCPUSecond / r.EventsPerCPUSecond
		}
		results = append(results, r)
		if e2e != nil {
			results = append(results, e2e.run(ctx, q))
		}
	}
	return results, nil
}

// NexmarkCeiling is a query's plain-Go reference timed as its ceiling:
// the rows of the tables the query reads, from the generator the engine's
// source runs (connectors/nexmark, the same options, so the same rows),
// into the computation that checks the view's answer. Both sides
// generate their rows, so the ratio is the rest of the engine's cost.
type NexmarkCeiling struct {
	WallSeconds      float64 `json:"wall_seconds"`
	CPUSeconds       float64 `json:"cpu_seconds"`
	RowsPerCPUSecond float64 `json:"rows_per_cpu_second"`
	AllocsPerRow     float64 `json:"allocs_per_row"`
	PeakRSSBytes     int64   `json:"peak_rss_bytes"`
}

func (c *NexmarkCeiling) fill(u Usage, rows int64) {
	c.WallSeconds, c.CPUSeconds, c.PeakRSSBytes = u.Wall.Seconds(), u.CPU.Seconds(), u.PeakRSS
	if c.CPUSeconds > 0 {
		c.RowsPerCPUSecond = float64(rows) / c.CPUSeconds
	}
	if rows > 0 {
		c.AllocsPerRow = float64(u.Mallocs) / float64(rows)
	}
}

// nexmarkCeiling computes q's answer over the run's rows, measured (and
// profiled as nexmark-<query>-ceiling), and returns it with the rows of
// each table.
func nexmarkCeiling(ctx context.Context, o NexmarkOptions, q NexmarkQuery, keep bool) (*nexAcc, nexCounts, Usage, error) {
	var want map[string]*nexAcc
	var counts nexCounts
	var u Usage
	var err error
	profiled(o.ProfileDir, "nexmark-"+q.Name+"-ceiling", func() {
		u, err = Measure(func() error {
			var err error
			want, counts, err = nexmarkWant([]NexmarkQuery{q}, func(v nexVisit) error { return nexmarkTables(ctx, o, v) }, keep)
			return err
		})
	})
	if err != nil {
		return nil, counts, u, fmt.Errorf("nexmark %s: the plain-Go computation: %w", q.Name, err)
	}
	return want[q.Name], counts, u, nil
}

// inputs sets what the figures per row count: the rows of q's sources.
func (r *NexmarkResult) inputs(q NexmarkQuery, counts nexCounts) {
	r.Inputs, r.Rows, r.Bids = tableNames(q.tables()), counts.of(q.tables()), 0
	if slices.Contains(q.tables(), nexmark.Bid) {
		r.Bids = counts[nexmark.Bid]
	}
}

func (r *NexmarkResult) finish(got, want *nexAcc, u Usage, err error) {
	r.fill(u)
	if err != nil {
		r.Error = err.Error()
		return
	}
	r.Answer = got.a
	r.Mismatch = got.diff(want)
	r.Correct = r.Mismatch == ""
}

// runNexmarkView opens a fresh engine with the given checkpoint interval
// (0: the default), creates the sources, and measures CREATE MATERIALIZED
// VIEW to FLUSH returning; then reads the view. FLUSH waits for a bounded
// generator's last row, and for a Kinesis source for the records in the
// stream when it began, so the view is complete when it returns: the
// answer's check is what shows it.
func runNexmarkView(ctx context.Context, o NexmarkOptions, q NexmarkQuery, sources []string, want *nexAcc, checkpoint time.Duration) (*nexAcc, Usage, *OperatorState, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "streamsql-bench-nexmark-")
	if err != nil {
		return nil, Usage{}, nil, err
	}
	defer os.RemoveAll(dir)
	got, u, err := runNexmarkViewIn(ctx, dir, o, q, sources, want, checkpoint)
	if err != nil || !o.StateSize {
		return got, u, nil, err
	}
	st, err := operatorState(ctx, dir)
	if err != nil {
		return got, u, nil, fmt.Errorf("%s: %w", q.Name, err)
	}
	return got, u, st, nil
}

func runNexmarkViewIn(ctx context.Context, dir string, o NexmarkOptions, q NexmarkQuery, sources []string, want *nexAcc, checkpoint time.Duration) (*nexAcc, Usage, error) {
	e, err := streamsql.Open(ctx, streamsql.Config{DataDir: dir, CheckpointInterval: checkpoint, MemoryLimit: o.MemoryLimit, Logger: quietLogger()})
	if err != nil {
		return nil, Usage{}, fmt.Errorf("%s: open engine: %w", q.Name, err)
	}
	defer e.Close()
	for _, src := range sources {
		if err := e.Exec(ctx, src); err != nil {
			return nil, Usage{}, fmt.Errorf("%s: %w", q.Name, err)
		}
	}
	if q.Setup != "" {
		if err := e.Exec(ctx, q.Setup); err != nil {
			return nil, Usage{}, fmt.Errorf("%s: setup: %w", q.Name, err)
		}
	}
	u, err := Measure(func() error {
		if err := e.Exec(ctx, "CREATE MATERIALIZED VIEW "+q.viewName()+" AS "+q.View); err != nil {
			return err
		}
		return e.Exec(ctx, "FLUSH")
	})
	if err != nil {
		return nil, u, fmt.Errorf("%s: %w", q.Name, err)
	}
	got, err := readNexmarkView(ctx, e, q, want.keep != nil)
	return got, u, err
}

func readNexmarkView(ctx context.Context, e *streamsql.Engine, q NexmarkQuery, keep bool) (*nexAcc, error) {
	read := "SELECT " + q.Read + " FROM " + q.viewName()
	if q.ReadQuery != "" {
		read = fmt.Sprintf(q.ReadQuery, q.viewName())
	}
	rows, err := e.Query(ctx, read)
	if err != nil {
		return nil, fmt.Errorf("%s: read the view: %w", q.Name, err)
	}
	defer rows.Close()
	acc := &nexAcc{}
	if keep {
		acc.keep = map[string]int{}
	}
	var cols []string
	for rows.Next() {
		cols = cols[:0]
		for _, v := range rows.Row() {
			cols = append(cols, valueText(v))
		}
		acc.add(cols)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: read the view: %w", q.Name, err)
	}
	return acc, nil
}

func valueText(v types.Value) string {
	if v.IsNull() {
		return "NULL"
	}
	return v.String()
}

// PrintNexmarkTable writes the Nexmark results as an aligned table, then
// each query's note (where it departs from the reference).
func PrintNexmarkTable(w io.Writer, results []NexmarkResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\tmode\tinputs\trows in\trows/s\trows/CPU-s\tceiling rows/CPU-s\tx below ceiling\tpeak RSS MiB\t(start)\tmem limit\tallocs/row\tp50 ms\tp99 ms\tview rows\t  answer")
	for _, r := range results {
		if r.Unsupported != "" {
			what := "not supported: "
			if strings.HasPrefix(r.Unsupported, "not written") {
				what = "not run: "
			}
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t  %s%s\n", r.Query, what, r.Unsupported)
			continue
		}
		answer := "ok"
		switch {
		case r.Error != "":
			answer = "ERROR: " + r.Error
		case !r.Correct:
			answer = "WRONG: " + r.Mismatch
		}
		ceiling, below := "-", "-"
		if r.Ceiling != nil {
			ceiling = si(r.Ceiling.RowsPerCPUSecond)
		}
		if r.BelowCeiling > 0 {
			below = fmt.Sprintf("%.1f", r.BelowCeiling)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t%.2f\t%s\t%s\t%d\t  %s\n", r.Query, r.Mode, r.Inputs, r.Rows, si(r.EventsPerSecond), si(r.EventsPerCPUSecond),
			ceiling, below, float64(r.PeakRSSBytes)/(1<<20), float64(r.StartRSSBytes)/(1<<20), withinLimit(r.MemoryLimitBytes, r.OverMemoryLimit), r.AllocsPerEvent,
			ms(r.LatencyP50Ms), ms(r.LatencyP99Ms), r.Answer.Rows, answer)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nrows in: rows of the sources the view reads, the only ones its run creates (of every 50 generated events, "+
		"1 is a person, 3 auctions, 46 bids), so for a bid-only query they are bids; measured from CREATE MATERIALIZED VIEW "+
		"to FLUSH returning, whole-process CPU. ceiling: the query's plain-Go computation of the answer over the same rows, "+
		"generated the same way (connectors/nexmark in process), timed in the same run; x below ceiling is its rows/CPU-s "+
		"over the engine's.")
	for _, r := range results {
		if r.State != nil {
			ops := make([]string, 0, len(r.State.PerOperator))
			for _, id := range slices.Sorted(maps.Keys(r.State.PerOperator)) {
				s := r.State.PerOperator[id]
				ops = append(ops, fmt.Sprintf("state=%d: %d keys, %d bytes", id, s.Keys, s.Bytes))
			}
			fmt.Fprintf(w, "%s (%s) operator state after the run (committed, the view's own rows left out): %d keys, %d bytes (%s).\n",
				r.Query, r.Mode, r.State.Keys, r.State.Bytes, strings.Join(ops, "; "))
		}
	}
	noted := map[string]bool{}
	for _, r := range results {
		if r.Note != "" && !noted[r.Query] {
			noted[r.Query] = true
			fmt.Fprintf(w, "%s: %s.\n", r.Query, r.Note)
		}
	}
	for _, r := range results {
		if r.Mode == "e2e" {
			fmt.Fprintf(w, "e2e: %s.\n", E2ENote)
			if l := r.Load; l != nil {
				fmt.Fprintf(w, "e2e: kinesalite was loaded once with %d records (a stream per table: %s) in %.1f s (%s records/s, PutRecords of %d, %d shards each) "+
					"before the views started.\n", l.Records, e2eTables(results), l.Seconds, si(l.PerSecond), l.RecordsPerPut, l.Shards)
			}
			fmt.Fprintln(w, "p50/p99: event-to-view latency, e2e rows only, from PutRecords acknowledged to the change in SUBSCRIBE "+
				"(in process the generator is unpaced: no latency).")
			break
		}
	}
	for _, r := range results {
		if r.Mode != "e2e" {
			continue
		}
		if l := r.Latency; l != nil {
			unseen := ""
			if l.Unseen > 0 {
				unseen = fmt.Sprintf(" (%d more filtered out)", l.Unseen)
			}
			fmt.Fprintf(w, "%s latency: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms: %d bids timed%s, produced at %d/s (a PutRecords every %.0f ms) "+
				"after %d of warm-up, keyed by %s, checkpoint interval %.0f ms (min %.0f ms); a bid is visible when %s.\n",
				r.Query, l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs, l.Events, unseen, l.RatePerSecond, l.PutEveryMs, l.WarmUp, l.KeyedBy, l.CheckpointIntervalMs, l.CheckpointMinIntervalMs, l.Visible)
		} else if r.LatencySkipped != "" {
			fmt.Fprintf(w, "%s latency: not measured: %s.\n", r.Query, r.LatencySkipped)
		}
	}
	return nil
}

// e2eTables names the tables the e2e rows read, each once.
func e2eTables(results []NexmarkResult) string {
	var names []string
	for _, r := range results {
		if r.Mode != "e2e" {
			continue
		}
		for _, t := range strings.Split(r.Inputs, "+") {
			if !slices.Contains(names, t) {
				names = append(names, t)
			}
		}
	}
	return strings.Join(names, ", ")
}
