package exec

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// WindowAgg aggregates per (group key, window) over rows that carry
// window_start and window_end (from Window). Its state is bounded by the
// watermark: when the watermark reaches a window's end the window closes,
// its final value is emitted and its state is freed. Rows of a window that
// has already closed (window_end <= watermark when they arrive) are
// dropped and counted as late.
//
// With EmitOnClose the output is append-only: each window's row is
// emitted once, as an Insert, when it closes (HAVING applied then).
// Without it the output is HashAgg's changelog, emitted at barriers, with
// a closing window's last change emitted when it closes.
//
// A group's summary is stored in the window index, under
// kg | 0xFE | window_end | group key, so that closing a window scans its
// groups' summaries, and a group costs one write when stored and one when
// its window closes.
type WindowAgg struct {
	c    *aggCore
	o    WindowAggOptions
	wm   int64
	ends map[int64]struct{} // window ends that have groups in state or in memory
	// unstored are the groups made since the last barrier, by window end:
	// closing a window finds its stored groups in the index and these in
	// memory.
	unstored map[int64][]*group
	// members are every group of a fresh window while none has left the
	// cache since the window was first seen (complete): such a window
	// closes from memory, with no scan of the index. A window is dropped
	// from here once an eviction makes it incomplete.
	members map[int64][]*group
	// restored are the window ends that had state at Open; fresh maps the
	// others, once seen, to the cache's eviction count then: while it has
	// not moved, every group of the window is in the cache, and a key
	// not there is new without a read of state (the read of a key that
	// is not there is most of the cost of a new group).
	restored map[int64]struct{}
	fresh    map[int64]uint64
	late     atomic.Int64
	ibuf     []byte
}

// WindowAggOptions configures WindowAgg.
type WindowAggOptions struct {
	AggOptions
	// WindowEnd is the index in Keys of the window_end column (TIMESTAMP).
	WindowEnd int
	// EmitOnClose selects EMIT ON WINDOW CLOSE: append-only output.
	EmitOnClose bool
}

var _ Operator = (*WindowAgg)(nil)

// NewWindowAgg returns a WindowAgg whose output rows are the keys, then
// the aggregates.
func NewWindowAgg(o WindowAggOptions) (*WindowAgg, error) {
	if o.WindowEnd < 0 || o.WindowEnd >= len(o.Keys) {
		return nil, sqlerr.Newf(sqlerr.Internal, "window_end key %d out of range of %d keys", o.WindowEnd, len(o.Keys))
	}
	c, err := newAggCore(o.AggOptions)
	if err != nil {
		return nil, err
	}
	w := &WindowAgg{c: c, o: o, wm: math.MinInt64, ends: map[int64]struct{}{},
		restored: map[int64]struct{}{}, fresh: map[int64]uint64{}, unstored: map[int64][]*group{},
		members: map[int64][]*group{}}
	c.absent = w.absent
	c.slabs = &groupSlabs{}
	c.summaryAt = func(dst []byte, prefix string, key types.Row) []byte {
		return w.indexKey(dst, key[o.WindowEnd].Micros(), prefix)
	}
	return w, nil
}

// absent reports whether the group of key is known to have no state: its
// window is fresh and no group has left the cache since it was first seen.
func (w *WindowAgg) absent(key types.Row) bool {
	endv := key[w.o.WindowEnd]
	if endv.IsNull() {
		return false
	}
	end := endv.Micros()
	if at, seen := w.fresh[end]; seen {
		return at == w.c.evictions
	}
	if _, ok := w.restored[end]; ok || end <= w.wm {
		return false
	}
	w.fresh[end] = w.c.evictions
	return true
}

// Late returns the number of rows dropped because their window had closed.
func (w *WindowAgg) Late() int64 { return w.late.Load() }

// Watermark returns the last watermark seen (restored at Open).
func (w *WindowAgg) Watermark() int64 { return w.wm }

// Open restores the watermark and the set of open windows.
func (w *WindowAgg) Open(_ context.Context, oc *OpContext) error {
	if err := w.c.open(oc.State); err != nil {
		return err
	}
	w.wm = math.MinInt64
	clear(w.ends)
	val, ok, err := oc.State.Get(metaWatermark)
	if err != nil {
		return fmt.Errorf("read watermark: %w", err)
	}
	if ok {
		if w.wm, _, err = state.ReadInt64(val); err != nil {
			return fmt.Errorf("read watermark: %w", err)
		}
	}
	clear(w.restored)
	clear(w.fresh)
	clear(w.unstored)
	clear(w.members)
	return w.scanIndex(math.MaxInt64, func(end int64, _, _ []byte) {
		w.ends[end] = struct{}{}
		w.restored[end] = struct{}{}
	})
}

