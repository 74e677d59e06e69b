package exec

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// HashJoin is an equi-join of two changelogs (a symmetric hash join),
// inner or outer on either side: each side keeps its rows in state,
// counted, under their join key;
// a change on one side is matched against the other side's rows with the
// same key and emitted at once, joined left then right. A pair is emitted
// when the later of its two rows arrives, so every pair appears once
// whatever the order of arrival, and a delete retracts exactly the pairs
// its row made.
//
// Rows whose key has a NULL never match and are not kept. Update pairs
// leave as a delete and an insert: the two halves need not match the same
// rows. A row of an outer side also keeps its degree (how many rows of the
// other side it matches): at 0 it is emitted NULL-padded, a padded row
// retracted when its first match comes and emitted again when its last
// one goes.
//
// Without a closing key or an expiry both sides' state grows with the
// input, as a regular join's does in Flink and RisingWave. With one (a window bound
// equated on both sides), the rows of a window are dropped at the first
// barrier after the watermark passes it: no row of that window can come
// from either side after that barrier (every operator upstream emits what
// it holds at each barrier) but a late one: a row of a window already
// dropped is dropped too and counted (Late), as Flink's window join drops
// the rows of a window that has fired, and so is a row straight from a
// window assigner (DropLate) whose window its side's watermark had passed.
// Without a closing key nothing is late: a regular join keeps every row.
//
// With an expiry (see JoinExpiry: an interval join's time condition), a
// side's rows are dropped too, each at the first barrier after the
// watermark passes its deadline.
//
// The rows of recently used keys, both sides, are also held in memory
// (up to CacheBytes, estimated): a key read from state once is then matched
// without a state scan. Changes reach state at each barrier (and before
// the cache drops keys): one write per changed row per epoch, none for a
// row that came and went, expired or closed within it. A key the cache does
// not hold is read from state only if state may have rows of it: not when
// every row of its kind came through this operator since it opened (state
// held no row at Open or, with a closing key, none of its bound) and the
// key was never dropped from the cache (a hash of each dropped key is
// kept). Most keys of a join on a unique or new value (a bid's price, a
// window) are new, and each scan of state costs a Badger iterator.
//
// State keys:
//
//	row           kg(2) | key values | side | row   → count, degree (varints; no degree when 0)
//	closing index 0xFF 0xFF 'c' | bound(8)       → (empty)
//
// The key values are the closing key first (when there is one), so that
// one window's rows are one range per key group; kg is a hash of the
// encoded key values, which are prefix-free, so a key's rows (both
// sides) are the one range kg | key values.
type HashJoin struct {
	o      JoinOptions
	st     StateTable
	wm     int64
	closes []int64 // bounds with rows in state, sorted

	// closedWM is the watermark of the last barrier (restored at Open):
	// the windows it closed are gone, and their rows late.
	closedWM int64
	late     atomic.Int64
	sideWM   [2]int64 // each input's own watermark (OnInputWatermark)

	cache       map[string]*joinEntry // by kg | key values
	cachedBytes int
	// hits and misses count entry's lookups found in the cache and not
	// (then read from state, or known absent); published at barriers.
	hits, misses int64

	// See mayHold. stateRows: state may hold rows of any key (it held
	// some at Open, or evicted got too large); heldBounds: with a closing
	// key, the bounds that may have rows in state regardless of evicted;
	// evicted: hashes of the keys dropped from the cache; evictedBounds:
	// the bounds of those keys (a bound in neither has all its rows in
	// the cache, which is what dropBound reads then).
	stateRows     bool
	heldBounds    map[int64]bool
	evicted       map[uint64]struct{}
	evictedBounds map[int64]bool
	seed          maphash.Seed
	keyBuf        []byte
	otherKey      []byte
	valBuf        []byte
	keyVals       types.Row

	// expiring holds the rows of sides with an expiry (see JoinExpiry),
	// soonest deadline first.
	expiring expiryHeap
	// dirty holds the rows changed since state was last written (see
	// flush).
	dirty []*joinRow
	// emptied holds the cached entries whose last row expired, dropped
	// from the cache after the flush (see dropEmptied).
	emptied []*joinEntry
	// detached holds the rows of expiring sides that are in the heap
	// but not in the cache, by state key (see release).
	detached map[string]*joinRow
	// expired counts the rows dropped from state at their deadline (see
	// interval_join.go).
	expired atomic.Int64
}

