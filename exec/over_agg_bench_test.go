package exec

import "testing"

// BenchmarkOverAgg is COUNT/SUM/MAX OVER (PARTITION BY k ORDER BY t ...) with
// 1,000 keys, driven as the aggregation benchmarks are (agg_bench_test.go):
// a ROWS frame of the 10 rows before (Nexmark q6's shape), and a RANGE
// frame of 10 s (each key's frame then holds about 100 rows). AVG of a
// BIGINT would add its DECIMAL division (apd), about 20 allocations a row.
//
//	go test -run XXX -bench OverAgg -benchmem ./exec/
func BenchmarkOverAgg(b *testing.B) {
	for _, c := range []struct {
		name      string
		rows      bool
		preceding int64
	}{{"rows=10", true, 10}, {"range=10s", false, 10_000_000}} {
		b.Run(c.name, func(b *testing.B) {
			cols := benchCols()
			keys, aggs := mustKeysAggs(b, cols, "k", "count(*),sum(v),max(v)")
			op, err := NewOverAgg(OverAggOptions{Partition: keys, TimeCol: 1, Aggs: aggs, Rows: c.rows, Preceding: c.preceding})
			if err != nil {
				b.Fatal(err)
			}
			mustOpen(b, op, NewMemTable())
			runBench(b, op, newBenchInput(1000, 3), 0, nil)
		})
	}
}
