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

// Interval joins and FULL JOIN end to end (issue 16): views against the
// batch evaluator (a one-off SELECT over the same records) and against
// plain Go, the state an interval join drops as the watermark passes, and
// an interval-join view across SIGKILLs.

// ijRow is a record of the interval-join tests' sources (user_id, v, ts).
type ijRow struct {
	user, v int64
	ts      time.Time
}

// ijRecords makes records from..from+n-1: user i%7 + userShift, v = i,
// event time timedBase + i s + offset, less a jitter of 0 to 3 whole
// seconds: out of order by less than the sources' 5 s watermark delay, so
// none is late whatever the shards' interleaving, and whole seconds, so
// that pairs fall on the interval's bounds.
func ijRecords(from, n int, userShift int64, offset time.Duration, rnd *rand.Rand) ([]ijRow, []emulator.Record) {
	rows := make([]ijRow, n)
	recs := make([]emulator.Record, n)
	for i := range rows {
		r := ijRow{user: int64(from+i)%7 + userShift, v: int64(from + i),
			ts: timedBase.Add(time.Duration(from+i)*time.Second + offset - time.Duration(rnd.IntN(4))*time.Second)}
		rows[i] = r
		data, _ := json.Marshal(map[string]any{"user_id": r.user, "v": r.v, "ts": r.ts.Format("2006-01-02T15:04:05.000Z07:00")})
		recs[i] = emulator.Record{PartitionKey: fmt.Sprint(r.v), Data: data}
	}
	return rows, recs
}

func putAll(ctx context.Context, t *testing.T, e *emulator.Emulator, stream string, recs []emulator.Record) {
	t.Helper()
	for i := 0; i < len(recs); i += 500 {
		if _, err := e.PutRecords(ctx, stream, recs[i:min(i+500, len(recs))]); err != nil {
			t.Fatalf("put to %s: %v", stream, err)
		}
	}
}

func createIJSources(ctx context.Context, t *testing.T, e *emulator.Emulator, conn *pgx.Conn, prefix string, shards int) {
	t.Helper()
	for _, side := range []string{"a", "b"} {
		stream := fmt.Sprintf("%s-%s-%d", prefix, side, time.Now().UnixNano())
		mustExec(ctx, t, conn, crashSource(ctx, t, e, prefix+"_"+side, stream, shards, vCols))
	}
}

// ijStream is the stream of source prefix_side (see createIJSources).
func ijStream(ctx context.Context, t *testing.T, conn *pgx.Conn, src string) string {
	t.Helper()
	var create string
	if err := conn.QueryRow(ctx, "SHOW CREATE SOURCE "+src).Scan(new(string), &create); err != nil {
		t.Fatalf("SHOW CREATE SOURCE %s: %v", src, err)
	}
	i := strings.Index(create, "stream = '")
	if i < 0 {
		t.Fatalf("no stream in %s", create)
	}
	rest := create[i+len("stream = '"):]
	return rest[:strings.IndexByte(rest, '\'')]
}

// ijInterval is a random interval condition: b.ts within [a.ts + lo,
// a.ts + hi] (whole seconds), each bound included or not, spelled one of
// three ways.
type ijInterval struct {
	lo, hi         int64
	loIncl, hiIncl bool
	form           int
}

func (iv ijInterval) sql() string {
	bound := func(s int64) string {
		if s < 0 {
			return fmt.Sprintf("a.ts - INTERVAL '%d' SECOND", -s)
		}
		return fmt.Sprintf("a.ts + INTERVAL '%d' SECOND", s)
	}
	op := func(incl bool, o string) string {
		if incl {
			return o + "="
		}
		return o
	}
	switch {
	case iv.form == 0 && iv.loIncl && iv.hiIncl:
		return fmt.Sprintf("b.ts BETWEEN %s AND %s", bound(iv.lo), bound(iv.hi))
	case iv.form == 1:
		// The other way round: a's time against b's.
		neg := func(s int64) string {
			if s > 0 {
				return fmt.Sprintf("b.ts - INTERVAL '%d' SECOND", s)
			}
			return fmt.Sprintf("b.ts + INTERVAL '%d' SECOND", -s)
		}
		return fmt.Sprintf("a.ts %s %s AND %s %s a.ts", op(iv.loIncl, "<"), neg(iv.lo), neg(iv.hi), op(iv.hiIncl, "<"))
	}
	return fmt.Sprintf("b.ts %s %s AND b.ts %s %s", op(iv.loIncl, ">"), bound(iv.lo), op(iv.hiIncl, "<"), bound(iv.hi))
}

