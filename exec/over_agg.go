package exec

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// OverAgg computes aggregates OVER (PARTITION BY ... ORDER BY <event
// time> ROWS|RANGE BETWEEN ... PRECEDING AND CURRENT ROW) over an
// append-only input, with Flink's semantics: each row waits until the
// watermark passes its time (no row of the same or an earlier time can
// come any more), then rows are taken in time order (ties in arrival
// order) and each emits one Insert: its own columns, then the aggregates
// over its frame. A ROWS frame is the row and the n rows before it in its
// partition; a RANGE frame is every row of the partition whose time is in
// [t - interval, t], so rows of one time (peers) share their aggregates.
// Rows behind the watermark when they arrive are dropped and counted
// (Late), as are rows with a NULL time, which cannot be ordered.
//
// State, per partition, is the rows waiting for the watermark and what
// the frame needs: the last n rows' aggregate arguments (ROWS), or those
// of the rows within the interval (RANGE; older ones leave as the
// watermark passes, and an emptied partition leaves with them).
//
// Processing is in (time, arrival) order over all partitions at once, so
// output is in that order too; one queue of processed rows in that order
// is also the RANGE frames' expiry order.
type OverAgg struct {
	o     OverAggOptions
	kinds []aggKind
	st    StateTable
	wm    int64
	seq   int64 // arrival number of the next row (restored at Open)
	// storedSeq is the seq state holds; wmDirty says wm is not stored.
	storedSeq int64
	parts     map[string]*overPart
	// pending are the rows waiting for the watermark, least (time, seq)
	// first; expiry holds RANGE frames' rows in processing order.
	pending    overHeap
	expiry     []*overEntry
	expiryHead int
	// dirty are the entries whose stored form may differ from what state
	// holds, since the last barrier.
	dirty   []*overEntry
	wmDirty bool
	late    atomic.Int64
	// memBytes estimates the rows held in memory (all of the operator's
	// state is): what cacheStats reports and o.Budget counts.
	memBytes int64

	keyRow types.Row
	kbuf   []byte
	sbuf   []byte
	vbuf   []byte
	run    []*overEntry
}

// OverAggOptions configures OverAgg.
type OverAggOptions struct {
	// Partition computes the PARTITION BY values (none: one partition).
	Partition []expr.Func
	// PartitionTexts, when set, are the PARTITION BY expressions as
	// written, for absorbed errors.
	PartitionTexts []string
	// TimeCol is the input column of event time the rows are ordered by
	// (TIMESTAMP, or BIGINT microseconds).
	TimeCol int
	// Rows selects a ROWS frame of Preceding rows before the current one;
	// otherwise the frame is RANGE, Preceding microseconds before it.
	Rows      bool
	Preceding int64
	// Aggs are the aggregates (COUNT, SUM, AVG, MIN, MAX; no DISTINCT);
	// Args their compiled StreamArg() (compiled from Aggs when nil).
	Aggs []*expr.Agg
	Args []expr.Func
	Env  *expr.Env
	// Errs absorbs expression errors: a partition value or an argument
	// that cannot be computed is NULL. nil fails.
	Errs *ExprErrors
	// Budget, when set, counts the rows held in memory (every row of the
	// state is), so that the caches sharing it make room.
	Budget *CacheBudget
}

// Validate checks the options and compiles missing arguments.
func (o *OverAggOptions) Validate() error {
	if len(o.Aggs) == 0 {
		return sqlerr.Newf(sqlerr.Internal, "OVER aggregation needs aggregates")
	}
	if o.Preceding < 0 {
		return sqlerr.Newf(sqlerr.InvalidParameterValue, "the frame's PRECEDING bound must not be negative")
	}
	if o.TimeCol < 0 {
		return sqlerr.Newf(sqlerr.Internal, "OVER aggregation needs a time column")
	}
	for _, a := range o.Aggs {
		if err := CheckOverAgg(a); err != nil {
			return err
		}
	}
	ao := AggOptions{Aggs: o.Aggs, Args: o.Args}
	if err := ao.validateArgs(); err != nil {
		return err
	}
	o.Args = ao.Args
	return nil
}

