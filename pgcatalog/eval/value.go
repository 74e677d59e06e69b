package eval

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// More pg_type OIDs the evaluator gives its own results.
const (
	oidRecord       uint32 = 2249
	oidInt4Array    uint32 = 1007
	oidInt8Array    uint32 = 1016
	oidBoolArray    uint32 = 1000
	oidVarcharArray uint32 = 1015
	oidFloat8Array  uint32 = 1022
	oidRegprocedure uint32 = 2202
	oidRegnamespace uint32 = 4089
	oidRegrole      uint32 = 4096
	oidRegtypeArray uint32 = 2211
	oidRegclassArr  uint32 = 2210
)

// record is a composite value: what a set-returning function with several
// columns yields in a select list, read with (f(x)).name.
type record struct {
	cols []Column
	vals []Value
}

var (
	tUnknown = Type{OID: OIDUnknown}
	tBool    = Type{OID: OIDBool}
	tInt2    = Type{OID: OIDInt2}
	tInt4    = Type{OID: OIDInt4}
	tInt8    = Type{OID: OIDInt8}
	tOid     = Type{OID: OIDOid}
	tText    = Type{OID: OIDText}
	tName    = Type{OID: OIDName}
	tFloat8  = Type{OID: OIDFloat8}
	tNumeric = Type{OID: OIDNumeric}
	tRecord  = Type{OID: oidRecord}
)

// arrayOf returns the array type whose elements are of type t.
func arrayOf(t Type) Type {
	if t.Elem != 0 {
		return t
	}
	a := map[uint32]uint32{
		OIDBool: oidBoolArray, OIDChar: OIDCharArray, OIDName: OIDNameArray, OIDInt2: OIDInt2Array,
		OIDInt4: oidInt4Array, OIDInt8: oidInt8Array, OIDText: OIDTextArray, OIDOid: OIDOidArray,
		OIDVarchar: oidVarcharArray, OIDFloat8: oidFloat8Array, OIDRegtype: oidRegtypeArray,
		OIDRegclass: oidRegclassArr, OIDAclItem: OIDAclArray, OIDUnknown: OIDTextArray,
	}[t.OID]
	if a == 0 {
		a = OIDTextArray
		t = tText
	}
	return Type{OID: a, Elem: t.OID}
}

func isArray(t Type) bool {
	return t.Elem != 0 || t.OID == OIDInt2Vector || t.OID == OIDOidVector
}

func elemType(t Type) Type {
	switch {
	case t.Elem != 0:
		return Type{OID: t.Elem}
	case t.OID == OIDInt2Vector:
		return tInt2
	case t.OID == OIDOidVector:
		return tOid
	}
	return tUnknown
}

func isIntType(oid uint32) bool {
	switch oid {
	case OIDInt2, OIDInt4, OIDInt8, OIDOid, OIDRegclass, OIDRegtype, OIDRegproc, oidRegprocedure,
		oidRegnamespace, oidRegrole:
		return true
	}
	return false
}

func isRegType(oid uint32) bool {
	switch oid {
	case OIDRegclass, OIDRegtype, OIDRegproc, oidRegprocedure, oidRegnamespace, oidRegrole:
		return true
	}
	return false
}

func isTextType(oid uint32) bool {
	switch oid {
	case OIDText, OIDName, OIDChar, OIDBPChar, OIDVarchar, OIDUnknown, OIDPgNodeTree:
		return true
	}
	return false
}

func outType(t Type) types.Type {
	if isArray(t) {
		return types.TypeText
	}
	switch t.OID {
	case OIDBool:
		return types.TypeBool
	case OIDInt2:
		return types.TypeSmallInt
	case OIDInt4:
		return types.TypeInt
	case OIDInt8, OIDOid:
		return types.TypeBigInt
	case OIDFloat4:
		return types.TypeFloat
	case OIDFloat8, OIDNumeric:
		return types.TypeDouble
	case OIDBytea:
		return types.TypeBytes
	case OIDDate:
		return types.TypeDate
	case OIDTimestamp, OIDTimestampTZ:
		return types.TypeTimestamp
	case OIDJSON, OIDJSONB:
		return types.TypeJSON
	}
	return types.TypeText
}

func outValue(v Value, t Type) types.Value {
	if v == nil {
		return types.Null
	}
	ot := outType(t)
	switch ot.Kind {
	case types.Bool:
		if b, ok := toBool(v); ok {
			return types.NewBool(b)
		}
	case types.Int:
		if i, ok := toInt(v); ok {
			return types.NewInt(i)
		}
	case types.Float:
		if f, ok := toFloat(v); ok {
			return types.NewFloat(f)
		}
	case types.Bytes:
		if b, ok := v.([]byte); ok {
			return types.NewBytes(b)
		}
	case types.Date:
		if tm, ok := v.(time.Time); ok {
			return types.NewDate(int64(math.Floor(float64(tm.Unix()) / 86400)))
		}
	case types.Timestamp:
		if tm, ok := v.(time.Time); ok {
			return types.NewTimestampFromTime(tm)
		}
	case types.JSON:
		return types.NewJSON(textOf(v, t))
	}
	return types.NewString(textOf(v, t))
}

