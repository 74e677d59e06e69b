package sql

import (
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/streamsql/streamsql/sql/types"
)

// Positions: every field named Pos or ending in Pos is a 1-based character
// position in the text given to Parse, ready for sqlerr.Error.At. Span and
// Select.Offset are byte offsets into that text.

// Span is a statement's byte range in the text given to Parse, without the
// terminating ';'.
type Span struct{ Start, End int }

// Statement is one parsed statement.
type Statement interface {
	Span() Span
	statement()
}

// stmtBase gives every statement its span.
type stmtBase struct{ span Span }

// Span returns the statement's byte range in the text given to Parse.
func (b *stmtBase) Span() Span     { return b.span }
func (*stmtBase) statement()       {}
func (b *stmtBase) setSpan(s Span) { b.span = s }

// ObjectKind is the kind of a catalog object named in DROP, SHOW, SHOW CREATE.
type ObjectKind int

const (
	KindSource ObjectKind = iota
	KindSink
	KindView
	KindTable
)

// String returns the kind as SQL spells it in messages: "source", "sink",
// "materialized view".
func (k ObjectKind) String() string {
	switch k {
	case KindSource:
		return "source"
	case KindSink:
		return "sink"
	case KindView:
		return "materialized view"
	case KindTable:
		return "table"
	}
	return "object"
}

// CreateSource is CREATE SOURCE.
type CreateSource struct {
	stmtBase
	Name        string
	NamePos     int
	IfNotExists bool
	Columns     []ColumnDef
	Watermark   *Watermark // nil if none
	Options     Options    // validated against the connector's spec, defaults filled in
	Text        string     // the statement's original text, for SHOW CREATE
}

// RedactedText is Text with the values of secret options (secret_key,
// access_key, session_token) replaced by '***', for SHOW CREATE SOURCE.
func (s *CreateSource) RedactedText() string {
	return redact(s.Text, s.span.Start, s.Options, RoleSource)
}

// ColumnDef is one declared column of a source.
type ColumnDef struct {
	Name    string
	Type    types.Type
	NotNull bool
	Pos     int
	// ProcTime marks `name AS PROCTIME()`, Flink's processing-time
	// attribute: a TIMESTAMP(3) computed column holding the wall-clock time
	// the row is processed, not read from the record.
	ProcTime bool
}

// ProcTimeType is the type of a PROCTIME() column.
var ProcTimeType = types.Type{Kind: types.Timestamp, Precision: 3}

// Watermark is WATERMARK FOR Column AS Column - INTERVAL Delay.
type Watermark struct {
	Column string
	Delay  time.Duration
	Pos    int // of the column name after FOR
}

// CreateSink is CREATE SINK name FROM obj WITH (...) or CREATE SINK name AS
// SELECT ... WITH (...). Exactly one of From and Query is set.
type CreateSink struct {
	stmtBase
	Name        string
	NamePos     int
	IfNotExists bool
	From        string // view or source name; "" with Query
	FromPos     int
	Query       *Select
	// EmitOnWindowClose is EMIT ON WINDOW CLOSE after the query, as for a
	// view: windows are written once, when closed, so the input is append-only.
	EmitOnWindowClose bool
	Options           Options // validated, defaults filled in
	Text              string
}

// RedactedText is Text with the values of secret options replaced by
// '***', for SHOW CREATE SINK.
func (s *CreateSink) RedactedText() string {
	return redact(s.Text, s.span.Start, s.Options, RoleSink)
}

// CreateView is CREATE MATERIALIZED VIEW.
type CreateView struct {
	stmtBase
	Name              string
	NamePos           int
	IfNotExists       bool
	Query             *Select
	EmitOnWindowClose bool
	Text              string
}

// Drop is DROP SOURCE | SINK | MATERIALIZED VIEW.
type Drop struct {
	stmtBase
	Kind     ObjectKind
	Name     string
	NamePos  int
	IfExists bool
	Cascade  bool
}

// ShowObjects is SHOW SOURCES | SINKS | MATERIALIZED VIEWS.
type ShowObjects struct {
	stmtBase
	Kind ObjectKind
}

