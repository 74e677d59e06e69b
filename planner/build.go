package planner

import (
	"context"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// invalidColumnReference is Postgres's 42P10, which sqlerr does not name.
const invalidColumnReference sqlerr.Code = "42P10"

func plan(ctx context.Context, cat Catalog, in *input, opts Options) (*Query, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := &binder{ctx: ctx, in: in, cat: cat, session: opts.Session}
	root, err := b.buildResultSet(in.ast, 1)
	if err != nil {
		return nil, err
	}
	if in.numParams > 0 {
		// A parameter has one type, taken from its first typed use; bind
		// again with it so that every use agrees ($1 * 2.5 and $1 + 1).
		preset := b.paramTypes()
		hintParams(root, opts.ColumnTypes, preset)
		b = &binder{ctx: ctx, in: in, cat: cat, preset: preset, session: opts.Session}
		if root, err = b.buildResultSet(in.ast, 1); err != nil {
			return nil, err
		}
	}
	root, fired, err := optimize(ctx, root)
	if err != nil {
		return nil, err
	}
	if opts.EmitOnWindowClose && !b.windowed {
		return nil, sqlerr.Newf(sqlerr.InvalidObjectDefinition,
			"EMIT ON WINDOW CLOSE needs an aggregate grouped by window_start or window_end of TUMBLE, HOP or SESSION")
	}
	// Postgres reports an untyped result column (SELECT NULL, SELECT $1)
	// as text.
	cols := append([]types.Column(nil), root.Columns()...)
	for i := range cols {
		if cols[i].Type.Kind == types.Unknown {
			cols[i].Type = types.TypeText
		}
	}
	return &Query{
		root:       root,
		cols:       cols,
		paramTypes: b.paramTypes(),
		deps:       b.deps,
		streaming:  b.streaming,
		opts:       opts,
		fired:      fired,
		subs:       b.subs,
	}, nil
}

func (b *binder) buildResultSet(n ast.ResultSetNode, pos int) (Node, error) {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return b.buildSelect(n)
	case *ast.SetOprStmt:
		return b.buildSetOpr(n)
	}
	return nil, unsupported(pos, "%T is not supported", n)
}

