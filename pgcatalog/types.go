package pgcatalog

import (
	"fmt"

	"github.com/streamsql/streamsql/sql/types"
)

// OIDs of types and functions the eval package does not name.
const (
	oidXid         uint32 = 28
	oidFloat4Array uint32 = 1021
	oidAny         uint32 = 2276
	oidAnyArray    uint32 = 2277
	oidAnyElement  uint32 = 2283
	oidArrayIn     uint32 = 750 // array_in: pgjdbc tells arrays by typinput = 'array_in'::regproc
	oidDefaultColl uint32 = 100
)

// pgType is one row of pg_type.
type pgType struct {
	oid      uint32
	name     string
	format   string // as format_type spells it, without a modifier
	len      int
	byval    bool
	typtype  string // b base, p pseudo
	category string
	array    uint32 // the array type of this type; 0 if none
	elem     uint32 // for array types, the element type
	collated bool
}

// baseTypes are the types of our columns, of the catalog's columns, and
// the common ones drivers look up by name or OID. Each gets an array type
// named _name.
var baseTypes = []pgType{
	{oid: 16, name: "bool", format: "boolean", len: 1, byval: true, category: "B", array: 1000},
	{oid: 17, name: "bytea", format: "bytea", len: -1, category: "U", array: 1001},
	{oid: 18, name: "char", format: `"char"`, len: 1, byval: true, category: "Z", array: 1002},
	{oid: 19, name: "name", format: "name", len: 64, category: "S", array: 1003, collated: true},
	{oid: 20, name: "int8", format: "bigint", len: 8, byval: true, category: "N", array: 1016},
	{oid: 21, name: "int2", format: "smallint", len: 2, byval: true, category: "N", array: 1005},
	{oid: 22, name: "int2vector", format: "int2vector", len: -1, category: "A", array: 1006},
	{oid: 23, name: "int4", format: "integer", len: 4, byval: true, category: "N", array: 1007},
	{oid: 24, name: "regproc", format: "regproc", len: 4, byval: true, category: "N", array: 1008},
	{oid: 25, name: "text", format: "text", len: -1, category: "S", array: 1009, collated: true},
	{oid: 26, name: "oid", format: "oid", len: 4, byval: true, category: "N", array: 1028},
	{oid: 28, name: "xid", format: "xid", len: 4, byval: true, category: "U", array: 1011},
	{oid: 30, name: "oidvector", format: "oidvector", len: -1, category: "A", array: 1013},
	{oid: 114, name: "json", format: "json", len: -1, category: "U", array: 199},
	{oid: 142, name: "xml", format: "xml", len: -1, category: "U", array: 143},
	{oid: 194, name: "pg_node_tree", format: "pg_node_tree", len: -1, category: "Z", collated: true},
	{oid: 700, name: "float4", format: "real", len: 4, byval: true, category: "N", array: 1021},
	{oid: 701, name: "float8", format: "double precision", len: 8, byval: true, category: "N", array: 1022},
	{oid: 705, name: "unknown", format: "unknown", len: -2, typtype: "p", category: "X"},
	{oid: 790, name: "money", format: "money", len: 8, byval: true, category: "N", array: 791},
	{oid: 869, name: "inet", format: "inet", len: -1, category: "I", array: 1041},
	{oid: 1033, name: "aclitem", format: "aclitem", len: 12, category: "U", array: 1034},
	{oid: 1042, name: "bpchar", format: "character", len: -1, category: "S", array: 1014, collated: true},
	{oid: 1043, name: "varchar", format: "character varying", len: -1, category: "S", array: 1015, collated: true},
	{oid: 1082, name: "date", format: "date", len: 4, byval: true, category: "D", array: 1182},
	{oid: 1083, name: "time", format: "time without time zone", len: 8, byval: true, category: "D", array: 1183},
	{oid: 1114, name: "timestamp", format: "timestamp without time zone", len: 8, byval: true, category: "D", array: 1115},
	{oid: 1184, name: "timestamptz", format: "timestamp with time zone", len: 8, byval: true, category: "D", array: 1185},
	{oid: 1186, name: "interval", format: "interval", len: 16, category: "T", array: 1187},
	{oid: 1266, name: "timetz", format: "time with time zone", len: 12, category: "D", array: 1270},
	{oid: 1560, name: "bit", format: "bit", len: -1, category: "V", array: 1561},
	{oid: 1562, name: "varbit", format: "bit varying", len: -1, category: "V", array: 1563},
	{oid: 1700, name: "numeric", format: "numeric", len: -1, category: "N", array: 1231},
	{oid: 2205, name: "regclass", format: "regclass", len: 4, byval: true, category: "N", array: 2210},
	{oid: 2206, name: "regtype", format: "regtype", len: 4, byval: true, category: "N", array: 2211},
	{oid: 4089, name: "regnamespace", format: "regnamespace", len: 4, byval: true, category: "N", array: 4090},
	{oid: 2249, name: "record", format: "record", len: -1, typtype: "p", category: "P", array: 2287},
	{oid: 2275, name: "cstring", format: "cstring", len: -2, typtype: "p", category: "P", array: 1263},
	{oid: 2276, name: "any", format: `"any"`, len: 4, byval: true, typtype: "p", category: "P"},
	{oid: 2277, name: "anyarray", format: "anyarray", len: -1, typtype: "p", category: "P"},
	{oid: 2278, name: "void", format: "void", len: 4, byval: true, typtype: "p", category: "P"},
	{oid: 2283, name: "anyelement", format: "anyelement", len: 4, byval: true, typtype: "p", category: "P"},
	{oid: 2950, name: "uuid", format: "uuid", len: 16, category: "U", array: 2951},
	{oid: 3802, name: "jsonb", format: "jsonb", len: -1, category: "U", array: 3807},
}

