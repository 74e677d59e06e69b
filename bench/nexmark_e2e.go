package bench

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	json "github.com/goccy/go-json"

	"github.com/streamsql/streamsql/internal/emulator"
)

// nexmarkE2E is the end-to-end mode of the Nexmark scenario: the bids are
// generated here, encoded as JSON and put into one kinesalite stream once
// (not measured); each query then runs on a fresh engine whose Kinesis
// source reads that stream from its start.
type nexmarkE2E struct {
	o      NexmarkOptions
	emu    *emulator.Emulator
	owned  bool
	stream string
	load   *LoadRun
	bids   int64
	want   map[string]*nexAcc
	keep   bool
}

// bidJSON is a bid as a Kinesis record carries it; date_time in epoch ms.
type bidJSON struct {
	Auction  int64  `json:"auction"`
	Bidder   int64  `json:"bidder"`
	Price    int64  `json:"price"`
	Channel  string `json:"channel"`
	URL      string `json:"url"`
	DateTime int64  `json:"date_time"`
	Extra    string `json:"extra"`
}

func newNexmarkE2E(ctx context.Context, o NexmarkOptions, qs []NexmarkQuery, keep bool) (*nexmarkE2E, error) {
	eo := *o.E2E
	eo.setDefaults()
	x := &nexmarkE2E{o: o, emu: eo.Emulator, keep: keep}
	x.o.E2E = &eo
	if x.emu == nil {
		var err error
		if x.emu, err = emulator.Start(ctx, emulator.Options{}); err != nil {
			return nil, fmt.Errorf("nexmark e2e: %w", err)
		}
		x.owned = true
	}
	ok := false
	defer func() {
		if !ok {
			x.stop()
		}
	}()
	client, err := x.emu.Client()
	if err != nil {
		return nil, fmt.Errorf("nexmark e2e: %w", err)
	}
	x.stream = nextStream("bench-nexmark")
	if err := x.emu.CreateStream(ctx, x.stream, eo.Shards); err != nil {
		return nil, fmt.Errorf("nexmark e2e: %w", err)
	}
	// Keyed by auction; one PutRecords at a time, in generation order, so
	// that each shard holds its bids in event-time order.
	var recs []emulator.Record
	var rows []bidRow
	var maxTs int64
	var encErr error
	if err := nexmarkRows(ctx, o, func(b *bidRow) {
		data, err := json.Marshal(bidJSON{b.auction, b.bidder, b.price, b.channel, b.url, b.ts / 1000, b.extra})
		if err != nil {
			encErr = err
			return
		}
		recs = append(recs, emulator.Record{PartitionKey: strconv.FormatInt(b.auction, 10), Data: data})
		rows = append(rows, *b)
		maxTs = max(maxTs, b.ts)
	}); err != nil {
		return nil, err
	}
	if encErr != nil {
		return nil, fmt.Errorf("nexmark e2e: encode a bid: %w", encErr)
	}
	start := time.Now()
	for i := 0; i < len(recs); i += eo.PutBatch {
		if _, err := emulator.PutRecords(ctx, client, x.stream, recs[i:min(i+eo.PutBatch, len(recs))]); err != nil {
			return nil, fmt.Errorf("nexmark e2e: load: %w", err)
		}
	}
	x.load = &LoadRun{Records: len(recs), Seconds: time.Since(start).Seconds(), RecordsPerPut: eo.PutBatch, Shards: eo.Shards}
	x.load.PerSecond = float64(x.load.Records) / x.load.Seconds
	closing, err := x.closeWindows(ctx, client, maxTs+time.Hour.Microseconds())
	if err != nil {
		return nil, err
	}
	// The closing records are rows of the stream like any other: the
	// answers count them.
	rows = append(rows, closing...)
	x.want, x.bids, err = nexmarkWant(qs, func(fn func(*bidRow)) error {
		for i := range rows {
			fn(&rows[i])
		}
		return nil
	}, keep)
	if err != nil {
		return nil, err
	}
	ok = true
	return x, nil
}

// closeWindows puts one bid per shard (auction 0, bidder 0, price 0) at
// event time ts: the source's watermark is the least of its shards', so
// this moves it to ts less the delay, past every window of the run.
func (x *nexmarkE2E) closeWindows(ctx context.Context, client *kinesis.Client, ts int64) ([]bidRow, error) {
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(x.stream)})
	if err != nil {
		return nil, fmt.Errorf("nexmark e2e: list shards of %s: %w", x.stream, err)
	}
	b := bidRow{ts: ts / 1000 * 1000}
	data, err := json.Marshal(bidJSON{DateTime: b.ts / 1000})
	if err != nil {
		return nil, err
	}
	var rows []bidRow
	for _, s := range shards.Shards {
		h, ok := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		if !ok {
			return nil, fmt.Errorf("nexmark e2e: shard %s: hash key %q", aws.ToString(s.ShardId), aws.ToString(s.HashKeyRange.StartingHashKey))
		}
		_, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(x.stream), PartitionKey: aws.String("0"),
			ExplicitHashKey: aws.String(h.String()), Data: data})
		if err != nil {
			return nil, fmt.Errorf("nexmark e2e: put the closing records: %w", err)
		}
		rows = append(rows, b)
	}
	return rows, nil
}

func (x *nexmarkE2E) stop() {
	if x.owned && x.emu != nil {
		_ = x.emu.Stop()
	}
}

func (x *nexmarkE2E) sourceSQL() string {
	return fmt.Sprintf("CREATE SOURCE bid (%s) WITH (connector = 'kinesis', stream = '%s', region = '%s', endpoint = '%s', "+
		"format = 'json', start_position = 'trim_horizon')", bidSourceColumns, x.stream, emulator.Region, x.emu.Endpoint())
}

// run measures q's view over the loaded stream on a fresh engine.
func (x *nexmarkE2E) run(ctx context.Context, q NexmarkQuery) NexmarkResult {
	r := NexmarkResult{Query: q.Name, Mode: "e2e", Note: q.Note, View: q.View, Events: x.o.Events, Bids: x.bids, Want: x.want[q.Name].a, Load: x.load}
	o := x.o
	got, u, err := runNexmarkView(ctx, o, q, x.sourceSQL(), x.want[q.Name], o.E2E.CheckpointInterval)
	r.finish(got, x.want[q.Name], u, err)
	return r
}
