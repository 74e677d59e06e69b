package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// Physical planning of continuous queries: a logical plan becomes a DAG of
// exec operators in an exec.Graph, fed with the decoded rows of the one
// source the query reads and ending in a Materialize that keeps the view's
// table. A Scan of anything but a source (a materialized view, a table)
// is an input of its own, fed with that object's committed changelog
// (ChangelogScan in EXPLAIN, see the engine's changelog.go): a view over a
// view shares the upstream's work instead of computing the whole chain
// again, so a chain of N views keeps N views' state, not N².

// MaterializeTable is the operator id of a view's table: what SELECT from
// the view reads. Other stateful operators get ids from 1 in plan order.
const MaterializeTable uint32 = 0

// StreamPlan is a continuous query checked for what the engine can run.
type StreamPlan struct {
	// Inputs are the sources and the changelogs (of views, tables) the
	// query reads, each once however often it is scanned, in the order
	// Build wants their input nodes.
	Inputs []StreamInput
	// Key lists the view's primary key columns (the group key); nil means
	// the whole row, with duplicates counted.
	Key []int

	q     *Query
	views func(name string) (*Query, bool)
	// explain holds, for EXPLAIN, every node of the dry run's graph.
	explain    map[exec.NodeID]explainNode
	root       exec.NodeID
	inputNodes []exec.NodeID
	scans      map[string]int // how often each source is scanned
}

// StreamInput is one source a stream plan reads.
type StreamInput struct {
	Source *Relation
	// Needed marks the source columns the plan reads (see
	// PruneScanColumns; the union over its scans), nil for all: the
	// decoder may leave the others NULL. Rows keep every column.
	Needed []bool
	// Filter, when not nil, is a WHERE pushed into the source: the input
	// drops the rows it does not pass (after they have moved the
	// watermark) instead of a Filter operator. FilterText is for EXPLAIN.
	Filter     func(types.Row, *expr.Env) (bool, error)
	FilterText string
	// ProcTime is set when the plan's windows over this source are over
	// its PROCTIME() column: the input's watermark is then the clock, not
	// the source's WATERMARK (see procTimeWindow).
	ProcTime bool
}

// Changelog reports whether the input reads another object's committed
// changelog (a materialized view's, a table's) rather than a source.
func (in *StreamInput) Changelog() bool { return in.Source.Kind != "source" }

// Keep reports whether row passes the input's pushed WHERE (always, with
// none): whoever feeds the input applies it.
func (in *StreamInput) Keep(row types.Row, env *expr.Env) (bool, error) {
	if in.Filter == nil {
		return true, nil
	}
	return in.Filter(row, env)
}

// explainNode is one line of EXPLAIN and the nodes it reads.
type explainNode struct {
	line   string
	inputs []exec.NodeID
}

// PlanStream checks that q can run continuously as a materialized view and
// returns its physical plan. views resolves the views it reads. Refusals
// say what to write instead.
func PlanStream(q *Query, views func(name string) (*Query, bool)) (*StreamPlan, error) {
	if !q.streaming {
		return nil, sqlerr.Newf(sqlerr.InvalidObjectDefinition, "a materialized view must read a source or a materialized view").
			WithHint("Add FROM <source>; a constant SELECT needs no view.")
	}
	if len(q.subs) > 0 {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "subqueries are not supported in materialized views").
			WithHint("Run the subquery on its own, or join with a view of its result.")
	}
	if err := checkDeterministic(q.root); err != nil {
		return nil, err
	}
	// The views read are resolved now, once: Build runs later, on the
	// view's own goroutine, and must not look at the catalog.
	resolved := map[string]*Query{}
	record := func(name string) (*Query, bool) {
		vq, ok := views(name)
		if ok {
			resolved[name] = vq
		}
		return vq, ok
	}
	p := &StreamPlan{q: q, Key: viewKey(q.root), views: func(name string) (*Query, bool) {
		vq, ok := resolved[name]
		return vq, ok
	}}
	// A dry run into a scratch graph checks every operator's options and
	// finds the inputs.
	g := exec.NewGraph(exec.GraphOptions{})
	b := &streamBuilder{g: g, table: func(uint32) exec.StateTable { return nil }, views: record,
		explain: map[exec.NodeID]explainNode{}, scans: map[string]int{}}
	countSourceScans(q.root, b.scans)
	root, err := b.node(q.root, q.opts.EmitOnWindowClose, true)
	if err != nil {
		return nil, err
	}
	p.Inputs, p.inputNodes, p.explain, p.root, p.scans = b.inputs, b.inputNodes, b.explain, root, b.scans
	if len(p.Inputs) == 0 {
		return nil, sqlerr.Newf(sqlerr.FeatureNotSupported, "this materialized view reads no source")
	}
	return p, nil
}

