package expr

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Multiset aggregates: GROUP_CONCAT, JSON_ARRAYAGG, JSON_OBJECTAGG, and
// the DISTINCT forms of STDDEV/VARIANCE and BIT_AND/OR/XOR (without
// DISTINCT those keep a StatAcc: agg_stat.go). Their result is a function
// of the multiset of argument values a group holds, and that is what they
// keep: one (value, count) entry per distinct value, the form MIN and MAX
// already keep in a view's state to take retractions. A retraction lowers
// a count; the result is recomputed from the entries. One function,
// MultiResult, computes it for one-off queries and views alike.
//
// Aggregates of several values (GROUP_CONCAT(a, b ORDER BY c), JSON_OBJECTAGG(k, v))
// take one argument: a tuple call packing the values into one BYTES value,
// so that every operator, state encoding and key treats them as one value.

// GroupConcatMaxLen is MySQL's group_concat_max_len default: longer results
// are cut to this many bytes with a warning.
const GroupConcatMaxLen = 1024

// tupleName is the internal builtin packing an aggregate's values; it is
// not a word, so no query can call it.
const tupleName = "#aggtuple"

// Tuple modes: what a NULL among the values means.
const (
	tupleSkipNull  = 0 // GROUP_CONCAT: the row is skipped (the tuple is NULL)
	tupleKeepNull  = 1 // JSON_ARRAYAGG: NULL is a JSON null
	tupleNullError = 2 // JSON_OBJECTAGG: a NULL key is an error
)

func registerAggTuple() {
	// Arguments: Const mode, Const n (the values; the rest are ORDER BY
	// keys), values..., keys...
	register(tupleName, &builtin{minArgs: 3, maxArgs: -1,
		check:   func(c *Call) error { c.Typ = types.TypeBytes; return nil },
		compile: compileAggTuple})
}

func compileAggTuple(c *Call, args []Func) (Func, error) {
	mode := c.Args[0].(*Const).Value.Int()
	n := int(c.Args[1].(*Const).Value.Int())
	args = args[2:]
	return func(row types.Row, env *Env) (types.Value, error) {
		var b []byte
		for i, f := range args {
			v, err := f(row, env)
			if err != nil {
				return types.Null, err
			}
			if v.IsNull() && i < n {
				switch {
				case mode == tupleSkipNull:
					return types.Null, nil
				case mode == tupleNullError && i == 0:
					return types.Null, sqlerr.Newf(sqlerr.InvalidJSONText, "JSON documents may not contain NULL member names")
				}
			}
			b = types.AppendValue(b, v)
		}
		return types.NewBytes(b), nil
	}, nil
}

// readTuple reads the values compileAggTuple packed.
func readTuple(s string) ([]types.Value, error) {
	b := []byte(s)
	var out []types.Value
	for len(b) > 0 {
		v, rest, err := types.ReadValue(b)
		if err != nil {
			return nil, fmt.Errorf("aggregate tuple: %w", err)
		}
		out, b = append(out, v), rest
	}
	return out, nil
}

// isMultiset reports whether name is a multiset aggregate.
func isMultiset(name string) bool {
	switch name {
	case "group_concat", "json_arrayagg", "json_objectagg",
		"stddev_pop", "stddev_samp", "var_pop", "var_samp",
		"bit_and", "bit_or", "bit_xor":
		return true
	}
	return false
}

// Multiset reports whether a keeps the multiset of its values (see
// MultiResult) rather than a running sum or extreme.
func (a *Agg) Multiset() bool { return isMultiset(a.Name) }

// MultiItem is one distinct value of a multiset aggregate's group and how
// many times the group holds it.
type MultiItem struct {
	V types.Value
	N int64
}

// EmptyResult is a's value over no rows.
func (a *Agg) EmptyResult() types.Value {
	switch a.Name {
	case "count":
		return types.NewInt(0)
	case "bit_and":
		return types.NewDecimal(strconv.FormatUint(math.MaxUint64, 10))
	case "bit_or", "bit_xor":
		return types.NewDecimal("0")
	}
	return types.Null
}

