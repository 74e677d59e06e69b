package pgcatalog

import (
	"context"
	"testing"
	"time"

	"github.com/streamsql/streamsql/pgcatalog/eval"

	"github.com/streamsql/streamsql/pgcatalog/internal/clientqueries"
)

// TestCatalog_ClientQueries prepares and runs every query psql and pgjdbc
// were seen to send (testdata/clients) against the catalog: each must
// find its relations, columns and functions, and run.
func TestCatalog_ClientQueries(t *testing.T) {
	qs, err := clientqueries.Read("testdata/clients")
	if err != nil {
		t.Fatal(err)
	}
	c := New(fakeSnapshot())
	for _, q := range qs {
		text := q.Text
		var params []eval.Value
		for _, p := range q.Params {
			params = append(params, p)
		}
		t.Run(q.File+"/"+q.Name, func(t *testing.T) {
			pq, err := eval.Prepare(text, c)
			if err != nil {
				t.Fatalf("Prepare: %v\n%s", err, text)
			}
			// A generous bound: a join run as a cross product (pgjdbc's
			// getImportedKeys joins nine relations) would blow far past it.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := pq.Run(ctx, c, params); err != nil {
				t.Fatalf("Run: %v\n%s", err, text)
			}
		})
	}
}