// BuildOptions tune the operators Build adds.
type BuildOptions struct {
	// Errs absorbs the pipeline's expression errors (NULL and count, see
	// exec.ExprErrors); nil fails the pipeline on the first one.
	Errs *exec.ExprErrors
	// AggCacheGroups bounds the groups each aggregate keeps in memory
	// (0: CacheBudget bounds them, or exec's default without one); the
	// others live in its state table.
	AggCacheGroups int
	// CacheBudget, when set, is the byte budget the joins' and the
	// aggregates' caches share with every other view's.
	CacheBudget *exec.CacheBudget
	// Part, when Count > 1, builds part Index of Count of a partitionable
	// plan (see Partitionable): only the groups of that part's key groups
	// are kept. Count 0 or 1 builds the whole view.
	Part struct{ Index, Count int }
}

// Build adds the plan's operators to g, reading the decoded rows of
// p.Inputs[i] from inputs[i], and returns the Materialize node. table
// gives each stateful operator its state table by operator id.
func (p *StreamPlan) Build(g *exec.Graph, inputs []exec.NodeID, table func(op uint32) exec.StateTable, opts BuildOptions) (exec.NodeID, error) {
	if len(inputs) != len(p.Inputs) {
		return 0, fmt.Errorf("stream plan: %d inputs for %d sources", len(inputs), len(p.Inputs))
	}
	part := exec.Part(opts.Part)
	if part.Count > 1 {
		if err := part.Valid(); err != nil {
			return 0, fmt.Errorf("stream plan: %w", err)
		}
		if ok, why := Partitionable(p); !ok {
			return 0, fmt.Errorf("stream plan: not partitionable: %s", why)
		}
	}
	b := &streamBuilder{g: g, table: table, views: p.views, errs: opts.Errs, cacheGroups: opts.AggCacheGroups,
		cacheBudget: opts.CacheBudget, given: inputs, scans: p.scans, part: part}
	// Every operator shares b.env: their expressions' warnings count with
	// the view's expression errors.
	b.env.Warn = opts.Errs.Warner("warning")
	return b.node(p.q.root, p.q.opts.EmitOnWindowClose, true)
}

type streamBuilder struct {
	g     *exec.Graph
	table func(op uint32) exec.StateTable
	views func(name string) (*Query, bool)
	errs  *exec.ExprErrors
	// cacheGroups and cacheBudget are BuildOptions'.
	cacheGroups int
	cacheBudget *exec.CacheBudget
	nextOp      uint32
	// part is BuildOptions.Part; partDone is set once its filter is in.
	part     exec.Part
	partDone bool

	// timeKind is, per source windowed, whether its windows are over
	// processing time (procTimeWindow).
	timeKind map[string]bool

	// inputs are the sources met so far, inputNodes their nodes: given
	// ones when building for real, scratch ones in the dry run.
	inputs     []StreamInput
	inputNodes []exec.NodeID
	given      []exec.NodeID
	env        expr.Env
	// scans counts the scans of each source: a WHERE is pushed into a
	// source scanned once only (the input is shared by its scans).
	scans map[string]int
	// explain describes every node added (the dry run's, nil otherwise).
	explain map[exec.NodeID]explainNode
	// noRank marks the top-N filters whose rank nothing above reads.
	noRank map[*Filter]bool
}

