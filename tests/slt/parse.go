// Package slt owns the sqllogictest dialect of streamsql's tests: parsing
// .slt files into records, running them against a server through a small
// DB interface (a pgx implementation is included), and comparing results.
// The format is documented in tests/README.md.
package slt

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind says what a record does.
type Kind int

// The record kinds.
const (
	KindStatement     Kind = iota + 1 // statement ok | statement error
	KindQuery                         // query <types> ... ---- rows
	KindHalt                          // halt: stop reading the file
	KindCreateStream                  // kinesis create-stream <name> <shards>
	KindPut                           // kinesis put <stream> + records
	KindFlush                         // flush
	KindHashThreshold                 // hash-threshold N (accepted, ignored)
	KindClock                         // clock set <RFC 3339 time>
)

// SortMode is how a query's rows are ordered before comparing.
type SortMode int

// The sort modes.
const (
	NoSort    SortMode = iota // rows as returned
	RowSort                   // rows sorted as strings
	ValueSort                 // every value sorted on its own
)

// Condition is a skipif/onlyif line before a record.
type Condition struct {
	Skip   bool // skipif (true) or onlyif (false)
	Engine string
}

// Expect is what a statement or query must produce.
type Expect struct {
	// Error is true when the SQL must fail.
	Error bool
	// Code is the SQLSTATE the error must carry ("" means any).
	Code string
	// Position is the 1-based character position the error must point at
	// (0 means not checked).
	Position int
	// Pattern must match (unanchored) the error message; nil means any.
	Pattern *regexp.Regexp
}

// PutRecord is one record of a kinesis put block.
type PutRecord struct {
	PartitionKey string
	Data         string
}

// Record is one unit of an .slt file.
type Record struct {
	Kind       Kind
	File       string
	Line       int // 1-based line of the record's first line (the directive)
	Conditions []Condition

	SQL    string // statement and query text
	Expect Expect // statement error / query error

	// Query fields.
	Types    string // one letter per column: I T R B
	Sort     SortMode
	Label    string
	Retry    bool     // re-run until the rows match or a deadline passes
	Results  []string // expected lines after ----
	HasRows  bool     // whether a ---- line was present
	RowsLine int      // line of the first expected row

	// Clock is the time of a clock set.
	Clock time.Time

	// Kinesis fields.
	Stream  string
	Shards  int
	Records []PutRecord
}

// Pos returns "file:line" for messages.
func (r *Record) Pos() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

// ParseFile reads and parses one .slt file.
func ParseFile(path string) ([]*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse parses .slt text; name is used in positions.
func Parse(name string, r io.Reader) ([]*Record, error) {
	p := &parser{name: name, sc: bufio.NewScanner(r)}
	p.sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	return p.parse()
}

type parser struct {
	name string
	sc   *bufio.Scanner
	line int
}

func (p *parser) next() (string, bool) {
	if !p.sc.Scan() {
		return "", false
	}
	p.line++
	return strings.TrimRight(p.sc.Text(), "\r"), true
}

func (p *parser) errf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.name, line, fmt.Sprintf(format, args...))
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func (p *parser) parse() ([]*Record, error) {
	var out []*Record
	var conds []Condition
	for {
		line, ok := p.next()
		if !ok {
			break
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		fields := strings.Fields(trimmed)
		start := p.line
		rec := &Record{File: p.name, Line: start}
		switch fields[0] {
		case "skipif", "onlyif":
			if len(fields) != 2 {
				return nil, p.errf(start, "%s takes one engine name", fields[0])
			}
			conds = append(conds, Condition{Skip: fields[0] == "skipif", Engine: fields[1]})
			continue
		case "halt":
			rec.Kind = KindHalt
		case "hash-threshold":
			rec.Kind = KindHashThreshold
		case "statement":
			if err := p.parseStatement(rec, fields, line); err != nil {
				return nil, err
			}
		case "query":
			if err := p.parseQuery(rec, fields, line); err != nil {
				return nil, err
			}
		case "flush":
			if len(fields) != 1 {
				return nil, p.errf(start, "flush takes no arguments")
			}
			rec.Kind = KindFlush
		case "kinesis":
			if err := p.parseKinesis(rec, fields); err != nil {
				return nil, err
			}
		case "clock":
			var err error
			if len(fields) != 3 || fields[1] != "set" {
				return nil, p.errf(start, "usage: clock set <RFC 3339 time>")
			}
			if rec.Clock, err = time.Parse(time.RFC3339Nano, fields[2]); err != nil {
				return nil, p.errf(start, "clock set: %v", err)
			}
			rec.Kind = KindClock
		default:
			return nil, p.errf(start, "unknown directive %q", fields[0])
		}
		rec.Conditions, conds = conds, nil
		out = append(out, rec)
	}
	if err := p.sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", p.name, err)
	}
	if len(conds) > 0 {
		return nil, p.errf(p.line, "skipif/onlyif at the end of the file applies to nothing")
	}
	return out, nil
}

// parseExpectError reads "error [pgcode XXXXX] [position N] [regex]" from the fields
// after "statement" or "query" (rest is the raw text after "error").
func (p *parser) parseExpectError(line int, rest string) (Expect, error) {
	e := Expect{Error: true}
	rest = strings.TrimSpace(rest)
	if code, ok := strings.CutPrefix(rest, "pgcode"); ok && (code == "" || code[0] == ' ' || code[0] == '\t') {
		code = strings.TrimSpace(code)
		f := strings.Fields(code)
		if len(f) == 0 || !validCode(f[0]) {
			return e, p.errf(line, "pgcode needs a five-character SQLSTATE")
		}
		e.Code = f[0]
		rest = strings.TrimSpace(code[len(f[0]):])
	}
	if pos, ok := strings.CutPrefix(rest, "position"); ok && (pos == "" || pos[0] == ' ' || pos[0] == '\t') {
		f := strings.Fields(pos)
		n := 0
		if len(f) > 0 {
			n, _ = strconv.Atoi(f[0])
		}
		if n < 1 {
			return e, p.errf(line, "position needs a 1-based character position")
		}
		e.Position = n
		rest = strings.TrimSpace(strings.TrimSpace(pos)[len(f[0]):])
	}
	if rest != "" {
		re, err := regexp.Compile(rest)
		if err != nil {
			return e, p.errf(line, "bad error pattern %q: %v", rest, err)
		}
		e.Pattern = re
	}
	return e, nil
}

