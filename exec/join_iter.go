package exec

import (
	"context"
	"errors"
	"io"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// HashJoinIter joins two bounded inputs: it reads the right one into a
// hash table on its keys, then streams the left one through it. With no
// keys every pair is tested (a nested loop over the right rows). Outer
// sides also yield their rows without a match, NULL-padded; the right
// side's once the left is done.
type HashJoinIter struct {
	left, right         RowIter
	leftKeys, rightKeys []expr.Func
	cond                func(types.Row, *expr.Env) (bool, error)
	env                 *expr.Env
	// Outer is as in JoinOptions: {LEFT, RIGHT}.
	Outer [2]bool

	table    map[string][]*builtRow
	unkeyed  []*builtRow // right rows with a NULL key (they match nothing)
	built    bool
	row      types.Row   // the left row being matched
	matched  bool        // whether row has met a match yet
	matches  []*builtRow // its right rows not yet tried
	leftDone bool
	rest     []*builtRow // right rows left to check for a match (RIGHT)
	widths   [2]int
	keyBuf   []byte
	cancel   canceler
}

type builtRow struct {
	row     types.Row
	matched bool
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
	h.table = map[string][]*builtRow{}
	for {
		if err := h.cancel.step(ctx); err != nil {
			return err
		}
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
		b := &builtRow{row: append(types.Row(nil), row...)}
		if ok {
			h.table[k] = append(h.table[k], b)
		} else if h.Outer[1] {
			h.unkeyed = append(h.unkeyed, b)
		}
	}
}

// SetWidths gives the sides' column counts, which NULL padding needs: an
// outer join must have them set.
func (h *HashJoinIter) SetWidths(left, right int) { h.widths = [2]int{left, right} }

func (h *HashJoinIter) Next(ctx context.Context) (types.Row, error) {
	if !h.built {
		if err := h.build(ctx); err != nil {
			return nil, err
		}
		h.built = true
	}
	for {
		if err := h.cancel.step(ctx); err != nil {
			return nil, err
		}
		for len(h.matches) > 0 {
			if err := h.cancel.step(ctx); err != nil {
				return nil, err
			}
			m := h.matches[0]
			h.matches = h.matches[1:]
			joined := append(append(make(types.Row, 0, len(h.row)+len(m.row)), h.row...), m.row...)
			if h.cond != nil {
				ok, err := h.cond(joined, h.env)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			h.matched, m.matched = true, true
			return joined, nil
		}
		if h.row != nil && !h.matched && h.Outer[0] {
			h.matched = true
			return append(append(make(types.Row, 0, h.widths[0]+h.widths[1]), h.row...), make(types.Row, h.widths[1])...), nil
		}
		if h.leftDone {
			return h.nextUnmatched()
		}
		row, err := h.left.Next(ctx)
		if errors.Is(err, io.EOF) {
			h.leftDone, h.row = true, nil
			h.rest = h.unkeyed
			for _, rows := range h.table {
				h.rest = append(h.rest, rows...)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		k, ok, err := h.key(row, h.leftKeys)
		if err != nil {
			return nil, err
		}
		h.row, h.matched, h.matches = append(h.row[:0], row...), false, nil
		if ok {
			h.matches = h.table[k]
		}
	}
}

// nextUnmatched yields, for a RIGHT join, the right rows that met no
// match, once the left input is done.
func (h *HashJoinIter) nextUnmatched() (types.Row, error) {
	if !h.Outer[1] {
		return nil, io.EOF
	}
	for len(h.rest) > 0 {
		b := h.rest[0]
		h.rest = h.rest[1:]
		if !b.matched {
			return append(make(types.Row, h.widths[0], h.widths[0]+len(b.row)), b.row...), nil
		}
	}
	return nil, io.EOF
}

func (h *HashJoinIter) Close() {
	h.left.Close()
	h.right.Close()
}

var _ RowIter = (*HashJoinIter)(nil)