// input returns the node of the source rel, adding it the first time, and
// adds needed to the columns read of it.
func (b *streamBuilder) input(rel *Relation, needed []bool) exec.NodeID {
	for i, in := range b.inputs {
		if in.Source.Name != rel.Name {
			continue
		}
		if in.Needed != nil {
			if needed == nil {
				b.inputs[i].Needed = nil
			} else {
				for j := range needed {
					b.inputs[i].Needed[j] = in.Needed[j] || needed[j]
				}
			}
		}
		return b.inputNodes[i]
	}
	var id exec.NodeID
	if b.given != nil {
		id = b.given[len(b.inputs)]
	} else {
		id, _ = b.g.Input("source " + rel.Name)
	}
	b.inputs = append(b.inputs, StreamInput{Source: rel, Needed: slices.Clone(needed), ProcTime: b.timeKind[rel.Name]})
	b.inputNodes = append(b.inputNodes, id)
	return id
}

// add adds an operator reading ins to the graph and to EXPLAIN.
func (b *streamBuilder) add(name, detail string, op exec.Operator, ins ...exec.NodeID) exec.NodeID {
	if detail != "" {
		name += " " + detail
	}
	id := b.g.Add(name, op, ins...)
	if b.explain != nil {
		b.explain[id] = explainNode{line: name, inputs: ins}
	}
	return id
}

// Explain renders the operator DAG from the view's table down to its
// sources, each operator over the ones it reads, one level deeper.
func (p *StreamPlan) Explain() []string {
	sources := map[exec.NodeID]string{}
	var out []string
	var walk func(id exec.NodeID, depth int)
	walk = func(id exec.NodeID, depth int) {
		n, ok := p.explain[id]
		if !ok {
			out = append(out, strings.Repeat("  ", depth)+sources[id])
			return
		}
		out = append(out, strings.Repeat("  ", depth)+n.line)
		for _, in := range n.inputs {
			walk(in, depth+1)
		}
	}
	for i := range p.Inputs {
		sources[p.inputNodes[i]] = p.InputLine(i)
	}
	walk(p.root, 0)
	return out
}

// InputLine is EXPLAIN's line for p.Inputs[i]; the other lines are the
// names of the nodes Build adds (EXPLAIN ANALYZE prints both).
func (p *StreamPlan) InputLine(i int) string {
	in := p.Inputs[i]
	if in.Changelog() {
		line := "ChangelogScan " + in.Source.Name
		if in.Source.WatermarkColumn != "" {
			line += " watermark=" + in.Source.WatermarkColumn
		}
		return line
	}
	line := "Source " + in.Source.Name
	if in.Needed != nil {
		line += " columns=" + (&Scan{Relation: in.Source, Needed: in.Needed}).neededNames()
	}
	if in.ProcTime {
		line += " watermark=" + in.Source.ProcTimeColumn + " (processing time)"
	} else if in.Source.WatermarkColumn != "" {
		line += " watermark=" + in.Source.WatermarkColumn
	}
	if in.FilterText != "" {
		line += " filter=" + in.FilterText
	}
	return line
}

func (b *streamBuilder) stateful(name, detail string, op exec.Operator, ins ...exec.NodeID) exec.NodeID {
	b.nextOp++
	id := b.add(name, detail+fmt.Sprintf(" state=%d", b.nextOp), op, ins...)
	b.g.SetState(id, b.table(b.nextOp))
	return id
}

// node plans n; top is set for the root of the view, which gets the
// Materialize.
func (b *streamBuilder) node(n Node, eowc, top bool) (exec.NodeID, error) {
	id, err := b.op(n, eowc)
	if err != nil || !top {
		return id, err
	}
	key := viewKey(n)
	detail := "key=(whole row, counted)"
	// A view whose rows are only ever inserted is stored as a log whether
	// or not it has a key (a windowed aggregate emitting on window close
	// writes each group's row once): a block of rows per write, instead of
	// a write per row.
	logged := appendOnly(n, eowc, b.views)
	switch {
	case logged:
		detail = "key=(append-only log)"
		key = nil
	case key != nil:
		names := make([]string, len(key))
		for i, k := range key {
			names[i] = n.Columns()[k].Name
		}
		detail = "key=(" + strings.Join(names, ", ") + ")"
	}
	m := b.add("Materialize", detail+fmt.Sprintf(" state=%d", MaterializeTable), exec.NewMaterialize(exec.MaterializeOptions{Key: key, AppendOnly: logged}), id)
	b.g.SetState(m, b.table(MaterializeTable))
	return m, nil
}

