package exec

import (
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// BenchmarkTopN: the 10 highest v (0..1023) per key k with ROW_NUMBER
// (q19's shape) over an append-only input, 1,000 and 1M keys; and
// deduplication keeping the first and the last row per key (q18's
// shape), 1M keys; and the 10 highest of one partition over an updating
// input, which keeps every row (a global top-N over an aggregate). One op
// is one event; see runBench.
//
//	go test -run XXX -bench TopN -benchmem ./exec/
func BenchmarkTopN(b *testing.B) {
	k, _ := expr.Compile(&expr.ColumnRef{Index: 0, Typ: types.TypeBigInt})
	t, _ := expr.Compile(&expr.ColumnRef{Index: 1, Typ: types.TypeTimestamp})
	v, _ := expr.Compile(&expr.ColumnRef{Index: 2, Typ: types.TypeBigInt})
	cases := []struct {
		name     string
		keys     int
		o        TopNOptions
		updating bool
	}{
		{"top10/keys=1000", 1000, TopNOptions{Order: []expr.Func{v}, Desc: []bool{true}, Lo: 1, Hi: 10, EmitRank: true}, false},
		{"top10/keys=1M", 1_000_000, TopNOptions{Order: []expr.Func{v}, Desc: []bool{true}, Lo: 1, Hi: 10, EmitRank: true}, false},
		{"first/keys=1M", 1_000_000, TopNOptions{Order: []expr.Func{t}, Desc: []bool{false}, Lo: 1, Hi: 1, KeepFirst: true}, false},
		{"last/keys=1M", 1_000_000, TopNOptions{Order: []expr.Func{t}, Desc: []bool{true}, Lo: 1, Hi: 1}, false},
		{"top10-updating/keys=1", 1, TopNOptions{Order: []expr.Func{v}, Desc: []bool{true}, Lo: 1, Hi: 10, EmitRank: true}, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			o := c.o
			o.Partition = []expr.Func{k}
			o.AppendOnly, o.CloseCol, o.CachePartitions = !c.updating, -1, 1<<21
			op, err := NewTopN(o)
			if err != nil {
				b.Fatal(err)
			}
			mustOpen(b, op, newAggMemState())
			runBench(b, op, newBenchInput(c.keys, 3), 0, nil)
		})
	}
}
