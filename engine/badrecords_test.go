package engine

import (
	"context"
	"testing"
	"time"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/sql/types"
)

// The log about skipped records: the first skip logs at once, then at
// most one line per badRecordLogEvery, each with the skips since the last.
func TestBadRecordLog_Skip(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var l badRecordLog
	for i, step := range []struct {
		at      time.Duration
		wantN   int64
		wantLog bool
	}{
		{0, 1, true},
		{time.Second, 0, false},
		{2 * time.Second, 0, false},
		{badRecordLogEvery - time.Millisecond, 0, false},
		{badRecordLogEvery, 4, true}, // the three held back and this one
		{badRecordLogEvery + time.Second, 0, false},
		{3 * badRecordLogEvery, 2, true},
	} {
		n, ok := l.skip(t0.Add(step.at))
		if n != step.wantN || ok != step.wantLog {
			t.Errorf("step %d at %v: (%d, %v), want (%d, %v)", i, step.at, n, ok, step.wantN, step.wantLog)
		}
	}
}

// BenchmarkRecordDecoder: a good record through recordDecoder.decode (what
// every consumer calls) against format.Decoder.Decode alone, as consumers
// called it before: the policy around decoding costs nothing on good
// records.
func BenchmarkRecordDecoder(b *testing.B) {
	cols := []types.Column{{Name: "user_id", Type: types.TypeBigInt}, {Name: "url", Type: types.TypeText},
		{Name: "amount", Type: types.TypeDouble}}
	rec := kinesis.Record{ShardID: "shardId-000000000000", SequenceNumber: "49680907203858922692153131717769077021129603559366590482",
		PartitionKey: "7", ApproximateArrivalTimestamp: time.Unix(1, 0),
		Data: []byte(`{"user_id": 7, "url": "/checkout?item=42", "amount": 19.99}`)}
	dec, err := format.NewDecoder(format.Options{Format: format.JSON, Columns: cols})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("format.Decode", func(b *testing.B) {
		b.ReportAllocs()
		var meta format.Meta
		for b.Loop() {
			meta = format.Meta{PartitionKey: rec.PartitionKey, SequenceNumber: rec.SequenceNumber,
				ShardID: rec.ShardID, ArrivalTime: rec.ApproximateArrivalTimestamp}
			if _, err := dec.Decode(rec.Data, &meta, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recordDecoder.decode", func(b *testing.B) {
		d := &recordDecoder{dec: dec}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := d.decode(ctx, &rec); !ok || err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDeadLetters_DroppedWithSource: dropping a source stops its dead-letter
// writer (no goroutine or client left until the engine closes) and forgets
// it, so a source created again under the name gets a writer of its own.
func TestDeadLetters_DroppedWithSource(t *testing.T) {
	eng := openTest(t, t.TempDir())
	ctx := context.Background()
	const create = "CREATE SOURCE dl (a BIGINT) WITH (connector = 'kinesis', stream = 's', region = 'us-east-1', " +
		"endpoint = 'http://127.0.0.1:9', validate = false, dead_letter_stream = 'dead')"
	if err := eng.Exec(ctx, create); err != nil {
		t.Fatal(err)
	}
	obj, ok := eng.catalog.get("dl")
	if !ok {
		t.Fatal("source dl not in the catalog")
	}
	d := eng.sources.deadLetters(obj)
	if d == nil {
		t.Fatal("no dead-letter writer for a source with dead_letter_stream")
	}
	if err := eng.Exec(ctx, "DROP SOURCE dl"); err != nil {
		t.Fatal(err)
	}
	if d.ctx.Err() == nil {
		t.Error("the dropped source's dead-letter writer is still running")
	}
	if err := eng.Exec(ctx, create); err != nil {
		t.Fatal(err)
	}
	obj, _ = eng.catalog.get("dl")
	if again := eng.sources.deadLetters(obj); again == d || again.ctx.Err() != nil {
		t.Error("the source created again got the dropped one's writer")
	}
}