func (b *streamBuilder) op(n Node, eowc bool) (exec.NodeID, error) {
	switch n := n.(type) {
	case *Scan:
		if n.Relation.Kind == "source" {
			return b.input(n.Relation, n.Needed), nil
		}
		// Another object's committed changelog: every column, as stored.
		return b.input(n.Relation, nil), nil
	case *Filter:
		if m, ok := matchTopN(n); ok {
			return b.topN(n, m, eowc)
		}
		pred, err := expr.CompilePredicate(n.Cond)
		if err != nil {
			return 0, err
		}
		if scan, ok := n.Input.(*Scan); ok && scan.Relation.Kind == "source" && b.scans[scan.Relation.Name] == 1 {
			// Predicate pushdown: the source's input drops the rows.
			id := b.input(scan.Relation, scan.Needed)
			i := slices.Index(b.inputNodes, id)
			b.inputs[i].Filter, b.inputs[i].FilterText = pred, n.Cond.String()
			return id, nil
		}
		in, err := b.op(n.Input, eowc)
		if err != nil {
			return 0, err
		}
		f := exec.NewFilter(pred, &b.env, b.errs)
		f.Text = n.Cond.String()
		return b.add("Filter", n.Cond.String(), f, in), nil
	case *Project:
		b.markRankUnused(n)
		in, err := b.op(n.Input, eowc)
		if err != nil {
			return 0, err
		}
		return b.project(n, in)
	case *Over:
		if overAggsOnly(n) {
			return b.overAgg(n, eowc)
		}
		return 0, errOverNotTopN(n)
	case *Window:
		if err := b.procTimeWindow(n); err != nil {
			return 0, err
		}
		if n.Kind == "SESSION" {
			return 0, sqlerr.Newf(sqlerr.FeatureNotSupported, "a SESSION window needs an aggregate over it").
				WithHint("GROUP BY window_start, window_end (and keys) with COUNT, SUM, ...")
		}
		in, err := b.op(n.Input, eowc)
		if err != nil {
			return 0, err
		}
		o := exec.WindowOptions{Kind: exec.Tumble, TimeCol: n.TimeCol, Size: n.Size}
		if n.Kind == "HOP" {
			o.Kind, o.Slide = exec.Hop, n.Slide
		}
		w, err := exec.NewWindow(o)
		if err != nil {
			return 0, err
		}
		return b.add("Window", strings.TrimPrefix(n.describe(), "Window "), w, in), nil
	case *Aggregate:
		return b.aggregate(n, eowc)
	case *Sort:
		return 0, sqlerr.Newf(sqlerr.InvalidObjectDefinition, "ORDER BY in a materialized view is not supported: a view is a set of rows").
			WithHint("Leave ORDER BY out of the view and order when reading it: SELECT * FROM view ORDER BY ...")
	case *Limit:
		return 0, sqlerr.Newf(sqlerr.FeatureNotSupported, "LIMIT in a materialized view is not supported").
			WithHint("For a top-N per key write SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM src) AS t WHERE rn <= n; or limit when reading the view.")
	case *UnionAll:
		ins := make([]exec.NodeID, len(n.Inputs))
		for i, in := range n.Inputs {
			id, err := b.op(in, eowc)
			if err != nil {
				return 0, err
			}
			ins[i] = id
		}
		// Barriers align across the branches: an epoch is cut at the same
		// place in every source it reads.
		return b.add("UnionAll", "", exec.NewUnionAll(), ins...), nil
	case *Join:
		if n.Temporal != nil {
			return b.lookupJoin(n, eowc)
		}
		return b.join(n, eowc)
	}
	return 0, sqlerr.Newf(sqlerr.FeatureNotSupported, "%s in a materialized view is not supported", n.describe())
}

// project adds the Project n over in.
func (b *streamBuilder) project(n *Project, in exec.NodeID) (exec.NodeID, error) {
	fs, err := compileAll(n.Exprs)
	if err != nil {
		return 0, err
	}
	p := exec.NewProject(fs, &b.env, b.errs)
	p.Texts = exprTexts(n.Exprs)
	return b.add("Project", strings.TrimPrefix(n.describe(), "Project "), p, in), nil
}