// MultiResult computes a multiset aggregate from its group's values with
// their counts (entries with a count below one are ignored). items may be
// reordered.
func (a *Agg) MultiResult(items []MultiItem, env *Env) (types.Value, error) {
	items = slices.DeleteFunc(items, func(it MultiItem) bool { return it.N <= 0 })
	if a.Distinct {
		for i := range items {
			items[i].N = 1
		}
	}
	if len(items) == 0 {
		return a.EmptyResult(), nil
	}
	switch a.Name {
	case "bit_and", "bit_or", "bit_xor", "stddev_pop", "stddev_samp", "var_pop", "var_samp":
		// In value order, so that the float result does not depend on
		// the order the entries came in.
		slices.SortFunc(items, func(x, y MultiItem) int { return Compare(x.V, y.V) })
		var s StatAcc
		for _, it := range items {
			s.Add(a, it.V, it.N)
		}
		return s.Result(a), nil
	}
	rows := make([]multiRow, 0, len(items))
	for _, it := range items {
		vs, err := readTuple(it.V.Str())
		if err != nil {
			return types.Null, err
		}
		rows = append(rows, multiRow{vals: vs, n: it.N})
	}
	a.sortRows(rows)
	switch a.Name {
	case "group_concat":
		return a.groupConcat(rows, env), nil
	case "json_arrayagg":
		arr := []any{}
		for _, r := range rows {
			e, err := jsonElement(r.vals[0])
			if err != nil {
				return types.Null, err
			}
			for range r.n {
				arr = append(arr, e)
			}
		}
		return types.NewJSON(jsonText(arr)), nil
	case "json_objectagg":
		// Duplicate keys: the last one wins, as in MySQL; here "last" is
		// the last in value order (MySQL's is arrival order).
		obj := map[string]any{}
		for _, r := range rows {
			e, err := jsonElement(r.vals[1])
			if err != nil {
				return types.Null, err
			}
			obj[r.vals[0].Str()] = e
		}
		return types.NewJSON(jsonText(obj)), nil
	}
	return types.Null, sqlerr.Newf(sqlerr.Internal, "%s is not a multiset aggregate", a.Name)
}

type multiRow struct {
	vals []types.Value
	n    int64
}

// sortRows orders tuples by their ORDER BY keys (NULL first ascending, as
// MySQL sorts), then by their values, so that the result does not depend
// on arrival or state order.
func (a *Agg) sortRows(rows []multiRow) {
	slices.SortStableFunc(rows, func(x, y multiRow) int {
		for i, d := range a.Desc {
			if c := cmpNullFirst(x.vals[a.NArgs+i], y.vals[a.NArgs+i]); c != 0 {
				if d {
					return -c
				}
				return c
			}
		}
		for i := 0; i < a.NArgs && i < len(x.vals); i++ {
			if c := cmpNullFirst(x.vals[i], y.vals[i]); c != 0 {
				return c
			}
		}
		return 0
	})
}

func cmpNullFirst(x, y types.Value) int {
	switch {
	case x.IsNull() && y.IsNull():
		return 0
	case x.IsNull():
		return -1
	case y.IsNull():
		return 1
	}
	return Compare(x, y)
}

func (a *Agg) groupConcat(rows []multiRow, env *Env) types.Value {
	var b strings.Builder
	first := true
	for _, r := range rows {
		for range r.n {
			if !first {
				b.WriteString(a.Sep)
			}
			first = false
			for _, v := range r.vals[:a.NArgs] {
				b.WriteString(v.Str())
			}
			if b.Len() > GroupConcatMaxLen {
				break
			}
		}
		if b.Len() > GroupConcatMaxLen {
			break
		}
	}
	s := b.String()
	if len(s) > GroupConcatMaxLen {
		cut := GroupConcatMaxLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		env.Warnf(sqlerr.Warning, "Row %d was cut by GROUP_CONCAT()", 1)
	}
	return types.NewString(s)
}

func jsonElement(v types.Value) (any, error) {
	switch v.Kind() {
	case types.Unknown:
		return nil, nil
	case types.Bool:
		return v.Bool(), nil
	case types.Int, types.Decimal:
		return json.Number(v.String()), nil
	case types.Float:
		return v.Float(), nil
	case types.JSON:
		return decodeJSON(v.Str())
	case types.String, types.Bytes:
		return v.Str(), nil
	}
	return v.String(), nil
}

