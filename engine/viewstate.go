package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// A view's state, as SHOW MATERIALIZED VIEWS, SHOW SINKS, FLUSH and the
// WARNING notices on reads of the view show it.
const (
	// stateRunning: its pipeline runs on the sources' shared readers.
	stateRunning = "running"
	// stateBackfilling: its pipeline is starting, or reads from its start
	// position (or its committed positions) with readers of its own until
	// it has caught up with the shared ones.
	stateBackfilling = "backfilling"
	// stateRestarting: its pipeline failed and waits to restart (backoff).
	stateRestarting = "restarting"
	// stateFailed: it failed failedAfter times in a row on the same cause,
	// or cannot be planned; it still retries, every restartMax.
	stateFailed = "failed"
)

// Restarts of a failed pipeline back off: restartMin doubling up to
// restartMax, with jitter, so that a transient cause (an endpoint down, a
// stream deleted and created again) heals by itself without a restart a
// second meanwhile.
const (
	restartMin = time.Second
	restartMax = time.Minute
	// failedAfter is how many failures in a row with the same cause make
	// a view failed rather than restarting.
	failedAfter = 3
	// streakResetAfter is how long a life must run for its failure to
	// start a new streak (backoff from restartMin again).
	streakResetAfter = restartMax
	// stillFailingLogEvery bounds the log lines of one failure streak: one
	// when it starts, one when the view turns failed, then one this often.
	stillFailingLogEvery = 10 * time.Minute
)

// restartDelay is the backoff before the restart that follows the n-th
// failure in a row (n >= 1): restartMin·2^(n-1) up to restartMax, within
// ±10%.
func restartDelay(n int) time.Duration {
	d := restartMax
	if n <= 7 {
		d = min(restartMin<<(n-1), restartMax)
	}
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// viewHealth is a view runner's failure streak.
type viewHealth struct {
	mu sync.Mutex
	// created is when the runner started: the since of a first start.
	created time.Time
	// streak counts failures in a row; sameCause how many of the last of
	// them had the same error text as cause.
	streak, sameCause int
	cause             error
	streakSince       time.Time // the streak's first failure
	failedSince       time.Time // zero unless sameCause >= failedAfter
	next              time.Time // the next attempt
	loggedAt          time.Time
}

// lifeFailed records that a life that ran for lived ended with err, logs
// it (rate-limited per streak) and returns the delay before the next one.
func (h *viewHealth) lifeFailed(err error, lived time.Duration, log *slog.Logger) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if lived >= streakResetAfter {
		h.streak = 0
	}
	if h.streak == 0 {
		h.streakSince, h.sameCause, h.cause, h.failedSince, h.loggedAt = now, 0, nil, time.Time{}, time.Time{}
	}
	h.streak++
	if h.cause != nil && sameCause(h.cause, err) {
		h.sameCause++
	} else {
		h.sameCause = 1
		h.failedSince = time.Time{}
	}
	h.cause = err
	delay := restartDelay(h.streak)
	h.next = now.Add(delay)
	switch {
	case h.streak == 1:
		log.Error("pipeline stopped; restarting from its last committed epoch", "err", err, "in", delay.Round(time.Millisecond))
		h.loggedAt = now
	case h.sameCause >= failedAfter && h.failedSince.IsZero():
		h.failedSince = now
		log.Error("pipeline failed again on the same cause; retrying with backoff", "err", err,
			"failures", h.streak, "since", h.streakSince, "in", delay.Round(time.Millisecond))
		h.loggedAt = now
	case now.Sub(h.loggedAt) >= stillFailingLogEvery:
		log.Error("pipeline still failing", "err", err, "failures", h.streak, "since", h.streakSince)
		h.loggedAt = now
	}
	return delay
}

// supervise runs lives of a pipeline until ctx ends, each after the
// streak's backoff; a panic in a life is that life's failure (logged once
// with its stack), never the process's. afterFailure runs after each
// failed life is recorded.
func (h *viewHealth) supervise(ctx context.Context, log *slog.Logger, life func(context.Context) error, afterFailure func()) {
	for {
		started := time.Now()
		err := runLife(ctx, life)
		if ctx.Err() != nil {
			return
		}
		if pe := (*exec.PanicError)(nil); errors.As(err, &pe) {
			log.Error("pipeline panicked", "node", pe.Node, "panic", pe.Value, "stack", string(pe.Stack))
		}
		t := time.NewTimer(h.lifeFailed(err, time.Since(started), log))
		afterFailure()
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// runLife runs one life, turning a panic into its error and a clean end
// into one too: a pipeline never ends by itself.
func runLife(ctx context.Context, life func(context.Context) error) (err error) {
	defer exec.Recover("pipeline", &err)
	if err = life(ctx); err == nil && ctx.Err() == nil {
		err = errors.New("pipeline ended")
	}
	return err
}

// recovered ends the failure streak of a life that has caught up with
// its sources and committed: the cause is gone.
func (h *viewHealth) recovered(log *slog.Logger) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streak == 0 {
		return
	}
	log.Info("pipeline running again", "failures", h.streak, "since", h.streakSince)
	h.streak, h.sameCause, h.cause, h.failedSince = 0, 0, nil, time.Time{}
}

// failing reports whether a failure streak is going on.
func (h *viewHealth) failing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streak > 0
}