// join plans an inner join as a HashJoin over its two inputs.
func (b *streamBuilder) join(n *Join, eowc bool) (exec.NodeID, error) {
	spec, closeKey, after, err := planJoin(n, b.views)
	if err != nil {
		return 0, err
	}
	if len(spec.leftKeys) == 0 {
		return 0, errJoinNoKey()
	}
	left, err := b.op(n.Left, eowc)
	if err != nil {
		return 0, err
	}
	right, err := b.op(n.Right, eowc)
	if err != nil {
		return 0, err
	}
	o := exec.JoinOptions{Env: &b.env, Errs: b.errs, CloseKey: closeKey, CloseAfter: after, DropLate: [2]bool{assigned(n.Left), assigned(n.Right)},
		LeftWidth: len(n.Left.Columns()), RightWidth: len(n.Right.Columns()), Outer: n.Kind.outer(), Budget: b.cacheBudget}
	iv := planInterval(n, spec, eowc, b.views)
	o.Expire, o.Late = iv.expire, iv.late
	if o.LeftKeys, err = compileAll(spec.leftKeys); err != nil {
		return 0, err
	}
	if o.RightKeys, err = compileAll(spec.rightKeys); err != nil {
		return 0, err
	}
	o.KeyTexts = [2][]string{exprTexts(spec.leftKeys), exprTexts(spec.rightKeys)}
	detail := fmt.Sprintf("%s left=[%s] right=[%s]", n.Kind, joinExprs(spec.leftKeys), joinExprs(spec.rightKeys))
	if spec.residual != nil {
		if o.Cond, err = expr.CompilePredicate(spec.residual); err != nil {
			return 0, err
		}
		o.CondText = spec.residual.String()
		detail += " cond=" + spec.residual.String()
	}
	if closeKey >= 0 {
		detail += fmt.Sprintf(" closes=%s", spec.leftKeys[closeKey])
		if after > 0 {
			detail += "+" + fmtMicros(after)
		}
	}
	if len(iv.bounds) > 0 {
		detail += " interval=[" + strings.Join(iv.bounds, ", ") + "]"
	}
	var expires, late []string
	for side, in := range []Node{n.Left, n.Right} {
		if o.Expire[side].Set {
			expires = append(expires, [2]string{"left", "right"}[side])
		}
		if l := o.Late[side]; l.Set {
			late = append(late, [2]string{"left", "right"}[side]+"."+in.Columns()[l.Col].Name)
		}
	}
	if len(expires) > 0 {
		detail += " expires=" + strings.Join(expires, ",")
	}
	if len(late) > 0 {
		detail += " late=" + strings.Join(late, ",")
	}
	j, err := exec.NewHashJoin(o)
	if err != nil {
		return 0, err
	}
	return b.stateful("HashJoin", detail, j, left, right), nil
}

// windowUnder returns the Window under an aggregate's input, looking
// through WHERE filters, and those filters from the top down.
func windowUnder(n Node) (*Window, []*Filter) {
	var fs []*Filter
	for {
		switch x := n.(type) {
		case *Filter:
			fs = append(fs, x)
			n = x.Input
		case *Window:
			return x, fs
		default:
			return nil, nil
		}
	}
}

