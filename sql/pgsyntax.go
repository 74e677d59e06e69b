package sql

import (
	"sort"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// The Postgres spellings drivers and people send, rewritten into text the
// TiDB parser reads (see docs/sql.md, "Postgres compatibility"):
//
//	x::t, CAST(x AS t) for a Postgres t   __pgcast(x, i)   (Select.Casts[i] is t)
//	interval '1 day 2 hours'              __pgcast('1 day 2 hours', i)
//	E'a\nb'                               'a<newline>b'
//	a ~ b, a !~ b                         a REGEXP b, a NOT REGEXP b
//	a ~* b, a !~* b                       a REGEXP concat('(?i)', b), ...
//	OPERATOR(pg_catalog.~)                the operator itself
//	COLLATE pg_catalog.default, "C"       nothing
//	a IS NOT DISTINCT FROM b              a <=> b
//	a IS DISTINCT FROM b                  a <=> b IS FALSE
//	current_user, session_user, user      current_user(), ...
//
// The rewrite changes lengths, so it keeps a posMap from offsets in the
// rewritten text back to offsets in the client's text.

// CastFunc is the name of the call a Postgres cast becomes: __pgcast(expr, i)
// casts expr to Select.Casts[i].
const CastFunc = "__pgcast"

// Cast is the target of a Postgres cast.
type Cast struct {
	Type types.Type
	// Name is the name Postgres gives the column of a cast whose operand has
	// none ('1'::int is int4), and the type's name in messages.
	Name string
	Pos  int
	// TimeOfDay marks a cast to TIME: Type is TEXT, and the value is the
	// time of day as 'HH:MM:SS[.ffffff]' (we have no TIME type).
	TimeOfDay bool
}

// posMap maps byte offsets in a rewritten text to byte offsets in the
// original text. Each segment is a run of the output either copied from the
// source (offsets map one to one) or inserted by us (every offset maps to
// the source offset it stands for).
type posMap struct{ segs []posSeg }

type posSeg struct {
	out, src, n int
	copied      bool
}

// src returns the source offset of output offset off.
func (m *posMap) src(off int) int {
	if len(m.segs) == 0 {
		return off
	}
	i := sort.Search(len(m.segs), func(i int) bool { return m.segs[i].out > off }) - 1
	if i < 0 {
		i = 0
	}
	s := m.segs[i]
	if !s.copied {
		return s.src
	}
	return s.src + min(max(off-s.out, 0), s.n)
}

// piece is one run of the rewritten text: buf's bytes [src, srcEnd) when
// copied, else text of ours standing for src; with our pre and post text
// around it.
type piece struct {
	pre, text, post string
	src, srcEnd     int
	copied          bool
}

type rewriter struct {
	p          *parser
	from, to   int
	start      int    // byte offset in p.src of buf[0]
	buf        []byte // the same-length rewrite of p.src[start:...]
	skip       map[int]int
	pieces     []piece
	castStart  map[int]int    // last token of a rewritten operand → its first token
	firstPiece []int          // token index - from → index of its piece
	posts      map[int]string // token index → text to add after it
	casts      []Cast
}

// rewritePostgres rewrites tokens [from, to), whose text (after the
// same-length rewrites) is buf, starting at byte start. skip maps the first
// token of a range that must be copied as is (a table function call) to its
// last token. Cast targets are appended to *casts, whose indexes the
// rewritten text uses.
func (p *parser) rewritePostgres(from, to, start int, buf []byte, skip map[int]int, casts *[]Cast) (string, *posMap, error) {
	if !p.mayNeedRewrite(from, to) {
		// The text as it is, mapped through one segment: most queries, and
		// long IN lists, pay no more than this scan.
		if from >= to {
			return "", &posMap{}, nil
		}
		a, b := p.toks[from].start, p.toks[to-1].end
		return string(buf[a-start : b-start]), &posMap{segs: []posSeg{{out: 0, src: a, n: b - a, copied: true}}}, nil
	}
	return p.rewriteAll(from, to, start, buf, skip, casts)
}

// rewriteAll is rewritePostgres without the shortcut.
func (p *parser) rewriteAll(from, to, start int, buf []byte, skip map[int]int, casts *[]Cast) (string, *posMap, error) {
	rw := &rewriter{p: p, from: from, to: to, start: start, buf: buf, skip: skip,
		castStart: map[int]int{}, firstPiece: make([]int, to-from), posts: map[int]string{}, casts: *casts,
		pieces: make([]piece, 0, 2*(to-from)+4)} // a token and the gap before it, each
	err := rw.run()
	*casts = rw.casts
	if err != nil {
		return "", nil, err
	}
	text, m := rw.build()
	return text, m, nil
}

// mayNeedRewrite reports whether tokens [from, to) hold a token the
// rewriter acts on (see run): when none does, the text stays as it is. It
// errs on the side of true: run decides.
func (p *parser) mayNeedRewrite(from, to int) bool {
	for k := from; k < to; k++ {
		t := p.toks[k]
		switch {
		case t.escaped, t.punct("::"), isRegexOp(t),
			t.is("cast"), t.is("interval"), t.is("operator"), t.is("collate"), t.is("is"),
			t.kind == tIdent && inLower(sessionWords, t.val):
			return true
		}
	}
	return false
}

func (rw *rewriter) tok(k int) token { return rw.p.toks[k] }

// emitTok emits token k: its bytes of buf, or for an E'...' string the
// standard string with the same value.
func (rw *rewriter) emitTok(k int) {
	t := rw.tok(k)
	rw.firstPiece[k-rw.from] = len(rw.pieces)
	if t.escaped {
		rw.pieces = append(rw.pieces, piece{text: quoteString(t.val), src: t.start, srcEnd: t.end})
		return
	}
	rw.pieces = append(rw.pieces, piece{src: t.start, srcEnd: t.end, copied: true})
}

// emit adds text of ours standing for source offset src.
func (rw *rewriter) emit(text string, src int) {
	rw.pieces = append(rw.pieces, piece{text: text, src: src, srcEnd: src})
}

// gap emits what lies between token k-1 and token k (spaces, blanked
// comments).
func (rw *rewriter) gap(k int) {
	if k == rw.from {
		return
	}
	prev := rw.tok(k - 1).end
	if t := rw.tok(k); t.start > prev {
		rw.pieces = append(rw.pieces, piece{src: prev, srcEnd: t.start, copied: true})
	}
}

// flushPosts adds the text waiting to follow tokens [a, b) (the ')' of a
// ~* pattern, IS FALSE) after the last piece, which stands for them.
func (rw *rewriter) flushPosts(a, b int) {
	for k := a; k < b; k++ {
		if s, ok := rw.posts[k]; ok {
			rw.pieces[len(rw.pieces)-1].post += s
			delete(rw.posts, k)
		}
	}
}

func (rw *rewriter) run() error {
	castAs := map[int]int{} // token index of AS in CAST(x AS t) → its ')'
	castIdx := map[int]int{}
	for k := rw.from; k < rw.to; k++ {
		rw.gap(k)
		t := rw.tok(k)
		if last, ok := rw.skip[k]; ok {
			for j := k; j <= last; j++ {
				if j > k {
					rw.gap(j)
				}
				tj := rw.tok(j)
				rw.pieces = append(rw.pieces, piece{src: tj.start, srcEnd: tj.end, copied: true})
			}
			k = last
			continue
		}
		switch {
		case t.punct("::"):
			s := rw.operandStart(k - 1)
			if s < 0 {
				return rw.p.syntaxErr(t)
			}
			c, n, err := rw.castType(k + 1)
			if err != nil {
				return err
			}
			rw.wrap(s, CastFunc+"(")
			rw.emit(", "+strconv.Itoa(len(rw.casts))+")", t.start)
			rw.casts = append(rw.casts, c)
			rw.flushPosts(k, k+1+n)
			rw.castStart[k+n] = s
			k += n
			continue
		case t.is("cast") && k+1 < rw.to && rw.tok(k+1).punct("("):
			if as, close, c, ok := rw.castCall(k); ok {
				castAs[as] = close
				castIdx[as] = len(rw.casts)
				rw.casts = append(rw.casts, c)
				rw.firstPiece[k-rw.from] = len(rw.pieces)
				rw.emit(CastFunc, t.start)
				continue
			}
		case castAs[k] > 0:
			close := castAs[k]
			rw.emit(", "+strconv.Itoa(castIdx[k]), t.start)
			rw.flushPosts(k, close)
			k = close - 1
			continue
		case t.is("interval") && k+1 < rw.to && rw.tok(k+1).kind == tString && !rw.isUnit(k+2):
			st := rw.tok(k + 1)
			if _, err := types.ParseText(types.TypeInterval, st.val); err != nil {
				return rw.p.errAt(st.start, sqlerr.InvalidDatetimeFormat, "invalid input syntax for type interval: %q", st.val)
			}
			rw.firstPiece[k-rw.from] = len(rw.pieces)
			rw.emit(CastFunc+"(", t.start)
			rw.gap(k + 1)
			rw.emitTok(k + 1)
			rw.emit(", "+strconv.Itoa(len(rw.casts))+")", st.end)
			rw.casts = append(rw.casts, Cast{Type: types.TypeInterval, Name: "interval", Pos: rw.p.pos(t.start)})
			rw.flushPosts(k, k+2)
			rw.castStart[k+1] = k
			k++
			continue
		case isRegexOp(t) && k > rw.from && rw.endsOperand(k-1):
			if err := rw.regex(k, t.text, t.start); err != nil {
				return err
			}
			continue
		case t.is("operator") && k+1 < rw.to && rw.tok(k+1).punct("("):
			close := rw.p.matching(k + 1)
			if close < 0 || close >= rw.to {
				return rw.p.syntaxErr(t)
			}
			op := ""
			for j := k + 2; j < close; j++ {
				if tj := rw.tok(j); tj.punct(".") {
					op = ""
				} else if tj.kind == tPunct {
					op += tj.text
				}
			}
			if op == "" {
				return rw.p.syntaxErr(rw.tok(close))
			}
			if isRegexOp(token{kind: tPunct, text: op}) {
				if err := rw.regex(k, op, t.start); err != nil {
					return err
				}
			} else {
				rw.emit(" "+op+" ", t.start)
			}
			rw.flushPosts(k, close+1)
			k = close
			continue
		case t.is("collate"):
			if n := rw.defaultCollation(k + 1); n > 0 {
				rw.emit(" ", t.start)
				rw.flushPosts(k, k+1+n)
				k += n
				continue
			}
		case t.is("is") && rw.distinct(k) > 0:
			n := rw.distinct(k)
			rw.emit(" <=> ", t.start)
			if n == 3 {
				end := rw.comparisonEnd(k + 3)
				rw.posts[end] += " IS FALSE"
			}
			k += n - 1
			continue
		case t.kind == tIdent && inLower(sessionWords, t.val) && !rw.tok(k+1).punct("(") && !rw.tok(k+1).punct(".") &&
			(k == rw.from || (!rw.tok(k-1).punct(".") && !rw.tok(k-1).is("as"))):
			rw.emitTok(k)
			rw.pieces[len(rw.pieces)-1].post += "()"
			rw.flushPosts(k, k+1)
			continue
		}
		rw.emitTok(k)
		rw.flushPosts(k, k+1)
	}
	return nil
}

// sessionWords are Postgres's functions called without parentheses.
var sessionWords = map[string]bool{
	"current_user": true, "session_user": true, "user": true, "current_role": true,
	"current_schema": true, "current_catalog": true,
}

// wrap puts text before the piece of token s.
func (rw *rewriter) wrap(s int, text string) {
	i := rw.firstPiece[s-rw.from]
	rw.pieces[i].pre = text + rw.pieces[i].pre
}

func isRegexOp(t token) bool {
	return t.kind == tPunct && (t.text == "~" || t.text == "~*" || t.text == "!~" || t.text == "!~*")
}

// regex emits the regular expression match op at token k.
func (rw *rewriter) regex(k int, op string, src int) error {
	not := ""
	if strings.HasPrefix(op, "!") {
		not = "NOT "
	}
	if !strings.HasSuffix(op, "*") {
		rw.emit(" "+not+"REGEXP ", src)
		return nil
	}
	next := k + 1
	if rw.tok(k).is("operator") {
		next = rw.p.matching(k+1) + 1
	}
	end := rw.operandEnd(next)
	if end < 0 {
		return rw.p.syntaxErr(rw.tok(next))
	}
	rw.emit(" "+not+"REGEXP concat('(?i)', ", src)
	rw.posts[end] += ")"
	return nil
}

// operandKeywords are words that are not a value or a function's name.
var operandKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "exists": true, "select": true, "where": true,
	"when": true, "then": true, "else": true, "on": true, "as": true, "by": true, "from": true,
	"join": true, "values": true, "is": true, "like": true, "ilike": true, "between": true, "any": true,
	"all": true, "some": true, "using": true, "over": true, "case": true, "having": true,
	"distinct": true, "with": true, "regexp": true, "rlike": true, "div": true, "mod": true,
	"xor": true, "escape": true, "limit": true, "offset": true, "group": true, "order": true,
	"union": true, "except": true, "intersect": true, "end": true,
}

