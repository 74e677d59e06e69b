package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors/nexmark"
)

// personRow is one generated person, as the reference computations see it.
type personRow struct {
	id                                    int64
	name, email, card, city, state, extra string
	// ts is date_time in microseconds since the epoch.
	ts int64
}

// auctionRow is one generated auction; ts and expires in microseconds.
type auctionRow struct {
	id               int64
	item, desc       string
	initial, reserve int64
	ts, expires      int64
	seller, category int64
	extra            string
}

// nexVisit takes the rows of each table; a nil func skips its table (and
// the generator does not run for it).
type nexVisit struct {
	person  func(*personRow)
	auction func(*auctionRow)
	bid     func(*bidRow)
}

func (v nexVisit) has(t nexmark.Table) bool {
	switch t {
	case nexmark.Person:
		return v.person != nil
	case nexmark.Auction:
		return v.auction != nil
	}
	return v.bid != nil
}

// nexCounts is the number of rows of each table, indexed by nexmark.Table.
type nexCounts [3]int64

// of sums the rows of ts.
func (c nexCounts) of(ts []nexmark.Table) int64 {
	var n int64
	for _, t := range ts {
		n += c[t]
	}
	return n
}

// personAdder and auctionAdder are the computations that read persons or
// auctions as well as (or instead of) bids. Rows arrive one table after
// another (persons, auctions, then bids), each table in generation order,
// but a computation must not rely on the order across tables: end to end,
// each table is its own stream.
type personAdder interface{ addPerson(*personRow) }
type auctionAdder interface{ addAuction(*auctionRow) }

// nexmarkTables generates the rows of the options' run with
// connectors/nexmark directly, as sources with the same options yield
// them: each table v takes, one after another (persons, auctions, bids).
func nexmarkTables(ctx context.Context, o NexmarkOptions, v nexVisit) error {
	for _, t := range []nexmark.Table{nexmark.Person, nexmark.Auction, nexmark.Bid} {
		if !v.has(t) {
			continue
		}
		g, err := nexmark.New(nexmark.Options{Table: t, EventRate: o.EventRate, MaxEvents: o.Events, Seed: uint64(o.Seed), BaseTime: o.BaseTime.UnixMicro()})
		if err != nil {
			return fmt.Errorf("nexmark %s: %w", t, err)
		}
		var b nexmark.Batch
		var p personRow
		var a auctionRow
		var bid bidRow
		for {
			n, err := g.NextBatch(ctx, &b, 4096)
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("nexmark %s: %w", t, err)
			}
			for _, r := range b.Rows[:n] {
				switch t {
				case nexmark.Person:
					p = personRow{id: r[0].Int(), name: r[1].Str(), email: r[2].Str(), card: r[3].Str(), city: r[4].Str(), state: r[5].Str(),
						ts: r[6].Micros(), extra: r[7].Str()}
					v.person(&p)
				case nexmark.Auction:
					a = auctionRow{id: r[0].Int(), item: r[1].Str(), desc: r[2].Str(), initial: r[3].Int(), reserve: r[4].Int(),
						ts: r[5].Micros(), expires: r[6].Micros(), seller: r[7].Int(), category: r[8].Int(), extra: r[9].Str()}
					v.auction(&a)
				default:
					bid = bidRow{auction: r[0].Int(), bidder: r[1].Int(), price: r[2].Int(), channel: r[3].Str(), url: r[4].Str(),
						ts: r[5].Micros(), extra: r[6].Str()}
					v.bid(&bid)
				}
			}
		}
	}
	return nil
}

// nexmarkRows generates the bid rows of the options' run and hands each
// to fn.
func nexmarkRows(ctx context.Context, o NexmarkOptions, fn func(*bidRow)) error {
	return nexmarkTables(ctx, o, nexVisit{bid: fn})
}

// The tables' declarations in CREATE SOURCE: connectors/nexmark/model.go's
// columns, each with the same watermark.
var nexSourceColumns = [...]string{
	nexmark.Person: "id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR, city VARCHAR, state VARCHAR, " +
		"date_time TIMESTAMP(3), extra VARCHAR, " + nexWatermark,
	nexmark.Auction: "id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT, reserve BIGINT, " +
		"date_time TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra VARCHAR, " + nexWatermark,
	nexmark.Bid: "auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP(3), extra VARCHAR, " +
		nexWatermark,
}