func (b *streamBuilder) aggregate(n *Aggregate, eowc bool) (exec.NodeID, error) {
	win, filters := windowUnder(n.Input)
	if win != nil && win.Kind == "SESSION" {
		return b.session(n, win, filters, eowc)
	}
	if n.Windowed && eowc {
		if err := checkWatermark(win); err != nil {
			return 0, err
		}
	}
	in, err := b.op(n.Input, eowc)
	if err != nil {
		return 0, err
	}
	keys := n.Keys
	hidden := false
	end := -1
	if n.Windowed && eowc && win == nil {
		// The window is under a join: EMIT ON WINDOW CLOSE needs a key
		// that closes through it (see eowcKeys), or it is refused.
		if keys, end, hidden, err = b.eowcKeys(n); err != nil {
			return 0, err
		}
	}
	if n.Windowed && win != nil {
		endCol := len(win.cols) - 1
		for i, k := range keys {
			if c, ok := k.(*expr.ColumnRef); ok && c.Name == "window_end" && c.Index == endCol {
				end = i
			}
		}
		if end < 0 {
			// Grouped by window_start only: window_end is a function of it,
			// so grouping by it too changes nothing; it is dropped after.
			keys = append(append([]expr.Expr(nil), keys...),
				&expr.ColumnRef{Index: endCol, Typ: win.cols[endCol].Type, Name: "window_end"})
			end, hidden = len(keys)-1, true
		}
	}
	kfs, err := compileAll(keys)
	if err != nil {
		return 0, err
	}
	if in, err = b.partFilter(kfs, in); err != nil {
		return 0, err
	}
	// Over an input that only inserts, MIN and MAX need no value counts.
	ao := exec.AggOptions{Keys: kfs, KeyTexts: exprTexts(keys), Aggs: n.Aggs, Env: &b.env, Errs: b.errs, CacheSize: b.cacheGroups, Budget: b.cacheBudget,
		AppendOnly: appendOnly(n.Input, eowc, b.views)}
	var id exec.NodeID
	if end >= 0 {
		wa, err := exec.NewWindowAgg(exec.WindowAggOptions{AggOptions: ao, WindowEnd: end, EmitOnClose: eowc})
		if err != nil {
			return 0, err
		}
		emit := "on-update"
		if eowc {
			emit = "on-window-close"
		}
		id = b.stateful("WindowAgg", fmt.Sprintf("keys=[%s] aggs=[%s] window_end=#%d emit=%s", joinExprs(keys), joinAggs(n.Aggs), end, emit), wa, in)
	} else {
		ha, err := exec.NewHashAgg(ao)
		if err != nil {
			return 0, err
		}
		id = b.stateful("HashAgg", fmt.Sprintf("keys=[%s] aggs=[%s] emit=on-update", joinExprs(keys), joinAggs(n.Aggs)), ha, in)
	}
	if !hidden {
		return id, nil
	}
	// Drop the hidden window_end key: output is keys, then aggregates.
	perm := make([]int, 0, len(n.Keys)+len(n.Aggs))
	for i := range n.Keys {
		perm = append(perm, i)
	}
	for i := range n.Aggs {
		perm = append(perm, len(keys)+i)
	}
	return b.permute(id, perm, n.cols)
}

// permute adds a Project that picks columns of in by index.
func (b *streamBuilder) permute(in exec.NodeID, perm []int, cols []types.Column) (exec.NodeID, error) {
	fs := make([]expr.Func, len(perm))
	for i, j := range perm {
		f, err := expr.Compile(&expr.ColumnRef{Index: j, Typ: cols[i].Type, Name: cols[i].Name})
		if err != nil {
			return 0, err
		}
		fs[i] = f
	}
	return b.add("Project", fmt.Sprintf("columns=%v", perm), exec.NewProject(fs, &b.env, nil), in), nil
}