// requestID matches the request id an AWS error carries, which differs
// from one failure to the next of the same cause.
var requestID = regexp.MustCompile(`RequestID: [0-9A-Za-z-]+,? ?`)

// sameCause reports whether two failures have the same cause: the same
// text but for request ids.
func sameCause(a, b error) bool {
	return requestID.ReplaceAllString(a.Error(), "") == requestID.ReplaceAllString(b.Error(), "")
}

// viewStatus is a view's (or a sink's pipeline's) state and progress.
type viewStatus struct {
	State string
	// Err is why it is not running, or what keeps a running one from
	// reading its sources; nil when all is well.
	Err   error
	Since time.Time
	// Next is the next restart attempt (restarting, failed).
	Next time.Time
	// Watermark is the committed watermark (unix micros), if HasWatermark.
	Watermark    int64
	HasWatermark bool
	// Epoch is the last epoch committed with the view's rows in it (0 for
	// none yet in this data directory).
	Epoch uint64
	// ExprErrors counts expression errors absorbed since the engine
	// started (NULL and count); LastExprError is the last one.
	ExprErrors    int64
	LastExprError string
}

// healthy reports whether the view is running without trouble.
func (s viewStatus) healthy() bool {
	return (s.State == stateRunning || s.State == stateBackfilling) && s.Err == nil
}

