// Package file owns reading a source's rows from local files: a path or a
// glob whose files are read in name order, each line one record decoded by
// connectors/format (JSON lines or CSV); the position a reader resumes at
// (per file, the byte offset after the last whole line read); the end of a
// source read once; and, when following, lines appended later, new files
// matching the glob, and files truncated or replaced. It knows the SQL data
// model, the error codes and the formats, nothing else of ours.
package file

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Modes.
const (
	// Once reads the files there when reading starts, then ends.
	Once = "once"
	// Follow reads on for ever: lines appended to the files, and new files
	// matching the glob.
	Follow = "follow"
)

// Defaults.
const (
	DefaultPollInterval = time.Second
	DefaultBatchRows    = 1024
	// DefaultBufferSize is the read buffer: large, so that a read is one
	// system call per megabyte and a line is decoded where it lies.
	DefaultBufferSize = 1 << 20
)

// Options configures a reader.
type Options struct {
	// Source is the source's name, for messages.
	Source string
	// Path is a file name or a glob (filepath.Match syntax).
	Path   string
	Format string // json or csv
	Mode   string // Once or Follow
	// Columns are the source's; Needed, when not nil, marks those a query
	// reads (format.Options).
	Columns []types.Column
	Needed  []bool
	// FailOnDecodeError makes a line that does not decode an error of the
	// reader; otherwise it is counted and skipped.
	FailOnDecodeError bool
	// PollInterval is how often a following reader that has read
	// everything looks at the files again (default DefaultPollInterval).
	PollInterval time.Duration
	BatchRows    int // rows per Next at most (default DefaultBatchRows)
	BufferSize   int // bytes (default DefaultBufferSize)
	// OnSkip, when set, is called for each line skipped because it does
	// not decode (for a rate-limited log line: the counts are in Stats).
	OnSkip func(file string, offset int64, err error)
	// OnTrouble, when set, is called when a followed file was truncated
	// or replaced (then read again from its start), or when no file
	// matches yet.
	OnTrouble func(file string, err error)
}

func (o *Options) defaults() {
	if o.Mode == "" {
		o.Mode = Once
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
}

// Position is where a reader stands: per file, the byte offset after the
// last whole line it has returned. A file not named has not been read.
type Position struct {
	Files map[string]FilePosition `json:"files"`
}

// FilePosition is where a reader stands in one file: the offset, and the
// identity (device and inode, where the system has them) of the file the
// offset is in, so that a file replaced or renamed while nothing read it
// (across a restart) is still told apart.
type FilePosition struct {
	Offset int64  `json:"offset"`
	ID     string `json:"id,omitempty"`
}

// Marshal encodes p for committing.
func (p Position) Marshal() ([]byte, error) { return json.Marshal(p) }

// ParsePosition decodes a committed position.
func ParsePosition(b []byte) (Position, error) {
	var p Position
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("file position %q: %w", b, err)
	}
	return p, nil
}

// Check checks o before a source is created: the format against the
// columns, the glob's syntax and, reading once, that some file matches and
// that every match can be opened. Following, a glob that matches nothing
// yet is no error: warning says so.
func Check(o Options) (warning string, err error) {
	o.defaults()
	if _, err := newDecoder(o); err != nil {
		return "", err
	}
	names, err := match(o.Path)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		if o.Mode == Follow {
			return fmt.Sprintf("source %s: no file matches %q yet; it is read once one does", o.Source, o.Path), nil
		}
		return "", sqlerr.Newf(sqlerr.UndefinedFile, "source %s: no file matches %q", o.Source, o.Path).
			WithHint("Create the file first, or say mode = 'follow' to wait for it.")
	}
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			return "", openError("source "+o.Source, err)
		}
		f.Close()
	}
	return "", nil
}

func newDecoder(o Options) (format.Decoder, error) {
	if o.Format != format.JSON && o.Format != format.CSV {
		return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "source %s: format %q cannot be read from files; use json or csv", o.Source, o.Format)
	}
	return format.NewDecoder(format.Options{Format: o.Format, Columns: o.Columns, Needed: o.Needed})
}

