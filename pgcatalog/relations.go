package pgcatalog

import (
	"github.com/streamsql/streamsql/pgcatalog/eval"
)

// table is one relation of the catalog: its columns (Postgres's names and
// types) and a function building its rows from a Catalog when read.
type table struct {
	schema, name string
	oid          uint32
	view         bool // a view in Postgres (relkind 'v'), not a table
	cols         []eval.Column
	rows         func(c *Catalog) []row
}

// relations lists every relation, in pg_class order; relationsByName
// indexes it by "schema.name".
var (
	relations       []*table
	relationsByName = map[string]*table{}
)

func none(*Catalog) []row { return nil }

// define adds a relation. oid 0 gives it the next free OID of the
// catalog's own range.
func define(schema, name string, oid uint32, view bool, spec string, rows func(*Catalog) []row) {
	if oid == 0 {
		oid = 12000 + uint32(len(relations))
	}
	t := &table{schema: schema, name: name, oid: oid, view: view, cols: cols(spec), rows: rows}
	relations = append(relations, t)
	relationsByName[schema+"."+name] = t
}

func init() {
	const pg, is = "pg_catalog", "information_schema"
	define(pg, "pg_class", 1259, false, "oid oid, relname name, relnamespace oid, reltype oid, reloftype oid, relowner oid, relam oid, "+
		"relfilenode oid, reltablespace oid, relpages int4, reltuples float4, relallvisible int4, reltoastrelid oid, "+
		"relhasindex bool, relisshared bool, relpersistence char, relkind char, relnatts int2, relchecks int2, "+
		"relhasrules bool, relhastriggers bool, relhassubclass bool, relrowsecurity bool, relforcerowsecurity bool, "+
		"relispopulated bool, relreplident char, relispartition bool, relrewrite oid, relfrozenxid xid, relminmxid xid, "+
		"relacl aclitem[], reloptions text[], relpartbound pg_node_tree", pgClassRows)
	define(pg, "pg_namespace", 2615, false, "oid oid, nspname name, nspowner oid, nspacl aclitem[]", pgNamespaceRows)
	define(pg, "pg_attribute", 1249, false, "attrelid oid, attname name, atttypid oid, attstattarget int4, attlen int2, "+
		"attnum int2, attndims int4, attcacheoff int4, atttypmod int4, attbyval bool, attalign char, attstorage char, "+
		"attcompression char, attnotnull bool, atthasdef bool, atthasmissing bool, attidentity char, attgenerated char, "+
		"attisdropped bool, attislocal bool, attinhcount int4, attcollation oid, attacl aclitem[], attoptions text[], "+
		"attfdwoptions text[], attmissingval anyarray", pgAttributeRows)
	define(pg, "pg_type", 1247, false, "oid oid, typname name, typnamespace oid, typowner oid, typlen int2, typbyval bool, "+
		"typtype char, typcategory char, typispreferred bool, typisdefined bool, typdelim char, typrelid oid, "+
		"typsubscript regproc, typelem oid, typarray oid, typinput regproc, typoutput regproc, typreceive regproc, "+
		"typsend regproc, typmodin regproc, typmodout regproc, typanalyze regproc, typalign char, typstorage char, "+
		"typnotnull bool, typbasetype oid, typtypmod int4, typndims int4, typcollation oid, typdefaultbin pg_node_tree, "+
		"typdefault text, typacl aclitem[]", func(*Catalog) []row { return pgTypeRows() })
	define(pg, "pg_proc", 1255, false, "oid oid, proname name, pronamespace oid, proowner oid, prolang oid, procost float4, "+
		"prorows float4, provariadic oid, prosupport regproc, prokind char, prosecdef bool, proleakproof bool, "+
		"proisstrict bool, proretset bool, provolatile char, proparallel char, pronargs int2, pronargdefaults int2, "+
		"prorettype oid, proargtypes oidvector, proallargtypes oid[], proargmodes char[], proargnames text[], "+
		"proargdefaults pg_node_tree, protrftypes oid[], prosrc text, probin text, prosqlbody pg_node_tree, "+
		"proconfig text[], proacl aclitem[]", pgProcRows)
	define(pg, "pg_index", 2610, false, "indexrelid oid, indrelid oid, indnatts int2, indnkeyatts int2, indisunique bool, "+
		"indnullsnotdistinct bool, indisprimary bool, indisexclusion bool, indimmediate bool, indisclustered bool, "+
		"indisvalid bool, indcheckxmin bool, indisready bool, indislive bool, indisreplident bool, indkey int2vector, "+
		"indcollation oidvector, indclass oidvector, indoption int2vector, indexprs pg_node_tree, indpred pg_node_tree", pgIndexRows)
	define(pg, "pg_constraint", 2606, false, "oid oid, conname name, connamespace oid, contype char, condeferrable bool, "+
		"condeferred bool, convalidated bool, conrelid oid, contypid oid, conindid oid, conparentid oid, confrelid oid, "+
		"confupdtype char, confdeltype char, confmatchtype char, conislocal bool, coninhcount int4, connoinherit bool, "+
		"conkey int2[], confkey int2[], conpfeqop oid[], conppeqop oid[], conffeqop oid[], confdelsetcols int2[], "+
		"conexclop oid[], conbin pg_node_tree", pgConstraintRows)
	define(pg, "pg_description", 2609, false, "objoid oid, classoid oid, objsubid int4, description text", none)
	define(pg, "pg_shdescription", 2396, false, "objoid oid, classoid oid, description text", none)
	define(pg, "pg_database", 1262, false, "oid oid, datname name, datdba oid, encoding int4, datlocprovider char, "+
		"datistemplate bool, datallowconn bool, datconnlimit int4, datfrozenxid xid, datminmxid xid, dattablespace oid, "+
		"datcollate text, datctype text, daticulocale text, daticurules text, datlocale text, datcollversion text, "+
		"datacl aclitem[]", pgDatabaseRows)
	define(pg, "pg_authid", 1260, false, "oid oid, rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, "+
		"rolcreatedb bool, rolcanlogin bool, rolreplication bool, rolbypassrls bool, rolconnlimit int4, "+
		"rolpassword text, rolvaliduntil timestamptz", pgRoleRows)
	define(pg, "pg_roles", 0, true, "rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool, "+
		"rolcanlogin bool, rolreplication bool, rolconnlimit int4, rolpassword text, rolvaliduntil timestamptz, "+
		"rolbypassrls bool, rolconfig text[], oid oid", pgRoleRows)
	define(pg, "pg_user", 0, true, "usename name, usesysid oid, usecreatedb bool, usesuper bool, userepl bool, "+
		"usebypassrls bool, passwd text, valuntil timestamptz, useconfig text[]", pgUserRows)
	define(pg, "pg_auth_members", 1261, false, "oid oid, roleid oid, member oid, grantor oid, admin_option bool, "+
		"inherit_option bool, set_option bool", none)
	define(pg, "pg_settings", 0, true, "name text, setting text, unit text, category text, short_desc text, "+
		"extra_desc text, context text, vartype text, source text, min_val text, max_val text, enumvals text[], "+
		"boot_val text, reset_val text, sourcefile text, sourceline int4, pending_restart bool", pgSettingsRows)
	define(pg, "pg_language", 2612, false, "oid oid, lanname name, lanowner oid, lanispl bool, lanpltrusted bool, "+
		"lanplcallfoid oid, laninline oid, lanvalidator oid, lanacl aclitem[]", pgLanguageRows)
	define(pg, "pg_am", 2601, false, "oid oid, amname name, amhandler regproc, amtype char", pgAmRows)
	define(pg, "pg_attrdef", 2604, false, "oid oid, adrelid oid, adnum int2, adbin pg_node_tree", none)
	define(pg, "pg_inherits", 2611, false, "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool", none)
	define(pg, "pg_collation", 3456, false, "oid oid, collname name, collnamespace oid, collowner oid, collprovider char, "+
		"collisdeterministic bool, collencoding int4, collcollate text, collctype text, colliculocale text, "+
		"collicurules text, collversion text", pgCollationRows)
	define(pg, "pg_tablespace", 1213, false, "oid oid, spcname name, spcowner oid, spcacl aclitem[], spcoptions text[]", pgTablespaceRows)
	define(pg, "pg_policy", 3256, false, "oid oid, polname name, polrelid oid, polcmd char, polpermissive bool, "+
		"polroles oid[], polqual pg_node_tree, polwithcheck pg_node_tree", none)
	define(pg, "pg_statistic_ext", 3381, false, "oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid, "+
		"stxstattarget int4, stxkeys int2vector, stxkind char[], stxexprs pg_node_tree", none)
	define(pg, "pg_publication", 6104, false, "oid oid, pubname name, pubowner oid, puballtables bool, pubinsert bool, "+
		"pubupdate bool, pubdelete bool, pubtruncate bool, pubviaroot bool", none)
	define(pg, "pg_publication_rel", 6106, false, "oid oid, prpubid oid, prrelid oid, prqual pg_node_tree, prattrs int2vector", none)
	define(pg, "pg_publication_namespace", 6237, false, "oid oid, pnpubid oid, pnnspid oid", none)
	define(pg, "pg_trigger", 2620, false, "oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2, "+
		"tgenabled char, tgisinternal bool, tgconstrrelid oid, tgconstrindid oid, tgconstraint oid, tgdeferrable bool, "+
		"tginitdeferred bool, tgnargs int2, tgattr int2vector, tgargs bytea, tgqual pg_node_tree, tgoldtable name, "+
		"tgnewtable name", none)
	define(pg, "pg_rewrite", 2618, false, "oid oid, rulename name, ev_class oid, ev_type char, ev_enabled char, "+
		"is_instead bool, ev_qual pg_node_tree, ev_action pg_node_tree", none)
	define(pg, "pg_foreign_table", 3118, false, "ftrelid oid, ftserver oid, ftoptions text[]", pgForeignTableRows)
	define(pg, "pg_foreign_server", 1417, false, "oid oid, srvname name, srvowner oid, srvfdw oid, srvtype text, "+
		"srvversion text, srvacl aclitem[], srvoptions text[]", pgForeignServerRows)
	define(pg, "pg_foreign_data_wrapper", 2328, false, "oid oid, fdwname name, fdwowner oid, fdwhandler oid, "+
		"fdwvalidator oid, fdwacl aclitem[], fdwoptions text[]", pgForeignDataWrapperRows)
	define(pg, "pg_sequence", 2224, false, "seqrelid oid, seqtypid oid, seqstart int8, seqincrement int8, seqmax int8, "+
		"seqmin int8, seqcache int8, seqcycle bool", none)
	define(pg, "pg_extension", 3079, false, "oid oid, extname name, extowner oid, extnamespace oid, extrelocatable bool, "+
		"extversion text, extconfig oid[], extcondition text[]", none)
	define(pg, "pg_depend", 2608, false, "classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, "+
		"refobjsubid int4, deptype char", none)
	define(pg, "pg_operator", 2617, false, "oid oid, oprname name, oprnamespace oid, oprowner oid, oprkind char, "+
		"oprcanmerge bool, oprcanhash bool, oprleft oid, oprright oid, oprresult oid, oprcom oid, oprnegate oid, "+
		"oprcode regproc, oprrest regproc, oprjoin regproc", none)
	define(pg, "pg_opclass", 2616, false, "oid oid, opcmethod oid, opcname name, opcnamespace oid, opcowner oid, "+
		"opcfamily oid, opcintype oid, opcdefault bool, opckeytype oid", none)
	define(pg, "pg_opfamily", 2753, false, "oid oid, opfmethod oid, opfname name, opfnamespace oid, opfowner oid", none)
	define(pg, "pg_cast", 2605, false, "oid oid, castsource oid, casttarget oid, castfunc oid, castcontext char, "+
		"castmethod char", none)
	define(pg, "pg_default_acl", 826, false, "oid oid, defaclrole oid, defaclnamespace oid, defaclobjtype char, "+
		"defaclacl aclitem[]", none)
	define(pg, "pg_enum", 3501, false, "oid oid, enumtypid oid, enumsortorder float4, enumlabel name", none)
	define(pg, "pg_event_trigger", 3466, false, "oid oid, evtname name, evtevent name, evtowner oid, evtfoid oid, "+
		"evtenabled char, evttags text[]", none)
	define(pg, "pg_tables", 0, true, "schemaname name, tablename name, tableowner name, tablespace name, "+
		"hasindexes bool, hasrules bool, hastriggers bool, rowsecurity bool", pgTablesRows)
	define(pg, "pg_views", 0, true, "schemaname name, viewname name, viewowner name, definition text", pgViewsRows)
	define(pg, "pg_matviews", 0, true, "schemaname name, matviewname name, matviewowner name, tablespace name, "+
		"hasindexes bool, ispopulated bool, definition text", pgMatviewsRows)

	define(is, "schemata", 0, true, "catalog_name name, schema_name name, schema_owner name, "+
		"default_character_set_catalog name, default_character_set_schema name, default_character_set_name name, "+
		"sql_path varchar", isSchemataRows)
	define(is, "tables", 0, true, "table_catalog name, table_schema name, table_name name, table_type varchar, "+
		"self_referencing_column_name name, reference_generation varchar, user_defined_type_catalog name, "+
		"user_defined_type_schema name, user_defined_type_name name, is_insertable_into varchar, is_typed varchar, "+
		"commit_action varchar", isTablesRows)
	define(is, "columns", 0, true, "table_catalog name, table_schema name, table_name name, column_name name, "+
		"ordinal_position int4, column_default varchar, is_nullable varchar, data_type varchar, "+
		"character_maximum_length int4, character_octet_length int4, numeric_precision int4, "+
		"numeric_precision_radix int4, numeric_scale int4, datetime_precision int4, interval_type varchar, "+
		"interval_precision int4, character_set_catalog name, character_set_schema name, character_set_name name, "+
		"collation_catalog name, collation_schema name, collation_name name, domain_catalog name, "+
		"domain_schema name, domain_name name, udt_catalog name, udt_schema name, udt_name name, scope_catalog name, "+
		"scope_schema name, scope_name name, maximum_cardinality int4, dtd_identifier name, "+
		"is_self_referencing varchar, is_identity varchar, identity_generation varchar, identity_start varchar, "+
		"identity_increment varchar, identity_maximum varchar, identity_minimum varchar, identity_cycle varchar, "+
		"is_generated varchar, generation_expression varchar, is_updatable varchar", isColumnsRows)
	define(is, "views", 0, true, "table_catalog name, table_schema name, table_name name, view_definition varchar, "+
		"check_option varchar, is_updatable varchar, is_insertable_into varchar, is_trigger_updatable varchar, "+
		"is_trigger_deletable varchar, is_trigger_insertable_into varchar", isViewsRows)
	// Appended last: a relation without an OID of Postgres's is numbered by
	// its place here, and the others' must not move.
	define(pg, "pg_cursors", 0, true, "name text, statement text, is_holdable bool, is_binary bool, "+
		"is_scrollable bool, creation_time timestamptz", pgCursorsRows)
}
