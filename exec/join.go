package exec

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// HashJoin is an inner equi-join of two changelogs (a symmetric hash
// join): each side keeps its rows in state, counted, under their join key;
// a change on one side is matched against the other side's rows with the
// same key and emitted at once, joined left then right. A pair is emitted
// when the later of its two rows arrives, so every pair appears once
// whatever the order of arrival, and a delete retracts exactly the pairs
// its row made.
//
// Rows whose key has a NULL never match and are not kept. Update pairs
// leave as a delete and an insert: the two halves need not match the same
// rows.
//
// Without a closing key both sides' state grows with the input, as a
// regular join's does in Flink and RisingWave. With one (a window bound
// equated on both sides), the rows of a window are dropped at the first
// barrier after the watermark passes it: no row of that window can come
// from either side after that barrier (late rows are dropped upstream, and
// every operator upstream emits what it holds at each barrier).
//
// State keys:
//
//	row           kg(2) | side | key values | row   → count (varint)
//	closing index 0xFF 0xFF 'c' | bound(8)       → (empty)
//
// The key values are the closing key first (when there is one), so that
// one window's rows are one range per key group and side; kg is a hash of
// the encoded key values.
type HashJoin struct {
	o      JoinOptions
	st     StateTable
	wm     int64
	closes []int64 // bounds with rows in state, sorted

	keyBuf, probeBuf []byte
	keyVals          types.Row
	skipped          atomic.Int64
}

var _ Operator = (*HashJoin)(nil)

// JoinOptions configures a HashJoin.
type JoinOptions struct {
	// LeftKeys and RightKeys compute the equated values (of equal types,
	// pairwise) from a left and from a right row.
	LeftKeys, RightKeys []expr.Func
	// Cond is the rest of the join condition, over the joined row; nil
	// for none.
	Cond func(types.Row, *expr.Env) (bool, error)
	Env  *expr.Env
	// Policy is what a row whose key or condition fails does.
	Policy RowErrorPolicy
	// LeftWidth and RightWidth are the sides' column counts.
	LeftWidth, RightWidth int
	// CloseKey is the index of the key that closes (a TIMESTAMP window
	// bound), or -1: a value v is closed once the watermark reaches
	// v + CloseAfter microseconds.
	CloseKey   int
	CloseAfter int64
}

// Validate checks the options.
func (o *JoinOptions) Validate() error {
	if len(o.LeftKeys) == 0 || len(o.LeftKeys) != len(o.RightKeys) {
		return fmt.Errorf("join: %d left keys and %d right keys", len(o.LeftKeys), len(o.RightKeys))
	}
	if o.CloseKey >= len(o.LeftKeys) {
		return fmt.Errorf("join: closing key %d of %d", o.CloseKey, len(o.LeftKeys))
	}
	return nil
}

// NewHashJoin returns a HashJoin.
func NewHashJoin(o JoinOptions) (*HashJoin, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Env == nil {
		o.Env = &expr.Env{}
	}
	return &HashJoin{o: o, wm: math.MinInt64, keyVals: make(types.Row, len(o.LeftKeys))}, nil
}

const (
	sideLeft  byte = 1
	sideRight byte = 2
)

var metaCloses = []byte{0xFF, 0xFF, 'c'}

// Skipped counts rows dropped under SkipRow because an expression failed.
func (j *HashJoin) Skipped() int64 { return j.skipped.Load() }

// Open reads the closing index; rows stay in state until probed.
func (j *HashJoin) Open(_ context.Context, oc *OpContext) error {
	j.st = oc.State
	if j.st == nil {
		j.st = NewMemTable()
	}
	if j.o.CloseKey < 0 {
		return nil
	}
	return j.st.Scan(metaCloses, prefixEnd(metaCloses), func(k, _ []byte) error {
		if len(k) != len(metaCloses)+8 {
			return fmt.Errorf("join: bad closing index key %x", k)
		}
		j.closes = append(j.closes, int64(binary.BigEndian.Uint64(k[len(metaCloses):])^(1<<63)))
		return nil
	})
}

// Process applies each change to its side's state and emits the pairs it
// makes or unmakes with the other side.
func (j *HashJoin) Process(_ context.Context, input int, b *Batch, out Output) error {
	side, keys := sideLeft, j.o.LeftKeys
	if input == 1 {
		side, keys = sideRight, j.o.RightKeys
	}
	for i := 0; i < b.Len(); i++ {
		if err := j.apply(side, keys, b.Op(i).Positive(), b.Row(i), out); err != nil {
			return err
		}
	}
	return nil
}

