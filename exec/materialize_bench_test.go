package exec

import (
	"context"
	"fmt"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// BenchmarkMaterialize writes Nexmark-bid-like rows (every row new, as in
// a pass-through view) into a Materialize on Badger-backed state,
// committing every benchEpoch rows as a view does: as a bag (a count read
// per row), as an append-only log, and keyed. One op is one row.
//
//	go test -run XXX -bench Materialize -benchmem ./exec/
func BenchmarkMaterialize(b *testing.B) {
	for _, mode := range []string{"bag", "log", "keyed"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			db := benchDB(b)
			tbl := db.Table(1, 0)
			o := MaterializeOptions{}
			switch mode {
			case "keyed":
				o.Key = []int{0}
			case "log":
				o.AppendOnly = true
			}
			m := NewMaterialize(o)
			mustOpen(b, m, tbl)
			var out discard
			in := benchRows(5)
			epoch := uint64(1)
			var n int64
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += benchBatch {
				for i := 0; i < in.Len(); i++ {
					n++
					r := in.Row(i)
					r[0], r[1], r[2] = types.NewInt(n), types.NewInt(n%10007), types.NewInt(n%977*100)
					r[3], r[4] = types.NewTimestamp(n*1000), types.NewString(fmt.Sprintf("extra-%08d-abcdefghijklmnopqrstuvwxyz", n))
				}
				if err := m.Process(ctx, 0, in, &out); err != nil {
					b.Fatal(err)
				}
				if n%benchEpoch < benchBatch {
					benchCommit(b, db, tbl, m, epoch)
					epoch++
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
