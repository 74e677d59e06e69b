// Package state owns everything streamsql keeps on disk, in one Badger
// database: the catalog, keyed operator state (Table), source positions and
// committed epochs. Keys are built with the order-preserving codec in
// keys.go; how an epoch's writes become visible all at once, even when they
// do not fit one Badger transaction, is described at the top of epoch.go.
package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// FormatVersion is the on-disk layout this build reads and writes. A data
// directory written with another version is refused rather than misread.
const FormatVersion = 1

// Key prefixes: one byte per family, so families never interleave.
const (
	prefixMeta    byte = 'm'
	prefixCatalog byte = 'c'
)

var keyFormat = append([]byte{prefixMeta}, "format"...)

// ErrIncompatible is returned by Open for a data directory written by an
// incompatible version of streamsql.
var ErrIncompatible = errors.New("incompatible data directory")

// DB is the engine's Badger database.
type DB struct {
	db    *badger.DB
	log   *slog.Logger
	epoch epochState

	// The value-log GC goroutine (gc.go): gcStop ends it, gcDone is closed
	// when it has; both nil when it does not run. gcRuns counts its rounds.
	gcStop, gcDone chan struct{}
	gcRuns         atomic.Int64
	closeOnce      sync.Once
	closeErr       error

	// drops counts the goroutines deleting dropped objects' state (gc.go);
	// closing, closed by Close, stops them.
	drops   sync.WaitGroup
	closing chan struct{}

	// uncommitted is the memory of every Table's buffered writes, dirty
	// and sealed, not yet in Badger (Uncommitted).
	uncommitted atomic.Int64

	// Deferred tables' committed overlays (deferred.go): deferredBytes is
	// their memory (also counted in uncommitted), applied to Badger when
	// over deferApply.
	deferred      deferState
	deferredBytes atomic.Int64
	deferApply    int64
	// logBytes is the state log written since the last apply (guarded
	// by commitMu): applied over deferApply too, so that the log, and the
	// time a restart takes to replay it, stays bounded while keys put and
	// deleted keep the overlays small.
	logBytes int64
}

// Options configures Open.
type Options struct {
	Dir    string
	Logger *slog.Logger
	// InMemory keeps everything in memory (tests that need no restart).
	InMemory bool
	// GCInterval is how often the value-log GC runs; DefaultGCInterval
	// when zero. It does not run InMemory (there is no value log).
	GCInterval time.Duration
	// Memory sizes Badger's memory; zero fields keep this package's
	// defaults.
	Memory Memory
	// DeferredApplyBytes is the memory of deferred tables' committed
	// writes above which they are applied to their keys (deferred.go);
	// DefaultDeferredApplyBytes when zero.
	DeferredApplyBytes int64
}

// Memory is what Badger may keep in memory.
type Memory struct {
	// MemTableSize is each memtable's size (default 64 MiB); a
	// transaction holds at most about 15% of it, and larger epochs are
	// written in batches (epoch.go). NumMemtables is how many may be in
	// memory (default 5).
	MemTableSize int64
	NumMemtables int
	// BlockCacheSize bounds the cache of decompressed blocks (default
	// 256 MiB); IndexCacheSize the cache of tables' indexes and bloom
	// filters (default 0: every index stays in memory, growing with the
	// data).
	BlockCacheSize, IndexCacheSize int64
	// NumCompactors is how many compactions run at once (default 4): each
	// builds its tables in memory, several megabytes to a few hundred
	// under heavy writes (a heap profile of the bidders join).
	NumCompactors int
}

// Open opens or creates the database in opts.Dir.
func Open(ctx context.Context, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	bo := badger.DefaultOptions(opts.Dir).
		WithLogger(badgerLogger{log.With("component", "badger")}).
		WithLoggingLevel(badger.WARNING).
		WithInMemory(opts.InMemory).
		// One memtable of 64 MiB caps a transaction at about 9.6 MiB; epochs
		// larger than that are written in batches by the checkpoint code.
		WithMemTableSize(64 << 20).
		WithNumVersionsToKeep(1)
	if m := opts.Memory; m.MemTableSize > 0 {
		bo = bo.WithMemTableSize(m.MemTableSize)
	}
	if m := opts.Memory; m.NumMemtables > 0 {
		// Level 0 tables are flushed memtables: fewer of them in memory,
		// fewer before compaction.
		bo = bo.WithNumMemtables(m.NumMemtables).WithNumLevelZeroTables(min(m.NumMemtables, 5))
	}
	if m := opts.Memory; m.BlockCacheSize > 0 {
		bo = bo.WithBlockCacheSize(m.BlockCacheSize)
	}
	if m := opts.Memory; m.IndexCacheSize > 0 {
		bo = bo.WithIndexCacheSize(m.IndexCacheSize)
	}
	if m := opts.Memory; m.NumCompactors > 0 {
		bo = bo.WithNumCompactors(m.NumCompactors)
	}
	if opts.InMemory {
		bo = bo.WithDir("").WithValueDir("")
	}
	bdb, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open data dir %q: %w", opts.Dir, err)
	}
	d := &DB{db: bdb, log: log, closing: make(chan struct{}), deferApply: opts.DeferredApplyBytes}
	if d.deferApply <= 0 {
		d.deferApply = DefaultDeferredApplyBytes
	}
	if n := knobs().deferApply; n > 0 {
		d.deferApply = n
	}
	if err := d.checkFormat(); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if err := d.RecoverEpochs(); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if err := d.resumeDrops(); err != nil {
		close(d.closing)
		d.drops.Wait()
		_ = bdb.Close()
		return nil, err
	}
	if !opts.InMemory {
		interval := opts.GCInterval
		if interval <= 0 {
			interval = DefaultGCInterval
		}
		d.gcStop, d.gcDone = make(chan struct{}), make(chan struct{})
		go d.gcLoop(interval, d.gcStop, d.gcDone)
	}
	return d, nil
}

// Uncommitted returns the memory, estimated, of the writes buffered in
// Tables and not yet committed: what a pipeline writing faster than epochs
// commit would grow without bound, so the engine holds its inputs back
// when it is over budget.
func (d *DB) Uncommitted() int64 { return d.uncommitted.Load() }

// checkFormat stamps a new database with FormatVersion and refuses one
// stamped with another.
func (d *DB) checkFormat() error {
	return d.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(keyFormat, []byte(strconv.Itoa(FormatVersion)))
		}
		if err != nil {
			return fmt.Errorf("read format version: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read format version: %w", err)
		}
		if string(v) != strconv.Itoa(FormatVersion) {
			return fmt.Errorf("%w: it has format version %s, this build reads version %d",
				ErrIncompatible, v, FormatVersion)
		}
		return nil
	})
}

// Close stops the value-log GC, then flushes and closes the database. It
// is safe to call more than once.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		if !d.deferred.noApplyOnClose && d.RecoverEpochs() == nil {
			// Not needed for safety (the log is replayed at Open), but it
			// leaves nothing to replay.
			if err := d.ApplyDeferred(); err != nil {
				d.log.Warn("apply deferred state at close; the next start applies its log", "err", err)
			}
		}
		close(d.closing)
		d.drops.Wait()
		if d.gcStop != nil {
			close(d.gcStop)
			<-d.gcDone
		}
		if err := d.db.Close(); err != nil {
			d.closeErr = fmt.Errorf("close state: %w", err)
		}
	})
	return d.closeErr
}

// badgerLogger sends Badger's logs to slog.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Info(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Debug(fmt.Sprintf(f, a...)) }