// match returns the regular files matching path, in name order.
func match(path string) ([]string, error) {
	names, err := filepath.Glob(path)
	if err != nil {
		return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "path %q: %v", path, err)
	}
	out := names[:0]
	for _, n := range names {
		if st, err := os.Stat(n); err == nil && st.IsDir() {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// openError is the error of a file that cannot be opened, with the
// SQLSTATE Postgres gives for file access; the file's name is in err.
func openError(prefix string, err error) error {
	code := sqlerr.IOError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		code = sqlerr.UndefinedFile
	case errors.Is(err, fs.ErrPermission):
		code = sqlerr.InsufficientPrivilege
	}
	msg := "cannot read"
	if prefix != "" {
		msg = prefix + ": " + msg
	}
	return sqlerr.Wrap(err, code, msg)
}

// File states, in Stats.
const (
	StateReading  = "reading"   // has bytes not read yet
	StateCaughtUp = "caught_up" // read to its end
	StateEnded    = "ended"     // read once, to its end
	StateWaiting  = "waiting"   // following a glob that matches nothing yet
	StateFailed   = "failed"
)

// FileStats are one file's figures.
type FileStats struct {
	File  string
	State string
	// Offset is the byte offset after the last whole line read.
	Offset       int64
	Lines, Bytes int64
	DecodeErrors int64
	// Late counts the rows the caller found behind its watermark
	// (CountLate).
	Late int64
	// LastDecodeError and its line's offset, if any.
	LastDecodeError       string
	LastDecodeErrorOffset int64
	// Restarts counts the times the file was found truncated or replaced
	// and read again from its start.
	Restarts   int64
	LastError  string
	ErrorSince time.Time
}

// fileState is what a reader knows of one file.
type fileState struct {
	name   string
	offset int64
	// seen is the size at which the reader last reached the file's end
	// (its partial last line included); -1 before that.
	seen int64
	// id is the identity of the file offset is in ("" while unknown).
	id string
	st FileStats
}

// Reader reads a source's files. Next and Position are for one goroutine;
// Stats may be called from any.
type Reader struct {
	o   Options
	dec format.Decoder

	files  []*fileState // name order
	byName map[string]*fileState
	cur    *fileState // the open file, nil when none
	f      *os.File
	br     *bufio.Reader
	long   []byte // a line longer than the buffer
	ended  bool
	rows   []types.Row
	// spans are the files the rows Next returned last came from: rows
	// from spans[i].from on came from spans[i].f (CountLate).
	spans []rowSpan

	mu      sync.Mutex // guards the st of files, and waiting
	waiting string     // why nothing is read (no file matches yet)
}

// Open returns a reader of o's files resuming at pos (zero: from the
// start of each file).
func Open(o Options, pos Position) (*Reader, error) {
	o.defaults()
	dec, err := newDecoder(o)
	if err != nil {
		return nil, err
	}
	r := &Reader{o: o, dec: dec, byName: map[string]*fileState{}}
	for name, fp := range pos.Files {
		r.add(name, fp.Offset, fp.ID)
	}
	names, err := match(o.Path)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 && o.Mode == Once {
		return nil, sqlerr.Newf(sqlerr.UndefinedFile, "source %s: no file matches %q", o.Source, o.Path)
	}
	r.addNew(names)
	r.noMatch(len(names) == 0)
	return r, nil
}

// addNew knows the files of names not known yet. One that is a known
// file renamed (log rotation: app.log moved to app.log.1) goes on from
// that file's offset, rather than being read again from its start.
func (r *Reader) addNew(names []string) {
	for _, n := range names {
		if r.byName[n] != nil {
			continue
		}
		var off int64
		id := ""
		if info, err := os.Stat(n); err == nil {
			id = fileID(info)
		}
		if id != "" {
			for _, g := range r.files {
				if g.id == id {
					off = g.offset
					if r.o.OnTrouble != nil {
						r.o.OnTrouble(n, fmt.Errorf("%s is %s renamed; reading it on from byte %d", n, g.name, off))
					}
					break
				}
			}
		}
		r.add(n, off, id)
	}
}

// add knows a file, at off when it is new to the reader.
func (r *Reader) add(name string, off int64, id string) *fileState {
	if f := r.byName[name]; f != nil {
		return f
	}
	f := &fileState{name: name, offset: off, seen: -1, id: id, st: FileStats{File: name, State: StateReading, Offset: off}}
	r.mu.Lock()
	r.byName[name] = f
	i, _ := slices.BinarySearchFunc(r.files, name, func(x *fileState, n string) int { return strings.Compare(x.name, n) })
	r.files = slices.Insert(r.files, i, f)
	r.mu.Unlock()
	return f
}

func (r *Reader) noMatch(none bool) {
	msg := ""
	if none {
		msg = fmt.Sprintf("no file matches %q yet", r.o.Path)
	}
	r.mu.Lock()
	changed := r.waiting != msg
	r.waiting = msg
	r.mu.Unlock()
	if changed && none && r.o.OnTrouble != nil {
		r.o.OnTrouble(r.o.Path, errors.New(msg))
	}
}

// Position returns where the reader stands after the rows it returned.
func (r *Reader) Position() Position {
	p := Position{Files: make(map[string]FilePosition, len(r.files))}
	for _, f := range r.files {
		if f.offset > 0 {
			p.Files[f.name] = FilePosition{Offset: f.offset, ID: f.id}
		}
	}
	return p
}

// Bounded reports whether the reader ends (mode once).
func (r *Reader) Bounded() bool { return r.o.Mode == Once }

// PollInterval is how long a caller waits after Next reported it has
// caught up and returned no rows, before it asks again.
func (r *Reader) PollInterval() time.Duration { return r.o.PollInterval }

// Stats returns each file's figures, in name order; following a glob that
// matches nothing yet, one row in state waiting saying so.
func (r *Reader) Stats() []FileStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]FileStats, 0, len(r.files))
	for _, f := range r.files {
		out = append(out, f.st)
	}
	if len(out) == 0 && r.waiting != "" {
		out = append(out, FileStats{File: r.o.Path, State: StateWaiting, LastError: r.waiting})
	}
	return out
}

