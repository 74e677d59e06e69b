package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

var testCols = []types.Column{{Name: "id", Type: types.TypeBigInt}, {Name: "name", Type: types.TypeText}}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readAll calls Next until it ends (once) or catches up (follow), and
// returns the rows as "id:name" texts.
func readAll(t *testing.T, r *Reader) []string {
	t.Helper()
	var out []string
	for {
		rows, caughtUp, err := r.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			out = append(out, fmt.Sprintf("%d:%s", row[0].Int(), row[1].Str()))
		}
		if caughtUp && r.o.Mode == Follow {
			return out
		}
	}
}

func open(t *testing.T, o Options, pos Position) *Reader {
	t.Helper()
	if o.Columns == nil {
		o.Columns = testCols
	}
	if o.Format == "" {
		o.Format = "json"
	}
	r, err := Open(o, pos)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func jl(id int, name string) string { return fmt.Sprintf(`{"id":%d,"name":%q}`+"\n", id, name) }

// TestReadOnce: the files of a glob in name order; CRLF, empty lines, a
// last line without its newline, a line longer than the buffer, CSV.
func TestReadOnce(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, c := range []struct {
		name   string
		format string
		files  map[string]string
		path   string
		buf    int
		want   []string
	}{
		{name: "glob in name order", path: "c-*.jsonl",
			files: map[string]string{"c-2.jsonl": jl(3, "c"), "c-10.jsonl": jl(2, "b"), "c-1.jsonl": jl(1, "a"), "other.jsonl": jl(9, "z")},
			want:  []string{"1:a", "2:b", "3:c"}}, // "c-10" sorts before "c-2"
		{name: "crlf, empty lines, no final newline", path: "a.jsonl",
			files: map[string]string{"a.jsonl": "{\"id\":1,\"name\":\"a\"}\r\n\n\r\n" + `{"id":2,"name":"b"}`},
			want:  []string{"1:a", "2:b"}},
		{name: "line longer than the buffer", path: "a.jsonl", buf: 64,
			files: map[string]string{"a.jsonl": jl(1, long) + jl(2, "b") + strings.TrimSuffix(jl(3, long), "\n")},
			want:  []string{"1:" + long, "2:b", "3:" + long}},
		{name: "csv", path: "a.csv", format: "csv",
			files: map[string]string{"a.csv": "1,a\n2,\"b,c\"\r\n3,d"},
			want:  []string{"1:a", "2:b,c", "3:d"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, d := range c.files {
				write(t, filepath.Join(dir, n), d)
			}
			r := open(t, Options{Path: filepath.Join(dir, c.path), Format: c.format, BufferSize: c.buf}, Position{})
			if got := readAll(t, r); strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("read %q, want %q", got, c.want)
			}
			// Ended: EOF again, and the position is each file's size.
			if _, _, err := r.Next(context.Background()); err != io.EOF {
				t.Fatalf("after the end: %v, want io.EOF", err)
			}
			for n, off := range r.Position().Files {
				st, _ := os.Stat(n)
				if off != st.Size() {
					t.Errorf("position of %s is %d, want its size %d", n, off, st.Size())
				}
			}
		})
	}
}

// TestResume: a reader opened at another's position reads the rest, and
// nothing twice, whatever the batch size.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	var all []string
	for f := range 3 {
		var b strings.Builder
		for i := range 10 {
			id := f*10 + i
			b.WriteString(jl(id, "n"))
			all = append(all, fmt.Sprintf("%d:n", id))
		}
		write(t, filepath.Join(dir, fmt.Sprintf("f%d.jsonl", f)), b.String())
	}
	for _, batch := range []int{1, 3, 7, 100} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			o := Options{Path: filepath.Join(dir, "*.jsonl"), BatchRows: batch}
			var got []string
			pos := Position{}
			for {
				r := open(t, o, pos)
				rows, _, err := r.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, row := range rows {
					got = append(got, fmt.Sprintf("%d:%s", row[0].Int(), row[1].Str()))
				}
				// Through its encoding, as committed.
				b, err := r.Position().Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if pos, err = ParsePosition(b); err != nil {
					t.Fatal(err)
				}
			}
			if strings.Join(got, " ") != strings.Join(all, " ") {
				t.Fatalf("read %q, want %q", got, all)
			}
		})
	}
}

