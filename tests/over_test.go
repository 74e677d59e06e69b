package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// OVER aggregates end to end: a randomized comparison of views with the
// one-off SELECT of the same query, and a view SIGKILLed while records
// come, against frames worked out in plain Go.

var overBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestOverAgg_Differential puts random records (partitions, NULLs, times
// out of order and tied, none behind the watermark) on a one-shard stream
// and compares, for random frames, a view of OVER aggregates with the
// same SELECT run once over the source (the batch evaluator). A last
// record far ahead in its own partition moves the watermark past every
// other, so the view has emitted them all; with one shard, rows of one
// time reach both in the same order, so ROWS frames over ties agree.
func TestOverAgg_Differential(t *testing.T) {
	if testing.Short() {
		t.Skip("needs kinesalite")
	}
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	for trial := range 6 {
		rng := rand.New(rand.NewPCG(uint64(trial), 61))
		stream := fmt.Sprintf("overdiff-%d-%d", trial, time.Now().UnixNano())
		if err := e.CreateStream(ctx, stream, 1); err != nil {
			t.Fatal(err)
		}
		src := fmt.Sprintf("od%d", trial)
		mustExec(ctx, t, conn, fmt.Sprintf("CREATE SOURCE %s (k TEXT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) "+
			"WITH (connector = 'kinesis', stream = '%s', region = 'us-east-1', endpoint = '%s', format = 'json', start_position = 'trim_horizon')",
			src, stream, e.Endpoint()))
		frame := fmt.Sprintf("ROWS BETWEEN %d PRECEDING AND CURRENT ROW", rng.IntN(5))
		if trial%2 == 1 {
			frame = fmt.Sprintf("RANGE BETWEEN INTERVAL '%d' SECOND PRECEDING AND CURRENT ROW", rng.IntN(4))
		}
		w := "OVER (PARTITION BY k ORDER BY ts " + frame + ")"
		sel := fmt.Sprintf("SELECT k, ts, v, COUNT(*) %[1]s AS n, COUNT(v) %[1]s AS c, SUM(v) %[1]s AS s, MIN(v) %[1]s AS lo, "+
			"MAX(v) %[1]s AS hi, AVG(v) %[1]s AS a FROM %[2]s", w, src)
		mustExec(ctx, t, conn, "CREATE MATERIALIZED VIEW "+src+"_v AS "+sel)

		var recs []emulator.Record
		put := func(k any, v any, ms int64) {
			data, _ := json.Marshal(map[string]any{"k": k, "v": v, "ts": overBase.Add(time.Duration(ms) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")})
			recs = append(recs, emulator.Record{PartitionKey: "x", Data: data})
		}
		var top int64
		for range 300 {
			var k any = []string{"a", "b", "c", "d"}[rng.IntN(4)]
			if rng.IntN(20) == 0 {
				k = nil
			}
			var v any = rng.IntN(100) - 20
			if rng.IntN(10) == 0 {
				v = nil
			}
			// Half-second steps make ties; going back at most 1.5 s stays
			// ahead of the 2 s watermark delay.
			ms := top + int64(rng.IntN(6)-3)*500
			top = max(top, ms)
			put(k, v, ms)
		}
		put("~end", 0, top+3_600_000)
		if _, err := e.PutRecords(ctx, stream, recs); err != nil {
			t.Fatal(err)
		}
		mustExec(ctx, t, conn, "FLUSH")
		cols := "k, ts, v, n, c, s, lo, hi, a"
		got := textRows(ctx, t, conn, "SELECT "+cols+" FROM "+src+"_v")
		want := textRows(ctx, t, conn, "SELECT "+cols+" FROM ("+sel+") AS q WHERE k IS NULL OR k <> '~end'")
		if len(want) != 300 {
			t.Fatalf("trial %d: the one-off SELECT gave %d rows, want 300", trial, len(want))
		}
		if !slices.Equal(got, want) {
			t.Errorf("trial %d (%s): the view differs from the one-off SELECT\nview:\n%s\nSELECT:\n%s",
				trial, frame, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// textRows runs sql over the simple protocol and returns its rows as text,
// sorted.
func textRows(ctx context.Context, t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out []string
	for rows.Next() {
		var fs []string
		for _, v := range rows.RawValues() {
			if v == nil {
				fs = append(fs, "NULL")
			} else {
				fs = append(fs, string(v))
			}
		}
		out = append(out, strings.Join(fs, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	slices.Sort(out)
	return out
}

// overCrashRecord is one record of TestOverAgg_CrashDuringProduction.
type overCrashRecord struct {
	user, v int64
	ts      time.Time
}

// TestOverAgg_CrashDuringProduction SIGKILLs the server at least 5 times
// while records come, with a ROWS and a RANGE view of OVER aggregates, and
// after the final FLUSH compares them with frames worked out here: each
// row exactly once, with its frame's aggregates, whatever epoch it was
// read, processed or restored in.
func TestOverAgg_CrashDuringProduction(t *testing.T) {
	const n = 30_000
	ct := newCrashTest(t, 6*time.Minute)
	ctx := ct.ctx
	conn := connect(t, ct.srv.addr)
	mustExec(ctx, t, conn, crashSource(ctx, t, ct.e, "oc", "oc-in", 4, vCols))
	w := "OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)"
	mustExec(ctx, t, conn, fmt.Sprintf("CREATE MATERIALIZED VIEW oc_rows AS SELECT user_id, ts, v, COUNT(*) %[1]s AS n, SUM(v) %[1]s AS s, "+
		"MIN(v) %[1]s AS lo, MAX(v) %[1]s AS hi, AVG(v) %[1]s AS a FROM oc", w))
	mustExec(ctx, t, conn, "CREATE MATERIALIZED VIEW oc_range AS SELECT user_id, ts, "+
		"COUNT(*) OVER (PARTITION BY user_id ORDER BY ts RANGE BETWEEN INTERVAL '100' SECOND PRECEDING AND CURRENT ROW) AS n, "+
		"SUM(v) OVER (PARTITION BY user_id ORDER BY ts RANGE BETWEEN INTERVAL '100' SECOND PRECEDING AND CURRENT ROW) AS s FROM oc")
	_ = conn.Close(ctx)

	// User i%37, v i, event time i seconds less up to 3 s of jitter: a
	// user's records are 37 s apart (no ties), out of order by less than
	// the 5 s delay (none late).
	rnd := rand.New(rand.NewPCG(16, 6))
	recs := make([]emulator.Record, n)
	in := make([]overCrashRecord, n)
	for i := range in {
		in[i] = overCrashRecord{user: int64(i % 37), v: int64(i),
			ts: overBase.Add(time.Duration(i)*time.Second - time.Duration(rnd.IntN(3000))*time.Millisecond)}
		data, _ := json.Marshal(map[string]any{"user_id": in[i].user, "v": in[i].v, "ts": in[i].ts.Format("2006-01-02T15:04:05.000Z")})
		recs[i] = emulator.Record{PartitionKey: fmt.Sprint(in[i].user), Data: data}
	}
	prod := startProducer(ctx, ct.e, "oc-in", recs, 500, 100*time.Millisecond)
	ct.killWhileProducing(t, crashKills, rand.New(rand.NewPCG(16, 7)), nil, prod)
	conn = ct.flush(t)
	checkOverCrash(ctx, t, conn, in)
}

// checkOverCrash compares oc_rows and oc_range with frames worked out from
// in. Which rows have gone out depends on how far the slowest shard got:
// every row more than 2 minutes before the last event must be there (each
// user has a record every 37 s, so every shard is that far), none within
// the 5 s delay of it can be, and every row there must be right.
func checkOverCrash(ctx context.Context, t *testing.T, conn *pgx.Conn, in []overCrashRecord) {
	type key struct {
		user int64
		ts   int64 // unix ms
	}
	byUser := map[int64][]overCrashRecord{}
	var last int64
	for _, r := range in {
		byUser[r.user] = append(byUser[r.user], r)
		last = max(last, r.ts.UnixMilli())
	}
	wantRows, wantRange := map[key]string{}, map[key]string{}
	for user, rs := range byUser {
		slices.SortFunc(rs, func(a, b overCrashRecord) int { return a.ts.Compare(b.ts) })
		for i, r := range rs {
			k := key{user, r.ts.UnixMilli()}
			fr := rs[max(0, i-3) : i+1]
			s, lo, hi := int64(0), fr[0].v, fr[0].v
			for _, x := range fr {
				s += x.v
				lo, hi = min(lo, x.v), max(hi, x.v)
			}
			// AVG of a BIGINT is a DECIMAL with 4 places, rounded half up.
			avg := (s*20000 + int64(len(fr))) / (2 * int64(len(fr)))
			wantRows[k] = fmt.Sprintf("%d %d %d %d %d %d.%04d", r.v, len(fr), s, lo, hi, avg/10000, avg%10000)
			rn, rs2 := 0, int64(0)
			for _, x := range rs[:i+1] {
				if !x.ts.Before(r.ts.Add(-100 * time.Second)) {
					rn++
					rs2 += x.v
				}
			}
			wantRange[k] = fmt.Sprintf("%d %d", rn, rs2)
		}
	}
	for _, v := range []struct {
		view, sql string
		want      map[key]string
	}{
		{"oc_rows", "SELECT user_id, ts, CONCAT_WS(' ', v, n, s, lo, hi, a) FROM oc_rows", wantRows},
		{"oc_range", "SELECT user_id, ts, CONCAT_WS(' ', n, s) FROM oc_range", wantRange},
	} {
		rows, err := conn.Query(ctx, v.sql)
		if err != nil {
			t.Fatalf("%s: %v", v.sql, err)
		}
		got := map[key]string{}
		bad := 0
		for rows.Next() {
			var user int64
			var ts time.Time
			var text string
			if err := rows.Scan(&user, &ts, &text); err != nil {
				t.Fatal(err)
			}
			k := key{user, ts.UnixMilli()}
			if _, dup := got[k]; dup && bad < 10 {
				bad++
				t.Errorf("%s holds user %d at %v twice", v.view, user, ts)
			}
			got[k] = text
			switch {
			case k.ts > last-5000 && bad < 10:
				bad++
				t.Errorf("%s holds user %d at %v, which the watermark cannot have passed", v.view, user, ts)
			case v.want[k] != text && bad < 10:
				bad++
				t.Errorf("%s user %d at %v = %q, want %q", v.view, user, ts, text, v.want[k])
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		checked := 0
		for k, w := range v.want {
			if k.ts <= last-120_000 {
				checked++
				if got[k] != w && bad < 20 {
					bad++
					t.Errorf("%s user %d at %d = %q, want %q (long behind the watermark)", v.view, k.user, k.ts, got[k], w)
				}
			}
		}
		t.Logf("%s: %d rows, %d of them long behind the watermark checked", v.view, len(got), checked)
	}
}
