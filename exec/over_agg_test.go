package exec

import (
	"cmp"
	"context"
	"github.com/streamsql/streamsql/sql/types"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestOverAgg_DataDriven runs testdata/over_agg with aggHarness's commands
// and one of its own, which creates the operator:
//
//	over cols=... partition=k time=ts rows=N|range=SECONDS aggs=(...)
func TestOverAgg_DataDriven(t *testing.T) {
	h := &aggHarness{}
	datadriven.RunTest(t, "testdata/over_agg", func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd != "over" {
			return h.run(t, d)
		}
		cols, mk, err := makeTestOver(d)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		h.cols, h.make, h.st = cols, mk, NewMemTable()
		if h.op, err = mk(); err != nil {
			return "error: " + err.Error() + "\n"
		}
		if err := h.op.Open(context.Background(), &OpContext{Name: "over", State: h.st}); err != nil {
			return "error: " + err.Error() + "\n"
		}
		return "ok\n"
	})
}

func makeTestOver(d *datadriven.TestData) ([]testCol, func() (Operator, error), error) {
	cols, err := parseTestCols(argOr(d, "cols", ""))
	if err != nil {
		return nil, nil, err
	}
	keys, _, err := parseTestKeys(cols, argOr(d, "partition", ""))
	if err != nil {
		return nil, nil, err
	}
	aggs, err := parseTestAggs(cols, argOr(d, "aggs", ""))
	if err != nil {
		return nil, nil, err
	}
	tc, err := colIndex(cols, argOr(d, "time", "ts"))
	if err != nil {
		return nil, nil, err
	}
	o := OverAggOptions{Partition: keys, TimeCol: tc, Aggs: aggs}
	if n := argOr(d, "rows", ""); n != "" {
		o.Rows = true
		if o.Preceding, err = strconv.ParseInt(n, 10, 64); err != nil {
			return nil, nil, err
		}
	} else {
		secs, err := strconv.ParseFloat(argOr(d, "range", "0"), 64)
		if err != nil {
			return nil, nil, err
		}
		o.Preceding = int64(secs * float64(time.Second/time.Microsecond))
	}
	return cols, func() (Operator, error) { return NewOverAgg(o) }, nil
}

// TestOverAgg_Random compares OverAgg with a plain-Go computation of each
// row's frame over random input: random partitions, times (with ties and
// disorder), NULL values, late rows, watermarks, barriers and reopens
// from state, for ROWS and RANGE frames.
func TestOverAgg_Random(t *testing.T) {
	cols, err := parseTestCols("k:bigint,ts:ts,v:bigint")
	if err != nil {
		t.Fatal(err)
	}
	keys, aggs := mustKeysAggs(t, cols, "k", "count(*),count(v),sum(v),avg(v),min(v),max(v)")
	ctx := context.Background()
	for trial := 0; trial < 200; trial++ {
		rng := rand.New(rand.NewPCG(uint64(trial), 16))
		budget := NewCacheBudget(1 << 30)
		o := OverAggOptions{Partition: keys, TimeCol: 1, Aggs: aggs, Rows: trial%2 == 0, Budget: budget}
		if o.Rows {
			o.Preceding = int64(rng.IntN(4))
		} else {
			o.Preceding = int64(rng.IntN(4)) * 1e6
		}
		mk := func() *OverAgg {
			op, err := NewOverAgg(o)
			if err != nil {
				t.Fatal(err)
			}
			return op
		}
		st := NewMemTable()
		op := mk()
		mustOpen(t, op, st)
		var out aggRecorder
		type in struct {
			k, ts int64
			v     types.Value
		}
		var onTime []in // in arrival order
		late := int64(0)
		wm := int64(math.MinInt64)
		for step := 0; step < 60; step++ {
			switch r := rng.IntN(10); {
			case r < 6:
				b := NewBatch(4)
				for n := rng.IntN(5); n > 0; n-- {
					base := max(wm, 0)
					ts := base + int64(rng.IntN(5)-1)*1e6
					x := in{k: int64(rng.IntN(3)), ts: ts, v: types.NewInt(int64(rng.IntN(20) - 5))}
					if rng.IntN(6) == 0 {
						x.v = types.Null
					}
					b.Append(Insert, types.Row{types.NewInt(x.k), types.NewTimestamp(x.ts), x.v})
					if ts < wm {
						late++
					} else {
						onTime = append(onTime, x)
					}
				}
				if err := op.Process(ctx, 0, b, &out); err != nil {
					t.Fatal(err)
				}
			case r < 8:
				wm = max(wm, 0) + int64(rng.IntN(3))*1e6
				if err := op.OnWatermark(ctx, Watermark{Micros: wm}, &out); err != nil {
					t.Fatal(err)
				}
			default:
				if err := op.OnBarrier(ctx, Barrier{}, &out); err != nil {
					t.Fatal(err)
				}
				if rng.IntN(2) == 0 {
					lateBefore := op.Late()
					if err := op.Close(); err != nil {
						t.Fatal(err)
					}
					op = mk()
					mustOpen(t, op, st)
					late -= lateBefore
				}
			}
		}
		// The reference: rows below the watermark, in (time, arrival)
		// order, each with its frame's aggregates.
		order := make([]int, 0, len(onTime))
		for i, x := range onTime {
			if x.ts < wm {
				order = append(order, i)
			}
		}
		slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(onTime[i].ts, onTime[j].ts) })
		var want []string
		for pos, i := range order {
			x := onTime[i]
			var frame []in
			if o.Rows {
				for _, j := range order[:pos+1] {
					if onTime[j].k == x.k {
						frame = append(frame, onTime[j])
					}
				}
				frame = frame[max(0, len(frame)-int(o.Preceding)-1):]
			} else {
				for _, y := range onTime {
					if y.k == x.k && y.ts <= x.ts && y.ts >= x.ts-o.Preceding {
						frame = append(frame, y)
					}
				}
			}
			row := types.Row{types.NewInt(x.k), types.NewTimestamp(x.ts), x.v}
			for _, a := range aggs {
				s := a.NewState(nil)
				for _, y := range frame {
					if err := s.Add(y.v); err != nil {
						t.Fatal(err)
					}
				}
				v, err := s.Result()
				if err != nil {
					t.Fatal(err)
				}
				row = append(row, v)
			}
			want = append(want, "+ "+testRowText(row))
		}
		var got []string
		for i, r := range out.rows {
			got = append(got, out.ops[i].String()+" "+testRowText(r))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (%+v): got\n%s\nwant\n%s", trial, o, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if op.Late() != late {
			t.Fatalf("trial %d: late %d, want %d", trial, op.Late(), late)
		}
		if used := budget.Used(); used != op.cacheStats().bytes || used < 0 {
			t.Fatalf("trial %d: the budget counts %d bytes, the operator %d", trial, used, op.cacheStats().bytes)
		}
		if err := op.Close(); err != nil || budget.Used() != 0 {
			t.Fatalf("trial %d: closed (%v), the budget still counts %d bytes", trial, err, budget.Used())
		}
	}
}

