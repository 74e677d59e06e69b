package planner

import (
	"context"
	"math"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
	tidbtypes "github.com/pingcap/tidb/pkg/parser/types"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// scopeCol is a column visible to expressions: the input row's column at
// the same index.
type scopeCol struct {
	table string // qualifier: the relation's alias or name; "" for none
	name  string
	typ   types.Type
	// qualified: only a qualified name finds it (excluded.c of an
	// upsert, beside the stored row's c).
	qualified bool
}

type scope struct{ cols []scopeCol }

func scopeOf(cols []types.Column, table string) *scope {
	s := &scope{}
	for _, c := range cols {
		s.cols = append(s.cols, scopeCol{table: table, name: c.Name, typ: c.Type})
	}
	return s
}

// aggCtx is the state of binding expressions above a GROUP BY: references
// must be group keys or inside aggregates, which read the input scope.
// Keys and aggregates are told apart by their text, indexed so that a long
// select list or GROUP BY does not compare each with every other.
type aggCtx struct {
	input *scope
	keys  []expr.Expr
	aggs  []*expr.Agg
	keyAt map[string]int // text of keys[i] → i
	aggAt map[string]int // text of aggs[i] → i
}

func (a *aggCtx) findKey(e expr.Expr) int {
	if i, ok := a.keyAt[e.String()]; ok {
		return i
	}
	return -1
}

// addKey adds a group key unless an equal one is there.
func (a *aggCtx) addKey(e expr.Expr) {
	s := e.String()
	if _, ok := a.keyAt[s]; ok {
		return
	}
	if a.keyAt == nil {
		a.keyAt = map[string]int{}
	}
	a.keyAt[s] = len(a.keys)
	a.keys = append(a.keys, e)
}

// ectx is where an expression is bound.
type ectx struct {
	scope *scope
	agg   *aggCtx // non-nil above a GROUP BY
	// clause names the clause for "aggregate functions are not allowed in
	// WHERE"; "" where aggregates are allowed.
	noAggIn string
	inAgg   bool // inside an aggregate's argument
	// aliases are the select list's aliases, which HAVING may name.
	aliases map[string]ast.ExprNode
	pos     int // position of the nearest enclosing node with one
}

type binder struct {
	// ctx is the statement's: binding a long expression looks at it every
	// cancelCheckEvery nodes.
	ctx    context.Context
	nodes  int // bound so far
	depth  int // of the node being bound
	in     *input
	cat    Catalog
	params []*expr.Param
	deps   []string
	// preset are parameter types inferred by a first pass: every
	// occurrence of a parameter is bound with its one type.
	preset []types.Type
	// hasAgg remembers containsAgg's answers.
	hasAgg map[ast.Node]bool
	// streaming is set once a Scan is planned.
	streaming bool
	windowed  bool
	session   SessionInfo
	// subs are the statement's scalar subqueries (expr.Subquery indexes
	// them), inner ones before those around them; outer are the scopes of
	// the queries around the one being bound, to tell a correlated
	// reference from a misspelt one.
	subs  []subquery
	outer []*scope
	// overCols are the columns of the window function calls bindOver
	// planned (see over.go).
	overCols map[*ast.WindowFuncExpr]*expr.ColumnRef
	// lookedUp is the right side of the join being built, the one place
	// FOR SYSTEM_TIME AS OF may stand (temporal.go).
	lookedUp ast.ResultSetNode
}

func (b *binder) posOf(n ast.Node, fallback int) int {
	if n == nil {
		return fallback
	}
	if off := n.OriginTextPosition(); off > 0 {
		return b.in.position(off)
	}
	return fallback
}

func unsupported(pos int, format string, args ...any) error {
	return sqlerr.Newf(sqlerr.FeatureNotSupported, format, args...).At(pos)
}

// containsAgg reports whether n calls an aggregate (outside subqueries).
// Binding above a GROUP BY asks it of every node on the way down, so the
// answers for a whole subtree are worked out in one walk and remembered:
// a deep expression costs linear time, not quadratic.
func (b *binder) containsAgg(n ast.Node) bool {
	if found, ok := b.hasAgg[n]; ok {
		return found
	}
	if b.hasAgg == nil {
		b.hasAgg = map[ast.Node]bool{}
	}
	n.Accept(&aggFinder{memo: b.hasAgg})
	return b.hasAgg[n]
}

// aggFinder records, for every node it leaves, whether an aggregate is at
// or below it.
type aggFinder struct {
	memo  map[ast.Node]bool
	stack []bool // per node being visited: an aggregate seen below it
}

func (v *aggFinder) Enter(n ast.Node) (ast.Node, bool) {
	found, known := v.memo[n]
	switch n.(type) {
	case *ast.AggregateFuncExpr:
		found, known = true, true
	case *ast.SubqueryExpr:
		known = true
	}
	v.stack = append(v.stack, found)
	return n, known
}

func (v *aggFinder) Leave(n ast.Node) (ast.Node, bool) {
	found := v.stack[len(v.stack)-1]
	v.stack = v.stack[:len(v.stack)-1]
	switch n.(type) {
	case *test_driver.ValueExpr, *test_driver.ParamMarkerExpr, *ast.ColumnNameExpr:
		// Leaves cost nothing to walk again; a long IN list of them
		// need not fill the map.
	default:
		v.memo[n] = found
	}
	if found && len(v.stack) > 0 {
		v.stack[len(v.stack)-1] = true
	}
	return n, true
}

func hasColumnRef(e expr.Expr) bool {
	found := false
	expr.Walk(e, func(x expr.Expr) bool {
		if _, ok := x.(*expr.ColumnRef); ok {
			found = true
		}
		return !found
	})
	return found
}

// lookup resolves a column name in a scope.
func (b *binder) lookup(sc *scope, table, name string, pos int) (*expr.ColumnRef, error) {
	found := -1
	tableSeen := table == ""
	for i, c := range sc.cols {
		if table != "" && c.table != table || table == "" && c.qualified {
			continue
		}
		tableSeen = true
		if c.name != name {
			continue
		}
		if found >= 0 {
			return nil, sqlerr.Newf(sqlerr.AmbiguousColumn, "column reference %q is ambiguous", name).At(pos)
		}
		found = i
	}
	if found < 0 {
		if !tableSeen {
			return nil, sqlerr.Newf(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", table).At(pos)
		}
		full := name
		if table != "" {
			full = table + "." + name
		}
		return nil, sqlerr.Newf(sqlerr.UndefinedColumn, "column %q does not exist", full).At(pos)
	}
	c := sc.cols[found]
	return &expr.ColumnRef{Index: found, Typ: c.typ, Name: c.name}, nil
}

// cancelCheckEvery is how many expression nodes are bound between looks
// at the statement's context.
const cancelCheckEvery = 1024

// maxExprDepth bounds how deeply expressions nest (a chain of 20,000 ORs
// or additions). Binding, folding, compiling and evaluating all recurse
// over the tree, and a goroutine that outgrows Go's stack limit takes
// the whole process down, recover or not: a million nested additions (a
// 4 MB statement) did.
const maxExprDepth = 20000

// bindExpr binds a TiDB expression.
func (b *binder) bindExpr(cx ectx, n ast.ExprNode) (expr.Expr, error) {
	if b.nodes++; b.nodes%cancelCheckEvery == 0 {
		if err := b.ctx.Err(); err != nil {
			return nil, err
		}
	}
	if b.depth++; b.depth > maxExprDepth {
		return nil, sqlerr.Newf(sqlerr.ProgramLimitExceeded,
			"expression nested more than %d levels deep", maxExprDepth).At(b.posOf(n, cx.pos)).
			WithHint("Use IN (...) rather than a long chain of OR, or split the expression.")
	}
	defer func() { b.depth-- }()
	cx.pos = b.posOf(n, cx.pos)
	if cx.agg != nil && !cx.inAgg {
		if a, ok := n.(*ast.AggregateFuncExpr); ok {
			return b.bindAggCall(cx, a)
		}
		if !b.containsAgg(n) {
			inner := cx
			inner.agg, inner.scope = nil, cx.agg.input
			e, err := b.bindExpr(inner, n)
			if err != nil {
				// HAVING may name a select-list alias, as MySQL allows.
				if col, ok := n.(*ast.ColumnNameExpr); ok && col.Name.Table.O == "" && cx.aliases != nil &&
					sqlerr.CodeOf(err) == sqlerr.UndefinedColumn {
					if ae, ok := cx.aliases[col.Name.Name.O]; ok {
						alias := cx
						alias.aliases = nil
						return b.bindExpr(alias, ae)
					}
				}
				if _, ok := n.(*ast.ColumnNameExpr); ok {
					return nil, err
				}
				// Bind the parts one by one below, where an alias may
				// resolve; a real error recurs there.
				e = nil
			}
			if e == nil {
				// fall through to the structural binding
			} else if k := cx.agg.findKey(e); k >= 0 {
				return &expr.ColumnRef{Index: k, Typ: e.Type(), Name: e.String()}, nil
			} else if !hasColumnRef(e) {
				return e, nil
			} else if col, ok := n.(*ast.ColumnNameExpr); ok {
				name := col.Name.Name.O
				if col.Name.Table.O != "" {
					name = col.Name.Table.O + "." + name
				}
				return nil, sqlerr.Newf(sqlerr.GroupingError,
					"column %q must appear in the GROUP BY clause or be used in an aggregate function", name).At(cx.pos)
			}
		}
	}
	switch n := n.(type) {
	case *ast.ParenthesesExpr:
		return b.bindExpr(cx, n.Expr)
	case *test_driver.ValueExpr:
		v, t, err := literal(n)
		if err != nil {
			return nil, sqlerr.Wrap(err, sqlerr.FeatureNotSupported, "literal").At(cx.pos)
		}
		return &expr.Const{Value: v, Typ: t}, nil
	case *test_driver.ParamMarkerExpr:
		idx := n.Order
		if n.Order < len(b.in.paramOrder) {
			idx = b.in.paramOrder[n.Order]
		}
		p := &expr.Param{Index: idx}
		if idx < len(b.preset) {
			p.Typ = b.preset[idx]
		}
		b.params = append(b.params, p)
		return p, nil
	case *ast.ColumnNameExpr:
		if cx.scope == nil {
			return nil, b.correlated(n, sqlerr.Newf(sqlerr.UndefinedColumn, "column %q does not exist", n.Name.Name.O).At(cx.pos), cx.pos)
		}
		c, err := b.lookup(cx.scope, n.Name.Table.O, n.Name.Name.O, cx.pos)
		if err != nil {
			return nil, b.correlated(n, err, cx.pos)
		}
		return c, nil
	case *ast.BinaryOperationExpr:
		name, ok := binaryOps[n.Op]
		if !ok {
			return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "operator %s is not supported", n.Op).At(cx.pos)
		}
		return b.call(cx, name, "", n.L, n.R)
	case *ast.UnaryOperationExpr:
		switch n.Op {
		case opcode.Minus:
			if v, ok := n.V.(*test_driver.ValueExpr); ok && v.Datum.Kind() == test_driver.KindInt64 &&
				v.Type.GetFlag()&mysql.IsBooleanFlag == 0 && intLiteralType(-v.Datum.GetInt64()) == types.TypeInt {
				// -1 is one INT literal, as in Postgres, not BIGINT
				// negation of one.
				return &expr.Const{Value: intLiteral(-v.Datum.GetInt64()), Typ: types.TypeInt}, nil
			}
			if v, ok := n.V.(*test_driver.ValueExpr); ok && v.Datum.Kind() == test_driver.KindUint64 &&
				v.Datum.GetUint64() == 1<<63 {
				// -9223372036854775808 is BIGINT's smallest value, a
				// BIGINT as in MySQL, not the negation of a DECIMAL.
				return &expr.Const{Value: intLiteral(math.MinInt64), Typ: types.TypeBigInt}, nil
			}
			return b.call(cx, "neg", "", n.V)
		case opcode.Plus:
			return b.bindExpr(cx, n.V)
		case opcode.Not, opcode.Not2:
			return b.call(cx, "not", "", n.V)
		case opcode.BitNeg:
			return b.call(cx, "~", "", n.V)
		}
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "operator %s is not supported", n.Op).At(cx.pos)
	case *ast.IsNullExpr:
		if n.Not {
			return b.call(cx, "isnotnull", "", n.Expr)
		}
		return b.call(cx, "isnull", "", n.Expr)
	case *ast.IsTruthExpr:
		name := "istrue"
		if n.True == 0 {
			name = "isfalse"
		}
		if n.Not {
			name = strings.Replace(name, "is", "isnot", 1)
		}
		return b.call(cx, name, "", n.Expr)
	case *ast.PatternInExpr:
		if n.Sel != nil {
			e, err := b.bindInSubquery(cx, n)
			if err != nil || !n.Not {
				return e, err
			}
			return expr.NewCall("not", cx.pos, e)
		}
		e, err := b.call(cx, "in", "", append([]ast.ExprNode{n.Expr}, n.List...)...)
		if err != nil || !n.Not {
			return e, err
		}
		return expr.NewCall("not", cx.pos, e)
	case *ast.BetweenExpr:
		e, err := b.call(cx, "between", "", n.Expr, n.Left, n.Right)
		if err != nil || !n.Not {
			return e, err
		}
		return expr.NewCall("not", cx.pos, e)
	case *ast.PatternLikeOrIlikeExpr:
		s, err := b.bindExpr(cx, n.Expr)
		if err != nil {
			return nil, err
		}
		p, err := b.bindExpr(cx, n.Pattern)
		if err != nil {
			return nil, err
		}
		b.inferParam(p, types.TypeText)
		b.inferParam(s, types.TypeText)
		if !n.IsLike {
			// ILIKE: compare lower-cased text.
			if s, err = expr.NewCall("lower", cx.pos, s); err != nil {
				return nil, err
			}
			if p, err = expr.NewCall("lower", cx.pos, p); err != nil {
				return nil, err
			}
		}
		esc := &expr.Const{Value: types.NewString(string(rune(n.Escape))), Typ: types.TypeText}
		e, err := expr.NewCall("like", cx.pos, s, p, esc)
		if err != nil || !n.Not {
			return e, err
		}
		return expr.NewCall("not", cx.pos, e)
	case *ast.PatternRegexpExpr:
		// s REGEXP p, and Postgres's s ~ p, which sql rewrites to it.
		e, err := b.call(cx, "regexp_like", "", n.Expr, n.Pattern)
		if err != nil || !n.Not {
			return e, err
		}
		return expr.NewCall("not", cx.pos, e)
	case *ast.CaseExpr:
		var operand expr.Expr
		if n.Value != nil {
			var err error
			if operand, err = b.bindExpr(cx, n.Value); err != nil {
				return nil, err
			}
		}
		var whens []expr.When
		for _, w := range n.WhenClauses {
			c, err := b.bindExpr(cx, w.Expr)
			if err != nil {
				return nil, err
			}
			r, err := b.bindExpr(cx, w.Result)
			if err != nil {
				return nil, err
			}
			if operand != nil {
				b.inferPair(operand, c)
			}
			whens = append(whens, expr.When{Cond: c, Result: r})
		}
		var els expr.Expr
		if n.ElseClause != nil {
			var err error
			if els, err = b.bindExpr(cx, n.ElseClause); err != nil {
				return nil, err
			}
		}
		return expr.NewCase(operand, whens, els, cx.pos)
	case *ast.FuncCastExpr:
		e, err := b.bindExpr(cx, n.Expr)
		if err != nil {
			return nil, err
		}
		if n.Tp.GetType() == mysql.TypeLonglong && mysql.HasUnsignedFlag(n.Tp.GetFlag()) {
			b.inferParam(e, types.TypeBigInt)
			return expr.NewUnsignedCast(e, cx.pos)
		}
		if n.Tp.GetType() == mysql.TypeDuration {
			// CAST(x AS TIME(fsp)) is MySQL's TIME(x) rounded to fsp
			// digits. Without fsp the fraction stays, as Postgres's cast
			// keeps it (MySQL would round to seconds): clients compare
			// CAST(ts AS TIME) with a time parameter that has one.
			if b.castHasFsp(n) {
				fsp := int64(max(n.Tp.GetDecimal(), 0))
				return expr.NewCall("time", cx.pos, e, &expr.Const{Value: types.NewInt(fsp), Typ: types.TypeBigInt})
			}
			return expr.NewCall("time", cx.pos, e)
		}
		t, err := castType(n.Tp)
		if err != nil {
			return nil, sqlerr.Wrap(err, sqlerr.FeatureNotSupported, "CAST").At(cx.pos)
		}
		b.inferParam(e, t)
		return expr.NewCast(e, t, cx.pos)
	case *ast.FuncCallExpr:
		return b.bindFuncCall(cx, n)
	case *ast.AggregateFuncExpr:
		if cx.inAgg {
			return nil, sqlerr.Newf(sqlerr.GroupingError, "aggregate function calls cannot be nested").At(cx.pos)
		}
		if cx.noAggIn != "" {
			return nil, sqlerr.Newf(sqlerr.GroupingError, "aggregate functions are not allowed in %s", cx.noAggIn).At(cx.pos)
		}
		return nil, sqlerr.Newf(sqlerr.GroupingError, "aggregate function %s is not allowed here", strings.ToLower(n.F)).At(cx.pos)
	case *ast.SetCollationExpr:
		e, err := b.bindExpr(cx, n.Expr)
		if err != nil {
			return nil, err
		}
		name, err := expr.CheckCollation(n.Collate)
		if err != nil {
			return nil, sqlerr.Flatten(err).At(cx.pos)
		}
		b.inferParam(e, types.TypeText)
		return expr.NewCall("collate", cx.pos, e, &expr.Const{Value: types.NewString(name), Typ: types.TypeText})
	case *ast.SubqueryExpr:
		return b.bindSubquery(cx, n, false)
	case *ast.ExistsSubqueryExpr:
		sq, ok := n.Sel.(*ast.SubqueryExpr)
		if !ok {
			return nil, unsupported(cx.pos, "EXISTS needs a subquery")
		}
		e, err := b.bindSubquery(cx, sq, true)
		if err != nil || !n.Not {
			return e, err
		}
		return expr.NewCall("not", cx.pos, e)
	case *ast.CompareSubqueryExpr:
		return nil, unsupported(cx.pos, "subqueries with ANY, SOME or ALL are not supported")
	case *ast.WindowFuncExpr:
		return b.bindWindowCall(cx, n)
	case *ast.RowExpr:
		return nil, unsupported(cx.pos, "row constructors are not supported")
	case *ast.VariableExpr:
		return nil, unsupported(cx.pos, "variables are not supported")
	case *ast.DefaultExpr:
		return nil, unsupported(cx.pos, "DEFAULT is not supported here")
	}
	return nil, unsupported(cx.pos, "expression %T is not supported", n)
}

