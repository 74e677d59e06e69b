package eval

// How a query runs. Prepare parses with libpg_query (Postgres's own
// grammar, so every client's syntax parses as Postgres parses it) and
// binds the tree into a selectPlan: names resolve through a chain of
// scopes (one per SELECT; a correlated subquery reads the enclosing
// query's row through env.outer, as deep as it was found), expressions
// compile to closures with their Postgres types, and an untyped literal or
// parameter takes the type of what it is compared with. Run reads each
// relation once (a snapshot per run) and evaluates row by row: the FROM
// items joined left to right with WHERE conjuncts applied as soon as they
// can be and equi-joins looked up in hashes (join.go), then grouping and
// aggregates or window functions, the select list (set-returning
// functions in lockstep), DISTINCT, ORDER BY, OFFSET/LIMIT.
//
// Not supported (0A000 naming the construct): WITH RECURSIVE, a WITH
// query that reads an enclosing query's columns, DISTINCT ON, window
// functions other than row_number, rank and dense_rank (and any over
// grouped rows), ORDER BY ... USING, SIMILAR TO, ROWS FROM, an alias on a
// join, RIGHT/FULL JOIN to a LATERAL item, statements other than SELECT.
// Regular expressions are Go's RE2, which agrees with Postgres's on the
// patterns catalog queries use but has no back-references or lookaround.

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

func prepare(text string, cat Catalog) (q *Query, err error) {
	defer recoverInternal(&err)
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

// recoverInternal turns a panic (a bug here, or in a Catalog's function)
// into the statement's XX000 error: it must end the statement, not the
// session or the process.
func recoverInternal(err *error) {
	if r := recover(); r != nil {
		*err = sqlerr.Newf(sqlerr.Internal, "internal error in the catalog query evaluator: %v", r)
	}
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

func (q *query) run(ctx context.Context, cat Catalog, params []Value) (_ [][]Value, err error) {
	defer recoverInternal(&err)
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
	joined   int // values the run's joins have produced (maxJoinedValues)
}

// maxJoinedValues bounds what one catalog query's joins may produce: a
// cross join a tool (or a person) writes by mistake fails with 54000
// instead of taking the server's memory. Real clients' queries stay far
// below it: pgjdbc's getColumns over 10,000 columns produces about 8
// million.
const maxJoinedValues = 20_000_000

// produced counts n values a join made and fails once the run's total
// passes maxJoinedValues.
func (rs *runState) produced(n int) error {
	rs.joined += n
	if rs.joined > maxJoinedValues {
		return sqlerr.Newf(sqlerr.ProgramLimitExceeded, "catalog query too large: its joins produced more than %d values", maxJoinedValues).
			WithHint("Add join conditions or filters.")
	}
	return nil
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
	ctes    []map[string]*cte // WITH queries in scope, innermost last

	// While a condition is bound, the columns of refScope's row it reads
	// (directly or from a subquery) are collected in refCols.
	refScope *scope
	refCols  map[int]bool
	lastRef  [2]int
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
