package bench

import (
	"cmp"
	"slices"
)

// The top-N queries' plain-Go computations: q9 (the winning bid per
// auction), q18 (the last bid per bidder and auction) and q19 (the 10
// highest bids per auction). Ties on every ORDER BY key go to the row
// that came first, as they do in the engine's TopN.

// q19Ref keeps each auction's n highest bids by price descending, then
// date_time, then bidder.
type q19Ref struct {
	n    int
	tops map[int64][]bidRow
}

func q19Less(a, b *bidRow) int {
	if c := cmp.Compare(b.price, a.price); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	return cmp.Compare(a.bidder, b.bidder)
}

func (q *q19Ref) add(b *bidRow) {
	top := q.tops[b.auction]
	// After every row that orders before or equal to b: ties keep the
	// order they came in.
	at := len(top)
	for at > 0 && q19Less(b, &top[at-1]) < 0 {
		at--
	}
	if at >= q.n {
		return
	}
	top = slices.Insert(top, at, *b)
	if len(top) > q.n {
		top = top[:q.n]
	}
	q.tops[b.auction] = top
}

func (q *q19Ref) finish(_ int64, acc *nexAcc) {
	for _, top := range q.tops {
		for i := range top {
			b := &top[i]
			acc.add([]string{i64(b.auction), i64(b.bidder), i64(b.price), b.channel, b.url, tsText(b.ts), b.extra, i64(int64(i + 1))})
		}
	}
}

// q18Ref keeps the last bid per bidder and auction: the latest date_time,
// then the highest price.
type q18Ref struct{ last map[[2]int64]bidRow }

func (q *q18Ref) add(b *bidRow) {
	k := [2]int64{b.bidder, b.auction}
	old, ok := q.last[k]
	if !ok || b.ts > old.ts || (b.ts == old.ts && b.price > old.price) {
		q.last[k] = *b
	}
}

func (q *q18Ref) finish(_ int64, acc *nexAcc) {
	for _, b := range q.last {
		acc.add([]string{i64(b.auction), i64(b.bidder), i64(b.price), b.channel, b.url, tsText(b.ts), b.extra})
	}
}

// q9Ref: per auction id, the highest bid (price descending, then
// date_time, then bidder) among the pairs of an auction of the id and a
// bid on it made between the auction's start and its expiry, both
// included. Tables may come in any order, so every row waits for finish.
type q9Ref struct {
	auctions map[int64][]auctionRow
	bids     map[int64][]bidRow
}

func (q *q9Ref) addAuction(a *auctionRow) { q.auctions[a.id] = append(q.auctions[a.id], *a) }

func (q *q9Ref) add(b *bidRow) { q.bids[b.auction] = append(q.bids[b.auction], *b) }

func (q *q9Ref) finish(_ int64, acc *nexAcc) {
	for id, as := range q.auctions {
		var best *bidRow
		var bestA *auctionRow
		for i := range as {
			a := &as[i]
			bs := q.bids[id]
			for j := range bs {
				b := &bs[j]
				if b.ts < a.ts || b.ts > a.expires {
					continue
				}
				if best == nil || q19Less(b, best) < 0 {
					best, bestA = b, a
				}
			}
		}
		if best == nil {
			continue
		}
		a, b := bestA, best
		acc.add([]string{i64(a.id), a.item, a.desc, i64(a.initial), i64(a.reserve), tsText(a.ts), tsText(a.expires), i64(a.seller),
			i64(a.category), a.extra, i64(b.auction), i64(b.bidder), i64(b.price), tsText(b.ts), b.extra})
	}
}
