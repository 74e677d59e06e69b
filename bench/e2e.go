package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	json "github.com/goccy/go-json"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/internal/emulator"
)

// E2EOptions configure the end-to-end contender.
type E2EOptions struct {
	// Shards of each stream; default 4.
	Shards int
	// PutBatch is how many records go into one PutRecords call while
	// loading the stream; default (and Kinesis's maximum) 500.
	PutBatch int
	// CheckpointInterval is the engine's Config.CheckpointInterval in both
	// phases; default streamsql.DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// CheckpointMinInterval is the engine's Config.CheckpointMinInterval
	// (0: its default; negative: none), so that a run can cut epochs on
	// the interval only (at or above CheckpointInterval) for comparison.
	CheckpointMinInterval time.Duration
	// LatencyRate is the steady rate, records per second, at which the
	// latency phase produces; default 2,000, well below what kinesalite
	// accepts (10,000 to 20,000 records/s on 2 cores).
	LatencyRate int
	// LatencyEvents is how many events (the first ones of the scenario)
	// the latency phase produces; default 15 seconds' worth (Nexmark: 11
	// seconds' worth of bids, per query). Negative skips the phase.
	LatencyEvents int
	// LatencyTick is the pause between the latency phase's PutRecords
	// calls; default 100ms, so each call carries LatencyRate/10 records.
	LatencyTick time.Duration
	// MemoryLimit is the engine's Config.MemoryLimit; 0 is its default.
	MemoryLimit int64
	// Emulator, when set, is used instead of starting kinesalite.
	Emulator *emulator.Emulator
}

func (o *E2EOptions) setDefaults() {
	if o.Shards <= 0 {
		o.Shards = 4
	}
	if o.PutBatch <= 0 || o.PutBatch > 500 {
		o.PutBatch = 500
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = streamsql.DefaultCheckpointInterval
	}
	if o.LatencyRate <= 0 {
		o.LatencyRate = 2000
	}
	if o.LatencyEvents == 0 {
		o.LatencyEvents = 15 * o.LatencyRate
	}
	if o.LatencyTick <= 0 {
		o.LatencyTick = 100 * time.Millisecond
	}
}

// E2ENote says what the end-to-end row's CPU figures count.
const E2ENote = "CPU, allocations and RSS of this process only (the engine reading kinesalite and " +
	"maintaining the view); kinesalite is a separate node process and is not counted"

// E2EContender returns the end-to-end contender: the events go through
// kinesalite (started on loopback, a stream of o.Shards shards, loaded
// with PutRecords of o.PutBatch records keyed by user_id) into
// streamsql's Kinesis source and a materialized view of the scenario's
// query, through the embedding API only.
//
// Two phases, each on a fresh stream and a fresh engine:
//
//  1. Throughput: the whole stream is loaded first (not measured), then
//     the view is created and FLUSH waits until it has read and committed
//     everything. Only CREATE MATERIALIZED VIEW to FLUSH is measured.
//     The view is the scenario's EMIT ON WINDOW CLOSE query; one record
//     per shard far ahead in event time closes every window (the watermark
//     is the minimum over shards), and the view's rows, less those, must
//     add up to the ceiling's answer.
//  2. Latency: the first LatencyEvents events are produced at LatencyRate
//     records/s while SUBSCRIBE follows the view. Here the view is the
//     same query without EMIT ON WINDOW CLOSE, so that each event shows
//     as its (user, window) row's new count: an event is visible once
//     its row's count in a committed epoch reaches the event's ordinal
//     among that row's events (all events of a user are in one shard, in
//     order). Latency is from the PutRecords acknowledgement to the
//     arrival of that row in SUBSCRIBE, so it includes the source's
//     polling and the checkpoint interval. The first second's events
//     are a warm-up, committed before SUBSCRIBE starts, and not timed.
//     The view's final rows must add up to the ceiling's answer on all
//     of the phase's events.
func E2EContender(o E2EOptions) Contender {
	o.setDefaults()
	return Contender{
		Name: fmt.Sprintf("streamsql end-to-end (kinesalite, %d shards)", o.Shards),
		Self: func(ctx context.Context, events [][]byte, q Query) (Outcome, error) {
			return RunE2E(ctx, events, q, o)
		},
	}
}

