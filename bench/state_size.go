package bench

import (
	"context"
	"fmt"

	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/state"
)

// OperatorState is what a view's operators keep in state (its own rows,
// the view's table, left out): live keys and their bytes in the committed
// state, summed over the operators, and per operator id (EXPLAIN's
// state=N).
type OperatorState struct {
	Keys        int64           `json:"keys"`
	Bytes       int64           `json:"bytes"`
	PerOperator map[uint32]Size `json:"per_operator"`
}

// Size is one operator's state.
type Size struct {
	Keys  int64 `json:"keys"`
	Bytes int64 `json:"bytes"`
}

// operatorState reads the state committed in dir (of a closed engine that
// held one view) and sums its operators' tables.
func operatorState(ctx context.Context, dir string) (*OperatorState, error) {
	db, err := state.Open(ctx, state.Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		return nil, fmt.Errorf("open state to measure it: %w", err)
	}
	defer db.Close()
	sizes, err := db.TableSizes()
	if err != nil {
		return nil, fmt.Errorf("measure state: %w", err)
	}
	out := &OperatorState{PerOperator: map[uint32]Size{}}
	for _, t := range sizes {
		if t.OperatorID == planner.MaterializeTable {
			continue
		}
		s := out.PerOperator[t.OperatorID]
		s.Keys += t.Keys
		s.Bytes += t.Bytes
		out.PerOperator[t.OperatorID] = s
		out.Keys += t.Keys
		out.Bytes += t.Bytes
	}
	return out, nil
}

func (s *OperatorState) String() string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%d keys, %.1f MiB", s.Keys, float64(s.Bytes)/(1<<20))
}