// joinEntry is one key's rows, per side, by their encoding (a side's map
// is made with its first row), and what they take in memory (estimated).
type joinEntry struct {
	key   string // kg | key values, as in the cache
	sides [2]map[string]*joinRow
	bytes int
	bound int64 // the closing key's value, with one
}

// joinEntryBytes and joinRowBytes estimate the memory of a cache entry and
// of a row in it besides its values' text: map slots, headers, the row's
// encoding (counted by the caller) and a Value per column.
const (
	joinEntryBytes = 160
	joinRowBytes   = 96
	valueBytes     = 40
)

func rowMemory(row types.Row, encoded int) int {
	n := joinRowBytes + encoded + valueBytes*len(row)
	for _, v := range row {
		switch v.Kind() {
		case types.String, types.Bytes, types.JSON, types.Decimal:
			n += len(v.Str())
		}
	}
	return n
}

type joinRow struct {
	row types.Row
	n   int64
	// Where it is (its entry, side and encoding: its state key); whether
	// it has left already (deleted, expired or dropped), whether state
	// holds it, and whether state is behind (it is on j.dirty).
	e      *joinEntry
	enc    string
	side   uint8
	gone   bool
	stored bool
	dirty  bool
	// degree counts the other side's rows this one matches (with their
	// copies), kept for an outer side: at 0 it stands NULL-padded.
	degree int64
}

// DefaultJoinCacheBytes bounds the memory of a HashJoin's cache of rows.
const DefaultJoinCacheBytes = 128 << 20

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
	// Errs absorbs the errors of keys (a key that cannot be computed is
	// NULL: the row matches nothing) and of Cond (false); nil fails.
	Errs *ExprErrors
	// KeyTexts (left, right) and CondText, when set, are the expressions
	// as written, for absorbed errors.
	KeyTexts [2][]string
	CondText string
	// LeftWidth and RightWidth are the sides' column counts.
	LeftWidth, RightWidth int
	// CloseKey is the index of the key that closes (a TIMESTAMP window
	// bound), or -1: a value v is closed once the watermark reaches
	// v + CloseAfter microseconds.
	CloseKey   int
	CloseAfter int64
	// CacheBytes bounds the memory of the rows kept in memory, estimated
	// (0: DefaultJoinCacheBytes).
	CacheBytes int
	// Budget, when set, is shared with other caches: the cache also
	// evicts while the budget's total is over its limit.
	Budget *CacheBudget
	// DropLate marks the sides whose rows come straight from a window
	// assigner (TUMBLE, HOP): with a closing key, a row of such a side whose
	// window its side's watermark has passed when it arrives is late,
	// dropped and counted, as Flink's window join drops it. Rows of the other sides
	// (aggregates, which emit at barriers) are late only once their window
	// was dropped at a barrier.
	DropLate [2]bool
	// Outer marks the sides whose rows without a match are emitted too,
	// with NULLs for the other side's columns: {true, false} is a LEFT
	// JOIN, {false, true} a RIGHT JOIN.
	Outer [2]bool
	// Expire, per side (left, right), says when a row of that side can
	// no longer make or unmake a pair: then it is dropped, from the cache
	// and from state. Late, per side, says which rows of that side are
	// late: dropped and counted (see interval_join.go).
	Expire [2]JoinExpiry
	Late   [2]JoinLate
}

// Validate checks the options.
func (o *JoinOptions) Validate() error {
	if len(o.LeftKeys) == 0 || len(o.LeftKeys) != len(o.RightKeys) {
		return fmt.Errorf("join: %d left keys and %d right keys", len(o.LeftKeys), len(o.RightKeys))
	}
	if o.CloseKey >= len(o.LeftKeys) {
		return fmt.Errorf("join: closing key %d of %d", o.CloseKey, len(o.LeftKeys))
	}
	for side, w := range []int{o.LeftWidth, o.RightWidth} {
		if x := o.Expire[side]; x.Set && (x.Col < 0 || x.Col >= w) {
			return fmt.Errorf("join: expiry column %d of %d", x.Col, w)
		}
		if x := o.Late[side]; x.Set && (x.Col < 0 || x.Col >= w) {
			return fmt.Errorf("join: late column %d of %d", x.Col, w)
		}
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
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultJoinCacheBytes
	}
	return &HashJoin{o: o, wm: math.MinInt64, closedWM: math.MinInt64, sideWM: [2]int64{math.MinInt64, math.MinInt64}, keyVals: make(types.Row, len(o.LeftKeys)), cache: map[string]*joinEntry{},
		heldBounds: map[int64]bool{}, evicted: map[uint64]struct{}{}, evictedBounds: map[int64]bool{}, seed: maphash.MakeSeed()}, nil
}

