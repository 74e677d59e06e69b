package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"
)

// TestGenerator_LateRows: a datagen source with random event times over a
// minute and a 3-second watermark delay. The rows a bounded SELECT reads
// (in generation order) judged in plain Go by the rule of a shard (the
// watermark is the largest time so far less the delay, per row; a row
// behind it is late; TUMBLE drops a late row whose window has closed)
// give the late count SHOW SOURCE STATUS shows for each view, a count of
// every row, and the windows' counts and sums.
func TestGenerator_LateRows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng := openTest(t, t.TempDir())
	const rows = 3000
	for _, q := range []string{
		fmt.Sprintf(`CREATE SOURCE g (v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '3' SECOND)
			WITH (connector = 'datagen', seed = 16, number_of_rows = %d, rows_per_second = 0,
			fields.v.min = 1, fields.v.max = 100,
			fields.ts.min = '2026-01-01T00:00:00Z', fields.ts.max = '2026-01-01T00:01:00Z')`, rows),
		"CREATE MATERIALIZED VIEW g_all AS SELECT COUNT(*) AS n, SUM(v) AS s FROM g",
		"CREATE MATERIALIZED VIEW g_win AS SELECT window_start, COUNT(*) AS n, SUM(v) AS s FROM TUMBLE(g, ts, INTERVAL '10' SECOND) GROUP BY window_start",
		"FLUSH",
	} {
		if err := eng.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	r, err := eng.Query(ctx, "SELECT v, ts FROM g")
	if err != nil {
		t.Fatal(err)
	}
	type agg struct{ n, s int64 }
	const delay, size = int64(3_000_000), int64(10_000_000)
	var cur int64
	hasCur := false
	late, all := int64(0), agg{}
	windows := map[int64]*agg{}
	for r.Next() {
		row := r.Row()
		v, ts := row[0].Int(), row[1].Micros()
		all.n, all.s = all.n+1, all.s+v
		start := ts - ((ts%size)+size)%size
		if hasCur && ts < cur {
			late++
			if start+size <= cur {
				continue // its window has closed: TUMBLE drops it
			}
		} else if !hasCur || ts-delay > cur {
			cur, hasCur = ts-delay, true
		}
		w := windows[start]
		if w == nil {
			w = &agg{}
			windows[start] = w
		}
		w.n, w.s = w.n+1, w.s+v
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if all.n != rows || late == 0 {
		t.Fatalf("the SELECT read %d rows, %d late: want %d rows, some late", all.n, late, rows)
	}

	if got, want := queryStrings(t, eng, "SELECT n, s FROM g_all"), []string{fmt.Sprintf("%d %d", all.n, all.s)}; !slices.Equal(got, want) {
		t.Errorf("g_all = %v, want %v (every row)", got, want)
	}
	var want []string
	for start, w := range windows {
		want = append(want, fmt.Sprintf("%s %d %d", time.UnixMicro(start).UTC().Format("2006-01-02 15:04:05"), w.n, w.s))
	}
	sort.Strings(want)
	if got := queryStrings(t, eng, "SELECT window_start, n, s FROM g_win ORDER BY window_start"); !slices.Equal(got, want) {
		t.Errorf("g_win = %v\nwant %v", got, want)
	}

	status := map[string]string{}
	r, err = eng.Query(ctx, "SHOW SOURCE STATUS g")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		row := r.Row()
		status[row[0].String()] = fmt.Sprintf("%s %s records=%s late_records=%s", row[1], row[2], row[3], row[9])
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	for _, view := range []string{"g_all", "g_win"} {
		want := fmt.Sprintf("datagen ended records=%d late_records=%d", rows, late)
		if got := status["view "+view]; got != want {
			t.Errorf("SHOW SOURCE STATUS g, view %s: %q, want %q", view, got, want)
		}
	}
}
