package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestSharedReaders: ten views over one stream are fed by one reader per
// shard. Views created while records arrive start from the source's start
// position with readers of their own, catch up and join the shared ones;
// after FLUSH each equals the answer worked out here, and SHOW SOURCE
// STATUS shows every view on the shared readers (the same GetRecords
// count per shard).
func TestSharedReaders(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	e := sharedKinesis.get(t)
	if err := e.CreateStream(ctx, "shared-in", 4); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE SOURCE shared_in (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
		"endpoint = '%s', region = 'us-east-1', stream = 'shared-in', start_position = 'trim_horizon')", e.Endpoint())); err != nil {
		t.Fatal(err)
	}
	const views = 10
	viewSQL := func(i int) string {
		return fmt.Sprintf("CREATE MATERIALIZED VIEW shared_v%d AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total "+
			"FROM shared_in WHERE user_id %% %d <> %d GROUP BY user_id", i, views, i)
	}
	if _, err := conn.Exec(ctx, viewSQL(0)); err != nil {
		t.Fatal(err)
	}
	all := putClicks(ctx, t, e, "shared-in", 0, 1500)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}

	// The other views are created while a producer keeps writing.
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 10 {
			c := putClicks(ctx, t, e, "shared-in", 1500+i*150, 150)
			mu.Lock()
			all = append(all, c...)
			mu.Unlock()
		}
	}()
	for i := 1; i < views; i++ {
		if _, err := conn.Exec(ctx, viewSQL(i)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}

	for i := range views {
		want := map[int64]totals{}
		for _, c := range all {
			if c.UserID%views == int64(i) {
				continue
			}
			w := want[c.UserID]
			w.add(c.Amount)
			want[c.UserID] = w
		}
		name := fmt.Sprintf("shared_v%d", i)
		checkTotals(ctx, t, conn, name, "SELECT user_id, n, total FROM "+name, want)
	}

	// Every view joins the shared readers once caught up; a view still
	// reading on its own shows "backfill".
	waitFor(t, time.Minute, func() bool {
		shards, backfill := sourceReaders(ctx, t, conn, "shared_in", views)
		return shards == 4 && backfill == 0
	})
}

// sourceReaders reads SHOW SOURCE STATUS: the shards listed, and how many
// consumer rows are on a backfill rather than the shared readers.
func sourceReaders(ctx context.Context, t *testing.T, conn *pgx.Conn, source string, wantConsumers int) (shards, backfill int) {
	t.Helper()
	rows, err := conn.Query(ctx, "SHOW SOURCE STATUS "+source)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	consumers, shardSet := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for i, f := range rows.FieldDescriptions() {
			m[f.Name] = vals[i]
		}
		consumers[m["consumer"].(string)] = true
		shardSet[m["shard_id"].(string)] = true
		if m["reader"] != "shared" {
			backfill++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(consumers) != wantConsumers {
		t.Errorf("SHOW SOURCE STATUS lists %d consumers, want %d", len(consumers), wantConsumers)
	}
	return len(shardSet), backfill
}
