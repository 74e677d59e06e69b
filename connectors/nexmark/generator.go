// Package nexmark owns the built-in Nexmark source: a generator of the
// standard Nexmark auction model (Person, Auction and Bid events in the
// proportions 1:3:46, with the reference generator's ids, prices,
// categories, auction expiry and event time), one table per source as in
// RisingWave's nexmark connector. It knows nothing of SQL beyond the row
// types; the engine binds its options and drives it.
//
// Every event is a pure function of (seed, event number), so a run is
// deterministic for a seed and base time, a split can generate its share
// of events without talking to the others, and a reader can resume at any
// offset.
package nexmark

import (
	"context"
	"io"
	"math/bits"
	"slices"
	"time"
	"unsafe"

	"github.com/streamsql/streamsql/connectors/internal/gen"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// DefaultEventRate is the reference generator's default first-event rate.
const DefaultEventRate = 10000

// Options configure a generator. The zero value plus a Table is valid.
type Options struct {
	Table Table
	// EventRate is events per second of event time, counted over all three
	// tables (as the reference counts it); with Pace, also the wall-clock
	// rate. Default DefaultEventRate.
	EventRate int64
	// MaxEvents bounds the whole event sequence (all tables, all splits);
	// this table yields its share of them. 0 means unbounded.
	MaxEvents int64
	// Seed chooses the random choices; the same seed gives the same rows.
	Seed uint64
	// BaseTime is the event time of event 0, in microseconds since the
	// epoch, truncated to milliseconds. 0 means the wall clock at New.
	BaseTime int64
	// Pace holds events back until the wall clock reaches their event time
	// (relative to the first call), so EventRate becomes the arrival rate.
	Pace bool
	// SplitIndex of SplitCount: this generator yields every SplitCount-th
	// row of the table, starting at the SplitIndex-th. SplitCount 0 means 1.
	SplitIndex, SplitCount int
	// Offset resumes a split: the number of rows it had already yielded
	// (Generator.Offset after them).
	Offset int64
	// SkipExtra leaves each row's extra (its last column) NULL, for a
	// query that does not read it: extra is a few hundred random bytes
	// (an auction's 500 on average), the costliest column to make. It is
	// each row's last random draw, so every other column is unchanged.
	SkipExtra bool
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.Table > Bid:
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "unknown nexmark table %d", o.Table)
	case o.EventRate < 0:
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "nexmark event_rate must be positive, got %d", o.EventRate)
	case o.MaxEvents < 0:
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "nexmark max_events must not be negative, got %d", o.MaxEvents)
	case o.SplitCount < 0 || o.SplitIndex < 0 || (o.SplitIndex > 0 && o.SplitIndex >= o.SplitCount):
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "nexmark split %d of %d is out of range", o.SplitIndex, o.SplitCount)
	case o.Offset < 0:
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "nexmark offset must not be negative, got %d", o.Offset)
	}
	return nil
}

// Batch is what NextBatch fills. Rows[i] happened at EventTimes[i]
// (microseconds since the epoch, the value of date_time).
//
// Ownership: the rows (and the values and strings in them) belong to the
// caller for good; the Rows and EventTimes slices themselves are reused by
// the next NextBatch on the same Batch.
type Batch struct {
	Rows       []types.Row
	EventTimes []int64
}

// Len returns the number of rows.
func (b *Batch) Len() int { return len(b.Rows) }

// Generator yields the rows of one table (or of one split of it).
type Generator struct {
	opts     Options
	split    gen.Split // over the rows of this table; the limit is its rows in MaxEvents
	baseMs   int64
	pacer    gen.Pacer
	arena    []byte
	channels []string // lazily filled "channel-N" URLs, per generator
	hotURLs  [4]string
}

// New returns a generator for opts.
func New(opts Options) (*Generator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.EventRate == 0 {
		opts.EventRate = DefaultEventRate
	}
	limit := int64(-1)
	if opts.MaxEvents > 0 {
		limit = rowsBefore(opts.Table, opts.MaxEvents)
	}
	g := &Generator{opts: opts, split: gen.NewSplit(opts.SplitIndex, opts.SplitCount, opts.Offset, limit)}
	base := opts.BaseTime
	if base == 0 {
		base = time.Now().UnixMicro()
	}
	g.baseMs = base / 1000
	for i := range g.hotURLs {
		r := gen.NewRNG(opts.Seed, -1-int64(i))
		g.hotURLs[i] = g.url(&r, -1)
	}
	return g, nil
}