// TestBadLines: skipped and counted with the last error and offset, or
// the error under FailOnDecodeError.
func TestBadLines(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.jsonl")
	data := jl(1, "a") + "{oops\n" + `{"id":"x","name":"b"}` + "\n" + jl(4, "d")
	write(t, p, data)
	badAt := int64(len(jl(1, "a")) + len("{oops\n"))

	var skipped []int64
	r := open(t, Options{Path: p, OnSkip: func(_ string, off int64, _ error) { skipped = append(skipped, off) }}, Position{})
	if got := readAll(t, r); strings.Join(got, " ") != "1:a 4:d" {
		t.Fatalf("read %q", got)
	}
	st := r.Stats()
	if len(st) != 1 || st[0].DecodeErrors != 2 || st[0].Lines != 4 || st[0].Bytes != int64(len(data)) ||
		st[0].LastDecodeErrorOffset != badAt || st[0].State != StateEnded || st[0].LastDecodeError == "" {
		t.Errorf("stats %+v", st)
	}
	if fmt.Sprint(skipped) != fmt.Sprint([]int64{int64(len(jl(1, "a"))), badAt}) {
		t.Errorf("OnSkip at %v", skipped)
	}

	r = open(t, Options{Path: p, FailOnDecodeError: true}, Position{})
	_, _, err := r.Next(context.Background())
	var se *sqlerr.Error
	if !errors.As(err, &se) || se.Code[:2] != "22" || !strings.Contains(err.Error(), fmt.Sprintf("line at byte %d of %s", len(jl(1, "a")), p)) {
		t.Fatalf("error %v, want a data exception naming the line", err)
	}
}

// TestFollow: appended lines, a partial line held back until its newline,
// new files, truncation and replacement (read again, counted, reported),
// and a glob that matches nothing at first.
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	var troubles []string
	r := open(t, Options{Path: filepath.Join(dir, "*.jsonl"), Mode: Follow,
		OnTrouble: func(f string, err error) { troubles = append(troubles, err.Error()) }}, Position{})
	step := func(what string, want ...string) {
		t.Helper()
		if got := readAll(t, r); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%s: read %q, want %q", what, got, want)
		}
	}
	step("nothing yet")
	if st := r.Stats(); len(st) != 1 || st[0].State != StateWaiting || len(troubles) != 1 {
		t.Fatalf("no file yet: stats %+v, troubles %q", st, troubles)
	}
	write(t, a, jl(1, "a"))
	step("a new file", "1:a")
	line := jl(2, "b")
	appendTo(t, a, line[:5])
	step("a partial line")
	appendTo(t, a, line[5:]+line[:3])
	step("its newline", "2:b")
	appendTo(t, a, line[3:])
	write(t, b, jl(3, "c"))
	step("both", "2:b", "3:c")
	if st := r.Stats(); st[0].State != StateCaughtUp || st[0].Offset != int64(3*len(line)) {
		t.Fatalf("stats %+v", st)
	}

	// Truncated (copytruncate) and written again.
	write(t, a, jl(4, "d"))
	step("truncated", "4:d")
	// Replaced by another file of the same length or more.
	tmp := filepath.Join(dir, "tmp")
	write(t, tmp, jl(5, "e")+jl(6, "f"))
	if err := os.Rename(tmp, b); err != nil {
		t.Fatal(err)
	}
	step("replaced", "5:e", "6:f")
	st := r.Stats()
	if st[0].Restarts != 1 || !strings.Contains(st[0].LastError, "truncated") ||
		st[1].Restarts != 1 || !strings.Contains(st[1].LastError, "replaced") {
		t.Fatalf("stats %+v", st)
	}
	if len(troubles) != 3 {
		t.Fatalf("troubles %q, want the wait, the truncation and the replacement", troubles)
	}
}

// TestCheck: what CREATE SOURCE refuses, with its SQLSTATE.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.jsonl")
	write(t, ok, jl(1, "a"))
	for _, c := range []struct {
		name string
		o    Options
		code sqlerr.Code // "" for none
		warn bool
	}{
		{"exists", Options{Path: ok}, "", false},
		{"missing", Options{Path: filepath.Join(dir, "no.jsonl")}, sqlerr.UndefinedFile, false},
		{"glob matches nothing", Options{Path: filepath.Join(dir, "no-*")}, sqlerr.UndefinedFile, false},
		{"follow waits", Options{Path: filepath.Join(dir, "no-*"), Mode: Follow}, "", true},
		{"bad glob", Options{Path: "[x"}, sqlerr.InvalidParameterValue, false},
		{"raw", Options{Path: ok, Format: "raw"}, sqlerr.InvalidParameterValue, false},
		{"columns the format cannot fill", Options{Path: ok, Columns: []types.Column{{Name: "_shard_id", Type: types.TypeBigInt}}}, sqlerr.DatatypeMismatch, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			if o.Columns == nil {
				o.Columns = testCols
			}
			if o.Format == "" {
				o.Format = "json"
			}
			warn, err := Check(o)
			var se *sqlerr.Error
			switch {
			case c.code == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.code != "" && (!errors.As(err, &se) || se.Code != c.code):
				t.Fatalf("error %v, want SQLSTATE %s", err, c.code)
			case (warn != "") != c.warn:
				t.Fatalf("warning %q", warn)
			}
		})
	}
	if os.Geteuid() != 0 {
		secret := filepath.Join(dir, "secret.jsonl")
		write(t, secret, jl(1, "a"))
		if err := os.Chmod(secret, 0); err != nil {
			t.Fatal(err)
		}
		_, err := Check(Options{Path: secret, Format: "json", Columns: testCols})
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != sqlerr.InsufficientPrivilege {
			t.Fatalf("unreadable: %v, want 42501", err)
		}
	}
}
