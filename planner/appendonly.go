package planner

// AppendOnly reports whether the plan's output only ever inserts rows:
// filters and projections over a source, and windowed aggregates that emit
// on window close over such input (a closed window is final). Everything
// else (an aggregate that emits on update, a view that does) may update or
// delete rows it emitted before, which an append-only sink cannot carry.
func (p *StreamPlan) AppendOnly() bool {
	return appendOnly(p.q.root, p.q.opts.EmitOnWindowClose, p.views)
}

// appendOnly reports whether n only ever inserts rows; views resolves the
// views it reads.
func appendOnly(n Node, eowc bool, views func(string) (*Query, bool)) bool {
	switch n := n.(type) {
	case *Scan:
		if n.Relation.Kind == "source" {
			return true
		}
		vq, ok := views(n.Relation.Name)
		return ok && appendOnly(vq.root, vq.opts.EmitOnWindowClose, views)
	case *Filter:
		if m, ok := matchTopN(n); ok {
			return topNAppendOnly(m, eowc, views)
		}
		return appendOnly(n.Input, eowc, views)
	case *Project:
		return appendOnly(n.Input, eowc, views)
	case *Window:
		return appendOnly(n.Input, eowc, views)
	case *Aggregate:
		return eowc && n.Windowed && appendOnly(n.Input, eowc, views)
	case *Join:
		// An inner join of inserts only inserts (closing a window drops
		// state, not rows already emitted); an outer join retracts a
		// NULL-padded row when its first match comes.
		if n.Temporal != nil {
			// A lookup join never retracts what it emitted: the table's
			// changes update its lookup state only.
			return n.Kind == InnerJoin && appendOnly(n.Left, eowc, views)
		}
		return n.Kind == InnerJoin && appendOnly(n.Left, eowc, views) && appendOnly(n.Right, eowc, views)
	case *Over:
		return overAggAppendOnly(n, eowc, views)
	case *UnionAll:
		for _, in := range n.Inputs {
			if !appendOnly(in, eowc, views) {
				return false
			}
		}
		return true
	}
	return false
}
