package exec

import (
	"context"
	"errors"
	"io"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Partition is one partition of an OverIter's input, its rows in window
// ORDER BY order, handed to each PartitionFunc.
type Partition struct {
	// Rows are the input rows; Order[i] are row i's ORDER BY values.
	Rows  []types.Row
	Order [][]types.Value
	// PeerStart[i] and PeerEnd[i] bound row i's peer group (the rows
	// equal to it on every ORDER BY key): [PeerStart[i], PeerEnd[i]).
	PeerStart, PeerEnd []int
}

// PartitionFunc computes one window function for every row of p, writing
// row i's value to out[i] (len(out) == len(p.Rows)).
type PartitionFunc func(p *Partition, env *expr.Env, out []types.Value) error

// RowNumber numbers the rows 1, 2, ...
func RowNumber(p *Partition, _ *expr.Env, out []types.Value) error {
	for i := range out {
		out[i] = types.NewInt(int64(i + 1))
	}
	return nil
}

// Rank is 1 + the number of rows before the row's peer group.
func Rank(p *Partition, _ *expr.Env, out []types.Value) error {
	for i := range out {
		out[i] = types.NewInt(int64(p.PeerStart[i] + 1))
	}
	return nil
}

// DenseRank is 1 + the number of peer groups before the row's.
func DenseRank(p *Partition, _ *expr.Env, out []types.Value) error {
	rank := int64(0)
	for i := range out {
		if p.PeerStart[i] == i {
			rank++
		}
		out[i] = types.NewInt(rank)
	}
	return nil
}

// OverSpec is what an OverIter computes: window functions sharing one
// PARTITION BY and ORDER BY.
type OverSpec struct {
	Partition []expr.Func
	Order     []expr.Func
	// Desc[i] says Order[i] sorts descending (NULLs first, as ORDER BY
	// DESC puts them; ascending puts them last).
	Desc  []bool
	Funcs []PartitionFunc
}

// OverIter evaluates window functions over its whole input: it reads
// every row, orders them by partition then window order, and yields each
// row followed by one value per function. Partitions come out in the
// order of their keys; within one, rows keep window order (peers in input
// order).
type OverIter struct {
	in     RowIter
	spec   OverSpec
	env    *expr.Env
	out    []types.Row
	loaded bool
	i      int
	cancel canceler
}

// NewOverIter returns in with spec's window functions appended to each row.
func NewOverIter(in RowIter, spec OverSpec, env *expr.Env) *OverIter {
	return &OverIter{in: in, spec: spec, env: env}
}

type overRow struct {
	row   types.Row
	part  []types.Value
	order []types.Value
}

func (o *OverIter) load(ctx context.Context) error {
	var rows []overRow
	for {
		if err := o.cancel.step(ctx); err != nil {
			return err
		}
		row, err := o.in.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		r := overRow{row: append(types.Row(nil), row...)}
		for _, f := range o.spec.Partition {
			v, err := f(r.row, o.env)
			if err != nil {
				return err
			}
			r.part = append(r.part, v)
		}
		for _, f := range o.spec.Order {
			v, err := f(r.row, o.env)
			if err != nil {
				return err
			}
			r.order = append(r.order, v)
		}
		rows = append(rows, r)
	}
	cmp := func(a, b overRow) int {
		if c := comparePartition(a.part, b.part); c != 0 {
			return c
		}
		return CompareOrder(a.order, b.order, o.spec.Desc)
	}
	if err := sortRows(ctx, rows, cmp); err != nil {
		return err
	}
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && comparePartition(rows[start].part, rows[end].part) == 0 {
			end++
		}
		if err := o.partition(rows[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// partition computes the functions over one partition's sorted rows.
func (o *OverIter) partition(rows []overRow) error {
	p := &Partition{Rows: make([]types.Row, len(rows)), Order: make([][]types.Value, len(rows)),
		PeerStart: make([]int, len(rows)), PeerEnd: make([]int, len(rows))}
	for i, r := range rows {
		p.Rows[i], p.Order[i] = r.row, r.order
		p.PeerStart[i] = i
		if i > 0 && CompareOrder(rows[i-1].order, r.order, o.spec.Desc) == 0 {
			p.PeerStart[i] = p.PeerStart[i-1]
		}
	}
	for i := len(rows) - 1; i >= 0; i-- {
		p.PeerEnd[i] = i + 1
		if i+1 < len(rows) && p.PeerStart[i+1] == p.PeerStart[i] {
			p.PeerEnd[i] = p.PeerEnd[i+1]
		}
	}
	vals := make([][]types.Value, len(o.spec.Funcs))
	for j, f := range o.spec.Funcs {
		vals[j] = make([]types.Value, len(rows))
		if err := f(p, o.env, vals[j]); err != nil {
			return err
		}
	}
	for i, r := range rows {
		out := make(types.Row, 0, len(r.row)+len(vals))
		out = append(out, r.row...)
		for j := range vals {
			out = append(out, vals[j][i])
		}
		o.out = append(o.out, out)
	}
	return nil
}

// comparePartition orders partition keys; NULL equals NULL.
func comparePartition(a, b []types.Value) int {
	for i := range a {
		if c := expr.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// CompareOrder orders two rows' window ORDER BY values as a query's ORDER
// BY would: NULLs last ascending, first descending.
func CompareOrder(a, b []types.Value, desc []bool) int {
	for i := range a {
		c := expr.Compare(a[i], b[i])
		if desc[i] {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func (o *OverIter) Next(ctx context.Context) (types.Row, error) {
	if !o.loaded {
		if err := o.load(ctx); err != nil {
			return nil, err
		}
		o.loaded = true
	}
	if o.i >= len(o.out) {
		return nil, io.EOF
	}
	o.i++
	return o.out[o.i-1], nil
}

func (o *OverIter) Close() { o.in.Close() }
