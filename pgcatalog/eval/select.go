package eval

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// selectPlan is one SELECT (or a set operation over two).
type selectPlan struct {
	cols   []Column
	shapes [][]Column // columns of record-typed output columns, when known

	setop      pg_query.SetOperation
	all        bool
	larg, rarg *selectPlan

	from       []*fromItem
	where      evalFn      // WHERE of a SELECT without FROM
	whereConds []*conjunct // WHERE's conjuncts, applied while joining the FROM items
	groupBy    []evalFn
	grouped    bool
	having     evalFn
	aggs       []*aggSpec
	wins       []*winSpec
	srfs       []*srfSpec
	targets    []evalFn
	width      int // columns of the FROM clause's row

	distinct bool
	sort     []sortKey
	limit    evalFn
	offset   evalFn

	correlated bool // reads a column of an enclosing query
}

type sortKey struct {
	out        int // output column, or -1 when expr is evaluated per row
	expr       evalFn
	desc       bool
	nullsFirst bool
}

// scope is the names one SELECT sees; parent is the enclosing query's.
type scope struct {
	parent                       *scope
	entries                      []*rangeEntry
	sel                          *selectPlan
	allowAgg, allowSRF, allowWin bool
}

// rangeEntry is a FROM item as names resolve to it: an alias and its
// columns at offset in the row.
type rangeEntry struct {
	alias  string
	cols   []Column
	offset int
	hidden map[string]bool // right-hand USING columns, reached only qualified
	shapes [][]Column      // columns of record-typed columns, when known

	relSchema, relName string // a catalog relation's name, for its tableoid
}

type fromKind int

const (
	fromRel fromKind = iota
	fromSub
	fromFunc
	fromJoin
)

type fromItem struct {
	kind   fromKind
	offset int
	width  int

	schema, name string                        // fromRel
	sub          *selectPlan                   // fromSub
	fn           func(*env) ([][]Value, error) // fromFunc
	lateral      bool

	jt          pg_query.JoinType // fromJoin
	left, right *fromItem
	on          []*conjunct
}