// allTypes is baseTypes plus their array types, and byOID indexes it.
var (
	allTypes  []pgType
	typeByOID = map[uint32]*pgType{}
)

func init() {
	for _, t := range baseTypes {
		if t.typtype == "" {
			t.typtype = "b"
		}
		allTypes = append(allTypes, t)
		if t.array != 0 {
			allTypes = append(allTypes, pgType{oid: t.array, name: "_" + t.name, format: t.format + "[]", len: -1,
				typtype: "b", category: "A", elem: t.oid, collated: t.collated})
		}
	}
	for i := range allTypes {
		typeByOID[allTypes[i].oid] = &allTypes[i]
	}
}

// TypeOf is how a column of ours appears in pg_attribute: its type's OID,
// typmod and length, as the wire protocol describes it in RowDescription.
func TypeOf(t types.Type) (oid uint32, typmod int32, length int) {
	p := t.Postgres()
	return p.OID, p.Typmod, int(p.Len)
}

// formatType is format_type(oid, typmod): the SQL name of a type with its
// modifier, as psql's \d prints a column's type.
func formatType(oid uint32, typmod int64) (string, bool) {
	t, ok := typeByOID[oid]
	if !ok {
		return "", false
	}
	if typmod < 0 {
		return t.format, true
	}
	switch oid {
	case 1043, 1042:
		return fmt.Sprintf("%s(%d)", t.format, typmod-4), true
	case 1700:
		m := typmod - 4
		return fmt.Sprintf("numeric(%d,%d)", m>>16, m&0xffff), true
	case 1114:
		return fmt.Sprintf("timestamp(%d) without time zone", typmod), true
	case 1184:
		return fmt.Sprintf("timestamp(%d) with time zone", typmod), true
	case 1083:
		return fmt.Sprintf("time(%d) without time zone", typmod), true
	}
	return t.format, true
}

// pgTypeRows are pg_type's rows.
func pgTypeRows() []row {
	out := make([]row, 0, len(allTypes))
	for _, t := range allTypes {
		align := "i"
		switch {
		case t.len == 8 || t.oid == 1186:
			align = "d"
		case t.len == 1 || t.len == 64 || t.len == -2:
			align = "c"
		case t.len == 2:
			align = "s"
		}
		storage := "p"
		if t.len == -1 {
			storage = "x"
		}
		r := row{
			"oid": int64(t.oid), "typname": t.name, "typnamespace": int64(oidPgCatalog), "typowner": int64(oidSuperuser),
			"typlen": int64(t.len), "typbyval": t.byval, "typtype": t.typtype, "typcategory": t.category,
			"typisdefined": true, "typdelim": ",", "typelem": int64(t.elem), "typarray": int64(t.array),
			"typalign": align, "typstorage": storage, "typtypmod": int64(-1),
		}
		if t.elem != 0 {
			r["typinput"] = int64(oidArrayIn)
		}
		if t.collated {
			r["typcollation"] = int64(oidDefaultColl)
		}
		out = append(out, r)
	}
	return out
}
