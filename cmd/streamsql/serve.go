package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/streamsql/streamsql"
	"github.com/streamsql/streamsql/cluster"
	"github.com/streamsql/streamsql/wire"
)

// serverFlags are the flags of every command that runs the server.
type serverFlags struct {
	listen, dataDir, logLevel, password *string
	httpListen, logFormat               *string
	checkpointInterval                  *time.Duration
	checkpointMinInterval               *time.Duration
	aggCacheGroups                      *int
	memoryLimit                         *string
	kinesisEndpoint                     *string
	cluster                             *clusterFlags // serve only (cluster.go)
}

func addServerFlags(fs *flagSet, defaultDataDir string) serverFlags {
	return serverFlags{
		listen:    fs.string("listen", "127.0.0.1:4566", "address for Postgres clients"),
		dataDir:   fs.string("data-dir", defaultDataDir, "directory for the catalog, state and offsets"),
		logLevel:  fs.string("log-level", "info", "debug, info, warn or error"),
		logFormat: fs.string("log-format", "text", "text (key=value) or json (one object a line, for log shippers)"),
		httpListen: fs.string("http-listen", defaultHTTPListen,
			"address of the HTTP listener serving /metrics (Prometheus), /healthz, /readyz and the dashboard; empty for none"),
		password: fs.string("password", "", "require this password (SCRAM-SHA-256) from clients; empty allows any client"),
		checkpointInterval: fs.duration("checkpoint-interval", streamsql.DefaultCheckpointInterval,
			"how often view state and source positions are committed together (SET checkpoint_interval changes it at run time)"),
		checkpointMinInterval: fs.duration("checkpoint-min-interval", streamsql.DefaultCheckpointMinInterval,
			"how soon after the previous commit began rows read from a caught-up source are committed, ahead of --checkpoint-interval (SET checkpoint_min_interval)"),
		aggCacheGroups: fs.int("agg-cache-groups", 0,
			"groups each aggregate of a view keeps in memory; the others are read from its state when touched (0: bounded by bytes instead, with the joins' caches, in an eighth of --memory-limit)"),
		memoryLimit: fs.string("memory-limit", "",
			"memory the engine stays within: its caches, Badger's and writes not yet committed are sized from it, and the Go runtime's soft limit is 90% of it; e.g. 2GiB or 512MiB (default: half of the machine's or cgroup's memory, 256MiB to 8GiB)"),
		kinesisEndpoint: fs.string("kinesis-endpoint", "",
			"endpoint URL of Kinesis sources and sinks that name none, e.g. a local emulator's http://127.0.0.1:4567; written into their definition at CREATE (empty: AWS's)"),
	}
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "Runs the engine and serves it over the Postgres wire protocol until SIGINT or SIGTERM.", stderr)
	f := addServerFlags(fs, "./streamsql-data")
	f.cluster = addClusterFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	log, err := newLogger(*f.logLevel, *f.logFormat, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, f, log, nil)
}

// listening are the addresses serve listens on.
type listening struct {
	PG   net.Addr // Postgres clients
	HTTP net.Addr // metrics, health and the dashboard; nil without --http-listen
}

// serve opens the engine, listens, and serves until ctx is done; ready,
// when set, is called with the engine and the addresses once clients can
// connect.
func serve(ctx context.Context, f serverFlags, log *slog.Logger, ready func(*streamsql.Engine, listening)) error {
	if f.checkpointInterval != nil && *f.checkpointInterval <= 0 {
		return fmt.Errorf("--checkpoint-interval %v: must be positive", *f.checkpointInterval)
	}
	var interval time.Duration
	if f.checkpointInterval != nil {
		interval = *f.checkpointInterval
	}
	cfg := streamsql.Config{DataDir: *f.dataDir, Logger: log, CheckpointInterval: interval}
	if f.checkpointMinInterval != nil {
		switch d := *f.checkpointMinInterval; {
		case d < 0:
			return fmt.Errorf("--checkpoint-min-interval %v: must not be negative", d)
		case d == 0:
			cfg.CheckpointMinInterval = -1 // Config's zero is the default
		default:
			cfg.CheckpointMinInterval = d
		}
	}
	if f.kinesisEndpoint != nil {
		cfg.KinesisEndpoint = *f.kinesisEndpoint
	}
	if f.aggCacheGroups != nil {
		if *f.aggCacheGroups < 0 {
			return fmt.Errorf("--agg-cache-groups %d: must not be negative", *f.aggCacheGroups)
		}
		cfg.AggCacheGroups = *f.aggCacheGroups
	}
	cfg.MemoryLimit = streamsql.DefaultMemoryLimit()
	if f.memoryLimit != nil && *f.memoryLimit != "" {
		n, err := streamsql.ParseMemoryLimit(*f.memoryLimit)
		if err != nil {
			return fmt.Errorf("--memory-limit: %w", err)
		}
		cfg.MemoryLimit = n
	}
	// The Go heap is most of the process; Badger's file pages and the
	// runtime's own are the rest. GOMEMLIMIT, when set, wins.
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(cfg.MemoryLimit / 10 * 9)
	}
	inCluster, err := f.cluster.enabled()
	if err != nil {
		return err
	}
	var ln net.Listener
	var member *cluster.Member
	if inCluster {
		// Bound first: the address peers use is the one bound (--listen
		// may ask for port 0).
		if ln, err = net.Listen("tcp", *f.listen); err != nil {
			return fmt.Errorf("listen on %s: %w", *f.listen, err)
		}
		defer ln.Close()
		if member, err = f.cluster.join(ctx, ln, *f.password); err != nil {
			return err
		}
		// Runs after the engine's Close (deferred below): nothing commits
		// once the leases are released.
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := member.Close(closeCtx); err != nil {
				log.Error("leave the cluster", "err", err)
			}
		}()
		cfg.Cluster = member.EngineConfig()
	}
	eng, err := streamsql.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := eng.Close(); err != nil {
			log.Error("close engine", "err", err)
		}
	}()
	if member != nil {
		if err := member.Register(eng.Metrics()); err != nil {
			return fmt.Errorf("cluster metrics: %w", err)
		}
		member.SetLocal(eng)
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", *f.listen); err != nil {
			return fmt.Errorf("listen on %s: %w", *f.listen, err)
		}
		defer ln.Close() // if the HTTP listener fails to start; Serve closes it otherwise
	}
	var web *httpServer
	if f.httpListen != nil && *f.httpListen != "" {
		if web, err = startHTTP(*f.httpListen, eng, log); err != nil {
			return err
		}
		defer func() {
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := web.shutdown(shutdownCtx); err != nil {
				log.Warn("shutdown", "err", err)
			}
		}()
	}
	srv := wire.NewServer(wire.EngineBackend(eng), wire.Options{Password: *f.password, Logger: log})
	errc := make(chan error, 1)
	// Serve gets a context of its own: a signal ends ctx, and then Shutdown,
	// not a cancelled Serve, stops the server so that sessions end cleanly.
	go func() { errc <- srv.Serve(context.WithoutCancel(ctx), ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "data_dir", *f.dataDir)
	if ready != nil {
		at := listening{PG: ln.Addr()}
		if web != nil {
			at.HTTP = web.addr
		}
		ready(eng, at)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return <-errc
}