// multiState is a multiset aggregate's accumulator in one-off queries.
type multiState struct {
	agg   *Agg
	items map[string]*MultiItem
	env   *Env
}

func (s *multiState) Add(v types.Value) error {
	if v.IsNull() {
		return nil
	}
	k := Key(v)
	if it := s.items[k]; it != nil {
		it.N++
		return nil
	}
	s.items[k] = &MultiItem{V: v, N: 1}
	return nil
}

func (s *multiState) Result() (types.Value, error) {
	items := make([]MultiItem, 0, len(s.items))
	for _, it := range s.items {
		items = append(items, *it)
	}
	return s.agg.MultiResult(items, s.env)
}

// NewMultiAgg binds GROUP_CONCAT(args ORDER BY order SEPARATOR sep),
// JSON_ARRAYAGG(arg) or JSON_OBJECTAGG(key, value): their values are
// packed into one tuple argument (see the top of this file).
func NewMultiAgg(name string, distinct bool, args, order []Expr, desc []bool, sep string, pos int) (*Agg, error) {
	a := &Agg{Name: strings.ToLower(name), Distinct: distinct, NArgs: len(args), Desc: desc, Sep: sep}
	mode := tupleSkipNull
	want := -1
	text := multiAggText(a.Name, distinct, args, order, desc, sep)
	switch a.Name {
	case "group_concat":
		a.Typ = types.TypeText
		if len(order) == 0 {
			// Without ORDER BY the values come in their own order, 2
			// before 10: the uncoerced arguments are the sort keys.
			order = append([]Expr(nil), args...)
			desc = make([]bool, len(args))
			a.Desc = desc
		}
		for i, e := range args {
			if e.Type().Kind != types.Bytes {
				args[i] = coerceKind(e, types.TypeText)
			}
		}
	case "json_arrayagg":
		a.Typ, mode, want = types.TypeJSON, tupleKeepNull, 1
	case "json_objectagg":
		a.Typ, mode, want = types.TypeJSON, tupleNullError, 2
		args[0] = coerceKind(args[0], types.TypeText)
	default:
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s does not exist", a.Name).At(pos)
	}
	if len(args) == 0 || (want > 0 && len(args) != want) {
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s takes %d argument(s)", a.Name, max(want, 1)).At(pos)
	}
	if len(order) != len(desc) {
		return nil, sqlerr.Newf(sqlerr.Internal, "%s: %d ORDER BY keys but %d directions", a.Name, len(order), len(desc))
	}
	call := []Expr{
		&Const{Value: types.NewInt(int64(mode)), Typ: types.TypeBigInt},
		&Const{Value: types.NewInt(int64(len(args))), Typ: types.TypeBigInt},
	}
	call = append(append(call, args...), order...)
	tuple, err := NewCall(tupleName, pos, call...)
	if err != nil {
		return nil, err
	}
	a.Arg = tuple
	a.text = text
	return a, nil
}

// multiAggText is the call as written, for EXPLAIN and to tell calls apart.
func multiAggText(name string, distinct bool, args, order []Expr, desc []bool, sep string) string {
	var b strings.Builder
	b.WriteString(name + "(")
	if distinct {
		b.WriteString("DISTINCT ")
	}
	for i, e := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.String())
	}
	for i, e := range order {
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(e.String())
		if desc[i] {
			b.WriteString(" DESC")
		}
	}
	if name == "group_concat" && sep != "," {
		b.WriteString(" SEPARATOR " + strconv.Quote(sep))
	}
	b.WriteString(")")
	return b.String()
}

// NewCountDistinct binds COUNT(DISTINCT a, b, ...): the distinct tuples
// none of whose values is NULL.
func NewCountDistinct(args []Expr, pos int) (*Agg, error) {
	call := []Expr{
		&Const{Value: types.NewInt(tupleSkipNull), Typ: types.TypeBigInt},
		&Const{Value: types.NewInt(int64(len(args))), Typ: types.TypeBigInt},
	}
	tuple, err := NewCall(tupleName, pos, append(call, args...)...)
	if err != nil {
		return nil, err
	}
	a, err := NewAgg("count", true, tuple, pos)
	if err != nil {
		return nil, err
	}
	a.text = multiAggText("count", true, args, nil, nil, ",")
	return a, nil
}
