package planner

// AppendOnly reports whether the plan's output only ever inserts rows:
// filters and projections over a source, and windowed aggregates that emit
// on window close over such input (a closed window is final). Everything
// else (an aggregate that emits on update, a view that does) may update or
// delete rows it emitted before, which an append-only sink cannot carry.
func (p *StreamPlan) AppendOnly() bool {
	return p.appendOnly(p.q.root, p.q.opts.EmitOnWindowClose)
}

func (p *StreamPlan) appendOnly(n Node, eowc bool) bool {
	switch n := n.(type) {
	case *Scan:
		if n.Relation.Kind == "source" {
			return true
		}
		vq, ok := p.views(n.Relation.Name)
		return ok && p.appendOnly(vq.root, vq.opts.EmitOnWindowClose)
	case *Filter:
		return p.appendOnly(n.Input, eowc)
	case *Project:
		return p.appendOnly(n.Input, eowc)
	case *Window:
		return p.appendOnly(n.Input, eowc)
	case *Aggregate:
		return eowc && n.Windowed && p.appendOnly(n.Input, eowc)
	case *UnionAll:
		for _, in := range n.Inputs {
			if !p.appendOnly(in, eowc) {
				return false
			}
		}
		return true
	}
	return false
}
