package expr

import (
	"regexp"
	"strings"
	"sync"

	"github.com/streamsql/streamsql/sql/types"
)

// Flink SQL's string splitting functions, which the Nexmark queries use
// (q21, q22), and MySQL's SUBSTRING_INDEX.
func registerSplit() {
	registerRegexp()
	register("regexp_extract", &builtin{minArgs: 2, maxArgs: 3, check: checkSubstringLike, compile: compileRegexpExtract})
	register("split_index", &builtin{minArgs: 3, maxArgs: 3, check: checkSubstringLike, compile: compileSplitIndex})
	register("substring_index", &builtin{minArgs: 3, maxArgs: 3, check: checkSubstringLike, compile: compileSubstringIndex})
}

// checkSubstringLike types (string, string[, integer]).
func checkSubstringLike(c *Call) error {
	for i := range c.Args {
		if i < 2 {
			c.Args[i] = coerceKind(c.Args[i], types.TypeText)
			continue
		}
		k := c.Args[i].Type().Kind
		if !isNumericKind(k) && !isStringKind(k) && k != types.Unknown {
			return mismatch("%s: argument %d must be an integer, not %s", c.Name, i+1, c.Args[i].Type())
		}
		c.Args[i] = coerceKind(c.Args[i], types.TypeBigInt)
	}
	c.Typ = types.TypeText
	return nil
}

// compileRegexpExtract is REGEXP_EXTRACT(s, pattern[, group]): the text
// the group (0, the whole match, by default) matched in the first match,
// NULL with no match or no such group. A constant pattern is compiled
// once; others are kept compiled in a small cache.
func compileRegexpExtract(c *Call, args []Func) (Func, error) {
	var fixed *regexp.Regexp
	if k, ok := c.Args[1].(*Const); ok && !k.Value.IsNull() {
		re, err := compileRegexp(k.Value.Str(), c.Pos)
		if err != nil {
			return nil, err
		}
		fixed = re
	}
	cache := &regexpCache{}
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		re := fixed
		if re == nil {
			var err error
			if re, err = cache.get(vs[1].Str(), c.Pos); err != nil {
				return types.Null, err
			}
		}
		group := int64(0)
		if len(vs) == 3 {
			group = vs[2].Int()
		}
		m := re.FindStringSubmatchIndex(vs[0].Str())
		if m == nil || group < 0 || int(group) > re.NumSubexp() || m[2*group] < 0 {
			return types.Null, nil
		}
		return types.NewString(vs[0].Str()[m[2*group]:m[2*group+1]]), nil
	}), nil
}

// regexpCache keeps the patterns a non-constant argument gave, up to a
// bound; the evaluator may run on several goroutines.
type regexpCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

const regexpCacheSize = 64

func (c *regexpCache) get(pattern string, pos int) (*regexp.Regexp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if re, ok := c.m[pattern]; ok {
		return re, nil
	}
	re, err := compileRegexp(pattern, pos)
	if err != nil {
		return nil, err
	}
	if c.m == nil || len(c.m) >= regexpCacheSize {
		c.m = map[string]*regexp.Regexp{}
	}
	c.m[pattern] = re
	return re, nil
}

// compileSplitIndex is Flink's SPLIT_INDEX(s, sep, i): the i-th (from 0)
// piece of s split at sep, NULL when there is none.
func compileSplitIndex(_ *Call, args []Func) (Func, error) {
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		s, sep, i := vs[0].Str(), vs[1].Str(), vs[2].Int()
		if i < 0 {
			return types.Null, nil
		}
		if sep == "" {
			if i == 0 {
				return vs[0], nil
			}
			return types.Null, nil
		}
		for ; i > 0; i-- {
			at := strings.Index(s, sep)
			if at < 0 {
				return types.Null, nil
			}
			s = s[at+len(sep):]
		}
		if at := strings.Index(s, sep); at >= 0 {
			s = s[:at]
		}
		return types.NewString(s), nil
	}), nil
}

// compileSubstringIndex is MySQL's SUBSTRING_INDEX(s, delim, n): s up to
// the n-th delim from the left (n > 0) or after the n-th from the right
// (n < 0); all of s when there are fewer, empty when n is 0.
func compileSubstringIndex(_ *Call, args []Func) (Func, error) {
	return nullN(args, func(vs []types.Value) (types.Value, error) {
		s, delim, n := vs[0].Str(), vs[1].Str(), vs[2].Int()
		if n == 0 || delim == "" {
			return types.NewString(""), nil
		}
		if n > 0 {
			at := 0
			for ; n > 0; n-- {
				i := strings.Index(s[at:], delim)
				if i < 0 {
					return vs[0], nil
				}
				at += i + len(delim)
			}
			return types.NewString(s[:at-len(delim)]), nil
		}
		end := len(s)
		for ; n < 0; n++ {
			i := strings.LastIndex(s[:end], delim)
			if i < 0 {
				return vs[0], nil
			}
			end = i
		}
		return types.NewString(s[end+len(delim):]), nil
	}), nil
}