func (j *HashJoin) apply(side byte, keys []expr.Func, positive bool, row types.Row, out Output) error {
	for k, f := range keys {
		v, err := f(row, j.o.Env)
		if err != nil {
			if j.o.Policy == SkipRow {
				j.skipped.Add(1)
				return nil
			}
			return err
		}
		if v.IsNull() {
			return nil // NULL equals nothing
		}
		j.keyVals[k] = v
	}
	if j.o.CloseKey >= 0 {
		// Rows of a window the watermark has passed may still come, up to
		// the next barrier, which is when the window's rows are dropped.
		if err := j.noteClose(j.keyVals[j.o.CloseKey].Micros()); err != nil {
			return err
		}
	}
	// keyBuf: kg | side | key values | row.
	j.keyBuf = j.keyBuf[:0]
	j.keyBuf = append(j.keyBuf, 0, 0, side)
	if j.o.CloseKey >= 0 {
		j.keyBuf = appendKeyValue(j.keyBuf, j.keyVals[j.o.CloseKey])
	}
	for k, v := range j.keyVals {
		if k != j.o.CloseKey {
			j.keyBuf = appendKeyValue(j.keyBuf, v)
		}
	}
	binary.BigEndian.PutUint16(j.keyBuf, keyGroupOf(j.keyBuf[3:]))
	prefixLen := len(j.keyBuf)
	j.keyBuf = appendRow(j.keyBuf, row)
	if err := j.count(j.keyBuf, positive); err != nil {
		return err
	}

	other := sideRight
	if side == sideRight {
		other = sideLeft
	}
	j.probeBuf = append(j.probeBuf[:0], j.keyBuf[:prefixLen]...)
	j.probeBuf[2] = other
	op := Delete
	if positive {
		op = Insert
	}
	return j.st.Scan(j.probeBuf, prefixEnd(j.probeBuf), func(k, v []byte) error {
		match, _, err := readRow(k[prefixLen:])
		if err != nil {
			return fmt.Errorf("join: row in state: %w", err)
		}
		n, _, err := readVarint(v)
		if err != nil {
			return fmt.Errorf("join: count in state: %w", err)
		}
		joined := make(types.Row, 0, j.o.LeftWidth+j.o.RightWidth)
		if side == sideLeft {
			joined = append(append(joined, row...), match...)
		} else {
			joined = append(append(joined, match...), row...)
		}
		if j.o.Cond != nil {
			ok, err := j.o.Cond(joined, j.o.Env)
			if err != nil {
				if j.o.Policy != SkipRow {
					return err
				}
				j.skipped.Add(1)
				ok = false
			}
			if !ok {
				return nil
			}
		}
		for ; n > 0; n-- {
			out.Emit(op, joined)
		}
		return nil
	})
}

// count adds one to (or takes one from) the row's count in state.
func (j *HashJoin) count(key []byte, positive bool) error {
	var n int64
	if v, ok, err := j.st.Get(key); err != nil {
		return err
	} else if ok {
		if n, _, err = readVarint(v); err != nil {
			return fmt.Errorf("join: count in state: %w", err)
		}
	}
	if positive {
		n++
	} else {
		n--
	}
	switch {
	case n < 0:
		return fmt.Errorf("join: a row was deleted that was never inserted")
	case n == 0:
		return j.st.Delete(key)
	}
	return j.st.Put(key, binary.AppendVarint(nil, n))
}

// noteClose records that state holds rows of bound, in the closing index.
func (j *HashJoin) noteClose(bound int64) error {
	i, found := slices.BinarySearch(j.closes, bound)
	if found {
		return nil
	}
	j.closes = slices.Insert(j.closes, i, bound)
	return j.st.Put(closeKey(bound), nil)
}

func closeKey(bound int64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clone(metaCloses), uint64(bound)^(1<<63))
}

// OnWatermark notes the watermark; closing waits for the barrier.
func (j *HashJoin) OnWatermark(_ context.Context, wm Watermark, _ Output) error {
	if wm.Micros > j.wm {
		j.wm = wm.Micros
	}
	return nil
}

// OnBarrier drops the rows of every closed window: everything of theirs
// has arrived by now (see HashJoin).
func (j *HashJoin) OnBarrier(context.Context, Barrier, Output) error {
	for len(j.closes) > 0 && j.closes[0]+j.o.CloseAfter <= j.wm {
		if err := j.dropBound(j.closes[0]); err != nil {
			return err
		}
		j.closes = j.closes[1:]
	}
	return nil
}

// dropBound deletes both sides' rows whose closing key is bound.
func (j *HashJoin) dropBound(bound int64) error {
	var enc []byte
	enc = appendKeyValue(enc, types.NewTimestamp(bound))
	var doomed [][]byte
	prefix := make([]byte, 3, 3+len(enc))
	for kg := 0; kg < KeyGroups; kg++ {
		for _, side := range []byte{sideLeft, sideRight} {
			binary.BigEndian.PutUint16(prefix, uint16(kg))
			prefix[2] = side
			p := append(prefix[:3], enc...)
			err := j.st.Scan(p, prefixEnd(p), func(k, _ []byte) error {
				doomed = append(doomed, bytes.Clone(k))
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	for _, k := range doomed {
		if err := j.st.Delete(k); err != nil {
			return err
		}
	}
	return j.st.Delete(closeKey(bound))
}

// Close does nothing: state lives in the table.
func (j *HashJoin) Close() error { return nil }