func (b *binder) selectStmt(s *pg_query.SelectStmt, parent *scope) (*selectPlan, error) {
	if s.WithClause != nil {
		pop, err := b.withClause(s.WithClause, parent)
		if err != nil {
			return nil, err
		}
		defer pop()
	}
	if s.Op != pg_query.SetOperation_SETOP_NONE && s.Op != pg_query.SetOperation_SET_OPERATION_UNDEFINED {
		return b.setOp(s, parent)
	}
	if len(s.ValuesLists) > 0 {
		return b.values(s, parent)
	}
	p := &selectPlan{}
	sc := &scope{parent: parent, sel: p}
	for _, n := range s.FromClause {
		it, err := b.fromNode(n, sc, p.width)
		if err != nil {
			return nil, err
		}
		p.from = append(p.from, it)
		p.width += it.width
	}
	if s.WhereClause != nil && len(p.from) > 0 {
		conds, err := b.conjuncts(s.WhereClause, sc)
		if err != nil {
			return nil, err
		}
		p.whereConds = conds
	} else if s.WhereClause != nil {
		w, t, err := b.expr(s.WhereClause, sc)
		if err != nil {
			return nil, err
		}
		p.where = b.castFn(w, t, tBool, -1)
	}
	// Targets, HAVING and ORDER BY may use aggregates, windows and
	// set-returning functions; which of them they use decides how rows flow.
	sc.allowAgg, sc.allowSRF, sc.allowWin = true, true, true
	var targetNodes []*pg_query.Node
	for _, n := range s.TargetList {
		rt := n.GetResTarget()
		if cr := rt.Val.GetColumnRef(); cr != nil && isStar(cr) {
			cols, fns, err := b.star(cr, sc)
			if err != nil {
				return nil, err
			}
			p.cols = append(p.cols, cols...)
			p.targets = append(p.targets, fns...)
			for range cols {
				targetNodes = append(targetNodes, nil)
				p.shapes = append(p.shapes, nil)
			}
			continue
		}
		f, t, err := b.expr(rt.Val, sc)
		if err != nil {
			return nil, err
		}
		name := rt.Name
		if name == "" {
			name = b.columnName(rt.Val)
		}
		if t.OID == OIDUnknown {
			t = tText // an untyped literal in a select list is text, as since Postgres 10
		}
		p.cols = append(p.cols, Column{Name: name, Type: t})
		p.targets = append(p.targets, f)
		targetNodes = append(targetNodes, rt.Val)
		var shape []Column
		if fc := rt.Val.GetFuncCall(); fc != nil && t.OID == oidRecord {
			shape = b.srfColumns(fc, sc)
		}
		p.shapes = append(p.shapes, shape)
	}
	sc.allowSRF, sc.allowWin = false, false
	for _, g := range s.GroupClause {
		f, err := b.outputRef(g, sc, p, targetNodes, false)
		if err != nil {
			return nil, err
		}
		p.groupBy = append(p.groupBy, f.expr)
	}
	if s.HavingClause != nil {
		h, _, err := b.expr(s.HavingClause, sc)
		if err != nil {
			return nil, err
		}
		p.having = h
	}
	sc.allowWin = true
	for _, n := range s.SortClause {
		k, err := b.sortKey(n.GetSortBy(), sc, p, targetNodes)
		if err != nil {
			return nil, err
		}
		p.sort = append(p.sort, k)
	}
	p.grouped = len(p.aggs) > 0 || len(p.groupBy) > 0 || p.having != nil
	if p.grouped && len(p.wins) > 0 {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "window functions over grouped rows are not supported in catalog queries")
	}
	if len(s.DistinctClause) > 0 {
		if len(s.DistinctClause) > 1 || s.DistinctClause[0].Node != nil {
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "DISTINCT ON is not supported in catalog queries")
		}
		p.distinct = true
	}
	if err := b.limits(s, sc, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (b *binder) limits(s *pg_query.SelectStmt, sc *scope, p *selectPlan) error {
	sc.allowAgg, sc.allowSRF, sc.allowWin = false, false, false
	if s.LimitCount != nil {
		f, _, err := b.expr(s.LimitCount, sc)
		if err != nil {
			return err
		}
		p.limit = f
	}
	if s.LimitOffset != nil {
		f, _, err := b.expr(s.LimitOffset, sc)
		if err != nil {
			return err
		}
		p.offset = f
	}
	return nil
}

func (b *binder) values(s *pg_query.SelectStmt, parent *scope) (*selectPlan, error) {
	p := &selectPlan{}
	sc := &scope{parent: parent, sel: p}
	var rows [][]evalFn
	for i, l := range s.ValuesLists {
		var row []evalFn
		for j, n := range l.GetList().Items {
			f, t, err := b.expr(n, sc)
			if err != nil {
				return nil, err
			}
			row = append(row, f)
			if i == 0 {
				p.cols = append(p.cols, Column{Name: "column" + strconv.Itoa(j+1), Type: t})
			}
		}
		rows = append(rows, row)
	}
	p.from = []*fromItem{{kind: fromFunc, fn: func(e *env) ([][]Value, error) {
		out := make([][]Value, len(rows))
		for i, r := range rows {
			out[i] = make([]Value, len(r))
			for j, f := range r {
				v, err := f(e)
				if err != nil {
					return nil, err
				}
				out[i][j] = v
			}
		}
		return out, nil
	}, width: len(p.cols)}}
	p.width = len(p.cols)
	for i := range p.cols {
		i := i
		p.targets = append(p.targets, func(e *env) (Value, error) { return e.row[i], nil })
	}
	for _, n := range s.SortClause {
		k, err := b.sortKey(n.GetSortBy(), sc, p, make([]*pg_query.Node, len(p.cols)))
		if err != nil {
			return nil, err
		}
		p.sort = append(p.sort, k)
	}
	return p, b.limits(s, sc, p)
}

func (b *binder) setOp(s *pg_query.SelectStmt, parent *scope) (*selectPlan, error) {
	l, err := b.selectStmt(s.Larg, parent)
	if err != nil {
		return nil, err
	}
	r, err := b.selectStmt(s.Rarg, parent)
	if err != nil {
		return nil, err
	}
	if len(l.cols) != len(r.cols) {
		return nil, sqlerr.Newf(sqlerr.SyntaxError, "each %s query must have the same number of columns", strings.TrimPrefix(s.Op.String(), "SETOP_"))
	}
	p := &selectPlan{setop: s.Op, all: s.All, larg: l, rarg: r, cols: append([]Column(nil), l.cols...)}
	for i := range p.cols {
		if p.cols[i].Type.OID == OIDUnknown {
			p.cols[i].Type = r.cols[i].Type
		}
		if p.cols[i].Type.OID == OIDUnknown {
			p.cols[i].Type = tText
		}
	}
	sc := &scope{parent: parent, sel: p}
	for _, n := range s.SortClause {
		sb := n.GetSortBy()
		k, err := b.sortKey(sb, sc, p, make([]*pg_query.Node, len(p.cols)))
		if err != nil {
			return nil, err
		}
		if k.out < 0 {
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "ORDER BY on a UNION result must name an output column").At(b.pos(sb.Location))
		}
		p.sort = append(p.sort, k)
	}
	return p, b.limits(s, sc, p)
}

