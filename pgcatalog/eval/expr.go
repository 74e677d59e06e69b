package eval

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

var errNotFound = sqlerr.Newf(sqlerr.UndefinedColumn, "not found")

// lookup resolves a column reference through the scope chain: the nearest
// query that has the name wins, and a name reached from an enclosing query
// makes every query in between correlated.
func (b *binder) lookup(names []string, sc *scope, loc int32) (evalFn, Type, error) {
	depth := 0
	for s := sc; s != nil; s = s.parent {
		f, t, err := b.lookupIn(names, s.entries, depth)
		if err == nil {
			for x := sc; x != s; x = x.parent {
				x.sel.correlated = true
			}
			if s == b.refScope {
				for i := b.lastRef[0]; i < b.lastRef[1]; i++ {
					b.refCols[i] = true
				}
			}
			return f, t, nil
		}
		if err != errNotFound {
			return nil, Type{}, sqlerr.Flatten(err).At(b.pos(loc))
		}
		depth++
	}
	if len(names) > 1 {
		qual := names[len(names)-2]
		for s := sc; s != nil; s = s.parent {
			for _, re := range s.entries {
				if re.alias == qual {
					return nil, Type{}, sqlerr.Newf(sqlerr.UndefinedColumn, "column %s does not exist", strings.Join(names[len(names)-2:], ".")).At(b.pos(loc))
				}
			}
		}
		return nil, Type{}, sqlerr.Newf(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", qual).At(b.pos(loc))
	}
	return nil, Type{}, sqlerr.Newf(sqlerr.UndefinedColumn, "column %q does not exist", names[0]).At(b.pos(loc))
}

func (b *binder) lookupIn(names []string, entries []*rangeEntry, depth int) (evalFn, Type, error) {
	col := names[len(names)-1]
	qual := ""
	if len(names) > 1 {
		qual = names[len(names)-2]
	}
	found := -1
	var ft Type
	for _, re := range entries {
		if qual != "" && re.alias != qual {
			continue
		}
		for i, c := range re.cols {
			if c.Name != col || qual == "" && re.hidden[col] {
				continue
			}
			if found >= 0 {
				return nil, Type{}, sqlerr.Newf(sqlerr.AmbiguousColumn, "column reference %q is ambiguous", col)
			}
			found, ft = re.offset+i, c.Type
		}
	}
	if found < 0 && col == "tableoid" {
		return b.tableoid(entries, qual, depth)
	}
	if found < 0 {
		// A bare table name is a whole-row reference.
		if qual == "" {
			for _, re := range entries {
				if re.alias == col {
					cols, off := re.cols, re.offset
					b.lastRef = [2]int{off, off + len(cols)}
					return withDepth(depth, func(e *env) (Value, error) {
						return &record{cols: cols, vals: append([]Value(nil), e.row[off:off+len(cols)]...)}, nil
					}), b.recordType(cols), nil
				}
			}
		}
		return nil, Type{}, errNotFound
	}
	idx := found
	b.lastRef = [2]int{idx, idx + 1}
	return withDepth(depth, func(e *env) (Value, error) { return e.row[idx], nil }), ft, nil
}

func withDepth(depth int, f evalFn) evalFn {
	if depth == 0 {
		return f
	}
	return func(e *env) (Value, error) {
		for i := 0; i < depth; i++ {
			e = e.outer
		}
		return f(e)
	}
}

// expr compiles an expression in scope sc to a closure and its type.
func (b *binder) expr(n *pg_query.Node, sc *scope) (evalFn, Type, error) {
	switch x := n.Node.(type) {
	case *pg_query.Node_AConst:
		return b.constant(x.AConst)
	case *pg_query.Node_ColumnRef:
		if isStar(x.ColumnRef) {
			return nil, Type{}, sqlerr.Newf(sqlerr.SyntaxError, "* is only allowed in the select list").At(b.pos(x.ColumnRef.Location))
		}
		b.refs++
		return b.lookup(stringList(x.ColumnRef.Fields), sc, x.ColumnRef.Location)
	case *pg_query.Node_ParamRef:
		i := int(x.ParamRef.Number)
		b.nparams = max(b.nparams, i)
		b.refs++
		return func(e *env) (Value, error) { return e.rs.params[i-1], nil }, tUnknown, nil
	case *pg_query.Node_AExpr:
		return b.aExpr(x.AExpr, sc)
	case *pg_query.Node_BoolExpr:
		return b.boolExpr(x.BoolExpr, sc)
	case *pg_query.Node_NullTest:
		f, _, err := b.expr(x.NullTest.Arg, sc)
		if err != nil {
			return nil, Type{}, err
		}
		want := x.NullTest.Nulltesttype == pg_query.NullTestType_IS_NULL
		return func(e *env) (Value, error) {
			v, err := f(e)
			return (v == nil) == want, err
		}, tBool, nil
	case *pg_query.Node_BooleanTest:
		f, _, err := b.expr(x.BooleanTest.Arg, sc)
		if err != nil {
			return nil, Type{}, err
		}
		kind := x.BooleanTest.Booltesttype
		return func(e *env) (Value, error) {
			v, err := f(e)
			if err != nil {
				return nil, err
			}
			bv, isBool := toBool(v)
			switch kind {
			case pg_query.BoolTestType_IS_TRUE:
				return v != nil && isBool && bv, nil
			case pg_query.BoolTestType_IS_NOT_TRUE:
				return !(v != nil && isBool && bv), nil
			case pg_query.BoolTestType_IS_FALSE:
				return v != nil && isBool && !bv, nil
			case pg_query.BoolTestType_IS_NOT_FALSE:
				return !(v != nil && isBool && !bv), nil
			case pg_query.BoolTestType_IS_UNKNOWN:
				return v == nil, nil
			}
			return v != nil, nil
		}, tBool, nil
	case *pg_query.Node_TypeCast:
		f, from, err := b.expr(x.TypeCast.Arg, sc)
		if err != nil {
			return nil, Type{}, err
		}
		to, err := resolveTypeName(x.TypeCast.TypeName)
		if err != nil {
			return nil, Type{}, err
		}
		return b.castFn(f, from, to, x.TypeCast.Location), to, nil
	case *pg_query.Node_CollateClause:
		return b.expr(x.CollateClause.Arg, sc)
	case *pg_query.Node_FuncCall:
		return b.funcCall(x.FuncCall, sc)
	case *pg_query.Node_CaseExpr:
		return b.caseExpr(x.CaseExpr, sc)
	case *pg_query.Node_CoalesceExpr:
		fs, t, err := b.exprList(x.CoalesceExpr.Args, sc)
		if err != nil {
			return nil, Type{}, err
		}
		return func(e *env) (Value, error) {
			for _, f := range fs {
				v, err := f(e)
				if err != nil || v != nil {
					return v, err
				}
			}
			return nil, nil
		}, t, nil
	case *pg_query.Node_MinMaxExpr:
		fs, t, err := b.exprList(x.MinMaxExpr.Args, sc)
		if err != nil {
			return nil, Type{}, err
		}
		greatest := x.MinMaxExpr.Op == pg_query.MinMaxOp_IS_GREATEST
		return func(e *env) (Value, error) {
			var best Value
			for _, f := range fs {
				v, err := f(e)
				if err != nil {
					return nil, err
				}
				if v == nil {
					continue
				}
				if best == nil {
					best = v
					continue
				}
				c, err := compare(v, best)
				if err != nil {
					return nil, err
				}
				if greatest && c > 0 || !greatest && c < 0 {
					best = v
				}
			}
			return best, nil
		}, t, nil
	case *pg_query.Node_AArrayExpr:
		fs, t, err := b.exprList(x.AArrayExpr.Elements, sc)
		if err != nil {
			return nil, Type{}, err
		}
		return func(e *env) (Value, error) {
			out := make([]Value, len(fs))
			for i, f := range fs {
				v, err := f(e)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return out, nil
		}, arrayOf(t), nil
	case *pg_query.Node_AIndirection:
		return b.indirection(x.AIndirection, sc)
	case *pg_query.Node_SubLink:
		return b.subLink(x.SubLink, sc)
	case *pg_query.Node_SqlvalueFunction:
		return b.sqlValueFunction(x.SqlvalueFunction, sc)
	case *pg_query.Node_RowExpr:
		fs, _, err := b.exprList(x.RowExpr.Args, sc)
		if err != nil {
			return nil, Type{}, err
		}
		cols := make([]Column, len(fs))
		for i := range cols {
			cols[i] = Column{Name: "f" + strconv.Itoa(i+1), Type: tUnknown}
		}
		return func(e *env) (Value, error) {
			r := &record{cols: cols, vals: make([]Value, len(fs))}
			for i, f := range fs {
				v, err := f(e)
				if err != nil {
					return nil, err
				}
				r.vals[i] = v
			}
			return r, nil
		}, b.recordType(cols), nil
	}
	return nil, Type{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "expression %T is not supported in catalog queries", n.Node).At(b.pos(nodeLocation(n)))
}

func nodeLocation(n *pg_query.Node) int32 {
	type located interface{ GetLocation() int32 }
	if n == nil || n.Node == nil {
		return -1
	}
	// Each oneof wrapper holds one message; most messages carry a location.
	switch x := n.Node.(type) {
	case *pg_query.Node_AConst:
		return x.AConst.Location
	case *pg_query.Node_ColumnRef:
		return x.ColumnRef.Location
	case *pg_query.Node_FuncCall:
		return x.FuncCall.Location
	case *pg_query.Node_AExpr:
		return x.AExpr.Location
	case *pg_query.Node_TypeCast:
		return x.TypeCast.Location
	case *pg_query.Node_SubLink:
		return x.SubLink.Location
	case *pg_query.Node_ParamRef:
		return x.ParamRef.Location
	}
	return -1
}

// recordType registers the columns of a composite value so that field
// access can be typed; the shape travels in Type.Elem.
func (b *binder) recordType(cols []Column) Type {
	return Type{OID: oidRecord}
}

func (b *binder) constant(c *pg_query.A_Const) (evalFn, Type, error) {
	if c.Isnull {
		return constFn(nil), tUnknown, nil
	}
	switch v := c.Val.(type) {
	case *pg_query.A_Const_Ival:
		i := int64(v.Ival.Ival)
		return constFn(i), tInt4, nil
	case *pg_query.A_Const_Fval:
		s := v.Fval.Fval
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return constFn(i), tInt8, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, Type{}, sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid number %q", s).At(b.pos(c.Location))
		}
		return constFn(f), tNumeric, nil
	case *pg_query.A_Const_Sval:
		return constFn(v.Sval.Sval), tUnknown, nil
	case *pg_query.A_Const_Boolval:
		return constFn(v.Boolval.Boolval), tBool, nil
	case *pg_query.A_Const_Bsval:
		return constFn(v.Bsval.Bsval), tText, nil
	}
	return constFn(int64(0)), tInt4, nil // the parser leaves Val empty for the integer 0
}

func constFn(v Value) evalFn { return func(*env) (Value, error) { return v, nil } }

func (b *binder) exprList(nodes []*pg_query.Node, sc *scope) ([]evalFn, Type, error) {
	fs := make([]evalFn, len(nodes))
	ts := make([]Type, len(nodes))
	t := tUnknown
	for i, n := range nodes {
		f, ft, err := b.expr(n, sc)
		if err != nil {
			return nil, Type{}, err
		}
		fs[i], ts[i] = f, ft
		if t.OID == OIDUnknown && ft.OID != OIDUnknown {
			t = ft
		}
	}
	if t.OID == OIDUnknown {
		return fs, tText, nil
	}
	for i := range fs {
		if ts[i].OID == OIDUnknown {
			fs[i] = b.castFn(fs[i], ts[i], t, -1)
		}
	}
	return fs, t, nil
}

func (b *binder) castFn(f evalFn, from, to Type, loc int32) evalFn {
	if from == to || isTextType(to.OID) && isTextType(from.OID) && to.OID != OIDChar {
		return f
	}
	pos := b.pos(loc)
	return func(e *env) (Value, error) {
		v, err := f(e)
		if err != nil || v == nil {
			return v, err
		}
		c, err := e.rs.cast(v, from, to)
		if err != nil && pos > 0 {
			return nil, sqlerr.Flatten(err).At(pos)
		}
		return c, err
	}
}

// coerce reads an untyped literal or parameter on one side of a
// comparison as the other side's type, as Postgres resolves 'r' = relkind
// or '16384' = oid.
func (b *binder) coerce(lf evalFn, lt Type, rf evalFn, rt Type) (evalFn, evalFn) {
	switch {
	case lt.OID == OIDUnknown && rt.OID != OIDUnknown:
		lf = b.castFn(lf, lt, rt, -1)
	case rt.OID == OIDUnknown && lt.OID != OIDUnknown:
		rf = b.castFn(rf, rt, lt, -1)
	}
	return lf, rf
}

func cmpFn(lf, rf evalFn, ok func(int) bool) evalFn {
	return func(e *env) (Value, error) {
		l, err := lf(e)
		if err != nil || l == nil {
			return nil, err
		}
		r, err := rf(e)
		if err != nil || r == nil {
			return nil, err
		}
		c, err := compare(l, r)
		if err != nil {
			return nil, err
		}
		return ok(c), nil
	}
}

var cmpOps = map[string]func(int) bool{
	"=":  func(c int) bool { return c == 0 },
	"<>": func(c int) bool { return c != 0 },
	"!=": func(c int) bool { return c != 0 },
	"<":  func(c int) bool { return c < 0 },
	"<=": func(c int) bool { return c <= 0 },
	">":  func(c int) bool { return c > 0 },
	">=": func(c int) bool { return c >= 0 },
}

// andFn is AND of fs in SQL's three-valued logic.
func andFn(fs []evalFn) evalFn { return junction(fs, false) }

// junction folds fs in three-valued logic: AND when stop is false, OR
// when it is true. The first operand equal to stop decides; otherwise
// the result is NULL if an operand was NULL, else !stop.
func junction(fs []evalFn, stop bool) evalFn {
	if len(fs) == 1 {
		return fs[0]
	}
	return func(e *env) (Value, error) {
		var res Value = !stop
		for _, f := range fs {
			v, err := f(e)
			if err != nil {
				return nil, err
			}
			if v == nil {
				res = nil
			} else if v == stop {
				return stop, nil
			}
		}
		return res, nil
	}
}

func (b *binder) boolExpr(be *pg_query.BoolExpr, sc *scope) (evalFn, Type, error) {
	fs := make([]evalFn, len(be.Args))
	for i, a := range be.Args {
		f, t, err := b.expr(a, sc)
		if err != nil {
			return nil, Type{}, err
		}
		fs[i] = b.castFn(f, t, tBool, -1)
	}
	switch be.Boolop {
	case pg_query.BoolExprType_AND_EXPR:
		return andFn(fs), tBool, nil
	case pg_query.BoolExprType_OR_EXPR:
		return junction(fs, true), tBool, nil
	}
	f := fs[0]
	return func(e *env) (Value, error) {
		v, err := f(e)
		if err != nil || v == nil {
			return nil, err
		}
		return v != true, nil
	}, tBool, nil
}

func (b *binder) aExpr(a *pg_query.A_Expr, sc *scope) (evalFn, Type, error) {
	names := stringList(a.Name)
	op := ""
	if len(names) > 0 {
		op = names[len(names)-1]
	}
	pos := b.pos(a.Location)
	if a.Lexpr == nil { // prefix operator
		rf, rt, err := b.expr(a.Rexpr, sc)
		if err != nil {
			return nil, Type{}, err
		}
		switch op {
		case "-":
			if rt.OID == OIDUnknown {
				rt = tNumeric
			}
			return func(e *env) (Value, error) {
				v, err := rf(e)
				switch x := v.(type) {
				case int64:
					return -x, err
				case float64:
					return -x, err
				case string:
					if f, ok := toFloat(x); ok {
						return -f, nil
					}
				}
				return v, err
			}, rt, nil
		case "+":
			return rf, rt, nil
		}
		return nil, Type{}, sqlerr.Newf(sqlerr.UndefinedFunction, "operator does not exist: %s %s", op, typeName(rt)).At(pos)
	}
	lf, lt, err := b.expr(a.Lexpr, sc)
	if err != nil {
		return nil, Type{}, err
	}
	switch a.Kind {
	case pg_query.A_Expr_Kind_AEXPR_IN:
		items := a.Rexpr.GetList().GetItems()
		rfs := make([]evalFn, len(items))
		for i, it := range items {
			f, t, err := b.expr(it, sc)
			if err != nil {
				return nil, Type{}, err
			}
			_, rfs[i] = b.coerce(nil, lt, f, t)
			if lt.OID == OIDUnknown && t.OID != OIDUnknown {
				lf = b.castFn(lf, lt, t, -1)
				lt = t
			}
		}
		return inFn(lf, rfs, op == "<>"), tBool, nil
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		items := a.Rexpr.GetList().GetItems()
		lo, lot, err := b.expr(items[0], sc)
		if err != nil {
			return nil, Type{}, err
		}
		hi, hit, err := b.expr(items[1], sc)
		if err != nil {
			return nil, Type{}, err
		}
		_, lo = b.coerce(nil, lt, lo, lot)
		_, hi = b.coerce(nil, lt, hi, hit)
		not := a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN || a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM
		sym := a.Kind == pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM || a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM
		ge := cmpFn(lf, lo, cmpOps[">="])
		le := cmpFn(lf, hi, cmpOps["<="])
		f := andFn([]evalFn{ge, le})
		if sym {
			ge2, le2 := cmpFn(lf, hi, cmpOps[">="]), cmpFn(lf, lo, cmpOps["<="])
			f1, f2 := f, andFn([]evalFn{ge2, le2})
			f = func(e *env) (Value, error) {
				v, err := f1(e)
				if err != nil || v == true {
					return v, err
				}
				return f2(e)
			}
		}
		if not {
			g := f
			f = func(e *env) (Value, error) {
				v, err := g(e)
				if err != nil || v == nil {
					return nil, err
				}
				return v != true, nil
			}
		}
		return f, tBool, nil
	}
	rf, rt, err := b.expr(a.Rexpr, sc)
	if err != nil {
		return nil, Type{}, err
	}
	switch a.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
		if rt.OID == OIDUnknown {
			et := lt
			if et.OID == OIDUnknown {
				et = tText
			}
			rf, rt = b.castFn(rf, rt, arrayOf(et), -1), arrayOf(et)
		} else if lt.OID == OIDUnknown {
			lf = b.castFn(lf, lt, elemType(rt), -1)
		}
		bin, err := b.binaryOp(op, lt, elemType(rt), pos)
		if err != nil {
			return nil, Type{}, err
		}
		return anyAllFn(lf, rf, bin, a.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ALL), tBool, nil
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		lf, rf = b.coerce(lf, lt, rf, rt)
		want := a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT
		return func(e *env) (Value, error) {
			l, err := lf(e)
			if err != nil {
				return nil, err
			}
			r, err := rf(e)
			if err != nil {
				return nil, err
			}
			if l == nil || r == nil {
				return (l == nil && r == nil) == want, nil
			}
			c, err := compare(l, r)
			return (c == 0) == want, err
		}, tBool, nil
	case pg_query.A_Expr_Kind_AEXPR_NULLIF:
		lf, rf = b.coerce(lf, lt, rf, rt)
		return func(e *env) (Value, error) {
			l, err := lf(e)
			if err != nil || l == nil {
				return l, err
			}
			r, err := rf(e)
			if err != nil || r == nil {
				return l, err
			}
			if c, err := compare(l, r); err != nil || c == 0 {
				return nil, err
			}
			return l, nil
		}, lt, nil
	case pg_query.A_Expr_Kind_AEXPR_SIMILAR:
		return nil, Type{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "SIMILAR TO is not supported in catalog queries").At(pos)
	}
	if _, isCmp := cmpOps[op]; isCmp || op == "~~" || op == "!~~" || op == "~~*" || op == "!~~*" || strings.Contains(op, "~") {
		lf, rf = b.coerce(lf, lt, rf, rt)
		if lt.OID == OIDUnknown {
			lt = rt
		}
		if rt.OID == OIDUnknown {
			rt = lt
		}
	}
	bin, err := b.binaryOp(op, lt, rt, pos)
	if err != nil {
		return nil, Type{}, err
	}
	return func(e *env) (Value, error) {
		l, err := lf(e)
		if err != nil {
			return nil, err
		}
		r, err := rf(e)
		if err != nil {
			return nil, err
		}
		return bin.fn(l, r)
	}, bin.typ, nil
}

