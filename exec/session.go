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

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// SessionAgg is SESSION(ts, gap) windows with their aggregates, per group
// key. Session windows are data-driven, so assignment and aggregation are
// one operator (as Flink's merging window operator is).
//
// Semantics (Flink's): an event at t opens the window [t, t+gap); windows
// of one key that overlap or touch merge, so a session is [first event,
// last event + gap) and window_end is last event + gap. A session closes
// when the watermark reaches its end (watermark >= window_end). An event
// that arrives out of order but on time (t + gap > watermark) can fall
// between two open sessions and merge them. An event whose own window
// would already be closed (t + gap <= watermark), or whose time is NULL,
// is dropped and counted as late.
//
// With EmitOnClose each session is emitted once, as an Insert, when it
// closes. Without it the output is a changelog emitted at barriers: a new
// session is an Insert, a grown one an update pair (or Delete and Insert
// when its start moved), and sessions merged into another are Deletes.
//
// Input must be append-only (inserts): a delete could split a session,
// which no engine we follow supports; it is an error. DISTINCT aggregates
// are refused for the same reason (merging needs their value sets).
//
// Output rows are the keys, window_start, window_end, then the aggregates.
// Open sessions are held in memory (they are bounded by the watermark) and
// written to the StateTable at barriers.
type SessionAgg struct {
	o     SessionOptions
	specs []aggSpec
	keys  map[string]*sessKey
	dirty []*sessKey
	wm    int64
	late  atomic.Int64

	keyRow types.Row
	kbuf   []byte
	vbuf   []byte
	st     StateTable
}

// SessionOptions configures SessionAgg. Having sees the output row.
type SessionOptions struct {
	AggOptions
	// Time computes the event time (TIMESTAMP, or BIGINT microseconds).
	Time expr.Func
	// Gap is the session gap in microseconds.
	Gap         int64
	EmitOnClose bool
}

type sessKey struct {
	prefix   string
	key      types.Row
	sessions []*session // ordered by start, disjoint
	retract  []types.Row
	dirty    bool
}

type session struct {
	start, last int64
	rows        int64
	accs        []expr.Acc
	bests       []types.Value
	prev        types.Row
	dirty       bool
}

var _ Operator = (*SessionAgg)(nil)

// NewSessionAgg returns a SessionAgg.
func NewSessionAgg(o SessionOptions) (*SessionAgg, error) {
	if o.Gap <= 0 {
		return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "SESSION needs a positive gap")
	}
	if o.Time == nil {
		return nil, sqlerr.Newf(sqlerr.Internal, "SESSION needs a time column")
	}
	for _, a := range o.Aggs {
		if a.Distinct {
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "%s over SESSION windows is not supported; aggregate without DISTINCT", a)
		}
		if a.Multiset() {
			// Sessions merge their accumulators; these keep value counts
			// that a merge would have to move in state.
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "%s over SESSION windows is not supported; use TUMBLE or HOP", a)
		}
	}
	if err := o.AggOptions.validateArgs(); err != nil {
		return nil, err
	}
	return &SessionAgg{o: o, specs: newSpecs(&o.AggOptions), keys: map[string]*sessKey{}, wm: math.MinInt64,
		keyRow: make(types.Row, len(o.Keys))}, nil
}

// Late returns the number of events dropped as late (or without a time).
func (s *SessionAgg) Late() int64 { return s.late.Load() }

// Open restores the watermark and every open session.
func (s *SessionAgg) Open(_ context.Context, oc *OpContext) error {
	if oc.State == nil {
		return sqlerr.Newf(sqlerr.Internal, "SESSION needs a state table")
	}
	s.st = oc.State
	clear(s.keys)
	s.dirty = s.dirty[:0]
	s.wm = math.MinInt64
	if val, ok, err := s.st.Get(metaWatermark); err != nil {
		return fmt.Errorf("read watermark: %w", err)
	} else if ok {
		if s.wm, _, err = state.ReadInt64(val); err != nil {
			return fmt.Errorf("read watermark: %w", err)
		}
	}
	return s.st.Scan(nil, []byte{0xFF, 0xFF}, func(k, v []byte) error {
		if len(k) == 0 || k[len(k)-1] != sfxSessions {
			return nil
		}
		sk, err := s.decodeKey(string(k[:len(k)-1]), v)
		if err != nil {
			return fmt.Errorf("restore sessions: %w", err)
		}
		s.keys[sk.prefix] = sk
		return nil
	})
}

// Process adds events to their key's sessions, merging where they meet.
func (s *SessionAgg) Process(_ context.Context, _ int, b *Batch, _ Output) error {
	for i := 0; i < b.Len(); i++ {
		if !b.Op(i).Positive() {
			return sqlerr.Newf(sqlerr.FeatureNotSupported, "SESSION windows need append-only input; got a %s change", b.Op(i))
		}
		row := b.Row(i)
		tv, err := s.o.eval(func() string { return "session time" }, s.o.Time, row)
		if err != nil {
			return err
		}
		if tv.IsNull() || tv.Int() > math.MaxInt64-s.o.Gap || tv.Int()+s.o.Gap <= s.wm {
			s.late.Add(1)
			continue
		}
		sk, err := s.keyOf(row)
		if err != nil {
			return err
		}
		if err := s.add(sk, tv.Int(), row); err != nil {
			return err
		}
	}
	return nil
}

