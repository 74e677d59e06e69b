package eval

import (
	"fmt"
	"strings"
)

// fakeCatalog is a small Postgres catalog written by hand: the schemas
// pg_catalog, public and information_schema; a table clicks (user_id int8,
// url text with a default and a comment, ts timestamp) with a primary key
// on (user_id, ts); a materialized view clicks_per_user; a view v_users;
// a few types, functions and one role.
type fakeCatalog struct {
	rels     map[string]*Relation
	funcs    map[string]Func
	settings map[string]string
}

var _ Catalog = (*fakeCatalog)(nil)

func (c *fakeCatalog) Relation(schema, name string) (*Relation, bool) {
	if schema == "" {
		for _, s := range []string{"pg_catalog", "public"} {
			if r, ok := c.rels[s+"."+name]; ok {
				return r, true
			}
		}
		return nil, false
	}
	r, ok := c.rels[schema+"."+name]
	return r, ok
}

func (c *fakeCatalog) Function(schema, name string) (Func, bool) {
	if schema != "" && schema != "pg_catalog" {
		return nil, false
	}
	f, ok := c.funcs[name]
	return f, ok
}

func (c *fakeCatalog) SetFunction(string, string) (SetFunc, bool) { return nil, false }

func (c *fakeCatalog) Setting(name string) (string, bool) {
	v, ok := c.settings[name]
	return v, ok
}

var fakeTypes = map[string]Type{
	"oid": tOid, "name": tName, "text": tText, "bool": tBool, "int2": tInt2, "int4": tInt4,
	"int8": tInt8, "char": {OID: OIDChar}, "float4": {OID: OIDFloat4}, "float8": tFloat8,
	"regproc": {OID: OIDRegproc}, "int2vector": {OID: OIDInt2Vector, Elem: OIDInt2},
	"oidvector": {OID: OIDOidVector, Elem: OIDOid}, "text[]": {OID: OIDTextArray, Elem: OIDText},
	"oid[]": {OID: OIDOidArray, Elem: OIDOid}, "int2[]": {OID: OIDInt2Array, Elem: OIDInt2},
	"char[]": {OID: OIDCharArray, Elem: OIDChar}, "aclitem[]": {OID: OIDAclArray, Elem: OIDAclItem},
	"pg_node_tree": {OID: OIDPgNodeTree}, "timestamptz": {OID: OIDTimestampTZ},
	"name[]": {OID: OIDNameArray, Elem: OIDName}, "xid": {OID: 28}, "real": {OID: OIDFloat4},
}

// rel declares a relation from "name:type ..." and its rows.
func (c *fakeCatalog) rel(schema, name, cols string, rows ...[]Value) {
	r := &Relation{Schema: schema, Name: name}
	for _, f := range strings.Fields(cols) {
		n, t, _ := strings.Cut(f, ":")
		typ, ok := fakeTypes[t]
		if !ok {
			panic(fmt.Sprintf("fake catalog: type %q", t))
		}
		r.Columns = append(r.Columns, Column{Name: n, Type: typ})
	}
	for i, row := range rows {
		if len(row) != len(r.Columns) {
			panic(fmt.Sprintf("fake catalog: %s row %d has %d values for %d columns", name, i, len(row), len(r.Columns)))
		}
	}
	r.Rows = func() [][]Value { return rows }
	c.rels[schema+"."+name] = r
}

type row = []Value

