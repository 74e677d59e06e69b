package pgcatalog

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/streamsql/streamsql/pgcatalog/eval"
	"github.com/streamsql/streamsql/sql/types"
)

// fakeSnapshot is a source, a view over it with a two-column group key,
// and a sink over the view, with catalog ids as the engine would give.
func fakeSnapshot() Snapshot {
	return Snapshot{
		Objects: []Object{
			{ID: 7, Kind: Sink, Name: "spend_out", Connector: "kinesis",
				Columns: []Column{{Name: "user_id", Type: types.TypeBigInt}, {Name: "n", Type: types.TypeBigInt}},
				Options: [][2]string{{"connector", "kinesis"}, {"stream", "spend"}, {"secret_key", "***"}}},
			{ID: 1, Kind: Source, Name: "clicks", Connector: "kinesis",
				Columns: []Column{
					{Name: "user_id", Type: types.TypeBigInt, NotNull: true},
					{Name: "url", Type: types.VarcharType(2048)},
					{Name: "amount", Type: types.DecimalType(12, 2)},
					{Name: "ts", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
				},
				Options: [][2]string{{"connector", "kinesis"}, {"stream", "clicks"}}},
			{ID: 2, Kind: View, Name: "spend", Query: "SELECT user_id, window_start, COUNT(*) AS n FROM clicks GROUP BY 1, 2",
				Columns: []Column{{Name: "user_id", Type: types.TypeBigInt}, {Name: "window_start", Type: types.TypeTimestamp},
					{Name: "n", Type: types.TypeBigInt}},
				Key: []int{0, 1}},
		},
		Functions: []Function{{Name: "abs", MinArgs: 1, MaxArgs: 1}, {Name: "concat", MinArgs: 1, MaxArgs: -1},
			{Name: "count", MinArgs: 1, MaxArgs: 1, Aggregate: true}, {Name: "round", MinArgs: 1, MaxArgs: 2}},
		User: "alice", Database: "analytics",
		Settings:   []Setting{{Name: "TimeZone", Value: "UTC"}, {Name: "server_version", Value: "16.0", ReadOnly: true}},
		Version:    "PostgreSQL 16.0 (streamsql test)",
		BackendPID: 42,
		StartTime:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Cursors: []Cursor{{Name: "c1", Statement: "DECLARE c1 CURSOR WITH HOLD FOR SELECT 1", Holdable: true,
			Created: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)}},
	}
}

// OIDs by hand: 16384 + 4 × catalog id; a view's key index and constraint +1.
const (
	clicksOID    = 16384 + 4*1
	spendOID     = 16384 + 4*2
	spendKeyOID  = spendOID + 1
	spendOutOID  = 16384 + 4*7
	numeric12_2  = 12<<16 | 2 + 4
	varchar2048  = 2048 + 4
	timestamp3   = 3
	firstFuncOID = 8000
)

