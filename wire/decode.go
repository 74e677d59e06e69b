package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// invalidBinaryRepresentation is Postgres's 22P03.
const invalidBinaryRepresentation sqlerr.Code = "22P03"

// decodeParam turns one Bind parameter into a value. oid is the type the
// parameter was described with; t is our type for it. The result never
// aliases b.
func decodeParam(oid uint32, t types.Type, format int16, b []byte, n int) (types.Value, error) {
	if b == nil {
		return types.Null, nil
	}
	switch format {
	case 0:
		if !utf8.Valid(b) {
			return types.Null, sqlerr.Newf(sqlerr.Code("22021"), "invalid byte sequence for encoding \"UTF8\" in parameter $%d", n)
		}
		if oid == oidTime {
			return parseTimeOfDay(string(b), n)
		}
		text := string(b)
		if t.Kind == types.Date {
			text = dropDateZone(text)
		}
		v, err := types.ParseText(t, text)
		if err != nil {
			return types.Null, sqlerr.Wrap(err, sqlerr.InvalidTextRepresentation, paramName(n))
		}
		return v, nil
	case 1:
		v, err := decodeBinary(oid, b)
		if err != nil {
			return types.Null, sqlerr.Wrap(err, invalidBinaryRepresentation, paramName(n))
		}
		return v, nil
	}
	return types.Null, sqlerr.Newf(sqlerr.ProtocolViolation, "unsupported format code: %d", format)
}

// dropDateZone drops a time zone after a date ("2024-02-29 +02", what
// pgjdbc's setDate sends): Postgres's date input ignores it too, and the
// date is the one written, not that day in UTC.
func dropDateZone(s string) string {
	if d, zone, ok := strings.Cut(strings.TrimSpace(s), " "); ok {
		if zone = strings.TrimSpace(zone); zone != "" && (zone[0] == '+' || zone[0] == '-') {
			return d
		}
	}
	return s
}

func paramName(n int) string { return "parameter $" + strconv.Itoa(n) }

// conformParam makes a decoded parameter fit what the query needs when
// the client declared another type: text (a text OID, or unknown) is read
// as the needed type, as Postgres reads an untyped literal; numbers stay
// numbers and dates and timestamps convert into each other when the
// query runs; any other mismatch (bytea where a number is needed) is
// refused with 42804 rather than guessed at.
func conformParam(v types.Value, oid uint32, need types.Type, n int) (types.Value, error) {
	if v.IsNull() || need.Kind == types.Unknown || need.Kind == types.String || v.Kind() == need.Kind {
		return v, nil
	}
	if v.Kind() == types.String {
		out, err := types.ParseText(need, v.Str())
		if err != nil {
			return types.Null, sqlerr.Wrap(err, sqlerr.InvalidTextRepresentation, paramName(n))
		}
		return out, nil
	}
	// MySQL booleans are numbers: TRUE is 1.
	numeric := func(k types.Kind) bool {
		return k == types.Int || k == types.Float || k == types.Decimal || k == types.Bool
	}
	datetime := func(k types.Kind) bool { return k == types.Date || k == types.Timestamp }
	if numeric(v.Kind()) && numeric(need.Kind) || datetime(v.Kind()) && datetime(need.Kind) {
		return v, nil
	}
	declared, _ := typeOfOID(oid)
	return types.Null, sqlerr.Newf(sqlerr.DatatypeMismatch, "%s is declared %s, but the query needs %s",
		paramName(n), types.PGName(declared), types.PGName(need)).
		WithHint("Send the parameter as text, or with the type the query needs.")
}

func badBinary(oid uint32, b []byte) error {
	return sqlerr.Newf(invalidBinaryRepresentation, "incorrect binary data format (type oid %d, %d bytes)", oid, len(b))
}

