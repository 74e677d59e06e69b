package exec

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Interval join rows in these tests: left a (k BIGINT, t TIMESTAMP), right
// b (k BIGINT, t TIMESTAMP), both append-only sources, joined on k and
// b.t BETWEEN a.t - 2 s AND a.t + 3 s. As the planner sets it (see
// planner.TestPlanInterval): a left row expires 3 s + 1 µs after its
// time, a right row 2 s + 1 µs after; a row of either side behind the
// watermark is late.

const sec = int64(1e6)

func newIntervalJoin(t testing.TB, st StateTable, cacheBytes int) *HashJoin {
	t.Helper()
	ts := func(i int) *expr.ColumnRef { return &expr.ColumnRef{Index: i, Typ: types.TypeTimestamp} }
	iv := func(d int64) *expr.Const { return &expr.Const{Value: types.NewInterval(0, d), Typ: types.TypeInterval} }
	lo, err := expr.NewCall("date_sub", 0, ts(1), iv(2*sec))
	if err != nil {
		t.Fatal(err)
	}
	hi, err := expr.NewCall("date_add", 0, ts(1), iv(3*sec))
	if err != nil {
		t.Fatal(err)
	}
	between, err := expr.NewCall("between", 0, ts(3), lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	o := JoinOptions{LeftKeys: []expr.Func{col(0, "k", types.TypeBigInt)}, RightKeys: []expr.Func{col(0, "k", types.TypeBigInt)},
		LeftWidth: 2, RightWidth: 2, CloseKey: -1, CacheBytes: cacheBytes,
		Expire: [2]JoinExpiry{{Set: true, Col: 1, After: 3*sec + 1}, {Set: true, Col: 1, After: 2*sec + 1}},
		Late:   [2]JoinLate{{Set: true, Col: 1}, {Set: true, Col: 1}}}
	if o.Cond, err = expr.CompilePredicate(between); err != nil {
		t.Fatal(err)
	}
	j, err := NewHashJoin(o)
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, j, st)
	return j
}

// TestHashJoin_IntervalLateExpiryRestart drives an interval join step by
// step; the pairs, late and expired counts and the rows left in state
// after each step are worked out by hand. A restart (a new operator on
// the same state) keeps the watermark (a row late before it is late
// after) and the rows' deadlines (they leave state without being read).
func TestHashJoin_IntervalLateExpiryRestart(t *testing.T) {
	for _, cacheBytes := range []int{0, 1} { // 1: every key leaves the cache at once
		t.Run(map[int]string{0: "cached", 1: "no cache"}[cacheBytes], func(t *testing.T) {
			ctx := context.Background()
			st := newAggMemState()
			j := newIntervalJoin(t, st, cacheBytes)
			var late, expired int64 // over the operators before the restart
			type step struct {
				what      string
				side      int   // -1: watermark and barrier at ms; -2: restart
				k, ms     int64 // the row, time in milliseconds
				want      string
				late      int64 // counts after the step, since the start
				expired   int64
				stateRows int // rows in state after a barrier
			}
			steps := []step{
				{what: "a@10", side: 0, k: 1, ms: 10000},
				{what: "b@8 on a's lower bound", side: 1, k: 1, ms: 8000, want: "+ 1 @10 1 @8"},
				{what: "b@13 on a's upper bound", side: 1, k: 1, ms: 13000, want: "+ 1 @10 1 @13"},
				{what: "b@13.001 past it", side: 1, k: 1, ms: 13001},
				{what: "b@9 of another key", side: 1, k: 2, ms: 9000},
				// b@8 (deadline 10 s + 1 µs) expires; b@9 (11 s + 1 µs),
				// a@10 (13 s + 1 µs), b@13 and b@13.001 stay.
				{what: "watermark 11", side: -1, ms: 11000, expired: 1, stateRows: 4},
				{what: "a@10.5 is late", side: 0, k: 1, ms: 10500, late: 1, expired: 1},
				{what: "a@12 meets b@13 and b@13.001", side: 0, k: 1, ms: 12000, want: "+ 1 @12 1 @13|+ 1 @12 1 @13.001", late: 1, expired: 1},
				{what: "a barrier: a@12 is written", side: -1, ms: 11000, late: 1, expired: 1, stateRows: 5},
				{what: "restart", side: -2, late: 1, expired: 1},
				{what: "a@10.9 still late", side: 0, k: 1, ms: 10900, late: 2, expired: 1},
				{what: "b@11.5 meets a@10 and a@12 from state", side: 1, k: 1, ms: 11500, want: "+ 1 @10 1 @11.5|+ 1 @12 1 @11.5", late: 2, expired: 1},
				// b@9 (11 s + 1 µs), a@10 (13 s + 1 µs) and b@11.5 (13.5 s
				// + 1 µs) expire; b@13 (15 s + 1 µs), b@13.001 and a@12
				// (15 s + 1 µs) stay.
				{what: "watermark 14", side: -1, ms: 14000, late: 2, expired: 4, stateRows: 3},
				// The rest expire: state holds nothing but the watermark.
				{what: "watermark 20", side: -1, ms: 20000, late: 2, expired: 7, stateRows: 0},
			}
			epoch := uint64(0)
			for _, s := range steps {
				got := &recorder{}
				switch s.side {
				case -1:
					epoch++
					if err := j.OnWatermark(ctx, Watermark{Micros: s.ms * 1000}, got); err != nil {
						t.Fatal(err)
					}
					if err := j.OnBarrier(ctx, Barrier{Epoch: epoch}, got); err != nil {
						t.Fatal(err)
					}
				case -2:
					late, expired = late+j.Late(), expired+j.Expired()
					if err := j.Close(); err != nil {
						t.Fatal(err)
					}
					j = newIntervalJoin(t, st, cacheBytes)
				default:
					b := NewBatch(1)
					b.Append(Insert, types.Row{types.NewInt(s.k), types.NewTimestamp(s.ms * 1000)})
					if err := j.Process(ctx, s.side, b, got); err != nil {
						t.Fatal(err)
					}
				}
				if g := got.String(); g != s.want {
					t.Errorf("%s: emitted %q, want %q", s.what, g, s.want)
				}
				if l, x := late+j.Late(), expired+j.Expired(); l != s.late || x != s.expired {
					t.Errorf("%s: late %d, expired %d; want %d, %d", s.what, l, x, s.late, s.expired)
				}
				if s.side == -1 {
					rows := 0
					for k := range st.m {
						if k[0] != 0xFF {
							rows++
						}
					}
					if rows != s.stateRows {
						t.Errorf("%s: %d rows in state, want %d", s.what, rows, s.stateRows)
					}
				}
			}
		})
	}
}