const nexWatermark = "WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND"

// sourceSQL is create, the CREATE SOURCE of table t, with the columns
// q adds to it: p_time AS PROCTIME() on bid when q.ProcTime.
func (q NexmarkQuery) sourceSQL(create string, t nexmark.Table) string {
	if !q.ProcTime || t != nexmark.Bid {
		return create
	}
	return strings.Replace(create, nexWatermark, "p_time AS PROCTIME(), "+nexWatermark, 1)
}

// nexmarkSourceSQL creates table t's source over the in-process generator;
// every table with the same options, so that they are one event sequence.
func nexmarkSourceSQL(o NexmarkOptions, t nexmark.Table) string {
	return fmt.Sprintf("CREATE SOURCE %s (%s) WITH (connector = 'nexmark', table = '%s', event_rate = %d, max_events = %d, seed = %d, base_time = '%s')",
		t, nexSourceColumns[t], t, o.EventRate, o.Events, o.Seed, o.BaseTime.UTC().Format(time.RFC3339))
}

func tableNames(ts []nexmark.Table) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return strings.Join(names, "+")
}

// The Nexmark queries that join, in plain Go, from the Nexmark definitions
// (each a multiset computation, so that a duplicated id, as the end-to-end
// closing rows make, counts as a join does).

// q3Ref: the auctions of category 10 joined with their seller, when the
// seller lives in Oregon, Idaho or California.
type q3Ref struct {
	persons  map[int64][]*personRow
	auctions []auctionRow
}

func (q *q3Ref) add(*bidRow) {}

func (q *q3Ref) addPerson(p *personRow) {
	if p.state == "OR" || p.state == "ID" || p.state == "CA" {
		c := *p
		q.persons[p.id] = append(q.persons[p.id], &c)
	}
}

func (q *q3Ref) addAuction(a *auctionRow) {
	if a.category == 10 {
		q.auctions = append(q.auctions, auctionRow{id: a.id, seller: a.seller})
	}
}

func (q *q3Ref) finish(_ int64, acc *nexAcc) {
	for _, a := range q.auctions {
		for _, p := range q.persons[a.seller] {
			acc.add([]string{p.name, p.city, p.state, i64(a.id)})
		}
	}
}

// q4Ref: per auction (id and category), the highest price of the bids on
// it made between its start and its expiry, both included; then the
// average of those per category.
type q4Ref struct {
	auctions map[int64][]auctionRow
	bids     []q4Bid
}

type q4Bid struct{ auction, price, ts int64 }

func (q *q4Ref) addAuction(a *auctionRow) {
	q.auctions[a.id] = append(q.auctions[a.id], auctionRow{id: a.id, ts: a.ts, expires: a.expires, category: a.category})
}

func (q *q4Ref) add(b *bidRow) { q.bids = append(q.bids, q4Bid{b.auction, b.price, b.ts}) }

func (q *q4Ref) finish(_ int64, acc *nexAcc) {
	type key struct{ id, category int64 }
	final := map[key]int64{}
	for _, b := range q.bids {
		for _, a := range q.auctions[b.auction] {
			if b.ts < a.ts || b.ts > a.expires {
				continue
			}
			k := key{a.id, a.category}
			if m, ok := final[k]; !ok || b.price > m {
				final[k] = b.price
			}
		}
	}
	type avg struct{ sum, n int64 }
	cats := map[int64]*avg{}
	for k, f := range final {
		c := cats[k.category]
		if c == nil {
			c = &avg{}
			cats[k.category] = c
		}
		c.sum += f
		c.n++
	}
	for cat, c := range cats {
		// AVG of a BIGINT is a DECIMAL of scale 4, rounded half away from
		// zero (prices are not negative), as q17's.
		acc.add([]string{i64(cat), dec4((c.sum*10000*2 + c.n) / (2 * c.n))})
	}
}

