package exec

import (
	"encoding/binary"

	"github.com/streamsql/streamsql/sql/types"
)

// A table (CREATE TABLE) keeps its rows in the layout of a view's
// Materialize, so that everything that reads a view's rows (SELECT,
// SUBSCRIBE's snapshot) reads a table's the same way.

// AppendMaterializedKey appends the key a Materialize stores a row under:
// kg | the key's values (the primary key's, or the whole row's without
// one).
func AppendMaterializedKey(b []byte, key types.Row) []byte { return appendGroupPrefix(b, key) }

// AppendMaterializedValue appends the value a Materialize stores: the row
// (keyed), or count copies of it (without a key).
func AppendMaterializedValue(b []byte, keyed bool, row types.Row, count int64) []byte {
	if !keyed {
		b = binary.AppendVarint(b, count)
	}
	return appendRow(b, row)
}
