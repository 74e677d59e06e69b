package file

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/types"
)

// BenchmarkReadJSONLines reads and decodes a file of click events as the
// benchmark writes them (~60 bytes a line) into rows, once per op: the
// file source's cost per line before the view's operators. Metrics:
// lines/s, MB/s (from SetBytes), ns and allocations per line.
func BenchmarkReadJSONLines(b *testing.B) {
	const lines = 100_000
	cols := []types.Column{
		{Name: "user_id", Type: types.TypeBigInt},
		{Name: "amount", Type: types.TypeDouble},
		{Name: "ts", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
	}
	path := filepath.Join(b.TempDir(), "clicks.jsonl")
	var sb strings.Builder
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range lines {
		fmt.Fprintf(&sb, `{"user_id":%d,"amount":%d.%02d,"ts":"%s"}`+"\n", i%1000, i%500, i%100,
			base.Add(time.Duration(i)*time.Millisecond).Format("2006-01-02T15:04:05.000Z"))
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		r, err := Open(Options{Source: "bench", Path: path, Format: "json", Columns: cols}, Position{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rows, _, err := r.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(rows)
		}
		r.Close()
		if n != lines {
			b.Fatalf("read %d lines, want %d", n, lines)
		}
	}
	perLine := float64(b.Elapsed().Nanoseconds()) / float64(b.N*lines)
	b.ReportMetric(1e9/perLine, "lines/s")
	b.ReportMetric(perLine, "ns/line")
}
