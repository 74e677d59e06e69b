package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/internal/emulator"
)

// The demo's layout under its data directory. A clean stop (SIGINT,
// SIGTERM) removes these, so the next demo starts afresh; a kill -9 leaves
// them, and the next demo continues from them, the emulator included.
const (
	demoServerDir   = "server"     // the engine's data directory
	demoEmulatorDir = "kinesalite" // the emulator's streams
	demoPIDFile     = "demo.pid"   // for the README's kill -9
)

// demoStreams are the streams the demo creates: clicks, which its producer
// writes, and clicks-copy for the README's CREATE SINK.
var demoStreams = []string{"clicks", "clicks-copy"}

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "Starts a local Kinesis emulator (kinesalite) with the streams 'clicks' and 'clicks-copy', a producer\n"+
		"of synthetic click events into 'clicks', and the server, whose Kinesis sources and sinks default to the\n"+
		"emulator's endpoint. It creates no source or view: README.md's psql session does.\n\n"+
		"The emulator listens on a fixed port and both keep their data under --data-dir, so a demo killed with\n"+
		"kill -9 and started again continues where it was. Ctrl-C (or SIGTERM) stops the demo and removes its data.", stderr)
	f := addServerFlags(fs, "./streamsql-demo")
	rate := fs.int("rate", 50, "click events per second the producer writes")
	emuPort := fs.int("emulator-port", 4567, "loopback port of the Kinesis emulator; fixed so that a restarted demo's sources find it again")
	if err := fs.parse(args); err != nil {
		return err
	}
	log, err := newLogger(*f.logLevel, *f.logFormat, stderr)
	if err != nil {
		return err
	}
	if *emuPort <= 0 || *emuPort > 65535 {
		return fmt.Errorf("--emulator-port %d: want a port from 1 to 65535", *emuPort)
	}
	if *rate <= 0 {
		return fmt.Errorf("--rate %d: must be positive", *rate)
	}
	// A second demo would otherwise wait for the emulator's port first.
	if err := checkFree(*f.listen); err != nil {
		return err
	}

	restore := takeForeground()
	defer restore()

	dir := *f.dataDir
	serverDir := filepath.Join(dir, demoServerDir)
	if _, err := os.Stat(serverDir); err == nil {
		fmt.Fprintf(stdout, "streamsql demo: continuing from %s (left by a demo that did not stop cleanly; delete it to start afresh)\n", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo data directory: %w", err)
	}
	pidFile := filepath.Join(dir, demoPIDFile)
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("demo pid file: %w", err)
	}

	fmt.Fprintf(stdout, "streamsql demo: starting kinesalite on 127.0.0.1:%d\n", *emuPort)
	emu, err := emulator.Start(ctx, emulator.Options{Port: *emuPort, Dir: filepath.Join(dir, demoEmulatorDir)})
	if errors.Is(err, emulator.ErrBusy) {
		return fmt.Errorf("%w\nIs another demo running? Stop it, or choose another --emulator-port and --data-dir", err)
	}
	if err != nil {
		return err
	}
	defer emu.Stop()
	if emu.InMemory() {
		log.Warn("the emulator keeps its streams in memory on this platform (no prebuilt leveldown): a demo killed and started again will not find them")
	}
	client, err := emu.Client()
	if err != nil {
		return err
	}
	for _, s := range demoStreams {
		if err := createStreamOnce(ctx, client, s, 2); err != nil {
			return err
		}
	}
	prodCtx, stopProducer := context.WithCancel(ctx)
	var producer sync.WaitGroup
	producer.Go(func() { produceClicks(prodCtx, client, demoStreams[0], *rate, log) })
	defer producer.Wait()
	defer stopProducer()

	*f.dataDir = serverDir
	*f.kinesisEndpoint = emu.Endpoint()
	err = serve(ctx, f, log, func(_ *streamsql.Engine, at listening) {
		host, port, _ := net.SplitHostPort(at.PG.String())
		fmt.Fprintf(stdout, `
streamsql demo is running (pid %d).
  Kinesis emulator: kinesalite at %s, the default endpoint of Kinesis sources and sinks
  streams: %q (2 shards, %d click events/s from the demo's producer), %q (2 shards)
  data: %s (kept if the demo is killed, removed when it stops)

Connect with:

    psql -h %s -p %s -U demo

and follow the psql session in README.md. Ctrl-C stops the demo.
`, os.Getpid(), emu.Endpoint(), demoStreams[0], *rate, demoStreams[1], dir, host, port)
		if at.HTTP != nil {
			fmt.Fprintf(stdout, "dashboard: http://%s/\nPrometheus metrics: http://%s/metrics\n", at.HTTP, at.HTTP)
		}
	})
	stopProducer()
	producer.Wait()
	if stopErr := emu.Stop(); stopErr != nil {
		log.Warn("stop the emulator", "err", stopErr)
	}
	if err != nil || ctx.Err() == nil {
		return err // the data stays for a look, or for a restart
	}
	// Stopped on purpose: the next demo starts afresh.
	for _, name := range []string{demoServerDir, demoEmulatorDir, demoPIDFile} {
		if rmErr := os.RemoveAll(filepath.Join(dir, name)); rmErr != nil {
			return fmt.Errorf("remove the demo's data: %w", rmErr)
		}
	}
	_ = os.Remove(dir) // only when empty: it may hold what the demo did not make
	fmt.Fprintf(stdout, "streamsql demo: stopped; removed its data from %s\n", dir)
	return nil
}

// checkFree reports an address something already listens on.
func checkFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another streamsql demo or server running? choose another address with --listen)", addr, err)
	}
	return ln.Close()
}

// createStreamOnce creates a stream unless the emulator kept it from an
// earlier run.
func createStreamOnce(ctx context.Context, c *kinesis.Client, name string, shards int) error {
	err := emulator.CreateStream(ctx, c, name, shards)
	if inUse := (*ktypes.ResourceInUseException)(nil); errors.As(err, &inUse) {
		return emulator.WaitActive(ctx, c, name)
	}
	return err
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
