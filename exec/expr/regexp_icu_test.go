package expr

import (
	"reflect"
	"regexp"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestICUClasses checks each rewritten class against the Unicode
// properties ICU gives it (UTS #18 Annex C), code point by code point.
func TestICUClasses(t *testing.T) {
	in := func(ts ...*unicode.RangeTable) func(rune) bool {
		return func(r rune) bool { return unicode.In(r, ts...) }
	}
	alpha := in(unicode.L, unicode.Nl, unicode.Other_Alphabetic)
	graph := func(r rune) bool {
		return !unicode.In(r, unicode.White_Space, unicode.Cc, unicode.Cs) && unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cf, unicode.Co)
	}
	cases := []struct {
		pattern string
		want    func(rune) bool
	}{
		{`[[:alpha:]]`, alpha},
		{`[[:^alpha:]]`, func(r rune) bool { return !alpha(r) }},
		{`[[:digit:]]`, in(unicode.Nd)},
		{`[[:alnum:]]`, func(r rune) bool { return alpha(r) || unicode.Is(unicode.Nd, r) }},
		{`[[:upper:]]`, in(unicode.Lu, unicode.Other_Uppercase)},
		{`[[:lower:]]`, in(unicode.Ll, unicode.Other_Lowercase)},
		{`[[:space:]]`, in(unicode.White_Space)},
		{`[[:blank:]]`, func(r rune) bool { return r == '\t' || unicode.Is(unicode.Zs, r) }},
		{`[[:punct:]]`, in(unicode.P)},
		{`[[:cntrl:]]`, in(unicode.Cc)},
		{`[[:xdigit:]]`, in(unicode.Nd, unicode.Hex_Digit)},
		{`[[:graph:]]`, graph},
		{`[[:print:]]`, func(r rune) bool { return graph(r) || unicode.Is(unicode.Zs, r) }},
		{`\d`, in(unicode.Nd)},
		{`\s`, in(unicode.White_Space)},
		{`\w`, func(r rune) bool {
			return alpha(r) || unicode.In(r, unicode.M, unicode.Nd, unicode.Pc, unicode.Join_Control)
		}},
		{`\W`, func(r rune) bool {
			return !alpha(r) && !unicode.In(r, unicode.M, unicode.Nd, unicode.Pc, unicode.Join_Control)
		}},
		{`[x\D]`, func(r rune) bool { return r == 'x' || !unicode.Is(unicode.Nd, r) }},
		{`[^[:digit:]a]`, func(r rune) bool { return r != 'a' && !unicode.Is(unicode.Nd, r) }},
	}
	for _, c := range cases {
		re, err := compileRegexp("^"+c.pattern+"$", 0)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		for r := rune(0); r <= 0x2ffff; r++ {
			if r >= 0xd800 && r <= 0xdfff {
				continue // not in a Go string
			}
			if got, want := re.MatchString(string(r)), c.want(r); got != want {
				t.Errorf("%s on U+%04X: %v, want %v", c.pattern, r, got, want)
				break
			}
		}
	}
}

// TestICUClassesLeaveTheRest: escapes, \Q...\E, a leading ] and unknown
// names pass through as written.
func TestICUClassesLeaveTheRest(t *testing.T) {
	for _, p := range []string{`a\.b`, `\Q[[:alpha:]]\d\E`, `[]a]`, `[^]a]`, `[[:nope:]]`, `\p{L}+`, `[\]x]`, `(?i)abc`} {
		if got := icuClasses(p); got != p {
			t.Errorf("icuClasses(%q) = %q", p, got)
		}
	}
	re := regexp.MustCompile(icuClasses(`\Q[[:alpha:]]\E`))
	if !re.MatchString("[[:alpha:]]") {
		t.Errorf(`\Q...\E is no longer literal`)
	}
}

// TestICUMatches compares icuMatches with ICU's loop written out (find
// from a start; after an empty match start one character further, else
// at the match's end), for patterns that read nothing before a match.
func TestICUMatches(t *testing.T) {
	icuLoop := func(re *regexp.Regexp, s string, off int) [][]int {
		var out [][]int
		for start := off; start <= len(s); {
			m := re.FindStringSubmatchIndex(s[start:])
			if m == nil {
				break
			}
			for k := range m {
				if m[k] >= 0 {
					m[k] += start
				}
			}
			out = append(out, m)
			if m[1] > m[0] {
				start = m[1]
				continue
			}
			if m[1] == len(s) {
				break
			}
			_, w := utf8.DecodeRuneInString(s[m[1]:])
			start = m[1] + w
		}
		return out
	}
	patterns := []string{`b*`, `x*`, `a|`, `(b)*`, `[ab]*`, `c$`, `b?$`, `(?m)b*$`, `é*`, `a+`}
	subjects := []string{"", "abc", "abcb", "bbb", "baaa", "aéébé", "ab\nb", "xyz"}
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for _, s := range subjects {
			for off := 0; off <= len(s); off++ {
				if off < len(s) && !utf8.RuneStart(s[off]) {
					continue
				}
				want := icuLoop(re, s, off)
				if got := icuMatches(re, s, off, -1); !reflect.DeepEqual(got, want) {
					t.Errorf("%q on %q from %d: %v, want %v", p, s, off, got, want)
				}
				for n := 1; n <= len(want); n++ {
					if got := icuMatches(re, s, off, n); !reflect.DeepEqual(got, want[:n]) {
						t.Errorf("%q on %q from %d, first %d: %v, want %v", p, s, off, n, got, want[:n])
					}
				}
			}
		}
	}
}
