package pgcatalog

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/pgcatalog/eval"
)

// TestCatalog_ClientQueries prepares and runs every query psql and pgjdbc
// were seen to send (testdata/clients.sql) against the catalog: each must
// find its relations, columns and functions, and run.
func TestCatalog_ClientQueries(t *testing.T) {
	f, err := os.Open("testdata/clients.sql")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type query struct {
		name   string
		text   []string
		params []eval.Value
	}
	var qs []*query
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "-- query: "):
			qs = append(qs, &query{name: strings.TrimPrefix(line, "-- query: ")})
		case len(qs) == 0:
		case strings.HasPrefix(line, "-- params: "):
			for _, p := range strings.Split(strings.TrimPrefix(line, "-- params: "), " | ") {
				qs[len(qs)-1].params = append(qs[len(qs)-1].params, p)
			}
		default:
			qs[len(qs)-1].text = append(qs[len(qs)-1].text, line)
		}
	}
	if err := sc.Err(); err != nil || len(qs) == 0 {
		t.Fatalf("read corpus: %v (%d queries)", err, len(qs))
	}
	c := New(fakeSnapshot())
	for _, q := range qs {
		text := strings.TrimSpace(strings.Join(q.text, "\n"))
		t.Run(q.name, func(t *testing.T) {
			pq, err := eval.Prepare(text, c)
			if err != nil {
				t.Fatalf("Prepare: %v\n%s", err, text)
			}
			// A generous bound: a join run as a cross product (pgjdbc's
			// getImportedKeys joins nine relations) would blow far past it.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := pq.Run(ctx, c, q.params); err != nil {
				t.Fatalf("Run: %v\n%s", err, text)
			}
		})
	}
}
