package planner

import (
	"fmt"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/sqlerr"
)

// Temporal is a join's FOR SYSTEM_TIME AS OF: the right side, a table, is
// looked up as of when each left row is processed (exec.LookupJoin).
type Temporal struct {
	// ProcTime is AS OF PROCTIME(); otherwise Column names the left
	// side's processing-time column.
	ProcTime bool
	Column   string
}

func (t *Temporal) String() string {
	if t.ProcTime {
		return "PROCTIME()"
	}
	return t.Column
}

// temporalJoin marks join as a lookup join when its right side was written
// FOR SYSTEM_TIME AS OF, checking what can be looked up as of what. lsc
// is the left side's scope.
func (b *binder) temporalJoin(j *ast.Join, join *Join, lsc *scope) error {
	ts, ok := j.Right.(*ast.TableSource)
	if !ok {
		return nil
	}
	alias := ts.AsName.O
	if tn, isName := ts.Source.(*ast.TableName); alias == "" && isName {
		alias = tn.Name.O
	}
	tm, ok := b.in.temporal[alias]
	if !ok {
		return nil
	}
	scan, isScan := join.Right.(*Scan)
	if !isScan || scan.Relation.Kind != "table" {
		what := "a subquery"
		if isScan {
			what = fmt.Sprintf("%s %s", scan.Relation.Kind, scan.Relation.Name)
		}
		return sqlerr.Newf(sqlerr.FeatureNotSupported, "FOR SYSTEM_TIME AS OF looks up a table, not %s", what).At(tm.Pos).
			WithHint("CREATE TABLE the reference data, or join the %s with a regular JOIN.", what)
	}
	if join.Kind == RightJoin {
		return sqlerr.Newf(sqlerr.FeatureNotSupported, "a temporal join is an inner or a LEFT JOIN").At(tm.Pos).
			WithHint("Put the stream on the left: stream LEFT JOIN table FOR SYSTEM_TIME AS OF PROCTIME().")
	}
	t := &Temporal{ProcTime: tm.ProcTime}
	if !tm.ProcTime {
		// AS OF a column: the left side's processing time (a source's
		// PROCTIME() column). An event-time column would ask for the
		// table's version at that time, which needs versioned state.
		var col *scopeCol
		for i := range lsc.cols {
			c := &lsc.cols[i]
			if c.name == tm.Column && (tm.Qualifier == "" || c.table == tm.Qualifier) {
				col = c
				break
			}
		}
		if col == nil {
			name := tm.Column
			if tm.Qualifier != "" {
				name = tm.Qualifier + "." + name
			}
			return sqlerr.Newf(sqlerr.UndefinedColumn, "column %q does not exist", name).At(tm.Pos)
		}
		if !isProcTime(join.Left, tm.Column) {
			return sqlerr.Newf(sqlerr.FeatureNotSupported,
				"FOR SYSTEM_TIME AS OF %s: only processing time is supported (PROCTIME() or a PROCTIME() column); an event-time (versioned) temporal join is not", tm.Column).
				At(tm.Pos).WithHint("Write FOR SYSTEM_TIME AS OF PROCTIME(): each row joins the table as it is when the row is processed.")
		}
		t.Column = tm.Column
	}
	join.Temporal = t
	return nil
}

// isProcTime reports whether column name of n comes from a source's
// PROCTIME() column.
func isProcTime(n Node, name string) bool {
	if s, ok := n.(*Scan); ok {
		return s.Relation.IsProcTime(name)
	}
	for _, c := range n.Children() {
		if isProcTime(c, name) {
			return true
		}
	}
	return false
}

// lookupJoin plans a temporal join as a LookupJoin: the left side's
// changes look the right side's rows up; the right side's changes only
// update them.
func (b *streamBuilder) lookupJoin(n *Join, eowc bool) (exec.NodeID, error) {
	spec, err := splitJoin(n)
	if err != nil {
		return 0, err
	}
	if len(spec.leftKeys) == 0 {
		return 0, sqlerr.Newf(sqlerr.FeatureNotSupported, "a temporal join needs an equality between the stream and the table").
			WithHint("Add ON s.k = t.k.")
	}
	left, err := b.op(n.Left, eowc)
	if err != nil {
		return 0, err
	}
	right, err := b.op(n.Right, eowc)
	if err != nil {
		return 0, err
	}
	o := exec.LookupJoinOptions{Env: &b.env, Errs: b.errs, StreamWidth: len(n.Left.Columns()),
		TableWidth: len(n.Right.Columns()), Outer: n.Kind == LeftJoin}
	if o.StreamKeys, err = compileAll(spec.leftKeys); err != nil {
		return 0, err
	}
	if o.TableKeys, err = compileAll(spec.rightKeys); err != nil {
		return 0, err
	}
	detail := fmt.Sprintf("%s as_of=%s stream=[%s] table=[%s]", n.Kind, n.Temporal, joinExprs(spec.leftKeys), joinExprs(spec.rightKeys))
	if spec.residual != nil {
		if o.Cond, err = expr.CompilePredicate(spec.residual); err != nil {
			return 0, err
		}
		o.CondText = spec.residual.String()
		detail += " cond=" + spec.residual.String()
	}
	j, err := exec.NewLookupJoin(o)
	if err != nil {
		return 0, err
	}
	return b.stateful("LookupJoin", detail, j, left, right), nil
}
