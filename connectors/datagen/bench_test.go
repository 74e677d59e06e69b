package datagen

import (
	"context"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
)

// BenchmarkGenerator reports rows/s of a click-like schema (sequence id,
// random ints, floats, strings from a list, random strings, timestamps).
func BenchmarkGenerator(b *testing.B) {
	c := []types.Column{
		{Name: "id", Type: types.TypeBigInt},
		{Name: "user_id", Type: types.TypeBigInt},
		{Name: "amount", Type: types.TypeDouble},
		{Name: "url", Type: types.TypeText},
		{Name: "country", Type: types.TypeText},
		{Name: "ts", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
	}
	o, err := ParseOptions(c, map[string]string{
		"fields.id.kind": "sequence", "fields.id.start": "0", "fields.id.end": "9223372036854775806",
		"fields.user_id.min": "1", "fields.user_id.max": "1000",
		"fields.amount.min": "0", "fields.amount.max": "100",
		"fields.url.length": "32", "fields.country.values": "de,fr,us,uk,jp",
	})
	if err != nil {
		b.Fatal(err)
	}
	g, _ := New(o)
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
}
