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
// fails a one-off SELECT and a view's FLUSH at once, with an error naming
// the source, stream, shard, sequence number and cause, instead of
// hanging while the other shard's reader goes on.
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
			conn := connect(t, srv.Addr)
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
			err = boundedQuery(ctx, 30*time.Second, func(ctx context.Context) error {
				_, err := conn.Exec(ctx, "FLUSH")
				return err
			})
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("FLUSH: %v", err)
			}
			if err == nil {
				t.Fatal("FLUSH succeeded over a view whose source holds a record that does not decode under 'fail'")
			}
			for _, p := range names {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("FLUSH error %q does not name %q", err, p)
				}
			}
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

var _ = pgx.ErrNoRows
