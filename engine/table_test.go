package engine

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTable_ViewsMatchBatch: random INSERT, upsert, UPDATE and DELETE
// statements on a keyed table and on a bag; after each round, views over
// the tables (an aggregate, a filter, a self-join) hold what the same
// query computes as a one-off SELECT, and the keyed table holds what a
// plain-Go map of the same statements holds.
func TestTable_ViewsMatchBatch(t *testing.T) {
	ctx := context.Background()
	eng := openTest(t, t.TempDir())
	for _, q := range []string{
		"CREATE TABLE kv (k BIGINT PRIMARY KEY, v BIGINT NOT NULL, tag TEXT)",
		"CREATE TABLE bag (x BIGINT, y BIGINT)",
	} {
		if err := eng.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	queries := map[string]string{
		"agg":    "SELECT k % 3 AS g, COUNT(*) AS n, SUM(v) AS s, MAX(tag) AS m FROM kv GROUP BY k % 3",
		"filter": "SELECT k, v FROM kv WHERE v > 50",
		"join":   "SELECT b.x, b.y, kv.v FROM bag b JOIN kv ON b.x = kv.k",
		"bag":    "SELECT x, COUNT(*) AS n FROM bag GROUP BY x",
	}
	for name, q := range queries {
		if err := eng.Exec(ctx, "CREATE MATERIALIZED VIEW v_"+name+" AS "+q); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewSource(7))
	model := map[int64]int64{} // kv: k -> v
	for round := 0; round < 15; round++ {
		for range 6 {
			k, v := rng.Int63n(20), rng.Int63n(100)
			var q string
			switch rng.Intn(6) {
			case 0:
				if _, ok := model[k]; ok {
					continue // a duplicate would fail the statement
				}
				q = fmt.Sprintf("INSERT INTO kv VALUES (%d, %d, 't%d')", k, v, v%4)
				model[k] = v
			case 1:
				q = fmt.Sprintf("INSERT INTO kv VALUES (%d, %d, 'u') ON DUPLICATE KEY UPDATE v = v + VALUES(v)", k, v)
				model[k] += v
			case 2:
				q = fmt.Sprintf("UPDATE kv SET v = v + 1, tag = 'w' WHERE k >= %d AND k < %d", k, k+5)
				for key := range model {
					if key >= k && key < k+5 {
						model[key]++
					}
				}
			case 3:
				q = fmt.Sprintf("DELETE FROM kv WHERE k = %d", k)
				delete(model, k)
			case 4:
				q = fmt.Sprintf("INSERT INTO bag VALUES (%d, %d), (%d, %d)", k, v, k, v)
			case 5:
				q = fmt.Sprintf("DELETE FROM bag WHERE y < %d", v/4)
			}
			if err := eng.Exec(ctx, q); err != nil {
				t.Fatalf("round %d: %s: %v", round, q, err)
			}
		}
		if err := eng.Exec(ctx, "FLUSH"); err != nil {
			t.Fatal(err)
		}
		for name, q := range queries {
			view := sorted(queryStrings(t, eng, "SELECT * FROM v_"+name))
			batch := sorted(queryStrings(t, eng, q))
			if !slices.Equal(view, batch) {
				t.Fatalf("round %d: view %s:\n%s\none-off SELECT:\n%s", round, name, strings.Join(view, "\n"), strings.Join(batch, "\n"))
			}
		}
		var want []string
		for k, v := range model {
			want = append(want, fmt.Sprintf("%d %d", k, v))
		}
		if got := sorted(queryStrings(t, eng, "SELECT k, v FROM kv")); !slices.Equal(got, sorted(want)) {
			t.Fatalf("round %d: kv %v, want %v", round, got, sorted(want))
		}
	}
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

// TestTable_Subscribe: SUBSCRIBE TO a table gives its rows, then each
// statement's changes (update pairs for an UPDATE) at the epoch that
// committed them.
func TestTable_Subscribe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng := openTest(t, t.TempDir())
	for _, q := range []string{
		"CREATE TABLE s (k BIGINT PRIMARY KEY, v TEXT)",
		"INSERT INTO s VALUES (1, 'a')",
	} {
		if err := eng.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := eng.Subscribe(ctx, "SUBSCRIBE TO s")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for _, q := range []string{
		"INSERT INTO s VALUES (2, 'b')",
		"UPDATE s SET v = 'c' WHERE k = 1",
		"DELETE FROM s WHERE k = 2",
	} {
		if err := eng.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"insert 1 a", "insert 2 b", "update_delete 1 a", "update_insert 1 c", "delete 2 b"}
	var got []string
	var epochs []int64
	for len(got) < len(want) && rows.Next() {
		r := rows.Row()
		epochs = append(epochs, r[0].Int())
		got = append(got, r[1:].String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("SUBSCRIBE rows %q, want %q", got, want)
	}
	// The snapshot's epoch, then one epoch per statement, increasing; the
	// UPDATE's pair shares one.
	if !(epochs[0] < epochs[1] && epochs[1] < epochs[2] && epochs[2] == epochs[3] && epochs[3] < epochs[4]) {
		t.Errorf("epochs %v", epochs)
	}
}

// TestTable_ConcurrentUpserts: statements from several sessions on one
// key each read what the one before wrote: 4 × 25 increments make 100.
func TestTable_ConcurrentUpserts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng := openTest(t, t.TempDir())
	if err := eng.Exec(ctx, "CREATE TABLE c (k BIGINT PRIMARY KEY, n BIGINT)"); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 25 {
				if err := eng.Exec(ctx, "INSERT INTO c VALUES (1, 1) ON DUPLICATE KEY UPDATE n = n + 1"); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := queryStrings(t, eng, "SELECT n FROM c"); !slices.Equal(got, []string{"100"}) {
		t.Errorf("n = %v, want 100", got)
	}
}
