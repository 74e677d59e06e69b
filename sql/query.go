package sql

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"

	tidbparser "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values in TiDB's AST

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// TiDBMode is the SQL mode queries are parsed in. Our clients speak
// Postgres: "x" is a name (ANSI_QUOTES), a backslash in a string is just a
// backslash (NO_BACKSLASH_ESCAPES, as standard_conforming_strings), and ||
// concatenates (PIPES_AS_CONCAT).
const TiDBMode = mysql.ModeANSIQuotes | mysql.ModeNoBackslashEscapes | mysql.ModePipesAsConcat

// TiDB's parser is not safe for concurrent use; sessions parse in parallel.
var tidbPool = sync.Pool{New: func() any {
	tp := tidbparser.New()
	configureTiDB(tp)
	return tp
}}

// configureTiDB sets our modes; Reset puts TiDB's defaults back.
func configureTiDB(tp *tidbparser.Parser) {
	tp.SetSQLMode(TiDBMode)
	tp.EnableWindowFunc(true)
}

// tidbParse parses text with TiDB. srcOff maps a byte offset in text to one
// in p.src; errors never point before minOff (text may start with a prefix
// of ours). Errors are coded and positioned in p.src.
func (p *parser) tidbParse(text string, srcOff func(int) int, minOff int) (stmts []ast.StmtNode, err error) {
	base := srcOff(0)
	tp := tidbPool.Get().(*tidbparser.Parser)
	defer func() {
		// A panic in the third-party parser must not take the session down;
		// the parser is not reused after one.
		if r := recover(); r != nil {
			stmts, err = nil, p.errAt(max(base, minOff), sqlerr.SyntaxError, "syntax error (the query parser failed: %v)", r)
			return
		}
		// Reset drops the parser's cache of symbols: it still points at
		// nodes of this parse, which the next Parse would otherwise write
		// (their text positions) while the planner reads them.
		tp.Reset()
		configureTiDB(tp)
		tidbPool.Put(tp)
	}()
	stmts, _, perr := tp.Parse(text, "", "")
	if perr == nil {
		// The slice is the parser's own and the next Parse on it rewrites
		// it, so once the parser is back in the pool only a copy is ours.
		return append([]ast.StmtNode(nil), stmts...), nil
	}
	msg := perr.Error()
	off, ok := tidbErrOffset(text, msg)
	if !ok {
		// Not a syntax error with a place (an out-of-range literal, say).
		if k := strings.Index(msg, "]"); strings.HasPrefix(msg, "[") && k > 0 {
			msg = msg[k+1:]
		}
		return nil, p.errAt(max(base, minOff), sqlerr.SyntaxError, "%s", msg)
	}
	return nil, p.syntaxErrAtByte(max(srcOff(off), minOff))
}

// syntaxErrAtByte reports a syntax error at the token containing byte
// offset off of p.src.
func (p *parser) syntaxErrAtByte(off int) *sqlerr.Error {
	for _, t := range p.toks {
		if t.kind != tEOF && off < t.end {
			return p.syntaxErr(t)
		}
	}
	return p.syntaxErr(p.toks[len(p.toks)-1])
}

// tidbErrOffset finds the byte offset in text of a TiDB syntax error. TiDB
// says `line L column C near "REST"` where REST is the text from the
// offending token to the end (cut at 2048 bytes, then followed by
// "(total length N)"); the column counts bytes after the token, so REST is
// the exact measure.
func tidbErrOffset(text, msg string) (int, bool) {
	i := strings.Index(msg, `near "`)
	if i < 0 || !strings.HasPrefix(msg, "line ") {
		return 0, false
	}
	r := msg[i+len(`near "`):]
	if j := strings.LastIndex(r, "(total length "); j >= 0 {
		numText := r[j+len("(total length "):]
		if k := strings.IndexByte(numText, ')'); k > 0 {
			if n, err := strconv.Atoi(numText[:k]); err == nil && n <= len(text) {
				return len(text) - n, true
			}
		}
	}
	best := -1
	for l := 0; l < len(r) && l <= len(text); l++ {
		if r[l] == '"' && r[:l] == text[len(text)-l:] {
			best = l
		}
	}
	if best < 0 {
		return 0, false
	}
	return len(text) - best, true
}

// unsupported reports the statement at p.start: TiDB parses it but we do not
// run it (0A000 naming it), or nobody parses it (42601).
func (p *parser) unsupported() error {
	span := p.spanFrom(p.start)
	text := p.blanked(span.Start, span.End)
	stmts, err := p.tidbParse(text, shifted(span.Start), span.Start)
	if err != nil {
		return err
	}
	if len(stmts) != 1 {
		return p.syntaxErr(p.toks[p.start])
	}
	return p.errAt(span.Start, sqlerr.FeatureNotSupported, "%s is not supported", stmtName(stmts[0]))
}