// buildSelect plans FROM, WHERE, GROUP BY/aggregates, HAVING, the select
// list, DISTINCT, ORDER BY and LIMIT, in that order.
func (b *binder) buildSelect(st *ast.SelectStmt) (Node, error) {
	pos := b.in.position(0)
	if st.With != nil {
		return nil, unsupported(pos, "WITH is not supported")
	}
	if st.WindowSpecs != nil {
		return nil, unsupported(pos, "WINDOW clauses are not supported")
	}
	node, sc, err := b.buildFrom(st.From)
	if err != nil {
		return nil, err
	}
	if st.Where != nil {
		cx := ectx{scope: sc, noAggIn: "WHERE", pos: b.posOf(st.Where, pos)}
		if b.containsAgg(st.Where) {
			return nil, sqlerr.Newf(sqlerr.GroupingError, "aggregate functions are not allowed in WHERE").At(cx.pos)
		}
		cond, err := b.bindExpr(cx, st.Where)
		if err != nil {
			return nil, err
		}
		if cond, err = expr.ToBool(cond, cx.pos); err != nil {
			return nil, err
		}
		node = &Filter{Input: node, Cond: cond}
	}

	aggregating := st.GroupBy != nil || st.Having != nil
	for _, f := range st.Fields.Fields {
		if f.Expr != nil && b.containsAgg(f.Expr) {
			aggregating = true
		}
	}
	if st.OrderBy != nil {
		for _, it := range st.OrderBy.Items {
			if b.containsAgg(it.Expr) {
				aggregating = true
			}
		}
	}

	// exprCx binds the select list, HAVING and ORDER BY.
	exprCx := ectx{scope: sc, pos: pos}
	if calls := windowFuncs(st); len(calls) > 0 {
		if aggregating {
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "window functions over GROUP BY or aggregates are not supported").
				WithHint("Aggregate in a subquery and apply the window function outside it.").At(b.posOf(calls[0], pos))
		}
		var osc *scope
		if node, osc, err = b.bindOver(node, sc, calls, pos); err != nil {
			return nil, err
		}
		exprCx.scope = osc
	}
	var agg *Aggregate
	if aggregating {
		ac := &aggCtx{input: sc}
		if st.GroupBy != nil {
			for _, it := range st.GroupBy.Items {
				k, err := b.bindGroupKey(st, sc, it)
				if err != nil {
					return nil, err
				}
				ac.addKey(k)
			}
		}
		agg = &Aggregate{Input: node, Keys: ac.keys}
		exprCx = ectx{agg: ac, pos: pos}
		node = agg
		for _, k := range ac.keys {
			if c, ok := k.(*expr.ColumnRef); ok && (c.Name == "window_start" || c.Name == "window_end") && b.windowBelow(agg.Input) {
				agg.Windowed = true
				b.windowed = true
			}
		}
	}

	// The select list.
	var exprs []expr.Expr
	var cols []types.Column
	for _, f := range st.Fields.Fields {
		if f.WildCard != nil {
			wpos := b.posOf(f, pos)
			if f.Offset >= 0 {
				wpos = b.in.position(f.Offset)
			}
			table := f.WildCard.Table.O
			matched := false
			for i, c := range sc.cols {
				if table != "" && c.table != table {
					continue
				}
				matched = true
				var e expr.Expr = &expr.ColumnRef{Index: i, Typ: c.typ, Name: c.name}
				if agg != nil {
					k := exprCx.agg.findKey(e)
					if k < 0 {
						return nil, sqlerr.Newf(sqlerr.GroupingError,
							"column %q must appear in the GROUP BY clause or be used in an aggregate function", c.name).At(wpos)
					}
					e = &expr.ColumnRef{Index: k, Typ: c.typ, Name: c.name}
				}
				exprs = append(exprs, e)
				cols = append(cols, types.Column{Name: c.name, Type: c.typ})
			}
			if !matched && table != "" {
				return nil, sqlerr.Newf(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", table).At(wpos)
			}
			continue
		}
		cx := exprCx
		cx.pos = b.in.position(f.Offset)
		e, err := b.bindExpr(cx, f.Expr)
		if err != nil {
			return nil, err
		}
		exprs = append(exprs, e)
		cols = append(cols, types.Column{Name: b.fieldName(f), Type: e.Type()})
	}

	if st.Having != nil {
		cx := exprCx
		cx.pos = b.posOf(st.Having.Expr, pos)
		cx.aliases = map[string]ast.ExprNode{}
		for _, f := range st.Fields.Fields {
			if f.Expr != nil && f.AsName.O != "" {
				cx.aliases[f.AsName.O] = f.Expr
			}
		}
		cond, err := b.bindExpr(cx, st.Having.Expr)
		if err != nil {
			return nil, err
		}
		if cond, err = expr.ToBool(cond, cx.pos); err != nil {
			return nil, err
		}
		node = &Filter{Input: node, Cond: cond}
	}

	visible := len(exprs)
	var keys []SortKey
	if st.OrderBy != nil {
		for _, it := range st.OrderBy.Items {
			col, err := b.orderColumn(exprCx, it, &exprs, &cols, st.Distinct, visible)
			if err != nil {
				return nil, err
			}
			keys = append(keys, SortKey{Column: col, Desc: it.Desc, NullsFirst: it.Desc})
		}
	}
	// Aggregate columns must be known before the Project reads them.
	if agg != nil {
		agg.Aggs = exprCx.agg.aggs
		agg.cols = aggColumns(exprCx.agg)
	}
	node = &Project{Input: node, Exprs: exprs, Cols: cols}
	if st.Distinct {
		for _, e := range exprs[:visible] {
			if expr.Collated(e) {
				// DISTINCT compares rows binary, like GROUP BY.
				return nil, unsupported(pos, "SELECT DISTINCT of a COLLATE clause is not supported: rows compare binary")
			}
		}
		node = distinct(node)
	}
	if len(keys) > 0 {
		node = &Sort{Input: node, Keys: keys}
	}
	if len(exprs) > visible {
		node = trim(node, visible)
	}
	return b.buildLimit(node, st.Limit)
}

func aggColumns(ac *aggCtx) []types.Column {
	cols := make([]types.Column, 0, len(ac.keys)+len(ac.aggs))
	for _, k := range ac.keys {
		cols = append(cols, types.Column{Name: k.String(), Type: k.Type()})
	}
	for _, a := range ac.aggs {
		cols = append(cols, types.Column{Name: a.String(), Type: a.Typ})
	}
	return cols
}

