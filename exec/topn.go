package exec

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/google/btree"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// RankKind is the ranking function a TopN filters on.
type RankKind uint8

const (
	// RankRowNumber numbers rows 1, 2, ...; peers (equal on the ORDER BY
	// keys) in arrival order.
	RankRowNumber RankKind = iota
	// RankRank gives peers the same rank and skips: 1, 1, 3.
	RankRank
	// RankDense gives peers the same rank without gaps: 1, 1, 2.
	RankDense
)

// TopNOptions configure TopN.
type TopNOptions struct {
	// Partition computes a row's partition key; Order its ORDER BY keys,
	// Desc[i] for descending ones (NULLs last ascending, first
	// descending, as a query's ORDER BY).
	Partition []expr.Func
	Order     []expr.Func
	Desc      []bool
	Rank      RankKind
	// Lo and Hi are the ranks kept, both included (rn <= 3 is 1, 3).
	Lo, Hi int64
	// EmitRank appends each row's rank to it; otherwise NULL is appended
	// (the query does not read the rank), so that a row whose rank moves
	// within Lo..Hi is not emitted again.
	EmitRank bool
	// AppendOnly says the input only inserts: a row that ranks after Hi
	// can never come back, so it is not kept.
	AppendOnly bool
	// KeepFirst (with ROW_NUMBER, Lo = Hi = 1 and an append-only input) is
	// deduplication keeping each partition's first row: once a row is
	// emitted it stays, and the output only inserts. A later row that
	// orders before it is dropped and counted in Late.
	KeepFirst bool
	// CloseCol, when >= 0, makes a window top-N: a partition closes once
	// the watermark reaches row[CloseCol] + CloseAfter (its window's
	// end); its state is dropped then, and rows that arrive for it later
	// are dropped and counted in Late. With EmitOnClose its rows are
	// emitted only when it closes, as inserts.
	CloseCol    int
	CloseAfter  int64
	EmitOnClose bool
	Env         *expr.Env
	Errs        *ExprErrors
	// CachePartitions bounds the partitions kept in memory between
	// barriers (0: defaultTopNCache); the others are read back from the
	// state table when a row of theirs comes. A window top-N keeps its
	// open windows in memory.
	CachePartitions int
}

const defaultTopNCache = 1 << 16

// TopN keeps, per partition, the rows whose rank (ROW_NUMBER, RANK or
// DENSE_RANK over the ORDER BY keys) lies in Lo..Hi, and emits the
// changes to that set: an input row entering or leaving it, and, with
// EmitRank, a kept row whose rank moves (as an update pair).
//
// State: every row that can still rank Lo..Hi, under
// kg | partition key | seq → row, seq numbering rows in arrival order.
// Over an append-only input that is at most Hi rows per partition (more
// with RANK or DENSE_RANK only for ties at rank Hi): a row pushed past Hi
// is deleted. Over an updating input every live row of the partition is
// kept, since a retraction of a kept row promotes the next one (Flink's
// retractable top-N keeps the same). A window top-N drops a partition's
// rows when its window closes.
type TopN struct {
	o     TopNOptions
	st    StateTable
	parts map[string]*topPart
	seq   uint64
	wm    int64
	late  atomic.Int64
	kbuf  []byte
	vbuf  []byte
	// old and cur are scratch lists of the kept rows before and after a
	// change.
	old, cur []topOut
	// gone holds the partitions with rows in the state table that are not
	// in memory (let go at a barrier, or not read yet since Open): a
	// partition in neither is new, and needs no read of state.
	gone map[string]struct{}
	// epoch counts barriers; a partition notes the last it was used in.
	epoch uint64
	// scans counts partitions read back from state.
	scans int64
	// free is the B-tree nodes' free list the partitions share.
	free *btree.FreeListG[*topEnt]
}

// topPart is one partition's rows in rank order (ORDER BY keys, then seq).
type topPart struct {
	prefix string // kg | partition key
	ents   topEnts
	end    int64  // window top-N: the partition's window end
	used   uint64 // TopN.epoch when a row of it last came
}

type topEnt struct {
	row   types.Row
	order []types.Value
	seq   uint64
}

type topOut struct {
	ent  *topEnt
	rank int64
}

var metaTopNSeq = []byte{0xFF, 0xFF, 's'}

var _ Operator = (*TopN)(nil)