// CheckOverAgg reports whether OverAgg computes a over a frame: COUNT,
// SUM, AVG, MIN or MAX, without DISTINCT.
func CheckOverAgg(a *expr.Agg) error {
	switch a.Name {
	case "count", "sum", "avg", "min", "max":
		if !a.Distinct {
			return nil
		}
		return sqlerr.Newf(sqlerr.FeatureNotSupported, "%s OVER a frame is not supported: DISTINCT in a window aggregate", a)
	}
	return sqlerr.Newf(sqlerr.FeatureNotSupported, "%s OVER a frame is not supported", a).
		WithHint("Continuous OVER aggregates are COUNT, SUM, AVG, MIN and MAX.")
}

// overPart is one partition: its frame (oldest first) and the
// aggregates over it.
type overPart struct {
	prefix  string // kg | encoded partition key
	frame   []*overEntry
	head    int // frame[head:] is the frame
	accs    []expr.Acc
	ext     [][]extVal // MIN/MAX: a monotonic queue per aggregate
	pending int        // rows waiting for the watermark
}

// extVal is a value of a MIN/MAX monotonic queue: the queue holds, in
// frame order, each row's value that no later row's value beats, so its
// first value is the frame's best.
type extVal struct {
	seq int64
	v   types.Value
}

// overEntry is one row: waiting (row set), then, once processed, in its
// partition's frame (args set) until it leaves it.
type overEntry struct {
	part    *overPart
	ts, seq int64
	row     types.Row     // waiting: the input row, with room for the aggregates
	args    []types.Value // processed: the aggregates' arguments
	stored  byte          // what state holds for it: 0, entryPending, entryFrame
	want    byte          // what it should hold
	inDirty bool
}

const (
	entryPending byte = 'p'
	entryFrame   byte = 'f'
)

// State keys (the state package's order-preserving codec):
//
//	row        kg(2) | partition key | time | seq  → 'p' row  |  'f' arguments
//	metadata   0xFF 0xFF | name                       (outside every key group)
var metaOverSeq = []byte{0xFF, 0xFF, 's'}

var _ Operator = (*OverAgg)(nil)

// NewOverAgg returns an OverAgg; its output rows are the input row, then
// the aggregates.
func NewOverAgg(o OverAggOptions) (*OverAgg, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	kinds := make([]aggKind, len(o.Aggs))
	for i, a := range o.Aggs {
		switch {
		case a.Name == "count" && a.Arg == nil:
			kinds[i] = kCountStar
		case a.Name == "count":
			kinds[i] = kCount
		case a.Name == "min":
			kinds[i] = kMin
		case a.Name == "max":
			kinds[i] = kMax
		default:
			kinds[i] = kSum
		}
	}
	return &OverAgg{o: o, kinds: kinds, wm: math.MinInt64, parts: map[string]*overPart{},
		keyRow: make(types.Row, len(o.Partition))}, nil
}

// Late returns the number of rows dropped because the watermark had
// passed their time when they came (or their time was NULL).
func (a *OverAgg) Late() int64 { return a.late.Load() }

// Watermark returns the last watermark seen (restored at Open).
func (a *OverAgg) Watermark() int64 { return a.wm }

