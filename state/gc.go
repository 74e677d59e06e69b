package state

import (
	"errors"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Value-log garbage collection. Table keys hold committed values only and
// old versions are not kept (NumVersionsToKeep 1), so overwritten and
// deleted values become garbage in Badger's value log; Badger reclaims it
// only when asked. Open starts gcLoop, Close stops it before closing
// Badger, so that disk use stays bounded when state is bounded.

// DefaultGCInterval is how often the value log is collected unless
// Options.GCInterval says otherwise.
const DefaultGCInterval = 5 * time.Minute

// gcDiscardRatio: a value-log file is rewritten when at least half of it
// is garbage.
const gcDiscardRatio = 0.5

// gcLoop runs the value-log GC every interval until stop is closed.
func (d *DB) gcLoop(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		d.collect(stop)
	}
}

// collect runs RunValueLogGC while it reclaims a file (each call rewrites
// at most one), stopping early when stop closes.
func (d *DB) collect(stop <-chan struct{}) {
	start := time.Now()
	files := 0
	for {
		select {
		case <-stop:
			return
		default:
		}
		err := d.db.RunValueLogGC(gcDiscardRatio)
		if err == nil {
			files++
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			d.log.Warn("value-log GC failed", "err", err)
		}
		break
	}
	d.gcRuns.Add(1)
	d.log.Debug("value-log GC", "files_rewritten", files, "took", time.Since(start).Round(time.Millisecond))
}