var binaryOps = map[opcode.Op]string{
	opcode.LogicAnd: "and", opcode.LogicOr: "or", opcode.LogicXor: "xor",
	opcode.GE: ">=", opcode.LE: "<=", opcode.EQ: "=", opcode.NE: "<>", opcode.LT: "<", opcode.GT: ">",
	opcode.NullEQ: "<=>", opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/",
	opcode.IntDiv: "div", opcode.Mod: "%",
	opcode.And: "&", opcode.Or: "|", opcode.Xor: "^", opcode.LeftShift: "<<", opcode.RightShift: ">>",
}

// call binds args and then the builtin. Parameters take their type from
// the other operands (x = $1 makes $1 x's type).
func (b *binder) call(cx ectx, name, unit string, args ...ast.ExprNode) (expr.Expr, error) {
	bound := make([]expr.Expr, len(args))
	for i, a := range args {
		e, err := b.bindExpr(cx, a)
		if err != nil {
			return nil, err
		}
		bound[i] = e
	}
	if len(bound) >= 2 {
		switch name {
		case "=", "<>", "<", "<=", ">", ">=", "<=>", "in", "between", "+", "-", "*", "/", "div", "%",
			"coalesce", "ifnull", "nullif":
			// Every untyped parameter takes the first typed operand's type
			// (one pass: an IN list may have many thousand operands).
			for _, y := range bound {
				if t := y.Type(); t.Kind != types.Unknown {
					for _, x := range bound {
						b.inferParam(x, t)
					}
					break
				}
			}
		}
	}
	return expr.NewUnitCall(name, unit, cx.pos, bound...)
}

