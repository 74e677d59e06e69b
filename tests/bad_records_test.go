package tests

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/streamsql/streamsql/internal/emulator"
)

// putBad puts good records with partition keys spread over the shards and,
// in the middle, the record bad; it returns where bad landed and the
// shards the good ones landed on.
func putBad(ctx context.Context, t *testing.T, e *emulator.Emulator, stream string, good []string, bad string) (emulator.PutResult, map[string]int) {
	t.Helper()
	var recs []emulator.Record
	for i, g := range good {
		if i == len(good)/2 {
			recs = append(recs, emulator.Record{PartitionKey: "bad", Data: []byte(bad)})
		}
		recs = append(recs, emulator.Record{PartitionKey: fmt.Sprint("k", i), Data: []byte(g)})
	}
	res, err := e.PutRecords(ctx, stream, recs)
	if err != nil {
		t.Fatal(err)
	}
	var at emulator.PutResult
	shards := map[string]int{}
	j := 0
	for i, r := range recs {
		if r.PartitionKey == "bad" {
			at = res[i]
			continue
		}
		shards[res[i].ShardID]++
		j++
	}
	return at, shards
}

// wantPgError fails unless err is a Postgres error with code whose message
// holds every one of parts.
func wantPgError(t *testing.T, what string, err error, code string, parts ...string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: got %v, want a %s error", what, err, code)
	}
	if pe.Code != code {
		t.Errorf("%s: SQLSTATE %s (%s), want %s", what, pe.Code, pe.Message, code)
	}
	for _, p := range parts {
		if !strings.Contains(pe.Message, p) {
			t.Errorf("%s: message %q does not name %q", what, pe.Message, p)
		}
	}
}

// kplCorrupt is a KPL aggregate whose checksum and protobuf are sound but
// whose one user record's partition key index points past its table of
// one key: it cannot be expanded (the record the reader used to fail on).
func kplCorrupt() []byte {
	var user []byte
	user = protowire.AppendTag(user, 1, protowire.VarintType)
	user = protowire.AppendVarint(user, 3)
	user = protowire.AppendTag(user, 3, protowire.BytesType)
	user = protowire.AppendBytes(user, []byte(`{"user_id": 1, "amount": 1}`))
	var body []byte
	body = protowire.AppendTag(body, 1, protowire.BytesType)
	body = protowire.AppendString(body, "k")
	body = protowire.AppendTag(body, 3, protowire.BytesType)
	body = protowire.AppendBytes(body, user)
	return kplFrame(body)
}

// kplFrame is the KPL's magic, body and body's MD5.
func kplFrame(body []byte) []byte {
	sum := md5.Sum(body)
	out := append([]byte{0xF3, 0x89, 0x9A, 0xC2}, body...)
	return append(out, sum[:]...)
}

