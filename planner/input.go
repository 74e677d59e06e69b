package planner

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/streamsql/streamsql/sql"
)

// input is a parsed SELECT as the binder consumes it. It is built from a
// *sql.Select (see select.go) and, in tests, straight from the TiDB parser,
// so the binder does not depend on the front end's other parts.
type input struct {
	ast        ast.ResultSetNode
	text       string
	tableFuncs map[string]*tableFunc
	// fullJoins are the joins written FULL JOIN (parsed as LEFT JOIN).
	fullJoins  map[*ast.Join]bool
	paramOrder []int
	numParams  int
	casts      []sql.Cast // targets of __pgcast(x, i)
	// temporal maps the alias of a relation read FOR SYSTEM_TIME AS OF to
	// the clause.
	temporal map[string]*sql.Temporal
	// qualifiedOnly is the alias whose columns a name must qualify.
	qualifiedOnly string
	// position turns a byte offset in text into a 1-based character
	// position in the client's text.
	position func(off int) int
}

type tableFunc struct {
	name  string // upper case: TUMBLE, HOP, SESSION, GENERATE_SERIES
	args  []funcArg
	alias string
	pos   int
}

type funcArg struct {
	ident    string
	interval *interval
	expr     ast.ExprNode
	pos      int
}

type interval struct{ months, micros int64 }
