package slt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/streamsql/streamsql/internal/emulator"
)

// Protocol is how a DB sends a statement.
type Protocol int

// The protocols.
const (
	Simple   Protocol = iota // simple query protocol (what psql uses)
	Extended                 // Parse/Bind/Describe/Execute (what drivers use)
)

func (p Protocol) String() string {
	if p == Extended {
		return "extended"
	}
	return "simple"
}

// DB runs SQL. Errors the server sent must be *ServerError (or carry a
// SQLState method) so that records can check their codes.
type DB interface {
	// Run runs sql and returns the last result it produced.
	Run(ctx context.Context, sql string, p Protocol) (*Result, error)
}

// Kinesis is the emulator a file's kinesis directives talk to;
// *emulator.Emulator implements it.
type Kinesis interface {
	Endpoint() string
	CreateStream(ctx context.Context, name string, shards int) error
	PutRecords(ctx context.Context, stream string, records []emulator.Record) ([]emulator.PutResult, error)
}

// EngineName is what skipif/onlyif compare against by default.
const EngineName = "streamsql"

// KinesisEndpointVar is substituted in SQL with the emulator's endpoint.
const KinesisEndpointVar = "KINESIS_ENDPOINT"

// Runner runs parsed records against a DB.
type Runner struct {
	DB DB
	// Engine is the name skipif/onlyif match; EngineName when empty.
	Engine string
	// QueryProtocols lists the protocols each query runs with; every one
	// must give the expected rows. Statements run once, with Simple.
	// Default: Simple only.
	QueryProtocols []Protocol
	// StartKinesis starts an emulator the first time a record needs one
	// (a kinesis directive or ${KINESIS_ENDPOINT} in SQL). The caller stops
	// it. Nil: such records fail.
	StartKinesis func(ctx context.Context) (Kinesis, error)
	// Vars are substituted as ${NAME} in SQL.
	Vars map[string]string
	// StatementTimeout bounds each record; default 60s.
	StatementTimeout time.Duration
	// RetryTimeout bounds how long a "retry" query is re-run; default 10s.
	RetryTimeout time.Duration
	// Logf, when set, is told about every record run (verbose tests).
	Logf func(format string, args ...any)
	// SetClock sets the engine's test clock (clock set); nil: such
	// records fail.
	SetClock func(time.Time)

	kinesis    Kinesis
	kinesisErr error
	labels     map[string][]string
}

// Failure is one record that did not do what its file says.
type Failure struct {
	Pos      string // file:line
	SQL      string
	Problem  string
	Expected []string
	Actual   []string
	HasRows  bool // whether Expected/Actual are meaningful
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", f.Pos, f.Problem)
	if f.SQL != "" {
		b.WriteString("\n    sql:\n")
		for _, l := range strings.Split(f.SQL, "\n") {
			b.WriteString("        " + l + "\n")
		}
	}
	if f.HasRows {
		b.WriteString("    expected:\n")
		writeLines(&b, f.Expected)
		b.WriteString("    actual:\n")
		writeLines(&b, f.Actual)
	}
	return strings.TrimRight(b.String(), "\n")
}

func writeLines(b *strings.Builder, lines []string) {
	if len(lines) == 0 {
		b.WriteString("        (no rows)\n")
	}
	for _, l := range lines {
		b.WriteString("        " + l + "\n")
	}
}

// Run runs records in order and returns every failure. It goes on after a
// failure (later records often still tell something) and stops at halt or
// when ctx ends.
func (r *Runner) Run(ctx context.Context, records []*Record) []*Failure {
	var fails []*Failure
	for _, rec := range records {
		if ctx.Err() != nil {
			fails = append(fails, &Failure{Pos: rec.Pos(), Problem: "not run: " + ctx.Err().Error()})
			break
		}
		if !r.applies(rec) {
			continue
		}
		if rec.Kind == KindHalt {
			break
		}
		if r.Logf != nil {
			r.Logf("%s: %s", rec.Pos(), firstLine(rec))
		}
		if f := r.runRecord(ctx, rec); f != nil {
			fails = append(fails, f)
		}
	}
	return fails
}