// inferPair gives an untyped parameter x the type of y.
func (b *binder) inferPair(x, y expr.Expr) {
	if y.Type().Kind != types.Unknown {
		b.inferParam(x, y.Type())
	}
}

func (b *binder) inferParam(e expr.Expr, t types.Type) { expr.InferParam(e, t) }

// paramTypes collects each parameter's inferred type.
func (b *binder) paramTypes() []types.Type {
	out := make([]types.Type, b.in.numParams)
	for _, p := range b.params {
		if p.Index < len(out) && out[p.Index].Kind == types.Unknown {
			out[p.Index] = p.Typ
		}
	}
	return out
}

func (b *binder) bindAggCall(cx ectx, a *ast.AggregateFuncExpr) (expr.Expr, error) {
	name := strings.ToLower(a.F)
	if !expr.IsAggregate(name) {
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "aggregate function %s is not supported", name).At(cx.pos)
	}
	inner := cx
	inner.agg, inner.scope, inner.inAgg = nil, cx.agg.input, true
	if name == "group_concat" || name == "json_arrayagg" || name == "json_objectagg" {
		ag, err := b.bindMultiAgg(inner, name, a)
		if err != nil {
			return nil, err
		}
		return b.addAgg(cx, ag), nil
	}
	if name == "count" && a.Distinct && len(a.Args) > 1 {
		args := make([]expr.Expr, len(a.Args))
		for i, n := range a.Args {
			var err error
			if args[i], err = b.bindExprNoAgg(inner, n); err != nil {
				return nil, err
			}
		}
		ag, err := expr.NewCountDistinct(args, cx.pos)
		if err != nil {
			return nil, err
		}
		return b.addAgg(cx, ag), nil
	}
	var arg expr.Expr
	if len(a.Args) > 1 {
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s takes one argument", name).At(cx.pos)
	}
	star := false
	if len(a.Args) == 1 {
		// TiDB parses COUNT(*) as COUNT(1) with a literal that has no
		// position of its own.
		if v, ok := a.Args[0].(*test_driver.ValueExpr); ok && name == "count" && v.OriginTextPosition() == 0 && !a.Distinct {
			star = true
		} else {
			var err error
			if arg, err = b.bindExprNoAgg(inner, a.Args[0]); err != nil {
				return nil, err
			}
		}
	}
	if !star && arg == nil {
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s() does not exist", name).At(cx.pos)
	}
	ag, err := expr.NewAgg(name, a.Distinct, arg, cx.pos)
	if err != nil {
		return nil, err
	}
	return b.addAgg(cx, ag), nil
}

