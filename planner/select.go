package planner

import (
	"context"
	"strings"

	"github.com/streamsql/streamsql/sql"
)

// Plan binds a parsed SELECT against cat and returns its logical plan.
// Binding errors carry SQLSTATEs (42P01, 42703, 42702, 42804, 42883,
// 42803) and positions in the client's text.
func Plan(ctx context.Context, cat Catalog, sel *sql.Select, opts Options) (*Query, error) {
	in := &input{
		ast:           sel.AST,
		text:          sel.Text,
		paramOrder:    sel.ParamOrder,
		numParams:     sel.NumParams,
		casts:         sel.Casts,
		position:      sel.Position,
		tableFuncs:    map[string]*tableFunc{},
		temporal:      sel.Temporal,
		qualifiedOnly: sel.QualifiedOnly,
		fullJoins:     sel.FullJoins,
	}
	for name, tf := range sel.TableFuncs {
		t := &tableFunc{name: strings.ToUpper(tf.Name), alias: tf.Alias, pos: tf.Pos}
		for _, a := range tf.Args {
			fa := funcArg{ident: a.Ident, expr: a.Expr, pos: a.Pos}
			if a.Interval != nil {
				fa.interval = &interval{months: a.Interval.Months, micros: a.Interval.Micros}
			}
			t.args = append(t.args, fa)
		}
		in.tableFuncs[strings.ToLower(name)] = t
	}
	return plan(ctx, cat, in, opts)
}