func (iv ijInterval) holds(a, b ijRow) bool {
	d := b.ts.Sub(a.ts).Milliseconds()
	lo, hi := iv.lo*1000, iv.hi*1000
	return a.user == b.user && (d > lo || iv.loIncl && d == lo) && (d < hi || iv.hiIncl && d == hi)
}

// TestIntervalJoin_Differential: random interval-join views and FULL
// JOIN views (over sources, and over updating aggregates: retractions)
// after two rounds of records on 2-shard streams each equal the one-off
// SELECT of the same query (the batch evaluator), and the interval joins
// equal plain Go.
func TestIntervalJoin_Differential(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	e := sharedKinesis.get(t)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	createIJSources(ctx, t, e, conn, "ijd", 2)
	rnd := rand.New(rand.NewPCG(16, 3))

	var ivs []ijInterval
	queries := map[string]string{}
	for i := range 6 {
		iv := ijInterval{lo: -rnd.Int64N(8), hi: rnd.Int64N(8), loIncl: rnd.IntN(2) == 0, hiIncl: rnd.IntN(2) == 0, form: i % 3}
		ivs = append(ivs, iv)
		queries[fmt.Sprintf("ijd_iv%d", i)] = "SELECT a.user_id, a.v AS av, b.v AS bv FROM ijd_a a JOIN ijd_b b ON a.user_id = b.user_id AND " + iv.sql()
	}
	// b's values are a's plus 1,000: a's first thousand and b's last
	// thousand have no match; some others fail b.ts > a.ts.
	queries["ijd_full"] = "SELECT a.v AS av, b.v AS bv, b.user_id FROM ijd_a a FULL JOIN ijd_b b ON a.v = b.v - 1000 AND b.ts > a.ts"
	queries["ijd_full_aggs"] = "SELECT x.user_id AS xu, x.n, y.user_id AS yu, y.s FROM (SELECT user_id, COUNT(*) AS n FROM ijd_a GROUP BY user_id) x " +
		"FULL OUTER JOIN (SELECT user_id, SUM(v) AS s FROM ijd_b WHERE v % 3 = 0 GROUP BY user_id) y ON x.user_id = y.user_id"
	names := make([]string, 0, len(queries))
	for name, q := range queries {
		names = append(names, name)
		if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW "+name+" AS "+q); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	slices.Sort(names)

	streamA, streamB := ijStream(ctx, t, conn, "ijd_a"), ijStream(ctx, t, conn, "ijd_b")
	var as, bs []ijRow
	for round, n := range []int{1200, 800} {
		from := len(as)
		// b's users are a's shifted by 3: users 0-2 only in a, 7-9 only
		// in b; b's times 2 s after a's (b's values a's + 1,000, so b's
		// record i has the time of a's i - 998).
		ra, recA := ijRecords(from, n, 0, 0, rnd)
		rb, recB := ijRecords(from+1000, n, 3, 2*time.Second-1000*time.Second, rnd)
		as, bs = append(as, ra...), append(bs, rb...)
		putAll(ctx, t, e, streamA, recA)
		putAll(ctx, t, e, streamB, recB)
		if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
			t.Fatalf("FLUSH: %v", err)
		}
		for _, name := range names {
			got := rowsOf(ctx, t, conn, "SELECT * FROM "+name)
			want := rowsOf(ctx, t, conn, queries[name])
			diffRows(t, fmt.Sprintf("round %d: %s against its one-off SELECT", round, name), got, want)
		}
		for i, iv := range ivs {
			var want []string
			for _, a := range as {
				for _, b := range bs {
					if iv.holds(a, b) {
						want = append(want, fmt.Sprintf("%d %d %d", a.user, a.v, b.v))
					}
				}
			}
			slices.Sort(want)
			name := fmt.Sprintf("ijd_iv%d", i)
			diffRows(t, fmt.Sprintf("round %d: %s (%s) against Go", round, name, iv.sql()), rowsOf(ctx, t, conn, "SELECT * FROM "+name), want)
			if round == 1 {
				t.Logf("%s: %d rows", iv.sql(), len(want))
			}
		}
	}
}