func (s *SessionAgg) keyOf(row types.Row) (*sessKey, error) {
	for i, f := range s.o.Keys {
		v, err := s.o.eval(func() string { return exprText("GROUP BY", s.o.KeyTexts, i) }, f, row)
		if err != nil {
			return nil, err
		}
		s.keyRow[i] = v
	}
	s.kbuf = appendGroupPrefix(s.kbuf[:0], s.keyRow)
	if sk := s.keys[string(s.kbuf)]; sk != nil {
		return sk, nil
	}
	sk := &sessKey{prefix: string(s.kbuf), key: append(types.Row(nil), s.keyRow...)}
	s.keys[sk.prefix] = sk
	return sk, nil
}

func (s *SessionAgg) add(sk *sessKey, t int64, row types.Row) error {
	gap := s.o.Gap
	// Sessions are disjoint and ordered: those meeting [t, t+gap] are a run.
	var into *session
	kept := sk.sessions[:0]
	for _, ss := range sk.sessions {
		if ss.start <= t+gap && t <= ss.last+gap {
			if into == nil {
				into = ss
			} else {
				s.merge(into, ss)
				if ss.prev != nil {
					sk.retract = append(sk.retract, ss.prev)
				}
				continue
			}
		}
		kept = append(kept, ss)
	}
	clear(sk.sessions[len(kept):])
	sk.sessions = kept
	if into == nil {
		into = &session{start: t, last: t, accs: make([]expr.Acc, len(s.specs)), bests: make([]types.Value, len(s.specs))}
		pos, _ := slices.BinarySearchFunc(sk.sessions, t, func(ss *session, t int64) int { return cmp.Compare(ss.start, t) })
		sk.sessions = slices.Insert(sk.sessions, pos, into)
	}
	into.start, into.last = min(into.start, t), max(into.last, t)
	into.rows++
	for i := range s.specs {
		sp := &s.specs[i]
		if sp.kind == kCountStar {
			continue
		}
		v, err := s.o.eval(sp.agg.String, sp.arg, row)
		if err != nil {
			return err
		}
		if v.IsNull() {
			continue
		}
		switch sp.kind {
		case kCount:
			into.accs[i].N++
		case kSum:
			if err := into.accs[i].Add(v, 1); err != nil {
				return err
			}
		default:
			if into.bests[i].IsNull() || better(sp.kind, v, into.bests[i]) {
				into.bests[i] = v
			}
		}
	}
	into.dirty = true
	if !sk.dirty {
		sk.dirty = true
		s.dirty = append(s.dirty, sk)
	}
	return nil
}

func (s *SessionAgg) merge(a, b *session) {
	a.start, a.last = min(a.start, b.start), max(a.last, b.last)
	a.rows += b.rows
	for i := range s.specs {
		_ = a.accs[i].Merge(&b.accs[i])
		if !b.bests[i].IsNull() && (a.bests[i].IsNull() || better(s.specs[i].kind, b.bests[i], a.bests[i])) {
			a.bests[i] = b.bests[i]
		}
	}
}

func (s *SessionAgg) output(sk *sessKey, ss *session) (types.Row, error) {
	row := make(types.Row, 0, len(sk.key)+2+len(s.specs))
	row = append(row, sk.key...)
	row = append(row, types.NewTimestamp(ss.start), types.NewTimestamp(ss.last+s.o.Gap))
	for i := range s.specs {
		sp := &s.specs[i]
		var v types.Value
		switch sp.kind {
		case kCountStar:
			v = types.NewInt(ss.rows)
		case kMin, kMax:
			v = ss.bests[i]
		default:
			var err error
			if v, err = sp.agg.AccResult(&ss.accs[i]); err != nil {
				return nil, err
			}
		}
		row = append(row, v)
	}
	if s.o.Having != nil {
		h, err := s.o.eval(havingText, s.o.Having, row)
		if err != nil {
			return nil, err
		}
		if h.IsNull() || !h.Bool() {
			return nil, nil
		}
	}
	return row, nil
}

// emitChange sends a session's change since it was last emitted.
func (s *SessionAgg) emitChange(sk *sessKey, ss *session, out Output) error {
	now, err := s.output(sk, ss)
	if err != nil {
		return err
	}
	prev := ss.prev
	ss.prev, ss.dirty = now, false
	n := len(sk.key) // window_start's column
	switch {
	case prev == nil && now == nil:
	case prev == nil:
		out.Emit(Insert, now)
	case now == nil:
		out.Emit(Delete, prev)
	case rowsEqual(prev, now):
	case prev[n].Micros() == now[n].Micros():
		out.Emit(UpdateDelete, prev)
		out.Emit(UpdateInsert, now)
	default:
		out.Emit(Delete, prev)
		out.Emit(Insert, now)
	}
	return nil
}