const (
	sideLeft  = 0
	sideRight = 1
)

var (
	metaCloses   = []byte{0xFF, 0xFF, 'c'}
	metaClosedWM = []byte{0xFF, 0xFF, 'w'}
)

// Late returns the number of rows dropped as late: of a window already
// closed, or behind the watermark in an interval join (see JoinLate).
func (j *HashJoin) Late() int64 { return j.late.Load() }

// OnInputWatermark notes each side's own watermark: a side's row is late
// (DropLate) by its own input's watermark, the one it was late for at its
// source, whatever the other side has reached, so that the verdict does
// not depend on how the two inputs interleave.
func (j *HashJoin) OnInputWatermark(input int, micros int64) {
	j.sideWM[input] = max(j.sideWM[input], micros)
}

// DropsLate reports whether the join drops late rows: with a closing key
// (a join of windows) or as an interval join, not as a regular join.
func (j *HashJoin) DropsLate() bool { return j.o.CloseKey >= 0 || j.interval() }

// errStop ends a Scan early.
var errStop = errors.New("stop")

// Open reads the closing index, or without a closing key whether state
// holds any row; rows stay in state until probed.
func (j *HashJoin) Open(_ context.Context, oc *OpContext) error {
	j.st = oc.State
	if j.st == nil {
		j.st = NewMemTable()
	}
	if j.o.CloseKey >= 0 || j.interval() {
		if b, ok, err := j.st.Get(metaClosedWM); err != nil {
			return fmt.Errorf("join: read watermark: %w", err)
		} else if ok {
			if j.closedWM, _, err = state.ReadInt64(b); err != nil {
				return fmt.Errorf("join: read watermark: %w", err)
			}
			j.wm = max(j.wm, j.closedWM)
		}
	}
	if err := j.openInterval(); err != nil {
		return err
	}
	if j.o.CloseKey < 0 {
		err := j.st.Scan([]byte{}, metaCloses, func(_, _ []byte) error {
			j.stateRows = true
			return errStop
		})
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
		return nil
	}
	return j.st.Scan(metaCloses, prefixEnd(metaCloses), func(k, _ []byte) error {
		if len(k) != len(metaCloses)+8 {
			return fmt.Errorf("join: bad closing index key %x", k)
		}
		bound := int64(binary.BigEndian.Uint64(k[len(metaCloses):]) ^ (1 << 63))
		j.closes = append(j.closes, bound)
		j.heldBounds[bound] = true
		return nil
	})
}

// mayHold says whether state may hold rows of the key prefix (kg | key
// values of j.keyVals) that the cache does not.
func (j *HashJoin) mayHold(prefix []byte) bool {
	if j.stateRows || (j.o.CloseKey >= 0 && j.heldBounds[j.keyVals[j.o.CloseKey].Micros()]) {
		return true
	}
	_, ok := j.evicted[maphash.Bytes(j.seed, prefix)]
	return ok
}

// Process applies each change to its side's state and emits the pairs it
// makes or unmakes with the other side.
func (j *HashJoin) Process(ctx context.Context, input int, b *Batch, out Output) error {
	side, keys := sideLeft, j.o.LeftKeys
	if input == sideRight {
		side, keys = sideRight, j.o.RightKeys
	}
	for i := 0; i < b.Len(); i++ {
		// A row of a hot key may make thousands of pairs: a pipeline being
		// stopped (DROP) does not wait for the rest of the batch.
		if i%64 == 63 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := j.apply(side, keys, b.Op(i).Positive(), b.Row(i), out); err != nil {
			return err
		}
	}
	return nil
}