func firstLine(rec *Record) string {
	switch rec.Kind {
	case KindCreateStream:
		return "kinesis create-stream " + rec.Stream
	case KindPut:
		return fmt.Sprintf("kinesis put %s (%d records)", rec.Stream, len(rec.Records))
	case KindFlush:
		return "flush"
	case KindClock:
		return "clock set " + rec.Clock.Format(time.RFC3339Nano)
	}
	l, _, _ := strings.Cut(rec.SQL, "\n")
	return l
}

func (r *Runner) engine() string {
	if r.Engine == "" {
		return EngineName
	}
	return r.Engine
}

// applies evaluates the record's skipif/onlyif lines.
func (r *Runner) applies(rec *Record) bool {
	for _, c := range rec.Conditions {
		match := c.Engine == r.engine()
		if c.Skip == match {
			return false
		}
	}
	return true
}

func (r *Runner) timeout() time.Duration {
	if r.StatementTimeout > 0 {
		return r.StatementTimeout
	}
	return 60 * time.Second
}

func (r *Runner) runRecord(ctx context.Context, rec *Record) *Failure {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	fail := func(sql, format string, args ...any) *Failure {
		return &Failure{Pos: rec.Pos(), SQL: sql, Problem: fmt.Sprintf(format, args...)}
	}
	switch rec.Kind {
	case KindHashThreshold:
		return nil
	case KindCreateStream:
		k, err := r.startKinesis(ctx)
		if err != nil {
			return fail("", "%v", err)
		}
		if err := k.CreateStream(ctx, rec.Stream, rec.Shards); err != nil {
			return fail("", "kinesis create-stream %s: %v", rec.Stream, err)
		}
		return nil
	case KindPut:
		k, err := r.startKinesis(ctx)
		if err != nil {
			return fail("", "%v", err)
		}
		recs := make([]emulator.Record, len(rec.Records))
		for i, p := range rec.Records {
			recs[i] = emulator.Record{PartitionKey: p.PartitionKey, Data: []byte(p.Data)}
		}
		if _, err := k.PutRecords(ctx, rec.Stream, recs); err != nil {
			return fail("", "kinesis put %s: %v", rec.Stream, err)
		}
		return nil
	case KindClock:
		if r.SetClock == nil {
			return fail("", "clock set: the engine has no test clock")
		}
		r.SetClock(rec.Clock)
		return nil
	case KindFlush:
		_, err := r.DB.Run(ctx, "FLUSH", Simple)
		// The engine may not have FLUSH yet; then there is nothing to wait for.
		if s, ok := asSQLStater(err); ok && s.SQLState() == "0A000" {
			return nil
		}
		if err != nil {
			return fail("FLUSH", "flush: %s", describeErr(err))
		}
		return nil
	}

	sql, err := r.prepareSQL(ctx, rec.SQL)
	if err != nil {
		return fail(rec.SQL, "%v", err)
	}
	switch rec.Kind {
	case KindStatement:
		_, err := r.DB.Run(ctx, sql, Simple)
		if p := CheckError(rec.Expect, err); p != "" {
			return fail(sql, "%s", p)
		}
		return nil
	case KindQuery:
		// Expected rows may name variables too (SHOW CREATE echoes them).
		if len(rec.Results) > 0 {
			q := *rec
			q.Results = make([]string, len(rec.Results))
			for i, l := range rec.Results {
				if q.Results[i], err = r.prepareSQL(ctx, l); err != nil {
					return fail(rec.SQL, "expected rows: %v", err)
				}
			}
			rec = &q
		}
		return r.runQuery(ctx, rec, sql)
	}
	return fail(rec.SQL, "record kind %d cannot run", rec.Kind)
}

