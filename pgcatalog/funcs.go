package pgcatalog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/pgcatalog/eval"
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// Function implements eval.Catalog: the catalog functions, in pg_catalog.
func (c *Catalog) Function(schema, name string) (eval.Func, bool) {
	if schema != "" && schema != "pg_catalog" {
		return nil, false
	}
	f, ok := functions[name]
	if !ok {
		return nil, false
	}
	return func(args []eval.Value) (eval.Value, error) { return f(c, args) }, true
}

// SetFunction implements eval.Catalog.
func (c *Catalog) SetFunction(schema, name string) (eval.SetFunc, bool) {
	switch {
	case (schema == "" || schema == "pg_catalog") && name == "pg_get_keywords":
		return getKeywords, true
	}
	return nil, false
}

type catalogFunc func(c *Catalog, args []eval.Value) (eval.Value, error)

var functions map[string]catalogFunc

func init() {
	null := func(*Catalog, []eval.Value) (eval.Value, error) { return nil, nil }
	yes := func(*Catalog, []eval.Value) (eval.Value, error) { return true, nil }
	no := func(*Catalog, []eval.Value) (eval.Value, error) { return false, nil }
	zeroSize := func(_ *Catalog, args []eval.Value) (eval.Value, error) {
		if len(args) == 0 || args[0] == nil {
			return nil, nil
		}
		return int64(0), nil
	}
	user := func(c *Catalog, _ []eval.Value) (eval.Value, error) { return c.owner(), nil }
	db := func(c *Catalog, _ []eval.Value) (eval.Value, error) { return c.database(), nil }
	functions = map[string]catalogFunc{
		"format_type":                        fnFormatType,
		"pg_get_userbyid":                    fnGetUserByID,
		"pg_table_is_visible":                fnTableIsVisible,
		"pg_type_is_visible":                 yes,
		"pg_function_is_visible":             yes,
		"pg_operator_is_visible":             yes,
		"pg_opclass_is_visible":              yes,
		"pg_opfamily_is_visible":             yes,
		"pg_collation_is_visible":            yes,
		"pg_conversion_is_visible":           yes,
		"pg_tablespace_location":             func(*Catalog, []eval.Value) (eval.Value, error) { return "", nil },
		"obj_description":                    null,
		"col_description":                    null,
		"shobj_description":                  null,
		"pg_get_expr":                        fnGetExpr,
		"pg_get_viewdef":                     fnGetViewDef,
		"pg_get_indexdef":                    fnGetIndexDef,
		"pg_get_constraintdef":               fnGetConstraintDef,
		"pg_get_ruledef":                     null,
		"pg_get_triggerdef":                  null,
		"pg_get_partkeydef":                  null,
		"pg_get_serial_sequence":             null,
		"pg_get_statisticsobjdef_columns":    null,
		"pg_get_function_result":             fnFunctionResult,
		"pg_get_function_arguments":          fnFunctionArguments(true),
		"pg_get_function_identity_arguments": fnFunctionArguments(false),
		"pg_encoding_to_char":                fnEncodingToChar,
		"pg_relation_size":                   zeroSize,
		"pg_table_size":                      zeroSize,
		"pg_total_relation_size":             zeroSize,
		"pg_indexes_size":                    zeroSize,
		"pg_database_size":                   zeroSize,
		"pg_tablespace_size":                 zeroSize,
		"pg_get_function_sqlbody":            null,
		"pg_size_pretty":                     fnSizePretty,
		"has_table_privilege":                yes,
		"has_schema_privilege":               yes,
		"has_database_privilege":             yes,
		"has_column_privilege":               yes,
		"has_function_privilege":             yes,
		"has_any_column_privilege":           yes,
		"pg_has_role":                        yes,
		"pg_relation_is_publishable":         no,
		"pg_is_in_recovery":                  no,
		"set_config":                         fnSetConfig,
		"version":                            func(c *Catalog, _ []eval.Value) (eval.Value, error) { return c.snap.Version, nil },
		"current_database":                   db,
		"current_catalog":                    db,
		"current_schema":                     func(*Catalog, []eval.Value) (eval.Value, error) { return "public", nil },
		"current_schemas":                    fnCurrentSchemas,
		"current_user":                       user,
		"current_role":                       user,
		"session_user":                       user,
		"user":                               user,
		"pg_backend_pid":                     func(c *Catalog, _ []eval.Value) (eval.Value, error) { return int64(c.snap.BackendPID), nil },
		"pg_postmaster_start_time":           func(c *Catalog, _ []eval.Value) (eval.Value, error) { return c.snap.StartTime, nil },
	}
}

