// Package sql owns the dialect users write: it splits a text into
// statements, parses our streaming statements (CREATE SOURCE, CREATE SINK,
// CREATE MATERIALIZED VIEW, SUBSCRIBE, FLUSH, SHOW ..., SET ...) by recursive
// descent over its own small scanner, and hands queries to the TiDB parser
// after rewrites: some keep every byte offset where it was (table functions
// in FROM, $n parameters, plural interval units), and the Postgres syntax
// TiDB does not read (x::t, E'...', ~, ...: pgsyntax.go) is rewritten with
// a map from offsets in the new text back to the user's. It validates WITH options
// against the connector specs in connectors.go. Every error is a
// *sqlerr.Error with a 1-based character position in the text given to Parse.
package sql

import (
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// Parse splits text on ';' and parses every statement. Empty text, or text
// holding only comments and semicolons, gives zero statements.
func Parse(text string) ([]Statement, error) {
	toks, comments, serr := scan(text)
	if serr != nil {
		return nil, serr.At(newCharIndex(text).pos(serr.Position - 1))
	}
	chars := newCharIndex(text)
	var out []Statement
	start := 0
	for i, t := range toks {
		if !t.punct(";") && t.kind != tEOF {
			continue
		}
		if i > start {
			p := &parser{src: text, chars: chars, toks: append(toks[start:i:i], token{kind: tEOF, start: t.start, end: t.start}), comments: comments}
			st, err := p.parseStatementFrom()
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
		start = i + 1
	}
	return out, nil
}

// parser reads the tokens of one statement. toks ends with a tEOF token at
// the statement's end.
type parser struct {
	src      string
	chars    *charIndex // positions in src
	toks     []token
	i        int
	start    int // token index where the current statement starts
	comments []comment
}

func (p *parser) peek() token { return p.toks[p.i] }

// peekAt returns the token k places ahead, or the final tEOF.
func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// accept consumes the bare word w if it is next.
func (p *parser) accept(w string) bool {
	if p.peek().is(w) {
		p.i++
		return true
	}
	return false
}

// acceptSeq consumes the words ws if they are all next.
func (p *parser) acceptSeq(ws ...string) bool {
	for k, w := range ws {
		if !p.peekAt(k).is(w) {
			return false
		}
	}
	p.i += len(ws)
	return true
}

func (p *parser) expect(w string) error {
	t := p.next()
	if !t.is(w) {
		return p.syntaxErr(t)
	}
	return nil
}

func (p *parser) expectPunct(s string) error {
	t := p.next()
	if !t.punct(s) {
		return p.syntaxErr(t)
	}
	return nil
}

// expectEnd checks that the statement has no more tokens.
func (p *parser) expectEnd() error {
	if t := p.peek(); t.kind != tEOF {
		return p.syntaxErr(t)
	}
	return nil
}

// name reads an object or column name.
func (p *parser) name() (string, int, error) {
	t := p.next()
	if !t.isName() {
		return "", 0, p.syntaxErr(t)
	}
	return t.name(), p.pos(t.start), nil
}

// pos converts a byte offset in src to a 1-based character position.
func (p *parser) pos(off int) int { return p.chars.pos(off) }

func (p *parser) errAt(off int, code sqlerr.Code, format string, args ...any) *sqlerr.Error {
	return sqlerr.Newf(code, format, args...).At(p.pos(off))
}

// syntaxErr is Postgres's message for an unexpected token.
func (p *parser) syntaxErr(t token) *sqlerr.Error {
	if t.kind == tEOF {
		return p.errAt(t.start, sqlerr.SyntaxError, "syntax error at end of input")
	}
	return p.errAt(t.start, sqlerr.SyntaxError, "syntax error at or near %q", t.text)
}

// describe names a token for messages.
func describe(t token) string {
	if t.kind == tEOF {
		return "end of input"
	}
	return strconv.Quote(t.text)
}

// span returns the byte range from token index from to the statement's end.
func (p *parser) spanFrom(from int) Span {
	last := len(p.toks) - 2 // the token before tEOF
	if last < from {
		return Span{p.toks[from].start, p.toks[from].start}
	}
	return Span{p.toks[from].start, p.toks[last].end}
}

type spanSetter interface {
	Statement
	setSpan(Span)
}

// parseStatementFrom parses the statement starting at p.i and running to the
// end, setting its span. EXPLAIN calls it for the statement it explains.
func (p *parser) parseStatementFrom() (Statement, error) {
	from := p.i
	p.start = from
	span := p.spanFrom(from)
	st, err := p.dispatch()
	if err != nil {
		return nil, err
	}
	st.setSpan(span)
	return st, nil
}

func (p *parser) dispatch() (spanSetter, error) {
	t := p.peek()
	switch {
	case t.is("select"), t.is("with"), t.punct("("), t.is("values"), t.is("table"):
		if end := len(p.toks) - 1; p.isCatalogQuery(p.i, end) {
			return p.catalogQuery(p.i, end), nil
		}
		return p.parseQuery(p.i, len(p.toks)-1)
	case t.is("create"):
		return p.parseCreate()
	case t.is("drop"):
		return p.parseDrop()
	case t.is("insert"):
		return p.parseInsert()
	case t.is("update"):
		return p.parseUpdate()
	case t.is("delete"):
		return p.parseDelete()
	case t.is("show"):
		return p.parseShow()
	case t.is("streamsql") && p.peekAt(1).is("cluster"):
		return p.parseClusterPeer()
	case t.is("describe"), t.is("desc"):
		p.next()
		name, pos, err := p.name()
		if err != nil {
			return nil, err
		}
		return &Describe{Name: name, NamePos: pos}, p.expectEnd()
	case t.is("explain"):
		return p.parseExplain()
	case t.is("flush"):
		p.next()
		f := &Flush{}
		if p.peek().kind != tEOF {
			var err error
			if f.Name, f.NamePos, err = p.name(); err != nil {
				return nil, err
			}
		}
		return f, p.expectEnd()
	case t.is("subscribe"):
		return p.parseSubscribe()
	case t.is("copy"):
		return p.parseCopy()
	case t.is("declare"):
		return p.parseDeclare()
	case t.is("fetch"), t.is("move"):
		return p.parseFetch()
	case t.is("close"):
		return p.parseCloseCursor()
	case t.is("set"):
		return p.parseSet()
	case t.is("reset"):
		return p.parseReset()
	case t.is("begin"), t.is("start"):
		return p.parseBegin()
	case t.is("commit"), t.is("end"):
		p.next()
		p.accept("work")
		p.accept("transaction")
		return &Commit{}, p.expectEnd()
	case t.is("rollback"), t.is("abort"):
		p.next()
		p.accept("work")
		p.accept("transaction")
		if p.peek().is("to") {
			return nil, p.errAt(p.peek().start, sqlerr.FeatureNotSupported, "savepoints are not supported")
		}
		return &Rollback{}, p.expectEnd()
	}
	return nil, p.unsupported()
}

func (p *parser) parseBegin() (spanSetter, error) {
	if p.next().is("start") {
		if err := p.expect("transaction"); err != nil {
			return nil, err
		}
	} else if !p.accept("work") {
		p.accept("transaction")
	}
	// Transaction modes (ISOLATION LEVEL ..., READ ONLY) are accepted and
	// ignored: every statement runs on its own.
	for p.peek().kind != tEOF {
		p.next()
	}
	return &Begin{}, nil
}

func (p *parser) parseCreate() (spanSetter, error) {
	p.next() // CREATE
	t := p.peek()
	switch {
	case t.is("source"):
		p.next()
		return p.parseCreateSource()
	case t.is("sink"):
		p.next()
		return p.parseCreateSink()
	case t.is("materialized"):
		p.next()
		if err := p.expect("view"); err != nil {
			return nil, err
		}
		return p.parseCreateView()
	case t.is("table"):
		p.next()
		return p.parseCreateTable()
	case t.is("view"):
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "only materialized views are supported").
			WithHint("Use CREATE MATERIALIZED VIEW.")
	case t.is("or"):
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "CREATE OR REPLACE is not supported").
			WithHint("DROP the object and create it again.")
	}
	return nil, p.unsupported()
}

