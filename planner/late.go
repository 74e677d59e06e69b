package planner

// assigned reports whether n's rows come straight from a TUMBLE or HOP
// window assigner (through filters and projections only): a join of
// windows drops such a row when its window has closed (exec.JoinOptions
// DropLate), as Flink's window join does, since nothing upstream holds it
// back to a barrier.
func assigned(n Node) bool {
	for {
		switch x := n.(type) {
		case *Filter:
			n = x.Input
		case *Project:
			n = x.Input
		case *Window:
			return x.Kind != "SESSION"
		default:
			return false
		}
	}
}
