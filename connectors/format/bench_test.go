package format

import (
	"fmt"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/streamsql/streamsql/sql/types"
)

// BenchmarkDecodeJSON decodes the demo's click event into a row, beside
// goccy/go-json unmarshalling it into a struct: the ceiling we compare
// with (it produces Go fields, not SQL values, and parses no timestamp).
func BenchmarkDecodeJSON(b *testing.B) {
	data := []byte(clickJSON)
	b.Run("streamsql/row", func(b *testing.B) {
		dec, err := NewDecoder(Options{Format: JSON, Columns: clickCols})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := dec.Decode(data, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("streamsql/row-reused", func(b *testing.B) {
		dec, err := NewDecoder(Options{Format: JSON, Columns: clickCols})
		if err != nil {
			b.Fatal(err)
		}
		row := make(types.Row, len(clickCols))
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if row, err = dec.Decode(data, nil, row); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("streamsql-before/row-reused", func(b *testing.B) {
		dec, err := newOldJSONDecoder(clickCols, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		row := make(types.Row, len(clickCols))
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if row, err = dec.Decode(data, nil, row); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("goccy/struct", func(b *testing.B) {
		type click struct {
			UserID int64   `json:"user_id"`
			URL    string  `json:"url"`
			Amount float64 `json:"amount"`
			TS     string  `json:"ts"`
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var c click
			if err := gojson.Unmarshal(data, &c); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("goccy/struct+time", func(b *testing.B) {
		type click struct {
			UserID int64     `json:"user_id"`
			URL    string    `json:"url"`
			Amount float64   `json:"amount"`
			TS     time.Time `json:"ts"`
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var c click
			if err := gojson.Unmarshal(data, &c); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

func BenchmarkEncodeJSON(b *testing.B) {
	enc := NewJSONEncoder(clickCols)
	row := types.Row{types.NewInt(1), types.NewString("/x"), types.NewFloat(1.5), types.NewTimestamp(1795600800000000)}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = enc.Append(buf[:0], row)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeJSONNeeded decodes the click event with every column
// needed and with only user_id needed (the others skipped unparsed, as
// when the planner prunes a view's scan).
func BenchmarkDecodeJSONNeeded(b *testing.B) {
	data := []byte(clickJSON)
	for _, c := range []struct {
		name   string
		needed []bool
	}{
		{"all-columns", nil},
		{"user_id-only", []bool{true, false, false, false}},
	} {
		b.Run(c.name, func(b *testing.B) {
			dec, err := NewDecoder(Options{Format: JSON, Columns: clickCols, Needed: c.needed})
			if err != nil {
				b.Fatal(err)
			}
			row := make(types.Row, len(clickCols))
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if row, err = dec.Decode(data, nil, row); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// benchClicks are events shaped like the tumbling benchmark's
// (bench/clicks.go): {"user_id":<int>,"amount":<dollars.cents>,"ts":<epoch ms>}.
func benchClicks(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"user_id":%d,"amount":%d.%02d,"ts":%d}`,
			1+(i*7919)%1000, (i*31)%1000, (i*17)%100, 1795600800000+int64(i)*3)
	}
	return out
}

var benchClickCols = []types.Column{
	{Name: "user_id", Type: types.TypeBigInt},
	{Name: "amount", Type: types.TypeDouble},
	{Name: "ts", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
}

// BenchmarkDecodeClickVsGoccy decodes the tumbling benchmark's events
// three ways, interleaved in blocks so that a noisy machine slows all
// alike: into rows (the file source's path: a reused batch of rows), with
// the decoder this one replaced (old_decoders_test.go), and with goccy/go-json
// into the ceiling's struct (bench/ceiling.go). It reports each one's
// ns/event and the ratios to goccy.
func BenchmarkDecodeClickVsGoccy(b *testing.B) {
	events := benchClicks(256)
	dec, err := newJSONDecoder(benchClickCols, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	old, err := newOldJSONDecoder(benchClickCols, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	type click struct {
		UserID int64   `json:"user_id"`
		Amount float64 `json:"amount"`
		Ts     int64   `json:"ts"`
	}
	n := len(benchClickCols)
	vals := make([]types.Value, len(events)*n)
	var ours, before, goccy time.Duration
	var sink int64
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		for i, ev := range events {
			row, err := dec.Decode(ev, nil, vals[i*n:i*n:i*n+n])
			if err != nil {
				b.Fatal(err)
			}
			sink += row[0].Int()
		}
		t1 := time.Now()
		for _, ev := range events {
			var c click
			if err := gojson.UnmarshalNoEscape(ev, &c); err != nil {
				b.Fatal(err)
			}
			sink += c.UserID
		}
		t2 := time.Now()
		for i, ev := range events {
			row, err := old.Decode(ev, nil, vals[i*n:i*n:i*n+n])
			if err != nil {
				b.Fatal(err)
			}
			sink += row[0].Int()
		}
		t3 := time.Now()
		ours += t1.Sub(t0)
		goccy += t2.Sub(t1)
		before += t3.Sub(t2)
	}
	if sink == 0 {
		b.Fatal("nothing decoded")
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*len(events)) }
	b.ReportMetric(per(ours), "ns/event-rows")
	b.ReportMetric(per(before), "ns/event-rows-before")
	b.ReportMetric(per(goccy), "ns/event-goccy")
	b.ReportMetric(per(ours)/per(goccy), "rows/goccy")
	b.ReportMetric(per(before)/per(goccy), "before/goccy")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDecodeCSV decodes click lines into reused rows with the decoder
// and with the one it replaced (old_decoders_test.go), interleaved in
// blocks, and reports each one's ns/line and their ratio.
func BenchmarkDecodeCSV(b *testing.B) {
	lines := make([][]byte, 256)
	for i := range lines {
		lines[i] = fmt.Appendf(nil, "%d,/p/%d,%d.%02d,2026-11-25 10:%02d:%02d.%03d\n", i*7919%1000, i%50, i%1000, i%100, i%60, i*7%60, i)
	}
	dec, err := newCSVDecoder(clickCols, nil)
	if err != nil {
		b.Fatal(err)
	}
	old, err := newOldCSVDecoder(clickCols, nil)
	if err != nil {
		b.Fatal(err)
	}
	n := len(clickCols)
	vals := make([]types.Value, len(lines)*n)
	var ours, before time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		for i, l := range lines {
			if _, err := dec.Decode(l, nil, vals[i*n:i*n:i*n+n]); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for i, l := range lines {
			if _, err := old.Decode(l, nil, vals[i*n:i*n:i*n+n]); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		ours += t1.Sub(t0)
		before += t2.Sub(t1)
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*len(lines)) }
	b.ReportMetric(per(ours), "ns/line-rows")
	b.ReportMetric(per(before), "ns/line-rows-before")
	b.ReportMetric(per(ours)/per(before), "rows/before")
	b.ReportMetric(0, "ns/op")
}
