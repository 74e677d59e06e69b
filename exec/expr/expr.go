// Package expr owns scalar expressions: a typed IR (ColumnRef, Const, Param,
// Call, Cast, Case), the MySQL typing rules that bind it (implicit casts are
// made explicit at bind time so that every operator sees operands of one
// kind), and a compiler that turns a bound tree into nested closures
// specialised on those kinds. Evaluating a compiled expression does no
// reflection, no map lookup and no boxing per row; integer, float and boolean
// paths do not allocate.
//
// Semantics follow MySQL where the brief asks for it: BIGINT overflow is an
// error (22003), x/0, x DIV 0 and x % 0 are NULL (MySQL's answer outside
// strict mode, chosen over 22012 so that one bad row does not kill a
// continuous query), NULL propagates and AND/OR/XOR/NOT use three-valued
// logic. String comparison and LIKE are binary (case-sensitive, byte order),
// as Postgres's "C" and MySQL's binary collations are, unless an operand
// has a COLLATE clause (collate.go). Arguments are evaluated left
// to right and a function that is NULL on NULL input stops at the first
// NULL argument, so of two failing arguments the first one reports.
//
// It imports only sql/types and sql/sqlerr.
package expr

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Env is what an evaluation sees besides the row: the statement's parameters
// and its NOW(), fixed per statement execution.
type Env struct {
	Params []types.Value
	// Now is the statement's NOW() in microseconds since the epoch (UTC).
	Now int64
	// Warn, when set, receives MySQL's warnings: an answer that MySQL
	// gives with a warning (a string read as a number up to its first
	// non-digit, an invalid date read as NULL) is returned as the value
	// and the warning goes here. One-off queries send them to the client
	// as WARNING notices; views count them with their expression errors.
	// nil drops them.
	Warn func(*sqlerr.Error)
	// Subqueries are the values of the statement's uncorrelated scalar
	// subqueries, computed once before its rows (see Subquery).
	Subqueries []types.Value
	// SubquerySets are the values of its IN subqueries (see InSubquery).
	SubquerySets []*SubquerySet
}

// Warnf reports a warning to env.Warn, if anyone listens. env may be nil.
func (env *Env) Warnf(code sqlerr.Code, format string, args ...any) {
	if env != nil && env.Warn != nil {
		env.Warn(sqlerr.Newf(code, format, args...))
	}
}

// Func is a compiled expression. It may be called concurrently only with
// distinct rows and envs; it keeps no state between calls, except RAND(N)
// with a constant seed, whose sequence (under a lock) gives each row the
// next number, as MySQL's does per statement.
type Func func(row types.Row, env *Env) (types.Value, error)

// Expr is a node of the bound expression IR.
type Expr interface {
	// Type is the node's result type.
	Type() types.Type
	// String renders the expression for EXPLAIN and error messages.
	String() string
}

// ColumnRef reads column Index of the input row.
type ColumnRef struct {
	Index int
	Typ   types.Type
	Name  string // for EXPLAIN only
}

// Const is a literal value. A NULL literal has type Unknown.
type Const struct {
	Value types.Value
	Typ   types.Type
}

// Param reads parameter Index (0-based) from the Env.
type Param struct {
	Index int
	Typ   types.Type
}

// Subquery reads the value of the statement's scalar subquery Index from
// the Env: the planner runs it once per execution, before any row.
type Subquery struct {
	Index int
	Typ   types.Type
}

func (s *Subquery) Type() types.Type { return s.Typ }
func (s *Subquery) String() string   { return "(subquery " + strconv.Itoa(s.Index+1) + ")" }

// Cast converts its argument to To, with CAST's semantics.
type Cast struct {
	Arg Expr
	To  types.Type
	Pos int // 1-based position for runtime errors; 0 when unknown
	// Unsigned marks CAST(x AS UNSIGNED): To is DECIMAL(20,0), which holds
	// 0 .. 2^64-1, and a negative BIGINT wraps to 2^64 + x as in MySQL.
	Unsigned bool
}

// Call applies a builtin function or operator to bound arguments. Build it
// with NewCall, which checks and coerces the arguments.
type Call struct {
	Name string
	Args []Expr
	Typ  types.Type
	Pos  int // 1-based position for runtime errors; 0 when unknown
	def  *builtin
	// Unit is the time unit of interval-building and unit-taking calls
	// (INTERVAL n DAY, EXTRACT, TIMESTAMPDIFF); "" otherwise.
	Unit string
	// inner marks DECIMAL arithmetic whose value feeds another
	// computation rather than the output: it keeps MySQL's internal digits
	// (see innerOf) instead of rounding to Typ's scale.
	inner bool
	// pairwise, on an IN whose list mixes types (a string, a number),
	// holds the type the operand is compared with each item in, as MySQL
	// compares each pair on its own.
	pairwise []types.Type
}

