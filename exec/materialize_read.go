package exec

import (
	"fmt"

	"github.com/streamsql/streamsql/sql/types"
)

// DecodeMaterialized decodes one stored value of a Materialize table, as
// read back from committed state (SELECT from a view): the row and how
// many copies of it the view holds. keyed is whether the Materialize had
// a primary key (then the count is always 1).
func DecodeMaterialized(keyed bool, value []byte) (types.Row, int64, error) {
	n := int64(1)
	if !keyed {
		var err error
		if n, value, err = readVarint(value); err != nil {
			return nil, 0, fmt.Errorf("materialized row count: %w", err)
		}
	}
	row, _, err := readRow(value)
	if err != nil {
		return nil, 0, fmt.Errorf("materialized row: %w", err)
	}
	return row, n, nil
}
