package engine

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

// SetCheckpointMinInterval changes how soon after the previous checkpoint
// began an epoch holding rows read from a caught-up source is cut (see
// DefaultCheckpointMinInterval). Engine-wide like the interval; 0 cuts
// such an epoch as soon as the previous one is committed, and a value at
// or above the checkpoint interval cuts epochs on the interval only. d
// must not be negative.
func (e *Engine) SetCheckpointMinInterval(d time.Duration) error {
	if err := e.views.setMinInterval(d); err != nil {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid value for parameter \"checkpoint_min_interval\": %v (must not be negative)", d)
	}
	e.log.Info("checkpoint min interval changed", "min_interval", d)
	return nil
}

// CheckpointMinInterval returns the current checkpoint min interval.
func (e *Engine) CheckpointMinInterval() time.Duration {
	return time.Duration(e.views.minInterval.Load())
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

// parseSettingDuration reads the value of SET name = 'value' for a
// duration setting: a Go duration ("500ms", "2s") or a number of
// milliseconds.
func parseSettingDuration(name, value string) (time.Duration, error) {
	v := strings.TrimSpace(value)
	d, err := time.ParseDuration(v)
	if err != nil {
		var ms int64
		if _, serr := fmt.Sscan(v, &ms); serr != nil || fmt.Sprint(ms) != v {
			return 0, sqlerr.Newf(sqlerr.InvalidParameterValue,
				"invalid value for parameter \"%s\": %q (want a duration such as '500ms' or '2s')", name, value)
		}
		d = time.Duration(ms) * time.Millisecond
	}
	return d, nil
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
