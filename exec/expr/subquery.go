package expr

import (
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// InSubquery is x IN (subquery) for an uncorrelated subquery: the planner
// runs the subquery once per execution and puts its values, converted to
// the kind they are compared in and hashed, in env.SubquerySets[Index]
// (NewSet); a row then costs one lookup, with IN's NULL rules.
type InSubquery struct {
	X     Expr // x, coerced to the kind x and the values compare in
	Conv  Expr // converts a subquery value (column 0 of a one-value row) to that kind
	Index int
}

// NewInSubquery binds x IN (subquery Index), whose one column has type col.
func NewInSubquery(x Expr, col types.Type, index, pos int) (*InSubquery, error) {
	// IN's own binding picks the kind and the conversions, as it does for
	// a list: the subquery's column stands in as the one item.
	c, err := NewCall("in", pos, x, &ColumnRef{Index: 0, Typ: col})
	if err != nil {
		return nil, err
	}
	return &InSubquery{X: c.Args[0], Conv: c.Args[1], Index: index}, nil
}

func (q *InSubquery) Type() types.Type { return types.TypeBool }
func (q *InSubquery) String() string {
	return q.X.String() + " IN " + (&Subquery{Index: q.Index}).String()
}

// SubquerySet is an IN subquery's values, ready for lookups.
type SubquerySet struct {
	find    func(types.Value) (int, bool)
	hasNull bool
	empty   bool // no rows: x IN () is FALSE even for a NULL x
}

// NewSet converts and hashes the subquery's values.
func (q *InSubquery) NewSet(vals []types.Value, env *Env) (*SubquerySet, error) {
	conv, err := Compile(q.Conv)
	if err != nil {
		return nil, err
	}
	s := &SubquerySet{empty: len(vals) == 0}
	var keep []types.Value
	for _, v := range vals {
		w, err := conv(types.Row{v}, env)
		if err != nil {
			return nil, err
		}
		if w.IsNull() {
			s.hasNull = true
			continue
		}
		keep = append(keep, w)
	}
	s.find = newInSet(q.X.Type().Kind, keep)
	return s, nil
}

func compileInSubquery(q *InSubquery) (Func, error) {
	x, err := Compile(q.X)
	if err != nil {
		return nil, err
	}
	i := q.Index
	return func(row types.Row, env *Env) (types.Value, error) {
		if env == nil || i >= len(env.SubquerySets) || env.SubquerySets[i] == nil {
			return types.Null, sqlerr.Newf(sqlerr.Internal, "subquery %d was not evaluated", i+1)
		}
		s := env.SubquerySets[i]
		if s.empty {
			return vFalse, nil
		}
		v, err := x(row, env)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		if _, ok := s.find(v); ok {
			return vTrue, nil
		}
		if s.hasNull {
			return types.Null, nil
		}
		return vFalse, nil
	}, nil
}