// NewTopN returns a TopN whose output rows are the input's followed by
// the rank (or NULL, without EmitRank).
func NewTopN(o TopNOptions) (*TopN, error) {
	if o.Lo < 1 || o.Hi < o.Lo {
		return nil, sqlerr.Newf(sqlerr.Internal, "top-N ranks %d..%d", o.Lo, o.Hi)
	}
	if len(o.Desc) != len(o.Order) {
		return nil, sqlerr.Newf(sqlerr.Internal, "top-N: %d ORDER BY keys, %d directions", len(o.Order), len(o.Desc))
	}
	if o.KeepFirst && (o.Rank != RankRowNumber || o.Lo != 1 || o.Hi != 1 || !o.AppendOnly) {
		return nil, sqlerr.Newf(sqlerr.Internal, "top-N: keep-first needs ROW_NUMBER, rank 1 and an append-only input")
	}
	if o.Env == nil {
		o.Env = &expr.Env{}
	}
	if o.CachePartitions <= 0 {
		o.CachePartitions = defaultTopNCache
	}
	return &TopN{o: o, parts: map[string]*topPart{}, gone: map[string]struct{}{}, wm: math.MinInt64,
		free: btree.NewFreeListG[*topEnt](btree.DefaultFreeListSize)}, nil
}

// Late returns the rows dropped: rows of a closed window (window top-N),
// and, with KeepFirst, rows that came after their partition's first.
func (t *TopN) Late() int64 { return t.late.Load() }

// Partitions returns the partitions in memory.
func (t *TopN) Partitions() int { return len(t.parts) }

// Open restores the arrival counter and the watermark; a window top-N
// loads its open windows.
func (t *TopN) Open(_ context.Context, oc *OpContext) error {
	t.st = oc.State
	clear(t.parts)
	clear(t.gone)
	t.seq, t.wm = 0, math.MinInt64
	if v, ok, err := t.st.Get(metaTopNSeq); err != nil {
		return fmt.Errorf("top-N: read arrival counter: %w", err)
	} else if ok {
		if t.seq, _, err = state.ReadUint64(v); err != nil {
			return fmt.Errorf("top-N: read arrival counter: %w", err)
		}
	}
	if v, ok, err := t.st.Get(metaWatermark); err != nil {
		return fmt.Errorf("top-N: read watermark: %w", err)
	} else if ok {
		if t.wm, _, err = state.ReadInt64(v); err != nil {
			return fmt.Errorf("top-N: read watermark: %w", err)
		}
	}
	if t.o.CloseCol < 0 {
		// Which partitions have rows in state? (Their rows are read when
		// one of theirs comes.)
		err := t.st.Scan(nil, []byte{0xFF}, func(k, _ []byte) error {
			if len(k) < 10 {
				return fmt.Errorf("top-N: short state key %x", k)
			}
			t.gone[string(k[:len(k)-8])] = struct{}{}
			return nil
		})
		if err != nil {
			return fmt.Errorf("top-N: read state: %w", err)
		}
		return nil
	}
	// A window top-N keeps every open window in memory: closing one
	// needs its rows, and windows close on the watermark, not on a row.
	end := []byte{0xFF}
	err := t.st.Scan(nil, end, func(k, v []byte) error {
		if len(k) < 10 {
			return fmt.Errorf("top-N: short state key %x", k)
		}
		prefix := string(k[:len(k)-8])
		p := t.parts[prefix]
		if p == nil {
			p = &topPart{prefix: prefix}
			t.parts[prefix] = p
		}
		e, err := t.decode(k, v)
		if err != nil {
			return err
		}
		p.ents.insert(e, t.compare, t.free)
		p.end = e.row[t.o.CloseCol].Micros() + t.o.CloseAfter
		return nil
	})
	if err != nil {
		return fmt.Errorf("top-N: load open windows: %w", err)
	}
	return nil
}

func (t *TopN) decode(k, v []byte) (*topEnt, error) {
	seq, _, err := state.ReadUint64(k[len(k)-8:])
	if err != nil {
		return nil, fmt.Errorf("top-N: state key %x: %w", k, err)
	}
	row, _, err := readRow(v)
	if err != nil {
		return nil, fmt.Errorf("top-N: state row: %w", err)
	}
	e := &topEnt{row: row, seq: seq}
	if e.order, err = t.orderOf(row); err != nil {
		return nil, err
	}
	return e, nil
}

// orderOf computes a row's ORDER BY values: NULL for one that fails,
// the error counted (see ExprErrors).
func (t *TopN) orderOf(row types.Row) ([]types.Value, error) {
	vals := make([]types.Value, len(t.o.Order))
	for i, f := range t.o.Order {
		v, err := f(row, t.o.Env)
		if err != nil {
			if err := t.o.Errs.Absorb("ORDER BY", err); err != nil {
				return nil, err
			}
			v = types.Null
		}
		vals[i] = v
	}
	return vals, nil
}