// bindMultiAgg binds GROUP_CONCAT([DISTINCT] args [ORDER BY ...] [SEPARATOR s])
// and JSON_ARRAYAGG / JSON_OBJECTAGG; cx is the aggregate's input scope.
func (b *binder) bindMultiAgg(cx ectx, name string, a *ast.AggregateFuncExpr) (*expr.Agg, error) {
	argNodes := a.Args
	sep := ","
	if name == "group_concat" && len(argNodes) > 0 {
		// The parser puts the separator (',' by default) last.
		last := argNodes[len(argNodes)-1]
		v, ok := last.(*test_driver.ValueExpr)
		if !ok {
			return nil, sqlerr.Newf(sqlerr.SyntaxError, "GROUP_CONCAT's SEPARATOR must be a string literal").At(cx.pos)
		}
		sep = v.GetString()
		argNodes = argNodes[:len(argNodes)-1]
	}
	args := make([]expr.Expr, len(argNodes))
	for i, n := range argNodes {
		var err error
		if args[i], err = b.bindExprNoAgg(cx, n); err != nil {
			return nil, err
		}
	}
	var order []expr.Expr
	var desc []bool
	if a.Order != nil {
		for _, it := range a.Order.Items {
			e, err := b.bindExprNoAgg(cx, it.Expr)
			if err != nil {
				return nil, err
			}
			order, desc = append(order, e), append(desc, it.Desc)
		}
	}
	return expr.NewMultiAgg(name, a.Distinct, args, order, desc, sep, cx.pos)
}