func validCode(s string) bool {
	if len(s) != 5 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// afterWord returns the text of line after its first n whitespace-separated
// words, keeping the rest's inner spacing (a regex may hold spaces).
func afterWord(line string, n int) string {
	s := strings.TrimSpace(line)
	for range n {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i:], " \t")
	}
	return s
}

// raw is the directive line as written, so that an error regex keeps its spaces.
func (p *parser) parseStatement(rec *Record, fields []string, raw string) error {
	rec.Kind = KindStatement
	if len(fields) < 2 {
		return p.errf(rec.Line, "statement needs ok or error")
	}
	switch fields[1] {
	case "ok":
		if len(fields) != 2 {
			return p.errf(rec.Line, "statement ok takes nothing after it")
		}
	case "error":
		e, err := p.parseExpectError(rec.Line, afterWord(raw, 2))
		if err != nil {
			return err
		}
		rec.Expect = e
	default:
		return p.errf(rec.Line, "statement %q: want ok or error", fields[1])
	}
	sql, err := p.readSQL(rec, false)
	if err != nil {
		return err
	}
	rec.SQL = sql
	return nil
}

func (p *parser) parseQuery(rec *Record, fields []string, raw string) error {
	rec.Kind = KindQuery
	if len(fields) < 2 {
		return p.errf(rec.Line, "query needs column types (e.g. query IT)")
	}
	if fields[1] == "error" {
		e, err := p.parseExpectError(rec.Line, afterWord(raw, 2))
		if err != nil {
			return err
		}
		rec.Expect = e
		sql, err := p.readSQL(rec, false)
		if err != nil {
			return err
		}
		rec.SQL = sql
		return nil
	}
	rec.Types = fields[1]
	for _, c := range rec.Types {
		if !strings.ContainsRune("ITRB*", c) {
			return p.errf(rec.Line, "column type %q: want I, T, R, B or *", c)
		}
	}
	for _, opt := range fields[2:] {
		switch opt {
		case "nosort":
			rec.Sort = NoSort
		case "rowsort":
			rec.Sort = RowSort
		case "valuesort":
			rec.Sort = ValueSort
		case "retry":
			rec.Retry = true
		default:
			if rec.Label != "" {
				return p.errf(rec.Line, "query option %q: label already %q", opt, rec.Label)
			}
			rec.Label = opt
		}
	}
	sql, err := p.readSQL(rec, true)
	if err != nil {
		return err
	}
	rec.SQL = sql
	if !rec.HasRows {
		return nil
	}
	for {
		line, ok := p.next()
		if !ok || isBlank(line) {
			break
		}
		if rec.RowsLine == 0 {
			rec.RowsLine = p.line
		}
		rec.Results = append(rec.Results, line)
	}
	return nil
}

// readSQL reads lines until a blank line (or "----" when query is true).
func (p *parser) readSQL(rec *Record, query bool) (string, error) {
	var lines []string
	for {
		line, ok := p.next()
		if !ok || isBlank(line) {
			break
		}
		if strings.TrimSpace(line) == "----" {
			if !query {
				return "", p.errf(p.line, "---- after a statement; use query to check rows")
			}
			rec.HasRows = true
			break
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "", p.errf(rec.Line, "record has no SQL")
	}
	return strings.Join(lines, "\n"), nil
}

func (p *parser) parseKinesis(rec *Record, fields []string) error {
	if len(fields) < 2 {
		return p.errf(rec.Line, "kinesis needs create-stream or put")
	}
	switch fields[1] {
	case "create-stream":
		if len(fields) != 4 {
			return p.errf(rec.Line, "usage: kinesis create-stream <name> <shards>")
		}
		n, err := strconv.Atoi(fields[3])
		if err != nil || n < 1 {
			return p.errf(rec.Line, "shards %q: want a positive integer", fields[3])
		}
		rec.Kind, rec.Stream, rec.Shards = KindCreateStream, fields[2], n
	case "put":
		if len(fields) != 3 {
			return p.errf(rec.Line, "usage: kinesis put <stream>, then partition_key<TAB>json lines")
		}
		rec.Kind, rec.Stream = KindPut, fields[2]
		for {
			line, ok := p.next()
			if !ok || isBlank(line) {
				break
			}
			// The key ends at the first tab; a space works too when the
			// line has no tab (keys have no spaces, JSON may).
			key, data, ok := strings.Cut(line, "\t")
			if !ok {
				key, data, ok = strings.Cut(strings.TrimSpace(line), " ")
			}
			key, data = strings.TrimSpace(key), strings.TrimSpace(data)
			if !ok || key == "" || data == "" {
				return p.errf(p.line, "kinesis put line %q: want partition_key<TAB>json", line)
			}
			rec.Records = append(rec.Records, PutRecord{PartitionKey: key, Data: data})
		}
		if len(rec.Records) == 0 {
			return p.errf(rec.Line, "kinesis put with no records")
		}
	default:
		return p.errf(rec.Line, "kinesis %q: want create-stream or put", fields[1])
	}
	return nil
}
