package sql

import (
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// Tables: CREATE TABLE, and the DML statements that change a table's rows.
// The DML statements hand every expression to the TiDB parser as a query
// over the table (see synthQuery), so that the planner binds them as it
// binds any SELECT, and errors point into the statement as written.

// CreateTable is CREATE TABLE name (columns, PRIMARY KEY (...)).
type CreateTable struct {
	stmtBase
	Name        string
	NamePos     int
	IfNotExists bool
	Columns     []ColumnDef
	// PrimaryKey names the key columns in key order; nil for a table
	// without a key (a bag of rows).
	PrimaryKey []string
	Text       string
}

// Insert is INSERT INTO table [(columns)] query [ON DUPLICATE KEY UPDATE
// col = expr, ...]. Query is the VALUES list or the SELECT.
type Insert struct {
	stmtBase
	Table    string
	TablePos int
	// Columns are the columns named after the table, nil for all in
	// order; ColumnPos their positions.
	Columns   []string
	ColumnPos []int
	Query     *Select
	// ValuePos, for a VALUES list, is the position of each value of each
	// row (Query returns the rows in that order), for errors on a value.
	ValuePos [][]int
	// Upsert is the ON DUPLICATE KEY UPDATE list: Set names the columns
	// assigned, and Values is SELECT e1, e2, ... FROM table, table AS
	// excluded, whose row is the stored row then the new one (VALUES(c)
	// reads excluded.c, as EXCLUDED.c does in Postgres).
	Upsert *Assignments
}

// Assignments is SET c = e, ... of UPDATE or ON DUPLICATE KEY UPDATE.
type Assignments struct {
	Set    []string
	SetPos []int
	Values *Select
}

// Update is UPDATE table SET c = e, ... [WHERE cond]. Query is SELECT *,
// e1, e2, ... FROM table [WHERE cond]: each row to change, then its new
// values of Set's columns.
type Update struct {
	stmtBase
	Table    string
	TablePos int
	Set      []string
	SetPos   []int
	Query    *Select
}

// Delete is DELETE FROM table [WHERE cond]. Query is SELECT * FROM table
// [WHERE cond]: the rows to delete.
type Delete struct {
	stmtBase
	Table    string
	TablePos int
	Query    *Select
}

func (p *parser) parseCreateTable() (spanSetter, error) {
	ct := &CreateTable{Text: p.stmtText()}
	ct.IfNotExists = p.ifNotExists()
	var err error
	if ct.Name, ct.NamePos, err = p.name(); err != nil {
		return nil, err
	}
	keyPos := 0
	// key reads PRIMARY KEY at the next token, if it is there, and keeps
	// names as the key.
	key := func(names func() ([]string, error)) (bool, error) {
		t := p.peek()
		if !t.is("primary") || !p.peekAt(1).is("key") {
			return false, nil
		}
		if ct.PrimaryKey != nil {
			return true, p.errAt(t.start, sqlerr.InvalidObjectDefinition, "multiple primary keys for table %q are not allowed", ct.Name)
		}
		p.i += 2
		keyPos = t.start
		ct.PrimaryKey, err = names()
		return true, err
	}
	keyClause := func() (bool, error) { return key(p.nameList) }
	keyAfterColumn := func(_ []ColumnDef, col *ColumnDef) error {
		_, err := key(func() ([]string, error) { return []string{col.Name}, nil })
		return err
	}
	if ct.Columns, err = p.parseColumns("table", keyClause, keyAfterColumn); err != nil {
		return nil, err
	}
	keySeen := map[string]bool{}
	for _, k := range ct.PrimaryKey {
		found := false
		for i := range ct.Columns {
			if ct.Columns[i].Name == k {
				// Postgres: a primary key column is NOT NULL.
				ct.Columns[i].NotNull, found = true, true
			}
		}
		if !found {
			return nil, p.errAt(keyPos, sqlerr.UndefinedColumn, "column %q named in key does not exist", k)
		}
		if keySeen[k] {
			return nil, p.errAt(keyPos, sqlerr.DuplicateColumn, "column %q appears twice in primary key constraint", k)
		}
		keySeen[k] = true
	}
	if p.peek().is("with") {
		return nil, p.errAt(p.peek().start, sqlerr.FeatureNotSupported, "a table takes no WITH options").
			WithHint("A table keeps its rows itself; use CREATE SOURCE to read a Kinesis stream.")
	}
	return ct, p.expectEnd()
}

// nameList reads ( name, ... ).
func (p *parser) nameList() ([]string, error) {
	names, _, err := p.nameListPos()
	return names, err
}

func (p *parser) nameListPos() ([]string, []int, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, nil, err
	}
	var names []string
	var poss []int
	for {
		n, pos, err := p.name()
		if err != nil {
			return nil, nil, err
		}
		names, poss = append(names, n), append(poss, pos)
		t := p.next()
		if t.punct(")") {
			return names, poss, nil
		}
		if !t.punct(",") {
			return nil, nil, p.syntaxErr(t)
		}
	}
}