func (b *binder) windowBelow(n Node) bool {
	if _, ok := n.(*Window); ok {
		return true
	}
	for _, c := range n.Children() {
		if b.windowBelow(c) {
			return true
		}
	}
	return false
}

// distinct removes duplicate rows: a grouping by every column.
func distinct(n Node) Node {
	cols := n.Columns()
	keys := make([]expr.Expr, len(cols))
	for i, c := range cols {
		keys[i] = &expr.ColumnRef{Index: i, Typ: c.Type, Name: c.Name}
	}
	return &Aggregate{Input: n, Keys: keys, cols: cols}
}

// trim keeps the first n columns, dropping ORDER BY's hidden ones.
func trim(n Node, visible int) Node {
	cols := n.Columns()[:visible]
	exprs := make([]expr.Expr, visible)
	for i, c := range cols {
		exprs[i] = &expr.ColumnRef{Index: i, Typ: c.Type, Name: c.Name}
	}
	return &Project{Input: n, Exprs: exprs, Cols: cols}
}

// bindGroupKey binds a GROUP BY item: a select-list position (GROUP BY 1),
// a select-list alias, or an expression over the input.
func (b *binder) bindGroupKey(st *ast.SelectStmt, sc *scope, it *ast.ByItem) (expr.Expr, error) {
	e, err := b.bindGroupExpr(st, sc, it)
	if err == nil && expr.Collated(e) {
		// Groups are keyed on the value's bytes; a collation's equal
		// strings would need a key and a representative per group.
		return nil, unsupported(b.posOf(it.Expr, b.in.position(0)), "GROUP BY with a COLLATE clause is not supported: groups compare binary")
	}
	return e, err
}

func (b *binder) bindGroupExpr(st *ast.SelectStmt, sc *scope, it *ast.ByItem) (expr.Expr, error) {
	pos := b.posOf(it.Expr, b.in.position(0))
	cx := ectx{scope: sc, noAggIn: "GROUP BY", pos: pos}
	if n, ok := positionRef(it.Expr); ok {
		fields := st.Fields.Fields
		if n < 1 || n > len(fields) || fields[n-1].Expr == nil {
			return nil, sqlerr.Newf(invalidColumnReference, "GROUP BY position %d is not in select list", n).At(pos)
		}
		if b.containsAgg(fields[n-1].Expr) {
			return nil, sqlerr.Newf(sqlerr.GroupingError, "aggregate functions are not allowed in GROUP BY").At(pos)
		}
		return b.bindExpr(cx, fields[n-1].Expr)
	}
	if b.containsAgg(it.Expr) {
		return nil, sqlerr.Newf(sqlerr.GroupingError, "aggregate functions are not allowed in GROUP BY").At(pos)
	}
	e, err := b.bindExpr(cx, it.Expr)
	if err == nil {
		return e, nil
	}
	// An output alias, as MySQL and Postgres both allow.
	if col, ok := it.Expr.(*ast.ColumnNameExpr); ok && col.Name.Table.O == "" && sqlerr.CodeOf(err) == sqlerr.UndefinedColumn {
		for _, f := range st.Fields.Fields {
			if f.Expr != nil && f.AsName.O == col.Name.Name.O && !b.containsAgg(f.Expr) {
				return b.bindExpr(cx, f.Expr)
			}
		}
	}
	return nil, err
}

// positionRef recognises ORDER BY 2 / GROUP BY 2.
func positionRef(n ast.ExprNode) (int, bool) {
	switch n := n.(type) {
	case *ast.PositionExpr:
		if n.P == nil {
			return n.N, true
		}
	case *test_driver.ValueExpr:
		if n.Datum.Kind() == test_driver.KindInt64 {
			return int(n.Datum.GetInt64()), true
		}
	}
	return 0, false
}

