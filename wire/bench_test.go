package wire

import (
	"bufio"
	"context"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/streamsql/streamsql/sql/types"
)

// benchBackend serves "select 1" and "rows": benchRows rows of (bigint,
// text, double, timestamp) made without allocating per row, so the figures
// measure the server and the client, not the fake engine.
const benchRows = 1_000_000

var benchCols = []types.Column{
	{Name: "id", Type: types.TypeBigInt},
	{Name: "name", Type: types.TypeText},
	{Name: "score", Type: types.TypeDouble},
	{Name: "ts", Type: types.TypeTimestamp},
}

func benchBackend() Backend {
	one := &fakeStatement{sql: "select 1", cols: []types.Column{{Name: "?column?", Type: types.TypeInt}}}
	rows := &fakeStatement{sql: "rows", cols: benchCols}
	return &fakeBackend{NewSessionFunc: func(context.Context, map[string]string) (Session, error) {
		return &fakeSession{
			PrepareFunc: func(_ context.Context, q string) ([]Statement, error) {
				if q == "rows" {
					return []Statement{rows}, nil
				}
				return []Statement{one}, nil
			},
			ExecuteFunc: func(_ context.Context, st Statement, _ []types.Value) (Rows, error) {
				if st == Statement(one) {
					return sliceRows(one.cols, []types.Row{{types.NewInt(1)}}), nil
				}
				i := int64(0)
				const base = 1704164645123456
				return &funcRows{cols: benchCols, gen: func(row types.Row) (bool, error) {
					if i >= benchRows {
						return false, nil
					}
					row[0] = types.NewInt(i)
					row[1] = types.NewString("user-name")
					row[2] = types.NewFloat(float64(i) * 0.25)
					row[3] = types.NewTimestamp(base + i*1000)
					i++
					return true, nil
				}}, nil
			},
		}, nil
	}}
}

func BenchmarkSimpleQuery(b *testing.B) {
	_, addr := testServer(b, benchBackend(), Options{})
	conn := connect(b, addr, "")
	ctx := context.Background()
	b.Run("simple", func(b *testing.B) {
		for b.Loop() {
			if _, err := conn.PgConn().Exec(ctx, "select 1").ReadAll(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	})
	b.Run("extended", func(b *testing.B) {
		var n int
		for b.Loop() {
			if err := conn.QueryRow(ctx, "select 1", pgx.QueryExecModeCacheStatement).Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	})
}

func BenchmarkRows(b *testing.B) {
	_, addr := testServer(b, benchBackend(), Options{})
	conn := connect(b, addr, "")
	ctx := context.Background()
	for _, f := range []struct {
		name   string
		format int16
	}{{"text", 0}, {"binary", 1}} {
		b.Run(f.name, func(b *testing.B) {
			var total int
			start := time.Now()
			for b.Loop() {
				rr := conn.PgConn().ExecParams(ctx, "rows", nil, nil, nil, []int16{f.format})
				n := 0
				for rr.NextRow() {
					n += len(rr.Values())
				}
				if _, err := rr.Close(); err != nil {
					b.Fatal(err)
				}
				if n != 4*benchRows {
					b.Fatalf("got %d values", n)
				}
				total += benchRows
			}
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), "rows/s")
		})
	}
}

// BenchmarkWriteRow measures the server's row encoding alone.
func BenchmarkWriteRow(b *testing.B) {
	row := types.Row{types.NewInt(123456789), types.NewString("user-name"), types.NewFloat(12.25),
		types.NewTimestamp(1704164645123456)}
	for _, binary := range []bool{false, true} {
		name := "text"
		formats := []int16{0}
		if binary {
			name, formats = "binary", []int16{1}
		}
		b.Run(name, func(b *testing.B) {
			c := &conn{w: bufioDiscard()}
			encs := newEncoders(benchCols, formats)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.writeRow(row, encs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func bufioDiscard() *bufio.Writer { return bufio.NewWriterSize(io.Discard, writeBufferSize) }
