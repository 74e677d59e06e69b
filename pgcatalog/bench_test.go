package pgcatalog

import (
	"context"
	"fmt"
	"testing"

	"github.com/streamsql/streamsql/pgcatalog/eval"
	"github.com/streamsql/streamsql/pgcatalog/internal/clientqueries"
	"github.com/streamsql/streamsql/sql/types"
)

// bigSnapshot is a deployment larger than most: n objects of 10 columns
// each, a third of them sources, the rest views keyed on their first column.
func bigSnapshot(n int) Snapshot {
	s := fakeSnapshot()
	s.Objects = nil
	for i := range n {
		o := Object{ID: uint64(i + 1), Kind: View, Name: fmt.Sprintf("view_%d", i), Query: "SELECT 1", Key: []int{0}}
		if i%3 == 0 {
			o = Object{ID: uint64(i + 1), Kind: Source, Name: fmt.Sprintf("source_%d", i), Connector: "kinesis",
				Options: [][2]string{{"connector", "kinesis"}, {"stream", "s"}}}
		}
		for c := range 10 {
			o.Columns = append(o.Columns, Column{Name: fmt.Sprintf("col_%d", c), Type: types.TypeBigInt})
		}
		s.Objects = append(s.Objects, o)
	}
	return s
}

// BenchmarkCatalog_ClientQueries times what a tool's first look costs over
// a catalog of 1,000 objects and 10,000 columns: psql's \d list, the first
// query of \d name, and pgjdbc's getTables and getColumns of everything.
// Each op prepares and runs the query against a fresh catalog, as a
// session does.
//
//	go test -run '^$' -bench Catalog_ClientQueries -benchmem ./pgcatalog/
func BenchmarkCatalog_ClientQueries(b *testing.B) {
	qs, err := clientqueries.Read("testdata/clients")
	if err != nil {
		b.Fatal(err)
	}
	byName := map[string]clientqueries.Query{}
	for _, q := range qs {
		byName[q.Name] = q
	}
	snap := bigSnapshot(1000)
	for _, name := range []string{
		`psql 15 \d`,
		`psql 15 \d clicks`,
		`pgjdbc 42.5 DatabaseMetaData.getTables(null, null, "%", {TABLE, VIEW, MATERIALIZED VIEW})`,
		`pgjdbc 42.5 DatabaseMetaData.getColumns(null, "public", "%", null)`,
	} {
		q, ok := byName[name]
		if !ok {
			b.Fatalf("no corpus query %q", name)
		}
		var params []eval.Value
		for _, p := range q.Params {
			params = append(params, p)
		}
		b.Run(name, func(b *testing.B) {
			rows := 0
			for b.Loop() {
				c := New(snap)
				pq, err := eval.Prepare(q.Text, c)
				if err != nil {
					b.Fatal(err)
				}
				out, err := pq.Run(context.Background(), c, params)
				if err != nil {
					b.Fatal(err)
				}
				rows = len(out)
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
