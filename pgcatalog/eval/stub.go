package eval

import (
	"context"
	"errors"

	"github.com/streamsql/streamsql/sql/types"

	_ "github.com/pganalyze/pg_query_go/v6" // the parser the evaluator will use
)

// This file is a placeholder for the evaluator; it is replaced by the real one.

type query struct{}

var errNotYet = errors.New("pgcatalog/eval: not implemented yet")

func prepare(string, Catalog) (*Query, error)                             { return nil, errNotYet }
func (q *query) columns() []Column                                        { return nil }
func (q *query) numParams() int                                           { return 0 }
func (q *query) run(context.Context, Catalog, []Value) ([][]Value, error) { return nil, errNotYet }
func outType(Type) types.Type                                             { return types.TypeText }
func outValue(Value, Type) types.Value                                    { return types.Value{} }
