package eval

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// typeNames maps the names a cast may use (after the parser's own
// normalisation, e.g. integer -> int4) to types.
var typeNames = map[string]Type{
	"bool": tBool, "boolean": tBool,
	"int2": tInt2, "smallint": tInt2,
	"int4": tInt4, "int": tInt4, "integer": tInt4,
	"int8": tInt8, "bigint": tInt8,
	"oid": tOid, "text": tText, "name": tName, "char": {OID: OIDChar}, "bpchar": {OID: OIDBPChar},
	"varchar": {OID: OIDVarchar}, "character varying": {OID: OIDVarchar}, "character": {OID: OIDBPChar},
	"float4": {OID: OIDFloat4}, "real": {OID: OIDFloat4},
	"float8": tFloat8, "double precision": tFloat8, "float": tFloat8,
	"numeric": tNumeric, "decimal": tNumeric,
	"date": {OID: OIDDate}, "time": {OID: OIDTime}, "timestamp": {OID: OIDTimestamp},
	"timestamptz": {OID: OIDTimestampTZ}, "interval": {OID: OIDInterval},
	"bytea": {OID: OIDBytea}, "json": {OID: OIDJSON}, "jsonb": {OID: OIDJSONB},
	"regclass": {OID: OIDRegclass}, "regtype": {OID: OIDRegtype}, "regproc": {OID: OIDRegproc},
	"regprocedure": {OID: oidRegprocedure}, "regnamespace": {OID: oidRegnamespace},
	"regrole": {OID: oidRegrole}, "int2vector": {OID: OIDInt2Vector, Elem: OIDInt2},
	"oidvector": {OID: OIDOidVector, Elem: OIDOid}, "unknown": tUnknown, "record": tRecord,
	"pg_node_tree": {OID: OIDPgNodeTree}, "aclitem": {OID: OIDAclItem},
}

// typeSQLNames are the names format_type and regtype output use.
var typeSQLNames = map[uint32]string{
	OIDBool: "boolean", OIDInt2: "smallint", OIDInt4: "integer", OIDInt8: "bigint", OIDText: "text",
	OIDName: "name", OIDChar: `"char"`, OIDBPChar: "character", OIDVarchar: "character varying",
	OIDFloat4: "real", OIDFloat8: "double precision", OIDNumeric: "numeric", OIDDate: "date",
	OIDTime: "time without time zone", OIDTimestamp: "timestamp without time zone",
	OIDTimestampTZ: "timestamp with time zone", OIDInterval: "interval", OIDBytea: "bytea",
	OIDJSON: "json", OIDJSONB: "jsonb", OIDOid: "oid", OIDRegclass: "regclass", OIDRegtype: "regtype",
	OIDRegproc: "regproc", OIDUnknown: "unknown",
}

func typeName(t Type) string {
	if isArray(t) && t.OID != OIDInt2Vector && t.OID != OIDOidVector {
		return typeName(elemType(t)) + "[]"
	}
	if n, ok := typeSQLNames[t.OID]; ok {
		return n
	}
	for n, tt := range typeNames {
		if tt.OID == t.OID && !strings.Contains(n, " ") {
			return n
		}
	}
	return strconv.FormatUint(uint64(t.OID), 10)
}

// resolveTypeName turns a parsed type name into a Type; 42704 when unknown.
func resolveTypeName(tn *pg_query.TypeName) (Type, error) {
	names := stringList(tn.Names)
	name := names[len(names)-1]
	t, ok := typeNames[name]
	if !ok {
		return Type{}, sqlerr.Newf(sqlerr.UndefinedObject, "type %q does not exist", strings.Join(names, ".")).At(int(tn.Location) + 1)
	}
	if len(tn.ArrayBounds) > 0 {
		t = arrayOf(t)
	}
	return t, nil
}

func stringList(nodes []*pg_query.Node) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		} else if n.GetAStar() != nil {
			out = append(out, "*")
		}
	}
	return out
}

