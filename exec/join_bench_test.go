package exec

import (
	"context"
	"fmt"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// BenchmarkHashJoin drives a HashJoin on Badger-backed state (committed
// every benchEpoch events, as a view does) with the shape of Nexmark q4:
// a few "auctions" on the left, many "bids" on the right, each bid
// matching the one auction of its key. One op is one row in.
//
//	go test -run XXX -bench HashJoin -benchmem ./exec/
func BenchmarkHashJoin(b *testing.B) {
	for _, keys := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			ctx := context.Background()
			j, db, tbl := newBenchKeyJoin(b)
			var out discard
			// One auction per key first, then bids.
			auctions := NewBatch(benchBatch)
			for i := 0; i < keys; i++ {
				auctions.Append(Insert, types.Row{types.NewInt(int64(i)), types.NewInt(int64(i))})
				if auctions.Len() == benchBatch || i == keys-1 {
					if err := j.Process(ctx, 0, auctions, &out); err != nil {
						b.Fatal(err)
					}
					auctions.Reset()
				}
			}
			epoch := uint64(1)
			commit := func() {
				benchCommit(b, db, tbl, j, epoch)
				epoch++
			}
			commit()
			bids := benchRows(2)
			var n int64
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += benchBatch {
				for i := 0; i < bids.Len(); i++ {
					n++
					r := bids.Row(i)
					r[0], r[1] = types.NewInt(int64(uint64(n*2654435761)%uint64(keys))), types.NewInt(n)
				}
				if err := j.Process(ctx, 1, bids, &out); err != nil {
					b.Fatal(err)
				}
				if n%benchEpoch < benchBatch {
					commit()
				}
			}
			b.StopTimer()
			if out.n < b.N {
				b.Fatalf("%d pairs for %d bids", out.n, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkHashJoin_NewKeys drives a HashJoin on Badger-backed state with
// keys never seen before (Nexmark q7's join on a bid's price is mostly
// new prices): each key gets a left row, then a right row that pairs with
// it. One op is one key (two rows in).
//
//	go test -run XXX -bench HashJoin_NewKeys -benchmem ./exec/
func BenchmarkHashJoin_NewKeys(b *testing.B) {
	ctx := context.Background()
	j, db, tbl := newBenchKeyJoin(b)
	var out discard
	in := benchRows(2)
	epoch := uint64(1)
	var n int64
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += benchBatch {
		for side := range 2 {
			for i := 0; i < in.Len(); i++ {
				r := in.Row(i)
				r[0], r[1] = types.NewInt(n+int64(i)), types.NewInt(int64(side))
			}
			if err := j.Process(ctx, side, in, &out); err != nil {
				b.Fatal(err)
			}
		}
		n += benchBatch
		if n%benchEpoch < benchBatch {
			benchCommit(b, db, tbl, j, epoch)
			epoch++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkHashJoin_Windows joins on (k, window_end) as Nexmark q8 does,
// on Badger-backed state: 1,000 keys a window, a window every 2,560 rows,
// the watermark a window behind, so each barrier drops the rows of the
// windows it closes. One op is one row in.
//
//	go test -run XXX -bench HashJoin_Windows -benchmem ./exec/
func BenchmarkHashJoin_Windows(b *testing.B) {
	ctx := context.Background()
	db := benchDB(b)
	tbl := db.Table(1, 1)
	k, w := col(0, "k", types.TypeBigInt), col(1, "window_end", types.TypeTimestamp)
	j, err := NewHashJoin(JoinOptions{LeftKeys: []expr.Func{k, w}, RightKeys: []expr.Func{k, w}, LeftWidth: 2, RightWidth: 2, CloseKey: 1})
	if err != nil {
		b.Fatal(err)
	}
	mustOpen(b, j, tbl)
	var out discard
	in := benchRows(2)
	const rowsPerWindow = 10 * benchBatch
	epoch := uint64(1)
	var n int64
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += benchBatch {
		window := n / rowsPerWindow
		for i := 0; i < in.Len(); i++ {
			r := in.Row(i)
			r[0], r[1] = types.NewInt((n+int64(i))%1000), types.NewTimestamp((window+1)*10e6)
		}
		if err := j.Process(ctx, int(done/benchBatch%2), in, &out); err != nil {
			b.Fatal(err)
		}
		n += benchBatch
		if n%benchEpoch < benchBatch {
			if err := j.OnWatermark(ctx, Watermark{Micros: window * 10e6}, &out); err != nil {
				b.Fatal(err)
			}
			benchCommit(b, db, tbl, j, epoch)
			epoch++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// newBenchKeyJoin opens an inner join on column 0 of two 2-column inputs
// over a Badger state table in a temporary directory, closed with the
// benchmark.
func newBenchKeyJoin(b *testing.B) (*HashJoin, *state.DB, *state.Table) {
	b.Helper()
	db := benchDB(b)
	k := col(0, "k", types.TypeBigInt)
	j, err := NewHashJoin(JoinOptions{LeftKeys: []expr.Func{k}, RightKeys: []expr.Func{k}, LeftWidth: 2, RightWidth: 2, CloseKey: -1})
	if err != nil {
		b.Fatal(err)
	}
	tbl := db.Table(1, 1)
	mustOpen(b, j, tbl)
	return j, db, tbl
}

// BenchmarkHashJoinInterval drives a HashJoin with the shape of Nexmark
// q7 on Badger-backed state, committed every benchEpoch events: bids on
// the left (key a price, time advancing 100 µs a bid, so 100,000 bids per
// 10-second window), a window's top price on the right, joined on the
// price with the bid's time in the window. With expiry a bid leaves
// state 10 seconds after its time; without, every bid stays. One op is
// one bid in.
//
//	go test -run XXX -bench HashJoinInterval -benchmem ./exec/
func BenchmarkHashJoinInterval(b *testing.B) {
	for _, tc := range []struct {
		expire, badger bool
	}{{false, true}, {true, true}, {false, false}, {true, false}} {
		name := fmt.Sprintf("expire=%v/state=badger", tc.expire)
		if !tc.badger {
			// The join's own cost: state is a map.
			name = fmt.Sprintf("expire=%v/state=mem", tc.expire)
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			db := benchDB(b)
			tbl := db.Table(1, 1)
			var st StateTable = tbl
			if !tc.badger {
				st = NewMemTable()
			}
			j := newExpiryJoin(b, st, 0, tc.expire)
			var out discard
			bids := benchRows(2)
			tops := NewBatch(1)
			tops.Append(Insert, make(types.Row, 2))
			epoch := uint64(1)
			var n int64
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += benchBatch {
				for i := 0; i < bids.Len(); i++ {
					n++
					r := bids.Row(i)
					r[0], r[1] = types.NewInt(int64(uint64(n*2654435761)%1_000_000)), types.NewTimestamp(n*100)
				}
				if err := j.Process(ctx, sideLeft, bids, &out); err != nil {
					b.Fatal(err)
				}
				if n%benchEpoch < benchBatch {
					// The window now open gets a top price (one of the bids'),
					// the watermark follows the bids, 2 seconds behind.
					t := n * 100
					r := tops.Row(0)
					r[0], r[1] = bids.Row(0)[0], types.NewTimestamp((t/expiryWindow+1)*expiryWindow)
					if err := j.Process(ctx, sideRight, tops, &out); err != nil {
						b.Fatal(err)
					}
					if err := j.OnWatermark(ctx, Watermark{Micros: t - 2e6}, &out); err != nil {
						b.Fatal(err)
					}
					if tc.badger {
						benchCommit(b, db, tbl, j, epoch)
					} else if err := j.OnBarrier(ctx, Barrier{Epoch: epoch}, &out); err != nil {
						b.Fatal(err)
					}
					epoch++
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
