package exec

import (
	"fmt"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Part is one of Count parts of a keyed operator's key space: part Index
// holds the key groups [Index*KeyGroups/Count, (Index+1)*KeyGroups/Count).
// Ranges of key groups rather than a hash modulo Count, so that a part's
// state is a contiguous range of every keyed table (state keys start with
// the key group) and a part can later be split in two without moving keys
// between other parts (docs/cluster.md, key-group ranges).
type Part struct{ Index, Count int }

// Valid reports whether p names a part: 0 <= Index < Count <= KeyGroups.
func (p Part) Valid() error {
	if p.Count < 1 || p.Count > KeyGroups || p.Index < 0 || p.Index >= p.Count {
		return fmt.Errorf("part %d of %d: want 0 <= part < count <= %d", p.Index, p.Count, KeyGroups)
	}
	return nil
}

// HasKeyGroup reports whether key group kg belongs to p.
func (p Part) HasKeyGroup(kg uint16) bool { return int(kg)*p.Count/KeyGroups == p.Index }

// GroupKeyGroup is the key group of a group key, exactly as the aggregates
// file the group in state (appendGroupPrefix). buf is scratch space,
// returned for reuse.
func GroupKeyGroup(buf []byte, key types.Row) (uint16, []byte) {
	buf = appendGroupPrefix(buf[:0], key)
	return uint16(buf[0])<<8 | uint16(buf[1]), buf
}

// NewPartFilter returns a Filter that passes the rows whose group key, as
// keys compute it, is in part p: put in front of an aggregate with those
// keys, it leaves that aggregate exactly the groups of p, with every row
// of theirs. A key that cannot be computed is NULL here, uncounted, since
// the aggregate that keeps the row computes it again and counts or fails
// there, once; env should have no Warn for the same reason. The filter is
// not safe for concurrent use (it keeps scratch space), like every
// operator of a graph.
func NewPartFilter(keys []expr.Func, env *expr.Env, p Part) (*Filter, error) {
	if err := p.Valid(); err != nil {
		return nil, err
	}
	key := make(types.Row, len(keys))
	var buf []byte
	pred := func(row types.Row, env *expr.Env) (bool, error) {
		for i, f := range keys {
			v, err := f(row, env)
			if err != nil {
				v = types.Null
			}
			key[i] = v
		}
		var kg uint16
		kg, buf = GroupKeyGroup(buf, key)
		return p.HasKeyGroup(kg), nil
	}
	f := NewFilter(pred, env, nil)
	f.Text = fmt.Sprintf("part %d/%d", p.Index, p.Count)
	return f, nil
}