// cast converts v (of type from) to type to. Conversions involving reg*
// types read the catalog's relations through rs.
func (rs *runState) cast(v Value, from, to Type) (Value, error) {
	if v == nil {
		return nil, nil
	}
	if isArray(to) {
		arr, ok := toArray(v)
		if !ok {
			return nil, sqlerr.Newf(sqlerr.InvalidTextRepresentation, "malformed array literal: %q", textOf(v, from))
		}
		et, ft := elemType(to), elemType(from)
		out := make([]Value, len(arr))
		for i, e := range arr {
			c, err := rs.cast(e, ft, et)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	if isRegType(from.OID) && !isRegType(to.OID) && isTextType(to.OID) {
		if i, ok := v.(int64); ok {
			return rs.regName(i, from.OID)
		}
	}
	switch {
	case isTextType(to.OID):
		s := textOf(v, from)
		if b, ok := v.(bool); ok && to.OID != OIDChar {
			s = strconv.FormatBool(b)
		}
		if to.OID == OIDChar && len(s) > 1 {
			s = s[:1]
		}
		return s, nil
	case isRegType(to.OID):
		if s, ok := v.(string); ok {
			if i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
				return i, nil
			}
			return rs.regOID(s, to.OID)
		}
		if i, ok := toInt(v); ok {
			return i, nil
		}
	case isIntType(to.OID):
		if f, ok := v.(float64); ok {
			// numeric rounds half away from zero, float8 half to even.
			if from.OID == OIDNumeric {
				return int64(math.Round(f)), nil
			}
			return int64(math.RoundToEven(f)), nil
		}
		if i, ok := toInt(v); ok {
			if err := intRange(i, to.OID); err != nil {
				return nil, err
			}
			return i, nil
		}
		return nil, sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: %q", typeName(to), textOf(v, from))
	case to.OID == OIDFloat4 || to.OID == OIDFloat8 || to.OID == OIDNumeric:
		if f, ok := toFloat(v); ok {
			return f, nil
		}
		return nil, sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: %q", typeName(to), textOf(v, from))
	case to.OID == OIDBool:
		if b, ok := toBool(v); ok {
			return b, nil
		}
		return nil, sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid input syntax for type boolean: %q", textOf(v, from))
	case to.OID == OIDDate || to.OID == OIDTimestamp || to.OID == OIDTimestampTZ:
		if t, ok := v.(time.Time); ok {
			if to.OID == OIDDate {
				return t.UTC().Truncate(24 * time.Hour), nil
			}
			return t, nil
		}
		if s, ok := v.(string); ok {
			for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02"} {
				if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
					return t, nil
				}
			}
			return nil, sqlerr.Newf(sqlerr.InvalidDatetimeFormat, "invalid input syntax for type %s: %q", typeName(to), s)
		}
	case to.OID == OIDBytea:
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
	}
	return v, nil
}

func intRange(i int64, oid uint32) error {
	switch oid {
	case OIDInt2:
		if i < math.MinInt16 || i > math.MaxInt16 {
			return sqlerr.Newf(sqlerr.NumericValueOutOfRange, "smallint out of range")
		}
	case OIDInt4:
		if i < math.MinInt32 || i > math.MaxInt32 {
			return sqlerr.Newf(sqlerr.NumericValueOutOfRange, "integer out of range")
		}
	case OIDOid:
		if i < math.MinInt32 || i > math.MaxUint32 {
			return sqlerr.Newf(sqlerr.NumericValueOutOfRange, "OID out of range")
		}
	}
	return nil
}

// regCatalog says where each reg* type finds its names: the relation, its
// name column and, when names live in a schema, the namespace column.
var regCatalog = map[uint32]struct{ rel, name, nsp, what string }{
	OIDRegclass:     {"pg_class", "relname", "relnamespace", "relation"},
	OIDRegtype:      {"pg_type", "typname", "typnamespace", "type"},
	OIDRegproc:      {"pg_proc", "proname", "pronamespace", "function"},
	oidRegprocedure: {"pg_proc", "proname", "pronamespace", "function"},
	oidRegnamespace: {"pg_namespace", "nspname", "", "schema"},
	oidRegrole:      {"pg_roles", "rolname", "", "role"},
}

// splitQualified splits a possibly quoted, possibly schema-qualified name
// ("Foo".bar, pg_catalog.pg_class) into its lower-cased-unless-quoted parts.
func splitQualified(s string) []string {
	var parts []string
	var cur strings.Builder
	inQ := false
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && inQ && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			inQ = !inQ
			quoted = true
		case c == '.' && !inQ:
			parts = append(parts, cur.String())
			cur.Reset()
			quoted = false
		default:
			if !inQ && !quoted {
				c = lowerASCII(c)
			}
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// regOID reads the text form of a reg* value: the OID of a named relation,
// type, function, schema or role.
func (rs *runState) regOID(s string, oid uint32) (Value, error) {
	s = strings.TrimSpace(s)
	if s == "-" {
		return int64(0), nil
	}
	if oid == OIDRegtype {
		base := strings.TrimSuffix(s, "[]")
		if t, ok := typeNames[strings.ToLower(strings.TrimPrefix(base, "pg_catalog."))]; ok && t.OID != tRecord.OID {
			if base != s {
				t = arrayOf(t)
			}
			return int64(t.OID), nil
		}
	}
	if oid == OIDRegproc || oid == oidRegprocedure {
		if i := strings.IndexByte(s, '('); i >= 0 {
			s = s[:i]
		}
	}
	info := regCatalog[oid]
	parts := splitQualified(s)
	name, schema := parts[len(parts)-1], ""
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	}
	rows, cols, err := rs.regRelation(info.rel, info.name, info.nsp)
	if err != nil {
		return nil, err
	}
	var nsps map[int64]string
	if info.nsp != "" {
		if nsps, err = rs.namespaces(); err != nil {
			return nil, err
		}
	}
	best, bestRank := int64(-1), 99
	for _, r := range rows {
		if r[cols[info.name]] != name {
			continue
		}
		oid, _ := toInt(r[cols["oid"]])
		rank := 0
		if info.nsp != "" {
			nsp, _ := toInt(r[cols[info.nsp]])
			switch n := nsps[nsp]; {
			case schema != "" && n != schema:
				continue
			case schema != "":
			case n == "pg_catalog":
			case n == "public":
				rank = 1
			default:
				continue // not on the search path
			}
		}
		if rank < bestRank {
			best, bestRank = oid, rank
		}
	}
	if best < 0 {
		code := sqlerr.UndefinedObject
		if oid == OIDRegclass {
			code = sqlerr.UndefinedTable
		} else if oid == OIDRegproc || oid == oidRegprocedure {
			code = sqlerr.UndefinedFunction
		}
		return nil, sqlerr.Newf(code, "%s %q does not exist", info.what, s)
	}
	return best, nil
}

