package wire

import "github.com/streamsql/streamsql/sql/types"

// Postgres type OIDs (pg_type.oid) the server sends and accepts.
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidUnknown     = 705
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestampTZ = 1184
	oidInterval    = 1186
	oidNumeric     = 1700
	oidJSONB       = 3802
)

// typeInfo is how a column of a type is described in RowDescription.
type typeInfo struct {
	oid    uint32
	size   int16 // pg_type.typlen: -1 for variable length
	typmod int32 // -1 when the type has no modifier
}

// describeType maps one of our types to the Postgres type a client sees
// (types.Type.Postgres, which the catalog's pg_attribute uses too).
func describeType(t types.Type) typeInfo {
	p := t.Postgres()
	return typeInfo{oid: p.OID, size: p.Len, typmod: p.Typmod}
}

// typeOfOID maps a parameter type a client names in Parse to ours. ok is
// false for a type we do not know; such parameters are read as text.
func typeOfOID(oid uint32) (types.Type, bool) {
	switch oid {
	case oidBool:
		return types.TypeBool, true
	case oidInt2:
		return types.TypeSmallInt, true
	case oidInt4:
		return types.TypeInt, true
	case oidInt8:
		return types.TypeBigInt, true
	case oidFloat4:
		return types.TypeFloat, true
	case oidFloat8:
		return types.TypeDouble, true
	case oidNumeric:
		return types.Type{Kind: types.Decimal}, true
	case oidText, oidVarchar, oidBPChar, oidName, oidChar, oidUnknown:
		return types.TypeText, true
	case oidTime:
		// No TIME type: a time of day travels as its text ('13:14:15.5').
		return types.TypeText, true
	case oidBytea:
		return types.TypeBytes, true
	case oidDate:
		return types.TypeDate, true
	case oidTimestamp, oidTimestampTZ:
		return types.TypeTimestamp, true
	case oidJSON, oidJSONB:
		return types.TypeJSON, true
	case oidInterval:
		return types.TypeInterval, true
	}
	return types.TypeText, false
}
