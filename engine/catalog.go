package engine

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// object is one catalog object as the engine holds it in memory: the stored
// entry plus what was derived from its definition when it was created or
// reloaded.
type object struct {
	entry     state.CatalogEntry
	kind      sql.ObjectKind
	columns   []types.Column // nil for sinks
	watermark string         // the source's watermark column, if any
	connector string
	// shown is the definition as SHOW CREATE prints it: credentials masked.
	shown string
	// The parsed definitions the runtime reads its options from.
	createSource *sql.CreateSource
	createSink   *sql.CreateSink
	// A view's bound query and its physical plan (view.go), and its
	// query's text as written (pg_get_viewdef).
	viewQuery string
	query     *planner.Query
	stream    *planner.StreamPlan
	streamErr error // why the view (or sink over a query) cannot run
	// A sink over a query: the columns it sends and what its pipeline and
	// sender share (sinkview.go).
	sinkColumns []types.Column
	sinkShared  *sinkShared
	// A table's definition and its primary key columns (table.go).
	createTable *sql.CreateTable
	tableKey    []int
}

// catalog is the in-memory view of the catalog, written through to state.
// DDL holds mu for its whole check-then-write, so two sessions cannot both
// create the same name. Readers take no lock: each DDL publishes a new
// catalogSnapshot, and a statement plans against the one it loaded, so a
// one-off query never waits for DDL, nor DDL for a query, however long
// either takes.
type catalog struct {
	mu  sync.Mutex // serialises DDL
	db  *state.DB
	cur atomic.Pointer[catalogSnapshot]
}

// catalogSnapshot is the catalog at one moment. Neither the map nor the
// objects' definitions change once it is published.
type catalogSnapshot struct {
	objects map[string]*object // by name; one namespace for every kind, as Postgres relations
}

// snapshot returns the catalog as it is now.
func (c *catalog) snapshot() *catalogSnapshot {
	if s := c.cur.Load(); s != nil {
		return s
	}
	return &catalogSnapshot{}
}

// publish makes objects the catalog; the caller holds mu.
func (c *catalog) publish(objects map[string]*object) {
	c.cur.Store(&catalogSnapshot{objects: objects})
}

// load rebuilds the catalog from state by running every stored definition
// through the same code that created it, in creation order.
func (c *catalog) load(ctx context.Context) error {
	entries, err := c.db.LoadCatalog()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Each definition is built against the objects before it; nobody
	// sees the map until it is published whole.
	snap := &catalogSnapshot{objects: make(map[string]*object, len(entries))}
	for _, e := range entries {
		stmts, err := sql.Parse(e.Definition)
		if err != nil {
			return fmt.Errorf("catalog: reparse %s %s: %w", e.Kind, e.Name, err)
		}
		if len(stmts) != 1 {
			return fmt.Errorf("catalog: %s %s: definition holds %d statements", e.Kind, e.Name, len(stmts))
		}
		obj, err := snap.build(ctx, stmts[0])
		if err != nil {
			return fmt.Errorf("catalog: rebuild %s %s: %w", e.Kind, e.Name, err)
		}
		obj.entry = e
		snap.objects[e.Name] = obj
	}
	c.publish(snap.objects)
	return nil
}