// OnWatermark closes sessions whose end the watermark has reached.
func (s *SessionAgg) OnWatermark(_ context.Context, wm Watermark, out Output) error {
	if wm.Micros <= s.wm {
		return nil
	}
	s.wm = wm.Micros
	if err := s.st.Put(metaWatermark, state.AppendInt64(nil, s.wm)); err != nil {
		return fmt.Errorf("write watermark: %w", err)
	}
	type closed struct {
		sk *sessKey
		ss *session
	}
	var done []closed
	for _, sk := range s.keys {
		kept := sk.sessions[:0]
		for _, ss := range sk.sessions {
			if ss.last+s.o.Gap <= s.wm {
				done = append(done, closed{sk, ss})
				continue
			}
			kept = append(kept, ss)
		}
		if len(kept) == len(sk.sessions) {
			continue
		}
		clear(sk.sessions[len(kept):])
		sk.sessions = kept
		if !sk.dirty {
			sk.dirty = true
			s.dirty = append(s.dirty, sk)
		}
	}
	slices.SortFunc(done, func(a, b closed) int {
		if c := cmp.Compare(a.ss.last, b.ss.last); c != 0 {
			return c
		}
		return strings.Compare(a.sk.prefix[2:], b.sk.prefix[2:])
	})
	for _, c := range done {
		if !s.o.EmitOnClose {
			if err := s.flushRetracts(c.sk, out); err != nil {
				return err
			}
			if err := s.emitChange(c.sk, c.ss, out); err != nil {
				return err
			}
			continue
		}
		row, err := s.output(c.sk, c.ss)
		if err != nil {
			return err
		}
		if row != nil {
			out.Emit(Insert, row)
		}
	}
	return nil
}

func (s *SessionAgg) flushRetracts(sk *sessKey, out Output) error {
	for _, r := range sk.retract {
		out.Emit(Delete, r)
	}
	clear(sk.retract)
	sk.retract = sk.retract[:0]
	return nil
}

// OnBarrier emits the epoch's changes (without EmitOnClose) and writes the
// touched keys' sessions.
func (s *SessionAgg) OnBarrier(_ context.Context, _ Barrier, out Output) error {
	for _, sk := range s.dirty {
		sk.dirty = false
		if !s.o.EmitOnClose {
			if err := s.flushRetracts(sk, out); err != nil {
				return err
			}
			for _, ss := range sk.sessions {
				if ss.dirty {
					if err := s.emitChange(sk, ss, out); err != nil {
						return err
					}
				}
			}
		}
		k := append([]byte(sk.prefix), sfxSessions)
		if len(sk.sessions) == 0 {
			delete(s.keys, sk.prefix)
			if err := s.st.Delete(k); err != nil {
				return fmt.Errorf("delete sessions: %w", err)
			}
			continue
		}
		s.vbuf = s.encodeKey(s.vbuf[:0], sk)
		if err := s.st.Put(k, s.vbuf); err != nil {
			return fmt.Errorf("write sessions: %w", err)
		}
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	return nil
}

func (s *SessionAgg) encodeKey(b []byte, sk *sessKey) []byte {
	b = appendRow(b, sk.key)
	b = binary.AppendUvarint(b, uint64(len(sk.sessions)))
	for _, ss := range sk.sessions {
		b = binary.AppendVarint(b, ss.start)
		b = binary.AppendVarint(b, ss.last)
		b = binary.AppendVarint(b, ss.rows)
		emitted := byte(0)
		if ss.prev != nil {
			emitted = 1
		}
		b = append(b, emitted)
		for i := range s.specs {
			b = ss.accs[i].AppendBinary(b)
			b = types.AppendValue(b, ss.bests[i])
		}
	}
	return b
}

func (s *SessionAgg) decodeKey(prefix string, b []byte) (*sessKey, error) {
	sk := &sessKey{prefix: prefix}
	var err error
	if sk.key, b, err = readRow(b); err != nil {
		return nil, err
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errShortValue
	}
	b = b[k:]
	for range n {
		ss := &session{accs: make([]expr.Acc, len(s.specs)), bests: make([]types.Value, len(s.specs))}
		if ss.start, b, err = readVarint(b); err != nil {
			return nil, err
		}
		if ss.last, b, err = readVarint(b); err != nil {
			return nil, err
		}
		if ss.rows, b, err = readVarint(b); err != nil {
			return nil, err
		}
		if len(b) == 0 {
			return nil, errShortValue
		}
		emitted := b[0] == 1
		b = b[1:]
		for i := range s.specs {
			if b, err = ss.accs[i].ReadBinary(b); err != nil {
				return nil, err
			}
			if ss.bests[i], b, err = types.ReadValue(b); err != nil {
				return nil, err
			}
		}
		if emitted {
			if ss.prev, err = s.output(sk, ss); err != nil {
				return nil, err
			}
		}
		sk.sessions = append(sk.sessions, ss)
	}
	return sk, nil
}

// Close drops the sessions.
func (s *SessionAgg) Close() error {
	s.keys = nil
	return nil
}