// stmtName names a TiDB statement for messages: *ast.CreateIndexStmt is
// "CREATE INDEX".
func stmtName(st ast.StmtNode) string {
	name := strings.TrimSuffix(reflect.TypeOf(st).Elem().Name(), "Stmt")
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// blanked returns p.src[start:end] with comments replaced by spaces, so that
// TiDB never reads MySQL's executable /*! */ comments or hints.
func (p *parser) blanked(start, end int) string {
	buf := []byte(p.src[start:end])
	for _, c := range p.comments {
		for k := max(c.start, start); k < min(c.end, end); k++ {
			if buf[k-start] != '\n' {
				buf[k-start] = ' '
			}
		}
	}
	return string(buf)
}

// plural interval units TiDB does not know, and their singular.
var pluralUnits = map[string]string{
	"microseconds": "MICROSECOND", "seconds": "SECOND", "minutes": "MINUTE", "hours": "HOUR",
	"days": "DAY", "weeks": "WEEK", "months": "MONTH", "quarters": "QUARTER", "years": "YEAR",
}

// isClauseWord reports whether the bare word w (any case) is one of
// clauseWords.
func isClauseWord(w string) bool { return inLower(clauseWords, w) }

// inLower reports whether w, with ASCII letters lower-cased, is a key of
// set (whose keys are short lower-case words), without allocating: it runs
// for every word of every query.
func inLower(set map[string]bool, w string) bool {
	var buf [32]byte
	if len(w) > len(buf) {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return set[string(buf[:len(w)])]
}

// clauseWords end a FROM clause at their nesting depth.
var clauseWords = map[string]bool{
	"where": true, "group": true, "having": true, "order": true, "limit": true, "window": true,
	"union": true, "except": true, "intersect": true, "on": true, "using": true, "select": true,
}

// fromTracker follows a query token by token to tell where a name stands
// in the place of a relation: after FROM or JOIN, or after a comma of a
// FROM list at the same parenthesis depth. The zero value is ready.
type fromTracker struct {
	inFrom []bool // per parenthesis depth: inside a FROM list
}

// see takes the next token and reports whether it only moved the state (a
// parenthesis, FROM, or a word that ends a FROM list).
func (f *fromTracker) see(t token) bool {
	if f.inFrom == nil {
		f.inFrom = []bool{false}
	}
	depth := len(f.inFrom) - 1
	switch {
	case t.punct("("):
		f.inFrom = append(f.inFrom, false)
	case t.punct(")"):
		if depth > 0 {
			f.inFrom = f.inFrom[:depth]
		}
	case t.is("from"):
		f.inFrom[depth] = true
	case t.kind == tIdent && isClauseWord(t.val):
		f.inFrom[depth] = false
	default:
		return false
	}
	return true
}

// relationPlace reports whether the token after prev stands where a
// relation does.
func (f *fromTracker) relationPlace(prev token) bool {
	return prev.is("from") || prev.is("join") || prev.punct(",") && len(f.inFrom) > 0 && f.inFrom[len(f.inFrom)-1]
}

// parseQuery parses tokens [from, to) as a query.
func (p *parser) parseQuery(from, to int) (*Select, error) {
	if from >= to {
		return nil, p.syntaxErr(p.toks[to])
	}
	start, end := p.toks[from].start, p.toks[to-1].end
	buf := []byte(p.blanked(start, end))
	q := &Select{Offset: start, chars: p.chars, TableFuncs: map[string]*TableFunc{}}
	q.span = Span{start, end}

	// Parameters: $n and ? become ? padded with spaces, in text order.
	order := map[int]int{} // byte offset in p.src of a marker → its text-order index
	var dollar, question *token
	nq := 0
	for k := from; k < to; k++ {
		t := p.toks[k]
		var idx int
		switch {
		case t.kind == tParam:
			n, err := strconv.Atoi(t.val)
			if err != nil || n < 1 || n > 65535 {
				return nil, p.errAt(t.start, sqlerr.UndefinedParameter, "there is no parameter %s", t.text)
			}
			idx = n - 1
			buf[t.start-start] = '?'
			for b := t.start + 1; b < t.end; b++ {
				buf[b-start] = ' '
			}
			if dollar == nil {
				dollar = &p.toks[k]
			}
		case t.punct("?"):
			idx = nq
			nq++
			if question == nil {
				question = &p.toks[k]
			}
		default:
			continue
		}
		if dollar != nil && question != nil {
			return nil, p.errAt(t.start, sqlerr.SyntaxError, "cannot mix $n and ? parameters in one statement")
		}
		if len(q.ParamOrder) == 0 {
			q.paramPos = p.pos(t.start)
		}
		order[t.start] = len(q.ParamOrder)
		q.ParamOrder = append(q.ParamOrder, idx)
		q.NumParams = max(q.NumParams, idx+1)
	}

	// Unquoted words are folded to lower case, as Postgres folds them, so
	// that TiDB's CIStr.O of a name is its Postgres spelling. Only ASCII
	// letters change: the text keeps its byte length.
	for k := from; k < to; k++ {
		if t := p.toks[k]; t.kind == tIdent {
			for b := t.start; b < t.end; b++ {
				if c := buf[b-start]; c >= 'A' && c <= 'Z' {
					buf[b-start] = c + ('a' - 'A')
				}
			}
		}
	}

	// Table functions in FROM, plural units, :: casts.
	var fromList fromTracker
	skip := map[int]int{} // a table function's name token → its ')'
	for k := from; k < to; k++ {
		t := p.toks[k]
		if fromList.see(t) {
			continue
		}
		if t.is("for") {
			last, err := p.temporalClause(k, to, start, buf, q)
			if err != nil {
				return nil, err
			}
			if last >= 0 {
				skip[k] = last
				k = last
				continue
			}
		}
		switch {
		case t.is("interval") && k+2 < to && (p.toks[k+1].kind == tString || p.toks[k+1].kind == tNumber) && p.toks[k+2].kind == tIdent:
			u := p.toks[k+2]
			if single, ok := pluralUnits[strings.ToLower(u.val)]; ok {
				copy(buf[u.start-start:], single+" ")
			}
			continue
		}
		fn, isFunc := tableFuncs[strings.ToUpper(t.val)]
		if t.kind != tIdent || !isFunc || k+1 >= to || !p.toks[k+1].punct("(") || k == from {
			continue
		}
		if !fromList.relationPlace(p.toks[k-1]) {
			continue
		}
		close := p.matching(k + 1)
		if close < 0 || close >= to {
			return nil, p.syntaxErr(p.toks[to])
		}
		tf, err := p.parseTableFunc(fn, k, close, start, buf, order, &q.Casts)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("__tf%d", len(q.TableFuncs))
		callLen := p.toks[close].end - t.start
		if callLen < len(name) {
			return nil, p.errAt(t.start, sqlerr.SyntaxError, "table function call %s is too short", t.text)
		}
		for b := t.start; b < p.toks[close].end; b++ {
			buf[b-start] = ' '
		}
		copy(buf[t.start-start:], name)
		q.TableFuncs[name] = tf
		skip[k] = close
		k = close
	}

	fullOns := p.rewriteFullJoins(from, to, start, buf)

	text, m, err := p.rewritePostgres(from, to, start, buf, skip, &q.Casts)
	if err != nil {
		return nil, err
	}
	q.Text = text
	q.srcOff = func(off int) int { return m.src(off) }
	stmts, err := p.tidbParse(q.Text, q.srcOff, start)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, p.syntaxErr(p.toks[from])
	}
	switch st := stmts[0].(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		q.AST = st.(ast.ResultSetNode)
	default:
		return nil, p.errAt(start, sqlerr.FeatureNotSupported, "%s is not supported", stmtName(st))
	}
	v := &queryVisitor{order: order, srcOff: q.srcOff, tfs: q.TableFuncs, fullOns: fullOns}
	q.AST.Accept(v)
	q.FullJoins = v.full
	if n := fullOns.count(); n != len(v.full) {
		// A FULL JOIN read as LEFT would silently drop rows: refuse.
		return nil, p.errAt(start, sqlerr.FeatureNotSupported, "this form of FULL JOIN is not supported (%d of %d found with their ON)", len(v.full), n).
			WithHint("Write each FULL JOIN as a FULL JOIN b ON condition, without joins nested between.")
	}
	for name, tf := range q.TableFuncs {
		if !v.found[name] {
			// TiDB read the placeholder as something other than a table,
			// e.g. a function call in a FROM-less select.
			return nil, sqlerr.Newf(sqlerr.SyntaxError, "%s is only allowed in FROM", tf.Name).At(tf.Pos)
		}
	}
	return q, nil
}

// queryVisitor numbers parameter markers and finds table function aliases.
type queryVisitor struct {
	order  map[int]int
	srcOff func(int) int // an offset in the rewritten text → in the source
	tfs    map[string]*TableFunc
	found  map[string]bool
	// fullOns are the ON keywords of every join (source offsets, sorted),
	// each mapped to whether its join was FULL; full gets the FULL joins.
	fullOns *joinOns
	full    map[*ast.Join]bool
}

func (v *queryVisitor) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case ast.ParamMarkerExpr:
		if off, ok := paramOffset(n); ok {
			if i, ok := v.order[v.srcOff(off)]; ok {
				n.SetOrder(i)
			}
		}
	case *ast.Join:
		if n.Tp == ast.LeftJoin && n.On != nil && v.fullOns.isFull(v.srcOff(n.On.Expr.OriginTextPosition())) {
			if v.full == nil {
				v.full = map[*ast.Join]bool{}
			}
			v.full[n] = true
		}
	case *ast.TableSource:
		if tn, ok := n.Source.(*ast.TableName); ok && tn.Schema.L == "" {
			if tf, ok := v.tfs[tn.Name.L]; ok {
				if v.found == nil {
					v.found = map[string]bool{}
				}
				v.found[tn.Name.L] = true
				tf.Alias = n.AsName.O
			}
		}
	}
	return n, false
}

func (v *queryVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// paramOffset reads the byte offset TiDB's test_driver stores in a
// parameter marker.
func paramOffset(n ast.ParamMarkerExpr) (int, bool) {
	pm, ok := n.(*driver.ParamMarkerExpr)
	if !ok {
		return 0, false
	}
	return pm.Offset, true
}

// shifted maps offsets in a text that starts at byte base of the source and
// has the source's lengths.
func shifted(base int) func(int) int { return func(off int) int { return base + off } }