func vec(xs ...int64) []Value {
	out := make([]Value, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// OIDs of the fake catalog's objects.
const (
	nsCatalog  = 11
	nsPublic   = 2200
	nsInfo     = 13000
	nsToast    = 99
	relClicks  = 16384
	relPkey    = 16388
	relMatview = 16390
	relView    = 16395
	roleOwner  = 10
	classOID   = 1259
)

func newFakeCatalog() *fakeCatalog {
	c := &fakeCatalog{rels: map[string]*Relation{}, funcs: map[string]Func{}, settings: map[string]string{
		"server_version": "16.0", "search_path": `"$user", public`, "max_index_keys": "32",
		"standard_conforming_strings": "on",
	}}
	c.rel("pg_catalog", "pg_namespace", "oid:oid nspname:name nspowner:oid nspacl:aclitem[]",
		row{int64(nsCatalog), "pg_catalog", int64(roleOwner), nil},
		row{int64(nsPublic), "public", int64(roleOwner), nil},
		row{int64(nsInfo), "information_schema", int64(roleOwner), nil},
		row{int64(nsToast), "pg_toast", int64(roleOwner), nil},
	)
	c.rel("pg_catalog", "pg_roles", "oid:oid rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool rolreplication:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz rolbypassrls:bool rolconfig:text[]",
		row{int64(roleOwner), "streamsql", true, true, true, true, true, false, int64(-1), "********", nil, true, nil},
	)
	c.rel("pg_catalog", "pg_auth_members", "oid:oid roleid:oid member:oid grantor:oid admin_option:bool inherit_option:bool set_option:bool")
	c.rel("pg_catalog", "pg_class", "oid:oid relname:name relnamespace:oid reltype:oid reloftype:oid relowner:oid relam:oid relfilenode:oid reltablespace:oid relpages:int4 reltuples:float4 relallvisible:int4 reltoastrelid:oid relhasindex:bool relisshared:bool relpersistence:char relkind:char relnatts:int2 relchecks:int2 relhasrules:bool relhastriggers:bool relhassubclass:bool relrowsecurity:bool relforcerowsecurity:bool relispopulated:bool relreplident:char relispartition:bool relrewrite:oid relacl:aclitem[] reloptions:text[] relpartbound:pg_node_tree",
		classRow(1259, "pg_class", nsCatalog, "r", 33, 2),
		classRow(2615, "pg_namespace", nsCatalog, "r", 4, 2),
		classRow(1247, "pg_type", nsCatalog, "r", 32, 2),
		classRow(1255, "pg_proc", nsCatalog, "r", 30, 2),
		classRow(1249, "pg_attribute", nsCatalog, "r", 26, 2),
		classRow(relClicks, "clicks", nsPublic, "r", 3, 2),
		classRow(relPkey, "clicks_pkey", nsPublic, "i", 2, 403),
		classRow(relMatview, "clicks_per_user", nsPublic, "m", 2, 2),
		classRow(relView, "v_users", nsPublic, "v", 1, 0),
		classRow(13100, "tables", nsInfo, "v", 2, 0),
	)
	c.rel("pg_catalog", "pg_attribute", "attrelid:oid attname:name atttypid:oid attstattarget:int4 attlen:int2 attnum:int2 attndims:int4 attcacheoff:int4 atttypmod:int4 attbyval:bool attalign:char attstorage:char attcompression:char attnotnull:bool atthasdef:bool atthasmissing:bool attidentity:char attgenerated:char attisdropped:bool attislocal:bool attinhcount:int4 attcollation:oid attacl:aclitem[] attoptions:text[] attfdwoptions:text[]",
		attRow(relClicks, "user_id", 20, 1, true, false),
		attRow(relClicks, "url", 25, 2, false, true),
		attRow(relClicks, "ts", 1114, 3, true, false),
		attRow(relPkey, "user_id", 20, 1, false, false),
		attRow(relPkey, "ts", 1114, 2, false, false),
		attRow(relMatview, "user_id", 20, 1, false, false),
		attRow(relMatview, "n", 20, 2, false, false),
		attRow(relView, "user_id", 20, 1, false, false),
		attRow(1259, "oid", 26, 1, true, false),
		attRow(1259, "relname", 19, 2, true, false),
		attRow(2615, "oid", 26, 1, true, false),
		attRow(2615, "nspname", 19, 2, true, false),
	)
	clicksType := typeRow(16386, "clicks", -1, "c", "C", 0, 16385)
	clicksType[2], clicksType[11] = int64(nsPublic), int64(relClicks)
	c.rel("pg_catalog", "pg_type", "oid:oid typname:name typnamespace:oid typowner:oid typlen:int2 typbyval:bool typtype:char typcategory:char typispreferred:bool typisdefined:bool typdelim:char typrelid:oid typelem:oid typarray:oid typinput:regproc typoutput:regproc typreceive:regproc typsend:regproc typalign:char typstorage:char typnotnull:bool typbasetype:oid typtypmod:int4 typndims:int4 typcollation:oid typdefault:text typacl:aclitem[]",
		typeRow(16, "bool", 1, "b", "B", 0, 1000),
		typeRow(18, "char", 1, "b", "Z", 0, 1002),
		typeRow(19, "name", 64, "b", "S", 0, 1003),
		typeRow(20, "int8", 8, "b", "N", 0, 1016),
		typeRow(21, "int2", 2, "b", "N", 0, 1005),
		typeRow(23, "int4", 4, "b", "N", 0, 1007),
		typeRow(25, "text", -1, "b", "S", 0, 1009),
		typeRow(26, "oid", 4, "b", "N", 0, 1028),
		typeRow(701, "float8", 8, "b", "N", 0, 1022),
		typeRow(1043, "varchar", -1, "b", "S", 0, 1015),
		typeRow(1114, "timestamp", 8, "b", "D", 0, 1115),
		typeRow(1009, "_text", -1, "b", "A", 25, 0),
		typeRow(1007, "_int4", -1, "b", "A", 23, 0),
		clicksType,
	)
	c.rel("pg_catalog", "pg_proc", "oid:oid proname:name pronamespace:oid proowner:oid prolang:oid procost:float4 prorows:float4 provariadic:oid prosupport:regproc prokind:char prosecdef:bool proleakproof:bool proisstrict:bool proretset:bool provolatile:char proparallel:char pronargs:int2 pronargdefaults:int2 prorettype:oid proargtypes:oidvector proallargtypes:oid[] proargmodes:char[] proargnames:text[] proargdefaults:pg_node_tree protrftypes:oid[] prosrc:text probin:text proconfig:text[] proacl:aclitem[]",
		procRow(89, "version", nsCatalog, "f", 25),
		procRow(870, "lower", nsCatalog, "f", 25, 25),
		procRow(2147, "count", nsCatalog, "a", 20),
		procRow(750, "array_in", nsCatalog, "f", 2277, 2275, 26, 23),
		procRow(16400, "add_one", nsPublic, "f", 23, 23),
	)
	c.rel("pg_catalog", "pg_index", "indexrelid:oid indrelid:oid indnatts:int2 indnkeyatts:int2 indisunique:bool indnullsnotdistinct:bool indisprimary:bool indisexclusion:bool indimmediate:bool indisclustered:bool indisvalid:bool indcheckxmin:bool indisready:bool indislive:bool indisreplident:bool indkey:int2vector indcollation:oidvector indclass:oidvector indoption:int2vector indexprs:pg_node_tree indpred:pg_node_tree",
		row{int64(relPkey), int64(relClicks), int64(2), int64(2), true, false, true, false, true, false, true, false, true, true, false, vec(1, 3), vec(0, 0), vec(1980, 3128), vec(0, 0), nil, nil},
	)
	c.rel("pg_catalog", "pg_constraint", "oid:oid conname:name connamespace:oid contype:char condeferrable:bool condeferred:bool convalidated:bool conrelid:oid contypid:oid conindid:oid conparentid:oid confrelid:oid confupdtype:char confdeltype:char confmatchtype:char conislocal:bool coninhcount:int4 connoinherit:bool conkey:int2[] confkey:int2[] conbin:pg_node_tree",
		row{int64(16389), "clicks_pkey", int64(nsPublic), "p", false, false, true, int64(relClicks), int64(0), int64(relPkey), int64(0), int64(0), " ", " ", " ", true, int64(0), true, vec(1, 3), nil, nil},
	)
	c.rel("pg_catalog", "pg_database", "oid:oid datname:name datdba:oid encoding:int4 datlocprovider:char datistemplate:bool datallowconn:bool datconnlimit:int4 datfrozenxid:xid datminmxid:xid dattablespace:oid datcollate:text datctype:text daticulocale:text daticurules:text datcollversion:text datacl:aclitem[]",
		row{int64(5), "streamsql", int64(roleOwner), int64(6), "c", false, true, int64(-1), int64(0), int64(1), int64(1663), "C.UTF-8", "C.UTF-8", nil, nil, nil, []Value{"=Tc/streamsql", "streamsql=CTc/streamsql"}},
	)
	c.rel("pg_catalog", "pg_am", "oid:oid amname:name amhandler:regproc amtype:char",
		row{int64(2), "heap", int64(3), "t"},
		row{int64(403), "btree", int64(330), "i"},
	)
	c.rel("pg_catalog", "pg_description", "objoid:oid classoid:oid objsubid:int4 description:text",
		row{int64(relClicks), int64(classOID), int64(0), "click events"},
		row{int64(relClicks), int64(classOID), int64(1), "who clicked"},
		row{int64(89), int64(1255), int64(0), "PostgreSQL version string"},
	)
	c.rel("pg_catalog", "pg_attrdef", "oid:oid adrelid:oid adnum:int2 adbin:pg_node_tree",
		row{int64(16387), int64(relClicks), int64(2), "'none'::text"},
	)
	c.rel("pg_catalog", "pg_inherits", "inhrelid:oid inhparent:oid inhseqno:int4 inhdetachpending:bool")
	c.rel("pg_catalog", "pg_collation", "oid:oid collname:name collnamespace:oid collowner:oid collprovider:char collisdeterministic:bool collencoding:int4 collcollate:text collctype:text",
		row{int64(100), "default", int64(nsCatalog), int64(roleOwner), "d", true, int64(-1), nil, nil},
	)
	c.rel("pg_catalog", "pg_settings", "name:text setting:text unit:text category:text short_desc:text",
		row{"max_index_keys", "32", nil, "Preset Options", "Shows the maximum number of index keys."},
		row{"search_path", `"$user", public`, nil, "Client Connection Defaults", "Sets the schema search order."},
	)
	c.rel("pg_catalog", "pg_extension", "oid:oid extname:name extowner:oid extnamespace:oid extrelocatable:bool extversion:text extconfig:oid[] extcondition:text[]")
	c.rel("pg_catalog", "pg_tablespace", "oid:oid spcname:name spcowner:oid spcacl:aclitem[] spcoptions:text[]",
		row{int64(1663), "pg_default", int64(roleOwner), nil, nil},
	)
	c.rel("pg_catalog", "pg_rewrite", "oid:oid rulename:name ev_class:oid ev_type:char ev_enabled:char is_instead:bool")
	c.rel("pg_catalog", "pg_trigger", "oid:oid tgrelid:oid tgparentid:oid tgname:name tgfoid:oid tgtype:int2 tgenabled:char tgisinternal:bool")
	c.rel("pg_catalog", "pg_policy", "oid:oid polname:name polrelid:oid polcmd:char polpermissive:bool polroles:oid[] polqual:pg_node_tree polwithcheck:pg_node_tree")
	c.rel("pg_catalog", "pg_statistic_ext", "oid:oid stxrelid:oid stxname:name stxnamespace:oid stxowner:oid stxstattarget:int4 stxkeys:int2vector stxkind:char[]")
	c.rel("pg_catalog", "pg_publication", "oid:oid pubname:name pubowner:oid puballtables:bool pubinsert:bool pubupdate:bool pubdelete:bool pubtruncate:bool pubviaroot:bool")
	c.rel("pg_catalog", "pg_publication_rel", "oid:oid prpubid:oid prrelid:oid prqual:pg_node_tree prattrs:int2vector")
	c.rel("pg_catalog", "pg_publication_namespace", "oid:oid pnpubid:oid pnnspid:oid")
	c.rel("pg_catalog", "pg_foreign_table", "ftrelid:oid ftserver:oid ftoptions:text[]")
	c.rel("pg_catalog", "pg_partitioned_table", "partrelid:oid partstrat:char partnatts:int2 partdefid:oid")
	c.rel("pg_catalog", "pg_language", "oid:oid lanname:name lanowner:oid lanispl:bool")
	c.rel("pg_catalog", "pg_opclass", "oid:oid opcmethod:oid opcname:name opcnamespace:oid opcowner:oid opcfamily:oid opcintype:oid opcdefault:bool opckeytype:oid")
	c.rel("pg_catalog", "pg_sequence", "seqrelid:oid seqtypid:oid seqstart:int8 seqincrement:int8 seqmax:int8 seqmin:int8 seqcache:int8 seqcycle:bool")
	c.rel("pg_catalog", "pg_depend", "classid:oid objid:oid objsubid:int4 refclassid:oid refobjid:oid refobjsubid:int4 deptype:char")
	c.rel("information_schema", "tables", "table_catalog:name table_schema:name table_name:name table_type:text",
		row{"streamsql", "public", "clicks", "BASE TABLE"},
		row{"streamsql", "public", "v_users", "VIEW"},
	)
	c.installFuncs()
	return c
}

func classRow(oid int64, name string, nsp int64, kind string, natts int64, am int64) row {
	return row{oid, name, nsp, int64(0), int64(0), int64(roleOwner), am, oid, int64(0), int64(1), float64(-1), int64(0), int64(0), kind == "r" && oid == relClicks, false, "p", kind, natts, int64(0), false, false, false, false, false, true, "d", false, int64(0), nil, nil, nil}
}

func attRow(rel int64, name string, typ int64, num int64, notnull, hasdef bool) row {
	return row{rel, name, typ, int64(-1), int64(8), num, int64(0), int64(-1), int64(-1), true, "d", "p", "", notnull, hasdef, false, "", "", false, true, int64(0), int64(0), nil, nil, nil}
}

func typeRow(oid int64, name string, length int64, typtype, category string, elem, array int64) row {
	return row{oid, name, int64(nsCatalog), int64(roleOwner), length, length > 0 && length <= 8, typtype, category, false, true, ",", int64(0), elem, array, int64(0), int64(0), int64(0), int64(0), "i", "p", false, int64(0), int64(-1), int64(0), int64(0), nil, nil}
}

func procRow(oid int64, name string, nsp int64, kind string, rettype int64, args ...int64) row {
	return row{oid, name, nsp, int64(roleOwner), int64(12), float64(1), float64(0), int64(0), int64(0), kind, false, false, true, false, "i", "s", int64(len(args)), int64(0), rettype, vec(args...), nil, nil, nil, nil, nil, name, nil, nil, nil}
}

// installFuncs gives the fake catalog the catalog-specific functions that
// package pgcatalog provides for real.
func (c *fakeCatalog) installFuncs() {
	lookup := func(rel string, oid Value, col string) Value {
		r, _ := c.Relation("pg_catalog", rel)
		idx := map[string]int{}
		for i, cl := range r.Columns {
			idx[cl.Name] = i
		}
		id, _ := toInt(oid)
		for _, row := range r.Rows() {
			if o, _ := toInt(row[idx["oid"]]); o == id {
				return row[idx[col]]
			}
		}
		return nil
	}
	visibleNsp := func(nsp Value) bool {
		n, _ := toInt(nsp)
		return n == nsCatalog || n == nsPublic
	}
	c.funcs["pg_get_userbyid"] = func(a []Value) (Value, error) {
		if a[0] == nil {
			return nil, nil
		}
		if n := lookup("pg_roles", a[0], "rolname"); n != nil {
			return n, nil
		}
		return fmt.Sprintf("unknown (OID=%v)", a[0]), nil
	}
	c.funcs["pg_table_is_visible"] = func(a []Value) (Value, error) {
		return visibleNsp(lookup("pg_class", a[0], "relnamespace")), nil
	}
	c.funcs["pg_type_is_visible"] = func(a []Value) (Value, error) {
		return visibleNsp(lookup("pg_type", a[0], "typnamespace")), nil
	}
	c.funcs["pg_function_is_visible"] = func(a []Value) (Value, error) {
		return visibleNsp(lookup("pg_proc", a[0], "pronamespace")), nil
	}
	c.funcs["format_type"] = func(a []Value) (Value, error) {
		if a[0] == nil {
			return nil, nil
		}
		id, _ := toInt(a[0])
		if n, ok := typeSQLNames[uint32(id)]; ok {
			return n, nil
		}
		if n := lookup("pg_type", a[0], "typname"); n != nil {
			return n, nil
		}
		return "???", nil
	}
	describe := func(oid, class Value, sub int64) Value {
		r, _ := c.Relation("pg_catalog", "pg_description")
		for _, row := range r.Rows() {
			if o, _ := toInt(row[0]); o != mustInt(oid) {
				continue
			}
			if class != nil && row[1] != class {
				continue
			}
			if s, _ := toInt(row[2]); s == sub {
				return row[3]
			}
		}
		return nil
	}
	c.funcs["obj_description"] = func(a []Value) (Value, error) {
		if a[0] == nil {
			return nil, nil
		}
		var class Value
		if len(a) > 1 {
			switch a[1] {
			case "pg_class":
				class = int64(classOID)
			case "pg_proc":
				class = int64(1255)
			default:
				class = int64(-1)
			}
		}
		return describe(a[0], class, 0), nil
	}
	c.funcs["col_description"] = func(a []Value) (Value, error) {
		if a[0] == nil || a[1] == nil {
			return nil, nil
		}
		return describe(a[0], int64(classOID), mustInt(a[1])), nil
	}
	c.funcs["pg_get_expr"] = func(a []Value) (Value, error) { return a[0], nil }
	c.funcs["version"] = func([]Value) (Value, error) { return "PostgreSQL 16.0 (streamsql test)", nil }
	c.funcs["current_database"] = func([]Value) (Value, error) { return "streamsql", nil }
	c.funcs["current_schema"] = func([]Value) (Value, error) { return "public", nil }
	c.funcs["current_user"] = func([]Value) (Value, error) { return "streamsql", nil }
	c.funcs["session_user"] = func([]Value) (Value, error) { return "streamsql", nil }
	c.funcs["current_schemas"] = func(a []Value) (Value, error) {
		if a[0] == true {
			return []Value{"pg_catalog", "public"}, nil
		}
		return []Value{"public"}, nil
	}
	c.funcs["pg_encoding_to_char"] = func([]Value) (Value, error) { return "UTF8", nil }
	c.funcs["pg_get_function_result"] = func(a []Value) (Value, error) {
		return c.funcs["format_type"]([]Value{lookup("pg_proc", a[0], "prorettype"), nil})
	}
	c.funcs["pg_get_function_arguments"] = func(a []Value) (Value, error) {
		args, _ := toArray(lookup("pg_proc", a[0], "proargtypes"))
		var parts []string
		for _, t := range args {
			n, _ := c.funcs["format_type"]([]Value{t, nil})
			parts = append(parts, n.(string))
		}
		return strings.Join(parts, ", "), nil
	}
	c.funcs["pg_size_pretty"] = func(a []Value) (Value, error) { return fmt.Sprintf("%v bytes", a[0]), nil }
	c.funcs["pg_table_size"] = func([]Value) (Value, error) { return int64(0), nil }
	c.funcs["pg_get_indexdef"] = func(a []Value) (Value, error) {
		if len(a) == 3 {
			if n, _ := toInt(a[1]); n > 0 {
				return []string{"user_id", "ts"}[n-1], nil
			}
		}
		return "CREATE UNIQUE INDEX clicks_pkey ON public.clicks USING btree (user_id, ts)", nil
	}
	c.funcs["pg_get_constraintdef"] = func([]Value) (Value, error) { return "PRIMARY KEY (user_id, ts)", nil }
	c.funcs["pg_get_viewdef"] = func([]Value) (Value, error) { return " SELECT user_id\n   FROM clicks;", nil }
	c.funcs["has_table_privilege"] = func([]Value) (Value, error) { return true, nil }
	c.funcs["set_config"] = func(a []Value) (Value, error) { return a[1], nil }
	c.funcs["pg_get_statisticsobjdef_columns"] = func([]Value) (Value, error) { return nil, nil }
	c.funcs["pg_database_size"] = func([]Value) (Value, error) { return int64(8192), nil }
	c.funcs["pg_get_function_sqlbody"] = func([]Value) (Value, error) { return nil, nil }
	c.funcs["pg_tablespace_location"] = func([]Value) (Value, error) { return "", nil }
	c.funcs["pg_relation_is_publishable"] = func([]Value) (Value, error) { return true, nil }
	c.funcs["has_database_privilege"] = func([]Value) (Value, error) { return true, nil }
	c.funcs["shobj_description"] = func([]Value) (Value, error) { return nil, nil }
	c.funcs["getdatabaseencoding"] = func([]Value) (Value, error) { return "UTF8", nil }
}

func mustInt(v Value) int64 {
	i, _ := toInt(v)
	return i
}

// grow adds n tables of cols columns each to the catalog (in pg_catalog,
// as a real catalog's own tables are), so that a test can check that
// queries stay fast on a catalog the size of a real one.
func (c *fakeCatalog) grow(n, cols int) {
	cls, att := c.rels["pg_catalog.pg_class"], c.rels["pg_catalog.pg_attribute"]
	clsRows, attRows := cls.Rows(), att.Rows()
	for i := 0; i < n; i++ {
		oid := int64(20000 + i)
		clsRows = append(clsRows, classRow(oid, fmt.Sprintf("pg_big_%d", i), nsCatalog, "r", int64(cols), 2))
		for j := 1; j <= cols; j++ {
			attRows = append(attRows, attRow(oid, fmt.Sprintf("col_%d", j), 25, int64(j), false, false))
		}
	}
	cls.Rows = func() [][]Value { return clsRows }
	att.Rows = func() [][]Value { return attRows }
}