// TestBadRecord_MultiShardFail is finding 7 of issue 12: on a 2-shard
// stream, one record that does not decode under on_decode_error = 'fail'
// fails a one-off SELECT at once, with an error naming the source, stream,
// shard, sequence number and cause, and a view's FLUSH returns with a
// WARNING naming the same, instead of hanging while the other shard's
// reader goes on.
func TestBadRecord_MultiShardFail(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bad   []byte
		code  string
		cause string
	}{
		{"malformed JSON", []byte("not json at all"), "22032", "malformed JSON"},
		// The reader itself failed on this one before, and Source.Run
		// then waited for the healthy shard's reader for ever.
		{"corrupt KPL aggregate", kplCorrupt(), "22000", "corrupt KPL aggregate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t, 3*time.Minute)
			e := sharedKinesis.get(t)
			stream := "bad-multi-" + strings.ReplaceAll(tc.name, " ", "-")
			source := "bad_multi_" + strings.ReplaceAll(strings.ToLower(tc.name), " ", "_")
			if err := e.CreateStream(ctx, stream, 2); err != nil {
				t.Fatal(err)
			}
			var good []string
			for i := range 20 {
				good = append(good, fmt.Sprintf(`{"user_id": %d, "amount": 1}`, i))
			}
			at, shards := putBad(ctx, t, e, stream, good, string(tc.bad))
			if len(shards) != 2 {
				t.Fatalf("good records on shards %v, want both", shards)
			}
			srv := startServer(t)
			conn, notes := connectNotices(t, srv.Addr)
			if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE SOURCE %s (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
				"endpoint = '%s', region = 'us-east-1', stream = '%s', start_position = 'trim_horizon', on_decode_error = 'fail')",
				source, e.Endpoint(), stream)); err != nil {
				t.Fatal(err)
			}
			names := []string{"source " + source, "stream " + stream, "shard " + at.ShardID, "sequence number " + at.SequenceNumber, tc.cause}

			// A regression hangs: the bound is generous, the answer comes at once.
			var n int64
			err := boundedQuery(ctx, 30*time.Second, func(ctx context.Context) error {
				return conn.QueryRow(ctx, "SELECT COUNT(*) FROM "+source).Scan(&n)
			})
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("SELECT COUNT(*): %v", err)
			}
			wantPgError(t, "SELECT COUNT(*)", err, tc.code, names...)

			if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW "+source+"_n AS SELECT COUNT(*) AS n FROM "+source); err != nil {
				t.Fatal(err)
			}
			err = boundedFlush(ctx, conn, 30*time.Second)
			// FLUSH does not wait for a failed view: it returns, naming
			// the view and the record in a WARNING.
			if err != nil {
				t.Fatalf("FLUSH: %v", err)
			}
			checkWarning(t, notes.take(), "FLUSH", append(names, source+"_n")...)
		})
	}
}

// boundedQuery runs f under a deadline d; context.DeadlineExceeded says it
// did not answer in time (a hang, since every bound here is generous).
func boundedQuery(ctx context.Context, d time.Duration, f func(context.Context) error) error {
	qctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := f(qctx)
	if qctx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("no answer in %v: %w (%v)", d, context.DeadlineExceeded, err)
	}
	return err
}

// boundedFlush runs FLUSH on conn, giving up after d.
func boundedFlush(ctx context.Context, conn *pgx.Conn, d time.Duration) error {
	return boundedQuery(ctx, d, func(ctx context.Context) error {
		_, err := conn.Exec(ctx, "FLUSH")
		return err
	})
}

// sourceStatus is one row of SHOW SOURCE STATUS, by column name.
type sourceStatus map[string]any