// orderColumn resolves an ORDER BY item to a column of the projection,
// appending a hidden column when it is an expression not in the list.
func (b *binder) orderColumn(cx ectx, it *ast.ByItem, exprs *[]expr.Expr, cols *[]types.Column, isDistinct bool, visible int) (int, error) {
	pos := b.posOf(it.Expr, cx.pos)
	cx.pos = pos
	// keyOf sorts output column i by its collation's key when it has
	// one (a hidden column), else by its value.
	keyOf := func(i int) (int, error) {
		if isDistinct || !expr.Collated((*exprs)[i]) {
			return i, nil
		}
		k, err := expr.CollationKey((*exprs)[i], pos)
		if err != nil {
			return 0, err
		}
		*exprs = append(*exprs, k)
		*cols = append(*cols, types.Column{Name: k.String(), Type: k.Type()})
		return len(*exprs) - 1, nil
	}
	if n, ok := positionRef(it.Expr); ok {
		if n < 1 || n > visible {
			return 0, sqlerr.Newf(invalidColumnReference, "ORDER BY position %d is not in select list", n).At(pos)
		}
		return keyOf(n - 1)
	}
	if col, ok := it.Expr.(*ast.ColumnNameExpr); ok && col.Name.Table.O == "" {
		found := -1
		for i := 0; i < visible; i++ {
			if (*cols)[i].Name == col.Name.Name.O {
				if found >= 0 && !sameExpr((*exprs)[found], (*exprs)[i]) {
					return 0, sqlerr.Newf(sqlerr.AmbiguousColumn, "ORDER BY %q is ambiguous", col.Name.Name.O).At(pos)
				}
				if found < 0 {
					found = i
				}
			}
		}
		if found >= 0 {
			return keyOf(found)
		}
	}
	e, err := b.bindExpr(cx, it.Expr)
	if err != nil {
		return 0, err
	}
	if expr.Collated(e) {
		// x COLLATE name sorts by the collation's key, a hidden column.
		if e, err = expr.CollationKey(e, pos); err != nil {
			return 0, err
		}
	}
	for i, have := range *exprs {
		if sameExpr(have, e) {
			return i, nil
		}
	}
	if isDistinct {
		return 0, sqlerr.Newf(invalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list").At(pos)
	}
	*exprs = append(*exprs, e)
	*cols = append(*cols, types.Column{Name: e.String(), Type: e.Type()})
	return len(*exprs) - 1, nil
}

func sameExpr(a, b expr.Expr) bool { return a.String() == b.String() }

func (b *binder) buildLimit(node Node, l *ast.Limit) (Node, error) {
	if l == nil {
		return node, nil
	}
	lim := &Limit{Input: node}
	bind := func(n ast.ExprNode, what string) (expr.Expr, error) {
		if n == nil {
			return nil, nil
		}
		pos := b.posOf(n, b.in.position(0))
		e, err := b.bindExpr(ectx{pos: pos}, n)
		if err != nil {
			return nil, err
		}
		b.inferParam(e, types.TypeBigInt)
		if k := e.Type().Kind; k != types.Int && k != types.Unknown {
			return nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "argument of %s must be type bigint, not type %s", what, e.Type()).At(pos)
		}
		return e, nil
	}
	var err error
	if lim.Count, err = bind(l.Count, "LIMIT"); err != nil {
		return nil, err
	}
	if lim.Offset, err = bind(l.Offset, "OFFSET"); err != nil {
		return nil, err
	}
	return lim, nil
}

// fieldName is the output column name, as Postgres names it: the alias,
// a column's name, a function's name, or ?column?.
func (b *binder) fieldName(f *ast.SelectField) string {
	// sql lower-cases unquoted names in the text it hands TiDB, so .O is
	// already the Postgres spelling: "Foo" keeps its case, Foo is foo.
	if f.AsName.O != "" {
		return f.AsName.O
	}
	return b.exprName(f.Expr)
}

// exprName is the name Postgres gives a result column computed by e.
func (b *binder) exprName(e ast.ExprNode) string {
	name, _ := b.exprNameStrength(e)
	return name
}

// exprNameStrength is exprName, and whether the name is a strong one (a
// column's or a function's) rather than a cast's type or ?column?: x::t
// takes x's name only when it is strong, so '7'::int2::text is text, as
// Postgres names it.
func (b *binder) exprNameStrength(e ast.ExprNode) (string, bool) {
	name := b.exprNameOf(e)
	return name, name != "?column?" && !b.isPGCast(e)
}

func (b *binder) isPGCast(e ast.ExprNode) bool {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			break
		}
		e = p.Expr
	}
	f, ok := e.(*ast.FuncCallExpr)
	if !ok {
		return false
	}
	switch f.FnName.L {
	case strings.ToLower(ast.DateLiteral), strings.ToLower(ast.TimestampLiteral), strings.ToLower(ast.TimeLiteral):
		return true // TIMESTAMP '...' is a cast of a string too
	case sql.CastFunc:
		_, strong := b.exprNameStrength(f.Args[0])
		return !strong
	}
	return false
}

