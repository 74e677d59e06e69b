// Package pgcatalog owns the Postgres catalog streamsql shows to clients:
// the relations of pg_catalog and information_schema, and the catalog
// functions (format_type, pg_get_viewdef, set_config, ...), that psql's
// \d family, JDBC's DatabaseMetaData and GUI tools read. It builds them from
// a Snapshot of our own catalog and session, as an eval.Catalog, and
// package pgcatalog/eval runs the clients' Postgres-dialect queries over
// it.
//
// How our objects appear (relkind in pg_class):
//   - a source is a table ('r'): an append-only table over a stream, so
//     \dt and JDBC's getTables("TABLE") list it;
//   - a materialized view is a materialized view ('m'): pg_get_viewdef
//     gives its query, and its group key is its primary key (an index
//     <name>_pkey in pg_index and a constraint in pg_constraint), so
//     getPrimaryKeys answers;
//   - a sink is a foreign table ('f') on a foreign server named after its
//     connector; pg_foreign_table.ftoptions holds its WITH options.
//
// OIDs: catalog relations, types and namespaces have Postgres's own OIDs;
// an object's relation is 16384 + 4 × its catalog id (stable across
// restarts, never reused while the object exists), its primary key index
// and constraint that plus 1; functions are numbered from 8000 by name.
package pgcatalog

import (
	"sort"
	"strings"
	"time"

	"github.com/streamsql/streamsql/pgcatalog/eval"
	"github.com/streamsql/streamsql/sql/types"
)

// Kind is the kind of one of our objects.
type Kind int

const (
	Source Kind = iota
	View
	Sink
	// Table is a table (CREATE TABLE): relkind 'r', its primary key an
	// index as a view's.
	Table
)

// Object is a source, materialized view or sink as the catalog shows it.
type Object struct {
	ID      uint64 // the catalog id: stable across restarts
	Kind    Kind
	Name    string
	Columns []Column
	// Query is a materialized view's defining query (pg_get_viewdef).
	Query string
	// Key lists a view's primary key columns (its group key), or a
	// table's, 0-based.
	Key       []int
	Connector string
	// Options are the object's WITH options (secrets masked), shown as a
	// sink's foreign table options and a source's reloptions.
	Options [][2]string
}

// Column is a column of an object.
type Column struct {
	Name    string
	Type    types.Type
	NotNull bool
}

// Function is one of our SQL functions, for pg_proc.
type Function struct {
	Name             string
	MinArgs, MaxArgs int // MaxArgs < 0: variadic
	Aggregate        bool
}

// Setting is a session setting, for pg_settings.
type Setting struct {
	Name, Value string
	ReadOnly    bool
}

// Snapshot is what the catalog is built from: our objects and functions at
// one moment, and the facts of the session reading them.
type Snapshot struct {
	Objects   []Object
	Functions []Function
	User      string
	Database  string
	Settings  []Setting
	// SetSetting changes a session setting (set_config) and returns its
	// new value; nil makes set_config fail.
	SetSetting func(name, value string) (string, error)
	Version    string // version()'s text
	BackendPID int
	StartTime  time.Time
	// Cursors are the session's open cursors (pg_cursors).
	Cursors []Cursor
}

// Cursor is an open cursor of the session, for pg_cursors.
type Cursor struct {
	Name, Statement string
	Holdable        bool
	Created         time.Time
}

// presetSettings are Postgres's read-only facts of a build that drivers
// read (pgjdbc's getImportedKeys reads max_index_keys), as a default
// Postgres build has them.
var presetSettings = []Setting{
	{Name: "block_size", Value: "8192", ReadOnly: true},
	{Name: "data_checksums", Value: "off", ReadOnly: true},
	{Name: "lc_collate", Value: "C.UTF-8", ReadOnly: true},
	{Name: "lc_ctype", Value: "C.UTF-8", ReadOnly: true},
	{Name: "max_function_args", Value: "100", ReadOnly: true},
	{Name: "max_identifier_length", Value: "63", ReadOnly: true},
	{Name: "max_index_keys", Value: "32", ReadOnly: true},
}

// Well-known OIDs, Postgres's own.
const (
	oidPgCatalog     uint32 = 11
	oidPgToast       uint32 = 99
	oidPublic        uint32 = 2200
	oidInfoSchema    uint32 = 13182
	oidSuperuser     uint32 = 10
	oidDatabase      uint32 = 16383 // our one database
	oidHeapAM        uint32 = 2
	oidBtreeAM       uint32 = 403
	oidTablespace    uint32 = 1663 // pg_default
	oidTemplate1     uint32 = 1
	firstObjectOID   uint32 = 16384
	firstFunctionOID uint32 = 8000
)

func relOID(o *Object) uint32   { return firstObjectOID + 4*uint32(o.ID) }
func indexOID(o *Object) uint32 { return relOID(o) + 1 }

// Catalog is an eval.Catalog over one Snapshot.
type Catalog struct {
	snap Snapshot
	// Indexes built once per snapshot.
	byOID    map[uint32]*Object
	funcs    []procRow
	settings map[string]string
}

var _ eval.Catalog = (*Catalog)(nil)

// New builds a catalog over snap. Objects are listed in pg_class in name
// order.
func New(snap Snapshot) *Catalog {
	// The slices are the caller's: sort and extend copies.
	snap.Objects = append([]Object(nil), snap.Objects...)
	snap.Settings = append([]Setting(nil), snap.Settings...)
	c := &Catalog{snap: snap, byOID: map[uint32]*Object{}, settings: map[string]string{}}
	sort.Slice(c.snap.Objects, func(i, j int) bool { return c.snap.Objects[i].Name < c.snap.Objects[j].Name })
	for i := range c.snap.Objects {
		o := &c.snap.Objects[i]
		c.byOID[relOID(o)] = o
	}
	for _, s := range snap.Settings {
		c.settings[strings.ToLower(s.Name)] = s.Value
	}
	for _, s := range presetSettings {
		if _, ok := c.settings[s.Name]; !ok {
			c.settings[s.Name] = s.Value
			c.snap.Settings = append(c.snap.Settings, s)
		}
	}
	c.funcs = procRows(snap.Functions)
	return c
}

// Relation implements eval.Catalog. An unqualified name is looked up in
// pg_catalog (search_path: pg_catalog first; our own objects are not
// relations of this path).
func (c *Catalog) Relation(schema, name string) (*eval.Relation, bool) {
	if schema == "" {
		schema = "pg_catalog"
	}
	t, ok := relationsByName[schema+"."+name]
	if !ok {
		return nil, false
	}
	return &eval.Relation{Schema: t.schema, Name: t.name, Columns: t.cols, Rows: func() [][]eval.Value {
		return fill(t.cols, t.rows(c), t.schema == "information_schema")
	}}, true
}

// Setting implements eval.Catalog.
func (c *Catalog) Setting(name string) (string, bool) {
	v, ok := c.settings[strings.ToLower(name)]
	return v, ok
}

// object returns the object whose relation (or primary key index) has oid.
func (c *Catalog) object(oid uint32) (*Object, bool) {
	o, ok := c.byOID[oid]
	return o, ok
}

// relkind is how an object kind appears in pg_class.
func relkind(k Kind) string {
	switch k {
	case View:
		return "m"
	case Sink:
		return "f"
	}
	return "r"
}
