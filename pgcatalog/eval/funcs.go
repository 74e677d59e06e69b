package eval

import (
	"context"
	"crypto/md5"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// catalogFuncTypes are the result types of the catalog-specific functions
// a Catalog provides (a Func does not declare one); others are text.
var catalogFuncTypes = map[string]Type{
	"pg_table_is_visible": tBool, "pg_type_is_visible": tBool, "pg_function_is_visible": tBool,
	"pg_is_in_recovery": tBool, "has_table_privilege": tBool, "has_schema_privilege": tBool,
	"has_database_privilege": tBool, "has_function_privilege": tBool, "pg_has_role": tBool,
	"has_column_privilege": tBool, "has_any_column_privilege": tBool,
	"pg_get_userbyid": tName, "current_database": tName, "current_schema": tName,
	"current_user": tName, "session_user": tName, "pg_encoding_to_char": tName,
	"current_schemas": {OID: OIDNameArray, Elem: OIDName},
	"pg_backend_pid":  tInt4, "pg_table_size": tInt8, "pg_relation_size": tInt8,
	"pg_total_relation_size": tInt8, "pg_database_size": tInt8, "pg_indexes_size": tInt8,
	"txid_current": tInt8, "pg_char_to_encoding": tInt4,
	"pg_postmaster_start_time": {OID: OIDTimestampTZ}, "now": {OID: OIDTimestampTZ},
	"to_regclass": {OID: OIDRegclass}, "to_regtype": {OID: OIDRegtype},
}

// srfSpec is a set-returning function in a select list.
type srfSpec struct {
	call func(*env) ([]Column, [][]Value, error)
	cols []Column
}

func (s *srfSpec) value(row []Value) Value {
	if len(s.cols) == 1 {
		return row[0]
	}
	return &record{cols: s.cols, vals: row}
}

type aggSpec struct {
	name     string
	args     []evalFn
	argTypes []Type
	star     bool
	distinct bool
	order    []sortKey
	filter   evalFn
}

type winSpec struct {
	name      string
	partition []evalFn
	order     []sortKey
}

func funcName(fc *pg_query.FuncCall) (schema, name string) {
	names := stringList(fc.Funcname)
	name = names[len(names)-1]
	if len(names) > 1 {
		schema = names[len(names)-2]
	}
	return schema, name
}

func (b *binder) funcCall(fc *pg_query.FuncCall, sc *scope) (evalFn, Type, error) {
	schema, name := funcName(fc)
	pos := b.pos(fc.Location)
	if fc.Over != nil {
		return b.window(fc, sc, name)
	}
	if aggregates[name] && (schema == "" || schema == "pg_catalog") {
		return b.aggregate(fc, sc, name)
	}
	if fc.AggStar || fc.AggDistinct || len(fc.AggOrder) > 0 || fc.AggFilter != nil {
		return nil, Type{}, sqlerr.Newf(sqlerr.WrongObjectType, "%s is not an aggregate function", name).At(pos)
	}
	if b.isSetFunc(schema, name) {
		if !sc.allowSRF {
			return nil, Type{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "set-returning functions are not allowed here").At(pos)
		}
		call, cols, err := b.setFunc(fc, sc)
		if err != nil {
			return nil, Type{}, err
		}
		k := len(sc.sel.srfs)
		sc.sel.srfs = append(sc.sel.srfs, &srfSpec{call: call, cols: cols})
		t := tRecord
		if len(cols) == 1 {
			t = cols[0].Type
		}
		return func(e *env) (Value, error) { return e.srfs[k], nil }, t, nil
	}
	args, types, err := b.args(fc.Args, sc)
	if err != nil {
		return nil, Type{}, err
	}
	if fn, ok := b.cat.Function(schema, name); ok {
		t, known := catalogFuncTypes[name]
		if !known {
			if bi, ok := builtins[name]; ok {
				t = bi.ret(types)
			} else {
				t = tText
			}
		}
		return func(e *env) (Value, error) {
			vals, err := evalArgs(e, args)
			if err != nil {
				return nil, err
			}
			v, err := fn(vals)
			if err != nil {
				return nil, sqlerr.Flatten(err).At(pos)
			}
			return v, nil
		}, t, nil
	}
	bi, ok := builtins[name]
	if !ok || !builtinSchema(schema) {
		return nil, Type{}, b.unknownFunction(fc, types)
	}
	if len(args) < bi.min || bi.max >= 0 && len(args) > bi.max {
		return nil, Type{}, b.unknownFunction(fc, types)
	}
	if bi.typed != nil {
		f := bi.typed(types)
		return func(e *env) (Value, error) {
			vals, err := evalArgs(e, args)
			if err != nil {
				return nil, err
			}
			if bi.strict && hasNull(vals) {
				return nil, nil
			}
			v, err := f(e.rs, vals)
			if err != nil {
				return nil, sqlerr.Flatten(err).At(pos)
			}
			return v, nil
		}, bi.ret(types), nil
	}
	return func(e *env) (Value, error) {
		vals, err := evalArgs(e, args)
		if err != nil {
			return nil, err
		}
		if bi.strict && hasNull(vals) {
			return nil, nil
		}
		v, err := bi.fn(e.rs, vals)
		if err != nil {
			return nil, sqlerr.Flatten(err).At(pos)
		}
		return v, nil
	}, bi.ret(types), nil
}

func builtinSchema(s string) bool {
	return s == "" || s == "pg_catalog" || s == "information_schema"
}

func (b *binder) unknownFunction(fc *pg_query.FuncCall, types []Type) error {
	names := stringList(fc.Funcname)
	ts := make([]string, len(types))
	for i, t := range types {
		ts[i] = typeName(t)
	}
	return sqlerr.Newf(sqlerr.UndefinedFunction, "function %s(%s) does not exist", strings.Join(names, "."), strings.Join(ts, ", ")).
		WithHint("No function matches the given name and argument types.").At(b.pos(fc.Location))
}

func (b *binder) args(nodes []*pg_query.Node, sc *scope) ([]evalFn, []Type, error) {
	fs := make([]evalFn, len(nodes))
	ts := make([]Type, len(nodes))
	for i, n := range nodes {
		if na := n.GetNamedArgExpr(); na != nil {
			n = na.Arg
		}
		f, t, err := b.expr(n, sc)
		if err != nil {
			return nil, nil, err
		}
		fs[i], ts[i] = f, t
	}
	return fs, ts, nil
}

func evalArgs(e *env, args []evalFn) ([]Value, error) {
	vals := make([]Value, len(args))
	for i, f := range args {
		v, err := f(e)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, nil
}

func hasNull(vals []Value) bool {
	for _, v := range vals {
		if v == nil {
			return true
		}
	}
	return false
}

func (b *binder) isSetFunc(schema, name string) bool {
	if _, ok := b.cat.SetFunction(schema, name); ok {
		return true
	}
	_, ok := setBuiltins[name]
	return ok && builtinSchema(schema)
}

// setFunc compiles a set-returning function call (in FROM or a select
// list). A catalog's SetFunc only says its columns when called, so it is
// called once here, with its constant arguments, to learn them.
func (b *binder) setFunc(fc *pg_query.FuncCall, sc *scope) (func(*env) ([]Column, [][]Value, error), []Column, error) {
	schema, name := funcName(fc)
	pos := b.pos(fc.Location)
	saved := sc.allowSRF
	sc.allowSRF = false
	defer func() { sc.allowSRF = saved }()
	args := make([]evalFn, len(fc.Args))
	types := make([]Type, len(fc.Args))
	consts := make([]bool, len(fc.Args))
	for i, n := range fc.Args {
		before := b.refs
		f, t, err := b.expr(n, sc)
		if err != nil {
			return nil, nil, err
		}
		args[i], types[i], consts[i] = f, t, b.refs == before && nodeIsPlain(n)
	}
	wrap := func(f func(e *env, vals []Value) ([]Column, [][]Value, error)) func(*env) ([]Column, [][]Value, error) {
		return func(e *env) ([]Column, [][]Value, error) {
			vals, err := evalArgs(e, args)
			if err != nil {
				return nil, nil, err
			}
			cols, rows, err := f(e, vals)
			if err != nil {
				return nil, nil, sqlerr.Flatten(err).At(pos)
			}
			return cols, rows, nil
		}
	}
	if fn, ok := b.cat.SetFunction(schema, name); ok {
		var cols []Column
		if bi, ok := setBuiltins[name]; ok {
			cols = bi.cols(types)
		}
		probe := make([]Value, len(args))
		pe := &env{rs: &runState{ctx: context.Background(), cat: b.cat, rels: map[string]*relSnapshot{}, subCache: map[*selectPlan][][]Value{}}}
		for i, f := range args {
			if consts[i] {
				probe[i], _ = f(pe)
			}
		}
		if c, _, err := fn(probe); err == nil && len(c) > 0 {
			cols = c
		}
		if len(cols) == 0 {
			cols = []Column{{Name: name, Type: tText}}
		}
		b.srfCols[fc] = cols
		return wrap(func(_ *env, vals []Value) ([]Column, [][]Value, error) { return fn(vals) }), cols, nil
	}
	if bi, ok := setBuiltins[name]; ok && builtinSchema(schema) {
		if len(args) < bi.min || len(args) > bi.max {
			return nil, nil, b.unknownFunction(fc, types)
		}
		cols := bi.cols(types)
		b.srfCols[fc] = cols
		return wrap(func(e *env, vals []Value) ([]Column, [][]Value, error) {
			rows, err := bi.fn(e.rs, vals, types)
			return cols, rows, err
		}), cols, nil
	}
	// A scalar function in FROM is a one-row relation.
	f, t, err := b.funcCall(fc, sc)
	if err != nil {
		return nil, nil, err
	}
	cols := []Column{{Name: name, Type: t}}
	return func(e *env) ([]Column, [][]Value, error) {
		v, err := f(e)
		return cols, [][]Value{{v}}, err
	}, cols, nil
}

// nodeIsPlain says whether an argument can be evaluated without a row:
// no subqueries or other queries' state.
func nodeIsPlain(n *pg_query.Node) bool {
	return n.GetSubLink() == nil
}

func (b *binder) srfColumns(fc *pg_query.FuncCall, sc *scope) []Column {
	return b.srfCols[fc]
}

var aggregates = map[string]bool{
	"count": true, "min": true, "max": true, "sum": true, "avg": true, "array_agg": true,
	"string_agg": true, "bool_and": true, "bool_or": true, "every": true,
}

func (b *binder) aggregate(fc *pg_query.FuncCall, sc *scope, name string) (evalFn, Type, error) {
	pos := b.pos(fc.Location)
	if !sc.allowAgg {
		return nil, Type{}, sqlerr.Newf(sqlerr.GroupingError, "aggregate functions are not allowed here").At(pos)
	}
	sc.allowAgg = false
	saveSRF, saveWin := sc.allowSRF, sc.allowWin
	sc.allowSRF, sc.allowWin = false, false
	defer func() { sc.allowAgg, sc.allowSRF, sc.allowWin = true, saveSRF, saveWin }()
	a := &aggSpec{name: name, star: fc.AggStar, distinct: fc.AggDistinct}
	var err error
	if a.args, a.argTypes, err = b.args(fc.Args, sc); err != nil {
		return nil, Type{}, err
	}
	want := 1
	if name == "string_agg" {
		want = 2
	}
	if !a.star && len(a.args) != want || a.star && name != "count" {
		return nil, Type{}, b.unknownFunction(fc, a.argTypes)
	}
	for _, n := range fc.AggOrder {
		sb := n.GetSortBy()
		f, _, err := b.expr(sb.Node, sc)
		if err != nil {
			return nil, Type{}, err
		}
		k := sortKey{out: -1, expr: f, desc: sb.SortbyDir == pg_query.SortByDir_SORTBY_DESC}
		k.nullsFirst = sb.SortbyNulls == pg_query.SortByNulls_SORTBY_NULLS_FIRST || k.desc && sb.SortbyNulls != pg_query.SortByNulls_SORTBY_NULLS_LAST
		a.order = append(a.order, k)
	}
	if fc.AggFilter != nil {
		if a.filter, _, err = b.expr(fc.AggFilter, sc); err != nil {
			return nil, Type{}, err
		}
	}
	var t Type
	switch name {
	case "count":
		t = tInt8
	case "sum":
		t = tInt8
		if len(a.argTypes) > 0 && (a.argTypes[0].OID == OIDFloat4 || a.argTypes[0].OID == OIDFloat8 || a.argTypes[0].OID == OIDNumeric) {
			t = a.argTypes[0]
		}
	case "avg":
		t = tNumeric
	case "min", "max":
		t = a.argTypes[0]
	case "array_agg":
		t = arrayOf(a.argTypes[0])
	case "string_agg":
		t = tText
	default:
		t = tBool
	}
	k := len(sc.sel.aggs)
	sc.sel.aggs = append(sc.sel.aggs, a)
	return func(e *env) (Value, error) { return e.aggs[k], nil }, t, nil
}

// compute folds the aggregate over a group's rows.
func (a *aggSpec) compute(rs *runState, outer *env, rows [][]Value) (Value, error) {
	type item struct {
		args []Value
		keys []Value
	}
	var items []item
	e := &env{rs: rs, outer: outer}
	for _, r := range rows {
		e.row = r
		if a.filter != nil {
			v, err := a.filter(e)
			if err != nil {
				return nil, err
			}
			if v != true {
				continue
			}
		}
		it := item{}
		for _, f := range a.args {
			v, err := f(e)
			if err != nil {
				return nil, err
			}
			it.args = append(it.args, v)
		}
		for _, k := range a.order {
			v, err := k.expr(e)
			if err != nil {
				return nil, err
			}
			it.keys = append(it.keys, v)
		}
		items = append(items, it)
	}
	if len(a.order) > 0 {
		p := &selectPlan{sort: a.order}
		sort.SliceStable(items, func(i, j int) bool { return p.less(items[i].keys, items[j].keys) })
	}
	if a.distinct {
		seen := map[string]bool{}
		kept := items[:0]
		for _, it := range items {
			k := rowKey(it.args[:1])
			if !seen[k] {
				seen[k] = true
				kept = append(kept, it)
			}
		}
		items = kept
	}
	switch a.name {
	case "count":
		n := int64(0)
		for _, it := range items {
			if a.star || it.args[0] != nil {
				n++
			}
		}
		return n, nil
	case "array_agg":
		if len(items) == 0 {
			return nil, nil
		}
		out := make([]Value, len(items))
		for i, it := range items {
			out[i] = it.args[0]
		}
		return out, nil
	case "string_agg":
		var sb strings.Builder
		n := 0
		for _, it := range items {
			if it.args[0] == nil {
				continue
			}
			if n > 0 && it.args[1] != nil {
				sb.WriteString(textOf(it.args[1], tText))
			}
			sb.WriteString(textOf(it.args[0], tText))
			n++
		}
		if n == 0 {
			return nil, nil
		}
		return sb.String(), nil
	}
	var acc Value
	n := 0
	for _, it := range items {
		v := it.args[0]
		if v == nil {
			continue
		}
		n++
		if acc == nil {
			acc = v
			if a.name == "bool_and" || a.name == "bool_or" || a.name == "every" {
				b, _ := toBool(v)
				acc = b
			}
			continue
		}
		switch a.name {
		case "min", "max":
			c, err := compare(v, acc)
			if err != nil {
				return nil, err
			}
			if a.name == "min" && c < 0 || a.name == "max" && c > 0 {
				acc = v
			}
		case "sum", "avg":
			s, err := arith("+", acc, v, tUnknown)
			if err != nil {
				return nil, err
			}
			acc = s
		case "bool_and", "every":
			b, _ := toBool(v)
			acc = acc == true && b
		case "bool_or":
			b, _ := toBool(v)
			acc = acc == true || b
		}
	}
	if a.name == "avg" && acc != nil {
		f, _ := toFloat(acc)
		return f / float64(n), nil
	}
	return acc, nil
}

// group splits rows by the GROUP BY keys (one group over all rows when
// there are none) and computes each group's aggregates. A group's row is
// its first row: columns outside GROUP BY read it.
func (p *selectPlan) group(ie *env, rows [][]Value) ([]*env, error) {
	var order []string
	groups := map[string][][]Value{}
	if len(p.groupBy) == 0 {
		order = []string{""}
		groups[""] = rows
	} else {
		e := &env{rs: ie.rs, outer: ie.outer}
		for _, r := range rows {
			e.row = r
			keys := make([]Value, len(p.groupBy))
			for i, g := range p.groupBy {
				v, err := g(e)
				if err != nil {
					return nil, err
				}
				keys[i] = v
			}
			k := rowKey(keys)
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], r)
		}
	}
	var bases []*env
	for _, k := range order {
		g := groups[k]
		be := &env{rs: ie.rs, outer: ie.outer, aggs: make([]Value, len(p.aggs))}
		if len(g) > 0 {
			be.row = g[0]
		} else {
			be.row = make([]Value, p.width)
		}
		for i, a := range p.aggs {
			v, err := a.compute(ie.rs, ie.outer, g)
			if err != nil {
				return nil, err
			}
			be.aggs[i] = v
		}
		if p.having != nil {
			v, err := p.having(be)
			if err != nil {
				return nil, err
			}
			if v != true {
				continue
			}
		}
		bases = append(bases, be)
	}
	return bases, nil
}