// TestIntervalJoin_ExpiresState: an interval join's rows leave its state
// once the watermark passes the last time they could meet a row of the
// other side, as EXPLAIN ANALYZE's expired= shows, and late rows are
// dropped and counted (late=); worked out by hand.
func TestIntervalJoin_ExpiresState(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	e := sharedKinesis.get(t)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	createIJSources(ctx, t, e, conn, "ije", 1)
	if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW ije_v AS SELECT a.v AS av, b.v AS bv FROM ije_a a JOIN ije_b b "+
		"ON a.user_id = b.user_id AND b.ts BETWEEN a.ts - INTERVAL '1' SECOND AND a.ts + INTERVAL '1' SECOND"); err != nil {
		t.Fatal(err)
	}
	// Both sides: user 1 at 0..9 s (v = the second), then user 2 at 100 s
	// (v 100), in time order.
	rec := func(user, sec int64) emulator.Record {
		data, _ := json.Marshal(map[string]any{"user_id": user, "v": sec, "ts": timedBase.Add(time.Duration(sec) * time.Second).Format(time.RFC3339)})
		return emulator.Record{PartitionKey: "k", Data: data}
	}
	var recs []emulator.Record
	for s := range int64(10) {
		recs = append(recs, rec(1, s))
	}
	recs = append(recs, rec(2, 100))
	putAll(ctx, t, e, ijStream(ctx, t, conn, "ije_a"), recs)
	putAll(ctx, t, e, ijStream(ctx, t, conn, "ije_b"), recs)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	// Pairs: each second with the one before, itself and the one after
	// within 0..9 (10 * 3 - 2 = 28), and 100 with 100.
	var n int
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM ije_v").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 29 {
		t.Errorf("ije_v has %d rows, want 29", n)
	}
	// The watermark is 95 s: the 20 rows of user 1 (deadlines up to 10 s
	// and 1 µs) have left state, the two at 100 s have not; none was late.
	line := lineStarting(t, explainAnalyze(ctx, t, conn, "ije_v"), "HashJoin")
	c := counters(line)
	if c["expired"] != 20 || c["late"] != 0 {
		t.Errorf("HashJoin: expired=%d late=%d, want 20 and 0:\n%s", c["expired"], c["late"], line)
	}
	// A row of user 1 at 50 s on each side, behind the join's 95 s: the
	// sources keep it (regular operators keep late rows), the interval
	// join drops and counts it; kept, the two would have made a pair.
	putAll(ctx, t, e, ijStream(ctx, t, conn, "ije_a"), []emulator.Record{rec(1, 50)})
	putAll(ctx, t, e, ijStream(ctx, t, conn, "ije_b"), []emulator.Record{rec(1, 50)})
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM ije_v").Scan(&n); err != nil {
		t.Fatal(err)
	}
	line = lineStarting(t, explainAnalyze(ctx, t, conn, "ije_v"), "HashJoin")
	if c := counters(line); n != 29 || c["late"] != 2 || c["expired"] != 20 {
		t.Errorf("after two late rows: %d rows, late=%d, expired=%d; want 29, 2, 20:\n%s", n, c["late"], c["expired"], line)
	}
}

// TestCrash_IntervalJoin: an interval-join view over two 2-shard streams
// while producers write and the server is SIGKILLed at seeded moments and
// started again; after the final FLUSH the view equals the pairs worked out
// in Go.
func TestCrash_IntervalJoin(t *testing.T) {
	const n = 20_000
	seed := crashSeed(t)
	ct := newCrashTest(t, 6*time.Minute)
	ctx, e := ct.ctx, ct.e
	conn := connect(t, ct.srv.addr)
	createIJSources(ctx, t, e, conn, "ijc", 2)
	iv := ijInterval{lo: -4, hi: 2, loIncl: true, hiIncl: false}
	if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW ijc_v AS SELECT a.user_id, a.v AS av, b.v AS bv FROM ijc_a a JOIN ijc_b b "+
		"ON a.user_id = b.user_id AND "+iv.sql()); err != nil {
		t.Fatal(err)
	}
	streamA, streamB := ijStream(ctx, t, conn, "ijc_a"), ijStream(ctx, t, conn, "ijc_b")
	_ = conn.Close(ctx)

	rnd := rand.New(rand.NewPCG(seed, 16))
	as, recA := ijRecords(0, n, 0, 0, rnd)
	bs, recB := ijRecords(0, n, 0, time.Second, rnd)
	prodA := startProducer(ctx, e, streamA, recA, 500, 20*time.Millisecond)
	prodB := startProducer(ctx, e, streamB, recB, 500, 20*time.Millisecond)
	ct.killWhileProducing(t, 3, rand.New(rand.NewPCG(seed, 17)), nil, prodA, prodB)
	conn = ct.flush(t)
	// Each user comes every 7 s: a's record i meets b's records i-6..i+6
	// at most; the join of all pairs by index is enough.
	var want []string
	for i, a := range as {
		for j := max(0, i-14); j < min(len(bs), i+15); j++ {
			if iv.holds(a, bs[j]) {
				want = append(want, fmt.Sprintf("%d %d %d", a.user, a.v, bs[j].v))
			}
		}
	}
	slices.Sort(want)
	diffRows(t, "ijc_v after kills", rowsOf(ctx, t, conn, "SELECT * FROM ijc_v"), want)
	t.Logf("%d pairs checked", len(want))
}
