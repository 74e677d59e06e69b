package eval

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// query is a bound SELECT: a tree of closures over the catalog's relations.
type query struct {
	root    *selectPlan
	nparams int
}

func prepare(text string, cat Catalog) (*Query, error) {
	tree, err := pg_query.Parse(text)
	if err != nil {
		return nil, syntaxError(err)
	}
	if len(tree.Stmts) != 1 {
		return nil, sqlerr.Newf(sqlerr.SyntaxError, "expected one statement, got %d", len(tree.Stmts))
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "only SELECT can read the Postgres catalog").At(int(tree.Stmts[0].StmtLocation) + 1)
	}
	b := &binder{text: text, cat: cat, srfCols: map[*pg_query.FuncCall][]Column{}}
	plan, err := b.selectStmt(sel, nil)
	if err != nil {
		return nil, err
	}
	return &Query{impl: &query{root: plan, nparams: b.nparams}}, nil
}

func syntaxError(err error) error {
	var pe *pgparser.Error
	if errors.As(err, &pe) {
		return sqlerr.Newf(sqlerr.SyntaxError, "%s", pe.Message).At(pe.Cursorpos)
	}
	return sqlerr.Wrap(err, sqlerr.SyntaxError, "parse")
}

func (q *query) columns() []Column { return q.root.cols }

func (q *query) numParams() int { return q.nparams }

func (q *query) run(ctx context.Context, cat Catalog, params []Value) ([][]Value, error) {
	if len(params) < q.nparams {
		return nil, sqlerr.Newf(sqlerr.ProtocolViolation, "the query has %d parameters, %d given", q.nparams, len(params))
	}
	rs := &runState{ctx: ctx, cat: cat, params: params, rels: map[string]*relSnapshot{}, subCache: map[*selectPlan][][]Value{}}
	rows, err := q.root.run(&env{rs: rs})
	if err != nil {
		return nil, err
	}
	// reg* values leave as their names: that is their text output, and only
	// here is the catalog at hand to find them.
	for i, c := range q.root.cols {
		if !isRegType(c.Type.OID) {
			continue
		}
		for _, r := range rows {
			if id, ok := r[i].(int64); ok {
				if r[i], err = rs.regName(id, c.Type.OID); err != nil {
					return nil, err
				}
			}
		}
	}
	return rows, nil
}

// runState is what one Run of a query shares: the catalog snapshot, the
// parameters, and what has been read from the catalog so far.
type runState struct {
	ctx      context.Context
	cat      Catalog
	params   []Value
	rels     map[string]*relSnapshot
	subCache map[*selectPlan][][]Value
	ticks    int
}

type relSnapshot struct {
	rows [][]Value
	cols map[string]int
}

// relation reads a relation's rows once per run.
func (rs *runState) relation(schema, name string) ([][]Value, map[string]int, error) {
	key := schema + "." + name
	if s, ok := rs.rels[key]; ok {
		return s.rows, s.cols, nil
	}
	rel, ok := rs.cat.Relation(schema, name)
	if !ok {
		return nil, nil, sqlerr.Newf(sqlerr.UndefinedTable, "relation %q does not exist", strings.TrimPrefix(key, "."))
	}
	s := &relSnapshot{cols: map[string]int{}}
	for i, c := range rel.Columns {
		s.cols[c.Name] = i
	}
	if rel.Rows != nil {
		s.rows = rel.Rows()
	}
	for i, r := range s.rows {
		if len(r) != len(rel.Columns) {
			return nil, nil, sqlerr.Newf(sqlerr.Internal, "relation %s: row %d has %d values for %d columns", key, i, len(r), len(rel.Columns))
		}
	}
	rs.rels[key] = s
	return s.rows, s.cols, nil
}

// check returns ctx's error once the context is done; it looks at the
// context every few hundred calls so that loops stay cheap.
func (rs *runState) check() error {
	rs.ticks++
	if rs.ticks%256 == 0 {
		return rs.ctx.Err()
	}
	return nil
}

// env is where an expression is evaluated: the current row of its SELECT
// and, for correlated subqueries, the environment of the enclosing one.
type env struct {
	rs    *runState
	outer *env
	row   []Value
	aggs  []Value
	wins  []Value
	srfs  []Value
}

type evalFn func(e *env) (Value, error)

// binder turns the parse tree into plans, resolving names against the catalog.
type binder struct {
	text    string
	cat     Catalog
	nparams int
	refs    int // column and parameter references bound so far
	srfCols map[*pg_query.FuncCall][]Column
}

// pos converts the parser's 0-based byte offset into the 1-based
// character position errors carry.
func (b *binder) pos(loc int32) int {
	if loc < 0 {
		return 0
	}
	if int(loc) > len(b.text) {
		return utf8.RuneCountInString(b.text) + 1
	}
	return utf8.RuneCountInString(b.text[:loc]) + 1
}
