package exec

import (
	"slices"

	"github.com/google/btree"
)

// topEnts is one top-N partition's rows in rank order (TopN.compare): a
// sorted slice while short, a B-tree once longer than topEntsSlice. Over
// an append-only input a partition holds about N rows, and a slice is the
// cheapest; over an updating input it holds every live row (a global
// top-N over an aggregate: one row per group), and inserting into a
// sorted slice would move half of it each time, quadratic in the rows.
type topEnts struct {
	s    []*topEnt
	tree *btree.BTreeG[*topEnt]
}

// topEntsSlice is the most rows a partition keeps in a slice (a variable
// for tests).
var topEntsSlice = 128

// topCmp orders rows (TopN.compare).
type topCmp func(a, b *topEnt) int

func (x *topEnts) len() int {
	if x.tree != nil {
		return x.tree.Len()
	}
	return len(x.s)
}

// first and last return the first and the last row; nil for none.
func (x *topEnts) first() *topEnt {
	if x.tree != nil {
		e, _ := x.tree.Min()
		return e
	}
	if len(x.s) == 0 {
		return nil
	}
	return x.s[0]
}

func (x *topEnts) last() *topEnt {
	if x.tree != nil {
		e, _ := x.tree.Max()
		return e
	}
	if len(x.s) == 0 {
		return nil
	}
	return x.s[len(x.s)-1]
}

// insert adds e (no equal row is there: seq differs); fl is the free list
// a B-tree shares with its operator's other partitions.
func (x *topEnts) insert(e *topEnt, c topCmp, fl *btree.FreeListG[*topEnt]) {
	if x.tree == nil && len(x.s) >= topEntsSlice {
		x.tree = btree.NewWithFreeListG(16, func(a, b *topEnt) bool { return c(a, b) < 0 }, fl)
		for _, o := range x.s {
			x.tree.ReplaceOrInsert(o)
		}
		x.s = nil
	}
	if x.tree != nil {
		x.tree.ReplaceOrInsert(e)
		return
	}
	at, _ := slices.BinarySearchFunc(x.s, e, c)
	x.s = slices.Insert(x.s, at, e)
}

// remove deletes e, which is there.
func (x *topEnts) remove(e *topEnt, c topCmp) {
	if x.tree != nil {
		x.tree.Delete(e)
		return
	}
	if at, ok := slices.BinarySearchFunc(x.s, e, c); ok {
		x.s = slices.Delete(x.s, at, at+1)
	}
}

// removeLast deletes the last row and returns it; nil for none.
func (x *topEnts) removeLast() *topEnt {
	if x.tree != nil {
		e, _ := x.tree.DeleteMax()
		return e
	}
	if len(x.s) == 0 {
		return nil
	}
	e := x.s[len(x.s)-1]
	x.s[len(x.s)-1] = nil
	x.s = x.s[:len(x.s)-1]
	return e
}

// ascend calls fn on the rows in order from the first not before from
// (nil: from the first row) while it returns true.
func (x *topEnts) ascend(from *topEnt, c topCmp, fn func(*topEnt) bool) {
	if x.tree != nil {
		if from == nil {
			x.tree.Ascend(fn)
		} else {
			x.tree.AscendGreaterOrEqual(from, fn)
		}
		return
	}
	at := 0
	if from != nil {
		at, _ = slices.BinarySearchFunc(x.s, from, c)
	}
	for _, e := range x.s[at:] {
		if !fn(e) {
			return
		}
	}
}
