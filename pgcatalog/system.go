package pgcatalog

import (
	"sort"
	"strings"
)

func (c *Catalog) database() string {
	if c.snap.Database == "" {
		return c.owner()
	}
	return c.snap.Database
}

// pgDatabaseRows: the database the session connected to (every name
// reaches the same engine), and template1 as Postgres always has.
func pgDatabaseRows(c *Catalog) []row {
	db := func(oid uint32, name string, template bool) row {
		return row{
			"oid": int64(oid), "datname": name, "datdba": int64(oidSuperuser), "encoding": int64(6),
			"datlocprovider": "c", "datistemplate": template, "datallowconn": true, "datconnlimit": int64(-1),
			"dattablespace": int64(oidTablespace), "datcollate": "C.UTF-8", "datctype": "C.UTF-8",
		}
	}
	out := []row{db(oidDatabase, c.database(), false)}
	if c.database() != "template1" {
		out = append(out, db(oidTemplate1, "template1", true))
	}
	return out
}

// pgRoleRows serves pg_roles and pg_authid: the session's user, a
// superuser (the server has one password for every name).
func pgRoleRows(c *Catalog) []row {
	return []row{{
		"oid": int64(oidSuperuser), "rolname": c.owner(), "rolsuper": true, "rolinherit": true,
		"rolcreaterole": true, "rolcreatedb": true, "rolcanlogin": true, "rolreplication": false,
		"rolbypassrls": true, "rolconnlimit": int64(-1), "rolpassword": "********",
	}}
}

func pgUserRows(c *Catalog) []row {
	return []row{{
		"usename": c.owner(), "usesysid": int64(oidSuperuser), "usecreatedb": true, "usesuper": true,
		"userepl": false, "usebypassrls": true, "passwd": "********",
	}}
}

func pgSettingsRows(c *Catalog) []row {
	settings := append([]Setting(nil), c.snap.Settings...)
	sort.Slice(settings, func(i, j int) bool { return settings[i].Name < settings[j].Name })
	out := make([]row, len(settings))
	for i, s := range settings {
		context := "user"
		if s.ReadOnly {
			context = "internal"
		}
		out[i] = row{
			"name": s.Name, "setting": s.Value, "category": "streamsql", "short_desc": "", "context": context,
			"vartype": "string", "source": "session", "boot_val": s.Value, "reset_val": s.Value,
			"pending_restart": false,
		}
	}
	return out
}

// pgCursorsRows serves pg_cursors: psycopg2 reads it before it closes a
// named cursor it never executed. Cursors are forward-only and text.
func pgCursorsRows(c *Catalog) []row {
	out := make([]row, len(c.snap.Cursors))
	for i, cur := range c.snap.Cursors {
		out[i] = row{"name": cur.Name, "statement": cur.Statement, "is_holdable": cur.Holdable,
			"is_binary": false, "is_scrollable": false, "creation_time": cur.Created}
	}
	return out
}

// pgLanguageRows: our functions are built in (prolang 12, internal).
func pgLanguageRows(*Catalog) []row {
	return []row{
		{"oid": int64(12), "lanname": "internal", "lanowner": int64(oidSuperuser)},
		{"oid": int64(13), "lanname": "c", "lanowner": int64(oidSuperuser)},
		{"oid": int64(14), "lanname": "sql", "lanowner": int64(oidSuperuser), "lanpltrusted": true},
	}
}

func pgAmRows(*Catalog) []row {
	return []row{
		{"oid": int64(oidHeapAM), "amname": "heap", "amtype": "t"},
		{"oid": int64(oidBtreeAM), "amname": "btree", "amtype": "i"},
	}
}

func pgCollationRows(*Catalog) []row {
	coll := func(oid uint32, name, provider string) row {
		r := row{"oid": int64(oid), "collname": name, "collnamespace": int64(oidPgCatalog),
			"collowner": int64(oidSuperuser), "collprovider": provider, "collisdeterministic": true,
			"collencoding": int64(-1)}
		if provider == "c" {
			r["collcollate"], r["collctype"] = name, name
		}
		return r
	}
	return []row{coll(oidDefaultColl, "default", "d"), coll(950, "C", "c"), coll(951, "POSIX", "c")}
}

func pgTablespaceRows(*Catalog) []row {
	return []row{
		{"oid": int64(oidTablespace), "spcname": "pg_default", "spcowner": int64(oidSuperuser)},
		{"oid": int64(1664), "spcname": "pg_global", "spcowner": int64(oidSuperuser)},
	}
}

// Sinks are foreign tables: one foreign data wrapper, "streamsql", and a
// foreign server per connector, named after it.
const oidFDW uint32 = 14000

func (c *Catalog) connectors() []string {
	seen := map[string]bool{}
	var out []string
	for _, o := range c.snap.Objects {
		if o.Kind == Sink && !seen[o.Connector] {
			seen[o.Connector] = true
			out = append(out, o.Connector)
		}
	}
	sort.Strings(out)
	return out
}

func (c *Catalog) serverOID(connector string) uint32 {
	for i, name := range c.connectors() {
		if name == connector {
			return oidFDW + 1 + uint32(i)
		}
	}
	return 0
}

func pgForeignDataWrapperRows(*Catalog) []row {
	return []row{{"oid": int64(oidFDW), "fdwname": "streamsql", "fdwowner": int64(oidSuperuser)}}
}

func pgForeignServerRows(c *Catalog) []row {
	var out []row
	for _, name := range c.connectors() {
		out = append(out, row{"oid": int64(c.serverOID(name)), "srvname": name, "srvowner": int64(oidSuperuser),
			"srvfdw": int64(oidFDW)})
	}
	return out
}

func pgForeignTableRows(c *Catalog) []row {
	var out []row
	for i := range c.snap.Objects {
		o := &c.snap.Objects[i]
		if o.Kind != Sink {
			continue
		}
		out = append(out, row{"ftrelid": int64(relOID(o)), "ftserver": int64(c.serverOID(o.Connector)),
			"ftoptions": optionTexts(o.Options)})
	}
	return out
}

func pgTablesRows(c *Catalog) []row {
	var out []row
	for _, t := range relations {
		if !t.view {
			out = append(out, row{"schemaname": t.schema, "tablename": t.name, "tableowner": c.owner()})
		}
	}
	for _, o := range c.snap.Objects {
		if o.Kind == Source || o.Kind == Table {
			out = append(out, row{"schemaname": "public", "tablename": o.Name, "tableowner": c.owner()})
		}
	}
	return out
}

func pgViewsRows(c *Catalog) []row {
	var out []row
	for _, t := range relations {
		if t.view {
			out = append(out, row{"schemaname": t.schema, "viewname": t.name, "viewowner": c.owner()})
		}
	}
	return out
}

func pgMatviewsRows(c *Catalog) []row {
	var out []row
	for i := range c.snap.Objects {
		o := &c.snap.Objects[i]
		if o.Kind == View {
			out = append(out, row{"schemaname": "public", "matviewname": o.Name, "matviewowner": c.owner(),
				"hasindexes": len(o.Key) > 0, "ispopulated": true, "definition": viewDef(o)})
		}
	}
	return out
}

// viewDef is a view's query as pg_get_viewdef gives it.
func viewDef(o *Object) string {
	return " " + strings.TrimSpace(o.Query) + ";"
}