func (j *HashJoin) apply(side int, keys []expr.Func, positive bool, row types.Row, out Output) error {
	if j.skip(side, row) {
		return nil
	}
	op := Delete
	if positive {
		op = Insert
	}
	for k, f := range keys {
		v, err := f(row, j.o.Env)
		if err != nil {
			if err := j.o.Errs.Absorb(exprText("join key", j.o.KeyTexts[side], k), err); err != nil {
				return err
			}
			v = types.Null
		}
		if v.IsNull() {
			// NULL equals nothing: the row never has a match.
			if j.o.Outer[side] {
				out.Emit(op, j.padded(side, row))
			}
			return nil
		}
		j.keyVals[k] = v
	}
	if j.o.CloseKey >= 0 {
		if end := j.keyVals[j.o.CloseKey].Micros() + j.o.CloseAfter; end <= j.closedWM || (j.o.DropLate[side] && end <= j.sideWM[side]) {
			j.late.Add(1)
			return nil
		}
		// Rows of a window the watermark has passed may still come, up to
		// the next barrier, which is when the window's rows are dropped.
		if err := j.noteClose(j.keyVals[j.o.CloseKey].Micros()); err != nil {
			return err
		}
	}
	// keyBuf: kg | key values | side | row.
	j.keyBuf = j.appendKeyPrefix(j.keyBuf[:0], j.keyVals)
	prefixLen := len(j.keyBuf)
	e, err := j.entry(j.keyBuf)
	if err != nil {
		return err
	}
	j.keyBuf = append(j.keyBuf, byte(side))
	j.keyBuf = appendRow(j.keyBuf, row)

	other := 1 - side
	var degree int64 // this row's matches on the other side, copies counted
	for _, m := range e.sides[other] {
		joined := j.joined(side, row, m.row)
		if j.o.Cond != nil {
			ok, err := j.o.Cond(joined, j.o.Env)
			if err != nil {
				if err := j.o.Errs.Absorb(exprText("join condition", []string{j.o.CondText}, 0), err); err != nil {
					return err
				}
				ok = false
			}
			if !ok {
				continue
			}
		}
		degree += m.n
		if !j.o.Outer[other] {
			emitN(out, op, joined, m.n)
			continue
		}
		// m's first match retracts its NULL-padded row; its last match
		// leaving brings it back.
		if positive {
			if m.degree == 0 {
				emitN(out, Delete, j.padded(other, m.row), m.n)
			}
			m.degree++
			emitN(out, Insert, joined, m.n)
		} else {
			m.degree--
			emitN(out, Delete, joined, m.n)
			if m.degree == 0 {
				emitN(out, Insert, j.padded(other, m.row), m.n)
			}
		}
		j.mark(m)
	}
	if j.o.Outer[side] && degree == 0 {
		out.Emit(op, j.padded(side, row))
	}
	return j.count(e, side, j.keyBuf, prefixLen+1, row, positive, degree)
}

// appendKeyPrefix appends a key's state prefix, kg | key values (the
// closing key first, when there is one).
func (j *HashJoin) appendKeyPrefix(b []byte, vals types.Row) []byte {
	start := len(b)
	b = append(b, 0, 0)
	if j.o.CloseKey >= 0 {
		b = appendKeyValue(b, vals[j.o.CloseKey])
	}
	for k, v := range vals {
		if k != j.o.CloseKey {
			b = appendKeyValue(b, v)
		}
	}
	binary.BigEndian.PutUint16(b[start:], keyGroupOf(b[start+2:]))
	return b
}

// joined is the output row of a pair: left columns, then right ones.
func (j *HashJoin) joined(side int, row, match types.Row) types.Row {
	joined := make(types.Row, 0, j.o.LeftWidth+j.o.RightWidth)
	if side == sideLeft {
		return append(append(joined, row...), match...)
	}
	return append(append(joined, match...), row...)
}

// padded is an outer side's row with NULLs (zero Values) for the other
// side's columns.
func (j *HashJoin) padded(side int, row types.Row) types.Row {
	p := make(types.Row, j.o.LeftWidth+j.o.RightWidth)
	if side == sideLeft {
		copy(p, row)
	} else {
		copy(p[j.o.LeftWidth:], row)
	}
	return p
}

func emitN(out Output, op Op, row types.Row, n int64) {
	for ; n > 0; n-- {
		out.Emit(op, row)
	}
}

