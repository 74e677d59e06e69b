package exec

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// LookupJoin is a processing-time temporal join (FOR SYSTEM_TIME AS OF
// PROCTIME(), as Flink and RisingWave define it): each change of the
// stream (input 0) is joined with the rows the table (input 1) holds when
// the change is processed, and emitted at once. The table's changes only
// update what later stream rows find: they emit nothing and retract
// nothing, so an append-only stream gives append-only output, and a stream
// row keeps the table version it met.
//
// A stream delete is looked up like an insert, against the table as it is
// now (Flink does the same): a delete after the table changed retracts a
// row that was never emitted. Use a regular join when the stream updates.
//
// State holds the table's rows, counted, under their join key:
//
//	kg(2) | key values | row → count (varint)
//
// so that a stream row's matches are the one range kg | key values (the
// key encoding is prefix-free). Table rows whose key has a NULL match
// nothing and are not kept.
//
// A join that opens with no table rows in state (a new view) holds the
// stream's changes until its first barrier: the table's input sends what
// the table holds (its backfill) before that barrier, so no stream row
// is looked up in a table not loaded yet. Later lives start from the
// state they committed.
type LookupJoin struct {
	o  LookupJoinOptions
	st StateTable
	// loading: no barrier yet since a start with empty state; held are
	// the stream changes meanwhile.
	loading bool
	held    []heldChange
	// cache holds the table rows of recently looked-up keys (kg | key
	// values → rows, a row once per copy), so that a hot key is matched
	// without a state scan; a table change of a key drops its entry.
	cache map[string][]types.Row

	keyVals types.Row
	keyBuf  []byte
	vbuf    []byte
}

var _ Operator = (*LookupJoin)(nil)

// LookupJoinOptions configures NewLookupJoin.
type LookupJoinOptions struct {
	// StreamKeys and TableKeys compute the equated values (of equal
	// types, pairwise) from a stream row and from a table row.
	StreamKeys, TableKeys []expr.Func
	// Cond is the rest of the join condition, over the joined row (stream
	// columns then table columns); nil for none.
	Cond func(types.Row, *expr.Env) (bool, error)
	Env  *expr.Env
	// Errs absorbs the errors of keys (NULL: no match) and of Cond
	// (false); nil fails.
	Errs     *ExprErrors
	CondText string
	// StreamWidth and TableWidth are the sides' column counts.
	StreamWidth, TableWidth int
	// Outer emits a stream row without a match, NULL-padded (LEFT JOIN).
	Outer bool
}

// NewLookupJoin returns a LookupJoin.
func NewLookupJoin(o LookupJoinOptions) (*LookupJoin, error) {
	if len(o.StreamKeys) == 0 || len(o.StreamKeys) != len(o.TableKeys) {
		return nil, fmt.Errorf("lookup join: %d stream keys and %d table keys", len(o.StreamKeys), len(o.TableKeys))
	}
	if o.Env == nil {
		o.Env = &expr.Env{}
	}
	return &LookupJoin{o: o, keyVals: make(types.Row, len(o.StreamKeys))}, nil
}

type heldChange struct {
	op  Op
	row types.Row
}

