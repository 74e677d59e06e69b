package nexmark

import (
	"context"
	"testing"
)

// BenchmarkGenerator reports rows/s of each table, in batches of 1024.
func BenchmarkGenerator(b *testing.B) {
	for _, table := range []Table{Person, Auction, Bid} {
		b.Run(table.String(), func(b *testing.B) {
			g, _ := New(Options{Table: table, BaseTime: base})
			var batch Batch
			ctx := context.Background()
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				n, _ := g.NextBatch(ctx, &batch, 1024)
				rows += n
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
		})
	}
}
