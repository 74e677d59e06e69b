package wire

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// The fakes of the Backend interfaces, with func fields as litestream's
// mock package does, plus a scripted engine (scriptBackend) that knows a
// handful of statements the tests use.

type fakeBackend struct {
	NewSessionFunc func(ctx context.Context, startup map[string]string) (Session, error)
}

func (b *fakeBackend) NewSession(ctx context.Context, startup map[string]string) (Session, error) {
	return b.NewSessionFunc(ctx, startup)
}

type fakeSession struct {
	PrepareFunc          func(ctx context.Context, query string) ([]Statement, error)
	ExecuteFunc          func(ctx context.Context, st Statement, params []types.Value) (Rows, error)
	ReportedSettingsFunc func() map[string]string
	CloseFunc            func()
}

func (s *fakeSession) Prepare(ctx context.Context, q string) ([]Statement, error) {
	return s.PrepareFunc(ctx, q)
}

func (s *fakeSession) Execute(ctx context.Context, st Statement, params []types.Value) (Rows, error) {
	return s.ExecuteFunc(ctx, st, params)
}

func (s *fakeSession) ReportedSettings() map[string]string {
	if s.ReportedSettingsFunc == nil {
		return nil
	}
	return s.ReportedSettingsFunc()
}

func (s *fakeSession) Close() {
	if s.CloseFunc != nil {
		s.CloseFunc()
	}
}

type fakeStatement struct {
	sql    string
	params []types.Type
	cols   []types.Column
}

func (s *fakeStatement) SQL() string              { return s.sql }
func (s *fakeStatement) NumParams() int           { return len(s.params) }
func (s *fakeStatement) ParamTypes() []types.Type { return s.params }
func (s *fakeStatement) Columns() []types.Column  { return s.cols }

// funcRows produces rows from a generator; gen returns false at the end.
type funcRows struct {
	cols   []types.Column
	gen    func(row types.Row) (bool, error)
	row    types.Row
	err    error
	tag    string
	n      int
	closed func()
}

func (r *funcRows) Columns() []types.Column { return r.cols }
func (r *funcRows) Next() bool {
	if r.err != nil || r.gen == nil {
		return false
	}
	if r.row == nil {
		r.row = make(types.Row, len(r.cols))
	}
	ok, err := r.gen(r.row)
	if err != nil {
		r.err = err
		return false
	}
	if !ok {
		r.gen = nil
		return false
	}
	r.n++
	return true
}
func (r *funcRows) Row() types.Row { return r.row }
func (r *funcRows) Err() error     { return r.err }
func (r *funcRows) Tag() string {
	if r.tag != "" {
		return r.tag
	}
	return "SELECT " + strconv.Itoa(r.n)
}
func (r *funcRows) Close() error {
	if r.closed != nil {
		r.closed()
		r.closed = nil
	}
	return nil
}

func sliceRows(cols []types.Column, rows []types.Row) *funcRows {
	i := 0
	return &funcRows{cols: cols, gen: func(row types.Row) (bool, error) {
		if i >= len(rows) {
			return false, nil
		}
		copy(row, rows[i])
		i++
		return true, nil
	}}
}

// scriptBackend is a tiny engine. Statements (split on ';'):
//
//	select 1              one int column
//	gen N                 N rows of (bigint, text)
//	echo $1 ...           returns its parameters; types from echoTypes
//	alltypes              one row of every type (and one row of NULLs)
//	sleep                 blocks until cancelled
//	fail                  fails at execution with 22012
//	set NAME = VALUE      changes a reported setting (tag SET)
//	anything else         42601 syntax error at the statement's position
type scriptBackend struct {
	echoTypes []types.Type

	mu       sync.Mutex
	canceled chan error // receives ctx.Err() of every cancelled sleep
	started  chan struct{}
	sessions int
	closed   int
}

func newScriptBackend() *scriptBackend {
	return &scriptBackend{canceled: make(chan error, 16), started: make(chan struct{}, 16)}
}

var paramRe = regexp.MustCompile(`\$(\d+)`)

var allTypesCols = []types.Column{
	{Name: "b", Type: types.TypeBool},
	{Name: "i2", Type: types.TypeSmallInt},
	{Name: "i4", Type: types.TypeInt},
	{Name: "i8", Type: types.TypeBigInt},
	{Name: "f4", Type: types.TypeFloat},
	{Name: "f8", Type: types.TypeDouble},
	{Name: "n", Type: types.DecimalType(30, 3)},
	{Name: "t", Type: types.TypeText},
	{Name: "vc", Type: types.VarcharType(10)},
	{Name: "by", Type: types.TypeBytes},
	{Name: "d", Type: types.TypeDate},
	{Name: "ts", Type: types.TypeTimestamp},
	{Name: "j", Type: types.TypeJSON},
	{Name: "iv", Type: types.TypeInterval},
}