func isStar(cr *pg_query.ColumnRef) bool {
	return len(cr.Fields) > 0 && cr.Fields[len(cr.Fields)-1].GetAStar() != nil
}

// star expands * or t.* into the columns of the FROM items.
func (b *binder) star(cr *pg_query.ColumnRef, sc *scope) ([]Column, []evalFn, error) {
	names := stringList(cr.Fields)
	qual := ""
	if len(names) > 1 {
		qual = names[len(names)-2]
	}
	var cols []Column
	var fns []evalFn
	found := false
	for _, re := range sc.entries {
		if qual != "" && re.alias != qual {
			continue
		}
		found = true
		for i, c := range re.cols {
			if qual == "" && re.hidden[c.Name] {
				continue
			}
			idx := re.offset + i
			cols = append(cols, c)
			fns = append(fns, func(e *env) (Value, error) { return e.row[idx], nil })
		}
	}
	if qual != "" && !found {
		return nil, nil, sqlerr.Newf(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", qual).At(b.pos(cr.Location))
	}
	if qual == "" && len(sc.entries) == 0 {
		return nil, nil, sqlerr.Newf(sqlerr.SyntaxError, "SELECT * with no tables specified is not valid").At(b.pos(cr.Location))
	}
	return cols, fns, nil
}

// columnName is the name Postgres gives an output column without an alias.
func (b *binder) columnName(n *pg_query.Node) string {
	switch {
	case n.GetColumnRef() != nil:
		f := stringList(n.GetColumnRef().Fields)
		return f[len(f)-1]
	case n.GetFuncCall() != nil:
		f := stringList(n.GetFuncCall().Funcname)
		return f[len(f)-1]
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		if name := b.columnName(tc.Arg); name != "?column?" {
			return name
		}
		f := stringList(tc.TypeName.Names)
		if t, ok := typeNames[f[len(f)-1]]; ok && f[len(f)-1] == "bpchar" {
			_ = t
			return "bpchar"
		}
		return f[len(f)-1]
	case n.GetAIndirection() != nil:
		ind := n.GetAIndirection().Indirection
		if s := ind[len(ind)-1].GetString_(); s != nil {
			return s.Sval
		}
		return b.columnName(n.GetAIndirection().Arg)
	case n.GetCaseExpr() != nil:
		return "case"
	case n.GetCoalesceExpr() != nil:
		return "coalesce"
	case n.GetMinMaxExpr() != nil:
		if n.GetMinMaxExpr().Op == pg_query.MinMaxOp_IS_GREATEST {
			return "greatest"
		}
		return "least"
	case n.GetAArrayExpr() != nil:
		return "array"
	case n.GetCollateClause() != nil:
		return b.columnName(n.GetCollateClause().Arg)
	case n.GetSubLink() != nil:
		sl := n.GetSubLink()
		switch sl.SubLinkType {
		case pg_query.SubLinkType_EXISTS_SUBLINK:
			return "exists"
		case pg_query.SubLinkType_ARRAY_SUBLINK:
			return "array"
		case pg_query.SubLinkType_EXPR_SUBLINK:
			if ss := sl.Subselect.GetSelectStmt(); ss != nil && len(ss.TargetList) == 1 {
				rt := ss.TargetList[0].GetResTarget()
				if rt.Name != "" {
					return rt.Name
				}
				return b.columnName(rt.Val)
			}
		}
	case n.GetAExpr() != nil && n.GetAExpr().Kind == pg_query.A_Expr_Kind_AEXPR_NULLIF:
		return "nullif"
	case n.GetSqlvalueFunction() != nil:
		return strings.ToLower(strings.TrimPrefix(n.GetSqlvalueFunction().Op.String(), "SVFOP_"))
	case n.GetRowExpr() != nil:
		return "row"
	}
	return "?column?"
}

// outputRef binds a GROUP BY or ORDER BY item: an ordinal or an output
// column's name refers to the select list, anything else is an expression.
func (b *binder) outputRef(n *pg_query.Node, sc *scope, p *selectPlan, targetNodes []*pg_query.Node, preferOutput bool) (sortKey, error) {
	if c := n.GetAConst(); c != nil && c.GetIval() != nil || c != nil && !c.Isnull && c.Val == nil {
		i := int(c.GetIval().GetIval())
		if i < 1 || i > len(p.cols) {
			return sortKey{}, sqlerr.Newf(sqlerr.InvalidParameterValue, "position %d is not in select list", i).At(b.pos(c.Location))
		}
		if preferOutput || targetNodes[i-1] == nil {
			return sortKey{out: i - 1}, nil
		}
		f, _, err := b.expr(targetNodes[i-1], sc)
		return sortKey{out: -1, expr: f}, err
	}
	if cr := n.GetColumnRef(); cr != nil && len(cr.Fields) == 1 && cr.Fields[0].GetString_() != nil {
		name := cr.Fields[0].GetString_().Sval
		for i, c := range p.cols {
			if c.Name != name {
				continue
			}
			if preferOutput {
				return sortKey{out: i}, nil
			}
			// GROUP BY prefers an input column of that name.
			if _, _, err := b.lookup([]string{name}, sc, cr.Location); err == nil || targetNodes[i] == nil {
				break
			}
			f, _, err := b.expr(targetNodes[i], sc)
			return sortKey{out: -1, expr: f}, err
		}
	}
	f, _, err := b.expr(n, sc)
	return sortKey{out: -1, expr: f}, err
}

func (b *binder) sortKey(sb *pg_query.SortBy, sc *scope, p *selectPlan, targetNodes []*pg_query.Node) (sortKey, error) {
	if sb.SortbyDir == pg_query.SortByDir_SORTBY_USING {
		return sortKey{}, sqlerr.Newf(sqlerr.FeatureNotSupported, "ORDER BY USING is not supported in catalog queries").At(b.pos(sb.Location))
	}
	k, err := b.outputRef(sb.Node, sc, p, targetNodes, true)
	if err != nil {
		return k, err
	}
	k.desc = sb.SortbyDir == pg_query.SortByDir_SORTBY_DESC
	switch sb.SortbyNulls {
	case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
		k.nullsFirst = true
	case pg_query.SortByNulls_SORTBY_NULLS_LAST:
		k.nullsFirst = false
	default:
		k.nullsFirst = k.desc
	}
	return k, nil
}

// fromNode binds one FROM item whose columns start at offset; items bound
// before it are in scope, so function arguments may refer to them.
func (b *binder) fromNode(n *pg_query.Node, sc *scope, offset int) (*fromItem, error) {
	switch {
	case n.GetRangeVar() != nil:
		rv := n.GetRangeVar()
		if c := b.findCTE(rv); c != nil {
			cols := append([]Column(nil), c.cols...)
			alias := rv.Relname
			if err := b.applyAlias(rv.Alias, &alias, cols); err != nil {
				return nil, err
			}
			sc.entries = append(sc.entries, &rangeEntry{alias: alias, cols: cols, offset: offset, shapes: c.plan.shapes})
			return &fromItem{kind: fromSub, sub: c.plan, offset: offset, width: len(cols)}, nil
		}
		rel, ok := b.cat.Relation(rv.Schemaname, rv.Relname)
		if !ok {
			name := rv.Relname
			if rv.Schemaname != "" {
				name = rv.Schemaname + "." + name
			}
			return nil, sqlerr.Newf(sqlerr.UndefinedTable, "relation %q does not exist", name).At(b.pos(rv.Location))
		}
		cols := append([]Column(nil), rel.Columns...)
		alias := rv.Relname
		if err := b.applyAlias(rv.Alias, &alias, cols); err != nil {
			return nil, err
		}
		sc.entries = append(sc.entries, &rangeEntry{alias: alias, cols: cols, offset: offset, relSchema: rv.Schemaname, relName: rv.Relname})
		return &fromItem{kind: fromRel, schema: rv.Schemaname, name: rv.Relname, offset: offset, width: len(cols)}, nil
	case n.GetRangeSubselect() != nil:
		rs := n.GetRangeSubselect()
		parent := sc.parent
		if rs.Lateral {
			parent = sc
		}
		sub, err := b.selectStmt(rs.Subquery.GetSelectStmt(), parent)
		if err != nil {
			return nil, err
		}
		if rs.Lateral && sub.correlated {
			sc.sel.correlated = true
		}
		cols := append([]Column(nil), sub.cols...)
		alias := ""
		if err := b.applyAlias(rs.Alias, &alias, cols); err != nil {
			return nil, err
		}
		sc.entries = append(sc.entries, &rangeEntry{alias: alias, cols: cols, offset: offset, shapes: sub.shapes})
		return &fromItem{kind: fromSub, sub: sub, lateral: rs.Lateral, offset: offset, width: len(cols)}, nil
	case n.GetRangeFunction() != nil:
		return b.rangeFunction(n.GetRangeFunction(), sc, offset)
	case n.GetJoinExpr() != nil:
		return b.join(n.GetJoinExpr(), sc, offset)
	}
	return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "unsupported FROM item %T in a catalog query", n.Node)
}

