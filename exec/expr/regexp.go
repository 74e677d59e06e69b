package expr

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/sqlerr"
	"github.com/streamsql/streamsql/sql/types"
)

// MySQL 8's regular expression functions. MySQL matches with ICU; we match
// with Go's RE2, which has the same anchors, repetition and Unicode
// properties but no backreferences and no lookaround (a pattern with them
// is 2201B, saying so), and ASCII classes where ICU's are Unicode's
// (regexp_icu.go spells ICU's out). Matching is case-sensitive unless
// match_type has 'i' or an argument carries an insensitive COLLATE: MySQL's
// default collation is case-insensitive, ours is binary. Positions and
// lengths are in characters.
func registerRegexp() {
	// REGEXP_LIKE(s, pattern[, match_type]); s REGEXP p, s RLIKE p and
	// Postgres's s ~ p bind to it.
	register("regexp_like", &builtin{minArgs: 2, maxArgs: 3, check: checkRegexp(types.TypeBool, 2), compile: compileRegexpLike})
	// REGEXP_INSTR(s, pattern[, pos[, occurrence[, return_option[, match_type]]]])
	register("regexp_instr", &builtin{minArgs: 2, maxArgs: 6, check: checkRegexp(types.TypeBigInt, 5), compile: compileRegexpInstr})
	// REGEXP_SUBSTR(s, pattern[, pos[, occurrence[, match_type]]])
	register("regexp_substr", &builtin{minArgs: 2, maxArgs: 5, check: checkRegexp(types.TypeText, 4), compile: compileRegexpSubstr})
	// REGEXP_REPLACE(s, pattern, replacement[, pos[, occurrence[, match_type]]])
	register("regexp_replace", &builtin{minArgs: 3, maxArgs: 6, check: checkRegexp(types.TypeText, 5), compile: compileRegexpReplace})
}

// checkRegexp types a REGEXP function: text arguments but for the integer
// ones between the pattern (or replacement) and match_type, which is
// argument flagsAt (0-based).
func checkRegexp(result types.Type, flagsAt int) func(c *Call) error {
	return func(c *Call) error {
		texts := 2
		if c.Name == "regexp_replace" {
			texts = 3
		}
		for i, a := range c.Args {
			k := a.Type().Kind
			if k == types.Interval {
				return mismatch("%s does not apply to %s", c.Name, a.Type())
			}
			if i < texts || i == flagsAt {
				c.Args[i] = coerceKind(a, types.TypeText)
				continue
			}
			if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
				return mismatch("%s: argument %d must be an integer, not %s", c.Name, i+1, a.Type())
			}
			c.Args[i] = coerceKind(a, types.TypeBigInt)
		}
		c.Typ = result
		return checkCollations(c.Args[:2])
	}
}

// matcher finds the compiled pattern of one call site: compiled once when
// the pattern and match_type are constants, else kept in a bounded cache.
type matcher struct {
	fixed       *regexp.Regexp
	cache       regexpCache
	insensitive bool // the default is case-insensitive (a _ci COLLATE)
	flagsAt     int  // index of match_type among the arguments
	pos         int
}

func newMatcher(c *Call, flagsAt int) (*matcher, error) {
	m := &matcher{flagsAt: flagsAt, pos: c.Pos}
	if coll := collationOfArgs(c.Args[:2]); coll != nil {
		m.insensitive = coll.insensitive
	}
	p, ok := c.Args[1].(*Const)
	if !ok || p.Value.IsNull() {
		return m, nil
	}
	flags := ""
	if flagsAt < len(c.Args) {
		f, ok := c.Args[flagsAt].(*Const)
		if !ok || f.Value.IsNull() {
			return m, nil
		}
		flags = f.Value.Str()
	}
	prefix, err := m.prefix(flags)
	if err != nil {
		return nil, err
	}
	if m.fixed, err = compileRegexp(prefix+p.Value.Str(), c.Pos); err != nil {
		return nil, err
	}
	return m, nil
}

// prefix turns MySQL's match_type into RE2 flags: c case-sensitive, i
// insensitive (the last of the two wins), m multi-line, n dot matches
// newline, u Unix line endings (RE2 knows no others).
func (m *matcher) prefix(matchType string) (string, error) {
	ci := m.insensitive
	multi, dotNL := false, false
	for _, f := range matchType {
		switch f {
		case 'c':
			ci = false
		case 'i':
			ci = true
		case 'm':
			multi = true
		case 'n':
			dotNL = true
		case 'u':
		default:
			return "", sqlerr.Newf(sqlerr.InvalidParameterValue, "invalid match mode flag %q in regular expression", f).At(m.pos)
		}
	}
	flags := ""
	if ci {
		flags += "i"
	}
	if multi {
		flags += "m"
	}
	if dotNL {
		flags += "s"
	}
	if flags == "" {
		return "", nil
	}
	return "(?" + flags + ")", nil
}

