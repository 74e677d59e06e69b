package kinesis

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/streamsql/streamsql/internal/emulator"
)

const benchRecordSize = 200

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fillStream writes n records of benchRecordSize bytes over 1000 keys.
func fillStream(b *testing.B, c *kinesis.Client, stream string, n int) {
	b.Helper()
	data := make([]byte, benchRecordSize)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	recs := make([]emulator.Record, n)
	for i := range recs {
		recs[i] = emulator.Record{PartitionKey: fmt.Sprintf("k%d", i%1000), Data: data}
	}
	if _, err := emulator.PutRecords(context.Background(), c, stream, recs); err != nil {
		b.Fatal(err)
	}
}

func report(b *testing.B, records int, bytes int64, elapsed, cpu time.Duration) {
	b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(bytes)/elapsed.Seconds()/1e6, "MB/s")
	b.ReportMetric(cpu.Seconds()/float64(records)*1e6, "cpu-s/Mrec")
}

// BenchmarkRead reads a pre-filled stream from TRIM_HORIZON to its end:
// the source as configured by default (paced under 5 calls/s and 2 MB/s
// per shard), the source with pacing off (its overhead over the emulator),
// and a bare aws-sdk-go-v2 GetRecords loop per shard: the emulator's
// ceiling, measured in the same run.
func BenchmarkRead(b *testing.B) {
	const perShard = 10000
	for _, shards := range []int{1, 4} {
		stream, c := newStream(b, shards)
		fillStream(b, c, stream, perShard*shards)
		total := perShard * shards
		b.Run(fmt.Sprintf("shards=%d/source-paced", shards), func(b *testing.B) {
			benchSource(b, c, stream, total, false)
		})
		b.Run(fmt.Sprintf("shards=%d/source-unpaced", shards), func(b *testing.B) {
			benchSource(b, c, stream, total, true)
		})
		b.Run(fmt.Sprintf("shards=%d/bare-sdk", shards), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				start, cpu0 := time.Now(), cpuTime()
				var wg sync.WaitGroup
				var mu sync.Mutex
				var n int
				var bytes int64
				for s := 0; s < shards; s++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
							ShardId: aws.String(fmt.Sprintf("shardId-%012d", s)), ShardIteratorType: "TRIM_HORIZON"})
						if err != nil {
							b.Error(err)
							return
						}
						iter := it.ShardIterator
						for {
							out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
							if err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							n += len(out.Records)
							for _, r := range out.Records {
								bytes += int64(len(r.Data))
							}
							mu.Unlock()
							if len(out.Records) == 0 {
								return
							}
							iter = out.NextShardIterator
						}
					}()
				}
				wg.Wait()
				if n != total {
					b.Fatalf("read %d of %d", n, total)
				}
				report(b, n, bytes, time.Since(start), cpuTime()-cpu0)
			}
		})
	}
}

func benchSource(b *testing.B, c *kinesis.Client, stream string, total int, unpaced bool) {
	for b.Loop() {
		opts := SourceOptions{Stream: stream, StartPosition: StartTrimHorizon, PollInterval: 10 * time.Millisecond}
		if unpaced {
			opts.MinCallInterval, opts.MaxBytesPerSecond = -1, -1
		}
		src, err := NewSource(c, opts, nil)
		if err != nil {
			b.Fatal(err)
		}
		sub := src.Subscribe(16)
		ctx, cancel := context.WithCancel(context.Background())
		start, cpu0 := time.Now(), cpuTime()
		go func() { _ = src.Run(ctx) }()
		n, bytes := 0, int64(0)
		for n < total {
			if bt, ok := (<-sub.Events()).(*Batch); ok {
				n += len(bt.Records)
				bytes += int64(bt.Bytes)
			}
		}
		elapsed, cpu := time.Since(start), cpuTime()-cpu0
		cancel()
		<-src.Done()
		report(b, n, bytes, elapsed, cpu)
	}
}

// BenchmarkWrite writes through the sink (1000 keys) and, as the ceiling,
// with bare PutRecords calls of 500.
func BenchmarkWrite(b *testing.B) {
	const total = 20000
	data := make([]byte, benchRecordSize)
	for _, shards := range []int{1, 4} {
		b.Run(fmt.Sprintf("shards=%d/sink", shards), func(b *testing.B) {
			for b.Loop() {
				stream, c := newStream(b, shards)
				sink, err := NewSink(c, SinkOptions{Stream: stream})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				go func() { _ = sink.Run(ctx) }()
				start, cpu0 := time.Now(), cpuTime()
				for i := 0; i < total; i++ {
					if err := sink.Write(ctx, SinkRecord{ID: fmt.Sprint(i), PartitionKey: fmt.Sprintf("k%d", i%1000), Data: data}); err != nil {
						b.Fatal(err)
					}
				}
				if err := sink.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				report(b, total, int64(total*len(data)), time.Since(start), cpuTime()-cpu0)
				cancel()
			}
		})
		b.Run(fmt.Sprintf("shards=%d/bare-sdk", shards), func(b *testing.B) {
			for b.Loop() {
				stream, c := newStream(b, shards)
				start, cpu0 := time.Now(), cpuTime()
				fillStream(b, c, stream, total)
				report(b, total, int64(total*benchRecordSize), time.Since(start), cpuTime()-cpu0)
			}
		})
	}
}
