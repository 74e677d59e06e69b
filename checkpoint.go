package streamsql

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// Checkpoint settings and figures: the interval of the coordinator in
// view.go (Config.CheckpointInterval, SET checkpoint_interval) and how long
// its checkpoints take.

// SetCheckpointInterval changes how often the engine cuts and commits an
// epoch. It is engine-wide: every view of every session is checkpointed
// together. d must be positive.
func (e *Engine) SetCheckpointInterval(d time.Duration) error {
	if err := e.views.setInterval(d); err != nil {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid value for parameter \"checkpoint_interval\": %v (must be positive)", d)
	}
	e.log.Info("checkpoint interval changed", "interval", d)
	return nil
}

// CheckpointInterval returns the current checkpoint interval.
func (e *Engine) CheckpointInterval() time.Duration {
	return time.Duration(e.views.interval.Load())
}

// CheckpointStats summarises the checkpoints committed since Open: how
// many, and the 50th and 99th percentiles and maximum of their duration,
// from the barrier's injection to the commit (over the last 10,000).
type CheckpointStats struct {
	Count         int64
	P50, P99, Max time.Duration
}

// CheckpointStats returns the engine's checkpoint figures.
func (e *Engine) CheckpointStats() CheckpointStats { return e.views.durations.stats() }

// setCheckpointInterval runs SET checkpoint_interval = 'value': a Go
// duration ("500ms", "2s") or a number of milliseconds.
func (e *Engine) setCheckpointInterval(value string) error {
	v := strings.TrimSpace(value)
	d, err := time.ParseDuration(v)
	if err != nil {
		var ms int64
		if _, serr := fmt.Sscan(v, &ms); serr != nil || fmt.Sprint(ms) != v {
			return sqlerr.Newf(sqlerr.InvalidParameterValue,
				"invalid value for parameter \"checkpoint_interval\": %q (want a duration such as '500ms' or '2s')", value)
		}
		d = time.Duration(ms) * time.Millisecond
	}
	return e.SetCheckpointInterval(d)
}

// durationLog keeps the last durations of an operation for percentiles.
type durationLog struct {
	mu    sync.Mutex
	count int64
	ring  []time.Duration
	next  int
}

const durationLogSize = 10000

func (l *durationLog) observe(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count++
	if len(l.ring) < durationLogSize {
		l.ring = append(l.ring, d)
		return
	}
	l.ring[l.next] = d
	l.next = (l.next + 1) % durationLogSize
}

func (l *durationLog) stats() CheckpointStats {
	l.mu.Lock()
	s := slices.Clone(l.ring)
	n := l.count
	l.mu.Unlock()
	if len(s) == 0 {
		return CheckpointStats{Count: n}
	}
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return CheckpointStats{Count: n, P50: at(0.50), P99: at(0.99), Max: s[len(s)-1]}
}