func (b *binder) exprNameOf(e ast.ExprNode) string {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			break
		}
		e = p.Expr
	}
	switch e := e.(type) {
	case *ast.ColumnNameExpr:
		return e.Name.Name.O
	case *ast.FuncCastExpr:
		// CAST(x AS t) is named after x, as x::t is.
		return b.exprNameOf(e.Expr)
	case *ast.FuncCallExpr:
		switch e.FnName.L {
		case sql.CastFunc:
			if c, ok := b.pgCast(e); ok {
				if name, strong := b.exprNameStrength(e.Args[0]); strong {
					return name
				}
				return c.Name
			}
		case strings.ToLower(ast.DateLiteral):
			return "date"
		case strings.ToLower(ast.TimestampLiteral):
			return "timestamp"
		case strings.ToLower(ast.TimeLiteral):
			return "time"
		}
		// x + INTERVAL ..., x -> '$.a' and a || b are calls in TiDB's tree
		// but operators in the text: Postgres names those ?column?.
		if off := e.OriginTextPosition(); off >= 0 && off+len(e.FnName.L) <= len(b.in.text) &&
			strings.EqualFold(b.in.text[off:off+len(e.FnName.L)], e.FnName.L) {
			return e.FnName.L
		}
		return "?column?"
	case *ast.AggregateFuncExpr:
		return strings.ToLower(e.F)
	case *ast.WindowFuncExpr:
		return strings.ToLower(e.Name)
	}
	return "?column?"
}

// buildFrom plans the FROM clause: nothing, or a relation, a table
// function or a subquery, or inner joins of those.
func (b *binder) buildFrom(from *ast.TableRefsClause) (Node, *scope, error) {
	if from == nil || from.TableRefs == nil {
		return &Values{Rows: [][]expr.Expr{{}}}, &scope{}, nil
	}
	return b.buildTableRef(from.TableRefs)
}

// buildTableRef plans one item of FROM: a join (TiDB wraps even a single
// table in one, with no Right) or a table source.
func (b *binder) buildTableRef(n ast.ResultSetNode) (Node, *scope, error) {
	switch n := n.(type) {
	case *ast.Join:
		if n.Right == nil {
			return b.buildTableRef(n.Left)
		}
		return b.buildJoin(n)
	case *ast.TableSource:
		return b.buildTableSource(n)
	}
	return nil, nil, unsupported(b.in.position(0), "FROM %T is not supported", n)
}

// buildJoin plans a join: inner (JOIN ... ON, CROSS JOIN, or a comma with
// the condition in WHERE), LEFT, RIGHT or FULL. Its scope is the left's columns,
// then the right's, each under its own qualifier.
func (b *binder) buildJoin(j *ast.Join) (Node, *scope, error) {
	pos := b.posOf(j, b.in.position(0))
	switch {
	case j.NaturalJoin:
		return nil, nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "NATURAL JOIN is not supported").At(b.joinPos("NATURAL", pos)).
			WithHint("Name the join columns: JOIN ... ON a.x = b.x.")
	case j.Using != nil:
		return nil, nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "JOIN ... USING is not supported").At(b.joinPos("USING", pos)).
			WithHint("Write the equality instead: JOIN ... ON a.x = b.x.")
	}
	left, lsc, err := b.buildTableRef(j.Left)
	if err != nil {
		return nil, nil, err
	}
	b.lookedUp = j.Right
	right, rsc, err := b.buildTableRef(j.Right)
	if err != nil {
		return nil, nil, err
	}
	sc := &scope{cols: append(append([]scopeCol(nil), lsc.cols...), rsc.cols...)}
	join := &Join{Left: left, Right: right}
	switch j.Tp {
	case ast.LeftJoin:
		join.Kind = LeftJoin
		if b.in.fullJoins[j] {
			join.Kind = FullJoin
		}
	case ast.RightJoin:
		join.Kind = RightJoin
	}
	if err := b.temporalJoin(j, join, lsc); err != nil {
		return nil, nil, err
	}
	if join.Kind != InnerJoin && j.On == nil {
		return nil, nil, sqlerr.Newf(sqlerr.SyntaxError, "%s JOIN needs an ON condition", strings.ToUpper(join.Kind.String())).At(pos)
	}
	if j.On != nil {
		cx := ectx{scope: sc, noAggIn: "JOIN conditions", pos: b.posOf(j.On.Expr, pos)}
		if b.containsAgg(j.On.Expr) {
			return nil, nil, sqlerr.Newf(sqlerr.GroupingError, "aggregate functions are not allowed in JOIN conditions").At(cx.pos)
		}
		cond, err := b.bindExpr(cx, j.On.Expr)
		if err != nil {
			return nil, nil, err
		}
		if join.Cond, err = expr.ToBool(cond, cx.pos); err != nil {
			return nil, nil, err
		}
	}
	return join, sc, nil
}