// ifNotExists reads an optional IF NOT EXISTS.
func (p *parser) ifNotExists() bool { return p.acceptSeq("if", "not", "exists") }

func (p *parser) parseDrop() (spanSetter, error) {
	p.next() // DROP
	d := &Drop{}
	t := p.peek()
	switch {
	case t.is("source"):
		d.Kind = KindSource
	case t.is("sink"):
		d.Kind = KindSink
	case t.is("materialized"):
		p.next()
		if !p.peek().is("view") {
			return nil, p.syntaxErr(p.peek())
		}
		d.Kind = KindView
	case t.is("table"):
		d.Kind = KindTable
	case t.is("view"):
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "DROP %s is not supported", strings.ToUpper(t.val)).
			WithHint("Use DROP TABLE, DROP SOURCE, DROP SINK or DROP MATERIALIZED VIEW.")
	default:
		return nil, p.unsupported()
	}
	p.next()
	d.IfExists = p.acceptSeq("if", "exists")
	var err error
	if d.Name, d.NamePos, err = p.name(); err != nil {
		return nil, err
	}
	if p.accept("cascade") {
		d.Cascade = true
	} else {
		p.accept("restrict")
	}
	return d, p.expectEnd()
}

func (p *parser) parseShow() (spanSetter, error) {
	p.next() // SHOW
	t := p.peek()
	switch {
	case t.is("sources"):
		p.next()
		return &ShowObjects{Kind: KindSource}, p.expectEnd()
	case t.is("sinks"):
		p.next()
		return &ShowObjects{Kind: KindSink}, p.expectEnd()
	case t.is("materialized") && p.peekAt(1).is("views"):
		p.i += 2
		return &ShowObjects{Kind: KindView}, p.expectEnd()
	case t.is("tables"):
		p.next()
		return &ShowObjects{Kind: KindTable}, p.expectEnd()
	case t.is("cluster"):
		p.next()
		return &ShowCluster{Leases: p.accept("leases")}, p.expectEnd()
	case t.is("source") && p.peekAt(1).is("status"):
		p.i += 2
		st := &ShowSourceStatus{}
		var err error
		if st.Name, st.NamePos, err = p.name(); err != nil {
			return nil, err
		}
		return st, p.expectEnd()
	case t.is("create"):
		p.next()
		sc := &ShowCreate{}
		k := p.next()
		switch {
		case k.is("source"):
			sc.Kind = KindSource
		case k.is("sink"):
			sc.Kind = KindSink
		case k.is("materialized"):
			if err := p.expect("view"); err != nil {
				return nil, err
			}
			sc.Kind = KindView
		case k.is("table"):
			sc.Kind = KindTable
		default:
			return nil, p.syntaxErr(k)
		}
		var err error
		if sc.Name, sc.NamePos, err = p.name(); err != nil {
			return nil, err
		}
		return sc, p.expectEnd()
	case t.is("databases"), t.is("columns"), t.is("views"):
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "SHOW %s is not supported", strings.ToUpper(t.val)).
			WithHint("Use SHOW SOURCES, SHOW MATERIALIZED VIEWS, SHOW SINKS or DESCRIBE name.")
	case t.is("time") && p.peekAt(1).is("zone"):
		p.i += 2
		return &ShowVar{Name: "timezone"}, p.expectEnd()
	case t.is("transaction") && p.peekAt(1).is("isolation") && p.peekAt(2).is("level"):
		p.i += 3
		return &ShowVar{Name: "transaction_isolation"}, p.expectEnd()
	}
	name, err := p.varName()
	if err != nil {
		return nil, err
	}
	return &ShowVar{Name: name}, p.expectEnd()
}