// e2eRuns numbers the streams made in one process, so that two runs on
// one emulator never share a stream.
var (
	e2eRunsMu sync.Mutex
	e2eRuns   int
)

func nextStream(prefix string) string {
	e2eRunsMu.Lock()
	defer e2eRunsMu.Unlock()
	e2eRuns++
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), e2eRuns)
}

// RunE2E runs both phases described at E2EContender.
func RunE2E(ctx context.Context, events [][]byte, q Query, o E2EOptions) (Outcome, error) {
	o.setDefaults()
	emu := o.Emulator
	if emu == nil {
		var err error
		if emu, err = emulator.Start(ctx, emulator.Options{}); err != nil {
			return Outcome{}, fmt.Errorf("e2e: %w", err)
		}
		defer emu.Stop()
	}
	client, err := emu.Client()
	if err != nil {
		return Outcome{}, fmt.Errorf("e2e: %w", err)
	}
	out, err := e2eThroughput(ctx, emu, client, events, q, o)
	if err != nil {
		return out, err
	}
	if o.LatencyEvents > 0 {
		n := min(o.LatencyEvents, len(events))
		lat, err := e2eLatency(ctx, emu, client, events[:n], q, o)
		if err != nil {
			return out, err
		}
		out.Latency = lat
	}
	return out, nil
}

// LoadRun describes the loading of the throughput phase's stream.
type LoadRun struct {
	Records       int     `json:"records"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"records_per_second"`
	RecordsPerPut int     `json:"records_per_put"`
	Shards        int     `json:"shards"`
}

func sourceSQL(name, stream, endpoint string, q Query) string {
	return fmt.Sprintf("CREATE SOURCE %s (user_id BIGINT, amount DOUBLE, ts TIMESTAMP(3), "+
		"WATERMARK FOR ts AS ts - INTERVAL '%d' SECOND) WITH (connector = 'kinesis', stream = '%s', "+
		"region = '%s', endpoint = '%s', format = 'json', start_position = 'trim_horizon')",
		name, int64(q.Delay/time.Second), stream, emulator.Region, endpoint)
}

func viewSQL(name, source string, q Query, onClose bool) string {
	s := fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS SELECT user_id, window_start, window_end, "+
		"COUNT(*) AS n, SUM(amount) AS total FROM TUMBLE(%s, ts, INTERVAL '%d' SECOND) "+
		"GROUP BY user_id, window_start, window_end", name, source, int64(q.Size/time.Second))
	if onClose {
		s += " EMIT ON WINDOW CLOSE"
	}
	return s
}

func checkWholeSeconds(q Query) error {
	if q.Size%time.Second != 0 || q.Delay%time.Second != 0 || q.Size <= 0 {
		return fmt.Errorf("e2e: window %v and delay %v must be whole seconds", q.Size, q.Delay)
	}
	return nil
}

func openEngine(ctx context.Context, o E2EOptions) (*streamsql.Engine, func(), error) {
	dir, err := os.MkdirTemp("", "streamsql-bench-e2e-")
	if err != nil {
		return nil, nil, fmt.Errorf("e2e: %w", err)
	}
	e, err := streamsql.Open(ctx, streamsql.Config{DataDir: dir, CheckpointInterval: o.CheckpointInterval,
		CheckpointMinInterval: o.CheckpointMinInterval, MemoryLimit: o.MemoryLimit, Logger: quietLogger()})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("e2e: open engine: %w", err)
	}
	return e, func() { _ = e.Close(); _ = os.RemoveAll(dir) }, nil
}

