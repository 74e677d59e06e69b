package exec

import (
	"context"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Project computes one output column per compiled expression. Output rows
// of a batch are cut from one allocation, so the cost is one allocation per
// batch rather than per row. A value that cannot be computed is NULL and
// counted in errs (see ExprErrors); with a nil errs it fails the query.
type Project struct {
	exprs []expr.Func
	env   *expr.Env
	errs  *ExprErrors
	// Texts, when set, are the expressions as written, one per expr, to
	// name them in absorbed errors.
	Texts []string
}

var _ Operator = (*Project)(nil)

// NewProject returns a Project computing exprs over each row.
func NewProject(exprs []expr.Func, env *expr.Env, errs *ExprErrors) *Project {
	if env == nil {
		env = &expr.Env{}
	}
	return &Project{exprs: exprs, env: env, errs: errs}
}

func (p *Project) Open(context.Context, *OpContext) error { return nil }

func (p *Project) Process(_ context.Context, _ int, b *Batch, out Output) error {
	n, w := b.Len(), len(p.exprs)
	slab := make([]types.Value, n*w)
	for i := 0; i < n; i++ {
		row, err := p.eval(b.Row(i), slab[i*w:(i+1)*w:(i+1)*w])
		if err != nil {
			return err
		}
		// Every row keeps its place, so update pairs stay pairs.
		out.Emit(b.Op(i), row)
	}
	return nil
}

// eval fills dst from in.
func (p *Project) eval(in types.Row, dst types.Row) (types.Row, error) {
	for j, f := range p.exprs {
		v, err := f(in, p.env)
		if err != nil {
			if err := p.errs.Absorb(exprText("SELECT", p.Texts, j), err); err != nil {
				return nil, err
			}
			v = types.Null
		}
		dst[j] = v
	}
	return dst, nil
}

func (p *Project) OnWatermark(context.Context, Watermark, Output) error { return nil }
func (p *Project) OnBarrier(context.Context, Barrier, Output) error     { return nil }
func (p *Project) Close() error                                         { return nil }