// entry returns the rows of the key prefix (kg | key values), from the
// cache or read from state into it.
func (j *HashJoin) entry(prefix []byte) (*joinEntry, error) {
	if e, ok := j.cache[string(prefix)]; ok {
		j.hits++
		return e, nil
	}
	j.misses++
	e := &joinEntry{key: string(prefix), bytes: joinEntryBytes + len(prefix)}
	if j.o.CloseKey >= 0 {
		e.bound = j.keyVals[j.o.CloseKey].Micros()
	}
	if !j.mayHold(prefix) {
		return e, j.admit(e.key, e)
	}
	err := j.st.Scan(prefix, prefixEnd(prefix), func(k, v []byte) error {
		rest := k[len(prefix):]
		if len(rest) == 0 || rest[0] > sideRight {
			return fmt.Errorf("join: bad state key %x", k)
		}
		r, _, err := readRow(rest[1:])
		if err != nil {
			return fmt.Errorf("join: row in state: %w", err)
		}
		n, v, err := readVarint(v)
		if err != nil {
			return fmt.Errorf("join: count in state: %w", err)
		}
		var degree int64
		if len(v) > 0 {
			if degree, _, err = readVarint(v); err != nil {
				return fmt.Errorf("join: degree in state: %w", err)
			}
		}
		if e.sides[rest[0]] == nil {
			e.sides[rest[0]] = map[string]*joinRow{}
		}
		enc := string(rest[1:])
		jr, attached := j.attach(k, e, r, n, degree)
		if !attached {
			jr = &joinRow{row: r, n: n, degree: degree, stored: true}
			j.place(e, int(rest[0]), enc, jr)
		}
		e.sides[rest[0]][enc] = jr
		e.bytes += rowMemory(r, len(rest)-1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, j.admit(e.key, e)
}

// admit caches e under key, evicting others first if it does not fit.
func (j *HashJoin) admit(key string, e *joinEntry) error {
	if j.cachedBytes+e.bytes > j.o.CacheBytes || j.o.Budget.Over() {
		if err := j.evict(e.bytes); err != nil {
			return err
		}
	}
	j.cache[key] = e
	j.grow(e.bytes)
	return nil
}

// grow counts n more bytes in the cache (less when negative), here and in
// the shared budget.
func (j *HashJoin) grow(n int) {
	j.cachedBytes += n
	j.o.Budget.Add(int64(n))
}

// evict drops keys from the cache (Go's map order: a random pick) until
// need more bytes fit in three quarters of it and the shared budget is
// under its limit, noting each key's hash in evicted (see mayHold). Past
// maxEvicted hashes it forgets them and treats every key seen so far as
// possibly in state. State is brought up to date first: a key not cached
// is read from state.
func (j *HashJoin) evict(need int) error {
	if err := j.flush(); err != nil {
		return err
	}
	for k, e := range j.cache {
		if j.cachedBytes+need <= j.o.CacheBytes*3/4 && !j.o.Budget.Over() {
			break
		}
		delete(j.cache, k)
		j.grow(-e.bytes)
		j.release(e)
		if j.o.CloseKey >= 0 {
			j.evictedBounds[e.bound] = true
		}
		if !j.stateRows {
			j.evicted[maphash.String(j.seed, k)] = struct{}{}
		}
	}
	if len(j.evicted) > j.o.CacheBytes/evictedHashRatio {
		clear(j.evicted)
		if j.o.CloseKey < 0 {
			j.stateRows = true
		}
		for _, b := range j.closes {
			j.heldBounds[b] = true
		}
	}
	return nil
}

// evictedHashRatio bounds the evicted hashes to one per this many bytes
// of the cache's limit (a hash takes about 20 bytes of map).
const evictedHashRatio = 256

// count adds one to (or takes one from) the row's count, in the cache
// (state follows at the next flush), with its degree (its matches, for an outer side); key is its
// state key, with the row's encoding from rowAt.
func (j *HashJoin) count(e *joinEntry, side int, key []byte, rowAt int, row types.Row, positive bool, degree int64) error {
	rows := e.sides[side]
	r, ok := rows[string(key[rowAt:])]
	switch {
	case ok && positive:
		r.n++
	case ok:
		r.n--
	case positive:
		// A copy: the input row may share its memory with many others
		// (a decoder's or a window's slab) that the cache must not keep.
		r = &joinRow{row: slices.Clone(row), n: 1}
		if rows == nil {
			rows = map[string]*joinRow{}
			e.sides[side] = rows
		}
		enc := string(key[rowAt:])
		rows[enc] = r
		j.place(e, side, enc, r)
		size := rowMemory(row, len(key)-rowAt)
		e.bytes += size
		j.grow(size)
	default:
		return fmt.Errorf("join: a row was deleted that was never inserted")
	}
	if r.n == 0 {
		r.gone = true
		delete(rows, string(key[rowAt:]))
		size := rowMemory(r.row, len(key)-rowAt)
		e.bytes -= size
		j.grow(-size)
	} else if j.o.Outer[side] {
		r.degree = degree
	}
	j.mark(r)
	return nil
}

// mark notes that state is behind on r.
func (j *HashJoin) mark(r *joinRow) {
	if !r.dirty {
		r.dirty = true
		j.dirty = append(j.dirty, r)
	}
}

// flush writes the rows changed since the last flush to state: once per
// row however often it changed, and not at all for a row that came and
// went (or expired, or closed) in between. It runs at each barrier, so
// that the epoch's state is whole, and before the cache drops keys.
func (j *HashJoin) flush() error {
	for i, r := range j.dirty {
		j.dirty[i] = nil
		r.dirty = false
		j.otherKey = append(append(append(j.otherKey[:0], r.e.key...), r.side), r.enc...)
		if r.gone || r.n == 0 {
			if r.stored {
				if err := j.st.Delete(j.otherKey); err != nil {
					return err
				}
				r.stored = false
			}
			continue
		}
		j.valBuf = r.appendValue(j.valBuf[:0])
		if err := j.st.Put(j.otherKey, j.valBuf); err != nil {
			return err
		}
		r.stored = true
	}
	j.dirty = j.dirty[:0]
	return nil
}

// appendValue appends a row's state value: its count, and its degree when
// it has one.
func (r *joinRow) appendValue(b []byte) []byte {
	b = binary.AppendVarint(b, r.n)
	if r.degree != 0 {
		b = binary.AppendVarint(b, r.degree)
	}
	return b
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
	if err := j.expire(); err != nil {
		return err
	}
	for len(j.closes) > 0 && j.closes[0]+j.o.CloseAfter <= j.wm {
		if err := j.dropBound(j.closes[0]); err != nil {
			return err
		}
		j.closes = j.closes[1:]
	}
	if err := j.flush(); err != nil {
		return err
	}
	j.dropEmptied()
	if (j.o.CloseKey >= 0 || j.interval()) && j.wm > j.closedWM {
		j.closedWM = j.wm
		if err := j.st.Put(metaClosedWM, state.AppendInt64(nil, j.wm)); err != nil {
			return err
		}
	}
	return nil
}

// dropEmptied drops from the cache the entries whose rows all expired: a
// join on a value that recurs (a price) would otherwise fill its cache
// with empty keys. Unlike an evicted key's, theirs is not noted (see
// mayHold): state holds none of their rows once flushed.
func (j *HashJoin) dropEmptied() {
	for i, e := range j.emptied {
		j.emptied[i] = nil
		if j.cache[e.key] == e && len(e.sides[0]) == 0 && len(e.sides[1]) == 0 {
			delete(j.cache, e.key)
			j.grow(-e.bytes)
		}
	}
	j.emptied = j.emptied[:0]
}

// dropBound deletes both sides' rows whose closing key is bound, in
// state and in the cache. When the cache holds all of the bound's rows
// (see evictedBounds), they are the ones deleted; otherwise each key
// group's range of the bound is scanned.
func (j *HashJoin) dropBound(bound int64) error {
	enc := appendKeyValue(nil, types.NewTimestamp(bound))
	cached := !j.heldBounds[bound] && !j.evictedBounds[bound]
	var doomed [][]byte
	prefix := make([]byte, 2, 2+len(enc))
	for kg := 0; kg < KeyGroups && !cached; kg++ {
		binary.BigEndian.PutUint16(prefix, uint16(kg))
		p := append(prefix[:2], enc...)
		err := j.st.Scan(p, prefixEnd(p), func(k, _ []byte) error {
			doomed = append(doomed, bytes.Clone(k))
			return nil
		})
		if err != nil {
			return err
		}
	}
	for k, e := range j.cache {
		if !strings.HasPrefix(k[2:], string(enc)) {
			continue
		}
		for side, rows := range e.sides {
			for row, r := range rows {
				// Only a row state holds needs deleting (the scan found
				// it when not cached); the others were never written.
				if cached && r.stored {
					doomed = append(doomed, append(append([]byte(k), byte(side)), row...))
				}
				r.gone, r.stored = true, false
			}
		}
		delete(j.cache, k)
		j.grow(-e.bytes)
		j.release(e)
	}
	for _, k := range doomed {
		if err := j.st.Delete(k); err != nil {
			return err
		}
	}
	delete(j.heldBounds, bound)
	delete(j.evictedBounds, bound)
	return j.st.Delete(closeKey(bound))
}

// Close drops the cache.
func (j *HashJoin) Close() error {
	j.grow(-j.cachedBytes)
	j.cache = nil
	j.expiring, j.detached = nil, nil
	return nil
}
