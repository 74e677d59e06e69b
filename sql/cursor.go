package sql

import (
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// Cursors as psycopg2's named cursors use them: DECLARE, FETCH, MOVE and
// CLOSE. Only forward reading is supported: our queries stream, and a
// cursor reads them once.

func (p *parser) parseDeclare() (spanSetter, error) {
	p.next() // DECLARE
	d := &Declare{}
	var err error
	if d.Name, d.NamePos, err = p.name(); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case t.is("binary"):
			return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "binary cursors are not supported").
				WithHint("Declare the cursor without BINARY; a driver can ask for binary results with the extended protocol.")
		case t.is("scroll"):
			return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "scrollable cursors are not supported").
				WithHint("Declare the cursor without SCROLL: cursors read forward only.")
		case t.is("insensitive"), t.is("asensitive"):
			p.next()
			continue
		case t.is("no") && p.peekAt(1).is("scroll"):
			p.i += 2
			continue
		}
		break
	}
	if err := p.expect("cursor"); err != nil {
		return nil, err
	}
	switch {
	case p.acceptSeq("with", "hold"):
		d.Hold = true
	case p.acceptSeq("without", "hold"):
	}
	if err := p.expect("for"); err != nil {
		return nil, err
	}
	t := p.peek()
	if !(t.is("select") || t.is("with") || t.punct("(") || t.is("values") || t.is("table")) {
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "a cursor can only be declared for a query").
			WithHint("Write DECLARE name CURSOR FOR SELECT ...")
	}
	if end := len(p.toks) - 1; p.isCatalogQuery(p.i, end) {
		d.Catalog = p.catalogQuery(p.i, end)
		return d, nil
	}
	if d.Query, err = p.parseQuery(p.i, len(p.toks)-1); err != nil {
		return nil, err
	}
	return d, nil
}

// parseFetch reads FETCH or MOVE.
func (p *parser) parseFetch() (spanSetter, error) {
	verb := p.next()
	f := &Fetch{Move: verb.is("move"), Count: 1}
	backward := func(t token) error {
		return p.errAt(t.start, sqlerr.ObjectNotInPrerequisiteState, "cursor can only scan forward").
			WithHint("Cursors read forward only: use FETCH [FORWARD] n, NEXT or ALL.")
	}
	count := func() (bool, error) {
		t := p.peek()
		switch {
		case t.is("all"):
			p.next()
			f.All, f.Count = true, 0
			return true, nil
		case t.kind == tNumber || (t.punct("-") || t.punct("+")) && p.peekAt(1).kind == tNumber:
			p.next()
			text := t.val
			if t.kind != tNumber {
				text = t.text + p.next().val
			}
			n, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return false, p.errAt(t.start, sqlerr.SyntaxError, "syntax error at or near %q", t.text)
			}
			if n < 0 {
				return false, backward(t)
			}
			if n == 0 {
				return false, p.errAt(t.start, sqlerr.FeatureNotSupported, "%s 0 (the current row again) is not supported", strings.ToUpper(verb.val))
			}
			f.Count = n
			return true, nil
		}
		return false, nil
	}
	t := p.peek()
	switch {
	case t.is("next"):
		p.next()
	case t.is("forward"):
		p.next()
		if _, err := count(); err != nil {
			return nil, err
		}
	case t.is("prior"), t.is("first"), t.is("last"), t.is("absolute"), t.is("relative"), t.is("backward"):
		return nil, backward(t)
	default:
		if _, err := count(); err != nil {
			return nil, err
		}
	}
	if !p.accept("from") {
		p.accept("in")
	}
	var err error
	if f.Name, f.NamePos, err = p.name(); err != nil {
		return nil, err
	}
	return f, p.expectEnd()
}

func (p *parser) parseCloseCursor() (spanSetter, error) {
	p.next() // CLOSE
	c := &CloseCursor{}
	if p.accept("all") {
		c.All = true
		return c, p.expectEnd()
	}
	var err error
	if c.Name, c.NamePos, err = p.name(); err != nil {
		return nil, err
	}
	return c, p.expectEnd()
}