// When is one WHEN ... THEN ... arm of a Case.
type When struct {
	Cond, Result Expr
}

// Case is a searched CASE (operand-less); NewCase lowers the simple form.
// Whens' conditions are BOOLEAN and results are coerced to Typ.
type Case struct {
	Whens []When
	Else  Expr // nil means ELSE NULL
	Typ   types.Type
}

func (e *ColumnRef) Type() types.Type { return e.Typ }
func (e *Const) Type() types.Type     { return e.Typ }
func (e *Param) Type() types.Type     { return e.Typ }
func (e *Cast) Type() types.Type      { return e.To }
func (e *Call) Type() types.Type      { return e.Typ }
func (e *Case) Type() types.Type      { return e.Typ }

func (e *ColumnRef) String() string {
	if e.Name != "" {
		return e.Name
	}
	return fmt.Sprintf("#%d", e.Index)
}

func (e *Const) String() string {
	switch e.Value.Kind() {
	case types.Unknown:
		return "NULL"
	case types.String, types.Bytes:
		return "'" + strings.ReplaceAll(e.Value.String(), "'", "''") + "'"
	case types.JSON, types.Date, types.Timestamp:
		return e.Value.Kind().String() + " '" + strings.ReplaceAll(e.Value.String(), "'", "''") + "'"
	case types.Bool:
		if e.Value.Bool() {
			return "TRUE"
		}
		return "FALSE"
	case types.Interval:
		return "INTERVAL '" + e.Value.String() + "'"
	}
	return e.Value.String()
}

func (e *Param) String() string { return fmt.Sprintf("$%d", e.Index+1) }

func (e *Cast) String() string {
	if e.Unsigned {
		return fmt.Sprintf("CAST(%s AS UNSIGNED)", e.Arg)
	}
	return fmt.Sprintf("CAST(%s AS %s)", e.Arg, e.To)
}

func (e *Call) String() string {
	if e.def != nil && e.def.infix {
		if len(e.Args) == 1 {
			return fmt.Sprintf("(%s %s)", e.Name, e.Args[0])
		}
		return fmt.Sprintf("(%s %s %s)", e.Args[0], e.Name, e.Args[1])
	}
	var b strings.Builder
	b.WriteString(e.Name)
	b.WriteByte('(')
	if e.Unit != "" {
		b.WriteString(e.Unit)
		if len(e.Args) > 0 {
			b.WriteString(", ")
		}
	}
	for i, a := range e.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (e *Case) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	for _, w := range e.Whens {
		fmt.Fprintf(&b, " WHEN %s THEN %s", w.Cond, w.Result)
	}
	if e.Else != nil {
		fmt.Fprintf(&b, " ELSE %s", e.Else)
	}
	b.WriteString(" END")
	return b.String()
}

// NewConst returns a constant of v's natural type.
func NewConst(v types.Value) *Const {
	return &Const{Value: v, Typ: naturalType(v)}
}

func naturalType(v types.Value) types.Type {
	switch v.Kind() {
	case types.Int:
		return types.TypeBigInt
	case types.Float:
		return types.TypeDouble
	case types.Decimal:
		p, s := decimalDigits(v.Str())
		return types.DecimalType(p, s)
	case types.Timestamp:
		return types.TypeTimestamp
	}
	return types.Type{Kind: v.Kind()}
}

// decimalDigits returns the precision and scale of canonical decimal text.
func decimalDigits(s string) (p, sc int) {
	s = strings.TrimPrefix(s, "-")
	if i := strings.IndexByte(s, '.'); i >= 0 {
		sc = len(s) - i - 1
		s = s[:i] + s[i+1:]
	}
	s = strings.TrimLeft(s, "0")
	p = len(s)
	if p < sc {
		p = sc
	}
	if p == 0 {
		p = 1
	}
	return p, sc
}

// Walk calls fn for e and every node below it, parents first, and stops
// descending where fn returns false.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch e := e.(type) {
	case *InSubquery:
		Walk(e.X, fn)
	case *Cast:
		Walk(e.Arg, fn)
	case *Call:
		for _, a := range e.Args {
			Walk(a, fn)
		}
	case *Case:
		for _, w := range e.Whens {
			Walk(w.Cond, fn)
			Walk(w.Result, fn)
		}
		Walk(e.Else, fn)
	}
}