// regName is the text output of a reg* value: the object's name, qualified
// when its schema is not on the search path, or the number when there is
// no such object.
func (rs *runState) regName(id int64, oid uint32) (Value, error) {
	if id == 0 {
		return "-", nil
	}
	if oid == OIDRegtype {
		if n, ok := typeSQLNames[uint32(id)]; ok {
			return n, nil
		}
	}
	info := regCatalog[oid]
	rows, cols, err := rs.regRelation(info.rel, info.name, info.nsp)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if o, _ := toInt(r[cols["oid"]]); o != id {
			continue
		}
		name, _ := r[cols[info.name]].(string)
		out := QuoteIdent(name)
		if info.nsp != "" {
			nsps, err := rs.namespaces()
			if err != nil {
				return nil, err
			}
			nsp, _ := toInt(r[cols[info.nsp]])
			if n := nsps[nsp]; n != "pg_catalog" && n != "public" {
				out = QuoteIdent(n) + "." + out
			}
		}
		return out, nil
	}
	return strconv.FormatInt(id, 10), nil
}

// regRelation reads the relation a reg* type names objects in, checking
// that it has the columns the lookup reads.
func (rs *runState) regRelation(rel string, cols ...string) ([][]Value, map[string]int, error) {
	rows, idx, err := rs.relation("pg_catalog", rel)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range append(cols, "oid") {
		if _, ok := idx[c]; !ok && c != "" {
			return nil, nil, sqlerr.Newf(sqlerr.Internal, "pg_catalog.%s has no column %s", rel, c)
		}
	}
	return rows, idx, nil
}

func (rs *runState) namespaces() (map[int64]string, error) {
	rows, cols, err := rs.regRelation("pg_namespace", "nspname")
	if err != nil {
		return nil, err
	}
	m := make(map[int64]string, len(rows))
	for _, r := range rows {
		o, _ := toInt(r[cols["oid"]])
		m[o], _ = r[cols["nspname"]].(string)
	}
	return m, nil
}

// QuoteIdent quotes a name as Postgres's quote_ident does: only when it is
// not a plain lower-case identifier or is a reserved keyword.
func QuoteIdent(s string) string {
	plain := s != ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '$')) {
			plain = false
			break
		}
	}
	if plain && !reservedWords[s] {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ReservedKeywords lists, sorted, the keywords QuoteIdent quotes
// (pg_get_keywords() reports them).
func ReservedKeywords() []string {
	words := make([]string, 0, len(reservedWords))
	for w := range reservedWords {
		words = append(words, w)
	}
	slices.Sort(words)
	return words
}

// reservedWords are Postgres's reserved keywords (and the
// type-function-name ones) a catalog is likely to meet as names.
var reservedWords = map[string]bool{
	"all": true, "analyse": true, "analyze": true, "and": true, "any": true, "array": true, "as": true,
	"asc": true, "between": true, "both": true, "case": true, "cast": true, "check": true, "collate": true,
	"column": true, "constraint": true, "create": true, "current_date": true, "current_time": true,
	"current_timestamp": true, "current_user": true, "default": true, "desc": true, "distinct": true,
	"do": true, "else": true, "end": true, "except": true, "false": true, "fetch": true, "for": true,
	"foreign": true, "from": true, "grant": true, "group": true, "having": true, "in": true,
	"intersect": true, "into": true, "is": true, "join": true, "leading": true, "limit": true,
	"localtime": true, "not": true, "null": true, "offset": true, "on": true, "only": true, "or": true,
	"order": true, "primary": true, "references": true, "select": true, "table": true, "then": true,
	"to": true, "trailing": true, "true": true, "union": true, "unique": true, "user": true, "using": true,
	"when": true, "where": true, "window": true, "with": true,
}