// showSourceStatus returns SHOW SOURCE STATUS source's rows keyed by
// consumer and shard ("" for a row with no shard).
func showSourceStatus(ctx context.Context, t *testing.T, conn *pgx.Conn, source string) map[[2]string]sourceStatus {
	t.Helper()
	rows, err := conn.Query(ctx, "SHOW SOURCE STATUS "+source)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[[2]string]sourceStatus{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		m := sourceStatus{}
		for i, f := range rows.FieldDescriptions() {
			m[f.Name] = vals[i]
		}
		consumer, _ := m["consumer"].(string)
		shard, _ := m["shard_id"].(string) // NULL while no shard is listed
		out[[2]string{consumer, shard}] = m
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBadRecord_SkipByDefault is finding 3 of issue 12: a JSON record whose
// user_id is a string, among good records on a 2-shard stream. With the
// default on_decode_error, an aggregate view and a windowed view get every
// good record (their answers are worked out here), and SHOW SOURCE STATUS
// shows the record counted once per view on its shard, with its sequence
// number and error. With on_decode_error = 'fail', a view over the same
// stream fails with an error naming the record, and so does a SELECT.
func TestBadRecord_SkipByDefault(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	const stream = "bad-default"
	if err := e.CreateStream(ctx, stream, 2); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type click struct {
		user   int64
		amount float64
		ts     time.Time
	}
	var clicks []click
	var good []string
	for i := range 36 {
		c := click{user: int64(i % 4), amount: float64(i) + 0.5, ts: base.Add(time.Duration(i) * 5 * time.Second)}
		clicks = append(clicks, c)
		good = append(good, fmt.Sprintf(`{"user_id": %d, "amount": %g, "ts": "%s"}`, c.user, c.amount, c.ts.Format(time.RFC3339)))
	}
	at, shards := putBad(ctx, t, e, stream, good,
		fmt.Sprintf(`{"user_id": "seven", "amount": 1000, "ts": "%s"}`, base.Add(time.Minute).Format(time.RFC3339)))
	if len(shards) != 2 {
		t.Fatalf("good records on shards %v, want both", shards)
	}
	srv := startServer(t)
	conn, notes := connectNotices(t, srv.Addr)
	create := func(name, extra string) {
		t.Helper()
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE SOURCE %s (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), "+
			"WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH (connector = 'kinesis', endpoint = '%s', region = 'us-east-1', "+
			"stream = '%s', start_position = 'trim_horizon'%s)", name, e.Endpoint(), stream, extra)); err != nil {
			t.Fatal(err)
		}
	}
	create("clicks_default", "")
	mustExec(ctx, t, conn,
		"CREATE MATERIALIZED VIEW per_user AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM clicks_default GROUP BY user_id",
		"CREATE MATERIALIZED VIEW per_minute AS SELECT user_id, window_start, COUNT(*) AS n, SUM(amount) AS total "+
			"FROM TUMBLE(clicks_default, ts, INTERVAL '1' MINUTE) GROUP BY user_id, window_start, window_end",
	)
	if err := boundedFlush(ctx, conn, time.Minute); err != nil {
		t.Fatalf("FLUSH with the default on_decode_error: %v", err)
	}

	// The answers, from the good records alone.
	perUser := map[int64]totals{}
	type userMinute struct {
		user  int64
		start time.Time
	}
	perMinute := map[userMinute]totals{}
	for _, c := range clicks {
		a := perUser[c.user]
		a.add(c.amount)
		perUser[c.user] = a
		k := userMinute{c.user, c.ts.Truncate(time.Minute)}
		w := perMinute[k]
		w.add(c.amount)
		perMinute[k] = w
	}
	checkTotals(ctx, t, conn, "per_user", "SELECT user_id, n, total FROM per_user", perUser)
	rows, err := conn.Query(ctx, "SELECT user_id, window_start, n, total FROM per_minute")
	if err != nil {
		t.Fatal(err)
	}
	gotMinute := map[userMinute]totals{}
	for rows.Next() {
		var k userMinute
		var a totals
		if err := rows.Scan(&k.user, &k.start, &a.n, &a.total); err != nil {
			t.Fatal(err)
		}
		gotMinute[userMinute{k.user, k.start.UTC()}] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(gotMinute) != len(perMinute) {
		t.Errorf("per_minute has %d groups, want %d: %v", len(gotMinute), len(perMinute), gotMinute)
	}
	for k, w := range perMinute {
		if gotMinute[k] != w {
			t.Errorf("per_minute %d %v: %+v, want %+v", k.user, k.start, gotMinute[k], w)
		}
	}

	status := showSourceStatus(ctx, t, conn, "clicks_default")
	for _, view := range []string{"view per_user", "view per_minute"} {
		for shard := range shards {
			st, ok := status[[2]string{view, shard}]
			if !ok {
				t.Errorf("SHOW SOURCE STATUS has no row for %s on %s: %v", view, shard, status)
				continue
			}
			if shard != at.ShardID {
				if st["decode_errors"] != int64(0) || st["last_decode_error"] != nil || st["last_decode_error_sequence_number"] != nil {
					t.Errorf("%s on %s (no bad record): decode_errors %v, last %v at %v", view, shard,
						st["decode_errors"], st["last_decode_error"], st["last_decode_error_sequence_number"])
				}
				continue
			}
			if st["decode_errors"] != int64(1) {
				t.Errorf("%s on %s: decode_errors %v, want 1", view, shard, st["decode_errors"])
			}
			if st["last_decode_error_sequence_number"] != at.SequenceNumber {
				t.Errorf("%s on %s: last_decode_error_sequence_number %v, want %s", view, shard, st["last_decode_error_sequence_number"], at.SequenceNumber)
			}
			if msg, _ := st["last_decode_error"].(string); !strings.Contains(msg, "column user_id is BIGINT, the JSON field is a string") {
				t.Errorf("%s on %s: last_decode_error %q does not say what is wrong", view, shard, msg)
			}
		}
	}

	// Strict: the same stream under 'fail'.
	create("clicks_strict", ", on_decode_error = 'fail'")
	names := []string{"source clicks_strict", "stream " + stream, "shard " + at.ShardID, "sequence number " + at.SequenceNumber, "column user_id"}
	var n int64
	err = boundedQuery(ctx, 30*time.Second, func(ctx context.Context) error {
		return conn.QueryRow(ctx, "SELECT COUNT(user_id) FROM clicks_strict").Scan(&n)
	})
	wantPgError(t, "SELECT over the strict source", err, "22P02", names...)
	if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW strict_per_user AS SELECT user_id, COUNT(*) AS n FROM clicks_strict GROUP BY user_id"); err != nil {
		t.Fatal(err)
	}
	err = boundedFlush(ctx, conn, 30*time.Second)
	if err != nil {
		t.Fatalf("FLUSH with a strict view: %v", err)
	}
	checkWarning(t, notes.take(), "FLUSH with a strict view", append(names, "strict_per_user")...)
}