// varName reads a setting's name: a word or dotted words, lower-cased.
func (p *parser) varName() (string, error) {
	t := p.next()
	if !t.isName() {
		return "", p.syntaxErr(t)
	}
	name := t.name()
	for p.peek().punct(".") {
		p.next()
		part := p.next()
		if !part.isName() {
			return "", p.syntaxErr(part)
		}
		name += "." + part.name()
	}
	return name, nil
}

func (p *parser) parseSet() (spanSetter, error) {
	p.next() // SET
	sv := &SetVar{}
	if p.accept("local") {
		sv.Local = true
	} else {
		p.accept("session")
	}
	switch {
	case p.acceptSeq("time", "zone"):
		sv.Name = "timezone"
		if p.accept("local") || p.accept("default") {
			sv.Default = true
			return sv, p.expectEnd()
		}
	case p.accept("names"):
		sv.Name = "client_encoding"
	default:
		if t := p.peek(); t.is("characteristics") || t.is("transaction") || t.is("session") {
			return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "SET %s is not supported", strings.ToUpper(t.val))
		}
		name, err := p.varName()
		if err != nil {
			return nil, err
		}
		sv.Name = name
		if !p.accept("to") {
			if err := p.expectPunct("="); err != nil {
				return nil, err
			}
		}
		if p.accept("default") {
			sv.Default = true
			return sv, p.expectEnd()
		}
	}
	var vals []string
	for {
		t := p.next()
		switch {
		case t.kind == tString || t.kind == tNumber:
			vals = append(vals, t.val)
		case t.kind == tIdent || t.kind == tQIdent:
			vals = append(vals, t.name())
		case (t.punct("-") || t.punct("+")) && p.peek().kind == tNumber:
			vals = append(vals, strings.TrimPrefix(t.text, "+")+p.next().val)
		default:
			return nil, p.syntaxErr(t)
		}
		if !p.peek().punct(",") {
			break
		}
		p.next()
	}
	sv.Value = strings.Join(vals, ", ")
	return sv, p.expectEnd()
}

