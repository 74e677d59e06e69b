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
	"github.com/streamsql/streamsql/connectors/nexmark"
	"github.com/streamsql/streamsql/internal/emulator"
)

// nexmarkE2E is the end-to-end mode of the Nexmark scenario: the rows of
// each table the queries read are generated here, encoded as JSON and put
// into a kinesalite stream of their own once (not measured); each query
// then runs on a fresh engine whose Kinesis sources read those streams
// from their start.
type nexmarkE2E struct {
	o       NexmarkOptions
	emu     *emulator.Emulator
	owned   bool
	streams [3]string // by nexmark.Table; "" for a table no query reads
	load    *LoadRun
	counts  nexCounts
	want    map[string]*nexAcc
	keep    bool
	client  *kinesis.Client
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

// personJSON and auctionJSON are the other tables' records; times in
// epoch ms.
type personJSON struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email_address"`
	CreditCard string `json:"credit_card"`
	City       string `json:"city"`
	State      string `json:"state"`
	DateTime   int64  `json:"date_time"`
	Extra      string `json:"extra"`
}

type auctionJSON struct {
	ID          int64  `json:"id"`
	ItemName    string `json:"item_name"`
	Description string `json:"description"`
	InitialBid  int64  `json:"initial_bid"`
	Reserve     int64  `json:"reserve"`
	DateTime    int64  `json:"date_time"`
	Expires     int64  `json:"expires"`
	Seller      int64  `json:"seller"`
	Category    int64  `json:"category"`
	Extra       string `json:"extra"`
}

// nexTableRows holds one table's generated rows (only its own kind set)
// and their records.
type nexTableRows struct {
	persons  []personRow
	auctions []auctionRow
	bids     []bidRow
	recs     []emulator.Record
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
	// Each record keyed by its auction (a person by its id), one
	// PutRecords at a time, in generation order, so that each shard holds
	// its rows in event-time order.
	var tables [3]nexTableRows
	var maxTs int64
	var encErr error
	put := func(t nexmark.Table, rec emulator.Record, err error, ts int64) {
		if err != nil {
			encErr = err
			return
		}
		tables[t].recs = append(tables[t].recs, rec)
		maxTs = max(maxTs, ts)
	}
	var v nexVisit
	for _, q := range qs {
		for _, t := range q.tables() {
			switch t {
			case nexmark.Person:
				v.person = func(p *personRow) {
					rec, err := personRecord(p)
					put(t, rec, err, p.ts)
					tables[t].persons = append(tables[t].persons, *p)
				}
			case nexmark.Auction:
				v.auction = func(a *auctionRow) {
					rec, err := auctionRecord(a)
					put(t, rec, err, a.ts)
					tables[t].auctions = append(tables[t].auctions, *a)
				}
			default:
				v.bid = func(b *bidRow) {
					rec, err := bidRecord(b)
					put(t, rec, err, b.ts)
					tables[t].bids = append(tables[t].bids, *b)
				}
			}
		}
	}
	if err := nexmarkTables(ctx, o, v); err != nil {
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
	x.load = &LoadRun{RecordsPerPut: eo.PutBatch, Shards: eo.Shards}
	for t := range tables {
		if !v.has(nexmark.Table(t)) {
			continue
		}
		x.streams[t] = nextStream("bench-nexmark-" + nexmark.Table(t).String())
		if err := x.emu.CreateStream(ctx, x.streams[t], eo.Shards); err != nil {
			return nil, fmt.Errorf("nexmark e2e: %w", err)
		}
		recs := tables[t].recs
		start := time.Now()
		for i := 0; i < len(recs); i += eo.PutBatch {
			if _, err := emulator.PutRecords(ctx, client, x.streams[t], recs[i:min(i+eo.PutBatch, len(recs))]); err != nil {
				return nil, fmt.Errorf("nexmark e2e: load %s: %w", x.streams[t], err)
			}
		}
		x.load.Records += len(recs)
		x.load.Seconds += time.Since(start).Seconds()
		tables[t].recs = nil
	}
	x.load.PerSecond = float64(x.load.Records) / x.load.Seconds
	// The closing records are rows of the streams like any other: the
	// answers count them.
	ts := (maxTs + time.Hour.Microseconds()) / 1000 * 1000
	for t := range tables {
		if x.streams[t] == "" {
			continue
		}
		n, err := x.closeWindows(ctx, client, nexmark.Table(t), ts)
		if err != nil {
			return nil, err
		}
		for range n {
			switch nexmark.Table(t) {
			case nexmark.Person:
				tables[t].persons = append(tables[t].persons, personRow{ts: ts})
			case nexmark.Auction:
				tables[t].auctions = append(tables[t].auctions, auctionRow{ts: ts, expires: ts})
			default:
				tables[t].bids = append(tables[t].bids, bidRow{ts: ts})
			}
		}
	}
	x.want, x.counts, err = nexmarkWant(qs, func(v nexVisit) error {
		for t := range tables {
			if !v.has(nexmark.Table(t)) {
				continue
			}
			for i := range tables[t].persons {
				v.person(&tables[t].persons[i])
			}
			for i := range tables[t].auctions {
				v.auction(&tables[t].auctions[i])
			}
			for i := range tables[t].bids {
				v.bid(&tables[t].bids[i])
			}
		}
		return nil
	}, keep)
	if err != nil {
		return nil, err
	}
	ok = true
	return x, nil
}

// closeWindows puts one row of table t per shard of its stream (every
// column zero or empty but the times, which are ts, whole milliseconds)
// and returns how many: the source's watermark is the least of its
// shards', so this moves it to ts less the delay, past every window of
// the run.
func (x *nexmarkE2E) closeWindows(ctx context.Context, client *kinesis.Client, t nexmark.Table, ts int64) (int, error) {
	stream := x.streams[t]
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return 0, fmt.Errorf("nexmark e2e: list shards of %s: %w", stream, err)
	}
	ms := ts / 1000
	var rec any
	switch t {
	case nexmark.Person:
		rec = personJSON{DateTime: ms}
	case nexmark.Auction:
		rec = auctionJSON{DateTime: ms, Expires: ms}
	default:
		rec = bidJSON{DateTime: ms}
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	for _, s := range shards.Shards {
		h, ok := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		if !ok {
			return 0, fmt.Errorf("nexmark e2e: shard %s: hash key %q", aws.ToString(s.ShardId), aws.ToString(s.HashKeyRange.StartingHashKey))
		}
		_, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("0"),
			ExplicitHashKey: aws.String(h.String()), Data: data})
		if err != nil {
			return 0, fmt.Errorf("nexmark e2e: put the closing records into %s: %w", stream, err)
		}
	}
	return len(shards.Shards), nil
}