// TestBadRecord_KPLMagicIsData is finding 9 of issue 12, end to end: a
// record that starts with the KPL magic but whose MD5 does not match, and
// one whose protobuf does not parse, reach a raw-format source as the
// bytes that were put, as the KCL delivers them, and count as no error.
func TestBadRecord_KPLMagicIsData(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	e := sharedKinesis.get(t)
	const stream = "kpl-magic"
	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	badMD5 := kplFrame([]byte{0x0a, 0x01, 'k'})
	badMD5[len(badMD5)-1] ^= 0xff
	notProto := kplFrame([]byte{0x0a, 0x05, 'k'}) // a 5-byte string holding one byte
	want := map[string][]byte{"md5": badMD5, "proto": notProto}
	if _, err := e.PutRecords(ctx, stream, []emulator.Record{
		{PartitionKey: "md5", Data: badMD5}, {PartitionKey: "proto", Data: notProto},
	}); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE SOURCE magic (data BYTES, _partition_key VARCHAR) WITH (connector = 'kinesis', endpoint = '%s', "+
		"region = 'us-east-1', stream = '%s', start_position = 'trim_horizon', format = 'raw', on_decode_error = 'fail')", e.Endpoint(), stream)); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT _partition_key, data FROM magic")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for rows.Next() {
		var k string
		var d []byte
		if err := rows.Scan(&k, &d); err != nil {
			t.Fatal(err)
		}
		got[k] = d
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("read %d records, want %d", len(got), len(want))
	}
	for k, w := range want {
		if string(got[k]) != string(w) {
			t.Errorf("record %s: got % x, want % x", k, got[k], w)
		}
	}
}

