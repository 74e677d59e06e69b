package exec

import (
	"context"
	"testing"

	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// benchDB opens Badger in the benchmark's temporary directory, closed when
// the benchmark ends.
func benchDB(b *testing.B) *state.DB {
	b.Helper()
	db, err := state.Open(context.Background(), state.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// benchRows is a batch of benchBatch inserts of width NULLs, which a
// benchmark fills in place before each Process.
func benchRows(width int) *Batch {
	batch := NewBatch(benchBatch)
	for range benchBatch {
		batch.Append(Insert, make(types.Row, width))
	}
	return batch
}