// addAgg registers ag (once per distinct call) and returns the reference
// to its output column.
func (b *binder) addAgg(cx ectx, ag *expr.Agg) expr.Expr {
	s := ag.String()
	if i, ok := cx.agg.aggAt[s]; ok {
		return &expr.ColumnRef{Index: len(cx.agg.keys) + i, Typ: cx.agg.aggs[i].Typ, Name: s}
	}
	if cx.agg.aggAt == nil {
		cx.agg.aggAt = map[string]int{}
	}
	cx.agg.aggAt[s] = len(cx.agg.aggs)
	cx.agg.aggs = append(cx.agg.aggs, ag)
	return &expr.ColumnRef{Index: len(cx.agg.keys) + len(cx.agg.aggs) - 1, Typ: ag.Typ, Name: s}
}

// bindExprNoAgg binds an aggregate's argument, where another aggregate is
// an error.
func (b *binder) bindExprNoAgg(cx ectx, n ast.ExprNode) (expr.Expr, error) {
	if b.containsAgg(n) {
		return nil, sqlerr.Newf(sqlerr.GroupingError, "aggregate function calls cannot be nested").At(cx.pos)
	}
	return b.bindExpr(cx, n)
}

// castHasFsp reports whether CAST(... AS TIME(n)) spells its n: the
// parsed type says 0 either way, so the statement's text decides.
func (b *binder) castHasFsp(n *ast.FuncCastExpr) bool {
	off := n.OriginTextPosition()
	text := b.in.text
	if off < 0 || off >= len(text) {
		return false
	}
	depth := 0
	for i := off; i < len(text); i++ {
		switch text[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				// The type is the cast's last word; "TIME(3))" ends in
				// two parentheses.
				return i > 0 && strings.HasSuffix(strings.TrimSpace(text[off:i]), ")")
			}
		case '\'', '"', '`':
			// Skip a quoted string.
			q := text[i]
			for i++; i < len(text) && text[i] != q; i++ {
			}
		}
	}
	return false
}

