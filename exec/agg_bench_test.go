package exec

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Benchmarks of the aggregation operators, driven directly through their
// callbacks. One op is one event. Event time advances 100µs per event
// (10,000 events/s); a barrier and a watermark (event time - 1 s) come
// every 10,000 events. peak-heap-MB samples the heap at every barrier.
//
//	go test -run XXX -bench 'Agg|Window' -benchmem ./exec/

const (
	benchStep    = 100   // µs of event time per event
	benchEpoch   = 10000 // events per barrier
	benchBatch   = 256
	benchDelayUs = 1_000_000
)

type benchInput struct {
	b    *Batch
	keys int
	n    int64
}

func newBenchInput(keys, width int) *benchInput {
	in := &benchInput{b: NewBatch(benchBatch), keys: keys}
	for range benchBatch {
		in.b.Append(Insert, make(types.Row, width))
	}
	return in
}

// fill rewrites the batch in place: k, t, v (and, with windows, ws, we).
func (in *benchInput) fill(size int64) {
	for i := 0; i < in.b.Len(); i++ {
		r := in.b.Row(i)
		in.n++
		t := in.n * benchStep
		r[0] = types.NewInt(int64(uint64(in.n*2654435761) % uint64(in.keys)))
		r[1] = types.NewTimestamp(t)
		r[2] = types.NewInt(in.n & 1023)
		if len(r) > 3 {
			ws := t - t%size
			r[3], r[4] = types.NewTimestamp(ws), types.NewTimestamp(ws+size)
		}
	}
}

func benchCols() []testCol {
	return []testCol{{"k", types.TypeBigInt}, {"t", types.TypeTimestamp}, {"v", types.TypeBigInt}, {"ws", types.TypeTimestamp}, {"we", types.TypeTimestamp}}
}

func benchAggOptions(b *testing.B, keys string) AggOptions {
	cols := benchCols()
	kf, _, err := parseTestKeys(cols, keys)
	if err != nil {
		b.Fatal(err)
	}
	aggs, err := parseTestAggs(cols, "count(*),sum(v)")
	if err != nil {
		b.Fatal(err)
	}
	return AggOptions{Keys: kf, Aggs: aggs, CacheSize: 1 << 21}
}

