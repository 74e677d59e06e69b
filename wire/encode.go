package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/streamsql/streamsql/sql/types"
)

// Epoch shifts between Unix time and Postgres's binary date/time format,
// which counts from 2000-01-01.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * microsPerDay
	microsPerDay  = 86400 * 1_000_000
)

// colEncoder writes the values of one result column in one format.
type colEncoder struct {
	oid    uint32
	binary bool
}

func newEncoders(cols []types.Column, formats []int16) []colEncoder {
	encs := make([]colEncoder, len(cols))
	for i, c := range cols {
		encs[i] = colEncoder{oid: describeType(c.Type).oid, binary: formatOf(formats, i) == 1}
	}
	return encs
}

// formatOf reads Bind's result format codes: none means all text, one
// applies to every column, otherwise one per column.
func formatOf(formats []int16, i int) int16 {
	switch {
	case len(formats) == 0:
		return 0
	case len(formats) == 1:
		return formats[0]
	case i < len(formats):
		return formats[i]
	}
	return 0
}

// appendValue appends the encoding of a non-NULL v.
func (e colEncoder) appendValue(dst []byte, v types.Value) ([]byte, error) {
	if e.binary {
		return appendBinary(dst, e.oid, v)
	}
	return appendText(dst, e.oid, v), nil
}

// appendText appends v in Postgres's text output format.
func appendText(dst []byte, oid uint32, v types.Value) []byte {
	switch v.Kind() {
	case types.Bool:
		if v.Bool() {
			return append(dst, 't')
		}
		return append(dst, 'f')
	case types.Int:
		return strconv.AppendInt(dst, v.Int(), 10)
	case types.Float:
		bits := 64
		if oid == oidFloat4 {
			bits = 32
		}
		return appendFloat(dst, v.Float(), bits)
	case types.Bytes:
		s := v.Str()
		dst = append(dst, '\\', 'x')
		for i := 0; i < len(s); i++ {
			dst = append(dst, hexDigits[s[i]>>4], hexDigits[s[i]&15])
		}
		return dst
	case types.Date:
		return appendDate(dst, v.Days())
	case types.Timestamp:
		return appendTimestamp(dst, v.Micros())
	case types.Interval:
		m, us := v.IntervalParts()
		return append(dst, types.FormatInterval(m, us)...)
	}
	return append(dst, v.Str()...)
}

const hexDigits = "0123456789abcdef"

func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// civil returns the proleptic Gregorian date of days since 1970-01-01
// (Howard Hinnant's days_from_civil, inverted).
func civil(days int64) (y int64, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// appendYMD appends YYYY-MM-DD and reports whether the year is BC, which
// Postgres marks with a " BC" suffix after the whole value.
func appendYMD(dst []byte, days int64) ([]byte, bool) {
	y, m, d := civil(days)
	bc := y <= 0
	if bc {
		y = 1 - y
	}
	if y < 1000 {
		dst = append(dst, '0')
		if y < 100 {
			dst = append(dst, '0')
			if y < 10 {
				dst = append(dst, '0')
			}
		}
	}
	dst = strconv.AppendInt(dst, y, 10)
	return append(dst, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10)), bc
}

func appendDate(dst []byte, days int64) []byte {
	dst, bc := appendYMD(dst, days)
	if bc {
		dst = append(dst, " BC"...)
	}
	return dst
}

// appendTimestamp appends "YYYY-MM-DD HH:MM:SS[.ffffff]" with trailing zeros
// of the fraction removed, as Postgres prints a timestamp.
func appendTimestamp(dst []byte, micros int64) []byte {
	days := micros / microsPerDay
	rem := micros % microsPerDay
	if rem < 0 {
		days--
		rem += microsPerDay
	}
	dst, bc := appendYMD(dst, days)
	secs := rem / 1_000_000
	frac := rem % 1_000_000
	h, mi, s := secs/3600, secs/60%60, secs%60
	dst = append(dst, ' ', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10),
		':', byte('0'+s/10), byte('0'+s%10))
	if frac != 0 {
		var f [7]byte
		f[0] = '.'
		for i := 6; i >= 1; i-- {
			f[i] = byte('0' + frac%10)
			frac /= 10
		}
		n := 7
		for f[n-1] == '0' {
			n--
		}
		dst = append(dst, f[:n]...)
	}
	if bc {
		dst = append(dst, " BC"...)
	}
	return dst
}

// appendBinary appends v in the binary format of the column's type.
func appendBinary(dst []byte, oid uint32, v types.Value) ([]byte, error) {
	switch oid {
	case oidBool:
		if v.Bool() {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case oidInt2:
		return binary.BigEndian.AppendUint16(dst, uint16(asInt(v))), nil
	case oidInt4:
		return binary.BigEndian.AppendUint32(dst, uint32(asInt(v))), nil
	case oidInt8:
		return binary.BigEndian.AppendUint64(dst, uint64(asInt(v))), nil
	case oidFloat4:
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(asFloat(v)))), nil
	case oidFloat8:
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(asFloat(v))), nil
	case oidNumeric:
		text := v.Str()
		if v.Kind() != types.Decimal {
			text = v.String()
		}
		return appendNumericBinary(dst, text)
	case oidDate:
		return binary.BigEndian.AppendUint32(dst, uint32(int32(v.Days()-pgEpochDays))), nil
	case oidTimestamp, oidTimestampTZ:
		return binary.BigEndian.AppendUint64(dst, uint64(v.Micros()-pgEpochMicros)), nil
	case oidInterval:
		months, micros := v.IntervalParts()
		dst = binary.BigEndian.AppendUint64(dst, uint64(micros))
		dst = binary.BigEndian.AppendUint32(dst, 0) // days: ours live in micros
		return binary.BigEndian.AppendUint32(dst, uint32(int32(months))), nil
	case oidJSONB:
		return append(append(dst, 1), v.Str()...), nil
	case oidBytea, oidText, oidVarchar, oidJSON:
		if v.Kind() == types.Bytes || v.Kind() == types.String || v.Kind() == types.JSON || v.Kind() == types.Decimal {
			return append(dst, v.Str()...), nil
		}
		return appendText(dst, oid, v), nil
	}
	return dst, fmt.Errorf("no binary output for type oid %d", oid)
}

// asInt reads a value of a numeric kind as an integer, for a column whose
// declared type and value disagree in width or kind.
func asInt(v types.Value) int64 {
	if v.Kind() == types.Float {
		return int64(v.Float())
	}
	return v.Int()
}

func asFloat(v types.Value) float64 {
	if v.Kind() == types.Float {
		return v.Float()
	}
	return float64(v.Int())
}
