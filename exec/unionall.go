package exec

import "context"

// UnionAll passes every change of every input on, in arrival order. The
// runtime aligns barriers and takes the minimum watermark of the inputs.
type UnionAll struct{}

var _ Operator = (*UnionAll)(nil)

// NewUnionAll returns a UnionAll.
func NewUnionAll() *UnionAll { return &UnionAll{} }

func (u *UnionAll) Open(context.Context, *OpContext) error { return nil }

func (u *UnionAll) Process(_ context.Context, _ int, b *Batch, out Output) error {
	for i := 0; i < b.Len(); i++ {
		out.Emit(b.Op(i), b.Row(i))
	}
	return nil
}

func (u *UnionAll) OnWatermark(context.Context, Watermark, Output) error { return nil }
func (u *UnionAll) OnBarrier(context.Context, Barrier, Output) error     { return nil }
func (u *UnionAll) Close() error                                         { return nil }
