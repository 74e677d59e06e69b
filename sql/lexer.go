package sql

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
)

// tokKind is the class of a token of our own scanner. The scanner only needs
// to be exact about where strings, quoted names and comments end (so that ';'
// splits statements where TiDB would) and about the words of our statements;
// everything else is handed to TiDB as text.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // bare word: keyword or name
	tQIdent         // "name" or `name`
	tString         // 'text'
	tNumber         // 12, 1.5, .5e3, 0x1F
	tParam          // $1
	tPunct          // any other character or operator
)

// token is one lexeme. start and end are byte offsets into the whole text
// given to Parse.
type token struct {
	kind       tokKind
	start, end int
	text       string // the raw text
	val        string // decoded value: unquoted string or name; for tIdent the raw word
	escaped    bool   // an E'...' string: text is not what TiDB would read as val
}

// is reports whether t is the bare word w, ignoring case.
func (t token) is(w string) bool { return t.kind == tIdent && strings.EqualFold(t.val, w) }

// punct reports whether t is the punctuation p.
func (t token) punct(p string) bool { return t.kind == tPunct && t.text == p }

// name returns the identifier the token spells: bare words with ASCII
// letters lower-cased (as Postgres folds them in UTF-8), quoted names as
// written.
func (t token) name() string {
	if t.kind == tIdent {
		return asciiLower(t.val)
	}
	return t.val
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// names reports whether t is a name that reads as lower-case w (a bare
// word in any case, or a quoted name exactly), without building the name.
func (t token) names(w string) bool {
	return t.kind == tIdent && strings.EqualFold(t.val, w) || t.kind == tQIdent && t.val == w
}

// hasNamePrefix is names for a lower-case prefix.
func (t token) hasNamePrefix(prefix string) bool {
	n := len(prefix)
	return t.kind == tIdent && len(t.val) >= n && strings.EqualFold(t.val[:n], prefix) ||
		t.kind == tQIdent && strings.HasPrefix(t.val, prefix)
}

// isName reports whether t can be an object or column name.
func (t token) isName() bool { return t.kind == tIdent || t.kind == tQIdent }

// comment is a byte range holding a comment, blanked before TiDB sees text.
type comment struct{ start, end int }

// scan splits text into tokens and comments. Its error carries a byte offset
// in pos; the caller converts it to a character position.
func scan(text string) (toks []token, comments []comment, err *sqlerr.Error) {
	i := 0
	n := len(text)
	for i < n {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && text[i+1] == '-', c == '#':
			// Postgres comments start at "--" with no space required; '#' is
			// MySQL's, and TiDB would read it as one too.
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				j = n - i
			}
			comments = append(comments, comment{i, i + j})
			i += j
		case c == '/' && i+1 < n && text[i+1] == '*':
			// Postgres nests block comments; MySQL does not. Nesting is the
			// safer reading: it never ends a comment early.
			depth, j := 1, i+2
			for j < n && depth > 0 {
				switch {
				case text[j] == '/' && j+1 < n && text[j+1] == '*':
					depth++
					j += 2
				case text[j] == '*' && j+1 < n && text[j+1] == '/':
					depth--
					j += 2
				default:
					j++
				}
			}
			if depth > 0 {
				return nil, nil, posErr(sqlerr.Newf(sqlerr.SyntaxError, "unterminated /* comment"), i)
			}
			comments = append(comments, comment{i, j})
			i = j
		case (c == 'E' || c == 'e') && i+1 < n && text[i+1] == '\'':
			// E'...': a Postgres string with backslash escapes.
			val, j, serr := scanEscaped(text, i+1)
			if serr != nil {
				return nil, nil, serr
			}
			toks = append(toks, token{kind: tString, start: i, end: j, text: text[i:j], val: val, escaped: true})
			i = j
		case c == '\'' || c == '"' || c == '`':
			val, j, ok := scanQuoted(text, i, c)
			if !ok {
				what := map[byte]string{'\'': "quoted string", '"': "quoted identifier", '`': "quoted identifier"}[c]
				return nil, nil, posErr(sqlerr.Newf(sqlerr.SyntaxError, "unterminated %s", what), i)
			}
			k := tString
			if c != '\'' {
				k = tQIdent
				if val == "" {
					return nil, nil, posErr(sqlerr.Newf(sqlerr.SyntaxError, "zero-length delimited identifier"), i)
				}
			}
			toks = append(toks, token{kind: k, start: i, end: j, text: text[i:j], val: val})
			i = j
		case c == '$' && i+1 < n && isDigit(text[i+1]):
			j := i + 1
			for j < n && isDigit(text[j]) {
				j++
			}
			toks = append(toks, token{kind: tParam, start: i, end: j, text: text[i:j], val: text[i+1 : j]})
			i = j
		case isDigit(c) || (c == '.' && i+1 < n && isDigit(text[i+1])):
			j := scanNumber(text, i)
			toks = append(toks, token{kind: tNumber, start: i, end: j, text: text[i:j], val: text[i:j]})
			i = j
		case isIdentStart(c):
			j := i
			for j < n && isIdentPart(text[j]) {
				j++
			}
			toks = append(toks, token{kind: tIdent, start: i, end: j, text: text[i:j], val: text[i:j]})
			i = j
		default:
			j := i + punctLen(text[i:])
			toks = append(toks, token{kind: tPunct, start: i, end: j, text: text[i:j], val: text[i:j]})
			i = j
		}
	}
	toks = append(toks, token{kind: tEOF, start: n, end: n})
	return toks, comments, nil
}

