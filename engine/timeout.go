package engine

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// statement_timeout, as Postgres has it: a whole number of milliseconds,
// written bare (ms) or with a unit, fractions allowed ('1.5s'); 0 is off.
// It bounds each Prepare and each execution (through the end of its rows)
// as a deadline on the statement's context, so that everything that
// honours a context (planning, execution, FLUSH, a tail of a source,
// SUBSCRIBE) ends with 57014.

// errStatementTimeout is the cause of a statement context's deadline.
var errStatementTimeout = sqlerr.Newf(sqlerr.QueryCanceled, "canceling statement due to statement timeout")

// timeoutUnits are Postgres's time units for a parameter kept in
// milliseconds, largest first, as SHOW prints them.
var timeoutUnits = []struct {
	name string
	ms   float64
}{{"d", 86_400_000}, {"h", 3_600_000}, {"min", 60_000}, {"s", 1000}, {"ms", 1}, {"us", 0.001}}

// checkTimeout parses a statement_timeout value and returns it as SHOW
// prints it: "0", or the largest unit that divides it ("1500ms", "2s",
// "2min").
func checkTimeout(v string) (string, error) {
	ms, err := parseTimeoutMS("statement_timeout", v)
	if err != nil {
		return "", err
	}
	if ms == 0 {
		return "0", nil
	}
	for _, u := range timeoutUnits {
		if u.ms >= 1 && ms%int64(u.ms) == 0 {
			return strconv.FormatInt(ms/int64(u.ms), 10) + u.name, nil
		}
	}
	return strconv.FormatInt(ms, 10) + "ms", nil
}

// parseTimeoutMS reads a number with an optional unit (default ms), as
// Postgres's parse_int does for a parameter in milliseconds: rounded to a
// whole millisecond, within 0 .. 2^31-1.
func parseTimeoutMS(name, v string) (int64, error) {
	s := strings.TrimSpace(v)
	end := 0
	// No unit starts with e: it can only be an exponent.
	for end < len(s) && strings.IndexByte("0123456789.+-eE", s[end]) >= 0 {
		end++
	}
	num, unit := s[:end], strings.TrimSpace(s[end:])
	f, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid value for parameter %q: %q", name, v)
	}
	scale := 1.0
	if unit != "" {
		found := false
		for _, u := range timeoutUnits {
			if u.name == unit {
				scale, found = u.ms, true
				break
			}
		}
		if !found {
			return 0, sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid value for parameter %q: %q", name, v).
				WithHint(`Valid units for this parameter are "us", "ms", "s", "min", "h", and "d".`)
		}
	}
	ms := math.Round(f * scale)
	if ms < 0 || ms > math.MaxInt32 {
		return 0, sqlerr.Newf(sqlerr.InvalidParameterValue, "%s ms is outside the valid range for parameter %q (0 .. %d)",
			strconv.FormatFloat(ms, 'f', -1, 64), name, math.MaxInt32)
	}
	return int64(ms), nil
}

// statementTimeout returns the session's statement_timeout, 0 when off.
func (s *Session) statementTimeout() time.Duration {
	ms, err := parseTimeoutMS("statement_timeout", s.settings["statement_timeout"])
	if err != nil { // set only through checkTimeout
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// statementContext returns the context one Prepare or one execution runs
// under: ctx with the session's statement_timeout as a deadline.
func (s *Session) statementContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d := s.statementTimeout(); d > 0 {
		return context.WithTimeoutCause(ctx, d, errStatementTimeout)
	}
	return ctx, func() {}
}

// queryContext is statementContext for a query, whose rows a client may
// read in steps with pauses between them (a portal with a row limit):
// the timeout is a timer that Rows.Suspend stops while the client has
// the rows it asked for and Rows.Resume restarts, as Postgres times each
// step from its Execute to its Sync. The context has no deadline.
func (s *Session) queryContext(ctx context.Context) (context.Context, context.CancelFunc, *stmtTimer) {
	d := s.statementTimeout()
	if d <= 0 {
		return ctx, func() {}, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	st := &stmtTimer{d: d, t: time.AfterFunc(d, func() { cancel(errStatementTimeout) })}
	return ctx, func() {
		st.t.Stop()
		cancel(nil)
	}, st
}

// stmtTimer is the statement timeout of a query's rows.
type stmtTimer struct {
	d time.Duration
	t *time.Timer
}

func (st *stmtTimer) suspend() {
	if st != nil {
		st.t.Stop()
	}
}

func (st *stmtTimer) resume() {
	if st != nil {
		st.t.Reset(st.d)
	}
}

// statementError gives an error that a statement ended with because its
// context ended the code and message of why the context ended: 57014 for
// a statement timeout or a cancel. An error that already says more (one
// coded by whoever waited, naming what it waited for) is kept.
func statementError(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if code := sqlerr.CodeOf(err); code != sqlerr.QueryCanceled && code != sqlerr.Internal {
		return err
	}
	var e *sqlerr.Error
	if cause := context.Cause(ctx); errors.As(cause, &e) {
		return e
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The caller's own deadline: coded for a client, and still
		// context.DeadlineExceeded for an embedder's errors.Is.
		return sqlerr.Wrap(context.DeadlineExceeded, sqlerr.QueryCanceled, "canceling statement")
	}
	return sqlerr.Flatten(context.Canceled)
}