// prepareSQL substitutes variables, starting the emulator if the SQL needs
// its endpoint.
func (r *Runner) prepareSQL(ctx context.Context, sql string) (string, error) {
	vars := map[string]string{}
	for k, v := range r.Vars {
		vars[k] = v
	}
	if usesVar(sql, KinesisEndpointVar) {
		if _, ok := vars[KinesisEndpointVar]; !ok {
			k, err := r.startKinesis(ctx)
			if err != nil {
				return "", err
			}
			vars[KinesisEndpointVar] = k.Endpoint()
		}
	}
	return substitute(sql, vars)
}

func (r *Runner) startKinesis(ctx context.Context) (Kinesis, error) {
	if r.kinesis != nil || r.kinesisErr != nil {
		return r.kinesis, r.kinesisErr
	}
	if r.StartKinesis == nil {
		r.kinesisErr = errors.New("this run has no Kinesis emulator (Runner.StartKinesis is nil)")
		return nil, r.kinesisErr
	}
	r.kinesis, r.kinesisErr = r.StartKinesis(ctx)
	if r.kinesisErr != nil {
		r.kinesisErr = fmt.Errorf("start kinesis emulator: %w", r.kinesisErr)
	}
	return r.kinesis, r.kinesisErr
}

func (r *Runner) runQuery(ctx context.Context, rec *Record, sql string) *Failure {
	protos := r.QueryProtocols
	if len(protos) == 0 {
		protos = []Protocol{Simple}
	}
	for _, p := range protos {
		var f *Failure
		if rec.Retry && !rec.Expect.Error {
			f = r.retryQuery(ctx, rec, sql, p)
		} else {
			f = r.queryOnce(ctx, rec, sql, p)
		}
		if f != nil {
			if len(protos) > 1 {
				f.Problem = fmt.Sprintf("[%s protocol] %s", p, f.Problem)
			}
			return f
		}
	}
	return nil
}

// retryQuery re-runs a query until it gives the expected rows or the retry
// deadline passes; for results that arrive asynchronously (a view catching
// up with a stream) when no FLUSH can wait for them.
func (r *Runner) retryQuery(ctx context.Context, rec *Record, sql string, p Protocol) *Failure {
	d := r.RetryTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		f := r.queryOnce(ctx, rec, sql, p)
		if f == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return f
		case <-deadline.C:
			t.Stop()
			f.Problem += fmt.Sprintf(" (still after retrying for %v)", d)
			return f
		case <-t.C:
		}
	}
}

func (r *Runner) queryOnce(ctx context.Context, rec *Record, sql string, p Protocol) *Failure {
	res, err := r.DB.Run(ctx, sql, p)
	if p := CheckError(rec.Expect, err); p != "" {
		return &Failure{Pos: rec.Pos(), SQL: sql, Problem: p}
	}
	if rec.Expect.Error {
		return nil
	}
	if len(res.Columns) != len(rec.Types) {
		return &Failure{Pos: rec.Pos(), SQL: sql, Problem: fmt.Sprintf("query returned %d columns %v, the record declares %d (%s)",
			len(res.Columns), res.Columns, len(rec.Types), rec.Types)}
	}
	if rec.HasRows || rec.Label == "" {
		c, err := CompareRows(rec, res)
		if err != nil {
			return &Failure{Pos: rec.Pos(), SQL: sql, Problem: err.Error()}
		}
		if !c.OK {
			return &Failure{Pos: rec.Pos(), SQL: sql, Problem: "rows differ", Expected: c.Expected, Actual: c.Actual, HasRows: true}
		}
	}
	if rec.Label != "" {
		lines, err := ResultLines(rec, res)
		if err != nil {
			return &Failure{Pos: rec.Pos(), SQL: sql, Problem: err.Error()}
		}
		if r.labels == nil {
			r.labels = map[string][]string{}
		}
		if prev, ok := r.labels[rec.Label]; ok {
			if !equalLines(prev, lines) {
				return &Failure{Pos: rec.Pos(), SQL: sql, Problem: fmt.Sprintf("rows differ from the earlier query labelled %s", rec.Label),
					Expected: prev, Actual: lines, HasRows: true}
			}
		} else {
			r.labels[rec.Label] = lines
		}
	}
	return nil
}
