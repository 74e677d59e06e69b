package exec

import (
	"context"
	"errors"
	"io"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// HashJoinIter is an inner join of two bounded inputs: it reads the right
// one into a hash table on its keys, then streams the left one through it.
// With no keys every pair is tested (a nested loop over the right rows).
type HashJoinIter struct {
	left, right         RowIter
	leftKeys, rightKeys []expr.Func
	cond                func(types.Row, *expr.Env) (bool, error)
	env                 *expr.Env

	table   map[string][]types.Row
	built   bool
	row     types.Row   // the left row being matched
	matches []types.Row // its right rows not yet tried
	keyBuf  []byte
}

// NewHashJoinIter joins left and right on leftKeys[i] = rightKeys[i] and
// cond (over the joined row; nil for none).
func NewHashJoinIter(left, right RowIter, leftKeys, rightKeys []expr.Func, cond func(types.Row, *expr.Env) (bool, error), env *expr.Env) *HashJoinIter {
	return &HashJoinIter{left: left, right: right, leftKeys: leftKeys, rightKeys: rightKeys, cond: cond, env: env}
}

// key encodes row's key values; ok is false when one is NULL (it matches
// nothing).
func (h *HashJoinIter) key(row types.Row, fs []expr.Func) (string, bool, error) {
	h.keyBuf = h.keyBuf[:0]
	for _, f := range fs {
		v, err := f(row, h.env)
		if err != nil {
			return "", false, err
		}
		if v.IsNull() {
			return "", false, nil
		}
		h.keyBuf = appendKeyValue(h.keyBuf, v)
	}
	return string(h.keyBuf), true, nil
}

func (h *HashJoinIter) build(ctx context.Context) error {
	h.table = map[string][]types.Row{}
	for {
		row, err := h.right.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		k, ok, err := h.key(row, h.rightKeys)
		if err != nil {
			return err
		}
		if ok {
			h.table[k] = append(h.table[k], append(types.Row(nil), row...))
		}
	}
}

func (h *HashJoinIter) Next(ctx context.Context) (types.Row, error) {
	if !h.built {
		if err := h.build(ctx); err != nil {
			return nil, err
		}
		h.built = true
	}
	for {
		for len(h.matches) > 0 {
			m := h.matches[0]
			h.matches = h.matches[1:]
			joined := append(append(make(types.Row, 0, len(h.row)+len(m)), h.row...), m...)
			if h.cond != nil {
				ok, err := h.cond(joined, h.env)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			return joined, nil
		}
		if err := iterCanceled(ctx); err != nil {
			return nil, err
		}
		row, err := h.left.Next(ctx)
		if err != nil {
			return nil, err
		}
		k, ok, err := h.key(row, h.leftKeys)
		if err != nil {
			return nil, err
		}
		if ok {
			h.row, h.matches = append(h.row[:0], row...), h.table[k]
		}
	}
}

func (h *HashJoinIter) Close() {
	h.left.Close()
	h.right.Close()
}

var _ RowIter = (*HashJoinIter)(nil)