func (b *binder) bindFuncCall(cx ectx, n *ast.FuncCallExpr) (expr.Expr, error) {
	name := n.FnName.L
	switch name {
	case "date_add", "date_sub", "adddate", "subdate":
		if len(n.Args) == 3 {
			u, ok := n.Args[2].(*ast.TimeUnitExpr)
			if !ok {
				break
			}
			d, err := b.bindExpr(cx, n.Args[0])
			if err != nil {
				return nil, err
			}
			iv, err := b.bindInterval(cx, n.Args[1], u.Unit.String())
			if err != nil {
				return nil, err
			}
			b.inferParam(d, types.TypeTimestamp)
			return expr.NewCall(name, cx.pos, d, iv)
		}
		if len(n.Args) == 2 && (name == "adddate" || name == "subdate") {
			// ADDDATE(d, n) adds n days.
			d, err := b.bindExpr(cx, n.Args[0])
			if err != nil {
				return nil, err
			}
			iv, err := b.bindInterval(cx, n.Args[1], "DAY")
			if err != nil {
				return nil, err
			}
			return expr.NewCall(name, cx.pos, d, iv)
		}
	case "convert":
		// CONVERT(x USING charset): streamsql's text is all utf8mb4, so a
		// character set of text is a cast to text, binary one to bytes.
		if len(n.Args) == 2 {
			cs, ok := n.Args[1].(*test_driver.ValueExpr)
			if !ok || cs.Datum.Kind() != test_driver.KindString {
				break
			}
			e, err := b.bindExpr(cx, n.Args[0])
			if err != nil {
				return nil, err
			}
			switch strings.ToLower(cs.Datum.GetString()) {
			case "binary":
				return expr.NewCast(e, types.TypeBytes, cx.pos)
			case "utf8mb4", "utf8", "utf8mb3", "ascii", "latin1":
				b.inferParam(e, types.TypeText)
				return expr.NewCast(e, types.TypeText, cx.pos)
			}
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "character set %s is not supported", cs.Datum.GetString()).
				WithHint("text is utf8mb4; CONVERT(x USING utf8mb4) and USING binary are supported").At(cx.pos)
		}
	case "timestampadd":
		// TIMESTAMPADD(unit, n, t) is DATE_ADD(t, INTERVAL n unit).
		if u, ok := n.Args[0].(*ast.TimeUnitExpr); ok && len(n.Args) == 3 {
			d, err := b.bindExpr(cx, n.Args[2])
			if err != nil {
				return nil, err
			}
			iv, err := b.bindInterval(cx, n.Args[1], u.Unit.String())
			if err != nil {
				return nil, err
			}
			b.inferParam(d, types.TypeTimestamp)
			return expr.NewCall("date_add", cx.pos, d, iv)
		}
	case "timestampdiff", "extract":
		if len(n.Args) >= 1 {
			if u, ok := n.Args[0].(*ast.TimeUnitExpr); ok {
				return b.call(cx, name, u.Unit.String(), n.Args[1:]...)
			}
		}
	case ast.InsertFunc:
		name = "insert"
	case ast.CharFunc:
		// CHAR(n, ... [USING charset]): the parser appends the charset,
		// NULL without USING (a binary string).
		if len(n.Args) < 2 {
			break
		}
		charset := ""
		if v, ok := n.Args[len(n.Args)-1].(*test_driver.ValueExpr); ok && v.GetValue() != nil {
			charset = v.GetString()
			if cs := strings.ToLower(charset); cs != "utf8mb4" && cs != "utf8" && cs != "utf8mb3" && cs != "binary" {
				return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "CHAR(... USING %s): only utf8mb4 is supported", charset).At(cx.pos)
			}
			if strings.EqualFold(charset, "binary") {
				charset = ""
			}
		}
		return b.call(cx, "char", charset, n.Args[:len(n.Args)-1]...)
	case "trim":
		args := make([]expr.Expr, 0, 3)
		for _, a := range n.Args {
			if d, ok := a.(*ast.TrimDirectionExpr); ok {
				dir := int64(0)
				switch d.Direction {
				case ast.TrimLeading:
					dir = 1
				case ast.TrimTrailing:
					dir = 2
				}
				if len(args) == 1 {
					args = append(args, &expr.Const{Value: types.NewString(" "), Typ: types.TypeText})
				}
				args = append(args, &expr.Const{Value: types.NewInt(dir), Typ: types.TypeBigInt})
				continue
			}
			e, err := b.bindExpr(cx, a)
			if err != nil {
				return nil, err
			}
			args = append(args, e)
		}
		return expr.NewCall("trim", cx.pos, args...)
	case strings.ToLower(ast.DateLiteral), strings.ToLower(ast.TimestampLiteral):
		// DATE '...' and TIMESTAMP '...'.
		if len(n.Args) != 1 {
			break
		}
		e, err := b.bindExpr(cx, n.Args[0])
		if err != nil {
			return nil, err
		}
		t := types.TypeDate
		if strings.HasSuffix(name, "timestampliteral") {
			t = types.TypeTimestamp
			if k, ok := e.(*expr.Const); ok && k.Value.Kind() == types.String {
				// As in MySQL, the literal has the fraction digits it is
				// written with: TIMESTAMP '2024-01-01 10:00:00' + 0 is an
				// integer.
				t.Precision = 0
				if _, frac, ok := strings.Cut(k.Value.Str(), "."); ok {
					t.Precision = min(6, len(strings.TrimSpace(frac)))
				}
			}
		}
		return expr.NewCast(e, t, cx.pos)
	case strings.ToLower(ast.TimeLiteral):
		// TIME '10:00': MySQL's TIME, an INTERVAL of microseconds here.
		if len(n.Args) == 1 {
			return b.call(cx, "time", "", n.Args[0])
		}
	case sql.CastFunc:
		if c, ok := b.pgCast(n); ok {
			e, err := b.bindExpr(cx, n.Args[0])
			if err != nil {
				return nil, err
			}
			if c.TimeOfDay {
				b.inferParam(e, types.TypeText)
				return expr.NewCall("__pgtime", cx.pos, e)
			}
			if c.Type.Kind == types.Bytes && e.Type().Kind != types.Bytes {
				// Text to bytea reads bytea input ('\x6162'), as Postgres's
				// cast does; MySQL's CAST(x AS BINARY) keeps the bytes.
				b.inferParam(e, types.TypeBytes)
				return expr.NewCall("bytea", cx.pos, e)
			}
			b.inferParam(e, c.Type)
			return expr.NewCast(e, c.Type, cx.pos)
		}
	case "current_user", "session_user", "user", "current_role", "system_user":
		if len(n.Args) == 0 {
			return textConst(b.session.User, "streamsql"), nil
		}
	case "current_database", "current_catalog":
		if len(n.Args) == 0 {
			return textConst(b.session.Database, "streamsql"), nil
		}
	case "current_schema":
		if len(n.Args) == 0 {
			return textConst("public", ""), nil
		}
	case "version":
		if len(n.Args) == 0 {
			return textConst(b.session.Version, "PostgreSQL 16.0 (streamsql)"), nil
		}
	case "pg_backend_pid":
		if len(n.Args) == 0 {
			return &expr.Const{Value: types.NewInt(int64(b.session.BackendPID)), Typ: types.TypeInt}, nil
		}
	case "generate_series", "tumble", "hop", "session":
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "%s is a table function: use it in FROM", name).At(cx.pos)
	}
	if !expr.HasFunction(name) {
		return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s does not exist", name).
			WithHint("No function matches the given name and argument types.").At(cx.pos)
	}
	for _, a := range n.Args {
		if _, ok := a.(*ast.TimeUnitExpr); ok {
			return nil, unsupported(cx.pos, "function %s with a time unit is not supported", name)
		}
	}
	return b.call(cx, name, "", n.Args...)
}

