package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Upsert sinks (mode = 'upsert').
//
// A sink over an updating view cannot send rows as they come: a consumer
// must learn which earlier row a change replaces. In upsert mode the
// sink's Materialize keeps the view's table for real (so that it finds
// the row a change replaces), under matPrefix in the same table as the
// staged records, and at each epoch's seal the stage sends the epoch's
// NET change per key, in key order:
//
//   - a key that appeared or whose row changed: {"op":"insert", every column}
//     (an update is the new row; the key says which row it replaces);
//   - a key that disappeared: {"op":"delete", the key columns only}.
//
// The key is the view's primary key (its group key); a view without one
// is a bag, keyed by the whole row, and each copy added or removed is an
// insert or a delete of the whole row. The partition key defaults to the
// key columns' values, so the changes of one key stay in order in one
// shard.

// matPrefix starts the keys of an upsert sink's view table. Staged records
// are keyed by (epoch, ordinal), 16 bytes starting with the epoch, which
// never reaches 2^64-1: every view key sorts after every staged record,
// and the sender stops its scan at matPrefix.
var matPrefix = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'v'}

// maxPartitionKey is Kinesis's limit on a partition key's length; a longer
// key is replaced by its SHA-256, which keeps one key's changes together.
const maxPartitionKey = 256

// isUpsert reports whether a sink is in upsert mode.
func isUpsert(o *object) bool {
	if o.createSink == nil {
		return false
	}
	m, _ := o.createSink.Options.Get("mode")
	return m == "upsert"
}

// withOp returns a new JSON object: row with an "op" member first.
func withOp(row []byte, op string) []byte {
	data := make([]byte, 0, len(row)+len(op)+10)
	data = append(data, `{"op":`...)
	data = strconv.AppendQuote(data, op)
	if len(row) > 2 { // not "{}"
		data = append(data, ',')
		return append(data, row[1:]...)
	}
	return append(data, '}')
}

// upsertState is the part of a sinkStage used in upsert mode.
type upsertState struct {
	key    []int // key columns; all columns for a bag
	keyEnc *format.JSONEncoder
	// before holds, per view key touched this epoch, its value when the
	// epoch began (nil: absent).
	before map[string][]byte
	kbuf   []byte
	sub    types.Row
}

func newUpsertState(obj *object) *upsertState {
	u := &upsertState{key: obj.stream.Key, before: map[string][]byte{}}
	if u.key == nil {
		for i := range obj.sinkColumns {
			u.key = append(u.key, i)
		}
	}
	cols := make([]types.Column, len(u.key))
	for i, k := range u.key {
		cols[i] = obj.sinkColumns[k]
	}
	u.keyEnc = format.NewJSONEncoder(cols)
	u.sub = make(types.Row, len(u.key))
	return u
}

// viewKey is where view key k is stored in the stage's table.
func (s *sinkStage) viewKey(k []byte) []byte {
	s.up.kbuf = append(append(s.up.kbuf[:0], matPrefix...), k...)
	return s.up.kbuf
}

// touch remembers k's value at the start of the epoch, once.
func (s *sinkStage) touch(k []byte) error {
	if _, seen := s.up.before[string(k)]; seen {
		return nil
	}
	old, ok, err := s.Table.Get(s.viewKey(k))
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	var img []byte
	if ok {
		img = bytes.Clone(old)
	}
	s.up.before[string(k)] = img
	return nil
}

// stageChanges turns the epoch's net changes into records (s.rows, s.keys).
func (s *sinkStage) stageChanges() error {
	keys := make([]string, 0, len(s.up.before))
	for k := range s.up.before {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		was := s.up.before[k]
		now, ok, err := s.Table.Get(s.viewKey([]byte(k)))
		if err != nil {
			return fmt.Errorf("sink %s: %w", s.name, err)
		}
		if !ok {
			now = nil
		}
		if bytes.Equal(was, now) {
			continue
		}
		if was == nil && exec.IsMaterializedBlock(now) {
			// A log block is written once, under a key of its own.
			if err := exec.MaterializedRows(s.keyed, bytes.Clone(now), func(row types.Row, _ int64) error {
				return s.stageRow("insert", row)
			}); err != nil {
				return fmt.Errorf("sink %s: stored row: %w", s.name, err)
			}
			continue
		}
		var oldRow, newRow types.Row
		var oldN, newN int64
		if was != nil {
			if oldRow, oldN, err = exec.DecodeMaterialized(s.keyed, bytes.Clone(was)); err != nil {
				return fmt.Errorf("sink %s: stored row: %w", s.name, err)
			}
		}
		if now != nil {
			if newRow, newN, err = exec.DecodeMaterialized(s.keyed, bytes.Clone(now)); err != nil {
				return fmt.Errorf("sink %s: stored row: %w", s.name, err)
			}
		}
		if s.keyed {
			// One record per key: the new row, or the key's deletion.
			if newRow != nil {
				oldN, newN = 0, 1
			} else {
				oldN, newN = 1, 0
			}
		}
		for ; newN > oldN; newN-- {
			if err := s.stageRow("insert", newRow); err != nil {
				return err
			}
		}
		for ; oldN > newN; oldN-- {
			if err := s.stageRow("delete", oldRow); err != nil {
				return err
			}
		}
	}
	clear(s.up.before)
	return nil
}

// stageRow adds one record: row (its key columns only for a delete).
func (s *sinkStage) stageRow(op string, row types.Row) error {
	for i, k := range s.up.key {
		s.up.sub[i] = row[k]
	}
	var err error
	if op == "delete" {
		s.buf, err = s.up.keyEnc.Append(s.buf[:0], s.up.sub)
	} else {
		s.buf, err = s.enc.Append(s.buf[:0], row)
	}
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	keys, err := s.recordKeys(row, s.upsertKey())
	if err != nil {
		return err
	}
	s.rows = append(s.rows, withOp(s.buf, op))
	s.keys = append(s.keys, keys)
	return nil
}

// upsertKey is the partition key made of the row's key columns (in
// s.up.sub), for a sink that names no partition_key.
func (s *sinkStage) upsertKey() string {
	parts := make([]string, len(s.up.sub))
	for i, v := range s.up.sub {
		parts[i] = v.String()
	}
	pk := strings.Join(parts, "|")
	if pk == "" {
		pk = "-" // Kinesis refuses an empty partition key
	}
	if len(pk) > maxPartitionKey {
		sum := sha256.Sum256([]byte(pk))
		pk = hex.EncodeToString(sum[:])
	}
	return pk
}

// upsertOpClash refuses, in upsert mode, a column named "op": the op
// member of each record would hide it.
func upsertOpClash(o *object, cols []types.Column) error {
	if !isUpsert(o) {
		return nil
	}
	for _, col := range cols {
		if col.Name == "op" {
			mode, _ := o.createSink.Options.Lookup("mode")
			return sqlerr.Newf(sqlerr.DuplicateColumn, "sink %s: a column named \"op\" clashes with the op field of mode = 'upsert'", o.entry.Name).
				At(mode.KeyPos).WithHint("Rename the column with AS, or sink a view that does.")
		}
	}
	return nil
}