// read returns a relation's rows as maps, failing on unknown relations.
func read(t *testing.T, c *Catalog, schema, name string) []map[string]eval.Value {
	t.Helper()
	rel, ok := c.Relation(schema, name)
	if !ok {
		t.Fatalf("no relation %s.%s", schema, name)
	}
	var out []map[string]eval.Value
	for _, r := range rel.Rows() {
		m := map[string]eval.Value{}
		for i, col := range rel.Columns {
			m[col.Name] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// project keeps the named columns of the rows where match holds.
func project(rows []map[string]eval.Value, match func(map[string]eval.Value) bool, names ...string) [][]eval.Value {
	var out [][]eval.Value
	for _, r := range rows {
		if match != nil && !match(r) {
			continue
		}
		vals := make([]eval.Value, len(names))
		for i, n := range names {
			vals[i] = r[n]
		}
		out = append(out, vals)
	}
	return out
}

func is(col string, v eval.Value) func(map[string]eval.Value) bool {
	return func(r map[string]eval.Value) bool { return reflect.DeepEqual(r[col], v) }
}

func TestCatalog_Relations(t *testing.T) {
	c := New(fakeSnapshot())
	tests := []struct {
		schema, name string
		match        func(map[string]eval.Value) bool
		cols         []string
		want         [][]eval.Value
	}{
		{"", "pg_class", func(r map[string]eval.Value) bool { return r["oid"].(int64) >= 16384 },
			[]string{"oid", "relname", "relkind", "relnamespace", "relnatts", "relhasindex", "relam"},
			[][]eval.Value{
				{int64(clicksOID), "clicks", "r", int64(2200), int64(4), false, int64(2)},
				{int64(spendOID), "spend", "m", int64(2200), int64(3), true, int64(2)},
				{int64(spendKeyOID), "spend_pkey", "i", int64(2200), int64(2), false, int64(403)},
				{int64(spendOutOID), "spend_out", "f", int64(2200), int64(2), false, int64(0)},
			}},
		{"pg_catalog", "pg_class", is("relname", "pg_class"), []string{"oid", "relkind", "relnamespace"},
			[][]eval.Value{{int64(1259), "r", int64(11)}}},
		{"", "pg_class", is("relname", "tables"), []string{"relkind", "relnamespace"},
			[][]eval.Value{{"v", int64(13182)}}},
		{"", "pg_attribute", is("attrelid", int64(clicksOID)),
			[]string{"attnum", "attname", "atttypid", "atttypmod", "attnotnull", "attlen"},
			[][]eval.Value{
				{int64(1), "user_id", int64(20), int64(-1), true, int64(8)},
				{int64(2), "url", int64(1043), int64(varchar2048), false, int64(-1)},
				{int64(3), "amount", int64(1700), int64(numeric12_2), false, int64(-1)},
				{int64(4), "ts", int64(1114), int64(timestamp3), false, int64(8)},
			}},
		{"", "pg_attribute", is("attrelid", int64(spendKeyOID)), []string{"attnum", "attname"},
			[][]eval.Value{{int64(1), "user_id"}, {int64(2), "window_start"}}},
		{"", "pg_index", nil, []string{"indexrelid", "indrelid", "indisprimary", "indisunique", "indkey"},
			[][]eval.Value{{int64(spendKeyOID), int64(spendOID), true, true, []eval.Value{int64(1), int64(2)}}}},
		{"", "pg_constraint", nil, []string{"oid", "conname", "contype", "conrelid", "conindid", "conkey"},
			[][]eval.Value{{int64(spendKeyOID), "spend_pkey", "p", int64(spendOID), int64(spendKeyOID), []eval.Value{int64(1), int64(2)}}}},
		{"", "pg_namespace", nil, []string{"oid", "nspname"},
			[][]eval.Value{{int64(11), "pg_catalog"}, {int64(99), "pg_toast"}, {int64(2200), "public"}, {int64(13182), "information_schema"}}},
		{"", "pg_database", nil, []string{"datname", "datdba", "encoding", "datistemplate"},
			[][]eval.Value{{"analytics", int64(10), int64(6), false}, {"template1", int64(10), int64(6), true}}},
		{"", "pg_roles", nil, []string{"oid", "rolname", "rolsuper", "rolcanlogin"}, [][]eval.Value{{int64(10), "alice", true, true}}},
		{"", "pg_user", nil, []string{"usename", "usesysid"}, [][]eval.Value{{"alice", int64(10)}}},
		{"", "pg_foreign_server", nil, []string{"oid", "srvname", "srvfdw"}, [][]eval.Value{{int64(14001), "kinesis", int64(14000)}}},
		{"", "pg_foreign_table", nil, []string{"ftrelid", "ftserver", "ftoptions"},
			[][]eval.Value{{int64(spendOutOID), int64(14001), []eval.Value{"connector=kinesis", "stream=spend", "secret_key=***"}}}},
		{"", "pg_matviews", nil, []string{"matviewname", "matviewowner", "hasindexes", "definition"},
			[][]eval.Value{{"spend", "alice", true, " SELECT user_id, window_start, COUNT(*) AS n FROM clicks GROUP BY 1, 2;"}}},
		{"", "pg_tables", is("schemaname", "public"), []string{"tablename", "tableowner"}, [][]eval.Value{{"clicks", "alice"}}},
		{"", "pg_proc", func(r map[string]eval.Value) bool { return r["oid"].(int64) >= firstFuncOID },
			[]string{"oid", "proname", "prokind", "pronargs", "pronargdefaults", "provariadic", "prorettype"},
			[][]eval.Value{
				{int64(firstFuncOID), "abs", "f", int64(1), int64(0), int64(0), int64(2283)},
				{int64(firstFuncOID + 1), "concat", "f", int64(2), int64(0), int64(2276), int64(2283)},
				{int64(firstFuncOID + 2), "count", "a", int64(1), int64(0), int64(0), int64(20)},
				{int64(firstFuncOID + 3), "round", "f", int64(2), int64(1), int64(0), int64(2283)},
			}},
		{"", "pg_type", is("typname", "_int4"), []string{"oid", "typelem", "typcategory", "typinput"},
			[][]eval.Value{{int64(1007), int64(23), "A", int64(750)}}},
		{"", "pg_type", is("typname", "varchar"), []string{"oid", "typarray", "typlen", "typcollation", "typtype"},
			[][]eval.Value{{int64(1043), int64(1015), int64(-1), int64(100), "b"}}},
		{"", "pg_settings", func(r map[string]eval.Value) bool {
			return r["name"] != "block_size" && r["name"] != "data_checksums" &&
				r["name"] != "lc_collate" && r["name"] != "lc_ctype" && r["name"] != "max_function_args" && r["name"] != "max_identifier_length"
		},
			[]string{"name", "setting", "context"},
			[][]eval.Value{{"TimeZone", "UTC", "user"}, {"max_index_keys", "32", "internal"}, {"server_version", "16.0", "internal"}}},
		{"", "pg_cursors", nil, []string{"name", "statement", "is_holdable", "is_scrollable", "creation_time"},
			[][]eval.Value{{"c1", "DECLARE c1 CURSOR WITH HOLD FOR SELECT 1", true, false, time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)}}},
		{"information_schema", "schemata", nil, []string{"catalog_name", "schema_name"},
			[][]eval.Value{{"analytics", "information_schema"}, {"analytics", "pg_catalog"}, {"analytics", "pg_toast"}, {"analytics", "public"}}},
		{"information_schema", "tables", is("table_schema", "public"), []string{"table_name", "table_type"},
			[][]eval.Value{{"clicks", "BASE TABLE"}, {"spend", "VIEW"}, {"spend_out", "FOREIGN"}}},
		{"information_schema", "columns", is("table_name", "clicks"),
			[]string{"column_name", "ordinal_position", "is_nullable", "data_type", "udt_name", "character_maximum_length",
				"numeric_precision", "numeric_scale", "datetime_precision"},
			[][]eval.Value{
				{"user_id", int64(1), "NO", "bigint", "int8", nil, int64(64), int64(0), nil},
				{"url", int64(2), "YES", "character varying", "varchar", int64(2048), nil, nil, nil},
				{"amount", int64(3), "YES", "numeric", "numeric", nil, int64(12), int64(2), nil},
				{"ts", int64(4), "YES", "timestamp without time zone", "timestamp", nil, nil, nil, int64(3)},
			}},
		{"information_schema", "views", nil, []string{"table_name", "view_definition"},
			[][]eval.Value{{"spend", " SELECT user_id, window_start, COUNT(*) AS n FROM clicks GROUP BY 1, 2;"}}},
	}
	for _, tt := range tests {
		t.Run(tt.schema+"."+tt.name+fmt.Sprint(tt.want), func(t *testing.T) {
			got := project(read(t, c, tt.schema, tt.name), tt.match, tt.cols...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// TestCatalog_Shapes checks every relation: rows as wide as the columns,
// no misspelt column in a row builder, values of the columns' types, and
// every column type in pg_type.
func TestCatalog_Shapes(t *testing.T) {
	c := New(fakeSnapshot())
	for _, tbl := range relations {
		if bad := unknownKeys(tbl.cols, tbl.rows(c)); len(bad) > 0 {
			t.Errorf("%s: rows set unknown columns %v", tbl.name, bad)
		}
		for _, col := range tbl.cols {
			if _, ok := typeByOID[col.Type.OID]; !ok {
				t.Errorf("%s.%s: type %d is not in pg_type", tbl.name, col.Name, col.Type.OID)
			}
		}
		rel, _ := c.Relation(tbl.schema, tbl.name)
		for _, r := range rel.Rows() {
			if len(r) != len(rel.Columns) {
				t.Fatalf("%s: row of %d values for %d columns", tbl.name, len(r), len(rel.Columns))
			}
			for i, v := range r {
				if !valueFits(v, rel.Columns[i].Type) {
					t.Errorf("%s.%s: value %#v does not fit type %d", tbl.name, rel.Columns[i].Name, v, rel.Columns[i].Type.OID)
				}
			}
		}
	}
}

func valueFits(v eval.Value, t eval.Type) bool {
	if v == nil {
		return true
	}
	if t.Elem != 0 {
		elems, ok := v.([]eval.Value)
		if !ok {
			return false
		}
		for _, e := range elems {
			if !valueFits(e, eval.Type{OID: t.Elem}) {
				return false
			}
		}
		return true
	}
	switch t.OID {
	case eval.OIDBool:
		_, ok := v.(bool)
		return ok
	case eval.OIDInt2, eval.OIDInt4, eval.OIDInt8, eval.OIDOid, oidXid, eval.OIDRegproc, eval.OIDRegclass, eval.OIDRegtype:
		_, ok := v.(int64)
		return ok
	case eval.OIDFloat4, eval.OIDFloat8:
		_, ok := v.(float64)
		return ok
	case eval.OIDTimestampTZ:
		_, ok := v.(time.Time)
		return ok
	case eval.OIDBytea:
		_, ok := v.([]byte)
		return ok
	}
	_, ok := v.(string)
	return ok
}

func TestCatalog_RelationLookup(t *testing.T) {
	c := New(fakeSnapshot())
	for _, tt := range []struct {
		schema, name string
		ok           bool
	}{
		{"", "pg_class", true}, {"pg_catalog", "pg_class", true}, {"information_schema", "tables", true},
		{"", "tables", false}, {"public", "pg_class", false}, {"pg_catalog", "clicks", false}, {"", "pg_nothing", false},
	} {
		if _, ok := c.Relation(tt.schema, tt.name); ok != tt.ok {
			t.Errorf("Relation(%q, %q): ok %v, want %v", tt.schema, tt.name, ok, tt.ok)
		}
	}
}

// TestCatalog_StableOIDs: an object's OID follows its catalog id, not the
// order or the company it is listed in.
func TestCatalog_StableOIDs(t *testing.T) {
	snap := fakeSnapshot()
	snap.Objects = snap.Objects[1:2] // clicks alone
	got := project(read(t, New(snap), "", "pg_class"), is("relname", "clicks"), "oid")
	if want := [][]eval.Value{{int64(clicksOID)}}; !reflect.DeepEqual(got, want) {
		t.Errorf("clicks alone has oid %v, want %v", got, want)
	}
}

func TestCatalog_Functions(t *testing.T) {
	c := New(fakeSnapshot())
	call := func(name string, args ...eval.Value) eval.Value {
		t.Helper()
		f, ok := c.Function("", name)
		if !ok {
			t.Fatalf("no function %s", name)
		}
		v, err := f(args)
		if err != nil {
			t.Fatalf("%s%v: %v", name, args, err)
		}
		return v
	}
	tests := []struct {
		name string
		args []eval.Value
		want eval.Value
	}{
		{"format_type", []eval.Value{int64(20), nil}, "bigint"},
		{"format_type", []eval.Value{int64(23), int64(-1)}, "integer"},
		{"format_type", []eval.Value{int64(1043), int64(varchar2048)}, "character varying(2048)"},
		{"format_type", []eval.Value{int64(1700), int64(numeric12_2)}, "numeric(12,2)"},
		{"format_type", []eval.Value{int64(1114), int64(timestamp3)}, "timestamp(3) without time zone"},
		{"format_type", []eval.Value{int64(1114), int64(-1)}, "timestamp without time zone"},
		{"format_type", []eval.Value{int64(1009), int64(-1)}, "text[]"},
		{"format_type", []eval.Value{int64(18), int64(-1)}, `"char"`},
		{"format_type", []eval.Value{int64(999999), int64(-1)}, "???"},
		{"format_type", []eval.Value{nil, int64(-1)}, nil},
		{"pg_get_userbyid", []eval.Value{int64(10)}, "alice"},
		{"pg_table_is_visible", []eval.Value{int64(clicksOID)}, true},
		{"pg_table_is_visible", []eval.Value{"16388"}, true},
		{"pg_table_is_visible", []eval.Value{int64(1259)}, true},
		{"pg_get_viewdef", []eval.Value{int64(spendOID), true}, " SELECT user_id, window_start, COUNT(*) AS n FROM clicks GROUP BY 1, 2;"},
		{"pg_get_viewdef", []eval.Value{"spend"}, " SELECT user_id, window_start, COUNT(*) AS n FROM clicks GROUP BY 1, 2;"},
		{"pg_get_viewdef", []eval.Value{int64(clicksOID)}, nil},
		{"pg_get_indexdef", []eval.Value{int64(spendKeyOID), int64(0), true}, "CREATE UNIQUE INDEX spend_pkey ON public.spend USING btree (user_id, window_start)"},
		{"pg_get_indexdef", []eval.Value{int64(spendKeyOID), int64(2), true}, "window_start"},
		{"pg_get_constraintdef", []eval.Value{int64(spendKeyOID), true}, "PRIMARY KEY (user_id, window_start)"},
		{"pg_get_function_arguments", []eval.Value{int64(firstFuncOID + 3)}, `"any", "any" DEFAULT NULL`},
		{"pg_get_function_identity_arguments", []eval.Value{int64(firstFuncOID + 3)}, `"any", "any"`},
		{"pg_get_function_arguments", []eval.Value{int64(firstFuncOID + 1)}, `"any", VARIADIC "any"`},
		{"pg_get_function_result", []eval.Value{int64(firstFuncOID + 2)}, "bigint"},
		{"pg_get_function_result", []eval.Value{int64(firstFuncOID)}, "anyelement"},
		{"pg_encoding_to_char", []eval.Value{int64(6)}, "UTF8"},
		{"pg_size_pretty", []eval.Value{int64(0)}, "0 bytes"},
		{"pg_size_pretty", []eval.Value{int64(10239)}, "10239 bytes"},
		{"pg_size_pretty", []eval.Value{int64(10240)}, "10 kB"},
		{"pg_size_pretty", []eval.Value{int64(123456789)}, "118 MB"},
		{"pg_table_size", []eval.Value{int64(clicksOID)}, int64(0)},
		{"version", nil, "PostgreSQL 16.0 (streamsql test)"},
		{"current_database", nil, "analytics"},
		{"current_schema", nil, "public"},
		{"current_schemas", []eval.Value{true}, []eval.Value{"pg_catalog", "public"}},
		{"current_schemas", []eval.Value{false}, []eval.Value{"public"}},
		{"current_user", nil, "alice"},
		{"session_user", nil, "alice"},
		{"pg_backend_pid", nil, int64(42)},
		{"pg_postmaster_start_time", nil, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"has_table_privilege", []eval.Value{"clicks", "SELECT"}, true},
		{"obj_description", []eval.Value{int64(clicksOID), "pg_class"}, nil},
	}
	for _, tt := range tests {
		if got := call(tt.name, tt.args...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s%v = %#v, want %#v", tt.name, tt.args, got, tt.want)
		}
	}
	// current_setting is the evaluator's, reading the catalog's settings.
	for _, tt := range []struct {
		query string
		want  eval.Value
	}{
		{"SELECT current_setting('timezone')", "UTC"},
		{"SELECT current_setting('nope', true)", nil},
	} {
		q, err := eval.Prepare(tt.query, c)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		rows, err := q.Run(context.Background(), c, nil)
		if err != nil || len(rows) != 1 || !reflect.DeepEqual(rows[0][0], tt.want) {
			t.Errorf("%s = %v, %v; want %#v", tt.query, rows, err, tt.want)
		}
	}
	if q, err := eval.Prepare("SELECT current_setting('nope')", c); err != nil {
		t.Fatal(err)
	} else if _, err := q.Run(context.Background(), c, nil); err == nil {
		t.Error("current_setting of an unknown name did not fail")
	}
	if _, ok := c.Function("information_schema", "version"); ok {
		t.Error("version found in information_schema")
	}
}

// TestCatalog_SetFunctions runs the set functions catalog queries use,
// through the evaluator over the catalog: _pg_expandarray and
// pg_options_to_table are the evaluator's, pg_get_keywords the catalog's.
func TestCatalog_SetFunctions(t *testing.T) {
	c := New(fakeSnapshot())
	tests := []struct {
		query string
		cols  []string
		want  [][]eval.Value
	}{
		{"SELECT * FROM information_schema._pg_expandarray(ARRAY[3, 1])", []string{"x", "n"},
			[][]eval.Value{{int64(3), int64(1)}, {int64(1), int64(2)}}},
		{"SELECT * FROM pg_options_to_table(ARRAY['stream=spend', 'region=us-east-1'])", []string{"option_name", "option_value"},
			[][]eval.Value{{"stream", "spend"}, {"region", "us-east-1"}}},
	}
	for _, tt := range tests {
		q, err := eval.Prepare(tt.query, c)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		rows, err := q.Run(context.Background(), c, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		var names []string
		for _, col := range q.Columns() {
			names = append(names, col.Name)
		}
		if !reflect.DeepEqual(names, tt.cols) || !reflect.DeepEqual(rows, tt.want) {
			t.Errorf("%s: got %v %v, want %v %v", tt.query, names, rows, tt.cols, tt.want)
		}
	}
	if _, ok := c.SetFunction("", "pg_get_keywords"); !ok {
		t.Error("no pg_get_keywords")
	}
}

func TestCatalog_SetConfig(t *testing.T) {
	snap := fakeSnapshot()
	var gotName, gotValue string
	snap.SetSetting = func(name, value string) (string, error) {
		gotName, gotValue = name, value
		return "Europe/Paris", nil
	}
	c := New(snap)
	f, _ := c.Function("pg_catalog", "set_config")
	v, err := f([]eval.Value{"TimeZone", "europe/paris", false})
	if err != nil || v != "Europe/Paris" || gotName != "TimeZone" || gotValue != "europe/paris" {
		t.Fatalf("set_config = %v, %v (set %q=%q)", v, err, gotName, gotValue)
	}
	if s, _ := c.Setting("timezone"); s != "Europe/Paris" {
		t.Errorf("after set_config, current setting %q", s)
	}
}