func (p *parser) parseInsert() (spanSetter, error) {
	p.next() // INSERT
	if err := p.expect("into"); err != nil {
		return nil, err
	}
	ins := &Insert{}
	tableTok := p.i
	var err error
	if ins.Table, ins.TablePos, err = p.name(); err != nil {
		return nil, err
	}
	if p.peek().punct("(") && !p.peekAt(1).is("select") && !p.peekAt(1).is("values") && !p.peekAt(1).is("with") {
		if ins.Columns, ins.ColumnPos, err = p.nameListPos(); err != nil {
			return nil, err
		}
	}
	from := p.i
	end := len(p.toks) - 1
	isUpsert := func(k int) bool {
		return p.toks[k].is("on") && k+3 < end && p.toks[k+1].is("duplicate") && p.toks[k+2].is("key") && p.toks[k+3].is("update")
	}
	conflict := func(k int) bool { return p.toks[k].is("on") && k+1 < end && p.toks[k+1].is("conflict") }
	qEnd := p.topLevel(from, end, func(k int) bool { return isUpsert(k) || conflict(k) || p.toks[k].is("returning") })
	upsert := -1
	switch t := p.toks[qEnd]; {
	case qEnd == end:
	case conflict(qEnd):
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "ON CONFLICT is not supported").
			WithHint("Write ON DUPLICATE KEY UPDATE col = VALUES(col), ...")
	case t.is("returning"):
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "RETURNING is not supported")
	default:
		upsert = qEnd
	}
	if from >= qEnd {
		return nil, p.syntaxErr(p.toks[from])
	}
	if t := p.toks[from]; !t.is("values") && !t.is("select") && !t.is("with") && !t.punct("(") && !t.is("table") {
		return nil, p.syntaxErr(t)
	}
	if p.toks[from].is("values") {
		ins.Query, ins.ValuePos, err = p.valuesQuery(from, qEnd)
	} else {
		ins.Query, err = p.parseQuery(from, qEnd)
	}
	if err != nil {
		return nil, err
	}
	if upsert >= 0 {
		p.i = upsert + 4
		set, err := p.parseAssignments(end)
		if err != nil {
			return nil, err
		}
		// The expressions see the stored row as the table and the new one
		// as excluded; VALUES(c) becomes excluded.c.
		pieces := []qpiece{{text: "SELECT ", at: p.toks[upsert].start}}
		for i, e := range set.exprs {
			if i > 0 {
				pieces = append(pieces, qpiece{text: ", ", at: p.toks[e[0]].start})
			}
			pieces = append(pieces, p.valuesAsExcluded(e[0], e[1])...)
		}
		pieces = append(pieces, qpiece{text: " FROM ", at: p.toks[tableTok].start},
			p.tokPiece(tableTok, tableTok+1), qpiece{text: ", ", at: p.toks[tableTok].start},
			p.tokPiece(tableTok, tableTok+1), qpiece{text: " AS excluded", at: p.toks[tableTok].start})
		q, err := p.synthQuery(pieces)
		if err != nil {
			return nil, err
		}
		q.QualifiedOnly = "excluded"
		ins.Upsert = &Assignments{Set: set.cols, SetPos: set.pos, Values: q}
	}
	return ins, nil
}

