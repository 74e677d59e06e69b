package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	json "github.com/goccy/go-json"

	"github.com/streamsql/streamsql/internal/emulator"
)

// SDKLoopNote says what the bare SDK loop's CPU figures count.
const SDKLoopNote = "CPU, allocations and RSS of this process only (the loop reading kinesalite); " +
	"kinesalite is a separate node process and is not counted"

// SDKLoopContender returns the bare aws-sdk-go-v2 loop: the end-to-end
// contender's stream (o.Shards shards, the same records, keyed the same
// way) read by a plain SDK client, one goroutine per shard, GetShardIterator
// TRIM_HORIZON then GetRecords until the shard is caught up, each record
// decoded with goccy/go-json and added to a map per window, as the
// ceiling does. It is what reading kinesalite costs with nothing but the
// SDK, and so the end-to-end row's ceiling.
func SDKLoopContender(o E2EOptions) Contender {
	o.setDefaults()
	return Contender{
		Name: fmt.Sprintf("bare aws-sdk-go-v2 loop (kinesalite, %d shards)", o.Shards),
		Self: func(ctx context.Context, events [][]byte, q Query) (Outcome, error) {
			return RunSDKLoop(ctx, events, q, o)
		},
	}
}

// RunSDKLoop loads a fresh stream as the end-to-end contender's throughput
// phase does (not measured), then measures the loop described at
// SDKLoopContender.
func RunSDKLoop(ctx context.Context, events [][]byte, q Query, o E2EOptions) (Outcome, error) {
	o.setDefaults()
	if err := checkWholeSeconds(q); err != nil {
		return Outcome{}, err
	}
	emu := o.Emulator
	if emu == nil {
		var err error
		if emu, err = emulator.Start(ctx, emulator.Options{}); err != nil {
			return Outcome{}, fmt.Errorf("sdk loop: %w", err)
		}
		defer emu.Stop()
	}
	// The emulator's client is a plain SDK client: the SDK's own decoding.
	client, err := emu.Client()
	if err != nil {
		return Outcome{}, fmt.Errorf("sdk loop: %w", err)
	}
	// The same records, closing records included (the loop skips them, as
	// the engine's answer does), so both read the same stream.
	stream, load, err := loadClicks(ctx, emu, client, "bench-sdkloop", events, o)
	if err != nil {
		return Outcome{}, fmt.Errorf("sdk loop: %w", err)
	}
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return Outcome{}, fmt.Errorf("sdk loop: list shards of %s: %w", stream, err)
	}

	sizeMs := q.Size.Milliseconds()
	loops := make([]sdkShardLoop, len(shards.Shards))
	u, err := Measure(func() error {
		var wg sync.WaitGroup
		errs := make([]error, len(loops))
		for i, s := range shards.Shards {
			wg.Add(1)
			go func() {
				defer wg.Done()
				loops[i].sizeMs = sizeMs
				errs[i] = loops[i].run(ctx, client, stream, s)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("sdk loop: %w", err)
	}
	// A user's events are all in one shard, so the shards' rows are
	// disjoint: the answer is their union.
	var b answerBuilder
	for i := range loops {
		for start, users := range loops[i].windows {
			for _, a := range users {
				b.add(start+sizeMs, a.n, a.cents)
			}
		}
	}
	return Outcome{Answer: b.a, Usage: u, Load: load, Note: SDKLoopNote}, nil
}

// sdkShardLoop reads one shard into a map per window.
type sdkShardLoop struct {
	sizeMs  int64
	windows map[int64]map[int64]*agg // window start -> user -> aggregate
}

func (l *sdkShardLoop) run(ctx context.Context, client *kinesis.Client, stream string, s ktypes.Shard) error {
	l.windows = map[int64]map[int64]*agg{}
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
		ShardId: s.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		return fmt.Errorf("shard %s: get shard iterator: %w", aws.ToString(s.ShardId), err)
	}
	iter := it.ShardIterator
	for iter != nil {
		out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
		if err != nil {
			return fmt.Errorf("shard %s: get records: %w", aws.ToString(s.ShardId), err)
		}
		for _, r := range out.Records {
			var c click
			if err := json.UnmarshalNoEscape(r.Data, &c); err != nil {
				return fmt.Errorf("shard %s: decoding %q: %w", aws.ToString(s.ShardId), r.Data, err)
			}
			if c.UserID == 0 {
				continue // a closing record
			}
			start := c.Ts - ((c.Ts%l.sizeMs)+l.sizeMs)%l.sizeMs
			w := l.windows[start]
			if w == nil {
				w = map[int64]*agg{}
				l.windows[start] = w
			}
			a := w[c.UserID]
			if a == nil {
				a = &agg{}
				w[c.UserID] = a
			}
			a.n++
			a.cents += int64(math.Round(c.Amount * 100))
		}
		if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
			return nil // caught up: everything was put before the loop began
		}
		iter = out.NextShardIterator
	}
	return nil
}

// PrintSDKLoopRatios says, per key count, how streamsql end to end
// compares with the bare SDK loop per CPU-second (issue 14's goal 3:
// at least equal). Nothing is printed for a run without both rows.
func PrintSDKLoopRatios(w io.Writer, results []Result) error {
	loops := map[int]Result{}
	for _, r := range results {
		if strings.HasPrefix(r.Contender, "bare aws-sdk-go-v2 loop") && r.Correct {
			loops[r.Keys] = r
		}
	}
	for _, r := range results {
		l, ok := loops[r.Keys]
		if !ok || !strings.HasPrefix(r.Contender, "streamsql end-to-end") || !r.Correct || l.EventsPerCPUSecond <= 0 {
			continue
		}
		if _, err := fmt.Fprintf(w, "%d keys: streamsql end to end reads %.2fx the events per CPU-second of the bare aws-sdk-go-v2 loop (%.1fk against %.1fk).\n",
			r.Keys, r.EventsPerCPUSecond/l.EventsPerCPUSecond, r.EventsPerCPUSecond/1000, l.EventsPerCPUSecond/1000); err != nil {
			return err
		}
	}
	return nil
}
