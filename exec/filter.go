package exec

import (
	"context"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Filter passes the changes whose row satisfies a predicate. An update
// pair whose halves disagree becomes a Delete (only the old row passed) or
// an Insert (only the new one did), as RisingWave's filter.rs does, so that
// downstream sees exactly the rows that pass. A row whose predicate cannot
// be computed does not pass, and the error is counted in errs (see
// ExprErrors); with a nil errs it fails the query.
type Filter struct {
	pred func(types.Row, *expr.Env) (bool, error)
	env  *expr.Env
	errs *ExprErrors
	// Text, when set, is the predicate as written, for absorbed errors.
	Text string
}

var _ Operator = (*Filter)(nil)

// NewFilter returns a Filter on pred (see expr.CompilePredicate: true only
// for TRUE). env is the query's expression environment.
func NewFilter(pred func(types.Row, *expr.Env) (bool, error), env *expr.Env, errs *ExprErrors) *Filter {
	if env == nil {
		env = &expr.Env{}
	}
	return &Filter{pred: pred, env: env, errs: errs}
}

func (f *Filter) Open(context.Context, *OpContext) error { return nil }

func (f *Filter) Process(_ context.Context, _ int, b *Batch, out Output) error {
	n := b.Len()
	for i := 0; i < n; i++ {
		op, row := b.Op(i), b.Row(i)
		if op == UpdateDelete && i+1 < n && b.Op(i+1) == UpdateInsert {
			next := b.Row(i + 1)
			i++
			oldOK, err := f.test(row)
			if err != nil {
				return err
			}
			newOK, err := f.test(next)
			if err != nil {
				return err
			}
			switch {
			case oldOK && newOK:
				out.Emit(UpdateDelete, row)
				out.Emit(UpdateInsert, next)
			case oldOK:
				out.Emit(Delete, row)
			case newOK:
				out.Emit(Insert, next)
			}
			continue
		}
		ok, err := f.test(row)
		if err != nil {
			return err
		}
		if ok {
			// A half of a pair without its partner stands alone downstream.
			switch op {
			case UpdateDelete:
				op = Delete
			case UpdateInsert:
				op = Insert
			}
			out.Emit(op, row)
		}
	}
	return nil
}

// test evaluates the predicate; a row it cannot be computed for is false.
func (f *Filter) test(row types.Row) (bool, error) {
	ok, err := f.pred(row, f.env)
	if err != nil {
		return false, f.errs.Absorb(exprText("WHERE", []string{f.Text}, 0), err)
	}
	return ok, nil
}

func (f *Filter) OnWatermark(context.Context, Watermark, Output) error { return nil }
func (f *Filter) OnBarrier(context.Context, Barrier, Output) error     { return nil }
func (f *Filter) Close() error                                         { return nil }