// TestBadRecord_DeadLetters: with dead_letter_stream, a record a view
// skips is written to that stream as a JSON object with its position, its
// error and its bytes (read back here through a source over that stream),
// and counted in SHOW SOURCE STATUS's dead_letters.
func TestBadRecord_DeadLetters(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	e := sharedKinesis.get(t)
	const stream, dlq = "dl-in", "dl-out"
	for _, s := range []string{stream, dlq} {
		if err := e.CreateStream(ctx, s, 2); err != nil {
			t.Fatal(err)
		}
	}
	good := []string{`{"user_id": 1, "amount": 2.5}`, `{"user_id": 2, "amount": 4}`, `{"user_id": 1, "amount": 1}`}
	bad := `{"user_id": "seven", "amount": 1000}`
	before := time.Now().Add(-time.Second)
	at, _ := putBad(ctx, t, e, stream, good, bad)
	after := time.Now().Add(time.Second)
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	mustExec(ctx, t, conn,
		fmt.Sprintf("CREATE SOURCE dl_in (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', endpoint = '%s', "+
			"region = 'us-east-1', stream = '%s', start_position = 'trim_horizon', dead_letter_stream = '%s')", e.Endpoint(), stream, dlq),
		fmt.Sprintf("CREATE SOURCE dl_out (stream VARCHAR, shard_id VARCHAR, sequence_number VARCHAR, partition_key VARCHAR, "+
			"arrival_time TIMESTAMP(3), error VARCHAR, data BYTES) WITH (connector = 'kinesis', endpoint = '%s', "+
			"region = 'us-east-1', stream = '%s', start_position = 'trim_horizon', on_decode_error = 'fail')", e.Endpoint(), dlq),
		"CREATE MATERIALIZED VIEW dl_totals AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM dl_in GROUP BY user_id",
	)
	if err := boundedFlush(ctx, conn, time.Minute); err != nil {
		t.Fatal(err)
	}
	checkTotals(ctx, t, conn, "dl_totals", "SELECT user_id, n, total FROM dl_totals",
		map[int64]totals{1: {n: 2, total: 3.5}, 2: {n: 1, total: 4}})

	// FLUSH returned after the epoch that skipped the record committed,
	// so its dead letter is in the stream already.
	rows, err := conn.Query(ctx, "SELECT stream, shard_id, sequence_number, partition_key, arrival_time, error, data FROM dl_out")
	if err != nil {
		t.Fatal(err)
	}
	type letter struct {
		stream, shard, seq, key string
		arrival                 time.Time
		err                     string
		data                    []byte
	}
	var got []letter
	for rows.Next() {
		var l letter
		if err := rows.Scan(&l.stream, &l.shard, &l.seq, &l.key, &l.arrival, &l.err, &l.data); err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("dead-letter stream holds %d records, want 1: %+v", len(got), got)
	}
	l := got[0]
	if l.stream != stream || l.shard != at.ShardID || l.seq != at.SequenceNumber || l.key != "bad" || string(l.data) != bad {
		t.Errorf("dead letter %+v, want stream %s shard %s sequence number %s key bad data %s", l, stream, at.ShardID, at.SequenceNumber, bad)
	}
	if !strings.Contains(l.err, "column user_id is BIGINT, the JSON field is a string") {
		t.Errorf("dead letter's error %q does not say what is wrong", l.err)
	}
	if l.arrival.Before(before) || l.arrival.After(after) {
		t.Errorf("dead letter's arrival time %v, want between %v and %v", l.arrival, before, after)
	}
	st := showSourceStatus(ctx, t, conn, "dl_in")[[2]string{"view dl_totals", at.ShardID}]
	if st["dead_letters"] != int64(1) || st["dead_letters_lost"] != int64(0) || st["decode_errors"] != int64(1) {
		t.Errorf("SHOW SOURCE STATUS for the bad record's shard: %v, want decode_errors 1, dead_letters 1, dead_letters_lost 0", st)
	}

	// A dead-letter stream that does not exist stops nothing: the view
	// answers, FLUSH returns, and the record is counted as lost.
	mustExec(ctx, t, conn,
		fmt.Sprintf("CREATE SOURCE dl_nowhere (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', endpoint = '%s', "+
			"region = 'us-east-1', stream = '%s', start_position = 'trim_horizon', dead_letter_stream = 'no-such-stream')", e.Endpoint(), stream),
		"CREATE MATERIALIZED VIEW dl_nowhere_totals AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM dl_nowhere GROUP BY user_id",
	)
	if err := boundedFlush(ctx, conn, time.Minute); err != nil {
		t.Fatal(err)
	}
	checkTotals(ctx, t, conn, "dl_nowhere_totals", "SELECT user_id, n, total FROM dl_nowhere_totals",
		map[int64]totals{1: {n: 2, total: 3.5}, 2: {n: 1, total: 4}})
	st = showSourceStatus(ctx, t, conn, "dl_nowhere")[[2]string{"view dl_nowhere_totals", at.ShardID}]
	if st["dead_letters"] != int64(0) || st["dead_letters_lost"] != int64(1) {
		t.Errorf("SHOW SOURCE STATUS with a missing dead-letter stream: %v, want dead_letters 0, dead_letters_lost 1", st)
	}
}