// joinPos finds the keyword of a refused join form in the text, since
// TiDB's Join records no offset of its own.
func (b *binder) joinPos(word string, fallback int) int {
	if i := indexWord(strings.ToLower(b.in.text), strings.ToLower(word), 0); i >= 0 {
		return b.in.position(i)
	}
	return fallback
}

// buildTableSource plans a relation, a table function or a subquery.
func (b *binder) buildTableSource(ts *ast.TableSource) (Node, *scope, error) {
	alias := ts.AsName.O
	switch src := ts.Source.(type) {
	case *ast.TableName:
		name := src.Name.O
		if tf, ok := b.in.tableFuncs[name]; ok {
			if alias == "" {
				alias = tf.alias
			}
			return b.buildTableFunc(tf, alias)
		}
		if src.Schema.O != "" {
			name = src.Schema.O + "." + name
		}
		rel, ok := b.cat.Relation(name)
		if !ok {
			return nil, nil, sqlerr.Newf(sqlerr.UndefinedTable, "relation %q does not exist", name).At(b.namePos(src.Name.O))
		}
		b.addDep(rel.Name)
		b.streaming = true
		if alias == "" {
			alias = rel.Name
		}
		if tm, ok := b.in.temporal[alias]; ok && b.lookedUp != ast.ResultSetNode(ts) {
			return nil, nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "FOR SYSTEM_TIME AS OF stands after the table on the right of a JOIN").At(tm.Pos).
				WithHint("Write stream JOIN table FOR SYSTEM_TIME AS OF PROCTIME() AS t ON ...")
		}
		sc := scopeOf(rel.Columns, alias)
		if b.in.qualifiedOnly != "" && alias == b.in.qualifiedOnly {
			for i := range sc.cols {
				sc.cols[i].qualified = true
			}
		}
		return &Scan{Relation: rel, Alias: alias}, sc, nil
	case *ast.SelectStmt, *ast.SetOprStmt:
		n, err := b.buildResultSet(src.(ast.ResultSetNode), b.in.position(0))
		if err != nil {
			return nil, nil, err
		}
		return n, scopeOf(n.Columns(), alias), nil
	}
	return nil, nil, unsupported(b.in.position(0), "FROM %T is not supported", ts.Source)
}

func (b *binder) addDep(name string) {
	for _, d := range b.deps {
		if d == name {
			return
		}
	}
	b.deps = append(b.deps, name)
}

// namePos finds where an identifier is written after FROM, since TiDB's
// TableName records no offset.
func (b *binder) namePos(name string) int {
	text := strings.ToLower(b.in.text)
	low := strings.ToLower(name)
	start := 0
	if i := indexWord(text, "from", 0); i >= 0 {
		start = i + 4
	}
	if i := indexWord(text, low, start); i >= 0 {
		return b.in.position(i)
	}
	return b.in.position(0)
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// indexWord finds word in text at or after from, not inside a longer
// identifier.
func indexWord(text, word string, from int) int {
	for i := from; i+len(word) <= len(text); {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return -1
		}
		at := i + j
		end := at + len(word)
		if (at == 0 || !isIdentByte(text[at-1])) && (end == len(text) || !isIdentByte(text[end])) {
			return at
		}
		i = at + 1
	}
	return -1
}

func (b *binder) buildTableFunc(tf *tableFunc, alias string) (Node, *scope, error) {
	switch tf.name {
	case "GENERATE_SERIES":
		return b.buildSeries(tf, alias)
	case "TUMBLE", "HOP", "SESSION":
		return b.buildWindow(tf, alias)
	}
	return nil, nil, sqlerr.Newf(sqlerr.UndefinedFunction, "table function %s does not exist", strings.ToLower(tf.name)).At(tf.pos)
}