// errorText is the error column of SHOW: the cause, and for a view waiting
// to restart, when it tries again.
func (s viewStatus) errorText() string {
	if s.Err == nil {
		return ""
	}
	if s.State == stateRestarting || s.State == stateFailed {
		if s.Next.After(time.Now()) {
			return fmt.Sprintf("%v (next attempt at %s)", s.Err, s.Next.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("%v (retrying now)", s.Err)
	}
	return s.Err.Error()
}

// notice is the WARNING that a read of a view that is not running gets.
func (s viewStatus) notice(kind sql.ObjectKind, name string) *sqlerr.Error {
	rows := "its rows are as of epoch"
	if kind == sql.KindSink {
		rows = "it has committed up to epoch"
	}
	msg := fmt.Sprintf("%s %s is %s since %s: %s; %s %d", kind, name, s.State,
		s.Since.UTC().Format(time.RFC3339), s.errorText(), rows, s.Epoch)
	return sqlerr.Newf(sqlerr.Warning, "%s", msg)
}

// status returns the view's state and progress; a sink's whose sender
// fails is restarting, with the sender's error, and one whose writer's
// calls keep failing is running with that error.
func (r *viewRunner) status() viewStatus {
	st := r.pipelineStatus()
	if sh := r.obj.sinkShared; sh != nil && st.healthy() {
		sh.mu.Lock()
		failed, since := sh.failed, sh.failedSince
		sh.mu.Unlock()
		if failed != nil {
			st.State, st.Since = stateRestarting, since
			st.Err = fmt.Errorf("sending to Kinesis: %w", failed)
		} else if sr := r.m.e.sinkRunner(r.obj.entry.Name); sr != nil {
			if err, since := sr.trouble(); err != nil {
				st.Err, st.Since = err, since
			}
		}
	}
	return st
}

// pipelineStatus is status without the sink's sender.
func (r *viewRunner) pipelineStatus() viewStatus {
	st := viewStatus{Epoch: r.epoch.Load(), ExprErrors: r.errs.Count()}
	if wm := r.watermark.Load(); wm != nil {
		st.Watermark, st.HasWatermark = *wm, true
	}
	if last, ok := r.errs.Last(); ok {
		st.LastExprError = last.String()
	}
	// A life started during a failure streak has not shown yet that the
	// cause is gone (recovered): until it has, the view keeps the streak's
	// state, so that one failing again and again does not look running
	// in between.
	if l := r.life.Load(); l != nil && !r.health.failing() {
		st.State, st.Since = stateRunning, l.started
		for _, in := range l.inputs {
			if in.sub == nil {
				continue
			}
			if !in.sub.Shared() {
				st.State = stateBackfilling
			} else if at := in.joinedAt.Load(); at > st.Since.UnixNano() {
				st.Since = time.Unix(0, at)
			}
		}
		if err, since := l.trouble(); err != nil {
			st.Err, st.Since = err, since
		}
		return st
	}
	r.health.notRunning(&st)
	return st
}

// notRunning fills in the state of a pipeline that has no life now.
func (h *viewHealth) notRunning(st *viewStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.streak == 0:
		st.State, st.Since = stateBackfilling, h.created
	case !h.failedSince.IsZero():
		st.State, st.Since = stateFailed, h.failedSince
	default:
		st.State, st.Since = stateRestarting, h.streakSince
	}
	st.Err, st.Next = h.cause, h.next
}

// sinkStatus returns the state of sink o: its pipeline's, for a sink over
// a query (a view runner); its own runner's for a sink over a source.
func (e *Engine) sinkStatus(o *object) viewStatus {
	r := e.sinkRunner(o.entry.Name)
	if r == nil && e.cluster != nil {
		if r = e.cluster.sinkStatusRunner(o); r == nil {
			return viewStatus{State: stateRunning, Since: o.entry.CreatedAt} // its parts run elsewhere
		}
	}
	if r == nil || r.from == nil {
		return e.views.status(o)
	}
	return r.status()
}

// status is the state of a sink runner over a source.
func (r *sinkRunner) status() viewStatus {
	var st viewStatus
	if at := r.live.Load(); at != 0 {
		st.State, st.Since = stateRunning, time.Unix(0, at)
		if sub := r.sub.Load(); sub != nil {
			if err, since := lastingTrouble(sub); err != nil {
				st.Err, st.Since = fmt.Errorf("source %s: %w", r.from.entry.Name, err), since
				return st
			}
		}
		if err, since := r.trouble(); err != nil {
			st.Err, st.Since = err, since
		}
		return st
	}
	r.health.notRunning(&st)
	return st
}

// troubled is what reports its ongoing failure: a source's subscription,
// a sink's writer.
type troubled interface {
	Trouble() (error, time.Time)
}

// lastingTrouble returns t's trouble if its calls have failed for
// troubleAfter or more, and since when. A call that fails once and
// succeeds on retry is no news for a user.
func lastingTrouble(t troubled) (error, time.Time) {
	if err, since := t.Trouble(); err != nil && time.Since(since) >= troubleAfter {
		return err, since
	}
	return nil, time.Time{}
}

// trouble returns the first lasting trouble of the life's sources, and
// since when.
func (l *viewLife) trouble() (error, time.Time) {
	for _, in := range l.inputs {
		if in.sub == nil {
			continue
		}
		if err, since := lastingTrouble(in.sub); err != nil {
			return fmt.Errorf("source %s: %w", in.src.entry.Name, err), since
		}
	}
	return nil, time.Time{}
}

// status returns the state of view (or sink over a query) o.
func (m *viewManager) status(o *object) viewStatus {
	if m.e.cluster != nil && o.kind == sql.KindView {
		return m.e.cluster.viewStatus(o) // its parts (parts.go)
	}
	m.mu.Lock()
	r := m.runners[o.entry.Name]
	m.mu.Unlock()
	if r != nil {
		return r.status()
	}
	err := o.streamErr
	if err == nil {
		err = errors.New("its pipeline is not running: a source it reads is missing")
	}
	return viewStatus{State: stateFailed, Err: err, Since: o.entry.CreatedAt}
}

// readWarning returns the WARNING for a read of view o, if it is not
// running or cannot read its sources.
func (m *viewManager) readWarning(o *object) *sqlerr.Error {
	if o.kind == sql.KindTable {
		return nil // a table is always readable
	}
	st := m.status(o)
	if st.healthy() {
		return nil
	}
	return st.notice(o.kind, o.entry.Name)
}

// viewStatusColumns are the columns of SHOW MATERIALIZED VIEWS and SHOW
// SINKS.
var viewStatusColumns = []types.Column{
	textCol("name"), textCol("state"), textCol("error"),
	{Name: "since", Type: types.TypeTimestamp}, {Name: "watermark", Type: types.TypeTimestamp},
	{Name: "committed_epoch", Type: types.TypeBigInt},
	{Name: "expression_errors", Type: types.TypeBigInt}, textCol("last_expression_error"),
}

// objectStatusRow is a view's or a sink's row of SHOW.
func (e *Engine) objectStatusRow(o *object) types.Row {
	var st viewStatus
	if o.kind == sql.KindSink {
		st = e.sinkStatus(o)
	} else {
		st = e.views.status(o)
	}
	row := types.Row{types.NewString(o.entry.Name), types.NewString(st.State), types.NewString(st.errorText()),
		types.Null, types.Null, types.Null, types.NewInt(st.ExprErrors), types.NewString(st.LastExprError)}
	if !st.Since.IsZero() {
		row[3] = types.NewTimestampFromTime(st.Since)
	}
	if st.HasWatermark {
		row[4] = types.NewTimestamp(st.Watermark)
	}
	if st.Epoch > 0 {
		row[5] = types.NewInt(int64(st.Epoch))
	}
	return row
}

// logKey is the log attribute that names o: "view" or "sink".
func logKey(o *object) string {
	if o.kind == sql.KindSink {
		return "sink"
	}
	return "view"
}
