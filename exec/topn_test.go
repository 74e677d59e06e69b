package exec

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// topNCols are the test rows: partition k, order v, payload p.
var topNCols = []types.Type{types.TypeText, types.TypeBigInt, types.TypeText}

func colFunc(t testing.TB, i int) expr.Func {
	f, err := expr.Compile(&expr.ColumnRef{Index: i, Typ: topNCols[i]})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newTestTopN(t testing.TB, o TopNOptions) *TopN {
	t.Helper()
	o.Partition = []expr.Func{colFunc(t, 0)}
	o.Order = []expr.Func{colFunc(t, 1)}
	if o.Desc == nil {
		o.Desc = []bool{false}
	}
	if o.CloseCol == 0 {
		o.CloseCol = -1
	}
	tn, err := NewTopN(o)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// TestTopN_Changes feeds changes step by step and checks what TopN
// emits after each, worked out by hand.
func TestTopN_Changes(t *testing.T) {
	type step struct{ in, want string }
	cases := []struct {
		name  string
		o     TopNOptions
		steps []step
	}{
		{name: "row_number top 2 ascending, rank emitted", o: TopNOptions{Lo: 1, Hi: 2, EmitRank: true, AppendOnly: true},
			steps: []step{
				{"+ a 5 x", "+ a 5 x 1\n"},
				{"+ a 7 y", "+ a 7 y 2\n"},
				// 3 goes first: 5 moves to rank 2, 7 leaves. ROW_NUMBER
				// emits rank by rank: rank 1 from 5 to 3, rank 2 from 7 to 5.
				{"+ a 3 z", "U- a 5 x 1\nU+ a 3 z 1\nU- a 7 y 2\nU+ a 5 x 2\n"},
				// Past rank 2: nothing; another partition is separate.
				{"+ a 9 w\n+ b 1 q", "+ b 1 q 1\n"},
			}},
		{name: "rank not read: moves within the top are silent", o: TopNOptions{Lo: 1, Hi: 2, AppendOnly: true},
			steps: []step{
				{"+ a 5 x\n+ a 7 y", "+ a 5 x .\n+ a 7 y .\n"},
				{"+ a 3 z", "- a 7 y .\n+ a 3 z .\n"},
			}},
		{name: "RANK ties keep every row of rank <= N", o: TopNOptions{Rank: RankRank, Lo: 1, Hi: 2, EmitRank: true, AppendOnly: true},
			steps: []step{
				{"+ a 1 x\n+ a 2 y\n+ a 2 z", "+ a 1 x 1\n+ a 2 y 2\n+ a 2 z 2\n"},
				// A third peer at 2 ties too; 3 ranks 4.
				{"+ a 3 w", ""},
				// 0 pushes the 1 to rank 2 and the peers at 2 to rank 3.
				{"+ a 0 v", "U- a 1 x 1\nU+ a 1 x 2\n- a 2 y 2\n- a 2 z 2\n+ a 0 v 1\n"},
			}},
		{name: "DENSE_RANK counts peer groups", o: TopNOptions{Rank: RankDense, Lo: 1, Hi: 2, EmitRank: true, AppendOnly: true},
			steps: []step{
				{"+ a 1 x\n+ a 1 y\n+ a 2 z\n+ a 3 w", "+ a 1 x 1\n+ a 1 y 1\n+ a 2 z 2\n"},
				{"+ a 2 u", "+ a 2 u 2\n"},
			}},
		{name: "retraction promotes the next row", o: TopNOptions{Lo: 1, Hi: 2, EmitRank: true},
			steps: []step{
				{"+ a 1 x\n+ a 2 y\n+ a 3 z", "+ a 1 x 1\n+ a 2 y 2\n"},
				{"- a 1 x", "U- a 1 x 1\nU+ a 2 y 1\nU- a 2 y 2\nU+ a 3 z 2\n"},
				// An update pair moving y last: its U- leaves z alone (rank
				// 2 empties), its U+ fills rank 2.
				{"U- a 2 y\nU+ a 9 y", "U- a 2 y 1\nU+ a 3 z 1\n- a 3 z 2\n+ a 9 y 2\n"},
				{"- a 3 z\n- a 9 y", "U- a 3 z 1\nU+ a 9 y 1\n- a 9 y 2\n- a 9 y 1\n"},
			}},
		{name: "rn between 2 and 3", o: TopNOptions{Lo: 2, Hi: 3, EmitRank: true, AppendOnly: true},
			steps: []step{
				{"+ a 5 x", ""},
				{"+ a 6 y\n+ a 7 z\n+ a 8 w", "+ a 6 y 2\n+ a 7 z 3\n"},
				// 1 goes first: 5 ranks 2, 6 ranks 3, 7 leaves.
				{"+ a 1 v", "U- a 6 y 2\nU+ a 5 x 2\nU- a 7 z 3\nU+ a 6 y 3\n"},
			}},
		{name: "keep first: append-only", o: TopNOptions{Lo: 1, Hi: 1, AppendOnly: true, KeepFirst: true},
			steps: []step{
				{"+ a 5 x\n+ a 6 y\n+ b 1 z", "+ a 5 x .\n+ b 1 z .\n"},
				{"+ a 4 w", ""},
			}},
		{name: "keep last: descending, rank 1", o: TopNOptions{Lo: 1, Hi: 1, Desc: []bool{true}, AppendOnly: true},
			steps: []step{
				{"+ a 5 x", "+ a 5 x .\n"},
				{"+ a 6 y", "U- a 5 x .\nU+ a 6 y .\n"},
				{"+ a 4 w", ""},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tn := newTestTopN(t, c.o)
			st := newAggMemState()
			mustOpen(t, tn, st)
			rec := &aggRecorder{}
			for i, s := range c.steps {
				b, err := ParseBatch(topNCols, s.in)
				if err != nil {
					t.Fatal(err)
				}
				rec.reset()
				if err := tn.Process(context.Background(), 0, b, rec); err != nil {
					t.Fatal(err)
				}
				if got := rec.String(); got != s.want {
					t.Fatalf("step %d %q:\ngot:\n%swant:\n%s", i, s.in, got, s.want)
				}
				if err := tn.OnBarrier(context.Background(), Barrier{Epoch: uint64(i + 1)}, rec); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestTopN_StateBound checks that over an append-only input a partition
// keeps N rows, and that a reopened TopN picks up where it was.
func TestTopN_StateBound(t *testing.T) {
	st := newAggMemState()
	tn := newTestTopN(t, TopNOptions{Lo: 1, Hi: 3, EmitRank: true, AppendOnly: true})
	mustOpen(t, tn, st)
	rec := &aggRecorder{}
	var sb strings.Builder
	for v := 100; v > 0; v-- {
		sb.WriteString("+ a " + itoa(v) + " p\n")
	}
	b, err := ParseBatch(topNCols, sb.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.Process(context.Background(), 0, b, rec); err != nil {
		t.Fatal(err)
	}
	if err := tn.OnBarrier(context.Background(), Barrier{Epoch: 1}, rec); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for k := range st.m {
		if k[0] != 0xFF {
			rows++
		}
	}
	if rows != 3 {
		t.Fatalf("state holds %d rows, want 3", rows)
	}
	// Reopen: 0 comes first, pushing out 3. ROW_NUMBER emits rank by
	// rank: each of ranks 1, 2, 3 gets the row before it (0, 1, 2).
	tn2 := newTestTopN(t, TopNOptions{Lo: 1, Hi: 3, EmitRank: true, AppendOnly: true})
	mustOpen(t, tn2, st)
	rec.reset()
	b, _ = ParseBatch(topNCols, "+ a 0 q")
	if err := tn2.Process(context.Background(), 0, b, rec); err != nil {
		t.Fatal(err)
	}
	want := "U- a 1 p 1\nU+ a 0 q 1\nU- a 2 p 2\nU+ a 1 p 2\nU- a 3 p 3\nU+ a 2 p 3\n"
	if got := rec.String(); got != want {
		t.Fatalf("after reopen got:\n%swant:\n%s", got, want)
	}
}

// TestTopN_PartitionCache: past the cache bound a barrier lets go of the
// partitions no row came for since the last one; only a partition let go
// (or in state at Open) is read back from state, never a new one.
func TestTopN_PartitionCache(t *testing.T) {
	st := newAggMemState()
	o := TopNOptions{Lo: 1, Hi: 1, EmitRank: true, AppendOnly: true, CachePartitions: 2}
	tn := newTestTopN(t, o)
	mustOpen(t, tn, st)
	rec := &aggRecorder{}
	step := func(tn *TopN, in string, barrier bool) {
		t.Helper()
		b, err := ParseBatch(topNCols, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := tn.Process(context.Background(), 0, b, rec); err != nil {
			t.Fatal(err)
		}
		if barrier {
			if err := tn.OnBarrier(context.Background(), Barrier{Epoch: tn.epoch + 1}, rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Each barrier stays within the bound or has partitions no row came
	// for since the last one: which partitions are let go is then fixed
	// (among equally recent ones it is not).
	step(tn, "+ a 5 x\n+ b 5 x", true)
	step(tn, "+ c 5 x\n+ d 5 x", true)
	// Four partitions, two kept: c and d, which rows came for last.
	if tn.Partitions() != 2 || tn.parts[topNPrefix("c")] == nil || tn.parts[topNPrefix("d")] == nil || tn.scans != 0 {
		t.Fatalf("%d partitions, c and d kept: %v %v, %d scans; want c and d, no scan", tn.Partitions(),
			tn.parts[topNPrefix("c")] != nil, tn.parts[topNPrefix("d")] != nil, tn.scans)
	}
	rec.reset()
	step(tn, "+ c 4 y\n+ e 5 x\n+ a 3 z", false)
	if tn.scans != 1 {
		t.Fatalf("%d scans, want 1 (a, let go; c is kept, e is new)", tn.scans)
	}
	if want := "U- c 5 x 1\nU+ c 4 y 1\n+ e 5 x 1\nU- a 5 x 1\nU+ a 3 z 1\n"; rec.String() != want {
		t.Fatalf("got\n%swant\n%s", rec, want)
	}
	// Reopened, every partition in state is read back once, a new one
	// never.
	step(tn, "", true)
	tn = newTestTopN(t, o)
	mustOpen(t, tn, st)
	rec.reset()
	step(tn, "+ b 1 w\n+ f 1 w", false)
	if want := "U- b 5 x 1\nU+ b 1 w 1\n+ f 1 w 1\n"; tn.scans != 1 || rec.String() != want {
		t.Fatalf("reopened: %d scans, got\n%swant 1 scan and\n%s", tn.scans, rec, want)
	}
}

// topNPrefix is the partition key of the test rows of partition k.
func topNPrefix(k string) string {
	b := appendKeyValue([]byte{0, 0}, types.NewString(k))
	binary.BigEndian.PutUint16(b, keyGroupOf(b[2:]))
	return string(b)
}

func itoa(v int) string { return types.NewInt(int64(v)).String() }

// TestTopN_Window: a window top-N drops a window's rows when the
// watermark reaches its end, counts rows of closed windows as late, and
// with EmitOnClose emits the final rows then.
func TestTopN_Window(t *testing.T) {
	for _, eowc := range []bool{false, true} {
		st := newAggMemState()
		// The partition is column 0 as text; the window end is column 1
		// (v) + 10.
		tn := newTestTopN(t, TopNOptions{Lo: 1, Hi: 1, EmitRank: true, AppendOnly: true, CloseCol: 1, CloseAfter: 10, EmitOnClose: eowc})
		tn.o.Order = []expr.Func{colFunc(t, 2)}
		mustOpen(t, tn, st)
		rec := &aggRecorder{}
		b, _ := ParseBatch(topNCols, "+ w0 0 b\n+ w0 0 a\n+ w1 20 c")
		if err := tn.Process(context.Background(), 0, b, rec); err != nil {
			t.Fatal(err)
		}
		// a orders before b: rank 1 of w0 goes from b to a, one pair.
		want := "+ w0 0 b 1\nU- w0 0 b 1\nU+ w0 0 a 1\n+ w1 20 c 1\n"
		if eowc {
			want = ""
		}
		if got := rec.String(); got != want {
			t.Fatalf("eowc=%v: got %q want %q", eowc, got, want)
		}
		rec.reset()
		if err := tn.OnWatermark(context.Background(), Watermark{Micros: 10}, rec); err != nil {
			t.Fatal(err)
		}
		wantClose := ""
		if eowc {
			wantClose = "+ w0 0 a 1\n"
		}
		if got := rec.String(); got != wantClose {
			t.Fatalf("eowc=%v close: got %q want %q", eowc, got, wantClose)
		}
		if tn.Partitions() != 1 {
			t.Fatalf("eowc=%v: %d partitions after close, want 1", eowc, tn.Partitions())
		}
		rec.reset()
		b, _ = ParseBatch(topNCols, "+ w0 0 0")
		if err := tn.Process(context.Background(), 0, b, rec); err != nil {
			t.Fatal(err)
		}
		if tn.Late() != 1 || rec.String() != "" {
			t.Fatalf("eowc=%v: late=%d emitted %q", eowc, tn.Late(), rec.String())
		}
		// Reopen: the open window w1 is loaded; closing it empties state.
		if err := tn.OnBarrier(context.Background(), Barrier{Epoch: 1}, rec); err != nil {
			t.Fatal(err)
		}
		tn2 := newTestTopN(t, TopNOptions{Lo: 1, Hi: 1, EmitRank: true, AppendOnly: true, CloseCol: 1, CloseAfter: 10, EmitOnClose: eowc})
		tn2.o.Order = []expr.Func{colFunc(t, 2)}
		mustOpen(t, tn2, st)
		if tn2.Partitions() != 1 || tn2.wm != 10 {
			t.Fatalf("eowc=%v reopened: %d partitions, watermark %d", eowc, tn2.Partitions(), tn2.wm)
		}
		rec.reset()
		if err := tn2.OnWatermark(context.Background(), Watermark{Micros: 30}, rec); err != nil {
			t.Fatal(err)
		}
		for k := range st.m {
			if k[0] != 0xFF {
				t.Fatalf("eowc=%v: state key %x left after every window closed", eowc, k)
			}
		}
	}
}

// TestTopN_Random compares TopN's output, applied to a table, with the
// top rows recomputed from scratch after random inserts and retractions.
func TestTopN_Random(t *testing.T) {
	// Partitions as sorted slices, and as B-trees past 2 rows.
	defer func(n int) { topEntsSlice = n }(topEntsSlice)
	for _, slice := range []int{topEntsSlice, 2} {
		topEntsSlice = slice
		testTopNRandom(t)
	}
}

func testTopNRandom(t *testing.T) {
	for _, rk := range []RankKind{RankRowNumber, RankRank, RankDense} {
		for seed := uint64(0); seed < 20; seed++ {
			rng := rand.New(rand.NewPCG(seed, uint64(rk)))
			lo := int64(1 + rng.IntN(2))
			hi := lo + int64(rng.IntN(3))
			appendOnly := rng.IntN(2) == 0
			// A cache of one or two partitions lets them go at barriers
			// (read back from state), one of 100 keeps all three.
			cache := []int{1, 2, 100}[rng.IntN(3)]
			tn := newTestTopN(t, TopNOptions{Rank: rk, Lo: lo, Hi: hi, EmitRank: true, AppendOnly: appendOnly, CachePartitions: cache})
			st := newAggMemState()
			mustOpen(t, tn, st)
			view := map[string]int{}
			var live []types.Row
			out := &applyOut{view: view}
			if rk == RankRowNumber {
				// ROW_NUMBER's output is also applied keyed on (partition,
				// rank), as a view keyed so stores it (planner's topNKey).
				out.keyed = map[string]types.Row{}
			}
			for i := 0; i < 300; i++ {
				b := NewBatch(1)
				if !appendOnly && len(live) > 0 && rng.IntN(3) == 0 {
					j := rng.IntN(len(live))
					b.Append(Delete, live[j])
					live = slices.Delete(live, j, j+1)
				} else {
					// Distinct payloads: ROW_NUMBER's peers then differ
					// only in order of arrival, which the reference keeps.
					r := types.Row{types.NewString(string(rune('a' + rng.IntN(3)))), types.NewInt(int64(rng.IntN(6))), types.NewString(itoa(i))}
					b.Append(Insert, r)
					live = append(live, r)
				}
				if err := tn.Process(context.Background(), 0, b, out); err != nil {
					t.Fatal(err)
				}
				if out.err != "" {
					t.Fatalf("rank %d seed %d step %d: %s", rk, seed, i, out.err)
				}
				want := refTopN(live, rk, lo, hi)
				if !mapsEqual(view, want) {
					t.Fatalf("rank %d seed %d step %d (lo %d hi %d append-only %v):\nview %v\nwant %v", rk, seed, i, lo, hi, appendOnly, view, want)
				}
				if out.keyed != nil {
					got := map[string]int{}
					for _, r := range out.keyed {
						got[r.String()]++
					}
					if !mapsEqual(got, want) {
						t.Fatalf("seed %d step %d (lo %d hi %d append-only %v): keyed view\n%v\nwant %v", seed, i, lo, hi, appendOnly, got, want)
					}
				}
				switch rng.IntN(10) {
				case 0:
					// Reopen from state, as after a restart.
					if err := tn.OnBarrier(context.Background(), Barrier{Epoch: uint64(i + 1)}, out); err != nil {
						t.Fatal(err)
					}
					tn = newTestTopN(t, TopNOptions{Rank: rk, Lo: lo, Hi: hi, EmitRank: true, AppendOnly: appendOnly, CachePartitions: cache})
					mustOpen(t, tn, st)
				case 1, 2:
					if err := tn.OnBarrier(context.Background(), Barrier{Epoch: uint64(i + 1)}, out); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
}

type applyOut struct {
	view map[string]int
	// keyed, when set, also applies each change to a table keyed on
	// (partition, rank): a delete must name the row its key holds, an
	// insert must find its key empty.
	keyed map[string]types.Row
	err   string
}

func (a *applyOut) Emit(op Op, row types.Row) {
	if a.keyed != nil {
		key := types.Row{row[0], row[len(row)-1]}.String()
		switch held, ok := a.keyed[key]; {
		case op.Positive() && ok:
			a.err = "insert of " + row.String() + " over " + held.String() + " at its key"
		case op.Positive():
			a.keyed[key] = row
		case !ok || !sameRow(held, row):
			a.err = "delete of " + row.String() + " not held at its key"
		default:
			delete(a.keyed, key)
		}
	}
	k := row.String()
	if op.Positive() {
		a.view[k]++
		return
	}
	if a.view[k] == 0 {
		a.err = "retraction of a row not in the view: " + k
		return
	}
	if a.view[k]--; a.view[k] == 0 {
		delete(a.view, k)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// refTopN recomputes the kept rows: per partition, rows in order of v
// then arrival, ranked, those in lo..hi with their rank.
func refTopN(live []types.Row, rk RankKind, lo, hi int64) map[string]int {
	parts := map[string][]types.Row{}
	var keys []string
	for _, r := range live {
		k := r[0].Str()
		if _, ok := parts[k]; !ok {
			keys = append(keys, k)
		}
		parts[k] = append(parts[k], r)
	}
	out := map[string]int{}
	for _, k := range keys {
		rows := parts[k]
		slices.SortStableFunc(rows, func(a, b types.Row) int { return int(a[1].Int() - b[1].Int()) })
		var rank, dense int64
		for i, r := range rows {
			peer := i > 0 && rows[i-1][1].Int() == r[1].Int()
			switch rk {
			case RankRowNumber:
				rank = int64(i + 1)
			case RankRank:
				if !peer {
					rank = int64(i + 1)
				}
			case RankDense:
				if !peer {
					dense++
				}
				rank = dense
			}
			if rank >= lo && rank <= hi {
				out[append(slices.Clone(r), types.NewInt(rank)).String()]++
			}
		}
	}
	return out
}