// assignments are the parsed c = e, ... of a SET list: each expression as
// a token range [from, to).
type assignments struct {
	cols  []string
	pos   []int
	exprs [][2]int
}

// parseAssignments reads c = e, ... from p.i up to token index end or a
// WHERE at depth 0.
func (p *parser) parseAssignments(end int) (assignments, error) {
	var a assignments
	for {
		name, pos, err := p.name()
		if err != nil {
			return a, err
		}
		if p.peek().punct(".") { // t.c = ...: the table's own column
			p.next()
			if name, pos, err = p.name(); err != nil {
				return a, err
			}
		}
		if err := p.expectPunct("="); err != nil {
			return a, err
		}
		from := p.i
		k := p.topLevel(from, end, func(k int) bool { return p.toks[k].punct(",") || p.toks[k].is("where") })
		if k == from {
			return a, p.syntaxErr(p.toks[k])
		}
		a.cols, a.pos, a.exprs = append(a.cols, name), append(a.pos, pos), append(a.exprs, [2]int{from, k})
		p.i = k
		if !p.peek().punct(",") {
			return a, nil
		}
		p.next()
	}
}

// valuesAsExcluded returns tokens [from, to) as pieces, with VALUES(c)
// written excluded.c.
func (p *parser) valuesAsExcluded(from, to int) []qpiece {
	var out []qpiece
	start := from
	for k := from; k < to; k++ {
		if p.toks[k].is("values") && k+3 < to+1 && p.toks[k+1].punct("(") && p.toks[k+2].isName() && p.toks[k+3].punct(")") {
			if k > start {
				out = append(out, p.tokPiece(start, k))
			}
			out = append(out, qpiece{text: "excluded.", at: p.toks[k].start}, p.tokPiece(k+2, k+3))
			start = k + 4
			k += 3
		}
	}
	if start < to {
		out = append(out, p.tokPiece(start, to))
	}
	return out
}

func (p *parser) parseUpdate() (spanSetter, error) {
	p.next() // UPDATE
	up := &Update{}
	tableTok := p.i
	var err error
	if up.Table, up.TablePos, err = p.name(); err != nil {
		return nil, err
	}
	if err := p.expect("set"); err != nil {
		return nil, err
	}
	end := len(p.toks) - 1
	set, err := p.parseAssignments(end)
	if err != nil {
		return nil, err
	}
	up.Set, up.SetPos = set.cols, set.pos
	pieces := []qpiece{{text: "SELECT *", at: p.toks[p.start].start}}
	for _, e := range set.exprs {
		pieces = append(pieces, qpiece{text: ", ", at: p.toks[e[0]].start}, p.tokPiece(e[0], e[1]))
	}
	pieces = append(pieces, qpiece{text: " FROM ", at: p.toks[tableTok].start}, p.tokPiece(tableTok, tableTok+1))
	if pw, err := p.wherePieces(end); err != nil {
		return nil, err
	} else {
		pieces = append(pieces, pw...)
	}
	if up.Query, err = p.synthQuery(pieces); err != nil {
		return nil, err
	}
	return up, nil
}

// wherePieces reads an optional WHERE cond running to token index end.
func (p *parser) wherePieces(end int) ([]qpiece, error) {
	if p.i >= end {
		return nil, nil
	}
	t := p.next()
	if !t.is("where") {
		return nil, p.syntaxErr(t)
	}
	if p.i >= end {
		return nil, p.syntaxErr(p.peek())
	}
	return []qpiece{{text: " WHERE ", at: t.start}, p.tokPiece(p.i, end)}, nil
}

func (p *parser) parseDelete() (spanSetter, error) {
	p.next() // DELETE
	if err := p.expect("from"); err != nil {
		return nil, err
	}
	del := &Delete{}
	tableTok := p.i
	var err error
	if del.Table, del.TablePos, err = p.name(); err != nil {
		return nil, err
	}
	end := len(p.toks) - 1
	pieces := []qpiece{{text: "SELECT * FROM ", at: p.toks[p.start].start}, p.tokPiece(tableTok, tableTok+1)}
	pw, err := p.wherePieces(end)
	if err != nil {
		return nil, err
	}
	if del.Query, err = p.synthQuery(append(pieces, pw...)); err != nil {
		return nil, err
	}
	return del, nil
}