func testRowText(r types.Row) string {
	var sb strings.Builder
	for i, v := range r {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(fmtTestValue(v))
	}
	return sb.String()
}

// TestOverAgg_StateBounded checks that a RANGE frame's rows leave state
// as the watermark passes, and that a retraction is refused.
func TestOverAgg_StateBounded(t *testing.T) {
	cols, _ := parseTestCols("k:bigint,ts:ts,v:bigint")
	keys, aggs := mustKeysAggs(t, cols, "k", "sum(v)")
	budget := NewCacheBudget(1 << 30)
	op, err := NewOverAgg(OverAggOptions{Partition: keys, TimeCol: 1, Aggs: aggs, Preceding: 5e6, Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	st := NewMemTable()
	mustOpen(t, op, st)
	ctx := context.Background()
	var out aggRecorder
	for sec := int64(0); sec < 1000; sec++ {
		b := NewBatch(1)
		b.Append(Insert, types.Row{types.NewInt(sec % 7), types.NewTimestamp(sec * 1e6), types.NewInt(1)})
		if err := op.Process(ctx, 0, b, &out); err != nil {
			t.Fatal(err)
		}
		if err := op.OnWatermark(ctx, Watermark{Micros: sec * 1e6}, &out); err != nil {
			t.Fatal(err)
		}
		if err := op.OnBarrier(ctx, Barrier{}, &out); err != nil {
			t.Fatal(err)
		}
		// At most the rows of the last 5 seconds and the one waiting,
		// plus two metadata keys.
		if n := st.Len(); n > 5+1+2 {
			t.Fatalf("at %ds state holds %d keys", sec, n)
		}
		if sec == 500 && (budget.Used() <= 0 || budget.Used() != op.cacheStats().bytes) {
			t.Fatalf("at %ds the budget counts %d bytes, the operator reports %d", sec, budget.Used(), op.cacheStats().bytes)
		}
	}
	if err := op.OnWatermark(ctx, Watermark{Micros: 2000e6}, &out); err != nil {
		t.Fatal(err)
	}
	if err := op.OnBarrier(ctx, Barrier{}, &out); err != nil {
		t.Fatal(err)
	}
	if n, p := st.Len(), op.Partitions(); n != 2 || p != 0 {
		t.Fatalf("after the last frame closed: %d keys, %d partitions; want 2 (metadata), 0", n, p)
	}
	if used := budget.Used(); used != 0 {
		t.Fatalf("after the last frame closed the budget still counts %d bytes", used)
	}
	b := NewBatch(1)
	b.Append(Delete, types.Row{types.NewInt(1), types.NewTimestamp(3000e6), types.NewInt(1)})
	if err := op.Process(ctx, 0, b, &out); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("a retraction: %v, want an error naming append-only input", err)
	}
}