// q6Ref: per auction and 2-second TUMBLE window of the bids, the highest
// price; joined to the auction's rows for the seller; per seller, in order
// of window end (then auction, the order a closing window emits its
// groups in), the average of the row's and the 10 before. A window's row
// is there once the bid watermark has closed the window and the OVER
// aggregate's watermark, the lesser of the two sources', has passed its
// end.
type q6Ref struct {
	size       int64
	sellers    map[int64][]int64 // auction id → the sellers of its rows
	maxAuction int64
	auctions   bool
	finals     map[[2]int64]int64 // (auction, window start) → highest price
}

func (q *q6Ref) addAuction(a *auctionRow) {
	q.sellers[a.id] = append(q.sellers[a.id], a.seller)
	q.maxAuction, q.auctions = max(q.maxAuction, a.ts), true
}

func (q *q6Ref) add(b *bidRow) {
	k := [2]int64{b.auction, b.ts - ((b.ts%q.size)+q.size)%q.size}
	if m, ok := q.finals[k]; !ok || b.price > m {
		q.finals[k] = b.price
	}
}

func (q *q6Ref) finish(wm int64, acc *nexAcc) {
	if !q.auctions {
		return
	}
	passed := min(wm, q.maxAuction-nexmarkDelay.Microseconds())
	type row struct{ auction, end, final int64 }
	bySeller := map[int64][]row{}
	for k, f := range q.finals {
		end := k[1] + q.size
		if end > wm || end >= passed {
			continue
		}
		for _, s := range q.sellers[k[0]] {
			bySeller[s] = append(bySeller[s], row{k[0], end, f})
		}
	}
	for seller, rs := range bySeller {
		slices.SortFunc(rs, func(a, b row) int {
			if a.end != b.end {
				return cmp.Compare(a.end, b.end)
			}
			return cmp.Compare(a.auction, b.auction)
		})
		for i, r := range rs {
			var sum int64
			frame := rs[max(0, i-10) : i+1]
			for _, x := range frame {
				sum += x.final
			}
			n := int64(len(frame))
			// AVG of a BIGINT: a DECIMAL of scale 4, rounded half away
			// from zero (prices are not negative).
			acc.add([]string{i64(r.auction), i64(seller), tsText(r.end), i64(r.final), dec4((sum*20000 + n) / (2 * n))})
		}
	}
}

// q5Ref: per HOP window (2-second slide, 10-second size), the auctions
// with the most bids (every one that ties).
type q5Ref struct {
	slide, size int64
	counts      map[q5Key]int64
}

type q5Key struct{ start, auction int64 }

func (q *q5Ref) add(b *bidRow) {
	last := b.ts - ((b.ts%q.slide)+q.slide)%q.slide
	for start := last; start > b.ts-q.size; start -= q.slide {
		q.counts[q5Key{start, b.auction}]++
	}
}

func (q *q5Ref) finish(_ int64, acc *nexAcc) {
	maxn := map[int64]int64{}
	for k, n := range q.counts {
		maxn[k.start] = max(maxn[k.start], n)
	}
	for k, n := range q.counts {
		if n >= maxn[k.start] {
			acc.add([]string{i64(k.auction), i64(n)})
		}
	}
}

// q8Ref: the persons who opened an auction in the 10-second TUMBLE window
// in which they registered (distinct persons and sellers per window, as
// the views' GROUP BY makes them).
type q8Ref struct {
	size    int64
	persons map[q8Person]struct{}
	sellers map[[2]int64]struct{}
}

type q8Person struct {
	id    int64
	name  string
	start int64
}

func (q *q8Ref) start(ts int64) int64 { return ts - ((ts%q.size)+q.size)%q.size }

func (q *q8Ref) add(*bidRow) {}

func (q *q8Ref) addPerson(p *personRow) {
	q.persons[q8Person{p.id, p.name, q.start(p.ts)}] = struct{}{}
}

func (q *q8Ref) addAuction(a *auctionRow) {
	q.sellers[[2]int64{a.seller, q.start(a.ts)}] = struct{}{}
}

func (q *q8Ref) finish(_ int64, acc *nexAcc) {
	for p := range q.persons {
		if _, ok := q.sellers[[2]int64{p.id, p.start}]; ok {
			acc.add([]string{i64(p.id), p.name, tsText(p.start)})
		}
	}
}