// processCPU returns the process's user and system CPU time in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// runBench feeds b.N events to op, with barriers and watermarks.
func runBench(b *testing.B, op Operator, in *benchInput, size int64, pre Operator) {
	ctx := context.Background()
	out := &discard{}
	var peak uint64
	var ms runtime.MemStats
	sinceBarrier := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	var stage aggRecorder
	for done := 0; done < b.N; done += benchBatch {
		in.fill(size)
		if pre != nil {
			stage.reset()
			if err := pre.Process(ctx, 0, in.b, &stage); err != nil {
				b.Fatal(err)
			}
			mid := NewBatch(len(stage.ops))
			for i := range stage.ops {
				mid.Append(stage.ops[i], stage.rows[i])
			}
			if err := op.Process(ctx, 0, mid, out); err != nil {
				b.Fatal(err)
			}
		} else if err := op.Process(ctx, 0, in.b, out); err != nil {
			b.Fatal(err)
		}
		sinceBarrier += benchBatch
		if sinceBarrier >= benchEpoch {
			sinceBarrier = 0
			if err := op.OnWatermark(ctx, Watermark{Micros: in.n*benchStep - benchDelayUs}, out); err != nil {
				b.Fatal(err)
			}
			if err := op.OnBarrier(ctx, Barrier{}, out); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			b.StartTimer()
		}
	}
	b.StopTimer()
	// CPU time of the whole process (Badger's goroutines and the garbage
	// collector included), which on a shared machine says more than the
	// wall-clock ns/op.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

func BenchmarkHashAgg(b *testing.B) {
	for _, keys := range []int{1000, 1_000_000} {
		b.Run(keyName(keys), func(b *testing.B) {
			op, err := NewHashAgg(benchAggOptions(b, "k"))
			if err != nil {
				b.Fatal(err)
			}
			mustOpen(b, op, newAggMemState())
			runBench(b, op, newBenchInput(keys, 3), 0, nil)
		})
	}
}

// BenchmarkWindowAgg_Tumble is tumbling 60 s COUNT/SUM per key, EMIT ON
// WINDOW CLOSE, over rows that already carry window_start/window_end.
func BenchmarkWindowAgg_Tumble(b *testing.B) {
	for _, keys := range []int{1000, 1_000_000} {
		b.Run(keyName(keys), func(b *testing.B) {
			op, err := NewWindowAgg(WindowAggOptions{AggOptions: benchAggOptions(b, "k,ws,we"), WindowEnd: 2, EmitOnClose: true})
			if err != nil {
				b.Fatal(err)
			}
			mustOpen(b, op, newAggMemState())
			runBench(b, op, newBenchInput(keys, 5), 60_000_000, nil)
		})
	}
}

// BenchmarkWindow_Hop is HOP(t, 10 s, 60 s) assignment (6 windows per
// event) then COUNT/SUM per key and window, 1,000 keys, EOWC.
func BenchmarkWindow_Hop(b *testing.B) {
	hop, err := NewWindow(WindowOptions{Kind: Hop, TimeCol: 1, Size: 60_000_000, Slide: 10_000_000})
	if err != nil {
		b.Fatal(err)
	}
	o := benchAggOptions(b, "k")
	ws, _ := expr.Compile(&expr.ColumnRef{Index: 3, Typ: types.TypeTimestamp})
	we, _ := expr.Compile(&expr.ColumnRef{Index: 4, Typ: types.TypeTimestamp})
	o.Keys = append(o.Keys, ws, we)
	op, err := NewWindowAgg(WindowAggOptions{AggOptions: o, WindowEnd: 2, EmitOnClose: true})
	if err != nil {
		b.Fatal(err)
	}
	mustOpen(b, op, newAggMemState())
	runBench(b, op, newBenchInput(1000, 3), 0, hop)
}

// BenchmarkSessionAgg is SESSION(t, 5 s) COUNT/SUM per key, 1,000 keys
// (each key sees an event every 10 ms: sessions stay open until the
// stream moves past them), EOWC.
func BenchmarkSessionAgg(b *testing.B) {
	o := benchAggOptions(b, "k")
	tf, _ := expr.Compile(&expr.ColumnRef{Index: 1, Typ: types.TypeTimestamp})
	op, err := NewSessionAgg(SessionOptions{AggOptions: o, Time: tf, Gap: 5_000_000, EmitOnClose: true})
	if err != nil {
		b.Fatal(err)
	}
	mustOpen(b, op, newAggMemState())
	runBench(b, op, newBenchInput(1000, 3), 0, nil)
}

func keyName(n int) string {
	if n >= 1_000_000 {
		return "keys=1M"
	}
	return "keys=1K"
}

// BenchmarkWindowAgg_Max is tumbling 60 s MAX(v) per key (Nexmark q7's
// shape), 1,000 keys, EOWC: over an input proved append-only MIN/MAX keep
// only the best value; otherwise a count per distinct value in state.
func BenchmarkWindowAgg_Max(b *testing.B) {
	for _, appendOnly := range []bool{false, true} {
		b.Run(fmt.Sprintf("append-only=%v", appendOnly), func(b *testing.B) {
			o := benchAggOptions(b, "k,ws,we")
			aggs, err := parseTestAggs(benchCols(), "max(v)")
			if err != nil {
				b.Fatal(err)
			}
			o.Aggs, o.AppendOnly = aggs, appendOnly
			op, err := NewWindowAgg(WindowAggOptions{AggOptions: o, WindowEnd: 2, EmitOnClose: true})
			if err != nil {
				b.Fatal(err)
			}
			mustOpen(b, op, NewMemTable()) // sorted, as state.Table is
			runBench(b, op, newBenchInput(1000, 5), 60_000_000, nil)
		})
	}
}