func (b *binder) buildSeries(tf *tableFunc, alias string) (Node, *scope, error) {
	if len(tf.args) < 2 || len(tf.args) > 3 {
		return nil, nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function generate_series takes 2 or 3 arguments").At(tf.pos)
	}
	var args [3]expr.Expr
	for i, a := range tf.args {
		if a.expr == nil {
			return nil, nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "generate_series arguments must be integers").At(a.pos)
		}
		e, err := b.bindArgExpr(a)
		if err != nil {
			return nil, nil, err
		}
		b.inferParam(e, types.TypeBigInt)
		switch e.Type().Kind {
		case types.Int, types.Unknown:
		default:
			return nil, nil, sqlerr.Newf(sqlerr.UndefinedFunction, "function generate_series(%s) does not exist", strings.ToLower(e.Type().String())).
				WithHint("generate_series takes BIGINT arguments").At(a.pos)
		}
		args[i] = e
	}
	if args[2] == nil {
		args[2] = &expr.Const{Value: types.NewInt(1), Typ: types.TypeBigInt}
	}
	name := "generate_series"
	if alias != "" {
		name = alias
	}
	n := &Series{Start: args[0], Stop: args[1], Step: args[2], Col: types.Column{Name: name, Type: types.TypeBigInt}}
	return n, scopeOf(n.Columns(), alias), nil
}

// argPrefix is what the front end puts before a table function argument
// to have TiDB parse it alone: the argument's node offsets count from it.
const argPrefix = len("SELECT ")

// bindArgExpr binds a table function's scalar argument. Its nodes' offsets
// are relative to its own parse, so positions are re-based on the
// argument's position.
func (b *binder) bindArgExpr(a funcArg) (expr.Expr, error) {
	saved := b.in.position
	b.in.position = func(off int) int { return a.pos + max(off-argPrefix, 0) }
	defer func() { b.in.position = saved }()
	return b.bindExpr(ectx{pos: a.pos, noAggIn: "FROM"}, a.expr)
}

func (b *binder) buildWindow(tf *tableFunc, alias string) (Node, *scope, error) {
	want := map[string]int{"TUMBLE": 3, "HOP": 4, "SESSION": 3}[tf.name]
	if len(tf.args) != want {
		return nil, nil, sqlerr.Newf(sqlerr.UndefinedFunction, "%s takes %d arguments", tf.name, want).At(tf.pos)
	}
	src, tcol := tf.args[0], tf.args[1]
	if src.ident == "" {
		return nil, nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "%s: the first argument must name a source or view", tf.name).At(src.pos)
	}
	rel, ok := b.cat.Relation(src.ident)
	if !ok {
		return nil, nil, sqlerr.Newf(sqlerr.UndefinedTable, "relation %q does not exist", src.ident).At(src.pos)
	}
	b.addDep(rel.Name)
	b.streaming = true
	if tcol.ident == "" {
		return nil, nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "%s: the second argument must name the time column", tf.name).At(tcol.pos)
	}
	if alias == "" {
		alias = rel.Name
	}
	scan := &Scan{Relation: rel, Alias: alias}
	ref, err := b.lookup(scopeOf(rel.Columns, alias), "", tcol.ident, tcol.pos)
	if err != nil {
		return nil, nil, err
	}
	if ref.Typ.Kind != types.Timestamp {
		return nil, nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "%s time column %q must be TIMESTAMP, not %s", tf.name, ref.Name, ref.Typ).At(tcol.pos)
	}
	durs := make([]int64, 0, 2)
	for _, a := range tf.args[2:] {
		if a.interval == nil {
			return nil, nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "%s: window sizes must be INTERVAL literals", tf.name).At(a.pos)
		}
		if a.interval.months != 0 || a.interval.micros <= 0 {
			return nil, nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "%s: window sizes must be positive and shorter than a month", tf.name).At(a.pos)
		}
		durs = append(durs, a.interval.micros)
	}
	w := &Window{Input: scan, Kind: tf.name, TimeCol: ref.Index}
	switch tf.name {
	case "TUMBLE":
		w.Size = durs[0]
	case "HOP":
		w.Slide, w.Size = durs[0], durs[1]
		if w.Size%w.Slide != 0 {
			return nil, nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "HOP: the size must be a multiple of the slide").At(tf.args[3].pos)
		}
	case "SESSION":
		w.Gap = durs[0]
	}
	wt := types.Type{Kind: types.Timestamp, Precision: ref.Typ.Precision}
	w.cols = append(append([]types.Column(nil), rel.Columns...),
		types.Column{Name: "window_start", Type: wt}, types.Column{Name: "window_end", Type: wt})
	return w, scopeOf(w.cols, alias), nil
}