// Columns returns the schema of the generator's table.
func (g *Generator) Columns() []types.Column { return g.opts.Table.Columns() }

// Offset is the number of rows this split has yielded (counting Options.Offset):
// the value to store in a checkpoint and pass back to resume.
func (g *Generator) Offset() int64 { return g.split.Offset() }

// Done reports whether the generator has yielded every row.
func (g *Generator) Done() bool { return g.split.Done() }

// eventNumber maps the k-th row of table t to its event number: the
// sequence repeats every 50 events as 1 person, 3 auctions, 46 bids.
func eventNumber(t Table, k int64) int64 {
	switch t {
	case Person:
		return k/personProportion*totalProportion + k%personProportion
	case Auction:
		return k/auctionProportion*totalProportion + personProportion + k%auctionProportion
	}
	return k/bidProportion*totalProportion + personProportion + auctionProportion + k%bidProportion
}

// rowsBefore counts the rows of table t among event numbers [0, n).
func rowsBefore(t Table, n int64) int64 {
	full, rem := n/totalProportion, n%totalProportion
	switch t {
	case Person:
		return full*personProportion + min(rem, personProportion)
	case Auction:
		return full*auctionProportion + min(max(rem-personProportion, 0), auctionProportion)
	}
	return full*bidProportion + max(rem-personProportion-auctionProportion, 0)
}

// timestampMs is the event time of event number e, as the reference
// computes it: a fixed inter-event delay from the base time.
func (g *Generator) timestampMs(e int64) int64 {
	return g.baseMs + e*1000/g.opts.EventRate
}

// NextBatch replaces b's rows with up to max rows (at least 1 is asked
// for) and returns how many it produced; io.EOF once the generator is done
// (with 0 rows). With Pace it waits, honouring ctx, until the last row's
// event time is due.
func (g *Generator) NextBatch(ctx context.Context, b *Batch, max int) (int, error) {
	b.Rows, b.EventTimes = b.Rows[:0], b.EventTimes[:0]
	if g.Done() {
		return 0, io.EOF
	}
	var paced int64
	if g.opts.Pace {
		// A paced batch covers at most 100ms of event time, so rows are not
		// held back much longer than their due time.
		paced = maxI64(g.opts.EventRate/g.split.Count()/10, 1)
	}
	n := g.split.BatchLen(max, paced)
	cols := len(g.opts.Table.Columns())
	slab := make([]types.Value, int(n)*cols)
	g.arena = make([]byte, 0, int(n)*avgArena(g.opts.Table))
	for i := int64(0); i < n; i++ {
		row := types.Row(slab[int(i)*cols : int(i+1)*cols : int(i+1)*cols])
		e := eventNumber(g.opts.Table, g.split.Row())
		ts := g.timestampMs(e)
		r := gen.NewRNG(g.opts.Seed, e)
		switch g.opts.Table {
		case Person:
			g.person(row, e, ts, &r)
		case Auction:
			g.auction(row, e, ts, &r)
		default:
			g.bid(row, e, ts, &r)
		}
		b.Rows = append(b.Rows, row)
		b.EventTimes = append(b.EventTimes, ts*1000)
		g.split.Advance()
	}
	if g.opts.Pace {
		// Due when the wall clock is as far past the first call as the
		// batch's last event time is past the base time.
		due := time.Duration(b.EventTimes[len(b.EventTimes)-1]/1000-g.baseMs) * time.Millisecond
		if err := g.pacer.Wait(ctx, due); err != nil {
			return 0, err
		}
	}
	return len(b.Rows), nil
}

func maxI64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// avgArena is the string bytes a row of t takes on average, to size the
// batch's arena.
func avgArena(t Table) int {
	switch t {
	case Person:
		return avgPersonBytes
	case Auction:
		return avgAuctionBytes
	}
	return avgBidBytes
}