func decodeBinary(oid uint32, b []byte) (types.Value, error) {
	need := func(n int) error {
		if len(b) != n {
			return badBinary(oid, b)
		}
		return nil
	}
	switch oid {
	case oidBool:
		if err := need(1); err != nil {
			return types.Null, err
		}
		return types.NewBool(b[0] != 0), nil
	case oidInt2:
		if err := need(2); err != nil {
			return types.Null, err
		}
		return types.NewInt(int64(int16(binary.BigEndian.Uint16(b)))), nil
	case oidInt4:
		if err := need(4); err != nil {
			return types.Null, err
		}
		return types.NewInt(int64(int32(binary.BigEndian.Uint32(b)))), nil
	case oidInt8:
		if err := need(8); err != nil {
			return types.Null, err
		}
		return types.NewInt(int64(binary.BigEndian.Uint64(b))), nil
	case oidFloat4:
		if err := need(4); err != nil {
			return types.Null, err
		}
		return types.NewFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(b)))), nil
	case oidFloat8:
		if err := need(8); err != nil {
			return types.Null, err
		}
		return types.NewFloat(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
	case oidNumeric:
		s, err := decodeNumericBinary(b)
		if err != nil {
			return types.Null, sqlerr.Wrap(err, invalidBinaryRepresentation, "numeric")
		}
		return types.NewDecimal(s), nil
	case oidDate:
		if err := need(4); err != nil {
			return types.Null, err
		}
		return types.NewDate(int64(int32(binary.BigEndian.Uint32(b))) + pgEpochDays), nil
	case oidTimestamp, oidTimestampTZ:
		if err := need(8); err != nil {
			return types.Null, err
		}
		return types.NewTimestamp(int64(binary.BigEndian.Uint64(b)) + pgEpochMicros), nil
	case oidTime:
		// We have no TIME type: a time of day is its text, as Postgres
		// prints it.
		if err := need(8); err != nil {
			return types.Null, err
		}
		us := int64(binary.BigEndian.Uint64(b))
		if us < 0 || us > microsPerDay {
			return types.Null, badBinary(oid, b)
		}
		return types.NewString(formatTimeOfDay(us)), nil
	case oidInterval:
		if err := need(16); err != nil {
			return types.Null, err
		}
		micros := int64(binary.BigEndian.Uint64(b))
		days := int64(int32(binary.BigEndian.Uint32(b[8:])))
		months := int64(int32(binary.BigEndian.Uint32(b[12:])))
		return types.NewInterval(months, micros+days*microsPerDay), nil
	case oidBytea:
		return types.NewBytes(b), nil
	case oidJSON:
		return types.ParseText(types.TypeJSON, string(b))
	case oidJSONB:
		if len(b) == 0 || b[0] != 1 {
			return types.Null, badBinary(oid, b)
		}
		return types.ParseText(types.TypeJSON, string(b[1:]))
	case oidText, oidVarchar, oidBPChar, oidName, oidChar, oidUnknown:
		if !utf8.Valid(b) {
			return types.Null, badBinary(oid, b)
		}
		return types.NewString(string(b)), nil
	}
	return types.Null, sqlerr.Newf(sqlerr.FeatureNotSupported, "binary input for type oid %d is not supported", oid)
}

// formatTimeOfDay prints microseconds since midnight as Postgres prints a
// time: HH:MM:SS with the fraction's trailing zeros dropped.
func formatTimeOfDay(us int64) string {
	secs := us / 1_000_000
	out := fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	if frac := us % 1_000_000; frac != 0 {
		out += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
	}
	return out
}

// parseTimeOfDay reads a time parameter, HH:MM[:SS[.ffffff]] (24:00:00
// at most, as Postgres allows), and returns it as Postgres prints it.
func parseTimeOfDay(s string, n int) (types.Value, error) {
	bad := func() (types.Value, error) {
		return types.Null, sqlerr.Newf(sqlerr.InvalidDatetimeFormat, "%s: invalid input syntax for type time: %q", paramName(n), s)
	}
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return bad()
	}
	var frac int64
	if len(parts) == 3 {
		sec, f, ok := strings.Cut(parts[2], ".")
		parts[2] = sec
		if ok {
			if f == "" || len(f) > 6 {
				return bad()
			}
			v, err := strconv.ParseUint(f+strings.Repeat("0", 6-len(f)), 10, 32)
			if err != nil {
				return bad()
			}
			frac = int64(v)
		}
	}
	var hms [3]int64
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 8)
		if err != nil || len(p) != 2 {
			return bad()
		}
		hms[i] = int64(v)
	}
	us := ((hms[0]*60+hms[1])*60+hms[2])*1_000_000 + frac
	if hms[1] > 59 || hms[2] > 59 || us > microsPerDay {
		return types.Null, sqlerr.Newf(sqlerr.DatetimeFieldOverflow, "%s: date/time field value out of range: %q", paramName(n), s)
	}
	return types.NewString(formatTimeOfDay(us)), nil
}
