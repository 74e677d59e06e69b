package exec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// aggCore is the grouped, retractable aggregation shared by HashAgg and
// WindowAgg: groups in a bounded cache over the operator's StateTable,
// accumulators that take inserts and deletes, and the state layout of
// agg_codec.go. It emits nothing itself; the operators decide when.

// AggOptions configures HashAgg and WindowAgg.
type AggOptions struct {
	// Keys compute the GROUP BY key columns from an input row.
	Keys []expr.Func
	// Aggs are the aggregate calls; Args their compiled StreamArg()
	// (nil entries are compiled from the Aggs when Args is nil).
	Aggs []*expr.Agg
	Args []expr.Func
	// Having filters output rows (keys then aggregates); nil keeps all.
	Having expr.Func
	Env    *expr.Env
	// CacheSize bounds the groups kept in memory between barriers; others
	// are read from the StateTable when touched. 0 means no bound of its
	// own when Budget is set (the groups' bytes are bounded by it), else
	// 65536.
	CacheSize int
	// Budget, when set, is shared with other caches: the groups' memory,
	// estimated, counts in it, and the cache lets clean groups go at a
	// barrier while the budget's total is over its limit.
	Budget *CacheBudget
	// Errs absorbs expression errors (see ExprErrors): a key or an
	// argument that cannot be computed is NULL, a HAVING that cannot be
	// computed does not pass. nil fails.
	Errs *ExprErrors
	// KeyTexts, when set, are the GROUP BY keys as written, for absorbed
	// errors.
	KeyTexts []string
	// AppendOnly says the input only inserts (the planner proves it): MIN
	// and MAX then keep just the best value, not a count per value to
	// retract from. A retraction that arrives anyway fails the operator.
	AppendOnly bool
}

// Validate checks the options and fills in defaults.
func (o *AggOptions) Validate() error {
	if len(o.Aggs) == 0 && len(o.Keys) == 0 {
		return sqlerr.Newf(sqlerr.Internal, "aggregation needs keys or aggregates")
	}
	if o.CacheSize <= 0 && o.Budget == nil {
		o.CacheSize = 1 << 16
	}
	return o.validateArgs()
}

// eval computes f over row; a value that cannot be computed is NULL when
// Errs absorbs the error (a NULL HAVING does not pass).
// what names the expression in an error; it is called only on one, as
// naming costs more than most evaluations.
func (o *AggOptions) eval(what func() string, f expr.Func, row types.Row) (types.Value, error) {
	v, err := f(row, o.Env)
	if err != nil {
		return types.Null, o.Errs.Absorb(what(), err)
	}
	return v, nil
}

// validateArgs compiles missing aggregate arguments and checks their count.
func (o *AggOptions) validateArgs() error {
	if o.Args == nil {
		o.Args = make([]expr.Func, len(o.Aggs))
		for i, a := range o.Aggs {
			if a.Arg == nil {
				continue
			}
			f, err := expr.Compile(a.StreamArg())
			if err != nil {
				return fmt.Errorf("compile argument of %s: %w", a, err)
			}
			o.Args[i] = f
		}
	}
	if len(o.Args) != len(o.Aggs) {
		return sqlerr.Newf(sqlerr.Internal, "aggregation has %d aggregates but %d arguments", len(o.Aggs), len(o.Args))
	}
	return nil
}

type aggKind uint8

const (
	kCountStar aggKind = iota
	kCount
	kSum // SUM and AVG
	kMin
	kMax
	kMulti // a multiset aggregate (expr.Agg.Multiset): computed from its value counts
	kStat  // STDDEV/VARIANCE, BIT_* without DISTINCT: an expr.StatAcc in the summary
)

type aggSpec struct {
	agg      *expr.Agg
	arg      expr.Func
	kind     aggKind
	distinct bool // COUNT/SUM/AVG DISTINCT
	counted  bool // keeps a count per value in state: MIN, MAX, DISTINCT
}