// Open restores the watermark, the waiting rows and the frames.
func (a *OverAgg) Open(_ context.Context, oc *OpContext) error {
	if oc.State == nil {
		return sqlerr.Newf(sqlerr.Internal, "OVER aggregation needs a state table")
	}
	a.st = oc.State
	a.mem(-a.memBytes)
	a.wm, a.seq = math.MinInt64, 0
	clear(a.parts)
	a.pending = a.pending[:0]
	a.expiry, a.expiryHead = a.expiry[:0], 0
	a.dirty = a.dirty[:0]
	for _, m := range []struct {
		key []byte
		to  *int64
	}{{metaWatermark, &a.wm}, {metaOverSeq, &a.seq}} {
		val, ok, err := a.st.Get(m.key)
		if err != nil {
			return fmt.Errorf("read OVER state: %w", err)
		}
		if ok {
			if *m.to, _, err = state.ReadInt64(val); err != nil {
				return fmt.Errorf("read OVER state: %w", err)
			}
		}
	}
	a.storedSeq, a.wmDirty = a.seq, false
	var frames []*overEntry
	err := a.st.Scan([]byte{0, 0}, []byte{0xFF, 0xFF}, func(k, v []byte) error {
		if len(k) < 18 || len(v) == 0 {
			return fmt.Errorf("OVER state entry of %d bytes", len(k))
		}
		prefix := string(k[:len(k)-16])
		ts, rest, err := state.ReadInt64(k[len(k)-16:])
		if err != nil {
			return err
		}
		seq, _, err := state.ReadInt64(rest)
		if err != nil {
			return err
		}
		p := a.parts[prefix]
		if p == nil {
			p = a.newPart(prefix)
		}
		e := &overEntry{part: p, ts: ts, seq: seq, stored: v[0], want: v[0]}
		row, _, err := readRow(v[1:])
		if err != nil {
			return err
		}
		switch v[0] {
		case entryPending:
			e.row = make(types.Row, len(row), len(row)+len(a.o.Aggs))
			copy(e.row, row)
			a.mem(overEntryBytes + valuesBytes(cap(e.row)))
			p.pending++
			heap.Push(&a.pending, e)
		case entryFrame:
			e.args = row
			a.mem(overEntryBytes + valuesBytes(len(row)))
			frames = append(frames, e)
		default:
			return fmt.Errorf("OVER state entry of kind %q", v[0])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore OVER state: %w", err)
	}
	// Frames come back per partition in (time, seq) order: the order
	// they were processed in, which the expiry queue needs over all
	// partitions.
	sortEntries(frames)
	for _, e := range frames {
		if err := a.enter(e); err != nil {
			return fmt.Errorf("restore OVER state: %w", err)
		}
		if !a.o.Rows {
			a.expiry = append(a.expiry, e)
		}
	}
	return nil
}

func (a *OverAgg) newPart(prefix string) *overPart {
	p := &overPart{prefix: prefix, accs: make([]expr.Acc, len(a.o.Aggs)), ext: make([][]extVal, len(a.o.Aggs))}
	a.parts[prefix] = p
	return p
}

// Process buffers each row until the watermark passes its time, dropping
// rows it has passed already.
func (a *OverAgg) Process(_ context.Context, _ int, b *Batch, _ Output) error {
	for i := 0; i < b.Len(); i++ {
		if !b.Op(i).Positive() {
			return sqlerr.Newf(sqlerr.FeatureNotSupported, "an OVER aggregate needs an append-only input, and a row was retracted")
		}
		row := b.Row(i)
		tv := row[a.o.TimeCol]
		if tv.IsNull() || tv.Int() < a.wm {
			a.late.Add(1)
			continue
		}
		for j, f := range a.o.Partition {
			v, err := f(row, a.o.Env)
			if err != nil {
				if err = a.o.Errs.Absorb(exprText("PARTITION BY", a.o.PartitionTexts, j), err); err != nil {
					return err
				}
				v = types.Null
			}
			a.keyRow[j] = v
		}
		a.kbuf = appendGroupPrefix(a.kbuf[:0], a.keyRow)
		p := a.parts[string(a.kbuf)]
		if p == nil {
			p = a.newPart(string(a.kbuf))
		}
		// The batch's row is the runtime's: keep a copy, with room for
		// the aggregates it will be emitted with.
		r := make(types.Row, len(row), len(row)+len(a.o.Aggs))
		copy(r, row)
		e := &overEntry{part: p, ts: tv.Int(), seq: a.seq, row: r, want: entryPending}
		a.mem(overEntryBytes + valuesBytes(cap(r)))
		a.seq++
		p.pending++
		a.markDirty(e)
		heap.Push(&a.pending, e)
	}
	return nil
}

func (a *OverAgg) markDirty(e *overEntry) {
	if !e.inDirty {
		e.inDirty = true
		a.dirty = append(a.dirty, e)
	}
}

// OnWatermark processes, in (time, arrival) order, every waiting row whose
// time the watermark has passed, emitting each with its frame's
// aggregates; then RANGE frames let go of the rows no later row needs.
func (a *OverAgg) OnWatermark(_ context.Context, wm Watermark, out Output) error {
	if wm.Micros <= a.wm {
		return nil
	}
	a.wm, a.wmDirty = wm.Micros, true
	for len(a.pending) > 0 && a.pending[0].ts < a.wm {
		// A run of one time: a RANGE frame holds all of a row's peers,
		// so each run enters the frames before any of it is emitted.
		t := a.pending[0].ts
		a.run = a.run[:0]
		for len(a.pending) > 0 && a.pending[0].ts == t {
			a.run = append(a.run, heap.Pop(&a.pending).(*overEntry))
		}
		if a.o.Rows {
			for _, e := range a.run {
				if err := a.process(e); err != nil {
					return err
				}
				if err := a.emit(e, out); err != nil {
					return err
				}
				// The next row's frame is it and the n rows before it.
				for p := e.part; len(p.frame)-p.head > int(a.o.Preceding); {
					a.leave(p)
				}
			}
			continue
		}
		for _, e := range a.run {
			if err := a.process(e); err != nil {
				return err
			}
			a.expiry = append(a.expiry, e)
			for p := e.part; p.frame[p.head].ts < subSat(t, a.o.Preceding); {
				a.leave(p)
			}
		}
		for _, e := range a.run {
			if err := a.emit(e, out); err != nil {
				return err
			}
		}
	}
	clear(a.run)
	if !a.o.Rows {
		a.expire(subSat(a.wm, a.o.Preceding))
	}
	return nil
}

// subSat is t - d, or math.MinInt64 when that would overflow.
func subSat(t, d int64) int64 {
	if t < math.MinInt64+d {
		return math.MinInt64
	}
	return t - d
}

// process computes a waiting row's arguments and adds it to its frame.
func (a *OverAgg) process(e *overEntry) error {
	e.args = make([]types.Value, len(a.o.Aggs))
	for i, f := range a.o.Args {
		if f == nil {
			continue // COUNT(*)
		}
		v, err := f(e.row, a.o.Env)
		if err != nil {
			if err = a.o.Errs.Absorb(a.o.Aggs[i].String(), err); err != nil {
				return err
			}
			v = types.Null
		}
		e.args[i] = v
	}
	a.mem(valuesBytes(len(e.args)))
	e.part.pending--
	e.want = entryFrame
	a.markDirty(e)
	return a.enter(e)
}

// enter adds a processed row to its partition's frame.
func (a *OverAgg) enter(e *overEntry) error {
	p := e.part
	for i, k := range a.kinds {
		switch k {
		case kSum, kCount:
			if err := p.accs[i].Add(e.args[i], 1); err != nil {
				return err
			}
		case kMin, kMax:
			v := e.args[i]
			if v.IsNull() {
				continue
			}
			// Values the new one beats (or equals) can never be a
			// frame's best again: they leave the frame before it.
			q := p.ext[i]
			for len(q) > 0 && !better(k, q[len(q)-1].v, v) {
				q = q[:len(q)-1]
			}
			p.ext[i] = append(q, extVal{seq: e.seq, v: v})
		}
	}
	p.frame = append(p.frame, e)
	return nil
}

// leave takes the oldest row out of p's frame.
func (a *OverAgg) leave(p *overPart) {
	e := p.frame[p.head]
	p.frame[p.head] = nil
	p.head++
	if p.head == len(p.frame) {
		p.frame, p.head = p.frame[:0], 0
	} else if p.head >= 32 && p.head*2 >= len(p.frame) {
		n := copy(p.frame, p.frame[p.head:])
		clear(p.frame[n:])
		p.frame, p.head = p.frame[:n], 0
	}
	for i, k := range a.kinds {
		switch k {
		case kSum, kCount:
			// Taking out what was added cannot overflow.
			_ = p.accs[i].Add(e.args[i], -1)
		case kMin, kMax:
			if q := p.ext[i]; len(q) > 0 && q[0].seq == e.seq {
				p.ext[i] = q[1:]
				if len(p.ext[i]) == 0 {
					p.ext[i] = nil
				}
			}
		}
	}
	a.mem(-overEntryBytes - valuesBytes(len(e.args)))
	e.want, e.args = 0, nil
	a.markDirty(e)
	if p.head == len(p.frame) && p.pending == 0 {
		delete(a.parts, p.prefix)
	}
}

// expire takes every row older than before out of the RANGE frames.
func (a *OverAgg) expire(before int64) {
	for a.expiryHead < len(a.expiry) && a.expiry[a.expiryHead].ts < before {
		e := a.expiry[a.expiryHead]
		a.expiry[a.expiryHead] = nil
		a.expiryHead++
		// A row may have left already, when a later row of its partition
		// came; else it is the oldest of its frame.
		if p := e.part; e.want == entryFrame && p.head < len(p.frame) && p.frame[p.head] == e {
			a.leave(p)
		}
	}
	if a.expiryHead == len(a.expiry) {
		a.expiry, a.expiryHead = a.expiry[:0], 0
	} else if a.expiryHead >= 1024 && a.expiryHead*2 >= len(a.expiry) {
		n := copy(a.expiry, a.expiry[a.expiryHead:])
		clear(a.expiry[n:])
		a.expiry, a.expiryHead = a.expiry[:n], 0
	}
}

// emit sends e's row with its frame's aggregates; the row is the
// runtime's from then on.
func (a *OverAgg) emit(e *overEntry, out Output) error {
	p := e.part
	row := e.row
	e.row = nil
	a.mem(-valuesBytes(cap(row)))
	for i, k := range a.kinds {
		var v types.Value
		switch k {
		case kCountStar:
			v = types.NewInt(int64(len(p.frame) - p.head))
		case kMin, kMax:
			if q := p.ext[i]; len(q) > 0 {
				v = q[0].v
			}
		default:
			var err error
			if v, err = a.o.Aggs[i].AccResult(&p.accs[i]); err != nil {
				// A DECIMAL sum out of range: NULL and counted, as any
				// expression error.
				if err = a.o.Errs.Absorb(a.o.Aggs[i].String(), err); err != nil {
					return err
				}
				v = types.Null
			}
		}
		row = append(row, v)
	}
	out.Emit(Insert, row)
	return nil
}

// OnBarrier writes what changed since the last barrier: rows that came,
// rows that were processed and rows that left their frames.
func (a *OverAgg) OnBarrier(context.Context, Barrier, Output) error {
	for _, e := range a.dirty {
		e.inDirty = false
		if e.want == e.stored {
			continue // a frame row's arguments never change
		}
		a.sbuf = append(a.sbuf[:0], e.part.prefix...)
		a.sbuf = state.AppendInt64(state.AppendInt64(a.sbuf, e.ts), e.seq)
		var err error
		switch e.want {
		case 0:
			err = a.st.Delete(a.sbuf)
		case entryPending:
			a.vbuf = appendRow(append(a.vbuf[:0], entryPending), e.row)
			err = a.st.Put(a.sbuf, a.vbuf)
		case entryFrame:
			a.vbuf = appendRow(append(a.vbuf[:0], entryFrame), e.args)
			err = a.st.Put(a.sbuf, a.vbuf)
		}
		if err != nil {
			return fmt.Errorf("write OVER state: %w", err)
		}
		e.stored = e.want
	}
	clear(a.dirty)
	a.dirty = a.dirty[:0]
	if a.wmDirty {
		a.wmDirty = false
		if err := a.st.Put(metaWatermark, state.AppendInt64(nil, a.wm)); err != nil {
			return fmt.Errorf("write watermark: %w", err)
		}
	}
	if a.seq != a.storedSeq {
		a.storedSeq = a.seq
		if err := a.st.Put(metaOverSeq, state.AppendInt64(nil, a.seq)); err != nil {
			return fmt.Errorf("write OVER sequence: %w", err)
		}
	}
	return nil
}

// Close drops the operator's memory.
func (a *OverAgg) Close() error {
	a.mem(-a.memBytes)
	a.parts, a.pending, a.expiry, a.dirty = nil, nil, nil, nil
	return nil
}

// overEntryBytes is an entry's memory less its values: the struct and
// its places in the heap, a frame, the expiry queue and the dirty list.
const overEntryBytes = int64(unsafe.Sizeof(overEntry{})) + 4*8

// valuesBytes is the memory of n values (their text out of line is not
// counted).
func valuesBytes(n int) int64 { return int64(n) * int64(unsafe.Sizeof(types.Value{})) }

// mem adds n bytes to what the operator holds, and to its budget.
func (a *OverAgg) mem(n int64) {
	a.memBytes += n
	a.o.Budget.Add(n)
}

// cacheStats reports the partitions and the rows' memory: all of the
// state is in memory, so every lookup hits.
func (a *OverAgg) cacheStats() cacheStats {
	return cacheStats{keys: int64(len(a.parts)), bytes: a.memBytes}
}

// Partitions returns the number of partitions held (for tests).
func (a *OverAgg) Partitions() int { return len(a.parts) }

// overHeap orders waiting rows by (time, arrival).
type overHeap []*overEntry

func (h overHeap) Len() int { return len(h) }
func (h overHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].seq < h[j].seq
}
func (h overHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *overHeap) Push(x any)   { *h = append(*h, x.(*overEntry)) }
func (h *overHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

func sortEntries(es []*overEntry) {
	slices.SortFunc(es, func(x, y *overEntry) int {
		if x.ts != y.ts {
			return cmp.Compare(x.ts, y.ts)
		}
		return cmp.Compare(x.seq, y.seq)
	})
}