// ShowCreate is SHOW CREATE SOURCE | SINK | MATERIALIZED VIEW name.
type ShowCreate struct {
	stmtBase
	Kind    ObjectKind
	Name    string
	NamePos int
}

// ShowSourceStatus is SHOW SOURCE STATUS name: the source's per-shard figures.
type ShowSourceStatus struct {
	stmtBase
	Name    string
	NamePos int
}

// Describe is DESCRIBE name or DESC name.
type Describe struct {
	stmtBase
	Name    string
	NamePos int
}

// Explain is EXPLAIN of a SELECT, a CREATE MATERIALIZED VIEW or a CREATE SINK.
type Explain struct {
	stmtBase
	Stmt Statement
}

// ExplainAnalyze is EXPLAIN ANALYZE of a running materialized view: its
// operators with their counters, and the lag of the shards it reads.
type ExplainAnalyze struct {
	stmtBase
	Name    string
	NamePos int
}

// SetVar is SET [SESSION | LOCAL] name {= | TO} value | DEFAULT, and SET TIME
// ZONE value (Name "timezone").
type SetVar struct {
	stmtBase
	Name string // lower case
	// Value is the value's text: a string literal's contents, a number as
	// written, a bare word lower-cased; a list is joined with ", ".
	Value   string
	Default bool // SET x TO DEFAULT: reset to the default
	Local   bool // SET LOCAL: Postgres scopes it to a transaction; we have none
}

// ShowVar is SHOW name, SHOW ALL (Name "all"), SHOW TIME ZONE (Name "timezone").
type ShowVar struct {
	stmtBase
	Name string
}

// ResetVar is RESET name or RESET ALL (Name "all").
type ResetVar struct {
	stmtBase
	Name string
}

// Flush is FLUSH [name]: wait until everything now in the sources is
// processed and committed, by every view or by the view or sink Name.
type Flush struct {
	stmtBase
	Name    string // "" for every view
	NamePos int
}

// Subscribe is SUBSCRIBE [TO] name [WITH (options)], alone or inside
// COPY (SUBSCRIBE ...) TO STDOUT (then Copy is its format).
type Subscribe struct {
	stmtBase
	Name    string
	NamePos int
	Options Options // validated: progress, snapshot (booleans)
	Copy    *CopyFormat
}

// Begin, Commit and Rollback delimit a transaction block. Statements take
// effect as they run (there is no rollback of what they did): the block
// scopes cursors and portals, and after an error it refuses statements
// until its end, as Postgres does.
type (
	Begin    struct{ stmtBase }
	Commit   struct{ stmtBase }
	Rollback struct{ stmtBase }
)

// Select is a query: SELECT, a set operation (UNION ...), or WITH ... SELECT.
type Select struct {
	stmtBase
	// AST is TiDB's tree of Text: *ast.SelectStmt, or *ast.SetOprStmt for
	// UNION / EXCEPT / INTERSECT.
	AST ast.ResultSetNode
	// Text is the query text after our rewrites. Comments are blanked, $n
	// is "?" plus spaces, a table function call is its placeholder name plus
	// spaces, Postgres syntax is rewritten (see pgsyntax.go: x::t becomes
	// __pgcast(x, i), which changes lengths, so byte offsets in Text go
	// through Position), and unquoted words have their ASCII
	// letters lower-cased, as Postgres folds names: so TiDB's CIStr.O of a
	// name is its Postgres spelling ("Foo" stays Foo, Foo becomes foo) and
	// names should be compared on .O. SELECT COUNT(*) is named count(*).
	Text string
	// Offset is where the query starts in the text given to Parse (bytes).
	Offset int
	// Casts are the targets of Postgres casts: __pgcast(x, i) in Text casts
	// x to Casts[i].Type.
	Casts []Cast
	// TableFuncs maps a placeholder table name (as TiDB's TableName.Name.L
	// spells it) to the table function call it replaced.
	TableFuncs map[string]*TableFunc
	// FullJoins are the joins written FULL [OUTER] JOIN, which TiDB's
	// grammar lacks: Text spells them LEFT (as long as FULL) and AST has
	// them as LeftJoin.
	FullJoins map[*ast.Join]bool
	// Temporal maps the alias (or name) of a relation read FOR
	// SYSTEM_TIME AS OF to the clause, which Text has blanked.
	Temporal map[string]*Temporal
	// QualifiedOnly is the alias whose columns only a qualified name
	// reads: excluded, in ON DUPLICATE KEY UPDATE.
	QualifiedOnly string
	// ParamOrder maps the i-th parameter marker in text order to the
	// parameter's 0-based index: $3 is index 2, the i-th ? is index i. Every
	// ast.ParamMarkerExpr in AST and in TableFunc argument expressions has
	// had SetOrder(i) called with its text-order index.
	ParamOrder []int
	NumParams  int
	// Copy is the format of COPY (query) TO STDOUT; nil for a plain query.
	Copy *CopyFormat

	chars    *charIndex    // the text given to Parse, for Position
	srcOff   func(int) int // a byte offset in Text → in the text given to Parse
	paramPos int           // position of the first parameter marker, for errors
}