func newSpecs(o *AggOptions) []aggSpec {
	specs := make([]aggSpec, len(o.Aggs))
	for i, a := range o.Aggs {
		s := aggSpec{agg: a, arg: o.Args[i]}
		switch a.Name {
		case "count":
			s.kind = kCount
			if a.Arg == nil {
				s.kind = kCountStar
			}
		case "min":
			s.kind = kMin
		case "max":
			s.kind = kMax
		default:
			if a.Stat() {
				s.kind = kStat
				specs[i] = s
				continue
			}
			if a.Multiset() {
				s.kind = kMulti
				s.counted = true
				specs[i] = s
				continue
			}
			s.kind = kSum
		}
		s.distinct = a.Distinct && (s.kind == kCount || s.kind == kSum)
		s.counted = s.distinct || (!o.AppendOnly && (s.kind == kMin || s.kind == kMax))
		specs[i] = s
	}
	return specs
}

// maxCachedValues bounds the value counts a cached group's MIN, MAX or
// DISTINCT slot keeps in memory between epochs (a variable for tests).
var maxCachedValues = 1024

// valCount is one value's count: base is what the StateTable holds, delta
// what this epoch added.
type valCount struct {
	v           types.Value
	base, delta int64
}

type slot struct {
	acc  expr.Acc
	stat *expr.StatAcc // kStat only
	best types.Value   // MIN, MAX; kMulti's result
	vals map[string]*valCount
	// stale: best was retracted (kMulti: changed), rescan the value counts.
	// complete is set while vals holds every value count the slot has
	// (a group made here, whose counts were never let go): a value not in
	// vals then has none, and costs no state read. Side by side, the two
	// share one word: a slot stays 96 bytes.
	stale, complete bool
}

type group struct {
	prefix string // kg | encoded key
	key    types.Row
	rows   int64
	slots  []slot
	prev   types.Row // last emitted output; nil when none
	dirty  bool
	dead   bool // freed (closed window): ignore in the dirty list
	stored bool // has a summary in the StateTable
	legacy bool // its summary is also at prefix | sfxSummary (see fromSummary)
}

type aggCore struct {
	o       AggOptions
	specs   []aggSpec
	global  bool // no GROUP BY keys: one group that always exists
	counted bool // some aggregate keeps value counts in state
	st      StateTable
	cache   map[string]*group
	dirty   []*group
	// evictions counts groups dropped from the cache with state behind
	// them; absent, when set, reports a key known to have no state (so
	// groupOf need not read it): see WindowAgg.
	evictions uint64
	absent    func(key types.Row) bool
	// summaryAt, when set, says where a group's summary is stored instead
	// of prefix | sfxSummary (WindowAgg keeps it in its window index).
	summaryAt func(dst []byte, prefix string, key types.Row) []byte
	// slabs, when set, makes groups from chunks (see groupSlabs).
	slabs *groupSlabs

	// groupBytes estimates a cached group's memory less its prefix's
	// bytes; cachedBytes is what the cache's groups count in o.Budget.
	groupBytes  int64
	cachedBytes int64
	// hits and misses count groupOf's lookups found in the cache and not
	// (then read from state, or made new); the operator's goroutine adds,
	// the runtime publishes them at barriers (cacheStats).
	hits, misses int64

	keyRow types.Row // scratch: the current row's key values
	kbuf   []byte    // scratch: the current row's group prefix
	vbuf   []byte    // scratch: an encoded value
	sbuf   []byte    // scratch: a full state key
}

func newAggCore(o AggOptions) (*aggCore, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	specs := newSpecs(&o)
	counted := false
	var statBytes int64
	for _, sp := range specs {
		counted = counted || sp.counted
		if sp.kind == kStat {
			statBytes += int64(unsafe.Sizeof(expr.StatAcc{}))
			if sp.agg.Name == "bit_and" || sp.agg.Name == "bit_or" {
				statBytes += 64 * 8 // the count per bit
			}
		}
	}
	return &aggCore{
		o:          o,
		specs:      specs,
		counted:    counted,
		global:     len(o.Keys) == 0,
		cache:      map[string]*group{},
		keyRow:     make(types.Row, len(o.Keys)),
		groupBytes: estimateGroupBytes(len(o.Keys), len(specs)) + statBytes,
	}, nil
}