// scanQuoted reads a quoted lexeme starting at text[i] == q, where a doubled
// quote stands for itself. Backslash is an ordinary character: we run TiDB
// with NO_BACKSLASH_ESCAPES, as Postgres runs with standard_conforming_strings.
func scanQuoted(text string, i int, q byte) (val string, end int, ok bool) {
	var b strings.Builder
	j := i + 1
	for j < len(text) {
		if text[j] == q {
			if j+1 < len(text) && text[j+1] == q {
				b.WriteByte(q)
				j += 2
				continue
			}
			return b.String(), j + 1, true
		}
		b.WriteByte(text[j])
		j++
	}
	return "", len(text), false
}

func scanNumber(text string, i int) int {
	n := len(text)
	if text[i] == '0' && i+1 < n && (text[i+1] == 'x' || text[i+1] == 'X') {
		j := i + 2
		for j < n && isHex(text[j]) {
			j++
		}
		return j
	}
	j := i
	for j < n && isDigit(text[j]) {
		j++
	}
	if j < n && text[j] == '.' {
		j++
		for j < n && isDigit(text[j]) {
			j++
		}
	}
	if j < n && (text[j] == 'e' || text[j] == 'E') {
		k := j + 1
		if k < n && (text[k] == '+' || text[k] == '-') {
			k++
		}
		if k < n && isDigit(text[k]) {
			for k < n && isDigit(text[k]) {
				k++
			}
			j = k
		}
	}
	return j
}

// multi-character operators, longest first.
var operators = []string{"!~*", "->>", "<=>", "<>", "!=", "<=", ">=", "->", "::", "||", "&&", ":=", "<<", ">>", "!~", "~*"}

func punctLen(s string) int {
	for _, op := range operators {
		if strings.HasPrefix(s, op) {
			return len(op)
		}
	}
	_, size := utf8.DecodeRuneInString(s)
	return size
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
func isIdentStart(c byte) bool {
	return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') || c >= 0x80
}
func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

// posErr attaches a byte offset to an error; Parse turns it into a 1-based
// character position once it knows the whole text. The byte offset rides in
// Position until then, biased by one so that offset 0 is not "no position".
func posErr(e *sqlerr.Error, byteOff int) *sqlerr.Error { return e.At(byteOff + 1) }

// scanEscaped reads the quoted part of an E string, from its opening quote at
// text[i],
// decoding Postgres's backslash escapes: \b \f \n \r \t, \ooo (octal),
// \xh[h] (hex), \uXXXX and \UXXXXXXXX (code points); a backslash before
// any other character stands for that character, and a doubled quote for
// one quote.
func scanEscaped(text string, i int) (string, int, *sqlerr.Error) {
	var b strings.Builder
	n := len(text)
	j := i + 1
	for j < n {
		c := text[j]
		switch {
		case c == '\'' && j+1 < n && text[j+1] == '\'':
			b.WriteByte('\'')
			j += 2
		case c == '\'':
			s := b.String()
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return "", 0, posErr(sqlerr.Newf(sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\" in escaped string"), i-1)
			}
			return s, j + 1, nil
		case c == '\\' && j+1 < n:
			d := text[j+1]
			j += 2
			switch {
			case d == 'b':
				b.WriteByte('\b')
			case d == 'f':
				b.WriteByte('\f')
			case d == 'n':
				b.WriteByte('\n')
			case d == 'r':
				b.WriteByte('\r')
			case d == 't':
				b.WriteByte('\t')
			case d >= '0' && d <= '7':
				v := int(d - '0')
				for k := 0; k < 2 && j < n && text[j] >= '0' && text[j] <= '7'; k++ {
					v = v*8 + int(text[j]-'0')
					j++
				}
				b.WriteByte(byte(v))
			case d == 'x' && j < n && isHex(text[j]):
				v := 0
				for k := 0; k < 2 && j < n && isHex(text[j]); k++ {
					h, _ := strconv.ParseUint(text[j:j+1], 16, 8)
					v = v*16 + int(h)
					j++
				}
				b.WriteByte(byte(v))
			case d == 'u' || d == 'U':
				digits := 4
				if d == 'U' {
					digits = 8
				}
				if j+digits > n {
					return "", 0, posErr(sqlerr.Newf(sqlerr.InvalidEscapeSequence, "invalid Unicode escape"), j-2)
				}
				v, err := strconv.ParseUint(text[j:j+digits], 16, 32)
				if err != nil || !utf8.ValidRune(rune(v)) || v == 0 {
					return "", 0, posErr(sqlerr.Newf(sqlerr.InvalidEscapeSequence, "invalid Unicode escape value"), j-2)
				}
				b.WriteRune(rune(v))
				j += digits
			default:
				b.WriteByte(d)
			}
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", 0, posErr(sqlerr.Newf(sqlerr.SyntaxError, "unterminated quoted string"), i-1)
}
