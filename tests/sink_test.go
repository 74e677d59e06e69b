package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/internal/emulator"
)

// click is the test's own record; the expected answer is the set of
// clicks it put, worked out here, not by the engine.
type click struct {
	UserID int64   `json:"user_id"`
	Amount float64 `json:"amount"`
}

func putClicks(ctx context.Context, t *testing.T, e *emulator.Emulator, stream string, from, n int) []click {
	t.Helper()
	out := make([]click, n)
	recs := make([]emulator.Record, n)
	for i := range out {
		c := click{UserID: int64(from+i) % 37, Amount: float64(from + i)}
		out[i] = c
		data, _ := json.Marshal(c)
		recs[i] = emulator.Record{PartitionKey: fmt.Sprint(c.UserID), Data: data}
	}
	if _, err := e.PutRecords(ctx, stream, recs); err != nil {
		t.Fatal(err)
	}
	return out
}

// sinkedRows reads the sink's stream through a second source: each row's
// _id and content.
func sinkedRows(ctx context.Context, t *testing.T, conn *pgx.Conn, source string) map[string]click {
	t.Helper()
	rows, err := conn.Query(ctx, "SELECT _id, user_id, amount FROM "+source)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]click{}
	for rows.Next() {
		var id string
		var c click
		if err := rows.Scan(&id, &c.UserID, &c.Amount); err != nil {
			t.Fatal(err)
		}
		if old, dup := got[id]; dup && old != c {
			t.Fatalf("id %s carries two different rows: %+v and %+v", id, old, c)
		}
		got[id] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// waitRows polls the sink's stream until it holds want distinct ids.
func waitRows(ctx context.Context, t *testing.T, conn *pgx.Conn, source string, want int) map[string]click {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := sinkedRows(ctx, t, conn, source)
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func sameClicks(t *testing.T, got map[string]click, want []click) {
	t.Helper()
	key := func(c click) string { return fmt.Sprintf("%d/%g", c.UserID, c.Amount) }
	var g, w []string
	for _, c := range got {
		g = append(g, key(c))
	}
	for _, c := range want {
		w = append(w, key(c))
	}
	sort.Strings(g)
	sort.Strings(w)
	if strings.Join(g, ",") != strings.Join(w, ",") {
		t.Fatalf("the sink's stream holds %d distinct records, want %d; they differ", len(g), len(w))
	}
}

const sinkSourceCols = "(user_id BIGINT, amount DOUBLE)"

// TestSink_RoundTrip: source → sink → a second source on the sink's stream
// gives back the same rows, each once after de-duplication by _id.
func TestSink_RoundTrip(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	for _, s := range []string{"rt-in", "rt-out"} {
		if err := e.CreateStream(ctx, s, 2); err != nil {
			t.Fatal(err)
		}
	}
	want := putClicks(ctx, t, e, "rt-in", 0, 300)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	with := fmt.Sprintf("connector = 'kinesis', endpoint = '%s', region = 'us-east-1'", e.Endpoint())
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE rt_in %s WITH (%s, stream = 'rt-in', start_position = 'trim_horizon')", sinkSourceCols, with),
		fmt.Sprintf("CREATE SINK rt_sink FROM rt_in WITH (%s, stream = 'rt-out', partition_key = 'user_id')", with),
		fmt.Sprintf("CREATE SOURCE rt_out (_id TEXT, user_id BIGINT, amount DOUBLE) WITH (%s, stream = 'rt-out', start_position = 'trim_horizon')", with),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	want = append(want, putClicks(ctx, t, e, "rt-in", 300, 200)...)
	got := waitRows(ctx, t, conn, "rt_out", len(want))
	sameClicks(t, got, want)

	var n int64
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM rt_out").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(want)) {
		t.Errorf("without a crash the sink wrote %d records for %d inputs; want exactly one each", n, len(want))
	}
	rows, err := conn.Query(ctx, "SHOW SOURCE STATUS rt_in")
	if err != nil {
		t.Fatal(err)
	}
	var sinkShards int
	for rows.Next() {
		vals, _ := rows.Values()
		if vals[0] == "sink rt_sink" {
			sinkShards++
		}
	}
	if sinkShards != 2 {
		t.Errorf("SHOW SOURCE STATUS shows %d shards read for the sink, want 2", sinkShards)
	}
}

// TestSink_SurvivesKill: the server is SIGKILLed while a sink runs and
// records keep arriving; after restarts the sink's stream holds every input
// record at least once, and its ids de-duplicate to exactly the inputs.
func TestSink_SurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx := testContext(t, 8*time.Minute)
	bin := buildBinary(t)
	dataDir := t.TempDir()
	e := emulator.StartForTest(ctx, t, emulator.Options{})
	for _, s := range []string{"kill-in", "kill-out"} {
		if err := e.CreateStream(ctx, s, 4); err != nil {
			t.Fatal(err)
		}
	}
	with := fmt.Sprintf("connector = 'kinesis', endpoint = '%s'", e.Endpoint())
	srv := startBinary(t, bin, dataDir)
	conn := connect(t, srv.addr)
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE kill_in %s WITH (%s, stream = 'kill-in', start_position = 'trim_horizon')", sinkSourceCols, with),
		fmt.Sprintf("CREATE SINK kill_sink FROM kill_in WITH (%s, stream = 'kill-out')", with),
		fmt.Sprintf("CREATE SOURCE kill_out (_id TEXT, user_id BIGINT, amount DOUBLE) WITH (%s, stream = 'kill-out', start_position = 'trim_horizon')", with),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	var want []click
	for round := range 4 {
		want = append(want, putClicks(ctx, t, e, "kill-in", len(want), 200+rng.IntN(300))...)
		// Kill once the sink has made some progress past the last round,
		// so the kill lands mid-stream rather than on an idle server.
		waitRows(ctx, t, conn, "kill_out", len(want)-100)
		srv.kill(t)
		srv = startBinary(t, bin, dataDir)
		conn = connect(t, srv.addr)
		t.Logf("round %d: %d records in", round, len(want))
	}
	got := waitRows(ctx, t, conn, "kill_out", len(want))
	sameClicks(t, got, want)
	var total int64
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM kill_out").Scan(&total); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d inputs, %d records written (%d resent after kills)", len(want), total, total-int64(len(want)))
}