// estimateGroupBytes is a cached group's memory less its prefix's bytes:
// the group and its map entry, its key values, its slots and its last
// output row (keys then aggregates), in Go's allocation size classes,
// measured on a heap profile of a COUNT/SUM per key. A MIN, MAX or
// DISTINCT slot's value counts come on top (at most maxCachedValues).
func estimateGroupBytes(keys, aggs int) int64 {
	const (
		fixed     = 112 + 48 // the group struct; its map entry and string header
		perValue  = int64(unsafe.Sizeof(types.Value{}))
		perSlot   = int64(unsafe.Sizeof(slot{}))
		roundings = 32 // three allocations rounded up to their size classes
	)
	return fixed + perValue*int64(keys) + perSlot*int64(aggs) + perValue*int64(keys+aggs) + roundings
}

// cacheGroup puts g in the cache, counting its memory.
func (c *aggCore) cacheGroup(g *group) {
	c.cache[g.prefix] = g
	n := c.groupBytes + int64(len(g.prefix))
	c.cachedBytes += n
	c.o.Budget.Add(n)
}

// uncacheGroup drops the group with prefix from the cache, if there.
func (c *aggCore) uncacheGroup(prefix string) {
	if _, ok := c.cache[prefix]; !ok {
		return
	}
	delete(c.cache, prefix)
	n := c.groupBytes + int64(len(prefix))
	c.cachedBytes -= n
	c.o.Budget.Add(-n)
}

// dropCache empties the cache and gives its bytes back to the budget.
func (c *aggCore) dropCache() {
	c.o.Budget.Add(-c.cachedBytes)
	c.cachedBytes = 0
	c.cache = nil
}

func (c *aggCore) open(st StateTable) error {
	if st == nil {
		return sqlerr.Newf(sqlerr.Internal, "aggregation needs a state table")
	}
	c.st = st
	c.o.Budget.Add(-c.cachedBytes)
	c.cachedBytes = 0
	if c.cache == nil {
		c.cache = map[string]*group{}
	}
	clear(c.cache)
	c.dirty = c.dirty[:0]
	return nil
}

// groupOf computes row's key and returns its group, loading or creating it.
// created reports a group that exists neither in the cache nor in state.
func (c *aggCore) groupOf(row types.Row) (g *group, created bool, err error) {
	for i, f := range c.o.Keys {
		v, err := c.o.eval(func() string { return exprText("GROUP BY", c.o.KeyTexts, i) }, f, row)
		if err != nil {
			return nil, false, err
		}
		c.keyRow[i] = v
	}
	c.kbuf = appendGroupPrefix(c.kbuf[:0], c.keyRow)
	if g := c.cache[string(c.kbuf)]; g != nil {
		c.hits++
		return g, false, nil
	}
	c.misses++
	if c.absent == nil || !c.absent(c.keyRow) {
		if g, err = c.load(c.kbuf, c.keyRow); err != nil {
			return nil, false, err
		}
	}
	if g == nil {
		g = c.newGroup(string(c.kbuf), c.keyRow)
		created = true
	}
	c.cacheGroup(g)
	return g, created, nil
}

// newGroup makes the group of prefix, with a copy of key.
func (c *aggCore) newGroup(prefix string, key types.Row) *group {
	var g *group
	if c.slabs != nil {
		g = c.slabs.group(len(c.specs), len(key))
	} else {
		g = &group{slots: make([]slot, len(c.specs)), key: make(types.Row, len(key))}
	}
	g.prefix = prefix
	copy(g.key, key)
	for i := range g.slots {
		g.slots[i].complete = true
	}
	return g
}

// groupSlabs hands out groups, their slots and their key values from
// chunks, one allocation per groupSlabSize groups instead of three per
// group. A chunk lives while any group cut from it does, so only an
// operator whose groups are made and freed together uses them: a window
// aggregate's groups are made as their window fills and all freed when it
// closes.
type groupSlabs struct {
	groups []group
	slots  []slot
	vals   []types.Value
}

