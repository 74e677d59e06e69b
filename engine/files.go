package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/streamsql/streamsql/connectors/file"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// The file source (connector = 'file'): the one place that turns its WITH
// options into connectors/file's. A view reads it as a pulled source
// (view.go), committing the reader's position with each epoch; a SELECT
// reads what the files hold now. Each reader's per-file figures are shown
// by SHOW SOURCE STATUS (sourceHubs.status).

// fileOptions builds the reader options of the source obj; needed marks
// the columns a query reads (nil: all).
func (e *Engine) fileOptions(obj *object, needed []bool) file.Options {
	cs := obj.createSource
	get := func(k string) string { v, _ := cs.Options.Get(k); return v }
	o := file.Options{
		Source: obj.entry.Name, Path: get("path"), Format: get("format"), Mode: get("mode"),
		Columns: obj.columns, Needed: needed, FailOnDecodeError: get("on_decode_error") == "fail",
	}
	if len(needed) != len(obj.columns) {
		o.Needed = nil
	}
	if d, ok, _ := cs.Options.Duration("poll_interval"); ok {
		o.PollInterval = d
	}
	return o
}

// checkFileSource checks a file source at CREATE SOURCE (not when the
// catalog is loaded: a file gone since must not stop the engine opening).
// A follow source whose path matches nothing yet is created with a
// warning.
func (e *Engine) checkFileSource(ctx context.Context, cs *sql.CreateSource) (*sqlerr.Error, error) {
	if c, _ := cs.Options.Get("connector"); c != "file" {
		return nil, nil
	}
	if skip, err := e.catalog.check(ctx, cs, cs.Name, cs.NamePos, cs.IfNotExists); err != nil || skip {
		return nil, err
	}
	obj := &object{createSource: cs, entry: state.CatalogEntry{Name: cs.Name}}
	for _, col := range cs.Columns {
		if col.ProcTime {
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "the file connector does not support PROCTIME() columns yet").At(col.Pos)
		}
		obj.columns = append(obj.columns, types.Column{Name: col.Name, Type: col.Type})
	}
	warning, err := file.Check(e.fileOptions(obj, nil))
	if err != nil {
		return nil, err
	}
	if warning != "" {
		return sqlerr.Newf(sqlerr.Warning, "%s", warning).WithHint("SHOW SOURCE STATUS %s shows it waiting.", cs.Name), nil
	}
	return nil, nil
}

// openFileSource opens a reader of the source obj for consumer, resuming
// at the committed position pos (nil: from the start), registered for
// SHOW SOURCE STATUS until closed.
func (e *Engine) openFileSource(obj *object, pos []byte, needed []bool, consumer string) (*pulledSource, error) {
	o := e.fileOptions(obj, needed)
	name := obj.entry.Name
	log := e.sources.badLog(name)
	o.OnSkip = func(f string, offset int64, err error) {
		if n, ok := log.skip(time.Now()); ok {
			e.log.Warn("skipped lines that do not decode (on_decode_error = 'skip'; see SHOW SOURCE STATUS)",
				"source", name, "skipped", n, "consumer", consumer, "file", f, "offset", offset, "err", err)
		}
	}
	o.OnTrouble = func(f string, err error) {
		e.log.Warn("file source", "source", name, "consumer", consumer, "file", f, "err", err)
	}
	var p file.Position
	if pos != nil {
		var err error
		if p, err = file.ParsePosition(pos); err != nil {
			return nil, fmt.Errorf("restore the position of %s: %w", name, err)
		}
	}
	r, err := file.Open(o, p)
	if err != nil {
		return nil, err
	}
	release := e.sources.addFileReader(name, r, consumer)
	return &pulledSource{
		next:     r.Next,
		late:     r.CountLate,
		position: func() ([]byte, error) { return r.Position().Marshal() },
		bounded:  r.Bounded(), endsWindows: r.Bounded(), tails: !r.Bounded(), poll: r.PollInterval(),
		close: func() { release(); r.Close() },
	}, nil
}

// fileStatusRows are the SHOW SOURCE STATUS rows of a file reader: one
// per file, its name as the shard and its offset as the position.
func fileStatusRows(consumer, reader string, stats []file.FileStats) []types.Row {
	var rows []types.Row
	for _, st := range stats {
		lastErr, errSince := textOrNull(st.LastError), types.Null
		if st.LastError != "" && !st.ErrorSince.IsZero() {
			errSince = types.NewTimestampFromTime(st.ErrorSince)
		}
		lastBad, lastBadAt := textOrNull(st.LastDecodeError), types.Null
		if st.LastDecodeError != "" {
			lastBadAt = types.NewString(fmt.Sprint(st.LastDecodeErrorOffset))
		}
		rows = append(rows, types.Row{
			types.NewString(consumer), types.NewString(st.File), types.NewString(st.State),
			types.NewInt(st.Lines), types.NewInt(st.Bytes), types.Null,
			types.NewInt(0), types.NewInt(st.Restarts), types.NewInt(st.DecodeErrors),
			types.NewInt(st.Late), types.NewString(fmt.Sprint(st.Offset)),
			types.NewString(reader), types.Null,
			lastBad, lastBadAt, types.NewInt(0), types.NewInt(0), lastErr, errSince,
		})
	}
	return rows
}

// openFileScan is a SELECT's read of a file source: what the files hold now,
// or, following under a LIMIT (tail), on as lines come.
func (e *Engine) openFileScan(obj *object, tail bool) (*pulledScan, error) {
	p, err := e.openFileSource(obj, nil, nil, "query")
	if err != nil {
		return nil, err
	}
	return &pulledScan{src: p, tail: tail}, nil
}
