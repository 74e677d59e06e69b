package kinesis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// lockedBuffer is a log destination safe for the goroutines of a source
// or a sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// recreatedAPI is a one-shard stream created again under a reader: it
// refuses refused(in) for GetShardIterator and then serves records from
// TRIM_HORIZON.
func recreatedAPI(iterReqs *[]string, refuse func(*kinesis.GetShardIteratorInput) error, seqs ...string) *fakeAPI {
	var mu sync.Mutex
	return &fakeAPI{
		listShards: func(*kinesis.ListShardsInput) (*kinesis.ListShardsOutput, error) {
			return &kinesis.ListShardsOutput{Shards: []ktypes.Shard{{ShardId: aws.String("shard-0")}}}, nil
		},
		getShardIterator: func(in *kinesis.GetShardIteratorInput) (*kinesis.GetShardIteratorOutput, error) {
			mu.Lock()
			*iterReqs = append(*iterReqs, strings.TrimSpace(fmt.Sprintf("%s %s", in.ShardIteratorType, aws.ToString(in.StartingSequenceNumber))))
			mu.Unlock()
			if err := refuse(in); err != nil {
				return nil, err
			}
			return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(string(in.ShardIteratorType))}, nil
		},
		getRecords: func(in *kinesis.GetRecordsInput) (*kinesis.GetRecordsOutput, error) {
			out := &kinesis.GetRecordsOutput{NextShardIterator: aws.String("done"), MillisBehindLatest: aws.Int64(0)}
			if aws.ToString(in.ShardIterator) == string(ktypes.ShardIteratorTypeTrimHorizon) {
				for _, s := range seqs {
					out.Records = append(out.Records, ktypes.Record{SequenceNumber: aws.String(s), PartitionKey: aws.String("p"),
						Data: []byte(s), ApproximateArrivalTimestamp: aws.Time(time.Unix(1, 0))})
				}
			}
			return out, nil
		},
	}
}

// notFromThisStream is Kinesis's answer to a sequence number of a stream
// deleted since (kinesalite's wording is the same).
func notFromThisStream(in *kinesis.GetShardIteratorInput) error {
	if in.StartingSequenceNumber == nil {
		return nil
	}
	return &smithy.GenericAPIError{Code: "InvalidArgumentException", Message: "StartingSequenceNumber " +
		aws.ToString(in.StartingSequenceNumber) + " used in GetShardIterator on shard shard-0 in stream s under account 0 " +
		"is invalid because it did not come from this stream."}
}

// TestReader_RecreatedStream: a committed sequence number that
// GetShardIterator refuses as not belonging to the shard means the stream
// was created again; the reader reads the new shard from TRIM_HORIZON and
// says so once. Any other InvalidArgumentException still fails the reader.
func TestReader_RecreatedStream(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pos      ShardPosition
		refuse   func(*kinesis.GetShardIteratorInput) error
		wantReqs string
		wantErr  string // "" : a restarted batch of records 1 and 2
	}{
		{name: "after a sequence number of the old stream", pos: ShardPosition{ShardID: "shard-0", SequenceNumber: "900"},
			refuse: notFromThisStream, wantReqs: "AFTER_SEQUENCE_NUMBER 900,TRIM_HORIZON"},
		{name: "a sequence number encoding another shard", pos: ShardPosition{ShardID: "shard-0", SequenceNumber: "900"},
			refuse: func(in *kinesis.GetShardIteratorInput) error {
				if in.StartingSequenceNumber == nil {
					return nil
				}
				return &smithy.GenericAPIError{Code: "InvalidArgumentException",
					Message: "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard with shardId-000000000000"}
			},
			wantReqs: "AFTER_SEQUENCE_NUMBER 900,TRIM_HORIZON"},
		{name: "another invalid argument", pos: ShardPosition{ShardID: "shard-0", SequenceNumber: "900"},
			refuse: func(*kinesis.GetShardIteratorInput) error {
				return &smithy.GenericAPIError{Code: "InvalidArgumentException", Message: "1 validation error detected: Value at 'shardId'"}
			},
			wantReqs: "AFTER_SEQUENCE_NUMBER 900", wantErr: "validation error"},
		{name: "a sequence number complaint without one", pos: ShardPosition{ShardID: "shard-0"},
			refuse: func(*kinesis.GetShardIteratorInput) error {
				return &smithy.GenericAPIError{Code: "InvalidArgumentException", Message: "Must either specify StartingSequenceNumber or TRIM_HORIZON"}
			},
			wantReqs: "TRIM_HORIZON", wantErr: "Must either specify"},
		{name: "the same message under another code", pos: ShardPosition{ShardID: "shard-0", SequenceNumber: "900"},
			refuse: func(in *kinesis.GetShardIteratorInput) error {
				return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "StartingSequenceNumber is not yours"}
			},
			wantReqs: "AFTER_SEQUENCE_NUMBER 900", wantErr: "AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reqs []string
			logs := &lockedBuffer{}
			opts := SourceOptions{Stream: "s", StartPosition: StartTrimHorizon, Logger: slog.New(slog.NewTextHandler(logs, nil))}
			r, err := NewReader(recreatedAPI(&reqs, tc.refuse, "1", "2"), opts, tc.pos)
			if err != nil {
				t.Fatal(err)
			}
			b, err := r.PollOnce(context.Background())
			if got := strings.Join(reqs, ","); got != tc.wantReqs {
				t.Errorf("GetShardIterator calls: %s, want %s", got, tc.wantReqs)
			}
			if tc.wantErr != "" {
				var pe *pollError
				if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("PollOnce: %v, want a final error with %q", err, tc.wantErr)
				}
				if strings.Contains(logs.String(), "created again") {
					t.Errorf("logged a recreated stream:\n%s", logs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !b.Restarted || len(b.Records) != 2 || b.Records[0].SequenceNumber != "1" || b.Records[1].SequenceNumber != "2" {
				t.Errorf("batch: restarted=%v records=%v, want a restarted batch of 1 and 2", b.Restarted, b.Records)
			}
			if seq, _ := r.lastDelivered(); seq != "2" {
				t.Errorf("last delivered %q, want 2", seq)
			}
			log := logs.String()
			if n := strings.Count(log, "level=WARN"); n != 1 || !strings.Contains(log, "stream=s") ||
				!strings.Contains(log, "shard=shard-0") || !strings.Contains(log, "old_sequence_number=900") {
				t.Errorf("want one WARN naming the stream, shard and old sequence number, got:\n%s", log)
			}
			if st := r.Stats(); st.Retries != 1 {
				t.Errorf("retries %d, want 1", st.Retries)
			}
			// The next poll is an ordinary one.
			if b, err := r.PollOnce(context.Background()); err != nil || b.Restarted {
				t.Errorf("next poll: %v, restarted=%v", err, b != nil && b.Restarted)
			}
		})
	}
}