func (b *binder) bindInterval(cx ectx, n ast.ExprNode, unit string) (expr.Expr, error) {
	v, err := b.bindExpr(cx, n)
	if err != nil {
		return nil, err
	}
	b.inferParam(v, types.TypeBigInt)
	return expr.NewUnitCall("interval", unit, cx.pos, v)
}

// literal converts a TiDB literal. TRUE and FALSE are BOOLEAN, string
// literals TEXT, exact decimals DECIMAL with their written scale.
func literal(v *test_driver.ValueExpr) (types.Value, types.Type, error) {
	d := &v.Datum
	switch d.Kind() {
	case test_driver.KindNull:
		return types.Null, types.TypeUnknown, nil
	case test_driver.KindInt64:
		if v.Type.GetFlag()&mysql.IsBooleanFlag != 0 {
			return types.NewBool(d.GetInt64() != 0), types.TypeBool, nil
		}
		return intLiteral(d.GetInt64()), intLiteralType(d.GetInt64()), nil
	case test_driver.KindUint64:
		u := d.GetUint64()
		if u > 1<<63-1 {
			return types.NewDecimal(uintText(u)), types.DecimalType(20, 0), nil
		}
		return intLiteral(int64(u)), intLiteralType(int64(u)), nil
	case test_driver.KindFloat32, test_driver.KindFloat64:
		return types.NewFloat(d.GetFloat64()), types.TypeDouble, nil
	case test_driver.KindString:
		return types.NewString(d.GetString()), types.TypeText, nil
	case test_driver.KindBytes:
		return types.NewBytes(d.GetBytes()), types.TypeBytes, nil
	case test_driver.KindMysqlDecimal:
		text, err := types.CanonicalDecimal(d.GetMysqlDecimal().String())
		if err != nil {
			return types.Null, types.Type{}, err
		}
		c := expr.NewConst(types.NewDecimal(text))
		return c.Value, c.Typ, nil
	case test_driver.KindBinaryLiteral, test_driver.KindMysqlBit:
		return types.NewBytes(d.GetBytes()), types.TypeBytes, nil
	}
	return types.Null, types.Type{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "literal of kind %d is not supported", d.Kind())
}