// get returns the pattern of a row's arguments.
func (m *matcher) get(vs []types.Value) (*regexp.Regexp, error) {
	if m.fixed != nil {
		return m.fixed, nil
	}
	flags := ""
	if m.flagsAt < len(vs) {
		flags = vs[m.flagsAt].Str()
	}
	prefix, err := m.prefix(flags)
	if err != nil {
		return nil, err
	}
	return m.cache.get(prefix+vs[1].Str(), m.pos)
}

// compileRegexp compiles an RE2 pattern, naming what ICU has and RE2 does
// not when that is why it fails.
func compileRegexp(pattern string, pos int) (*regexp.Regexp, error) {
	re, err := regexp.Compile(icuClasses(pattern))
	if err == nil {
		return re, nil
	}
	// Name the fault in the pattern as written, not in its rewriting.
	if _, werr := regexp.Compile(pattern); werr != nil {
		err = werr
	}
	msg := "invalid regular expression: " + err.Error()
	if se, ok := err.(*syntax.Error); ok {
		switch {
		case se.Code == syntax.ErrInvalidEscape && len(se.Expr) == 2 && se.Expr[1] >= '1' && se.Expr[1] <= '9':
			msg = "invalid regular expression: backreferences (" + se.Expr + ") are not supported (RE2 syntax)"
		case se.Code == syntax.ErrInvalidPerlOp || se.Code == syntax.ErrInvalidNamedCapture:
			for _, l := range []string{"(?=", "(?!", "(?<=", "(?<!"} {
				if strings.HasPrefix(se.Expr, l) {
					msg = "invalid regular expression: lookaround (" + l + ") is not supported (RE2 syntax)"
				}
			}
		}
	}
	e := sqlerr.Newf(sqlerr.InvalidRegularExpression, "%s", msg)
	if pos > 0 {
		e = e.At(pos)
	}
	return nil, e
}

func compileRegexpLike(c *Call, args []Func) (Func, error) {
	m, err := newMatcher(c, 2)
	if err != nil {
		return nil, err
	}
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		re, err := m.get(vs)
		if err != nil {
			return types.Null, err
		}
		return types.NewBool(re.MatchString(vs[0].Str())), nil
	}), nil
}

// searchFrom returns the byte offset of the 1-based character position
// vs[at] of s (1 when absent); a position outside s and one past its end
// is MySQL's error 3686.
func searchFrom(c *Call, vs []types.Value, at int) (int, error) {
	s := vs[0].Str()
	if at >= len(vs) {
		return 0, nil
	}
	pos := vs[at].Int()
	if pos >= 1 {
		if off, ok := runeOffset(s, pos-1); ok {
			return off, nil
		}
	}
	return 0, sqlerr.Newf(sqlerr.InvalidParameterValue, "index out of bounds in regular expression search: position %d", pos).At(c.Pos)
}

// occurrence is argument at (1 when absent or less than 1).
func occurrence(vs []types.Value, at int) int {
	if at >= len(vs) || vs[at].Int() < 1 {
		return 1
	}
	if n := vs[at].Int(); n < 1<<30 {
		return int(n)
	}
	return 1 << 30
}

// nthMatch is the byte span in s of the n-th match at or after off, or nil.
func nthMatch(re *regexp.Regexp, s string, off, n int) []int {
	all := icuMatches(re, s, off, n)
	if len(all) < n {
		return nil
	}
	return all[n-1][:2]
}