// textOf renders v as Postgres's text output of type t would.
func textOf(v Value, t Type) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "t"
		}
		return "f"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return types.FormatFloat(x)
	case string:
		return x
	case []byte:
		return `\x` + fmt.Sprintf("%x", x)
	case time.Time:
		switch t.OID {
		case OIDDate:
			return x.UTC().Format("2006-01-02")
		case OIDTimestampTZ:
			return x.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
		}
		return x.UTC().Format("2006-01-02 15:04:05.999999")
	case []Value:
		et := elemType(t)
		parts := make([]string, len(x))
		for i, e := range x {
			if e == nil {
				parts[i] = "NULL"
				continue
			}
			parts[i] = textOf(e, et)
			if t.OID != OIDInt2Vector && t.OID != OIDOidVector {
				parts[i] = quoteArrayElem(parts[i])
			}
		}
		if t.OID == OIDInt2Vector || t.OID == OIDOidVector {
			return strings.Join(parts, " ")
		}
		return "{" + strings.Join(parts, ",") + "}"
	case *record:
		parts := make([]string, len(x.vals))
		for i, e := range x.vals {
			if e == nil {
				continue
			}
			s := textOf(e, x.cols[i].Type)
			if s == "" || strings.ContainsAny(s, `(),"\ `) {
				s = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
			}
			parts[i] = s
		}
		return "(" + strings.Join(parts, ",") + ")"
	}
	return fmt.Sprint(v)
}

func quoteArrayElem(s string) string {
	if s == "" || strings.EqualFold(s, "null") || strings.ContainsAny(s, "{},\"\\ \t\n") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}

// parseArrayLiteral reads a one-dimensional array literal such as {a,"b c",NULL}.
func parseArrayLiteral(s string) ([]Value, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, sqlerr.Newf(sqlerr.InvalidTextRepresentation, "malformed array literal: %q", s)
	}
	body := s[1 : len(s)-1]
	out := []Value{}
	if strings.TrimSpace(body) == "" {
		return out, nil
	}
	var cur strings.Builder
	quoted, inQuote, esc := false, false, false
	flush := func() {
		e := cur.String()
		if !quoted {
			e = strings.TrimSpace(e)
			if strings.EqualFold(e, "null") {
				out = append(out, nil)
				cur.Reset()
				return
			}
		}
		out = append(out, e)
		cur.Reset()
		quoted = false
	}
	for _, r := range body {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\':
			esc = true
		case r == '"':
			inQuote = !inQuote
			quoted = true
		case r == ',' && !inQuote:
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out, nil
}

func toBool(v Value) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int64:
		return x != 0, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "t", "true", "y", "yes", "on", "1":
			return true, true
		case "f", "false", "n", "no", "off", "0":
			return false, true
		}
	}
	return false, false
}

func toInt(v Value) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(math.RoundToEven(x)), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return i, err == nil
	}
	return 0, false
}

func toFloat(v Value) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func toArray(v Value) ([]Value, bool) {
	switch x := v.(type) {
	case []Value:
		return x, true
	case string:
		if strings.HasPrefix(strings.TrimSpace(x), "{") {
			a, err := parseArrayLiteral(x)
			return a, err == nil
		}
		// int2vector and oidvector as text: space-separated numbers.
		var out []Value
		for _, f := range strings.Fields(x) {
			i, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return nil, false
			}
			out = append(out, i)
		}
		return out, true
	}
	return nil, false
}

// compare orders two non-NULL values, converting between numbers and text
// the way an untyped literal would be read as the other side's type.
func compare(a, b Value) (int, error) {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, y), nil
		case float64:
			return cmpOrdered(float64(x), y), nil
		case bool:
			yi, _ := toInt(y)
			return cmpOrdered(x, yi), nil
		case string:
			if yi, ok := toInt(y); ok {
				return cmpOrdered(x, yi), nil
			}
			if yf, ok := toFloat(y); ok {
				return cmpOrdered(float64(x), yf), nil
			}
			return 0, sqlerr.Newf(sqlerr.InvalidTextRepresentation, "invalid input syntax for type bigint: %q", y)
		}
	case float64:
		if yf, ok := toFloat(b); ok {
			return cmpOrdered(x, yf), nil
		}
	case string:
		switch y := b.(type) {
		case string:
			return strings.Compare(x, y), nil
		case int64, float64, bool:
			c, err := compare(b, a)
			return -c, err
		case []Value:
			if xa, ok := toArray(x); ok {
				return compare(xa, y)
			}
		}
	case bool:
		if yb, ok := toBool(b); ok {
			xi, yi := 0, 0
			if x {
				xi = 1
			}
			if yb {
				yi = 1
			}
			return cmpOrdered(xi, yi), nil
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y), nil
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return strings.Compare(string(x), string(y)), nil
		}
	case []Value:
		y, ok := toArray(b)
		if !ok {
			break
		}
		for i := 0; i < len(x) && i < len(y); i++ {
			if x[i] == nil || y[i] == nil {
				if x[i] == nil && y[i] == nil {
					continue
				}
				if x[i] == nil {
					return 1, nil
				}
				return -1, nil
			}
			c, err := compare(x[i], y[i])
			if err != nil || c != 0 {
				return c, err
			}
		}
		return cmpOrdered(len(x), len(y)), nil
	case *record:
		if y, ok := b.(*record); ok {
			return compare(x.vals, y.vals)
		}
	}
	return strings.Compare(textOf(a, tUnknown), textOf(b, tUnknown)), nil
}

func cmpOrdered[T int | int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortCompare orders values for ORDER BY and DISTINCT: NULLs compare
// greater than everything, as in Postgres's default ascending order.
func sortCompare(a, b Value) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	c, err := compare(a, b)
	if err != nil {
		return strings.Compare(textOf(a, tUnknown), textOf(b, tUnknown))
	}
	return c
}
