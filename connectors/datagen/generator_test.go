package datagen

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/types"
)

var cols = []types.Column{
	{Name: "id", Type: types.TypeBigInt},
	{Name: "user_id", Type: types.TypeInt},
	{Name: "amount", Type: types.TypeDouble},
	{Name: "price", Type: types.DecimalType(10, 2)},
	{Name: "url", Type: types.VarcharType(20)},
	{Name: "country", Type: types.TypeText},
	{Name: "ok", Type: types.TypeBool},
	{Name: "ts", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
	{Name: "at", Type: types.TypeTimestamp},
	{Name: "note", Type: types.TypeText},
}

var with = map[string]string{
	"connector":             "datagen",
	"number_of_rows":        "1000",
	"seed":                  "42",
	"fields.id.kind":        "sequence",
	"fields.id.start":       "1",
	"fields.id.end":         "100000",
	"fields.user_id.min":    "1",
	"fields.user_id.max":    "50",
	"fields.amount.min":     "0.5",
	"fields.amount.max":     "99.5",
	"fields.price.min":      "1.00",
	"fields.price.max":      "2.00",
	"fields.url.length":     "12",
	"fields.country.values": "de, fr,us",
	"fields.ts.max_past":    "5s",
	"fields.at.min":         "2026-01-01T00:00:00Z",
	"fields.at.max":         "1767225660000", // a minute later, in epoch ms
	"fields.note.null_rate": "1",
	"fields.NOTE.length":    "3",
}

func drain(t testing.TB, o Options, batch int) []types.Row {
	t.Helper()
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var rows []types.Row
	var b Batch
	for {
		_, err := g.NextBatch(context.Background(), &b, batch)
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, b.Rows...)
	}
}

func TestGenerator_Rules(t *testing.T) {
	o, err := ParseOptions(cols, with)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UnixMicro()
	rows := drain(t, o, 64)
	after := time.Now().UnixMicro()
	if len(rows) != 1000 {
		t.Fatalf("%d rows", len(rows))
	}
	at0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	seen := map[string]bool{}
	for i, r := range rows {
		if r[0].Int() != int64(i+1) {
			t.Fatalf("row %d: id %v", i, r[0])
		}
		if u := r[1].Int(); u < 1 || u > 50 {
			t.Fatalf("user_id %d", u)
		}
		if a := r[2].Float(); a < 0.5 || a > 99.5 {
			t.Fatalf("amount %v", a)
		}
		if p := r[3].Str(); p < "1.00" || p > "2.00" || len(p) != 4 {
			t.Fatalf("price %q", p)
		}
		if len(r[4].Str()) != 12 {
			t.Fatalf("url %q", r[4].Str())
		}
		seen[r[5].Str()] = true
		if ts := r[7].Micros(); ts < before-5_000_000-1000 || ts > after || ts%1000 != 0 {
			t.Fatalf("ts %d not within 5s before now (%d) in ms", ts, before)
		}
		if at := r[8].Micros(); at < at0 || at > at0+60_000_000 {
			t.Fatalf("at %v", r[8])
		}
		if !r[9].IsNull() {
			t.Fatalf("note %v with null_rate 1", r[9])
		}
	}
	if !reflect.DeepEqual(seen, map[string]bool{"de": true, "fr": true, "us": true}) {
		t.Fatalf("countries %v", seen)
	}
}

