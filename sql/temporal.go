package sql

import "github.com/streamsql/streamsql/sql/sqlerr"

// Temporal is FOR SYSTEM_TIME AS OF after a relation in FROM (Flink's and
// RisingWave's temporal join): the relation is looked up as of when each
// row of the other side is processed. The MySQL grammar has no such
// clause, so parseQuery blanks it (keeping every byte offset) and records
// it here.
type Temporal struct {
	// ProcTime is AS OF PROCTIME(); otherwise Column (Qualifier.Column,
	// Qualifier "" when not qualified) names the time.
	ProcTime  bool
	Qualifier string
	Column    string
	Pos       int // of FOR
}

// temporalClause recognises FOR SYSTEM_TIME AS OF expr at token k, after
// the relation named by token k-1: it blanks it in buf, adds it to q under
// the relation's alias (or name) and returns the index of its last token;
// -1 when no such clause is at k.
func (p *parser) temporalClause(k, to, start int, buf []byte, q *Select) (int, error) {
	t := p.toks[k]
	if !t.is("for") || k+4 >= to+1 || !p.toks[k+1].is("system_time") || k == 0 || !p.toks[k-1].isName() {
		return -1, nil
	}
	if !p.toks[k+2].is("as") || !p.toks[k+3].is("of") {
		return -1, p.syntaxErr(p.toks[k+2])
	}
	tm := &Temporal{Pos: p.pos(t.start)}
	e := k + 4
	last := -1
	switch {
	case e+2 < to+1 && p.toks[e].is("proctime") && p.toks[e+1].punct("(") && p.toks[e+2].punct(")"):
		tm.ProcTime, last = true, e+2
	case e+2 < to && p.toks[e].isName() && p.toks[e+1].punct(".") && p.toks[e+2].isName():
		tm.Qualifier, tm.Column, last = p.toks[e].name(), p.toks[e+2].name(), e+2
	case e < to && p.toks[e].isName():
		tm.Column, last = p.toks[e].name(), e
	default:
		return -1, p.errAt(p.toks[e].start, sqlerr.FeatureNotSupported,
			"FOR SYSTEM_TIME AS OF takes PROCTIME() or a processing-time column").
			WithHint("Write FOR SYSTEM_TIME AS OF PROCTIME().")
	}
	if last >= to {
		return -1, p.syntaxErr(p.toks[to])
	}
	for b := t.start; b < p.toks[last].end; b++ {
		buf[b-start] = ' '
	}
	// The alias follows the clause: AS x, or x.
	alias := p.toks[k-1].name()
	if a := last + 1; a < to {
		switch {
		case p.toks[a].is("as") && a+1 < to && p.toks[a+1].isName():
			alias = p.toks[a+1].name()
		case p.toks[a].kind == tQIdent || p.toks[a].kind == tIdent && !isClauseWord(p.toks[a].val) && !joinWords[asciiLower(p.toks[a].val)]:
			alias = p.toks[a].name()
		}
	}
	if q.Temporal == nil {
		q.Temporal = map[string]*Temporal{}
	}
	q.Temporal[alias] = tm
	return last, nil
}

// joinWords may follow a relation in FROM without being its alias.
var joinWords = map[string]bool{"join": true, "inner": true, "left": true, "right": true, "cross": true,
	"natural": true, "full": true, "straight_join": true, "outer": true, "emit": true}
