package engine

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Rows is the result of a statement. Call Next until it returns false, then
// Err. Rows must be closed.
type Rows struct {
	ctx     context.Context // the statement's; nil for rows made outside Execute
	columns []types.Column
	next    func() (types.Row, error) // io.EOF at the end
	close   func()
	tag     string // fixed tag; "" means "SELECT n"
	ready   func() bool
	// subscribe marks a SUBSCRIBE, which never ends by itself;
	// copyFormat is set for COPY (...) TO STDOUT.
	subscribe  bool
	copyFormat *CopyFormat
	countTag   string // with tag "": the tag is countTag and the row count ("FETCH 2")
	row        types.Row
	n          int64
	err        error
	done       bool

	timer *stmtTimer // a query's statement_timeout; nil without one

	// warnings go to the client before the rows (wire: NoticeResponse);
	// those raised while the rows are computed (an expression's MySQL
	// warning) follow, once the rows end. warnMu guards them because the
	// wire reads them between rows; dropped counts those past
	// maxWarnings.
	warnMu   sync.Mutex
	warnings []*sqlerr.Error
	dropped  int64
	// forward, when set, receives the warnings instead: a cursor's rows
	// send theirs to the FETCH that reads them.
	forward *Rows
}

// maxWarnings is how many warnings one statement keeps, as MySQL's
// max_error_count (64) caps SHOW WARNINGS; one closing notice says how
// many more there were.
const maxWarnings = 64

// warn records a warning raised while the rows are computed (Env.Warn).
func (r *Rows) warn(w *sqlerr.Error) {
	r.warnMu.Lock()
	if f := r.forward; f != nil {
		r.warnMu.Unlock()
		f.warn(w)
		return
	}
	if len(r.warnings) < maxWarnings {
		r.warnings = append(r.warnings, w)
	} else {
		r.dropped++
	}
	r.warnMu.Unlock()
}

// Columns returns the result columns (nil for a statement without rows).
func (r *Rows) Columns() []types.Column { return r.columns }

// Next advances to the next row. It blocks for rows that are not there yet
// (a tail of a source) until the context given to Execute is done.
func (r *Rows) Next() bool {
	if r.done {
		return false
	}
	if r.next == nil {
		r.finish(nil)
		return false
	}
	row, err := r.next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		r.finish(err)
		return false
	}
	r.row = row
	r.n++
	return true
}

func (r *Rows) finish(err error) {
	r.done, r.err, r.row = true, err, nil
	if r.ctx != nil {
		r.err = statementError(r.ctx, err)
	} else if err != nil && errors.Is(err, context.Canceled) {
		r.err = sqlerr.Flatten(err)
	}
	r.Close()
}

// Ready reports whether Next would return without waiting for records
// that have not arrived yet (a tail of a source), so that a server can
// flush what it has buffered before waiting.
func (r *Rows) Ready() bool { return r.ready == nil || r.ready() }

// CopyOut reports whether the rows are the result of COPY (...) TO STDOUT:
// a server sends them as COPY data rather than as a result set, written
// as CopyFormat says.
func (r *Rows) CopyOut() bool { return r.copyFormat != nil }

// CopyFormat returns how the rows of a COPY are written; the zero value
// when CopyOut is false.
func (r *Rows) CopyFormat() CopyFormat {
	if r.copyFormat == nil {
		return CopyFormat{}
	}
	return *r.copyFormat
}

// forwardWarnings sends the warnings raised from now on to to.
func (r *Rows) forwardWarnings(to *Rows) {
	r.warnMu.Lock()
	r.forward = to
	r.warnMu.Unlock()
}

// Warnings returns the warnings of the statement so far: those known when
// it was executed (a read of a materialized view that is not running, a
// FLUSH that did not wait for such views), then those its expressions
// raised (MySQL's warnings: '12abc' read as 12) up to maxWarnings, and,
// once the rows have ended, one that says how many more were dropped. A
// server sends the first ones (as WARNING notices) before the first row
// and the rest, by asking again, when the rows end; the list only grows.
func (r *Rows) Warnings() []*sqlerr.Error {
	r.warnMu.Lock()
	defer r.warnMu.Unlock()
	out := r.warnings
	if r.done && r.dropped > 0 {
		out = append(out[:len(out):len(out)], sqlerr.Newf(sqlerr.Warning,
			"%d more warnings were dropped (at most %d are kept per statement)", r.dropped, maxWarnings))
	}
	return out
}

// Suspend tells the rows that the client has what it asked for and will
// ask for more later (a portal suspended by a row limit): the time until
// Resume does not count towards statement_timeout.
func (r *Rows) Suspend() { r.timer.suspend() }

// Resume restarts statement_timeout, in full, for the next step of
// reading rows after Suspend.
func (r *Rows) Resume() { r.timer.resume() }

// Row returns the current row. It is valid until the next call to Next.
func (r *Rows) Row() types.Row { return r.row }

// Err returns the error that ended iteration, if any.
func (r *Rows) Err() error { return r.err }

// Tag returns the command tag once iteration has ended ("SELECT 3",
// "CREATE SOURCE", "SET").
func (r *Rows) Tag() string {
	if r.tag != "" {
		return r.tag
	}
	if r.copyFormat != nil {
		return "COPY " + strconv.FormatInt(r.n, 10)
	}
	if r.countTag != "" {
		return r.countTag + " " + strconv.FormatInt(r.n, 10)
	}
	return "SELECT " + strconv.FormatInt(r.n, 10)
}

// Close releases the rows; it is safe to call twice.
func (r *Rows) Close() error {
	r.done = true
	if r.close != nil {
		r.close()
		r.close = nil
	}
	return nil
}

// onClose arranges for end to run when the rows are closed; at once for
// rows computed up front, which hold nothing of their statement's.
func (r *Rows) onClose(end func()) {
	if r.close == nil {
		end()
		return
	}
	prev := r.close
	r.close = func() {
		prev()
		end()
	}
}

// done is the result of a statement without rows.
func done(tag string) *Rows { return &Rows{tag: tag, done: true} }

// staticRows returns rows computed up front. An empty tag means "SELECT n".
func staticRows(cols []types.Column, rows []types.Row, tag string) *Rows {
	i := 0
	return &Rows{columns: cols, tag: tag, next: func() (types.Row, error) {
		if i == len(rows) {
			return nil, io.EOF
		}
		i++
		return rows[i-1], nil
	}}
}

// cancelCheckEvery is how many rows pass between looks at the context, so
// a cancelled statement stops promptly without a lock per row.
const cancelCheckEvery = 256

// iterRows streams the rows of an operator tree.
func iterRows(ctx context.Context, cols []types.Column, it exec.RowIter) *Rows {
	var n int
	return &Rows{
		columns: cols,
		next: func() (types.Row, error) {
			if n++; n%cancelCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			return it.Next(ctx)
		},
		close: it.Close,
	}
}
