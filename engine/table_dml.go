package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// dmlPlan is a bound INSERT, UPDATE or DELETE: the table, and the query
// whose rows say what to change (see the statements in sql/table.go).
type dmlPlan struct {
	table *object
	// cols maps each column of an INSERT's query to the table column it
	// fills; set maps each assigned value of an UPDATE (the query's
	// columns after the table's) or an upsert to its column.
	cols []int
	set  []int
	// upsert computes ON DUPLICATE KEY UPDATE's values over the stored
	// row then the new one.
	upsert []expr.Func
}

// bindDML binds an INSERT, UPDATE or DELETE against the statement's
// catalog.
func (s *Session) bindDML(ctx context.Context, st *Statement) error {
	var name string
	var pos int
	var sel *sql.Select
	switch p := st.stmt.(type) {
	case *sql.Insert:
		name, pos, sel = p.Table, p.TablePos, p.Query
	case *sql.Update:
		name, pos, sel = p.Table, p.TablePos, p.Query
	case *sql.Delete:
		name, pos, sel = p.Table, p.TablePos, p.Query
	}
	tbl, err := tableTarget(st.catalog, name, pos)
	if err != nil {
		return err
	}
	d := &dmlPlan{table: tbl}
	// The types the query's columns are stored as, for its parameters.
	var hints []types.Type
	switch p := st.stmt.(type) {
	case *sql.Insert:
		if p.Columns == nil {
			for i := range tbl.columns {
				d.cols = append(d.cols, i)
			}
		} else {
			seen := map[int]bool{}
			for i, c := range p.Columns {
				k := columnIndex(tbl, c)
				if k < 0 {
					return sqlerr.Newf(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", c, tbl.entry.Name).At(p.ColumnPos[i])
				}
				if seen[k] {
					return sqlerr.Newf(sqlerr.DuplicateColumn, "column %q specified more than once", c).At(p.ColumnPos[i])
				}
				seen[k] = true
				d.cols = append(d.cols, k)
			}
		}
		for _, k := range d.cols {
			hints = append(hints, tbl.columns[k].Type)
		}
	case *sql.Update:
		for _, c := range tbl.columns {
			hints = append(hints, c.Type)
		}
		for i, c := range p.Set {
			k := columnIndex(tbl, c)
			if k < 0 {
				return sqlerr.Newf(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", c, tbl.entry.Name).At(p.SetPos[i])
			}
			d.set = append(d.set, k)
			hints = append(hints, tbl.columns[k].Type)
		}
	}
	q, err := s.plan(ctx, st, sel, planner.Options{ColumnTypes: hints})
	if err != nil {
		return err
	}
	st.query = q
	st.dml = d
	qcols := q.Columns()
	switch p := st.stmt.(type) {
	case *sql.Insert:
		if len(qcols) > len(d.cols) {
			return sqlerr.Newf(sqlerr.SyntaxError, "INSERT has more expressions than target columns").At(p.Query.Position(0))
		}
		if len(qcols) < len(d.cols) && p.Columns != nil {
			return sqlerr.Newf(sqlerr.SyntaxError, "INSERT has more target columns than expressions").At(p.ColumnPos[len(qcols)])
		}
		d.cols = d.cols[:len(qcols)]
		for i, k := range d.cols {
			if err := assignable(tbl.columns[k], qcols[i].Type); err != nil {
				return atValue(err, p.ValuePos, 0, i)
			}
		}
		if p.Upsert != nil {
			if len(tbl.tableKey) == 0 {
				return sqlerr.Newf(sqlerr.InvalidObjectDefinition, "ON DUPLICATE KEY UPDATE needs a table with a PRIMARY KEY; %s has none", tbl.entry.Name).At(p.TablePos)
			}
			if err := s.bindUpsert(ctx, st, d, p.Upsert); err != nil {
				return err
			}
		}
	case *sql.Update:
		for i, k := range d.set {
			if err := assignable(tbl.columns[k], qcols[len(tbl.columns)+i].Type); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Session) bindUpsert(ctx context.Context, st *Statement, d *dmlPlan, a *sql.Assignments) error {
	tbl := d.table
	if a.Values.NumParams > 0 {
		return sqlerr.Newf(sqlerr.FeatureNotSupported, "parameters in ON DUPLICATE KEY UPDATE are not supported")
	}
	q, err := s.plan(ctx, st, a.Values, planner.Options{})
	if err != nil {
		return err
	}
	var exprs []expr.Expr
	if p, ok := q.Root().(*planner.Project); ok {
		exprs = p.Exprs
	} else {
		// An identity projection was removed: the first columns.
		for i, c := range q.Columns() {
			exprs = append(exprs, &expr.ColumnRef{Index: i, Typ: c.Type})
		}
	}
	for i, c := range a.Set {
		k := columnIndex(tbl, c)
		if k < 0 {
			return sqlerr.Newf(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", c, tbl.entry.Name).At(a.SetPos[i])
		}
		if err := assignable(tbl.columns[k], exprs[i].Type()); err != nil {
			return err
		}
		f, err := expr.Compile(exprs[i])
		if err != nil {
			return err
		}
		d.set, d.upsert = append(d.set, k), append(d.upsert, f)
	}
	return nil
}

func columnIndex(o *object, name string) int {
	for i, c := range o.columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// executeDML runs a bound INSERT, UPDATE or DELETE.
func (s *Session) executeDML(ctx context.Context, st *Statement, params []types.Value) (*Rows, error) {
	e := s.engine
	d := st.dml
	tbl := d.table
	if cur, ok := e.catalog.get(tbl.entry.Name); !ok || cur.entry.ID != tbl.entry.ID {
		return nil, sqlerr.Newf(sqlerr.UndefinedTable, "table %q was dropped", tbl.entry.Name)
	}
	notNull := make([]bool, len(tbl.columns))
	for i, c := range tbl.createTable.Columns {
		notNull[i] = c.NotNull
	}
	// build makes a stored row from the values for cols, the others NULL
	// (or from base).
	build := func(base types.Row, cols []int, vals types.Row) (types.Row, error) {
		row := make(types.Row, len(tbl.columns))
		if base != nil {
			copy(row, base)
		} else {
			for i := range row {
				row[i] = types.Null
			}
		}
		for i, k := range cols {
			v, err := coerce(tbl.columns[k], vals[i])
			if err != nil {
				return nil, &valueError{err: err, i: i}
			}
			row[k] = v
		}
		for k, v := range row {
			if v.IsNull() && notNull[k] {
				return nil, sqlerr.Newf(sqlerr.NotNullViolation, "null value in column %q of relation %q violates not-null constraint", tbl.columns[k].Name, tbl.entry.Name).
					WithDetail("Failing row contains %s.", rowText(row))
			}
		}
		return row, nil
	}
	var n int64
	var warnings []*sqlerr.Error
	switch p := st.stmt.(type) {
	case *sql.Insert:
		// The rows are computed before the table is locked: an INSERT ...
		// SELECT may read a source for a while.
		rows, w, err := s.drainQuery(ctx, st.query, params)
		if err != nil {
			return nil, err
		}
		warnings = w
		stored := make([]types.Row, len(rows))
		for i, r := range rows {
			if stored[i], err = build(nil, d.cols, r); err != nil {
				return nil, atValue(err, p.ValuePos, i, valueAt(err))
			}
		}
		var onDup func(old, new types.Row) (types.Row, error)
		if p.Upsert != nil {
			env := &expr.Env{Now: time.Now().UnixMicro()}
			onDup = func(old, new types.Row) (types.Row, error) {
				both := append(append(make(types.Row, 0, 2*len(old)), old...), new...)
				vals := make(types.Row, len(d.upsert))
				for i, f := range d.upsert {
					v, err := f(both, env)
					if err != nil {
						return nil, err
					}
					vals[i] = v
				}
				return build(old, d.set, vals)
			}
		}
		unlock, err := e.tables.lock(ctx, tbl)
		if err != nil {
			return nil, err
		}
		defer unlock()
		err = e.writeTable(ctx, tbl, func(t *tableTxn) error {
			for _, r := range stored {
				c, err := t.insert(r, onDup)
				if err != nil {
					return err
				}
				n += c
			}
			return nil
		})
		if err != nil {
			return nil, atValue(err, nil, 0, -1)
		}
		return dmlDone(fmt.Sprintf("INSERT 0 %d", n), warnings), nil
	case *sql.Update, *sql.Delete:
		// The rows to change are read under the lock: no other statement
		// changes them between the read and the write.
		unlock, err := e.tables.lock(ctx, tbl)
		if err != nil {
			return nil, err
		}
		defer unlock()
		rows, w, err := s.drainQuery(ctx, st.query, params)
		if err != nil {
			return nil, err
		}
		warnings = w
		width := len(tbl.columns)
		_, isDelete := p.(*sql.Delete)
		err = e.writeTable(ctx, tbl, func(t *tableTxn) error {
			for _, r := range rows {
				old := r[:width]
				if isDelete {
					if err := t.remove(old); err != nil {
						return err
					}
					n++
					continue
				}
				upd, err := build(old, d.set, r[width:])
				if err != nil {
					return err
				}
				if err := t.update(old, upd); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return nil, atValue(err, nil, 0, -1)
		}
		tag := "UPDATE"
		if isDelete {
			tag = "DELETE"
		}
		return dmlDone(fmt.Sprintf("%s %d", tag, n), warnings), nil
	}
	return nil, fmt.Errorf("executeDML: %T", st.stmt)
}

func dmlDone(tag string, warnings []*sqlerr.Error) *Rows {
	r := done(tag)
	r.warnings = warnings
	return r
}

// rowText is a row as Postgres shows it in DETAIL: (1, null, x).
func rowText(row types.Row) string {
	s := "("
	for i, v := range row {
		if i > 0 {
			s += ", "
		}
		if v.IsNull() {
			s += "null"
		} else {
			s += v.String()
		}
	}
	return s + ")"
}

// valueError is a value that does not convert to its column's type: the
// i-th of the values given.
type valueError struct {
	err error
	i   int
}

func (e *valueError) Error() string { return e.err.Error() }
func (e *valueError) Unwrap() error { return e.err }

func valueAt(err error) int {
	var ve *valueError
	if errors.As(err, &ve) {
		return ve.i
	}
	return -1
}

// atValue places err at the value of row, column col of a VALUES list
// (pos, nil for a query), as Postgres points at it; err as it is
// otherwise.
func atValue(err error, pos [][]int, row, col int) error {
	var ve *valueError
	if errors.As(err, &ve) {
		err = ve.err
	}
	var se *sqlerr.Error
	if row < len(pos) && col >= 0 && col < len(pos[row]) && errors.As(err, &se) && se.Position == 0 {
		return se.At(pos[row][col])
	}
	return err
}