func TestGenerator_DeterministicAndSplits(t *testing.T) {
	o, err := ParseOptions(cols[:7], map[string]string{"number_of_rows": "500", "seed": "9", "fields.id.kind": "sequence", "fields.id.start": "10", "fields.id.end": "20000"})
	if err != nil {
		t.Fatal(err)
	}
	whole := drain(t, o, 50)
	if again := drain(t, o, 7); !reflect.DeepEqual(whole, again) {
		t.Fatal("same seed, different rows")
	}
	o2 := o
	o2.Seed = 10
	if other := drain(t, o2, 50); reflect.DeepEqual(whole[0][1:], other[0][1:]) {
		t.Fatal("different seeds, same rows")
	}
	total := 0
	for i := range 4 {
		p := o
		p.SplitIndex, p.SplitCount = i, 4
		part := drain(t, p, 33)
		for j, r := range part {
			if !reflect.DeepEqual(r, whole[j*4+i]) {
				t.Fatalf("split %d row %d = %v, want %v", i, j, r, whole[j*4+i])
			}
		}
		total += len(part)
	}
	if total != len(whole) {
		t.Fatalf("splits hold %d rows, whole %d", total, len(whole))
	}
	// Resume.
	g, _ := New(o)
	var b Batch
	g.NextBatch(context.Background(), &b, 123)
	r := o
	r.Offset = g.Offset()
	if rest := drain(t, r, 50); !reflect.DeepEqual(rest, whole[123:]) {
		t.Fatalf("resumed at %d: %d rows", r.Offset, len(rest))
	}
}

func TestGenerator_SequenceEnds(t *testing.T) {
	c := []types.Column{{Name: "n", Type: types.TypeText}, {Name: "t", Type: types.TypeTimestamp}}
	o, err := ParseOptions(c, map[string]string{
		"fields.n.kind": "sequence", "fields.n.start": "5", "fields.n.end": "9",
		"fields.t.kind": "sequence", "fields.t.start": "0", "fields.t.end": "100000", "fields.t.step": "10s",
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := drain(t, o, 2)
	if len(rows) != 5 || rows[4][0].Str() != "9" || rows[4][1].Micros() != 40_000_000 {
		t.Fatalf("rows %v", rows)
	}
}

func TestParseOptions_Errors(t *testing.T) {
	for _, tc := range []struct {
		with map[string]string
		want string
	}{
		{map[string]string{"fields.nope.kind": "random"}, `no column "nope"`},
		{map[string]string{"fields.id.colour": "red"}, "unknown rule"},
		{map[string]string{"fields.id.kind": "shuffle"}, "not one of random, sequence"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "1"}, "needs fields.id.start and fields.id.end"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "9", "fields.id.end": "1"}, "after its end"},
		{map[string]string{"fields.id.min": "9", "fields.id.max": "1"}, "above max"},
		{map[string]string{"fields.id.min": "x"}, "fields.id.min"},
		{map[string]string{"fields.ok.kind": "sequence", "fields.ok.start": "true", "fields.ok.end": "false"}, "a sequence needs"},
		{map[string]string{"fields.amount.null_rate": "2"}, "between 0 and 1"},
		{map[string]string{"rows_per_second": "-1"}, "non-negative"},
	} {
		_, err := ParseOptions(cols, tc.with)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseOptions(%v) = %v, want an error containing %q", tc.with, err, tc.want)
		}
	}
}

func TestGenerator_Pace(t *testing.T) {
	o, _ := ParseOptions(cols[:2], map[string]string{"rows_per_second": "1000", "number_of_rows": "300"})
	start := time.Now()
	if rows := drain(t, o, 1000); len(rows) != 300 {
		t.Fatalf("%d rows", len(rows))
	}
	// The 300th row is due 299 ms after the first.
	if el := time.Since(start); el < 299*time.Millisecond {
		t.Fatalf("300 rows at 1000/s took %v", el)
	}
	o.RowsPerSecond = 1
	g, _ := New(o)
	var b Batch
	g.NextBatch(context.Background(), &b, 1) // the first row is due at once
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.NextBatch(ctx, &b, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("NextBatch with a cancelled context: %v", err)
	}
}

func TestGenerator_Allocs(t *testing.T) {
	o, _ := ParseOptions(cols, with)
	o.NumberOfRows = 0
	o.Fields[0] = Field{} // random ids: the sequence would end
	g, _ := New(o)
	var b Batch
	ctx := context.Background()
	g.NextBatch(ctx, &b, 1024)
	// Decimals are formatted per value; everything else shares the batch's
	// slab and arena.
	if a := testing.AllocsPerRun(10, func() { g.NextBatch(ctx, &b, 1024) }); a > 1024+8 {
		t.Errorf("%v allocations per batch of 1024 rows", a)
	}
}