// rowSpan is where the rows of one file start in a batch.
type rowSpan struct {
	from int
	f    *fileState
}

// CountLate counts row i of the rows Next returned last as late, in the
// figures of the file it came from.
func (r *Reader) CountLate(i int) {
	for j := len(r.spans) - 1; j >= 0; j-- {
		if r.spans[j].from <= i {
			r.mu.Lock()
			r.spans[j].f.st.Late++
			r.mu.Unlock()
			return
		}
	}
}

// Close closes the open file, if any.
func (r *Reader) Close() {
	if r.f != nil {
		r.f.Close()
		r.f, r.cur = nil, nil
	}
}

// Next returns the next rows, at most BatchRows. The rows are the
// caller's; the slice holding them only until the next call. caughtUp
// reports that, after these rows, the reader found nothing more to read.
// Reading once, Next returns io.EOF, with no rows, once every file has
// been read to its end (its last line counts without a newline);
// following, a partial last line waits for its newline. A line that does
// not decode is counted and skipped, or, with FailOnDecodeError, returned
// as an error (a data exception naming the file and offset). Errors name
// the file, not the source: the caller does.
func (r *Reader) Next(ctx context.Context) (rows []types.Row, caughtUp bool, err error) {
	if r.ended {
		return nil, true, io.EOF
	}
	n := len(r.o.Columns)
	batch := r.o.BatchRows
	// One allocation holds every row of the batch, made at its first line
	// (a poll that finds nothing allocates nothing).
	var vals []types.Value
	rows = r.rows[:0]
	defer func() { r.rows = rows[:0] }()
	r.spans = r.spans[:0]
	var lines, nbytes int64
	flush := func() {
		if r.cur != nil && (lines > 0 || nbytes > 0) {
			r.mu.Lock()
			r.cur.st.Lines += lines
			r.cur.st.Bytes += nbytes
			r.cur.st.Offset = r.cur.offset
			r.mu.Unlock()
		}
		lines, nbytes = 0, 0
	}
	defer flush()
	scanned := false
	for len(rows) < batch {
		if r.cur == nil {
			flush()
			ok, err := r.openNext()
			if err != nil {
				return rows, false, err
			}
			if !ok {
				if r.o.Mode == Once {
					r.ended = true
					if len(rows) == 0 {
						return nil, true, io.EOF
					}
					return rows, true, nil
				}
				if scanned || ctx.Err() != nil {
					return rows, true, nil
				}
				// Caught up: look for new files and lines once per call.
				if err := r.scan(); err != nil {
					return rows, false, err
				}
				scanned = true
				continue
			}
		}
		line, err := r.readLine()
		if err != nil {
			flush()
			if err == io.EOF {
				r.endOfFile()
				continue
			}
			f := r.cur.name
			r.fail(r.cur, err)
			r.Close()
			return rows, false, sqlerr.Wrap(err, sqlerr.IOError, "read "+f)
		}
		at := r.cur.offset
		r.cur.offset += int64(len(line))
		lines++
		nbytes += int64(len(line))
		line = trimEOL(line)
		if len(line) == 0 {
			continue
		}
		if vals == nil {
			vals = make([]types.Value, batch*n)
		}
		k := len(rows) * n
		row, err := r.dec.Decode(line, nil, vals[k:k:k+n])
		if err != nil {
			if err := r.badLine(at, err); err != nil {
				return rows, false, err
			}
			continue
		}
		if n := len(r.spans); n == 0 || r.spans[n-1].f != r.cur {
			r.spans = append(r.spans, rowSpan{from: len(rows), f: r.cur})
		}
		rows = append(rows, row)
	}
	return rows, false, nil
}

func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

