package nexmark

import (
	"fmt"
	"math"
	"strings"

	"github.com/streamsql/streamsql/connectors/internal/gen"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Table is one of the three Nexmark event kinds; a source reads one of them.
type Table uint8

const (
	Person Table = iota
	Auction
	Bid
)

var tableNames = [...]string{Person: "person", Auction: "auction", Bid: "bid"}

func (t Table) String() string {
	if int(t) < len(tableNames) {
		return tableNames[t]
	}
	return fmt.Sprintf("Table(%d)", t)
}

// ParseTable reads "person", "auction" or "bid" (any case).
func ParseTable(s string) (Table, error) {
	for i, n := range tableNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Table(i), nil
		}
	}
	return 0, sqlerr.Newf(sqlerr.InvalidParameterValue, "unknown nexmark table %q; valid tables: person, auction, bid", s)
}

var ts3 = types.Type{Kind: types.Timestamp, Precision: 3}

// The standard column schemas, as Flink's and RisingWave's Nexmark sources
// name them.
var (
	personColumns = []types.Column{
		{Name: "id", Type: types.TypeBigInt},
		{Name: "name", Type: types.TypeText},
		{Name: "email_address", Type: types.TypeText},
		{Name: "credit_card", Type: types.TypeText},
		{Name: "city", Type: types.TypeText},
		{Name: "state", Type: types.TypeText},
		{Name: "date_time", Type: ts3},
		{Name: "extra", Type: types.TypeText},
	}
	auctionColumns = []types.Column{
		{Name: "id", Type: types.TypeBigInt},
		{Name: "item_name", Type: types.TypeText},
		{Name: "description", Type: types.TypeText},
		{Name: "initial_bid", Type: types.TypeBigInt},
		{Name: "reserve", Type: types.TypeBigInt},
		{Name: "date_time", Type: ts3},
		{Name: "expires", Type: ts3},
		{Name: "seller", Type: types.TypeBigInt},
		{Name: "category", Type: types.TypeBigInt},
		{Name: "extra", Type: types.TypeText},
	}
	bidColumns = []types.Column{
		{Name: "auction", Type: types.TypeBigInt},
		{Name: "bidder", Type: types.TypeBigInt},
		{Name: "price", Type: types.TypeBigInt},
		{Name: "channel", Type: types.TypeText},
		{Name: "url", Type: types.TypeText},
		{Name: "date_time", Type: ts3},
		{Name: "extra", Type: types.TypeText},
	}
)

// Columns returns the table's schema. The caller must not change it.
func (t Table) Columns() []types.Column {
	switch t {
	case Person:
		return personColumns
	case Auction:
		return auctionColumns
	}
	return bidColumns
}

// EventTimeColumn is the index of date_time, the event-time column, in
// every table.
func (t Table) EventTimeColumn() int {
	if t == Person {
		return 6
	}
	return 5
}

// The model's constants, as in the reference generator (Beam's and the
// nexmark/nexmark Flink port's GeneratorConfig and NexmarkConfiguration).
const (
	personProportion  = 1
	auctionProportion = 3
	bidProportion     = 46
	totalProportion   = personProportion + auctionProportion + bidProportion

	firstPersonID   = 1000
	firstAuctionID  = 1000
	firstCategoryID = 10
	numCategories   = 5

	numActivePeople     = 1000
	numInFlightAuctions = 100
	personIDLead        = 10
	auctionIDLead       = 10

	// hot*Ratio: 1 - 1/ratio of the choices go to a "hot" id; the hot id is
	// the first of the last hotGroup ids.
	hotSellersRatio = 4
	hotAuctionRatio = 2
	hotBiddersRatio = 4
	hotGroup        = 100

	hotChannelsRatio = 2
	numChannels      = 10000

	avgPersonBytes  = 200
	avgAuctionBytes = 500
	avgBidBytes     = 100

	minStringLength = 3
)

var (
	usStates    = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities    = []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames  = []string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames   = []string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	hotChannels = []string{"Google", "Facebook", "Baidu", "Apple"}
)

// kindOf returns which table event id generates.
func kindOf(id int64) Table {
	switch rem := id % totalProportion; {
	case rem < personProportion:
		return Person
	case rem < personProportion+auctionProportion:
		return Auction
	}
	return Bid
}

// lastPersonID is the last person id (base 0) generated at or before event
// id: the current one if id is a person.
func lastPersonID(id int64) int64 {
	epoch, offset := id/totalProportion, id%totalProportion
	if offset >= personProportion {
		offset = personProportion - 1
	}
	return epoch*personProportion + offset
}

// lastAuctionID is the last auction id (base 0) generated at or before id.
func lastAuctionID(id int64) int64 {
	epoch, offset := id/totalProportion, id%totalProportion
	switch {
	case offset < personProportion:
		epoch--
		offset = auctionProportion - 1
	case offset >= personProportion+auctionProportion:
		offset = auctionProportion - 1
	default:
		offset -= personProportion
	}
	return epoch*auctionProportion + offset
}

// nextPersonID picks a random active person (base 0), with a few ids
// ahead of the last one so that some events refer to people not yet seen.
func nextPersonID(id int64, r *gen.RNG) int64 {
	numPeople := lastPersonID(id) + 1
	active := min(numPeople, numActivePeople)
	return numPeople - active + r.Intn(active+personIDLead)
}

// nextAuctionID picks a random auction likely still in flight (base 0).
func nextAuctionID(id int64, r *gen.RNG) int64 {
	maxA := lastAuctionID(id)
	minA := max(maxA-numInFlightAuctions, 0)
	return minA + r.Intn(maxA-minA+1+auctionIDLead)
}

// nextPrice is 10^U(0,6) dollars in cents: many cheap items, few dear.
func nextPrice(r *gen.RNG) int64 {
	return int64(math.Round(math.Exp(r.Float()*6*math.Ln10) * 100))
}

// fullNames are every "first last", built once so a person allocates none.
var fullNames = func() []string {
	var names []string
	for _, f := range firstNames {
		for _, l := range lastNames {
			names = append(names, f+" "+l)
		}
	}
	return names
}()

// CheckColumns reports whether cols, the columns a CREATE SOURCE declares,
// are t's: the same names (without regard to case) in the same order, of
// the same type families. The error lists the columns to write instead.
func (t Table) CheckColumns(cols []types.Column) error {
	want := t.Columns()
	ok := len(cols) == len(want)
	for i := 0; ok && i < len(cols); i++ {
		ok = strings.EqualFold(cols[i].Name, want[i].Name) && cols[i].Type.Kind == want[i].Type.Kind
	}
	if ok {
		return nil
	}
	var b strings.Builder
	for i, c := range want {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Name + " " + c.Type.String())
	}
	return sqlerr.Newf(sqlerr.InvalidParameterValue, "a nexmark %s source has the columns (%s)", t, b.String())
}