// recorder keeps the emitted changes, "+ k t k t", sorted and joined by
// "|".
type recorder struct{ lines []string }

func (r *recorder) Emit(op Op, row types.Row) {
	sign := "-"
	if op.Positive() {
		sign = "+"
	}
	parts := []string{sign}
	for _, v := range row {
		parts = append(parts, fmtTestValue(v))
	}
	r.lines = append(r.lines, strings.Join(parts, " "))
}

func (r *recorder) String() string {
	slices.Sort(r.lines)
	return strings.Join(r.lines, "|")
}

// BenchmarkIntervalJoin drives a two-source interval join (newIntervalJoin:
// b.t BETWEEN a.t - 2 s AND a.t + 3 s on one of 1,000 keys) on
// Badger-backed state committed every benchEpoch rows, as a view does:
// both sides alternate batches, event time advancing 100 µs a row (10,000
// rows per second of event time, so each row meets about 50 of the other
// side), the watermark 1 s behind. With expiry each side's rows leave
// state 3 s (2 s) after their time; without (expire=false, the same join
// with the expiry and the lateness off) state keeps every row. One op is
// one row in, either side.
//
//	go test -run XXX -bench IntervalJoin -benchmem ./exec/
func BenchmarkIntervalJoin(b *testing.B) {
	for _, expire := range []bool{true, false} {
		b.Run(fmt.Sprintf("expire=%v", expire), func(b *testing.B) {
			ctx := context.Background()
			db := benchDB(b)
			tbl := db.Table(1, 1)
			j := newIntervalJoin(b, tbl, 0)
			if !expire {
				j.o.Expire, j.o.Late = [2]JoinExpiry{}, [2]JoinLate{}
			}
			var out discard
			batch := benchRows(2)
			epoch := uint64(1)
			var n int64
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += benchBatch {
				side := (done / benchBatch) % 2
				for i := 0; i < batch.Len(); i++ {
					n++
					r := batch.Row(i)
					r[0], r[1] = types.NewInt(int64(uint64(n*2654435761)%1000)), types.NewTimestamp(n*100)
				}
				if err := j.Process(ctx, side, batch, &out); err != nil {
					b.Fatal(err)
				}
				if n%benchEpoch < benchBatch {
					if err := j.OnWatermark(ctx, Watermark{Micros: n*100 - 1e6}, &out); err != nil {
						b.Fatal(err)
					}
					benchCommit(b, db, tbl, j, epoch)
					epoch++
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(out.n)/float64(b.N), "pairs/row")
		})
	}
}