// scanIndex calls fn for every window index entry with end <= upTo, per key
// group in key order; prefix is kg | group key, summary the group's.
func (w *WindowAgg) scanIndex(upTo int64, fn func(end int64, prefix, summary []byte)) error {
	var start, stop []byte
	for kg := 0; kg < KeyGroups; kg++ {
		start = append(start[:0], byte(kg>>8), byte(kg), markWindow)
		stop = append(stop[:0], start...)
		if upTo == math.MaxInt64 {
			stop[len(stop)-1]++
		} else {
			stop = state.AppendInt64(stop, upTo+1)
		}
		err := w.c.st.Scan(start, stop, func(k, v []byte) error {
			end, rest, err := state.ReadInt64(k[3:])
			if err != nil {
				return err
			}
			prefix := append(k[:2:2], rest...)
			fn(end, prefix, v)
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan window index: %w", err)
		}
	}
	return nil
}

func (w *WindowAgg) indexKey(b []byte, end int64, prefix string) []byte {
	b = append(b, prefix[:2]...)
	b = append(b, markWindow)
	b = state.AppendInt64(b, end)
	return append(b, prefix[2:]...)
}

// Process folds rows into their (key, window) groups, dropping late ones.
func (w *WindowAgg) Process(_ context.Context, _ int, b *Batch, _ Output) error {
	for i := 0; i < b.Len(); i++ {
		row := b.Row(i)
		g, created, err := w.c.groupOf(row)
		if err != nil {
			return err
		}
		endv := g.key[w.o.WindowEnd]
		if endv.IsNull() || endv.Micros() <= w.wm {
			// A row whose window has closed; a new group made for it is
			// dropped again at once.
			w.late.Add(1)
			if created {
				w.c.uncacheGroup(g.prefix)
			}
			continue
		}
		if created {
			end := endv.Micros()
			w.ends[end] = struct{}{}
			w.unstored[end] = append(w.unstored[end], g)
			if w.complete(end) {
				w.members[end] = append(w.members[end], g)
			}
		}
		if err := w.c.apply(g, row, signOf(b.Op(i))); err != nil {
			return err
		}
	}
	return nil
}

// OnWatermark closes every window whose end the watermark has reached:
// emits its final rows and frees its state.
func (w *WindowAgg) OnWatermark(_ context.Context, wm Watermark, out Output) error {
	if wm.Micros <= w.wm {
		return nil
	}
	w.wm = wm.Micros
	if err := w.c.st.Put(metaWatermark, state.AppendInt64(nil, w.wm)); err != nil {
		return fmt.Errorf("write watermark: %w", err)
	}
	// Windows whose groups are all in memory close from there; only the
	// others need the index scanned.
	var fromMemory []*group
	closing, scan := false, false
	for end := range w.ends {
		if end <= w.wm {
			closing = true
			delete(w.ends, end)
			if gs, ok := w.members[end]; ok && w.complete(end) {
				fromMemory = append(fromMemory, gs...)
				delete(w.unstored, end)
			} else {
				scan = true
			}
			delete(w.members, end)
		}
	}
	for end := range w.fresh {
		if end <= w.wm {
			delete(w.fresh, end)
		}
	}
	for end := range w.restored {
		if end <= w.wm {
			delete(w.restored, end)
		}
	}
	if !closing {
		return nil
	}
	if !scan {
		return w.closeFromMemory(fromMemory, out)
	}
	type entry struct {
		end     int64
		prefix  string
		summary []byte // nil for a group in the cache (or in memory only)
	}
	var entries []entry
	seen := map[string]bool{}
	for _, g := range fromMemory {
		if !g.dead {
			entries = append(entries, entry{end: g.key[w.o.WindowEnd].Micros(), prefix: g.prefix})
			seen[g.prefix] = true
		}
	}
	err := w.scanIndex(w.wm, func(end int64, prefix, summary []byte) {
		p := string(prefix)
		if seen[p] {
			return // a group of a window closing from memory
		}
		seen[p] = true
		// A cached group closes from memory; only the others need their
		// summary, which the scan does not keep.
		e := entry{end: end, prefix: p}
		if w.c.cache[p] == nil {
			e.summary = slices.Clone(summary)
		}
		entries = append(entries, e)
	})
	if err != nil {
		return err
	}
	for end, gs := range w.unstored {
		if end > w.wm {
			continue
		}
		for _, g := range gs {
			if !g.dead && !seen[g.prefix] {
				entries = append(entries, entry{end: end, prefix: g.prefix})
			}
		}
		delete(w.unstored, end)
	}
	// Close windows in end order, and within a window in key order (the
	// encoded key, without the key group), so output is deterministic.
	slices.SortFunc(entries, func(a, b entry) int {
		if a.end != b.end {
			return cmp.Compare(a.end, b.end)
		}
		return strings.Compare(a.prefix[2:], b.prefix[2:])
	})
	for _, e := range entries {
		g := w.c.cache[e.prefix]
		if g == nil {
			if e.summary == nil {
				continue // a group made and emptied in memory
			}
			if g, err = w.c.fromSummary([]byte(e.prefix), e.summary); err != nil {
				return err
			}
			if g == nil {
				// An index entry of the old layout whose group is gone.
				w.ibuf = w.indexKey(w.ibuf[:0], e.end, e.prefix)
				if err := w.c.st.Delete(w.ibuf); err != nil {
					return fmt.Errorf("delete window index: %w", err)
				}
				continue
			}
		}
		if err := w.closeGroup(g, out); err != nil {
			return err
		}
	}
	return nil
}

// OnBarrier writes the epoch's state; without EmitOnClose it also emits
// the epoch's changes, as HashAgg does.
func (w *WindowAgg) OnBarrier(_ context.Context, _ Barrier, out Output) error {
	if w.o.EmitOnClose {
		out = nil
	}
	// Every group made this epoch is dirty, so now stored (or, emptied,
	// gone): the index finds them from here on.
	clear(w.unstored)
	if err := w.c.flushDirty(out); err != nil {
		return err
	}
	// Groups left the cache (flushDirty evicts): the windows they were in
	// are no longer complete, and the groups must not be kept alive here.
	for end := range w.members {
		if !w.complete(end) {
			delete(w.members, end)
		}
	}
	return nil
}

// complete reports whether every group of the window ending at end is in
// the cache: the window is fresh and no group has left the cache since it
// was first seen.
func (w *WindowAgg) complete(end int64) bool {
	at, ok := w.fresh[end]
	return ok && at == w.c.evictions
}

// closeFromMemory closes complete windows: their groups, all in the
// cache, in end order and within a window in key order (the encoded key
// without the key group), as the scanning close does.
func (w *WindowAgg) closeFromMemory(gs []*group, out Output) error {
	// Sorting pointers compares through them, a cache miss each: the
	// window end and the key's first 8 bytes sit beside each group, so
	// most comparisons touch only the slice.
	type sortable struct {
		end  int64
		head uint64 // the key's first 8 bytes, big-endian
		g    *group
	}
	live := make([]sortable, 0, len(gs))
	for _, g := range gs {
		if !g.dead {
			var b [8]byte
			copy(b[:], g.prefix[2:])
			live = append(live, sortable{end: g.key[w.o.WindowEnd].Micros(), head: binary.BigEndian.Uint64(b[:]), g: g})
		}
	}
	slices.SortFunc(live, func(a, b sortable) int {
		if a.end != b.end {
			return cmp.Compare(a.end, b.end)
		}
		if a.head != b.head {
			if a.head < b.head {
				return -1
			}
			return 1
		}
		return strings.Compare(a.g.prefix[2:], b.g.prefix[2:])
	})
	for _, s := range live {
		if err := w.closeGroup(s.g, out); err != nil {
			return err
		}
	}
	return nil
}

// closeGroup emits a closing group's final row (or change) and frees it.
func (w *WindowAgg) closeGroup(g *group, out Output) error {
	if err := w.c.finalize(g); err != nil {
		return err
	}
	if w.o.EmitOnClose {
		row, err := w.c.output(g)
		if err != nil {
			return err
		}
		if row != nil {
			out.Emit(Insert, row)
		}
	} else if err := w.c.emitChange(g, out); err != nil {
		return err
	}
	return w.c.deleteGroup(g)
}

// Close drops the cache.
func (w *WindowAgg) Close() error {
	w.c.dropCache()
	return nil
}
