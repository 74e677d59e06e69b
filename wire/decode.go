package wire

import (
	"encoding/binary"
	"math"
	"strconv"
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
		v, err := types.ParseText(t, string(b))
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

func paramName(n int) string { return "parameter $" + strconv.Itoa(n) }

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