// arg returns args[i], nil when absent.
func arg(args []eval.Value, i int) eval.Value {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// asInt reads an integer argument; clients pass OIDs as numbers or as
// quoted text ('16384').
func asInt(v eval.Value) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func asOID(v eval.Value) (uint32, bool) {
	n, ok := asInt(v)
	return uint32(n), ok && n >= 0 && n <= 1<<32-1
}

func fnFormatType(_ *Catalog, args []eval.Value) (eval.Value, error) {
	oid, ok := asOID(arg(args, 0))
	if !ok {
		return nil, nil
	}
	typmod, ok := asInt(arg(args, 1))
	if !ok {
		typmod = -1
	}
	if s, ok := formatType(oid, typmod); ok {
		return s, nil
	}
	return "???", nil
}

func fnGetUserByID(c *Catalog, args []eval.Value) (eval.Value, error) {
	oid, ok := asOID(arg(args, 0))
	if !ok {
		return nil, nil
	}
	if oid == oidSuperuser {
		return c.owner(), nil
	}
	return fmt.Sprintf("unknown (OID=%d)", oid), nil
}

// fnTableIsVisible: our objects and pg_catalog's relations are on the
// search path; information_schema's are not.
func fnTableIsVisible(c *Catalog, args []eval.Value) (eval.Value, error) {
	oid, ok := asOID(arg(args, 0))
	if !ok {
		return nil, nil
	}
	if oid >= firstObjectOID {
		return true, nil
	}
	for _, t := range relations {
		if t.oid == oid {
			return t.schema == "pg_catalog", nil
		}
	}
	return nil, nil
}

// fnGetExpr: we store no expressions; the text given is returned as is.
func fnGetExpr(_ *Catalog, args []eval.Value) (eval.Value, error) {
	if s, ok := arg(args, 0).(string); ok {
		return s, nil
	}
	return nil, nil
}

// fnGetViewDef takes a view's OID or its name.
func fnGetViewDef(c *Catalog, args []eval.Value) (eval.Value, error) {
	a := arg(args, 0)
	if oid, ok := asOID(a); ok {
		if o, ok := c.object(oid); ok && o.Kind == View {
			return viewDef(o), nil
		}
		return nil, nil
	}
	if name, ok := a.(string); ok {
		name = strings.TrimPrefix(strings.Trim(name, `"`), "public.")
		for i := range c.snap.Objects {
			if o := &c.snap.Objects[i]; o.Name == name && o.Kind == View {
				return viewDef(o), nil
			}
		}
	}
	return nil, nil
}

// pkeyOf returns the view whose primary key index (and constraint) has oid.
func (c *Catalog) pkeyOf(oid uint32) (*Object, bool) {
	if oid < firstObjectOID {
		return nil, false
	}
	o, ok := c.object(oid - 1)
	if !ok || len(o.Key) == 0 || indexOID(o) != oid {
		return nil, false
	}
	return o, true
}

func fnGetIndexDef(c *Catalog, args []eval.Value) (eval.Value, error) {
	oid, ok := asOID(arg(args, 0))
	if !ok {
		return nil, nil
	}
	o, ok := c.pkeyOf(oid)
	if !ok {
		return nil, nil
	}
	if col, _ := asInt(arg(args, 1)); col > 0 {
		if int(col) > len(o.Key) {
			return "", nil
		}
		return eval.QuoteIdent(o.Columns[o.Key[col-1]].Name), nil
	}
	return fmt.Sprintf("CREATE UNIQUE INDEX %s ON public.%s USING btree (%s)",
		eval.QuoteIdent(pkeyName(o)), eval.QuoteIdent(o.Name), keyColumns(o)), nil
}

func fnGetConstraintDef(c *Catalog, args []eval.Value) (eval.Value, error) {
	oid, ok := asOID(arg(args, 0))
	if !ok {
		return nil, nil
	}
	o, ok := c.pkeyOf(oid)
	if !ok {
		return nil, nil
	}
	return "PRIMARY KEY (" + keyColumns(o) + ")", nil
}

func fnFunctionResult(c *Catalog, args []eval.Value) (eval.Value, error) {
	oid, ok := asOID(arg(args, 0))
	if !ok {
		return nil, nil
	}
	p, ok := c.proc(oid)
	if !ok {
		return nil, nil
	}
	s, _ := formatType(p.result, -1)
	return s, nil
}

func fnFunctionArguments(withDefaults bool) catalogFunc {
	return func(c *Catalog, args []eval.Value) (eval.Value, error) {
		oid, ok := asOID(arg(args, 0))
		if !ok {
			return nil, nil
		}
		p, ok := c.proc(oid)
		if !ok {
			return nil, nil
		}
		return functionArguments(p, withDefaults), nil
	}
}

func fnEncodingToChar(_ *Catalog, args []eval.Value) (eval.Value, error) {
	n, ok := asInt(arg(args, 0))
	if !ok {
		return nil, nil
	}
	switch n {
	case 0:
		return "SQL_ASCII", nil
	case 6:
		return "UTF8", nil
	}
	return "", nil
}

// fnSizePretty is pg_size_pretty(bigint): bytes below 10 kB, then the
// largest unit that keeps the number at or above 10, rounded half up.
func fnSizePretty(_ *Catalog, args []eval.Value) (eval.Value, error) {
	size, ok := asInt(arg(args, 0))
	if !ok {
		return nil, nil
	}
	const limit = 10 * 1024
	abs := func(x int64) int64 {
		if x < 0 {
			return -x
		}
		return x
	}
	if abs(size) < limit {
		return fmt.Sprintf("%d bytes", size), nil
	}
	units := []string{"kB", "MB", "GB", "TB", "PB"}
	size >>= 9 // half-units of kB, for rounding
	for i, u := range units {
		if abs(size) < limit*2-1 || i == len(units)-1 {
			if size < 0 {
				return fmt.Sprintf("%d %s", -((-size + 1) / 2), u), nil
			}
			return fmt.Sprintf("%d %s", (size+1)/2, u), nil
		}
		size >>= 10
	}
	return nil, nil
}

func fnSetConfig(c *Catalog, args []eval.Value) (eval.Value, error) {
	name, ok := arg(args, 0).(string)
	if !ok {
		return nil, sqlerr.Newf(sqlerr.InvalidParameterValue, "SET requires parameter name")
	}
	value, _ := arg(args, 1).(string)
	if c.snap.SetSetting == nil {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "set_config is not supported here")
	}
	v, err := c.snap.SetSetting(name, value)
	if err != nil {
		return nil, err
	}
	c.settings[strings.ToLower(name)] = v
	return v, nil
}

func fnCurrentSchemas(_ *Catalog, args []eval.Value) (eval.Value, error) {
	if implicit, _ := arg(args, 0).(bool); implicit {
		return texts("pg_catalog", "public"), nil
	}
	return texts("public"), nil
}

func getKeywords([]eval.Value) ([]eval.Column, [][]eval.Value, error) {
	words := eval.ReservedKeywords()
	rows := make([][]eval.Value, len(words))
	for i, w := range words {
		rows[i] = []eval.Value{w, "R", false, "reserved", "requires AS"}
	}
	return cols("word text, catcode char, barelabel bool, catdesc text, baredesc text"), rows, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
