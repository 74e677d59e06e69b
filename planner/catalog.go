// Package planner owns binding and the logical plan: it resolves the names
// of a parsed SELECT against a Catalog, types its expressions (exec/expr),
// builds a tree of logical operators (Values, Series, Scan, Window, Filter,
// Project, Aggregate, Sort, Limit, UnionAll), rewrites it with the small
// rules listed in rules.go, prints it for EXPLAIN, and runs the queries that
// need no stream with exec's row iterators.
package planner

import (
	"strings"

	"github.com/streamsql/streamsql/sql/types"
)

// Catalog is what the planner needs to know about relations. The engine
// implements it over its catalog; tests fake it.
type Catalog interface {
	// Relation returns the relation named name (lower case), if any.
	Relation(name string) (*Relation, bool)
}

// Relation is a source or a materialized view as the planner sees it.
type Relation struct {
	Name    string
	Kind    string // "source", "materialized view" or "table"
	Columns []types.Column
	// WatermarkColumn names the source's event-time column, "" if none.
	WatermarkColumn string
	// ProcTimeColumn names the source's processing-time attribute (its
	// `name AS PROCTIME()` column), "" if none: a window over it closes as
	// the clock passes its end, and FOR SYSTEM_TIME AS OF takes it.
	ProcTimeColumn string
}

// IsProcTime reports whether the column named col is the relation's
// processing-time attribute.
func (r *Relation) IsProcTime(col string) bool {
	return r.ProcTimeColumn != "" && strings.EqualFold(r.ProcTimeColumn, col)
}

// Options tune planning.
type Options struct {
	// EmitOnWindowClose is the statement's EMIT ON WINDOW CLOSE: windowed
	// aggregates emit each window once, when the watermark passes its end.
	EmitOnWindowClose bool
	// ColumnTypes, when set, are the types the result columns are
	// stored as (an INSERT's target columns): a parameter that is a whole
	// result column, with no type from its use, takes its column's, as
	// Postgres infers INSERT ... VALUES ($1).
	ColumnTypes []types.Type
	// Session answers current_user, current_database(), pg_backend_pid()
	// and version(); they are constants of the statement.
	Session SessionInfo
}

// SessionInfo is what a query may ask about the session running it.
type SessionInfo struct {
	User, Database string
	BackendPID     int32
	// Version is what version() returns.
	Version string
}
