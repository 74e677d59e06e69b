package engine

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestChangelog_StartingViewQueueBounded: a view created over a busy
// upstream (a table written statement after statement, or a view over
// it) while its start is held, under a queue bound of a few bytes: the
// upstream's epochs pushed meanwhile are left in its changelog table
// and read back (counted), the queue never holds more than the bound,
// and after FLUSH the view holds what a plain-Go map of the statements
// gives.
func TestChangelog_StartingViewQueueBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		up    string // the view's upstream: the table or a view over it
		view  bool   // whether up is a view (v % 3 <> 0 of the table)
		bound int64  // bytes: 64 spills every epoch, 4096 a few first
	}{
		{name: "table", up: "t", bound: 64},
		{name: "view", up: "v1", view: true, bound: 64},
		{name: "table/some queued", up: "t", bound: 4096},
		{name: "view/some queued", up: "v1", view: true, bound: 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			eng := openTest(t, t.TempDir())
			for _, q := range []string{
				"CREATE TABLE t (k BIGINT PRIMARY KEY, v BIGINT NOT NULL)",
				"CREATE MATERIALIZED VIEW v1 AS SELECT k, v FROM t WHERE v % 3 <> 0",
				"FLUSH",
			} {
				if err := eng.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			eng.views.clQueues.limit.Store(tc.bound)

			// The writer runs statements one after another (each its own
			// epoch) and keeps the table's rows in model.
			model := map[int64]int64{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var writeErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewSource(16))
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					k, x := rng.Int63n(30), 1+rng.Int63n(50)
					var q string
					switch rng.Intn(4) {
					case 0, 1:
						q = fmt.Sprintf("INSERT INTO t VALUES (%d, %d) ON DUPLICATE KEY UPDATE v = v + %d", k, x, x)
						model[k] += x
					case 2:
						q = fmt.Sprintf("DELETE FROM t WHERE k = %d", k)
						delete(model, k)
					case 3:
						q = fmt.Sprintf("UPDATE t SET v = v + 1 WHERE k >= %d AND k < %d", k, k+4)
						for key := range model {
							if key >= k && key < k+4 {
								model[key]++
							}
						}
					}
					if err := eng.Exec(ctx, q); err != nil {
						writeErr = fmt.Errorf("%s: %w", q, err)
						return
					}
				}
			}()
			defer func() {
				close(stop)
				wg.Wait()
			}()

			// v2's start is held until several epochs of its upstream have
			// been pushed to it past the bound.
			const held = 5
			h := func(view string) {
				if view != "v2" {
					return
				}
				deadline := time.Now().Add(time.Minute)
				for eng.views.clQueues.spilled.Load() < held && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
			}
			testHookChangelogStarted.Store(&h)
			defer testHookChangelogStarted.Store(nil)
			q2 := "CREATE MATERIALIZED VIEW v2 AS SELECT k % 5 AS g, COUNT(*) AS n, SUM(v) AS s FROM " + tc.up + " GROUP BY k % 5"
			if err := eng.Exec(ctx, q2); err != nil {
				t.Fatal(err)
			}
			// Past the hold: the view runs while the writer goes on.
			pollUntil(t, time.Minute, "v2 running", func() bool {
				r := eng.views.runners["v2"]
				return r != nil && r.life.Load() != nil && eng.views.clQueues.readBack.Load() > 0
			})
			close(stop)
			wg.Wait()
			stop = make(chan struct{})
			if writeErr != nil {
				t.Fatal(writeErr)
			}
			if err := eng.Exec(ctx, "FLUSH"); err != nil {
				t.Fatal(err)
			}

			type agg struct{ n, s int64 }
			groups := map[int64]*agg{}
			for k, v := range model {
				if tc.view && v%3 == 0 {
					continue
				}
				g := groups[k%5]
				if g == nil {
					g = &agg{}
					groups[k%5] = g
				}
				g.n++
				g.s += v
			}
			var want []string
			for g, a := range groups {
				want = append(want, fmt.Sprintf("%d %d %d", g, a.n, a.s))
			}
			sort.Strings(want)
			got := queryStrings(t, eng, "SELECT g, n, s FROM v2 ORDER BY g")
			if !slices.Equal(got, want) {
				t.Errorf("v2 = %v, want %v", got, want)
			}
			q := &eng.views.clQueues
			t.Logf("spilled %d, read back %d, peak %d bytes; %d rows in the table", q.spilled.Load(), q.readBack.Load(), q.peak.Load(), len(model))
			if n := q.spilled.Load(); n < held {
				t.Errorf("%d epochs spilled, want at least %d (the start was held while they were pushed)", n, held)
			}
			if s, r := q.spilled.Load(), q.readBack.Load(); s != r {
				t.Errorf("%d epochs spilled, %d read back: want all read back", s, r)
			}
			if p := q.peak.Load(); p > tc.bound {
				t.Errorf("a starting view's queue held %d bytes, over its bound of %d", p, tc.bound)
			}
		})
	}
}