const groupSlabSize = 256

func (s *groupSlabs) group(nslots, nkey int) *group {
	if len(s.groups) == 0 {
		s.groups = make([]group, groupSlabSize)
	}
	if len(s.slots) < nslots {
		s.slots = make([]slot, groupSlabSize*nslots)
	}
	if len(s.vals) < nkey {
		s.vals = make([]types.Value, groupSlabSize*nkey)
	}
	g := &s.groups[0]
	s.groups = s.groups[1:]
	g.slots = s.slots[:nslots:nslots]
	s.slots = s.slots[nslots:]
	g.key = s.vals[:nkey:nkey]
	s.vals = s.vals[nkey:]
	return g
}

// apply adds (sign 1) or retracts (sign -1) row in g.
func (c *aggCore) apply(g *group, row types.Row, sign int64) error {
	g.rows += sign
	for i := range c.specs {
		sp := &c.specs[i]
		if sp.kind == kCountStar {
			continue
		}
		v, err := c.o.eval(sp.agg.String, sp.arg, row)
		if err != nil {
			return err
		}
		if v.IsNull() {
			continue
		}
		s := &g.slots[i]
		if !sp.counted {
			switch sp.kind {
			case kCount:
				s.acc.N += sign
			case kStat:
				if s.stat == nil {
					s.stat = new(expr.StatAcc)
				}
				s.stat.Add(sp.agg, v, sign)
			case kMin, kMax: // over an append-only input
				if sign < 0 {
					return fmt.Errorf("%s: a retraction reached an aggregate planned for an append-only input", sp.agg)
				}
				if s.best.IsNull() || better(sp.kind, v, s.best) {
					s.best = v
				}
			default:
				if err := s.acc.Add(v, sign); err != nil {
					return err
				}
			}
			continue
		}
		vc, err := c.valEntry(g, i, v)
		if err != nil {
			return err
		}
		old := vc.base + vc.delta
		vc.delta += sign
		now := old + sign
		switch {
		case sp.kind == kMulti:
			s.stale = true
		case sp.distinct:
			if (old <= 0) != (now <= 0) {
				if sp.kind == kCount {
					s.acc.N += sign
				} else if err := s.acc.Add(v, sign); err != nil {
					return err
				}
			}
		case sign > 0:
			if !s.stale && (s.best.IsNull() || better(sp.kind, v, s.best)) {
				s.best = v
			}
		case now <= 0 && !s.stale && !s.best.IsNull() && expr.Compare(v, s.best) == 0:
			s.stale = true
		}
	}
	if !g.dirty {
		g.dirty = true
		c.dirty = append(c.dirty, g)
	}
	return nil
}

func better(k aggKind, v, best types.Value) bool {
	c := expr.Compare(v, best)
	if k == kMin {
		return c < 0
	}
	return c > 0
}

// valueKey appends the part of a value-count key after the group prefix.
func (c *aggCore) valueKey(b []byte, i int, v types.Value) []byte {
	b = append(b, sfxValue, byte(i))
	start := len(b)
	b = appendKeyValue(b, v)
	if c.specs[i].kind == kMax {
		complementFrom(b, start)
	}
	return b
}

func (c *aggCore) valEntry(g *group, i int, v types.Value) (*valCount, error) {
	s := &g.slots[i]
	c.vbuf = c.valueKey(c.vbuf[:0], i, v)
	if vc := s.vals[string(c.vbuf)]; vc != nil {
		return vc, nil
	}
	if s.vals == nil {
		s.vals = map[string]*valCount{}
	}
	vc := &valCount{v: v}
	if g.stored && !s.complete {
		c.sbuf = append(append(c.sbuf[:0], g.prefix...), c.vbuf...)
		val, ok, err := c.st.Get(c.sbuf)
		if err != nil {
			return nil, fmt.Errorf("read value count: %w", err)
		}
		if ok {
			if vc.base, _, err = readVarint(val); err != nil {
				return nil, err
			}
		}
	}
	s.vals[string(c.vbuf)] = vc
	return vc, nil
}

