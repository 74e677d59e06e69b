package exec

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// aggMemState is a small in-memory StateTable for the aggregation tests:
// a map, with a sorted key list rebuilt lazily for scans.
type aggMemState struct {
	m      map[string][]byte
	sorted []string
	stale  bool
	gets   int
}

func newAggMemState() *aggMemState { return &aggMemState{m: map[string][]byte{}} }

func (s *aggMemState) Get(k []byte) ([]byte, bool, error) {
	s.gets++
	v, ok := s.m[string(k)]
	return v, ok, nil
}

func (s *aggMemState) Put(k, v []byte) error {
	if _, ok := s.m[string(k)]; !ok {
		s.stale = true
	}
	s.m[string(k)] = slices.Clone(v)
	return nil
}

func (s *aggMemState) Delete(k []byte) error {
	if _, ok := s.m[string(k)]; ok {
		s.stale = true
		delete(s.m, string(k))
	}
	return nil
}

func (s *aggMemState) Scan(start, end []byte, fn func(k, v []byte) error) error {
	if s.stale {
		s.sorted = s.sorted[:0]
		for k := range s.m {
			s.sorted = append(s.sorted, k)
		}
		sort.Strings(s.sorted)
		s.stale = false
	}
	i := sort.SearchStrings(s.sorted, string(start))
	keys := s.sorted[i:]
	for _, k := range keys {
		if end != nil && k >= string(end) {
			break
		}
		v, ok := s.m[k]
		if !ok {
			continue
		}
		if err := fn([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// aggRecorder is an Output that keeps what was emitted.
type aggRecorder struct {
	ops  []Op
	rows []types.Row
}

func (r *aggRecorder) Emit(op Op, row types.Row) {
	r.ops = append(r.ops, op)
	r.rows = append(r.rows, row)
}

func (r *aggRecorder) reset() { r.ops, r.rows = r.ops[:0], r.rows[:0] }

func (r *aggRecorder) String() string {
	var sb strings.Builder
	for i, op := range r.ops {
		sb.WriteString(op.String())
		for _, v := range r.rows[i] {
			sb.WriteByte(' ')
			sb.WriteString(fmtTestValue(v))
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// discard is an Output that drops everything (benchmarks).
type discard struct{ n int }

func (d *discard) Emit(Op, types.Row) { d.n++ }

// Test values: NULL is ".", a TIMESTAMP is "@seconds" since the epoch.
func fmtTestValue(v types.Value) string {
	switch v.Kind() {
	case types.Unknown:
		return "."
	case types.Timestamp:
		return "@" + strconv.FormatFloat(float64(v.Micros())/1e6, 'f', -1, 64)
	}
	return v.String()
}

// testCol is a column of a test relation: "name:type" with type one of
// bigint, double, text, decimal, ts.
type testCol struct {
	name string
	typ  types.Type
}

func parseTestCols(spec string) ([]testCol, error) {
	var cols []testCol
	for _, f := range strings.Split(spec, ",") {
		name, t, ok := strings.Cut(f, ":")
		if !ok {
			return nil, fmt.Errorf("column %q: want name:type", f)
		}
		var typ types.Type
		switch t {
		case "bigint":
			typ = types.TypeBigInt
		case "double":
			typ = types.TypeDouble
		case "text":
			typ = types.TypeText
		case "decimal":
			typ = types.DecimalType(10, 2)
		case "ts":
			typ = types.TypeTimestamp
		default:
			return nil, fmt.Errorf("column %q: unknown type %q", f, t)
		}
		cols = append(cols, testCol{name, typ})
	}
	return cols, nil
}

func parseTestValue(t types.Type, s string) (types.Value, error) {
	if s == "." {
		return types.Null, nil
	}
	if t.Kind == types.Timestamp {
		f, err := strconv.ParseFloat(strings.TrimPrefix(s, "@"), 64)
		if err != nil {
			return types.Null, err
		}
		return types.NewTimestamp(int64(math.Round(f * 1e6))), nil
	}
	return types.ParseText(t, s)
}

// parseTestBatch reads "+ a 1" lines (ops +, -, U-, U+) over cols.
func parseTestBatch(cols []testCol, text string) (*Batch, error) {
	b := NewBatch(8)
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var op Op
		switch f[0] {
		case "+":
			op = Insert
		case "-":
			op = Delete
		case "U-":
			op = UpdateDelete
		case "U+":
			op = UpdateInsert
		default:
			return nil, fmt.Errorf("line %q: unknown op", line)
		}
		if len(f)-1 != len(cols) {
			return nil, fmt.Errorf("line %q: %d values for %d columns", line, len(f)-1, len(cols))
		}
		row := make(types.Row, len(cols))
		for i, c := range cols {
			v, err := parseTestValue(c.typ, f[i+1])
			if err != nil {
				return nil, fmt.Errorf("line %q: %w", line, err)
			}
			row[i] = v
		}
		b.Append(op, row)
	}
	return b, nil
}

func colIndex(cols []testCol, name string) (int, error) {
	for i, c := range cols {
		if c.name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no column %q", name)
}

func colRef(cols []testCol, name string) (expr.Expr, error) {
	i, err := colIndex(cols, name)
	if err != nil {
		return nil, err
	}
	return &expr.ColumnRef{Index: i, Typ: cols[i].typ, Name: name}, nil
}

// parseTestAggs reads "count(*),sum(v),count(distinct v)".
func parseTestAggs(cols []testCol, spec string) ([]*expr.Agg, error) {
	var aggs []*expr.Agg
	if spec == "" {
		return nil, nil
	}
	for _, f := range strings.Split(spec, ",") {
		name, rest, ok := strings.Cut(f, "(")
		if !ok || !strings.HasSuffix(rest, ")") {
			return nil, fmt.Errorf("aggregate %q: want name(arg)", f)
		}
		arg := strings.TrimSuffix(rest, ")")
		distinct := false
		if a, ok := strings.CutPrefix(arg, "distinct "); ok {
			arg, distinct = a, true
		}
		var e expr.Expr
		if arg != "*" {
			var err error
			if e, err = colRef(cols, arg); err != nil {
				return nil, err
			}
		}
		a, err := expr.NewAgg(name, distinct, e, 0)
		if err != nil {
			return nil, err
		}
		aggs = append(aggs, a)
	}
	return aggs, nil
}

// parseTestKeys reads "k,ws" as column references.
func parseTestKeys(cols []testCol, spec string) ([]expr.Func, []testCol, error) {
	if spec == "" {
		return nil, nil, nil
	}
	var fs []expr.Func
	var out []testCol
	for _, name := range strings.Split(spec, ",") {
		e, err := colRef(cols, name)
		if err != nil {
			return nil, nil, err
		}
		f, err := expr.Compile(e)
		if err != nil {
			return nil, nil, err
		}
		fs = append(fs, f)
		i, _ := colIndex(cols, name)
		out = append(out, cols[i])
	}
	return fs, out, nil
}

// parseTestHaving reads "col>N" (or <, =) over the output columns.
func parseTestHaving(outCols []testCol, spec string) (expr.Func, error) {
	if spec == "" {
		return nil, nil
	}
	for _, op := range []string{">=", "<=", ">", "<", "="} {
		l, r, ok := strings.Cut(spec, op)
		if !ok {
			continue
		}
		lhs, err := colRef(outCols, l)
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(r, 10, 64)
		if err != nil {
			return nil, err
		}
		c, err := expr.NewCall(op, 0, lhs, expr.NewConst(types.NewInt(n)))
		if err != nil {
			return nil, err
		}
		return expr.Compile(c)
	}
	return nil, fmt.Errorf("having %q: want col>N", spec)
}

// testOutCols names the output columns of an aggregation: the keys, then
// a0, a1, ... typed as the aggregates.
func testOutCols(keys []testCol, aggs []*expr.Agg) []testCol {
	out := append([]testCol(nil), keys...)
	for i, a := range aggs {
		out = append(out, testCol{fmt.Sprintf("a%d", i), a.Typ})
	}
	return out
}

func mustOpen(t testing.TB, op Operator, st StateTable) {
	t.Helper()
	if err := op.Open(context.Background(), &OpContext{Name: "test", State: st}); err != nil {
		t.Fatal(err)
	}
}

// mustKeysAggs parses an operator's group keys and aggregates over cols.
func mustKeysAggs(t testing.TB, cols []testCol, keys, aggs string) ([]expr.Func, []*expr.Agg) {
	t.Helper()
	kfs, _, err := parseTestKeys(cols, keys)
	if err != nil {
		t.Fatal(err)
	}
	as, err := parseTestAggs(cols, aggs)
	if err != nil {
		t.Fatal(err)
	}
	return kfs, as
}

// benchCommit ends an epoch as a view does: the operator's barrier, then
// its table sealed and committed to Badger.
func benchCommit(b *testing.B, db *state.DB, tbl *state.Table, op Operator, epoch uint64) {
	b.Helper()
	if err := op.OnBarrier(context.Background(), Barrier{Epoch: epoch}, &discard{}); err != nil {
		b.Fatal(err)
	}
	if err := tbl.SealEpoch(epoch); err != nil {
		b.Fatal(err)
	}
	if err := db.CommitEpoch(epoch, nil, tbl); err != nil {
		b.Fatal(err)
	}
}