type binOp struct {
	fn  func(l, r Value) (Value, error)
	typ Type
}

// binaryOp returns the operator op over operands of types lt and rt.
// Operators are strict: a NULL operand gives NULL.
func (b *binder) binaryOp(op string, lt, rt Type, pos int) (binOp, error) {
	strict := func(f func(l, r Value) (Value, error)) func(l, r Value) (Value, error) {
		return func(l, r Value) (Value, error) {
			if l == nil || r == nil {
				return nil, nil
			}
			v, err := f(l, r)
			if err != nil {
				return nil, sqlerr.Flatten(err).At(pos)
			}
			return v, nil
		}
	}
	if ok, isCmp := cmpOps[op]; isCmp {
		return binOp{strict(func(l, r Value) (Value, error) {
			c, err := compare(l, r)
			return ok(c), err
		}), tBool}, nil
	}
	switch op {
	case "~", "~*", "!~", "!~*", "~~", "~~*", "!~~", "!~~*":
		like := strings.Contains(op, "~~")
		fold := strings.HasSuffix(op, "*")
		neg := strings.HasPrefix(op, "!")
		return binOp{strict(func(l, r Value) (Value, error) {
			re, err := compileRegex(textOf(r, rt), like, fold)
			if err != nil {
				return nil, err
			}
			return re.MatchString(textOf(l, lt)) != neg, nil
		}), tBool}, nil
	case "||":
		if isArray(lt) || isArray(rt) {
			t := lt
			if !isArray(t) {
				t = rt
			}
			return binOp{func(l, r Value) (Value, error) {
				var out []Value
				for _, v := range []Value{l, r} {
					if a, ok := v.([]Value); ok {
						out = append(out, a...)
					} else if v != nil {
						out = append(out, v)
					}
				}
				return out, nil
			}, t}, nil
		}
		return binOp{strict(func(l, r Value) (Value, error) {
			return textOf(l, lt) + textOf(r, rt), nil
		}), tText}, nil
	case "+", "-", "*", "/", "%":
		t := arithType(lt, rt)
		return binOp{strict(func(l, r Value) (Value, error) { return arith(op, l, r, t) }), t}, nil
	case "&", "|", "#", "<<", ">>":
		t := arithType(lt, rt)
		return binOp{strict(func(l, r Value) (Value, error) {
			x, ok1 := toInt(l)
			y, ok2 := toInt(r)
			if !ok1 || !ok2 {
				return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "operator does not exist: %s %s %s", typeName(lt), op, typeName(rt))
			}
			switch op {
			case "&":
				return x & y, nil
			case "|":
				return x | y, nil
			case "#":
				return x ^ y, nil
			case "<<":
				return x << uint(y), nil
			}
			return x >> uint(y), nil
		}), t}, nil
	case "@>", "<@", "&&":
		return binOp{strict(func(l, r Value) (Value, error) {
			la, ok1 := toArray(l)
			ra, ok2 := toArray(r)
			if !ok1 || !ok2 {
				return nil, sqlerr.Newf(sqlerr.UndefinedFunction, "operator does not exist: %s %s %s", typeName(lt), op, typeName(rt))
			}
			if op == "<@" {
				la, ra = ra, la
			}
			hits := 0
			for _, y := range ra {
				for _, x := range la {
					if x != nil && y != nil {
						if c, err := compare(x, y); err == nil && c == 0 {
							hits++
							break
						}
					}
				}
			}
			if op == "&&" {
				return hits > 0, nil
			}
			return hits == len(ra), nil
		}), tBool}, nil
	}
	return binOp{}, sqlerr.Newf(sqlerr.UndefinedFunction, "operator does not exist: %s %s %s", typeName(lt), op, typeName(rt)).At(pos)
}