// endsOperand reports whether token k can end an operand, so that a
// following ~ is the binary operator, not bitwise NOT.
func (rw *rewriter) endsOperand(k int) bool {
	t := rw.tok(k)
	switch t.kind {
	case tNumber, tString, tQIdent, tParam:
		return true
	case tIdent:
		return !operandKeywords[strings.ToLower(t.val)]
	}
	return t.punct(")") || t.punct("]")
}

// operandStart finds the first token of the operand ending at token k: the
// left of x::t, which binds tighter than any operator.
func (rw *rewriter) operandStart(k int) int {
	if k < rw.from {
		return -1
	}
	if s, ok := rw.castStart[k]; ok {
		return s
	}
	t := rw.tok(k)
	s := k
	switch {
	case t.punct(")"):
		depth := 0
		for s = k; s >= rw.from; s-- {
			if rw.tok(s).punct(")") {
				depth++
			} else if rw.tok(s).punct("(") {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if s < rw.from {
			return -1
		}
		if s-1 >= rw.from && rw.tok(s-1).isName() && !(rw.tok(s-1).kind == tIdent && operandKeywords[strings.ToLower(rw.tok(s-1).val)]) {
			s--
			for s-2 >= rw.from && rw.tok(s-1).punct(".") && rw.tok(s-2).isName() {
				s -= 2
			}
		}
	case t.kind == tString:
		if s-1 >= rw.from {
			if w := rw.tok(s - 1); w.is("date") || w.is("timestamp") || w.is("time") {
				s--
			}
		}
	case t.kind == tNumber || t.kind == tParam || t.punct("?"):
	case t.is("end"):
		// CASE ... END::t: back to the CASE of this END.
		depth, parens := 0, 0
		for s = k; s >= rw.from; s-- {
			u := rw.tok(s)
			switch {
			case u.punct(")"):
				parens++
			case u.punct("("):
				parens--
			case parens == 0 && u.is("end"):
				depth++
			case parens == 0 && u.is("case"):
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if s < rw.from {
			return -1
		}
	case t.isName():
		if t.kind == tIdent && operandKeywords[strings.ToLower(t.val)] {
			return -1
		}
		for s-2 >= rw.from && rw.tok(s-1).punct(".") && rw.tok(s-2).isName() {
			s -= 2
		}
	default:
		return -1
	}
	return s
}

// operandEnd finds the last token of the operand starting at token k,
// with any ::casts after it.
func (rw *rewriter) operandEnd(k int) int {
	if k >= rw.to {
		return -1
	}
	t := rw.tok(k)
	e := k
	switch {
	case t.punct("("):
		e = rw.p.matching(k)
	case t.kind == tString || t.kind == tNumber || t.kind == tParam || t.punct("?"):
	case t.isName():
		for e+2 < rw.to && rw.tok(e+1).punct(".") && rw.tok(e+2).isName() {
			e += 2
		}
		if e+1 < rw.to && rw.tok(e+1).punct("(") {
			e = rw.p.matching(e + 1)
		}
	default:
		return -1
	}
	if e < 0 || e >= rw.to {
		return -1
	}
	for e+1 < rw.to && rw.tok(e+1).punct("::") {
		sub := rw.p.sub(e+2, min(rw.to, e+2+maxTypeTokens))
		if _, err := sub.parsePGType(); err != nil {
			return e
		}
		e += 1 + sub.i
	}
	return e
}

// comparisonEnd finds the last token of the right operand of a comparison
// starting at token k: up to AND, OR, a comparison, a clause word or the
// end of the enclosing parentheses.
func (rw *rewriter) comparisonEnd(k int) int {
	depth := 0
	last := k
	for j := k; j < rw.to; j++ {
		t := rw.tok(j)
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			if depth == 0 {
				return last
			}
			depth--
		case depth > 0:
		case t.punct(",") || t.punct("=") || t.punct("<>") || t.punct("!=") || t.punct("<") || t.punct(">") ||
			t.punct("<=") || t.punct(">=") || t.punct("<=>"):
			return last
		case t.kind == tIdent:
			switch strings.ToLower(t.val) {
			case "and", "or", "is", "then", "when", "else", "end", "as", "from", "where", "group", "order",
				"limit", "having", "union", "except", "intersect", "not", "like", "ilike", "in", "between", "asc", "desc":
				return last
			}
		}
		last = j
	}
	return last
}

// distinct reports the length of IS [NOT] DISTINCT FROM at token k: 4 for
// the NOT form, 3 without, 0 when it is not there.
func (rw *rewriter) distinct(k int) int {
	if k+3 < rw.to && rw.tok(k+1).is("not") && rw.tok(k+2).is("distinct") && rw.tok(k+3).is("from") {
		return 4
	}
	if k+2 < rw.to && rw.tok(k+1).is("distinct") && rw.tok(k+2).is("from") {
		return 3
	}
	return 0
}

// defaultCollation reports the number of tokens of a collation name at k
// that means the default order (pg_catalog.default, "C", "POSIX",
// "default"): we compare strings by code point, which is what they ask.
func (rw *rewriter) defaultCollation(k int) int {
	if k >= rw.to {
		return 0
	}
	n := 0
	if rw.tok(k).name() == "pg_catalog" && k+2 < rw.to && rw.tok(k+1).punct(".") {
		n, k = 2, k+2
	}
	if t := rw.tok(k); t.isName() {
		switch strings.ToLower(t.val) {
		case "default", "c", "posix", "ucs_basic":
			return n + 1
		}
	}
	return 0
}

// isUnit reports whether token k is a MySQL interval unit, as in
// INTERVAL '1' HOUR.
func (rw *rewriter) isUnit(k int) bool {
	if k >= rw.to {
		return false
	}
	t := rw.tok(k)
	if t.kind != tIdent {
		return false
	}
	u := strings.ToLower(t.val)
	if _, ok := compoundUnits[u]; ok {
		return true
	}
	_, ok := lookupUnit(u)
	return ok
}

// castType reads the type after :: at token k and returns it with its
// length in tokens.
func (rw *rewriter) castType(k int) (Cast, int, error) {
	// A window of tokens, not the rest of the query: sub copies them, and
	// a query may hold thousands of casts.
	sub := rw.p.sub(k, min(rw.to, k+maxTypeTokens))
	c, err := sub.parsePGType()
	if err != nil {
		return Cast{}, 0, err
	}
	c.Pos = rw.p.pos(rw.tok(k - 1).start)
	return c, sub.i, nil
}

// maxTypeTokens bounds the tokens of a type name: the longest,
// pg_catalog.timestamp(6) with time zone, has 9.
const maxTypeTokens = 12

// mysqlCastTargets are the CAST targets TiDB parses: CAST(x AS SIGNED)
// keeps MySQL's meaning.
var mysqlCastTargets = map[string]bool{
	"signed": true, "unsigned": true, "binary": true, "char": true, "nchar": true, "datetime": true,
	"year": true, "decimal": true, "double": true, "float": true, "json": true, "date": true,
}

// castCall checks CAST( at token k for a Postgres type: it returns the
// index of AS, of the closing parenthesis and the target.
func (rw *rewriter) castCall(k int) (as, close int, c Cast, ok bool) {
	close = rw.p.matching(k + 1)
	if close < 0 || close >= rw.to {
		return 0, 0, Cast{}, false
	}
	depth := 0
	as = -1
	for j := k + 2; j < close; j++ {
		t := rw.tok(j)
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
		case depth == 0 && t.is("as"):
			as = j
		}
	}
	if as < 0 || as+1 >= close {
		return 0, 0, Cast{}, false
	}
	first := rw.tok(as + 1)
	if first.kind == tIdent && mysqlCastTargets[strings.ToLower(first.val)] && !(first.is("double") && rw.tok(as+2).is("precision")) {
		return 0, 0, Cast{}, false
	}
	if first.is("time") && !rw.tok(as+2).is("with") && !rw.tok(as+2).is("without") {
		// CAST(x AS TIME[(n)]) is MySQL's TIME; Postgres's spellings
		// with a zone clause stay a time of day.
		return 0, 0, Cast{}, false
	}
	sub := rw.p.sub(as+1, close)
	c, err := sub.parsePGType()
	if err != nil || sub.i != close-as-1 {
		return 0, 0, Cast{}, false
	}
	c.Pos = rw.p.pos(rw.tok(k).start)
	return as, close, c, true
}

// build joins the pieces into the rewritten text and its position map.
func (rw *rewriter) build() (string, *posMap) {
	var b strings.Builder
	b.Grow(len(rw.buf) + 16)
	m := &posMap{}
	add := func(s string, src int, copied bool) {
		if s == "" {
			return
		}
		// Copied runs that continue the previous one in both texts are one
		// segment: a query without Postgres forms maps through a single one.
		if k := len(m.segs) - 1; copied && k >= 0 && m.segs[k].copied &&
			m.segs[k].src+m.segs[k].n == src && m.segs[k].out+m.segs[k].n == b.Len() {
			m.segs[k].n += len(s)
		} else {
			m.segs = append(m.segs, posSeg{out: b.Len(), src: src, n: len(s), copied: copied})
		}
		b.WriteString(s)
	}
	for _, pc := range rw.pieces {
		add(pc.pre, pc.src, false)
		if pc.copied {
			add(string(rw.buf[pc.src-rw.start:pc.srcEnd-rw.start]), pc.src, true)
		} else {
			add(pc.text, pc.src, false)
		}
		add(pc.post, pc.srcEnd, false)
	}
	return b.String(), m
}

// quoteString renders s as a standard SQL string literal.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// parsePGType reads a Postgres type name, as written after :: or in
// CAST(x AS t): optionally qualified by pg_catalog, with Postgres's
// multi-word names. See docs/sql.md for the mapping to our types.
func (p *parser) parsePGType() (Cast, error) {
	if p.peek().name() == "pg_catalog" && p.peekAt(1).punct(".") {
		p.i += 2
	}
	t := p.peek()
	word := strings.ToLower(t.val)
	if t.kind == tQIdent {
		word = t.val
	}
	start := p.i
	named := func(typ types.Type, name string) (Cast, error) { return Cast{Type: typ, Name: name}, nil }
	switch word {
	case "timestamptz":
		p.next()
		return named(types.TypeTimestamp, "timestamptz")
	case "timestamp":
		p.next()
		typ := types.TypeTimestamp
		if p.peek().punct("(") {
			args, err := p.typeArgs(1, 1)
			if err != nil {
				return Cast{}, err
			}
			if args[0].n > 6 {
				return Cast{}, p.errAt(args[0].off, sqlerr.InvalidParameterValue, "TIMESTAMP precision %d must be between 0 and 6", args[0].n)
			}
			typ.Precision = args[0].n
		}
		if p.acceptSeq("with", "time", "zone") {
			return named(typ, "timestamptz")
		}
		p.acceptSeq("without", "time", "zone")
		return named(typ, "timestamp")
	case "time", "timetz":
		// No TIME type: a time of day is text, 'HH:MM:SS[.ffffff]'.
		p.next()
		if p.peek().punct("(") {
			if _, err := p.typeArgs(1, 1); err != nil {
				return Cast{}, err
			}
		}
		if p.acceptSeq("with", "time", "zone") {
			word = "timetz"
		} else {
			p.acceptSeq("without", "time", "zone")
		}
		return Cast{Type: types.TypeText, Name: word, TimeOfDay: true}, nil
	case "interval":
		p.next()
		return named(types.TypeInterval, "interval")
	case "jsonb":
		p.next()
		return named(types.TypeJSON, "jsonb")
	case "numeric", "decimal", "dec":
		if !p.peekAt(1).punct("(") {
			// Postgres's unbounded numeric: the scale follows the value.
			p.next()
			return named(types.Type{Kind: types.Decimal}, "numeric")
		}
	case "float":
		if !p.peekAt(1).punct("(") {
			p.next()
			return named(types.TypeDouble, "float8")
		}
	case "char", "character", "bpchar", "nchar":
		// CHAR(n) pads in Postgres; we keep the text as VARCHAR(n) does.
		p.next()
		if word == "character" && p.accept("varying") {
			word = "varchar"
		}
		typ := types.VarcharType(1)
		if word == "varchar" {
			typ = types.TypeText
		}
		if p.peek().punct("(") {
			args, err := p.typeArgs(1, 1)
			if err != nil {
				return Cast{}, err
			}
			if args[0].n < 1 || args[0].n > 10485760 {
				return Cast{}, p.errAt(args[0].off, sqlerr.InvalidParameterValue, "length for type VARCHAR must be between 1 and 10485760")
			}
			typ = types.VarcharType(args[0].n)
		}
		if word == "varchar" {
			return named(typ, "varchar")
		}
		return named(typ, "bpchar")
	}
	typ, err := p.parseType()
	if err != nil {
		return Cast{}, err
	}
	name := map[string]string{
		"boolean": "bool", "bool": "bool", "tinyint": "int1", "smallint": "int2", "int2": "int2",
		"int": "int4", "integer": "int4", "int4": "int4", "bigint": "int8", "int8": "int8",
		"real": "float4", "float4": "float4", "float": "float4", "double": "float8", "float8": "float8",
		"decimal": "numeric", "numeric": "numeric", "dec": "numeric", "varchar": "varchar",
		"text": "text", "string": "text", "bytea": "bytea", "bytes": "bytea", "blob": "bytea",
		"varbinary": "bytea", "date": "date", "datetime": "timestamp", "json": "json",
	}[strings.ToLower(p.toks[start].val)]
	if name == "" {
		name = strings.ToLower(typ.Kind.String())
	}
	return named(typ, name)
}
