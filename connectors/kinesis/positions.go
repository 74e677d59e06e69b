package kinesis

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Iterator types a shard without a position starts from.
const (
	startTrimHorizon = "TRIM_HORIZON"
	startAtTimestamp = "AT_TIMESTAMP"
)

// ShardPosition is the committed state of one shard: its lineage (parents
// and hash range, which decide when it may be read), whether it has been
// read to its end, and the last record delivered from it. A restart
// resumes AFTER_SEQUENCE_NUMBER of SequenceNumber, never AT it.
type ShardPosition struct {
	ShardID string   `json:"id"`
	Parents []string `json:"parents,omitempty"`
	// HashKeyStart and HashKeyEnd are the shard's hash key range (decimal
	// 128-bit integers, as Kinesis prints them).
	HashKeyStart string `json:"hash_start,omitempty"`
	HashKeyEnd   string `json:"hash_end,omitempty"`
	// Closed means the shard was closed by resharding; Drained means it has
	// been read to its end, so its children may be read.
	Closed  bool `json:"closed,omitempty"`
	Drained bool `json:"drained,omitempty"`
	// SequenceNumber and SubSequence name the last user record delivered;
	// empty when nothing has been delivered from the shard yet. A delivery
	// never splits a KPL aggregate, so resuming after SequenceNumber never
	// repeats or skips a user record of one.
	SequenceNumber string `json:"seq,omitempty"`
	SubSequence    int    `json:"sub,omitempty"`
	// Start and StartTimestamp say where reading begins while
	// SequenceNumber is empty: TRIM_HORIZON, or AT_TIMESTAMP of the time
	// chosen when the source was created (start_position latest or
	// at_timestamp), so that a restart before the first commit skips nothing.
	Start          string    `json:"start,omitempty"`
	StartTimestamp time.Time `json:"start_ts,omitzero"`
}

func (p ShardPosition) clone() ShardPosition {
	p.Parents = slices.Clone(p.Parents)
	return p
}

// Positions is the state of every known shard of one stream: what a
// checkpoint commits and what NewSource restores from.
type Positions struct {
	shards map[string]*ShardPosition
}

// NewPositions returns empty positions (a source that has not listed its
// shards yet).
func NewPositions() *Positions { return &Positions{shards: map[string]*ShardPosition{}} }

// positionsVersion is the first field of the serialised form; Restore
// refuses versions it does not know rather than guessing.
const positionsVersion = 1

type positionsJSON struct {
	Version int             `json:"v"`
	Shards  []ShardPosition `json:"shards"`
}

// Marshal serialises the positions: versioned JSON, shards ordered by id.
// The form is small (a few hundred bytes per shard) and readable in a
// debugger; it is committed as one value, so an order-preserving key
// encoding buys nothing here.
func (p *Positions) Marshal() ([]byte, error) {
	b, err := json.Marshal(positionsJSON{Version: positionsVersion, Shards: p.Shards()})
	if err != nil {
		return nil, fmt.Errorf("kinesis: marshal positions: %w", err)
	}
	return b, nil
}

// Restore reads what Marshal wrote.
func Restore(b []byte) (*Positions, error) {
	var in positionsJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("kinesis: restore positions: %w", err)
	}
	if in.Version != positionsVersion {
		return nil, fmt.Errorf("kinesis: restore positions: unknown version %d (want %d)", in.Version, positionsVersion)
	}
	p := NewPositions()
	for _, s := range in.Shards {
		if s.ShardID == "" {
			return nil, fmt.Errorf("kinesis: restore positions: shard without id")
		}
		if _, dup := p.shards[s.ShardID]; dup {
			return nil, fmt.Errorf("kinesis: restore positions: shard %s twice", s.ShardID)
		}
		s := s
		p.shards[s.ShardID] = &s
	}
	return p, nil
}

// Shards returns a copy of every shard's position, ordered by shard id.
func (p *Positions) Shards() []ShardPosition {
	out := make([]ShardPosition, 0, len(p.shards))
	for _, id := range slices.Sorted(maps.Keys(p.shards)) {
		out = append(out, p.shards[id].clone())
	}
	return out
}

// Shard returns one shard's position.
func (p *Positions) Shard(id string) (ShardPosition, bool) {
	s, ok := p.shards[id]
	if !ok {
		return ShardPosition{}, false
	}
	return s.clone(), true
}

// Len returns the number of known shards.
func (p *Positions) Len() int { return len(p.shards) }

// Clone returns a deep copy.
func (p *Positions) Clone() *Positions {
	c := NewPositions()
	for id, s := range p.shards {
		sc := s.clone()
		c.shards[id] = &sc
	}
	return c
}

// readable reports whether shard id may be read now: not drained and every
// parent drained. A parent absent from the positions has aged out of the
// stream and holds nothing back.
func (p *Positions) readable(id string) bool {
	s := p.shards[id]
	if s == nil || s.Drained {
		return false
	}
	for _, parent := range s.Parents {
		if ps, ok := p.shards[parent]; ok && !ps.Drained {
			return false
		}
	}
	return true
}
