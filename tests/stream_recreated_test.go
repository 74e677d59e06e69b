package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestView_StreamRecreated (issue 12, "a stream deleted and recreated"): a
// view over a one-shard stream whose stream is deleted and created again
// with the same name. The positions the view committed name sequence
// numbers of the old stream, which the new one refuses (or, worse, takes
// and reads after, skipping its first records). The view must come back
// by itself, reading the new stream from its start: it keeps what it had
// from the old stream (a view is not truncated because its source's stream
// was recreated) and adds every new record exactly once; its state is
// 'running' again and its shard 'reading'.
//
// Two ways it happens: the reader sees the stream gone and asks for a new
// iterator after its last sequence number, which the new stream refuses;
// or it never sees the stream gone (kinesalite deletes in half a second
// and its iterators name only the stream and a sequence number) and reads
// on with its old iterator.
func TestView_StreamRecreated(t *testing.T) {
	for _, tc := range []struct {
		name     string
		seenGone bool
	}{
		{"reader sees the stream gone", true},
		{"reader does not see the stream gone", false},
	} {
		t.Run(tc.name, func(t *testing.T) { testStreamRecreated(t, tc.seenGone) })
	}
}

func testStreamRecreated(t *testing.T, seenGone bool) {
	ctx := testContext(t, 4*time.Minute)
	e := sharedKinesis.get(t)
	stream := fmt.Sprintf("recreated-%d-%d", time.Now().UnixNano(), streamRuns.Add(1))
	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	c, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	conn := connect(t, srv.Addr)
	mustExec(ctx, t, conn,
		fmt.Sprintf("CREATE SOURCE re_in (user_id BIGINT, amount DOUBLE) WITH (connector = 'kinesis', "+
			"stream = '%s', region = 'us-east-1', endpoint = '%s', start_position = 'trim_horizon')", stream, e.Endpoint()),
		"CREATE MATERIALIZED VIEW re_totals AS SELECT user_id, COUNT(*) AS n, SUM(amount) AS total FROM re_in GROUP BY user_id")

	want := map[int64]totals{}
	add := func(cs []click) {
		for _, c := range cs {
			w := want[c.UserID]
			w.add(c.Amount)
			want[c.UserID] = w
		}
	}
	add(putClicks(ctx, t, e, stream, 0, 50))
	mustExec(ctx, t, conn, "FLUSH")
	checkTotals(ctx, t, conn, "re_totals before the stream is deleted", "SELECT user_id, n, total FROM re_totals", want)

	old, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, func() bool {
		_, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		var nf *ktypes.ResourceNotFoundException
		return errors.As(err, &nf)
	})
	if seenGone {
		// As it would on Kinesis, where deleting takes a while: the reader
		// must then ask for an iterator again.
		waitFor(t, time.Minute, func() bool {
			rows := consumerStatus(ctx, t, conn, "re_in", "view re_totals")
			return len(rows) == 1 && rows[0]["state"] == "retrying"
		})
	}
	// kinesalite's sequence numbers and creation timestamps have whole
	// seconds: a stream created again within the second the old one was
	// created in is the old one to every client (and to us). Kinesis takes
	// far longer than a second to delete a stream.
	created := aws.ToTime(old.StreamDescriptionSummary.StreamCreationTimestamp)
	waitFor(t, 10*time.Second, func() bool { return time.Now().Add(-2*time.Second).Unix() > created.Unix() })
	if err := e.CreateStream(ctx, stream, 1); err != nil {
		t.Fatal(err)
	}
	// Few records, fewer than the old stream had: a reader that resumed
	// after an old sequence number would skip some of them.
	add(putClicks(ctx, t, e, stream, 1000, 5))

	// The readers back off at most 5 s between tries, the view's restarts
	// at most 30 s: two minutes is a bound a stuck view breaks.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := readTotals(ctx, t, conn, "SELECT user_id, n, total FROM re_totals")
		state := showViews(ctx, t, conn, "MATERIALIZED VIEWS")["re_totals"]
		rows := consumerStatus(ctx, t, conn, "re_in", "view re_totals")
		reading := len(rows) == 1 && rows[0]["state"] == "reading"
		if equalTotals(got, want) && state.state == "running" && reading {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the stream was recreated: view state %q (%s), shards %v, totals %v, want %v",
				state.state, state.err, rows, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Nothing more arrives later (a record counted twice would, after a
	// restart from an older commit).
	mustExec(ctx, t, conn, "FLUSH")
	checkTotals(ctx, t, conn, "re_totals after the stream was recreated", "SELECT user_id, n, total FROM re_totals", want)
}

func equalTotals(a, b map[int64]totals) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