// str turns arena[from:] into a string without copying. This is safe
// because an arena's bytes are never written again once a string covers
// them: each batch gets a fresh arena, and append only writes past len.
func (g *Generator) str(from int) string {
	if from == len(g.arena) {
		return ""
	}
	return unsafe.String(&g.arena[from], len(g.arena)-from)
}

// appendString appends the reference's random string: 3 to maxLen-1
// characters, lower-case letters with 1 in 13 being special, trimmed of
// spaces at both ends.
func (g *Generator) appendString(r *gen.RNG, maxLen int64, special byte) {
	n := minStringLength + r.Intn(maxLen-minStringLength)
	start := len(g.arena)
	for range n {
		// One random number per character: its top bits pick "special or
		// not" (1 in 13), the bits below them the letter.
		hi, lo := bits.Mul64(r.Next(), 13)
		if hi == 0 {
			if special == ' ' && len(g.arena) == start {
				continue // leading space: trimmed
			}
			g.arena = append(g.arena, special)
			continue
		}
		c, _ := bits.Mul64(lo, 26)
		g.arena = append(g.arena, byte('a'+c))
	}
	for special == ' ' && len(g.arena) > start && g.arena[len(g.arena)-1] == ' ' {
		g.arena = g.arena[:len(g.arena)-1]
	}
}

// appendExact appends n random lower-case letters, 13 per random number.
func (g *Generator) appendExact(r *gen.RNG, n int64) {
	start := len(g.arena)
	g.arena = slices.Grow(g.arena, int(n))[:start+int(n)]
	out := g.arena[start:]
	for i := 0; i < len(out); {
		x := r.Next()
		for j := 0; j < 13 && i < len(out); j++ {
			out[i] = byte('a' + x%26)
			x /= 26
			i++
		}
	}
}

// extra is padding that brings a row to avg bytes on average (±20%).
func (g *Generator) extra(r *gen.RNG, size, avg int) string {
	if size > avg {
		return ""
	}
	want := int64(avg - size)
	delta := (want*2 + 5) / 10 // round(want * 0.2)
	n := want - delta
	if delta > 0 {
		n += r.Intn(2 * delta)
	}
	start := len(g.arena)
	g.appendExact(r, n)
	return g.str(start)
}

