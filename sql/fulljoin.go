package sql

import "sort"

// FULL [OUTER] JOIN: TiDB's MySQL grammar has no full join, so the front
// end spells FULL as LEFT (the same length: every position stays) and
// remembers which joins it rewrote. TiDB's Join node has no position of
// its own; its ON condition's expression has one, and the ON keyword
// before it (the last one before the expression starts) is the join's.

// joinOns are the source offsets of the ON keywords of a query, sorted,
// and whether the join each belongs to was FULL.
type joinOns struct {
	at   []int
	full []bool
}

// rewriteFullJoins rewrites FULL [OUTER] JOIN to LEFT [OUTER] JOIN in buf
// (the text of tokens [from, to), which starts at byte start) and returns
// every ON keyword, with those of the FULL joins marked: the first ON at
// the join's depth of parentheses after its JOIN.
func (p *parser) rewriteFullJoins(from, to, start int, buf []byte) *joinOns {
	ons := &joinOns{}
	onIndex := map[int]int{} // token index of an ON → its index in ons
	for k := from; k < to; k++ {
		if p.toks[k].is("on") {
			onIndex[k] = len(ons.at)
			ons.at = append(ons.at, p.toks[k].start)
			ons.full = append(ons.full, false)
		}
	}
	for k := from; k+1 < to; k++ {
		t := p.toks[k]
		if !t.is("full") {
			continue
		}
		j := k + 1
		if p.toks[j].is("outer") && j+1 < to {
			j++
		}
		if !p.toks[j].is("join") {
			continue
		}
		copy(buf[t.start-start:], "left")
		if m := p.topLevel(j+1, to, func(m int) bool { return p.toks[m].is("on") }); m < to {
			ons.full[onIndex[m]] = true
		}
	}
	return ons
}

// count returns the number of FULL joins.
func (o *joinOns) count() int {
	n := 0
	for _, f := range o.full {
		if f {
			n++
		}
	}
	return n
}

// isFull reports whether the ON keyword last before source offset off
// belongs to a FULL join.
func (o *joinOns) isFull(off int) bool {
	if o == nil || off <= 0 {
		return false
	}
	i := sort.SearchInts(o.at, off) - 1
	return i >= 0 && o.full[i]
}