// loadClicks creates a fresh stream (named from prefix) and puts the events
// into it keyed by user, then the records that close every window; it
// returns the stream and how the loading went (not measured).
func loadClicks(ctx context.Context, emu *emulator.Emulator, client *kinesis.Client, prefix string, events [][]byte, o E2EOptions) (string, *LoadRun, error) {
	stream := nextStream(prefix)
	if err := emu.CreateStream(ctx, stream, o.Shards); err != nil {
		return "", nil, err
	}
	recs, err := keyedRecords(events)
	if err != nil {
		return "", nil, err
	}
	start := time.Now()
	// One call at a time: concurrent calls could put a shard's records out
	// of event-time order, and then the source would rightly drop some as
	// late.
	for i := 0; i < len(recs); i += o.PutBatch {
		if _, err := emulator.PutRecords(ctx, client, stream, recs[i:min(i+o.PutBatch, len(recs))]); err != nil {
			return "", nil, fmt.Errorf("load %s: %w", stream, err)
		}
	}
	load := &LoadRun{Records: len(recs), Seconds: time.Since(start).Seconds(), RecordsPerPut: o.PutBatch, Shards: o.Shards}
	load.PerSecond = float64(load.Records) / load.Seconds
	if err := closeEveryWindow(ctx, client, stream, events); err != nil {
		return "", nil, err
	}
	return stream, load, nil
}

func e2eThroughput(ctx context.Context, emu *emulator.Emulator, client *kinesis.Client, events [][]byte, q Query, o E2EOptions) (Outcome, error) {
	if err := checkWholeSeconds(q); err != nil {
		return Outcome{}, err
	}
	stream, load, err := loadClicks(ctx, emu, client, "bench-tumble", events, o)
	if err != nil {
		return Outcome{}, fmt.Errorf("e2e: %w", err)
	}

	e, done, err := openEngine(ctx, o)
	if err != nil {
		return Outcome{}, err
	}
	defer done()
	if err := e.Exec(ctx, sourceSQL("clicks", stream, emu.Endpoint(), q)); err != nil {
		return Outcome{}, fmt.Errorf("e2e: %w", err)
	}
	u, err := Measure(func() error {
		if err := e.Exec(ctx, viewSQL("per_user", "clicks", q, true)); err != nil {
			return err
		}
		return e.Exec(ctx, "FLUSH")
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("e2e: %w", err)
	}
	ans, err := viewAnswer(ctx, e, "per_user")
	return Outcome{Answer: ans, Usage: u, Load: load, Note: E2ENote}, err
}

// keyedRecords makes each event a record keyed by its user_id, so that a
// user's events stay in one shard, in order.
func keyedRecords(events [][]byte) ([]emulator.Record, error) {
	recs := make([]emulator.Record, len(events))
	for i, ev := range events {
		user, err := userOf(ev)
		if err != nil {
			return nil, err
		}
		recs[i] = emulator.Record{PartitionKey: strconv.FormatInt(user, 10), Data: ev}
	}
	return recs, nil
}

// userOf reads the user_id of a generated event, which always comes first.
func userOf(ev []byte) (int64, error) {
	const prefix = `{"user_id":`
	if len(ev) <= len(prefix) || string(ev[:len(prefix)]) != prefix {
		return 0, fmt.Errorf("e2e: event %q does not start with user_id", ev)
	}
	end := len(prefix)
	for end < len(ev) && ev[end] >= '0' && ev[end] <= '9' {
		end++
	}
	return strconv.ParseInt(string(ev[len(prefix):end]), 10, 64)
}

// closeEveryWindow puts one record per shard, of user 0, an hour after
// the last event: every shard's watermark then passes every window of the
// scenario (the source's watermark is the least of its shards').
func closeEveryWindow(ctx context.Context, client *kinesis.Client, stream string, events [][]byte) error {
	var maxTs int64
	for _, ev := range events {
		var c click
		if err := json.Unmarshal(ev, &c); err != nil {
			return fmt.Errorf("e2e: %w", err)
		}
		maxTs = max(maxTs, c.Ts)
	}
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return fmt.Errorf("e2e: list shards of %s: %w", stream, err)
	}
	data := []byte(`{"user_id":0,"amount":0.00,"ts":` + strconv.FormatInt(maxTs+3_600_000, 10) + `}`)
	entries := make([]ktypes.PutRecordsRequestEntry, 0, len(shards.Shards))
	for _, s := range shards.Shards {
		h, ok := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		if !ok {
			return fmt.Errorf("e2e: shard %s: hash key %q", aws.ToString(s.ShardId), aws.ToString(s.HashKeyRange.StartingHashKey))
		}
		entries = append(entries, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String("0"), ExplicitHashKey: aws.String(h.String()), Data: data})
	}
	out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil {
		return fmt.Errorf("e2e: put the closing records: %w", err)
	}
	if n := aws.ToInt32(out.FailedRecordCount); n > 0 {
		return fmt.Errorf("e2e: %d closing records failed", n)
	}
	return nil
}