func (g *Generator) person(row types.Row, e, ts int64, r *gen.RNG) {
	id := lastPersonID(e) + firstPersonID
	name := fullNames[r.Intn(int64(len(fullNames)))]
	start := len(g.arena)
	g.appendString(r, 7, ' ')
	g.arena = append(g.arena, '@')
	g.appendString(r, 5, ' ')
	g.arena = append(g.arena, ".com"...)
	email := g.str(start)
	start = len(g.arena)
	for i := range 4 {
		if i > 0 {
			g.arena = append(g.arena, ' ')
		}
		d := r.Intn(10000)
		g.arena = append(g.arena, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
	}
	card := g.str(start)
	city := usCities[r.Intn(int64(len(usCities)))]
	state := usStates[r.Intn(int64(len(usStates)))]
	size := 8 + len(name) + len(email) + len(card) + len(city) + len(state)
	row[0] = types.NewInt(id)
	row[1] = types.NewString(name)
	row[2] = types.NewString(email)
	row[3] = types.NewString(card)
	row[4] = types.NewString(city)
	row[5] = types.NewString(state)
	row[6] = types.NewTimestamp(ts * 1000)
	if !g.opts.SkipExtra {
		row[7] = types.NewString(g.extra(r, size, avgPersonBytes))
	}
}

func (g *Generator) auction(row types.Row, e, ts int64, r *gen.RNG) {
	id := lastAuctionID(e) + firstAuctionID
	var seller int64
	if r.Intn(hotSellersRatio) > 0 {
		seller = lastPersonID(e) / hotGroup * hotGroup
	} else {
		seller = nextPersonID(e, r)
	}
	seller += firstPersonID
	category := firstCategoryID + r.Intn(numCategories)
	initial := nextPrice(r)
	// An auction lasts on average until numInFlightAuctions more auctions
	// have been created, so about that many are open at any time.
	horizon := g.timestampMs(e+numInFlightAuctions*totalProportion/auctionProportion) - ts
	expires := ts + 1 + r.Intn(maxI64(horizon*2, 1))
	start := len(g.arena)
	g.appendString(r, 20, ' ')
	item := g.str(start)
	start = len(g.arena)
	g.appendString(r, 100, ' ')
	desc := g.str(start)
	reserve := initial + nextPrice(r)
	size := 8 + len(item) + len(desc) + 8 + 8 + 8 + 8 + 8
	row[0] = types.NewInt(id)
	row[1] = types.NewString(item)
	row[2] = types.NewString(desc)
	row[3] = types.NewInt(initial)
	row[4] = types.NewInt(reserve)
	row[5] = types.NewTimestamp(ts * 1000)
	row[6] = types.NewTimestamp(expires * 1000)
	row[7] = types.NewInt(seller)
	row[8] = types.NewInt(category)
	if !g.opts.SkipExtra {
		row[9] = types.NewString(g.extra(r, size, avgAuctionBytes))
	}
}

func (g *Generator) bid(row types.Row, e, ts int64, r *gen.RNG) {
	var auction int64
	if r.Intn(hotAuctionRatio) > 0 {
		auction = lastAuctionID(e) / hotGroup * hotGroup
	} else {
		auction = nextAuctionID(e, r)
	}
	auction += firstAuctionID
	var bidder int64
	if r.Intn(hotBiddersRatio) > 0 {
		// The second of the group, so hot bidders and hot sellers differ.
		bidder = lastPersonID(e)/hotGroup*hotGroup + 1
	} else {
		bidder = nextPersonID(e, r)
	}
	bidder += firstPersonID
	price := nextPrice(r)
	var channel, url string
	if r.Intn(hotChannelsRatio) > 0 {
		i := r.Intn(int64(len(hotChannels)))
		channel, url = hotChannels[i], g.hotURLs[i]
	} else {
		channel, url = g.channel(r.Intn(numChannels))
	}
	row[0] = types.NewInt(auction)
	row[1] = types.NewInt(bidder)
	row[2] = types.NewInt(price)
	row[3] = types.NewString(channel)
	row[4] = types.NewString(url)
	row[5] = types.NewTimestamp(ts * 1000)
	if !g.opts.SkipExtra {
		row[6] = types.NewString(g.extra(r, 32, avgBidBytes))
	}
}

// channel returns the name and URL of channel n, made once per generator
// from the seed, so that every split and every run agrees on them.
func (g *Generator) channel(n int64) (string, string) {
	if g.channels == nil {
		g.channels = make([]string, numChannels)
	}
	if g.channels[n] == "" {
		r := gen.NewRNG(g.opts.Seed, -100-n)
		g.channels[n] = g.url(&r, n)
	}
	return channelNames[n], g.channels[n]
}

// channelNames are "channel-0" to "channel-9999", built once so that a
// bid never allocates its channel's name.
var channelNames = func() []string {
	names := make([]string, numChannels)
	for i := range names {
		names[i] = "channel-" + itoa(int64(i))
	}
	return names
}()

func itoa(n int64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(buf[i:])
}

// url builds a channel's URL as the reference does: three short random
// path segments, and for 9 in 10 numbered channels a channel_id parameter.
func (g *Generator) url(r *gen.RNG, n int64) string {
	saved := g.arena
	g.arena = make([]byte, 0, 80)
	g.arena = append(g.arena, "https://www.nexmark.com/"...)
	for range 3 {
		g.appendString(r, 5, '_')
		g.arena = append(g.arena, '/')
	}
	g.arena = append(g.arena, "item.htm?query=1"...)
	if n >= 0 && r.Intn(10) > 0 {
		g.arena = append(g.arena, "&channel_id="...)
		id := int64(int32(reverseBits32(uint32(n))))
		g.arena = append(g.arena, itoa(max(id, -id))...)
	}
	s := string(g.arena)
	g.arena = saved
	return s
}

func reverseBits32(x uint32) uint32 {
	var y uint32
	for range 32 {
		y = y<<1 | x&1
		x >>= 1
	}
	return y
}