func joinAggs(as []*expr.Agg) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// session plans an aggregate over SESSION windows: one SessionAgg does
// both, fed with the rows under the window (WHERE applied first).
func (b *streamBuilder) session(n *Aggregate, win *Window, filters []*Filter, eowc bool) (exec.NodeID, error) {
	if err := b.procTimeWindow(win); err != nil {
		return 0, err
	}
	if eowc {
		if err := checkWatermark(win); err != nil {
			return 0, err
		}
	}
	width := len(win.Input.Columns())
	readsWindow := func(e expr.Expr) bool { return readsColumnFrom(e, width) }
	in, err := b.op(win.Input, eowc)
	if err != nil {
		return 0, err
	}
	for i := len(filters) - 1; i >= 0; i-- {
		if readsWindow(filters[i].Cond) {
			return 0, sqlerr.Newf(sqlerr.FeatureNotSupported, "WHERE on window_start or window_end of a SESSION window is not supported").
				WithHint("Filter on them in HAVING.")
		}
		pred, err := expr.CompilePredicate(filters[i].Cond)
		if err != nil {
			return 0, err
		}
		f := exec.NewFilter(pred, &b.env, b.errs)
		f.Text = filters[i].Cond.String()
		in = b.add("Filter", filters[i].Cond.String(), f, in)
	}
	var keys []expr.Expr
	perm := make([]int, len(n.Keys)+len(n.Aggs))
	var winKey []int // aggregate key index → -1 start, -2 end
	for i, k := range n.Keys {
		if c, ok := k.(*expr.ColumnRef); ok && c.Index == width {
			winKey = append(winKey, i, -1)
			continue
		}
		if c, ok := k.(*expr.ColumnRef); ok && c.Index == width+1 {
			winKey = append(winKey, i, -2)
			continue
		}
		if readsWindow(k) {
			return 0, sqlerr.Newf(sqlerr.FeatureNotSupported, "a GROUP BY expression over window_start or window_end of a SESSION window is not supported").
				WithHint("GROUP BY window_start, window_end themselves.")
		}
		perm[i] = len(keys)
		keys = append(keys, k)
	}
	for j := 0; j < len(winKey); j += 2 {
		perm[winKey[j]] = len(keys)
		if winKey[j+1] == -2 {
			perm[winKey[j]]++
		}
	}
	for i := range n.Aggs {
		perm[len(n.Keys)+i] = len(keys) + 2 + i
	}
	for _, a := range n.Aggs {
		if a.Arg != nil && readsWindow(a.Arg) {
			return 0, sqlerr.Newf(sqlerr.FeatureNotSupported, "%s over window_start or window_end of a SESSION window is not supported", a)
		}
	}
	kfs, err := compileAll(keys)
	if err != nil {
		return 0, err
	}
	if in, err = b.partFilter(kfs, in); err != nil {
		return 0, err
	}
	tf, err := expr.Compile(&expr.ColumnRef{Index: win.TimeCol, Typ: win.cols[win.TimeCol].Type, Name: win.cols[win.TimeCol].Name})
	if err != nil {
		return 0, err
	}
	sa, err := exec.NewSessionAgg(exec.SessionOptions{
		AggOptions: exec.AggOptions{Keys: kfs, KeyTexts: exprTexts(keys), Aggs: n.Aggs, Env: &b.env, Errs: b.errs, CacheSize: b.cacheGroups, Budget: b.cacheBudget},
		Time:       tf, Gap: win.Gap, EmitOnClose: eowc,
	})
	if err != nil {
		return 0, err
	}
	emit := "on-update"
	if eowc {
		emit = "on-window-close"
	}
	id := b.stateful("SessionAgg", fmt.Sprintf("keys=[%s] gap=%s aggs=[%s] emit=%s", joinExprs(keys), fmtMicros(win.Gap), joinAggs(n.Aggs), emit), sa, in)
	return b.permute(id, perm, n.cols)
}

// checkWatermark refuses EMIT ON WINDOW CLOSE over a time column that no
// WATERMARK describes: its windows would never close.
func checkWatermark(win *Window) error {
	if win == nil {
		return nil
	}
	scan, ok := win.Input.(*Scan)
	tc := win.Input.Columns()[win.TimeCol].Name
	if !ok || (scan.Relation.Kind != "source" && scan.Relation.WatermarkColumn != tc) {
		return sqlerr.Newf(sqlerr.FeatureNotSupported, "EMIT ON WINDOW CLOSE over this materialized view is not supported: its %s has no WATERMARK", tc).
			WithHint("Window a view column that passes its source's WATERMARK column through unchanged, or the source itself, or leave out EMIT ON WINDOW CLOSE to get updates as windows change.")
	}
	if scan.Relation.IsProcTime(tc) {
		return nil // the clock closes its windows
	}
	if scan.Relation.WatermarkColumn == "" || scan.Relation.WatermarkColumn != tc {
		return sqlerr.Newf(sqlerr.InvalidObjectDefinition,
			"EMIT ON WINDOW CLOSE needs a WATERMARK on %s.%s: without one, windows never close", scan.Relation.Name, tc).
			WithHint("Declare it in the source: WATERMARK FOR %s AS %s - INTERVAL '5' SECOND, or leave out EMIT ON WINDOW CLOSE.", tc, tc)
	}
	return nil
}