// TestSink_ExplicitHashKey: with explicit_hash_key, each record lands on
// the shard whose hash range holds the column's value, not the one its
// partition key hashes to; from a source and from a query (staged with
// its epoch). Two shards split the range at 2^127.
func TestSink_ExplicitHashKey(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	for _, s := range []string{"ehk-in", "ehk-out", "ehk-out2"} {
		if err := e.CreateStream(ctx, s, 2); err != nil {
			t.Fatal(err)
		}
	}
	const top = "340282366920938463463374607431768211455" // 2^128 - 1
	recs := make([]emulator.Record, 200)
	wantShard := map[int]string{}
	for i := range recs {
		h, shard := "0", "shardId-000000000000"
		if i%3 == 0 {
			h, shard = top, "shardId-000000000001"
		}
		wantShard[i] = shard
		// One partition key for all: without the hash key every record
		// would land on the same shard.
		recs[i] = emulator.Record{PartitionKey: "same", Data: fmt.Appendf(nil, `{"id": %d, "h": "%s"}`, i, h)}
	}
	if _, err := e.PutRecords(ctx, "ehk-in", recs); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	with := fmt.Sprintf("connector = 'kinesis', endpoint = '%s', region = 'us-east-1'", e.Endpoint())
	for _, q := range []string{
		fmt.Sprintf("CREATE SOURCE ehk_in (id BIGINT, h TEXT) WITH (%s, stream = 'ehk-in', start_position = 'trim_horizon')", with),
		fmt.Sprintf("CREATE SINK ehk_sink FROM ehk_in WITH (%s, stream = 'ehk-out', explicit_hash_key = 'h')", with),
		fmt.Sprintf("CREATE SINK ehk_query AS SELECT id, h FROM ehk_in WHERE id >= 0 WITH (%s, stream = 'ehk-out2', explicit_hash_key = 'h')", with),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, out := range []string{"ehk-out", "ehk-out2"} {
		src := strings.ReplaceAll(out, "-", "_")
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE SOURCE %s (id BIGINT, _shard_id TEXT) WITH (%s, stream = '%s', start_position = 'trim_horizon')", src, with, out)); err != nil {
			t.Fatal(err)
		}
		got := map[int]string{}
		waitFor(t, time.Minute, func() bool {
			rows, err := conn.Query(ctx, "SELECT id, _shard_id FROM "+src)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id int
				var shard string
				if err := rows.Scan(&id, &shard); err != nil {
					t.Fatal(err)
				}
				got[id] = shard
			}
			return len(got) >= len(recs)
		})
		for i, shard := range wantShard {
			if got[i] != shard {
				t.Errorf("%s: record %d on %q, want %s", out, i, got[i], shard)
			}
		}
	}
}
