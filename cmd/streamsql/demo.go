package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/internal/emulator"
)

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "Starts a local Kinesis emulator (kinesalite) with a stream 'clicks', a producer of\n"+
		"synthetic click events, and the server with a source and a view over them.", stderr)
	f := addServerFlags(fs, "")
	rate := fs.int("rate", 50, "click events per second the producer writes")
	if err := fs.parse(args); err != nil {
		return err
	}
	log, err := newLogger(*f.logLevel, stderr)
	if err != nil {
		return err
	}
	if *f.dataDir == "" {
		dir, err := os.MkdirTemp("", "streamsql-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*f.dataDir = dir
	}

	log.Info("starting kinesalite (npm ci on first use)")
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		return err
	}
	defer emu.Stop()
	client, err := emu.Client()
	if err != nil {
		return err
	}
	const stream = "clicks"
	// clicks-copy is there for the README's CREATE SINK example.
	for _, s := range []string{stream, "clicks-copy"} {
		if err := emulator.CreateStream(ctx, client, s, 2); err != nil {
			return fmt.Errorf("create stream %s: %w", s, err)
		}
	}
	go produceClicks(ctx, client, stream, *rate, log)

	return serve(ctx, f, log, func(eng *streamsql.Engine, addr net.Addr) {
		if err := eng.Exec(ctx, demoSchema(emu.Endpoint())); err != nil {
			log.Error("create demo objects", "err", err)
			return
		}
		host, port, _ := net.SplitHostPort(addr.String())
		fmt.Fprintf(stdout, `
streamsql demo is running: kinesalite at %s, stream %q (2 shards), %d clicks/s.
Connect with:

    psql -h %s -p %s -U demo

and try: SHOW SOURCES; DESCRIBE clicks; SELECT COUNT(*), SUM(amount) FROM clicks;
         SELECT * FROM clicks LIMIT 5; EXPLAIN SELECT * FROM spend; SHOW SOURCE STATUS clicks;
Press Ctrl-C to stop.
`, emu.Endpoint(), stream, *rate, host, port)
	})
}

// demoSchema binds the demo stream and defines the view of the README.
func demoSchema(endpoint string) string {
	return fmt.Sprintf(`
CREATE SOURCE IF NOT EXISTS clicks (
    user_id BIGINT, url VARCHAR(2048), amount DOUBLE, ts TIMESTAMP(3),
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
    connector = 'kinesis', stream = 'clicks', region = 'us-east-1',
    endpoint = '%s', format = 'json', start_position = 'trim_horizon'
);
CREATE MATERIALIZED VIEW IF NOT EXISTS spend AS
SELECT user_id, window_start, window_end, COUNT(*) AS n, SUM(amount) AS total
FROM TUMBLE(clicks, ts, INTERVAL '1' MINUTE)
GROUP BY user_id, window_start, window_end
EMIT ON WINDOW CLOSE;`, endpoint)
}

type click struct {
	UserID int64   `json:"user_id"`
	URL    string  `json:"url"`
	Amount float64 `json:"amount"`
	TS     string  `json:"ts"`
}

var demoURLs = []string{"/", "/search", "/cart", "/checkout", "/product/1", "/product/2", "/help"}

// produceClicks writes rate events per second, in batches ten times a
// second, until ctx is done.
func produceClicks(ctx context.Context, c *kinesis.Client, stream string, rate int, log *slog.Logger) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	perTick := max(rate/10, 1)
	var sent int
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		batch := make([]emulator.Record, perTick)
		for i := range batch {
			ev := click{
				UserID: rng.Int64N(100) + 1,
				URL:    demoURLs[rng.IntN(len(demoURLs))],
				Amount: float64(rng.IntN(10000)) / 100,
				TS:     time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			}
			data, _ := json.Marshal(ev)
			batch[i] = emulator.Record{PartitionKey: fmt.Sprint(ev.UserID), Data: data}
		}
		if _, err := emulator.PutRecords(ctx, c, stream, batch); err != nil {
			if ctx.Err() == nil {
				log.Warn("demo producer", "err", err)
			}
			continue
		}
		if sent += len(batch); sent%(rate*60) < perTick {
			log.Info("demo producer", "records_sent", sent)
		}
	}
}