// volatileFuncs give a different value each time they run: a view over
// them could not be recomputed after a restart.
var volatileFuncs = map[string]bool{
	"now": true, "current_timestamp": true, "localtimestamp": true, "localtime": true, "sysdate": true,
	"curdate": true, "current_date": true, "current_time": true, "curtime": true, "utc_timestamp": true,
	"rand": true, "random": true, "uuid": true,
}

// checkDeterministic refuses NOW(), RAND() and friends anywhere in a view.
func checkDeterministic(n Node) error {
	var bad *expr.Call
	visit := func(e expr.Expr) {
		expr.Walk(e, func(x expr.Expr) bool {
			if c, ok := x.(*expr.Call); ok && bad == nil {
				if volatileFuncs[c.Name] || (c.Name == "unix_timestamp" && len(c.Args) == 0) {
					bad = c
				}
			}
			return bad == nil
		})
	}
	var walk func(Node)
	walk = func(n Node) {
		switch n := n.(type) {
		case *Filter:
			visit(n.Cond)
		case *Join:
			if n.Cond != nil {
				visit(n.Cond)
			}
		case *Project:
			for _, e := range n.Exprs {
				visit(e)
			}
		case *Over:
			for _, e := range n.PartitionBy {
				visit(e)
			}
			for _, k := range n.OrderBy {
				visit(k.Expr)
			}
			for _, f := range n.Funcs {
				if f.Agg != nil && f.Agg.Arg != nil {
					visit(f.Agg.Arg)
				}
			}
		case *Aggregate:
			for _, e := range n.Keys {
				visit(e)
			}
			for _, a := range n.Aggs {
				if a.Arg != nil {
					visit(a.Arg)
				}
			}
		}
		for _, c := range n.Children() {
			walk(c)
		}
	}
	walk(n)
	if bad == nil {
		return nil
	}
	err := sqlerr.Newf(sqlerr.InvalidObjectDefinition, "%s() is not allowed in a materialized view: its value changes each time it runs", strings.ToUpper(bad.Name)).
		WithHint("Use the event's own time column (for NOW()), or compute the value in the query that reads the view.")
	if bad.Pos > 0 {
		err = err.At(bad.Pos)
	}
	return err
}

// viewKey returns the view's primary key: the output columns that carry
// every group key of the aggregate at the top of the plan, or a ROW_NUMBER
// top-N's partition and rank (topNKey), when the select list keeps them
// all; nil (the whole row, counted) otherwise.
func viewKey(n Node) []int {
	var proj *Project
	for {
		switch x := n.(type) {
		case *Project:
			if proj != nil {
				return nil
			}
			proj = x
			n = x.Input
			continue
		case *Filter:
			if m, ok := matchTopN(x); ok {
				return topNKey(m, proj)
			}
			n = x.Input
			continue
		case *Aggregate:
			if len(x.Keys) == 0 {
				return nil
			}
			key := make([]int, len(x.Keys))
			for i := range x.Keys {
				if proj == nil {
					key[i] = i
					continue
				}
				key[i] = -1
				for j, e := range proj.Exprs {
					if c, ok := e.(*expr.ColumnRef); ok && c.Index == i {
						key[i] = j
						break
					}
				}
				if key[i] < 0 {
					return nil
				}
			}
			return key
		}
		return nil
	}
}

// String renders the plan's key for logs.
func (p *StreamPlan) String() string {
	names := make([]string, len(p.Inputs))
	for i, in := range p.Inputs {
		names[i] = in.Source.Name
	}
	return fmt.Sprintf("sources=%s key=%v", strings.Join(names, ","), p.Key)
}

// countSourceScans adds to counts how often each source (or changelog)
// is scanned under n.
func countSourceScans(n Node, counts map[string]int) {
	if s, ok := n.(*Scan); ok {
		counts[s.Relation.Name]++
		return
	}
	for _, c := range n.Children() {
		countSourceScans(c, counts)
	}
}

// exprTexts returns the expressions as written, for the errors a view
// absorbs.
func exprTexts(es []expr.Expr) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}