// TestSource_RecreatedStreamPositions: a source restored from positions of
// the old stream, whose sequence numbers are larger than the new stream's,
// delivers every record of the new stream to its subscriber (none is
// taken for one it already has), and the positions a barrier then commits
// resume on the new stream: after its last record, or from TRIM_HORIZON
// when it had none yet.
func TestSource_RecreatedStreamPositions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seqs    []string
		wantSeq string
	}{
		{"records on the new stream", []string{"1", "2"}, "2"},
		{"an empty new stream", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := NewPositions()
			restore.shards["shard-0"] = &ShardPosition{ShardID: "shard-0", SequenceNumber: "900", SubSequence: 3,
				Start: startAtTimestamp, StartTimestamp: time.Unix(5, 0)}
			var reqs []string
			opts := fastOptions("s", StartTrimHorizon)
			opts.Logger = slog.New(slog.NewTextHandler(&lockedBuffer{}, nil))
			src, err := NewSource(recreatedAPI(&reqs, notFromThisStream, tc.seqs...), opts, restore)
			if err != nil {
				t.Fatal(err)
			}
			sub := src.Subscribe(16)
			stop := runSource(t, src)
			defer stop()
			var got []string
			deadline := time.After(10 * time.Second)
			for restarted := false; !restarted; {
				select {
				case ev := <-sub.Events():
					if b, ok := ev.(*Batch); ok {
						restarted = b.Restarted
						for _, r := range b.Records {
							got = append(got, r.SequenceNumber)
						}
					}
				case <-deadline:
					t.Fatal("no restarted batch within 10 s")
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.seqs, ",") {
				t.Errorf("delivered %v, want %v", got, tc.seqs)
			}
			pos, err := sub.Barrier(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := pos.Shard("shard-0")
			if p.SequenceNumber != tc.wantSeq || p.SubSequence != 0 || p.Start != startTrimHorizon || !p.StartTimestamp.IsZero() {
				t.Errorf("committed position %+v, want sequence %q from TRIM_HORIZON", p, tc.wantSeq)
			}
		})
	}
}

// TestSubscription_PushRestarted: the first batch of a recreated stream
// replaces the position of a subscription that stood where its feeder
// did, and delivers all of it; one that was ahead of its feeder (its
// backfill read the new stream already) filters it as any other batch.
func TestSubscription_PushRestarted(t *testing.T) {
	oldPos := ShardPosition{ShardID: "shard-0", SequenceNumber: "900", SubSequence: 3}
	newPos := func(seq string) ShardPosition {
		return ShardPosition{ShardID: "shard-0", SequenceNumber: seq, Start: startTrimHorizon}
	}
	for _, tc := range []struct {
		name          string
		cur, before   ShardPosition
		restarted     bool
		seqs          []string
		after         ShardPosition
		want, wantPos string
	}{
		{"where the feeder stood", oldPos, oldPos, true, []string{"1", "2"}, newPos("2"), "1,2", "2"},
		{"where the feeder stood, nothing new yet", oldPos, oldPos, true, nil, newPos(""), "", ""},
		{"ahead on the new stream", newPos("2"), oldPos, true, []string{"1", "2", "3"}, newPos("3"), "3", "3"},
		{"an ordinary batch", newPos("2"), newPos("1"), false, []string{"2", "3"}, newPos("3"), "3", "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := newSubscription(nil, 4)
			cur := tc.cur
			sub.pos.shards["shard-0"] = &cur
			b := &Batch{ShardID: "shard-0", Restarted: tc.restarted}
			for _, s := range tc.seqs {
				b.Records = append(b.Records, Record{ShardID: "shard-0", SequenceNumber: s})
			}
			if err := sub.push(context.Background(), b, tc.before, tc.after); err != nil {
				t.Fatal(err)
			}
			got := (<-sub.Events()).(*Batch)
			var seqs []string
			for _, r := range got.Records {
				seqs = append(seqs, r.SequenceNumber)
			}
			if strings.Join(seqs, ",") != tc.want {
				t.Errorf("delivered %v, want %s", seqs, tc.want)
			}
			if p := sub.pos.shards["shard-0"]; p.SequenceNumber != tc.wantPos || p.Start != startTrimHorizon {
				t.Errorf("position %+v, want %q from TRIM_HORIZON", *p, tc.wantPos)
			}
		})
	}
}