func (x *nexmarkE2E) stop() {
	if x.owned && x.emu != nil {
		_ = x.emu.Stop()
	}
}

// personRecord is a person as its stream carries it: JSON, keyed by id.
func personRecord(p *personRow) (emulator.Record, error) {
	data, err := json.Marshal(personJSON{p.id, p.name, p.email, p.card, p.city, p.state, p.ts / 1000, p.extra})
	if err != nil {
		return emulator.Record{}, fmt.Errorf("nexmark e2e: encode a person: %w", err)
	}
	return emulator.Record{PartitionKey: strconv.FormatInt(p.id, 10), Data: data}, nil
}

// auctionRecord is an auction as its stream carries it: JSON, keyed by id.
func auctionRecord(a *auctionRow) (emulator.Record, error) {
	data, err := json.Marshal(auctionJSON{a.id, a.item, a.desc, a.initial, a.reserve, a.ts / 1000, a.expires / 1000, a.seller, a.category, a.extra})
	if err != nil {
		return emulator.Record{}, fmt.Errorf("nexmark e2e: encode an auction: %w", err)
	}
	return emulator.Record{PartitionKey: strconv.FormatInt(a.id, 10), Data: data}, nil
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

// kinesisSourceSQL creates table t's source over a Kinesis stream.
func kinesisSourceSQL(t nexmark.Table, stream, endpoint string) string {
	return fmt.Sprintf("CREATE SOURCE %s (%s) WITH (connector = 'kinesis', stream = '%s', region = '%s', endpoint = '%s', "+
		"format = 'json', start_position = 'trim_horizon')", t, nexSourceColumns[t], stream, emulator.Region, endpoint)
}

func bidSourceSQL(stream, endpoint string) string {
	return kinesisSourceSQL(nexmark.Bid, stream, endpoint)
}

// run measures q's view over the loaded stream on a fresh engine, then
// its latency.
func (x *nexmarkE2E) run(ctx context.Context, q NexmarkQuery) NexmarkResult {
	r := NexmarkResult{Query: q.Name, Mode: "e2e", Note: q.Note, View: q.View, Events: x.o.Events, Want: x.want[q.Name].a, Load: x.load}
	r.inputs(q, x.counts)
	o := x.o
	var sources []string
	for _, t := range q.tables() {
		sources = append(sources, q.sourceSQL(kinesisSourceSQL(t, x.streams[t], x.emu.Endpoint()), t))
	}
	got, u, st, err := runNexmarkView(ctx, o, q, sources, x.want[q.Name], o.E2E.CheckpointInterval)
	r.State = st
	r.finish(got, x.want[q.Name], u, err)
	r.MemoryLimitBytes, r.OverMemoryLimit = o.MemoryLimit, o.MemoryLimit > 0 && r.PeakRSSBytes > o.MemoryLimit
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
	source := bidSourceSQL
	if q.Setup != "" {
		source = func(stream, endpoint string) string { return bidSourceSQL(stream, endpoint) + ";\n" + q.Setup }
	}
	p := latencyPhase{
		prefix: "bench-nexmark-latency", recs: recs, source: source,
		name: q.viewName(), view: "CREATE MATERIALIZED VIEW " + q.viewName() + " AS " + view, vis: vis,
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
	if ar, ok := ref.(accRef); ok && keep {
		ar.rowsAcc().keep = map[string]int{}
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