func arithType(lt, rt Type) Type {
	isF := func(t Type) bool { return t.OID == OIDFloat4 || t.OID == OIDFloat8 || t.OID == OIDNumeric }
	switch {
	case isF(lt) || isF(rt):
		if lt.OID == OIDNumeric || rt.OID == OIDNumeric {
			return tNumeric
		}
		return tFloat8
	case lt.OID == OIDInt8 || rt.OID == OIDInt8 || lt.OID == OIDOid || rt.OID == OIDOid:
		return tInt8
	case lt.OID == OIDInt2 && (rt.OID == OIDInt2 || rt.OID == OIDUnknown):
		return tInt2
	}
	return tInt4
}

func arith(op string, l, r Value, t Type) (Value, error) {
	x, xi := l.(int64)
	y, yi := r.(int64)
	if !xi {
		if i, ok := toInt(l); ok && !isFloatText(l) {
			x, xi = i, true
		}
	}
	if !yi {
		if i, ok := toInt(r); ok && !isFloatText(r) {
			y, yi = i, true
		}
	}
	if xi && yi && t.OID != OIDNumeric && t.OID != OIDFloat8 {
		switch op {
		case "+":
			return x + y, nil
		case "-":
			return x - y, nil
		case "*":
			return x * y, nil
		case "/", "%":
			if y == 0 {
				return nil, sqlerr.Newf(sqlerr.DivisionByZero, "division by zero")
			}
			if op == "/" {
				return x / y, nil
			}
			return x % y, nil
		}
	}
	fx, ok1 := toFloat(l)
	fy, ok2 := toFloat(r)
	if !ok1 || !ok2 {
		return nil, sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid input syntax for type numeric: %q", textOf(l, tUnknown)+" "+op+" "+textOf(r, tUnknown))
	}
	switch op {
	case "+":
		return fx + fy, nil
	case "-":
		return fx - fy, nil
	case "*":
		return fx * fy, nil
	case "/":
		if fy == 0 {
			return nil, sqlerr.Newf(sqlerr.DivisionByZero, "division by zero")
		}
		return fx / fy, nil
	}
	if fy == 0 {
		return nil, sqlerr.Newf(sqlerr.DivisionByZero, "division by zero")
	}
	return math.Mod(fx, fy), nil
}