// icuMatches is the first n matches (every one when n < 0) at or after
// off, as byte offsets into s with their groups, in the order ICU finds
// them. Go skips an empty match that starts where the previous match
// ended; ICU keeps it (RegexMatcher::find moves past an empty match only),
// so REGEXP_REPLACE('abc', 'b*', '-') is '-a--c-' in MySQL. Such a match
// is put back when the pattern reads no text before its start (no ^, \A,
// \b, \B), where searching the rest of s alone finds what ICU finds.
func icuMatches(re *regexp.Regexp, s string, off, n int) [][]int {
	all := re.FindAllStringSubmatchIndex(s[off:], n)
	for _, m := range all {
		for k := range m {
			if m[k] >= 0 {
				m[k] += off
			}
		}
	}
	// Only a pattern that matches the empty text can match empty anywhere
	// (what follows a position only decides $ and \z, true at the end).
	src := re.String()
	if !re.MatchString("") || strings.ContainsRune(src, '^') || strings.Contains(src, `\b`) || strings.Contains(src, `\B`) || strings.Contains(src, `\A`) {
		return all
	}
	var out [][]int
	for i, m := range all {
		out = append(out, m)
		end := m[1]
		if end == m[0] || (i+1 < len(all) && all[i+1][0] == end) {
			continue
		}
		if e := re.FindStringSubmatchIndex(s[end:]); e != nil && e[1] == 0 {
			for k := range e {
				if e[k] >= 0 {
					e[k] += end
				}
			}
			out = append(out, e)
		}
	}
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// compileSearch compiles a REGEXP_ function that searches from a
// position: its pattern (flags at argument flagsAt) and the byte offset
// of argument posAt are worked out before f sees the row's values.
func compileSearch(c *Call, args []Func, flagsAt, posAt int, f func(vs []types.Value, re *regexp.Regexp, off int) (types.Value, error)) (Func, error) {
	m, err := newMatcher(c, flagsAt)
	if err != nil {
		return nil, err
	}
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		re, err := m.get(vs)
		if err != nil {
			return types.Null, err
		}
		off, err := searchFrom(c, vs, posAt)
		if err != nil {
			return types.Null, err
		}
		return f(vs, re, off)
	}), nil
}

func compileRegexpInstr(c *Call, args []Func) (Func, error) {
	return compileSearch(c, args, 5, 2, func(vs []types.Value, re *regexp.Regexp, off int) (types.Value, error) {
		end := false
		if len(vs) > 4 {
			switch vs[4].Int() {
			case 0:
			case 1:
				end = true
			default:
				return types.Null, sqlerr.Newf(sqlerr.InvalidParameterValue, "incorrect arguments to regexp_instr: return_option must be 0 or 1").At(c.Pos)
			}
		}
		s := vs[0].Str()
		span := nthMatch(re, s, off, occurrence(vs, 3))
		if span == nil {
			return types.NewInt(0), nil
		}
		at := span[0]
		if end {
			at = span[1]
		}
		return types.NewInt(int64(utf8.RuneCountInString(s[:at])) + 1), nil
	})
}

func compileRegexpSubstr(c *Call, args []Func) (Func, error) {
	return compileSearch(c, args, 4, 2, func(vs []types.Value, re *regexp.Regexp, off int) (types.Value, error) {
		s := vs[0].Str()
		span := nthMatch(re, s, off, occurrence(vs, 3))
		if span == nil {
			return types.Null, nil
		}
		return types.NewString(s[span[0]:span[1]]), nil
	})
}

// compileRegexpReplace replaces, from pos on, the occurrence-th match
// (every match when occurrence is 0, the default). The replacement is
// ICU's: $n is group n, a backslash makes the next character literal.
func compileRegexpReplace(c *Call, args []Func) (Func, error) {
	return compileSearch(c, args, 5, 3, func(vs []types.Value, re *regexp.Regexp, off int) (types.Value, error) {
		s, tmpl := vs[0].Str(), icuReplacement(vs[2].Str())
		if s == "" {
			// MySQL 8 writes the result into a buffer the size of the
			// subject and drops what does not fit an empty one, so an
			// empty subject stays empty even when the pattern matches
			// there (Regexp_engine::Replace, sql/regexp/regexp_engine.cc).
			return types.NewString(""), nil
		}
		n := 0
		if len(vs) > 4 && vs[4].Int() > 0 {
			n = occurrence(vs, 4)
		}
		var b []byte
		b = append(b, s[:off]...)
		last := off
		for i, sm := range icuMatches(re, s, off, -1) {
			if n > 0 && i+1 != n {
				continue
			}
			b = append(b, s[last:sm[0]]...)
			b = re.ExpandString(b, tmpl, s, sm)
			last = sm[1]
			if n > 0 {
				break
			}
		}
		b = append(b, s[last:]...)
		return types.NewString(string(b)), nil
	})
}

// icuReplacement rewrites an ICU replacement string in Go's template
// syntax: $n and ${name} stay groups, \x is x, any other $ is literal.
func icuReplacement(r string) string {
	if !strings.ContainsAny(r, `$\`) {
		return r
	}
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		ch := r[i]
		switch {
		case ch == '\\' && i+1 < len(r):
			i++
			if r[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(r[i])
			}
		case ch == '$' && i+1 < len(r) && r[i+1] >= '0' && r[i+1] <= '9':
			j := i + 1
			for j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			b.WriteString("${" + r[i+1:j] + "}")
			i = j - 1
		case ch == '$' && i+1 < len(r) && r[i+1] == '{':
			b.WriteByte('$')
		case ch == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