// badLine counts a line that does not decode, or fails under
// FailOnDecodeError.
func (r *Reader) badLine(at int64, err error) error {
	f := r.cur
	r.mu.Lock()
	f.st.DecodeErrors++
	f.st.LastDecodeError, f.st.LastDecodeErrorOffset = err.Error(), at
	r.mu.Unlock()
	if r.o.FailOnDecodeError {
		return sqlerr.Wrap(err, sqlerr.DataException, fmt.Sprintf(
			"line at byte %d of %s does not decode (on_decode_error = 'fail')", at, f.name))
	}
	if r.o.OnSkip != nil {
		r.o.OnSkip(f.name, at, err)
	}
	return nil
}

// readLine returns the next line with its newline, or a partial last line
// without one reading once; io.EOF at the end (following, a partial line
// is left for later). The line is valid until the next call.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == nil {
		return line, nil
	}
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		if err == nil {
			return r.long, nil
		}
		line = r.long
	}
	if err != io.EOF {
		return nil, err
	}
	r.cur.seen = r.cur.offset + int64(len(line))
	if len(line) > 0 && r.o.Mode == Once {
		return line, nil
	}
	return nil, io.EOF
}

// endOfFile leaves the open file, read to its end.
func (r *Reader) endOfFile() {
	f := r.cur
	r.mu.Lock()
	f.st.Offset = f.offset
	if r.o.Mode == Once {
		f.st.State = StateEnded
	} else {
		f.st.State = StateCaughtUp
	}
	r.mu.Unlock()
	r.Close()
}

// openNext opens the first file in name order with bytes not read yet, at
// its offset; false when there is none.
func (r *Reader) openNext() (bool, error) {
	for _, f := range r.files {
		if f.seen >= 0 || f.st.State == StateFailed {
			continue // read to its end; scan says when it grows
		}
		h, err := os.Open(f.name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				// Gone since it was matched (or read, before a restart):
				// its lines read stay read; following, it may come back.
				f.seen = f.offset
				if r.o.Mode == Once {
					r.mu.Lock()
					f.st.State = StateEnded
					f.st.LastError, f.st.ErrorSince = "the file is gone", time.Now()
					r.mu.Unlock()
				}
				continue
			}
			r.fail(f, err)
			return false, openError("", err)
		}
		info, err := h.Stat()
		if err != nil {
			h.Close()
			r.fail(f, err)
			return false, openError("", err)
		}
		r.changed(f, info)
		if _, err := h.Seek(f.offset, io.SeekStart); err != nil {
			h.Close()
			r.fail(f, err)
			return false, openError("", err)
		}
		r.cur, r.f = f, h
		if r.br == nil {
			r.br = bufio.NewReaderSize(h, r.o.BufferSize)
		} else {
			r.br.Reset(h)
		}
		r.mu.Lock()
		f.st.State = StateReading
		r.mu.Unlock()
		return true, nil
	}
	return false, nil
}

// restart reads f again from its start, reporting why.
func (r *Reader) restart(f *fileState, why error) {
	f.offset, f.seen = 0, -1
	r.mu.Lock()
	f.st.Restarts++
	f.st.Offset = 0
	f.st.LastError, f.st.ErrorSince = why.Error(), time.Now()
	r.mu.Unlock()
	if r.o.OnTrouble != nil {
		r.o.OnTrouble(f.name, why)
	}
}

func (r *Reader) fail(f *fileState, err error) {
	r.mu.Lock()
	f.st.State = StateFailed
	f.st.LastError, f.st.ErrorSince = err.Error(), time.Now()
	r.mu.Unlock()
}

// scan looks at the files again (following): new matches of the glob,
// and files grown, truncated or replaced since their end was reached.
func (r *Reader) scan() error {
	names, err := match(r.o.Path)
	if err != nil {
		return err
	}
	r.noMatch(len(names) == 0 && len(r.files) == 0)
	r.addNew(names)
	for _, f := range r.files {
		if f.seen < 0 {
			continue
		}
		info, err := os.Stat(f.name)
		if err != nil {
			continue // gone for now; its lines stay read
		}
		if !r.changed(f, info) && info.Size() != f.seen {
			f.seen = -1 // grown: read on
		}
	}
	return nil
}

// changed reports whether the file now at f's name (info) is another one
// than the one f's offset is in, or shorter than the offset (truncated),
// and then reads it again from its start, reporting it. A file first seen
// gets its identity.
func (r *Reader) changed(f *fileState, info os.FileInfo) bool {
	id := fileID(info)
	switch {
	case f.id != "" && id != "" && id != f.id:
		f.id = id
		r.restart(f, fmt.Errorf("%s was replaced by another file; reading the new one from its start", f.name))
		return true
	case info.Size() < f.offset:
		f.id = id
		r.restart(f, fmt.Errorf("%s is shorter (%d bytes) than the offset read (%d): truncated; reading it again from its start", f.name, info.Size(), f.offset))
		return true
	}
	f.id = id
	return false
}
