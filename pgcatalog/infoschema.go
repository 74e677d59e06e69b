package pgcatalog

import (
	"strings"

	"github.com/streamsql/streamsql/sql/types"
)

func isSchemataRows(c *Catalog) []row {
	var out []row
	for _, s := range []string{"information_schema", "pg_catalog", "pg_toast", "public"} {
		out = append(out, row{"catalog_name": c.database(), "schema_name": s, "schema_owner": c.owner()})
	}
	return out
}

// tableType is information_schema's table_type. Materialized views are
// listed as views (Postgres leaves them out of information_schema; tools
// that only read it would not see them).
func tableType(k Kind) string {
	switch k {
	case View:
		return "VIEW"
	case Sink:
		return "FOREIGN"
	}
	return "BASE TABLE"
}

func isTablesRows(c *Catalog) []row {
	var out []row
	add := func(schema, name, typ string) {
		out = append(out, row{"table_catalog": c.database(), "table_schema": schema, "table_name": name,
			"table_type": typ, "is_insertable_into": "NO", "is_typed": "NO"})
	}
	for _, o := range c.snap.Objects {
		add("public", o.Name, tableType(o.Kind))
	}
	for _, t := range relations {
		typ := "BASE TABLE"
		if t.view {
			typ = "VIEW"
		}
		add(t.schema, t.name, typ)
	}
	return out
}

func isViewsRows(c *Catalog) []row {
	var out []row
	for i := range c.snap.Objects {
		o := &c.snap.Objects[i]
		if o.Kind == View {
			out = append(out, row{"table_catalog": c.database(), "table_schema": "public", "table_name": o.Name,
				"view_definition": viewDef(o), "check_option": "NONE", "is_updatable": "NO", "is_insertable_into": "NO",
				"is_trigger_updatable": "NO", "is_trigger_deletable": "NO", "is_trigger_insertable_into": "NO"})
		}
	}
	return out
}

func isColumnsRows(c *Catalog) []row {
	var out []row
	for _, o := range c.snap.Objects {
		for i, col := range o.Columns {
			r := infoColumn(c, "public", o.Name, i+1, col.Name, col.NotNull)
			oid, typmod, _ := TypeOf(col.Type)
			describeColumnType(r, oid, typmod, col.Type)
			out = append(out, r)
		}
	}
	for _, t := range relations {
		for i, col := range t.cols {
			r := infoColumn(c, t.schema, t.name, i+1, col.Name, false)
			describeColumnType(r, col.Type.OID, -1, types.Type{})
			out = append(out, r)
		}
	}
	return out
}

func infoColumn(c *Catalog, schema, table string, pos int, name string, notNull bool) row {
	nullable := "YES"
	if notNull {
		nullable = "NO"
	}
	return row{"table_catalog": c.database(), "table_schema": schema, "table_name": table, "column_name": name,
		"ordinal_position": int64(pos), "is_nullable": nullable, "udt_catalog": c.database(), "udt_schema": "pg_catalog",
		"dtd_identifier": itoa(pos), "is_self_referencing": "NO", "is_identity": "NO", "is_generated": "NEVER",
		"is_updatable": "NO"}
}

// describeColumnType fills information_schema.columns' type fields.
func describeColumnType(r row, oid uint32, typmod int32, t types.Type) {
	pt := typeByOID[oid]
	if pt == nil {
		return
	}
	r["udt_name"] = pt.name
	r["data_type"] = pt.format
	if pt.elem != 0 {
		r["data_type"] = "ARRAY"
	}
	if strings.HasPrefix(pt.format, `"`) {
		r["data_type"] = strings.Trim(pt.format, `"`)
	}
	switch t.Kind {
	case types.String:
		if t.Length > 0 {
			r["character_maximum_length"] = int64(t.Length)
			r["character_octet_length"] = int64(4 * t.Length)
		} else {
			r["character_octet_length"] = int64(1073741824)
		}
	case types.Int:
		bits := map[uint32]int64{21: 16, 23: 32, 20: 64}[oid]
		r["numeric_precision"], r["numeric_precision_radix"], r["numeric_scale"] = bits, int64(2), int64(0)
	case types.Float:
		bits := map[uint32]int64{700: 24, 701: 53}[oid]
		r["numeric_precision"], r["numeric_precision_radix"] = bits, int64(2)
	case types.Decimal:
		if t.Precision > 0 {
			r["numeric_precision"], r["numeric_scale"] = int64(t.Precision), int64(t.Scale)
		}
		r["numeric_precision_radix"] = int64(10)
	case types.Date:
		r["datetime_precision"] = int64(0)
	case types.Timestamp:
		r["datetime_precision"] = int64(t.Precision)
		if typmod < 0 {
			r["datetime_precision"] = int64(6)
		}
	case types.Interval:
		r["datetime_precision"] = int64(6)
	}
}