// SelectStmt returns AST as a plain SELECT.
func (s *Select) SelectStmt() (*ast.SelectStmt, bool) {
	st, ok := s.AST.(*ast.SelectStmt)
	return st, ok
}

// Position converts a byte offset in Text (such as an ast node's offset) to a
// 1-based character position in the text given to Parse, for error messages.
func (s *Select) Position(offset int) int {
	if s.srcOff == nil {
		return s.chars.pos(s.Offset + offset)
	}
	return s.chars.pos(s.srcOff(offset))
}

// TableFunc is a table function called in FROM.
type TableFunc struct {
	Name string // TUMBLE, HOP, SESSION, GENERATE_SERIES
	Args []FuncArg
	// Alias is the alias written after the call, lower-cased unless quoted;
	// "" when none (TiDB's TableSource.AsName has it too).
	Alias string
	Pos   int
}

// FuncArg is one argument of a table function. Exactly one of Ident,
// Interval and Expr is set.
type FuncArg struct {
	Ident    string // a bare name: the source, the time column
	Interval *Interval
	Expr     ast.ExprNode
	Pos      int
}

// Interval is an interval literal.
type Interval struct {
	Months int64
	Micros int64
}

// Duration returns the interval as a duration; ok is false when it has
// months (a month has no fixed length).
func (iv Interval) Duration() (d time.Duration, ok bool) {
	if iv.Months != 0 {
		return 0, false
	}
	return time.Duration(iv.Micros) * time.Microsecond, true
}

// Declare is DECLARE name [INSENSITIVE] [NO SCROLL] CURSOR [WITH HOLD |
// WITHOUT HOLD] FOR query: a cursor over the query's rows, read by FETCH.
type Declare struct {
	stmtBase
	Name    string
	NamePos int
	Hold    bool // WITH HOLD: the cursor outlives the transaction that made it
	Query   *Select
	// Catalog is the query instead of Query when it reads the Postgres
	// catalog (psql with FETCH_COUNT declares a cursor for every query).
	Catalog *CatalogQuery
}

// Fetch is FETCH [FORWARD] [n | ALL | NEXT] [FROM | IN] name, or MOVE with
// the same arguments (Move: the rows are skipped, not returned).
type Fetch struct {
	stmtBase
	Name    string
	NamePos int
	Count   int64 // rows to read; meaningless with All
	All     bool
	Move    bool
}

// CloseCursor is CLOSE name, or CLOSE ALL (All, Name "").
type CloseCursor struct {
	stmtBase
	Name    string
	NamePos int
	All     bool
}

// CopyFormat is how COPY (...) TO STDOUT writes rows: Postgres's text
// format (Delimiter a tab, Null `\N`) or CSV (Delimiter ',', Null "",
// Quote and Escape '"').
type CopyFormat struct {
	CSV       bool
	Header    bool
	Delimiter byte
	Null      string
	Quote     byte // CSV only
	Escape    byte // CSV only
	// ForceQuote names the columns whose non-null values are always
	// quoted (CSV only); ForceQuoteAll quotes every column's.
	ForceQuote    []string
	ForceQuotePos []int
	ForceQuoteAll bool
}
