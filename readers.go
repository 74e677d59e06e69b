package streamsql

import (
	"sort"
	"sync"

	"github.com/streamsql/streamsql/connectors/kinesis"
	"github.com/streamsql/streamsql/sql/types"
)

// readers tracks every running set of shard readers by source, so that
// SHOW SOURCE STATUS can show what each consumer is doing.
type readers struct {
	mu       sync.Mutex
	bySource map[string]map[*kinesis.Source]string // source → readers → consumer
}

// add registers src as read for consumer; the returned func unregisters it.
func (r *readers) add(source, consumer string, src *kinesis.Source) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bySource == nil {
		r.bySource = map[string]map[*kinesis.Source]string{}
	}
	if r.bySource[source] == nil {
		r.bySource[source] = map[*kinesis.Source]string{}
	}
	r.bySource[source][src] = consumer
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.bySource[source], src)
	}
}

var sourceStatusColumns = []types.Column{
	textCol("consumer"), textCol("shard_id"), textCol("state"),
	{Name: "records", Type: types.TypeBigInt}, {Name: "bytes", Type: types.TypeBigInt},
	{Name: "millis_behind_latest", Type: types.TypeBigInt},
	{Name: "throttles", Type: types.TypeBigInt}, {Name: "retries", Type: types.TypeBigInt},
	{Name: "decode_errors", Type: types.TypeBigInt}, {Name: "late_records", Type: types.TypeBigInt},
	textCol("last_sequence_number"),
}

// status returns one row per shard per consumer of source.
func (r *readers) status(source string) []types.Row {
	r.mu.Lock()
	srcs := make(map[*kinesis.Source]string, len(r.bySource[source]))
	for s, c := range r.bySource[source] {
		srcs[s] = c
	}
	r.mu.Unlock()
	var rows []types.Row
	for src, consumer := range srcs {
		for _, st := range src.Stats() {
			rows = append(rows, types.Row{
				types.NewString(consumer), types.NewString(st.ShardID), types.NewString(st.State),
				types.NewInt(st.Records), types.NewInt(st.Bytes), types.NewInt(st.MillisBehindLatest),
				types.NewInt(st.Throttles), types.NewInt(st.Retries), types.NewInt(st.DecodeErrors),
				types.NewInt(st.LateRecords), types.NewString(st.LastSequenceNumber),
			})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a[0].Str() != b[0].Str() {
			return a[0].Str() < b[0].Str()
		}
		return a[1].Str() < b[1].Str()
	})
	return rows
}