func isFloatText(v Value) bool {
	s, ok := v.(string)
	return ok && strings.ContainsAny(s, ".eE")
}

var regexCache sync.Map // pattern key -> *regexp.Regexp

// compileRegex compiles a Postgres regular expression (or, when like is
// set, a LIKE pattern with backslash as its escape) for Go's RE2, which
// agrees with Postgres's on the patterns catalog queries use.
func compileRegex(pat string, like, fold bool) (*regexp.Regexp, error) {
	key := strconv.FormatBool(like) + strconv.FormatBool(fold) + pat
	if re, ok := regexCache.Load(key); ok {
		return re.(*regexp.Regexp), nil
	}
	src := pat
	if like {
		var sb strings.Builder
		sb.WriteString("^")
		for i := 0; i < len(pat); i++ {
			switch c := pat[i]; c {
			case '\\':
				if i+1 < len(pat) {
					i++
					sb.WriteString(regexp.QuoteMeta(pat[i : i+1]))
				}
			case '%':
				sb.WriteString(".*")
			case '_':
				sb.WriteString(".")
			default:
				sb.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		sb.WriteString("$")
		src = "(?s)" + sb.String()
	}
	if fold {
		src = "(?i)" + src
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid regular expression: %v", err)
	}
	regexCache.Store(key, re)
	return re, nil
}

func inFn(lf evalFn, rfs []evalFn, not bool) evalFn {
	return func(e *env) (Value, error) {
		l, err := lf(e)
		if err != nil || l == nil {
			return nil, err
		}
		sawNull := false
		for _, rf := range rfs {
			r, err := rf(e)
			if err != nil {
				return nil, err
			}
			if r == nil {
				sawNull = true
				continue
			}
			c, err := compare(l, r)
			if err != nil {
				return nil, err
			}
			if c == 0 {
				return !not, nil
			}
		}
		if sawNull {
			return nil, nil
		}
		return not, nil
	}
}

func anyAllFn(lf, rf evalFn, bin binOp, all bool) evalFn {
	return func(e *env) (Value, error) {
		l, err := lf(e)
		if err != nil {
			return nil, err
		}
		r, err := rf(e)
		if err != nil || r == nil {
			return nil, err
		}
		arr, ok := toArray(r)
		if !ok {
			return nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "op ANY/ALL (array) requires array on right side")
		}
		return quantified(l, arr, bin, all)
	}
}

// quantified is ANY/ALL over the values of an array or a subquery, with
// SQL's NULL rules.
func quantified(l Value, vals []Value, bin binOp, all bool) (Value, error) {
	sawNull := false
	for _, v := range vals {
		res, err := bin.fn(l, v)
		if err != nil {
			return nil, err
		}
		switch {
		case res == nil:
			sawNull = true
		case res == true && !all:
			return true, nil
		case res == false && all:
			return false, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return all, nil
}

func (b *binder) caseExpr(c *pg_query.CaseExpr, sc *scope) (evalFn, Type, error) {
	var arg evalFn
	var argT Type
	if c.Arg != nil {
		var err error
		if arg, argT, err = b.expr(c.Arg, sc); err != nil {
			return nil, Type{}, err
		}
	}
	type when struct{ cond, res evalFn }
	var whens []when
	var resNodes []*pg_query.Node
	for _, w := range c.Args {
		cw := w.GetCaseWhen()
		resNodes = append(resNodes, cw.Result)
	}
	if c.Defresult != nil {
		resNodes = append(resNodes, c.Defresult)
	}
	results, t, err := b.exprList(resNodes, sc)
	if err != nil {
		return nil, Type{}, err
	}
	for i, w := range c.Args {
		cw := w.GetCaseWhen()
		cf, ct, err := b.expr(cw.Expr, sc)
		if err != nil {
			return nil, Type{}, err
		}
		if arg != nil {
			a, v := b.coerce(arg, argT, cf, ct)
			cf = cmpFn(a, v, cmpOps["="])
		}
		whens = append(whens, when{cf, results[i]})
	}
	var def evalFn
	if c.Defresult != nil {
		def = results[len(results)-1]
	}
	return func(e *env) (Value, error) {
		for _, w := range whens {
			v, err := w.cond(e)
			if err != nil {
				return nil, err
			}
			if v == true {
				return w.res(e)
			}
		}
		if def != nil {
			return def(e)
		}
		return nil, nil
	}, t, nil
}

func (b *binder) indirection(ind *pg_query.A_Indirection, sc *scope) (evalFn, Type, error) {
	f, t, err := b.expr(ind.Arg, sc)
	if err != nil {
		return nil, Type{}, err
	}
	for _, step := range ind.Indirection {
		prev, pt := f, t
		switch {
		case step.GetAIndices() != nil:
			ix := step.GetAIndices()
			if !isArray(pt) && pt.OID != OIDUnknown && pt.OID != OIDText {
				return nil, Type{}, sqlerr.Newf(sqlerr.DatatypeMismatch, "cannot subscript type %s because it does not support subscripting", typeName(pt)).At(b.pos(nodeLocation(ind.Arg)))
			}
			var lo, hi evalFn
			if ix.Lidx != nil {
				if lo, _, err = b.expr(ix.Lidx, sc); err != nil {
					return nil, Type{}, err
				}
			}
			if ix.Uidx != nil {
				if hi, _, err = b.expr(ix.Uidx, sc); err != nil {
					return nil, Type{}, err
				}
			}
			base := lowerBound(pt)
			slice := ix.IsSlice
			f = func(e *env) (Value, error) {
				v, err := prev(e)
				if err != nil || v == nil {
					return nil, err
				}
				arr, ok := toArray(v)
				if !ok {
					return nil, nil
				}
				bound := func(g evalFn, dflt int64) (int64, bool, error) {
					if g == nil {
						return dflt, true, nil
					}
					x, err := g(e)
					if err != nil || x == nil {
						return 0, false, err
					}
					i, ok := toInt(x)
					return i, ok, nil
				}
				if !slice {
					i, ok, err := bound(hi, 0)
					if err != nil || !ok {
						return nil, err
					}
					i -= base
					if i < 0 || i >= int64(len(arr)) {
						return nil, nil
					}
					return arr[i], nil
				}
				l, ok1, err := bound(lo, base)
				if err != nil {
					return nil, err
				}
				h, ok2, err := bound(hi, base+int64(len(arr))-1)
				if err != nil || !ok1 || !ok2 {
					return nil, err
				}
				l, h = max(l-base, 0), min(h-base, int64(len(arr))-1)
				if l > h {
					return []Value{}, nil
				}
				return append([]Value(nil), arr[l:h+1]...), nil
			}
			if !slice {
				t = elemType(pt)
			}
		case step.GetString_() != nil:
			name := step.GetString_().Sval
			t = b.fieldType(ind.Arg, sc, name)
			f = func(e *env) (Value, error) {
				v, err := prev(e)
				if err != nil || v == nil {
					return nil, err
				}
				r, ok := v.(*record)
				if !ok {
					return nil, sqlerr.Newf(sqlerr.WrongObjectType, "column notation .%s applied to a value that is not a composite type", name)
				}
				for i, c := range r.cols {
					if c.Name == name {
						return r.vals[i], nil
					}
				}
				return nil, sqlerr.Newf(sqlerr.UndefinedColumn, "column %q not found in data type record", name)
			}
		default:
			return nil, Type{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "this indirection is not supported in catalog queries")
		}
	}
	return f, t, nil
}

// lowerBound is the first subscript of an array type: int2vector and
// oidvector count from 0, every other array from 1.
func lowerBound(t Type) int64 {
	if t.OID == OIDInt2Vector || t.OID == OIDOidVector {
		return 0
	}
	return 1
}

// fieldType types (f(x)).name when f is a set-returning function whose
// columns are known; otherwise the field is typed by what it holds at run
// time and described as text.
func (b *binder) fieldType(arg *pg_query.Node, sc *scope, name string) Type {
	if fc := arg.GetFuncCall(); fc != nil {
		if cols := b.srfColumns(fc, sc); cols != nil {
			for _, c := range cols {
				if c.Name == name {
					return c.Type
				}
			}
		}
	}
	if cr := arg.GetColumnRef(); cr != nil {
		if cols := recordColsOf(stringList(cr.Fields), sc); cols != nil {
			for _, c := range cols {
				if c.Name == name {
					return c.Type
				}
			}
		}
	}
	return tUnknown
}

func (b *binder) sqlValueFunction(f *pg_query.SQLValueFunction, sc *scope) (evalFn, Type, error) {
	name := ""
	switch f.Op {
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER, pg_query.SQLValueFunctionOp_SVFOP_USER, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:
		name = "current_user"
	case pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:
		name = "session_user"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
		name = "current_database"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
		name = "current_schema"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
		return func(*env) (Value, error) { return time.Now().UTC().Truncate(24 * time.Hour), nil }, Type{OID: OIDDate}, nil
	default:
		return func(*env) (Value, error) { return time.Now().UTC(), nil }, Type{OID: OIDTimestampTZ}, nil
	}
	if fn, ok := b.cat.Function("", name); ok {
		return func(*env) (Value, error) { return fn(nil) }, tName, nil
	}
	if bi, ok := builtins[name]; ok {
		return func(e *env) (Value, error) { return bi.fn(e.rs, nil) }, tName, nil
	}
	return nil, Type{}, sqlerr.Newf(sqlerr.UndefinedFunction, "function %s() does not exist", name).At(b.pos(f.Location))
}

// subLink compiles EXISTS, IN/ANY/ALL (subquery), scalar and ARRAY subqueries.
func (b *binder) subLink(sl *pg_query.SubLink, sc *scope) (evalFn, Type, error) {
	sub, err := b.selectStmt(sl.Subselect.GetSelectStmt(), sc)
	if err != nil {
		return nil, Type{}, err
	}
	pos := b.pos(sl.Location)
	runSub := func(e *env) ([][]Value, error) {
		if !sub.correlated {
			if rows, ok := e.rs.subCache[sub]; ok {
				return rows, nil
			}
		}
		rows, err := sub.run(&env{rs: e.rs, outer: e})
		if err == nil && !sub.correlated {
			e.rs.subCache[sub] = rows
		}
		return rows, err
	}
	if sub.correlated {
		// A correlated subquery reads this query's row: if that row is from an
		// enclosing query, this one is correlated too (lookup marked it).
	}
	switch sl.SubLinkType {
	case pg_query.SubLinkType_EXISTS_SUBLINK:
		return func(e *env) (Value, error) {
			rows, err := runSub(e)
			return len(rows) > 0, err
		}, tBool, nil
	case pg_query.SubLinkType_EXPR_SUBLINK, pg_query.SubLinkType_ARRAY_SUBLINK:
		if len(sub.cols) != 1 {
			return nil, Type{}, sqlerr.Newf(sqlerr.SyntaxError, "subquery must return only one column").At(pos)
		}
		if sl.SubLinkType == pg_query.SubLinkType_ARRAY_SUBLINK {
			return func(e *env) (Value, error) {
				rows, err := runSub(e)
				if err != nil {
					return nil, err
				}
				out := make([]Value, len(rows))
				for i, r := range rows {
					out[i] = r[0]
				}
				return out, nil
			}, arrayOf(sub.cols[0].Type), nil
		}
		return func(e *env) (Value, error) {
			rows, err := runSub(e)
			if err != nil {
				return nil, err
			}
			switch len(rows) {
			case 0:
				return nil, nil
			case 1:
				return rows[0][0], nil
			}
			return nil, sqlerr.Newf("21000", "more than one row returned by a subquery used as an expression").At(pos)
		}, sub.cols[0].Type, nil
	case pg_query.SubLinkType_ANY_SUBLINK, pg_query.SubLinkType_ALL_SUBLINK:
		lf, lt, err := b.expr(sl.Testexpr, sc)
		if err != nil {
			return nil, Type{}, err
		}
		if len(sub.cols) != 1 {
			return nil, Type{}, sqlerr.Newf(sqlerr.SyntaxError, "subquery has too many columns").At(pos)
		}
		op := "="
		if names := stringList(sl.OperName); len(names) > 0 {
			op = names[len(names)-1]
		}
		st := sub.cols[0].Type
		if lt.OID == OIDUnknown {
			lf = b.castFn(lf, lt, st, -1)
		}
		bin, err := b.binaryOp(op, lt, st, pos)
		if err != nil {
			return nil, Type{}, err
		}
		all := sl.SubLinkType == pg_query.SubLinkType_ALL_SUBLINK
		return func(e *env) (Value, error) {
			l, err := lf(e)
			if err != nil {
				return nil, err
			}
			rows, err := runSub(e)
			if err != nil {
				return nil, err
			}
			vals := make([]Value, len(rows))
			for i, r := range rows {
				vals[i] = r[0]
			}
			return quantified(l, vals, bin, all)
		}, tBool, nil
	}
	return nil, Type{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "this kind of subquery is not supported in catalog queries").At(pos)
}

// recordColsOf finds the known columns of a record-typed column, such as a
// subquery's column that holds a set-returning function's rows.
func recordColsOf(names []string, sc *scope) []Column {
	col := names[len(names)-1]
	qual := ""
	if len(names) > 1 {
		qual = names[len(names)-2]
	}
	for s := sc; s != nil; s = s.parent {
		for _, re := range s.entries {
			if qual != "" && re.alias != qual {
				continue
			}
			for i, c := range re.cols {
				if c.Name == col && i < len(re.shapes) {
					return re.shapes[i]
				}
			}
		}
	}
	return nil
}

// tableoid binds the system column tableoid: the OID of the catalog
// relation a FROM item reads (psql's \dd and \dL ask for it).
func (b *binder) tableoid(entries []*rangeEntry, qual string, depth int) (evalFn, Type, error) {
	var hit *rangeEntry
	for _, re := range entries {
		if re.relName == "" || qual != "" && re.alias != qual {
			continue
		}
		if hit != nil {
			return nil, Type{}, sqlerr.Newf(sqlerr.AmbiguousColumn, "column reference \"tableoid\" is ambiguous")
		}
		hit = re
	}
	if hit == nil {
		return nil, Type{}, errNotFound
	}
	schema := hit.relSchema
	if schema == "" {
		if r, ok := b.cat.Relation("", hit.relName); ok {
			schema = r.Schema
		}
	}
	name := QuoteIdent(schema) + "." + QuoteIdent(hit.relName)
	b.lastRef = [2]int{hit.offset, hit.offset + len(hit.cols)}
	return withDepth(depth, func(e *env) (Value, error) { return e.rs.regOID(name, OIDRegclass) }), Type{OID: OIDOid}, nil
}
