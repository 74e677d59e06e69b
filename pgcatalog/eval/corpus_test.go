package eval

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/streamsql/streamsql/pgcatalog/internal/clientqueries"
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// corpusQuery is one captured client query: what sent it, its text and the
// parameters to run it with.
type corpusQuery struct {
	file, name, text string
	params           []Value
}

// readCorpus reads the corpus the pgcatalog tests run too: the files
// captured over this package's fake catalog (fake_test.go), which has the
// relations they read. pgcatalog runs every file over the real catalog.
func readCorpus(t *testing.T) []corpusQuery {
	t.Helper()
	qs, err := clientqueries.Read("../testdata/clients")
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusQuery
	for _, q := range qs {
		if q.File != "psql-15.sql" && q.File != "pgjdbc-42.5.sql" {
			continue
		}
		c := corpusQuery{file: q.File, name: q.Name, text: q.Text}
		for _, p := range q.Params {
			c.params = append(c.params, p)
		}
		out = append(out, c)
	}
	return out
}

// TestCorpus prepares and runs every captured client query against the
// fake catalog: each must succeed.
func TestCorpus(t *testing.T) {
	cat := newFakeCatalog()
	qs := readCorpus(t)
	for _, q := range qs {
		t.Run(q.file+"/"+q.name, func(t *testing.T) {
			pq, err := Prepare(q.text, cat)
			if err != nil {
				t.Fatalf("Prepare: %v (%+v)\n%s", err, err, q.text)
			}
			if pq.NumParams() != len(q.params) {
				t.Fatalf("NumParams = %d, corpus gives %d params", pq.NumParams(), len(q.params))
			}
			rows, err := pq.Run(context.Background(), cat, q.params)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, q.text)
			}
			for _, r := range rows {
				if len(r) != len(pq.Columns()) {
					t.Fatalf("row %v has %d values for %d columns", r, len(r), len(pq.Columns()))
				}
			}
		})
	}
}

// corpusText returns the text of the corpus entry whose name is name.
func corpusText(t *testing.T, name string) corpusQuery {
	t.Helper()
	for _, q := range readCorpus(t) {
		if q.name == name {
			return q
		}
	}
	t.Fatalf("no corpus entry %q", name)
	return corpusQuery{}
}

// TestCorpus_bigCatalog runs the corpus over a catalog the size of a real
// one (a few hundred relations, thousands of columns). The bound is
// generous: it fails on a join that degenerates to a cross product, not
// on a slow machine.
func TestCorpus_bigCatalog(t *testing.T) {
	cat := newFakeCatalog()
	cat.grow(400, 12)
	start := time.Now()
	for _, q := range readCorpus(t) {
		qs := time.Now()
		pq, err := Prepare(q.text, cat)
		if err != nil {
			t.Fatalf("%s: Prepare: %v", q.name, err)
		}
		if _, err := pq.Run(context.Background(), cat, q.params); err != nil {
			t.Fatalf("%s: Run: %v", q.name, err)
		}
		if d := time.Since(qs); d > 5*time.Second {
			t.Errorf("%s took %v", q.name, d)
		}
	}
	t.Logf("corpus over a catalog of 410 relations and 4800 columns: %v", time.Since(start))
}

// TestCorpus_concurrent runs each prepared corpus query from several
// goroutines at once (run with -race): a Query is immutable.
func TestCorpus_concurrent(t *testing.T) {
	cat := newFakeCatalog()
	for _, q := range readCorpus(t) {
		pq, err := Prepare(q.text, cat)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		want, err := pq.Run(context.Background(), cat, q.params)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := pq.Run(context.Background(), cat, q.params)
				if err == nil && len(got) != len(want) {
					err = fmt.Errorf("%d rows, want %d", len(got), len(want))
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("%s: %v", q.name, err)
			}
		}
	}
}

// TestRun_crossJoinIsBounded: a cross join nobody meant (pg_attribute
// with itself, three times over a catalog of 4,800 columns: 10^11 rows)
// fails with 54000 once its joins pass maxJoinedValues, instead of taking
// the server's memory.
func TestRun_crossJoinIsBounded(t *testing.T) {
	cat := newFakeCatalog()
	cat.grow(400, 12)
	pq, err := Prepare("SELECT count(*) FROM pg_attribute a, pg_attribute b, pg_attribute c", cat)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = pq.Run(ctx, cat, nil)
	if e := sqlerr.Flatten(err); e == nil || e.Code != sqlerr.ProgramLimitExceeded {
		t.Fatalf("Run = %v, want 54000", err)
	}
}