// partition finds or loads the partition of row.
func (t *TopN) partition(row types.Row) (*topPart, error) {
	t.kbuf = t.kbuf[:0]
	start := len(t.kbuf)
	t.kbuf = append(t.kbuf, 0, 0)
	for _, f := range t.o.Partition {
		v, err := f(row, t.o.Env)
		if err != nil {
			if err := t.o.Errs.Absorb("PARTITION BY", err); err != nil {
				return nil, err
			}
			v = types.Null
		}
		t.kbuf = appendKeyValue(t.kbuf, v)
	}
	binary.BigEndian.PutUint16(t.kbuf[start:], keyGroupOf(t.kbuf[start+2:]))
	if p, ok := t.parts[string(t.kbuf)]; ok {
		p.used = t.epoch
		return p, nil
	}
	p := &topPart{prefix: string(t.kbuf), used: t.epoch}
	if _, ok := t.gone[p.prefix]; !ok {
		// Every partition with rows is in memory or gone (every open
		// window is in memory, for a window top-N: see Open): a new one.
		t.parts[p.prefix] = p
		return p, nil
	}
	delete(t.gone, p.prefix)
	t.scans++
	stop := prefixEnd([]byte(p.prefix))
	err := t.st.Scan([]byte(p.prefix), stop, func(k, v []byte) error {
		e, err := t.decode(k, v)
		if err == nil {
			p.ents.insert(e, t.compare, t.free)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("top-N: load partition: %w", err)
	}
	t.parts[p.prefix] = p
	return p, nil
}

func (t *TopN) compare(a, b *topEnt) int {
	if c := CompareOrder(a.order, b.order, t.o.Desc); c != 0 {
		return c
	}
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// kept lists p's rows ranked Lo..Hi into dst, with their ranks.
func (t *TopN) kept(p *topPart, dst []topOut) []topOut {
	dst = dst[:0]
	var rank, dense, i int64
	var prev *topEnt
	p.ents.ascend(nil, t.compare, func(e *topEnt) bool {
		i++
		peer := prev != nil && CompareOrder(prev.order, e.order, t.o.Desc) == 0
		prev = e
		switch t.o.Rank {
		case RankRowNumber:
			rank = i
		case RankRank:
			if !peer {
				rank = i
			}
		case RankDense:
			if !peer {
				dense++
			}
			rank = dense
		}
		if rank > t.o.Hi {
			return false
		}
		if rank >= t.o.Lo {
			dst = append(dst, topOut{ent: e, rank: rank})
		}
		return true
	})
	return dst
}

// trim drops, over an append-only input, the rows past rank Hi: no
// retraction can bring them back.
func (t *TopN) trim(p *topPart) error {
	if !t.o.AppendOnly {
		return nil
	}
	// keep says whether the last row stays.
	keep := func(*topEnt) bool { return int64(p.ents.len()) <= t.o.Hi }
	if t.o.Rank != RankRowNumber {
		cur := t.kept(p, t.cur)
		t.cur = cur
		if len(cur) == 0 {
			// Nothing ranks Lo..Hi yet: every row may still rank below
			// Lo (or, with Lo = 1, there is none).
			return nil
		}
		lastKept := cur[len(cur)-1].ent
		keep = func(e *topEnt) bool { return e == lastKept }
	}
	for e := p.ents.last(); e != nil && !keep(e); e = p.ents.last() {
		p.ents.removeLast()
		if err := t.st.Delete(t.entKey(p, e)); err != nil {
			return err
		}
	}
	return nil
}

func (t *TopN) entKey(p *topPart, e *topEnt) []byte {
	t.kbuf = append(append(t.kbuf[:0], p.prefix...), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint64(t.kbuf[len(t.kbuf)-8:], e.seq)
	return t.kbuf
}

// Process applies each change to its partition and emits the change of
// the partition's kept rows.
func (t *TopN) Process(_ context.Context, _ int, b *Batch, out Output) error {
	for i := 0; i < b.Len(); i++ {
		op, row := b.Op(i), b.Row(i)
		p, err := t.partition(row)
		if err != nil {
			return err
		}
		if t.o.CloseCol >= 0 {
			v := row[t.o.CloseCol]
			if v.IsNull() || v.Micros()+t.o.CloseAfter <= t.wm {
				t.late.Add(1)
				if p.ents.len() == 0 {
					delete(t.parts, p.prefix)
				}
				continue
			}
			p.end = v.Micros() + t.o.CloseAfter
		}
		if t.o.KeepFirst {
			if err := t.keepFirst(p, row, out); err != nil {
				return err
			}
			continue
		}
		if op.Positive() && t.o.AppendOnly {
			skip, err := t.pastHi(p, row)
			if err != nil {
				return err
			}
			if skip {
				continue
			}
		}
		emit := !t.o.EmitOnClose
		if emit {
			t.old = append(t.old[:0], t.kept(p, t.old)...)
		}
		if op.Positive() {
			err = t.insert(p, row)
		} else {
			err = t.remove(p, row)
		}
		if err != nil {
			return err
		}
		if emit {
			t.cur = t.kept(p, t.cur)
			t.diff(t.old, t.cur, out)
		}
		if err := t.trim(p); err != nil {
			return err
		}
		if p.ents.len() == 0 {
			delete(t.parts, p.prefix)
		}
	}
	return nil
}

// pastHi reports whether row, inserted over an append-only input, would
// rank past Hi, changing nothing: the partition already holds Hi rows
// (Hi peer groups, for DENSE_RANK) and row orders after all of them (or
// with the last, for ROW_NUMBER, whose peers rank in arrival order).
func (t *TopN) pastHi(p *topPart, row types.Row) (bool, error) {
	if int64(p.ents.len()) < t.o.Hi {
		return false, nil
	}
	order, err := t.orderOf(row)
	if err != nil {
		return false, err
	}
	c := CompareOrder(order, p.ents.last().order, t.o.Desc)
	switch t.o.Rank {
	case RankRowNumber:
		return c >= 0, nil
	case RankRank:
		return c > 0, nil
	}
	if c <= 0 {
		return false, nil
	}
	var groups int64
	var prev *topEnt
	p.ents.ascend(nil, t.compare, func(e *topEnt) bool {
		if prev == nil || CompareOrder(prev.order, e.order, t.o.Desc) != 0 {
			groups++
		}
		prev = e
		return groups < t.o.Hi
	})
	return groups >= t.o.Hi, nil
}

// keepFirst keeps a partition's first row and drops the others, counting
// those that order before it (out of order: a rank would have replaced
// the first row).
func (t *TopN) keepFirst(p *topPart, row types.Row, out Output) error {
	if p.ents.len() == 0 {
		if err := t.insert(p, row); err != nil {
			return err
		}
		out.Emit(Insert, t.outRow(p.ents.first(), 1))
		return nil
	}
	order, err := t.orderOf(row)
	if err != nil {
		return err
	}
	if CompareOrder(order, p.ents.first().order, t.o.Desc) < 0 {
		t.late.Add(1)
	}
	return nil
}

func (t *TopN) insert(p *topPart, row types.Row) error {
	order, err := t.orderOf(row)
	if err != nil {
		return err
	}
	t.seq++
	e := &topEnt{row: slices.Clone(row), order: order, seq: t.seq}
	p.ents.insert(e, t.compare, t.free)
	t.vbuf = appendRow(t.vbuf[:0], e.row)
	key := t.entKey(p, e)
	if np, ok := t.st.(newKeyPutter); ok {
		return np.PutNew(key, t.vbuf)
	}
	return t.st.Put(key, t.vbuf)
}

// remove deletes one row equal to row, the last to arrive of its equals.
func (t *TopN) remove(p *topPart, row types.Row) error {
	order, err := t.orderOf(row)
	if err != nil {
		return err
	}
	// seq 0 orders before every row (seqs start at 1) of these keys.
	var found *topEnt
	p.ents.ascend(&topEnt{order: order}, t.compare, func(e *topEnt) bool {
		if CompareOrder(e.order, order, t.o.Desc) != 0 {
			return false
		}
		if sameRow(e.row, row) {
			found = e
		}
		return true
	})
	if found == nil {
		// Not kept: over an append-only input it ranked past Hi (no
		// retraction comes then); otherwise never seen.
		return nil
	}
	if err := t.st.Delete(t.entKey(p, found)); err != nil {
		return err
	}
	p.ents.remove(found, t.compare)
	return nil
}

// sameRow reports whether two rows hold the same values, NULL equal to
// NULL: a retraction names the row it retracts by value.
func sameRow(a, b types.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].IsNull() != b[i].IsNull() || a[i].Kind() != b[i].Kind() {
			return false
		}
		if !a[i].IsNull() && expr.Compare(a[i], b[i]) != 0 {
			return false
		}
	}
	return true
}

func (t *TopN) outRow(e *topEnt, rank int64) types.Row {
	r := make(types.Row, len(e.row)+1)
	copy(r, e.row)
	if t.o.EmitRank {
		r[len(e.row)] = types.NewInt(rank)
	}
	return r
}

// diff emits the change from the kept rows old to cur: rows that left
// are deleted, rows that came inserted, and (with EmitRank) a row whose
// rank moved is an update pair.
//
// ROW_NUMBER's kept rows hold one rank each, Lo, Lo+1, ...: there the
// change is emitted rank by rank, a rank whose row changed as an update
// pair from its old row to its new one. The same rows leave and come,
// but each pair is one rank's, so a view keyed on (partition, rank)
// (planner's topNKey) stores each with one write. Without EmitRank that
// only holds for a single rank: else a row whose rank moved would be
// emitted again.
func (t *TopN) diff(old, cur []topOut, out Output) {
	if t.o.Rank == RankRowNumber && (t.o.EmitRank || t.o.Lo == t.o.Hi) {
		for i := range max(len(old), len(cur)) {
			switch {
			case i >= len(cur):
				out.Emit(Delete, t.outRow(old[i].ent, old[i].rank))
			case i >= len(old):
				out.Emit(Insert, t.outRow(cur[i].ent, cur[i].rank))
			case old[i].ent != cur[i].ent:
				out.Emit(UpdateDelete, t.outRow(old[i].ent, old[i].rank))
				out.Emit(UpdateInsert, t.outRow(cur[i].ent, cur[i].rank))
			}
		}
		return
	}
	rankOf := func(list []topOut, e *topEnt) (int64, bool) {
		for _, o := range list {
			if o.ent == e {
				return o.rank, true
			}
		}
		return 0, false
	}
	for _, o := range old {
		r, ok := rankOf(cur, o.ent)
		switch {
		case !ok:
			out.Emit(Delete, t.outRow(o.ent, o.rank))
		case t.o.EmitRank && r != o.rank:
			out.Emit(UpdateDelete, t.outRow(o.ent, o.rank))
			out.Emit(UpdateInsert, t.outRow(o.ent, r))
		}
	}
	for _, c := range cur {
		if _, ok := rankOf(old, c.ent); !ok {
			out.Emit(Insert, t.outRow(c.ent, c.rank))
		}
	}
}

// OnWatermark closes the windows whose end the watermark reached: their
// rows are emitted (with EmitOnClose) and their state dropped.
func (t *TopN) OnWatermark(_ context.Context, wm Watermark, out Output) error {
	if wm.Micros <= t.wm {
		return nil
	}
	t.wm = wm.Micros
	if t.o.CloseCol < 0 {
		return nil
	}
	var closing []*topPart
	for _, p := range t.parts {
		if p.end <= t.wm {
			closing = append(closing, p)
		}
	}
	// Close in key order: the output does not depend on map order.
	slices.SortFunc(closing, func(a, b *topPart) int {
		if a.end != b.end {
			return int(min(max(a.end-b.end, -1), 1))
		}
		return cmp.Compare(a.prefix, b.prefix)
	})
	for _, p := range closing {
		if t.o.EmitOnClose {
			for _, k := range t.kept(p, t.cur) {
				out.Emit(Insert, t.outRow(k.ent, k.rank))
			}
		}
		var err error
		p.ents.ascend(nil, t.compare, func(e *topEnt) bool {
			err = t.st.Delete(t.entKey(p, e))
			return err == nil
		})
		if err != nil {
			return err
		}
		delete(t.parts, p.prefix)
	}
	return nil
}

// OnBarrier writes the arrival counter and the watermark (the rows are
// written as they change) and, past the cache bound, lets go of the
// partitions no row came for since the last barrier, then of others down
// to the bound: their rows are in the state table. A partition that is
// let go is remembered (gone), so that one never seen needs no read of
// state: most partitions of a top-1 per key (deduplication) are new.
func (t *TopN) OnBarrier(context.Context, Barrier, Output) error {
	if err := t.st.Put(metaTopNSeq, state.AppendUint64(nil, t.seq)); err != nil {
		return err
	}
	if t.wm != math.MinInt64 {
		if err := t.st.Put(metaWatermark, state.AppendInt64(nil, t.wm)); err != nil {
			return err
		}
	}
	if t.o.CloseCol < 0 && len(t.parts) > t.o.CachePartitions {
		for _, cold := range []bool{true, false} {
			for k, p := range t.parts {
				if len(t.parts) <= t.o.CachePartitions {
					break
				}
				if cold && p.used == t.epoch {
					continue
				}
				delete(t.parts, k)
				t.gone[k] = struct{}{}
			}
		}
	}
	t.epoch++
	return nil
}

func (t *TopN) Close() error { return nil }
