package exec

import (
	"context"
	"sync/atomic"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Project computes one output column per compiled expression. Output rows
// of a batch are cut from one allocation, so the cost is one allocation per
// batch rather than per row.
type Project struct {
	exprs   []expr.Func
	env     *expr.Env
	policy  RowErrorPolicy
	skipped atomic.Int64
}

var _ Operator = (*Project)(nil)

// NewProject returns a Project computing exprs over each row.
func NewProject(exprs []expr.Func, env *expr.Env, policy RowErrorPolicy) *Project {
	if env == nil {
		env = &expr.Env{}
	}
	return &Project{exprs: exprs, env: env, policy: policy}
}

// Skipped returns how many rows were dropped because an expression failed
// on them (SkipRow); safe to call from any goroutine.
func (p *Project) Skipped() int64 { return p.skipped.Load() }

func (p *Project) Open(context.Context, *OpContext) error { return nil }

func (p *Project) Process(_ context.Context, _ int, b *Batch, out Output) error {
	n, w := b.Len(), len(p.exprs)
	slab := make([]types.Value, n*w)
	// held is the first half of an update pair, emitted once the second
	// half is known to survive, so that a skipped half never leaves its
	// partner marked as half of a pair.
	var held types.Row
	for i := 0; i < n; i++ {
		op := b.Op(i)
		row, err := p.eval(b.Row(i), slab[i*w:(i+1)*w:(i+1)*w])
		if err != nil {
			return err
		}
		paired := op == UpdateDelete && i+1 < n && b.Op(i+1) == UpdateInsert
		switch {
		case paired:
			held = row // nil when skipped
			continue
		case op == UpdateInsert && i > 0 && b.Op(i-1) == UpdateDelete:
			switch {
			case held != nil && row != nil:
				out.Emit(UpdateDelete, held)
				out.Emit(UpdateInsert, row)
			case held != nil:
				out.Emit(Delete, held)
			case row != nil:
				out.Emit(Insert, row)
			}
			held = nil
			continue
		}
		if row == nil {
			continue
		}
		switch op {
		case UpdateDelete:
			op = Delete
		case UpdateInsert:
			op = Insert
		}
		out.Emit(op, row)
	}
	return nil
}

// eval fills dst from in; a nil row means the row was skipped.
func (p *Project) eval(in types.Row, dst types.Row) (types.Row, error) {
	for j, f := range p.exprs {
		v, err := f(in, p.env)
		if err != nil {
			if p.policy == SkipRow {
				p.skipped.Add(1)
				return nil, nil
			}
			return nil, err
		}
		dst[j] = v
	}
	return dst, nil
}

func (p *Project) OnWatermark(context.Context, Watermark, Output) error { return nil }
func (p *Project) OnBarrier(context.Context, Barrier, Output) error     { return nil }
func (p *Project) Close() error                                         { return nil }