func (p *parser) parseReset() (spanSetter, error) {
	p.next() // RESET
	if p.acceptSeq("time", "zone") {
		return &ResetVar{Name: "timezone"}, p.expectEnd()
	}
	name, err := p.varName()
	if err != nil {
		return nil, err
	}
	return &ResetVar{Name: name}, p.expectEnd()
}

// parseExplainAnalyze parses EXPLAIN ANALYZE name: the profile of a
// running view. Unlike Postgres and MySQL it runs nothing: a one-off query
// has no counters to show until it has run, a view has them all along.
func (p *parser) parseExplainAnalyze() (spanSetter, error) {
	p.next() // ANALYZE
	t := p.peek()
	if t.is("select") || t.is("with") || t.is("create") || t.punct("(") {
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "EXPLAIN ANALYZE takes the name of a materialized view")
	}
	name, pos, err := p.name()
	if err != nil {
		return nil, err
	}
	return &ExplainAnalyze{Name: name, NamePos: pos}, p.expectEnd()
}

func (p *parser) parseExplain() (spanSetter, error) {
	p.next() // EXPLAIN
	t := p.peek()
	if t.is("analyze") {
		return p.parseExplainAnalyze()
	}
	if t.punct("(") && p.peekAt(1).kind == tIdent && !p.peekAt(1).is("select") && !p.peekAt(1).is("with") {
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "EXPLAIN options are not supported")
	}
	if t.kind == tEOF {
		return nil, p.syntaxErr(t)
	}
	inner, err := p.parseStatementFrom()
	if err != nil {
		return nil, err
	}
	switch in := inner.(type) {
	case *Select:
		if in.Copy == nil {
			return &Explain{Stmt: inner}, nil
		}
	case *CreateView, *CreateSink:
		return &Explain{Stmt: inner}, nil
	}
	return nil, p.errAt(t.start, sqlerr.FeatureNotSupported,
		"EXPLAIN supports SELECT, CREATE MATERIALIZED VIEW and CREATE SINK")
}

// subscribeOptions are the options of SUBSCRIBE ... WITH (...).
var subscribeOptions = []OptionSpec{
	{Key: "progress", Kind: OptBool, Default: "false",
		Doc: "also emit a progress row each time the view's committed epoch advances"},
	{Key: "snapshot", Kind: OptBool, Default: "true",
		Doc: "start with the view's current rows before its changes"},
}

func (p *parser) parseSubscribe() (*Subscribe, error) {
	p.next() // SUBSCRIBE
	p.accept("to")
	if t := p.peek(); t.punct("(") {
		return nil, p.errAt(t.start, sqlerr.FeatureNotSupported, "SUBSCRIBE to a query is not supported").
			WithHint("Create a materialized view and SUBSCRIBE TO it.")
	}
	s := &Subscribe{}
	var err error
	if s.Name, s.NamePos, err = p.name(); err != nil {
		return nil, err
	}
	if p.accept("with") {
		if s.Options, err = p.parseOptions(); err != nil {
			return nil, err
		}
	}
	if err := validateOptionList("SUBSCRIBE", subscribeOptions, &s.Options); err != nil {
		return nil, err
	}
	return s, nil
}

// topLevel returns the index of the first token in [from, to) outside the
// parentheses opened from from on for which stop is true, or to when
// there is none before to or before a ')' closing one opened before from.
func (p *parser) topLevel(from, to int, stop func(k int) bool) int {
	depth := 0
	for k := from; k < to; k++ {
		switch t := p.toks[k]; {
		case t.punct("("):
			depth++
		case t.punct(")"):
			if depth--; depth < 0 {
				return to
			}
		case depth == 0 && stop(k):
			return k
		}
	}
	return to
}

// matching returns the index of the ')' closing the '(' at index open, or -1.
func (p *parser) matching(open int) int {
	depth := 0
	for k := open; k < len(p.toks); k++ {
		switch {
		case p.toks[k].punct("("):
			depth++
		case p.toks[k].punct(")"):
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return -1
}