func (b *binder) applyAlias(a *pg_query.Alias, alias *string, cols []Column) error {
	if a == nil {
		return nil
	}
	*alias = a.Aliasname
	names := stringList(a.Colnames)
	if len(names) > len(cols) {
		return sqlerr.Newf(sqlerr.SyntaxError, "table %q has %d columns available but %d columns specified", a.Aliasname, len(cols), len(names))
	}
	for i, nm := range names {
		cols[i].Name = nm
	}
	return nil
}

func (b *binder) rangeFunction(rf *pg_query.RangeFunction, sc *scope, offset int) (*fromItem, error) {
	if len(rf.Functions) != 1 || rf.IsRowsfrom {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "ROWS FROM is not supported in catalog queries")
	}
	items := rf.Functions[0].GetList().Items
	fc := items[0].GetFuncCall()
	if fc == nil {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "unsupported function in FROM in a catalog query")
	}
	// Arguments may refer to the FROM items before this one (implicit LATERAL).
	call, cols, err := b.setFunc(fc, sc)
	if err != nil {
		return nil, err
	}
	fnName := stringList(fc.Funcname)
	alias := fnName[len(fnName)-1]
	cols = append([]Column(nil), cols...)
	if len(cols) == 1 {
		cols[0].Name = alias
	}
	if rf.Ordinality {
		cols = append(cols, Column{Name: "ordinality", Type: tInt8})
	}
	if rf.Alias != nil && len(cols) == 1 && len(rf.Alias.Colnames) == 0 {
		cols[0].Name = rf.Alias.Aliasname
	}
	if err := b.applyAlias(rf.Alias, &alias, cols); err != nil {
		return nil, err
	}
	ord := rf.Ordinality
	fn := func(e *env) ([][]Value, error) {
		_, rows, err := call(e)
		if err != nil || !ord {
			return rows, err
		}
		out := make([][]Value, len(rows))
		for i, r := range rows {
			out[i] = append(append([]Value(nil), r...), int64(i+1))
		}
		return out, nil
	}
	sc.entries = append(sc.entries, &rangeEntry{alias: alias, cols: cols, offset: offset})
	return &fromItem{kind: fromFunc, fn: fn, lateral: true, offset: offset, width: len(cols)}, nil
}

