package pgcatalog

import (
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/pgcatalog/eval"
)

// typeNames are the column types a relation's spec may name.
var typeNames = map[string]eval.Type{
	"bool":         {OID: eval.OIDBool},
	"bytea":        {OID: eval.OIDBytea},
	"char":         {OID: eval.OIDChar},
	"name":         {OID: eval.OIDName},
	"int2":         {OID: eval.OIDInt2},
	"int4":         {OID: eval.OIDInt4},
	"int8":         {OID: eval.OIDInt8},
	"float4":       {OID: eval.OIDFloat4},
	"float8":       {OID: eval.OIDFloat8},
	"numeric":      {OID: eval.OIDNumeric},
	"text":         {OID: eval.OIDText},
	"varchar":      {OID: eval.OIDVarchar},
	"oid":          {OID: eval.OIDOid},
	"xid":          {OID: oidXid},
	"regproc":      {OID: eval.OIDRegproc},
	"regclass":     {OID: eval.OIDRegclass},
	"regtype":      {OID: eval.OIDRegtype},
	"pg_node_tree": {OID: eval.OIDPgNodeTree},
	"timestamptz":  {OID: eval.OIDTimestampTZ},
	"int2vector":   {OID: eval.OIDInt2Vector, Elem: eval.OIDInt2},
	"oidvector":    {OID: eval.OIDOidVector, Elem: eval.OIDOid},
	"text[]":       {OID: eval.OIDTextArray, Elem: eval.OIDText},
	"name[]":       {OID: eval.OIDNameArray, Elem: eval.OIDName},
	"char[]":       {OID: eval.OIDCharArray, Elem: eval.OIDChar},
	"oid[]":        {OID: eval.OIDOidArray, Elem: eval.OIDOid},
	"int2[]":       {OID: eval.OIDInt2Array, Elem: eval.OIDInt2},
	"aclitem[]":    {OID: eval.OIDAclArray, Elem: eval.OIDAclItem},
	"float4[]":     {OID: oidFloat4Array, Elem: eval.OIDFloat4},
	"anyarray":     {OID: oidAnyArray},
}

// cols reads a relation's columns from "name type, name type, ...", the
// way Postgres's documentation lists a catalog's columns.
func cols(spec string) []eval.Column {
	var out []eval.Column
	for _, part := range strings.Split(spec, ",") {
		f := strings.Fields(part)
		if len(f) != 2 {
			panic(fmt.Sprintf("pgcatalog: bad column spec %q", part)) // a programming error, caught by every test
		}
		t, ok := typeNames[f[1]]
		if !ok {
			panic(fmt.Sprintf("pgcatalog: unknown type %q in column spec", f[1]))
		}
		out = append(out, eval.Column{Name: f[0], Type: t})
	}
	return out
}

// row is one row of a relation by column name. Columns it leaves out take
// their type's zero (false, 0, the empty string for name and char) or NULL (text, arrays,
// expressions, timestamps): what an unused catalog field holds in Postgres.
// In information_schema, whose views leave what does not apply NULL, every
// column left out is NULL.
type row map[string]eval.Value

// fill lays rows out in the columns' order.
func fill(columns []eval.Column, rows []row, nullDefault bool) [][]eval.Value {
	out := make([][]eval.Value, len(rows))
	for i, r := range rows {
		vals := make([]eval.Value, len(columns))
		for j, c := range columns {
			v, ok := r[c.Name]
			if !ok && !nullDefault {
				v = zero(c.Type)
			}
			vals[j] = v
		}
		out[i] = vals
	}
	return out
}

func zero(t eval.Type) eval.Value {
	switch t.OID {
	case eval.OIDBool:
		return false
	case eval.OIDInt2, eval.OIDInt4, eval.OIDInt8, eval.OIDOid, oidXid, eval.OIDRegproc, eval.OIDRegclass, eval.OIDRegtype:
		return int64(0)
	case eval.OIDFloat4, eval.OIDFloat8:
		return float64(0)
	case eval.OIDName, eval.OIDChar:
		return ""
	case eval.OIDInt2Vector, eval.OIDOidVector:
		return []eval.Value{}
	}
	return nil
}

// unknownKeys returns the names in rows that are not columns: tests call it
// for every relation so that a misspelt column cannot go unnoticed.
func unknownKeys(columns []eval.Column, rows []row) []string {
	known := map[string]bool{}
	for _, c := range columns {
		known[c.Name] = true
	}
	var out []string
	for _, r := range rows {
		for k := range r {
			if !known[k] {
				out = append(out, k)
			}
		}
	}
	return out
}

// values converts Go values to eval's array form.
func oids(xs ...uint32) []eval.Value {
	out := make([]eval.Value, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}

func texts(xs ...string) []eval.Value {
	out := make([]eval.Value, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