var windowFuncs = map[string]bool{"row_number": true, "rank": true, "dense_rank": true}

func (b *binder) window(fc *pg_query.FuncCall, sc *scope, name string) (evalFn, Type, error) {
	pos := b.pos(fc.Location)
	if !sc.allowWin {
		return nil, Type{}, sqlerr.Newf(sqlerr.GroupingError, "window functions are not allowed here").At(pos)
	}
	if !windowFuncs[name] || len(fc.Args) > 0 {
		return nil, Type{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "window function %s is not supported in catalog queries", name).At(pos)
	}
	if fc.Over.Refname != "" || fc.Over.Name != "" {
		return nil, Type{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "named windows are not supported in catalog queries").At(pos)
	}
	w := &winSpec{name: name}
	for _, n := range fc.Over.PartitionClause {
		f, _, err := b.expr(n, sc)
		if err != nil {
			return nil, Type{}, err
		}
		w.partition = append(w.partition, f)
	}
	for _, n := range fc.Over.OrderClause {
		sb := n.GetSortBy()
		f, _, err := b.expr(sb.Node, sc)
		if err != nil {
			return nil, Type{}, err
		}
		k := sortKey{out: -1, expr: f, desc: sb.SortbyDir == pg_query.SortByDir_SORTBY_DESC}
		k.nullsFirst = sb.SortbyNulls == pg_query.SortByNulls_SORTBY_NULLS_FIRST || k.desc && sb.SortbyNulls != pg_query.SortByNulls_SORTBY_NULLS_LAST
		w.order = append(w.order, k)
	}
	k := len(sc.sel.wins)
	sc.sel.wins = append(sc.sel.wins, w)
	return func(e *env) (Value, error) { return e.wins[k], nil }, tInt8, nil
}

