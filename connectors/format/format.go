// Package format owns turning Kinesis record bytes into rows of a source's
// column schema (json, csv, raw) and rows into record bytes for sinks
// (json). It fills the metadata columns (_partition_key, _sequence_number,
// _shard_id, _arrival_time) from the record when they are declared. It
// knows the SQL data model (sql/types) and error codes (sql/sqlerr), nothing
// else of ours.
package format

import (
	"strings"
	"time"
	"unsafe"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Formats.
const (
	JSON = "json"
	CSV  = "csv"
	Raw  = "raw"
)

// Metadata column names: filled from the record, never from its payload.
const (
	ColPartitionKey   = "_partition_key"
	ColSequenceNumber = "_sequence_number"
	ColShardID        = "_shard_id"
	ColArrivalTime    = "_arrival_time"
)

// Meta is what a record carries besides its data.
type Meta struct {
	PartitionKey   string
	SequenceNumber string
	ShardID        string
	ArrivalTime    time.Time
}

// Options configures a decoder.
type Options struct {
	Format  string
	Columns []types.Column
	// Paths maps a column name (case-insensitive) to a JSON path such as
	// "$.a.b" for nested fields; json only. Columns without a path read the
	// top-level field of their name, case-insensitively.
	Paths map[string]string
	// Needed, when not nil, marks the columns a query uses (by index in
	// Columns); the others stay NULL and their values are skipped without
	// being converted. Rows keep the full width either way, so column
	// indexes above the decoder do not change.
	Needed []bool
}

// needed reports whether column i is wanted under a Needed mask.
func needed(mask []bool, i int) bool { return mask == nil || i >= len(mask) || mask[i] }

// neededMeta keeps the metadata columns a query uses.
func neededMeta(meta []metaCol, mask []bool) []metaCol {
	var out []metaCol
	for _, m := range meta {
		if needed(mask, m.idx) {
			out = append(out, m)
		}
	}
	return out
}

// Decoder turns one record's data into a row. Decode appends into dst's
// storage when it has room (pass nil to get a fresh row; a row handed on
// to others must not be reused). Errors are *sqlerr.Error with a data
// exception code: the caller counts or fails per on_decode_error. The row
// does not point into data, which the caller may reuse as soon as Decode
// returns. A Decoder keeps scratch buffers: one goroutine at a time.
type Decoder interface {
	Decode(data []byte, meta *Meta, dst types.Row) (types.Row, error)
}

type metaKind uint8

const (
	metaNone metaKind = iota
	metaPartitionKey
	metaSequenceNumber
	metaShardID
	metaArrivalTime
)

func metaKindOf(name string) metaKind {
	switch strings.ToLower(name) {
	case ColPartitionKey:
		return metaPartitionKey
	case ColSequenceNumber:
		return metaSequenceNumber
	case ColShardID:
		return metaShardID
	case ColArrivalTime:
		return metaArrivalTime
	}
	return metaNone
}

// IsMetadataColumn reports whether name is one of the metadata columns.
func IsMetadataColumn(name string) bool { return metaKindOf(name) != metaNone }

type metaCol struct {
	idx  int
	kind metaKind
}

// splitColumns separates metadata columns (checking their types) from
// data columns.
func splitColumns(cols []types.Column) (data []int, meta []metaCol, err error) {
	for i, c := range cols {
		k := metaKindOf(c.Name)
		if k == metaNone {
			data = append(data, i)
			continue
		}
		want := types.String
		if k == metaArrivalTime {
			want = types.Timestamp
		}
		if c.Type.Kind != want {
			return nil, nil, sqlerr.Newf(sqlerr.DatatypeMismatch, "metadata column %s must be %s, not %s", c.Name, want, c.Type)
		}
		meta = append(meta, metaCol{idx: i, kind: k})
	}
	return data, meta, nil
}

func fillMeta(row types.Row, meta []metaCol, m *Meta) {
	if m == nil {
		return
	}
	for _, mc := range meta {
		switch mc.kind {
		// Cloned: a reader's strings share chunks with those of other
		// records (connectors/kinesis decodes a response into a few), and
		// a row may live long in state or a cache.
		case metaPartitionKey:
			row[mc.idx] = types.NewString(strings.Clone(m.PartitionKey))
		case metaSequenceNumber:
			row[mc.idx] = types.NewString(strings.Clone(m.SequenceNumber))
		case metaShardID:
			row[mc.idx] = types.NewString(m.ShardID)
		case metaArrivalTime:
			if !m.ArrivalTime.IsZero() {
				row[mc.idx] = types.NewTimestampFromTime(m.ArrivalTime)
			}
		}
	}
}

// newRow returns dst resized to n NULLs when it has room, else a new row.
func newRow(dst types.Row, n int) types.Row {
	if cap(dst) >= n {
		dst = dst[:n]
		clear(dst)
		return dst
	}
	return make(types.Row, n)
}

// NewDecoder returns the decoder for opts.Format.
func NewDecoder(opts Options) (Decoder, error) {
	switch strings.ToLower(opts.Format) {
	case JSON:
		return newJSONDecoder(opts.Columns, opts.Paths, opts.Needed)
	case CSV:
		if len(opts.Paths) > 0 {
			return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "JSON paths need format json, not csv")
		}
		return newCSVDecoder(opts.Columns, opts.Needed)
	case Raw:
		if len(opts.Paths) > 0 {
			return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "JSON paths need format json, not raw")
		}
		return newRawDecoder(opts.Columns, opts.Needed)
	}
	return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "unknown format %q", opts.Format).
		WithHint("format is one of json, csv, raw")
}

