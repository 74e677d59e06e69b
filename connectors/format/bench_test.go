package format

import (
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