// windows computes each window function for every row.
func (p *selectPlan) windows(bases []*env) error {
	for _, be := range bases {
		be.wins = make([]Value, len(p.wins))
	}
	for wi, w := range p.wins {
		parts := map[string][]int{}
		var order []string
		keys := make([][]Value, len(bases))
		for i, be := range bases {
			pk := make([]Value, len(w.partition))
			for j, f := range w.partition {
				v, err := f(be)
				if err != nil {
					return err
				}
				pk[j] = v
			}
			k := rowKey(pk)
			if _, ok := parts[k]; !ok {
				order = append(order, k)
			}
			parts[k] = append(parts[k], i)
			for _, sk := range w.order {
				v, err := sk.expr(be)
				if err != nil {
					return err
				}
				keys[i] = append(keys[i], v)
			}
		}
		sp := &selectPlan{sort: w.order}
		for _, k := range order {
			idx := parts[k]
			sort.SliceStable(idx, func(a, b int) bool { return sp.less(keys[idx[a]], keys[idx[b]]) })
			rank, dense := int64(0), int64(0)
			for n, i := range idx {
				peer := n > 0 && !sp.less(keys[idx[n-1]], keys[i]) && !sp.less(keys[i], keys[idx[n-1]])
				if !peer {
					rank = int64(n + 1)
					dense++
				}
				switch w.name {
				case "row_number":
					bases[i].wins[wi] = int64(n + 1)
				case "rank":
					bases[i].wins[wi] = rank
				default:
					bases[i].wins[wi] = dense
				}
			}
		}
	}
	return nil
}