// qpiece is part of a query built by synthQuery: text of ours, standing at
// byte offset at of the statement for positions, or (src) the statement's
// own text from byte at on.
type qpiece struct {
	text string
	at   int
	src  bool
}

// tokPiece is tokens [from, to) of the statement as written.
func (p *parser) tokPiece(from, to int) qpiece {
	s, e := p.toks[from].start, p.toks[to-1].end
	return qpiece{text: p.src[s:e], at: s, src: true}
}

// synthQuery parses a query made of pieces as parseQuery parses one
// written out: positions in it, and in its errors, point into the
// statement (a word of ours at its anchor).
func (p *parser) synthQuery(pieces []qpiece) (*Select, error) {
	var b strings.Builder
	starts := make([]int, len(pieces))
	for i, pc := range pieces {
		starts[i] = b.Len()
		b.WriteString(pc.text)
	}
	text := b.String()
	toSrc := func(off int) int {
		for i := len(pieces) - 1; i >= 0; i-- {
			if off >= starts[i] {
				if pieces[i].src {
					return pieces[i].at + min(off-starts[i], len(pieces[i].text))
				}
				return pieces[i].at
			}
		}
		return pieces[0].at
	}
	toks, comments, serr := scan(text)
	if serr != nil {
		return nil, serr.At(p.pos(toSrc(serr.Position - 1)))
	}
	sub := &parser{src: text, chars: newCharIndex(text), toks: toks, comments: comments}
	if toks[len(toks)-1].kind != tEOF {
		sub.toks = append(sub.toks, token{kind: tEOF, start: len(text), end: len(text)})
	}
	q, err := sub.parseQuery(0, len(sub.toks)-1)
	if err != nil {
		if e, ok := err.(*sqlerr.Error); ok && e.Position > 0 {
			return nil, e.At(p.pos(toSrc(byteOf(text, e.Position-1))))
		}
		return nil, err
	}
	inner := q.srcOff
	q.srcOff = func(off int) int { return toSrc(inner(off)) }
	q.chars = p.chars
	if q.paramPos > 0 {
		q.paramPos = p.pos(toSrc(byteOf(text, q.paramPos-1)))
	}
	q.Offset = pieces[0].at
	return q, nil
}

// byteOf returns the byte offset of the n-th character (0-based) of text.
func byteOf(text string, n int) int {
	for i := range text {
		if n == 0 {
			return i
		}
		n--
	}
	return len(text)
}

// valuesQuery reads VALUES (row), ... in tokens [from, to) as SELECT row
// UNION ALL SELECT ...: TiDB reads no VALUES list as a query.
func (p *parser) valuesQuery(from, to int) (*Select, [][]int, error) {
	var pieces []qpiece
	var pos [][]int
	k := from + 1
	for {
		if k >= to || !p.toks[k].punct("(") {
			return nil, nil, p.syntaxErr(p.toks[k])
		}
		close := p.matching(k)
		if close < 0 || close >= to {
			return nil, nil, p.syntaxErr(p.toks[to])
		}
		if close == k+1 {
			return nil, nil, p.syntaxErr(p.toks[close])
		}
		// Where each value starts: after the '(' and each comma at depth 0.
		row := []int{p.pos(p.toks[k+1].start)}
		depth := 0
		for m := k + 1; m < close; m++ {
			switch t := p.toks[m]; {
			case t.punct("("):
				depth++
			case t.punct(")"):
				depth--
			case depth == 0 && t.punct(",") && m+1 < close:
				row = append(row, p.pos(p.toks[m+1].start))
			}
		}
		pos = append(pos, row)
		word := "SELECT "
		if len(pieces) > 0 {
			word = " UNION ALL SELECT "
		}
		pieces = append(pieces, qpiece{text: word, at: p.toks[k].start}, p.tokPiece(k+1, close))
		k = close + 1
		if k == to {
			break
		}
		if !p.toks[k].punct(",") {
			return nil, nil, p.syntaxErr(p.toks[k])
		}
		k++
	}
	q, err := p.synthQuery(pieces)
	return q, pos, err
}