// rawDecoder: the whole record is the one BYTES column.
type rawDecoder struct {
	n    int
	col  int
	meta []metaCol
}

func newRawDecoder(cols []types.Column, mask []bool) (*rawDecoder, error) {
	data, meta, err := splitColumns(cols)
	if err != nil {
		return nil, err
	}
	if len(data) != 1 || cols[data[0]].Type.Kind != types.Bytes {
		return nil, sqlerr.Newf(sqlerr.InvalidObjectDefinition, "format raw needs exactly one BYTES column besides metadata columns")
	}
	d := &rawDecoder{n: len(cols), col: data[0], meta: neededMeta(meta, mask)}
	if !needed(mask, d.col) {
		d.col = -1
	}
	return d, nil
}

func (d *rawDecoder) Decode(data []byte, meta *Meta, dst types.Row) (types.Row, error) {
	row := newRow(dst, d.n)
	if d.col >= 0 {
		row[d.col] = types.NewBytes(data)
	}
	fillMeta(row, d.meta, meta)
	return row, nil
}

func decodeErr(code sqlerr.Code, format string, args ...any) error {
	return sqlerr.Newf(code, "decode: "+format, args...)
}

// textChunk is the size of the chunks kept strings are copied into. A
// string kept alive (a group key, say) keeps its whole chunk alive, so it
// stays small: about one record, which is what the decoder kept alive
// when each row's strings were substrings of a copy of its record.
// Longer strings get an allocation of their own.
const (
	textChunk   = 256
	textOwnFrom = textChunk / 4
)

// textChunks copies the strings a decoder's rows keep out of the caller's
// buffer, many to an allocation: a chunk's bytes up to its length are
// shared by strings handed out and never written again.
type textChunks struct{ buf []byte }

// keep returns b as a string that outlives the record.
func (t *textChunks) keep(b []byte) string {
	switch {
	case len(b) == 0:
		return ""
	case len(b) >= textOwnFrom:
		return string(b)
	case cap(t.buf)-len(t.buf) < len(b):
		t.buf = make([]byte, 0, textChunk)
	}
	n := len(t.buf)
	t.buf = append(t.buf, b...)
	return unsafe.String(&t.buf[n], len(b))
}

// view is b as a string without copying, for parsers that do not keep
// their input (strconv, parseRFC3339Micros, strings.EqualFold). Never
// store it: b is the caller's buffer, reused after Decode returns.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
