package expr

import "github.com/streamsql/streamsql/sql/types"

// parseText reads a string as type t: CAST from text and text parameters.
// It is the one place that calls the Postgres text input of sql/types.
func parseText(t types.Type, s string) (types.Value, error) {
	v, err := types.ParseText(t, s)
	if err != nil {
		return types.Null, err
	}
	if t.Kind == types.Timestamp {
		v = roundTimestamp(v, t.Precision)
	}
	return v, nil
}