// build derives an object from its CREATE statement, checking it against
// the objects of c. It does not store it.
func (c *catalogSnapshot) build(ctx context.Context, st sql.Statement) (*object, error) {
	switch s := st.(type) {
	case *sql.CreateSource:
		o := &object{kind: sql.KindSource, shown: s.RedactedText(), createSource: s,
			entry: state.CatalogEntry{Kind: "source", Name: s.Name, Definition: s.Text}}
		for _, col := range s.Columns {
			o.columns = append(o.columns, types.Column{Name: col.Name, Type: col.Type})
		}
		if s.Watermark != nil {
			o.watermark = s.Watermark.Column
		}
		o.connector, _ = s.Options.Get("connector")
		if isGenerator(o.connector) {
			// Checks the options against the columns, which the sql
			// package's option table cannot do.
			if _, err := newGenerator(s, o.physical(), 0, time.Time{}, nil); err != nil {
				return nil, err
			}
		}
		return o, nil
	case *sql.CreateTable:
		return buildTable(s), nil
	case *sql.CreateView:
		q, err := planner.Plan(ctx, c, s.Query, planner.Options{EmitOnWindowClose: s.EmitOnWindowClose, Session: planner.SessionInfo{Version: Version()}})
		if err != nil {
			return nil, err
		}
		if len(q.ParamTypes()) > 0 {
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "a materialized view cannot have parameters")
		}
		// A view this build cannot run is refused at CREATE; one stored by
		// an earlier build is kept (and reported) rather than failing Open.
		sp, streamErr := planner.PlanStream(q, c.viewQuery)
		return &object{
			kind:      sql.KindView,
			query:     q,
			stream:    sp,
			streamErr: streamErr,
			shown:     s.Text,
			viewQuery: viewQueryText(s),
			columns:   q.Columns(),
			watermark: q.WatermarkColumn(), // the upstream's watermark flows to views over it (changelog.go)
			entry: state.CatalogEntry{Kind: "materialized view", Name: s.Name, Definition: s.Text,
				DependsOn: q.Dependencies()},
		}, nil
	case *sql.CreateSink:
		o := &object{kind: sql.KindSink, shown: s.RedactedText(), createSink: s,
			entry: state.CatalogEntry{Kind: "sink", Name: s.Name, Definition: s.Text}}
		o.connector, _ = s.Options.Get("connector")
		if s.Query != nil {
			q, err := planner.Plan(ctx, c, s.Query, planner.Options{EmitOnWindowClose: s.EmitOnWindowClose, Session: planner.SessionInfo{Version: Version()}})
			if err != nil {
				return nil, err
			}
			if len(q.ParamTypes()) > 0 {
				return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "a sink cannot have parameters")
			}
			o.entry.DependsOn = q.Dependencies()
			c.planSink(o, q, 0)
			return o, nil
		}
		from, ok := c.objects[s.From]
		if !ok {
			return nil, sqlerr.Newf(sqlerr.UndefinedTable, "source or materialized view %q does not exist", s.From).At(s.FromPos)
		}
		if isPulled(from.connector) {
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "sinks from a %s source are not supported yet", from.connector).At(s.FromPos)
		}
		if from.kind == sql.KindSink {
			return nil, sqlerr.Newf(sqlerr.WrongObjectType, "%q is a sink: a sink reads from a source or a materialized view", s.From).At(s.FromPos)
		}
		if from.kind == sql.KindTable {
			return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "a sink FROM a table is not supported: a table's rows change").At(s.FromPos).
				WithHint("Write CREATE SINK %s AS SELECT * FROM %s WITH (..., mode = 'upsert').", s.Name, s.From)
		}
		o.entry.DependsOn = []string{s.From}
		if from.kind != sql.KindView {
			if err := upsertOpClash(o, from.columns); err != nil {
				return nil, err
			}
			if err := sinkKeyColumns(o, from.columns); err != nil {
				return nil, err
			}
		}
		if from.kind == sql.KindView {
			if from.query == nil {
				return nil, sqlerr.Newf(sqlerr.ObjectNotInPrerequisiteState, "materialized view %q cannot run", s.From).At(s.FromPos)
			}
			c.planSink(o, from.query, s.FromPos)
		}
		return o, nil
	}
	return nil, fmt.Errorf("catalog: %T is not a CREATE statement", st)
}

// planSink plans a sink over query q like a view owned by the sink, and
// refuses (in o.streamErr, as for views) input that is not append-only.
// pos is where the sink names its input, 0 for its own query.
func (c *catalogSnapshot) planSink(o *object, q *planner.Query, pos int) {
	sp, err := planner.PlanStream(q, c.viewQuery)
	upsert := isUpsert(o)
	if err == nil && !upsert && !sp.AppendOnly() {
		e := sqlerr.Newf(sqlerr.FeatureNotSupported,
			"sink %s: its input updates or deletes rows it emitted, and a Kinesis sink is append-only", o.entry.Name).
			WithHint("Use EMIT ON WINDOW CLOSE, or mode = 'upsert' to send every change with an \"op\" field.")
		if pos > 0 {
			e = e.At(pos)
		}
		err = e
	}
	if err == nil {
		err = upsertOpClash(o, q.Columns())
	}
	if err == nil {
		err = sinkKeyColumns(o, q.Columns())
	}
	if err != nil {
		o.streamErr = err
		return
	}
	o.stream, o.sinkColumns = sp, q.Columns()
}

// check reports whether create would refuse st for what the catalog
// knows now (a duplicate name, a bad definition), without storing
// anything; skip is true when the object exists and IF NOT EXISTS makes
// create a no-op. Checks that wait on the network run between check and
// create, holding no lock.
func (c *catalog) check(ctx context.Context, st sql.Statement, name string, namePos int, ifNotExists bool) (skip bool, err error) {
	obj, err := c.snapshot().define(ctx, st, name, namePos, ifNotExists)
	return err == nil && obj == nil, err
}

// define builds the object st defines against the snapshot: nil when it
// exists and ifNotExists, an error when it exists otherwise or does not
// plan.
func (s *catalogSnapshot) define(ctx context.Context, st sql.Statement, name string, namePos int, ifNotExists bool) (*object, error) {
	if old, ok := s.objects[name]; ok {
		if ifNotExists {
			return nil, nil
		}
		return nil, sqlerr.Newf(sqlerr.DuplicateTable, "%s %q already exists", old.kind.String(), name).At(namePos)
	}
	if strings.HasPrefix(name, "pg_") {
		// A query naming a pg_ relation reads the Postgres catalog (see
		// docs/sql.md): an object of ours by that name could not be read.
		return nil, sqlerr.Newf(sqlerr.ReservedName, "name %q is reserved", name).At(namePos).
			WithDetail("The prefix \"pg_\" is reserved for the Postgres catalog.")
	}
	obj, err := s.build(ctx, st)
	if err != nil {
		return nil, err
	}
	return obj, obj.streamErr
}