func (b *binder) join(j *pg_query.JoinExpr, sc *scope, offset int) (*fromItem, error) {
	switch j.Jointype {
	case pg_query.JoinType_JOIN_INNER, pg_query.JoinType_JOIN_LEFT, pg_query.JoinType_JOIN_RIGHT, pg_query.JoinType_JOIN_FULL:
	default:
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "join type %s is not supported in catalog queries", j.Jointype)
	}
	l, err := b.fromNode(j.Larg, sc, offset)
	if err != nil {
		return nil, err
	}
	nl := len(sc.entries)
	r, err := b.fromNode(j.Rarg, sc, offset+l.width)
	if err != nil {
		return nil, err
	}
	it := &fromItem{kind: fromJoin, jt: j.Jointype, left: l, right: r, offset: offset, width: l.width + r.width}
	using := stringList(j.UsingClause)
	if j.IsNatural {
		lc := map[string]bool{}
		for _, re := range sc.entries[:nl] {
			for _, c := range re.cols {
				lc[c.Name] = true
			}
		}
		for _, re := range sc.entries[nl:] {
			for _, c := range re.cols {
				if lc[c.Name] {
					using = append(using, c.Name)
				}
			}
		}
	}
	for _, name := range using {
		lf, lt, err := b.lookupIn([]string{name}, sc.entries[:nl], 0)
		if err != nil {
			return nil, err
		}
		li := b.lastRef[0]
		rfn, rt, err := b.lookupIn([]string{name}, sc.entries[nl:], 0)
		if err != nil {
			return nil, err
		}
		ri := b.lastRef[0]
		lc, rc := b.coerce(lf, lt, rfn, rt)
		c := &conjunct{fn: cmpFn(lc, rc, cmpOps["="]), refs: map[int]bool{li: true, ri: true}, hashCol: -1}
		if sameKind(lt, rt) {
			c.hashCol, c.hashOther, c.otherMax = ri, lf, li
		}
		it.on = append(it.on, c)
		for _, re := range sc.entries[nl:] {
			if re.hidden == nil {
				re.hidden = map[string]bool{}
			}
			re.hidden[name] = true
		}
	}
	if j.Quals != nil {
		conds, err := b.conjuncts(j.Quals, sc)
		if err != nil {
			return nil, err
		}
		it.on = append(it.on, conds...)
	}
	if j.Alias != nil {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "an alias on a join is not supported in catalog queries")
	}
	return it, nil
}