// Open takes the state, where the table's rows are.
func (j *LookupJoin) Open(_ context.Context, oc *OpContext) error {
	j.st = oc.State
	if j.st == nil {
		j.st = NewMemTable()
	}
	j.loading = true
	err := j.st.Scan([]byte{}, nil, func(_, _ []byte) error {
		j.loading = false
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	return nil
}

// key computes row's join key into j.keyBuf (kg | key values); ok is
// false when a value is NULL.
func (j *LookupJoin) key(keys []expr.Func, row types.Row) (ok bool, err error) {
	for k, f := range keys {
		v, err := f(row, j.o.Env)
		if err != nil {
			if err := j.o.Errs.Absorb("lookup join key", err); err != nil {
				return false, err
			}
			v = types.Null
		}
		if v.IsNull() {
			return false, nil
		}
		j.keyVals[k] = v
	}
	j.keyBuf = appendGroupPrefix(j.keyBuf[:0], j.keyVals)
	return true, nil
}

// lookupCacheKeys bounds the keys the cache holds; past it the cache is
// emptied (a table of reference data usually has fewer hot keys).
const lookupCacheKeys = 65536

// rowsOf returns the table rows under prefix (kg | key values).
func (j *LookupJoin) rowsOf(prefix []byte) ([]types.Row, error) {
	if rows, ok := j.cache[string(prefix)]; ok {
		return rows, nil
	}
	var rows []types.Row
	err := j.st.Scan(prefix, prefixEnd(prefix), func(k, v []byte) error {
		right, _, err := readRow(k[len(prefix):])
		if err != nil {
			return fmt.Errorf("lookup join: stored row: %w", err)
		}
		n, _, err := readVarint(v)
		if err != nil {
			return fmt.Errorf("lookup join: stored count: %w", err)
		}
		for ; n > 0; n-- {
			rows = append(rows, right)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if j.cache == nil || len(j.cache) >= lookupCacheKeys {
		j.cache = map[string][]types.Row{}
	}
	j.cache[string(prefix)] = rows
	return rows, nil
}

// Process looks stream rows up (input 0) or applies table changes (1).
func (j *LookupJoin) Process(ctx context.Context, input int, b *Batch, out Output) error {
	for i := 0; i < b.Len(); i++ {
		if i%64 == 63 && ctx.Err() != nil {
			return ctx.Err()
		}
		var err error
		if input == 1 {
			err = j.applyTable(b.Op(i).Positive(), b.Row(i))
		} else if j.loading {
			j.held = append(j.held, heldChange{b.Op(i), slices.Clone(b.Row(i))})
		} else {
			err = j.lookup(b.Op(i), b.Row(i), out)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (j *LookupJoin) applyTable(positive bool, row types.Row) error {
	ok, err := j.key(j.o.TableKeys, row)
	if err != nil || !ok {
		return err
	}
	delete(j.cache, string(j.keyBuf))
	k := appendRow(j.keyBuf, row)
	j.keyBuf = k
	old, present, err := j.st.Get(k)
	if err != nil {
		return fmt.Errorf("lookup join: %w", err)
	}
	var n int64
	if present {
		if n, _, err = readVarint(old); err != nil {
			return fmt.Errorf("lookup join: stored count: %w", err)
		}
	}
	if positive {
		n++
	} else {
		n--
	}
	if n <= 0 {
		if present {
			return j.st.Delete(k)
		}
		return nil
	}
	j.vbuf = binary.AppendVarint(j.vbuf[:0], n)
	return j.st.Put(k, j.vbuf)
}

func (j *LookupJoin) lookup(op Op, row types.Row, out Output) error {
	ok, err := j.key(j.o.StreamKeys, row)
	if err != nil {
		return err
	}
	matched := false
	if ok {
		rows, err := j.rowsOf(j.keyBuf)
		if err != nil {
			return err
		}
		for _, right := range rows {
			joined := make(types.Row, 0, j.o.StreamWidth+j.o.TableWidth)
			joined = append(append(joined, row...), right...)
			if j.o.Cond != nil {
				pass, err := j.o.Cond(joined, j.o.Env)
				if err != nil {
					if err := j.o.Errs.Absorb("lookup join condition "+j.o.CondText, err); err != nil {
						return err
					}
					pass = false
				}
				if !pass {
					continue
				}
			}
			matched = true
			out.Emit(op, joined)
		}
	}
	if !matched && j.o.Outer {
		joined := make(types.Row, j.o.StreamWidth+j.o.TableWidth)
		copy(joined, row)
		for i := j.o.StreamWidth; i < len(joined); i++ {
			joined[i] = types.Null
		}
		out.Emit(op, joined)
	}
	return nil
}

// OnWatermark passes the watermark on (the runtime forwards it).
func (j *LookupJoin) OnWatermark(context.Context, Watermark, Output) error { return nil }

// OnBarrier looks the held stream changes up once the table is loaded;
// otherwise every change is in state already.
func (j *LookupJoin) OnBarrier(ctx context.Context, _ Barrier, out Output) error {
	if !j.loading {
		return nil
	}
	j.loading = false
	for i, h := range j.held {
		if i%64 == 63 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := j.lookup(h.op, h.row, out); err != nil {
			return err
		}
	}
	j.held = nil
	return nil
}

func (j *LookupJoin) Close() error { return nil }

// watermarkDeaf is an operator some of whose inputs do not hold its
// watermark back.
type watermarkDeaf interface {
	IgnoresWatermark(input int) bool
}

// IgnoresWatermark: a lookup join's output time is its stream's; the
// table's changes (which have no event time) do not hold it back.
func (j *LookupJoin) IgnoresWatermark(input int) bool { return input == 1 }