// allTypesRow is the first row of "alltypes".
var allTypesRow = types.Row{
	types.NewBool(true), types.NewInt(-12), types.NewInt(123456), types.NewInt(-9007199254740993),
	types.NewFloat(1.5), types.NewFloat(-0.1), types.NewDecimal("12345678901234567890.123"),
	types.NewString("héllo"), types.NewString("abc"), types.NewBytes([]byte{0, 1, 0xfe}),
	types.NewDate(19723), types.NewTimestamp(1704164645123456), types.NewJSON(`{"a":1}`),
	types.NewInterval(1, 5_000_000),
}

func (b *scriptBackend) NewSession(ctx context.Context, startup map[string]string) (Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	settings := map[string]string{"application_name": startup["application_name"], "TimeZone": "UTC"}
	var smu sync.Mutex
	return &fakeSession{
		PrepareFunc: func(ctx context.Context, query string) ([]Statement, error) {
			var out []Statement
			offset := 0
			for part := range strings.SplitSeq(query, ";") {
				text := strings.TrimSpace(part)
				lead := len(part) - len(strings.TrimLeft(part, " \t\n"))
				if text != "" && !strings.HasPrefix(text, "--") { // pgx's Ping sends "-- ping"
					st, err := b.prepare(text)
					if err != nil {
						return nil, sqlerr.Newf(sqlerr.SyntaxError, "syntax error at or near %q", text).At(offset + lead + 1)
					}
					out = append(out, st)
				}
				offset += len(part) + 1
			}
			return out, nil
		},
		ExecuteFunc: func(ctx context.Context, st Statement, params []types.Value) (Rows, error) {
			return b.execute(ctx, st.(*fakeStatement), params, settings, &smu)
		},
		ReportedSettingsFunc: func() map[string]string {
			smu.Lock()
			defer smu.Unlock()
			out := make(map[string]string, len(settings))
			for k, v := range settings {
				out[k] = v
			}
			return out
		},
		CloseFunc: func() {
			b.mu.Lock()
			b.closed++
			b.mu.Unlock()
		},
	}, nil
}

func (b *scriptBackend) prepare(text string) (*fakeStatement, error) {
	lower := strings.ToLower(text)
	fields := strings.Fields(lower)
	switch {
	case lower == "select 1":
		return &fakeStatement{sql: text, cols: []types.Column{{Name: "?column?", Type: types.TypeInt}}}, nil
	case fields[0] == "gen" && len(fields) == 2:
		return &fakeStatement{sql: text, cols: []types.Column{
			{Name: "id", Type: types.TypeBigInt}, {Name: "name", Type: types.TypeText}}}, nil
	case fields[0] == "echo":
		n := len(paramRe.FindAllString(text, -1))
		st := &fakeStatement{sql: text, params: make([]types.Type, n)}
		for i := range n {
			if i < len(b.echoTypes) {
				st.params[i] = b.echoTypes[i]
			}
			t := st.params[i]
			if t.Kind == types.Unknown {
				t = types.TypeText
			}
			st.cols = append(st.cols, types.Column{Name: "p" + strconv.Itoa(i+1), Type: t})
		}
		return st, nil
	case lower == "alltypes":
		return &fakeStatement{sql: text, cols: allTypesCols}, nil
	case lower == "sleep", lower == "fail":
		return &fakeStatement{sql: text}, nil
	case fields[0] == "set" && len(fields) == 4:
		return &fakeStatement{sql: text}, nil
	}
	return nil, sqlerr.Newf(sqlerr.SyntaxError, "syntax error")
}

func (b *scriptBackend) execute(ctx context.Context, st *fakeStatement, params []types.Value,
	settings map[string]string, smu *sync.Mutex) (Rows, error) {
	lower := strings.ToLower(st.sql)
	fields := strings.Fields(st.sql)
	switch {
	case lower == "select 1":
		return sliceRows(st.cols, []types.Row{{types.NewInt(1)}}), nil
	case strings.HasPrefix(lower, "gen"):
		n, _ := strconv.Atoi(fields[1])
		i := 0
		return &funcRows{cols: st.cols, gen: func(row types.Row) (bool, error) {
			if i >= n {
				return false, nil
			}
			row[0], row[1] = types.NewInt(int64(i)), types.NewString("row")
			i++
			return true, nil
		}}, nil
	case strings.HasPrefix(lower, "echo"):
		return sliceRows(st.cols, []types.Row{types.Row(params)}), nil
	case lower == "alltypes":
		return sliceRows(st.cols, []types.Row{allTypesRow, make(types.Row, len(allTypesRow))}), nil
	case lower == "sleep":
		b.started <- struct{}{}
		return &funcRows{tag: "SLEEP", gen: func(types.Row) (bool, error) {
			<-ctx.Done()
			b.canceled <- ctx.Err()
			return false, sqlerr.Flatten(ctx.Err())
		}}, nil
	case lower == "fail":
		return nil, sqlerr.Newf(sqlerr.DivisionByZero, "division by zero")
	case strings.HasPrefix(lower, "set"):
		smu.Lock()
		settings[fields[1]] = strings.Trim(fields[3], "'")
		smu.Unlock()
		return &funcRows{tag: "SET"}, nil
	}
	return nil, sqlerr.Newf(sqlerr.Internal, "unexpected statement %q", st.sql)
}