// finalize writes g's touched value counts and recomputes retracted
// MIN/MAX bests from them, so that g's results are exact.
func (c *aggCore) finalize(g *group) error {
	for i := range c.specs {
		s := &g.slots[i]
		if !c.specs[i].counted {
			continue
		}
		for k, vc := range s.vals {
			if vc.delta == 0 {
				continue
			}
			c.sbuf = append(append(c.sbuf[:0], g.prefix...), k...)
			n := vc.base + vc.delta
			var err error
			if n <= 0 {
				if vc.base > 0 {
					err = c.st.Delete(c.sbuf)
				}
				delete(s.vals, k)
			} else {
				c.vbuf = types.AppendValue(binary.AppendVarint(c.vbuf[:0], n), vc.v)
				err = c.st.Put(c.sbuf, c.vbuf)
				vc.base, vc.delta = n, 0
			}
			if err != nil {
				return fmt.Errorf("write value count: %w", err)
			}
		}
		// The counts stay known while the group is cached, so the next
		// epoch's rows of these values need no state read; a slot with
		// many distinct values lets them go rather than hold them all.
		if len(s.vals) > maxCachedValues {
			clear(s.vals)
			s.complete = false
		}
		if s.stale {
			if err := c.rescan(g, i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *aggCore) rescan(g *group, i int) error {
	if c.specs[i].kind == kMulti {
		return c.recompute(g, i)
	}
	s := &g.slots[i]
	start := append([]byte(g.prefix), sfxValue, byte(i))
	s.best, s.stale = types.Null, false
	err := c.st.Scan(start, prefixEnd(start), func(_, val []byte) error {
		_, rest, err := readVarint(val)
		if err != nil {
			return err
		}
		if s.best, _, err = types.ReadValue(rest); err != nil {
			return err
		}
		return errStopScan
	})
	if err != nil && err != errStopScan {
		return fmt.Errorf("rescan %s: %w", c.specs[i].agg, err)
	}
	return nil
}

// recompute sets a multiset aggregate's result (kept in its slot's best)
// from its value counts: those in memory when they are all there, else
// those in state (finalize has written them).
func (c *aggCore) recompute(g *group, i int) error {
	s := &g.slots[i]
	s.stale = false
	var items []expr.MultiItem
	if s.complete {
		items = make([]expr.MultiItem, 0, len(s.vals))
		for _, vc := range s.vals {
			items = append(items, expr.MultiItem{V: vc.v, N: vc.base + vc.delta})
		}
	} else {
		start := append([]byte(g.prefix), sfxValue, byte(i))
		err := c.st.Scan(start, prefixEnd(start), func(_, val []byte) error {
			n, rest, err := readVarint(val)
			if err != nil {
				return err
			}
			v, _, err := types.ReadValue(rest)
			if err != nil {
				return err
			}
			items = append(items, expr.MultiItem{V: v, N: n})
			return nil
		})
		if err != nil {
			return fmt.Errorf("rescan %s: %w", c.specs[i].agg, err)
		}
	}
	v, err := c.specs[i].agg.MultiResult(items, c.o.Env)
	if err != nil {
		return err
	}
	s.best = v
	return nil
}

// output returns g's output row (keys then aggregates), or nil when the
// group is empty or HAVING rejects it. g must be finalized.
func (c *aggCore) output(g *group) (types.Row, error) {
	if g.rows <= 0 && !c.global {
		return nil, nil
	}
	row := make(types.Row, 0, len(g.key)+len(c.specs))
	row = append(row, g.key...)
	for i := range c.specs {
		sp, s := &c.specs[i], &g.slots[i]
		var v types.Value
		switch sp.kind {
		case kCountStar:
			v = types.NewInt(g.rows)
		case kMin, kMax:
			v = s.best
		case kStat:
			if s.stat == nil {
				v = sp.agg.EmptyResult()
			} else {
				v = s.stat.Result(sp.agg)
			}
		case kMulti:
			// An empty global group has never computed one.
			if v = s.best; v.IsNull() {
				v = sp.agg.EmptyResult()
			}
		default:
			var err error
			if v, err = sp.agg.AccResult(&s.acc); err != nil {
				return nil, err
			}
		}
		row = append(row, v)
	}
	if c.o.Having != nil {
		h, err := c.o.eval(havingText, c.o.Having, row)
		if err != nil {
			return nil, err
		}
		if h.IsNull() || !h.Bool() {
			return nil, nil
		}
	}
	return row, nil
}

// emitChange sends the difference between what g last emitted and what it
// holds now: Insert, Delete, or an adjacent UpdateDelete/UpdateInsert pair.
func (c *aggCore) emitChange(g *group, out Output) error {
	now, err := c.output(g)
	if err != nil {
		return err
	}
	switch {
	case g.prev == nil && now == nil:
	case g.prev == nil:
		out.Emit(Insert, now)
	case now == nil:
		out.Emit(Delete, g.prev)
	case !rowsEqual(g.prev, now):
		out.Emit(UpdateDelete, g.prev)
		out.Emit(UpdateInsert, now)
	default:
		return nil
	}
	g.prev = now
	return nil
}

func rowsEqual(a, b types.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind() != b[i].Kind() || a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

// summaryKey appends the key of the summary of the group with prefix and
// key values key.
func (c *aggCore) summaryKey(dst []byte, prefix string, key types.Row) []byte {
	if c.summaryAt != nil {
		return c.summaryAt(dst, prefix, key)
	}
	return append(append(dst, prefix...), sfxSummary)
}

// writeState puts g's summary (or deletes it when the group is empty).
func (c *aggCore) writeState(g *group) error {
	if g.legacy {
		// Its summary moves to where summaries are kept now.
		c.sbuf = append(append(c.sbuf[:0], g.prefix...), sfxSummary)
		if err := c.st.Delete(c.sbuf); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		g.legacy = false
	}
	c.sbuf = c.summaryKey(c.sbuf[:0], g.prefix, g.key)
	if g.rows <= 0 && !c.global {
		if g.stored {
			g.stored = false
			if err := c.st.Delete(c.sbuf); err != nil {
				return fmt.Errorf("delete group: %w", err)
			}
		}
		return nil
	}
	b := binary.AppendVarint(c.vbuf[:0], g.rows)
	b = appendRow(b, g.key)
	for i := range g.slots {
		b = g.slots[i].acc.AppendBinary(b)
		b = types.AppendValue(b, g.slots[i].best)
		if c.specs[i].kind == kStat {
			var zero expr.StatAcc
			st := g.slots[i].stat
			if st == nil {
				st = &zero
			}
			b = st.AppendBinary(b)
		}
	}
	c.vbuf = b
	var err error
	if pn, ok := c.st.(newKeyPutter); ok && !g.stored {
		// Not stored: the summary key has no value (a new group, or one
		// whose summary was deleted).
		err = pn.PutNew(c.sbuf, b)
	} else {
		err = c.st.Put(c.sbuf, b)
	}
	g.stored = true
	if err != nil {
		return fmt.Errorf("write group: %w", err)
	}
	return nil
}

// load reads the group with the given prefix and key values from state;
// nil when absent.
func (c *aggCore) load(prefix []byte, key types.Row) (*group, error) {
	c.sbuf = c.summaryKey(c.sbuf[:0], string(prefix), key)
	val, ok, err := c.st.Get(c.sbuf)
	if err != nil {
		return nil, fmt.Errorf("read group: %w", err)
	}
	if !ok {
		return nil, nil
	}
	return c.fromSummary(prefix, val)
}

// fromSummary builds the group with prefix from its stored summary. Its
// prev is its current output: state is written when changes are emitted,
// so what is stored is what was last emitted. An empty summary is the
// index entry of a WindowAgg written before summaries moved into the
// index: the summary is then at prefix | sfxSummary.
func (c *aggCore) fromSummary(prefix, val []byte) (*group, error) {
	g := &group{prefix: string(prefix), slots: make([]slot, len(c.specs)), stored: true}
	if len(val) == 0 {
		c.sbuf = append(append(c.sbuf[:0], prefix...), sfxSummary)
		old, ok, err := c.st.Get(c.sbuf)
		if err != nil || !ok {
			return nil, err
		}
		val, g.legacy = old, true
	}
	if err := c.decodeSummary(g, val); err != nil {
		return nil, fmt.Errorf("decode group: %w", err)
	}
	var err error
	if g.prev, err = c.output(g); err != nil {
		return nil, err
	}
	return g, nil
}

func (c *aggCore) decodeSummary(g *group, b []byte) error {
	var err error
	if g.rows, b, err = readVarint(b); err != nil {
		return err
	}
	if g.key, b, err = readRow(b); err != nil {
		return err
	}
	for i := range g.slots {
		if b, err = g.slots[i].acc.ReadBinary(b); err != nil {
			return err
		}
		if g.slots[i].best, b, err = types.ReadValue(b); err != nil {
			return err
		}
		if c.specs[i].kind == kStat {
			g.slots[i].stat = new(expr.StatAcc)
			if b, err = g.slots[i].stat.ReadBinary(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteGroup removes every state entry of g and drops it from the cache.
func (c *aggCore) deleteGroup(g *group) error {
	g.dead = true
	c.uncacheGroup(g.prefix)
	if g.stored {
		c.sbuf = c.summaryKey(c.sbuf[:0], g.prefix, g.key)
		if err := c.st.Delete(c.sbuf); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
	}
	if g.legacy {
		c.sbuf = append(append(c.sbuf[:0], g.prefix...), sfxSummary)
		if err := c.st.Delete(c.sbuf); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
	}
	if !c.counted {
		// Only a summary to delete: no scan.
		g.stored = false
		return nil
	}
	var keys [][]byte
	start := []byte(g.prefix)
	err := c.st.Scan(start, prefixEnd(start), func(k, _ []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan group: %w", err)
	}
	// The scan also meets longer keys that merely start with the prefix
	// bytes; a group key is prefix-free, so those are this group's only
	// when the next byte is one of its suffixes.
	for _, k := range keys {
		if s := k[len(start)]; s != sfxSummary && s != sfxValue && s != sfxSessions {
			continue
		}
		if err := c.st.Delete(k); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
	}
	g.dead, g.stored = true, false
	return nil
}

// flushDirty finalizes every dirty group, emits its change when out is not
// nil, and writes its state.
func (c *aggCore) flushDirty(out Output) error {
	for _, g := range c.dirty {
		if g.dead {
			continue
		}
		g.dirty = false
		if err := c.finalize(g); err != nil {
			return err
		}
		if out != nil {
			if err := c.emitChange(g, out); err != nil {
				return err
			}
		}
		if err := c.writeState(g); err != nil {
			return err
		}
		if g.rows <= 0 && !c.global {
			c.uncacheGroup(g.prefix)
		}
	}
	clear(c.dirty)
	c.dirty = c.dirty[:0]
	c.evict()
	return nil
}

// evict drops clean groups beyond the cache bound, and while the shared
// budget is over its limit; their state is in the StateTable. Under the
// budget's pressure it lets go down to 15/16 of the limit, so that the
// next barrier does not find it just over again.
func (c *aggCore) evict() {
	over := 0
	if c.o.CacheSize > 0 {
		over = len(c.cache) - c.o.CacheSize
	}
	b := c.o.Budget
	if over <= 0 && !b.Over() {
		return
	}
	floor := b.Limit() - b.Limit()/16
	for k, g := range c.cache {
		if over <= 0 && (b == nil || b.Used() <= floor) {
			break
		}
		if g.dirty {
			continue
		}
		c.uncacheGroup(k)
		c.evictions++
		over--
	}
}

func signOf(op Op) int64 {
	if op.Positive() {
		return 1
	}
	return -1
}

// errStopScan ends a Scan early; it never escapes.
var errStopScan = errors.New("stop scan")
