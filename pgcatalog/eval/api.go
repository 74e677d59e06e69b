// Package eval runs the Postgres-dialect SELECTs that clients and tools send
// to read the catalog (psql's \d family, pgjdbc's DatabaseMetaData, GUI
// tools): it parses them with the Postgres parser (libpg_query) and
// interprets the tree row by row over small in-memory relations. It knows
// nothing of streamsql's objects: the relations and the catalog-specific
// functions come from a Catalog (package pgcatalog builds one from ours).
// Catalogs are small (hundreds of rows), so simplicity and fidelity to
// Postgres matter here, not speed.
package eval

import (
	"context"

	"github.com/streamsql/streamsql/sql/types"
)

// Type is a Postgres type as the evaluator tracks it: its pg_type OID
// (eval's OID constants) and, for arrays, the element OID. Output columns
// are converted to types.Type (see Type.Out).
type Type struct {
	OID  uint32
	Elem uint32 // element OID when the type is an array; 0 otherwise
}

// Column is a relation's or a result's column.
type Column struct {
	Name string
	Type Type
}

// Value is one datum: nil (NULL), bool, int64 (every integer type, oid and
// reg* types), float64, string (text, name, char, varchar, numeric as text),
// []byte, time.Time, or []Value (an array).
type Value = any

// Relation is a table of the catalog. Rows is called once per query that
// reads it, so a relation is a snapshot of that moment.
type Relation struct {
	Schema  string // "pg_catalog" or "information_schema"
	Name    string
	Columns []Column
	Rows    func() [][]Value
}

// Func is a scalar function. args are already evaluated; a function that
// is not strict sees nil for NULL arguments.
type Func func(args []Value) (Value, error)

// SetFunc is a set-returning function (unnest, generate_series,
// pg_options_to_table, ...): its rows and columns.
type SetFunc func(args []Value) ([]Column, [][]Value, error)

// Catalog is what a query runs against. Names are lower-case; schema is ""
// when the query did not qualify the name (search_path: pg_catalog, then
// public, then information_schema is never implicit).
type Catalog interface {
	Relation(schema, name string) (*Relation, bool)
	// Function returns a catalog-specific scalar function (format_type,
	// pg_get_userbyid, version, current_database, ...): the evaluator's own
	// generic built-ins are looked up after it, so a Catalog may override them.
	Function(schema, name string) (Func, bool)
	SetFunction(schema, name string) (SetFunc, bool)
	// Setting is a session setting for current_setting() and SHOW-like
	// reads; ok is false for an unknown name.
	Setting(name string) (value string, ok bool)
}

// Out is the type a result column is described with on the wire and to
// embedders: integers and OIDs as int2/int4/int8 by width, text-like types
// as TEXT, arrays as TEXT holding Postgres's array literal ({a,b}).
func (t Type) Out() types.Type { return outType(t) }

// pg_type OIDs of the types catalogs use (Postgres's own numbers).
const (
	OIDBool        uint32 = 16
	OIDBytea       uint32 = 17
	OIDChar        uint32 = 18
	OIDName        uint32 = 19
	OIDInt8        uint32 = 20
	OIDInt2        uint32 = 21
	OIDInt2Vector  uint32 = 22
	OIDInt4        uint32 = 23
	OIDRegproc     uint32 = 24
	OIDText        uint32 = 25
	OIDOid         uint32 = 26
	OIDOidVector   uint32 = 30
	OIDJSON        uint32 = 114
	OIDPgNodeTree  uint32 = 194
	OIDFloat4      uint32 = 700
	OIDFloat8      uint32 = 701
	OIDUnknown     uint32 = 705
	OIDCharArray   uint32 = 1002
	OIDNameArray   uint32 = 1003
	OIDInt2Array   uint32 = 1005
	OIDTextArray   uint32 = 1009
	OIDOidArray    uint32 = 1028
	OIDAclItem     uint32 = 1033
	OIDAclArray    uint32 = 1034
	OIDBPChar      uint32 = 1042
	OIDVarchar     uint32 = 1043
	OIDDate        uint32 = 1082
	OIDTime        uint32 = 1083
	OIDTimestamp   uint32 = 1114
	OIDTimestampTZ uint32 = 1184
	OIDInterval    uint32 = 1186
	OIDNumeric     uint32 = 1700
	OIDRegclass    uint32 = 2205
	OIDRegtype     uint32 = 2206
	OIDJSONB       uint32 = 3802
)

// Query is a parsed and checked SELECT (or SELECT-like statement),
// immutable, runnable many times and concurrently.
type Query struct{ impl *query }

// Prepare parses text (one statement, Postgres syntax) and resolves its
// relations, columns and result types against cat. Errors are
// *sqlerr.Error with a 1-based character Position within text (42601 for
// syntax, 42P01 for an unknown relation, 42703 for an unknown column,
// 42883 for an unknown function).
func Prepare(text string, cat Catalog) (*Query, error) { return prepare(text, cat) }

// Columns returns the result columns.
func (q *Query) Columns() []Column { return q.impl.columns() }

// NumParams returns the highest $n the query uses.
func (q *Query) NumParams() int { return q.impl.numParams() }

// Run evaluates the query against cat (a fresh snapshot may be given each
// time) with params for $1..$n. It stops early, returning ctx.Err(), once
// ctx is done.
func (q *Query) Run(ctx context.Context, cat Catalog, params []Value) ([][]Value, error) {
	return q.impl.run(ctx, cat, params)
}

// OutValue converts a result value of type t to the engine's value, as
// Type.Out describes its type (arrays become their text literal).
func OutValue(v Value, t Type) types.Value { return outValue(v, t) }