// q7Ref: per 10-second TUMBLE window, its highest price; then the bids of
// that price whose time is between the window's start and end, both
// included, so that a bid at exactly a window's end is matched against
// that window too (it belongs to the next). Every window with a bid
// counts, closed or not.
type q7Ref struct {
	size int64
	wins map[int64]*q7Win // by window end
}

type q7Win struct {
	max int64
	has bool // the window has a bid of its own, so a max
	// cands are the bids within the window's bounds whose price was at
	// least the max when they came: the ones that can still match.
	cands []bidRow
}

func (q *q7Ref) win(end int64) *q7Win {
	w := q.wins[end]
	if w == nil {
		w = &q7Win{}
		q.wins[end] = w
	}
	return w
}

func (q *q7Ref) add(b *bidRow) {
	end := b.ts - ((b.ts%q.size)+q.size)%q.size + q.size
	w := q.win(end)
	if !w.has || b.price > w.max {
		w.has, w.max = true, b.price
		w.cands = slices.DeleteFunc(w.cands, func(c bidRow) bool { return c.price < w.max })
	}
	ends := []int64{end}
	if end-q.size == b.ts {
		// It ends the window before its own, whose max it does not move.
		ends = append(ends, b.ts)
	}
	for _, e := range ends {
		if w := q.win(e); !w.has || b.price >= w.max {
			w.cands = append(w.cands, bidRow{auction: b.auction, price: b.price, bidder: b.bidder, ts: b.ts, extra: b.extra})
		}
	}
}

func (q *q7Ref) finish(_ int64, acc *nexAcc) {
	for _, w := range q.wins {
		if !w.has {
			continue
		}
		for _, c := range w.cands {
			if c.price == w.max {
				acc.add([]string{i64(c.auction), i64(c.price), i64(c.bidder), tsText(c.ts), c.extra})
			}
		}
	}
}

// q20Ref: every bid joined with each auction of its id in category 10.
// A bid is joined as it comes with the auctions of its id that came
// before; one that came before any auction of its id waits for finish.
// That is the whole join when each table comes whole, in either order
// (as every caller hands them); otherwise finish adds a row that no view
// has, so that the check fails rather than passes on a partial answer.
type q20Ref struct {
	acc      nexAcc
	auctions map[int64][]auctionRow // category 10, by id
	// seen: 1 when an auction of the id came, 2 when a bid was joined
	// with those as it came.
	seen    map[int64]uint8
	pending []bidRow
	late    bool
	// within, when set, bounds a bid's time relative to its auction's
	// (microseconds, both included): q20-bounded.
	within *[2]int64
}

func (q *q20Ref) rowsAcc() *nexAcc { return &q.acc }

func (q *q20Ref) addAuction(a *auctionRow) {
	if a.category != 10 {
		q.seen[a.id] = max(q.seen[a.id], 1)
		return
	}
	if q.seen[a.id] == 2 {
		q.late = true
	}
	q.seen[a.id] = 1
	q.auctions[a.id] = append(q.auctions[a.id], *a)
}

func (q *q20Ref) add(b *bidRow) {
	if q.seen[b.auction] == 0 {
		q.pending = append(q.pending, *b)
		return
	}
	q.seen[b.auction] = 2
	q.join(b)
}

func (q *q20Ref) join(b *bidRow) {
	for i := range q.auctions[b.auction] {
		a := &q.auctions[b.auction][i]
		if w := q.within; w != nil && (b.ts-a.ts < w[0] || b.ts-a.ts > w[1]) {
			continue
		}
		q.acc.add([]string{i64(b.auction), i64(b.bidder), i64(b.price), b.channel, b.url, tsText(b.ts), b.extra,
			a.item, a.desc, i64(a.initial), i64(a.reserve), tsText(a.ts), tsText(a.expires), i64(a.seller), i64(a.category), a.extra})
	}
}

func (q *q20Ref) finish(_ int64, acc *nexAcc) {
	for i := range q.pending {
		q.join(&q.pending[i])
	}
	if q.late {
		q.acc.add([]string{"q20 reference: an auction of category 10 came after bids on its id were joined"})
	}
	*acc = q.acc
}