// rows produces a FROM item's rows. prefix is the row of the items to its
// left, which function arguments and LATERAL subqueries may read.
func (it *fromItem) rows(e *env, prefix []Value) ([][]Value, error) {
	switch it.kind {
	case fromRel:
		rows, _, err := e.rs.relation(it.schema, it.name)
		return rows, err
	case fromSub:
		if it.lateral {
			// A LATERAL subquery's enclosing scope is this FROM clause.
			return it.sub.run(&env{rs: e.rs, outer: &env{rs: e.rs, outer: e.outer, row: prefix}})
		}
		if it.sub.correlated {
			return it.sub.run(&env{rs: e.rs, outer: e.outer})
		}
		if rows, ok := e.rs.subCache[it.sub]; ok {
			return rows, nil
		}
		rows, err := it.sub.run(&env{rs: e.rs})
		if err == nil {
			e.rs.subCache[it.sub] = rows
		}
		return rows, err
	case fromFunc:
		return it.fn(&env{rs: e.rs, outer: e.outer, row: prefix})
	}
	return it.joinRows(e, prefix)
}

func (it *fromItem) joinRows(e *env, prefix []Value) ([][]Value, error) {
	lrows, err := it.left.rows(e, prefix)
	if err != nil {
		return nil, err
	}
	// The ON condition reads columns by their place in the whole FROM row:
	// the items to the left (when given), then this join's.
	off, lw, rw := it.offset, it.left.width, it.right.width
	acc := make([][]Value, len(lrows))
	for i, l := range lrows {
		r := make([]Value, off+lw)
		copy(r, prefix)
		copy(r[off:], l)
		acc[i] = r
	}
	fixed := !it.right.dependsOnLeft()
	var fixedRows [][]Value
	rowsFor := func(p []Value) ([][]Value, error) {
		if fixed && fixedRows != nil {
			return fixedRows, nil
		}
		rows, err := it.right.rows(e, p)
		if fixed {
			fixedRows = rows
			if fixedRows == nil {
				fixedRows = [][]Value{}
			}
		}
		return rows, err
	}
	var matchedRight []bool
	if it.jt == pg_query.JoinType_JOIN_RIGHT || it.jt == pg_query.JoinType_JOIN_FULL {
		if !fixed {
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "RIGHT or FULL JOIN to a LATERAL item is not supported")
		}
		rows, err := rowsFor(nil)
		if err != nil {
			return nil, err
		}
		matchedRight = make([]bool, len(rows))
	}
	_, hash := stepConds(it.on, off+lw, off+lw+rw, false)
	keepLeft := it.jt == pg_query.JoinType_JOIN_LEFT || it.jt == pg_query.JoinType_JOIN_FULL
	joined, err := joinStep(e, acc, off+lw, rw, rowsFor, fixed, it.on, hash, keepLeft, matchedRight)
	if err != nil {
		return nil, err
	}
	out := make([][]Value, 0, len(joined))
	for _, r := range joined {
		out = append(out, r[off:])
	}
	for ri, m := range matchedRight {
		if !m {
			nr := make([]Value, it.width)
			copy(nr[lw:], fixedRows[ri])
			out = append(out, nr)
		}
	}
	return out, nil
}

// dependsOnLeft says whether the item's rows depend on the row to its left
// (function arguments and LATERAL subqueries may read it).
func (it *fromItem) dependsOnLeft() bool {
	switch it.kind {
	case fromFunc:
		return it.lateral
	case fromSub:
		return it.lateral
	case fromJoin:
		return it.left.dependsOnLeft() || it.right.dependsOnLeft()
	}
	return false
}

