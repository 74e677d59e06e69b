package format

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// JSONEncoder writes a row as one JSON object, column names as keys,
// timestamps as RFC 3339 with milliseconds in UTC, BYTES as base64,
// DECIMAL as a JSON number, JSON columns inline.
type JSONEncoder struct {
	cols []types.Column
	keys [][]byte // `"name":` per column, with the separating comma
}

// NewJSONEncoder prepares an encoder for cols.
func NewJSONEncoder(cols []types.Column) *JSONEncoder {
	e := &JSONEncoder{cols: cols, keys: make([][]byte, len(cols))}
	for i, c := range cols {
		var k []byte
		if i > 0 {
			k = append(k, ',')
		}
		k = appendJSONString(k, c.Name)
		e.keys[i] = append(k, ':')
	}
	return e
}

// Append appends row's object to dst.
func (e *JSONEncoder) Append(dst []byte, row types.Row) ([]byte, error) {
	if len(row) != len(e.cols) {
		return dst, sqlerr.Newf(sqlerr.Internal, "encode: row has %d values for %d columns", len(row), len(e.cols))
	}
	dst = append(dst, '{')
	for i, v := range row {
		dst = append(dst, e.keys[i]...)
		dst = appendValue(dst, v)
	}
	return append(dst, '}'), nil
}

func appendValue(dst []byte, v types.Value) []byte {
	switch v.Kind() {
	case types.Unknown:
		return append(dst, "null"...)
	case types.Bool:
		return strconv.AppendBool(dst, v.Bool())
	case types.Int:
		return strconv.AppendInt(dst, v.Int(), 10)
	case types.Float:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendJSONString(dst, types.FormatFloat(f)) // JSON has no NaN or Infinity
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	case types.Decimal, types.JSON:
		return append(dst, v.Str()...)
	case types.Bytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, []byte(v.Str()))
		return append(dst, '"')
	case types.Timestamp:
		dst = append(dst, '"')
		dst = time.UnixMicro(v.Micros()).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
		return append(dst, '"')
	}
	return appendJSONString(dst, v.String())
}

const hexDigits = "0123456789abcdef"

func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