// builtin is a generic scalar function of the evaluator's own.
type builtin struct {
	fn     func(rs *runState, args []Value) (Value, error)
	typed  func(argTypes []Type) func(rs *runState, args []Value) (Value, error)
	ret    func(argTypes []Type) Type
	strict bool
	min    int
	max    int // -1: variadic
}

func ret(t Type) func([]Type) Type { return func([]Type) Type { return t } }

func retArg(i int) func([]Type) Type {
	return func(ts []Type) Type {
		if i < len(ts) && ts[i].OID != OIDUnknown {
			return ts[i]
		}
		return tText
	}
}

func str(v Value) string { return textOf(v, tUnknown) }

func textFn(f func(s string) string) builtin {
	return builtin{fn: func(_ *runState, a []Value) (Value, error) { return f(str(a[0])), nil }, ret: ret(tText), strict: true, min: 1, max: 1}
}

func intArg(v Value, what string) (int64, error) {
	i, ok := toInt(v)
	if !ok {
		return 0, sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid input syntax for type integer: %q (%s)", str(v), what)
	}
	return i, nil
}

// substr is SQL's substring(s from start for n): characters counted from
// 1, a start before 1 eats into the length.
func substr(s string, start int64, n int64, hasN bool) (string, error) {
	r := []rune(s)
	end := int64(len(r)) + 1
	if hasN {
		if n < 0 {
			return "", sqlerr.Newf(sqlerr.DataException, "negative substring length not allowed")
		}
		end = start + n
	}
	if start < 1 {
		start = 1
	}
	if end > int64(len(r))+1 {
		end = int64(len(r)) + 1
	}
	if start >= end {
		return "", nil
	}
	return string(r[start-1 : end-1]), nil
}