// fromRows is the FROM clause's rows: the cross product of its items,
// each item seeing the row of those before it.
func (p *selectPlan) fromRows(e *env) ([][]Value, error) {
	acc := [][]Value{{}}
	for i, it := range p.from {
		conds, hash := stepConds(p.whereConds, it.offset, it.offset+it.width, i == 0)
		rowsFor := func(prefix []Value) ([][]Value, error) { return it.rows(e, prefix) }
		var err error
		if acc, err = joinStep(e, acc, it.offset, it.width, rowsFor, !it.dependsOnLeft(), conds, hash, false, nil); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// run evaluates the plan. e.outer is the enclosing query's environment, for
// correlated references.
func (p *selectPlan) run(e *env) ([][]Value, error) {
	if p.larg != nil {
		return p.runSetOp(e)
	}
	ie := &env{rs: e.rs, outer: e.outer}
	rows, err := p.fromRows(ie)
	if err != nil {
		return nil, err
	}
	if p.where != nil {
		kept := rows[:0:0]
		for _, r := range rows {
			if err := e.rs.check(); err != nil {
				return nil, err
			}
			ie.row = r
			v, err := p.where(ie)
			if err != nil {
				return nil, err
			}
			if v == true {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	// bases are the environments the select list is evaluated in: one per
	// row, or one per group.
	var bases []*env
	if p.grouped {
		if bases, err = p.group(ie, rows); err != nil {
			return nil, err
		}
	} else {
		bases = make([]*env, len(rows))
		for i, r := range rows {
			bases[i] = &env{rs: e.rs, outer: ie.outer, row: r}
		}
		if len(p.wins) > 0 {
			if err := p.windows(bases); err != nil {
				return nil, err
			}
		}
	}
	type outRow struct {
		vals []Value
		keys []Value
	}
	var out []outRow
	emit := func(be *env) error {
		o := outRow{vals: make([]Value, len(p.targets))}
		for i, f := range p.targets {
			v, err := f(be)
			if err != nil {
				return err
			}
			o.vals[i] = v
		}
		for _, k := range p.sort {
			if k.out >= 0 {
				o.keys = append(o.keys, o.vals[k.out])
				continue
			}
			v, err := k.expr(be)
			if err != nil {
				return err
			}
			o.keys = append(o.keys, v)
		}
		out = append(out, o)
		return nil
	}
	for _, be := range bases {
		if err := e.rs.check(); err != nil {
			return nil, err
		}
		if len(p.srfs) == 0 {
			if err := emit(be); err != nil {
				return nil, err
			}
			continue
		}
		// Set-returning functions in the select list run in lockstep; the
		// shorter ones are padded with NULLs.
		results := make([][][]Value, len(p.srfs))
		n := 0
		for i, s := range p.srfs {
			_, rows, err := s.call(be)
			if err != nil {
				return nil, err
			}
			results[i] = rows
			n = max(n, len(rows))
		}
		for r := 0; r < n; r++ {
			be.srfs = make([]Value, len(p.srfs))
			for i, s := range p.srfs {
				if r < len(results[i]) {
					be.srfs[i] = s.value(results[i][r])
				}
			}
			if err := emit(be); err != nil {
				return nil, err
			}
		}
	}
	if p.distinct {
		seen := map[string]bool{}
		kept := out[:0]
		for _, o := range out {
			k := rowKey(o.vals)
			if !seen[k] {
				seen[k] = true
				kept = append(kept, o)
			}
		}
		out = kept
	}
	if len(p.sort) > 0 {
		sort.SliceStable(out, func(i, j int) bool { return p.less(out[i].keys, out[j].keys) })
	}
	res := make([][]Value, len(out))
	for i, o := range out {
		res[i] = o.vals
	}
	return p.applyLimit(ie, res)
}

func (p *selectPlan) less(a, b []Value) bool {
	for i, k := range p.sort {
		x, y := a[i], b[i]
		if x == nil || y == nil {
			if x == nil && y == nil {
				continue
			}
			return (x == nil) == k.nullsFirst
		}
		c := sortCompare(x, y)
		if c == 0 {
			continue
		}
		if k.desc {
			return c > 0
		}
		return c < 0
	}
	return false
}

func (p *selectPlan) applyLimit(e *env, rows [][]Value) ([][]Value, error) {
	if p.offset != nil {
		v, err := p.offset(e)
		if err != nil {
			return nil, err
		}
		if n, ok := toInt(v); ok && n > 0 {
			if int(n) >= len(rows) {
				rows = nil
			} else {
				rows = rows[n:]
			}
		}
	}
	if p.limit != nil {
		v, err := p.limit(e)
		if err != nil {
			return nil, err
		}
		if n, ok := toInt(v); ok && v != nil && int(n) < len(rows) {
			if n < 0 {
				return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "LIMIT must not be negative")
			}
			rows = rows[:n]
		}
	}
	return rows, nil
}

func (p *selectPlan) runSetOp(e *env) ([][]Value, error) {
	l, err := p.larg.run(e)
	if err != nil {
		return nil, err
	}
	r, err := p.rarg.run(e)
	if err != nil {
		return nil, err
	}
	var rows [][]Value
	switch p.setop {
	case pg_query.SetOperation_SETOP_UNION:
		rows = append(append(rows, l...), r...)
		if !p.all {
			rows = dedupe(rows)
		}
	case pg_query.SetOperation_SETOP_INTERSECT, pg_query.SetOperation_SETOP_EXCEPT:
		counts := map[string]int{}
		for _, row := range r {
			counts[rowKey(row)]++
		}
		want := p.setop == pg_query.SetOperation_SETOP_INTERSECT
		for _, row := range l {
			k := rowKey(row)
			if (counts[k] > 0) == want {
				rows = append(rows, row)
				if want && p.all {
					counts[k]--
				}
			} else if !want && p.all {
				counts[k]--
			}
		}
		if !p.all {
			rows = dedupe(rows)
		}
	}
	if len(p.sort) > 0 {
		keys := make([][]Value, len(rows))
		for i, row := range rows {
			for _, k := range p.sort {
				keys[i] = append(keys[i], row[k.out])
			}
		}
		idx := make([]int, len(rows))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return p.less(keys[idx[i]], keys[idx[j]]) })
		sorted := make([][]Value, len(rows))
		for i, k := range idx {
			sorted[i] = rows[k]
		}
		rows = sorted
	}
	return p.applyLimit(&env{rs: e.rs, outer: e.outer}, rows)
}

func dedupe(rows [][]Value) [][]Value {
	seen := map[string]bool{}
	var out [][]Value
	for _, r := range rows {
		k := rowKey(r)
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// rowKey is a string equal for rows that DISTINCT and UNION treat as equal.
func rowKey(vals []Value) string {
	var sb strings.Builder
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
			sb.WriteString("N")
		case int64:
			fmt.Fprintf(&sb, "n%d", x)
		case float64:
			if x == float64(int64(x)) {
				fmt.Fprintf(&sb, "n%d", int64(x))
			} else {
				fmt.Fprintf(&sb, "f%v", x)
			}
		default:
			s := textOf(v, tUnknown)
			fmt.Fprintf(&sb, "s%d:%s", len(s), s)
		}
		sb.WriteByte('|')
	}
	return sb.String()
}

// cte is a WITH query as FROM items see it.
type cte struct {
	plan *selectPlan
	cols []Column
}

// withClause binds the queries of a WITH clause; they are visible (to
// FROM items, by unqualified name) until pop is called. A WITH query is
// run once per run of the statement, so it may not read the columns of
// an enclosing query.
func (b *binder) withClause(w *pg_query.WithClause, parent *scope) (pop func(), err error) {
	if w.Recursive {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "WITH RECURSIVE is not supported in catalog queries").At(b.pos(w.Location))
	}
	m := map[string]*cte{}
	b.ctes = append(b.ctes, m)
	pop = func() { b.ctes = b.ctes[:len(b.ctes)-1] }
	for _, n := range w.Ctes {
		c := n.GetCommonTableExpr()
		sel := c.Ctequery.GetSelectStmt()
		if sel == nil {
			pop()
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "only SELECT is supported in WITH in catalog queries").At(b.pos(c.Location))
		}
		plan, err := b.selectStmt(sel, parent)
		if err != nil {
			pop()
			return nil, err
		}
		if plan.correlated {
			pop()
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "a WITH query that reads an enclosing query's columns is not supported in catalog queries").At(b.pos(c.Location))
		}
		cols := append([]Column(nil), plan.cols...)
		for i, a := range stringList(c.Aliascolnames) {
			if i < len(cols) {
				cols[i].Name = a
			}
		}
		m[c.Ctename] = &cte{plan: plan, cols: cols}
	}
	return pop, nil
}

func (b *binder) findCTE(rv *pg_query.RangeVar) *cte {
	if rv.Schemaname != "" {
		return nil
	}
	for i := len(b.ctes) - 1; i >= 0; i-- {
		if c, ok := b.ctes[i][rv.Relname]; ok {
			return c
		}
	}
	return nil
}
