package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	json "github.com/goccy/go-json"

	"github.com/streamsql/streamsql"
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
	client *kinesis.Client
	// lat holds the latency phase's bids (the first ones of a generator
	// paced at the phase's rate), shared by every query.
	lat []bidRow
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
	if eo.LatencyEvents == 0 {
		// A second of warm-up, then ten timed, per query.
		eo.LatencyEvents = 11 * cmp.Or(max(eo.LatencyRate, 0), 2000)
	}
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
	x.client = client
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
		rec, err := bidRecord(b)
		if err != nil {
			encErr = err
			return
		}
		recs = append(recs, rec)
		rows = append(rows, *b)
		maxTs = max(maxTs, b.ts)
	}); err != nil {
		return nil, err
	}
	if encErr != nil {
		return nil, encErr
	}
	if eo.LatencyEvents > 0 {
		if x.lat, err = latencyBids(ctx, o, eo); err != nil {
			return nil, err
		}
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

// bidRecord is a bid as the streams carry it: JSON, keyed by auction.
func bidRecord(b *bidRow) (emulator.Record, error) {
	data, err := json.Marshal(bidJSON{b.auction, b.bidder, b.price, b.channel, b.url, b.ts / 1000, b.extra})
	if err != nil {
		return emulator.Record{}, fmt.Errorf("nexmark e2e: encode a bid: %w", err)
	}
	return emulator.Record{PartitionKey: strconv.FormatInt(b.auction, 10), Data: data}, nil
}

// latencyBids generates the latency phase's bids: the first
// eo.LatencyEvents of the run's generator at an event rate that makes
// event time advance as fast as the phase produces them.
func latencyBids(ctx context.Context, o NexmarkOptions, eo E2EOptions) ([]bidRow, error) {
	// 46 in 50 events are bids; a few more events than needed, then cut.
	lo := o
	lo.Events = int64(eo.LatencyEvents)*50/46 + 50
	lo.EventRate = max(1, int64(eo.LatencyRate)*50/46)
	var bids []bidRow
	if err := nexmarkRows(ctx, lo, func(b *bidRow) { bids = append(bids, *b) }); err != nil {
		return nil, err
	}
	return bids[:min(len(bids), eo.LatencyEvents)], nil
}

func bidSourceSQL(stream, endpoint string) string {
	return fmt.Sprintf("CREATE SOURCE bid (%s) WITH (connector = 'kinesis', stream = '%s', region = '%s', endpoint = '%s', "+
		"format = 'json', start_position = 'trim_horizon')", bidSourceColumns, stream, emulator.Region, endpoint)
}

// run measures q's view over the loaded stream on a fresh engine, then
// its latency.
func (x *nexmarkE2E) run(ctx context.Context, q NexmarkQuery) NexmarkResult {
	r := NexmarkResult{Query: q.Name, Mode: "e2e", Note: q.Note, View: q.View, Events: x.o.Events, Bids: x.bids, Want: x.want[q.Name].a, Load: x.load}
	o := x.o
	got, u, err := runNexmarkView(ctx, o, q, bidSourceSQL(x.stream, x.emu.Endpoint()), x.want[q.Name], o.E2E.CheckpointInterval)
	r.finish(got, x.want[q.Name], u, err)
	if err != nil {
		return r
	}
	switch {
	case o.E2E.LatencyEvents <= 0:
		r.LatencySkipped = "the latency phase was switched off (--e2e-latency-events < 0)"
	case q.LatencySkip != "":
		r.LatencySkipped = q.LatencySkip
	default:
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		l, skip, err := x.latency(ctx, q)
		switch {
		case err != nil:
			r.Error, r.Correct = fmt.Sprintf("%s: latency: %v", q.Name, err), false
		case skip != "":
			r.LatencySkipped = skip
		default:
			r.Latency, r.LatencyP50Ms, r.LatencyP99Ms = l, &l.P50Ms, &l.P99Ms
		}
	}
	return r
}

// latency measures q's event-to-view latency over x.lat, produced into a
// fresh stream, on a fresh engine. A bid is visible when the change that
// carries it arrives: for a query that maps each bid to at most one row,
// the k-th insert of a row's text is the k-th bid rendering to that text
// (bids keyed by auction, so equal rows share a shard and arrive in the
// order produced); for an aggregate, when the count of the bid's group
// reaches the bid's ordinal in it. It returns why it measured nothing
// instead when none of the timed bids shows in the view.
func (x *nexmarkE2E) latency(ctx context.Context, q NexmarkQuery) (*LatencyRun, string, error) {
	o := *x.o.E2E
	view, keyedBy := q.View, "auction"
	var vis *visibility
	var visible string
	keys := make([]string, len(x.lat))
	if q.lat == nil {
		mr, ok := q.ref().(*mapRef)
		if !ok {
			return nil, "", fmt.Errorf("no way to see a bid in the view")
		}
		for i := range x.lat {
			if cols := mr.fn(&x.lat[i]); cols != nil {
				keys[i] = strings.Join(cols, "|")
			}
		}
		vis = &visibility{cols: strings.Split(q.Read, ", "), keys: keys}
		visible = "the row rendered from it arrives (the k-th insert of a row's text is the k-th bid with that text)"
	} else {
		for i := range x.lat {
			keys[i] = q.lat.key(&x.lat[i])
		}
		if q.lat.view != "" {
			view = q.lat.view
		}
		vis = &visibility{cols: q.lat.cols, count: q.lat.count, keys: keys}
		visible = fmt.Sprintf("the %s of its (%s) row reaches the bid's ordinal in that row", q.lat.count, strings.Join(q.lat.cols, ", "))
		if view != q.View {
			visible += ", in the view without EMIT ON WINDOW CLOSE"
		}
		if q.lat.oneKey {
			keyedBy = "one partition key (one shard)"
		}
	}
	recs := make([]emulator.Record, len(x.lat))
	for i := range x.lat {
		rec, err := bidRecord(&x.lat[i])
		if err != nil {
			return nil, "", err
		}
		if q.lat != nil && q.lat.oneKey {
			rec.PartitionKey = "0"
		}
		recs[i] = rec
	}
	p := latencyPhase{
		prefix: "bench-nexmark-latency", recs: recs, source: bidSourceSQL,
		name: q.Name, view: "CREATE MATERIALIZED VIEW " + q.Name + " AS " + view, vis: vis,
		keyedBy: keyedBy, visible: visible,
	}
	warm := warmUp(len(recs), o)
	if p.timed(warm) == 0 {
		return nil, fmt.Sprintf("none of the %d timed bids (after %d of warm-up) passes the view's filter", len(recs)-warm, warm), nil
	}
	// The view's final rows are checked too: the phase's changes came
	// from a view that computed the right thing.
	keep := len(x.lat) <= 50_000
	want := &nexAcc{}
	if keep {
		want.keep = map[string]int{}
	}
	ref := q.ref()
	if mr, ok := ref.(*mapRef); ok && keep {
		mr.acc.keep = map[string]int{}
	}
	for i := range x.lat {
		ref.add(&x.lat[i])
	}
	// Every window counts: the latency view does not wait for them to close.
	ref.finish(math.MaxInt64, want)
	p.check = func(ctx context.Context, e *streamsql.Engine) error {
		got, err := readNexmarkView(ctx, e, q, keep)
		if err != nil {
			return err
		}
		if d := got.diff(want); d != "" {
			return fmt.Errorf("the view over the latency phase's %d bids: %s", len(x.lat), d)
		}
		return nil
	}
	l, err := runLatency(ctx, x.emu, x.client, p, o)
	return l, "", err
}