// buildSetOpr plans UNION [ALL]: EXCEPT and INTERSECT are not supported.
func (b *binder) buildSetOpr(st *ast.SetOprStmt) (Node, error) {
	pos := b.in.position(0)
	if st.With != nil {
		return nil, unsupported(pos, "WITH is not supported")
	}
	node, err := b.buildSetList(st.SelectList)
	if err != nil {
		return nil, err
	}
	if st.OrderBy != nil {
		cols := node.Columns()
		var keys []SortKey
		for _, it := range st.OrderBy.Items {
			ipos := b.posOf(it.Expr, pos)
			col := -1
			if n, ok := positionRef(it.Expr); ok {
				col = n - 1
			} else if c, ok := it.Expr.(*ast.ColumnNameExpr); ok {
				for i := range cols {
					if cols[i].Name == c.Name.Name.O {
						col = i
						break
					}
				}
			}
			if col < 0 || col >= len(cols) {
				return nil, sqlerr.Newf(invalidColumnReference, "ORDER BY on a UNION must name an output column").At(ipos)
			}
			keys = append(keys, SortKey{Column: col, Desc: it.Desc, NullsFirst: it.Desc})
		}
		node = &Sort{Input: node, Keys: keys}
	}
	return b.buildLimit(node, st.Limit)
}

func (b *binder) buildSetList(list *ast.SetOprSelectList) (Node, error) {
	pos := b.in.position(0)
	var inputs []Node
	var out Node
	for i, sel := range list.Selects {
		var n Node
		var op *ast.SetOprType
		var err error
		switch s := sel.(type) {
		case *ast.SelectStmt:
			op = s.AfterSetOperator
			n, err = b.buildSelect(s)
		case *ast.SetOprSelectList:
			op = s.AfterSetOperator
			n, err = b.buildSetList(s)
		default:
			return nil, unsupported(pos, "%T in UNION is not supported", sel)
		}
		if err != nil {
			return nil, err
		}
		if i > 0 && op != nil {
			switch *op {
			case ast.UnionAll, ast.Union:
			default:
				return nil, unsupported(pos, "%s is not supported", op.String())
			}
		}
		inputs = append(inputs, n)
		if i > 0 {
			u, err := unionAll(inputs, pos)
			if err != nil {
				return nil, err
			}
			out = u
			if op != nil && *op == ast.Union {
				out = distinct(out)
			}
			inputs = []Node{out}
		} else {
			out = n
		}
	}
	if list.OrderBy != nil || list.Limit != nil {
		return nil, unsupported(pos, "ORDER BY or LIMIT inside parenthesised UNION members is not supported")
	}
	return out, nil
}

// unionAll concatenates inputs, casting columns to their common types.
func unionAll(inputs []Node, pos int) (Node, error) {
	first := inputs[0].Columns()
	cols := make([]types.Column, len(first))
	for i, c := range first {
		cols[i].Name = c.Name
		ts := make([]types.Type, len(inputs))
		for j, in := range inputs {
			ic := in.Columns()
			if len(ic) != len(first) {
				return nil, sqlerr.Newf(sqlerr.SyntaxError, "each UNION query must have the same number of columns").At(pos)
			}
			ts[j] = ic[i].Type
		}
		cols[i].Type = expr.CommonType(ts...)
	}
	out := &UnionAll{Cols: cols}
	for _, in := range inputs {
		ic := in.Columns()
		same := true
		exprs := make([]expr.Expr, len(ic))
		for i, c := range ic {
			var e expr.Expr = &expr.ColumnRef{Index: i, Typ: c.Type, Name: c.Name}
			if c.Type != cols[i].Type {
				same = false
				var err error
				if e, err = expr.NewCast(e, cols[i].Type, pos); err != nil {
					return nil, err
				}
			}
			exprs[i] = e
		}
		if !same {
			pc := make([]types.Column, len(ic))
			for i := range ic {
				pc[i] = types.Column{Name: ic[i].Name, Type: cols[i].Type}
			}
			in = &Project{Input: in, Exprs: exprs, Cols: pc}
		}
		out.Inputs = append(out.Inputs, in)
	}
	return out, nil
}
