package eval

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// A condition over a join is split into its AND-ed conjuncts so that each
// is applied as soon as the FROM items it reads are joined, and an
// equality between a column of the item being joined and an expression
// over the items before it is looked up in a hash of that item's rows
// instead of compared row by row. Catalog queries join up to nine
// relations with commas (pgjdbc's getImportedKeys); without this their
// cross product is billions of rows.

// conjunct is one AND-ed part of a WHERE or ON condition.
type conjunct struct {
	fn   evalFn
	refs map[int]bool // columns of the FROM row it reads
	// When the conjunct is "col = expr" with col a column of one item and
	// expr reading only columns to its left: hashCol is col's index in the
	// row, hashOther evaluates expr.
	hashCol   int
	hashOther evalFn
	otherMax  int // the rightmost column hashOther reads, -1 for none
}

func splitAnd(n *pg_query.Node) []*pg_query.Node {
	if be := n.GetBoolExpr(); be != nil && be.Boolop == pg_query.BoolExprType_AND_EXPR {
		var out []*pg_query.Node
		for _, a := range be.Args {
			out = append(out, splitAnd(a)...)
		}
		return out
	}
	return []*pg_query.Node{n}
}

// exprRefs binds n and reports which columns of sc's row it reads.
func (b *binder) exprRefs(n *pg_query.Node, sc *scope) (evalFn, Type, map[int]bool, error) {
	savedScope, savedCols := b.refScope, b.refCols
	b.refScope, b.refCols = sc, map[int]bool{}
	defer func() { b.refScope, b.refCols = savedScope, savedCols }()
	f, t, err := b.expr(n, sc)
	refs := b.refCols
	if savedCols != nil && savedScope == sc {
		for k := range refs {
			savedCols[k] = true
		}
	}
	return f, t, refs, err
}

// conjuncts binds the parts of a condition.
func (b *binder) conjuncts(n *pg_query.Node, sc *scope) ([]*conjunct, error) {
	var out []*conjunct
	for _, part := range splitAnd(n) {
		f, t, refs, err := b.exprRefs(part, sc)
		if err != nil {
			return nil, err
		}
		c := &conjunct{fn: b.castFn(f, t, tBool, -1), refs: refs, hashCol: -1}
		if err := b.hashable(part, sc, c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// hashable fills in the hash lookup of c when its node is an equality
// between a bare column and an expression over columns to that column's
// left, with both sides of the same kind (so that equal keys mean equal
// values; the conjunct itself still checks every candidate).
func (b *binder) hashable(n *pg_query.Node, sc *scope, c *conjunct) error {
	a := n.GetAExpr()
	if a == nil || a.Kind != pg_query.A_Expr_Kind_AEXPR_OP || len(a.Name) != 1 || a.Name[0].GetString_().GetSval() != "=" {
		return nil
	}
	sides := []*pg_query.Node{a.Lexpr, a.Rexpr}
	for i, col := range sides {
		if col.GetColumnRef() == nil {
			continue
		}
		_, ct, crefs, err := b.exprRefs(col, sc)
		if err != nil || len(crefs) != 1 {
			return err
		}
		idx := -1
		for k := range crefs {
			idx = k
		}
		other, ot, orefs, err := b.exprRefs(sides[1-i], sc)
		if err != nil {
			return err
		}
		omax := -1
		for k := range orefs {
			omax = max(omax, k)
		}
		if ot.OID == OIDUnknown && ct.OID != OIDUnknown {
			// An untyped literal or parameter is read as the column's type,
			// as the comparison itself does.
			other, ot = b.castFn(other, ot, ct, -1), ct
		}
		if omax >= idx || !sameKind(ct, ot) {
			continue
		}
		c.hashCol, c.hashOther, c.otherMax = idx, other, omax
		return nil
	}
	return nil
}

func sameKind(a, b Type) bool {
	if isArray(a) || isArray(b) {
		return false
	}
	return isIntType(a.OID) && isIntType(b.OID) || isTextType(a.OID) && isTextType(b.OID) && a.OID != OIDUnknown && b.OID != OIDUnknown
}

func hashKey(v Value) string { return rowKey([]Value{v}) }

// stepConds are the conjuncts to apply when a FROM item whose columns end
// at end (exclusive) has been joined: those reading no column at or after
// end and some column at or after start; hash is one to look up by.
func stepConds(all []*conjunct, start, end int, first bool) (conds []*conjunct, hash *conjunct) {
	for _, c := range all {
		lo, hi := -1, -1
		for k := range c.refs {
			if lo < 0 || k < lo {
				lo = k
			}
			if k > hi {
				hi = k
			}
		}
		if hi >= end || hi < start && !(first && hi < 0) {
			continue
		}
		conds = append(conds, c)
		if hash == nil && c.hashCol >= start && c.hashCol < end && c.otherMax < start {
			hash = c
		}
	}
	return conds, hash
}

// joinStep extends each row of acc (the FROM row so far, ending at start)
// with the rows of an item, keeping the combinations that pass conds.
// rowsFor gives the item's rows for a prefix (the same slice when the item
// does not depend on its left). When hash is set, candidates are looked
// up by its key instead of scanned. keepUnmatched pads a prefix without
// match with NULLs (LEFT JOIN); matchedRight, when not nil, records which
// rows matched (RIGHT and FULL JOIN).
func joinStep(e *env, acc [][]Value, start, width int, rowsFor func(prefix []Value) ([][]Value, error), fixed bool,
	conds []*conjunct, hash *conjunct, keepUnmatched bool, matchedRight []bool) ([][]Value, error) {
	var index map[string][]int
	var fixedRows [][]Value
	if fixed {
		var err error
		if fixedRows, err = rowsFor(nil); err != nil {
			return nil, err
		}
		if hash != nil {
			index = map[string][]int{}
			for i, r := range fixedRows {
				if v := r[hash.hashCol-start]; v != nil {
					k := hashKey(v)
					index[k] = append(index[k], i)
				}
			}
		}
	}
	ce := &env{rs: e.rs, outer: e.outer}
	var out [][]Value
	for _, prefix := range acc {
		rows := fixedRows
		if !fixed {
			var err error
			if rows, err = rowsFor(prefix); err != nil {
				return nil, err
			}
		}
		row := make([]Value, start+width)
		copy(row, prefix)
		var cand []int
		useIndex := index != nil
		if useIndex {
			ce.row = row
			v, err := hash.hashOther(ce)
			if err != nil {
				return nil, err
			}
			if v != nil {
				cand = index[hashKey(v)]
			}
		}
		n := len(rows)
		if useIndex {
			n = len(cand)
		}
		matched := false
		for j := 0; j < n; j++ {
			if err := e.rs.check(); err != nil {
				return nil, err
			}
			ri := j
			if useIndex {
				ri = cand[j]
			}
			copy(row[start:], rows[ri])
			ce.row = row
			ok := true
			for _, c := range conds {
				v, err := c.fn(ce)
				if err != nil {
					return nil, err
				}
				if v != true {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			matched = true
			if matchedRight != nil {
				matchedRight[ri] = true
			}
			if err := e.rs.produced(len(row)); err != nil {
				return nil, err
			}
			out = append(out, append([]Value(nil), row...))
		}
		if !matched && keepUnmatched {
			if err := e.rs.produced(start + width); err != nil {
				return nil, err
			}
			nr := make([]Value, start+width)
			copy(nr, prefix)
			out = append(out, nr)
		}
	}
	return out, nil
}