func arrayFn(f func(arr []Value, a []Value) (Value, error), rt Type, min, max int) builtin {
	return builtin{fn: func(_ *runState, a []Value) (Value, error) {
		arr, ok := toArray(a[0])
		if !ok {
			return nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "argument is not an array")
		}
		return f(arr, a)
	}, ret: ret(rt), strict: true, min: min, max: max}
}

var builtins map[string]builtin

func init() {
	builtins = map[string]builtin{
		"lower":            textFn(strings.ToLower),
		"upper":            textFn(strings.ToUpper),
		"initcap":          textFn(func(s string) string { return strings.Title(strings.ToLower(s)) }), //nolint:staticcheck // ASCII catalogs
		"md5":              textFn(func(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }),
		"quote_ident":      textFn(QuoteIdent),
		"quote_literal":    textFn(quoteLiteral),
		"length":           {fn: func(_ *runState, a []Value) (Value, error) { return int64(utf8.RuneCountInString(str(a[0]))), nil }, ret: ret(tInt4), strict: true, min: 1, max: 1},
		"char_length":      {fn: func(_ *runState, a []Value) (Value, error) { return int64(utf8.RuneCountInString(str(a[0]))), nil }, ret: ret(tInt4), strict: true, min: 1, max: 1},
		"character_length": {fn: func(_ *runState, a []Value) (Value, error) { return int64(utf8.RuneCountInString(str(a[0]))), nil }, ret: ret(tInt4), strict: true, min: 1, max: 1},
		"octet_length":     {fn: func(_ *runState, a []Value) (Value, error) { return int64(len(str(a[0]))), nil }, ret: ret(tInt4), strict: true, min: 1, max: 1},
		"quote_nullable": {fn: func(_ *runState, a []Value) (Value, error) {
			if a[0] == nil {
				return "NULL", nil
			}
			return quoteLiteral(str(a[0])), nil
		}, ret: ret(tText), min: 1, max: 1},
		"substring": {typed: func(ts []Type) func(*runState, []Value) (Value, error) {
			if len(ts) == 2 && isTextType(ts[1].OID) && ts[1].OID != OIDUnknown {
				return regexSubstring
			}
			return func(_ *runState, a []Value) (Value, error) {
				if len(a) == 2 {
					if _, ok := toInt(a[1]); !ok {
						return regexSubstring(nil, a)
					}
				}
				return substrFn(a)
			}
		}, ret: ret(tText), strict: true, min: 2, max: 3},
		"substr": {fn: func(_ *runState, a []Value) (Value, error) { return substrFn(a) }, ret: ret(tText), strict: true, min: 2, max: 3},
		"left": {fn: func(_ *runState, a []Value) (Value, error) {
			r := []rune(str(a[0]))
			n, err := intArg(a[1], "left")
			if err != nil {
				return nil, err
			}
			if n < 0 {
				n = max(int64(len(r))+n, 0)
			}
			return string(r[:min(n, int64(len(r)))]), nil
		}, ret: ret(tText), strict: true, min: 2, max: 2},
		"right": {fn: func(_ *runState, a []Value) (Value, error) {
			r := []rune(str(a[0]))
			n, err := intArg(a[1], "right")
			if err != nil {
				return nil, err
			}
			if n < 0 {
				n = max(int64(len(r))+n, 0)
			}
			return string(r[int64(len(r))-min(n, int64(len(r))):]), nil
		}, ret: ret(tText), strict: true, min: 2, max: 2},
		"position": {fn: func(_ *runState, a []Value) (Value, error) { return strpos(str(a[0]), str(a[1])), nil }, ret: ret(tInt4), strict: true, min: 2, max: 2},
		"strpos":   {fn: func(_ *runState, a []Value) (Value, error) { return strpos(str(a[0]), str(a[1])), nil }, ret: ret(tInt4), strict: true, min: 2, max: 2},
		"replace": {fn: func(_ *runState, a []Value) (Value, error) {
			return strings.ReplaceAll(str(a[0]), str(a[1]), str(a[2])), nil
		}, ret: ret(tText), strict: true, min: 3, max: 3},
		"split_part": {fn: func(_ *runState, a []Value) (Value, error) {
			n, err := intArg(a[2], "split_part")
			if err != nil {
				return nil, err
			}
			parts := strings.Split(str(a[0]), str(a[1]))
			if str(a[1]) == "" {
				parts = []string{str(a[0])}
			}
			switch {
			case n == 0:
				return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "field position must not be zero")
			case n < 0:
				n = int64(len(parts)) + n + 1
			}
			if n < 1 || n > int64(len(parts)) {
				return "", nil
			}
			return parts[n-1], nil
		}, ret: ret(tText), strict: true, min: 3, max: 3},
		"btrim": trimFn(strings.Trim),
		"trim":  trimFn(strings.Trim),
		"ltrim": trimFn(strings.TrimLeft),
		"rtrim": trimFn(strings.TrimRight),
		"concat": {fn: func(_ *runState, a []Value) (Value, error) {
			var sb strings.Builder
			for _, v := range a {
				if v != nil {
					sb.WriteString(str(v))
				}
			}
			return sb.String(), nil
		}, ret: ret(tText), min: 0, max: -1},
		"concat_ws": {fn: func(_ *runState, a []Value) (Value, error) {
			if a[0] == nil {
				return nil, nil
			}
			var parts []string
			for _, v := range a[1:] {
				if v != nil {
					parts = append(parts, str(v))
				}
			}
			return strings.Join(parts, str(a[0])), nil
		}, ret: ret(tText), min: 1, max: -1},
		"repeat": {fn: func(_ *runState, a []Value) (Value, error) {
			n, err := intArg(a[1], "repeat")
			if err != nil {
				return nil, err
			}
			return strings.Repeat(str(a[0]), int(max(n, 0))), nil
		}, ret: ret(tText), strict: true, min: 2, max: 2},
		"starts_with": {fn: func(_ *runState, a []Value) (Value, error) { return strings.HasPrefix(str(a[0]), str(a[1])), nil }, ret: ret(tBool), strict: true, min: 2, max: 2},
		"regexp_replace": {fn: func(_ *runState, a []Value) (Value, error) {
			flags := ""
			if len(a) > 3 {
				flags = str(a[3])
			}
			re, err := compileRegex(str(a[1]), false, strings.Contains(flags, "i"))
			if err != nil {
				return nil, err
			}
			repl := pgReplacement(str(a[2]))
			if strings.Contains(flags, "g") {
				return re.ReplaceAllString(str(a[0]), repl), nil
			}
			s := str(a[0])
			loc := re.FindStringSubmatchIndex(s)
			if loc == nil {
				return s, nil
			}
			var dst []byte
			dst = re.ExpandString(dst, repl, s, loc)
			return s[:loc[0]] + string(dst) + s[loc[1]:], nil
		}, ret: ret(tText), strict: true, min: 3, max: 4},
		"like_escape": {fn: func(_ *runState, a []Value) (Value, error) {
			esc := str(a[1])
			if esc == "" || esc == `\` {
				return str(a[0]), nil
			}
			return strings.ReplaceAll(strings.ReplaceAll(str(a[0]), `\`, `\\`), esc, `\`), nil
		}, ret: ret(tText), strict: true, min: 2, max: 2},
		"array_to_string": {fn: func(_ *runState, a []Value) (Value, error) {
			if a[0] == nil || a[1] == nil {
				return nil, nil
			}
			arr, ok := toArray(a[0])
			if !ok {
				return nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "array_to_string: argument is not an array")
			}
			var parts []string
			for _, v := range arr {
				switch {
				case v != nil:
					parts = append(parts, str(v))
				case len(a) > 2 && a[2] != nil:
					parts = append(parts, str(a[2]))
				}
			}
			return strings.Join(parts, str(a[1])), nil
		}, ret: ret(tText), min: 2, max: 3},
		"string_to_array": {fn: func(_ *runState, a []Value) (Value, error) {
			if a[0] == nil {
				return nil, nil
			}
			s := str(a[0])
			if s == "" {
				return []Value{}, nil
			}
			var parts []string
			if a[1] == nil {
				for _, r := range s {
					parts = append(parts, string(r))
				}
			} else {
				parts = strings.Split(s, str(a[1]))
			}
			out := make([]Value, len(parts))
			for i, p := range parts {
				out[i] = p
				if len(a) > 2 && a[2] != nil && p == str(a[2]) {
					out[i] = nil
				}
			}
			return out, nil
		}, ret: ret(Type{OID: OIDTextArray, Elem: OIDText}), min: 2, max: 3},
		"array_length": {typed: func(ts []Type) func(*runState, []Value) (Value, error) {
			return func(_ *runState, a []Value) (Value, error) {
				arr, ok := toArray(a[0])
				if d, _ := toInt(a[1]); !ok || d != 1 || len(arr) == 0 {
					return nil, nil
				}
				return int64(len(arr)), nil
			}
		}, ret: ret(tInt4), strict: true, min: 2, max: 2},
		"cardinality": arrayFn(func(arr []Value, _ []Value) (Value, error) { return int64(len(arr)), nil }, tInt4, 1, 1),
		"array_upper": {typed: func(ts []Type) func(*runState, []Value) (Value, error) {
			base := lowerBound(ts[0])
			return func(_ *runState, a []Value) (Value, error) {
				arr, ok := toArray(a[0])
				if d, _ := toInt(a[1]); !ok || d != 1 || len(arr) == 0 {
					return nil, nil
				}
				return base + int64(len(arr)) - 1, nil
			}
		}, ret: ret(tInt4), strict: true, min: 2, max: 2},
		"array_lower": {typed: func(ts []Type) func(*runState, []Value) (Value, error) {
			base := lowerBound(ts[0])
			return func(_ *runState, a []Value) (Value, error) {
				arr, ok := toArray(a[0])
				if d, _ := toInt(a[1]); !ok || d != 1 || len(arr) == 0 {
					return nil, nil
				}
				return base, nil
			}
		}, ret: ret(tInt4), strict: true, min: 2, max: 2},
		"array_ndims": arrayFn(func(arr []Value, _ []Value) (Value, error) {
			if len(arr) == 0 {
				return nil, nil
			}
			return int64(1), nil
		}, tInt4, 1, 1),
		"array_position": arrayFn(func(arr []Value, a []Value) (Value, error) {
			for i, v := range arr {
				if v != nil && a[1] != nil {
					if c, err := compare(v, a[1]); err == nil && c == 0 {
						return int64(i + 1), nil
					}
				}
			}
			return nil, nil
		}, tInt4, 2, 2),
		"array_append": {fn: func(_ *runState, a []Value) (Value, error) {
			arr, _ := toArray(a[0])
			return append(append([]Value(nil), arr...), a[1]), nil
		}, ret: retArg(0), min: 2, max: 2},
		"array_cat": {fn: func(_ *runState, a []Value) (Value, error) {
			x, _ := toArray(a[0])
			y, _ := toArray(a[1])
			return append(append([]Value(nil), x...), y...), nil
		}, ret: retArg(0), min: 2, max: 2},
		"abs": {fn: func(_ *runState, a []Value) (Value, error) {
			if i, ok := a[0].(int64); ok {
				if i < 0 {
					return -i, nil
				}
				return i, nil
			}
			f, _ := toFloat(a[0])
			if f < 0 {
				f = -f
			}
			return f, nil
		}, ret: retArg(0), strict: true, min: 1, max: 1},
		"mod": {fn: func(_ *runState, a []Value) (Value, error) { return arith("%", a[0], a[1], tInt8) }, ret: retArg(0), strict: true, min: 2, max: 2},
		"current_setting": {fn: func(rs *runState, a []Value) (Value, error) {
			v, ok := rs.cat.Setting(strings.ToLower(str(a[0])))
			if !ok {
				if len(a) > 1 && a[1] == true {
					return nil, nil
				}
				return nil, sqlerr.Newf(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", str(a[0]))
			}
			return v, nil
		}, ret: ret(tText), strict: true, min: 1, max: 2},
		"to_regclass":     regLookupFn(OIDRegclass),
		"to_regtype":      regLookupFn(OIDRegtype),
		"to_regproc":      regLookupFn(OIDRegproc),
		"to_regnamespace": regLookupFn(oidRegnamespace),
		"array_dims":      arrayFn(func(arr []Value, _ []Value) (Value, error) { return fmt.Sprintf("[1:%d]", len(arr)), nil }, tText, 1, 1),
	}
}

func regLookupFn(oid uint32) builtin {
	return builtin{fn: func(rs *runState, a []Value) (Value, error) {
		v, err := rs.regOID(str(a[0]), oid)
		if err != nil {
			return nil, nil
		}
		return v, nil
	}, ret: ret(Type{OID: oid}), strict: true, min: 1, max: 1}
}

func trimFn(f func(s, cut string) string) builtin {
	return builtin{fn: func(_ *runState, a []Value) (Value, error) {
		cut := " "
		if len(a) > 1 {
			cut = str(a[1])
		}
		return f(str(a[0]), cut), nil
	}, ret: ret(tText), strict: true, min: 1, max: 2}
}

func substrFn(a []Value) (Value, error) {
	start, err := intArg(a[1], "substring")
	if err != nil {
		return nil, err
	}
	var n int64
	if len(a) > 2 {
		if n, err = intArg(a[2], "substring"); err != nil {
			return nil, err
		}
	}
	return substr(str(a[0]), start, n, len(a) > 2)
}

// regexSubstring is substring(s from pattern): the first parenthesised
// subexpression's match, or the whole match.
func regexSubstring(_ *runState, a []Value) (Value, error) {
	re, err := compileRegex(str(a[1]), false, false)
	if err != nil {
		return nil, err
	}
	m := re.FindStringSubmatch(str(a[0]))
	switch {
	case m == nil:
		return nil, nil
	case len(m) > 1:
		return m[1], nil
	}
	return m[0], nil
}

func strpos(s, sub string) int64 {
	i := strings.Index(s, sub)
	if i < 0 {
		return 0
	}
	return int64(utf8.RuneCountInString(s[:i]) + 1)
}

func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		return "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}

// pgReplacement turns Postgres's \1 and \& in a replacement into Go's ${1}.
func pgReplacement(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			sb.WriteString("${" + string(s[i+1]) + "}")
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '&':
			sb.WriteString("${0}")
			i++
		case c == '\\' && i+1 < len(s):
			sb.WriteByte(s[i+1])
			i++
		case c == '$':
			sb.WriteString("$$")
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// setBuiltin is a generic set-returning function of the evaluator's own.
type setBuiltin struct {
	fn       func(rs *runState, args []Value, argTypes []Type) ([][]Value, error)
	cols     func(argTypes []Type) []Column
	min, max int
}

var setBuiltins = map[string]setBuiltin{
	"unnest": {fn: func(_ *runState, a []Value, _ []Type) ([][]Value, error) {
		if a[0] == nil {
			return nil, nil
		}
		arr, ok := toArray(a[0])
		if !ok {
			return nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "unnest: argument is not an array")
		}
		out := make([][]Value, len(arr))
		for i, v := range arr {
			out[i] = []Value{v}
		}
		return out, nil
	}, cols: func(ts []Type) []Column { return []Column{{Name: "unnest", Type: elemOrText(ts[0])}} }, min: 1, max: 1},
	"generate_series": {fn: func(_ *runState, a []Value, _ []Type) ([][]Value, error) {
		if hasNull(a) {
			return nil, nil
		}
		lo, err1 := intArg(a[0], "generate_series")
		hi, err2 := intArg(a[1], "generate_series")
		step := int64(1)
		var err3 error
		if len(a) > 2 {
			step, err3 = intArg(a[2], "generate_series")
		}
		if err := firstErr(err1, err2, err3); err != nil {
			return nil, err
		}
		if step == 0 {
			return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "step size cannot equal zero")
		}
		var out [][]Value
		for i := lo; step > 0 && i <= hi || step < 0 && i >= hi; i += step {
			out = append(out, []Value{i})
			if len(out) > 1_000_000 {
				return nil, sqlerr.Newf(sqlerr.ProgramLimitExceeded, "generate_series: more than a million rows in a catalog query")
			}
		}
		return out, nil
	}, cols: func(ts []Type) []Column {
		t := tInt4
		for _, at := range ts {
			if at.OID == OIDInt8 {
				t = tInt8
			}
		}
		return []Column{{Name: "generate_series", Type: t}}
	}, min: 2, max: 3},
	"generate_subscripts": {fn: func(_ *runState, a []Value, ts []Type) ([][]Value, error) {
		arr, ok := toArray(a[0])
		if d, _ := toInt(a[1]); !ok || d != 1 {
			return nil, nil
		}
		base := lowerBound(ts[0])
		out := make([][]Value, len(arr))
		for i := range arr {
			out[i] = []Value{base + int64(i)}
		}
		return out, nil
	}, cols: func([]Type) []Column { return []Column{{Name: "generate_subscripts", Type: tInt4}} }, min: 2, max: 3},
	// information_schema._pg_expandarray(a) is (a[s], s - lower + 1) for each subscript s.
	"_pg_expandarray": {fn: func(_ *runState, a []Value, _ []Type) ([][]Value, error) {
		if a[0] == nil {
			return nil, nil
		}
		arr, ok := toArray(a[0])
		if !ok {
			return nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "_pg_expandarray: argument is not an array")
		}
		out := make([][]Value, len(arr))
		for i, v := range arr {
			out[i] = []Value{v, int64(i + 1)}
		}
		return out, nil
	}, cols: func(ts []Type) []Column {
		return []Column{{Name: "x", Type: elemOrText(ts[0])}, {Name: "n", Type: tInt4}}
	}, min: 1, max: 1},
	"pg_options_to_table": {fn: func(_ *runState, a []Value, _ []Type) ([][]Value, error) {
		arr, _ := toArray(a[0])
		var out [][]Value
		for _, v := range arr {
			k, val, found := strings.Cut(str(v), "=")
			row := []Value{k, nil}
			if found {
				row[1] = val
			}
			out = append(out, row)
		}
		return out, nil
	}, cols: func([]Type) []Column {
		return []Column{{Name: "option_name", Type: tText}, {Name: "option_value", Type: tText}}
	}, min: 1, max: 1},
}

func elemOrText(t Type) Type {
	if isArray(t) {
		return elemType(t)
	}
	return tText
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
