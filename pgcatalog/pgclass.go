package pgcatalog

import (
	"strings"

	"github.com/streamsql/streamsql/pgcatalog/eval"
)

// schemaOID is the namespace of a catalog relation.
func schemaOID(schema string) uint32 {
	if schema == "information_schema" {
		return oidInfoSchema
	}
	return oidPgCatalog
}

func pgNamespaceRows(c *Catalog) []row {
	acl := texts("=U/" + c.owner())
	return []row{
		{"oid": int64(oidPgCatalog), "nspname": "pg_catalog", "nspowner": int64(oidSuperuser), "nspacl": acl},
		{"oid": int64(oidPgToast), "nspname": "pg_toast", "nspowner": int64(oidSuperuser)},
		{"oid": int64(oidPublic), "nspname": "public", "nspowner": int64(oidSuperuser), "nspacl": acl},
		{"oid": int64(oidInfoSchema), "nspname": "information_schema", "nspowner": int64(oidSuperuser), "nspacl": acl},
	}
}

// owner is the one role: the session's user owns everything.
func (c *Catalog) owner() string {
	if c.snap.User == "" {
		return "streamsql"
	}
	return c.snap.User
}

func pgClassRows(c *Catalog) []row {
	var out []row
	for _, t := range relations {
		kind := "r"
		if t.view {
			kind = "v"
		}
		out = append(out, row{
			"oid": int64(t.oid), "relname": t.name, "relnamespace": int64(schemaOID(t.schema)),
			"relowner": int64(oidSuperuser), "relam": amOf(kind), "relpersistence": "p", "relkind": kind,
			"relnatts": int64(len(t.cols)), "relispopulated": true, "relreplident": "n", "reltuples": float64(-1),
		})
	}
	for i := range c.snap.Objects {
		o := &c.snap.Objects[i]
		kind := relkind(o.Kind)
		r := row{
			"oid": int64(relOID(o)), "relname": o.Name, "relnamespace": int64(oidPublic),
			"relowner": int64(oidSuperuser), "relam": amOf(kind), "relpersistence": "p", "relkind": kind,
			"relnatts": int64(len(o.Columns)), "relispopulated": true, "relreplident": "d", "reltuples": float64(-1),
			"relhasindex": len(o.Key) > 0,
		}
		if o.Kind == Source && len(o.Options) > 0 {
			r["reloptions"] = optionTexts(o.Options)
		}
		out = append(out, r)
		if len(o.Key) > 0 {
			out = append(out, row{
				"oid": int64(indexOID(o)), "relname": pkeyName(o), "relnamespace": int64(oidPublic),
				"relowner": int64(oidSuperuser), "relam": int64(oidBtreeAM), "relpersistence": "p", "relkind": "i",
				"relnatts": int64(len(o.Key)), "relispopulated": true, "relreplident": "n", "reltuples": float64(-1),
			})
		}
	}
	return out
}

// amOf is a relation's access method: heap for tables and materialized
// views, none for views and foreign tables.
func amOf(kind string) int64 {
	if kind == "r" || kind == "m" {
		return int64(oidHeapAM)
	}
	return 0
}

func pkeyName(o *Object) string { return o.Name + "_pkey" }

// optionTexts renders WITH options as Postgres stores reloptions and
// ftoptions: "key=value".
func optionTexts(opts [][2]string) []eval.Value {
	out := make([]eval.Value, len(opts))
	for i, kv := range opts {
		out[i] = kv[0] + "=" + kv[1]
	}
	return out
}

func pgAttributeRows(c *Catalog) []row {
	var out []row
	for _, t := range relations {
		for i, col := range t.cols {
			typ := typeByOID[col.Type.OID]
			length := -1
			if typ != nil {
				length = typ.len
			}
			out = append(out, attribute(t.oid, i+1, col.Name, col.Type.OID, -1, length, false))
		}
	}
	for i := range c.snap.Objects {
		o := &c.snap.Objects[i]
		for j, col := range o.Columns {
			oid, typmod, length := TypeOf(col.Type)
			out = append(out, attribute(relOID(o), j+1, col.Name, oid, typmod, length, col.NotNull))
		}
		for j, k := range o.Key {
			col := o.Columns[k]
			oid, typmod, length := TypeOf(col.Type)
			out = append(out, attribute(indexOID(o), j+1, col.Name, oid, typmod, length, false))
		}
	}
	return out
}

func attribute(rel uint32, num int, name string, typ uint32, typmod int32, length int, notNull bool) row {
	t := typeByOID[typ]
	r := row{
		"attrelid": int64(rel), "attname": name, "atttypid": int64(typ), "attstattarget": int64(-1),
		"attlen": int64(length), "attnum": int64(num), "attcacheoff": int64(-1), "atttypmod": int64(typmod),
		"attalign": "i", "attstorage": "p", "attnotnull": notNull, "attislocal": true,
	}
	if t != nil {
		r["attbyval"] = t.byval
		if t.len == -1 {
			r["attstorage"] = "x"
		}
		if t.collated {
			r["attcollation"] = int64(oidDefaultColl)
		}
		if t.elem != 0 {
			r["attndims"] = int64(1)
		}
	}
	return r
}

// pgIndexRows: a materialized view's group key is its primary key.
func pgIndexRows(c *Catalog) []row {
	var out []row
	for i := range c.snap.Objects {
		o := &c.snap.Objects[i]
		if len(o.Key) == 0 {
			continue
		}
		keys := make([]eval.Value, len(o.Key))
		zeros := make([]eval.Value, len(o.Key))
		for j, k := range o.Key {
			keys[j] = int64(k + 1)
			zeros[j] = int64(0)
		}
		out = append(out, row{
			"indexrelid": int64(indexOID(o)), "indrelid": int64(relOID(o)), "indnatts": int64(len(o.Key)),
			"indnkeyatts": int64(len(o.Key)), "indisunique": true, "indisprimary": true, "indimmediate": true,
			"indisvalid": true, "indisready": true, "indislive": true, "indkey": keys, "indoption": zeros,
			"indcollation": zeros, "indclass": zeros,
		})
	}
	return out
}

func pgConstraintRows(c *Catalog) []row {
	var out []row
	for i := range c.snap.Objects {
		o := &c.snap.Objects[i]
		if len(o.Key) == 0 {
			continue
		}
		keys := make([]eval.Value, len(o.Key))
		for j, k := range o.Key {
			keys[j] = int64(k + 1)
		}
		out = append(out, row{
			"oid": int64(indexOID(o)), "conname": pkeyName(o), "connamespace": int64(oidPublic), "contype": "p",
			"convalidated": true, "conrelid": int64(relOID(o)), "conindid": int64(indexOID(o)),
			"confupdtype": " ", "confdeltype": " ", "confmatchtype": " ", "conislocal": true, "connoinherit": true,
			"conkey": keys,
		})
	}
	return out
}

// keyColumns names a view's primary key columns, for the definitions of
// its index and constraint.
func keyColumns(o *Object) string {
	names := make([]string, len(o.Key))
	for i, k := range o.Key {
		names[i] = eval.QuoteIdent(o.Columns[k].Name)
	}
	return strings.Join(names, ", ")
}