// create adds the object a CREATE statement defines and returns it; it
// returns nil when the object existed and IF NOT EXISTS was given.
func (c *catalog) create(ctx context.Context, st sql.Statement, name string, namePos int, ifNotExists bool) (*object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapshot()
	obj, err := snap.define(ctx, st, name, namePos, ifNotExists)
	if obj == nil || err != nil {
		return nil, err
	}
	obj.entry.CreatedAt = time.Now().UTC()
	if at, ok := ctx.Value(createdAtKey{}).(time.Time); ok {
		obj.entry.CreatedAt = at // another cluster node's DDL: its moment (parts_ddl.go)
	}
	obj.entry, err = c.db.CreateCatalogEntry(obj.entry)
	if err != nil {
		return nil, err
	}
	objects := maps.Clone(snap.objects)
	if objects == nil {
		objects = map[string]*object{}
	}
	objects[name] = obj
	c.publish(objects)
	return obj, nil
}

// drop removes an object and, with cascade, everything that depends on it,
// in one state transaction. stop is called with each dropped object first,
// so that what runs for it ends before its definition goes.
func (c *catalog) drop(d *sql.Drop, stop func(*object)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapshot()
	obj, ok := snap.objects[d.Name]
	if !ok {
		if d.IfExists {
			return nil
		}
		return sqlerr.Newf(sqlerr.UndefinedTable, "%s %q does not exist", d.Kind.String(), d.Name).At(d.NamePos)
	}
	if obj.kind != d.Kind {
		return sqlerr.Newf(sqlerr.WrongObjectType, "%q is a %s, not a %s", d.Name, obj.kind.String(), d.Kind.String()).
			At(d.NamePos).WithHint("Use DROP %s.", strings.ToUpper(obj.kind.String()))
	}
	victims := snap.dependantsOf(d.Name)
	if len(victims) > 0 && !d.Cascade {
		var lines []string
		for _, v := range victims {
			lines = append(lines, fmt.Sprintf("%s %s depends on %s %s", v.kind.String(), v.entry.Name, obj.kind.String(), d.Name))
		}
		return sqlerr.Newf(sqlerr.DependentObjectsStillExist,
			"cannot drop %s %s because other objects depend on it: %s", obj.kind.String(), d.Name, names(victims)).
			At(d.NamePos).
			WithDetail("%s", strings.Join(lines, "\n")).
			WithHint("Use DROP %s %s CASCADE to drop the dependent objects too.", strings.ToUpper(obj.kind.String()), d.Name)
	}
	victims = append(victims, obj)
	ids := make([]uint64, len(victims))
	for i, v := range victims {
		stop(v)
		ids[i] = v.entry.ID
	}
	if err := c.db.DeleteCatalogEntries(ids...); err != nil {
		return err
	}
	objects := maps.Clone(snap.objects)
	for _, v := range victims {
		delete(objects, v.entry.Name)
	}
	c.publish(objects)
	return nil
}

// dependantsOf returns every object that depends on name, directly or
// through others, newest first (the order in which they can be dropped).
func (c *catalogSnapshot) dependantsOf(name string) []*object {
	seen := map[string]bool{name: true}
	var out []*object
	for changed := true; changed; {
		changed = false
		for _, o := range c.objects {
			if seen[o.entry.Name] {
				continue
			}
			for _, dep := range o.entry.DependsOn {
				if seen[dep] {
					seen[o.entry.Name] = true
					out = append(out, o)
					changed = true
					break
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].entry.ID > out[j].entry.ID })
	return out
}

func names(objs []*object) string {
	ns := make([]string, len(objs))
	for i, o := range objs {
		ns[i] = o.entry.Name
	}
	sort.Strings(ns)
	return strings.Join(ns, ", ")
}

// list returns the objects of one kind, ordered by name.
func (c *catalog) list(kind sql.ObjectKind) []*object { return c.snapshot().list(kind) }

func (c *catalogSnapshot) list(kind sql.ObjectKind) []*object {
	var out []*object
	for _, o := range c.objects {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].entry.Name < out[j].entry.Name })
	return out
}

// get returns the object called name.
func (c *catalog) get(name string) (*object, bool) {
	o, ok := c.snapshot().objects[name]
	return o, ok
}

// Relation is what the planner sees of the catalog (planner.Catalog).
func (c *catalogSnapshot) Relation(name string) (*planner.Relation, bool) {
	o, ok := c.objects[name]
	if !ok || o.kind == sql.KindSink {
		return nil, false
	}
	rel := &planner.Relation{Name: name, Kind: o.kind.String(), Columns: o.columns, WatermarkColumn: o.watermark}
	if p := o.procCol(); p >= 0 {
		rel.ProcTimeColumn = o.columns[p].Name
	}
	return rel, true
}