// viewAnswer adds up a view's rows of real users (user 0 closes windows).
func viewAnswer(ctx context.Context, e *streamsql.Engine, view string) (Answer, error) {
	rows, err := e.Query(ctx, "SELECT window_end, n, total FROM "+view+" WHERE user_id > 0")
	if err != nil {
		return Answer{}, fmt.Errorf("e2e: read %s: %w", view, err)
	}
	defer rows.Close()
	var b answerBuilder
	for rows.Next() {
		r := rows.Row()
		b.add(r[0].Micros()/1000, r[1].Int(), int64(math.Round(r[2].Float()*100)))
	}
	if err := rows.Err(); err != nil {
		return Answer{}, fmt.Errorf("e2e: read %s: %w", view, err)
	}
	return b.a, nil
}

// e2eLatency is the tumbling scenario's latency phase: the view is the
// scenario's query without EMIT ON WINDOW CLOSE, and each event shows as
// its (user, window) row's new count. A user's records share a shard, in
// order, so a row's count reaching an event's ordinal among the row's
// events means that event is in it.
func e2eLatency(ctx context.Context, emu *emulator.Emulator, client *kinesis.Client, events [][]byte, q Query, o E2EOptions) (*LatencyRun, error) {
	if err := checkWholeSeconds(q); err != nil {
		return nil, err
	}
	want, err := RunCeiling(events, q)
	if err != nil {
		return nil, err
	}
	sizeMs := q.Size.Milliseconds()
	keys := make([]string, len(events))
	for i, ev := range events {
		var c click
		if err := json.Unmarshal(ev, &c); err != nil {
			return nil, fmt.Errorf("e2e: %w", err)
		}
		start := c.Ts - ((c.Ts%sizeMs)+sizeMs)%sizeMs
		keys[i] = strconv.FormatInt(c.UserID, 10) + "|" + tsText(start*1000)
	}
	recs, err := keyedRecords(events)
	if err != nil {
		return nil, err
	}
	return runLatency(ctx, emu, client, latencyPhase{
		prefix: "bench-latency",
		recs:   recs,
		source: func(stream, endpoint string) string { return sourceSQL("live", stream, endpoint, q) },
		name:   "per_user_live",
		view:   viewSQL("per_user_live", "live", q, false),
		vis:    &visibility{cols: []string{"user_id", "window_start"}, count: "n", keys: keys},
		check: func(ctx context.Context, e *streamsql.Engine) error {
			got, err := viewAnswer(ctx, e, "per_user_live")
			if err != nil {
				return err
			}
			if d := got.Diff(want); d != "" {
				return fmt.Errorf("e2e: the updating view over the latency phase's %d events: %s", len(events), d)
			}
			return nil
		},
		keyedBy: "user_id",
		visible: "its (user, window) row's count reaches the event's ordinal in that row",
	}, o)
}

// percentile of sorted xs, nearest rank.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