func uintText(u uint64) string {
	var buf [20]byte
	i := len(buf)
	for u > 0 {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	return string(buf[i:])
}

// castType maps a CAST target to our types.
func castType(tp *tidbtypes.FieldType) (types.Type, error) {
	flen, dec := tp.GetFlen(), tp.GetDecimal()
	switch tp.GetType() {
	case mysql.TypeLonglong, mysql.TypeLong, mysql.TypeInt24:
		if tp.GetType() == mysql.TypeLong || tp.GetType() == mysql.TypeInt24 {
			return types.TypeInt, nil
		}
		return types.TypeBigInt, nil
	case mysql.TypeShort:
		return types.TypeSmallInt, nil
	case mysql.TypeTiny:
		if flen == 1 {
			return types.TypeBool, nil
		}
		return types.TypeTinyInt, nil
	case mysql.TypeNewDecimal:
		if flen <= 0 {
			flen = 10
		}
		if dec < 0 {
			dec = 0
		}
		return types.DecimalType(flen, dec), nil
	case mysql.TypeDouble:
		return types.TypeDouble, nil
	case mysql.TypeFloat:
		return types.TypeFloat, nil
	case mysql.TypeVarString, mysql.TypeVarchar, mysql.TypeString, mysql.TypeBlob,
		mysql.TypeTinyBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob:
		if tp.GetCharset() == "binary" {
			return types.TypeBytes, nil
		}
		if flen > 0 {
			return types.VarcharType(flen), nil
		}
		return types.TypeText, nil
	case mysql.TypeDate:
		return types.TypeDate, nil
	case mysql.TypeDatetime, mysql.TypeTimestamp:
		if dec < 0 {
			dec = 0
		}
		return types.Type{Kind: types.Timestamp, Precision: dec}, nil
	case mysql.TypeJSON:
		return types.TypeJSON, nil
	}
	return types.Type{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "cast to %s is not supported", tp.String())
}

// pgCast returns the target of __pgcast(x, i), the call sql makes of a
// Postgres cast.
func (b *binder) pgCast(n *ast.FuncCallExpr) (sql.Cast, bool) {
	if len(n.Args) != 2 {
		return sql.Cast{}, false
	}
	v, ok := n.Args[1].(*test_driver.ValueExpr)
	if !ok || v.Datum.Kind() != test_driver.KindInt64 {
		return sql.Cast{}, false
	}
	i := int(v.Datum.GetInt64())
	if i < 0 || i >= len(b.in.casts) {
		return sql.Cast{}, false
	}
	return b.in.casts[i], true
}

// textConst is a TEXT constant: s, or def when s is empty.
func textConst(s, def string) expr.Expr {
	if s == "" {
		s = def
	}
	return &expr.Const{Value: types.NewString(s), Typ: types.TypeText}
}

func intLiteral(n int64) types.Value { return types.NewInt(n) }

// intLiteralType is an integer literal's type: INT when it fits 32 bits, as
// Postgres types it (so it goes out as int4, which drivers read as a
// number), else BIGINT. Arithmetic on integers is BIGINT whatever the
// operands (MySQL's rule), so only the literal itself is narrower.
func intLiteralType(n int64) types.Type {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return types.TypeInt
	}
	return types.TypeBigInt
}
