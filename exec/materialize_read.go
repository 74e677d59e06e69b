package exec

import (
	"encoding/binary"
	"fmt"

	"github.com/streamsql/streamsql/sql/types"
)

// DecodeMaterialized decodes one stored value of a Materialize table, as
// read back from committed state (SELECT from a view): the row and how
// many copies of it the view holds. keyed is whether the Materialize had
// a primary key (then the count is always 1). A log block (see
// Materialize) holds many rows: it is an error here, MaterializedRows
// reads it.
func DecodeMaterialized(keyed bool, value []byte) (types.Row, int64, error) {
	n := int64(1)
	if !keyed {
		var err error
		if n, value, err = readVarint(value); err != nil {
			return nil, 0, fmt.Errorf("materialized row count: %w", err)
		}
		if n == 0 {
			return nil, 0, fmt.Errorf("materialized value: a log block of rows, not one row")
		}
	}
	row, _, err := readRow(value)
	if err != nil {
		return nil, 0, fmt.Errorf("materialized row: %w", err)
	}
	return row, n, nil
}

// isLogBlock reports whether a stored value of a Materialize table without
// a key is a log block (a zero count first).
func isLogBlock(value []byte) bool { return len(value) > 0 && value[0] == 0 }

// IsMaterializedBlock reports whether a stored value of a Materialize
// table holds a log block, which is written once under a key of its own
// and never changes: its rows are all inserts. A view with a key is a log
// too when the planner proves its rows are only ever inserted (a windowed
// aggregate emitting on window close), so blocks are told apart by their
// first byte in either layout: a keyed row starts with its column count,
// never zero.
func IsMaterializedBlock(value []byte) bool { return isLogBlock(value) }

// MaterializedRows calls fn with each row of one stored value of a
// Materialize table and its copies: the one row of a keyed or counted
// value, or every row of a log block, in order, each once. fn may keep
// the rows.
func MaterializedRows(keyed bool, value []byte, fn func(row types.Row, n int64) error) error {
	if !IsMaterializedBlock(value) {
		row, n, err := DecodeMaterialized(keyed, value)
		if err != nil {
			return err
		}
		return fn(row, n)
	}
	n, w := binary.Uvarint(value[1:])
	if w <= 0 {
		return fmt.Errorf("materialized log block: no row count")
	}
	rest := value[1+w:]
	for ; n > 0; n-- {
		row, tail, err := readRow(rest)
		if err != nil {
			return fmt.Errorf("materialized log block: %w", err)
		}
		rest = tail
		if err := fn(row, 1); err != nil {
			return err
		}
	}
	if len(rest) != 0 {
		return fmt.Errorf("materialized log block: %d bytes after its rows", len(rest))
	}
	return nil
}
