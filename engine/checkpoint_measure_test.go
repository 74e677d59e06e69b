package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// TestMeasureCheckpoints measures one view pipeline with 1 s checkpoints
// against checkpoints effectively disabled (a 1 h interval; FLUSH's final
// commit only), over the same records, in one run, and the checkpoint
// durations with one key of state per record. It runs only with
// STREAMSQL_MEASURE_CHECKPOINTS=<records>, e.g.
//
//	STREAMSQL_MEASURE_CHECKPOINTS=300000 go test -run TestMeasureCheckpoints -v .
func TestMeasureCheckpoints(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STREAMSQL_MEASURE_CHECKPOINTS"))
	if n <= 0 {
		t.Skip("set STREAMSQL_MEASURE_CHECKPOINTS=<records> to measure")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	emu := emulator.StartForTest(ctx, t, emulator.Options{})
	if err := emu.CreateStream(ctx, "m-in", 4); err != nil {
		t.Fatal(err)
	}
	putStart := time.Now()
	const batch = 500
	for i := 0; i < n; i += batch {
		recs := make([]emulator.Record, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			data, _ := json.Marshal(map[string]any{"k": j, "amount": j % 100})
			recs = append(recs, emulator.Record{PartitionKey: strconv.Itoa(j), Data: data})
		}
		if _, err := emu.PutRecords(ctx, "m-in", recs); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("put %d records in %v", n, time.Since(putStart).Round(time.Millisecond))

	run := func(interval time.Duration) (time.Duration, CheckpointStats) {
		e, err := Open(ctx, Config{DataDir: t.TempDir(), CheckpointInterval: interval})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		src := fmt.Sprintf("CREATE SOURCE m (k BIGINT, amount BIGINT) WITH (connector = 'kinesis', endpoint = '%s', "+
			"region = 'us-east-1', stream = 'm-in', start_position = 'trim_horizon')", emu.Endpoint())
		if err := e.Exec(ctx, src); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		// One key of state per record: GROUP BY the record's own key.
		if err := e.Exec(ctx, "CREATE MATERIALIZED VIEW m_keys AS SELECT k, COUNT(*) AS n, SUM(amount) AS total FROM m GROUP BY k"); err != nil {
			t.Fatal(err)
		}
		if err := e.Exec(ctx, "FLUSH"); err != nil {
			t.Fatal(err)
		}
		return time.Since(start), e.CheckpointStats()
	}
	with, st := run(time.Second)
	without, _ := run(time.Hour)
	t.Logf("1 s checkpoints: %v (%.0f records/s), %d checkpoints, p50 %v, p99 %v, max %v",
		with.Round(time.Millisecond), float64(n)/with.Seconds(), st.Count, st.P50, st.P99, st.Max)
	t.Logf("checkpoints disabled (1 h): %v (%.0f records/s)", without.Round(time.Millisecond), float64(n)/without.Seconds())
	t.Logf("throughput ratio (1 s / disabled): %.3f", without.Seconds()/with.Seconds())
}
